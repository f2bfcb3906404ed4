//! The room's storage: the change log (change bytes plus their index, one SQLite row each) and
//! its meta rows in the object's SQLite, first-sync snapshots and tombstone markers in R2. Each
//! `StorageOp` is one step that succeeds whole or reports an error for the room to retry;
//! nothing is written for a room before its first counted write.

use sync_core::relay::{RoomLedger, StorageOp, StoredRoom, StoredRow, StoredSnapshot};
use worker::{SqlStorageValue, State};

use super::DocRoom;
use super::identity::Identity;
use crate::cron::{delete_keys, list_keys};
use crate::dev_faults::Fault;
use crate::error::{Error, Result};
use crate::sweep::{legacy_snapshot_key, snapshot_key, snapshot_prefix, tombstone_key};

/// Creates the tables (schema only, no rows). Idempotent; a failure surfaces on the first
/// real query.
pub(super) fn create_tables(state: &State) {
    let sql = state.storage().sql();
    let _ = sql.exec(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        None,
    );
    let _ = sql.exec(
        "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL, idx BLOB)",
        None,
    );
    // Rooms created before the change graph have no index column; their old rows are parsed
    // at load instead.
    if sql.exec("SELECT idx FROM log LIMIT 0", None).is_err() {
        let _ = sql.exec("ALTER TABLE log ADD COLUMN idx BLOB", None);
    }
}

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
}

impl DocRoom {
    fn identity(&self) -> Result<Identity> {
        self.known_identity()?
            .ok_or_else(|| Error::Runtime("storage for a room without an identity".into()))
    }

    fn bucket(&self) -> Result<worker::Bucket> {
        Ok(self.env.bucket("SNAPSHOTS")?)
    }

    pub(super) async fn load(&self) -> Result<StoredRoom> {
        if self.fault(Fault::Load) {
            return Err(Self::injected("load"));
        }
        if self.meta("deleted")?.is_some() {
            return Ok(StoredRoom {
                deleted: true,
                ..StoredRoom::default()
            });
        }
        let snapshot = match (
            self.meta_u64("snap_generation")?,
            self.meta_u64("snap_through")?,
        ) {
            (Some(generation), Some(log_through)) => Some(StoredSnapshot {
                generation,
                log_through,
                bytes: self.read_snapshot(generation).await?,
            }),
            _ => None,
        };
        // Every row: the log is the source of truth, the snapshot only a cache. A row with an
        // index is read without its change bytes (the room asks for them with `ReadRows` when
        // a peer needs them), so a cold start reads the index alone.
        let cursor = self.state.storage().sql().exec(
            "SELECT seq, LENGTH(bytes), idx, CASE WHEN idx IS NULL THEN bytes END FROM log ORDER BY seq",
            None,
        )?;
        let mut log = Vec::new();
        for row in cursor.raw() {
            let mut row = row?.into_iter();
            if let (Some(SqlStorageValue::Integer(seq)), Some(SqlStorageValue::Integer(len))) =
                (row.next(), row.next())
            {
                let index = match row.next() {
                    Some(SqlStorageValue::Blob(index)) => Some(index),
                    _ => None,
                };
                let bytes = match row.next() {
                    Some(SqlStorageValue::Blob(bytes)) => Some(bytes),
                    _ => None,
                };
                log.push(StoredRow {
                    seq: seq as u64,
                    len: len as u64,
                    bytes,
                    index,
                });
            }
        }
        let ledger = match self.meta("ledger")? {
            Some(json) => serde_json::from_str(&json).map_err(runtime)?,
            None => RoomLedger::default(),
        };
        Ok(StoredRoom {
            snapshot,
            log,
            deleted: false,
            ledger,
        })
    }

