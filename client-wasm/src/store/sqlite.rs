//! The SQLite store, seen from the page: a dedicated worker running the package's SQLite
//! wasm (crate `client-wasm-sqlite`: `client-sqlite`'s schema and ops, as in `client-native`,
//! on OPFS through the "sahpool" VFS) holds the database; this side posts it one op at a time
//! and awaits each answer. The worker is spawned per open store and ended by `close`.
//!
//! One writer per database: this side holds the database's Web Lock while open, and the
//! worker holds every OPFS access handle of the database's directory, which OPFS grants to
//! one context at a time. The session stays in the page; only storage crosses to the worker.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::limits::MAX_ID_LEN;
use sync_core::protocol::{DocumentId, StorageId};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::lock::DbLock;
use crate::env;
use crate::error::{Error, Result, describe};

/// Longest database name the worker accepts (a name is an OPFS directory).
pub(crate) const MAX_NAME: usize = 128;

/// Most documents a `List` answer may carry, and most sync states per document: a bound on
/// what this side accepts from the worker.
const MAX_ROWS: u32 = 1_000_000;

/// Requests waiting for the worker's answer, by id.
#[derive(Debug, Default)]
struct Link {
    pending: RefCell<BTreeMap<u32, (Function, Function)>>,
    next: Cell<u32>,
    /// Set once the worker died: every later request fails with it.
    failed: RefCell<Option<String>>,
}

/// An open SQLite database in its worker.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    worker: Worker,
    link: Rc<Link>,
    storage_id: StorageId,
    lock: RefCell<DbLock>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

/// Whether this context can run the SQLite store: it can start a dedicated worker, and OPFS
/// is there (a secure context with `navigator.storage.getDirectory`). Sync access handles
/// exist only inside the worker; if they are missing there, opening fails with
/// [`Error::StorageUnavailable`].
pub(crate) fn can_run() -> bool {
    let global = js_sys::global();
    let has = |obj: &JsValue, key: &str| {
        Reflect::get(obj, &key.into()).is_ok_and(|v| !v.is_undefined() && !v.is_null())
    };
    let secure =
        Reflect::get(&global, &"isSecureContext".into()).is_ok_and(|v| v.as_bool() == Some(true));
    let storage = Reflect::get(&global, &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"storage".into()))
        .unwrap_or(JsValue::UNDEFINED);
    secure
        && has(&global, "Worker")
        && has(&global, "FileSystemFileHandle")
        && !storage.is_undefined()
        && has(&storage, "getDirectory")
}

impl SqliteStore {
    /// Takes the database's lock, starts its worker and opens the database there.
    pub(crate) async fn open(name: &str) -> Result<Self> {
        if !can_run() {
            return Err(Error::StorageUnavailable(
                "SQLite needs a dedicated Worker and OPFS (a secure context); use indexeddb here"
                    .into(),
            ));
        }
        let lock = DbLock::take(&format!("tessera-sqlite:{name}"), name).await?;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(&format!("tessera-sqlite:{name}"));
        let url = wasm_bindgen::link_to!(module = "/src/store/sqlite_worker.js");
        let worker = Worker::new_with_options(&url, &options).map_err(|e| Error::storage(&e))?;
        let link = Rc::new(Link::default());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let link = link.clone();
            move |e: MessageEvent| link.answer(&e.data())
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
            let link = link.clone();
            move |e: web_sys::Event| {
                let message = Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "the worker could not be loaded".into());
                link.fail(&format!("the SQLite worker failed: {message}"));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut store = Self {
            worker,
            link,
            storage_id: StorageId::from(String::new()),
            lock: RefCell::new(lock),
            _on_message: on_message,
            _on_error: on_error,
        };
        let fresh_id = format!("sqlite-{}", env::hex(&env::random::<16>()));
        let open = request(&[
            ("kind", "open".into()),
            ("name", name.into()),
            ("freshId", fresh_id.into()),
        ]);
        match store.request(&open, &Array::new()).await {
            Ok(value) => {
                let id = string(&value, "storageId", MAX_ID_LEN)?;
                store.storage_id = StorageId::from(id);
                Ok(store)
            }
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    pub(crate) fn storage_id(&self) -> StorageId {
        self.storage_id.clone()
    }

    /// Closes the database (the worker answers once its files are released), ends the
    /// worker and lets go of the lock.
    pub(crate) async fn close(&self) {
        if self.link.failed.borrow().is_none() {
            let _ = self
                .request(&request(&[("kind", "close".into())]), &Array::new())
                .await;
        }
        self.link.fail("the store is closed");
        self.worker.terminate();
        let released = self.lock.borrow_mut().release();
        released.await;
    }

    pub(crate) async fn run(&self, op: &ClientStorageOp) -> Result<StorageReply> {
        let transfer = Array::new();
        let bytes_field = |bytes: &[u8]| {
            let array = Uint8Array::from(bytes);
            transfer.push(&array.buffer());
            JsValue::from(array)
        };
        let op_msg = match op {
            ClientStorageOp::Load { doc } => object(&[("type", "load".into()), doc_field(doc)]),
            ClientStorageOp::List => object(&[("type", "list".into())]),
            ClientStorageOp::AppendChanges { doc, bytes } => object(&[
                ("type", "append".into()),
                doc_field(doc),
                ("bytes", bytes_field(bytes)),
            ]),
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => object(&[
                ("type", "snapshot".into()),
                doc_field(doc),
                ("bytes", bytes_field(bytes)),
            ]),
            ClientStorageOp::PutSyncState { doc, peer, bytes } => object(&[
                ("type", "syncState".into()),
                doc_field(doc),
                ("peer", peer.as_str().into()),
                ("bytes", bytes_field(bytes)),
            ]),
        };
        let msg = request(&[("kind", "run".into()), ("op", op_msg.into())]);
        let value = self.request(&msg, &transfer).await?;
        reply(&value)
    }

    /// Posts one request and awaits its answer.
    async fn request(&self, msg: &Object, transfer: &Array) -> Result<JsValue> {
        if let Some(failed) = self.link.failed.borrow().clone() {
            return Err(Error::Storage(failed));
        }
        let id = self.link.next.get();
        self.link.next.set(id.wrapping_add(1));
        let _ = Reflect::set(msg, &"id".into(), &id.into());
        let mut settle = None;
        let answered = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let settle = settle.expect("the Promise executor runs at once");
        self.link.pending.borrow_mut().insert(id, settle);
        if let Err(e) = self.worker.post_message_with_transfer(msg, transfer) {
            self.link.pending.borrow_mut().remove(&id);
            return Err(Error::storage(&e));
        }
        JsFuture::from(answered).await.map_err(|e| {
            let code = Reflect::get(&e, &"code".into())
                .ok()
                .and_then(|c| c.as_string());
            let message = describe(&e);
            match code.as_deref() {
                Some("busy") => Error::StoreBusy(message),
                Some("unsupported") => Error::StorageUnavailable(message),
                _ => Error::Storage(message),
            }
        })
    }
}

impl Drop for SqliteStore {
    /// A store dropped without `close` (a client freed while open) must not leave its worker
    /// holding the database's files after the lock is released (the lock goes with the
    /// fields, after this): ending the worker releases them.
    fn drop(&mut self) {
        self.link.fail("the store is closed");
        self.worker.terminate();
    }
}

impl Link {
    /// Settles the request the worker answered.
    fn answer(&self, data: &JsValue) {
        let id = Reflect::get(data, &"id".into())
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n));
        let Some(id) = id else {
            // Only a malformed request goes unanswered by id; this side sends none.
            web_sys::console::error_1(&"tessera: the SQLite worker answered without an id".into());
            return;
        };
        let Some((resolve, reject)) = self.pending.borrow_mut().remove(&(id as u32)) else {
            return;
        };
        let ok = Reflect::get(data, &"ok".into()).is_ok_and(|v| v.as_bool() == Some(true));
        if ok {
            let value = Reflect::get(data, &"value".into()).unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::UNDEFINED, &value);
        } else {
            let message = Reflect::get(data, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "the SQLite worker failed".into());
            let err = js_sys::Error::new(&message);
            let code = Reflect::get(data, &"code".into()).unwrap_or(JsValue::UNDEFINED);
            let _ = Reflect::set(&err, &"code".into(), &code);
            let _ = reject.call1(&JsValue::UNDEFINED, &err);
        }
    }

    /// The worker is gone: every waiting and later request fails with `why`.
    fn fail(&self, why: &str) {
        self.failed.replace(Some(why.to_owned()));
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        for (_, (_, reject)) in pending {
            let _ = reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new(why));
        }
    }
}

