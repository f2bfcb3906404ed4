//! Decoding frames into [`Message`]s, tolerating what real peers send.
//!
//! Tolerances (each has a test in `decode/tests.rs`):
//! - metadata under `peerMetadata` (the JS client) or `metadata` (the protocol README);
//! - ids as text or byte strings: `documentId` bytes are the 16 raw UUID bytes, text may also be
//!   an `automerge:` URL; peer and storage ids in bytes become text (see [`read::id_text`]);
//! - integers (`count`, `timestamp`, `retryAfterMs`, `messageId`, `index`) encoded as integral
//!   floats; NaN, infinities, negatives and fractions are rejected;
//! - `null` and `undefined` for any optional field, and for `add`/`remove`;
//! - unknown keys, non-text keys and semantic tags are ignored;
//! - indefinite-length maps, arrays, text and byte strings;
//! - `supportedProtocolVersions` as an array or a single string;
//! - keys in any order; a repeated key takes its last value, as a JS object would;
//! - unknown `type`s decode to [`Message::Unknown`] without looking at other keys.
//!
//! Not tolerated: strings and lists beyond the bounds in `limits.rs` (a 100 kB peer id, a
//! thousand protocol versions), which are [`DecodeError::TooLong`] / [`DecodeError::TooMany`].

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use minicbor::Decoder;

use super::error_code::ErrorCode;
use super::ids::{BadDocumentId, DocumentId, PeerId, StorageId};
use super::limits as l;
use super::message::{HeadsInfo, Message, PeerMetadata, keys as k, type_names as t};
use super::read::{self, Result, TextOrBytes};

/// The largest frame [`Message::decode`] accepts; above the [`Reassembler`](super::Reassembler)
/// default, so any frame we would reassemble also decodes.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// Why a frame is not a valid message.
///
/// Recovery: the frame came from a peer and cannot be fixed by retrying. A relay answers with an
/// `error` carrying [`DecodeError::error_code`] and closes; a client logs it and drops the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is not a CBOR map, so it cannot be a message at all.
    #[error("frame is not a CBOR map")]
    NotAMap,
    /// A key this message type requires is absent, `null` or `undefined`.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// A field holds a CBOR type that no peer sends for it.
    #[error("field {field:?} has the wrong type")]
    WrongType {
        /// The field's wire key.
        field: &'static str,
    },
    /// A numeric field is negative, fractional, NaN, infinite or too large for its type.
    #[error("field {field:?} is out of range")]
    OutOfRange {
        /// The field's wire key.
        field: &'static str,
    },
    /// `documentId` is not a document id.
    #[error(transparent)]
    BadDocumentId(#[from] BadDocumentId),
    /// The bytes are not well-formed CBOR (truncated, bad UTF-8, reserved values...).
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// Bytes follow the message map; a frame carries exactly one message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A string (or byte string) field is longer than its bound in
    /// [`limits`](super::limits); no real peer sends one, so the peer is broken or hostile.
    #[error("field {field:?} is longer than {max} bytes")]
    TooLong {
        /// The field's wire key (`"key"` for a map key).
        field: &'static str,
        /// The bound.
        max: usize,
    },
    /// A list or map field has more entries than its bound in [`limits`](super::limits).
    #[error("field {field:?} has more than {max} entries")]
    TooMany {
        /// The field's wire key.
        field: &'static str,
        /// The bound.
        max: usize,
    },
    /// The frame is larger than the limit given to [`Message::decode_with_limit`].
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl DecodeError {
    /// The code to send in the `error` message before closing the connection.
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadMessage,
        }
    }
}

impl Message {
    /// Decodes one frame, refusing frames over [`DEFAULT_MAX_FRAME_LEN`].
    pub fn decode(frame: &[u8]) -> std::result::Result<Self, DecodeError> {
        Self::decode_with_limit(frame, DEFAULT_MAX_FRAME_LEN)
    }

