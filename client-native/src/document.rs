//! `Document`: the handle an application holds for one open document.

use std::sync::Arc;
use std::time::Duration;

use sync_core::client::{ClientStatus, SyncStatus};
use sync_core::model::{
    Applied, BlockId, BlockKind, MarkName, MarkSpec, PageEdit, PageView, Target,
};
use sync_core::protocol::{DocumentId, ErrorCode};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::driver::{Command, Driver, DriverFuture};
use crate::error::{Error, Result};
use crate::subscription::{EventCallback, StatusCallback, Subscription};
use crate::traffic::{Traffic, TrafficCounters};
use crate::transport_options::TransportOptions;

/// The application's token provider: called (on a blocking-pool thread) when the relay
/// refused the token, with the refusal's code; returns a fresh token, or None to leave the
/// document waiting for [`Document::set_token`]. The core asks once per refusal streak.
pub type TokenProvider = Arc<dyn Fn(ErrorCode) -> Option<String> + Send + Sync>;

/// Where to sync a document.
#[derive(Clone)]
pub struct SyncTarget {
    /// The relay base URL, such as `https://relay.example.com` (or `http://127.0.0.1:8787`
    /// on this machine).
    pub relay: String,
    /// The bearer token to start with.
    pub token: Option<String>,
    /// Asked for a fresh token when the relay refuses the current one.
    pub token_provider: Option<TokenProvider>,
    /// TLS trust and the plain-text policy.
    pub transport: TransportOptions,
}

impl std::fmt::Debug for SyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncTarget")
            .field("relay", &self.relay)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_provider", &self.token_provider.is_some())
            .field("transport", &self.transport)
            .finish()
    }
}

impl SyncTarget {
    /// A target with a token and the default transport options (web roots, no plain text
    /// off loopback).
    pub fn new(relay: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            relay: relay.into(),
            token: Some(token.into()),
            token_provider: None,
            transport: TransportOptions::default(),
        }
    }

    /// The same target, asking `provider` for fresh tokens.
    #[must_use]
    pub fn with_token_provider(mut self, provider: TokenProvider) -> Self {
        self.token_provider = Some(provider);
        self
    }
}

/// A change notification, from [`Document::changes`]. The status is separate
/// ([`Document::status`]); these say what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocEvent {
    /// A local edit was applied (and saved, unless a `SaveFailed` follows).
    LocalChange,
    /// Changes from another device arrived.
    RemoteChange,
    /// The handshake with the relay completed.
    Connected,
    /// The connection dropped or could not be opened; the status says why and when the core
    /// retries.
    Disconnected,
    /// The relay and this device hold the same changes, durably.
    InSync,
    /// The relay refused the session.
    Refused {
        /// Why.
        code: ErrorCode,
        /// Whether a retry is scheduled (`rate_limited`, `quota_exceeded`).
        retrying: bool,
    },
    /// The relay does not have the document.
    Unavailable,
    /// A local save failed; it is retried.
    SaveFailed {
        /// The storage error.
        error: String,
    },
}

/// An open document. Cheap to clone; every clone talks to the same task.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocumentId,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<DocEvent>,
    status: watch::Receiver<ClientStatus>,
    traffic: Arc<TrafficCounters>,
    /// The runtime the task runs on; subscription threads wait on its channels.
    runtime: Handle,
}

impl Document {
    /// Spawns the document's task; the first command it runs is `first`.
    pub(crate) fn spawn(driver: Driver) -> Self {
        let id = driver.doc_id();
        let (commands, rx) = mpsc::unbounded_channel();
        let events = driver.events();
        let status = driver.status();
        let traffic = driver.traffic();
        tokio::spawn(driver.run(rx));
        Self {
            id,
            commands,
            events,
            status,
            traffic,
            runtime: Handle::current(),
        }
    }

    /// The document id.
    pub fn id(&self) -> DocumentId {
        self.id
    }

