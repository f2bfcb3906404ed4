//! When the relay fetches its JWKS: the cache policy, with the clock passed in.
//!
//! The Worker asks [`JwksCache::step`] for every token and does what it says: verify without a
//! key set (HS256 never needs one, so it never causes a fetch), verify against the cached set,
//! fetch the set (then report the outcome with [`JwksCache::fetched`] and ask again), or refuse
//! for now. A set is trusted for [`JwksPolicy::ttl_ms`]; a failed fetch is remembered for
//! [`JwksPolicy::failure_ttl_ms`], so an unreachable issuer is not asked on every request; and a
//! token naming a key the set lacks (the issuer may have rotated keys) refetches at most once
//! per [`JwksPolicy::min_refetch_ms`], so a stream of tokens with made-up `kid`s cannot turn the
//! relay into a request amplifier against the issuer.

use super::jws::Algorithm;
use super::verifier::key_hint;
use super::{AuthError, Jwks};

/// The cache's timings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksPolicy {
    /// How long a fetched set is used before it is fetched again.
    pub ttl_ms: u64,
    /// How long a failed fetch is remembered: no fetch is tried meanwhile.
    pub failure_ttl_ms: u64,
    /// The shortest time between two fetches caused by an unknown `kid`.
    pub min_refetch_ms: u64,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            ttl_ms: 300_000,
            failure_ttl_ms: 30_000,
            min_refetch_ms: 60_000,
        }
    }
}

/// What to do for one token.
#[derive(Debug, Clone)]
pub enum JwksStep {
    /// The token is not RS256/ES256 (HS256, or a header the verifier will refuse anyway):
    /// verify without a key set.
    NotNeeded,
    /// Verify against this set.
    Use(Jwks),
    /// Fetch the set, report it with [`JwksCache::fetched`], and ask again.
    Fetch,
    /// The set could not be fetched lately: refuse the token for now, as retryable.
    Unavailable {
        /// When the next fetch may be tried.
        retry_after_ms: u64,
    },
}

/// The relay's cached key set and the times that decide when to fetch it again.
#[derive(Debug, Clone, Default)]
pub struct JwksCache {
    policy: JwksPolicy,
    keys: Option<(Jwks, u64)>,
    last_attempt_ms: Option<u64>,
    last_failed: bool,
}

impl JwksCache {
    /// An empty cache with `policy`.
    pub fn new(policy: JwksPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// What to do for `token` at `now_ms`.
    pub fn step(&self, token: &str, now_ms: u64) -> JwksStep {
        let Some((alg, kid)) = key_hint(token) else {
            return JwksStep::NotNeeded;
        };
        let since_attempt = self.last_attempt_ms.map(|t| now_ms.saturating_sub(t));
        let fresh = self
            .keys
            .as_ref()
            .filter(|(_, at)| now_ms.saturating_sub(*at) < self.policy.ttl_ms)
            .map(|(jwks, _)| jwks);
        match fresh {
            Some(jwks) => {
                let recently = since_attempt.is_some_and(|d| d < self.policy.min_refetch_ms);
                if has_key(jwks, alg, kid.as_deref()) || recently {
                    JwksStep::Use(jwks.clone())
                } else {
                    JwksStep::Fetch
                }
            }
            None => match since_attempt {
                Some(d) if self.last_failed && d < self.policy.failure_ttl_ms => {
                    JwksStep::Unavailable {
                        retry_after_ms: self.policy.failure_ttl_ms - d,
                    }
                }
                _ => JwksStep::Fetch,
            },
        }
    }

    /// Records the outcome of a fetch started at `now_ms`. A failure keeps a set that is still
    /// fresh: a flaky issuer does not lock out tokens whose keys the relay already has.
    pub fn fetched(&mut self, now_ms: u64, result: Result<Jwks, AuthError>) {
        self.last_attempt_ms = Some(now_ms);
        match result {
            Ok(jwks) => {
                self.keys = Some((jwks, now_ms));
                self.last_failed = false;
            }
            Err(_) => self.last_failed = true,
        }
    }
}

fn has_key(jwks: &Jwks, alg: Algorithm, kid: Option<&str>) -> bool {
    jwks.select(alg, kid).is_ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const FIXTURE: &str = include_str!("testdata/jwks.json");

    /// A token whose header says `alg` and `kid`; the rest does not matter to the cache.
    fn token(alg: &str, kid: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#));
        format!("{header}.e30.sig")
    }

    fn jwks() -> Jwks {
        Jwks::from_json(FIXTURE).unwrap()
    }

    fn policy() -> JwksPolicy {
        JwksPolicy {
            ttl_ms: 1_000,
            failure_ttl_ms: 100,
            min_refetch_ms: 500,
        }
    }

    #[test]
    fn hs256_and_garbage_never_need_the_set() {
        let cache = JwksCache::new(policy());
        assert!(matches!(
            cache.step(&token("HS256", "x"), 0),
            JwksStep::NotNeeded
        ));
        assert!(matches!(cache.step("not a token", 0), JwksStep::NotNeeded));
        assert!(matches!(
            cache.step(&token("none", "x"), 0),
            JwksStep::NotNeeded
        ));
    }

    #[test]
    fn fetches_once_then_uses_the_set_until_its_ttl() {
        let mut cache = JwksCache::new(policy());
        let rs = token("RS256", "rs-1");
        assert!(matches!(cache.step(&rs, 0), JwksStep::Fetch));
        cache.fetched(0, Ok(jwks()));
        assert!(matches!(cache.step(&rs, 999), JwksStep::Use(_)));
        assert!(matches!(
            cache.step(&token("ES256", "es-1"), 999),
            JwksStep::Use(_)
        ));
        assert!(matches!(cache.step(&rs, 1_000), JwksStep::Fetch));
    }

    #[test]
    fn failures_are_remembered_briefly() {
        let mut cache = JwksCache::new(policy());
        let rs = token("RS256", "rs-1");
        cache.fetched(0, Err(AuthError::InvalidJwks("down".into())));
        assert!(matches!(
            cache.step(&rs, 40),
            JwksStep::Unavailable { retry_after_ms: 60 }
        ));
        assert!(matches!(cache.step(&rs, 100), JwksStep::Fetch));
        // A failed refresh does not throw away a set that is still fresh.
        cache.fetched(100, Ok(jwks()));
        cache.fetched(700, Err(AuthError::InvalidJwks("down".into())));
        assert!(matches!(cache.step(&rs, 800), JwksStep::Use(_)));
    }

    #[test]
    fn an_unknown_kid_refetches_at_most_once_per_period() {
        let mut cache = JwksCache::new(policy());
        let unknown = token("RS256", "rs-2");
        assert!(matches!(cache.step(&unknown, 0), JwksStep::Fetch));
        cache.fetched(0, Ok(jwks()));
        // Just fetched: the set is what the issuer publishes; the verifier refuses the kid.
        for now in [0, 10, 499] {
            assert!(
                matches!(cache.step(&unknown, now), JwksStep::Use(_)),
                "{now}"
            );
        }
        assert!(matches!(cache.step(&unknown, 500), JwksStep::Fetch));
        cache.fetched(500, Ok(jwks()));
        assert!(matches!(cache.step(&unknown, 600), JwksStep::Use(_)));
        // A known kid never refetches inside the TTL.
        assert!(matches!(
            cache.step(&token("RS256", "rs-1"), 900),
            JwksStep::Use(_)
        ));
    }
}
