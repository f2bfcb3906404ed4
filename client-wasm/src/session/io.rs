//! Carrying out the core's outputs: the two runner tasks (storage, everything else), the
//! socket, the timer, the token provider, and the callbacks into JavaScript.

use std::rc::Rc;

use js_sys::{Function, Promise};
use sync_core::client::{ClientEvent, ClientInput, ClientOutput, ClientStatus, SyncStatus};
use sync_core::protocol::Route;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::waiters::final_error;
use super::{Notice, Session, is_page_write, notice_js};
use crate::env::Timer;
use crate::error::Error;
use crate::options;
use crate::transport::Socket;

impl Session {
    pub(super) fn push(&self, out: Vec<ClientOutput>) {
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

    pub(super) fn notify(&self, notices: &[Notice]) {
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
