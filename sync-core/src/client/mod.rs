//! The client session: one document on one device, synced with the relay.
//!
//! # Loop
//! The shell loads the page and its saved sync states from local storage and builds a
//! [`DocSync`]. It sends [`ClientInput::GoOnline`]; the session asks for a transport
//! ([`ClientOutput::Connect`]), performs the `join`/`peer` handshake, and then runs the Automerge
//! sync protocol. Edits go through [`DocSync::edit`], whose outputs begin with the storage write
//! that makes the edit durable. When the connection drops, the session schedules a reconnect
//! with exponential back-off and jitter ([`ClientOutput::SetTimer`]); edits made meanwhile are
//! saved locally and sync when it is back.
//!
//! # In sync
//! The relay acknowledges durable state with an `ack` carrying its heads. The session reports
//! [`ClientEvent::InSync`] when those heads equal the page's: the relay durably holds every local
//! change and the page holds every change the relay had.
//!
//! # Cheap reconnects
//! The sync state with the relay (its storage id is stable) is persisted on disconnect and when
//! in sync; a reconnect to an in-sync relay then costs one small round trip.

mod backoff;
mod config;
mod doc_sync;
mod io;

pub use config::ClientConfig;
pub use doc_sync::{DocSync, Stopped};
pub use io::{ClientEvent, ClientInput, ClientOutput, ClientStorageOp};

#[cfg(test)]
mod tests;
