//! Bookkeeping for the room's storage: the write pipeline and the compaction schedule.

use std::collections::BTreeMap;

use super::config::RoomConfig;
use super::io::{StorageOp, StoredRoom};
use crate::io::{ConnId, Millis, TaskId};

/// Idle time after which even a small log is compacted, so cold starts stay cheap.
const IDLE_COMPACT_MS: u64 = 30_000;

/// A change chunk received from a peer and not yet durable.
#[derive(Debug, Clone)]
pub(crate) struct PendingChunk {
    pub(crate) conn: ConnId,
    pub(crate) bytes: Vec<u8>,
}

/// The log row being written.
#[derive(Debug)]
pub(crate) struct WriteBatch {
    pub(crate) task: TaskId,
    pub(crate) seq: u64,
    pub(crate) chunks: Vec<PendingChunk>,
}

/// What the room knows of its stored log and snapshot.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    pub(crate) last_seq: u64,
    /// Rows after the current snapshot: seq -> bytes.
    rows: BTreeMap<u64, u64>,
    snapshot_generation: Option<u64>,
}

impl LogState {
    pub(crate) fn from_stored(stored: &StoredRoom) -> Self {
        let through = stored.snapshot.as_ref().map_or(0, |s| s.log_through);
        let rows: BTreeMap<u64, u64> = stored
            .log
            .iter()
            .filter(|(seq, _)| *seq > through)
            .map(|(seq, b)| (*seq, b.len() as u64))
            .collect();
        Self {
            // Sequence numbers never go back, even when every row was trimmed.
            last_seq: rows.keys().next_back().copied().unwrap_or(0).max(through),
            rows,
            snapshot_generation: stored.snapshot.as_ref().map(|s| s.generation),
        }
    }

    pub(crate) fn appended(&mut self, seq: u64, bytes: u64) {
        self.last_seq = self.last_seq.max(seq);
        self.rows.insert(seq, bytes);
    }

    fn bytes(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// The compaction schedule and the snapshot task in flight.
#[derive(Debug, Default)]
pub(crate) struct Compaction {
    due_at: Option<Millis>,
    running: Option<(TaskId, u64, u64)>,
    cleanups: BTreeMap<TaskId, StorageOp>,
    failed_cleanups: Vec<StorageOp>,
    snapshot_failed: bool,
}

impl Compaction {
    /// Re-plans after a write (or a load): compact soon if the log is big, later if it is not.
    pub(crate) fn note_write(&mut self, now: Millis, log: &LogState, config: &RoomConfig) {
        if log.rows.is_empty() {
            self.due_at = None;
            return;
        }
        let big = log.rows.len() as u64 >= config.compact_after_log_rows
            || log.bytes() >= config.compact_after_log_bytes;
        let delay = if big {
            config.compact_delay_ms
        } else {
            IDLE_COMPACT_MS
        };
        self.due_at = Some(now + delay);
    }

    pub(crate) fn due_at(&self) -> Option<Millis> {
        if self.running.is_some() {
            None
        } else {
            self.due_at
        }
    }

    pub(crate) fn due(&self, now: Millis) -> bool {
        self.due_at().is_some_and(|t| t <= now)
    }

    pub(crate) fn next_generation(&self, log: &LogState) -> u64 {
        log.snapshot_generation.map_or(1, |g| g + 1)
    }

    pub(crate) fn started(&mut self, task: TaskId, generation: u64, through: u64) {
        self.running = Some((task, generation, through));
        self.due_at = None;
        self.snapshot_failed = false;
    }

    /// Handles the end of a compaction task; returns follow-up storage ops to start.
    pub(crate) fn on_done(&mut self, task: TaskId, ok: bool, log: &mut LogState) -> Vec<StorageOp> {
        if let Some(op) = self.cleanups.remove(&task) {
            if !ok {
                self.failed_cleanups.push(op);
            }
            return Vec::new();
        }
        let Some((running, generation, through)) = self.running else {
            return Vec::new();
        };
        if running != task {
            return Vec::new();
        }
        self.running = None;
        if !ok {
            // The old snapshot and log are intact; compact again on the retry timer.
            self.snapshot_failed = true;
            return Vec::new();
        }
        let previous = log.snapshot_generation.replace(generation);
        log.rows = log.rows.split_off(&(through + 1));
        let mut ops = vec![StorageOp::TrimLog { through }];
        if let Some(old) = previous {
            ops.push(StorageOp::DeleteSnapshot { generation: old });
        }
        ops
    }

    /// Cleanups to retry, and whether a failed snapshot should be attempted again now.
    pub(crate) fn retry_ops(&mut self) -> Vec<StorageOp> {
        if self.snapshot_failed {
            self.snapshot_failed = false;
            self.due_at = Some(0);
        }
        std::mem::take(&mut self.failed_cleanups)
    }

    /// Registers a follow-up op's task so its outcome is recognised.
    pub(crate) fn track_cleanup(&mut self, task: TaskId, op: StorageOp) {
        self.cleanups.insert(task, op);
    }
}
