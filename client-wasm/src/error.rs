//! The crate's one error type, and how it reaches JavaScript: as an `Error` named
//! `TesseraError` with a machine-readable `code` (the relay's code for refusals), so apps
//! branch on `err.code` and never parse messages.

use sync_core::protocol::ErrorCode;
use wasm_bindgen::{JsCast, JsValue};

/// Everything that can go wrong in a call from JavaScript.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options given to `Tessera.open` are invalid.
    ///
    /// Recovery: fix the options (the message names the field) and open again.
    #[error("bad options: {0}")]
    BadOptions(String),
    /// The string is not a document URL (`automerge:<id>`) or id.
    ///
    /// Recovery: pass a URL from `page.url` or `list()`.
    #[error("not a document URL: {0}")]
    BadUrl(String),
    /// The edit is not a `PageEdit` (wrong shape, unknown type, invalid kind or mark).
    ///
    /// Recovery: fix the edit; nothing was written.
    #[error("bad edit: {0}")]
    BadEdit(String),
    /// The page refused the edit (no such block, deleted block, range outside the text, a
    /// move into its own subtree). Nothing was written.
    ///
    /// Recovery: re-read the page with `toJSON()` and retry with ids and positions from it.
    #[error("{0}")]
    EditRefused(String),
    /// The page is still being read from storage, or could not be read.
    ///
    /// Recovery: await `find()` (it resolves once loaded); if `status.sync.state` is
    /// `loadFailed`, the stored data is unreadable.
    #[error("the page is not loaded: {0}")]
    NotLoaded(String),
    /// The store could not be opened or answered with an error.
    ///
    /// Recovery: check that the context allows the store (IndexedDB is missing in some
    /// private modes); the message is the browser's.
    #[error("storage: {0}")]
    Storage(String),
    /// The chosen store cannot run in this context: SQLite needs a dedicated `Worker` and OPFS
    /// sync access handles (not in service workers, Node or insecure pages); IndexedDB is
    /// missing in Node.
    ///
    /// Recovery: choose another store, or leave `storage.type` out for the best one available.
    #[error("this store is not available here: {0}")]
    StorageUnavailable(String),
    /// Another tab or worker of this origin has this database open (IndexedDB or SQLite). One
    /// writer per database: two would overwrite each other's saves.
    ///
    /// Recovery: close the client in the other context (`close()`), or open another database
    /// name; opening again succeeds once the other one closed.
    #[error("another tab or worker has the database {0:?} open")]
    StoreBusy(String),
    /// The edit is applied in memory but its save failed. The client retries the save; until
    /// it succeeds `page.status.unsaved` is true and `saveError` says why.
    ///
    /// Recovery: nothing to redo; watch `page.status` or tell the user storage is failing.
    #[error("the edit is applied but not saved yet (retrying): {0}")]
    SaveFailed(String),
    /// The relay refused this document's session; `code` is the relay's.
    ///
    /// Recovery: depends on the code: `auth_failed`/`token_expired` need a new token
    /// (`setToken` or the token provider), `doc_deleted` and `permission_denied` are final.
    #[error("the relay refused ({code}): {message}")]
    Refused {
        /// The relay's code.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
    /// The page stopped syncing for a reason this client does not know yet (a newer core).
    ///
    /// Recovery: show the message; `page.status` has the details.
    #[error("stopped: {0}")]
    Stopped(String),
    /// No `WebSocket` constructor in this context (Node before 22 without
    /// `--experimental-websocket`).
    ///
    /// Recovery: pass one as the `WebSocket` option (for example from the `ws` package).
    #[error("no WebSocket in this context: pass the WebSocket option")]
    NoWebSocket,
    /// The page or client was closed.
    ///
    /// Recovery: open it again (`find` with its URL).
    #[error("closed")]
    Closed,
    /// This tab is served by another tab or worker (the leader), and the leader went away
    /// before answering an edit or a create: it may or may not have been stored. Calls that
    /// are harmless to repeat are sent to the next leader instead of failing.
    ///
    /// Recovery: re-read the page (`toJSON()`, `list()`) and redo the edit if it is missing.
    #[error("the tab serving this one went away before answering: {0}")]
    LeaderLost(String),
    /// Another tab or worker of this origin sent a message this one refuses (malformed, over
    /// a bound, too many calls at once). Nothing was carried out.
    ///
    /// Recovery: none for the app; it means another tab runs a different version of this
    /// package, or misbehaves. Reload the tabs.
    #[error("refused a message from another tab: {0}")]
    BadTabMessage(String),
    /// An error that crossed a boundary as its code and message: a call the leader tab
    /// carried out failed there, or a promise of this package rejected. `code` is what it
    /// would have been here.
    ///
    /// Recovery: as for that code.
    #[error("{message}")]
    Coded {
        /// One of this package's codes.
        code: &'static str,
        /// The leader's message.
        message: String,
    },
}

/// Every code [`Error::code`] can return, besides the relay's.
const OWN_CODES: [&str; 13] = [
    "bad_options",
    "bad_url",
    "bad_edit",
    "edit_refused",
    "not_loaded",
    "storage_failed",
    "store_busy",
    "save_failed",
    "stopped",
    "no_websocket",
    "closed",
    "leader_lost",
    "bad_tab_message",
];

/// Results of calls from JavaScript.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The machine-readable code JavaScript sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadOptions(_) => "bad_options",
            Self::BadUrl(_) => "bad_url",
            Self::BadEdit(_) => "bad_edit",
            Self::EditRefused(_) => "edit_refused",
            Self::NotLoaded(_) => "not_loaded",
            Self::Storage(_) => "storage_failed",
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::StoreBusy(_) => "store_busy",
            Self::SaveFailed(_) => "save_failed",
            Self::Refused { code, .. } => code.as_str(),
            Self::Stopped(_) => "stopped",
            Self::NoWebSocket => "no_websocket",
            Self::Closed => "closed",
            Self::LeaderLost(_) => "leader_lost",
            Self::BadTabMessage(_) => "bad_tab_message",
            Self::Coded { code, .. } => code,
        }
    }

    /// The error another tab reported with this code and message. A code this package does
    /// not know (a tab running another version) becomes `bad_tab_message`.
    pub(crate) fn from_code(code: &str, message: String) -> Self {
        let known = OWN_CODES
            .into_iter()
            .chain(ErrorCode::ALL.into_iter().map(ErrorCode::as_str))
            .find(|c| *c == code);
        match known {
            Some(code) => Self::Coded { code, message },
            None => Self::BadTabMessage(format!("unknown error code {code:?}: {message}")),
        }
    }

    /// The error a rejected promise of this package carries (a `TesseraError` keeps its code);
    /// any other exception is a storage error, the only other source of exceptions here.
    pub(crate) fn from_js(e: &JsValue) -> Self {
        let code = js_sys::Reflect::get(e, &"code".into())
            .ok()
            .and_then(|c| c.as_string());
        let tessera = e
            .dyn_ref::<js_sys::Error>()
            .is_some_and(|err| err.name() == "TesseraError");
        match code {
            Some(code) if tessera => Self::from_code(&code, describe(e)),
            _ => Self::storage(e),
        }
    }

    /// A storage error from a JavaScript exception.
    pub(crate) fn storage(e: &JsValue) -> Self {
        Self::Storage(describe(e))
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        let err = js_sys::Error::new(&e.to_string());
        err.set_name("TesseraError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
        err.into()
    }
}

/// A JavaScript exception's message, for errors and statuses people read.
pub(crate) fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}
