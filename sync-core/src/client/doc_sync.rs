//! `DocSync`: one document on one client, kept in sync with the relay over one connection.
//!
//! This file holds the session's state, its public surface and the dispatch of inputs. The
//! decisions live next to it, one concern each: `connection.rs` (life cycle, back-off, token,
//! deadlines), `exchange.rs` (frames, the sync protocol, acks), `durability.rs` (load, saves,
//! sync-state persistence) and `status.rs` (what the application shows).

use std::collections::BTreeMap;

use automerge::ChangeHash;
use automerge::sync;

use super::backoff::Backoff;
use super::config::ClientConfig;
use super::io::{ClientInput, ClientOutput, ClientStorageOp, StoredDoc};
use super::rng::SessionRng;
use super::status::ClientStatus;
use crate::io::{Millis, TaskId};
use crate::model::{Applied, EditError, Page, PageEdit, PageView};
use crate::protocol::{DocumentId, ErrorCode, PeerId, Reassembler, StorageId};

/// Why syncing stopped for good (until the application acts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The application went offline.
    Offline,
    /// The token was refused or expired: supply a new one with `ClientInput::Token`.
    NeedsToken(ErrorCode),
    /// The relay refused for a reason retrying will not fix (deleted, read-only, bad data).
    Refused(ErrorCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Conn {
    /// Not connected; `retry_at` is when to try again.
    Waiting { retry_at: Option<Millis> },
    /// The shell is opening the transport; give up at `deadline`.
    Opening { deadline: Millis },
    /// `join` sent, waiting for `peer` until `deadline`.
    Joining { deadline: Millis },
    /// Handshake done.
    Ready { relay: PeerId },
    /// Not trying to connect.
    Stopped(Stopped),
}

/// Whether the page has been read from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Load {
    /// The `Load` op is out; go online once it answers if `then_online`.
    Loading {
        task: TaskId,
        then_online: bool,
    },
    /// The store failed (retried at `retry_at`) or the bytes do not decode (`retry_at` None).
    Failed {
        message: String,
        retry_at: Option<Millis>,
        then_online: bool,
    },
    Ready,
}

/// Why an edit was not applied. Nothing was written in either case.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The document is still being read from local storage (or could not be).
    ///
    /// Recovery: wait for [`ClientEvent::Loaded`](super::ClientEvent) (status past `loading`).
    #[error("the document is not loaded yet")]
    NotLoaded,
    /// The page refused the edit.
    ///
    /// Recovery: see [`EditError`]; fix the input and try again.
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// What [`DocSync::apply_batch`] applied, or the index of the refused edit and why.
pub type BatchResult = Result<Vec<Applied>, (usize, ApplyError)>;

/// The last thing that went wrong with the connection, shown while retrying or stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Problem {
    pub(super) code: Option<ErrorCode>,
    pub(super) message: String,
}

/// One document's sync session: the page, its sync state with the relay, the connection's
/// life cycle (handshake, back-off, deadlines, token), and the durability of local edits.
///
/// Build one with [`open`](Self::open) or [`create`](Self::create) (or through a
/// [`Repo`](super::Repo)), feed inputs to [`handle`](Self::handle) and edits to
/// [`apply`](Self::apply); carry out the returned outputs in order. No IO, no clock, no rng:
/// `now` and the seed are passed in.
#[derive(Debug)]
pub struct DocSync {
    pub(super) config: ClientConfig,
    pub(super) doc_id: DocumentId,
    /// The session's actor bytes; a page loaded from storage is written with them.
    pub(super) actor: [u8; 16],
    pub(super) rng: SessionRng,
    pub(super) page: Page,
    pub(super) load: Load,
    pub(super) conn: Conn,
    pub(super) token: Option<String>,
    /// Whether a `TokenNeeded` went out since the last successful handshake.
    pub(super) token_asked: bool,
    /// Whether that `TokenNeeded` still waits for its answer.
    pub(super) awaiting_token: bool,
    pub(super) problem: Option<Problem>,
    pub(super) unavailable: bool,
    pub(super) sync: sync::State,
    /// Persisted sync states by relay storage id, loaded from the shell's store.
    pub(super) saved_sync: BTreeMap<StorageId, Vec<u8>>,
    pub(super) relay_storage: Option<StorageId>,
    /// The relay's durable heads, from its last `ack`.
    pub(super) acked: Option<Vec<ChangeHash>>,
    /// Whether the relay's last message about heads was an ack (not a sync message).
    pub(super) ack_is_latest: bool,
    pub(super) in_sync_reported: bool,
    /// The last time the sync made progress (connected, heads or acks moved).
    pub(super) progress_at: Millis,
    /// The last time a frame went either way on the connection (for the keepalive).
    pub(super) traffic_at: Millis,
    pub(super) backoff: Backoff,
    pub(super) reassembler: Reassembler,
    pub(super) next_fragment_id: u64,
    /// Heads covered by the last successful save, and saves since the last snapshot.
    pub(super) saved_heads: Vec<ChangeHash>,
    pub(super) saves_since_snapshot: u32,
    pub(super) save_in_flight: Option<(TaskId, Vec<ChangeHash>, bool)>,
    pub(super) save_retry_at: Option<Millis>,
    pub(super) save_error: Option<String>,
    pub(super) next_task: u64,
    pub(super) timer: Option<Millis>,
    pub(super) last_status: Option<ClientStatus>,
    pub(super) out: Vec<ClientOutput>,
    /// Outputs that go after the step's status (sync-state writes): nothing the application
    /// sees waits for them.
    pub(super) after_status: Vec<ClientOutput>,
}

