//! What the room sends: sync messages, acks, attachments and refusals.

use super::*;

impl RelayRoom {
    pub(super) fn sync_all(&mut self) {
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.sync_peer(conn);
        }
    }

    /// Sends this peer whatever sync messages automerge wants to send it now.
    pub(super) fn sync_peer(&mut self, conn: ConnId) {
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

    pub(super) fn ack(&mut self, conn: ConnId) {
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
        if let Some(peer) = self.peers.get(&conn) {
            self.out.push(RoomOutput::Attach {
                conn,
                attachment: peer.attachment(),
            });
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
