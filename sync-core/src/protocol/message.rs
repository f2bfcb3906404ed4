//! The messages of the automerge-repo WebSocket protocol v1, plus Tessera's extensions.

use std::collections::BTreeMap;

use super::error_code::ErrorCode;
use super::ids::{DocumentId, PeerId, StorageId};

/// Metadata a peer advertises in `join` and `peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The peer's persistent storage. When present (and not ephemeral) the other side saves sync
    /// state under it, so a reconnect resumes instead of starting over.
    pub storage_id: Option<StorageId>,
    /// Whether the peer expects never to come back with this storage id.
    pub is_ephemeral: bool,
    /// Tessera extension (`tesseraAcks: true` in `join`): the peer reads `ack` messages, so the
    /// relay sends it some. Stock peers neither send nor read the key; the relay sends them no
    /// acks, which they would only drop.
    pub reads_acks: bool,
}

/// The heads one storage has for a document, as gossiped in `remote-heads-changed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadsInfo {
    /// The heads, as the encoded strings the originating peer sent; they are relayed, not
    /// interpreted.
    pub heads: Vec<String>,
    /// Milliseconds since the Unix epoch on the peer that first observed these heads; newer
    /// timestamps replace older ones.
    pub timestamp: u64,
}

/// One frame of the protocol: every binary WebSocket message carries exactly one.
///
/// Use [`Message::decode`] and [`Message::encode`]; the wire keys are those of the JS client
/// (`senderId`, `documentId`, `peerMetadata`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `join`: the first message of the connecting peer.
    Join {
        /// The connecting peer.
        sender_id: PeerId,
        /// Protocol versions the peer speaks; `"1"` is the only one defined.
        supported_protocol_versions: Vec<String>,
        /// Storage metadata, when the peer sent any.
        metadata: Option<PeerMetadata>,
    },
    /// `peer`: the answer to `join`, completing the handshake.
    Peer {
        /// The answering peer (the relay).
        sender_id: PeerId,
        /// The version chosen from the join's list.
        selected_protocol_version: String,
        /// The peer that sent `join`.
        target_id: PeerId,
        /// Storage metadata of the answering peer.
        metadata: Option<PeerMetadata>,
    },
    /// `leave`: advisory, the sender is about to disconnect.
    Leave {
        /// The leaving peer.
        sender_id: PeerId,
    },
    /// `request`: like `sync`, but asks for `doc-unavailable` if the target lacks the document.
    Request {
        /// The document to sync.
        document_id: DocumentId,
        /// The requesting peer.
        sender_id: PeerId,
        /// The peer asked.
        target_id: PeerId,
        /// An encoded automerge sync message.
        data: Vec<u8>,
    },
    /// `sync`: one automerge sync message for one document.
    Sync {
        /// The document the sync message is about.
        document_id: DocumentId,
        /// The sending peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// An encoded automerge sync message.
        data: Vec<u8>,
    },
    /// `doc-unavailable`: the sender does not have the document and cannot get it.
    DocUnavailable {
        /// The peer without the document.
        sender_id: PeerId,
        /// The peer that asked for it.
        target_id: PeerId,
        /// The missing document.
        document_id: DocumentId,
    },
    /// `ephemeral`: application data that is relayed but never stored.
    Ephemeral {
        /// The originating peer.
        sender_id: PeerId,
        /// The receiving peer.
        target_id: PeerId,
        /// Sequence number within `session_id`, used to drop repeats while gossiping.
        count: u64,
        /// Random id of the sender's session.
        session_id: String,
        /// The document the data relates to.
        document_id: DocumentId,
        /// Opaque application bytes (CBOR in practice).
        data: Vec<u8>,
    },
    /// `remote-subscription-change`: changes which storages' heads the sender wants gossiped.
    RemoteSubscriptionChange {
        /// The subscribing peer.
        sender_id: PeerId,
        /// The peer asked to watch.
        target_id: PeerId,
        /// Storages to start watching.
        add: Vec<StorageId>,
        /// Storages to stop watching.
        remove: Vec<StorageId>,
    },
    /// `remote-heads-changed`: the heads of watched storages for one document.
    RemoteHeadsChanged {
        /// The gossiping peer.
        sender_id: PeerId,
        /// The subscriber.
        target_id: PeerId,
        /// The document whose heads changed.
        document_id: DocumentId,
        /// New heads per storage; a `BTreeMap` so encoding is deterministic.
        new_heads: BTreeMap<StorageId, HeadsInfo>,
    },
    /// `error`: the sender is about to close the connection.
    ///
    /// Tessera extension: the optional `code` and `retryAfterMs` keys. Stock clients only read
    /// `message`.
    Error {
        /// Human-readable description, for logs.
        message: String,
        /// Machine-readable reason. `None` when absent, or when the code is one this build does
        /// not know (a newer relay's), so old clients still see the error.
        code: Option<ErrorCode>,
        /// How long to wait before retrying, for `rate_limited` and `quota_exceeded`.
        retry_after_ms: Option<u64>,
    },
    /// `ack` (Tessera extension): the relay has durably stored the document up to `heads`, so
    /// the client may drop its record of unacknowledged changes below them.
    Ack {
        /// The relay.
        sender_id: PeerId,
        /// The client.
        target_id: PeerId,
        /// The document.
        document_id: DocumentId,
        /// Hex-encoded automerge change hashes.
        heads: Vec<String>,
    },
    /// `fragment` (Tessera extension): one piece of a frame too large to send whole. See
    /// [`fragment`](super::fragment::fragment) and [`Reassembler`](super::Reassembler).
    Fragment {
        /// Identifies the fragmented frame within the connection.
        message_id: u64,
        /// Position of this piece, `0..count`.
        index: u32,
        /// Number of pieces of the frame.
        count: u32,
        /// The piece's bytes.
        data: Vec<u8>,
    },
    /// `keepalive` (Tessera extension): traffic on an otherwise quiet connection, so a context
    /// that dies without it (an extension's service worker stops after 30 s without events)
    /// stays alive. It carries nothing, not even `senderId`: a stock automerge-repo peer drops
    /// a message of an unknown type (its server adapter forwards nothing from a socket whose
    /// `senderId` it does not know), and our relay drops it without answering or forwarding.
    Keepalive,
    /// Any other `type`. Kept so receivers can ignore new message kinds, as stock clients do;
    /// the other keys are dropped.
    Unknown {
        /// The `type` string as received.
        type_name: String,
    },
}

