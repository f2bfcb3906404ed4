//! Fetching the JWKS for RS256/ES256 tokens, as `sync_core::auth::JwksCache` says: only for
//! tokens that need it, with a timeout, cached per isolate.

use std::cell::RefCell;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use sync_core::auth::{AuthError, Jwks, JwksCache, JwksPolicy, JwksStep};
use sync_core::relay::gate::Refusal;
use worker::{Delay, Env, Fetch};

use crate::entry::opt_var;
use crate::error::Result;

/// How long the issuer gets to answer; a hung JWKS endpoint must not hold requests open.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// The cache of this isolate, with the URL it belongs to.
    static CACHE: RefCell<Option<(String, JwksCache)>> = const { RefCell::new(None) };
}

/// The key set to verify `token` with: `None` when the token needs none (HS256).
pub(crate) async fn keys_for(token: &str, url: &str, env: &Env) -> Result<Option<Jwks>> {
    let now = worker::Date::now().as_millis();
    let policy = policy(env);
    let mut fetched = false;
    loop {
        let step = CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.as_ref().is_none_or(|(u, _)| u != url) {
                *c = Some((url.to_owned(), JwksCache::new(policy)));
            }
            c.as_ref().map(|(_, cache)| cache.step(token, now))
        });
        match step {
            None | Some(JwksStep::NotNeeded) => return Ok(None),
            Some(JwksStep::Use(jwks)) => return Ok(Some(jwks)),
            Some(JwksStep::Unavailable { retry_after_ms }) => {
                return Err(Refusal::keys_unavailable(retry_after_ms).into());
            }
            // One fetch per request at most, whatever the policy says.
            Some(JwksStep::Fetch) if fetched => {
                return Err(Refusal::keys_unavailable(policy.failure_ttl_ms).into());
            }
            Some(JwksStep::Fetch) => {
                let result = fetch(url).await;
                if let Err(e) = &result {
                    worker::console_error!("relay error: JWKS from {url}: {e}");
                }
                CACHE.with(|c| {
                    if let Some((_, cache)) = c.borrow_mut().as_mut() {
                        cache.fetched(now, result);
                    }
                });
                fetched = true;
            }
        }
    }
}

/// The default policy; `JWKS_REFETCH_SECS` sets the shortest time between refetches for an
/// unknown `kid`.
fn policy(env: &Env) -> JwksPolicy {
    let mut policy = JwksPolicy::default();
    if let Some(secs) = opt_var(env, "JWKS_REFETCH_SECS").and_then(|s| s.parse::<u64>().ok()) {
        policy.min_refetch_ms = secs.saturating_mul(1000);
    }
    policy
}

async fn fetch(url: &str) -> std::result::Result<Jwks, AuthError> {
    let bad = |why: String| AuthError::InvalidJwks(why);
    let parsed = worker::Url::parse(url).map_err(|e| bad(format!("JWKS_URL: {e}")))?;
    let body = async {
        let mut resp = Fetch::Url(parsed).send().await?;
        let status = resp.status_code();
        let text = resp.text().await?;
        Ok::<_, worker::Error>((status, text))
    };
    let (status, text) = match select(pin!(body), pin!(Delay::from(FETCH_TIMEOUT))).await {
        Either::Left((Ok(answer), _)) => answer,
        Either::Left((Err(e), _)) => return Err(bad(format!("fetch failed: {e}"))),
        Either::Right(_) => return Err(bad(format!("no answer within {FETCH_TIMEOUT:?}"))),
    };
    if status != 200 {
        return Err(bad(format!("the issuer answered {status}")));
    }
    Jwks::from_json(&text)
}
