//! Canonical encoding: definite lengths, shortest integer forms, and a fixed key order per
//! message type (`type` first, then the order of the protocol README), so equal messages always
//! produce equal bytes and golden fixtures can pin them.

use std::collections::BTreeMap;
use std::convert::Infallible;

use minicbor::Encoder;

use super::ids::{DocumentId, PeerId, StorageId};
use super::message::{HeadsInfo, Message, PeerMetadata, keys as k, type_names as t};

impl Message {
    /// Encodes the message as one CBOR map, ready to send as a binary WebSocket frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Out(Encoder::new(Vec::new()));
        out.message(self);
        out.0.into_writer()
    }
}

/// Length of the CBOR head of a byte string of `len` bytes: frame budgets need it because the
/// head grows with the data it announces.
pub(super) fn bytes_head_len(len: usize) -> usize {
    match len {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Writes into a `Vec`, whose writer cannot fail; that is why every call unwraps through
/// [`written`].
struct Out(Encoder<Vec<u8>>);

fn written<T>(result: Result<T, minicbor::encode::Error<Infallible>>) -> T {
    match result {
        Ok(value) => value,
        // Only the writer can fail here, and `Vec`'s writer error is `Infallible`.
        Err(e) => unreachable!("CBOR encoding into a Vec failed: {e}"),
    }
}

/// A usize always fits a u64 on the targets we build for (32 and 64 bit).
fn len(n: usize) -> u64 {
    n as u64
}

impl Out {
    fn map(&mut self, entries: usize) {
        written(self.0.map(len(entries)));
    }

    fn str(&mut self, key: &str, value: &str) {
        written(self.0.str(key).and_then(|e| e.str(value)));
    }

    fn bytes(&mut self, key: &str, value: &[u8]) {
        written(self.0.str(key).and_then(|e| e.bytes(value)));
    }

    fn u64(&mut self, key: &str, value: u64) {
        written(self.0.str(key).and_then(|e| e.u64(value)));
    }

    fn peer(&mut self, key: &str, id: &PeerId) {
        self.str(key, id.as_str());
    }

    fn doc(&mut self, key: &str, id: &DocumentId) {
        self.str(key, &id.to_string());
    }

    fn str_array<'a>(&mut self, key: &str, items: impl ExactSizeIterator<Item = &'a str>) {
        written(self.0.str(key).and_then(|e| e.array(len(items.len()))));
        for item in items {
            written(self.0.str(item));
        }
    }

    fn metadata(&mut self, metadata: &PeerMetadata) {
        written(self.0.str(k::PEER_METADATA));
        self.map(1 + usize::from(metadata.storage_id.is_some()) + usize::from(metadata.reads_acks));
        if let Some(storage_id) = &metadata.storage_id {
            self.str(k::STORAGE_ID, storage_id.as_str());
        }
        written(
            self.0
                .str(k::IS_EPHEMERAL)
                .and_then(|e| e.bool(metadata.is_ephemeral)),
        );
        // Only when set, so metadata without it is byte for byte what stock peers send.
        if metadata.reads_acks {
            written(self.0.str(k::TESSERA_ACKS).and_then(|e| e.bool(true)));
        }
    }

    fn new_heads(&mut self, new_heads: &BTreeMap<StorageId, HeadsInfo>) {
        written(
            self.0
                .str(k::NEW_HEADS)
                .and_then(|e| e.map(len(new_heads.len()))),
        );
        for (storage_id, info) in new_heads {
            written(self.0.str(storage_id.as_str()));
            self.map(2);
            self.str_array(k::HEADS, info.heads.iter().map(String::as_str));
            self.u64(k::TIMESTAMP, info.timestamp);
        }
    }

    fn message(&mut self, message: &Message) {
        match message {
            Message::Join {
                sender_id,
                supported_protocol_versions,
                metadata,
            } => {
                self.map(3 + usize::from(metadata.is_some()));
                self.str(k::TYPE, t::JOIN);
                self.peer(k::SENDER_ID, sender_id);
                self.str_array(
                    k::SUPPORTED_PROTOCOL_VERSIONS,
                    supported_protocol_versions.iter().map(String::as_str),
                );
                if let Some(metadata) = metadata {
                    self.metadata(metadata);
                }
            }
            Message::Peer {
                sender_id,
                selected_protocol_version,
                target_id,
                metadata,
            } => {
                self.map(4 + usize::from(metadata.is_some()));
                self.str(k::TYPE, t::PEER);
                self.peer(k::SENDER_ID, sender_id);
                self.str(k::SELECTED_PROTOCOL_VERSION, selected_protocol_version);
                self.peer(k::TARGET_ID, target_id);
                if let Some(metadata) = metadata {
                    self.metadata(metadata);
                }
            }
            Message::Leave { sender_id } => {
                self.map(2);
                self.str(k::TYPE, t::LEAVE);
                self.peer(k::SENDER_ID, sender_id);
            }
            Message::Request {
                document_id,
                sender_id,
                target_id,
                data,
            }
            | Message::Sync {
                document_id,
                sender_id,
                target_id,
                data,
            } => {
                self.map(5);
                self.str(k::TYPE, message.type_name());
                self.doc(k::DOCUMENT_ID, document_id);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.bytes(k::DATA, data);
            }
            Message::DocUnavailable {
                sender_id,
                target_id,
                document_id,
            } => {
                self.map(4);
                self.str(k::TYPE, t::DOC_UNAVAILABLE);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.doc(k::DOCUMENT_ID, document_id);
            }
            Message::Ephemeral {
                sender_id,
                target_id,
                count,
                session_id,
                document_id,
                data,
            } => {
                self.map(7);
                self.str(k::TYPE, t::EPHEMERAL);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.u64(k::COUNT, *count);
                self.str(k::SESSION_ID, session_id);
                self.doc(k::DOCUMENT_ID, document_id);
                self.bytes(k::DATA, data);
            }
            Message::RemoteSubscriptionChange {
                sender_id,
                target_id,
                add,
                remove,
            } => {
                self.map(5);
                self.str(k::TYPE, t::REMOTE_SUBSCRIPTION_CHANGE);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.str_array(k::ADD, add.iter().map(StorageId::as_str));
                self.str_array(k::REMOVE, remove.iter().map(StorageId::as_str));
            }
            Message::RemoteHeadsChanged {
                sender_id,
                target_id,
                document_id,
                new_heads,
            } => {
                self.map(5);
                self.str(k::TYPE, t::REMOTE_HEADS_CHANGED);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.doc(k::DOCUMENT_ID, document_id);
                self.new_heads(new_heads);
            }
            Message::Error {
                message,
                code,
                retry_after_ms,
            } => {
                self.map(2 + usize::from(code.is_some()) + usize::from(retry_after_ms.is_some()));
                self.str(k::TYPE, t::ERROR);
                self.str(k::MESSAGE, message);
                if let Some(code) = code {
                    self.str(k::CODE, code.as_str());
                }
                if let Some(retry_after_ms) = retry_after_ms {
                    self.u64(k::RETRY_AFTER_MS, *retry_after_ms);
                }
            }
            Message::Ack {
                sender_id,
                target_id,
                document_id,
                heads,
            } => {
                self.map(5);
                self.str(k::TYPE, t::ACK);
                self.peer(k::SENDER_ID, sender_id);
                self.peer(k::TARGET_ID, target_id);
                self.doc(k::DOCUMENT_ID, document_id);
                self.str_array(k::HEADS, heads.iter().map(String::as_str));
            }
            Message::Fragment {
                message_id,
                index,
                count,
                data,
            } => {
                self.map(5);
                self.str(k::TYPE, t::FRAGMENT);
                self.u64(k::MESSAGE_ID, *message_id);
                self.u64(k::INDEX, u64::from(*index));
                self.u64(k::COUNT, u64::from(*count));
                self.bytes(k::DATA, data);
            }
            Message::Keepalive => {
                self.map(1);
                self.str(k::TYPE, t::KEEPALIVE);
            }
            Message::Unknown { type_name } => {
                self.map(1);
                self.str(k::TYPE, type_name);
            }
        }
    }
}
