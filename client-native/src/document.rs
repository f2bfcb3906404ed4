//! `Document`: the handle an application holds for one open document.

use std::sync::Arc;
use std::time::Duration;

use sync_core::client::Stopped;
use sync_core::model::{BlockId, BlockKind, EditError, MarkName, MarkSpec, Page, PageView, Target};
use sync_core::protocol::{DocumentId, ErrorCode};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::clock;
use crate::driver::{Command, Driver, DriverFuture};
use crate::error::{Error, Result};
use crate::subscription::{EventCallback, StatusCallback, Subscription};
use crate::traffic::{Traffic, TrafficCounters};
use crate::transport_options::TransportOptions;

/// Where to sync a document.
#[derive(Debug, Clone)]
pub struct SyncTarget {
    /// The relay base URL, such as `https://relay.example.com` (or `http://127.0.0.1:8787`
    /// on this machine).
    pub relay: String,
    /// The bearer token.
    pub token: String,
    /// TLS trust and the plain-text policy.
    pub transport: TransportOptions,
}

impl SyncTarget {
    /// A target with the default transport options (web roots, no plain text off loopback).
    pub fn new(relay: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            relay: relay.into(),
            token: token.into(),
            transport: TransportOptions::default(),
        }
    }
}

/// A change notification, from [`Document::changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocEvent {
    /// A local edit was saved.
    LocalChange,
    /// Changes from another device arrived.
    RemoteChange,
    /// The handshake with the relay completed.
    Connected,
    /// The connection dropped or could not be opened; the core retries with back-off.
    Disconnected {
        /// Why, as far as the transport knows.
        reason: String,
    },
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

/// The sync state of a document, as a snapshot. Watch it with [`Document::status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocStatus {
    /// Connected and past the handshake.
    pub connected: bool,
    /// The relay holds every local change and this device every relay change.
    pub in_sync: bool,
    /// Why syncing stopped, if it did (`None` while syncing or never started).
    pub stopped: Option<Stopped>,
    /// The relay said it lacks the document.
    pub unavailable: bool,
    /// The last transport or relay problem, for messages to people.
    pub last_problem: Option<String>,
}

/// An open document. Cheap to clone; every clone talks to the same task.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocumentId,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<DocEvent>,
    status: watch::Receiver<DocStatus>,
    traffic: Arc<TrafficCounters>,
    /// The runtime the task runs on; subscription threads wait on its channels.
    runtime: Handle,
}

impl Document {
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
    pub fn status(&self) -> watch::Receiver<DocStatus> {
        self.status.clone()
    }

    /// The sync status now, without tokio types.
    pub fn current_status(&self) -> DocStatus {
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
    async fn call_async<T, F>(&self, f: F) -> Result<T>
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

    /// Runs `f` on the document's task (no IO inside).
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver) -> T + Send + 'static,
    ) -> Result<T> {
        self.call_async(move |d| Box::pin(async move { f(d) }))
            .await
    }

    /// Runs an edit; returns once it is durable in the local database.
    pub async fn edit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Page) -> Result<T, EditError> + Send + 'static,
    ) -> Result<T> {
        self.call_async(move |d| Box::pin(d.edit(f))).await?
    }

    /// The page as plain data.
    pub async fn view(&self) -> Result<PageView> {
        let url = self.url();
        self.call(move |d| d.with_page(|p| p.view(&url))).await
    }

    /// The stable JSON rendering (`tessera show --json`).
    pub async fn to_json(&self) -> Result<String> {
        let url = self.url();
        self.call(move |d| d.with_page(|p| p.to_json(&url))).await
    }

    /// Adds a block; returns its id.
    pub async fn add_block(
        &self,
        kind: BlockKind,
        text: String,
        target: Target,
    ) -> Result<BlockId> {
        let bits: u64 = clock::random();
        self.edit(move |p| p.add_block(bits, &kind, &text, &target))
            .await
    }

    /// Inserts text at `pos` (Unicode scalar values).
    pub async fn insert_text(&self, block: BlockId, pos: usize, text: String) -> Result<()> {
        self.edit(move |p| p.insert_text(&block, pos, &text)).await
    }

    /// Deletes `len` characters at `pos`.
    pub async fn delete_text(&self, block: BlockId, pos: usize, len: usize) -> Result<()> {
        self.edit(move |p| p.delete_text(&block, pos, len)).await
    }

    /// Replaces a block's text.
    pub async fn set_text(&self, block: BlockId, text: String) -> Result<()> {
        self.edit(move |p| p.set_text(&block, &text)).await
    }

    /// Formats `start..end`.
    pub async fn mark(
        &self,
        block: BlockId,
        start: usize,
        end: usize,
        spec: MarkSpec,
    ) -> Result<()> {
        self.edit(move |p| p.mark(&block, start, end, &spec)).await
    }

    /// Removes formatting from `start..end`.
    pub async fn unmark(
        &self,
        block: BlockId,
        start: usize,
        end: usize,
        name: MarkName,
    ) -> Result<()> {
        self.edit(move |p| p.unmark(&block, start, end, name)).await
    }

    /// Moves a block.
    pub async fn move_block(&self, block: BlockId, target: Target) -> Result<()> {
        self.edit(move |p| p.move_block(&block, &target)).await
    }

    /// Deletes a block and its subtree.
    pub async fn delete_block(&self, block: BlockId) -> Result<()> {
        self.edit(move |p| p.delete_block(&block)).await
    }

    /// Starts syncing with a relay (reconnecting with back-off until [`go_offline`](Self::go_offline)).
    pub async fn go_online(&self, target: SyncTarget) -> Result<()> {
        self.call_async(move |d| Box::pin(d.go_online(target)))
            .await?
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
                if let Some(err) = status_error(self.id, &s) {
                    return Err(err);
                }
                if s.in_sync {
                    return Ok(());
                }
                if status.changed().await.is_err() {
                    return Err(Error::SessionGone);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => {
                let s = self.status.borrow().clone();
                let reason = s.last_problem.unwrap_or_else(|| {
                    if s.connected {
                        "connected, still exchanging changes".to_owned()
                    } else {
                        "never connected to the relay".to_owned()
                    }
                });
                Err(Error::Timeout {
                    secs: timeout.as_secs(),
                    reason,
                })
            }
        }
    }
}

/// A status that means waiting longer cannot help.
fn status_error(id: DocumentId, s: &DocStatus) -> Option<Error> {
    match &s.stopped {
        Some(Stopped::NeedsToken(code)) => return Some(Error::NeedsToken { code: *code }),
        Some(Stopped::Refused(code)) => {
            // `last_problem` reads "relay refused: CODE: message"; the error names the code.
            let problem = s.last_problem.as_deref().unwrap_or_default();
            let message = problem
                .strip_prefix(&format!("relay refused: {code}"))
                .map_or(problem, |rest| rest.trim_start_matches(": "));
            return Some(Error::Refused {
                code: *code,
                message: message.to_owned(),
            });
        }
        _ => {}
    }
    s.unavailable.then(|| Error::Unavailable(id.to_url()))
}
