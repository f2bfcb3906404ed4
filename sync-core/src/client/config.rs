//! Tunables of a client document session.

use crate::protocol::{PeerId, StorageId};

/// Settings of a [`DocSync`](super::DocSync). Build with [`ClientConfig::new`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// This client's peer id, unique per running process.
    pub peer_id: PeerId,
    /// The id of this client's local database; the relay keys its sync state by it.
    pub storage_id: StorageId,
    /// Largest WebSocket frame to send whole.
    pub max_frame_bytes: usize,
    /// First reconnect delay.
    pub backoff_base_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
    /// How long opening the transport, and then the `join`/`peer` handshake, may each take
    /// before the attempt counts as failed and backs off.
    pub connect_timeout_ms: u64,
    /// Delay before retrying a failed local save.
    pub save_retry_ms: u64,
    /// While connected and out of sync, reconnect if nothing progressed for this long. A sync
    /// exchange that stopped converging (lost or repeated messages) restarts from fresh state.
    pub stall_timeout_ms: u64,
    /// After this many incremental saves, the shell is asked to replace them with one snapshot.
    pub compact_after_saves: u32,
    /// While connected, send a `keepalive` frame once no frame went either way for this long
    /// (at least [`MIN_KEEPALIVE_MS`]). `None` (the default): never. For contexts that die
    /// when quiet: Chrome stops an extension's service worker after 30 s without events, and
    /// WebSocket traffic counts as one.
    pub keepalive_ms: Option<u64>,
}

/// The shortest keepalive interval honoured: a smaller one would flood the relay.
pub const MIN_KEEPALIVE_MS: u64 = 1_000;

/// The keepalive interval for an extension's service worker: Chrome stops one after 30 s
/// without events, and a timer may fire late, so 20 s leaves a 10 s margin.
pub const SERVICE_WORKER_KEEPALIVE_MS: u64 = 20_000;

impl ClientConfig {
    /// Defaults for a client with these ids.
    pub fn new(peer_id: PeerId, storage_id: StorageId) -> Self {
        Self {
            peer_id,
            storage_id,
            max_frame_bytes: 1024 * 1024,
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            connect_timeout_ms: 10_000,
            save_retry_ms: 500,
            stall_timeout_ms: 15_000,
            compact_after_saves: 256,
            keepalive_ms: None,
        }
    }
}
