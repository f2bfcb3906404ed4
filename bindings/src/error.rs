//! `TesseraError`: the one error every binding raises, translated from `client_native::Error`
//! (and from the facade's own two failures: a closed handle, a panic caught at the FFI).
//! Relay refusals carry the relay's `code`; every `reason` says what a person can do.

use crate::status::ErrorCode;

/// Everything a Tessera call can fail with. In Python each variant is a subclass of
/// `TesseraError` (`except TesseraError.Refused as e: e.code, e.reason`); in Kotlin a subclass of
/// `TesseraException`; in Swift an enum case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TesseraError {
    /// An argument is malformed (a document URL, a block id, a heading level, a mark value).
    /// Fix the argument; nothing was written.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The edit was refused (no such block, deleted block, range outside the text, a move
    /// into its own subtree). Re-read the page with `view()` and retry; nothing was written.
    #[error("edit refused: {reason}")]
    Edit {
        /// What is wrong.
        reason: String,
    },
    /// The document is not in this database. `find` it with a relay configured to fetch it.
    #[error("unknown document: {reason}")]
    UnknownDocument {
        /// Which document.
        reason: String,
    },
    /// The local database failed or is damaged, or was written by a newer Tessera. Check disk
    /// space and permissions; a failed edit save is kept in memory and retried.
    #[error("local storage: {reason}")]
    Storage {
        /// The database's message.
        reason: String,
    },
    /// The relay refused the token and the token provider's fresh one. Supply a valid token
    /// (sign in again), then `start_sync()`.
    #[error("the relay refused the token ({code:?}): {reason}")]
    TokenNeeded {
        /// `AuthFailed` or `TokenExpired`.
        code: ErrorCode,
        /// The relay's message.
        reason: String,
    },
    /// The relay refused the document for a reason retrying cannot fix (deleted, no
    /// permission, quota). Tell the user; `code` says which.
    #[error("the relay refused ({code:?}): {reason}")]
    Refused {
        /// The relay's code.
        code: ErrorCode,
        /// The relay's message.
        reason: String,
    },
    /// The relay does not have this document and this device has none of it: check the URL,
    /// or sync it from a device that has it.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Which document.
        reason: String,
    },
    /// A wait ended before the document was in sync; `reason` says what was last seen
    /// (for example that the relay is unreachable). Sync goes on in the background.
    #[error("timed out: {reason}")]
    Timeout {
        /// What was last seen.
        reason: String,
    },
    /// The relay URL or transport settings cannot be used (a bad URL, `http://` to another
    /// machine, an unusable CA file). Fix the configuration given to `Tessera.open`.
    #[error("relay configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// No relay was given to `Tessera.open`, so this call (sync, or finding a document that
    /// is not stored here) cannot be made. Open with a relay URL.
    #[error("no relay configured: {reason}")]
    NoRelay {
        /// What needed it.
        reason: String,
    },
    /// The handle was closed (`close()`), or its session ended. Open the database again.
    #[error("closed: {reason}")]
    Closed {
        /// What was closed.
        reason: String,
    },
    /// A callback of the app (the token provider) raised an exception; its text is here.
    #[error("app callback failed: {reason}")]
    Callback {
        /// The exception's text.
        reason: String,
    },
    /// A bug in Tessera (a panic, caught before it crossed the FFI). Report it with the
    /// message; the handle that raised it should be closed and opened again.
    #[error("internal error: {reason}")]
    Internal {
        /// The panic's text.
        reason: String,
    },
}

impl TesseraError {
    pub(crate) fn invalid(e: impl std::fmt::Display) -> Self {
        Self::InvalidInput {
            reason: e.to_string(),
        }
    }
}

/// A host callback that raised: uniffi hands its text here.
impl From<uniffi::UnexpectedUniFFICallbackError> for TesseraError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Callback { reason: e.reason }
    }
}

/// The bindings' result type.
pub type Result<T, E = TesseraError> = std::result::Result<T, E>;

impl From<client_native::Error> for TesseraError {
    fn from(e: client_native::Error) -> Self {
        use client_native::Error as E;
        use sync_core::model::EditError;
        let reason = e.to_string();
        match e {
            E::BadDocumentId(_) | E::Edit(EditError::Invalid(_)) => Self::InvalidInput { reason },
            E::Edit(_) => Self::Edit { reason },
            E::UnknownDocument(_) => Self::UnknownDocument { reason },
            E::Load(_)
            | E::LoadFailed(_)
            | E::NotLoaded
            | E::Storage(_)
            | E::SaveFailed(_)
            | E::NewerSchema { .. }
            | E::Io(_) => Self::Storage { reason },
            E::NeedsToken { code } => Self::TokenNeeded {
                code: code.into(),
                reason,
            },
            E::Refused { code, .. } => Self::Refused {
                code: code.into(),
                reason,
            },
            E::Unavailable(_) => Self::Unavailable { reason },
            E::Timeout { .. } => Self::Timeout { reason },
            E::BadRelayUrl(_) | E::InsecureTransport { .. } | E::CaFile { .. } | E::Tls(_) => {
                Self::Config { reason }
            }
            E::SessionGone => Self::Closed { reason },
            // The refused edit's own kind of error, with the batch index in its reason.
            E::BatchRefused { source, .. } => Self::from(*source).with_reason(reason),
        }
    }
}

impl TesseraError {
    pub(crate) fn with_reason(mut self, text: String) -> Self {
        match &mut self {
            Self::InvalidInput { reason }
            | Self::Edit { reason }
            | Self::UnknownDocument { reason }
            | Self::Storage { reason }
            | Self::TokenNeeded { reason, .. }
            | Self::Refused { reason, .. }
            | Self::Unavailable { reason }
            | Self::Timeout { reason }
            | Self::Config { reason }
            | Self::NoRelay { reason }
            | Self::Closed { reason }
            | Self::Callback { reason }
            | Self::Internal { reason } => *reason = text,
        }
        self
    }
}
