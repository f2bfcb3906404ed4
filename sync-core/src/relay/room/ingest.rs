//! Changes coming in: checked structurally, admitted into the graph and forwarded at once,
//! written in batches, acknowledged once durable, within the tenant's quota.
//!
//! A change goes through up to three queues: `waiting` until its deps are known, `incoming`
//! until the tenant's budget covers it, `pending` (in the graph, already forwarded) until its
//! row is durable. Admission order is graph order is write order, so what is durable is always
//! a prefix of the graph.

use super::*;
use crate::relay::graph::{encode_index, parse_change};

/// Upper bound of one change's index entry next to its bytes in a row: length, hash, dep
/// count, actor field, seq (5 + 32 + 5 + 5 + 5), plus 5 per dep and the actor id.
fn index_bound(change_deps: usize, actor_len: usize) -> usize {
    52 + 5 * change_deps + 6 + actor_len
}

impl RelayRoom {
    pub(super) fn on_sync(&mut self, now: Millis, conn: ConnId, data: &[u8]) {
        let mut message = match sync::Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                return self.refuse(
                    conn,
                    ErrorCode::BadMessage,
                    &format!("bad sync message: {e}"),
                );
            }
        };
        let chunks: Vec<Vec<u8>> = message.changes.iter().map(<[u8]>::to_vec).collect();
        message.changes = sync::ChunkList::empty();
        let peer = self.peers.get_mut(&conn).expect("caller checked");
        if !chunks.is_empty() && !peer.access.can_write {
            return self.refuse(
                conn,
                ErrorCode::PermissionDenied,
                "this token is read-only; the change was not applied",
            );
        }
        if let Some(big) = chunks
            .iter()
            .find(|c| c.len() > self.config.max_change_bytes)
        {
            let msg = format!(
                "a change of {} bytes is over the {}-byte limit",
                big.len(),
                self.config.max_change_bytes
            );
            return self.refuse(conn, ErrorCode::PayloadTooLarge, &msg);
        }
        let first_contact = !peer.syncing;
        if !chunks.is_empty() && !self.admit_changes(conn, chunks.iter().map(Vec::len).sum()) {
            return;
        }
        // Structure first, for the whole message: a malformed or document chunk refuses the
        // message before any of it is taken.
        let mut parsed = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            match parse_change(chunk) {
                Ok(c) => parsed.push(c),
                Err(e) => return self.refuse(conn, ErrorCode::BadMessage, &e.to_string()),
            }
        }
        // A peer asking for a document nobody has written gets `doc-unavailable`, so stock
        // clients' `find` settles instead of waiting forever. It stays subscribed: once someone
        // writes the document, it is synced like everyone else.
        let unknown_doc = parsed.is_empty() && message.heads.is_empty() && self.is_empty_doc();
        if first_contact && unknown_doc {
            let target = self.remote_id(conn);
            self.send(
                conn,
                Message::DocUnavailable {
                    sender_id: self.config.relay_peer_id.clone(),
                    target_id: target,
                    document_id: self.doc_id,
                },
            );
        }
        let before = self.graph.heads();
        let peer = self.peers.get_mut(&conn).expect("caller checked");
        peer.syncing = true;
        peer.sync.begin_receive(message.flags);
        let had_changes = !parsed.is_empty();
        if !self.ingest(conn, parsed) {
            return;
        }
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        peer.sync.finish_receive(
            &self.graph,
            &before,
            had_changes,
            message.heads,
            message.need,
            message.have,
        );
        if self.graph.heads() == before {
            self.sync_peer(conn);
        } else {
            // Forward on arrival: everyone hears of the new changes before they are durable.
            self.sync_all();
        }
        // A client whose heads are durable learns it here (after a reconnect, or once it has
        // what was forwarded to it); one with changes still to store, when they are.
        self.ack_if_due(conn, false);
        self.pump(now);
    }

    /// Queues a message's changes: known ones are skipped, the rest wait for their deps and
    /// budget. `false` if the sender was refused.
    fn ingest(&mut self, conn: ConnId, parsed: Vec<ParsedChange>) -> bool {
        for change in parsed {
            if self.graph.contains(&change.hash) || self.queued.contains(&change.hash) {
                continue;
            }
            self.queued.insert(change.hash);
            if let Some(peer) = self.peers.get_mut(&conn) {
                peer.unpersisted += 1;
            }
            let item = Incoming { conn, change };
            if self.deps_ready(&item.change) {
                self.incoming_hashes.insert(item.change.hash);
                self.incoming.push_back(item);
                self.release_waiting();
            } else if self.waiting.len() >= self.config.max_waiting_changes {
                self.queued.remove(&item.change.hash);
                self.refuse_with_retry(
                    conn,
                    ErrorCode::RateLimited,
                    "too many changes are waiting for their dependencies; send them in order",
                    Some(self.config.queue_retry_ms),
                );
                return false;
            } else {
                self.waiting.push(item);
            }
        }
        self.admit();
        self.peers.contains_key(&conn)
    }

    /// Whether every dep is in the graph or queued ahead for budget.
    fn deps_ready(&self, change: &ParsedChange) -> bool {
        change
            .deps
            .iter()
            .all(|d| self.graph.contains(d) || self.incoming_hashes.contains(d))
    }

    /// Moves waiting changes whose deps have arrived behind them.
    fn release_waiting(&mut self) {
        while !self.waiting.is_empty() {
            let Some(at) = self.waiting.iter().position(|w| self.deps_ready(&w.change)) else {
                return;
            };
            let item = self.waiting.swap_remove(at);
            self.incoming_hashes.insert(item.change.hash);
            self.incoming.push_back(item);
        }
    }

    /// Admits incoming changes into the graph, in order, while the budget covers them; asks
    /// the tenant for more when it does not.
    pub(super) fn admit(&mut self) {
        if self.phase != Phase::Ready {
            return;
        }
        while let Some(front) = self.incoming.front() {
            let len = front.change.bytes.len();
            if !self.graph.deps_known(&front.change.deps) {
                // A dep was dropped (refused): this one can never be applied either.
                let item = self.pop_incoming();
                self.forget(item.conn);
                continue;
            }
            if let Err(e) = self.graph.check(&front.change) {
                let item = self.pop_incoming();
                self.forget(item.conn);
                self.refuse(item.conn, ErrorCode::BadMessage, &e.to_string());
                continue;
            }
            if len as u64 > self.budget {
                if !self.reserving {
                    self.reserving = true;
                    let queued: u64 = self
                        .incoming
                        .iter()
                        .map(|q| q.change.bytes.len() as u64)
                        .sum();
                    let want = (queued - self.budget).max(self.config.quota_chunk_bytes);
                    self.out.push(RoomOutput::ReserveQuota {
                        bytes: want,
                        new_document: !self.counted,
                    });
                }
                return;
            }
            self.budget -= len as u64;
            let item = self.pop_incoming();
            let index = self.graph.insert(&item.change);
            self.pending.push_back(PendingChunk {
                conn: item.conn,
                index,
                len,
            });
        }
    }

    /// Admits what the budget now covers and forwards it to every peer.
    pub(super) fn admit_and_forward(&mut self) {
        let before = self.graph.len();
        self.admit();
        if self.graph.len() > before {
            self.sync_all();
        }
    }

    fn pop_incoming(&mut self) -> Incoming {
        let item = self.incoming.pop_front().expect("caller checked");
        self.incoming_hashes.remove(&item.change.hash);
        self.queued.remove(&item.change.hash);
        item
    }

    /// One of `conn`'s changes will never be stored.
    fn forget(&mut self, conn: ConnId) {
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.unpersisted = peer.unpersisted.saturating_sub(1);
        }
    }

    pub(super) fn on_storage_done(
        &mut self,
        now: Millis,
        task: TaskId,
        outcome: Result<(), String>,
    ) {
        if let Err(error) = &outcome {
            self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                error: error.clone(),
            }));
        }
        if let Phase::Loading(t) = self.phase {
            if t == task && outcome.is_err() {
                // The load itself failed: try again later, keep early frames queued.
                self.retry_later(now);
            }
            return;
        }
        let ok = outcome.is_ok();
        if self.phase == Phase::Deleted {
            return self.on_storage_done_deleted(now, task, ok);
        }
        if self.writing.as_ref().is_some_and(|w| w.task == task) {
            let batch = self.writing.take().expect("checked");
            if ok {
                self.on_batch_durable(now, batch);
            } else {
                // Keep the data dirty: back in front of the queue, retried after a delay.
                for chunk in batch.chunks.into_iter().rev() {
                    self.pending.push_front(chunk);
                }
                self.retry_later(now);
            }
            return;
        }
        if self.on_ledger_stored(now, task, ok) {
            return;
        }
        if self.on_snapshot_done(now, task, ok) {
            return;
        }
        let before = self.log.stored_bytes();
        let follow_ups = self.compaction.on_done(task, ok, &mut self.log);
        self.release_freed(before);
        for op in follow_ups {
            self.cleanup(op);
        }
        if !ok {
            self.retry_later(now);
        }
    }

    /// Gives the tenant back what storage shrank by since `before`.
    pub(super) fn release_freed(&mut self, before: u64) {
        let released = self.log.release_since(before);
        if released > 0 {
            self.out.push(RoomOutput::Event(RoomEvent::QuotaReleased {
                bytes: released,
                document: false,
            }));
        }
    }

    /// A storage task ended after the document was deleted. A snapshot that was being
    /// written when the delete landed may have reached R2 after the tombstone cleared it: it
    /// is deleted now, whatever its outcome (a failed put may still have left an object).
    fn on_storage_done_deleted(&mut self, now: Millis, task: TaskId, ok: bool) {
        if let Some(generation) = self.compaction.abandon(task) {
            self.cleanup(StorageOp::DeleteSnapshot { generation });
            return;
        }
        if self.compaction.cleanup_done(task, ok) && !ok {
            self.retry_later(now);
        }
    }

    pub(super) fn on_quota(&mut self, now: Millis, answer: Result<u64, QuotaRefusal>) {
        self.reserving = false;
        self.out.push(RoomOutput::Event(RoomEvent::QuotaAnswered {
            answer: answer.map_err(|r| r.code),
        }));
        match answer {
            Ok(granted) => {
                self.budget += granted;
                self.counted = true;
                self.admit_and_forward();
                self.pump(now);
            }
            Err(refusal) => {
                // Nothing of the refused changes is stored or forwarded: drop every change
                // still waiting for budget and close the peers that sent them, with the
                // reason and when to retry.
                let mut conns: Vec<ConnId> = self.incoming.iter().map(|p| p.conn).collect();
                conns.sort();
                conns.dedup();
                self.incoming.clear();
                self.incoming_hashes.clear();
                self.waiting.retain(|w| !conns.contains(&w.conn));
                self.queued = self.waiting.iter().map(|w| w.change.hash).collect();
                for conn in conns {
                    if let Some(peer) = self.peers.get_mut(&conn) {
                        peer.unpersisted = 0;
                    }
                    self.refuse_with_retry(
                        conn,
                        refusal.code,
                        "the tenant's quota does not allow these changes",
                        refusal.retry_after_ms,
                    );
                }
            }
        }
    }

    /// Starts the next write if none is running: pending changes in graph order, up to one
    /// row (bytes plus index).
    pub(super) fn pump(&mut self, now: Millis) {
        if self.writing.is_some() || self.pending.is_empty() || self.phase != Phase::Ready {
            return;
        }
        if self.retry_at.is_some_and(|t| t > now) {
            return;
        }
        let mut take = 0;
        let mut bytes = 0usize;
        for chunk in &self.pending {
            let row = chunk.len + index_bound(self.graph.deps(chunk.index).len(), 64);
            if take > 0 && bytes + row > self.config.max_row_bytes {
                break;
            }
            bytes += row;
            take += 1;
        }
        let chunks: Vec<PendingChunk> = self.pending.drain(..take).collect();
        let first = chunks[0].index;
        debug_assert!(
            chunks
                .iter()
                .enumerate()
                .all(|(k, c)| c.index == first + k as u32),
            "pending changes are a contiguous run of the graph"
        );
        let row = self
            .graph
            .concat(chunks.iter().map(|c| c.index))
            .expect("changes not yet in a row are in memory");
        let index = encode_index(&self.graph, first, chunks.len() as u32);
        let seq = self.log.last_seq + 1;
        let ledger = self.ledger();
        // The quota counts change bytes; the index is the relay's own overhead.
        let task = self.storage(StorageOp::AppendLog {
            seq,
            bytes: row.clone(),
            index,
            ledger,
        });
        self.writing = Some(WriteBatch {
            task,
            seq,
            chunks,
            row,
        });
    }

    pub(super) fn on_batch_durable(&mut self, now: Millis, batch: WriteBatch) {
        self.retry_delay = 0;
        let bytes: usize = batch.chunks.iter().map(|c| c.len).sum();
        self.log.appended(batch.seq, batch.row.len() as u64);
        for chunk in &batch.chunks {
            self.mark_durable(chunk.index);
        }
        let indices: Vec<u32> = batch.chunks.iter().map(|c| c.index).collect();
        self.graph.stored_in_row(batch.seq, &indices, batch.row);
        self.out.push(RoomOutput::Event(RoomEvent::Persisted {
            chunks: batch.chunks.len(),
            bytes: bytes as u64,
        }));
        // One ack per sender whose last change this row stored, however many of its messages
        // the row covers.
        let mut stored: Vec<ConnId> = Vec::new();
        for chunk in &batch.chunks {
            if let Some(peer) = self.peers.get_mut(&chunk.conn) {
                peer.unpersisted = peer.unpersisted.saturating_sub(1);
                if peer.unpersisted == 0 && !stored.contains(&chunk.conn) {
                    stored.push(chunk.conn);
                }
            }
        }
        self.ack_after_write(&stored);
        self.compaction.note_write(now, &self.log, &self.config);
        self.pump(now);
    }

    /// Change `i` (the next after the durable prefix) is durable.
    pub(super) fn mark_durable(&mut self, i: u32) {
        debug_assert_eq!(i, self.durable, "durability follows graph order");
        for d in self.graph.deps(i) {
            self.durable_heads.remove(d);
        }
        self.durable_heads.insert(i);
        self.durable = i + 1;
    }

    pub(super) fn retry_later(&mut self, now: Millis) {
        self.retry_delay = if self.retry_delay == 0 {
            self.config.first_retry_ms
        } else {
            (self.retry_delay * 2).min(self.config.max_retry_ms)
        };
        self.retry_at = Some(now + self.retry_delay);
    }
}
