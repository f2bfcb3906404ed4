//! The first-sync snapshot: a full automerge save of the durable changes, kept in R2 as a
//! cache so a new device downloads the compressed document instead of every change. It is
//! the one place the relay materializes a document, in an alarm when the room is idle, and
//! only for documents within `snapshot_max_changes`, so it fits in memory next to the room.
//! It is built from the previous snapshot plus the changes after it.
//!
//! This is also where a change that automerge cannot apply is caught: the relay checks
//! changes structurally only (see ARCHITECTURE.md). Such a change stays stored and served (every
//! peer that has it has already failed to apply it), the snapshot is not refreshed, and the
//! room reports it as a `StorageFailed` event for the operator.

use automerge::AutoCommit;

use super::*;

impl RelayRoom {
    /// Builds and stores a new snapshot, if the document is within the budget and applies.
    pub(super) fn refresh_snapshot(&mut self) {
        if self.durable as usize > self.config.snapshot_max_changes {
            self.compaction.skip();
            return;
        }
        let covered = self.snapshot.as_ref().map_or(0, |s| s.covers);
        if covered == self.durable {
            self.compaction.skip();
            return;
        }
        let missing = self.graph.rows_to_read(covered..self.durable);
        if !missing.is_empty() {
            // Built once the rows are back in memory.
            self.compaction.skip();
            self.refresh_wants_rows = true;
            self.want_rows(missing);
            return;
        }
        let base = match &self.snapshot {
            Some(s) => AutoCommit::load(&s.bytes),
            None => Ok(AutoCommit::new()),
        };
        let built = base.and_then(|mut doc| {
            let tail = self.graph.concat(covered..self.durable);
            doc.load_incremental(&tail.expect("read above"))?;
            Ok(doc)
        });
        let mut doc = match built {
            Ok(doc) => doc,
            Err(e) => return self.snapshot_refused(&format!("automerge refused: {e}")),
        };
        if doc.get_heads() != self.durable_heads() {
            // A change automerge holds back (it lacks something the graph does not track).
            return self.snapshot_refused("automerge did not apply every stored change");
        }
        let bytes = doc.save();
        drop(doc);
        let generation = self.compaction.next_generation(&self.log);
        let size = bytes.len() as u64;
        let through = self.log.last_seq;
        self.refreshing = Some(SnapshotCache {
            bytes: bytes.clone(),
            covers: self.durable,
        });
        let task = self.storage(StorageOp::PutSnapshot {
            generation,
            bytes,
            log_through: through,
        });
        self.compaction.started(task, generation, through, size);
    }

    fn snapshot_refused(&mut self, why: &str) {
        self.compaction.skip();
        self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
            error: format!("snapshot not refreshed: {why}"),
        }));
    }

    /// The end of a `PutSnapshot`; `false` if `task` is not the one running.
    pub(super) fn on_snapshot_done(&mut self, now: Millis, task: TaskId, ok: bool) -> bool {
        if !self.compaction.is_running(task) {
            return false;
        }
        let before = self.log.stored_bytes();
        let follow_ups = self.compaction.on_done(task, ok, &mut self.log);
        let fresh = self.refreshing.take();
        if ok {
            self.release_freed(before);
            if let Some(fresh) = fresh {
                self.out.push(RoomOutput::Event(RoomEvent::Compacted {
                    generation: self.compaction.next_generation(&self.log) - 1,
                    bytes: fresh.bytes.len() as u64,
                }));
                self.snapshot = Some(fresh);
            }
        } else {
            // The old snapshot and the rows are intact: try again on the retry timer.
            self.retry_later(now);
        }
        for op in follow_ups {
            self.cleanup(op);
        }
        if ok {
            // Refreshed with nothing left to write: the room is idle, its budget goes back.
            self.release_if_idle();
        }
        true
    }
}
