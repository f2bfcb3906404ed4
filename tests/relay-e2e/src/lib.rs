//! Harness for the relay's end-to-end tests: starts the real relay (`scripts/relay.sh serve`,
//! i.e. `wrangler dev` in workerd) on a free port with a temporary state directory, mints
//! tokens, and drives `sync_core::client::DocSync` over tokio-tungstenite.
//!
//! Owns no sync logic: the client session decides everything; this crate only carries frames.

mod client;
pub mod paper;
mod raw;
mod refusal;
mod relay;
mod tokens;

pub use client::{Client, connect_status};
pub use raw::{EMPTY_SYNC_DATA, Next, RawPeer, join};
pub use refusal::{Refusal, connect_refusal};
pub use relay::{HttpResponse, Relay};
pub use tokens::{DEV_SECRET, TokenSpec, rs256_token};

/// A fresh document id, different on every call (seeded by the clock, so tests that share a
/// relay's state never collide).
pub fn new_doc() -> sync_core::protocol::DocumentId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    sync_core::protocol::DocumentId::from_random_bytes(nanos.to_le_bytes())
}
