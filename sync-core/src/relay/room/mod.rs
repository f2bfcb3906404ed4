//! `RelayRoom`: the relay's state machine for one document.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::ChangeHash;
use automerge::sync;

use super::config::RoomConfig;
use super::graph::{ChangeGraph, Outgoing, ParsedChange};
use super::io::{
    PeerAccess, QuotaRefusal, RoomEvent, RoomInput, RoomLedger, RoomOutput, StorageOp, StoredRoom,
};
use super::metrics::Metrics;
use super::peer::{Peer, Remote};
use super::persistence::{Compaction, Incoming, LogState, PendingChunk, SnapshotCache, WriteBatch};
use super::rate::FrameRates;
use crate::framing::frames_for;
use crate::io::{ConnId, Millis, TaskId, heads_to_hex};
use crate::protocol::{DocumentId, ErrorCode, Message, PeerMetadata};

mod acks;
mod budget;
mod failures;
mod frames;
mod ingest;
mod lifecycle;
mod limits;
mod observe;
mod outbox;
mod restore;
mod rows;
mod snapshot;

/// The relay's state machine for one document: peers, their sync states, authorization,
/// persistence (persist before ack, snapshots) and quota accounting. It does no IO: feed it
/// [`RoomInput`]s with the current time and carry out the [`RoomOutput`]s it returns, in order.
#[derive(Debug)]
pub struct RelayRoom {
    config: RoomConfig,
    doc_id: DocumentId,
    phase: Phase,
    /// Every admitted change; never a materialized document.
    graph: ChangeGraph,
    /// How many changes (a prefix of the graph) are durable, and that prefix's heads.
    durable: u32,
    durable_heads: BTreeSet<u32>,
    /// The first-sync snapshot, if there is one, and the one being stored.
    snapshot: Option<SnapshotCache>,
    refreshing: Option<SnapshotCache>,
    peers: BTreeMap<ConnId, Peer>,
    /// Frames that arrived before the document was loaded, replayed once it is.
    early_frames: Vec<(ConnId, Vec<u8>)>,
    /// Changes whose deps are all known or ahead of them here, waiting for quota budget.
    incoming: VecDeque<Incoming>,
    /// Changes with a dep the room has not seen yet (bounded by `max_waiting_changes`).
    waiting: Vec<Incoming>,
    /// Hashes in `incoming`, and in `incoming` or `waiting`: lookups stay logarithmic however
    /// many changes one message brings.
    incoming_hashes: BTreeSet<ChangeHash>,
    queued: BTreeSet<ChangeHash>,
    /// Admitted (in the graph, forwarded) but not yet durable, oldest first.
    pending: VecDeque<PendingChunk>,
    writing: Option<WriteBatch>,
    /// Stored rows to read back for the next `ReadRows`, the one running, and whether the
    /// snapshot refresh waits for them.
    rows_wanted: BTreeSet<u64>,
    reading: Option<TaskId>,
    refresh_wants_rows: bool,
    log: LogState,
    compaction: Compaction,
    /// Bytes the tenant's quota has granted and this room has not used yet.
    budget: u64,
    reserving: bool,
    /// Whether this document has been counted against the tenant's document limit.
    counted: bool,
    /// Unused budget being given back: the `PutLedger` task that must succeed first, and the
    /// bytes to release once it has.
    releasing: Option<(TaskId, u64)>,
    /// After a failed `SetTimer`, no new one is asked for before this time.
    timer_blocked_until: Option<Millis>,
    next_task: u64,
    /// Retry of a failed storage write: when, and the current back-off.
    retry_at: Option<Millis>,
    retry_delay: u64,
    timer: Option<Millis>,
    /// The time of the input being handled.
    now: Millis,
    out: Vec<RoomOutput>,
    /// The tenant's rates over all connections of the room; made at the first frame.
    tenant_rates: Option<FrameRates>,
    /// Sums of the current metrics period.
    metrics: Metrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading(TaskId),
    Ready,
    Deleted,
    /// The snapshot does not load; nothing is served or written.
    Damaged,
}

