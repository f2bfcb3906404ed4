//! IO steps other than storage that failed: a quota call, an attachment, a send, the timer.
//! Each is reported back as an input, so the shell never stops at a failed step and the room
//! never believes a step ran that did not: what can be retried is retried with back-off, and a
//! step that concerns one connection closes that connection only.

use super::*;

/// WebSocket close code for "the relay could not keep this connection"; the client reconnects.
const CLOSE_INTERNAL: u16 = 1011;

impl RelayRoom {
    /// The reservation never reached the tenant (or its answer was lost): nothing was granted
    /// as far as the room knows, so it asks again after a back-off. The pending changes stay
    /// queued, unacknowledged; a grant that did happen is at worst counted twice (over, never
    /// under), and the room gives unused budget back when it goes idle.
    pub(super) fn on_quota_failed(&mut self, now: Millis, error: String) {
        self.reserving = false;
        self.out.push(RoomOutput::Event(RoomEvent::IoFailed {
            error: format!("quota call: {error}"),
        }));
        self.retry_later(now);
    }

    /// A connection whose state could not be saved, or that could not be sent to, is closed;
    /// it reconnects and resyncs. Its pending changes stay queued: they are someone's edits.
    pub(super) fn close_failed(&mut self, conn: ConnId, error: &str) {
        self.out.push(RoomOutput::Event(RoomEvent::IoFailed {
            error: format!("connection {conn}: {error}"),
        }));
        if self.peers.remove(&conn).is_none() {
            return;
        }
        self.early_frames.retain(|(c, _)| *c != conn);
        self.out.push(RoomOutput::Close {
            conn,
            code: CLOSE_INTERNAL,
            reason: "the relay could not keep this connection; reconnect".into(),
        });
    }

    /// The timer was not set. Asking again at once could loop on a runtime that keeps
    /// refusing, so the next request waits for a back-off and for the next input.
    pub(super) fn on_timer_failed(&mut self, now: Millis, error: String) {
        self.out.push(RoomOutput::Event(RoomEvent::IoFailed {
            error: format!("set timer: {error}"),
        }));
        self.timer = None;
        self.timer_blocked_until = Some(now + self.config.first_retry_ms);
    }
}
