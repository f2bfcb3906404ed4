//! placeholder
pub mod auth;
pub mod model;