    /// The change bytes of log rows `seqs` (rows that no longer exist are left out).
    pub(super) fn read_rows(&self, seqs: &[u64]) -> Result<Vec<(u64, Vec<u8>)>> {
        if self.fault(Fault::Load) {
            return Err(Self::injected("read rows"));
        }
        let sql = self.state.storage().sql();
        let mut rows = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let cursor = sql.exec(
                "SELECT bytes FROM log WHERE seq = ?",
                vec![SqlStorageValue::Integer(*seq as i64)],
            )?;
            for row in cursor.raw() {
                if let Some(SqlStorageValue::Blob(bytes)) = row?.into_iter().next() {
                    rows.push((*seq, bytes));
                }
            }
        }
        Ok(rows)
    }

    /// The snapshot's bytes, from its key (or where it was kept before keys had the tenant).
    async fn read_snapshot(&self, generation: u64) -> Result<Vec<u8>> {
        let identity = self.identity()?;
        let bucket = self.bucket()?;
        for key in [
            snapshot_key(&identity.tenant, &identity.doc, generation),
            legacy_snapshot_key(&identity.doc, generation),
        ] {
            if let Some(object) = bucket.get(key).execute().await? {
                let body = object
                    .body()
                    .ok_or_else(|| Error::Runtime("snapshot without body".into()))?;
                return Ok(body.bytes().await?);
            }
        }
        Err(Error::Runtime("current snapshot missing from R2".into()))
    }

    pub(super) async fn run(&self, op: StorageOp) -> Result<()> {
        let sql = self.state.storage().sql();
        match op {
            StorageOp::Load => unreachable!("Load is answered with Loaded"),
            StorageOp::ReadRows { .. } => unreachable!("ReadRows is answered with RowsRead"),
            StorageOp::AppendLog {
                seq,
                bytes,
                index,
                ledger,
            } => {
                if self.fault(Fault::LogWrite) {
                    return Err(Self::injected("log write"));
                }
                let identity = serde_json::to_string(&self.identity()?).map_err(runtime)?;
                // One synchronous block: the row, the ledger and the identity commit together.
                sql.exec(
                    "INSERT OR REPLACE INTO log (seq, bytes, idx) VALUES (?, ?, ?)",
                    vec![
                        SqlStorageValue::Integer(seq as i64),
                        bytes.into(),
                        index.into(),
                    ],
                )?;
                self.set_meta("ledger", &serde_json::to_string(&ledger).map_err(runtime)?)?;
                self.set_meta("identity", &identity)?;
            }
            StorageOp::PutLedger(ledger) => {
                self.set_meta("ledger", &serde_json::to_string(&ledger).map_err(runtime)?)?;
            }
            StorageOp::PutSnapshot {
                generation,
                bytes,
                log_through,
            } => {
                if self.fault(Fault::R2Put) {
                    return Err(Self::injected("R2 put"));
                }
                let identity = self.identity()?;
                let key = snapshot_key(&identity.tenant, &identity.doc, generation);
                self.bucket()?.put(key, bytes).execute().await?;
                self.set_meta("snap_generation", &generation.to_string())?;
                self.set_meta("snap_through", &log_through.to_string())?;
            }
            StorageOp::DeleteSnapshot { generation } => {
                if self.fault(Fault::R2Delete) {
                    return Err(Self::injected("R2 delete"));
                }
                let identity = self.identity()?;
                let bucket = self.bucket()?;
                bucket
                    .delete(snapshot_key(&identity.tenant, &identity.doc, generation))
                    .await?;
                bucket
                    .delete(legacy_snapshot_key(&identity.doc, generation))
                    .await?;
            }
            StorageOp::PutTombstone => self.put_tombstone().await?,
        }
        Ok(())
    }

    /// Marks the document deleted, drops its log, leaves a marker for the sweep, and deletes
    /// every snapshot it has in R2. Idempotent, so the room can retry it.
    async fn put_tombstone(&self) -> Result<()> {
        let identity = self.identity()?;
        self.set_meta("deleted", "1")?;
        self.state.storage().sql().exec("DELETE FROM log", None)?;
        let bucket = self.bucket()?;
        // The marker first: whatever this delete misses, the sweep finds.
        bucket
            .put(tombstone_key(&identity.tenant, &identity.doc), Vec::new())
            .execute()
            .await?;
        if self.fault(Fault::R2Delete) {
            return Err(Self::injected("R2 delete"));
        }
        let mut keys =
            list_keys(&bucket, &snapshot_prefix(&identity.tenant, &identity.doc)).await?;
        if let Some(generation) = self.meta_u64("snap_generation")? {
            keys.push(legacy_snapshot_key(&identity.doc, generation));
        }
        delete_keys(&bucket, keys).await?;
        self.state.storage().sql().exec(
            "DELETE FROM meta WHERE key IN ('snap_generation', 'snap_through')",
            None,
        )?;
        Ok(())
    }

    /// What the room stores, read from storage alone (the dev-only `/__stored`): log and
    /// snapshot bytes, and whether any row exists at all.
    pub(super) async fn stored_report(&self) -> Result<serde_json::Value> {
        let sql = self.state.storage().sql();
        let mut log_bytes = 0i64;
        for row in sql
            .exec("SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM log", None)?
            .raw()
        {
            if let Some(SqlStorageValue::Integer(n)) = row?.into_iter().next() {
                log_bytes = n;
            }
        }
        let meta_rows = sql.exec("SELECT key FROM meta", None)?.raw().count();
        let snapshot_bytes = match (self.meta_u64("snap_generation")?, self.known_identity()?) {
            (Some(generation), Some(identity)) => self
                .bucket()?
                .head(snapshot_key(&identity.tenant, &identity.doc, generation))
                .await?
                .map_or(0, |o| o.size()),
            _ => 0,
        };
        Ok(serde_json::json!({
            "log_bytes": log_bytes,
            "snapshot_bytes": snapshot_bytes,
            "meta_rows": meta_rows,
            "exists": meta_rows > 0 || log_bytes > 0,
        }))
    }

    pub(super) fn meta(&self, key: &str) -> Result<Option<String>> {
        let cursor = self
            .state
            .storage()
            .sql()
            .exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?;
        for row in cursor.raw() {
            if let Some(SqlStorageValue::String(s)) = row?.into_iter().next() {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn meta_u64(&self, key: &str) -> Result<Option<u64>> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }
}
