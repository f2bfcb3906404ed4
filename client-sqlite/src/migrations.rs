//! Versioned schema migrations. Each step runs once, in its own transaction, in order.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};

/// The newest schema this build writes.
pub const SCHEMA_VERSION: u32 = 1;

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // v1: documents, their stored chunks (a snapshot and/or appended incremental changes, in
    // `id` order), and the sync state per relay storage id.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE documents (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
     CREATE TABLE doc_chunks (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         doc TEXT NOT NULL REFERENCES documents(id),
         kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'changes')),
         bytes BLOB NOT NULL);
     CREATE INDEX doc_chunks_by_doc ON doc_chunks (doc, id);
     CREATE TABLE sync_states (
         doc TEXT NOT NULL REFERENCES documents(id),
         peer TEXT NOT NULL,
         bytes BLOB NOT NULL,
         PRIMARY KEY (doc, peer));",
];

/// The schema version recorded in the file; 0 for a new, empty file.
pub(crate) fn current_version(conn: &Connection) -> Result<u32> {
    let has_meta: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_meta {
        return Ok(0);
    }
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Refuses a file from a newer schema; nothing has been written to it.
pub(crate) fn refuse_newer(conn: &Connection) -> Result<()> {
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Refuses a newer file before anything is written, then brings an older one up to date.
pub(crate) fn check_and_migrate(conn: &mut Connection) -> Result<()> {
    refuse_newer(conn)?;
    let found = current_version(conn)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(from + 1).to_string()],
        )?;
        tx.commit()?;
    }
    Ok(())
}
