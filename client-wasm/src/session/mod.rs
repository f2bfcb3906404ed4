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
    ClientInput, ClientOutput, ClientStatus, ClientStorageOp, DocSync, SyncStatus,
};
use sync_core::io::TaskId;
use sync_core::model::{Applied, PageEdit};
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;

mod io;
mod waiters;

use waiters::{SaveWaiter, Waiter, final_error};

use crate::env::{self, Timer};
use crate::error::{Error, Result};
use crate::local::Shared;
use crate::transport::Socket;

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
pub(crate) enum Notice {
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

/// The status as the JSON object the `.d.ts` describes (`null` for absent values).
pub(crate) fn status_js(status: &ClientStatus) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(status, &ser).expect("statuses always serialize")
}

fn applied_js(applied: &Applied) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(applied, &ser).expect("Applied always serializes")
}

pub(crate) fn notice_js(notice: &Notice) -> JsValue {
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
