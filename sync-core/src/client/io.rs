//! Inputs and outputs of a client document session.

use crate::io::{Millis, TaskId};
use crate::protocol::{DocumentId, ErrorCode, HttpRefusal, StorageId};

/// An input to [`DocSync::handle`](super::DocSync::handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientInput {
    /// The application wants this document synced: connect (now, or when back-off allows).
    GoOnline,
    /// The application wants to stop syncing: close the connection, stop reconnecting.
    GoOffline,
    /// The transport asked for by [`ClientOutput::Connect`] is open.
    TransportOpened,
    /// A binary frame arrived.
    Frame(Vec<u8>),
    /// The transport closed or could not be opened. `code` is the WebSocket close code, if any.
    TransportClosed {
        /// The close code the relay sent.
        code: Option<u16>,
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
        /// `Err` with a description if it failed; the session keeps the data dirty and retries.
        outcome: Result<(), String>,
    },
    /// A new token is in place after `auth_failed` or `token_expired`: try again now.
    TokenRefreshed,
}

/// Storage work for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStorageOp {
    /// Append these bytes (changes, in Automerge's incremental format) to the document's data.
    AppendChanges {
        /// The document.
        doc: DocumentId,
        /// Bytes to append.
        bytes: Vec<u8>,
    },
    /// Replace all stored data of the document with this full save.
    ReplaceWithSnapshot {
        /// The document.
        doc: DocumentId,
        /// A full Automerge save.
        bytes: Vec<u8>,
    },
    /// Store the sync state for the relay with this storage id.
    PutSyncState {
        /// The document.
        doc: DocumentId,
        /// The relay's storage id.
        peer: StorageId,
        /// `automerge::sync::State::encode()`.
        bytes: Vec<u8>,
    },
}

/// An output for the shell, to carry out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOutput {
    /// Open a transport to the relay for this document; answer with `TransportOpened` or
    /// `TransportClosed`.
    Connect,
    /// Close the transport.
    Disconnect,
    /// Send a binary frame.
    Send(Vec<u8>),
    /// Run a storage task; answer with `StorageDone`. A local edit is durable once the
    /// `AppendChanges` it produced succeeded, so shells run it before returning to the caller.
    Storage {
        /// The task id.
        task: TaskId,
        /// What to store.
        op: ClientStorageOp,
    },
    /// Call back with `Timer` at this time; replaces any earlier timer.
    SetTimer {
        /// When.
        at_ms: Millis,
    },
    /// Something the application may want to know.
    Event(ClientEvent),
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
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
