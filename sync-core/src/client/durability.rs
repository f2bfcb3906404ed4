//! Local durability: reading the document from the shell's store, saving every change before
//! it counts (incremental saves folded into a snapshot now and then), retrying failed writes
//! with the data kept dirty, and persisting the sync state with the relay.

use automerge::sync;

use super::doc_sync::{DocSync, Load, sorted};
use super::io::{ClientEvent, ClientOutput, ClientStorageOp, StorageReply, StoredDoc};
use crate::io::{Millis, TaskId};
use crate::model::Page;

impl DocSync {
    pub(super) fn on_storage_done(
        &mut self,
        now: Millis,
        task: TaskId,
        outcome: Result<StorageReply, String>,
    ) {
        if let Load::Loading { task: t, .. } = self.load
            && t == task
        {
            return match outcome {
                Ok(StorageReply::Loaded(stored)) => self.on_loaded(now, stored),
                Ok(other) => self.load_failed(
                    now,
                    format!("the store answered a load with {other:?}"),
                    false,
                ),
                Err(error) => self.load_failed(now, error, true),
            };
        }
        let Some((t, heads, snapshot)) = self.save_in_flight.clone() else {
            return;
        };
        if t != task {
            return; // a sync-state write; losing one only costs a slower next reconnect
        }
        self.save_in_flight = None;
        match outcome {
            Ok(_) => {
                self.saved_heads = heads;
                self.save_error = None;
                self.saves_since_snapshot = if snapshot {
                    0
                } else {
                    self.saves_since_snapshot + 1
                };
                self.save();
                self.check_in_sync();
            }
            Err(error) => {
                self.save_error = Some(error.clone());
                self.out
                    .push(ClientOutput::Event(ClientEvent::SaveFailed { error }));
                self.save_retry_at = Some(now + self.config.save_retry_ms);
            }
        }
    }

    /// The stored bytes become the page. Short-lived processes (one CLI edit each) never
    /// reach `compact_after_saves` saves in one session; counting the stored chunks lets the
    /// next save fold the chain into one snapshot instead.
    pub(super) fn on_loaded(&mut self, now: Millis, stored: StoredDoc) {
        let then_online = match self.load {
            Load::Loading { then_online, .. } | Load::Failed { then_online, .. } => then_online,
            Load::Ready => false,
        };
        let page = if stored.bytes.is_empty() {
            Page::empty(self.actor)
        } else {
            match Page::load(&stored.bytes, self.actor) {
                Ok(page) => page,
                Err(e) => {
                    return self.load_failed(
                        now,
                        format!("the stored document does not load: {e}"),
                        false,
                    );
                }
            }
        };
        self.page = page;
        self.saved_heads = self.page.doc_mut().get_heads();
        self.saves_since_snapshot = stored.chunks.saturating_sub(1);
        self.saved_sync = stored.sync_states;
        self.load = Load::Ready;
        self.out.push(ClientOutput::Event(ClientEvent::Loaded));
        if then_online {
            self.go_online(now);
        }
    }

    /// A store failure is retried; bytes that do not decode are not (retrying reads the same
    /// bytes), and nothing is written over them.
    fn load_failed(&mut self, now: Millis, message: String, retry: bool) {
        let then_online = match self.load {
            Load::Loading { then_online, .. } | Load::Failed { then_online, .. } => then_online,
            Load::Ready => false,
        };
        self.load = Load::Failed {
            message,
            retry_at: retry.then_some(now + self.config.save_retry_ms),
            then_online,
        };
    }

    pub(super) fn on_storage_timer(&mut self, now: Millis) {
        if let Load::Failed {
            retry_at: Some(at),
            then_online,
            ..
        } = self.load
            && at <= now
        {
            let task = self.storage(ClientStorageOp::Load { doc: self.doc_id });
            self.load = Load::Loading { task, then_online };
        }
        if self.save_retry_at.is_some_and(|t| t <= now) {
            self.save_retry_at = None;
            self.save();
        }
    }

    /// The next storage retry, if one is pending.
    pub(super) fn storage_deadline(&self) -> Option<Millis> {
        let load = match self.load {
            Load::Failed { retry_at, .. } => retry_at,
            _ => None,
        };
        [load, self.save_retry_at].into_iter().flatten().min()
    }

    /// Saves everything since the last successful save. Only one save runs at a time; a save
    /// that fails leaves `saved_heads` where it was, so the next one covers the same changes.
    pub(super) fn save(&mut self) {
        if self.save_in_flight.is_some() {
            return;
        }
        let heads = self.page.doc_mut().get_heads();
        if sorted(heads.clone()) == sorted(self.saved_heads.clone()) {
            return;
        }
        if self.saves_since_snapshot >= self.config.compact_after_saves {
            return self.save_snapshot_now();
        }
        let bytes = self.page.doc_mut().save_after(&self.saved_heads);
        let task = self.storage(ClientStorageOp::AppendChanges {
            doc: self.doc_id,
            bytes,
        });
        self.save_in_flight = Some((task, heads, false));
    }

    /// Replaces the stored chunks with one full save.
    pub(super) fn save_snapshot_now(&mut self) {
        let heads = self.page.doc_mut().get_heads();
        let bytes = self.page.doc_mut().save();
        let task = self.storage(ClientStorageOp::ReplaceWithSnapshot {
            doc: self.doc_id,
            bytes,
        });
        self.save_in_flight = Some((task, heads, true));
    }

    /// The persisted sync state for this relay, if it only claims changes the page has. A state
    /// that is ahead of the page (a save failed, then the process died) would make the relay
    /// skip changes this page lacks, so it is discarded and a full sync runs instead.
    pub(super) fn restored_sync_state(&mut self) -> sync::State {
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

    pub(super) fn persist_sync_state(&mut self) {
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
        // It only speeds up the next reconnect, so it goes after the step's events and
        // status: a shell that runs storage in order does not hold "in sync" back for it.
        let task = self.next_task_id();
        self.after_status.push(ClientOutput::Storage {
            task,
            op: ClientStorageOp::PutSyncState {
                doc: self.doc_id,
                peer,
                bytes,
            },
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
}
