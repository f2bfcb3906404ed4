//! The JWS (RFC 7515) compact-serialization primitives behind [`Verifier`](super::Verifier) and
//! [`mint_hs256`](super::mint_hs256), on the RustCrypto crates.
//!
//! Only what Tessera accepts is here: HS256 (HMAC-SHA256), RS256 (RSASSA-PKCS1-v1_5 with
//! SHA-256) and ES256 (ECDSA on P-256 with SHA-256, signature as the raw 64-byte `r || s`, not
//! DER). Nothing in this module needs randomness, so it adds no randomness source on wasm32.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa;
use rsa::pkcs1v15;
use rsa::signature::Verifier as _;
use sha2::Sha256;

/// A JWS `alg` this module implements. Spelled as in the JWS header.
#[allow(
    clippy::upper_case_acronyms,
    reason = "the variants are the registered JWS algorithm names"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    HS256,
    RS256,
    ES256,
}

impl Algorithm {
    /// The header's `alg` value for this algorithm.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }

    /// The algorithm a header's `alg` names, if it is one of ours. Names are case-sensitive
    /// (RFC 7515 §4.1.1), so `hs256` is not HS256.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        [Self::HS256, Self::RS256, Self::ES256]
            .into_iter()
            .find(|alg| alg.name() == name)
    }
}

/// A keyed HMAC-SHA256 instance: the HS256 key, for signing and verifying.
#[derive(Clone)]
pub(super) struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    /// `None` for an empty secret, which would make every token forgeable.
    pub(super) fn new(secret: &[u8]) -> Option<Self> {
        if secret.is_empty() {
            return None;
        }
        // HMAC accepts keys of any length, so this cannot fail.
        Hmac::<Sha256>::new_from_slice(secret).ok().map(Self)
    }

    /// The HS256 signature of `signing_input`.
    pub(super) fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        let mut mac = self.0.clone();
        mac.update(signing_input);
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `signature` is the HS256 signature of `signing_input`, compared in constant time.
    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(signing_input);
        mac.verify_slice(signature).is_ok()
    }
}

// Hand-written so that the secret never reaches a log line.
impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey([redacted])")
    }
}

/// A public key from a JWKS, ready to verify RS256 or ES256 signatures.
#[derive(Debug, Clone)]
pub(super) enum PublicKey {
    /// RS256.
    Rsa(pkcs1v15::VerifyingKey<Sha256>),
    /// ES256.
    Ec(ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Whether `signature` (the decoded JWS signature segment) is valid for `signing_input`.
    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Rsa(key) => pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(signing_input, &sig).is_ok()),
            // JWS carries ES256 signatures as fixed-size `r || s` (RFC 7518 §3.4).
            Self::Ec(key) => ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(signing_input, &sig).is_ok()),
        }
    }
}

/// The key a token's signature is checked with.
#[derive(Debug, Clone, Copy)]
pub(super) enum VerifyingKey<'a> {
    Hmac(&'a HmacKey),
    Public(&'a PublicKey),
}

impl VerifyingKey<'_> {
    /// Whether `signature` is valid for `signing_input` under this key.
    pub(super) fn verify(self, signing_input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => key.verify(signing_input, signature),
            Self::Public(key) => key.verify(signing_input, signature),
        }
    }
}

/// Splits a compact JWS into its signing input (`header.payload`, the bytes the signature
/// covers), the payload segment and the signature segment. `None` unless there are exactly
/// three segments.
pub(super) fn split(token: &str) -> Option<(&str, &str, &str)> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    if header.contains('.') || payload.contains('.') {
        return None;
    }
    Some((signing_input, payload, signature))
}

/// Builds a compact JWS from the header and payload JSON, signing with `sign`.
pub(super) fn encode(header: &[u8], payload: &[u8], sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_are_case_sensitive() {
        for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for name in ["hs256", "none", "HS512", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn split_requires_exactly_three_segments() {
        assert_eq!(split("a.b.c"), Some(("a.b", "b", "c")));
        assert_eq!(split("a.b."), Some(("a.b", "b", "")));
        for token in ["", "abc", "a.b", "a.b.c.d", "a..b.c"] {
            assert_eq!(split(token), None, "{token}");
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let key = HmacKey::new(b"Jefe").expect("non-empty");
        let mac = key.sign(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(key.verify(b"what do ya want for nothing?", &mac));
        assert!(!key.verify(b"what do ya want for nothing!", &mac));
        assert!(!key.verify(b"what do ya want for nothing?", &mac[..31]));
        assert!(HmacKey::new(b"").is_none());
        assert_eq!(format!("{key:?}"), "HmacKey([redacted])");
    }
}
