//! How long each string, and how many entries each list, of a message may be. Every one of them
//! comes from a peer; the decoder refuses a frame that exceeds any of them with
//! [`DecodeError::TooLong`](super::DecodeError::TooLong) or
//! [`DecodeError::TooMany`](super::DecodeError::TooMany), both `bad_message`.
//!
//! The bounds are far above what any automerge-repo peer sends (peer ids are a few dozen
//! characters, storage ids are UUIDs, heads are 32-byte hashes in bs58 or hex), and low enough
//! that what the relay keeps or echoes per peer (its id, its storage id) stays small: a peer id
//! is copied into every message the relay sends that peer.

/// Peer ids and storage ids, in characters of their text form (hex for byte ids that are not
/// UTF-8, so at most 128 such bytes).
pub const MAX_ID_LEN: usize = 256;
/// `documentId` as text: a bs58check id is 28 characters, an `automerge:` URL a few more.
pub const MAX_DOCUMENT_ID_TEXT_LEN: usize = 128;
/// `sessionId` of `ephemeral` messages.
pub const MAX_SESSION_ID_LEN: usize = 256;
/// One protocol version string, in `supportedProtocolVersions` or `selectedProtocolVersion`.
pub const MAX_VERSION_LEN: usize = 32;
/// Entries of `supportedProtocolVersions`.
pub const MAX_VERSIONS: usize = 16;
/// `message` of an `error`.
pub const MAX_ERROR_MESSAGE_LEN: usize = 4096;
/// `code` of an `error`.
pub const MAX_CODE_LEN: usize = 64;
/// The `type` string, including unknown types.
pub const MAX_TYPE_LEN: usize = 64;
/// Any map key, including unknown ones.
pub const MAX_KEY_LEN: usize = 256;
/// Storage ids in each of `add` and `remove` of `remote-subscription-change`.
pub const MAX_STORAGE_IDS: usize = 64;
/// Storages in `newHeads` of `remote-heads-changed`.
pub const MAX_HEADS_STORAGES: usize = 64;
/// Heads in one heads list (`heads` of `ack`, each `heads` of `newHeads`). A document has one
/// head per concurrent branch not yet merged; a thousand is far beyond real documents.
pub const MAX_HEADS: usize = 1024;
/// One head string: a change hash is 64 hex characters, fewer in bs58.
pub const MAX_HEAD_LEN: usize = 128;
