//! `DocSync`: one document on one client, kept in sync with the relay over one connection.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use automerge::sync::{self, SyncDoc};

use super::backoff::Backoff;
use super::config::ClientConfig;
use super::io::{ClientEvent, ClientInput, ClientOutput, ClientStorageOp};
use crate::framing::frames_for;
use crate::io::{Millis, TaskId};
use crate::model::{EditError, Page};
use crate::protocol::{
    DocumentId, ErrorCode, Message, PeerId, PeerMetadata, Reassembler, StorageId,
};

/// Why syncing stopped for good (until the application acts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The application went offline.
    Offline,
    /// The token was refused or expired: supply a new one, then send `TokenRefreshed`.
    NeedsToken(ErrorCode),
    /// The relay refused for a reason retrying will not fix (deleted, read-only, bad data).
    Refused(ErrorCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Conn {
    /// Not connected; `retry_at` is when to try again.
    Waiting { retry_at: Option<Millis> },
    /// The shell is opening the transport.
    Opening,
    /// `join` sent, waiting for `peer`.
    Joining,
    /// Handshake done.
    Ready { relay: PeerId },
    /// Not trying to connect.
    Stopped(Stopped),
}

/// One document's sync session: the page, its sync state with the relay, the connection's
/// life cycle (handshake, back-off), and the durability of local edits.
///
/// Feed inputs to [`handle`](Self::handle) and edits through [`edit`](Self::edit); carry out
/// the returned outputs in order. No IO, no clock: `now` is always passed in.
#[derive(Debug)]
pub struct DocSync {
    config: ClientConfig,
    doc_id: DocumentId,
    page: Page,
    conn: Conn,
    sync: sync::State,
    /// Persisted sync states by relay storage id, loaded from the shell's store.
    saved_sync: BTreeMap<StorageId, Vec<u8>>,
    relay_storage: Option<StorageId>,
    /// The relay's durable heads, from its last `ack`.
    acked: Option<Vec<ChangeHash>>,
    /// Whether the relay's last message about heads was an ack (not a sync message).
    ack_is_latest: bool,
    in_sync_reported: bool,
    /// The last time the sync made progress (connected, heads or acks moved).
    progress_at: Millis,
    backoff: Backoff,
    reassembler: Reassembler,
    next_fragment_id: u64,
    /// Heads covered by the last successful save, and saves since the last snapshot.
    saved_heads: Vec<ChangeHash>,
    saves_since_snapshot: u32,
    save_in_flight: Option<(TaskId, Vec<ChangeHash>, bool)>,
    save_retry_at: Option<Millis>,
    next_task: u64,
    timer: Option<Millis>,
    out: Vec<ClientOutput>,
}

impl DocSync {
    /// A session for a page loaded from local storage (or a new, empty one for a document to
    /// fetch). `saved_sync` holds the persisted sync states; `seed` drives back-off jitter.
    pub fn new(
        config: ClientConfig,
        doc_id: DocumentId,
        mut page: Page,
        saved_sync: BTreeMap<StorageId, Vec<u8>>,
        seed: u64,
    ) -> Self {
        let backoff = Backoff::new(config.backoff_base_ms, config.backoff_max_ms, seed);
        let saved_heads = page.doc_mut().get_heads();
        Self {
            config,
            doc_id,
            page,
            conn: Conn::Stopped(Stopped::Offline),
            sync: sync::State::new(),
            saved_sync,
            relay_storage: None,
            acked: None,
            ack_is_latest: false,
            in_sync_reported: false,
            progress_at: 0,
            backoff,
            reassembler: Reassembler::default(),
            next_fragment_id: 0,
            saved_heads,
            saves_since_snapshot: 0,
            save_in_flight: None,
            save_retry_at: None,
            next_task: 0,
            timer: None,
            out: Vec::new(),
        }
    }

    /// Tells the session how many chunks the document's storage already holds (one snapshot
    /// plus appended changes). Short-lived processes (one CLI edit each) never reach
    /// `compact_after_saves` saves in one session; counting the stored chain lets the next save
    /// fold it into one snapshot instead.
    #[must_use]
    pub fn with_stored_chunks(mut self, chunks: u32) -> Self {
        self.saves_since_snapshot = chunks.saturating_sub(1);
        self
    }

    /// The document id.
    pub fn doc_id(&self) -> DocumentId {
        self.doc_id
    }

    /// The page, to read.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// The page, mutably, for rendering (Automerge needs `&mut` to report heads). Edits made
    /// through this reference bypass durability and sync: use [`edit`](Self::edit) for those.
    pub fn page_mut_for_read(&mut self) -> &mut Page {
        &mut self.page
    }

    /// Whether the relay durably holds exactly what this page holds, and so does local storage.
    pub fn is_in_sync(&mut self) -> bool {
        let heads = sorted(self.page.doc_mut().get_heads());
        !heads.is_empty()
            && self
                .acked
                .as_ref()
                .is_some_and(|a| sorted(a.clone()) == heads)
            && sorted(self.saved_heads.clone()) == heads
    }

    /// Whether every local edit is saved locally.
    pub fn is_saved(&mut self) -> bool {
        sorted(self.page.doc_mut().get_heads()) == sorted(self.saved_heads.clone())
    }

    /// Why syncing stopped, if it did.
    pub fn stopped(&self) -> Option<&Stopped> {
        match &self.conn {
            Conn::Stopped(s) => Some(s),
            _ => None,
        }
    }

    /// Edits the page. The returned outputs start with the `AppendChanges` that makes the edit
    /// durable; shells run it before reporting success to the user.
    pub fn edit<T>(
        &mut self,
        now: Millis,
        f: impl FnOnce(&mut Page) -> Result<T, EditError>,
    ) -> Result<(T, Vec<ClientOutput>), EditError> {
        let value = f(&mut self.page)?;
        self.progress_at = now;
        self.save(now);
        self.in_sync_reported = false;
        self.sync_with_relay();
        self.schedule_timer();
        Ok((value, std::mem::take(&mut self.out)))
    }

    /// Handles one input at `now`; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: ClientInput) -> Vec<ClientOutput> {
        match input {
            ClientInput::GoOnline => {
                if matches!(self.conn, Conn::Stopped(Stopped::Offline)) {
                    self.connect();
                }
            }
            ClientInput::GoOffline => {
                if !matches!(self.conn, Conn::Stopped(_)) {
                    self.out.push(ClientOutput::Disconnect);
                }
                self.conn = Conn::Stopped(Stopped::Offline);
            }
            ClientInput::TokenRefreshed => {
                if matches!(self.conn, Conn::Stopped(Stopped::NeedsToken(_))) {
                    self.backoff.reset();
                    self.connect();
                }
            }
            ClientInput::TransportOpened => self.on_opened(now),
            ClientInput::Frame(bytes) => self.on_frame(now, &bytes),
            ClientInput::TransportClosed { code } => self.on_closed(now, code),
            // A refusal of an attempt we are no longer making (went offline meanwhile) is stale.
            ClientInput::ConnectRefused(refusal) if self.conn == Conn::Opening => {
                self.on_refused(now, refusal.code, refusal.message, refusal.retry_after_ms);
            }
            ClientInput::ConnectRefused(_) => {}
            ClientInput::Timer => self.on_timer(now),
            ClientInput::StorageDone { task, outcome } => self.on_storage_done(now, task, outcome),
        }
        self.schedule_timer();
        std::mem::take(&mut self.out)
    }

    fn connect(&mut self) {
        self.conn = Conn::Opening;
        self.out.push(ClientOutput::Connect);
    }

    fn on_opened(&mut self, now: Millis) {
        if self.conn != Conn::Opening {
            return;
        }
        self.progress_at = now;
        self.conn = Conn::Joining;
        self.reassembler.clear();
        let join = Message::Join {
            sender_id: self.config.peer_id.clone(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some(self.config.storage_id.clone()),
                is_ephemeral: false,
            }),
        };
        self.send(join);
    }

    fn on_closed(&mut self, now: Millis, code: Option<u16>) {
        if matches!(self.conn, Conn::Stopped(_)) {
            return;
        }
        self.persist_sync_state();
        match code.and_then(ErrorCode::from_close_code) {
            Some(code) => self.on_refused(now, code, String::new(), None),
            None => self.wait_and_retry(now, None),
        }
    }

    fn wait_and_retry(&mut self, now: Millis, at_least_ms: Option<u64>) {
        let delay = self.backoff.next_delay().max(at_least_ms.unwrap_or(0));
        let retry_at = now + delay;
        self.conn = Conn::Waiting {
            retry_at: Some(retry_at),
        };
        self.out
            .push(ClientOutput::Event(ClientEvent::Disconnected {
                retry_at_ms: Some(retry_at),
            }));
    }

    /// What each refusal means for the session; see [`ErrorCode`] for the contract.
    fn on_refused(
        &mut self,
        now: Millis,
        code: ErrorCode,
        message: String,
        retry_after: Option<u64>,
    ) {
        if matches!(self.conn, Conn::Stopped(_) | Conn::Waiting { .. }) {
            return; // the error frame already handled it; this is its close
        }
        let retry_at_ms = match code {
            ErrorCode::AuthFailed | ErrorCode::TokenExpired => {
                self.conn = Conn::Stopped(Stopped::NeedsToken(code));
                None
            }
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded => {
                let floor = retry_after.unwrap_or(if code == ErrorCode::QuotaExceeded {
                    60_000
                } else {
                    1_000
                });
                self.wait_and_retry(now, Some(floor));
                match self.conn {
                    Conn::Waiting { retry_at } => retry_at,
                    _ => None,
                }
            }
            ErrorCode::DocDeleted
            | ErrorCode::PermissionDenied
            | ErrorCode::PayloadTooLarge
            | ErrorCode::BadMessage => {
                self.conn = Conn::Stopped(Stopped::Refused(code));
                None
            }
        };
        self.out.push(ClientOutput::Event(ClientEvent::Refused {
            code,
            message,
            retry_at_ms,
        }));
        self.out.push(ClientOutput::Disconnect);
    }

    fn on_timer(&mut self, now: Millis) {
        self.timer = None;
        if let Conn::Waiting { retry_at: Some(at) } = self.conn
            && at <= now
        {
            self.connect();
        }
        if self.save_retry_at.is_some_and(|t| t <= now) {
            self.save_retry_at = None;
            self.save(now);
        }
        if self.stall_deadline().is_some_and(|t| t <= now) && !self.is_in_sync() {
            // Start the next session from scratch rather than from the state that stalled.
            if let Some(relay) = &self.relay_storage {
                self.saved_sync.remove(relay);
            }
            self.out.push(ClientOutput::Disconnect);
            self.wait_and_retry(now, None);
        }
    }

    /// When an out-of-sync, connected session counts as stalled.
    fn stall_deadline(&self) -> Option<Millis> {
        match self.conn {
            Conn::Ready { .. } | Conn::Joining if !self.in_sync_reported => {
                Some(self.progress_at + self.config.stall_timeout_ms)
            }
            _ => None,
        }
    }

    fn on_frame(&mut self, now: Millis, bytes: &[u8]) {
        // A relay that sends garbage is treated like a dropped connection.
        let Ok(message) = Message::decode(bytes) else {
            return self.drop_connection(now);
        };
        if let Message::Fragment { .. } = message {
            match self.reassembler.accept(now, &message) {
                Ok(Some(whole)) => self.on_frame(now, &whole),
                Ok(None) => {}
                Err(_) => self.drop_connection(now),
            }
            return;
        }
        match message {
            Message::Peer {
                sender_id,
                selected_protocol_version,
                metadata,
                ..
            } if self.conn == Conn::Joining => {
                if selected_protocol_version != "1" {
                    return self.drop_connection(now);
                }
                self.relay_storage = metadata
                    .filter(|m| !m.is_ephemeral)
                    .and_then(|m| m.storage_id);
                self.sync = self.restored_sync_state();
                self.conn = Conn::Ready { relay: sender_id };
                self.acked = None;
                self.in_sync_reported = false;
                self.out.push(ClientOutput::Event(ClientEvent::Connected));
                self.sync_with_relay();
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
                self.out.push(ClientOutput::Event(ClientEvent::Unavailable));
            }
            Message::Error {
                message,
                code,
                retry_after_ms,
            } => match code {
                Some(code) => self.on_refused(now, code, message, retry_after_ms),
                None => self.drop_connection(now),
            },
            _ => {}
        }
    }

    fn on_sync(&mut self, now: Millis, data: &[u8]) {
        let Ok(message) = sync::Message::decode(data) else {
            return self.drop_connection(now);
        };
        let before = self.page.doc_mut().get_heads();
        let received = self
            .page
            .doc_mut()
            .sync()
            .receive_sync_message(&mut self.sync, message);
        if received.is_err() {
            return self.drop_connection(now);
        }
        self.ack_is_latest = false;
        if self.page.doc_mut().get_heads() != before {
            self.progress_at = now;
            self.out
                .push(ClientOutput::Event(ClientEvent::RemoteChange));
            self.save(now);
            self.in_sync_reported = false;
        }
        self.sync_with_relay();
        self.check_in_sync();
    }

    fn drop_connection(&mut self, now: Millis) {
        self.out.push(ClientOutput::Disconnect);
        self.persist_sync_state();
        self.wait_and_retry(now, None);
    }

    fn check_in_sync(&mut self) {
        if !self.in_sync_reported && self.is_in_sync() {
            self.in_sync_reported = true;
            self.persist_sync_state();
            self.out.push(ClientOutput::Event(ClientEvent::InSync));
        }
    }

    /// Sends whatever automerge wants to send the relay now.
    fn sync_with_relay(&mut self) {
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
            self.send(msg);
        }
    }

    /// The persisted sync state for this relay, if it only claims changes the page has. A state
    /// that is ahead of the page (a save failed, then the process died) would make the relay
    /// skip changes this page lacks, so it is discarded and a full sync runs instead.
    fn restored_sync_state(&mut self) -> sync::State {
        let state = self
            .relay_storage
            .as_ref()
            .and_then(|s| self.saved_sync.get(s))
            .and_then(|b| sync::State::decode(b).ok())
            .unwrap_or_default();
        let doc = self.page.doc_mut();
        if state
            .shared_heads
            .iter()
            .all(|h| doc.get_change_by_hash(h).is_some())
        {
            state
        } else {
            sync::State::new()
        }
    }

    fn persist_sync_state(&mut self) {
        let Some(peer) = self.relay_storage.clone() else {
            return;
        };
        // Never persist a state that claims more than local storage holds.
        if !self.is_saved() {
            return;
        }
        let bytes = self.sync_state_to_persist();
        if self.saved_sync.get(&peer) == Some(&bytes) {
            return;
        }
        self.saved_sync.insert(peer.clone(), bytes.clone());
        self.storage(ClientStorageOp::PutSyncState {
            doc: self.doc_id,
            peer,
            bytes,
        });
    }

    /// Automerge advances `shared_heads` only when the peer's next sync message confirms them,
    /// and a relay that answers an upload with our `ack` alone sends none: the saved state would
    /// then make the next reconnect summarise the whole upload in a bloom filter (~10 bits per
    /// change). When the relay's last word was an ack of heads we also hold, those heads are
    /// shared by definition, and they cover every earlier shared head (the relay had those
    /// before it acked), so they are the frontier to save. Only `shared_heads` is persisted.
    fn sync_state_to_persist(&mut self) -> Vec<u8> {
        let acked = match &self.acked {
            Some(acked) if self.ack_is_latest && !acked.is_empty() => acked.clone(),
            _ => return self.sync.encode(),
        };
        let doc = self.page.doc_mut();
        if acked.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
            return self.sync.encode();
        }
        let mut state = sync::State::new();
        state.shared_heads = sorted(acked);
        state.encode()
    }

    fn send(&mut self, message: Message) {
        for frame in frames_for(
            message,
            self.config.max_frame_bytes,
            &mut self.next_fragment_id,
        ) {
            self.out.push(ClientOutput::Send(frame));
        }
    }

    // ---- local durability ---------------------------------------------------------------

    /// Saves everything since the last successful save. Only one save runs at a time; a save
    /// that fails leaves `saved_heads` where it was, so the next one covers the same changes.
    fn save(&mut self, _now: Millis) {
        if self.save_in_flight.is_some() {
            return;
        }
        let heads = self.page.doc_mut().get_heads();
        if sorted(heads.clone()) == sorted(self.saved_heads.clone()) {
            return;
        }
        let snapshot = self.saves_since_snapshot >= self.config.compact_after_saves;
        let op = if snapshot {
            ClientStorageOp::ReplaceWithSnapshot {
                doc: self.doc_id,
                bytes: self.page.doc_mut().save(),
            }
        } else {
            let bytes = self.page.doc_mut().save_after(&self.saved_heads);
            ClientStorageOp::AppendChanges {
                doc: self.doc_id,
                bytes,
            }
        };
        let task = self.storage(op);
        self.save_in_flight = Some((task, heads, snapshot));
    }

    fn on_storage_done(&mut self, now: Millis, task: TaskId, outcome: Result<(), String>) {
        let Some((t, heads, snapshot)) = self.save_in_flight.clone() else {
            return;
        };
        if t != task {
            return; // a sync-state write; losing one only costs a slower next reconnect
        }
        self.save_in_flight = None;
        match outcome {
            Ok(()) => {
                self.saved_heads = heads;
                self.saves_since_snapshot = if snapshot {
                    0
                } else {
                    self.saves_since_snapshot + 1
                };
                self.save(now);
                self.check_in_sync();
            }
            Err(error) => {
                self.out
                    .push(ClientOutput::Event(ClientEvent::SaveFailed { error }));
                self.save_retry_at = Some(now + self.config.save_retry_ms);
            }
        }
    }

    fn storage(&mut self, op: ClientStorageOp) -> TaskId {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        self.out.push(ClientOutput::Storage { task, op });
        task
    }

    fn schedule_timer(&mut self) {
        let reconnect = match self.conn {
            Conn::Waiting { retry_at } => retry_at,
            _ => None,
        };
        let next = [reconnect, self.save_retry_at, self.stall_deadline()]
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
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

fn parse_heads(hex: &[String]) -> Vec<ChangeHash> {
    hex.iter().filter_map(|h| h.parse().ok()).collect()
}