/// Reads the worker's answer to a `run`.
fn reply(value: &JsValue) -> Result<StorageReply> {
    let kind = string(value, "type", 16)?;
    match kind.as_str() {
        "done" => Ok(StorageReply::Done),
        "loaded" => {
            let chunks = field(value, "chunks")?
                .as_f64()
                .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
                .ok_or_else(|| bad("chunks is not a count"))?;
            let states = array(&field(value, "syncStates")?)?;
            let mut sync_states = BTreeMap::new();
            for row in states.iter() {
                let row = array(&row)?;
                let peer = row
                    .get(0)
                    .as_string()
                    .filter(|p| p.len() <= MAX_ID_LEN)
                    .ok_or_else(|| bad("a sync state's peer"))?;
                sync_states.insert(StorageId::from(peer), bytes(&row.get(1))?);
            }
            Ok(StorageReply::Loaded(StoredDoc {
                bytes: bytes(&field(value, "bytes")?)?,
                chunks: chunks as u32,
                sync_states,
            }))
        }
        "listed" => array(&field(value, "docs")?)?
            .iter()
            .map(|id| {
                let id = id.as_string().ok_or_else(|| bad("a listed id"))?;
                DocumentId::parse_url_or_id(&id).map_err(|e| bad(&format!("{id:?}: {e}")))
            })
            .collect::<Result<_>>()
            .map(StorageReply::Listed),
        other => Err(bad(&format!("unknown answer {other:?}"))),
    }
}

fn request(fields: &[(&str, JsValue)]) -> Object {
    object(fields)
}

fn doc_field(doc: &DocumentId) -> (&'static str, JsValue) {
    ("doc", doc.to_string().into())
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let obj = Object::new();
    for (k, v) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj
}

fn field(obj: &JsValue, key: &str) -> Result<JsValue> {
    Reflect::get(obj, &key.into()).map_err(|e| Error::storage(&e))
}

fn string(obj: &JsValue, key: &str, max: usize) -> Result<String> {
    field(obj, key)?
        .as_string()
        .filter(|s| s.len() <= max)
        .ok_or_else(|| bad(&format!("{key} is not a string of at most {max} bytes")))
}

fn array(v: &JsValue) -> Result<Array> {
    let a: Array = v.clone().dyn_into().map_err(|_| bad("expected an array"))?;
    if a.length() > MAX_ROWS {
        return Err(bad("too many rows"));
    }
    Ok(a)
}

fn bytes(v: &JsValue) -> Result<Vec<u8>> {
    v.dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| bad("expected bytes"))
}

fn bad(what: &str) -> Error {
    Error::Storage(format!("the SQLite worker answered badly: {what}"))
}
