//! Tessera's native client: a tokio shell around `sync-core`'s client session.
//!
//! It owns the IO that `sync-core` refuses to do: the SQLite store (many documents in one WAL
//! database file), the WebSocket transport to the relay, the clock and the randomness. It makes
//! no sync decisions of its own: every document runs one task that feeds transport frames,
//! timers and storage outcomes into a [`sync_core::client::DocSync`] and carries out the
//! outputs in order. It must never depend on a platform UI or on the relay's code.
//!
//! The async API ([`Client`], [`Document`]) is what the CLI, and later the uniffi and WASM
//! wrappers, drive: handles are cheap to clone, `Send`, and talk to their document's task over
//! channels, so a wrapper never holds a lock across an `.await`.

mod client;
mod clock;
mod document;
mod driver;
mod error;
mod relay_url;
mod store;
mod traffic;
mod transport;

pub use client::{Client, DocSummary};
pub use document::{DocEvent, DocStatus, Document, SyncTarget};
pub use error::{Error, Result};
pub use relay_url::doc_socket_url;
pub use store::{Durability, SCHEMA_VERSION, Store};
pub use sync_core::model::{BlockId, BlockKind, BlockView, MarkName, MarkSpec, PageView, Target};
pub use sync_core::protocol::{DocumentId, ErrorCode};
pub use traffic::Traffic;