    /// Decodes one frame, refusing frames longer than `max_len` bytes before parsing anything.
    pub fn decode_with_limit(
        frame: &[u8],
        max_len: usize,
    ) -> std::result::Result<Self, DecodeError> {
        if frame.len() > max_len {
            return Err(DecodeError::TooLarge {
                len: frame.len(),
                max: max_len,
            });
        }
        // Two passes: which keys matter, and how to read them, depends on `type`, which may come
        // anywhere in the map. The first pass also checks the whole map is well-formed.
        let type_name = find_type(frame)?;
        let Some(wanted) = wanted_keys(&type_name) else {
            return Ok(Self::Unknown { type_name });
        };
        let mut fields = Fields::default();
        let mut d = Decoder::new(frame);
        top_level_map(&mut d, |d, key| {
            if wanted.contains(&key) {
                fields.read(d, key)
            } else {
                read::skip(d)
            }
        })?;
        fields.build(&type_name)
    }
}

/// Iterates the top-level map, handing each text key to `entry` and skipping everything else,
/// then insists nothing follows the map.
fn top_level_map<'b>(
    d: &mut Decoder<'b>,
    mut entry: impl FnMut(&mut Decoder<'b>, &str) -> Result<()>,
) -> Result<()> {
    read::map(d, "", |d| match read::key(d)? {
        Some(key) => entry(d, &key),
        None => Ok(()),
    })
    .map_err(|e| match e {
        DecodeError::WrongType { field: "" } => DecodeError::NotAMap,
        e => e,
    })?;
    let rest = d.input().len() - d.position();
    if rest == 0 {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes(rest))
    }
}

fn find_type(frame: &[u8]) -> Result<String> {
    let mut type_name = None;
    let mut d = Decoder::new(frame);
    top_level_map(&mut d, |d, key| {
        if key == k::TYPE {
            type_name = Some(read::text(d, k::TYPE, l::MAX_TYPE_LEN)?.into_owned());
            Ok(())
        } else {
            read::skip(d)
        }
    })?;
    type_name.ok_or(DecodeError::MissingField(k::TYPE))
}

/// The keys each known message type reads; `None` for unknown types.
fn wanted_keys(type_name: &str) -> Option<&'static [&'static str]> {
    Some(match type_name {
        t::JOIN => &[
            k::SENDER_ID,
            k::SUPPORTED_PROTOCOL_VERSIONS,
            k::PEER_METADATA,
            k::METADATA,
        ],
        t::PEER => &[
            k::SENDER_ID,
            k::SELECTED_PROTOCOL_VERSION,
            k::TARGET_ID,
            k::PEER_METADATA,
            k::METADATA,
        ],
        t::LEAVE => &[k::SENDER_ID],
        t::REQUEST | t::SYNC => &[k::DOCUMENT_ID, k::SENDER_ID, k::TARGET_ID, k::DATA],
        t::DOC_UNAVAILABLE => &[k::SENDER_ID, k::TARGET_ID, k::DOCUMENT_ID],
        t::EPHEMERAL => &[
            k::SENDER_ID,
            k::TARGET_ID,
            k::COUNT,
            k::SESSION_ID,
            k::DOCUMENT_ID,
            k::DATA,
        ],
        t::REMOTE_SUBSCRIPTION_CHANGE => &[k::SENDER_ID, k::TARGET_ID, k::ADD, k::REMOVE],
        t::REMOTE_HEADS_CHANGED => &[k::SENDER_ID, k::TARGET_ID, k::DOCUMENT_ID, k::NEW_HEADS],
        t::ERROR => &[k::MESSAGE, k::CODE, k::RETRY_AFTER_MS],
        t::ACK => &[k::SENDER_ID, k::TARGET_ID, k::DOCUMENT_ID, k::HEADS],
        t::FRAGMENT => &[k::MESSAGE_ID, k::INDEX, k::COUNT, k::DATA],
        // Any other key a keepalive carries is ignored, like every unknown key.
        t::KEEPALIVE => &[],
        _ => return None,
    })
}

