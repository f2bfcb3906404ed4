//! The client session: one document on one device, synced with the relay, and the small
//! multi-document layer over it. Every client decision lives here; a shell (native, browser,
//! FFI) is a store, a socket, a clock and callbacks into the application.
//!
//! # Loop
//! A shell gets a [`DocSync`] from a [`Repo`] (`create`, `open`, `find`) and carries out its
//! outputs in order: storage ops (the first one reads the document: `Load`), `Connect` with
//! the token, frames to send, one timer, [`ClientOutput::TokenNeeded`], status changes and
//! events. It feeds back what happened: storage answers and failures, the transport opening,
//! closing or being refused, frames, the timer, a token. Edits are data
//! ([`PageEdit`](crate::model::PageEdit)) given to [`DocSync::apply`], whose outputs begin with
//! the write that makes the edit durable.
//!
//! The session owns every deadline: the connect deadline (opening, then the `join`/`peer`
//! handshake), the stall watchdog, reconnect back-off with jitter, and storage retries. When
//! the connection drops it schedules a reconnect; edits made meanwhile are saved locally and
//! sync when it is back.
//!
//! While connected, an optional keepalive ([`ClientConfig::keepalive_ms`]) sends a `keepalive`
//! frame when the connection has been quiet that long, for shells whose context dies when
//! quiet (an extension's service worker).
//!
//! # In sync
//! The relay acknowledges durable state with an `ack` carrying its heads. The session reports
//! [`ClientEvent::InSync`] (and [`SyncStatus::InSync`]) when those heads equal the page's and
//! local storage holds them too.
//!
//! # Cheap reconnects
//! The sync state with the relay (its storage id is stable) is persisted on disconnect and when
//! in sync; a reconnect to an in-sync relay then costs one small round trip.

mod backoff;
mod config;
mod connection;
mod doc_sync;
mod durability;
mod exchange;
pub mod handover;
mod io;
mod quiet_answer;
mod repo;
mod rng;
mod status;

pub use config::{ClientConfig, MIN_KEEPALIVE_MS, SERVICE_WORKER_KEEPALIVE_MS};
pub use doc_sync::{ApplyError, BatchResult, DocSync, Stopped};
pub use io::{ClientEvent, ClientInput, ClientOutput, ClientStorageOp, StorageReply, StoredDoc};
pub use repo::{DocSummary, Repo};
pub use status::{ClientStatus, SyncStatus};

#[cfg(test)]
mod tests;
