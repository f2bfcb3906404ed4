//! Counts of the WebSocket frames a document's session sent and received, for benchmarks and
//! diagnostics (bytes on the wire per sync).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of one document's traffic since it was opened, from [`Document::traffic`].
///
/// Bytes are binary frame payloads (the CBOR protocol messages), not counting WebSocket
/// framing, TLS or the HTTP upgrade.
///
/// [`Document::traffic`]: crate::Document::traffic
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Frames written to the relay.
    pub frames_sent: u64,
    /// Payload bytes written to the relay.
    pub bytes_sent: u64,
    /// Binary frames read from the relay.
    pub frames_received: u64,
    /// Payload bytes read from the relay.
    pub bytes_received: u64,
}

impl Traffic {
    /// The traffic between an earlier snapshot and this one (never negative).
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            frames_sent: self.frames_sent.saturating_sub(earlier.frames_sent),
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            frames_received: self.frames_received.saturating_sub(earlier.frames_received),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
        }
    }

    /// Payload bytes in both directions.
    pub fn total_bytes(&self) -> u64 {
        self.bytes_sent + self.bytes_received
    }
}

/// The live counters, shared by the document's task (which adds) and its handles (which read).
#[derive(Debug, Default)]
pub(crate) struct TrafficCounters {
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
    frames_received: AtomicU64,
    bytes_received: AtomicU64,
}

impl TrafficCounters {
    pub(crate) fn shared() -> Arc<Self> {
        Arc::default()
    }

    pub(crate) fn sent(&self, len: usize) {
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, len: usize) {
        self.frames_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Traffic {
        Traffic {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            frames_received: self.frames_received.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frames_and_bytes_each_way() {
        let counters = TrafficCounters::shared();
        counters.sent(10);
        let before = counters.snapshot();
        counters.sent(5);
        counters.received(7);
        counters.received(1);
        let delta = counters.snapshot().since(&before);
        assert_eq!(
            delta,
            Traffic {
                frames_sent: 1,
                bytes_sent: 5,
                frames_received: 2,
                bytes_received: 8,
            }
        );
        assert_eq!(delta.total_bytes(), 13);
    }
}
