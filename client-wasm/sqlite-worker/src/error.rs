//! The worker's one error type; each variant reaches the page as a reply with a `code`
//! ([`Error::code`]) and the message.

/// What the SQLite worker can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// OPFS sync access handles are not available here (not a dedicated worker, not a secure
    /// context, or an older browser).
    ///
    /// Recovery: use the IndexedDB store; the default storage does so by itself.
    #[error("SQLite on OPFS is not available here: {0}")]
    Unsupported(String),
    /// Another context still holds this database's OPFS files.
    ///
    /// Recovery: close the client in the other tab or worker, then open again.
    #[error("another tab or worker has the SQLite database open: {0}")]
    Busy(String),
    /// OPFS failed (quota, a damaged pool directory).
    ///
    /// Recovery: check the origin's storage quota; the message is the browser's.
    #[error("OPFS: {0}")]
    Opfs(String),
    /// SQLite failed, or the file has a newer schema. A failed write changed nothing.
    ///
    /// Recovery: the session retries writes; a newer schema needs a newer Tessera.
    #[error(transparent)]
    Store(#[from] client_sqlite::Error),
    /// A message from the page is not one of the protocol's, or exceeds a bound.
    ///
    /// Recovery: a bug in the caller; the message names the field.
    #[error("bad message: {0}")]
    BadMessage(String),
    /// An op arrived while no database is open (before `open`, or after `close`).
    ///
    /// Recovery: open first; a closed worker is done, start another.
    #[error("the SQLite database is not open")]
    NotOpen,
}

impl Error {
    /// The code the page branches on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "unsupported",
            Self::Busy(_) => "busy",
            Self::Opfs(_) | Self::Store(_) | Self::BadMessage(_) | Self::NotOpen => "failed",
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
