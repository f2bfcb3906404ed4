//! What a room counts for the operator: traffic, changes, peers and refusals, summed over a
//! period and handed to the shell as one [`MetricsPoint`] per period.
//!
//! Why points and not one write per frame: a metrics sink such as Workers Analytics Engine caps
//! the writes per invocation, and a room under load handles thousands of frames a second. The
//! room sums and decides when a period ends; the shell writes each point as it comes, adding
//! only what it knows and the room does not (the tenant's name as its index).
//!
//! A point is handed out at the end of its period: with the outputs of the first input after
//! it, or at the timer the room asks for at that moment. The timer matters: a Durable Object
//! that hibernates loses its memory, and with it the counts of a burst followed by quiet. A
//! room with nothing counted asks for no timer, so an idle room is never woken for metrics.

use std::collections::BTreeMap;

use crate::io::Millis;
use crate::protocol::ErrorCode;

/// How long a room sums before it hands out a point, by default
/// ([`RoomConfig::metrics_period_ms`](super::RoomConfig::metrics_period_ms)). Shorter than the
/// ~10 s of quiet after which a Durable Object may hibernate, so that the timer at the end of a
/// period fires while the counts are still in memory.
pub const METRICS_PERIOD_MS: Millis = 5_000;

/// One period of a room's activity. Every count is for the period only; `peers` is the number
/// of connections open when the period ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsPoint {
    /// Length of the period, in milliseconds.
    pub period_ms: u64,
    /// Frames received from peers.
    pub frames_in: u64,
    /// Their bytes.
    pub bytes_in: u64,
    /// Frames sent to peers.
    pub frames_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Change chunks made durable.
    pub changes: u64,
    /// Their bytes.
    pub change_bytes: u64,
    /// Connections accepted.
    pub connects: u64,
    /// Connections open at the end of the period.
    pub peers: u64,
    /// Connections refused or closed with a code, by code.
    pub refusals: BTreeMap<ErrorCode, u64>,
}

impl MetricsPoint {
    /// Refusals in the period, whatever their code.
    pub fn refusals_total(&self) -> u64 {
        self.refusals.values().sum()
    }
}

/// The running sums of the current period.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    started: Option<Millis>,
    point: MetricsPoint,
}

impl Metrics {
    fn touch(&mut self, now: Millis) -> &mut MetricsPoint {
        self.started.get_or_insert(now);
        &mut self.point
    }

    pub(crate) fn frame_in(&mut self, now: Millis, bytes: usize) {
        let p = self.touch(now);
        p.frames_in += 1;
        p.bytes_in += bytes as u64;
    }

    pub(crate) fn frame_out(&mut self, now: Millis, bytes: usize) {
        let p = self.touch(now);
        p.frames_out += 1;
        p.bytes_out += bytes as u64;
    }

    pub(crate) fn persisted(&mut self, now: Millis, chunks: usize, bytes: u64) {
        let p = self.touch(now);
        p.changes += chunks as u64;
        p.change_bytes += bytes;
    }

    pub(crate) fn connected(&mut self, now: Millis) {
        self.touch(now).connects += 1;
    }

    pub(crate) fn refused(&mut self, now: Millis, code: ErrorCode) {
        *self.touch(now).refusals.entry(code).or_default() += 1;
    }

    /// When the current period ends, if anything was counted in it.
    pub(crate) fn due_at(&self, period_ms: Millis) -> Option<Millis> {
        self.started.map(|s| s + period_ms)
    }

    /// The finished period's point, once it is due; the next period starts with the next count.
    pub(crate) fn take_due(
        &mut self,
        now: Millis,
        period_ms: Millis,
        peers: usize,
    ) -> Option<MetricsPoint> {
        let started = self.started?;
        if now < started + period_ms {
            return None;
        }
        self.started = None;
        let mut point = std::mem::take(&mut self.point);
        point.period_ms = now - started;
        point.peers = peers as u64;
        Some(point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Millis = 10_000;

    #[test]
    fn a_period_sums_everything_and_ends_once() {
        let mut m = Metrics::default();
        assert_eq!(m.due_at(PERIOD), None, "nothing counted, no timer");
        assert_eq!(
            m.take_due(1_000_000, PERIOD, 0),
            None,
            "nothing counted, nothing to hand out"
        );
        m.frame_in(1_000, 100);
        m.frame_in(2_000, 50);
        m.frame_out(2_000, 7);
        m.persisted(3_000, 2, 120);
        m.connected(3_000);
        m.refused(4_000, ErrorCode::RateLimited);
        m.refused(4_500, ErrorCode::RateLimited);
        m.refused(4_500, ErrorCode::BadMessage);
        assert_eq!(m.due_at(PERIOD), Some(1_000 + PERIOD));
        assert_eq!(
            m.take_due(10_999, PERIOD, 3),
            None,
            "not before the period ends"
        );
        let p = m.take_due(11_500, PERIOD, 3).expect("due");
        assert_eq!((p.frames_in, p.bytes_in), (2, 150));
        assert_eq!((p.frames_out, p.bytes_out), (1, 7));
        assert_eq!((p.changes, p.change_bytes), (2, 120));
        assert_eq!((p.connects, p.peers, p.period_ms), (1, 3, 10_500));
        assert_eq!(p.refusals[&ErrorCode::RateLimited], 2);
        assert_eq!(p.refusals_total(), 3);
        assert_eq!(
            m.take_due(30_000, PERIOD, 3),
            None,
            "an empty period hands out nothing"
        );
        m.frame_in(40_000, 1);
        assert_eq!(
            m.take_due(49_999, PERIOD, 3),
            None,
            "a new period starts with its first count"
        );
        assert_eq!(m.take_due(50_000, PERIOD, 3).map(|p| p.frames_in), Some(1));
    }
}
