//! A page's copy in a follower: the JSON and status the leader pushed last, and the listeners
//! of this context that hear each change.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Function;
use sync_core::client::ClientStatus;
use wasm_bindgen::prelude::*;

use super::wire::PageEvent;
use crate::session::{Notice, notice_js};

/// A page's copy in a follower.
#[derive(Debug)]
pub(crate) struct RemotePage {
    json: RefCell<String>,
    status: RefCell<ClientStatus>,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
}

impl RemotePage {
    pub(super) fn new(json: String, status: ClientStatus) -> Rc<Self> {
        Rc::new(Self {
            json: RefCell::new(json),
            status: RefCell::new(status),
            listeners: RefCell::default(),
            next_listener: Cell::new(0),
        })
    }

    pub(crate) fn json(&self) -> String {
        self.json.borrow().clone()
    }

    pub(crate) fn status(&self) -> ClientStatus {
        self.status.borrow().clone()
    }

    pub(crate) fn subscribe(&self, f: Function) -> u32 {
        let id = self.next_listener.get();
        self.next_listener.set(id + 1);
        self.listeners.borrow_mut().push((id, f));
        id
    }

    pub(crate) fn unsubscribe(&self, id: u32) {
        self.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// A fresh copy from the leader; listeners hear what changed.
    pub(crate) fn update(&self, json: String, status: ClientStatus, event: Option<PageEvent>) {
        let changed = *self.json.borrow() != json;
        let status_changed = *self.status.borrow() != status;
        self.json.replace(json);
        self.status.replace(status.clone());
        let mut notices = Vec::new();
        match event {
            Some(PageEvent::Local) => notices.push(Notice::Change { remote: false }),
            Some(PageEvent::Remote) => notices.push(Notice::Change { remote: true }),
            // A refresh after a hand-over says what it found.
            None if changed => notices.push(Notice::Change { remote: false }),
            _ => {}
        }
        if status_changed {
            notices.push(Notice::Status(status));
        }
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for notice in &notices {
            let event = notice_js(notice);
            for f in &listeners {
                let _ = f.call1(&JsValue::UNDEFINED, &event);
            }
        }
    }
}
