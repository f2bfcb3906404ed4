//! Reading stored rows back: the graph keeps only some rows' change bytes in memory
//! (`RoomConfig::max_resident_row_bytes`), so a message for a peer, a snapshot refresh or the
//! document for `GET /snapshot` may first need rows from storage. One `ReadRows` runs at a
//! time; what is wanted meanwhile goes in the next. Eviction happens at the start of each
//! input, so rows read for one input are used before they can be dropped.

use super::*;

impl RelayRoom {
    /// Asks for these rows; the read starts now if none is running.
    pub(super) fn want_rows(&mut self, seqs: Vec<u64>) {
        self.rows_wanted.extend(seqs);
        self.read_rows();
    }

    /// Starts the next read, unless one is running or a failed one waits for its retry.
    pub(super) fn read_rows(&mut self) {
        if self.reading.is_some() || self.rows_wanted.is_empty() || self.phase != Phase::Ready {
            return;
        }
        if self.retry_at.is_some_and(|t| t > self.now) {
            return;
        }
        let seqs: Vec<u64> = std::mem::take(&mut self.rows_wanted).into_iter().collect();
        self.reading = Some(self.storage(StorageOp::ReadRows { seqs }));
    }

    pub(super) fn on_rows_read(
        &mut self,
        now: Millis,
        task: Option<TaskId>,
        outcome: Result<Vec<(u64, Vec<u8>)>, String>,
    ) {
        if task.is_some() {
            if task != self.reading {
                return;
            }
            self.reading = None;
        }
        match outcome {
            Ok(rows) => {
                for (seq, bytes) in rows {
                    if !self.graph.fill_row(seq, bytes) {
                        self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                            error: format!("log row {seq} read back does not match its index"),
                        }));
                    }
                }
            }
            Err(error) => {
                self.out
                    .push(RoomOutput::Event(RoomEvent::StorageFailed { error }));
                self.retry_later(now);
            }
        }
        if task.is_none() {
            return;
        }
        // Whatever waited for rows tries again: what is still missing is asked for again.
        let waiting: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.unsent.is_some())
            .map(|(c, _)| *c)
            .collect();
        for conn in waiting {
            self.sync_peer(conn);
        }
        if std::mem::take(&mut self.refresh_wants_rows) && !self.compaction.is_writing() {
            self.refresh_snapshot();
        }
        self.read_rows();
    }

    /// Drops rows' bytes beyond the budget: called before each input is handled. Rows that a
    /// waiting message or the waiting refresh needs stay, so what is read is never dropped
    /// before it is used (two messages cannot evict each other's rows forever).
    pub(super) fn evict_rows(&mut self) {
        let budget = self.config.max_resident_row_bytes;
        if self.graph.resident_row_bytes() <= budget {
            return;
        }
        let mut pinned = BTreeSet::new();
        for peer in self.peers.values() {
            if let Some(out) = &peer.unsent {
                pinned.extend(self.graph.rows_of(self.indices_of(out)));
            }
        }
        if self.refresh_wants_rows {
            let covered = self.snapshot.as_ref().map_or(0, |s| s.covers);
            pinned.extend(self.graph.rows_of(covered..self.durable));
        }
        self.graph.evict_rows(budget, &pinned);
    }
}
