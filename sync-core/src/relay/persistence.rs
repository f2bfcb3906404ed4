//! Bookkeeping for the room's storage: the write pipeline and the snapshot schedule.

use std::collections::BTreeMap;

use super::config::RoomConfig;
use super::graph::ParsedChange;
use super::io::{StorageOp, StoredRoom};
use crate::io::{ConnId, Millis, TaskId};

/// Idle time after which the snapshot is refreshed even for a few new rows, so first syncs
/// stay cheap.
const IDLE_COMPACT_MS: u64 = 30_000;

/// A change in the graph (forwarded) and not yet durable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingChunk {
    pub(crate) conn: ConnId,
    /// Its graph index.
    pub(crate) index: u32,
    pub(crate) len: usize,
}

/// A parsed change not yet in the graph: waiting for quota budget or for a dep.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) conn: ConnId,
    pub(crate) change: ParsedChange,
}

/// The first-sync snapshot: a full save covering the first `covers` changes of the graph.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotCache {
    pub(crate) bytes: Vec<u8>,
    pub(crate) covers: u32,
}

/// The log row being written.
#[derive(Debug)]
pub(crate) struct WriteBatch {
    pub(crate) task: TaskId,
    pub(crate) seq: u64,
    pub(crate) chunks: Vec<PendingChunk>,
    /// The row's change bytes (what the quota counts; the index is the relay's overhead),
    /// kept so the graph serves them from memory once the row is durable.
    pub(crate) row: Vec<u8>,
}

/// What the room knows of its stored log and snapshot.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    pub(crate) last_seq: u64,
    /// Every row: seq -> change bytes (the quota counts those; the index is overhead).
    rows: BTreeMap<u64, u64>,
    /// The last row the current snapshot covers.
    snapshot_through: u64,
    snapshot_generation: Option<u64>,
    /// Size of the current snapshot.
    snapshot_bytes: u64,
    /// Growth of the stored total that was never charged to the quota (a snapshot larger than
    /// the rows it replaced); later shrinks pay it off before anything is released.
    unpaid: u64,
}

impl LogState {
    pub(crate) fn from_stored(stored: &StoredRoom) -> Self {
        let through = stored.snapshot.as_ref().map_or(0, |s| s.log_through);
        let rows: BTreeMap<u64, u64> = stored.log.iter().map(|r| (r.seq, r.len)).collect();
        Self {
            // Sequence numbers never go back, even when (in rooms stored before the change
            // graph) every row was trimmed.
            last_seq: rows.keys().next_back().copied().unwrap_or(0).max(through),
            rows,
            snapshot_through: through,
            snapshot_generation: stored.snapshot.as_ref().map(|s| s.generation),
            snapshot_bytes: stored.snapshot.as_ref().map_or(0, |s| s.bytes.len() as u64),
            // The debt outlives the room: it is stored in the ledger with every write.
            unpaid: stored.ledger.unpaid,
        }
    }

    pub(crate) fn unpaid(&self) -> u64 {
        self.unpaid
    }

    pub(crate) fn appended(&mut self, seq: u64, bytes: u64) {
        self.last_seq = self.last_seq.max(seq);
        self.rows.insert(seq, bytes);
    }

    fn bytes(&self) -> u64 {
        self.rows.values().sum()
    }

    /// Rows and bytes written since the current snapshot.
    fn since_snapshot(&self) -> (u64, u64) {
        let newer = self.rows.range(self.snapshot_through + 1..);
        newer.fold((0, 0), |(n, b), (_, bytes)| (n + 1, b + bytes))
    }

    /// What the room holds in storage: the snapshot plus the log rows after it.
    pub(crate) fn stored_bytes(&self) -> u64 {
        self.snapshot_bytes + self.bytes()
    }

    /// Bytes to give back to the quota now that the stored total went from `before` to what it
    /// is. A growth is remembered (and stored in the room's ledger) and offsets later shrinks,
    /// so nothing is released that was never charged.
    pub(crate) fn release_since(&mut self, before: u64) -> u64 {
        let after = self.stored_bytes();
        if after >= before {
            self.unpaid += after - before;
            return 0;
        }
        let shrink = before - after;
        let paid_off = shrink.min(self.unpaid);
        self.unpaid -= paid_off;
        shrink - paid_off
    }
}

