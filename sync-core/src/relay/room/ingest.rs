//! Changes coming in: persist before ack, in batches, within the tenant's quota.

use super::*;

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
        // A peer asking for a document nobody has written gets `doc-unavailable`, so stock
        // clients' `find` settles instead of waiting forever. It stays subscribed: once someone
        // writes the document, it is synced like everyone else.
        let unknown_doc = chunks.is_empty() && message.heads.is_empty() && self.is_empty_doc();
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
        let peer = self.peers.get_mut(&conn).expect("caller checked");
        peer.syncing = true;
        // The heads/need/have part is taken now; the changes wait until they are durable.
        let received = self
            .doc
            .sync()
            .receive_sync_message(&mut peer.sync, message);
        if let Err(e) = received {
            return self.refuse(
                conn,
                ErrorCode::BadMessage,
                &format!("bad sync message: {e}"),
            );
        }
        if chunks.is_empty() {
            self.sync_peer(conn);
            // Nothing of theirs is pending, so tell them what is durable: a client waiting for
            // "the relay holds all my changes" learns it here after a reconnect.
            if self.peers.get(&conn).is_some_and(|p| p.unpersisted == 0) {
                self.ack(conn);
            }
            return;
        }
        peer.unpersisted += chunks.len();
        for bytes in chunks {
            self.pending.push(PendingChunk { conn, bytes });
        }
        self.pump(now);
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
            match outcome {
                Ok(()) => self.on_batch_durable(now, batch),
                Err(_) => {
                    // Keep the data dirty: back in front of the queue, retried after a delay.
                    // The row was never stored, so the budget it took is still unused.
                    self.budget += batch
                        .chunks
                        .iter()
                        .map(|c| c.bytes.len() as u64)
                        .sum::<u64>();
                    let mut chunks = batch.chunks;
                    chunks.append(&mut self.pending);
                    self.pending = chunks;
                    self.retry_later(now);
                }
            }
            return;
        }
        if self.on_ledger_stored(now, task, ok) {
            return;
        }
        let compacted = self.compaction.is_running(task) && ok;
        let before = self.log.stored_bytes();
        let follow_ups = self.compaction.on_done(task, ok, &mut self.log);
        let released = self.log.release_since(before);
        if released > 0 {
            self.out.push(RoomOutput::Event(RoomEvent::QuotaReleased {
                bytes: released,
                document: false,
            }));
        }
        for op in follow_ups {
            self.cleanup(op);
        }
        if !ok {
            self.retry_later(now);
        }
        if compacted {
            // Compacted with nothing left to write: the room is idle, its budget goes back.
            self.release_if_idle();
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
                self.pump(now);
            }
            Err(refusal) => {
                // Nothing of the refused changes is stored: drop them all and close the peers
                // that sent them, with the reason and when to retry.
                let conns: Vec<ConnId> = {
                    let mut c: Vec<ConnId> = self.pending.iter().map(|p| p.conn).collect();
                    c.dedup();
                    c
                };
                self.pending.clear();
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

    /// Starts the next write if none is running: everything pending, up to one row.
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
            if take > 0 && bytes + chunk.bytes.len() > self.config.max_row_bytes {
                break;
            }
            bytes += chunk.bytes.len();
            take += 1;
        }
        if (bytes as u64) > self.budget {
            if !self.reserving {
                self.reserving = true;
                let want = (bytes as u64 - self.budget).max(self.config.quota_chunk_bytes);
                self.out.push(RoomOutput::ReserveQuota {
                    bytes: want,
                    new_document: !self.counted,
                });
            }
            return;
        }
        self.budget -= bytes as u64;
        let chunks: Vec<PendingChunk> = self.pending.drain(..take).collect();
        let row: Vec<u8> = chunks
            .iter()
            .flat_map(|c| c.bytes.iter().copied())
            .collect();
        let seq = self.log.last_seq + 1;
        let ledger = self.ledger();
        let task = self.storage(StorageOp::AppendLog {
            seq,
            bytes: row,
            ledger,
        });
        self.writing = Some(WriteBatch { task, seq, chunks });
    }

    pub(super) fn on_batch_durable(&mut self, now: Millis, batch: WriteBatch) {
        self.retry_delay = 0;
        let bytes: usize = batch.chunks.iter().map(|c| c.bytes.len()).sum();
        self.log.appended(batch.seq, bytes as u64);
        let row: Vec<u8> = batch
            .chunks
            .iter()
            .flat_map(|c| c.bytes.iter().copied())
            .collect();
        // One incremental load for the whole batch, however many peers and changes it holds.
        if self.doc.load_incremental(&row).is_err() {
            // A chunk automerge rejects after it was stored: the log row will be skipped the
            // same way on reload. The senders are told their data was bad.
            let mut conns: Vec<ConnId> = batch.chunks.iter().map(|c| c.conn).collect();
            conns.dedup();
            for conn in conns {
                self.refuse(conn, ErrorCode::BadMessage, "a change could not be applied");
            }
        }
        self.out.push(RoomOutput::Event(RoomEvent::Persisted {
            chunks: batch.chunks.len(),
            bytes: bytes as u64,
        }));
        let mut acked: Vec<ConnId> = Vec::new();
        for chunk in &batch.chunks {
            if let Some(peer) = self.peers.get_mut(&chunk.conn) {
                peer.unpersisted = peer.unpersisted.saturating_sub(1);
                if peer.unpersisted == 0 && !acked.contains(&chunk.conn) {
                    acked.push(chunk.conn);
                }
            }
        }
        for conn in acked {
            self.ack(conn);
        }
        self.sync_all();
        self.compaction.note_write(now, &self.log, &self.config);
        self.pump(now);
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
