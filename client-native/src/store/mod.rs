//! The SQLite store: many documents in one WAL-mode database file.
//!
//! A document's bytes are its chunks concatenated in order (Automerge loads a full save followed
//! by incremental saves). Every write is one transaction, so a crash leaves either all of it or
//! none of it; with `synchronous=FULL` a committed write also survives power loss.

mod migrations;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::{DocumentId, StorageId};

use crate::clock;
use crate::error::{Db, Error, Result};

pub use migrations::SCHEMA_VERSION;

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
    conn: Connection,
    storage_id: StorageId,
}

impl Store {
    /// Opens (creating if needed) the database at `path`. A file from a newer schema is refused
    /// before anything is written to it.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let mut conn = Connection::open(path).db()?;
        // Concurrent CLI processes on one file wait for each other instead of failing.
        conn.busy_timeout(Duration::from_secs(10)).db()?;
        if migrations::current_version(&conn)? > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                found: migrations::current_version(&conn)?,
                supported: SCHEMA_VERSION,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL").db()?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        migrations::check_and_migrate(&mut conn)?;
        let storage_id = Self::storage_id_of(&conn)?;
        Ok(Self { conn, storage_id })
    }

    /// This database's id; the relay keys its sync state with us by it.
    pub fn storage_id(&self) -> &StorageId {
        &self.storage_id
    }

    fn storage_id_of(conn: &Connection) -> Result<StorageId> {
        let existing: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'storage_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .db()?;
        if let Some(id) = existing {
            return Ok(StorageId::from(id));
        }
        let bytes: [u8; 16] = clock::random();
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('storage_id', ?1)",
            [&id],
        )
        .db()?;
        // Another process may have won the race; read back what is stored.
        let id: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'storage_id'", [], |r| {
                r.get(0)
            })
            .db()?;
        Ok(StorageId::from(id))
    }

    /// Records a document (idempotent): every write does this first, so a document is listed
    /// once it has any data.
    fn record(conn: &Connection, doc: DocumentId) -> Result<()> {
        conn.prepare_cached("INSERT OR IGNORE INTO documents (id, created_ms) VALUES (?1, ?2)")
            .db()?
            .execute(params![doc.to_string(), clock::now_ms() as i64])
            .db()?;
        Ok(())
    }

    /// Whether the document is known here.
    pub fn has_document(&self, doc: DocumentId) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM documents WHERE id = ?1",
                [doc.to_string()],
                |_| Ok(()),
            )
            .optional()
            .db()?
            .is_some())
    }

    /// Every document id, in the order they were first written.
    pub fn list_documents(&self) -> Result<Vec<DocumentId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM documents ORDER BY rowid")
            .db()?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .db()?
            .collect::<Result<Vec<_>, _>>()
            .db()?;
        Ok(ids.into_iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// What the store holds for a document: its chunks concatenated, how many, and its sync
    /// states (all empty for a document it does not hold).
    pub fn load(&self, doc: DocumentId) -> Result<StoredDoc> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_chunks WHERE doc = ?1 ORDER BY id")
            .db()?;
        let mut rows = stmt.query([doc.to_string()]).db()?;
        let mut stored = StoredDoc::default();
        while let Some(row) = rows.next().db()? {
            let blob: Vec<u8> = row.get(0).db()?;
            stored.bytes.extend_from_slice(&blob);
            stored.chunks += 1;
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT peer, bytes FROM sync_states WHERE doc = ?1")
            .db()?;
        let states = stmt
            .query_map([doc.to_string()], |r| {
                Ok((
                    StorageId::from(r.get::<_, String>(0)?),
                    r.get::<_, Vec<u8>>(1)?,
                ))
            })
            .db()?;
        stored.sync_states = states.collect::<Result<BTreeMap<_, _>, _>>().db()?;
        Ok(stored)
    }

    /// Carries out one storage op of the core, a write as one transaction.
    pub fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply> {
        let tx = self.conn.transaction().db()?;
        match op {
            ClientStorageOp::Load { doc } => {
                drop(tx);
                return Ok(StorageReply::Loaded(self.load(*doc)?));
            }
            ClientStorageOp::List => {
                drop(tx);
                return Ok(StorageReply::Listed(self.list_documents()?));
            }
            ClientStorageOp::AppendChanges { doc, bytes } => {
                Self::record(&tx, *doc)?;
                tx.prepare_cached(
                    "INSERT INTO doc_chunks (doc, kind, bytes) VALUES (?1, 'changes', ?2)",
                )
                .db()?
                .execute(params![doc.to_string(), bytes])
                .db()?;
            }
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => {
                Self::record(&tx, *doc)?;
                tx.execute("DELETE FROM doc_chunks WHERE doc = ?1", [doc.to_string()])
                    .db()?;
                tx.execute(
                    "INSERT INTO doc_chunks (doc, kind, bytes) VALUES (?1, 'snapshot', ?2)",
                    params![doc.to_string(), bytes],
                )
                .db()?;
            }
            ClientStorageOp::PutSyncState { doc, peer, bytes } => {
                Self::record(&tx, *doc)?;
                tx.prepare_cached(
                    "INSERT INTO sync_states (doc, peer, bytes) VALUES (?1, ?2, ?3)
                     ON CONFLICT (doc, peer) DO UPDATE SET bytes = excluded.bytes",
                )
                .db()?
                .execute(params![doc.to_string(), peer.as_str(), bytes])
                .db()?;
            }
        }
        tx.commit().db()?;
        Ok(StorageReply::Done)
    }
}

#[cfg(test)]
mod tests;
