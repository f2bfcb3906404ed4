//! placeholder
pub mod auth;
pub mod model;
pub mod protocol;
