//! Tessera's browser SQLite store, as a dedicated worker of its own wasm.
//!
//! It owns one database per worker: `client-sqlite`'s schema, migrations and ops (the same as
//! `client-native`'s), on rusqlite over `sqlite-wasm-rs`, stored in OPFS through the "sahpool"
//! VFS. OPFS sync access handles exist only in dedicated workers, so this runs there, and the
//! page's client (`client-wasm`) posts it one [`ClientStorageOp`](sync_core::client::ClientStorageOp)
//! at a time and awaits the answer ([`messages`] is the protocol). The sync session, the
//! relay connection and every decision stay in the page: this crate stores and answers,
//! nothing else. It must never depend on `client-wasm` or on automerge directly.
//!
//! Its loop: `serveSqlite()` installs a message handler; `open` installs the pool (taking
//! every OPFS access handle in the database's directory: a second context cannot write the
//! same files) and opens the database in `journal_mode=DELETE` (sahpool has no WAL);
//! `run` carries out an op as one transaction; `close` closes the database and hands the
//! access handles back before answering.
//!
//! Built apart from `client-wasm` so the page's wasm does not carry SQLite: only this worker
//! loads it.
#![cfg(target_arch = "wasm32")]

mod error;
pub mod messages;
pub mod opfs;
mod serve;

pub use error::{Error, Result};
pub use serve::serve;
