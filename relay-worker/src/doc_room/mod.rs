//! `DocRoom`: one Durable Object per tenant and document, carrying a [`RelayRoom`]'s outputs
//! to hibernatable WebSockets, the object's SQLite storage (the change log and the room's
//! ledger), R2 (snapshots), the alarm (the room's timer) and the tenant's `TenantQuota`.
//!
//! Every output is carried out and every failure goes back to the room as an input, so one
//! failed step never stops the queue behind it: the room decides what to retry and whom to
//! close. No `RefCell` borrow is held across an `.await`: every borrow is a short synchronous
//! block.

mod identity;
mod quota_client;
mod sockets;
mod storage;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use sync_core::io::ConnId;
use sync_core::relay::{
    MetricsPoint, RelayRoom, RoomConfig, RoomEvent, RoomInput, RoomOutput, StorageOp,
};
use worker::{
    AnalyticsEngineDataPointBuilder, Env, Headers, Request, Response, ScheduledTime, State,
    WebSocket, WebSocketIncomingMessage, durable_object,
};

use self::identity::Identity;
use self::sockets::Attachment;
use crate::dev_faults::{Fault, FaultPlan};
use crate::error::{Error, Result};
use crate::http;
use crate::room_log::{RoomLabels, data_point, event_line, metrics_line};

#[derive(Default)]
struct Inner {
    room: Option<RelayRoom>,
    sockets: HashMap<u64, WebSocket>,
    next_conn: u64,
    /// Which document of which tenant this object serves, and the tenant's plan.
    identity: Option<Identity>,
    /// Faults still to inject (development only; empty otherwise).
    faults: FaultPlan,
}

// State and Env are JS handles without Debug.
#[allow(missing_debug_implementations)]
#[durable_object]
pub struct DocRoom {
    state: State,
    env: Env,
    inner: RefCell<Inner>,
    /// Whether `TESSERA_DEV_FAULTS` is set: fault injection and the `/__` routes.
    dev: bool,
    /// When this instance was created: the dev routes report it, so a test can tell that a
    /// fault did not crash the object (a crashed object is rebuilt and would hide it).
    born_ms: u64,
}

/// The var that makes every room ack peers that did not declare they read acks.
const ACK_UNDECLARED_VAR: &str = "TESSERA_ACK_UNDECLARED_PEERS";

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

impl worker::DurableObject for DocRoom {
    fn new(state: State, env: Env) -> Self {
        storage::create_tables(&state);
        let dev = crate::dev::enabled(&env);
        Self {
            state,
            env,
            inner: RefCell::new(Inner::default()),
            dev,
            born_ms: now_ms(),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match self.serve(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => http::refusal(&e),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        // A live room knows the socket by its tag; only a room rebuilt after hibernation
        // needs the attachment (which costs a deserialization per message under fan-out).
        let conn = match self.live_conn(&ws) {
            Some(conn) => conn,
            None => {
                let Some(att) = ws.deserialize_attachment::<Attachment>()? else {
                    ws.close(Some(1011), Some("connection state lost; reconnect"))?;
                    return Ok(());
                };
                if let Some(identity) = att.identity.clone() {
                    self.adopt_identity(identity).map_err(worker_error)?;
                }
                att.conn
            }
        };
        let bytes = match message {
            WebSocketIncomingMessage::Binary(b) => b,
            // Text is not part of the protocol: the room refuses it as a bad message.
            WebSocketIncomingMessage::String(s) => s.into_bytes(),
        };
        self.input(RoomInput::Frame {
            conn: ConnId(conn),
            bytes,
        })
        .await
        .map_err(worker_error)
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        self.socket_gone(&ws).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        self.socket_gone(&ws).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // A room that never stored anything has no identity and nothing to do on a timer.
        if self.known_identity().map_err(worker_error)?.is_some() {
            self.input(RoomInput::Timer).await.map_err(worker_error)?;
        }
        Response::ok("ok")
    }
}

/// Size of the wasm linear memory, in bytes (0 natively, where there is none).
fn wasm_memory_bytes() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) * 65_536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

fn worker_error(e: Error) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

impl DocRoom {
    async fn serve(&self, req: Request) -> Result<Response> {
        let path = req.url()?.path().to_owned();
        if self.dev && path.starts_with("/__") {
            return self.serve_dev(req, &path).await;
        }
        self.adopt_identity(Identity::from_request(&req)?)?;
        match path.as_str() {
            "/connect" => self.open_socket(&req).await,
            "/snapshot" => self.snapshot(&req).await,
            "/delete" => self.delete().await,
            _ => Err(Error::NotFound),
        }
    }

