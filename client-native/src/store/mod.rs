//! The SQLite store: many documents in one WAL-mode database file. The schema, its
//! migrations and the ops in SQL are `client-sqlite`'s (shared with the browser client's
//! SQLite worker); this module opens the file, picks the file's pragmas and maps errors.
//!
//! Every write is one transaction, so a crash leaves either all of it or none of it; with
//! `synchronous=FULL` a committed write also survives power loss.

use std::path::Path;
use std::time::Duration;

use client_sqlite::{Journal, Pragmas, SqlStore, Synchronous};
use rusqlite::Connection;
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::{DocumentId, StorageId};

use crate::clock;
use crate::error::{Db, Result};

pub use client_sqlite::SCHEMA_VERSION;

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsynced on every commit; a returned edit survives power
    /// loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: fsync only at checkpoints. A returned edit survives a process crash
    /// (`kill -9`) but the last commits can be lost on power loss. Much faster on slow disks.
    Normal,
}

/// One database file.
#[derive(Debug)]
pub struct Store {
    inner: SqlStore,
}

impl Store {
    /// Opens (creating if needed) the database at `path`. A file from a newer schema is refused
    /// before anything is written to it.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let conn = Connection::open(path).db()?;
        // Concurrent CLI processes on one file wait for each other instead of failing.
        conn.busy_timeout(Duration::from_secs(10)).db()?;
        let pragmas = Pragmas {
            journal: Journal::Wal,
            synchronous: match durability {
                Durability::Full => Synchronous::Full,
                Durability::Normal => Synchronous::Normal,
            },
        };
        let inner = SqlStore::open(conn, pragmas, || {
            let bytes: [u8; 16] = clock::random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        })
        .db()?;
        Ok(Self { inner })
    }

    /// This database's id; the relay keys its sync state with us by it.
    pub fn storage_id(&self) -> &StorageId {
        self.inner.storage_id()
    }

    /// Whether the document is known here.
    pub fn has_document(&self, doc: DocumentId) -> Result<bool> {
        self.inner.has_document(doc).db()
    }

    /// Every document id, in the order they were first written.
    pub fn list_documents(&self) -> Result<Vec<DocumentId>> {
        self.inner.list_documents().db()
    }

    /// What the store holds for a document: its chunks concatenated, how many, and its sync
    /// states (all empty for a document it does not hold).
    pub fn load(&self, doc: DocumentId) -> Result<StoredDoc> {
        self.inner.load(doc).db()
    }

    /// Carries out one storage op of the core, a write as one transaction.
    pub fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply> {
        self.inner.run(op, clock::now_ms()).db()
    }
}

#[cfg(test)]
mod tests;
