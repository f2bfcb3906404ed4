//! The stores a browser client keeps its documents in. Each runs one
//! [`ClientStorageOp`] at a time as one atomic write (or one read) and answers with the
//! core's [`StorageReply`]; what each op must do is the core's contract, in its docs.

mod idb;
mod idb_request;
mod lock;
mod memory;
#[cfg(test)]
mod tests;

use sync_core::client::{ClientStorageOp, StorageReply};
use sync_core::protocol::StorageId;

pub(crate) use idb::IdbStore;
pub(crate) use memory::MemoryStore;

/// One local store.
#[derive(Debug)]
pub(crate) enum Store {
    /// Nothing survives the page; for tests and throwaway sessions.
    Memory(MemoryStore),
    /// IndexedDB with strict durability: available in pages, workers and service workers.
    IndexedDb(IdbStore),
}

impl Store {
    /// The id of this store, stable for as long as the store's data lives: the relay keys
    /// its sync state with this client by it.
    pub(crate) fn storage_id(&self) -> StorageId {
        match self {
            Self::Memory(s) => s.storage_id(),
            Self::IndexedDb(s) => s.storage_id(),
        }
    }

    /// Runs one op. Failures are described for the core, which retries and keeps unsaved
    /// data dirty.
    pub(crate) async fn run(&self, op: &ClientStorageOp) -> Result<StorageReply, String> {
        match self {
            Self::Memory(s) => Ok(s.run(op)),
            Self::IndexedDb(s) => s.run(op).await.map_err(|e| e.to_string()),
        }
    }

    /// Releases the store (closes the IndexedDB connection and its lock).
    pub(crate) async fn close(&self) {
        if let Self::IndexedDb(s) = self {
            s.close().await;
        }
    }
}
