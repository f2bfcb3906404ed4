//! The exchange with the relay once connected: frames and fragments, the `peer` handshake,
//! the Automerge sync protocol, acks, and when the document counts as in sync.

use automerge::ChangeHash;
use automerge::sync::{self, SyncDoc};

use super::doc_sync::{Conn, DocSync};
use super::io::{ClientEvent, ClientOutput};
use super::quiet_answer::receive_quiet;
use crate::framing::frames_for;
use crate::io::Millis;
use crate::protocol::Message;

impl DocSync {
    pub(super) fn on_frame(&mut self, now: Millis, bytes: &[u8]) {
        self.traffic_at = now;
        // A relay that sends garbage is treated like a dropped connection.
        let Ok(message) = Message::decode(bytes) else {
            return self.drop_connection(now, "the relay sent a frame that does not decode");
        };
        if let Message::Fragment { .. } = message {
            match self.reassembler.accept(now, &message) {
                Ok(Some(whole)) => self.on_frame(now, &whole),
                Ok(None) => {}
                Err(_) => self.drop_connection(now, "the relay sent a bad fragment"),
            }
            return;
        }
        match message {
            Message::Peer {
                sender_id,
                selected_protocol_version,
                metadata,
                ..
            } if matches!(self.conn, Conn::Joining { .. }) => {
                if selected_protocol_version != "1" {
                    return self.drop_connection(now, "the relay speaks another protocol version");
                }
                self.relay_storage = metadata
                    .filter(|m| !m.is_ephemeral)
                    .and_then(|m| m.storage_id);
                self.sync = self.restored_sync_state();
                self.conn = Conn::Ready { relay: sender_id };
                self.progress_at = now;
                self.acked = None;
                self.in_sync_reported = false;
                self.on_handshake_done();
                self.out.push(ClientOutput::Event(ClientEvent::Connected));
                self.sync_with_relay(now);
            }
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } if document_id == self.doc_id => {
                self.on_sync(now, &data);
            }
            Message::Ack {
                document_id, heads, ..
            } if document_id == self.doc_id => {
                let heads = parse_heads(&heads);
                if self.acked.as_ref() != Some(&heads) {
                    self.progress_at = now;
                }
                self.acked = Some(heads);
                self.ack_is_latest = true;
                self.backoff.reset();
                self.check_in_sync();
            }
            Message::DocUnavailable { document_id, .. } if document_id == self.doc_id => {
                self.unavailable = true;
                self.out.push(ClientOutput::Event(ClientEvent::Unavailable));
            }
            Message::Error {
                message,
                code,
                retry_after_ms,
            } => match code {
                Some(code) => self.on_refused(now, code, message, retry_after_ms),
                None => self.drop_connection(now, &format!("the relay reported: {message}")),
            },
            _ => {}
        }
    }

    fn on_sync(&mut self, now: Millis, data: &[u8]) {
        let Ok(message) = sync::Message::decode(data) else {
            return self.drop_connection(now, "the relay sent a sync message that does not decode");
        };
        let before = self.page.doc_mut().get_heads();
        let received = match receive_quiet(&mut self.sync, message, &before) {
            Ok(()) => Ok(()),
            Err(message) => self
                .page
                .doc_mut()
                .sync()
                .receive_sync_message(&mut self.sync, message),
        };
        if received.is_err() {
            return self.drop_connection(now, "the relay sent changes that do not apply");
        }
        self.ack_is_latest = false;
        let changed = self.page.doc_mut().get_heads() != before;
        if changed {
            self.progress_at = now;
            self.unavailable = false;
            self.in_sync_reported = false;
            self.out
                .push(ClientOutput::Event(ClientEvent::RemoteChange));
        }
        // The event and the answer go before the write: the page already shows the changes,
        // and the relay holds the next changes for this peer until it answers. Saying we
        // have changes we have not stored yet is safe: after a crash the session starts from
        // a sync state saved only while everything was stored, so it asks for them again.
        self.sync_with_relay(now);
        if changed {
            self.save();
        }
        self.check_in_sync();
    }

    pub(super) fn check_in_sync(&mut self) {
        if !self.in_sync_reported && self.is_in_sync() {
            self.in_sync_reported = true;
            self.persist_sync_state();
            self.out.push(ClientOutput::Event(ClientEvent::InSync));
        }
    }

    /// Sends whatever automerge wants to send the relay now.
    pub(super) fn sync_with_relay(&mut self, now: Millis) {
        let Conn::Ready { relay } = &self.conn else {
            return;
        };
        let relay = relay.clone();
        let empty = self.page.doc_mut().get_heads().is_empty();
        let mut messages = Vec::new();
        while let Some(m) = self
            .page
            .doc_mut()
            .sync()
            .generate_sync_message(&mut self.sync)
        {
            messages.push(m);
        }
        for m in messages {
            let data = m.encode();
            // An empty replica asks with `request`, so the relay answers `doc-unavailable`
            // rather than nothing when it lacks the document too.
            let msg = if empty {
                Message::Request {
                    document_id: self.doc_id,
                    sender_id: self.config.peer_id.clone(),
                    target_id: relay.clone(),
                    data,
                }
            } else {
                Message::Sync {
                    document_id: self.doc_id,
                    sender_id: self.config.peer_id.clone(),
                    target_id: relay.clone(),
                    data,
                }
            };
            self.send(now, msg);
        }
    }

    pub(super) fn send(&mut self, now: Millis, message: Message) {
        self.traffic_at = now;
        for frame in frames_for(
            message,
            self.config.max_frame_bytes,
            &mut self.next_fragment_id,
        ) {
            self.out.push(ClientOutput::Send(frame));
        }
    }
}

fn parse_heads(hex: &[String]) -> Vec<ChangeHash> {
    hex.iter().filter_map(|h| h.parse().ok()).collect()
}
