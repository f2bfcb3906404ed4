//! Machine-readable error codes: our extension to the `error` message.

use std::fmt;
use std::str::FromStr;

/// Why the relay (or a peer) is about to close the connection.
///
/// Sent as the `code` key of an `error` message, and repeated as the WebSocket close code
/// ([`close_code`](Self::close_code)) because stock automerge-repo clients only log `error`
/// messages but do see the close. The HTTP status ([`http_status`](Self::http_status)) is used
/// when the same condition is detected before the WebSocket upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// The token is missing, malformed, badly signed, or not valid for this document.
    ///
    /// Client: get a new token (sign in again) before reconnecting; retrying with the same token
    /// cannot succeed.
    AuthFailed,
    /// The token was valid but has expired (`exp`) or is not yet valid (`nbf`).
    ///
    /// Client: refresh the token, then reconnect at once.
    TokenExpired,
    /// The token is valid but its scope does not allow this operation (for example a read-only
    /// peer sent changes). The document did not change.
    ///
    /// Client: stop sending changes for this document; keep them locally until the user gets
    /// write access.
    PermissionDenied,
    /// The tenant's plan limit (documents, stored bytes or change bytes) is used up.
    ///
    /// Client: stop syncing changes for this document and tell the user; retrying will fail until
    /// the quota window resets or the plan changes (see `retryAfterMs` when present).
    QuotaExceeded,
    /// Too many messages or connections in a short time.
    ///
    /// Client: retry later, after `retryAfterMs` if present, otherwise with exponential backoff.
    RateLimited,
    /// A frame or change is larger than the relay accepts.
    ///
    /// Client: fix the client (split or fragment frames, see the `protocol` module); resending
    /// the same bytes will fail again.
    PayloadTooLarge,
    /// The peer sent something that does not decode or breaks the protocol.
    ///
    /// Client: this is a client bug; fix the client. Reconnecting with backoff is allowed but the
    /// same message will be refused again.
    BadMessage,
    /// The document was deleted (tombstoned) at the relay.
    ///
    /// Client: stop syncing this document for good and tell the user; do not reconnect to it.
    DocDeleted,
}

/// A code string or close code that is not one of ours.
///
/// Recovery: treat the error as an unknown, non-retryable failure; newer relays may send codes
/// this client does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0:?}")]
pub struct UnknownErrorCode(pub String);

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::AuthFailed,
        Self::TokenExpired,
        Self::PermissionDenied,
        Self::QuotaExceeded,
        Self::RateLimited,
        Self::PayloadTooLarge,
        Self::BadMessage,
        Self::DocDeleted,
    ];

    /// The wire spelling, used in the `code` key.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthFailed => "auth_failed",
            Self::TokenExpired => "token_expired",
            Self::PermissionDenied => "permission_denied",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BadMessage => "bad_message",
            Self::DocDeleted => "doc_deleted",
        }
    }

    /// The WebSocket close code sent after the error message (application range 4000-4999,
    /// laid out as 4000 + the matching HTTP status where one exists).
    pub const fn close_code(self) -> u16 {
        match self {
            Self::BadMessage => 4400,
            Self::AuthFailed => 4401,
            Self::QuotaExceeded => 4402,
            Self::PermissionDenied => 4403,
            Self::DocDeleted => 4410,
            Self::PayloadTooLarge => 4413,
            Self::RateLimited => 4429,
            // 4401 is taken by auth_failed, and clients must tell the two apart: an expired
            // token is refreshed silently, a rejected one needs the user.
            Self::TokenExpired => 4440,
        }
    }

    /// The code for a WebSocket close code, if it is one of ours.
    pub fn from_close_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.close_code() == code)
    }

    /// The HTTP status for the same condition when it is detected before the upgrade.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BadMessage => 400,
            Self::AuthFailed | Self::TokenExpired => 401,
            Self::QuotaExceeded => 402,
            Self::PermissionDenied => 403,
            Self::DocDeleted => 410,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In JSON the code is its string, as on the wire (`"auth_failed"`).
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read back from its string; an unknown code is an error.
impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(|e: UnknownErrorCode| {
            serde::de::Error::custom(format!("unknown code {:?}", e.0))
        })
    }
}

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownErrorCode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_every_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse(), Ok(code));
            assert_eq!(ErrorCode::from_close_code(code.close_code()), Some(code));
        }
        assert_eq!(ErrorCode::from_close_code(1000), None);
        assert!("nope".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn numbers_match_the_design() {
        let table: Vec<_> = ErrorCode::ALL
            .into_iter()
            .map(|c| (c.as_str(), c.close_code(), c.http_status()))
            .collect();
        assert_eq!(
            table,
            [
                ("auth_failed", 4401, 401),
                ("token_expired", 4440, 401),
                ("permission_denied", 4403, 403),
                ("quota_exceeded", 4402, 402),
                ("rate_limited", 4429, 429),
                ("payload_too_large", 4413, 413),
                ("bad_message", 4400, 400),
                ("doc_deleted", 4410, 410),
            ]
        );
    }
}
