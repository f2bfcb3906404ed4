//! The per-document task: carries a `DocSync`'s outputs to SQLite, the socket and the clock,
//! and feeds what happens back in. All access to the session goes through this one task, so
//! outputs are carried out in exactly the order the core produced them.
//!
//! SQLite work (a commit with fsync can take tens of milliseconds) runs on tokio's blocking
//! pool, never on an executor thread; the task awaits it before carrying out the next output,
//! which keeps both the order and the rule that an edit is durable before its call returns.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sync_core::client::{
    ClientEvent, ClientInput, ClientOutput, ClientStorageOp, DocSync, Stopped,
};
use sync_core::io::Millis;
use sync_core::model::{EditError, Page};
use sync_core::protocol::DocumentId;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::clock::now_ms;
use crate::document::{DocEvent, DocStatus, SyncTarget};
use crate::error::{Error, Result};
use crate::relay_url::doc_socket_url;
use crate::store::Store;
use crate::tls;
use crate::traffic::TrafficCounters;
use crate::transport::{self, ConnectError, Endpoint, Socket};
use crate::transport_options::check_url;

/// A future that borrows the driver while it runs.
pub(crate) type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Work for the task, sent by [`Document`](crate::Document) handles. It may await (storage), and
/// the task runs nothing else meanwhile.
pub(crate) type Command = Box<dyn for<'a> FnOnce(&'a mut Driver) -> DriverFuture<'a, ()> + Send>;

type Connecting = Pin<Box<dyn Future<Output = Result<Socket, ConnectError>> + Send>>;

/// One document's shell state.
pub(crate) struct Driver {
    sync: DocSync,
    store: Arc<Mutex<Store>>,
    endpoint: Option<Endpoint>,
    socket: Option<Socket>,
    connecting: Option<Connecting>,
    timer: Option<Instant>,
    /// Frames to write, in order; flushed by the run loop.
    outbox: VecDeque<Vec<u8>>,
    events: broadcast::Sender<DocEvent>,
    status: watch::Sender<DocStatus>,
    traffic: Arc<TrafficCounters>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("doc", &self.sync.doc_id())
            .finish()
    }
}

impl Driver {
    pub(crate) fn new(sync: DocSync, store: Arc<Mutex<Store>>) -> Self {
        Self {
            sync,
            store,
            endpoint: None,
            socket: None,
            connecting: None,
            timer: None,
            outbox: VecDeque::new(),
            events: broadcast::channel(256).0,
            status: watch::channel(DocStatus::default()).0,
            traffic: TrafficCounters::shared(),
        }
    }

    pub(crate) fn doc_id(&self) -> DocumentId {
        self.sync.doc_id()
    }

    pub(crate) fn events(&self) -> broadcast::Sender<DocEvent> {
        self.events.clone()
    }

    pub(crate) fn status(&self) -> watch::Receiver<DocStatus> {
        self.status.subscribe()
    }

    pub(crate) fn traffic(&self) -> Arc<TrafficCounters> {
        self.traffic.clone()
    }

    pub(crate) fn with_page<T>(&mut self, f: impl FnOnce(&mut Page) -> T) -> T {
        f(self.sync.page_mut_for_read())
    }