impl DocSync {
    fn blank(config: ClientConfig, doc_id: DocumentId, seed: [u8; 16], page: Page) -> Self {
        let mut rng = SessionRng::new(&seed);
        let backoff = Backoff::new(
            config.backoff_base_ms,
            config.backoff_max_ms,
            rng.next_u64(),
        );
        Self {
            config,
            doc_id,
            actor: seed,
            rng,
            page,
            load: Load::Ready,
            conn: Conn::Stopped(Stopped::Offline),
            token: None,
            token_asked: false,
            awaiting_token: false,
            problem: None,
            unavailable: false,
            sync: sync::State::new(),
            saved_sync: BTreeMap::new(),
            relay_storage: None,
            acked: None,
            ack_is_latest: false,
            in_sync_reported: false,
            progress_at: 0,
            traffic_at: 0,
            backoff,
            reassembler: Reassembler::default(),
            next_fragment_id: 0,
            saved_heads: Vec::new(),
            saves_since_snapshot: 0,
            save_in_flight: None,
            save_retry_at: None,
            save_error: None,
            next_task: 0,
            timer: None,
            last_status: None,
            out: Vec::new(),
            after_status: Vec::new(),
        }
    }

    /// A session for a document in local storage (or one to fetch from the relay, when the
    /// store has nothing for it). The first output asks the shell to `Load` it.
    ///
    /// `seed` is 16 fresh random bytes from the shell: the session's Automerge actor (fresh
    /// for every load, see [`Page::load`]) and the seed of its block ids and jitter.
    pub fn open(
        config: ClientConfig,
        doc_id: DocumentId,
        seed: [u8; 16],
    ) -> (Self, Vec<ClientOutput>) {
        let mut s = Self::blank(config, doc_id, seed, Page::empty(seed));
        let task = s.storage(ClientStorageOp::Load { doc: doc_id });
        s.load = Load::Loading {
            task,
            then_online: false,
        };
        let out = s.finish();
        (s, out)
    }

    /// A new page with this title. The first output stores it; like an edit, it is durable
    /// once that write succeeded.
    pub fn create(
        config: ClientConfig,
        doc_id: DocumentId,
        title: &str,
        seed: [u8; 16],
    ) -> (Self, Vec<ClientOutput>) {
        let mut s = Self::blank(config, doc_id, seed, Page::create(seed, title));
        s.save_snapshot_now();
        let out = s.finish();
        (s, out)
    }

    /// A session over data the shell already read (a synchronous store: tests, tools). The
    /// same as [`open`](Self::open) followed by its `Loaded` answer; the outputs report the
    /// load.
    pub fn loaded(
        config: ClientConfig,
        doc_id: DocumentId,
        stored: StoredDoc,
        seed: [u8; 16],
    ) -> (Self, Vec<ClientOutput>) {
        let mut s = Self::blank(config, doc_id, seed, Page::empty(seed));
        s.on_loaded(0, stored);
        let out = s.finish();
        (s, out)
    }

    /// The document id.
    pub fn doc_id(&self) -> DocumentId {
        self.doc_id
    }

    /// The page, to read. Edits go through [`apply`](Self::apply), which makes them durable.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// The page as plain data (`tessera show`).
    pub fn view(&mut self) -> PageView {
        let url = self.doc_id.to_url();
        self.page.view(&url)
    }

    /// The stable JSON rendering (`tessera show --json`, every client's `toJSON`).
    pub fn to_json(&mut self) -> String {
        let url = self.doc_id.to_url();
        self.page.to_json(&url)
    }