/// Every field any message may carry, as read; `build` picks and checks those its type needs.
#[derive(Default)]
struct Fields {
    sender_id: Option<PeerId>,
    target_id: Option<PeerId>,
    document_id: Option<DocumentId>,
    data: Option<Vec<u8>>,
    supported_protocol_versions: Option<Vec<String>>,
    selected_protocol_version: Option<String>,
    peer_metadata: Option<PeerMetadata>,
    metadata: Option<PeerMetadata>,
    count: Option<u64>,
    session_id: Option<String>,
    add: Option<Vec<StorageId>>,
    remove: Option<Vec<StorageId>>,
    new_heads: Option<BTreeMap<StorageId, HeadsInfo>>,
    message: Option<String>,
    code: Option<ErrorCode>,
    retry_after_ms: Option<u64>,
    heads: Option<Vec<String>>,
    message_id: Option<u64>,
    index: Option<u64>,
}

/// Reads an optional value: `None` for `null`/`undefined`, otherwise `read`'s result.
fn optional<'b, T>(
    d: &mut Decoder<'b>,
    read: impl FnOnce(&mut Decoder<'b>) -> Result<T>,
) -> Result<Option<T>> {
    if read::absent(d)? {
        Ok(None)
    } else {
        read(d).map(Some)
    }
}

impl Fields {
    fn read(&mut self, d: &mut Decoder<'_>, key: &str) -> Result<()> {
        match key {
            k::SENDER_ID => self.sender_id = optional(d, |d| peer_id(d, k::SENDER_ID))?,
            k::TARGET_ID => self.target_id = optional(d, |d| peer_id(d, k::TARGET_ID))?,
            k::DOCUMENT_ID => self.document_id = optional(d, document_id)?,
            k::DATA => {
                // Bounded by the frame itself: `data` is what frames are for.
                self.data = optional(d, |d| Ok(read::bytes(d, k::DATA, usize::MAX)?.into_owned()))?;
            }
            k::SUPPORTED_PROTOCOL_VERSIONS => {
                self.supported_protocol_versions = optional(d, protocol_versions)?;
            }
            k::SELECTED_PROTOCOL_VERSION => {
                self.selected_protocol_version = optional(d, |d| {
                    Ok(
                        read::text(d, k::SELECTED_PROTOCOL_VERSION, l::MAX_VERSION_LEN)?
                            .into_owned(),
                    )
                })?;
            }
            k::PEER_METADATA => {
                self.peer_metadata = optional(d, |d| metadata(d, k::PEER_METADATA))?;
            }
            k::METADATA => self.metadata = optional(d, |d| metadata(d, k::METADATA))?,
            k::COUNT => self.count = optional(d, |d| read::uint(d, k::COUNT))?,
            k::SESSION_ID => {
                self.session_id = optional(d, |d| {
                    Ok(read::text(d, k::SESSION_ID, l::MAX_SESSION_ID_LEN)?.into_owned())
                })?;
            }
            k::ADD => self.add = optional(d, |d| storage_ids(d, k::ADD))?,
            k::REMOVE => self.remove = optional(d, |d| storage_ids(d, k::REMOVE))?,
            k::NEW_HEADS => self.new_heads = optional(d, new_heads)?,
            k::MESSAGE => {
                self.message = optional(d, |d| {
                    Ok(read::text(d, k::MESSAGE, l::MAX_ERROR_MESSAGE_LEN)?.into_owned())
                })?;
            }
            // A code this build does not know reads as `None`: the error still gets through.
            k::CODE => {
                self.code = optional(d, |d| read::text(d, k::CODE, l::MAX_CODE_LEN))?
                    .and_then(|c| c.parse().ok());
            }
            k::RETRY_AFTER_MS => {
                self.retry_after_ms = optional(d, |d| read::uint(d, k::RETRY_AFTER_MS))?;
            }
            k::HEADS => self.heads = optional(d, heads)?,
            k::MESSAGE_ID => self.message_id = optional(d, |d| read::uint(d, k::MESSAGE_ID))?,
            k::INDEX => self.index = optional(d, |d| read::uint(d, k::INDEX))?,
            _ => read::skip(d)?,
        }
        Ok(())
    }

