//! The client's SQLite store, shared by every shell that keeps documents in SQLite:
//! `client-native` (one file on disk, WAL) and `client-wasm`'s SQLite worker (OPFS through the
//! "sahpool" VFS, which has no WAL).
//!
//! It owns the schema, its versioned migrations and the translation of the core's
//! [`ClientStorageOp`](sync_core::client::ClientStorageOp)s into SQL, one transaction per op.
//! It opens no file and reads no clock or randomness: the shell opens the [`rusqlite::Connection`]
//! (choosing the VFS and the file), picks the [`Pragmas`] its VFS supports, and passes the time
//! and a fresh storage id in. It must never depend on a shell or on a platform.

mod error;
mod migrations;
mod store;
#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use migrations::SCHEMA_VERSION;
pub use store::{Journal, Pragmas, SqlStore, Synchronous};