    /// The page's current heads, sorted.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        sorted(self.page.doc_mut().get_heads())
    }

    /// The status an application shows.
    pub fn status(&mut self) -> ClientStatus {
        self.derive_status()
    }

    /// Whether the relay durably holds exactly what this page holds, and so does local storage.
    pub fn is_in_sync(&mut self) -> bool {
        let heads = self.heads();
        !heads.is_empty()
            && self
                .acked
                .as_ref()
                .is_some_and(|a| sorted(a.clone()) == heads)
            && sorted(self.saved_heads.clone()) == heads
    }

    /// Whether every local edit is saved locally.
    pub fn is_saved(&mut self) -> bool {
        self.heads() == sorted(self.saved_heads.clone())
    }

    /// Why syncing stopped, if it did.
    pub fn stopped(&self) -> Option<&Stopped> {
        match &self.conn {
            Conn::Stopped(s) => Some(s),
            _ => None,
        }
    }

    /// Applies one edit. The returned outputs carry the write that makes the edit durable;
    /// shells report success to the application only once it succeeded. The frames that
    /// take the edit to the relay come before that write, so a shell sends them while it
    /// writes (see [`edit`](Self::edit)).
    pub fn apply(
        &mut self,
        now: Millis,
        edit: &PageEdit,
    ) -> Result<(Applied, Vec<ClientOutput>), ApplyError> {
        let bits = self.rng.next_u64();
        self.edit(now, |page| page.apply(edit, bits))
    }

    /// Applies edits in order with one save for all of them (fast bulk input: an import, a
    /// paste). It stops at the first edit the page refuses; the edits before it stay applied,
    /// and the outputs (always returned) carry their save. `Err` holds the refused edit's
    /// index and why.
    pub fn apply_batch(
        &mut self,
        now: Millis,
        edits: &[PageEdit],
    ) -> (BatchResult, Vec<ClientOutput>) {
        if self.load != Load::Ready {
            return (Err((0, ApplyError::NotLoaded)), Vec::new());
        }
        let mut applied = Vec::with_capacity(edits.len());
        let mut refused = None;
        for (i, edit) in edits.iter().enumerate() {
            let bits = self.rng.next_u64();
            match self.page.apply(edit, bits) {
                Ok(a) => applied.push(a),
                Err(e) => {
                    refused = Some((i, ApplyError::Edit(e)));
                    break;
                }
            }
        }
        if !applied.is_empty() {
            self.progress_at = now;
            self.in_sync_reported = false;
            self.sync_with_relay(now);
            self.save();
        }
        let outputs = self.finish();
        match refused {
            Some(r) => (Err(r), outputs),
            None => (Ok(applied), outputs),
        }
    }

    /// Edits the page with a closure, for Rust callers that compose several model calls
    /// (tests, tools). Same durability as [`apply`](Self::apply); each model call commits
    /// one change.
    ///
    /// The sync message goes out before the local write, not after it: the write is what
    /// the application waits for, the message is what the other devices wait for, and
    /// neither needs the other. Nothing acknowledged can be lost by it: the relay
    /// acknowledges what it stored, the application hears of success only after the local
    /// write, and a session that dies between the two loads with a fresh actor (see
    /// [`Page::load`]), so the change the relay holds and the device lacks comes back by
    /// sync and is never rewritten under its sequence number.
    pub fn edit<T>(
        &mut self,
        now: Millis,
        f: impl FnOnce(&mut Page) -> Result<T, EditError>,
    ) -> Result<(T, Vec<ClientOutput>), ApplyError> {
        if self.load != Load::Ready {
            return Err(ApplyError::NotLoaded);
        }
        let value = f(&mut self.page)?;
        self.progress_at = now;
        self.in_sync_reported = false;
        self.sync_with_relay(now);
        self.save();
        Ok((value, self.finish()))
    }

    /// Handles one input at `now`; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: ClientInput) -> Vec<ClientOutput> {
        match input {
            ClientInput::GoOnline => self.go_online(now),
            ClientInput::GoOffline => self.go_offline(),
            ClientInput::Token(token) => self.on_token(now, token),
            ClientInput::TokenUnavailable => self.awaiting_token = false,
            ClientInput::TransportOpened => self.on_opened(now),
            ClientInput::Frame(bytes) => self.on_frame(now, &bytes),
            ClientInput::TransportClosed { code, reason } => self.on_closed(now, code, reason),
            ClientInput::ConnectRefused(refusal) => self.on_connect_refused(now, refusal),
            ClientInput::Timer => self.on_timer(now),
            ClientInput::StorageDone { task, outcome } => self.on_storage_done(now, task, outcome),
        }
        self.finish()
    }

    /// Ends a step: the timer, the status if it changed, and the outputs, the ones nothing
    /// waits for last.
    fn finish(&mut self) -> Vec<ClientOutput> {
        self.schedule_timer();
        let status = self.derive_status();
        if self.last_status.as_ref() != Some(&status) {
            self.last_status = Some(status.clone());
            self.out.push(ClientOutput::Status(status));
        }
        self.out.append(&mut self.after_status);
        std::mem::take(&mut self.out)
    }

    fn on_timer(&mut self, now: Millis) {
        self.timer = None;
        self.on_connection_timer(now);
        self.on_storage_timer(now);
    }

    fn schedule_timer(&mut self) {
        let next = [
            self.connection_deadline(),
            self.storage_deadline(),
            self.stall_deadline(),
            self.keepalive_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = next
            && Some(at) != self.timer
        {
            self.timer = Some(at);
            self.out.push(ClientOutput::SetTimer { at_ms: at });
        }
    }

    pub(super) fn storage(&mut self, op: ClientStorageOp) -> TaskId {
        let task = self.next_task_id();
        self.out.push(ClientOutput::Storage { task, op });
        task
    }

    pub(super) fn next_task_id(&mut self) -> TaskId {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        task
    }
}

pub(super) fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}