/// The `type` strings of the known messages.
pub(super) mod type_names {
    pub(crate) const JOIN: &str = "join";
    pub(crate) const PEER: &str = "peer";
    pub(crate) const LEAVE: &str = "leave";
    pub(crate) const REQUEST: &str = "request";
    pub(crate) const SYNC: &str = "sync";
    pub(crate) const DOC_UNAVAILABLE: &str = "doc-unavailable";
    pub(crate) const EPHEMERAL: &str = "ephemeral";
    pub(crate) const REMOTE_SUBSCRIPTION_CHANGE: &str = "remote-subscription-change";
    pub(crate) const REMOTE_HEADS_CHANGED: &str = "remote-heads-changed";
    pub(crate) const ERROR: &str = "error";
    pub(crate) const ACK: &str = "ack";
    pub(crate) const FRAGMENT: &str = "fragment";
    pub(crate) const KEEPALIVE: &str = "keepalive";
}

/// The map keys, spelled as the JS client spells them.
pub(super) mod keys {
    pub(crate) const TYPE: &str = "type";
    pub(crate) const SENDER_ID: &str = "senderId";
    pub(crate) const TARGET_ID: &str = "targetId";
    pub(crate) const DOCUMENT_ID: &str = "documentId";
    pub(crate) const DATA: &str = "data";
    pub(crate) const SUPPORTED_PROTOCOL_VERSIONS: &str = "supportedProtocolVersions";
    pub(crate) const SELECTED_PROTOCOL_VERSION: &str = "selectedProtocolVersion";
    /// What the JS client sends and what we send.
    pub(crate) const PEER_METADATA: &str = "peerMetadata";
    /// What the protocol README documents; accepted as a synonym.
    pub(crate) const METADATA: &str = "metadata";
    pub(crate) const STORAGE_ID: &str = "storageId";
    pub(crate) const IS_EPHEMERAL: &str = "isEphemeral";
    pub(crate) const TESSERA_ACKS: &str = "tesseraAcks";
    pub(crate) const COUNT: &str = "count";
    pub(crate) const SESSION_ID: &str = "sessionId";
    pub(crate) const ADD: &str = "add";
    pub(crate) const REMOVE: &str = "remove";
    pub(crate) const NEW_HEADS: &str = "newHeads";
    pub(crate) const HEADS: &str = "heads";
    pub(crate) const TIMESTAMP: &str = "timestamp";
    pub(crate) const MESSAGE: &str = "message";
    pub(crate) const CODE: &str = "code";
    pub(crate) const RETRY_AFTER_MS: &str = "retryAfterMs";
    pub(crate) const MESSAGE_ID: &str = "messageId";
    pub(crate) const INDEX: &str = "index";
}

impl Message {
    /// The same `sync` or `request` envelope carrying `data` instead; `None` for other types.
    /// Used when one sync message is split into several.
    pub fn with_sync_data(&self, data: Vec<u8>) -> Option<Self> {
        match self {
            Self::Sync {
                document_id,
                sender_id,
                target_id,
                ..
            } => Some(Self::Sync {
                document_id: *document_id,
                sender_id: sender_id.clone(),
                target_id: target_id.clone(),
                data,
            }),
            Self::Request {
                document_id,
                sender_id,
                target_id,
                ..
            } => Some(Self::Request {
                document_id: *document_id,
                sender_id: sender_id.clone(),
                target_id: target_id.clone(),
                data,
            }),
            _ => None,
        }
    }

    /// The `type` string this message is sent with.
    pub fn type_name(&self) -> &str {
        use type_names as t;
        match self {
            Self::Join { .. } => t::JOIN,
            Self::Peer { .. } => t::PEER,
            Self::Leave { .. } => t::LEAVE,
            Self::Request { .. } => t::REQUEST,
            Self::Sync { .. } => t::SYNC,
            Self::DocUnavailable { .. } => t::DOC_UNAVAILABLE,
            Self::Ephemeral { .. } => t::EPHEMERAL,
            Self::RemoteSubscriptionChange { .. } => t::REMOTE_SUBSCRIPTION_CHANGE,
            Self::RemoteHeadsChanged { .. } => t::REMOTE_HEADS_CHANGED,
            Self::Error { .. } => t::ERROR,
            Self::Ack { .. } => t::ACK,
            Self::Fragment { .. } => t::FRAGMENT,
            Self::Keepalive => t::KEEPALIVE,
            Self::Unknown { type_name } => type_name,
        }
    }
}
