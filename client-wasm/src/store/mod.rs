//! The stores a browser client keeps its documents in. Each runs one
//! [`ClientStorageOp`] at a time as one atomic write (or one read) and answers with the
//! core's [`StorageReply`]; what each op must do is the core's contract, in its docs.
//!
//! Which store: SQLite on OPFS in a dedicated worker ([`SqliteStore`]) wherever this context
//! can start one, IndexedDB elsewhere (service workers, insecure pages), memory in Node or
//! when asked (the default is resolved by `options`, with [`sqlite_can_run`] and
//! [`indexeddb_available`]).

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
pub(crate) use idb::available as indexeddb_available;
pub(crate) use memory::MemoryStore;
pub(crate) use sqlite::{MAX_NAME as MAX_SQLITE_NAME, SqliteStore, can_run as sqlite_can_run};

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
    /// Opens the chosen store. Only "cannot run here" moves on to another store (a default
    /// SQLite choice whose worker finds no OPFS sync access handles): a busy or failing
    /// database is an error, never a silent switch to another store.
    pub(crate) async fn open(choice: &StorageChoice) -> crate::error::Result<Self> {
        match choice {
            StorageChoice::Memory => Ok(Self::Memory(MemoryStore::new())),
            StorageChoice::IndexedDb { name } => Ok(Self::IndexedDb(IdbStore::open(name).await?)),
            StorageChoice::Sqlite { name, or_indexeddb } => match SqliteStore::open(name).await {
                Ok(store) => Ok(Self::Sqlite(store)),
                Err(Error::StorageUnavailable(_)) if *or_indexeddb => {
                    Ok(Self::IndexedDb(IdbStore::open(name).await?))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// The id of this store, made by the store with its kind's prefix (see [`kind_of`]), stable for as long as the store's data lives: the relay keys
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

/// Which kind of store made a storage id: each store prefixes the ids it makes (`sqlite-`,
/// `idb-`, `mem-`), so a tab served by another learns the store from the id it is given.
pub(crate) fn kind_of(storage_id: &str) -> &'static str {
    if storage_id.starts_with("sqlite-") {
        "sqlite"
    } else if storage_id.starts_with("idb-") {
        "indexeddb"
    } else {
        "memory"
    }
}