    /// The document URL, `automerge:<id>`.
    pub fn url(&self) -> String {
        self.id.to_url()
    }

    /// A stream of change notifications from now on.
    pub fn changes(&self) -> broadcast::Receiver<DocEvent> {
        self.events.subscribe()
    }

    /// The sync status, updated as it changes.
    pub fn status(&self) -> watch::Receiver<ClientStatus> {
        self.status.clone()
    }

    /// The sync status now, without tokio types.
    pub fn current_status(&self) -> ClientStatus {
        self.status.borrow().clone()
    }

    /// Calls `callback` with every change notification from now on, on a thread of the
    /// subscription's own (see [`Subscription`]), until the subscription is dropped or
    /// cancelled. The callback-based twin of [`changes`](Self::changes), for FFI hosts.
    pub fn subscribe(&self, callback: EventCallback) -> Subscription {
        Subscription::events(self.runtime.clone(), self.events.subscribe(), callback)
    }

    /// Calls `callback` with the current status at once and then with each change, like
    /// [`subscribe`](Self::subscribe).
    pub fn subscribe_status(&self, callback: StatusCallback) -> Subscription {
        Subscription::status(self.runtime.clone(), self.status.clone(), callback)
    }

    /// The frames and bytes this session has exchanged with relays since the document was
    /// opened (across reconnects).
    pub fn traffic(&self) -> Traffic {
        self.traffic.snapshot()
    }

