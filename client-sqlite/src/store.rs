//! Many documents in one database: a document's bytes are its chunks concatenated in order
//! (Automerge loads a full save followed by incremental saves). Every write is one
//! transaction, so a crash leaves either all of it or none of it.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::{DocumentId, StorageId};

use crate::error::Result;
use crate::migrations;

/// The rollback journal, chosen by what the VFS supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    /// Write-ahead log: readers never block the writer. Needs shared memory (a native file).
    Wal,
    /// A rollback journal deleted at each commit: works on every VFS, including OPFS
    /// "sahpool", which has no shared memory and so no WAL.
    Delete,
}

/// How hard a commit is pushed to the medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Synced on every commit: a committed write survives power loss.
    Full,
    /// Synced at WAL checkpoints only: a committed write survives a crashed process, but the
    /// last commits can be lost on power loss.
    Normal,
}

/// The connection settings the shell picks for its VFS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pragmas {
    /// The journal mode.
    pub journal: Journal,
    /// The sync level.
    pub synchronous: Synchronous,
}

/// An open store on one connection.
#[derive(Debug)]
pub struct SqlStore {
    conn: Connection,
    storage_id: StorageId,
}

impl SqlStore {
    /// Takes over an open connection: refuses a file from a newer schema before anything is
    /// written to it, applies `pragmas`, migrates, and reads the storage id, storing
    /// `fresh_id()` if the file has none yet.
    pub fn open(
        mut conn: Connection,
        pragmas: Pragmas,
        fresh_id: impl FnOnce() -> String,
    ) -> Result<Self> {
        migrations::refuse_newer(&conn)?;
        let journal = match pragmas.journal {
            Journal::Wal => "WAL",
            Journal::Delete => "DELETE",
        };
        conn.pragma_update(None, "journal_mode", journal)?;
        let sync = match pragmas.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::check_and_migrate(&mut conn)?;
        let storage_id = storage_id_of(&conn, fresh_id)?;
        Ok(Self { conn, storage_id })
    }

    /// This database's id; the relay keys its sync state with us by it.
    pub fn storage_id(&self) -> &StorageId {
        &self.storage_id
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
            .optional()?
            .is_some())
    }

    /// Every document id, in the order they were first written. Rows that are not document
    /// ids (a file edited by hand) are skipped.
    pub fn list_documents(&self) -> Result<Vec<DocumentId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM documents ORDER BY rowid")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// What the store holds for a document: its chunks concatenated, how many, and its sync
    /// states (all empty for a document it does not hold).
    pub fn load(&self, doc: DocumentId) -> Result<StoredDoc> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_chunks WHERE doc = ?1 ORDER BY id")?;
        let mut rows = stmt.query([doc.to_string()])?;
        let mut stored = StoredDoc::default();
        while let Some(row) = rows.next()? {
            let blob: Vec<u8> = row.get(0)?;
            stored.bytes.extend_from_slice(&blob);
            stored.chunks += 1;
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT peer, bytes FROM sync_states WHERE doc = ?1")?;
        let states = stmt.query_map([doc.to_string()], |r| {
            Ok((
                StorageId::from(r.get::<_, String>(0)?),
                r.get::<_, Vec<u8>>(1)?,
            ))
        })?;
        stored.sync_states = states.collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(stored)
    }

    /// Carries out one storage op of the core, a write as one transaction. `now_ms` is when a
    /// new document is recorded.
    pub fn run(&mut self, op: &ClientStorageOp, now_ms: u64) -> Result<StorageReply> {
        match op {
            ClientStorageOp::Load { doc } => Ok(StorageReply::Loaded(self.load(*doc)?)),
            ClientStorageOp::List => Ok(StorageReply::Listed(self.list_documents()?)),
            ClientStorageOp::AppendChanges { doc, bytes } => self.write(*doc, now_ms, |tx| {
                tx.prepare_cached(
                    "INSERT INTO doc_chunks (doc, kind, bytes) VALUES (?1, 'changes', ?2)",
                )?
                .execute(params![doc.to_string(), bytes])
                .map(drop)
            }),
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => self.write(*doc, now_ms, |tx| {
                tx.execute("DELETE FROM doc_chunks WHERE doc = ?1", [doc.to_string()])?;
                tx.execute(
                    "INSERT INTO doc_chunks (doc, kind, bytes) VALUES (?1, 'snapshot', ?2)",
                    params![doc.to_string(), bytes],
                )
                .map(drop)
            }),
            ClientStorageOp::PutSyncState { doc, peer, bytes } => self.write(*doc, now_ms, |tx| {
                tx.prepare_cached(
                    "INSERT INTO sync_states (doc, peer, bytes) VALUES (?1, ?2, ?3)
                         ON CONFLICT (doc, peer) DO UPDATE SET bytes = excluded.bytes",
                )?
                .execute(params![doc.to_string(), peer.as_str(), bytes])
                .map(drop)
            }),
        }
    }

    /// One write transaction: records the document, then `f`; all of it or none of it.
    fn write(
        &mut self,
        doc: DocumentId,
        now_ms: u64,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<StorageReply> {
        let tx = self.conn.transaction()?;
        record(&tx, doc, now_ms)?;
        f(&tx)?;
        tx.commit()?;
        Ok(StorageReply::Done)
    }

    /// The connection, for a shell's own checks (integrity, file-level tests).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The stored id, or `fresh_id()` stored now. Another process may race to store its own; the
/// one stored first wins and is read back.
fn storage_id_of(conn: &Connection, fresh_id: impl FnOnce() -> String) -> Result<StorageId> {
    let read = || {
        conn.query_row("SELECT value FROM meta WHERE key = 'storage_id'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    };
    if let Some(id) = read()? {
        return Ok(StorageId::from(id));
    }
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('storage_id', ?1)",
        [fresh_id()],
    )?;
    let id = read()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(StorageId::from(id))
}

/// Records a document (idempotent): every write does this first, so a document is listed
/// once it has any data.
fn record(conn: &Connection, doc: DocumentId, now_ms: u64) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO documents (id, created_ms) VALUES (?1, ?2)")?
        .execute(params![doc.to_string(), now_ms as i64])?;
    Ok(())
}
