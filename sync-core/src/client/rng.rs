//! The session's randomness, seeded by the shell (the core has no rng): block ids, and the seed
//! of the back-off jitter.

/// splitmix64 over a 64-bit state: statistically sound for ids and jitter, and dependency-free.
#[derive(Debug, Clone)]
pub(crate) struct SessionRng(u64);

impl SessionRng {
    /// Seeded from the shell's random bytes (the same bytes are the session's actor).
    pub(crate) fn new(seed: &[u8; 16]) -> Self {
        let lo = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(seed[8..].try_into().expect("8 bytes"));
        Self(lo ^ hi.rotate_left(29))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let out = splitmix64(self.0);
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out
    }
}

/// One splitmix64 step: spreads nearby inputs (0, 1, 2, ...) over the whole 64-bit space.
pub(crate) fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_seeds_give_different_sequences() {
        let mut a = SessionRng::new(&[1; 16]);
        let mut b = SessionRng::new(&[2; 16]);
        let a: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_ne!(a, b);
        assert_ne!(a[0], a[1]);
    }
}
