//! Promises an app awaits (an edit stored, the page loaded, the page in sync, the page
//! closed) and what settles them.

use js_sys::{Function, Promise};
use sync_core::client::SyncStatus;
use wasm_bindgen::prelude::*;

use super::Inner;
use crate::error::Error;

/// A promise's two ends, kept until the awaited thing happens.
#[derive(Debug)]
pub(super) struct Waiter {
    resolve: Function,
    reject: Function,
}

impl Waiter {
    pub(super) fn new() -> (Self, Promise) {
        let mut ends = None;
        let promise = Promise::new(&mut |resolve, reject| ends = Some(Self { resolve, reject }));
        (ends.expect("the Promise executor runs at once"), promise)
    }

    pub(super) fn resolve(self, value: &JsValue) {
        let _ = self.resolve.call1(&JsValue::UNDEFINED, value);
    }

    pub(super) fn reject(self, error: Error) {
        let _ = self.reject.call1(&JsValue::UNDEFINED, &error.into());
    }
}

/// An edit (or a create) waiting for a save that covers it: the first page write issued at
/// or after it (`needed`, an ordinal) or the page being fully saved.
#[derive(Debug)]
pub(super) struct SaveWaiter {
    needed: u64,
    value: JsValue,
    waiter: Waiter,
}

impl Inner {
    pub(super) fn busy(&self) -> bool {
        self.storage_running || self.io_running || !self.storage.is_empty() || !self.io.is_empty()
    }

    pub(super) fn wait_saved(&mut self, value: JsValue) -> Promise {
        let (waiter, promise) = Waiter::new();
        self.save_waiters.push(SaveWaiter {
            needed: self.writes_issued + 1,
            value,
            waiter,
        });
        promise
    }

    /// A page write finished (in order): edits it covers settle.
    pub(super) fn write_finished(&mut self, error: Option<&String>) {
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
    pub(super) fn all_saved(&mut self) {
        for w in std::mem::take(&mut self.save_waiters) {
            w.waiter.resolve(&w.value);
        }
    }

    pub(super) fn shut(&mut self) {
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

/// The error a `synced()` waiter gets when the core says waiting cannot help.
pub(super) fn final_error(sync: &SyncStatus) -> Option<Error> {
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