impl RelayRoom {
    /// A room for `doc_id`. The first outputs ask the shell to load its stored state.
    pub fn new(config: RoomConfig, doc_id: DocumentId) -> (Self, Vec<RoomOutput>) {
        let mut room = Self {
            config,
            doc_id,
            phase: Phase::Ready,
            graph: ChangeGraph::default(),
            durable: 0,
            durable_heads: BTreeSet::new(),
            snapshot: None,
            refreshing: None,
            peers: BTreeMap::new(),
            early_frames: Vec::new(),
            incoming: VecDeque::new(),
            waiting: Vec::new(),
            incoming_hashes: BTreeSet::new(),
            queued: BTreeSet::new(),
            pending: VecDeque::new(),
            writing: None,
            rows_wanted: BTreeSet::new(),
            reading: None,
            refresh_wants_rows: false,
            log: LogState::default(),
            compaction: Compaction::default(),
            budget: 0,
            reserving: false,
            counted: false,
            releasing: None,
            timer_blocked_until: None,
            next_task: 0,
            retry_at: None,
            retry_delay: 0,
            timer: None,
            now: 0,
            out: Vec::new(),
            tenant_rates: None,
            metrics: Metrics::default(),
        };
        let task = room.storage(StorageOp::Load);
        room.phase = Phase::Loading(task);
        let out = std::mem::take(&mut room.out);
        (room, out)
    }

    /// The document this room serves.
    pub fn doc_id(&self) -> DocumentId {
        self.doc_id
    }

