//! One open document: its core session ([`DocSync`]) and the IO that session asks for.
//!
//! Outputs are carried out by two runner tasks per document, each strictly in order: storage
//! ops one at a time, awaited (so writes are never reordered, as `ClientStorageOp::is_write`
//! requires), and everything else (frames, connects, the timer, statuses, events) in the next
//! microtask, without waiting behind a disk write. Edits still settle only once a save covering
//! them finished. Inputs (socket events, the timer, storage answers, a token) go straight to
//! the core; their outputs join the queues. JavaScript callbacks run with no borrow held and
//! never inside a socket's or timer's own callback, so a callback may call back into the page.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use sync_core::client::{
    ClientEvent, ClientInput, ClientOutput, ClientStatus, ClientStorageOp, DocSync, SyncStatus,
};
use sync_core::io::TaskId;
use sync_core::model::{Applied, PageEdit};
use sync_core::protocol::{DocumentId, Route};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use crate::client::Shared;
use crate::env::{self, Timer};
use crate::error::{Error, Result};
use crate::options;
use crate::transport::Socket;

/// A promise's two ends, kept until the awaited thing happens.
#[derive(Debug)]
struct Waiter {
    resolve: Function,
    reject: Function,
}

impl Waiter {
    fn new() -> (Self, Promise) {
        let mut ends = None;
        let promise = Promise::new(&mut |resolve, reject| ends = Some(Self { resolve, reject }));
        (ends.expect("the Promise executor runs at once"), promise)
    }

    fn resolve(self, value: &JsValue) {
        let _ = self.resolve.call1(&JsValue::UNDEFINED, value);
    }

    fn reject(self, error: Error) {
        let _ = self.reject.call1(&JsValue::UNDEFINED, &error.into());
    }
}

/// An edit (or a create) waiting for a save that covers it: the first page write issued at
/// or after it (`needed`, an ordinal) or the page being fully saved.
#[derive(Debug)]
struct SaveWaiter {
    needed: u64,
    value: JsValue,
    waiter: Waiter,
}

#[derive(Debug)]
struct Inner {
    doc: DocSync,
    /// Storage ops, run one at a time by `run_storage`.
    storage: VecDeque<(TaskId, ClientStorageOp)>,
    storage_running: bool,
    /// Every other output, carried by `run_io`.
    io: VecDeque<ClientOutput>,
    io_running: bool,
    socket: Option<Socket>,
    timer: Option<Timer>,
    status: ClientStatus,
    listeners: Vec<(u32, Function)>,
    next_listener: u32,
    /// Page writes (appends and snapshots) queued so far, and finished so far (in order).
    writes_issued: u64,
    writes_finished: u64,
    save_waiters: Vec<SaveWaiter>,
    load_waiters: Vec<Waiter>,
    sync_waiters: Vec<Waiter>,
    drain_waiters: Vec<Waiter>,
    closed: bool,
}

/// What a JavaScript listener hears.
enum Notice {
    Change { remote: bool },
    Status(ClientStatus),
}

/// One open document. Shared by every `Page` handle of it.
#[derive(Debug)]
pub(crate) struct Session {
    shared: Rc<Shared>,
    me: Weak<Self>,
    inner: RefCell<Inner>,
}

impl Session {
    /// A session over a core session just made; `out` are its first outputs (a load or
    /// the first save), queued only by [`start`](Self::start) so that waiters can be
    /// registered first.
    pub(crate) fn new(shared: Rc<Shared>, mut doc: DocSync) -> Rc<Self> {
        let status = doc.status();
        Rc::new_cyclic(|me| Self {
            shared,
            me: me.clone(),
            inner: RefCell::new(Inner {
                doc,
                storage: VecDeque::new(),
                storage_running: false,
                io: VecDeque::new(),
                io_running: false,
                socket: None,
                timer: None,
                status,
                listeners: Vec::new(),
                next_listener: 0,
                writes_issued: 0,
                writes_finished: 0,
                save_waiters: Vec::new(),
                load_waiters: Vec::new(),
                sync_waiters: Vec::new(),
                drain_waiters: Vec::new(),
                closed: false,
            }),
        })
    }

    /// Queues the core's first outputs, hands it the token and goes online if the client is.
    pub(crate) fn start(&self, out: Vec<ClientOutput>) {
        self.push(out);
        let token = self.shared.token.borrow().clone();
        if let Some(token) = token {
            self.input(ClientInput::Token(token));
        }
        if self.shared.relay.is_some() && self.shared.online {
            self.input(ClientInput::GoOnline);
        }
    }

    pub(crate) fn doc_id(&self) -> DocumentId {
        self.inner.borrow().doc.doc_id()
    }

    pub(crate) fn url(&self) -> String {
        self.inner.borrow().doc.doc_id().to_url()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.borrow().closed
    }

