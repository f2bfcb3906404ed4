//! Tessera's native client: a tokio shell around `sync-core`'s client session.
//!
//! It owns the IO that `sync-core` refuses to do: the SQLite store (many documents in one WAL
//! database file), the WebSocket transport to the relay, the clock and the randomness. It makes
//! no sync decisions of its own: every document runs one task that feeds transport frames,
//! timers and storage outcomes into a [`sync_core::client::DocSync`] and carries out the
//! outputs in order. It must never depend on a platform UI or on the relay's code.
//!
//! The async API ([`Client`], [`Document`]) is what the `tessera` CLI (the tessera-cli crate)
//! and the uniffi wrapper drive: handles are cheap to clone, `Send`, and talk to their
//! document's task over channels, so a wrapper never holds a lock across an `.await`. It is
//! meant to be wrapped by an FFI layer:
//! - no CLI crates (clap, anyhow, ...) and no database types in the public API: [`Error`]
//!   carries the engine's failure as an opaque [`DatabaseError`];
//! - SQLite runs on tokio's blocking pool, never on an executor thread;
//! - events and status are also delivered to plain callbacks ([`Document::subscribe`],
//!   [`Document::subscribe_status`]) on threads of their own, with a [`Subscription`] that
//!   stops on drop or `cancel()`;
//! - relays are reached over TLS (rustls, [`TransportOptions`]); plain text only on loopback
//!   unless explicitly allowed.

mod client;
mod clock;
mod document;
mod driver;
mod error;
mod relay_url;
mod store;
mod subscription;
mod tls;
mod traffic;
mod transport;
mod transport_options;

pub use client::Client;
pub use document::{DocEvent, Document, SyncTarget, TokenProvider};
pub use error::{DatabaseError, Error, Result};
pub use relay_url::doc_socket_url;
pub use store::{Durability, SCHEMA_VERSION, Store};
pub use subscription::{EventCallback, StatusCallback, Subscription};
pub use sync_core::client::{ClientStatus, DocSummary, SyncStatus};
pub use sync_core::model::{
    Applied, BlockId, BlockKind, BlockView, MarkName, MarkSpec, PageEdit, PageView, Target,
};
pub use sync_core::protocol::{DocumentId, ErrorCode};
pub use traffic::Traffic;
pub use transport_options::TransportOptions;
