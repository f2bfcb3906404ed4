//! `Tessera.open`'s options, read from the JavaScript object and bounded.

use js_sys::{Function, Reflect};
use sync_core::protocol::Route;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};

/// Longest relay URL, token and database name accepted.
const MAX_URL: usize = 2048;
pub(crate) const MAX_TOKEN: usize = 16 * 1024;
const MAX_NAME: usize = 256;

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StorageChoice {
    Memory,
    IndexedDb { name: String },
}

/// The options, checked.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) relay: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) token_provider: Option<Function>,
    pub(crate) storage: StorageChoice,
    pub(crate) web_socket: Option<Function>,
    pub(crate) online: bool,
    /// Whether connections send a keepalive frame when quiet (see `env::in_service_worker`).
    pub(crate) keepalive: bool,
}

impl Options {
    pub(crate) fn read(js: &JsValue) -> Result<Self> {
        if !js.is_object() {
            return Err(Error::BadOptions("expected an object".into()));
        }
        let relay = string(js, "relay", MAX_URL)?;
        if let Some(relay) = &relay {
            // The URL builder is the core's; a base it cannot use is refused here, once.
            let probe = sync_core::protocol::DocumentId::from_bytes([0; 16]);
            if Route::Connect(probe).url(relay, None).is_none() {
                return Err(Error::BadOptions(format!(
                    "relay must be an http(s):// or ws(s):// URL, not {relay:?}"
                )));
            }
        }
        let storage = match get(js, "storage")? {
            None => StorageChoice::IndexedDb {
                name: "tessera".into(),
            },
            Some(s) => match string(&s, "type", 32)?.as_deref() {
                Some("memory") => StorageChoice::Memory,
                Some("indexeddb") => StorageChoice::IndexedDb {
                    name: string(&s, "name", MAX_NAME)?.unwrap_or_else(|| "tessera".into()),
                },
                other => {
                    return Err(Error::BadOptions(format!(
                        "storage.type must be \"memory\" or \"indexeddb\", not {other:?}"
                    )));
                }
            },
        };
        let online = match get(js, "online")? {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Error::BadOptions("online must be a boolean".into()))?,
        };
        let keepalive = match get(js, "keepalive")? {
            None => crate::env::in_service_worker(),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| Error::BadOptions("keepalive must be a boolean".into()))?,
        };
        Ok(Self {
            relay,
            token: string(js, "token", MAX_TOKEN)?,
            token_provider: function(js, "tokenProvider")?,
            storage,
            web_socket: function(js, "WebSocket")?,
            online,
            keepalive,
        })
    }
}

fn get(js: &JsValue, key: &str) -> Result<Option<JsValue>> {
    let v =
        Reflect::get(js, &key.into()).map_err(|e| Error::BadOptions(crate::error::describe(&e)))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

fn string(js: &JsValue, key: &str, max: usize) -> Result<Option<String>> {
    let Some(v) = get(js, key)? else {
        return Ok(None);
    };
    let s = v
        .as_string()
        .ok_or_else(|| Error::BadOptions(format!("{key} must be a string")))?;
    if s.len() > max {
        return Err(Error::BadOptions(format!(
            "{key} is longer than {max} bytes"
        )));
    }
    Ok(Some(s))
}

fn function(js: &JsValue, key: &str) -> Result<Option<Function>> {
    get(js, key)?
        .map(|v| {
            v.dyn_into::<Function>()
                .map_err(|_| Error::BadOptions(format!("{key} must be a function")))
        })
        .transpose()
}

/// A token from JavaScript (`setToken`, a token provider), bounded.
pub(crate) fn token(v: &JsValue) -> Result<String> {
    let s = v
        .as_string()
        .ok_or_else(|| Error::BadOptions("a token must be a string".into()))?;
    if s.len() > MAX_TOKEN {
        return Err(Error::BadOptions(format!(
            "a token is longer than {MAX_TOKEN} bytes"
        )));
    }
    Ok(s)
}
