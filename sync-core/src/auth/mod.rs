//! Access tokens: verifying the JWTs the relay admits peers with, and minting dev tokens.
//!
//! The relay shell takes the token from the request ([`bearer_token`]), passes it with its own
//! clock reading to [`Verifier::verify`], and either gets [`Claims`] (who, which tenant, which
//! documents, what scope) or an [`AuthError`] whose [`code`](AuthError::code) goes into the wire
//! `error` message. Like the rest of `sync-core`, nothing here reads a clock: expiry is judged
//! against the `now` the caller passes, so verification is deterministic and works unchanged on
//! wasm32.
//!
//! Accepted algorithms are HS256 (shared secret) and RS256/ES256 (keys from a [`Jwks`]). Each is
//! only ever checked against its own kind of key, and anything else, `none` included, is refused.

mod bearer;
mod claims;
mod error;
mod jwks;
mod jwks_cache;
mod jws;
mod mint;
mod verifier;

#[cfg(test)]
mod tests;

pub use bearer::bearer_token;
pub use claims::{ALL_DOCS, Audience, Claims, DEFAULT_PLAN, DocAccess, Scope};
pub use error::AuthError;
pub use jwks::Jwks;
pub use jwks_cache::{JwksCache, JwksPolicy, JwksStep};
pub use mint::mint_hs256;
pub use verifier::{CLOCK_LEEWAY_SECS, Verifier, VerifierConfig};
