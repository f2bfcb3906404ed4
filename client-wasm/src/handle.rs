//! What a JavaScript `Page` points at: the document's [`Session`] in this context (when this
//! context owns the store, or leads the contexts sharing it), or a [`RemotePage`], the copy a
//! leading tab serves (when this context follows). Swapped in place when this context takes
//! over, so the app's `Page` objects and their listeners carry on across a hand-over.
//!
//! The handle keeps the app's listeners itself and subscribes one fan-out function to
//! whichever backend it has.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Function;
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;

use crate::session::Session;
use crate::tabs::RemotePage;

/// Where a page lives.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Local(Rc<Session>),
    Remote(Rc<RemotePage>),
    Closed,
}

impl Backend {
    fn subscribe(&self, f: Function) -> Option<u32> {
        match self {
            Self::Local(s) => Some(s.subscribe(f)),
            Self::Remote(r) => Some(r.subscribe(f)),
            Self::Closed => None,
        }
    }

    fn unsubscribe(&self, id: u32) {
        match self {
            Self::Local(s) => s.unsubscribe(id),
            Self::Remote(r) => r.unsubscribe(id),
            Self::Closed => {}
        }
    }
}

/// One page as one `Page` object sees it.
#[derive(Debug)]
pub(crate) struct PageHandle {
    pub(crate) url: String,
    pub(crate) doc: DocumentId,
    backend: RefCell<Backend>,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    fanout: Closure<dyn FnMut(JsValue)>,
    /// The fan-out's subscription id on the current backend.
    attached: Cell<Option<u32>>,
}

impl PageHandle {
    pub(crate) fn new(doc: DocumentId, backend: Backend) -> Rc<Self> {
        let handle = Rc::new_cyclic(|me: &Weak<Self>| {
            let me = me.clone();
            let fanout = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                if let Some(me) = me.upgrade() {
                    me.emit(&event);
                }
            });
            Self {
                url: doc.to_url(),
                doc,
                backend: RefCell::new(Backend::Closed),
                listeners: RefCell::default(),
                next_listener: Cell::new(0),
                fanout,
                attached: Cell::new(None),
            }
        });
        handle.swap(backend);
        handle
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend.borrow().clone()
    }

    /// Moves the page to another backend (or closes it), keeping its listeners.
    pub(crate) fn swap(&self, backend: Backend) {
        let old = self.backend.replace(backend.clone());
        if let Some(id) = self.attached.take() {
            old.unsubscribe(id);
        }
        let f: &Function = self.fanout.as_ref().unchecked_ref();
        self.attached.set(backend.subscribe(f.clone()));
    }

    pub(crate) fn subscribe(&self, listener: Function) -> u32 {
        let id = self.next_listener.get();
        self.next_listener.set(id + 1);
        self.listeners.borrow_mut().push((id, listener));
        id
    }

    pub(crate) fn unsubscribe(&self, id: u32) {
        self.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// Calls every listener with `event`, with no borrow held, so a listener may call back
    /// into the page.
    pub(crate) fn emit(&self, event: &JsValue) {
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for f in listeners {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, event) {
                // A throwing listener must not stop the others or the session.
                web_sys::console::error_2(&"tessera: a page listener threw".into(), &e);
            }
        }
    }
}

impl Drop for PageHandle {
    fn drop(&mut self) {
        // The fan-out closure dies with the handle: the backend must not call it after.
        if let Some(id) = self.attached.take() {
            self.backend.get_mut().unsubscribe(id);
        }
    }
}