    /// Feeds one input to the core and queues what it asks for.
    pub(crate) fn input(&self, input: ClientInput) {
        let out = {
            let mut inner = self.inner.borrow_mut();
            if inner.closed {
                return;
            }
            inner.doc.handle(env::now_ms(), input)
        };
        self.push(out);
    }

    /// Applies an edit; the promise settles once a save covering it finished.
    pub(crate) fn apply(&self, edit: &PageEdit) -> Result<Promise> {
        let (applied, out, promise) = {
            let mut inner = self.inner.borrow_mut();
            if inner.closed {
                return Err(Error::Closed);
            }
            let (applied, out) = inner.doc.apply(env::now_ms(), edit).map_err(|e| match e {
                sync_core::client::ApplyError::NotLoaded => Error::NotLoaded(e.to_string()),
                sync_core::client::ApplyError::Edit(e) => Error::EditRefused(e.to_string()),
            })?;
            let value = applied_js(&applied);
            let promise = inner.wait_saved(value);
            (applied, out, promise)
        };
        drop(applied);
        self.push(out);
        self.notify(&[Notice::Change { remote: false }]);
        Ok(promise)
    }

    /// Settles once the first save issued from now on finished (a create's first write).
    pub(crate) fn saved(&self, value: JsValue) -> Promise {
        self.inner.borrow_mut().wait_saved(value)
    }

    /// Settles once the document is read from storage.
    pub(crate) fn loaded(&self) -> Promise {
        let mut inner = self.inner.borrow_mut();
        let (waiter, promise) = Waiter::new();
        match &inner.status.sync {
            SyncStatus::Loading => inner.load_waiters.push(waiter),
            SyncStatus::LoadFailed { message } => waiter.reject(Error::NotLoaded(message.clone())),
            _ => waiter.resolve(&JsValue::UNDEFINED),
        }
        promise
    }

    /// Settles once the relay and the store hold exactly this page, or fails when the core
    /// says waiting cannot help (a refusal, a token needed, unreadable data).
    pub(crate) fn synced(&self) -> Promise {
        let mut inner = self.inner.borrow_mut();
        let (waiter, promise) = Waiter::new();
        let status = inner.doc.status();
        if inner.closed {
            waiter.reject(Error::Closed);
        } else if status.is_in_sync() {
            waiter.resolve(&JsValue::UNDEFINED);
        } else if let Some(e) = final_error(&status.sync) {
            waiter.reject(e);
        } else {
            inner.sync_waiters.push(waiter);
        }
        promise
    }

    pub(crate) fn to_json(&self) -> String {
        self.inner.borrow_mut().doc.to_json()
    }

    /// The core's status now (listeners hear each change when its output is carried out).
    pub(crate) fn status(&self) -> ClientStatus {
        self.inner.borrow_mut().doc.status()
    }

    pub(crate) fn subscribe(&self, listener: Function) -> u32 {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_listener;
        inner.next_listener += 1;
        inner.listeners.push((id, listener));
        id
    }

    pub(crate) fn unsubscribe(&self, id: u32) {
        self.inner.borrow_mut().listeners.retain(|(i, _)| *i != id);
    }

    /// Goes offline, lets every queued write finish, then releases the socket and timer.
    pub(crate) fn close(&self) -> Promise {
        self.input(ClientInput::GoOffline);
        let mut inner = self.inner.borrow_mut();
        let (waiter, promise) = Waiter::new();
        if inner.busy() {
            inner.drain_waiters.push(waiter);
        } else {
            inner.shut();
            waiter.resolve(&JsValue::UNDEFINED);
        }
        promise
    }

    fn push(&self, out: Vec<ClientOutput>) {
        if out.is_empty() {
            return;
        }
        let mut inner = self.inner.borrow_mut();
        for o in out {
            match o {
                ClientOutput::Storage { task, op } => {
                    if is_page_write(&op) {
                        inner.writes_issued += 1;
                    }
                    inner.storage.push_back((task, op));
                }
                other => inner.io.push_back(other),
            }
        }
        if inner.closed {
            return;
        }
        let me = || {
            self.me
                .upgrade()
                .expect("a session pushing outputs is alive")
        };
        if !inner.storage_running && !inner.storage.is_empty() {
            inner.storage_running = true;
            spawn_local(me().run_storage());
        }
        if !inner.io_running && !inner.io.is_empty() {
            inner.io_running = true;
            spawn_local(me().run_io());
        }
    }

    /// Runs queued storage ops in order, one at a time, feeding each answer to the core.
    async fn run_storage(self: Rc<Self>) {
        loop {
            let next = {
                let mut inner = self.inner.borrow_mut();
                let next = inner.storage.pop_front();
                inner.storage_running = next.is_some();
                next
            };
            let Some((task, op)) = next else { break };
            let outcome = self.shared.store.run(&op).await;
            if is_page_write(&op) {
                self.inner
                    .borrow_mut()
                    .write_finished(outcome.as_ref().err());
            }
            self.input(ClientInput::StorageDone { task, outcome });
            let mut inner = self.inner.borrow_mut();
            if !inner.closed && inner.doc.is_saved() {
                inner.all_saved();
            }
        }
        self.finish_drain();
    }

