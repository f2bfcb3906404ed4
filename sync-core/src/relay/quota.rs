//! Plans and the tenant quota ledger: the arithmetic behind a tenant's quota (documents, stored
//! bytes, change bytes per rolling window). Pure, so it is exact and testable natively; the
//! relay's `TenantQuota` Durable Object persists a [`Ledger`] after every change, so the counts
//! survive restarts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::QuotaRefusal;
use crate::protocol::ErrorCode;

/// The `PLANS` configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum PlansError {
    /// Not a JSON object of plan name to limits.
    #[error("PLANS: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Unknown plans fall back to `free`, so it must exist.
    #[error("PLANS has no `free` plan")]
    NoFreePlan,
}

/// The limits of one plan, from the `PLANS` var.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// Documents the tenant may hold.
    pub max_docs: u64,
    /// Bytes the tenant may store in total.
    pub max_stored_bytes: u64,
    /// Change bytes accepted per rolling window.
    pub max_change_bytes_per_window: u64,
    /// Length of the rolling window, in seconds.
    pub window_secs: u64,
    /// Messages per second one connection may send (sustained; bursts of one second's worth).
    #[serde(default = "defaults::peer_messages_per_sec")]
    pub peer_messages_per_sec: u32,
    /// Frame bytes per second one connection may send.
    #[serde(default = "defaults::peer_bytes_per_sec")]
    pub peer_bytes_per_sec: u64,
    /// Messages per second all of the tenant's connections to one room may send together.
    #[serde(default = "defaults::tenant_messages_per_sec")]
    pub tenant_messages_per_sec: u32,
    /// Frame bytes per second all of the tenant's connections to one room may send together.
    #[serde(default = "defaults::tenant_bytes_per_sec")]
    pub tenant_bytes_per_sec: u64,
}

/// Rates for plans written before the rate fields existed.
mod defaults {
    pub(super) const fn peer_messages_per_sec() -> u32 {
        200
    }
    pub(super) const fn peer_bytes_per_sec() -> u64 {
        4 * 1024 * 1024
    }
    pub(super) const fn tenant_messages_per_sec() -> u32 {
        1000
    }
    pub(super) const fn tenant_bytes_per_sec() -> u64 {
        16 * 1024 * 1024
    }
}

impl Default for PlanLimits {
    /// The `free` plan of the shipped `wrangler.toml`.
    fn default() -> Self {
        Self {
            max_docs: 100,
            max_stored_bytes: 100 * 1024 * 1024,
            max_change_bytes_per_window: 10 * 1024 * 1024,
            window_secs: 60,
            peer_messages_per_sec: defaults::peer_messages_per_sec(),
            peer_bytes_per_sec: defaults::peer_bytes_per_sec(),
            tenant_messages_per_sec: defaults::tenant_messages_per_sec(),
            tenant_bytes_per_sec: defaults::tenant_bytes_per_sec(),
        }
    }
}

/// All plans, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plans(BTreeMap<String, PlanLimits>);

impl Plans {
    /// Parses the `PLANS` var (a JSON object of plan name to limits).
    pub fn from_json(json: &str) -> Result<Self, PlansError> {
        Ok(Self(serde_json::from_str(json)?))
    }

    /// The limits of `plan`, falling back to `free` for an unknown plan name.
    pub fn limits(&self, plan: &str) -> Result<PlanLimits, PlansError> {
        self.0
            .get(plan)
            .or_else(|| self.0.get("free"))
            .copied()
            .ok_or(PlansError::NoFreePlan)
    }
}

/// A tenant's usage: documents, stored bytes, and recent change bytes for the rolling window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Documents counted.
    pub docs: u64,
    /// Bytes granted for storage.
    pub stored_bytes: u64,
    /// `(time_ms, bytes)` of grants inside the current window.
    pub recent: Vec<(u64, u64)>,
}

impl Ledger {
    /// Change bytes granted in the window ending at `now_ms`.
    pub fn window_bytes(&self, limits: &PlanLimits, now_ms: u64) -> u64 {
        self.recent
            .iter()
            .filter(|(t, _)| t + limits.window_secs * 1000 > now_ms)
            .map(|(_, b)| b)
            .sum()
    }

