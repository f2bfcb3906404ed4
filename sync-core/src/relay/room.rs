//! `RelayRoom`: the relay's state machine for one document.

use std::collections::BTreeMap;

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};

use super::config::RoomConfig;
use super::io::{
    PeerAccess, QuotaRefusal, RoomEvent, RoomInput, RoomOutput, StorageOp, StoredRoom,
};
use super::peer::{Peer, Remote};
use super::persistence::{Compaction, LogState, PendingChunk, WriteBatch};
use crate::framing::frames_for;
use crate::io::{ConnId, Millis, TaskId, heads_to_hex};
use crate::protocol::{DocumentId, ErrorCode, Message, PeerMetadata};

/// The relay's state machine for one document: peers, their sync states, authorization,
/// persistence (persist before ack, compaction) and quota accounting. It does no IO: feed it
/// [`RoomInput`]s with the current time and carry out the [`RoomOutput`]s it returns, in order.
#[derive(Debug)]
pub struct RelayRoom {
    config: RoomConfig,
    doc_id: DocumentId,
    phase: Phase,
    doc: AutoCommit,
    peers: BTreeMap<ConnId, Peer>,
    /// Frames that arrived before the document was loaded, replayed once it is.
    early_frames: Vec<(ConnId, Vec<u8>)>,
    /// Chunks received but not yet durable, oldest first.
    pending: Vec<PendingChunk>,
    writing: Option<WriteBatch>,
    log: LogState,
    compaction: Compaction,
    /// Bytes the tenant's quota has granted and this room has not used yet.
    budget: u64,
    reserving: bool,
    /// Whether this document has been counted against the tenant's document limit.
    counted: bool,
    next_task: u64,
    /// Retry of a failed storage write: when, and the current back-off.
    retry_at: Option<Millis>,
    retry_delay: u64,
    timer: Option<Millis>,
    out: Vec<RoomOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading(TaskId),
    Ready,
    Deleted,
    /// The snapshot does not load; nothing is served or written.
    Damaged,
}

impl RelayRoom {
    /// A room for `doc_id`. The first outputs ask the shell to load its stored state.
    pub fn new(config: RoomConfig, doc_id: DocumentId) -> (Self, Vec<RoomOutput>) {
        let mut room = Self {
            config,
            doc_id,
            phase: Phase::Ready,
            doc: AutoCommit::new(),
            peers: BTreeMap::new(),
            early_frames: Vec::new(),
            pending: Vec::new(),
            writing: None,
            log: LogState::default(),
            compaction: Compaction::default(),
            budget: 0,
            reserving: false,
            counted: false,
            next_task: 0,
            retry_at: None,
            retry_delay: 0,
            timer: None,
            out: Vec::new(),
        };
        let task = room.storage(StorageOp::Load);
        room.phase = Phase::Loading(task);
        let out = std::mem::take(&mut room.out);
        (room, out)
    }

    /// The document this room serves.
    pub fn doc_id(&self) -> DocumentId {
        self.doc_id
    }

