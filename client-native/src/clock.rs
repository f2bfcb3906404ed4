//! The clock and randomness the core is not allowed to read itself.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngExt;
use sync_core::io::Millis;

/// Wall-clock milliseconds since the epoch, as `DocSync` expects.
pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Fresh random bytes (actors, ids, jitter seeds).
pub(crate) fn random<T>() -> T
where
    rand::distr::StandardUniform: rand::distr::Distribution<T>,
{
    rand::rng().random()
}
