//! The per-document task: carries a `DocSync`'s outputs to SQLite, the socket, the clock and
//! the application's token provider, and feeds what happens back in. All access to the
//! session goes through this one task, so outputs are carried out in exactly the order the
//! core produced them. It decides nothing: status, deadlines, retries and token refreshes are
//! the core's.
//!
//! SQLite work (a commit with fsync can take tens of milliseconds) runs on tokio's blocking
//! pool, never on an executor thread; the task awaits it before carrying out the next output,
//! which keeps both the order and the rule that an edit is durable before its call returns.
//! Frames the core emitted before a storage op are written to the socket while it runs.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sync_core::client::{
    ClientEvent, ClientInput, ClientOutput, ClientStatus, ClientStorageOp, DocSync, StorageReply,
};
use sync_core::io::Millis;
use sync_core::model::{Applied, PageEdit};
use sync_core::protocol::{DocumentId, ErrorCode};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::clock::now_ms;
use crate::document::{DocEvent, SyncTarget, TokenProvider};
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
type AskingToken = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// One document's shell state.
pub(crate) struct Driver {
    sync: DocSync,
    store: Arc<Mutex<Store>>,
    /// The relay's address and TLS settings; the token travels in the core's `Connect`.
    endpoint: Option<Endpoint>,
    token_provider: Option<TokenProvider>,
    socket: Option<Socket>,
    connecting: Option<Connecting>,
    asking_token: Option<AskingToken>,
    timer: Option<Instant>,
    /// Frames to write, in order; flushed by the run loop, and while a storage op runs.
    outbox: VecDeque<Vec<u8>>,
    /// A write to the socket that failed inside a command; the run loop reports it closed.
    send_failed: Option<String>,
    events: broadcast::Sender<DocEvent>,
    status: watch::Sender<ClientStatus>,
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
    pub(crate) fn new(mut sync: DocSync, store: Arc<Mutex<Store>>) -> Self {
        let status = sync.status();
        Self {
            sync,
            store,
            endpoint: None,
            token_provider: None,
            socket: None,
            connecting: None,
            asking_token: None,
            timer: None,
            outbox: VecDeque::new(),
            send_failed: None,
            events: broadcast::channel(256).0,
            status: watch::channel(status).0,
            traffic: TrafficCounters::shared(),
        }
    }

    pub(crate) fn doc_id(&self) -> DocumentId {
        self.sync.doc_id()
    }

    pub(crate) fn events(&self) -> broadcast::Sender<DocEvent> {
        self.events.clone()
    }

    pub(crate) fn status(&self) -> watch::Receiver<ClientStatus> {
        self.status.subscribe()
    }

    pub(crate) fn traffic(&self) -> Arc<TrafficCounters> {
        self.traffic.clone()
    }

    pub(crate) fn sync_mut(&mut self) -> &mut DocSync {
        &mut self.sync
    }

    /// Carries out the session's first outputs (the load, or a new page's save). Returns the
    /// storage error, if any.
    pub(crate) async fn start(&mut self, outputs: Vec<ClientOutput>) -> Option<Error> {
        self.carry_out(outputs).await
    }

    /// Applies an edit and saves it. Returns an error if the save failed: the edit then lives
    /// in memory only, and the core retries the save.
    pub(crate) async fn apply(&mut self, edit: PageEdit) -> Result<Applied> {
        let (applied, outputs) = self.sync.apply(now_ms(), &edit)?;
        let saved = self.carry_out(outputs).await;
        let _ = self.events.send(DocEvent::LocalChange);
        match saved {
            Some(err) => Err(err),
            None => Ok(applied),
        }
    }

    /// Applies edits with one save; see [`DocSync::apply_batch`].
    pub(crate) async fn apply_batch(&mut self, edits: Vec<PageEdit>) -> Result<Vec<Applied>> {
        let (result, outputs) = self.sync.apply_batch(now_ms(), &edits);
        let saved = self.carry_out(outputs).await;
        let _ = self.events.send(DocEvent::LocalChange);
        let applied = result.map_err(|(index, e)| Error::BatchRefused {
            index,
            source: Box::new(e.into()),
        })?;
        match saved {
            Some(err) => Err(err),
            None => Ok(applied),
        }
    }

    pub(crate) async fn go_online(&mut self, target: SyncTarget) -> Result<()> {
        let url = doc_socket_url(&target.relay, self.doc_id())?;
        check_url(&url, &target.transport)?;
        // Built once per target, so a bad CA file fails here, not as endless reconnects.
        let tls = tls::client_config(target.transport.ca_file.as_deref())?;
        self.endpoint = Some(Endpoint { url, tls });
        self.token_provider = target.token_provider;
        if let Some(token) = target.token {
            self.input(ClientInput::Token(token)).await;
        }
        self.input(ClientInput::GoOnline).await;
        Ok(())
    }

    pub(crate) async fn set_token(&mut self, token: String) {
        self.input(ClientInput::Token(token)).await;
    }

    pub(crate) async fn go_offline(&mut self) {
        self.input(ClientInput::GoOffline).await;
    }

    async fn input(&mut self, input: ClientInput) {
        let outputs = self.sync.handle(now_ms(), input);
        self.carry_out(outputs).await;
    }