    /// Runs `f` on the document's task, which may await inside it (storage) before it takes
    /// the next command. The command runs to its end even if this call's future is dropped.
    pub(crate) async fn call_async<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Driver) -> DriverFuture<'a, T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let command: Command = Box::new(move |d| {
            Box::pin(async move {
                let _ = tx.send(f(d).await);
            })
        });
        self.commands
            .send(command)
            .map_err(|_| Error::SessionGone)?;
        rx.await.map_err(|_| Error::SessionGone)
    }

    /// Applies an edit; returns once it is durable in the local database. The one edit
    /// surface: the methods below are shorthands for it.
    pub async fn apply(&self, edit: PageEdit) -> Result<Applied> {
        self.call_async(move |d| Box::pin(d.apply(edit))).await?
    }

    /// Applies edits in order with one save for all (bulk input). Stops at the first refused
    /// edit: those before it stay applied and are saved, and the error names its index.
    pub async fn apply_batch(&self, edits: Vec<PageEdit>) -> Result<Vec<Applied>> {
        self.call_async(move |d| Box::pin(d.apply_batch(edits)))
            .await?
    }

    /// The page as plain data.
    pub async fn view(&self) -> Result<PageView> {
        self.call_async(|d| Box::pin(async move { d.sync_mut().view() }))
            .await
    }

    /// The stable JSON rendering (`tessera show --json`).
    pub async fn to_json(&self) -> Result<String> {
        self.call_async(|d| Box::pin(async move { d.sync_mut().to_json() }))
            .await
    }

    /// Adds a block; returns its id.
    pub async fn add_block(
        &self,
        kind: BlockKind,
        text: String,
        target: Target,
    ) -> Result<BlockId> {
        let applied = self
            .apply(PageEdit::AddBlock { kind, text, target })
            .await?;
        Ok(applied
            .created
            .expect("adding a block always reports its id"))
    }

    /// Inserts text at `pos` (Unicode scalar values).
    pub async fn insert_text(&self, block: BlockId, pos: usize, text: String) -> Result<()> {
        self.apply(PageEdit::InsertText { block, pos, text })
            .await
            .map(drop)
    }

    /// Deletes `len` characters at `pos`.
    pub async fn delete_text(&self, block: BlockId, pos: usize, len: usize) -> Result<()> {
        self.apply(PageEdit::DeleteText { block, pos, len })
            .await
            .map(drop)
    }

    /// Replaces a block's text.
    pub async fn set_text(&self, block: BlockId, text: String) -> Result<()> {
        self.apply(PageEdit::SetText { block, text })
            .await
            .map(drop)
    }

    /// Formats `start..end`.
    pub async fn mark(
        &self,
        block: BlockId,
        start: usize,
        end: usize,
        mark: MarkSpec,
    ) -> Result<()> {
        self.apply(PageEdit::Mark {
            block,
            start,
            end,
            mark,
        })
        .await
        .map(drop)
    }

    /// Removes formatting from `start..end`.
    pub async fn unmark(
        &self,
        block: BlockId,
        start: usize,
        end: usize,
        name: MarkName,
    ) -> Result<()> {
        self.apply(PageEdit::Unmark {
            block,
            start,
            end,
            name,
        })
        .await
        .map(drop)
    }

    /// Changes a block's kind and settings (ticks a to-do, sets a heading level).
    pub async fn set_kind(&self, block: BlockId, kind: BlockKind) -> Result<()> {
        self.apply(PageEdit::SetKind { block, kind })
            .await
            .map(drop)
    }

    /// Moves a block.
    pub async fn move_block(&self, block: BlockId, target: Target) -> Result<()> {
        self.apply(PageEdit::Move { block, target }).await.map(drop)
    }

    /// Deletes a block and its subtree.
    pub async fn delete_block(&self, block: BlockId) -> Result<()> {
        self.apply(PageEdit::Delete { block }).await.map(drop)
    }

    /// Replaces the title.
    pub async fn set_title(&self, title: String) -> Result<()> {
        self.apply(PageEdit::SetTitle { title }).await.map(drop)
    }

    /// Starts syncing with a relay (reconnecting with back-off until [`go_offline`](Self::go_offline)).
    pub async fn go_online(&self, target: SyncTarget) -> Result<()> {
        self.call_async(move |d| Box::pin(d.go_online(target)))
            .await?
    }

    /// Supplies a token (after a refusal the provider could not fix, or to rotate it); a
    /// document waiting for one reconnects at once.
    pub async fn set_token(&self, token: String) -> Result<()> {
        self.call_async(move |d| Box::pin(d.set_token(token))).await
    }

    /// Stops syncing and closes the connection.
    pub async fn go_offline(&self) -> Result<()> {
        self.call_async(|d| Box::pin(d.go_offline())).await
    }

    /// Waits until the document is in sync, or fails with why it cannot be.
    pub async fn sync_until_in_sync(&self, timeout: Duration) -> Result<()> {
        let mut status = self.status.clone();
        let wait = async {
            loop {
                let s = status.borrow_and_update().clone();
                if let Some(err) = status_error(self.id, &s.sync) {
                    return Err(err);
                }
                if s.is_in_sync() {
                    return Ok(());
                }
                if status.changed().await.is_err() {
                    return Err(Error::SessionGone);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                secs: timeout.as_secs(),
                reason: waiting_reason(&self.status.borrow().sync),
            }),
        }
    }
}

/// A status that means waiting longer cannot help.
fn status_error(id: DocumentId, s: &SyncStatus) -> Option<Error> {
    match s {
        SyncStatus::TokenNeeded { code, .. } => Some(Error::NeedsToken { code: *code }),
        SyncStatus::Refused { code, message } => Some(Error::Refused {
            code: *code,
            message: message.clone(),
        }),
        SyncStatus::LoadFailed { message } => Some(Error::LoadFailed(message.clone())),
        SyncStatus::Unavailable => Some(Error::Unavailable(id.to_url())),
        _ => None,
    }
}

/// What a timed-out wait was still waiting for, for people.
fn waiting_reason(s: &SyncStatus) -> String {
    match s {
        SyncStatus::Connecting => "never connected to the relay".to_owned(),
        SyncStatus::Retrying { message, .. } if message.is_empty() => {
            "never connected to the relay".to_owned()
        }
        other => other.to_string(),
    }
}
