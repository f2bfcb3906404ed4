//! Leadership of one database: an exclusive Web Lock (`navigator.locks`) that the leader holds
//! for as long as it serves. Followers queue for it; the browser grants it to the next one
//! when the leader releases it or its context dies (a closed or killed tab, a stopped
//! worker), which is how a follower learns it must take over.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

/// A held leadership; dropping it lets the next context in.
#[derive(Debug)]
pub(crate) struct LeaderLock {
    release: Option<Function>,
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        if let Some(end) = self.release.take() {
            let _ = end.call0(&JsValue::UNDEFINED);
        }
    }
}

/// `navigator.locks`, where the context has it (not in Node, which has no other tabs).
pub(crate) fn web_locks() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

fn lock_name(key: &str) -> JsValue {
    JsValue::from_str(&format!("tessera-leader:{key}"))
}

/// Asks for the lock; `granted` gets it (or `None` when `if_available` and it is taken).
fn request(
    locks: &JsValue,
    key: &str,
    if_available: bool,
    granted: impl FnOnce(Option<LeaderLock>) + 'static,
) -> Result<()> {
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        if lock.is_null() {
            granted(None);
            return JsValue::UNDEFINED;
        }
        // The lock is held until the promise returned here settles.
        let mut end = None;
        let held = Promise::new(&mut |resolve, _| end = Some(resolve));
        granted(Some(LeaderLock { release: end }));
        held.into()
    });
    let options = Object::new();
    if if_available {
        let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    }
    let request: Function = Reflect::get(locks, &"request".into())
        .map_err(|e| Error::storage(&e))?
        .dyn_into()
        .map_err(|_| Error::Storage("navigator.locks.request is not a function".into()))?;
    // The returned promise settles when the lock is released; nothing waits on it.
    request
        .call3(locks, &lock_name(key), &options, &callback)
        .map_err(|e| Error::storage(&e))?;
    Ok(())
}

/// Takes the lock if no other context holds it.
pub(crate) async fn try_take(locks: &JsValue, key: &str) -> Result<Option<LeaderLock>> {
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let mut done = None;
    let answered = Promise::new(&mut |resolve, _| done = Some(resolve));
    let done = done.expect("the Promise executor runs at once");
    let keep = slot.clone();
    request(locks, key, true, move |lock| {
        keep.replace(lock);
        let _ = done.call0(&JsValue::UNDEFINED);
    })?;
    JsFuture::from(answered)
        .await
        .map_err(|e| Error::storage(&e))?;
    Ok(slot.take())
}

/// Queues for the lock; `granted` runs once this context holds it.
pub(crate) fn wait(
    locks: &JsValue,
    key: &str,
    granted: impl FnOnce(LeaderLock) + 'static,
) -> Result<()> {
    request(locks, key, false, move |lock| {
        if let Some(lock) = lock {
            granted(lock);
        }
    })
}
