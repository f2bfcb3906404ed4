//! The stores a browser client keeps its documents in. Each runs one
//! [`ClientStorageOp`] at a time as one atomic write (or one read) and answers with the
//! core's [`StorageReply`]; what each op must do is the core's contract, in its docs.
//!
//! Which store: SQLite on OPFS in a dedicated worker ([`SqliteStore`]) wherever this context
//! can start one, IndexedDB elsewhere (service workers, insecure pages), memory in Node or
//! when asked; [`Store::open`] picks for [`StorageChoice::Best`].

mod idb;
mod idb_request;
mod lock;
mod memory;
mod sqlite;
#[cfg(test)]
mod tests;

use sync_core::client::{ClientStorageOp, StorageReply};
use sync_core::protocol::StorageId;

use crate::error::Error;
use crate::options::StorageChoice;

pub(crate) use idb::IdbStore;
pub(crate) use memory::MemoryStore;
pub(crate) use sqlite::{MAX_NAME as MAX_SQLITE_NAME, SqliteStore};

/// One local store.
#[derive(Debug)]
pub(crate) enum Store {
    /// Nothing survives the page; for tests and throwaway sessions.
    Memory(MemoryStore),
    /// IndexedDB with strict durability: available in pages, workers and service workers.
    IndexedDb(IdbStore),
    /// SQLite on OPFS, in a dedicated worker of its own.
    Sqlite(SqliteStore),
}

impl Store {
    /// Opens the chosen store. For [`StorageChoice::Best`]: SQLite if this context can start
    /// its worker and the worker finds OPFS sync access handles, else IndexedDB if there is
    /// one, else memory. Only "cannot run here" moves on to the next store; a busy or failing
    /// SQLite database is an error, never a silent switch to another store.
    pub(crate) async fn open(choice: &StorageChoice) -> crate::error::Result<Self> {
        match choice {
            StorageChoice::Memory => Ok(Self::Memory(MemoryStore::new())),
            StorageChoice::IndexedDb { name } => Ok(Self::IndexedDb(IdbStore::open(name).await?)),
            StorageChoice::Sqlite { name } => Ok(Self::Sqlite(SqliteStore::open(name).await?)),
            StorageChoice::Best { name } => {
                if sqlite::can_run() {
                    match SqliteStore::open(name).await {
                        Ok(store) => return Ok(Self::Sqlite(store)),
                        Err(Error::StorageUnavailable(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                if idb::available() {
                    return Ok(Self::IndexedDb(IdbStore::open(name).await?));
                }
                Ok(Self::Memory(MemoryStore::new()))
            }
        }
    }

    /// Which store this is, as `Tessera.storageType` reports it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::IndexedDb(_) => "indexeddb",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// The id of this store, stable for as long as the store's data lives: the relay keys
    /// its sync state with this client by it.
    pub(crate) fn storage_id(&self) -> StorageId {
        match self {
            Self::Memory(s) => s.storage_id(),
            Self::IndexedDb(s) => s.storage_id(),
            Self::Sqlite(s) => s.storage_id(),
        }
    }

    /// Runs one op. Failures are described for the core, which retries and keeps unsaved
    /// data dirty.
    pub(crate) async fn run(&self, op: &ClientStorageOp) -> Result<StorageReply, String> {
        match self {
            Self::Memory(s) => Ok(s.run(op)),
            Self::IndexedDb(s) => s.run(op).await.map_err(|e| e.to_string()),
            Self::Sqlite(s) => s.run(op).await.map_err(|e| e.to_string()),
        }
    }

    /// Releases the store (closes the database, ends the SQLite worker, lets go of the lock).
    pub(crate) async fn close(&self) {
        match self {
            Self::Memory(_) => {}
            Self::IndexedDb(s) => s.close().await,
            Self::Sqlite(s) => s.close().await,
        }
    }
}
