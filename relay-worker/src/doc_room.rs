//! `DocRoom`: one Durable Object per document, carrying a [`RelayRoom`]'s outputs to hibernatable
//! WebSockets, the object's SQLite storage (the change log), R2 (snapshots), the alarm (the
//! room's timer) and the tenant's `TenantQuota`.
//!
//! No `RefCell` borrow is held across an `.await`: every borrow is a short synchronous block.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use sync_core::io::ConnId;
use sync_core::protocol::{DocumentId, ErrorCode};
use sync_core::relay::{
    PeerAccess, QuotaRefusal, RelayRoom, RoomConfig, RoomEvent, RoomInput, RoomOutput, StorageOp,
    StoredRoom, StoredSnapshot,
};
use worker::{
    Env, Headers, Method, Request, RequestInit, Response, ScheduledTime, SqlStorageValue, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair, durable_object,
};

use crate::access::{ACCESS_HEADER, DOC_HEADER, PLAN_HEADER};
use crate::dev_faults::{Fault, FaultPlan};
use crate::error::{Error, Result};
use crate::http;

/// What a socket carries through hibernation.
#[derive(Debug, Serialize, Deserialize)]
struct Attachment {
    conn: u64,
    access: PeerAccess,
    /// The room's own attachment, once it gave one.
    room: Option<Vec<u8>>,
    /// Filler from the dev-only oversized-attachment fault; never set otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pad: Option<String>,
}

#[derive(Default)]
struct Inner {
    room: Option<RelayRoom>,
    sockets: HashMap<u64, WebSocket>,
    next_conn: u64,
    faults: FaultPlan,
}

// State and Env are JS handles without Debug.
#[allow(missing_debug_implementations)]
#[durable_object]
pub struct DocRoom {
    state: State,
    env: Env,
    inner: RefCell<Inner>,
    dev: bool,
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

impl worker::DurableObject for DocRoom {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        // Idempotent; a failure surfaces on the first real query.
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            None,
        );
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL)",
            None,
        );
        let dev = crate::dev::enabled(&env);
        Self {
            state,
            env,
            inner: RefCell::new(Inner::default()),
            dev,
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
        let Some(att) = ws.deserialize_attachment::<Attachment>()? else {
            ws.close(Some(1011), Some("connection state lost; reconnect"))?;
            return Ok(());
        };
        let bytes = match message {
            WebSocketIncomingMessage::Binary(b) => b,
            // Text is not part of the protocol: the room refuses it as a bad message.
            WebSocketIncomingMessage::String(s) => s.into_bytes(),
        };
        self.input(RoomInput::Frame {
            conn: ConnId(att.conn),
            bytes,
        })
        .await
        .map_err(|e| worker::Error::RustError(e.to_string()))
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
        self.input(RoomInput::Timer)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        Response::ok("ok")
    }
}

impl DocRoom {
    fn fault(&self, fault: Fault) -> bool {
        self.dev && self.inner.borrow_mut().faults.take(fault)
    }

    fn injected(what: &str) -> Error {
        Error::Runtime(format!("injected fault: {what}"))
    }

