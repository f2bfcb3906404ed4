//! The relay room: the state machine behind one document's Durable Object.
//!
//! # Loop
//! The shell creates a [`RelayRoom`], runs the `Load` task it asks for, and from then on feeds
//! every event (connections, frames, storage results, quota answers, timer) to
//! [`RelayRoom::handle`] with the current time, carrying out the returned [`RoomOutput`]s in
//! order. The room never reads a clock or touches storage itself.
//!
//! # Persist before ack, in batches
//! Changes in an incoming sync message join the change graph and are forwarded at once; they
//! queue as chunks to be stored, one log row at a time (everything queued, up to the row
//! limit), and only when the shell reports the row durable are the senders sent an `ack` with
//! the durable heads. While a row is being written, new chunks queue behind it, so under load
//! each write carries more, and a sender whose several messages one row covers gets one ack.
//! Acks go only to peers that declared they read them, never twice with the same heads, and to
//! a reader once what it holds is durable (see `room/acks.rs`).
//!
//! A failed write keeps its chunks queued (dirty) and is retried with exponential back-off.
//!
//! # Compaction
//! After the log grows past a threshold (or after a quiet period) a timer saves the document as
//! a snapshot, the shell stores it and records it as current, and the log rows it covers are
//! trimmed and the previous snapshot deleted. A cold start loads the snapshot plus the log.
//!
//! # Authorization and quota
//! The shell verifies the token before the peer reaches the room and passes a [`PeerAccess`].
//! A read-only peer that sends changes gets `permission_denied` and is closed; nothing of its
//! changes is stored. Storage budget is reserved from the tenant in chunks; a refusal drops the
//! queued changes (nothing partial is stored) and closes their senders with the code.

mod config;
pub mod gate;
mod graph;
mod io;
mod metrics;
mod peer;
mod persistence;
mod quota;
mod rate;
mod room;

pub use config::RoomConfig;
pub use gate::room_name;
pub use graph::ChangeError;
pub use io::{
    PeerAccess, QuotaRefusal, RoomEvent, RoomInput, RoomLedger, RoomOutput, StorageOp, StoredRoom,
    StoredRow, StoredSnapshot,
};
pub use metrics::{METRICS_PERIOD_MS, MetricsPoint};
pub use quota::{Ledger, PlanLimits, Plans, PlansError};
pub use room::RelayRoom;

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;