    fn build(self, type_name: &str) -> Result<Message> {
        let required = |field: &'static str| DecodeError::MissingField(field);
        let sender_id = self.sender_id.ok_or(required(k::SENDER_ID));
        let target_id = self.target_id.ok_or(required(k::TARGET_ID));
        let document_id = self.document_id.ok_or(required(k::DOCUMENT_ID));
        let data = self.data.ok_or(required(k::DATA));
        let metadata = self.peer_metadata.or(self.metadata);
        Ok(match type_name {
            t::JOIN => Message::Join {
                sender_id: sender_id?,
                supported_protocol_versions: self
                    .supported_protocol_versions
                    .ok_or(required(k::SUPPORTED_PROTOCOL_VERSIONS))?,
                metadata,
            },
            t::PEER => Message::Peer {
                sender_id: sender_id?,
                selected_protocol_version: self
                    .selected_protocol_version
                    .ok_or(required(k::SELECTED_PROTOCOL_VERSION))?,
                target_id: target_id?,
                metadata,
            },
            t::LEAVE => Message::Leave {
                sender_id: sender_id?,
            },
            t::REQUEST => Message::Request {
                document_id: document_id?,
                sender_id: sender_id?,
                target_id: target_id?,
                data: data?,
            },
            t::SYNC => Message::Sync {
                document_id: document_id?,
                sender_id: sender_id?,
                target_id: target_id?,
                data: data?,
            },
            t::DOC_UNAVAILABLE => Message::DocUnavailable {
                sender_id: sender_id?,
                target_id: target_id?,
                document_id: document_id?,
            },
            t::EPHEMERAL => Message::Ephemeral {
                sender_id: sender_id?,
                target_id: target_id?,
                count: self.count.ok_or(required(k::COUNT))?,
                session_id: self.session_id.ok_or(required(k::SESSION_ID))?,
                document_id: document_id?,
                data: data?,
            },
            t::REMOTE_SUBSCRIPTION_CHANGE => Message::RemoteSubscriptionChange {
                sender_id: sender_id?,
                target_id: target_id?,
                add: self.add.unwrap_or_default(),
                remove: self.remove.unwrap_or_default(),
            },
            t::REMOTE_HEADS_CHANGED => Message::RemoteHeadsChanged {
                sender_id: sender_id?,
                target_id: target_id?,
                document_id: document_id?,
                new_heads: self.new_heads.ok_or(required(k::NEW_HEADS))?,
            },
            t::ERROR => Message::Error {
                message: self.message.ok_or(required(k::MESSAGE))?,
                code: self.code,
                retry_after_ms: self.retry_after_ms,
            },
            t::ACK => Message::Ack {
                sender_id: sender_id?,
                target_id: target_id?,
                document_id: document_id?,
                heads: self.heads.ok_or(required(k::HEADS))?,
            },
            t::FRAGMENT => Message::Fragment {
                message_id: self.message_id.ok_or(required(k::MESSAGE_ID))?,
                index: narrow(self.index.ok_or(required(k::INDEX))?, k::INDEX)?,
                count: narrow(self.count.ok_or(required(k::COUNT))?, k::COUNT)?,
                data: data?,
            },
            t::KEEPALIVE => Message::Keepalive,
            other => Message::Unknown {
                type_name: other.to_owned(),
            },
        })
    }
}

fn narrow(value: u64, field: &'static str) -> Result<u32> {
    u32::try_from(value).map_err(|_| DecodeError::OutOfRange { field })
}

fn peer_id(d: &mut Decoder<'_>, field: &'static str) -> Result<PeerId> {
    read::id_text(d, field).map(PeerId::from)
}