    /// Carries out outputs in order. Storage runs now (on the blocking pool, awaited, with the
    /// frames queued before it written meanwhile), and its outcome goes straight back in, so a
    /// save is on disk before the caller of `apply` hears back. Returns the first storage
    /// error, if any.
    async fn carry_out(&mut self, outputs: Vec<ClientOutput>) -> Option<Error> {
        let mut queue: VecDeque<ClientOutput> = outputs.into();
        let mut first_error = None;
        while let Some(output) = queue.pop_front() {
            match output {
                ClientOutput::Connect { token } => self.start_connect(token),
                ClientOutput::Disconnect => {
                    // Dropping the socket closes it; the core already knows, so no
                    // `TransportClosed` is reported for it.
                    self.socket = None;
                    self.connecting = None;
                    self.outbox.clear();
                    self.send_failed = None;
                }
                ClientOutput::Send(frame) => self.outbox.push_back(frame),
                ClientOutput::SetTimer { at_ms } => self.timer = Some(instant_at(at_ms)),
                ClientOutput::Storage { task, op } => {
                    // Frames the core put before the write go out while it runs: the core
                    // orders a local edit's sync message, and the answer to changes from the
                    // relay, ahead of their write so other devices need not wait for it.
                    let (outcome, sent) = tokio::join!(self.run_storage(op), self.flush());
                    if let Err(problem) = sent {
                        self.send_failed = Some(problem);
                    }
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
                ClientOutput::TokenNeeded { code } => self.ask_for_token(code),
                ClientOutput::Status(status) => {
                    self.status.send_replace(status);
                }
                ClientOutput::Event(event) => self.on_event(event),
            }
        }
        first_error
    }

    /// One storage task on the blocking pool. The store's lock is taken there too, so a
    /// `Client` call holding it never parks an executor thread either.
    fn run_storage(
        &self,
        op: ClientStorageOp,
    ) -> impl Future<Output = Result<StorageReply, String>> + use<> {
        let store = self.store.clone();
        // Not an `async fn`: the future must not borrow the driver (it is not `Sync`).
        async move {
            let job = tokio::task::spawn_blocking(move || {
                let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
                store.run(&op).map_err(|e| e.to_string())
            });
            job.await
                .unwrap_or_else(|e| Err(format!("the storage thread failed: {e}")))
        }
    }

    /// Calls the application's provider on the blocking pool (it may fetch a JWT over the
    /// network); its answer comes back through the run loop.
    fn ask_for_token(&mut self, code: ErrorCode) {
        let Some(provider) = self.token_provider.clone() else {
            // The application supplies tokens itself (`Document::set_token`); until then
            // the document stops with the refusal.
            self.asking_token = Some(Box::pin(async { None }));
            return;
        };
        self.asking_token = Some(Box::pin(async move {
            tokio::task::spawn_blocking(move || provider(code))
                .await
                .ok()
                .flatten()
        }));
    }

    fn start_connect(&mut self, token: Option<String>) {
        self.socket = None;
        self.outbox.clear();
        self.send_failed = None;
        let Some(endpoint) = self.endpoint.clone() else {
            // Asked to connect with nowhere to go: report it closed; the core backs off.
            self.connecting = Some(Box::pin(async {
                Err(ConnectError::Unreachable("no relay configured".to_owned()))
            }));
            return;
        };
        self.connecting = Some(Box::pin(async move {
            transport::connect(&endpoint, token.as_deref()).await
        }));
    }

    fn on_event(&mut self, event: ClientEvent) {
        let doc_event = match event {
            ClientEvent::Loaded => return,
            ClientEvent::Connected => DocEvent::Connected,
            ClientEvent::Disconnected { .. } => DocEvent::Disconnected,
            ClientEvent::RemoteChange => DocEvent::RemoteChange,
            ClientEvent::InSync => DocEvent::InSync,
            ClientEvent::Unavailable => DocEvent::Unavailable,
            ClientEvent::Refused {
                code, retry_at_ms, ..
            } => DocEvent::Refused {
                code,
                retrying: retry_at_ms.is_some(),
            },
            ClientEvent::SaveFailed { error } => DocEvent::SaveFailed { error },
        };
        let _ = self.events.send(doc_event);
    }

    async fn closed(&mut self, code: Option<u16>, reason: String) {
        self.socket = None;
        self.input(ClientInput::TransportClosed { code, reason })
            .await;
    }

    /// The task: commands, the socket, the connect attempt, the token provider and the
    /// timer, until every [`Document`](crate::Document) handle is gone.
    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            let sent = match self.send_failed.take() {
                Some(problem) => Err(problem),
                None => self.flush().await,
            };
            if let Err(problem) = sent {
                self.closed(None, problem).await;
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
                            self.closed(None, format!("relay unreachable: {problem}")).await;
                        }
                    }
                }
                token = async { self.asking_token.as_mut().expect("guarded").await },
                    if self.asking_token.is_some() =>
                {
                    self.asking_token = None;
                    let answer = token.map_or(ClientInput::TokenUnavailable, ClientInput::Token);
                    self.input(answer).await;
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

    /// Writes the outbox to the socket. A socket that failed stays failed: nothing more is
    /// written to it until the run loop has reported it closed.
    async fn flush(&mut self) -> Result<(), String> {
        let failed = self.send_failed.is_some();
        let Some(socket) = self.socket.as_mut().filter(|_| !failed) else {
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
                let reason = close
                    .as_ref()
                    .map(|c| c.reason.to_string())
                    .filter(|r| !r.is_empty())
                    .map_or_else(
                        || "connection closed by the relay".to_owned(),
                        |r| format!("relay closed the connection: {r}"),
                    );
                self.closed(code, reason).await;
            }
            Some(Ok(_)) => {} // pings are answered by tungstenite; text is not our protocol
            Some(Err(e)) => self.closed(None, format!("connection lost: {e}")).await,
            None => {
                self.closed(None, "connection closed by the relay".to_owned())
                    .await;
            }
        }
    }
}

/// The tokio instant for a wall-clock time the core chose.
fn instant_at(at_ms: Millis) -> Instant {
    let now = now_ms();
    Instant::now() + Duration::from_millis(at_ms.saturating_sub(now))
}
