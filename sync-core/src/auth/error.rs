use thiserror::Error;

/// Why a token was refused, or why a key set or dev token could not be built.
///
/// Every variant except [`AuthError::InvalidJwks`] describes the token a peer presented, so the
/// relay answers it with the wire `error` message whose code is [`AuthError::code`] and closes
/// the connection. `InvalidJwks` is the operator's problem, not the peer's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The token is not three base64url segments holding a JSON header and a JSON claims object,
    /// or a claim has the wrong type (e.g. `scope: "root"`, `exp: "tomorrow"`).
    ///
    /// Recovery: none by retrying; the client must obtain a fresh token from its issuer.
    #[error("malformed token")]
    Malformed,

    /// The header's `alg` is not one this verifier accepts: `none`, anything other than HS256,
    /// RS256 or ES256, HS256 when no secret is configured, or RS256/ES256 when no JWKS is.
    ///
    /// Recovery: the issuer must sign with an algorithm the relay is configured for.
    #[error("unsupported token algorithm {0:?}")]
    UnsupportedAlgorithm(String),

    /// No configured key fits the token: its `kid` is not in the JWKS (or names a key of another
    /// algorithm), it has no `kid` and the JWKS holds several candidate keys, or (when minting)
    /// the secret is empty.
    ///
    /// Recovery: if the issuer rotated keys, refresh the JWKS and verify again; otherwise fix
    /// the issuer's `kid` or the configured secret.
    #[error("no configured key matches the token")]
    UnknownKey,

    /// The signature does not match the header and claims under the selected key: the token was
    /// tampered with or signed by someone else.
    ///
    /// Recovery: none; treat as an attack or a misconfigured issuer and obtain a new token.
    #[error("token signature is invalid")]
    BadSignature,

    /// The token's `exp` (plus leeway) is not after `now`.
    ///
    /// Recovery: the client refreshes its token and reconnects; this is the one failure with
    /// the distinct wire code `token_expired` so clients can tell it apart.
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp` claim, unix seconds.
        exp: u64,
        /// The time the caller verified at, unix seconds.
        now: u64,
    },

    /// The token's `nbf` is later than `now` plus leeway.
    ///
    /// Recovery: usually clock skew between issuer and relay; retry later or raise the leeway.
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf` claim, unix seconds.
        nbf: u64,
        /// The time the caller verified at, unix seconds.
        now: u64,
    },

    /// An issuer is configured and the token's `iss` is missing or different.
    ///
    /// Recovery: obtain a token from the configured issuer.
    #[error("token issuer is not the configured issuer")]
    WrongIssuer,

    /// An audience is configured and the token's `aud` is missing or does not contain it.
    ///
    /// Recovery: obtain a token minted for this relay's audience.
    #[error("token audience does not include the configured audience")]
    WrongAudience,

    /// A claim Tessera cannot do without (`sub`, `tenant`, `docs` or `exp`) is absent.
    ///
    /// Recovery: the issuer must add the named claim; retrying the same token cannot succeed.
    #[error("token is missing the {0:?} claim")]
    MissingClaim(&'static str),

    /// The JWKS document is not valid JSON, or it holds no usable RS256/ES256 signing key, or a
    /// key's parameters are not a valid public key.
    ///
    /// Recovery: fix or re-fetch the key set; until then keep the previous one, if any.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
}

impl AuthError {
    /// The machine-readable code carried by the wire `error` message for this failure.
    ///
    /// Only expiry gets its own code, because it is the one failure a client fixes by itself
    /// (refresh and reconnect); every other failure looks the same to a peer so that the relay
    /// does not help an attacker probe which check failed.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired { .. } => "token_expired",
            _ => "auth_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expiry_has_its_own_wire_code() {
        assert_eq!(
            AuthError::Expired { exp: 1, now: 2 }.code(),
            "token_expired"
        );
        for err in [
            AuthError::Malformed,
            AuthError::UnsupportedAlgorithm("none".into()),
            AuthError::UnknownKey,
            AuthError::BadSignature,
            AuthError::NotYetValid { nbf: 2, now: 1 },
            AuthError::WrongIssuer,
            AuthError::WrongAudience,
            AuthError::MissingClaim("tenant"),
            AuthError::InvalidJwks("x".into()),
        ] {
            assert_eq!(err.code(), "auth_failed", "{err}");
        }
    }
}
