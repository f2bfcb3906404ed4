//! Counting what the room did, for the operator's metrics.
//!
//! Counted from each input and the outputs it produced, in one place, so the steps that send,
//! persist or refuse need not know that anyone is counting.

use super::*;

impl RelayRoom {
    /// Counts one handled input and its outputs, and hands out the period's point once due.
    pub(super) fn observe(&mut self, now: Millis, frame_in: Option<usize>, connected: bool) {
        if let Some(bytes) = frame_in {
            self.metrics.frame_in(now, bytes);
        }
        if connected {
            self.metrics.connected(now);
        }
        for out in &self.out {
            match out {
                RoomOutput::Send { bytes, .. } => self.metrics.frame_out(now, bytes.len()),
                RoomOutput::Event(RoomEvent::Persisted { chunks, bytes }) => {
                    self.metrics.persisted(now, *chunks, *bytes);
                }
                RoomOutput::Event(RoomEvent::Refused { code, .. }) => {
                    self.metrics.refused(now, *code);
                }
                _ => {}
            }
        }
        let period = self.config.metrics_period_ms;
        if let Some(point) = self.metrics.take_due(now, period, self.peers.len()) {
            self.out.push(RoomOutput::Event(RoomEvent::Metrics(point)));
        }
    }
}
