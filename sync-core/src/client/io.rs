//! Inputs and outputs of a client document session.

use std::collections::BTreeMap;

use crate::io::{Millis, TaskId};
use crate::protocol::{DocumentId, ErrorCode, HttpRefusal, StorageId};

use super::status::ClientStatus;

/// An input to [`DocSync::handle`](super::DocSync::handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientInput {
    /// The application wants this document synced: connect (now, or when back-off allows, or
    /// once the document is loaded).
    GoOnline,
    /// The application wants to stop syncing: close the connection, stop reconnecting.
    GoOffline,
    /// The token to connect with, from the application or its token provider (after
    /// [`ClientOutput::TokenNeeded`]). A session waiting for a token reconnects at once.
    Token(String),
    /// The answer to [`ClientOutput::TokenNeeded`] when the application has no fresh token
    /// (no provider, or the provider declined): the session stops in
    /// [`SyncStatus::TokenNeeded`](super::SyncStatus) until a `Token` arrives.
    TokenUnavailable,
    /// The transport asked for by [`ClientOutput::Connect`] is open.
    TransportOpened,
    /// A binary frame arrived.
    Frame(Vec<u8>),
    /// The transport closed or could not be opened.
    TransportClosed {
        /// The WebSocket close code the relay sent, if any.
        code: Option<u16>,
        /// What the transport saw, for the status a person reads ("connection refused", the
        /// close reason, ...); empty when there is nothing to say.
        reason: String,
    },
    /// The relay refused to open the connection (an HTTP refusal of the upgrade, read with
    /// [`HttpRefusal::parse`]). Handled like the same refusal on an open connection.
    ConnectRefused(HttpRefusal),
    /// The timer of [`ClientOutput::SetTimer`] fired.
    Timer,
    /// A storage task finished.
    StorageDone {
        /// The task.
        task: TaskId,
        /// What the store answered, or a description of why it failed. The session keeps
        /// unsaved data dirty and retries.
        outcome: Result<StorageReply, String>,
    },
}

/// Storage work for the shell. Each op is one atomic write (or one read): after a crash the
/// store holds all of it or none of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStorageOp {
    /// Read the document: answer [`StorageReply::Loaded`]. A document the store does not hold
    /// answers with an empty [`StoredDoc`] (it will be fetched by sync).
    Load {
        /// The document.
        doc: DocumentId,
    },
    /// Append these bytes (changes, in Automerge's incremental format) to the document's data,
    /// recording the document if it is new. Answer [`StorageReply::Done`].
    AppendChanges {
        /// The document.
        doc: DocumentId,
        /// Bytes to append.
        bytes: Vec<u8>,
    },
    /// Replace all stored data of the document with this full save, recording the document
    /// if it is new. Answer [`StorageReply::Done`].
    ReplaceWithSnapshot {
        /// The document.
        doc: DocumentId,
        /// A full Automerge save.
        bytes: Vec<u8>,
    },
    /// Store (replace) the sync state for the relay with this storage id. Answer
    /// [`StorageReply::Done`].
    PutSyncState {
        /// The document.
        doc: DocumentId,
        /// The relay's storage id.
        peer: StorageId,
        /// `automerge::sync::State::encode()`.
        bytes: Vec<u8>,
    },
    /// Every document the store holds data for, oldest first: answer
    /// [`StorageReply::Listed`]. Used by [`Repo`](super::Repo), never by a session.
    List,
}

impl ClientStorageOp {
    /// Whether the op writes (a shell may batch or queue writes, but never reorder them).
    pub fn is_write(&self) -> bool {
        !matches!(self, Self::Load { .. } | Self::List)
    }
}

/// A store's answer to a [`ClientStorageOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageReply {
    /// A write is durable.
    Done,
    /// The answer to `Load`.
    Loaded(StoredDoc),
    /// The answer to `List`.
    Listed(Vec<DocumentId>),
}

/// What a store holds for one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDoc {
    /// Its chunks concatenated in write order: the last snapshot, then appended changes.
    pub bytes: Vec<u8>,
    /// How many chunks `bytes` came from (0: the store has nothing for this document).
    pub chunks: u32,
    /// Persisted sync states, by relay storage id.
    pub sync_states: BTreeMap<StorageId, Vec<u8>>,
}

/// An output for the shell, to carry out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOutput {
    /// Open a transport to the relay for this document (see
    /// [`Route::Connect`](crate::protocol::Route)), with this token if any; answer with
    /// `TransportOpened`, `ConnectRefused` or `TransportClosed`. The core's connect deadline
    /// covers the attempt: shells set no timeout of their own.
    Connect {
        /// The bearer token, for the `Authorization` header or `?token=`.
        token: Option<String>,
    },
    /// Close the transport.
    Disconnect,
    /// Send a binary frame.
    Send(Vec<u8>),
    /// Run a storage task; answer with `StorageDone`. A local edit is durable once the write
    /// it produced succeeded, so shells run it before returning to the caller.
    Storage {
        /// The task id.
        task: TaskId,
        /// What to store or read.
        op: ClientStorageOp,
    },
    /// Call back with `Timer` at this time; replaces any earlier timer.
    SetTimer {
        /// When.
        at_ms: Millis,
    },
    /// The relay refused the token (`auth_failed` or `token_expired`): ask the application's
    /// token provider for a fresh one and answer with [`ClientInput::Token`] (or
    /// [`ClientInput::TokenUnavailable`]); meanwhile the status is
    /// [`SyncStatus::RefreshingToken`](super::SyncStatus). Asked once per
    /// refusal streak: if the fresh token is refused too, the session waits in
    /// [`SyncStatus::TokenNeeded`](super::SyncStatus) for the application to supply one.
    TokenNeeded {
        /// Which refusal.
        code: ErrorCode,
    },
    /// The status changed; this is the new one. Emitted only on change.
    Status(ClientStatus),
    /// Something the application may want to know.
    Event(ClientEvent),
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The document was read from local storage; it can be edited now.
    Loaded,
    /// The handshake with the relay completed.
    Connected,
    /// The connection dropped; reconnecting at `retry_at_ms` unless stopped.
    Disconnected {
        /// When the next attempt is, if any.
        retry_at_ms: Option<Millis>,
    },
    /// Changes from other devices were applied to the page.
    RemoteChange,
    /// The relay durably holds every local change and the page holds every change the relay
    /// has: the document is in sync.
    InSync,
    /// The relay does not have this document (and nobody has sent it).
    Unavailable,
    /// The relay refused the session. What to do depends on the code; see [`ErrorCode`].
    Refused {
        /// The reason.
        code: ErrorCode,
        /// The relay's message.
        message: String,
        /// When a retry is scheduled, for `rate_limited` and `quota_exceeded`.
        retry_at_ms: Option<Millis>,
    },
    /// A local save failed and will be retried; the edit is in memory only until then.
    SaveFailed {
        /// The storage error.
        error: String,
    },
}