    /// Carries out queued outputs that are not storage, in order.
    async fn run_io(self: Rc<Self>) {
        loop {
            let next = {
                let mut inner = self.inner.borrow_mut();
                let next = inner.io.pop_front();
                inner.io_running = next.is_some();
                next
            };
            let Some(output) = next else { break };
            self.carry(output);
        }
        self.finish_drain();
    }

    /// Once both queues are empty, a pending `close()` completes.
    fn finish_drain(&self) {
        let drained = {
            let mut inner = self.inner.borrow_mut();
            if inner.busy() || inner.drain_waiters.is_empty() {
                Vec::new()
            } else {
                inner.shut();
                std::mem::take(&mut inner.drain_waiters)
            }
        };
        for w in drained {
            w.resolve(&JsValue::UNDEFINED);
        }
    }

    /// Carries out one output that is not storage.
    fn carry(&self, output: ClientOutput) {
        match output {
            ClientOutput::Connect { token } => self.connect(token.as_deref()),
            ClientOutput::Disconnect => self.inner.borrow_mut().socket = None,
            ClientOutput::Send(frame) => {
                if let Some(socket) = &self.inner.borrow().socket {
                    socket.send(&frame);
                }
            }
            ClientOutput::SetTimer { at_ms } => {
                let me = self.me.clone();
                let timer = Timer::at(at_ms, move || {
                    if let Some(me) = me.upgrade() {
                        me.input(ClientInput::Timer);
                    }
                });
                self.inner.borrow_mut().timer = Some(timer);
            }
            ClientOutput::TokenNeeded { code } => self.ask_for_token(code.as_str()),
            ClientOutput::Status(status) => self.on_status(status),
            ClientOutput::Event(event) => self.on_event(event),
            ClientOutput::Storage { .. } => unreachable!("storage ops go to the storage queue"),
        }
    }

    fn connect(&self, token: Option<&str>) {
        let doc = self.inner.borrow().doc.doc_id();
        let relay = self.shared.relay.as_deref().unwrap_or_default();
        let Some(url) = Route::Connect(doc).url(relay, token) else {
            // Options::read checked the relay URL with the same builder.
            unreachable!("the relay URL was checked when the client opened");
        };
        let me = self.me.clone();
        let deliver = move |input| {
            if let Some(me) = me.upgrade() {
                me.input(input);
            }
        };
        match Socket::open(&self.shared.web_socket, &url, deliver) {
            Ok(socket) => self.inner.borrow_mut().socket = Some(socket),
            Err(reason) => self.input(ClientInput::TransportClosed { code: None, reason }),
        }
    }

    /// Calls the app's token provider and hands its answer to the core; without a provider,
    /// or when it fails, the core hears `TokenUnavailable` and waits in `tokenNeeded` for
    /// `setToken`.
    fn ask_for_token(&self, code: &str) {
        let Some(provider) = self.shared.token_provider.clone() else {
            self.input(ClientInput::TokenUnavailable);
            return;
        };
        let me = self.me.clone();
        let code = JsValue::from_str(code);
        spawn_local(async move {
            let answer = match provider.call1(&JsValue::UNDEFINED, &code) {
                Ok(v) => JsFuture::from(Promise::resolve(&v)).await,
                Err(e) => Err(e),
            };
            let token = answer
                .map_err(|e| crate::error::describe(&e))
                .and_then(|v| options::token(&v).map_err(|e| e.to_string()));
            let Some(me) = me.upgrade() else { return };
            match token {
                Ok(token) => {
                    me.shared.token.replace(Some(token.clone()));
                    me.input(ClientInput::Token(token));
                }
                Err(why) => {
                    web_sys::console::warn_1(
                        &format!("tessera: the token provider failed: {why}").into(),
                    );
                    me.input(ClientInput::TokenUnavailable);
                }
            }
        });
    }

    fn on_status(&self, status: ClientStatus) {
        let (sync_ok, sync_failed, load_failed, live) = {
            let mut inner = self.inner.borrow_mut();
            inner.status = status.clone();
            // Waiters go by the core's status now, not by this (possibly older) queued one.
            let live = inner.doc.status();
            let mut sync_ok = Vec::new();
            let mut sync_failed = Vec::new();
            if live.is_in_sync() {
                sync_ok = std::mem::take(&mut inner.sync_waiters);
            } else if final_error(&live.sync).is_some() {
                sync_failed = std::mem::take(&mut inner.sync_waiters);
            }
            let load_failed = match &status.sync {
                SyncStatus::LoadFailed { .. } => std::mem::take(&mut inner.load_waiters),
                _ => Vec::new(),
            };
            (sync_ok, sync_failed, load_failed, live)
        };
        for w in sync_ok {
            w.resolve(&JsValue::UNDEFINED);
        }
        for w in sync_failed {
            w.reject(final_error(&live.sync).expect("checked above"));
        }
        if let SyncStatus::LoadFailed { message } = &status.sync {
            for w in load_failed {
                w.reject(Error::NotLoaded(message.clone()));
            }
        }
        self.notify(&[Notice::Status(status)]);
    }

