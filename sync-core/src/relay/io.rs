//! What goes into a relay room and what comes out: plain data, carried by the shell.

use super::{MetricsPoint, PlanLimits};
use crate::io::{ConnId, Millis, TaskId};
use crate::protocol::ErrorCode;

/// What the shell knows about a peer when it connects: the verified token's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerAccess {
    /// The token's subject (the user).
    pub subject: String,
    /// The tenant whose quota the peer's writes count against.
    pub tenant: String,
    /// Whether the peer may change the document (`write` or `admin` scope).
    pub can_write: bool,
    /// When the token expires; the room closes the connection with `token_expired` then.
    pub expires_at_ms: Millis,
    /// The limits of the token's plan (rates per connection and per tenant).
    #[serde(default)]
    pub plan: PlanLimits,
}

/// A snapshot as stored: which generation, which log rows it covers, and its bytes. The
/// snapshot is a cache for first syncs: the log rows stay the source of truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// Generation; increases with every refresh.
    pub generation: u64,
    /// The last log row the snapshot includes.
    pub log_through: u64,
    /// A full Automerge save.
    pub bytes: Vec<u8>,
}

/// One stored log row: change chunks as received, concatenated, and their index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// Sequence number.
    pub seq: u64,
    /// The length of its change bytes.
    pub len: u64,
    /// The change bytes, or `None` if the shell left them in storage: a row with an index
    /// needs none at load (the room asks for them with [`StorageOp::ReadRows`] when a peer
    /// needs its changes). A row without an index must come with its bytes.
    pub bytes: Option<Vec<u8>>,
    /// The row's index (hash, deps, actor, seq of each change), written with it. `None` for
    /// rows written before the relay kept an index: those are parsed at load instead.
    pub index: Option<Vec<u8>>,
}

/// The room's side of the tenant's quota, stored with its writes so that neither unused budget
/// nor debt is forgotten when the room is evicted or restarted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoomLedger {
    /// Bytes the tenant granted that the room has not used yet; a new incarnation gives them
    /// back.
    pub budget: u64,
    /// Stored growth never charged to the tenant (see the room's compaction); later shrinks pay
    /// it off before anything is released.
    pub unpaid: u64,
    /// Whether the document counts against the tenant's document limit.
    pub counted: bool,
}

/// The stored state of a room, as the shell loaded it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoom {
    /// The current snapshot, if one was ever written.
    pub snapshot: Option<StoredSnapshot>,
    /// Every log row, in sequence order. (Rooms stored before the change graph trimmed the
    /// rows their snapshot covered; their first row is then after `log_through`.)
    pub log: Vec<StoredRow>,
    /// Whether the document was deleted.
    pub deleted: bool,
    /// The ledger stored with the last write (default: nothing granted, not counted).
    pub ledger: RoomLedger,
}

/// A storage operation for the shell to run. Each reports back through
/// [`RoomInput::StorageDone`] with its task id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageOp {
    /// Read the snapshot, the log, and the tombstone; answer with [`RoomInput::Loaded`]. The
    /// bytes of rows with an index may stay in storage (see [`StoredRow::bytes`]).
    Load,
    /// Append one log row (concatenated change chunks and their index), together under
    /// `max_row_bytes`.
    AppendLog {
        /// Sequence number of the row; strictly increasing.
        seq: u64,
        /// The change bytes.
        bytes: Vec<u8>,
        /// The row's index ([`StoredRow::index`]), stored in the same row.
        index: Vec<u8>,
        /// The room's ledger after this row, written atomically with it.
        ledger: RoomLedger,
    },
    /// Read these log rows' change bytes; answer with [`RoomInput::RowsRead`]. A row that no
    /// longer exists is left out of the answer.
    ReadRows {
        /// Their sequence numbers.
        seqs: Vec<u64>,
    },
    /// Store the room's ledger on its own (unused budget is about to be given back).
    PutLedger(RoomLedger),
    /// Store a snapshot (R2), then record it as current, covering log rows up to `log_through`.
    /// Only after both succeed is the task done. The rows stay: the snapshot is a cache.
    PutSnapshot {
        /// Generation; the object key is derived from it.
        generation: u64,
        /// A full Automerge save.
        bytes: Vec<u8>,
        /// The last log row the snapshot includes.
        log_through: u64,
    },
    /// Delete a superseded snapshot.
    DeleteSnapshot {
        /// Its generation.
        generation: u64,
    },
    /// Record that the document is deleted, and drop its data: its log rows and every
    /// snapshot it has in R2. Idempotent; retried until it succeeds.
    PutTombstone,
}

/// A refusal by the tenant's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// `quota_exceeded` (a plan limit) or `rate_limited` (a rolling window).
    pub code: ErrorCode,
    /// When to try again, for `rate_limited`.
    pub retry_after_ms: Option<u64>,
}

