//! The room's life: loading, connections coming and going, the timer, and deletion.

use super::*;

impl RelayRoom {
    pub(super) fn on_loaded(&mut self, now: Millis, mut stored: StoredRoom) {
        if !matches!(self.phase, Phase::Loading(_)) {
            return;
        }
        if stored.deleted {
            self.phase = Phase::Deleted;
            for conn in self.peers.keys().copied().collect::<Vec<_>>() {
                self.refuse(conn, ErrorCode::DocDeleted, "this document was deleted");
            }
            return;
        }
        let log = LogState::from_stored(&stored);
        let bytes = stored.snapshot.as_ref().map_or(0, |s| s.bytes.len())
            + stored.log.iter().map(|r| r.len as usize).sum::<usize>();
        if !self.restore(&mut stored) {
            // Serving without the snapshot would let a refresh overwrite it with less: refuse
            // everyone instead, and keep the stored data for an operator to look at.
            self.phase = Phase::Damaged;
            for conn in self.peers.keys().copied().collect::<Vec<_>>() {
                self.close_damaged(conn);
            }
            return;
        }
        self.log = log;
        self.phase = Phase::Ready;
        self.adopt_ledger(&stored, bytes > 0);
        self.out
            .push(RoomOutput::Event(RoomEvent::Loaded { bytes }));
        for (conn, bytes) in std::mem::take(&mut self.early_frames) {
            self.on_frame(now, conn, bytes);
        }
        if self.writing.is_none() && self.pending.is_empty() {
            self.compaction.note_load(now, &self.log);
        }
    }

    pub(super) fn close_damaged(&mut self, conn: ConnId) {
        self.out.push(RoomOutput::Close {
            conn,
            code: 1011,
            reason: "the stored document is damaged".into(),
        });
        self.peers.remove(&conn);
    }

    pub(super) fn on_connected(&mut self, now: Millis, conn: ConnId, access: PeerAccess) {
        if self.phase == Phase::Damaged {
            return self.close_damaged(conn);
        }
        if access.expires_at_ms <= now {
            self.peers.insert(conn, Peer::new(access));
            self.refuse(conn, ErrorCode::TokenExpired, "the token has expired");
            return;
        }
        if self.phase == Phase::Deleted {
            self.peers.insert(conn, Peer::new(access));
            self.refuse(conn, ErrorCode::DocDeleted, "this document was deleted");
            return;
        }
        self.out.push(RoomOutput::Event(RoomEvent::Connected {
            conn,
            subject: access.subject.clone(),
        }));
        let peer = Peer::new(access);
        self.out.push(RoomOutput::Attach {
            conn,
            attachment: peer.attachment(),
        });
        self.peers.insert(conn, peer);
    }

    pub(super) fn on_reattached(&mut self, conn: ConnId, attachment: &[u8]) {
        match Peer::from_attachment(attachment) {
            Some(peer) => {
                self.peers.insert(conn, peer);
            }
            None => self.out.push(RoomOutput::Close {
                conn,
                code: ErrorCode::BadMessage.close_code(),
                reason: "connection state lost; reconnect".into(),
            }),
        }
    }

    pub(super) fn on_disconnected(&mut self, conn: ConnId) {
        self.peers.remove(&conn);
        self.early_frames.retain(|(c, _)| *c != conn);
        // Pending chunks stay: they may be another peer's only copy of those changes soon.
        // Acks for them simply have no one to go to.
    }

    pub(super) fn on_timer(&mut self, now: Millis) {
        self.timer = None;
        self.sync_held(now);
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if let Phase::Loading(_) = self.phase {
                let task = self.storage(StorageOp::Load);
                self.phase = Phase::Loading(task);
            } else {
                self.admit_and_forward();
                self.pump(now);
                self.read_rows();
                for op in self.compaction.retry_ops() {
                    self.cleanup(op);
                }
            }
        }
        let expired: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.access.expires_at_ms <= now)
            .map(|(c, _)| *c)
            .collect();
        for conn in expired {
            self.refuse(conn, ErrorCode::TokenExpired, "the token has expired");
        }
        if self.phase == Phase::Ready && self.compaction.due(now) && self.writing.is_none() {
            self.refresh_snapshot();
        }
    }

    pub(super) fn on_delete(&mut self) {
        // A document that does not exist stays that way: no tombstone, nothing written (the
        // shell answers not found). A room still loading cannot tell, so it records the
        // tombstone anyway; the shells load first.
        if self.phase == Phase::Ready && !self.exists() {
            return;
        }
        // Everything charged to the tenant goes back: what is stored, the row being written,
        // and the unused budget.
        if self.phase == Phase::Ready {
            // Admitted changes were paid for at admission, written or not.
            let writing = self
                .writing
                .as_ref()
                .map_or(0, |w| w.chunks.iter().map(|c| c.len as u64).sum::<u64>())
                + self.pending.iter().map(|c| c.len as u64).sum::<u64>();
            // Budget already on its way back goes back now; its ledger write no longer matters.
            let releasing = self.releasing.take().map_or(0, |(_, bytes)| bytes);
            let charged = (self.log.stored_bytes() + writing + self.budget + releasing)
                .saturating_sub(self.log.unpaid());
            self.out.push(RoomOutput::Event(RoomEvent::QuotaReleased {
                bytes: charged,
                document: self.counted,
            }));
            self.budget = 0;
            self.counted = false;
        }
        self.phase = Phase::Deleted;
        self.pending.clear();
        self.incoming.clear();
        self.incoming_hashes.clear();
        self.waiting.clear();
        self.queued.clear();
        self.graph = ChangeGraph::default();
        self.snapshot = None;
        // Tracked like a cleanup, so a failure (an R2 delete, say) is retried until it holds.
        self.cleanup(StorageOp::PutTombstone);
        for conn in self.peers.keys().copied().collect::<Vec<_>>() {
            self.refuse(conn, ErrorCode::DocDeleted, "this document was deleted");
        }
    }
}