    /// Answers with the room once it is ready; `Err(response)` says why it cannot answer yet.
    async fn ready_room(&self) -> Result<std::result::Result<(), Response>> {
        self.ensure_room().await?;
        let inner = self.inner.borrow();
        let room = inner.room.as_ref().expect("ensure_room built it");
        if room.is_loading() {
            let headers = Headers::new();
            headers.set("retry-after", "1")?;
            let body =
                r#"{"code":"unavailable","message":"the document is loading; retry shortly"}"#;
            return Ok(Err(http::json(body.into(), 503)?.with_headers(headers)));
        }
        if room.is_damaged() {
            return Err(Error::Runtime("the stored document is damaged".into()));
        }
        if room.is_deleted() {
            return Err(Error::refused(
                sync_core::protocol::ErrorCode::DocDeleted,
                "this document was deleted",
            ));
        }
        if !room.exists() {
            return Err(Error::NotFound);
        }
        Ok(Ok(()))
    }

    async fn snapshot(&self, req: &Request) -> Result<Response> {
        if let Err(not_yet) = self.ready_room().await? {
            return Ok(not_yet);
        }
        let document = || {
            let mut inner = self.inner.borrow_mut();
            let room = inner.room.as_mut().expect("ready");
            (room.snapshot_etag(), room.document())
        };
        let (etag, bytes) = match document() {
            (etag, Ok(bytes)) => (etag, bytes),
            (_, Err(seqs)) => {
                // Rows the room keeps only in storage: read here and handed over, then used
                // before the next input can evict them.
                let rows = self.read_rows(&seqs)?;
                let outs = self.handle(RoomInput::RowsRead {
                    task: None,
                    outcome: Ok(rows),
                });
                let (etag, bytes) = document();
                self.drive(outs).await;
                let bytes = bytes.map_err(|missing| {
                    Error::Runtime(format!("log rows {missing:?} could not be read"))
                })?;
                (etag, bytes)
            }
        };
        let headers = Headers::new();
        headers.set("etag", &etag)?;
        headers.set("cache-control", "private, no-cache")?;
        if req.headers().get("if-none-match")?.as_deref() == Some(etag.as_str()) {
            return Ok(Response::empty()?.with_status(304).with_headers(headers));
        }
        headers.set("content-type", "application/octet-stream")?;
        Ok(Response::from_bytes(bytes)?.with_headers(headers))
    }

