//! Token buckets: how many messages or bytes a sender may still send, refilled with the time the
//! caller passes in. The room keeps one per connection and one for the whole room (its tenant),
//! for messages and for bytes, plus one per connection for `ephemeral` messages.
//!
//! No clock of its own: every call takes `now`, so tests run in virtual time and a hibernated
//! room that wakes up simply sees a full bucket.

use crate::io::Millis;

/// A bucket of `capacity` tokens refilled at `per_sec` tokens per second. Starts full, so a
/// fresh sender may burst `capacity` at once; after that it gets `per_sec` sustained.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Option<Millis>,
}

impl TokenBucket {
    /// A full bucket. A rate of zero means "no tokens ever": every take is refused with the
    /// longest wait, so a misconfigured plan fails closed rather than open.
    pub(crate) fn new(per_sec: u64, capacity: u64) -> Self {
        Self {
            capacity: capacity as f64,
            per_sec: per_sec as f64,
            tokens: capacity as f64,
            last: None,
        }
    }

    /// Changes the rate and capacity, keeping the tokens the bucket holds (capped).
    pub(crate) fn set_rate(&mut self, per_sec: u64, capacity: u64) {
        self.per_sec = per_sec as f64;
        self.capacity = capacity as f64;
        self.tokens = self.tokens.min(self.capacity);
    }

    fn refill(&mut self, now: Millis) {
        if let Some(last) = self.last
            && now > last
        {
            let earned = (now - last) as f64 * self.per_sec / 1000.0;
            self.tokens = (self.tokens + earned).min(self.capacity);
        }
        // A clock that goes backwards (another isolate's `Date.now()`) earns nothing.
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }

    /// Takes `n` tokens at `now`, or refuses with how many milliseconds until `n` tokens would
    /// be there (at least 1). A take larger than the capacity can never succeed; it is refused
    /// with the time a full bucket takes, and the caller should treat it as too large instead.
    pub(crate) fn take(&mut self, now: Millis, n: u64) -> Result<(), u64> {
        self.refill(now);
        let n = n as f64;
        if n <= self.tokens {
            self.tokens -= n;
            return Ok(());
        }
        if self.per_sec <= 0.0 {
            return Err(MAX_RETRY_MS);
        }
        let missing = n.min(self.capacity.max(1.0)) - self.tokens;
        let ms = (missing.max(0.0) * 1000.0 / self.per_sec).ceil();
        Err((ms as u64).clamp(1, MAX_RETRY_MS))
    }
}

/// Messages and bytes per second, each with a burst of one second's worth: the plan's rates
/// for one connection, or for all of a tenant's connections to one room.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrameRates {
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl FrameRates {
    pub(crate) fn new(messages_per_sec: u64, bytes_per_sec: u64) -> Self {
        Self {
            messages: TokenBucket::new(messages_per_sec, messages_per_sec),
            bytes: TokenBucket::new(bytes_per_sec, bytes_per_sec),
        }
    }

    /// Follows a change of plan, keeping what was already spent.
    pub(crate) fn set_rates(&mut self, messages_per_sec: u64, bytes_per_sec: u64) {
        self.messages.set_rate(messages_per_sec, messages_per_sec);
        self.bytes.set_rate(bytes_per_sec, bytes_per_sec);
    }

    /// Counts one frame of `len` bytes at `now`, or says how long to wait.
    pub(crate) fn take(&mut self, now: Millis, len: usize) -> Result<(), u64> {
        self.messages.take(now, 1)?;
        self.bytes.take(now, len as u64)
    }
}

/// The longest `retryAfterMs` a bucket advises: beyond a minute, a client should back off on its
/// own schedule.
const MAX_RETRY_MS: u64 = 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_a_burst_then_the_sustained_rate() {
        let mut b = TokenBucket::new(10, 20);
        for _ in 0..20 {
            assert_eq!(b.take(1_000, 1), Ok(()));
        }
        // Empty: one token comes back every 100 ms.
        assert_eq!(b.take(1_000, 1), Err(100));
        assert_eq!(b.take(1_050, 1), Err(50));
        assert_eq!(b.take(1_100, 1), Ok(()));
        assert_eq!(b.take(1_100, 1), Err(100));
        // Refill is capped at the capacity.
        assert_eq!(b.take(100_000, 20), Ok(()));
        assert_eq!(b.take(100_000, 1), Err(100));
    }

    #[test]
    fn byte_buckets_take_many_tokens_at_once() {
        let mut b = TokenBucket::new(1000, 1000);
        assert_eq!(b.take(0, 600), Ok(()));
        // 200 bytes missing at 1000 bytes per second: 200 ms.
        assert_eq!(b.take(0, 600), Err(200));
        assert_eq!(b.take(200, 600), Ok(()));
        // A refused take costs nothing.
        assert_eq!(b.take(200, 1), Err(1));
    }

    #[test]
    fn a_take_over_the_capacity_waits_for_a_full_bucket() {
        let mut b = TokenBucket::new(100, 100);
        assert_eq!(b.take(0, 50), Ok(()));
        assert_eq!(b.take(0, 1_000_000), Err(500));
    }

    #[test]
    fn a_clock_going_backwards_earns_nothing() {
        let mut b = TokenBucket::new(10, 1);
        assert_eq!(b.take(10_000, 1), Ok(()));
        assert_eq!(b.take(5_000, 1), Err(100));
        assert_eq!(b.take(10_050, 1), Err(50));
    }

    #[test]
    fn a_zero_rate_fails_closed() {
        let mut b = TokenBucket::new(0, 0);
        assert_eq!(b.take(0, 1), Err(MAX_RETRY_MS));
        let mut b = TokenBucket::new(0, 5);
        assert_eq!(b.take(0, 5), Ok(()));
        assert_eq!(b.take(1_000_000, 1), Err(MAX_RETRY_MS));
    }

    #[test]
    fn frames_count_against_messages_and_bytes() {
        let mut r = FrameRates::new(2, 1000);
        assert_eq!(r.take(0, 100), Ok(()));
        assert_eq!(r.take(0, 100), Ok(()));
        // Third message in the same instant: half a second until one more is allowed.
        assert_eq!(r.take(0, 1), Err(500));
        let mut r = FrameRates::new(100, 1000);
        assert_eq!(r.take(0, 900), Ok(()));
        assert_eq!(r.take(0, 200), Err(100));
        r.set_rates(100, 10_000);
        assert_eq!(r.take(0, 5_000), Err(490));
    }

    #[test]
    fn changing_the_rate_keeps_at_most_the_new_capacity() {
        let mut b = TokenBucket::new(100, 100);
        b.set_rate(10, 10);
        for _ in 0..10 {
            assert_eq!(b.take(0, 1), Ok(()));
        }
        assert_eq!(b.take(0, 1), Err(100));
    }
}