/// The compaction schedule and the snapshot task in flight.
#[derive(Debug, Default)]
pub(crate) struct Compaction {
    due_at: Option<Millis>,
    /// The snapshot being written: task, generation, last log row it covers, its size.
    running: Option<(TaskId, u64, u64, u64)>,
    cleanups: BTreeMap<TaskId, StorageOp>,
    failed_cleanups: Vec<StorageOp>,
    snapshot_failed: bool,
}

impl Compaction {
    /// Re-plans after a write: refresh soon if much was written since the snapshot, later if
    /// little was.
    pub(crate) fn note_write(&mut self, now: Millis, log: &LogState, config: &RoomConfig) {
        let (rows, bytes) = log.since_snapshot();
        if rows == 0 {
            self.due_at = None;
            return;
        }
        let big = rows >= config.compact_after_log_rows || bytes >= config.compact_after_log_bytes;
        let delay = if big {
            config.compact_delay_ms
        } else {
            IDLE_COMPACT_MS
        };
        self.due_at = Some(now + delay);
    }

    /// Plans after a load: rows newer than the snapshot are folded in at once. The room was
    /// evicted or hibernated since the last write, and a wake-up must not push the refresh
    /// back again, or a room that sleeps between alarms would never refresh.
    pub(crate) fn note_load(&mut self, now: Millis, log: &LogState) {
        self.due_at = (log.since_snapshot().0 > 0).then_some(now);
    }

    /// The document is over the refresh budget: no refresh until the next write re-plans.
    pub(crate) fn skip(&mut self) {
        self.due_at = None;
    }

    /// Whether a snapshot is being written.
    pub(crate) fn is_writing(&self) -> bool {
        self.running.is_some()
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

    pub(crate) fn started(&mut self, task: TaskId, generation: u64, through: u64, bytes: u64) {
        self.running = Some((task, generation, through, bytes));
        self.due_at = None;
        self.snapshot_failed = false;
    }

    /// Whether `task` is the snapshot being written.
    pub(crate) fn is_running(&self, task: TaskId) -> bool {
        self.running.is_some_and(|(t, ..)| t == task)
    }

    /// If `task` is the snapshot being written, forgets it and returns its generation: the
    /// document was deleted meanwhile, so whatever the write left in R2 must go.
    pub(crate) fn abandon(&mut self, task: TaskId) -> Option<u64> {
        let (running, generation, ..) = self.running?;
        if running != task {
            return None;
        }
        self.running = None;
        Some(generation)
    }

    /// Whether `task` is a tracked cleanup; it is forgotten (and queued again if it failed).
    pub(crate) fn cleanup_done(&mut self, task: TaskId, ok: bool) -> bool {
        let Some(op) = self.cleanups.remove(&task) else {
            return false;
        };
        if !ok {
            self.failed_cleanups.push(op);
        }
        true
    }

    /// Handles the end of a compaction task; returns follow-up storage ops to start.
    pub(crate) fn on_done(&mut self, task: TaskId, ok: bool, log: &mut LogState) -> Vec<StorageOp> {
        if let Some(op) = self.cleanups.remove(&task) {
            if !ok {
                self.failed_cleanups.push(op);
            }
            return Vec::new();
        }
        let Some((running, generation, through, bytes)) = self.running else {
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
        log.snapshot_bytes = bytes;
        log.snapshot_through = through;
        previous
            .map(|old| StorageOp::DeleteSnapshot { generation: old })
            .into_iter()
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_paid_off_before_anything_is_released() {
        let mut log = LogState::default();
        log.appended(1, 100);
        // A snapshot added next to the rows: nothing to give back, 250 owed.
        let before = log.stored_bytes();
        log.snapshot_bytes = 250;
        assert_eq!(log.release_since(before), 0);
        // Shrinking by 300 (a smaller snapshot, and a row gone with a delete) first pays off
        // the 250.
        let before = log.stored_bytes();
        log.snapshot_bytes = 50;
        log.rows.clear();
        assert_eq!(log.release_since(before), 50);
        assert_eq!(log.release_since(log.stored_bytes()), 0);
    }
}
