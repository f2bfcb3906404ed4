//! The crate's one error type. Relay refusals surface as typed variants so callers can act.

use sync_core::client::ApplyError;
use sync_core::model::{EditError, LoadError};
use sync_core::protocol::{BadDocumentId, ErrorCode};

/// Everything the native client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document id or URL is malformed. Check the `automerge:<id>` you passed.
    #[error("bad document id: {0}")]
    BadDocumentId(#[from] BadDocumentId),
    /// The document is not in this database. Create it, or `sync` it from the relay first.
    #[error("document {0} is not in this database (sync it from the relay first)")]
    UnknownDocument(String),
    /// The edit was refused; nothing was written.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// Stored bytes do not load as a document: the database is damaged.
    #[error("stored document is damaged: {0}")]
    Load(#[from] LoadError),
    /// The stored document could not be read (the store failed, or its bytes do not load).
    ///
    /// Recovery: a store failure is retried by the session; a document that does not load
    /// needs restoring from a backup or a fresh sync into a new database.
    #[error("cannot read the stored document: {0}")]
    LoadFailed(String),
    /// Edit `index` of a batch was refused; the edits before it are applied and saved.
    ///
    /// Recovery: see the source; resubmit from `index` once fixed.
    #[error("edit {index} of the batch was refused: {source}")]
    BatchRefused {
        /// The refused edit's position in the batch.
        index: usize,
        /// Why.
        source: Box<Self>,
    },
    /// The document is still being read from local storage.
    ///
    /// Recovery: retry once the status is past `loading`.
    #[error("the document is not loaded yet")]
    NotLoaded,
    /// The local database failed. For a failed edit save, the edit is kept in memory and
    /// retried; otherwise check disk space and permissions, and that the file is not damaged.
    #[error("local database: {0}")]
    Storage(#[source] DatabaseError),
    /// Saving an edit failed. The edit is kept in memory and the save is retried; it is not
    /// durable yet. Check disk space and permissions.
    #[error("saving the edit failed (kept in memory, will retry): {0}")]
    SaveFailed(String),
    /// The database was written by a newer Tessera; it is left untouched.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade tessera, the file was not modified"
    )]
    NewerSchema {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// The relay refused the token (`auth_failed`/`token_expired`): get a new token.
    #[error("the relay refused the token ({code}): mint or fetch a new token and retry")]
    NeedsToken {
        /// Which refusal.
        code: ErrorCode,
    },
    /// The relay refused the document for good (`doc_deleted`, `permission_denied`, ...).
    #[error("the relay refused this document ({code}){}", fmt_msg(.message))]
    Refused {
        /// Which refusal.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
    /// The relay does not have this document, and this device has none of it either.
    #[error(
        "the relay does not have document {0}; check the id, or sync from a device that has it"
    )]
    Unavailable(String),
    /// Sync did not finish in time. `reason` says what was last seen.
    #[error("not in sync after {secs}s: {reason}")]
    Timeout {
        /// The timeout.
        secs: u64,
        /// The last known state (for example "relay unreachable: connection refused").
        reason: String,
    },
    /// The relay URL cannot be used.
    #[error(
        "bad relay URL {0:?}: expected https://HOST[:PORT] (or wss://; http:// and ws:// on loopback)"
    )]
    BadRelayUrl(String),
    /// An unencrypted relay URL names another machine: the token would travel in clear text.
    /// Use the relay's `https://` URL, or opt in with `TransportOptions::allow_insecure`.
    #[error(
        "refusing an unencrypted connection to {host}: the token would travel in clear text; use https:// (wss://) or pass --insecure-transport"
    )]
    InsecureTransport {
        /// The non-loopback host of the plain URL.
        host: String,
    },
    /// The extra CA file cannot be used. Point it at a PEM file of CA certificates.
    #[error("cannot use CA file {path}: {reason}")]
    CaFile {
        /// The file given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS library refused its configuration (a build problem, not a user one): report it.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The document's task has ended (the client was dropped).
    #[error("the document session has stopped")]
    SessionGone,
    /// Filesystem error (creating the data directory).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A failure of the local database engine, kept opaque so the engine's types stay out of the
/// public API (an FFI layer maps [`Error`] without knowing SQLite exists). The message is the
/// engine's own text.
#[derive(Debug)]
pub struct DatabaseError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl DatabaseError {
    /// The engine's message.
    pub fn message(&self) -> String {
        self.0.to_string()
    }
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The engine's own cause (an IO error, say); the engine error itself is this one's
        // text, so repeating it as a source would print it twice in a chain.
        self.0.source()
    }
}

/// Wraps the engine's errors at every call site (`.db()?`): no public `From<rusqlite::Error>`,
/// which would put rusqlite in the public API.
pub(crate) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, rusqlite::Error> {
    fn db(self) -> Result<T> {
        self.map_err(|e| Error::Storage(DatabaseError(Box::new(e))))
    }
}

impl<T> Db<T> for std::result::Result<T, client_sqlite::Error> {
    fn db(self) -> Result<T> {
        self.map_err(|e| match e {
            client_sqlite::Error::NewerSchema { found, supported } => {
                Error::NewerSchema { found, supported }
            }
            client_sqlite::Error::Sqlite(e) => Error::Storage(DatabaseError(Box::new(e))),
        })
    }
}

fn fmt_msg(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The crate's result type.
impl From<ApplyError> for Error {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::NotLoaded => Self::NotLoaded,
            ApplyError::Edit(e) => Self::Edit(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_keep_their_text_but_not_their_type() {
        let sql: std::result::Result<(), rusqlite::Error> = Err(rusqlite::Error::InvalidQuery);
        let err = sql.db().unwrap_err();
        let Error::Storage(db) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(db.message(), rusqlite::Error::InvalidQuery.to_string());
        assert_eq!(err.to_string(), format!("local database: {}", db.message()));
        // The chain ends at the opaque error: nothing to downcast to an engine type.
        let source = std::error::Error::source(&err).unwrap();
        assert!(source.downcast_ref::<rusqlite::Error>().is_none());
        assert!(source.downcast_ref::<DatabaseError>().is_some());
    }
}
