//! `Tessera.open`'s options, read from the JavaScript object and bounded.

use js_sys::{Function, Reflect};
use sync_core::protocol::Route;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};

/// Longest relay URL, token and database name accepted.
const MAX_URL: usize = 2048;
pub(crate) const MAX_TOKEN: usize = 16 * 1024;
const MAX_NAME: usize = 256;
const MAX_SQLITE_NAME: usize = crate::store::MAX_SQLITE_NAME;
/// The database name when none is given.
const DEFAULT_NAME: &str = "tessera";

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StorageChoice {
    Memory,
    IndexedDb {
        name: String,
    },
    Sqlite {
        name: String,
        /// Chosen as the default: if the worker finds no OPFS sync access handles after all,
        /// the database is opened in IndexedDB instead.
        or_indexeddb: bool,
    },
}

impl StorageChoice {
    /// The default when no type is given: SQLite where this context can start its worker,
    /// else IndexedDB, else (Node) memory.
    fn best(name: String) -> Self {
        if crate::store::sqlite_can_run() {
            Self::Sqlite {
                name,
                or_indexeddb: true,
            }
        } else if crate::store::indexeddb_available() {
            Self::IndexedDb { name }
        } else {
            Self::Memory
        }
    }

    /// What the contexts sharing this database call it (tabs, locks); `None` for a store
    /// only this context can see.
    pub(crate) fn shared_key(&self) -> Option<String> {
        match self {
            Self::Memory => None,
            Self::IndexedDb { name } => Some(format!("indexeddb:{name}")),
            Self::Sqlite { name, .. } => Some(format!("sqlite:{name}")),
        }
    }

    /// The database's name (the memory store has none).
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Memory => "memory",
            Self::IndexedDb { name } | Self::Sqlite { name, .. } => name,
        }
    }
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
        let storage = storage(get(js, "storage")?)?;
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

fn storage(s: Option<JsValue>) -> Result<StorageChoice> {
    let Some(s) = s else {
        return Ok(StorageChoice::best(DEFAULT_NAME.into()));
    };
    if !s.is_object() {
        return Err(Error::BadOptions("storage must be an object".into()));
    }
    let kind = string(&s, "type", 32)?;
    // SQLite names are OPFS directories, hence the shorter bound.
    let max = if kind.as_deref() == Some("indexeddb") {
        MAX_NAME
    } else {
        MAX_SQLITE_NAME
    };
    let name = string(&s, "name", max)?.unwrap_or_else(|| DEFAULT_NAME.into());
    if name.is_empty() {
        return Err(Error::BadOptions("storage.name is empty".into()));
    }
    Ok(match kind.as_deref() {
        None => StorageChoice::best(name),
        Some("sqlite") => StorageChoice::Sqlite {
            name,
            or_indexeddb: false,
        },
        Some("indexeddb") => StorageChoice::IndexedDb { name },
        Some("memory") => StorageChoice::Memory,
        Some(other) => {
            return Err(Error::BadOptions(format!(
                "storage.type must be \"sqlite\", \"indexeddb\" or \"memory\", not {other:?}"
            )));
        }
    })
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
