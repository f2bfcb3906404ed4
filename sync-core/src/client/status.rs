//! `ClientStatus`: what an application shows about a document's sync, derived by the core so
//! that no shell rebuilds it from events or parses it out of strings.
//!
//! JSON (for the browser and FFI shells; it reads back, for a shell that relays a status
//! between contexts): `{"sync":{"state":"retrying","atMs":…,"code":null,
//! "message":"relay unreachable"},"unsaved":false,"saveError":null}`.

use serde::{Deserialize, Serialize};

use super::doc_sync::{Conn, DocSync, Load, Stopped};
use crate::io::Millis;
use crate::protocol::ErrorCode;

/// The sync status of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientStatus {
    /// Where the connection with the relay stands.
    pub sync: SyncStatus,
    /// Whether some local edit is not on disk yet (a save is running, or failed and waits to
    /// be retried).
    pub unsaved: bool,
    /// The last save failure, while its retry is pending.
    pub save_error: Option<String>,
}

/// Where a document's sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SyncStatus {
    /// Reading the document from local storage.
    Loading,
    /// The local data could not be read. Nothing was changed; the session retries a store
    /// failure, but not a document that does not decode.
    LoadFailed {
        /// Why.
        message: String,
    },
    /// Not syncing, because the application asked for it.
    Offline,
    /// Opening the connection and shaking hands.
    Connecting,
    /// Connected, exchanging changes.
    Syncing,
    /// Connected, and the relay durably holds exactly what this device holds.
    InSync,
    /// Connected, but the relay has no such document and this device has nothing to send.
    Unavailable,
    /// Disconnected; the next attempt is at `at_ms`.
    Retrying {
        /// When.
        at_ms: Millis,
        /// The relay's code, when the relay asked for the pause (`rate_limited`,
        /// `quota_exceeded`).
        code: Option<ErrorCode>,
        /// What went wrong, for a person.
        message: String,
    },
    /// The relay refused the token and the application's token provider was asked for a
    /// fresh one; the session reconnects when it answers.
    RefreshingToken {
        /// `auth_failed` or `token_expired`.
        code: ErrorCode,
    },
    /// The relay refused the token and no fresh one came. The session waits for
    /// [`ClientInput::Token`](super::ClientInput).
    TokenNeeded {
        /// `auth_failed` or `token_expired`.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
    /// The relay refused for a reason retrying cannot fix (deleted, no permission, bad
    /// data). The session stopped until the application goes online again.
    Refused {
        /// Why.
        code: ErrorCode,
        /// The relay's message.
        message: String,
    },
}

impl SyncStatus {
    /// Whether waiting longer cannot help: the application must act (supply a token, tell the
    /// user) before this document syncs.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::LoadFailed { .. } | Self::TokenNeeded { .. } | Self::Refused { .. }
        )
    }

    /// Whether a connection to the relay is up.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Syncing | Self::InSync | Self::Unavailable)
    }
}

/// A sentence for people ("retrying at …: relay refused (quota_exceeded): …").
impl std::fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with = |f: &mut std::fmt::Formatter<'_>, message: &str| {
            if message.is_empty() {
                Ok(())
            } else {
                write!(f, ": {message}")
            }
        };
        match self {
            Self::Loading => f.write_str("loading the document"),
            Self::LoadFailed { message } => write!(f, "cannot read the stored document: {message}"),
            Self::Offline => f.write_str("offline"),
            Self::Connecting => f.write_str("connecting to the relay"),
            Self::Syncing => f.write_str("connected, exchanging changes"),
            Self::InSync => f.write_str("in sync"),
            Self::Unavailable => f.write_str("the relay does not have this document"),
            Self::Retrying { code, message, .. } => {
                f.write_str("disconnected, retrying")?;
                if let Some(code) = code {
                    write!(f, ": relay refused ({code})")?;
                }
                with(f, message)
            }
            Self::RefreshingToken { code } => {
                write!(
                    f,
                    "the relay refused the token ({code}); asking for a fresh one"
                )
            }
            Self::TokenNeeded { code, message } => {
                write!(f, "the relay refused the token ({code})")?;
                with(f, message)
            }
            Self::Refused { code, message } => {
                write!(f, "the relay refused this document ({code})")?;
                with(f, message)
            }
        }
    }
}

impl ClientStatus {
    /// Whether the relay and local storage both hold exactly this device's document.
    pub fn is_in_sync(&self) -> bool {
        self.sync == SyncStatus::InSync && !self.unsaved
    }
}

impl DocSync {
    pub(super) fn derive_status(&mut self) -> ClientStatus {
        let problem = self.problem.clone().unwrap_or_default();
        let sync = match (&self.load, &self.conn) {
            (Load::Loading { .. }, _) => SyncStatus::Loading,
            (Load::Failed { message, .. }, _) => SyncStatus::LoadFailed {
                message: message.clone(),
            },
            (Load::Ready, Conn::Stopped(Stopped::Offline)) => SyncStatus::Offline,
            (Load::Ready, Conn::Stopped(Stopped::NeedsToken(code))) if self.awaiting_token => {
                SyncStatus::RefreshingToken { code: *code }
            }
            (Load::Ready, Conn::Stopped(Stopped::NeedsToken(code))) => SyncStatus::TokenNeeded {
                code: *code,
                message: problem.message,
            },
            (Load::Ready, Conn::Stopped(Stopped::Refused(code))) => SyncStatus::Refused {
                code: *code,
                message: problem.message,
            },
            (Load::Ready, Conn::Waiting { retry_at }) => SyncStatus::Retrying {
                at_ms: retry_at.unwrap_or_default(),
                code: problem.code,
                message: problem.message,
            },
            (Load::Ready, Conn::Opening { .. } | Conn::Joining { .. }) => SyncStatus::Connecting,
            (Load::Ready, Conn::Ready { .. }) if self.in_sync_reported => SyncStatus::InSync,
            (Load::Ready, Conn::Ready { .. }) if self.unavailable => SyncStatus::Unavailable,
            (Load::Ready, Conn::Ready { .. }) => SyncStatus::Syncing,
        };
        ClientStatus {
            sync,
            unsaved: self.load == Load::Ready && !self.is_saved(),
            save_error: self.save_error.clone(),
        }
    }
}