    fn on_event(&self, event: ClientEvent) {
        match event {
            ClientEvent::Loaded => {
                let waiters = std::mem::take(&mut self.inner.borrow_mut().load_waiters);
                for w in waiters {
                    w.resolve(&JsValue::UNDEFINED);
                }
            }
            ClientEvent::RemoteChange => self.notify(&[Notice::Change { remote: true }]),
            // The rest is in the status, which listeners get.
            _ => {}
        }
    }

    fn notify(&self, notices: &[Notice]) {
        let listeners: Vec<Function> = self
            .inner
            .borrow()
            .listeners
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        if listeners.is_empty() {
            return;
        }
        for notice in notices {
            let event = notice_js(notice);
            for f in &listeners {
                if let Err(e) = f.call1(&JsValue::UNDEFINED, &event) {
                    // A throwing listener must not stop the others or the session.
                    web_sys::console::error_2(&"tessera: a page listener threw".into(), &e);
                }
            }
        }
    }
}

impl Inner {
    fn busy(&self) -> bool {
        self.storage_running || self.io_running || !self.storage.is_empty() || !self.io.is_empty()
    }

    fn wait_saved(&mut self, value: JsValue) -> Promise {
        let (waiter, promise) = Waiter::new();
        self.save_waiters.push(SaveWaiter {
            needed: self.writes_issued + 1,
            value,
            waiter,
        });
        promise
    }

    /// A page write finished (in order): edits it covers settle.
    fn write_finished(&mut self, error: Option<&String>) {
        self.writes_finished += 1;
        let done = self.writes_finished;
        let (covered, rest) = std::mem::take(&mut self.save_waiters)
            .into_iter()
            .partition(|w| w.needed <= done);
        self.save_waiters = rest;
        for w in covered {
            match error {
                None => w.waiter.resolve(&w.value),
                Some(e) => w.waiter.reject(Error::SaveFailed(e.clone())),
            }
        }
    }

    /// Every local edit is saved: every waiting edit settles.
    fn all_saved(&mut self) {
        for w in std::mem::take(&mut self.save_waiters) {
            w.waiter.resolve(&w.value);
        }
    }

    fn shut(&mut self) {
        self.closed = true;
        self.socket = None;
        self.timer = None;
        self.listeners.clear();
        for w in std::mem::take(&mut self.save_waiters) {
            w.waiter.reject(Error::Closed);
        }
        for w in std::mem::take(&mut self.sync_waiters) {
            w.reject(Error::Closed);
        }
        for w in std::mem::take(&mut self.load_waiters) {
            w.reject(Error::Closed);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The last handle is gone: stop the socket and timer (they hold only weak refs).
        let inner = self.inner.get_mut();
        inner.socket = None;
        inner.timer = None;
    }
}

fn is_page_write(op: &ClientStorageOp) -> bool {
    matches!(
        op,
        ClientStorageOp::AppendChanges { .. } | ClientStorageOp::ReplaceWithSnapshot { .. }
    )
}

/// The error a `synced()` waiter gets when the core says waiting cannot help.
fn final_error(sync: &SyncStatus) -> Option<Error> {
    if !sync.is_final() {
        return None;
    }
    match sync {
        SyncStatus::TokenNeeded { code, message } | SyncStatus::Refused { code, message } => {
            Some(Error::Refused {
                code: *code,
                message: message.clone(),
            })
        }
        SyncStatus::LoadFailed { message } => Some(Error::NotLoaded(message.clone())),
        other => Some(Error::Stopped(other.to_string())),
    }
}

/// The status as the JSON object the `.d.ts` describes (`null` for absent values).
pub(crate) fn status_js(status: &ClientStatus) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(status, &ser).expect("statuses always serialize")
}

fn applied_js(applied: &Applied) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(applied, &ser).expect("Applied always serializes")
}

fn notice_js(notice: &Notice) -> JsValue {
    let obj = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(&obj, &k.into(), v);
    };
    match notice {
        Notice::Change { remote } => {
            set("type", &"change".into());
            set("origin", &(if *remote { "remote" } else { "local" }).into());
        }
        Notice::Status(status) => {
            set("type", &"status".into());
            set("status", &status_js(status));
        }
    }
    obj.into()
}
