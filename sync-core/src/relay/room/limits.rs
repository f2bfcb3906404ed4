//! The room's bounds on what peers make it hold or do: frame rates per connection and per
//! tenant, fragment reassembly (per connection, per room, idle expiry), `ephemeral` size and
//! rate, and the queues of frames waiting for the load and of changes waiting for storage.
//!
//! Every check refuses only the connection that crossed the bound, with a code (and
//! `retryAfterMs` when waiting helps); every other peer keeps being served.
//!
//! "Per tenant" is per room: a room belongs to one tenant, so the tenant bucket is the room-wide
//! bucket over all its connections, at the rates of the sending token's plan. (The tenant-wide
//! budget of change bytes across documents is the quota ledger's job.)

use super::*;
use crate::relay::rate::FrameRates;

impl RelayRoom {
    /// A frame straight from the wire: charged against the connection's and the tenant's rates
    /// before anything else is done with it. (Frames replayed after the load skip this.)
    pub(super) fn on_wire_frame(&mut self, now: Millis, conn: ConnId, bytes: Vec<u8>) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        if peer.access.expires_at_ms <= now {
            return self.refuse(conn, ErrorCode::TokenExpired, "the token has expired");
        }
        if bytes.len() > self.config.max_frame_bytes {
            return self.refuse(
                conn,
                ErrorCode::PayloadTooLarge,
                "frame over the size limit; split it",
            );
        }
        let plan = peer.access.plan;
        if let Err(wait) = peer.inbound(&self.config).rates.take(now, bytes.len()) {
            return self.refuse_with_retry(
                conn,
                ErrorCode::RateLimited,
                "this connection sends faster than its plan allows",
                Some(wait),
            );
        }
        let (messages, bytes_per_sec) = (
            u64::from(plan.tenant_messages_per_sec),
            plan.tenant_bytes_per_sec,
        );
        let tenant = self
            .tenant_rates
            .get_or_insert_with(|| FrameRates::new(messages, bytes_per_sec));
        tenant.set_rates(messages, bytes_per_sec);
        if let Err(wait) = tenant.take(now, bytes.len()) {
            return self.refuse_with_retry(
                conn,
                ErrorCode::RateLimited,
                "the tenant's connections to this document send faster than its plan allows",
                Some(wait),
            );
        }
        self.on_frame(now, conn, bytes);
    }

    /// Whether a fragment of `len` bytes from `conn` may be buffered; refuses `conn` if not.
    pub(super) fn admit_fragment(&mut self, conn: ConnId, len: usize) -> bool {
        let Some(peer) = self.peers.get(&conn) else {
            return false;
        };
        if peer.remote.is_none() {
            self.refuse(conn, ErrorCode::BadMessage, "expected join first");
            return false;
        }
        // Only a change can need a frame over the limit; a read-only peer sends none, so its
        // fragments could only ever be held for nothing.
        if !peer.access.can_write {
            self.refuse(
                conn,
                ErrorCode::PermissionDenied,
                "this token is read-only; it has nothing to send in fragments",
            );
            return false;
        }
        let room: usize = self.peers.values().map(Peer::buffered_fragment_bytes).sum();
        if room + len > self.config.max_room_reassembly_bytes {
            self.refuse(
                conn,
                ErrorCode::PayloadTooLarge,
                "the document's buffer for fragmented messages is full",
            );
            return false;
        }
        true
    }

    /// Whether an `ephemeral` with `len` bytes of data may be relayed; refuses `conn` if not.
    pub(super) fn admit_ephemeral(&mut self, now: Millis, conn: ConnId, len: usize) -> bool {
        if len > self.config.max_ephemeral_bytes {
            let msg = format!(
                "an ephemeral message of {len} bytes is over the {}-byte limit",
                self.config.max_ephemeral_bytes
            );
            self.refuse(conn, ErrorCode::PayloadTooLarge, &msg);
            return false;
        }
        let Some(peer) = self.peers.get_mut(&conn) else {
            return false;
        };
        if let Err(wait) = peer.inbound(&self.config).ephemeral.take(now, 1) {
            self.refuse_with_retry(
                conn,
                ErrorCode::RateLimited,
                "too many ephemeral messages",
                Some(wait),
            );
            return false;
        }
        true
    }

    /// Whether a frame of `len` bytes may wait for the load; refuses `conn` if not.
    pub(super) fn admit_early(&mut self, conn: ConnId, len: usize) -> bool {
        let held: usize = self.early_frames.iter().map(|(_, b)| b.len()).sum();
        if self.early_frames.len() >= self.config.max_early_frames
            || held + len > self.config.max_early_bytes
        {
            let retry = self.config.queue_retry_ms;
            self.refuse_with_retry(
                conn,
                ErrorCode::RateLimited,
                "the document is still loading and holds too many frames",
                Some(retry),
            );
            return false;
        }
        true
    }

    /// Whether `len` bytes of changes from `conn` may queue behind storage and quota; refuses
    /// `conn` if not. Sync messages without changes never queue, so they are never refused here.
    pub(super) fn admit_changes(&mut self, conn: ConnId, len: usize) -> bool {
        let (mut mine, mut all) = (0usize, 0usize);
        let queued = self.pending.iter().map(|c| (c.conn, c.len));
        let parsed = self.incoming.iter().chain(&self.waiting);
        let parsed = parsed.map(|q| (q.conn, q.change.bytes.len()));
        for (c, len) in queued.chain(parsed) {
            all += len;
            if c == conn {
                mine += len;
            }
        }
        // An empty queue always admits one message: a single change up to the change limit
        // must get through however small the bounds are set.
        let over_mine = mine > 0 && mine + len > self.config.max_pending_bytes_per_peer;
        let over_all = all > 0 && all + len > self.config.max_pending_bytes;
        if over_mine || over_all {
            let retry = self.config.queue_retry_ms;
            self.refuse_with_retry(
                conn,
                ErrorCode::RateLimited,
                "the document is still storing earlier changes; send again later",
                Some(retry),
            );
            return false;
        }
        true
    }

    /// Drops partial messages nobody finished within `partial_idle_ms`.
    pub(super) fn expire_partials(&mut self, now: Millis) {
        let idle = self.config.partial_idle_ms;
        for peer in self.peers.values_mut() {
            if let Some(inbound) = peer.inbound.as_mut() {
                inbound.reassembler.expire(now, idle);
            }
        }
    }

    /// When the next partial message expires, if any is in progress.
    pub(super) fn partials_due(&self) -> Option<Millis> {
        self.peers
            .values()
            .filter_map(|p| p.inbound.as_ref()?.reassembler.oldest_activity())
            .min()
            .map(|t| t.saturating_add(self.config.partial_idle_ms))
    }
}