    /// Edits and saves. Returns an error if the save failed: the edit then lives in memory
    /// only, and the core retries the save.
    pub(crate) async fn edit<T>(
        &mut self,
        f: impl FnOnce(&mut Page) -> Result<T, EditError>,
    ) -> Result<T> {
        let (value, outputs) = self.sync.edit(now_ms(), f)?;
        let saved = self.carry_out(outputs).await;
        let _ = self.events.send(DocEvent::LocalChange);
        self.refresh_status();
        match saved {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }

    pub(crate) async fn go_online(&mut self, target: SyncTarget) -> Result<()> {
        let url = doc_socket_url(&target.relay, self.doc_id())?;
        check_url(&url, &target.transport)?;
        // Built once per target, so a bad CA file fails here, not as endless reconnects.
        let tls = tls::client_config(target.transport.ca_file.as_deref())?;
        self.endpoint = Some(Endpoint {
            url,
            token: target.token,
            tls,
        });
        if matches!(self.sync.stopped(), Some(Stopped::NeedsToken(_))) {
            self.input(ClientInput::TokenRefreshed).await;
        } else {
            self.input(ClientInput::GoOnline).await;
        }
        Ok(())
    }

    pub(crate) async fn go_offline(&mut self) {
        self.input(ClientInput::GoOffline).await;
    }

    async fn input(&mut self, input: ClientInput) {
        let outputs = self.sync.handle(now_ms(), input);
        self.carry_out(outputs).await;
        self.refresh_status();
    }

    /// Carries out outputs in order. Storage runs now (on the blocking pool, awaited), and its
    /// outcome goes straight back in, so a save is on disk before the caller of `edit` hears
    /// back. Returns the first storage error, if any.
    async fn carry_out(&mut self, outputs: Vec<ClientOutput>) -> Option<Error> {
        let mut queue: VecDeque<ClientOutput> = outputs.into();
        let mut first_error = None;
        while let Some(output) = queue.pop_front() {
            match output {
                ClientOutput::Connect => self.start_connect(),
                ClientOutput::Disconnect => {
                    // Dropping the socket closes it; the core already knows, so no
                    // `TransportClosed` is reported for it.
                    self.socket = None;
                    self.connecting = None;
                    self.outbox.clear();
                }
                ClientOutput::Send(frame) => self.outbox.push_back(frame),
                ClientOutput::SetTimer { at_ms } => self.timer = Some(instant_at(at_ms)),
                ClientOutput::Storage { task, op } => {
                    let outcome = self.run_storage(op).await;
                    if let Err(e) = &outcome
                        && first_error.is_none()
                    {
                        first_error = Some(Error::SaveFailed(e.clone()));
                    }
                    let more = self
                        .sync
                        .handle(now_ms(), ClientInput::StorageDone { task, outcome });
                    // The reaction follows whatever the core emitted before it, in order.
                    queue.extend(more);
                }
                ClientOutput::Event(event) => self.on_event(event),
            }
        }
        first_error
    }

    /// One storage task on the blocking pool. The store's lock is taken there too, so a
    /// `Client` call holding it never parks an executor thread either.
    fn run_storage(&self, op: ClientStorageOp) -> impl Future<Output = Result<(), String>> + use<> {
        let store = self.store.clone();
        // Not an `async fn`: the future must not borrow the driver (it is not `Sync`).
        async move {
            let job = tokio::task::spawn_blocking(move || {
                let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
                store.apply(&op).map_err(|e| e.to_string())
            });
            job.await
                .unwrap_or_else(|e| Err(format!("the storage thread failed: {e}")))
        }
    }

    fn start_connect(&mut self) {
        let Some(endpoint) = self.endpoint.clone() else {
            // Asked to connect with nowhere to go: report it closed; the core backs off.
            self.connecting = Some(Box::pin(async {
                Err(ConnectError::Unreachable("no relay configured".to_owned()))
            }));
            return;
        };
        self.socket = None;
        self.outbox.clear();
        self.connecting = Some(Box::pin(async move { transport::connect(&endpoint).await }));
    }

    fn on_event(&mut self, event: ClientEvent) {
        let doc_event = match event {
            ClientEvent::Connected => {
                self.status.send_modify(|s| {
                    s.connected = true;
                    s.unavailable = false;
                });
                DocEvent::Connected
            }
            ClientEvent::Disconnected { .. } => {
                self.status.send_modify(|s| s.connected = false);
                let reason = self
                    .status
                    .borrow()
                    .last_problem
                    .clone()
                    .unwrap_or_default();
                DocEvent::Disconnected { reason }
            }
            ClientEvent::RemoteChange => DocEvent::RemoteChange,
            ClientEvent::InSync => DocEvent::InSync,
            ClientEvent::Unavailable => {
                self.status.send_modify(|s| s.unavailable = true);
                DocEvent::Unavailable
            }
            ClientEvent::Refused {
                code,
                message,
                retry_at_ms,
            } => {
                self.status.send_modify(|s| {
                    s.last_problem = Some(if message.is_empty() {
                        format!("relay refused: {code}")
                    } else {
                        format!("relay refused: {code}: {message}")
                    });
                });
                DocEvent::Refused {
                    code,
                    retrying: retry_at_ms.is_some(),
                }
            }
            ClientEvent::SaveFailed { error } => DocEvent::SaveFailed { error },
        };
        let _ = self.events.send(doc_event);
    }

    fn refresh_status(&mut self) {
        let in_sync = self.sync.is_in_sync();
        let stopped = self.sync.stopped().cloned();
        self.status.send_if_modified(|s| {
            let changed = s.in_sync != in_sync || s.stopped != stopped;
            s.in_sync = in_sync;
            s.stopped = stopped;
            if stopped_offline(&s.stopped) {
                s.connected = false;
            }
            changed
        });
    }

    fn set_problem(&mut self, problem: String) {
        self.status.send_modify(|s| s.last_problem = Some(problem));
    }

    /// The task: commands, the socket, the connect attempt and the timer, until every
    /// [`Document`](crate::Document) handle is gone.
    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            if let Err(problem) = self.flush().await {
                self.set_problem(problem);
                self.socket = None;
                self.input(ClientInput::TransportClosed { code: None })
                    .await;
                continue;
            }
            let timer = self.timer;
            tokio::select! {
                // Commands first: a Disconnect the core asked for must win over a late frame.
                biased;
                command = commands.recv() => match command {
                    Some(command) => command(&mut self).await,
                    None => break,
                },
                opened = async { self.connecting.as_mut().expect("guarded").await },
                    if self.connecting.is_some() =>
                {
                    self.connecting = None;
                    match opened {
                        Ok(socket) => {
                            self.socket = Some(socket);
                            self.input(ClientInput::TransportOpened).await;
                        }
                        Err(ConnectError::Refused(refusal)) => {
                            self.input(ClientInput::ConnectRefused(refusal)).await;
                        }
                        Err(ConnectError::Unreachable(problem)) => {
                            self.set_problem(format!("relay unreachable: {problem}"));
                            self.input(ClientInput::TransportClosed { code: None }).await;
                        }
                    }
                }
                frame = async { self.socket.as_mut().expect("guarded").next().await },
                    if self.socket.is_some() =>
                {
                    self.on_socket(frame).await;
                }
                () = async { tokio::time::sleep_until(timer.expect("guarded")).await },
                    if timer.is_some() =>
                {
                    self.timer = None;
                    self.input(ClientInput::Timer).await;
                }
            }
        }
        // Closing politely lets the relay drop our peer at once.
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
        }
    }

    async fn flush(&mut self) -> Result<(), String> {
        let Some(socket) = self.socket.as_mut() else {
            self.outbox.clear();
            return Ok(());
        };
        if self.outbox.is_empty() {
            return Ok(());
        }
        while let Some(frame) = self.outbox.pop_front() {
            self.traffic.sent(frame.len());
            socket
                .feed(WsMessage::Binary(frame.into()))
                .await
                .map_err(|e| format!("send failed: {e}"))?;
        }
        socket
            .flush()
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    async fn on_socket(
        &mut self,
        frame: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) {
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => {
                self.traffic.received(bytes.len());
                self.input(ClientInput::Frame(bytes.to_vec())).await;
            }
            Some(Ok(WsMessage::Close(close))) => {
                let code = close.as_ref().map(|c| u16::from(c.code));
                if let Some(c) = &close
                    && !c.reason.is_empty()
                {
                    self.set_problem(format!("relay closed the connection: {}", c.reason));
                }
                self.socket = None;
                self.input(ClientInput::TransportClosed { code }).await;
            }
            Some(Ok(_)) => {} // pings are answered by tungstenite; text is not our protocol
            Some(Err(e)) => {
                self.set_problem(format!("connection lost: {e}"));
                self.socket = None;
                self.input(ClientInput::TransportClosed { code: None })
                    .await;
            }
            None => {
                self.set_problem("connection closed by the relay".to_owned());
                self.socket = None;
                self.input(ClientInput::TransportClosed { code: None })
                    .await;
            }
        }
    }
}

fn stopped_offline(s: &Option<Stopped>) -> bool {
    s.is_some()
}

/// The tokio instant for a wall-clock time the core chose.
fn instant_at(at_ms: Millis) -> Instant {
    let now = now_ms();
    Instant::now() + Duration::from_millis(at_ms.saturating_sub(now))
}