    /// The heads of every change the room holds (durable or not), sorted.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.graph.heads()
    }

    /// The heads of the durable changes, sorted: what an `ack` reports.
    pub fn durable_heads(&self) -> Vec<ChangeHash> {
        let mut heads: Vec<ChangeHash> = self
            .durable_heads
            .iter()
            .map(|i| self.graph.hash(*i))
            .collect();
        heads.sort();
        heads
    }

    /// Whether the room holds this change.
    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        self.graph.contains(hash)
    }

    /// How many changes the room holds.
    pub fn change_count(&self) -> usize {
        self.graph.len()
    }

    /// Bytes of stored rows' changes held in memory (the rest are read back when needed).
    pub fn resident_row_bytes(&self) -> usize {
        self.graph.resident_row_bytes()
    }

    /// The durable document as bytes `Automerge::load` reads: the snapshot plus the changes
    /// after it, or all changes when there is no snapshot. Built from stored bytes; nothing is
    /// materialized. `Err` names the log rows to read first: the shell reads them and hands
    /// them over as [`RoomInput::RowsRead`] without a task, then asks again.
    pub fn document(&mut self) -> Result<Vec<u8>, Vec<u64>> {
        let (mut out, from) = match &self.snapshot {
            Some(s) => (s.bytes.clone(), s.covers),
            None => (Vec::new(), 0),
        };
        let missing = self.graph.rows_to_read(from..self.durable);
        if !missing.is_empty() {
            return Err(missing);
        }
        out.extend(
            self.graph
                .concat(from..self.durable)
                .expect("all in memory"),
        );
        Ok(out)
    }

    /// The snapshot endpoint's ETag: a digest of the durable heads, so it changes exactly
    /// when the served document does, and stays the same across restarts and builds.
    pub fn snapshot_etag(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        for head in heads_to_hex(&self.durable_heads()) {
            digest.update(head.as_bytes());
        }
        format!("\"{}\"", hex::encode(&digest.finalize()[..8]))
    }

    /// Whether the document was deleted.
    pub fn is_deleted(&self) -> bool {
        self.phase == Phase::Deleted
    }

    /// Whether the room has loaded its stored state.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Whether the room is still loading (or retrying a failed load): it cannot answer yet.
    pub fn is_loading(&self) -> bool {
        matches!(self.phase, Phase::Loading(_))
    }

    /// Whether the stored document is damaged and nothing is served.
    pub fn is_damaged(&self) -> bool {
        self.phase == Phase::Damaged
    }

    /// Whether the document exists: loaded, and counted against the tenant or holding data.
    /// A room for a document that does not exist has written nothing, and must not start to
    /// for a read or a delete.
    pub fn exists(&self) -> bool {
        self.phase == Phase::Ready && (self.counted || self.log.stored_bytes() > 0)
    }

    /// The room's side of the tenant's quota, as it would be stored now.
    pub fn ledger(&self) -> RoomLedger {
        // Admitted changes not yet in a row were paid for and are not stored: a new incarnation
        // gives their bytes back (the room that admitted them is gone, and so are they).
        let admitted: u64 = self.pending.iter().map(|c| c.len as u64).sum();
        RoomLedger {
            budget: self.budget + admitted,
            unpaid: self.log.unpaid(),
            counted: self.counted,
        }
    }

    /// Whether changes wait for a peer's answer (see `RoomConfig::reply_hold_ms`), or for
    /// their rows to be read back from storage: they go out with the answer, on the room's
    /// timer, or once the rows are in memory.
    pub fn has_held_changes(&self) -> bool {
        let hold = self.config.reply_hold_ms;
        self.peers
            .values()
            .any(|p| p.sync.hold_expires(hold).is_some() || p.unsent.is_some())
    }

    /// Whether any received change is not yet durable.
    pub fn has_unpersisted(&self) -> bool {
        !self.pending.is_empty()
            || self.writing.is_some()
            || !self.incoming.is_empty()
            || !self.waiting.is_empty()
    }

    /// Connections currently open.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.peers.keys().copied()
    }

    /// Handles one input at time `now` and returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: RoomInput) -> Vec<RoomOutput> {
        self.now = now;
        self.evict_rows();
        self.expire_partials(now);
        let frame_in = match &input {
            RoomInput::Frame { bytes, .. } => Some(bytes.len()),
            _ => None,
        };
        let connected = matches!(input, RoomInput::Connected { .. });
        match input {
            RoomInput::Loaded(stored) => self.on_loaded(now, stored),
            RoomInput::Connected { conn, access } => self.on_connected(now, conn, access),
            RoomInput::Reattached { conn, attachment } => self.on_reattached(conn, &attachment),
            RoomInput::Frame { conn, bytes } => self.on_wire_frame(now, conn, bytes),
            RoomInput::Disconnected { conn } => self.on_disconnected(conn),
            RoomInput::StorageDone { task, outcome } => self.on_storage_done(now, task, outcome),
            RoomInput::RowsRead { task, outcome } => self.on_rows_read(now, task, outcome),
            RoomInput::Quota(answer) => self.on_quota(now, answer),
            RoomInput::QuotaFailed { error } => self.on_quota_failed(now, error),
            RoomInput::AttachFailed { conn, error } => {
                self.close_failed(conn, &format!("attachment: {error}"));
            }
            RoomInput::SendFailed { conn, error } => {
                self.close_failed(conn, &format!("send: {error}"));
            }
            RoomInput::TimerFailed { error } => self.on_timer_failed(now, error),
            RoomInput::Timer => self.on_timer(now),
            RoomInput::Delete => self.on_delete(),
        }
        self.observe(now, frame_in, connected);
        self.flush_attachments(now);
        self.schedule_timer(now);
        std::mem::take(&mut self.out)
    }

    fn is_empty_doc(&self) -> bool {
        self.graph.is_empty() && self.incoming.is_empty() && self.waiting.is_empty()
    }

    fn cleanup(&mut self, op: StorageOp) {
        let task = self.storage(op.clone());
        self.compaction.track_cleanup(task, op);
    }

    fn storage(&mut self, op: StorageOp) -> TaskId {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        self.out.push(RoomOutput::Storage { task, op });
        task
    }

    /// Asks for a timer at the earliest of: a storage retry, a token expiry, a compaction, an
    /// abandoned partial message.
    fn schedule_timer(&mut self, now: Millis) {
        if self.timer_blocked_until.is_some_and(|t| t > now) {
            return;
        }
        self.timer_blocked_until = None;
        let expiry = self.peers.values().map(|p| p.access.expires_at_ms).min();
        let next = [
            self.retry_at,
            expiry,
            self.compaction.due_at(),
            self.partials_due(),
            self.metrics.due_at(self.config.metrics_period_ms),
            // A peer whose message waits for rows goes on when they are read, not on a timer.
            self.peers
                .values()
                .filter(|p| p.unsent.is_none())
                .filter_map(|p| p.sync.hold_expires(self.config.reply_hold_ms))
                .min(),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at_ms) = next
            && next != self.timer
        {
            self.timer = next;
            self.out.push(RoomOutput::SetTimer { at_ms });
        }
    }
}
