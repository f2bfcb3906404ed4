//! Reconnect delays: exponential back-off with jitter, from a seeded generator.

use super::rng::splitmix64;
use crate::io::Millis;

/// Exponential back-off with "equal jitter": half the delay is fixed, half random, so many
/// clients that lost the same relay do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base_ms: u64,
    max_ms: u64,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(base_ms: u64, max_ms: u64, seed: u64) -> Self {
        Self {
            base_ms,
            max_ms,
            attempt: 0,
            rng: splitmix64(seed).max(1),
        }
    }

    /// The delay before the next attempt; each call doubles the ceiling.
    pub(crate) fn next_delay(&mut self) -> Millis {
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << self.attempt.min(20))
            .min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        half + self.next_random() % (ceiling - half + 1)
    }

    /// A successful session: the next failure starts again from the base delay.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// xorshift64*: plenty for jitter, and keeps the core free of an rng dependency.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        let mut b = Backoff::new(100, 10_000, 42);
        let delays: Vec<u64> = (0..12).map(|_| b.next_delay()).collect();
        assert!((50..=100).contains(&delays[0]), "{delays:?}");
        assert!((100..=200).contains(&delays[1]), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= 10_000));
        assert!(delays[11] >= 5_000);
        let mut other = Backoff::new(100, 10_000, 43);
        let other: Vec<u64> = (0..12).map(|_| other.next_delay()).collect();
        assert_ne!(delays, other, "different seeds jitter differently");
        b.reset();
        assert!(b.next_delay() <= 100);
    }
}