fn storage_id(d: &mut Decoder<'_>, field: &'static str) -> Result<StorageId> {
    read::id_text(d, field).map(StorageId::from)
}

fn document_id(d: &mut Decoder<'_>) -> Result<DocumentId> {
    Ok(
        match read::text_or_bytes(d, k::DOCUMENT_ID, l::MAX_DOCUMENT_ID_TEXT_LEN)? {
            TextOrBytes::Text(s) => DocumentId::parse_url_or_id(&s)?,
            TextOrBytes::Bytes(b) => DocumentId::try_from_slice(&b)?,
        },
    )
}

/// An array of at most `max` strings of at most `max_len` bytes each.
fn texts(
    d: &mut Decoder<'_>,
    field: &'static str,
    max: usize,
    max_len: usize,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    read::array(d, field, max, |d| {
        out.push(read::text(d, field, max_len)?.into_owned());
        Ok(())
    })?;
    Ok(out)
}

fn heads(d: &mut Decoder<'_>) -> Result<Vec<String>> {
    texts(d, k::HEADS, l::MAX_HEADS, l::MAX_HEAD_LEN)
}

/// The README's CDDL says a single version string, the JS client sends an array; take both.
fn protocol_versions(d: &mut Decoder<'_>) -> Result<Vec<String>> {
    let field = k::SUPPORTED_PROTOCOL_VERSIONS;
    if read::is_text(d)? {
        Ok(vec![read::text(d, field, l::MAX_VERSION_LEN)?.into_owned()])
    } else {
        texts(d, field, l::MAX_VERSIONS, l::MAX_VERSION_LEN)
    }
}

fn storage_ids(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<StorageId>> {
    let mut out = Vec::new();
    read::array(d, field, l::MAX_STORAGE_IDS, |d| {
        out.push(storage_id(d, field)?);
        Ok(())
    })?;
    Ok(out)
}

fn metadata(d: &mut Decoder<'_>, field: &'static str) -> Result<PeerMetadata> {
    let mut storage = None;
    // Absent means "not ephemeral", as in samod: the peer gave us a storage id to remember.
    let mut is_ephemeral = false;
    let mut reads_acks = false;
    read::map(d, field, |d| {
        match read::key(d)?.as_deref() {
            Some(k::STORAGE_ID) => storage = optional(d, |d| storage_id(d, k::STORAGE_ID))?,
            Some(k::IS_EPHEMERAL) => {
                is_ephemeral = optional(d, |d| read::boolean(d, k::IS_EPHEMERAL))?.unwrap_or(false);
            }
            Some(k::TESSERA_ACKS) => {
                reads_acks = optional(d, |d| read::boolean(d, k::TESSERA_ACKS))?.unwrap_or(false);
            }
            Some(_) => read::skip(d)?,
            None => {}
        }
        Ok(())
    })?;
    Ok(PeerMetadata {
        storage_id: storage,
        is_ephemeral,
        reads_acks,
    })
}

fn new_heads(d: &mut Decoder<'_>) -> Result<BTreeMap<StorageId, HeadsInfo>> {
    let mut out = BTreeMap::new();
    read::map_max(d, k::NEW_HEADS, l::MAX_HEADS_STORAGES, |d| {
        let storage = storage_id(d, k::NEW_HEADS)?;
        let mut heads = None;
        let mut timestamp = None;
        read::map(d, k::NEW_HEADS, |d| {
            match read::key(d)?.as_deref() {
                Some(k::HEADS) => heads = Some(self::heads(d)?),
                Some(k::TIMESTAMP) => timestamp = Some(read::uint(d, k::TIMESTAMP)?),
                Some(_) => read::skip(d)?,
                None => {}
            }
            Ok(())
        })?;
        let info = HeadsInfo {
            heads: heads.ok_or(DecodeError::MissingField(k::HEADS))?,
            timestamp: timestamp.ok_or(DecodeError::MissingField(k::TIMESTAMP))?,
        };
        out.insert(storage, info);
        Ok(())
    })?;
    Ok(out)
}
