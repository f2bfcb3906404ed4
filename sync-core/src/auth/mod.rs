//! Access tokens: verifying the JWTs the relay admits peers with, and minting dev tokens.

mod claims;
mod error;

pub use claims::{ALL_DOCS, Audience, Claims, DEFAULT_PLAN, DocAccess, Scope};
pub use error::AuthError;