    async fn delete(&self) -> Result<Response> {
        match self.ready_room().await {
            Ok(Err(not_yet)) => return Ok(not_yet),
            // Deleting twice is done already.
            Err(Error::Refused { .. }) => {}
            Err(e) => return Err(e),
            Ok(Ok(())) => self.input(RoomInput::Delete).await?,
        }
        Ok(http::json(r#"{"deleted":true}"#.into(), 200)?)
    }

    /// Feeds one input to the room (rebuilding it first if the object just woke up).
    async fn input(&self, input: RoomInput) -> Result<()> {
        self.ensure_room().await?;
        let outs = self.handle(input);
        self.drive(outs).await;
        Ok(())
    }

    fn handle(&self, input: RoomInput) -> Vec<RoomOutput> {
        let mut inner = self.inner.borrow_mut();
        match inner.room.as_mut() {
            Some(room) => room.handle(now_ms(), input),
            None => Vec::new(),
        }
    }

    /// Builds the room after a cold start or hibernation: reattach live sockets, then load.
    /// A failed load stays with the room, which retries it on its timer.
    async fn ensure_room(&self) -> Result<()> {
        if self.inner.borrow().room.is_some() {
            return Ok(());
        }
        let identity = self
            .known_identity()?
            .ok_or_else(|| Error::Runtime("a room without a document id".into()))?;
        let doc = identity.doc_id()?;
        let outs = {
            let (mut room, outs) = RelayRoom::new(self.room_config(), doc);
            let mut outs: Vec<RoomOutput> = outs;
            outs.extend(self.reattach_sockets(&mut room));
            self.inner.borrow_mut().room = Some(room);
            outs
        };
        self.drive(outs).await;
        Ok(())
    }

    /// The room's config: the defaults, plus `TESSERA_ACK_UNDECLARED_PEERS=1` for a deployment
    /// that still serves Tessera clients built before they declared that they read acks
    /// (see [`RoomConfig::ack_undeclared_peers`]).
    fn room_config(&self) -> RoomConfig {
        let ack_all = self
            .env
            .var(ACK_UNDECLARED_VAR)
            .is_ok_and(|v| v.to_string() == "1");
        RoomConfig {
            ack_undeclared_peers: ack_all,
            ..RoomConfig::default()
        }
    }

    /// Carries out outputs in order; the inputs they produce (including every failure) go
    /// back to the room, and their outputs follow. Nothing is skipped.
    async fn drive(&self, outs: Vec<RoomOutput>) {
        let mut queue: VecDeque<RoomOutput> = outs.into();
        while let Some(out) = queue.pop_front() {
            if let Some(input) = self.carry(out).await {
                queue.extend(self.handle(input));
            }
        }
    }

    async fn carry(&self, out: RoomOutput) -> Option<RoomInput> {
        match out {
            RoomOutput::Send { conn, bytes } => self.send(conn, bytes),
            RoomOutput::Close { conn, code, reason } => {
                let ws = self.inner.borrow_mut().sockets.remove(&conn.0);
                if let Some(ws) = ws {
                    let _ = ws.close(Some(code), Some(reason));
                }
                Some(RoomInput::Disconnected { conn })
            }
            RoomOutput::Attach { conn, attachment } => self.attach(conn, attachment),
            RoomOutput::Storage { task, op } => Some(match op {
                StorageOp::Load => match self.load().await {
                    Ok(stored) => RoomInput::Loaded(stored),
                    Err(e) => RoomInput::StorageDone {
                        task,
                        outcome: Err(format!("load: {e}")),
                    },
                },
                StorageOp::ReadRows { seqs } => RoomInput::RowsRead {
                    task: Some(task),
                    outcome: self.read_rows(&seqs).map_err(|e| format!("read rows: {e}")),
                },
                op => {
                    let outcome = self.run(op).await.map_err(|e| e.to_string());
                    RoomInput::StorageDone { task, outcome }
                }
            }),
            RoomOutput::SetTimer { at_ms } => {
                let date = worker::Date::from(worker::DateInit::Millis(at_ms));
                match self
                    .state
                    .storage()
                    .set_alarm(ScheduledTime::new(date.into()))
                    .await
                {
                    Ok(()) => None,
                    Err(e) => Some(RoomInput::TimerFailed {
                        error: e.to_string(),
                    }),
                }
            }
            RoomOutput::ReserveQuota {
                bytes,
                new_document,
            } => Some(match self.reserve(bytes, new_document).await {
                Ok(answer) => RoomInput::Quota(answer),
                Err(e) => RoomInput::QuotaFailed {
                    error: e.to_string(),
                },
            }),
            RoomOutput::Event(event) => {
                self.on_event(event).await;
                None
            }
        }
    }

    async fn on_event(&self, event: RoomEvent) {
        let identity = self.known_identity().ok().flatten();
        let labels = identity.as_ref().map(|i| RoomLabels {
            tenant: &i.tenant,
            doc: &i.doc,
        });
        if let Some(labels) = labels {
            if let Some(line) = event_line(labels, &event) {
                worker::console_log!("{line}");
            }
            if let RoomEvent::Metrics(point) = &event {
                worker::console_log!("{}", metrics_line(labels, point));
                self.write_metrics(labels, point);
            }
        }
        if let RoomEvent::QuotaReleased { bytes, document } = event {
            self.release(bytes, document).await;
        }
    }

    /// Writes one point to the `METRICS` Analytics Engine dataset. Writes are fire and forget
    /// (the runtime buffers them); a deployment without the binding only loses the figures.
    fn write_metrics(&self, labels: RoomLabels<'_>, point: &MetricsPoint) {
        let Ok(dataset) = self.env.analytics_engine("METRICS") else {
            return;
        };
        let row = data_point(labels, point);
        let written = AnalyticsEngineDataPointBuilder::new()
            .indexes([row.index.as_str()])
            .blobs(row.blobs)
            .doubles(row.doubles)
            .write_to(&dataset);
        if let Err(e) = written {
            worker::console_warn!("metrics write failed: {e}");
        }
    }

    /// Whether this step is to fail (development only).
    fn fault(&self, fault: Fault) -> bool {
        self.dev && self.inner.borrow_mut().faults.take(fault)
    }

    fn injected(what: &str) -> Error {
        Error::Runtime(format!("injected fault: {what}"))
    }

    /// The development-only routes of the room: planting faults and reporting what it stores.
    async fn serve_dev(&self, mut req: Request, path: &str) -> Result<Response> {
        match path {
            "/__faults" => {
                let plan: FaultPlan = serde_json::from_str(&req.text().await?)
                    .map_err(|e| Error::Runtime(format!("fault plan: {e}")))?;
                self.inner.borrow_mut().faults.add(&plan);
                let body = serde_json::json!({ "instance": self.born_ms });
                Ok(http::json(body.to_string(), 200)?)
            }
            "/__stored" => {
                let mut report = self.stored_report().await?;
                report["faults"] = serde_json::json!(self.inner.borrow().faults);
                report["instance"] = serde_json::json!(self.born_ms);
                // The isolate's wasm linear memory: it only grows, so this is the peak since
                // the isolate started (the room and whatever else runs in it).
                report["wasm_memory_bytes"] = serde_json::json!(wasm_memory_bytes());
                report["changes"] = serde_json::json!(
                    self.inner
                        .borrow()
                        .room
                        .as_ref()
                        .map(RelayRoom::change_count)
                );
                Ok(http::json(report.to_string(), 200)?)
            }
            _ => Err(Error::NotFound),
        }
    }
}
