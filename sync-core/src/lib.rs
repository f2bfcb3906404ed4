//! placeholder
pub mod auth;
pub mod client;
mod framing;
pub mod io;
pub mod model;
pub mod protocol;
pub mod relay;
