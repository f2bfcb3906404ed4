//! The protocol between the page's client and this worker: structured-clone objects, one
//! request at a time per id, every field checked and bounded here before use.
//!
//! Page → worker:
//! - `{id, kind: "open", name, freshId}`: open database `name` (1–128 bytes); `freshId`
//!   (1–128 bytes) becomes the storage id of a new database;
//! - `{id, kind: "run", op}` with `op` one of `{type: "load", doc}`, `{type: "list"}`,
//!   `{type: "append", doc, bytes}`, `{type: "snapshot", doc, bytes}`,
//!   `{type: "syncState", doc, peer, bytes}` (`doc` a document id, `peer` a storage id of at
//!   most [`MAX_ID_LEN`] bytes, `bytes` a `Uint8Array` of at most [`MAX_CHUNK`] bytes);
//! - `{id, kind: "close"}`.
//!
//! Worker → page: `{id, ok: true, value}` or `{id, ok: false, code, message}`, where `value`
//! is `{storageId}` for `open`, `{type: "done"}`, `{type: "loaded", bytes, chunks,
//! syncStates: [[peer, bytes], …]}` or `{type: "listed", docs: [id, …]}` for `run`, and
//! `{type: "closed"}` for `close`. Byte arrays are transferred, not copied.

use js_sys::{Array, Object, Reflect, Uint8Array};
use sync_core::client::{ClientStorageOp, StorageReply};
use sync_core::protocol::limits::{MAX_DOCUMENT_ID_TEXT_LEN, MAX_ID_LEN};
use sync_core::protocol::{DocumentId, StorageId};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};

/// Longest database name and storage id accepted.
pub const MAX_NAME: usize = 128;
/// Largest chunk or sync state accepted in one op (a wasm32 worker has at most 4 GiB, and
/// a load concatenates every chunk of a document).
pub const MAX_CHUNK: u32 = 256 * 1024 * 1024;

/// A request from the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Open the database.
    Open {
        /// The app's database name.
        name: String,
        /// The storage id for a new database.
        fresh_id: String,
    },
    /// Run one op.
    Run(ClientStorageOp),
    /// Close the database and release its files.
    Close,
}

/// Reads a request; a message without a usable id is answered with id `None`.
pub fn decode(data: &JsValue) -> std::result::Result<(u32, Request), (Option<u32>, Error)> {
    let id = get(data, "id")
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
        .map(|n| n as u32);
    let Some(id) = id else {
        return Err((None, bad("id must be an integer of 32 bits")));
    };
    request(data).map(|r| (id, r)).map_err(|e| (Some(id), e))
}

fn request(data: &JsValue) -> Result<Request> {
    match string(data, "kind", 16)?.as_str() {
        "open" => Ok(Request::Open {
            name: nonempty(string(data, "name", MAX_NAME)?, "name")?,
            fresh_id: nonempty(string(data, "freshId", MAX_NAME)?, "freshId")?,
        }),
        "run" => op(&get(data, "op")?).map(Request::Run),
        "close" => Ok(Request::Close),
        other => Err(bad(&format!("unknown kind {other:?}"))),
    }
}

fn op(op: &JsValue) -> Result<ClientStorageOp> {
    Ok(match string(op, "type", 16)?.as_str() {
        "load" => ClientStorageOp::Load { doc: doc(op)? },
        "list" => ClientStorageOp::List,
        "append" => ClientStorageOp::AppendChanges {
            doc: doc(op)?,
            bytes: bytes(op)?,
        },
        "snapshot" => ClientStorageOp::ReplaceWithSnapshot {
            doc: doc(op)?,
            bytes: bytes(op)?,
        },
        "syncState" => ClientStorageOp::PutSyncState {
            doc: doc(op)?,
            peer: StorageId::from(nonempty(string(op, "peer", MAX_ID_LEN)?, "peer")?),
            bytes: bytes(op)?,
        },
        other => return Err(bad(&format!("unknown op type {other:?}"))),
    })
}

/// The answer to a request.
pub fn ok(id: u32, value: &JsValue) -> Object {
    object(&[
        ("id", id.into()),
        ("ok", JsValue::TRUE),
        ("value", value.clone()),
    ])
}

/// A refusal or failure.
pub fn err(id: Option<u32>, error: &Error) -> Object {
    object(&[
        ("id", id.map_or(JsValue::NULL, JsValue::from)),
        ("ok", JsValue::FALSE),
        ("code", error.code().into()),
        ("message", error.to_string().into()),
    ])
}

/// `open`'s value.
pub fn opened(storage_id: &StorageId) -> JsValue {
    object(&[("storageId", storage_id.as_str().into())]).into()
}

/// `close`'s value.
pub fn closed() -> JsValue {
    object(&[("type", "closed".into())]).into()
}

/// A reply's value, and the buffers to transfer with it.
pub fn reply(reply: &StorageReply) -> (JsValue, Array) {
    let transfer = Array::new();
    let value = match reply {
        StorageReply::Done => object(&[("type", "done".into())]),
        StorageReply::Loaded(stored) => {
            let states = Array::new();
            for (peer, bytes) in &stored.sync_states {
                let bytes = Uint8Array::from(bytes.as_slice());
                transfer.push(&bytes.buffer());
                states.push(&Array::of2(&peer.as_str().into(), &bytes));
            }
            let bytes = Uint8Array::from(stored.bytes.as_slice());
            transfer.push(&bytes.buffer());
            object(&[
                ("type", "loaded".into()),
                ("bytes", bytes.into()),
                ("chunks", stored.chunks.into()),
                ("syncStates", states.into()),
            ])
        }
        StorageReply::Listed(docs) => {
            let ids: Array = docs.iter().map(|d| JsValue::from(d.to_string())).collect();
            object(&[("type", "listed".into()), ("docs", ids.into())])
        }
    };
    (value.into(), transfer)
}

fn get(obj: &JsValue, key: &str) -> Result<JsValue> {
    if !obj.is_object() {
        return Err(bad("expected an object"));
    }
    Reflect::get(obj, &key.into()).map_err(|_| bad(&format!("cannot read {key}")))
}

fn string(obj: &JsValue, key: &str, max: usize) -> Result<String> {
    let s = get(obj, key)?
        .as_string()
        .ok_or_else(|| bad(&format!("{key} must be a string")))?;
    if s.len() > max {
        return Err(bad(&format!("{key} is longer than {max} bytes")));
    }
    Ok(s)
}

fn nonempty(s: String, key: &str) -> Result<String> {
    if s.is_empty() {
        return Err(bad(&format!("{key} is empty")));
    }
    Ok(s)
}

fn doc(op: &JsValue) -> Result<DocumentId> {
    let id = string(op, "doc", MAX_DOCUMENT_ID_TEXT_LEN)?;
    DocumentId::parse_url_or_id(&id).map_err(|e| bad(&format!("doc {id:?}: {e}")))
}

fn bytes(op: &JsValue) -> Result<Vec<u8>> {
    let bytes = get(op, "bytes")?
        .dyn_into::<Uint8Array>()
        .map_err(|_| bad("bytes must be a Uint8Array"))?;
    if bytes.length() > MAX_CHUNK {
        return Err(bad(&format!("bytes is larger than {MAX_CHUNK} bytes")));
    }
    Ok(bytes.to_vec())
}

fn bad(what: &str) -> Error {
    Error::BadMessage(what.to_owned())
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let obj = Object::new();
    for (k, v) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj
}