    /// The materialized document (for the snapshot endpoint and tests).
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The snapshot endpoint's ETag: a digest of the document's heads, so it changes exactly
    /// when the document does, and stays the same across restarts and builds.
    pub fn snapshot_etag(&mut self) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        for head in heads_to_hex(&self.doc.get_heads()) {
            digest.update(head.as_bytes());
        }
        format!("\"{}\"", hex::encode(&digest.finalize()[..8]))
    }

    /// Whether the document was deleted.
    pub fn is_deleted(&self) -> bool {
        self.phase == Phase::Deleted
    }

    /// Whether the room has loaded its stored state.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether any received change is not yet durable.
    pub fn has_unpersisted(&self) -> bool {
        !self.pending.is_empty() || self.writing.is_some()
    }

    /// Connections currently open.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.peers.keys().copied()
    }

    /// Handles one input at time `now` and returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: RoomInput) -> Vec<RoomOutput> {
        match input {
            RoomInput::Loaded(stored) => self.on_loaded(now, stored),
            RoomInput::Connected { conn, access } => self.on_connected(now, conn, access),
            RoomInput::Reattached { conn, attachment } => self.on_reattached(conn, &attachment),
            RoomInput::Frame { conn, bytes } => self.on_frame(now, conn, bytes),
            RoomInput::Disconnected { conn } => self.on_disconnected(conn),
            RoomInput::StorageDone { task, outcome } => self.on_storage_done(now, task, outcome),
            RoomInput::Quota(answer) => self.on_quota(now, answer),
            RoomInput::Timer => self.on_timer(now),
            RoomInput::Delete => self.on_delete(),
        }
        self.schedule_timer(now);
        std::mem::take(&mut self.out)
    }

    // ---- inputs -------------------------------------------------------------------------

    fn on_loaded(&mut self, now: Millis, stored: StoredRoom) {
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
        let Some(doc) = self.rebuild(&stored) else {
            // Serving without the snapshot would let compaction overwrite it with less: refuse
            // everyone instead, and keep the stored data for an operator to look at.
            self.phase = Phase::Damaged;
            for conn in self.peers.keys().copied().collect::<Vec<_>>() {
                self.close_damaged(conn);
            }
            return;
        };
        self.counted = stored.snapshot.is_some() || !stored.log.is_empty();
        self.log = LogState::from_stored(&stored);
        self.doc = doc;
        self.phase = Phase::Ready;
        let bytes = stored.snapshot.as_ref().map_or(0, |s| s.bytes.len())
            + stored.log.iter().map(|(_, b)| b.len()).sum::<usize>();
        self.out
            .push(RoomOutput::Event(RoomEvent::Loaded { bytes }));
        for (conn, bytes) in std::mem::take(&mut self.early_frames) {
            self.on_frame(now, conn, bytes);
        }
        if self.writing.is_none() && self.pending.is_empty() {
            self.compaction.note_load(now, &self.log);
        }
    }

    /// The document from a snapshot plus the log. The log is loaded with one incremental load;
    /// only if that fails are rows loaded one by one, so one bad row cannot hide later ones.
    /// `None` if the snapshot itself does not load.
    fn rebuild(&mut self, stored: &StoredRoom) -> Option<AutoCommit> {
        let base = match &stored.snapshot {
            Some(snap) => AutoCommit::load(&snap.bytes).ok()?,
            None => AutoCommit::new(),
        };
        let log_bytes: Vec<u8> = stored
            .log
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        if log_bytes.is_empty() {
            return Some(base);
        }
        let mut doc = base.clone();
        if doc.load_incremental(&log_bytes).is_ok() {
            return Some(doc);
        }
        let mut doc = base;
        for (seq, row) in &stored.log {
            if let Err(e) = doc.load_incremental(row) {
                self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                    error: format!("log row {seq} does not load and was skipped: {e}"),
                }));
            }
        }
        Some(doc)
    }

    fn close_damaged(&mut self, conn: ConnId) {
        self.out.push(RoomOutput::Close {
            conn,
            code: 1011,
            reason: "the stored document is damaged".into(),
        });
        self.peers.remove(&conn);
    }

    fn on_connected(&mut self, now: Millis, conn: ConnId, access: PeerAccess) {
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
        let peer = Peer::new(access);
        self.out.push(RoomOutput::Attach {
            conn,
            attachment: peer.attachment(),
        });
        self.peers.insert(conn, peer);
    }

    fn on_reattached(&mut self, conn: ConnId, attachment: &[u8]) {
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

    fn on_disconnected(&mut self, conn: ConnId) {
        self.peers.remove(&conn);
        self.early_frames.retain(|(c, _)| *c != conn);
        // Pending chunks stay: they may be another peer's only copy of those changes soon.
        // Acks for them simply have no one to go to.
    }

    fn on_frame(&mut self, now: Millis, conn: ConnId, bytes: Vec<u8>) {
        let Some(peer) = self.peers.get(&conn) else {
            return;
        };
        if peer.access.expires_at_ms <= now {
            self.refuse(conn, ErrorCode::TokenExpired, "the token has expired");
            return;
        }
        if bytes.len() > self.config.max_frame_bytes {
            self.refuse(
                conn,
                ErrorCode::PayloadTooLarge,
                "frame over the size limit; split it",
            );
            return;
        }
        let message = match Message::decode(&bytes) {
            Ok(m) => m,
            Err(e) => return self.refuse(conn, ErrorCode::BadMessage, &e.to_string()),
        };
        if let Message::Fragment { .. } = message {
            let peer = self.peers.get_mut(&conn).expect("checked above");
            match peer.reassembler.accept(&message) {
                Ok(Some(whole)) => self.on_whole_frame(now, conn, whole),
                Ok(None) => {}
                Err(e) => self.refuse(conn, ErrorCode::BadMessage, &e.to_string()),
            }
            return;
        }
        self.on_message(now, conn, bytes, message);
    }

    /// A reassembled frame: its own size limit is the reassembler's, not the frame limit.
    fn on_whole_frame(&mut self, now: Millis, conn: ConnId, bytes: Vec<u8>) {
        match Message::decode(&bytes) {
            Ok(Message::Fragment { .. }) => {
                self.refuse(conn, ErrorCode::BadMessage, "nested fragments");
            }
            Ok(m) => self.on_message(now, conn, bytes, m),
            Err(e) => self.refuse(conn, ErrorCode::BadMessage, &e.to_string()),
        }
    }

    fn on_message(&mut self, now: Millis, conn: ConnId, raw: Vec<u8>, message: Message) {
        let handshaken = self.peers.get(&conn).is_some_and(|p| p.remote.is_some());
        match message {
            Message::Join {
                sender_id,
                supported_protocol_versions,
                metadata,
            } => {
                if !supported_protocol_versions.iter().any(|v| v == "1") {
                    return self.refuse(
                        conn,
                        ErrorCode::BadMessage,
                        "unsupported protocol version",
                    );
                }
                let peer = self.peers.get_mut(&conn).expect("caller checked");
                peer.remote = Some(Remote {
                    peer_id: sender_id.to_string(),
                    storage_id: metadata
                        .filter(|m| !m.is_ephemeral)
                        .and_then(|m| m.storage_id)
                        .map(|s| s.to_string()),
                });
                let reply = Message::Peer {
                    sender_id: self.config.relay_peer_id.clone(),
                    selected_protocol_version: "1".into(),
                    target_id: sender_id,
                    metadata: Some(PeerMetadata {
                        storage_id: Some(self.config.storage_id.clone()),
                        is_ephemeral: false,
                    }),
                };
                self.send(conn, reply);
                self.attach(conn);
            }
            _ if !handshaken => {
                self.refuse(conn, ErrorCode::BadMessage, "expected join first");
            }
            Message::Request {
                document_id, data, ..
            }
            | Message::Sync {
                document_id, data, ..
            } => {
                if document_id != self.doc_id {
                    let target = self.remote_id(conn);
                    self.send(
                        conn,
                        Message::DocUnavailable {
                            sender_id: self.config.relay_peer_id.clone(),
                            target_id: target,
                            document_id,
                        },
                    );
                    return;
                }
                match self.phase {
                    Phase::Loading(_) => self.early_frames.push((conn, raw)),
                    Phase::Damaged => self.close_damaged(conn),
                    Phase::Deleted => {
                        self.refuse(conn, ErrorCode::DocDeleted, "this document was deleted");
                    }
                    Phase::Ready => self.on_sync(now, conn, &data),
                }
            }
            Message::Ephemeral {
                count,
                session_id,
                document_id,
                data,
                sender_id,
                ..
            } if document_id == self.doc_id => {
                // Relayed to every other peer of the document, never stored.
                let targets: Vec<(ConnId, _)> = self
                    .peers
                    .iter()
                    .filter(|(c, p)| **c != conn && p.syncing)
                    .filter_map(|(c, p)| p.remote.as_ref().map(|r| (*c, r.peer_id())))
                    .collect();
                for (c, target_id) in targets {
                    self.send(
                        c,
                        Message::Ephemeral {
                            sender_id: sender_id.clone(),
                            target_id,
                            count,
                            session_id: session_id.clone(),
                            document_id,
                            data: data.clone(),
                        },
                    );
                }
            }
            Message::Leave { .. } => {
                self.out.push(RoomOutput::Close {
                    conn,
                    code: 1000,
                    reason: "bye".into(),
                });
                self.on_disconnected(conn);
            }
            // Gossip about other storages, errors and unknown types need no answer.
            _ => {}
        }
    }

    fn on_sync(&mut self, now: Millis, conn: ConnId, data: &[u8]) {
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

    fn on_storage_done(&mut self, now: Millis, task: TaskId, outcome: Result<(), String>) {
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
        if self.writing.as_ref().is_some_and(|w| w.task == task) {
            let batch = self.writing.take().expect("checked");
            match outcome {
                Ok(()) => self.on_batch_durable(now, batch),
                Err(_) => {
                    // Keep the data dirty: back in front of the queue, retried after a delay.
                    let mut chunks = batch.chunks;
                    chunks.append(&mut self.pending);
                    self.pending = chunks;
                    self.retry_later(now);
                }
            }
            return;
        }
        let ok = outcome.is_ok();
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
    }

    fn on_quota(&mut self, now: Millis, answer: Result<u64, QuotaRefusal>) {
        self.reserving = false;
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

    fn on_timer(&mut self, now: Millis) {
        self.timer = None;
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if let Phase::Loading(_) = self.phase {
                let task = self.storage(StorageOp::Load);
                self.phase = Phase::Loading(task);
            } else {
                self.pump(now);
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
            let generation = self.compaction.next_generation(&self.log);
            let bytes = self.doc.save();
            let size = bytes.len() as u64;
            let op = StorageOp::PutSnapshot {
                generation,
                bytes,
                log_through: self.log.last_seq,
            };
            let task = self.storage(op);
            self.compaction
                .started(task, generation, self.log.last_seq, size);
        }
    }

    fn on_delete(&mut self) {
        // Everything charged to the tenant goes back: what is stored, the row being written,
        // and the unused budget. A room still loading knows none of it (the shells load first).
        if self.phase == Phase::Ready {
            let writing = self.writing.as_ref().map_or(0, |w| {
                w.chunks.iter().map(|c| c.bytes.len() as u64).sum::<u64>()
            });
            self.out.push(RoomOutput::Event(RoomEvent::QuotaReleased {
                bytes: self.log.stored_bytes() + writing + self.budget,
                document: self.counted,
            }));
            self.budget = 0;
            self.counted = false;
        }
        self.phase = Phase::Deleted;
        self.pending.clear();
        self.storage(StorageOp::PutTombstone);
        for conn in self.peers.keys().copied().collect::<Vec<_>>() {
            self.refuse(conn, ErrorCode::DocDeleted, "this document was deleted");
        }
    }

    // ---- persistence --------------------------------------------------------------------

    /// Starts the next write if none is running: everything pending, up to one row.
    fn pump(&mut self, now: Millis) {
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
        let task = self.storage(StorageOp::AppendLog { seq, bytes: row });
        self.writing = Some(WriteBatch { task, seq, chunks });
    }

    fn on_batch_durable(&mut self, now: Millis, batch: WriteBatch) {
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

    fn retry_later(&mut self, now: Millis) {
        self.retry_delay = if self.retry_delay == 0 {
            self.config.first_retry_ms
        } else {
            (self.retry_delay * 2).min(self.config.max_retry_ms)
        };
        self.retry_at = Some(now + self.retry_delay);
    }

    // ---- sending ------------------------------------------------------------------------

    fn sync_all(&mut self) {
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.sync_peer(conn);
        }
    }

    /// Sends this peer whatever sync messages automerge wants to send it now.
    fn sync_peer(&mut self, conn: ConnId) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        if !peer.syncing || peer.unpersisted > 0 {
            return;
        }
        let Some(remote) = peer.remote.as_ref().map(Remote::peer_id) else {
            return;
        };
        let mut messages = Vec::new();
        while let Some(m) = self.doc.sync().generate_sync_message(&mut peer.sync) {
            messages.push(m);
        }
        for m in messages {
            let msg = Message::Sync {
                document_id: self.doc_id,
                sender_id: self.config.relay_peer_id.clone(),
                target_id: remote.clone(),
                data: m.encode(),
            };
            self.send(conn, msg);
        }
        self.attach(conn);
    }

    fn ack(&mut self, conn: ConnId) {
        let heads: Vec<ChangeHash> = self.doc.get_heads();
        let target = self.remote_id(conn);
        let msg = Message::Ack {
            sender_id: self.config.relay_peer_id.clone(),
            target_id: target,
            document_id: self.doc_id,
            heads: heads_to_hex(&heads),
        };
        self.send(conn, msg);
    }

    fn send(&mut self, conn: ConnId, message: Message) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        for bytes in frames_for(
            message,
            self.config.max_frame_bytes,
            &mut peer.next_fragment_id,
        ) {
            self.out.push(RoomOutput::Send { conn, bytes });
        }
    }

    fn attach(&mut self, conn: ConnId) {
        if let Some(peer) = self.peers.get(&conn) {
            self.out.push(RoomOutput::Attach {
                conn,
                attachment: peer.attachment(),
            });
        }
    }

    fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: &str) {
        self.refuse_with_retry(conn, code, message, None);
    }

    /// Sends a typed error, then closes with the matching close code. Only this connection
    /// is affected.
    fn refuse_with_retry(
        &mut self,
        conn: ConnId,
        code: ErrorCode,
        message: &str,
        retry_after_ms: Option<u64>,
    ) {
        if !self.peers.contains_key(&conn) {
            return;
        }
        self.send(
            conn,
            Message::Error {
                message: message.to_owned(),
                code: Some(code),
                retry_after_ms,
            },
        );
        self.out.push(RoomOutput::Close {
            conn,
            code: code.close_code(),
            reason: code.as_str().to_owned(),
        });
        self.out
            .push(RoomOutput::Event(RoomEvent::Refused { conn, code }));
        self.peers.remove(&conn);
        self.early_frames.retain(|(c, _)| *c != conn);
    }

    fn remote_id(&self, conn: ConnId) -> crate::protocol::PeerId {
        self.peers
            .get(&conn)
            .and_then(|p| p.remote.as_ref())
            .map_or_else(|| "unknown".into(), Remote::peer_id)
    }

    fn is_empty_doc(&mut self) -> bool {
        self.doc.get_heads().is_empty() && self.pending.is_empty() && self.writing.is_none()
    }

    fn cleanup(&mut self, op: StorageOp) {
        let task = self.storage(op.clone());
        self.compaction.track_cleanup(task, op);
    }

    fn storage(&mut self, op: StorageOp) -> TaskId {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        self.out.push(RoomOutput::Storage { task, op });
        task
    }

    /// Asks for a timer at the earliest of: a storage retry, a token expiry, a compaction.
    fn schedule_timer(&mut self, _now: Millis) {
        let expiry = self.peers.values().map(|p| p.access.expires_at_ms).min();
        let next = [self.retry_at, expiry, self.compaction.due_at()]
            .into_iter()
            .flatten()
            .min();
        if let Some(at_ms) = next
            && next != self.timer
        {
            self.timer = next;
            self.out.push(RoomOutput::SetTimer { at_ms });
        }
    }
}
