use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::claims::RawClaims;
use super::jws::{self, Algorithm, HmacKey, VerifyingKey};
use super::{AuthError, Claims, Jwks};

/// The clock skew tolerated between the token issuer and the relay, in seconds.
///
/// One constant for every check of a token's time claims: the verifier accepts a token until
/// `exp + CLOCK_LEEWAY_SECS`, and the relay's gate hands the room that same instant as the
/// session's end (`PeerAccess::expires_at_ms`), so a token the Worker admitted is never refused
/// as expired by the room a moment later, nor kept open past the moment the Worker would refuse
/// it.
pub const CLOCK_LEEWAY_SECS: u64 = 60;

/// What a [`Verifier`] trusts. Build one per deployment from its secrets and vars.
///
/// HS256 is accepted only if `hs256_secret` is set and non-empty; RS256 and ES256 only if `jwks`
/// is set. Both may be set at once.
#[derive(Clone)]
pub struct VerifierConfig {
    /// The shared HMAC secret for HS256 tokens. `None` or empty disables HS256, which is the
    /// safe failure for a secret that was never provisioned.
    pub hs256_secret: Option<Vec<u8>>,
    /// Public keys for RS256/ES256 tokens.
    pub jwks: Option<Jwks>,
    /// When set, tokens must carry exactly this `iss`.
    pub issuer: Option<String>,
    /// When set, tokens' `aud` must contain this value. When unset, `aud` is not checked.
    pub audience: Option<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`; [`CLOCK_LEEWAY_SECS`] by default.
    pub leeway_secs: u64,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            jwks: None,
            issuer: None,
            audience: None,
            leeway_secs: CLOCK_LEEWAY_SECS,
        }
    }
}

// Hand-written so that the secret never reaches a log line.
impl fmt::Debug for VerifierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierConfig")
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("jwks", &self.jwks)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

/// Verifies Tessera access tokens against a [`VerifierConfig`]. Reads no clock: the caller
/// passes `now`.
#[derive(Debug, Clone)]
pub struct Verifier {
    hs256: Option<HmacKey>,
    jwks: Option<Jwks>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

/// The header fields that decide which key to use. `alg` is kept as text so that one we do not
/// accept (notably `none`) is reported by name.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

impl Verifier {
    /// Builds a verifier from `config`.
    pub fn new(config: VerifierConfig) -> Self {
        Self {
            hs256: config.hs256_secret.as_deref().and_then(HmacKey::new),
            jwks: config.jwks,
            issuer: config.issuer,
            audience: config.audience,
            leeway_secs: config.leeway_secs,
        }
    }

    /// Checks `token`'s signature, then its claims, at time `now_secs` (unix seconds).
    ///
    /// The signature is checked before any claim is looked at, so every claim-level error
    /// describes a token the configured issuer really signed. Then, in order: required claims,
    /// issuer, audience, `exp`, `nbf`. A token is expired from `exp + leeway` on and not yet
    /// valid before `nbf - leeway`.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Claims, AuthError> {
        let header = parse_header(token)?;
        let key = self.key_for(&header)?;

        let (signing_input, payload, signature) = jws::split(token).ok_or(AuthError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed)?;
        if !key.verify(signing_input.as_bytes(), &signature) {
            return Err(AuthError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| AuthError::Malformed)?;
        let raw: RawClaims = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
        let claims = Claims::try_from(raw)?;

        if let Some(issuer) = &self.issuer
            && claims.iss.as_ref() != Some(issuer)
        {
            return Err(AuthError::WrongIssuer);
        }
        if let Some(audience) = &self.audience
            && !claims
                .aud
                .as_ref()
                .is_some_and(|aud| aud.contains(audience))
        {
            return Err(AuthError::WrongAudience);
        }
        if now_secs >= claims.exp.saturating_add(self.leeway_secs) {
            return Err(AuthError::Expired {
                exp: claims.exp,
                now: now_secs,
            });
        }
        if let Some(nbf) = claims.nbf
            && nbf > now_secs.saturating_add(self.leeway_secs)
        {
            return Err(AuthError::NotYetValid { nbf, now: now_secs });
        }
        Ok(claims)
    }

    /// Picks the key for the header's algorithm. Each algorithm only ever looks in its own key
    /// store, which is what makes algorithm confusion impossible: an HS256 token is never checked
    /// against a JWKS public key used as an HMAC secret.
    fn key_for(&self, header: &Header) -> Result<VerifyingKey<'_>, AuthError> {
        let unsupported = || AuthError::UnsupportedAlgorithm(header.alg.clone());
        match Algorithm::from_name(&header.alg).ok_or_else(unsupported)? {
            Algorithm::HS256 => self
                .hs256
                .as_ref()
                .map(VerifyingKey::Hmac)
                .ok_or_else(unsupported),
            alg @ (Algorithm::RS256 | Algorithm::ES256) => {
                let jwks = self.jwks.as_ref().ok_or_else(unsupported)?;
                Ok(VerifyingKey::Public(
                    jwks.select(alg, header.kid.as_deref())?,
                ))
            }
        }
    }
}

/// The algorithm and `kid` of a token that needs a key from a JWKS (RS256 or ES256); `None` for
/// HS256 and for anything the verifier will refuse on its own (no key set can help those).
pub(super) fn key_hint(token: &str) -> Option<(Algorithm, Option<String>)> {
    let header = parse_header(token).ok()?;
    match Algorithm::from_name(&header.alg)? {
        Algorithm::HS256 => None,
        alg @ (Algorithm::RS256 | Algorithm::ES256) => Some((alg, header.kid)),
    }
}

fn parse_header(token: &str) -> Result<Header, AuthError> {
    let (encoded, _) = token.split_once('.').ok_or(AuthError::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| AuthError::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
    // RFC 7515 §4.1.11: a recipient must reject critical extensions it does not understand,
    // and we understand none.
    if header.crit.is_some() {
        return Err(AuthError::Malformed);
    }
    Ok(header)
}
