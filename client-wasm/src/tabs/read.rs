//! Reading a message from another context, by hand: each field is looked up, type-checked and
//! bounded as it is read (a string's length is checked before it is copied into Rust), and an
//! unknown `type`, `op` or `kind` is refused. Hand-written rather than serde-derived because
//! serde's decoding of tagged enums buffers every field first, and that code alone would cost
//! the package tens of KiB.

use js_sys::{JsString, Reflect};
use sync_core::client::ClientStatus;
use sync_core::model::{Applied, BlockId};
use wasm_bindgen::{JsCast, JsValue};

use super::wire::{
    Call, MAX_CODE, MAX_EDIT_BYTES, MAX_ID, MAX_MESSAGE, MAX_PAGE_JSON, MAX_ROWS, MAX_STORAGE_ID,
    MAX_TITLE, MAX_URL, Outcome, PageEvent, Row, TabMessage,
};
use crate::error::{Error, Result};

/// The addressing of a call, enough to refuse it with a reply when the rest does not read.
#[derive(Debug)]
pub(crate) struct CallHeader {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) seq: u64,
}

/// A message, read and bounded.
pub(crate) fn message(js: &JsValue) -> Result<TabMessage> {
    if !js.is_object() {
        return Err(refused("a message is not an object".into()));
    }
    let kind = text(js, "type", 16)?;
    let from = text(js, "from", MAX_ID)?;
    Ok(match kind.as_str() {
        "hello" => TabMessage::Hello { from },
        "leader" => TabMessage::Leader {
            from,
            storage_id: text(js, "storageId", MAX_STORAGE_ID)?,
        },
        "resigned" => TabMessage::Resigned { from },
        "call" => TabMessage::Call {
            from,
            to: text(js, "to", MAX_ID)?,
            seq: seq(js)?,
            call: call(&object(js, "call")?)?,
        },
        "accepted" => TabMessage::Accepted {
            from,
            to: text(js, "to", MAX_ID)?,
            seq: seq(js)?,
        },
        "reply" => TabMessage::Reply {
            from,
            to: text(js, "to", MAX_ID)?,
            seq: seq(js)?,
            outcome: outcome(&object(js, "outcome")?)?,
        },
        "page" => TabMessage::Page {
            from,
            url: text(js, "url", MAX_URL)?,
            json: text(js, "json", MAX_PAGE_JSON)?,
            status: status(&object(js, "status")?)?,
            event: match text(js, "event", 16)?.as_str() {
                "local" => PageEvent::Local,
                "remote" => PageEvent::Remote,
                "status" => PageEvent::Status,
                other => return Err(refused(format!("unknown page event {other:?}"))),
            },
        },
        other => return Err(refused(format!("unknown message type {other:?}"))),
    })
}

/// The addressing of a call to `me`, if `js` has one that reads.
pub(crate) fn header(js: &JsValue, me: &str) -> Option<CallHeader> {
    if !js.is_object() || text(js, "type", 16).ok()? != "call" {
        return None;
    }
    let header = CallHeader {
        from: text(js, "from", MAX_ID).ok()?,
        to: text(js, "to", MAX_ID).ok()?,
        seq: seq(js).ok()?,
    };
    (header.to == me).then_some(header)
}

fn call(js: &JsValue) -> Result<Call> {
    Ok(match text(js, "op", 16)?.as_str() {
        "create" => Call::Create {
            title: text(js, "title", MAX_TITLE)?,
        },
        "find" => Call::Find {
            url: text(js, "url", MAX_URL)?,
        },
        "list" => Call::List,
        "apply" => Call::Apply {
            url: text(js, "url", MAX_URL)?,
            edit: text(js, "edit", MAX_EDIT_BYTES)?,
        },
        "synced" => Call::Synced {
            url: text(js, "url", MAX_URL)?,
        },
        "online" => Call::Online {
            url: text(js, "url", MAX_URL)?,
            online: field(js, "online")
                .and_then(|v| v.as_bool())
                .ok_or_else(|| refused("online must be a boolean".into()))?,
        },
        "setToken" => Call::SetToken {
            token: text(js, "token", crate::options::MAX_TOKEN)?,
        },
        other => return Err(refused(format!("unknown call {other:?}"))),
    })
}

fn outcome(js: &JsValue) -> Result<Outcome> {
    Ok(match text(js, "kind", 16)?.as_str() {
        "page" => Outcome::Page {
            url: text(js, "url", MAX_URL)?,
            json: text(js, "json", MAX_PAGE_JSON)?,
            status: status(&object(js, "status")?)?,
        },
        "rows" => {
            let rows = field(js, "rows")
                .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
                .ok_or_else(|| refused("rows must be an array".into()))?;
            if rows.length() as usize > MAX_ROWS {
                return Err(refused(format!("more than {MAX_ROWS} rows")));
            }
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(Row {
                        url: text(&r, "url", MAX_URL)?,
                        title: text(&r, "title", MAX_TITLE)?,
                    })
                })
                .collect::<Result<_>>()?;
            Outcome::Rows { rows }
        }
        "applied" => {
            let applied = object(js, "applied")?;
            let created = match field(&applied, "created") {
                None => None,
                Some(v) => {
                    let id = v
                        .as_string()
                        .filter(|s| s.len() <= MAX_ID)
                        .ok_or_else(|| refused("created must be a block id".into()))?;
                    Some(
                        id.parse::<BlockId>()
                            .map_err(|e| refused(format!("created: {e}")))?,
                    )
                }
            };
            Outcome::Applied {
                applied: Applied { created },
            }
        }
        "done" => Outcome::Done,
        "failed" => Outcome::Failed {
            code: text(js, "code", MAX_CODE)?,
            message: text(js, "message", MAX_MESSAGE)?,
        },
        "retry" => Outcome::Retry,
        other => return Err(refused(format!("unknown outcome {other:?}"))),
    })
}

/// A status is small and read with serde (the core's type, which also checks its codes).
fn status(js: &JsValue) -> Result<ClientStatus> {
    serde_wasm_bindgen::from_value(js.clone()).map_err(|e| refused(format!("status: {e}")))
}

/// A field that is present (not `undefined` or `null`).
fn field(js: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(js, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn object(js: &JsValue, key: &str) -> Result<JsValue> {
    field(js, key)
        .filter(JsValue::is_object)
        .ok_or_else(|| refused(format!("{key} must be an object")))
}

/// A string field of at most `max` UTF-8 bytes; its length is checked before it is copied.
fn text(js: &JsValue, key: &str, max: usize) -> Result<String> {
    let v = field(js, key)
        .and_then(|v| v.dyn_into::<JsString>().ok())
        .ok_or_else(|| refused(format!("{key} must be a string")))?;
    // A UTF-16 unit is at least one UTF-8 byte: more units than `max` is too long for sure.
    if v.length() as usize > max {
        return Err(refused(format!("{key} is longer than {max} bytes")));
    }
    let s = String::from(v);
    if s.len() > max {
        return Err(refused(format!("{key} is longer than {max} bytes")));
    }
    Ok(s)
}

/// A sequence number: an integer that stays exact in a JavaScript number.
fn seq(js: &JsValue) -> Result<u64> {
    let n = field(js, "seq")
        .and_then(|v| v.as_f64())
        .ok_or_else(|| refused("seq must be a number".into()))?;
    if !(0.0..=9_007_199_254_740_991.0).contains(&n) || n.fract() != 0.0 {
        return Err(refused(format!("seq {n} is not a safe integer")));
    }
    Ok(n as u64)
}

fn refused(why: String) -> Error {
    Error::BadTabMessage(why)
}
