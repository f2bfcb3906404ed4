//! Frames from peers: size checks, fragment reassembly, the handshake and message dispatch.
//! The bounds each step applies are in `limits.rs`.

use super::*;

impl RelayRoom {
    pub(super) fn on_frame(&mut self, now: Millis, conn: ConnId, bytes: Vec<u8>) {
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
            Err(e) => return self.refuse(conn, e.error_code(), &e.to_string()),
        };
        if let Message::Fragment { data, .. } = &message {
            if !self.admit_fragment(conn, data.len()) {
                return;
            }
            let peer = self.peers.get_mut(&conn).expect("admitted above");
            match peer.inbound(&self.config).reassembler.accept(now, &message) {
                Ok(Some(whole)) => self.on_whole_frame(now, conn, whole),
                Ok(None) => {}
                Err(e) => self.refuse(conn, e.error_code(), &e.to_string()),
            }
            return;
        }
        self.on_message(now, conn, bytes, message);
    }

    /// A reassembled frame: its own size limit is the reassembler's, not the frame limit.
    pub(super) fn on_whole_frame(&mut self, now: Millis, conn: ConnId, bytes: Vec<u8>) {
        match Message::decode(&bytes) {
            Ok(Message::Fragment { .. }) => {
                self.refuse(conn, ErrorCode::BadMessage, "nested fragments");
            }
            Ok(m) => self.on_message(now, conn, bytes, m),
            Err(e) => self.refuse(conn, e.error_code(), &e.to_string()),
        }
    }

    pub(super) fn on_message(&mut self, now: Millis, conn: ConnId, raw: Vec<u8>, message: Message) {
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
                let reads_acks = metadata.as_ref().is_some_and(|m| m.reads_acks);
                peer.remote = Some(Remote {
                    peer_id: sender_id.to_string(),
                    storage_id: metadata
                        .filter(|m| !m.is_ephemeral)
                        .and_then(|m| m.storage_id)
                        .map(|s| s.to_string()),
                    reads_acks,
                });
                peer.acked_durable = None;
                let reply = Message::Peer {
                    sender_id: self.config.relay_peer_id.clone(),
                    selected_protocol_version: "1".into(),
                    target_id: sender_id,
                    metadata: Some(PeerMetadata {
                        storage_id: Some(self.config.storage_id.clone()),
                        is_ephemeral: false,
                        reads_acks: false,
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
                    Phase::Loading(_) => {
                        if self.admit_early(conn, raw.len()) {
                            self.early_frames.push((conn, raw));
                        }
                    }
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
                ..
            } if document_id == self.doc_id => {
                if !self.admit_ephemeral(now, conn, data.len()) {
                    return;
                }
                // Presence must not be spoofable: the sender is whoever this connection joined
                // as, whatever `senderId` the message claims.
                let sender_id = self.remote_id(conn);
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
}
