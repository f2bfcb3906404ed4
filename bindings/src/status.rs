//! `ClientStatus`, `SyncStatus` and the relay's `ErrorCode` as uniffi types, translated from
//! `sync_core::client`'s status, which the core derives: this module adds nothing to it.

use sync_core::client as core;
use sync_core::protocol;

/// What an app shows about a document's sync.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientStatus {
    /// Where the connection with the relay stands.
    pub sync: SyncStatus,
    /// Whether a local edit is not on disk yet (a save is running, or failed and is retried).
    pub unsaved: bool,
    /// The last save failure, while its retry is pending.
    pub save_error: Option<String>,
    /// The relay and the local database both hold exactly this device's document.
    pub in_sync: bool,
    /// `sync` as a sentence for a status line ("in sync", "retrying at …: relay unreachable"),
    /// worded by the core the same way for every shell.
    pub summary: String,
}

/// Where a document's sync stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncStatus {
    /// Reading the document from the local database.
    Loading,
    /// The local data could not be read; nothing was changed.
    LoadFailed {
        /// Why.
        message: String,
    },
    /// Not syncing, because the app asked for that (or never started).
    Offline,
    /// Opening the connection and shaking hands.
    Connecting,
    /// Connected, exchanging changes.
    Syncing,
    /// Connected, and the relay durably holds exactly what this device holds.
    InSync,
    /// Connected, but the relay has no such document and this device has nothing to send.
    Unavailable,
    /// Disconnected; the next attempt is at `at_ms` (milliseconds since the Unix epoch).
    Retrying {
        /// When.
        at_ms: u64,
        /// The relay's code when the relay asked for the pause (`RateLimited`, `QuotaExceeded`).
        code: Option<ErrorCode>,
        /// What went wrong, for a person.
        message: String,
    },
    /// The relay refused the token and the token provider is being asked for a fresh one; sync
    /// reconnects when it answers.
    RefreshingToken {
        /// `AuthFailed` or `TokenExpired`.
        code: ErrorCode,
    },
    /// The relay refused the token and no fresh one came (the provider's was refused too, or
    /// it had none); sync waits for a new token (`start_sync` again).
    TokenNeeded {
        /// `AuthFailed` or `TokenExpired`.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
    /// The relay refused for a reason retrying cannot fix; sync stopped until `start_sync`.
    Refused {
        /// Why.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
}

/// The relay's refusal codes (the `code` of its `error` messages and JSON answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ErrorCode {
    /// The token is missing, malformed, badly signed or not valid for this document: get a new
    /// token.
    AuthFailed,
    /// The token expired: the token provider is asked for a fresh one.
    TokenExpired,
    /// The token's scope does not allow this (a read-only token sent changes).
    PermissionDenied,
    /// The tenant's plan limit is used up; sync resumes when the window resets.
    QuotaExceeded,
    /// Too many messages or connections; sync retries after the relay's pause.
    RateLimited,
    /// A frame or change is larger than the relay accepts.
    PayloadTooLarge,
    /// The relay could not decode what was sent (a client bug).
    BadMessage,
    /// The document was deleted at the relay: stop syncing it.
    DocDeleted,
}

impl From<protocol::ErrorCode> for ErrorCode {
    fn from(code: protocol::ErrorCode) -> Self {
        use protocol::ErrorCode as C;
        match code {
            C::AuthFailed => Self::AuthFailed,
            C::TokenExpired => Self::TokenExpired,
            C::PermissionDenied => Self::PermissionDenied,
            C::QuotaExceeded => Self::QuotaExceeded,
            C::RateLimited => Self::RateLimited,
            C::PayloadTooLarge => Self::PayloadTooLarge,
            C::BadMessage => Self::BadMessage,
            C::DocDeleted => Self::DocDeleted,
        }
    }
}

/// The wire form of a code (`auth_failed`, ...), as the relay sends it and logs it.
#[uniffi::export]
pub fn error_code_name(code: ErrorCode) -> String {
    use protocol::ErrorCode as C;
    let core = match code {
        ErrorCode::AuthFailed => C::AuthFailed,
        ErrorCode::TokenExpired => C::TokenExpired,
        ErrorCode::PermissionDenied => C::PermissionDenied,
        ErrorCode::QuotaExceeded => C::QuotaExceeded,
        ErrorCode::RateLimited => C::RateLimited,
        ErrorCode::PayloadTooLarge => C::PayloadTooLarge,
        ErrorCode::BadMessage => C::BadMessage,
        ErrorCode::DocDeleted => C::DocDeleted,
    };
    core.as_str().to_owned()
}

impl From<core::ClientStatus> for ClientStatus {
    fn from(s: core::ClientStatus) -> Self {
        Self {
            in_sync: s.is_in_sync(),
            summary: s.sync.to_string(),
            sync: s.sync.into(),
            unsaved: s.unsaved,
            save_error: s.save_error,
        }
    }
}

impl From<core::SyncStatus> for SyncStatus {
    fn from(s: core::SyncStatus) -> Self {
        use core::SyncStatus as S;
        match s {
            S::Loading => Self::Loading,
            S::LoadFailed { message } => Self::LoadFailed { message },
            S::Offline => Self::Offline,
            S::Connecting => Self::Connecting,
            S::Syncing => Self::Syncing,
            S::InSync => Self::InSync,
            S::Unavailable => Self::Unavailable,
            S::Retrying {
                at_ms,
                code,
                message,
            } => Self::Retrying {
                at_ms,
                code: code.map(Into::into),
                message,
            },
            S::RefreshingToken { code } => Self::RefreshingToken { code: code.into() },
            S::TokenNeeded { code, message } => Self::TokenNeeded {
                code: code.into(),
                message,
            },
            S::Refused { code, message } => Self::Refused {
                code: code.into(),
                message,
            },
        }
    }
}