/// An input to [`RelayRoom::handle`](super::RelayRoom::handle).
#[derive(Debug, Clone)]
pub enum RoomInput {
    /// The answer to [`StorageOp::Load`].
    Loaded(StoredRoom),
    /// A new WebSocket connection whose token the shell verified.
    Connected {
        /// The connection.
        conn: ConnId,
        /// What the token allows.
        access: PeerAccess,
    },
    /// A connection that survived hibernation, with the attachment the room last gave it.
    Reattached {
        /// The connection.
        conn: ConnId,
        /// Bytes from [`RoomOutput::Attach`].
        attachment: Vec<u8>,
    },
    /// A binary frame from a connection.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// The connection closed or failed.
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// The answer to [`StorageOp::ReadRows`]: (seq, change bytes) of each row read. With no
    /// task: rows the shell read on its own, for [`RelayRoom::document`](super::RelayRoom::document).
    RowsRead {
        /// The task, if the room asked for these rows.
        task: Option<TaskId>,
        /// The rows, or a description of why the read failed (the room asks again later).
        outcome: Result<Vec<(u64, Vec<u8>)>, String>,
    },
    /// A storage task finished.
    StorageDone {
        /// The task.
        task: TaskId,
        /// `Err` with a description when it failed; the room retries what it must.
        outcome: Result<(), String>,
    },
    /// The tenant's answer to [`RoomOutput::ReserveQuota`].
    Quota(Result<u64, QuotaRefusal>),
    /// The call for [`RoomOutput::ReserveQuota`] failed (the tenant's object did not answer);
    /// the room asks again after a back-off.
    QuotaFailed {
        /// The failure, for the log.
        error: String,
    },
    /// [`RoomOutput::Attach`] failed (e.g. over the runtime's attachment limit): the connection
    /// could not survive hibernation, so the room closes it.
    AttachFailed {
        /// The connection.
        conn: ConnId,
        /// The failure, for the log.
        error: String,
    },
    /// [`RoomOutput::Send`] failed: the room closes that connection, nobody else's.
    SendFailed {
        /// The connection.
        conn: ConnId,
        /// The failure, for the log.
        error: String,
    },
    /// [`RoomOutput::SetTimer`] failed; the room asks again after a back-off.
    TimerFailed {
        /// The failure, for the log.
        error: String,
    },
    /// The timer set by [`RoomOutput::SetTimer`] fired (early or late is fine).
    Timer,
    /// An admin deleted the document.
    Delete,
}

/// An output of the room, for the shell to carry out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomOutput {
    /// Send a binary frame.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Close the connection with a WebSocket close code.
    Close {
        /// The connection.
        conn: ConnId,
        /// Close code (see [`ErrorCode::close_code`]), or 1000.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Store these bytes with the connection (the hibernation attachment). A connection's
    /// sync state is attached at most every `attach_sync_every_ms`, so after hibernation it
    /// may be older than the last message (which is safe: see `RoomConfig`).
    Attach {
        /// The connection.
        conn: ConnId,
        /// Opaque bytes to hand back in [`RoomInput::Reattached`]; always UTF-8 (JSON), so a
        /// shell may keep them as text.
        attachment: Vec<u8>,
    },
    /// Run a storage task.
    Storage {
        /// Report back with this id.
        task: TaskId,
        /// What to do.
        op: StorageOp,
    },
    /// Call back with [`RoomInput::Timer`] at this time; replaces any earlier timer.
    SetTimer {
        /// When.
        at_ms: Millis,
    },
    /// Ask the tenant's quota for budget to store `bytes` more; answer with [`RoomInput::Quota`].
    ReserveQuota {
        /// Bytes wanted.
        bytes: u64,
        /// Whether this is the document's first write (it counts against the document limit).
        new_document: bool,
    },
    /// Something the shell may log or count.
    Event(RoomEvent),
}

/// Observable facts about the room, for logs, metrics and the tenant's quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// The stored document was loaded.
    Loaded {
        /// Bytes read: the snapshot plus the log.
        bytes: usize,
    },
    /// A batch of changes is durable (they were forwarded on arrival).
    Persisted {
        /// Chunks in the batch.
        chunks: usize,
        /// Their bytes.
        bytes: u64,
    },
    /// A first-sync snapshot was refreshed.
    Compacted {
        /// The new generation.
        generation: u64,
        /// Snapshot size.
        bytes: u64,
    },
    /// An IO step other than storage failed (quota call, attachment, send, timer); the room
    /// retried or closed the connection concerned.
    IoFailed {
        /// Which step, and why.
        error: String,
    },
    /// A storage task failed and will be retried; also a stored change that could not be
    /// used (a log row that does not parse, a change that automerge cannot apply found while
    /// refreshing the snapshot).
    StorageFailed {
        /// The failure.
        error: String,
    },
    /// A connection was refused or closed for a reason.
    Refused {
        /// The connection.
        conn: ConnId,
        /// Why.
        code: ErrorCode,
    },
    /// The room gave back `bytes` of storage it no longer holds (a compaction shrank it, or a
    /// delete), and with `document` the document itself. The shell passes it on to the
    /// tenant's quota; nothing answers it, and a shell that drops it leaves the tenant
    /// over-counted, never under. (An event rather than an output of its own so that shells
    /// without quotas, which match outputs exhaustively, need no change.)
    QuotaReleased {
        /// Stored bytes to take off the tenant's count.
        bytes: u64,
        /// Whether the document no longer counts against the document limit.
        document: bool,
    },
    /// A connection was accepted into the room.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The token's subject.
        subject: String,
    },
    /// The tenant's quota answered a reservation: the bytes granted, or the refusal's code.
    QuotaAnswered {
        /// What it said.
        answer: Result<u64, ErrorCode>,
    },
    /// One metrics period of the room ended: the shell writes this point to its metrics sink
    /// (Workers Analytics Engine in the relay), indexed by the tenant.
    Metrics(MetricsPoint),
}
