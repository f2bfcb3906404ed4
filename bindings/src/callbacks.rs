//! The interfaces an app implements in its own language: `DocumentListener` (changes and
//! status of one document) and `TokenProvider` (a fresh JWT when the core asks for one), and the
//! `Subscription` handle that stops a listener.
//!
//! Threading (the same for both):
//! - a listener is called on a thread of its subscription's own, one call at a time and in
//!   order, never on a thread that runs sync, so a slow listener delays only its own later
//!   calls, not sync;
//! - a listener may call any Tessera method, including cancelling its own subscription: no
//!   lock is held around a callback;
//! - an exception raised by a listener is caught at the FFI and dropped (the listener stays
//!   subscribed); a panic in Tessera never unwinds into the app.

use std::sync::Arc;

use crate::error::TesseraError;
use crate::status::{ClientStatus, ErrorCode};

/// What changed in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Change {
    /// An edit made on this device was saved.
    Local,
    /// Changes from another device arrived.
    Remote,
}

/// Receives a document's changes and status; pass one to `Document.subscribe`.
#[uniffi::export(with_foreign)]
pub trait DocumentListener: Send + Sync {
    /// The page changed; read it with `to_json()` or `view()`.
    fn on_change(&self, change: Change) -> Result<(), TesseraError>;
    /// The sync status changed (called once with the current status when subscribing).
    fn on_status(&self, status: ClientStatus) -> Result<(), TesseraError>;
}

/// Supplies the JWT the relay checks; pass one to `Tessera.open`.
///
/// Called on a Tessera thread when a document starts syncing (`refused` is `None`) and again
/// when the relay refuses the token (`refused` is `AuthFailed` or `TokenExpired`, for example
/// when it expires mid-session). It may block (fetch a token over the network). If the fresh
/// token is refused too, the document waits in `SyncStatus.TokenNeeded` until `start_sync`.
#[uniffi::export(with_foreign)]
pub trait TokenProvider: Send + Sync {
    /// A token for the relay; raise to report that none can be had.
    fn token(&self, refused: Option<ErrorCode>) -> Result<String, TesseraError>;
}

/// A live listener; it stops on `cancel()` or when this handle is garbage-collected.
#[derive(uniffi::Object)]
pub struct Subscription {
    pub(crate) inner: Vec<client_native::Subscription>,
    /// The app's listener, owned here (the delivering threads hold it weakly).
    pub(crate) _listener: Arc<dyn DocumentListener>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener. When it returns, the listener is not running and will not be called
    /// again (called from inside the listener, the current call finishes first).
    pub fn cancel(&self) {
        for s in &self.inner {
            s.cancel();
        }
    }

    /// Whether the listener still receives calls.
    pub fn is_active(&self) -> bool {
        self.inner
            .iter()
            .any(client_native::Subscription::is_active)
    }
}