    async fn serve(&self, mut req: Request) -> Result<Response> {
        if self.dev {
            match req.url()?.path() {
                "/__faults" => {
                    let plan: FaultPlan = serde_json::from_str(&req.text().await?)
                        .map_err(|e| Error::Runtime(format!("fault plan: {e}")))?;
                    self.inner.borrow_mut().faults.add(&plan);
                    return Ok(http::json("{}".into(), 200)?);
                }
                "/__stored" => {
                    let rows = self
                        .state
                        .storage()
                        .sql()
                        .exec("SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM log", None)?;
                    let mut log = 0i64;
                    for row in rows.raw() {
                        if let Some(SqlStorageValue::Integer(n)) = row?.into_iter().next() {
                            log = n;
                        }
                    }
                    let snapshot = match (self.meta_u64("snap_generation")?, self.meta("doc_id")?) {
                        (Some(generation), Some(_)) => self
                            .env
                            .bucket("SNAPSHOTS")?
                            .head(self.snapshot_key(generation)?)
                            .await?
                            .map_or(0, |o| o.size()),
                        _ => 0,
                    };
                    let meta_rows = self
                        .state
                        .storage()
                        .sql()
                        .exec("SELECT key FROM meta", None)?
                        .raw()
                        .count();
                    let faults = self.inner.borrow().faults;
                    let body = serde_json::json!({
                        "log_bytes": log,
                        "snapshot_bytes": snapshot,
                        "meta_rows": meta_rows,
                        "exists": meta_rows > 0,
                        "faults": faults,
                    });
                    return Ok(http::json(body.to_string(), 200)?);
                }
                _ => {}
            }
        }
        if let Some(doc) = req.headers().get(DOC_HEADER)?
            && self.meta("doc_id")?.is_none()
        {
            self.set_meta("doc_id", &doc)?;
        }
        match req.url()?.path() {
            "/connect" => self.open_socket(&req).await,
            "/snapshot" => self.snapshot(&req).await,
            "/delete" => {
                self.input(RoomInput::Delete).await?;
                Ok(http::json(r#"{"deleted":true}"#.into(), 200)?)
            }
            _ => Err(Error::NotFound),
        }
    }

    async fn open_socket(&self, req: &Request) -> Result<Response> {
        let access: PeerAccess = req
            .headers()
            .get(ACCESS_HEADER)?
            .and_then(|a| serde_json::from_str(&a).ok())
            .ok_or_else(|| Error::Runtime("missing access header".into()))?;
        let plan = req
            .headers()
            .get(PLAN_HEADER)?
            .unwrap_or_else(|| "free".into());
        if self.meta("deleted")?.is_some() {
            return Err(Error::refused(
                ErrorCode::DocDeleted,
                "this document was deleted",
            ));
        }
        // A document belongs to the tenant that first opened it.
        match self.meta("tenant")? {
            Some(t) if t != access.tenant => {
                return Err(Error::refused(
                    ErrorCode::AuthFailed,
                    "the document belongs to another tenant",
                ));
            }
            Some(_) => {}
            None => self.set_meta("tenant", &access.tenant)?,
        }
        self.set_meta("plan", &plan)?;
        self.ensure_room().await?;
        let pair = WebSocketPair::new()?;
        let conn = {
            let mut inner = self.inner.borrow_mut();
            let conn = inner.next_conn;
            inner.next_conn += 1;
            inner.sockets.insert(conn, pair.server.clone());
            conn
        };
        self.state.accept_web_socket(&pair.server);
        pair.server.serialize_attachment(Attachment {
            conn,
            access: access.clone(),
            room: None,
            pad: None,
        })?;
        self.input(RoomInput::Connected {
            conn: ConnId(conn),
            access,
        })
        .await?;
        Ok(Response::from_websocket(pair.client)?)
    }

    async fn snapshot(&self, req: &Request) -> Result<Response> {
        self.ensure_room().await?;
        let answer = {
            let mut inner = self.inner.borrow_mut();
            match inner.room.as_mut() {
                Some(room) if room.is_deleted() => None,
                Some(room) => Some((room.snapshot_etag(), room.doc_mut().save())),
                None => return Err(Error::Runtime("room failed to load".into())),
            }
        };
        let Some((etag, bytes)) = answer else {
            return Err(Error::refused(
                ErrorCode::DocDeleted,
                "this document was deleted",
            ));
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

    async fn socket_gone(&self, ws: &WebSocket) -> worker::Result<()> {
        if let Some(att) = ws.deserialize_attachment::<Attachment>()? {
            self.inner.borrow_mut().sockets.remove(&att.conn);
            self.input(RoomInput::Disconnected {
                conn: ConnId(att.conn),
            })
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        }
        Ok(())
    }

    /// Feeds one input to the room (rebuilding it first if the object just woke up).
    async fn input(&self, input: RoomInput) -> Result<()> {
        self.ensure_room().await?;
        let outs = self.handle(input);
        self.drive(outs).await
    }

    fn handle(&self, input: RoomInput) -> Vec<RoomOutput> {
        let mut inner = self.inner.borrow_mut();
        match inner.room.as_mut() {
            Some(room) => room.handle(now_ms(), input),
            None => Vec::new(),
        }
    }

    /// Builds the room after a cold start or hibernation: reattach live sockets, then load.
    async fn ensure_room(&self) -> Result<()> {
        if self.inner.borrow().room.is_some() {
            return Ok(());
        }
        let doc_id: DocumentId = self
            .meta("doc_id")?
            .ok_or_else(|| Error::Runtime("room without a document id".into()))?
            .parse()
            .map_err(|e| Error::Runtime(format!("stored document id: {e}")))?;
        let now = now_ms();
        let outs = {
            let mut inner = self.inner.borrow_mut();
            let (mut room, mut outs) = RelayRoom::new(RoomConfig::default(), doc_id);
            for ws in self.state.get_websockets() {
                let Ok(Some(att)) = ws.deserialize_attachment::<Attachment>() else {
                    continue;
                };
                inner.next_conn = inner.next_conn.max(att.conn + 1);
                inner.sockets.insert(att.conn, ws);
                let conn = ConnId(att.conn);
                let input = match att.room {
                    Some(attachment) => RoomInput::Reattached { conn, attachment },
                    None => RoomInput::Connected {
                        conn,
                        access: att.access,
                    },
                };
                outs.extend(room.handle(now, input));
            }
            inner.room = Some(room);
            outs
        };
        self.drive(outs).await
    }

    /// Carries out outputs in order; outputs of the inputs they produce follow them.
    async fn drive(&self, outs: Vec<RoomOutput>) -> Result<()> {
        let mut queue: VecDeque<RoomOutput> = outs.into();
        while let Some(out) = queue.pop_front() {
            if let Some(input) = self.carry(out).await? {
                queue.extend(self.handle(input));
            }
        }
        Ok(())
    }

    fn socket(&self, conn: ConnId) -> Option<WebSocket> {
        self.inner.borrow().sockets.get(&conn.0).cloned()
    }

    async fn carry(&self, out: RoomOutput) -> Result<Option<RoomInput>> {
        match out {
            RoomOutput::Send { conn, bytes } => {
                if let Some(ws) = self.socket(conn) {
                    // A socket that is already gone reports its close separately.
                    let _ = ws.send_with_bytes(bytes);
                }
                Ok(None)
            }
            RoomOutput::Close { conn, code, reason } => {
                let ws = self.inner.borrow_mut().sockets.remove(&conn.0);
                if let Some(ws) = ws {
                    let _ = ws.close(Some(code), Some(reason));
                }
                Ok(Some(RoomInput::Disconnected { conn }))
            }
            RoomOutput::Attach { conn, attachment } => {
                if let Some(ws) = self.socket(conn)
                    && let Some(mut att) = ws.deserialize_attachment::<Attachment>()?
                {
                    att.room = Some(attachment);
                    if self.fault(Fault::OversizedAttachment) {
                        att.pad = Some("x".repeat(20 * 1024));
                    }
                    ws.serialize_attachment(att)?;
                }
                Ok(None)
            }
            RoomOutput::Storage { task, op } => {
                if op == StorageOp::Load {
                    return match self.load().await {
                        Ok(stored) => Ok(Some(RoomInput::Loaded(stored))),
                        Err(e) => {
                            // Nothing was loaded: forget the room so the next event retries.
                            let sockets: Vec<WebSocket> = {
                                let mut inner = self.inner.borrow_mut();
                                inner.room = None;
                                inner.sockets.drain().map(|(_, ws)| ws).collect()
                            };
                            for ws in sockets {
                                let _ = ws.close(Some(1011), Some("relay storage unavailable"));
                            }
                            Err(e)
                        }
                    };
                }
                let outcome = self.run(op).await.map_err(|e| e.to_string());
                Ok(Some(RoomInput::StorageDone { task, outcome }))
            }
            RoomOutput::SetTimer { at_ms } => {
                let date = worker::Date::from(worker::DateInit::Millis(at_ms));
                self.state
                    .storage()
                    .set_alarm(ScheduledTime::new(date.into()))
                    .await?;
                Ok(None)
            }
            RoomOutput::ReserveQuota {
                bytes,
                new_document,
            } => Ok(Some(RoomInput::Quota(
                self.reserve(bytes, new_document).await?,
            ))),
            RoomOutput::Event(event) => {
                match event {
                    RoomEvent::StorageFailed { error } => {
                        worker::console_warn!("storage failed: {error}");
                    }
                    RoomEvent::QuotaReleased { bytes, document } => {
                        let body = serde_json::json!({ "bytes": bytes, "document": document });
                        // A lost release leaves the tenant over-counted, never under.
                        if let Err(e) = self.quota_call("release", &body).await {
                            worker::console_warn!("quota release failed: {e}");
                        }
                    }
                    RoomEvent::Refused { conn, code } => {
                        worker::console_log!("refused {conn}: {}", code.as_str());
                    }
                    _ => {}
                }
                Ok(None)
            }
        }
    }

    async fn reserve(
        &self,
        bytes: u64,
        new_document: bool,
    ) -> Result<std::result::Result<u64, QuotaRefusal>> {
        let body = serde_json::json!({ "bytes": bytes, "new_document": new_document });
        let mut resp = self.quota_call("reserve", &body).await?;
        let answer: serde_json::Value = resp.json().await?;
        if let Some(granted) = answer["granted"].as_u64() {
            return Ok(Ok(granted));
        }
        let code = answer["code"]
            .as_str()
            .and_then(|c| c.parse::<ErrorCode>().ok())
            .ok_or_else(|| Error::Runtime(format!("quota answered {answer}")))?;
        Ok(Err(QuotaRefusal {
            code,
            retry_after_ms: answer["retry_after_ms"].as_u64(),
        }))
    }

    /// POSTs `body` to this document's tenant's `TenantQuota` at `/<path>`.
    async fn quota_call(&self, path: &str, body: &serde_json::Value) -> Result<Response> {
        if self.fault(Fault::QuotaCall) {
            return Err(Self::injected("quota call"));
        }
        let tenant = self.meta("tenant")?.unwrap_or_default();
        let plan = self.meta("plan")?.unwrap_or_else(|| "free".into());
        let stub = self
            .env
            .durable_object("TENANT_QUOTA")?
            .id_from_name(&tenant)?
            .get_stub()?;
        let headers = Headers::new();
        headers.set(PLAN_HEADER, &plan)?;
        headers.set("content-type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.to_string().into()));
        let req = Request::new_with_init(&format!("https://quota/{path}"), &init)?;
        Ok(stub.fetch_with_request(req).await?)
    }

    // ---- storage ----------------------------------------------------------------------------

    fn snapshot_key(&self, generation: u64) -> Result<String> {
        let doc = self.meta("doc_id")?.unwrap_or_default();
        Ok(crate::sweep::snapshot_key(&doc, generation))
    }

    async fn load(&self) -> Result<StoredRoom> {
        if self.fault(Fault::Load) {
            return Err(Self::injected("load"));
        }
        if self.meta("deleted")?.is_some() {
            return Ok(StoredRoom {
                deleted: true,
                ..StoredRoom::default()
            });
        }
        let snapshot = match (
            self.meta_u64("snap_generation")?,
            self.meta_u64("snap_through")?,
        ) {
            (Some(generation), Some(log_through)) => {
                let key = self.snapshot_key(generation)?;
                let object = self
                    .env
                    .bucket("SNAPSHOTS")?
                    .get(key)
                    .execute()
                    .await?
                    .ok_or_else(|| Error::Runtime("current snapshot missing from R2".into()))?;
                let bytes = object
                    .body()
                    .ok_or_else(|| Error::Runtime("snapshot without body".into()))?
                    .bytes()
                    .await?;
                Some(StoredSnapshot {
                    generation,
                    log_through,
                    bytes,
                })
            }
            _ => None,
        };
        let after = snapshot.as_ref().map_or(0, |s| s.log_through);
        let cursor = self.state.storage().sql().exec(
            "SELECT seq, bytes FROM log WHERE seq > ? ORDER BY seq",
            vec![SqlStorageValue::Integer(after as i64)],
        )?;
        let mut log = Vec::new();
        for row in cursor.raw() {
            let mut row = row?.into_iter();
            if let (Some(SqlStorageValue::Integer(seq)), Some(SqlStorageValue::Blob(bytes))) =
                (row.next(), row.next())
            {
                log.push((seq as u64, bytes));
            }
        }
        Ok(StoredRoom {
            snapshot,
            log,
            ..StoredRoom::default()
        })
    }

    async fn run(&self, op: StorageOp) -> Result<()> {
        let sql = self.state.storage().sql();
        match op {
            StorageOp::Load => unreachable!("Load is answered with Loaded"),
            StorageOp::AppendLog { seq, bytes, .. } => {
                if self.fault(Fault::LogWrite) {
                    return Err(Self::injected("log write"));
                }
                sql.exec(
                    "INSERT OR REPLACE INTO log (seq, bytes) VALUES (?, ?)",
                    vec![SqlStorageValue::Integer(seq as i64), bytes.into()],
                )?;
            }
            StorageOp::PutSnapshot {
                generation,
                bytes,
                log_through,
            } => {
                if self.fault(Fault::R2Put) {
                    return Err(Self::injected("R2 put"));
                }
                let key = self.snapshot_key(generation)?;
                self.env
                    .bucket("SNAPSHOTS")?
                    .put(key, bytes)
                    .execute()
                    .await?;
                self.set_meta("snap_generation", &generation.to_string())?;
                self.set_meta("snap_through", &log_through.to_string())?;
            }
            StorageOp::TrimLog { through } => {
                sql.exec(
                    "DELETE FROM log WHERE seq <= ?",
                    vec![SqlStorageValue::Integer(through as i64)],
                )?;
            }
            StorageOp::PutLedger(_) => {}
            StorageOp::DeleteSnapshot { generation } => {
                if self.fault(Fault::R2Delete) {
                    return Err(Self::injected("R2 delete"));
                }
                let key = self.snapshot_key(generation)?;
                self.env.bucket("SNAPSHOTS")?.delete(key).await?;
            }
            StorageOp::PutTombstone => {
                self.set_meta("deleted", "1")?;
                sql.exec("DELETE FROM log", None)?;
                if let Some(generation) = self.meta_u64("snap_generation")? {
                    if self.fault(Fault::R2Delete) {
                        return Err(Self::injected("R2 delete"));
                    }
                    let key = self.snapshot_key(generation)?;
                    self.env.bucket("SNAPSHOTS")?.delete(key).await?;
                }
                sql.exec(
                    "DELETE FROM meta WHERE key IN ('snap_generation', 'snap_through')",
                    None,
                )?;
            }
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let cursor = self
            .state
            .storage()
            .sql()
            .exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?;
        for row in cursor.raw() {
            if let Some(SqlStorageValue::String(s)) = row?.into_iter().next() {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn meta_u64(&self, key: &str) -> Result<Option<u64>> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }
}
