//! One writer per database: an exclusive Web Lock (`navigator.locks`) held for as long as the
//! store is open, so a second tab or worker of the origin cannot open the same database and
//! overwrite the first one's saves (a snapshot deletes every earlier chunk). Contexts without
//! Web Locks (Node) have no other tab to fear.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

/// A held lock; dropping it (or [`release`](Self::release)) lets the next holder in.
#[derive(Debug)]
pub(super) struct DbLock {
    release: Option<Function>,
    /// `navigator.locks.request`'s promise: settles once the lock is released.
    released: Option<Promise>,
}

impl DbLock {
    /// Takes the lock `lock_name` of database `name` if no other context holds it.
    pub(super) async fn take(lock_name: &str, name: &str) -> Result<Self> {
        let Some(locks) = web_locks() else {
            return Ok(Self {
                release: None,
                released: None,
            });
        };
        let release: Rc<RefCell<Option<Function>>> = Rc::default();
        let mut got = None;
        let granted = Promise::new(&mut |resolve, _| got = Some(resolve));
        let got = got.expect("the Promise executor runs at once");
        let keep = release.clone();
        // Called once, with the lock or with null when another context holds it.
        let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
            if lock.is_null() {
                let _ = got.call1(&JsValue::UNDEFINED, &JsValue::FALSE);
                return JsValue::UNDEFINED;
            }
            let mut end = None;
            let held = Promise::new(&mut |resolve, _| end = Some(resolve));
            keep.replace(end);
            let _ = got.call1(&JsValue::UNDEFINED, &JsValue::TRUE);
            held.into()
        });
        let options = Object::new();
        let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
        let request: Function = Reflect::get(&locks, &"request".into())
            .map_err(|e| Error::storage(&e))?
            .unchecked_into();
        let lock_name = JsValue::from_str(lock_name);
        let released: Promise = request
            .call3(&locks, &lock_name, &options, &callback)
            .map_err(|e| Error::storage(&e))?
            .unchecked_into();
        let granted = JsFuture::from(granted)
            .await
            .map_err(|e| Error::storage(&e))?;
        if granted.as_bool() != Some(true) {
            return Err(Error::StoreBusy(name.to_owned()));
        }
        Ok(Self {
            release: release.take(),
            released: Some(released),
        })
    }

    /// Lets go of the lock; the future ends once the next holder can take it.
    pub(super) fn release(&mut self) -> impl Future<Output = ()> + use<> {
        if let Some(end) = self.release.take() {
            let _ = end.call0(&JsValue::UNDEFINED);
        }
        let released = self.released.take();
        async move {
            if let Some(p) = released {
                let _ = JsFuture::from(p).await;
            }
        }
    }
}

impl Drop for DbLock {
    fn drop(&mut self) {
        if let Some(end) = self.release.take() {
            let _ = end.call0(&JsValue::UNDEFINED);
        }
    }
}

fn web_locks() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}