    /// Grants `bytes` (and a document, when `new_document`) or refuses without changing anything.
    pub fn reserve(
        &mut self,
        limits: &PlanLimits,
        now_ms: u64,
        bytes: u64,
        new_document: bool,
    ) -> Result<u64, QuotaRefusal> {
        self.recent
            .retain(|(t, _)| t + limits.window_secs * 1000 > now_ms);
        let exceeded = QuotaRefusal {
            code: ErrorCode::QuotaExceeded,
            retry_after_ms: None,
        };
        if new_document && self.docs >= limits.max_docs {
            return Err(exceeded);
        }
        if self.stored_bytes.saturating_add(bytes) > limits.max_stored_bytes {
            return Err(exceeded);
        }
        if self.window_bytes(limits, now_ms).saturating_add(bytes)
            > limits.max_change_bytes_per_window
        {
            // The oldest grant leaving the window frees budget first.
            let retry = self
                .recent
                .first()
                .map_or(limits.window_secs * 1000, |(t, _)| {
                    (t + limits.window_secs * 1000).saturating_sub(now_ms)
                });
            return Err(QuotaRefusal {
                code: ErrorCode::RateLimited,
                retry_after_ms: Some(retry.max(1)),
            });
        }
        if new_document {
            self.docs += 1;
        }
        self.stored_bytes += bytes;
        self.recent.push((now_ms, bytes));
        Ok(bytes)
    }

    /// Takes back stored bytes a room no longer holds (and, with `document`, the document
    /// itself). Never goes below zero; the rate window is not refunded.
    pub fn release(&mut self, bytes: u64, document: bool) {
        self.stored_bytes = self.stored_bytes.saturating_sub(bytes);
        if document {
            self.docs = self.docs.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PlanLimits = PlanLimits {
        max_docs: 2,
        max_stored_bytes: 1000,
        max_change_bytes_per_window: 500,
        window_secs: 10,
        peer_messages_per_sec: 10,
        peer_bytes_per_sec: 1000,
        tenant_messages_per_sec: 20,
        tenant_bytes_per_sec: 2000,
    };

    #[test]
    fn docs_bytes_and_rate() {
        let mut l = Ledger::default();
        assert_eq!(l.reserve(&LIMITS, 0, 100, true), Ok(100));
        assert_eq!(l.reserve(&LIMITS, 0, 100, true), Ok(100));
        let err = l.reserve(&LIMITS, 0, 1, true).unwrap_err();
        assert_eq!(err.code, ErrorCode::QuotaExceeded);
        let err = l.reserve(&LIMITS, 1000, 400, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.retry_after_ms, Some(9000));
        // Refusals change nothing.
        assert_eq!(l.stored_bytes, 200);
        assert_eq!(l.reserve(&LIMITS, 10_001, 400, false), Ok(400));
        let err = l.reserve(&LIMITS, 30_000, 401, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::QuotaExceeded);
    }

    #[test]
    fn release_frees_bytes_and_documents_for_new_reservations() {
        let mut l = Ledger::default();
        assert_eq!(l.reserve(&LIMITS, 0, 400, true), Ok(400));
        assert_eq!(l.reserve(&LIMITS, 20_000, 400, true), Ok(400));
        assert!(l.reserve(&LIMITS, 40_000, 400, true).is_err());
        l.release(400, true);
        assert_eq!((l.docs, l.stored_bytes), (1, 400));
        assert_eq!(l.reserve(&LIMITS, 40_000, 400, true), Ok(400));
        // Releasing more than is counted stops at zero.
        l.release(10_000, true);
        l.release(0, true);
        l.release(0, true);
        assert_eq!((l.docs, l.stored_bytes), (0, 0));
    }

    #[test]
    fn plans_parse_and_fall_back_to_free() {
        let p = Plans::from_json(
            r#"{"free":{"max_docs":1,"max_stored_bytes":2,"max_change_bytes_per_window":3,"window_secs":4}}"#,
        )
        .unwrap();
        assert_eq!(p.limits("gold").unwrap().max_docs, 1);
    }
}
