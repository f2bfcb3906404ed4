//! Tunables of a relay room, including every bound on what a room holds in memory for its peers.
//!
//! The bounds exist because one Durable Object has 128 MB for the document and every peer: a
//! single token must not be able to fill it. Per-connection and per-tenant *rates* come from the
//! token's plan ([`PlanLimits`](super::PlanLimits)); the sizes here are the same for every plan.

use crate::protocol::{PeerId, ReassemblyLimits, StorageId};

/// Limits and schedules of a [`RelayRoom`](super::RelayRoom). `Default` gives the production values.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// The relay's peer id, sent in `peer` messages.
    pub relay_peer_id: PeerId,
    /// The relay's stable storage id: clients key their persisted sync state by it.
    pub storage_id: StorageId,
    /// Largest WebSocket frame sent or accepted whole. Larger sync messages are split.
    pub max_frame_bytes: usize,
    /// Largest storage row written. Durable Object rows must stay under 2 MB.
    pub max_row_bytes: usize,
    /// Largest single change accepted; larger ones get `payload_too_large`.
    pub max_change_bytes: usize,
    /// Compact once the log holds this many bytes...
    pub compact_after_log_bytes: u64,
    /// ...or this many rows.
    pub compact_after_log_rows: u64,
    /// Wait this long after the last write before compacting, so bursts compact once.
    pub compact_delay_ms: u64,
    /// Quota is reserved from the tenant in chunks of at least this many bytes.
    pub quota_chunk_bytes: u64,
    /// First retry delay after a failed storage write; doubles up to `max_retry_ms`.
    pub first_retry_ms: u64,
    /// Cap of the storage retry delay.
    pub max_retry_ms: u64,
    /// Length of a metrics period: the room hands out one
    /// [`MetricsPoint`](super::MetricsPoint) per period in which it counted anything.
    pub metrics_period_ms: u64,
    /// Fragment reassembly per connection: bytes and partial messages at once.
    pub reassembly: ReassemblyLimits,
    /// Fragment bytes buffered across all connections of the room at once. A fragment that
    /// would cross it closes its sender with `payload_too_large`.
    pub max_room_reassembly_bytes: usize,
    /// A partial fragmented message with no new fragment for this long is dropped, silently:
    /// Tessera peers send fragments back to back, so only a broken or hostile peer leaves one
    /// open, and a broken honest peer will reconnect and sync again anyway.
    pub partial_idle_ms: u64,
    /// Largest `data` of an `ephemeral` message; larger gets `payload_too_large`.
    pub max_ephemeral_bytes: usize,
    /// `ephemeral` messages per second per connection, sustained...
    pub ephemeral_per_sec: u64,
    /// ...and in a burst. Past it the connection gets `rate_limited` with `retryAfterMs`.
    pub ephemeral_burst: u64,
    /// Frames held while the document loads, across all connections...
    pub max_early_frames: usize,
    /// ...and their bytes. Past either, the sender gets `rate_limited`.
    pub max_early_bytes: usize,
    /// Bytes of sync messages with changes waiting for storage or quota, per connection...
    pub max_pending_bytes_per_peer: usize,
    /// ...and for the whole room. Past either, the sender gets `rate_limited`.
    pub max_pending_bytes: usize,
    /// `retryAfterMs` for a refusal because a queue of the room is full.
    pub queue_retry_ms: u64,
    /// Changes held because a dep has not arrived yet, for the whole room. Past it the sender
    /// gets `rate_limited` (their bytes also count against the pending bounds above).
    pub max_waiting_changes: usize,
    /// Change bytes sent to one peer per round trip: a big answer (a first sync without a
    /// snapshot) goes out in batches, one each time the peer answers, so the room never holds
    /// all of it encoded at once.
    pub max_send_bytes: usize,
    /// The snapshot is refreshed only while the document has at most this many changes:
    /// refreshing loads it into automerge (about 1 KB of memory per change with automerge
    /// 0.12), and the refresh must fit in the isolate next to the room. Larger documents first
    /// sync from their changes.
    pub snapshot_max_changes: usize,
    /// Stored rows' change bytes kept in memory, least recently used evicted first. The rest
    /// stay in storage and are read back when a peer needs them, so a room's memory does not
    /// grow with its document's bytes (the paper history's 27 MiB of changes would not fit
    /// next to its index in the 64 MiB the room keeps to).
    pub max_resident_row_bytes: usize,
    /// A peer's sync state is written to its socket's attachment at most this often. The
    /// attachment only matters after hibernation, and a stale one is safe (the room then
    /// believes the peer has less than it has, and the next round's bloom filter sorts it
    /// out), while writing it on every message costs more than the rest of the message's
    /// handling under fan-out.
    pub attach_sync_every_ms: u64,
    /// How long changes for a peer wait for its answer to the last changes it was sent before
    /// they go out anyway (see the graph's `PeerSync`).
    pub reply_hold_ms: u64,
    /// Whether peers that did not declare they read acks (`tesseraAcks` in `join`) get them
    /// anyway. Off: stock automerge-repo peers drop every ack, and under load the acks cost the
    /// room as much as the sync messages. Tessera clients declare it; one built before the
    /// declaration existed gets no acks with this off, so it never reports "in sync" and its
    /// stall watchdog reconnects it every `stall_timeout_ms` (its changes still sync and are
    /// stored). A deployment still serving such clients turns this on until they are updated.
    pub ack_undeclared_peers: bool,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            relay_peer_id: PeerId::from("tessera-relay"),
            storage_id: StorageId::from("tessera-relay"),
            max_frame_bytes: 1024 * 1024,
            max_row_bytes: 1_900_000,
            max_change_bytes: 1_800_000,
            compact_after_log_bytes: 8 * 1024 * 1024,
            compact_after_log_rows: 512,
            compact_delay_ms: 5_000,
            quota_chunk_bytes: 256 * 1024,
            first_retry_ms: 250,
            max_retry_ms: 30_000,
            metrics_period_ms: super::METRICS_PERIOD_MS,
            reassembly: ReassemblyLimits::default(),
            max_room_reassembly_bytes: 32 * 1024 * 1024,
            partial_idle_ms: 30_000,
            max_ephemeral_bytes: 64 * 1024,
            ephemeral_per_sec: 50,
            ephemeral_burst: 100,
            max_early_frames: 256,
            max_early_bytes: 8 * 1024 * 1024,
            max_pending_bytes_per_peer: 8 * 1024 * 1024,
            max_pending_bytes: 16 * 1024 * 1024,
            queue_retry_ms: 1_000,
            max_waiting_changes: 10_000,
            // Under the frame limit, so a batch is one frame and never split (each split copies).
            max_send_bytes: 512 * 1024,
            // About 1 KB each materialized: the refresh stays near 10 MiB, inside the 64 MiB
            // the room keeps to.
            snapshot_max_changes: 8_000,
            max_resident_row_bytes: 8 * 1024 * 1024,
            attach_sync_every_ms: 2_000,
            reply_hold_ms: 1_000,
            ack_undeclared_peers: false,
        }
    }
}
