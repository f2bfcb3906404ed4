//! The relay's refusal of the WebSocket upgrade itself: an HTTP error whose JSON body
//! `{"code","message"}` carries the same [`ErrorCode`] a refusal on an open connection does.
//! Reading it here lets every client shell hand the core a typed refusal instead of "HTTP 401",
//! which would otherwise look like an unreachable relay and be retried forever.

use super::ErrorCode;

/// Why the relay refused to open a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRefusal {
    /// The refusal's code.
    pub code: ErrorCode,
    /// The relay's explanation, for people.
    pub message: String,
    /// How long to wait before trying again, when the relay said.
    pub retry_after_ms: Option<u64>,
}

impl HttpRefusal {
    /// Reads a refusal from an HTTP response: its status, its `Retry-After` header in seconds,
    /// and its body. The body's `code` wins; without one, only a status that means one of our
    /// codes unambiguously counts (a 401, 402, 403, 410 or 429). Anything else (a proxy's 502,
    /// a 404 from something that is not a relay) is `None`: the caller treats it as a relay it
    /// could not reach, and backs off and retries.
    pub fn parse(status: u16, retry_after_secs: Option<u64>, body: &[u8]) -> Option<Self> {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |key: &str| json.as_ref().and_then(|j| j.get(key));
        let from_body = field("code")
            .and_then(serde_json::Value::as_str)
            .and_then(|c| c.parse::<ErrorCode>().ok());
        let code = from_body.or_else(|| Self::code_for_status(status))?;
        let message = field("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let retry_after_ms = field("retry_after_ms")
            .or_else(|| field("retryAfterMs"))
            .and_then(serde_json::Value::as_u64)
            .or_else(|| retry_after_secs.map(|s| s.saturating_mul(1000)));
        Some(Self {
            code,
            message,
            retry_after_ms,
        })
    }

    fn code_for_status(status: u16) -> Option<ErrorCode> {
        // 400 and 413 are left out: a 400 can come from any HTTP server that is not a relay.
        [
            ErrorCode::AuthFailed,
            ErrorCode::QuotaExceeded,
            ErrorCode::PermissionDenied,
            ErrorCode::DocDeleted,
            ErrorCode::RateLimited,
        ]
        .into_iter()
        .find(|c| c.http_status() == status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_code_wins_over_the_status() {
        let r = HttpRefusal::parse(401, None, br#"{"code":"token_expired","message":"old"}"#);
        assert_eq!(
            r,
            Some(HttpRefusal {
                code: ErrorCode::TokenExpired,
                message: "old".into(),
                retry_after_ms: None,
            })
        );
    }

    #[test]
    fn retry_hints_come_from_the_body_or_the_header() {
        let body = br#"{"code":"rate_limited","message":"","retry_after_ms":1500}"#;
        assert_eq!(
            HttpRefusal::parse(429, Some(9), body).map(|r| r.retry_after_ms),
            Some(Some(1500))
        );
        assert_eq!(
            HttpRefusal::parse(429, Some(9), b"slow down").map(|r| r.retry_after_ms),
            Some(Some(9000))
        );
    }

    #[test]
    fn a_bare_status_counts_only_when_it_is_unambiguous() {
        assert_eq!(
            HttpRefusal::parse(410, None, b"").map(|r| r.code),
            Some(ErrorCode::DocDeleted)
        );
        for status in [400, 404, 500, 502] {
            assert_eq!(
                HttpRefusal::parse(status, None, b"<html>"),
                None,
                "{status}"
            );
        }
        assert_eq!(
            HttpRefusal::parse(502, None, br#"{"code":"not_ours"}"#),
            None
        );
    }
}
