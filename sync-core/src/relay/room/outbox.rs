//! What the room sends: sync messages, attachments and refusals (acks are `acks.rs`'s).

use super::*;

impl RelayRoom {
    pub(super) fn sync_all(&mut self) {
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.sync_peer(conn);
        }
    }

    /// Sends this peer what the sync protocol says it should get now, answered from the
    /// graph: the rest of a big answer first (one batch per round trip), else a new message.
    /// A message whose changes are only in storage waits (and nothing newer overtakes it)
    /// until they are read back.
    pub(super) fn sync_peer(&mut self, conn: ConnId) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        if !peer.syncing || peer.remote.is_none() {
            return;
        }
        let stashed = peer.unsent.take();
        let was_stashed = stashed.is_some();
        let out = match stashed {
            Some(out) => out,
            None => match self.decide_for(conn) {
                Some(out) => out,
                None => return,
            },
        };
        let wanted = self.rows_for(&out);
        if !wanted.is_empty() {
            if let Some(peer) = self.peers.get_mut(&conn) {
                peer.unsent = Some(out);
            }
            self.want_rows(wanted);
            return;
        }
        let Some(remote) = self
            .peers
            .get(&conn)
            .and_then(|p| p.remote.as_ref().map(Remote::peer_id))
        else {
            return;
        };
        let msg = Message::Sync {
            document_id: self.doc_id,
            sender_id: self.config.relay_peer_id.clone(),
            target_id: remote,
            data: self.message_of(out).encode(),
        };
        self.send(conn, msg);
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.attach_due = true;
        }
        if was_stashed {
            // What the peer said while this message waited was not answered yet.
            self.sync_peer(conn);
        }
    }

    /// The next message the sync protocol decides for this peer, if any.
    fn decide_for(&mut self, conn: ConnId) -> Option<Outgoing> {
        let need = self.missing_for(self.peers.get(&conn)?.sync.their_heads());
        let max = self.config.max_send_bytes;
        let hold_ms = self.config.reply_hold_ms;
        let has_snapshot = self.snapshot.is_some();
        let peer = self.peers.get_mut(&conn)?;
        if peer.sync.has_backlog() {
            let changes = peer.sync.take_backlog(&self.graph, max);
            return Some(Outgoing {
                heads: self.graph.heads(),
                need: Vec::new(),
                have: Vec::new(),
                changes,
                snapshot: false,
            });
        }
        let mut out = peer
            .sync
            .generate(&self.graph, need, has_snapshot, self.now, hold_ms)?;
        let rest = self.split_batch(&mut out.changes, max);
        self.peers.get_mut(&conn)?.sync.defer(rest);
        Some(out)
    }

    /// The stored rows to read back before `out` can be sent.
    fn rows_for(&mut self, out: &Outgoing) -> Vec<u64> {
        let indices = self.indices_of(out);
        self.graph.rows_to_read(indices)
    }

    /// The changes whose bytes `out` carries: its own, or with the snapshot, every change
    /// after it.
    pub(super) fn indices_of(&self, out: &Outgoing) -> Box<dyn Iterator<Item = u32>> {
        match (&self.snapshot, out.snapshot) {
            (Some(snap), true) => Box::new(snap.covers..self.graph.len() as u32),
            _ => Box::new(out.changes.clone().into_iter()),
        }
    }

    /// Keeps the first changes up to `max` bytes in `changes`; returns the rest.
    fn split_batch(&self, changes: &mut Vec<u32>, max: usize) -> Vec<u32> {
        let mut bytes = 0;
        let keep = changes
            .iter()
            .position(|i| {
                bytes += self.graph.len_of(*i);
                bytes > max
            })
            .map_or(changes.len(), |at| at.max(1));
        changes.split_off(keep)
    }

    /// The automerge sync message for `out`, with the change bytes from the graph (the caller
    /// made sure they are in memory). With the snapshot, the changes after it follow it in the
    /// one version-2 chunk.
    fn message_of(&self, out: Outgoing) -> sync::Message {
        let (changes, version) = if out.snapshot {
            let snap = self
                .snapshot
                .as_ref()
                .expect("offered only with a snapshot");
            let mut chunk = snap.bytes.clone();
            let tail = self.graph.concat(snap.covers..self.graph.len() as u32);
            chunk.extend(tail.expect("read before sending"));
            (sync::ChunkList::from(chunk), sync::MessageVersion::V2)
        } else {
            let chunks: Vec<Vec<u8>> = out
                .changes
                .iter()
                .map(|i| self.graph.bytes(*i).expect("read before sending").to_vec())
                .collect();
            (sync::ChunkList::from(chunks), sync::MessageVersion::V1)
        };
        sync::Message {
            heads: out.heads,
            need: out.need,
            have: out.have,
            changes,
            flags: None,
            version,
        }
    }

    /// What the room lacks to reach `heads`: heads it has not seen, or for one waiting on its
    /// deps, those deps (automerge's `missing_deps_from`).
    fn missing_for(&self, heads: &[ChangeHash]) -> Vec<ChangeHash> {
        if heads.iter().all(|h| self.graph.contains(h)) {
            return Vec::new();
        }
        let queued: BTreeMap<ChangeHash, &[ChangeHash]> = self
            .waiting
            .iter()
            .chain(&self.incoming)
            .map(|w| (w.change.hash, w.change.deps.as_slice()))
            .collect();
        let mut missing = BTreeSet::new();
        let mut todo: Vec<ChangeHash> = heads.to_vec();
        let mut seen = BTreeSet::new();
        while let Some(h) = todo.pop() {
            if !seen.insert(h) || self.graph.contains(&h) {
                continue;
            }
            match queued.get(&h) {
                Some(deps) => todo.extend(deps.iter().copied()),
                None => {
                    missing.insert(h);
                }
            }
        }
        missing.into_iter().collect()
    }

    pub(super) fn send(&mut self, conn: ConnId, message: Message) {
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

    pub(super) fn attach(&mut self, conn: ConnId) {
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.attach_due = false;
            self.out.push(RoomOutput::Attach {
                conn,
                attachment: peer.attachment(),
            });
        }
    }

    /// Sends what was held for peers that have not answered in `reply_hold_ms`.
    pub(super) fn sync_held(&mut self, now: Millis) {
        let hold = self.config.reply_hold_ms;
        let due: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.sync.hold_expires(hold).is_some_and(|t| t <= now))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in due {
            self.sync_peer(conn);
        }
    }

    /// Writes the sync states that changed, each at most once per `attach_sync_every_ms`
    /// (see [`RoomConfig::attach_sync_every_ms`]).
    pub(super) fn flush_attachments(&mut self, now: Millis) {
        let every = self.config.attach_sync_every_ms;
        let due: Vec<ConnId> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| p.attach_due && p.attached_at.is_none_or(|t| now >= t + every))
            .map(|(conn, p)| {
                p.attached_at = Some(now);
                *conn
            })
            .collect();
        for conn in due {
            self.attach(conn);
        }
    }

    pub(super) fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: &str) {
        self.refuse_with_retry(conn, code, message, None);
    }

    /// Sends a typed error, then closes with the matching close code. Only this connection
    /// is affected.
    pub(super) fn refuse_with_retry(
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

    pub(super) fn remote_id(&self, conn: ConnId) -> crate::protocol::PeerId {
        self.peers
            .get(&conn)
            .and_then(|p| p.remote.as_ref())
            .map_or_else(|| "unknown".into(), Remote::peer_id)
    }
}
