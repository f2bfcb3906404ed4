//! Tunables of a relay room.

use crate::protocol::{PeerId, StorageId};

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
        }
    }
}
