use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde::Deserialize;

use super::AuthError;

/// Weaker RSA moduli are forgeable with public effort; NIST has disallowed them since 2013.
const MIN_RSA_BITS: usize = 2048;

/// A set of public keys that RS256 and ES256 tokens are verified against, parsed from the
/// standard JWKS document (RFC 7517 `{"keys": [...]}`) an identity provider publishes.
///
/// Only keys this verifier can use are kept: RSA keys for RS256 and P-256 EC keys for ES256,
/// whose `use` (if given) is `sig` and whose `alg` (if given) matches. Other entries (encryption
/// keys, other curves or algorithms, and symmetric `oct` keys, which must never be trusted from a
/// published set) are skipped, so a provider's mixed set still loads.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<JwksKey>,
}

#[derive(Debug, Clone)]
struct JwksKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

impl Jwks {
    /// Parses a JWKS document.
    ///
    /// Fails with [`AuthError::InvalidJwks`] if the text is not a JWKS, if a usable-looking key
    /// is not a valid public key (bad base64, a point off the curve, an RSA modulus under 2048
    /// bits), or if no usable key remains.
    pub fn from_json(json: &str) -> Result<Self, AuthError> {
        // Entries are parsed one by one so that one exotic key cannot reject the whole set.
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document =
            serde_json::from_str(json).map_err(|e| AuthError::InvalidJwks(e.to_string()))?;
        let mut keys = Vec::new();
        for entry in doc.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
                continue;
            };
            if let Some(key) = JwksKey::from_jwk(&jwk)? {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(AuthError::InvalidJwks(
                "no RS256 or ES256 signing key".into(),
            ));
        }
        Ok(Self { keys })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key; never true for a set built by [`Jwks::from_json`].
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key that verifies a token signed with `alg` whose header carries `kid`.
    ///
    /// Without a `kid` the choice is only safe when exactly one key could have signed, so a set
    /// with several candidates refuses rather than guessing.
    pub(super) fn select(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<&DecodingKey, AuthError> {
        let mut candidates = self.keys.iter().filter(|k| k.alg == alg);
        let found = match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            None => match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            },
        };
        found.map(|k| &k.key).ok_or(AuthError::UnknownKey)
    }
}

impl JwksKey {
    /// `Ok(None)` for a key that is not for us; `Err` for one that is but cannot be used.
    fn from_jwk(jwk: &Jwk) -> Result<Option<Self>, AuthError> {
        let kid = jwk.common.key_id.clone();
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            return Ok(None);
        }
        let declared = jwk.common.key_algorithm;
        let invalid = |why: &str| {
            AuthError::InvalidJwks(format!(
                "key {}: {why}",
                kid.as_deref().unwrap_or("without kid")
            ))
        };
        let (alg, key) = match &jwk.algorithm {
            AlgorithmParameters::RSA(params)
                if matches!(declared, None | Some(KeyAlgorithm::RS256)) =>
            {
                let key = DecodingKey::from_rsa_components(&params.n, &params.e)
                    .map_err(|e| invalid(&e.to_string()))?;
                if rsa_modulus_bits(&key) < MIN_RSA_BITS {
                    return Err(invalid("RSA modulus shorter than 2048 bits"));
                }
                (Algorithm::RS256, key)
            }
            AlgorithmParameters::EllipticCurve(params)
                if params.curve == EllipticCurve::P256
                    && matches!(declared, None | Some(KeyAlgorithm::ES256)) =>
            {
                let key = DecodingKey::from_ec_components(&params.x, &params.y)
                    .map_err(|e| invalid(&e.to_string()))?;
                // Checking a dummy signature makes the crypto backend parse the point now, so a
                // bad key fails at configuration time instead of as BadSignature on every token.
                if jsonwebtoken::crypto::verify("", b"", &key, Algorithm::ES256).is_err() {
                    return Err(invalid("not a valid P-256 public key"));
                }
                (Algorithm::ES256, key)
            }
            _ => return Ok(None),
        };
        Ok(Some(Self { kid, alg, key }))
    }
}

fn rsa_modulus_bits(key: &DecodingKey) -> usize {
    let DecodingKeyKind::RsaModulusExponent { n, .. } = key.kind() else {
        return 0;
    };
    let n = &n[n.iter().take_while(|&&b| b == 0).count()..];
    n.first()
        .map_or(0, |&top| n.len() * 8 - top.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIXTURE: &str = include_str!("testdata/jwks.json");

    fn fixture_keys() -> Vec<serde_json::Value> {
        let doc: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
        doc["keys"].as_array().expect("keys array").clone()
    }

    #[test]
    fn parses_rsa_and_ec_keys_and_selects_by_kid() {
        let jwks = Jwks::from_json(FIXTURE).expect("fixture parses");
        assert_eq!(jwks.len(), 2);
        assert!(jwks.select(Algorithm::RS256, Some("rs-1")).is_ok());
        assert!(jwks.select(Algorithm::ES256, Some("es-1")).is_ok());
        // A kid naming a key of the other family must not be used for this algorithm.
        assert_eq!(
            jwks.select(Algorithm::RS256, Some("es-1")).err(),
            Some(AuthError::UnknownKey)
        );
        assert_eq!(
            jwks.select(Algorithm::RS256, Some("nope")).err(),
            Some(AuthError::UnknownKey)
        );
        // One candidate per family, so a token without kid still resolves.
        assert!(jwks.select(Algorithm::RS256, None).is_ok());
        assert!(jwks.select(Algorithm::ES256, None).is_ok());
        assert_eq!(
            jwks.select(Algorithm::HS256, None).err(),
            Some(AuthError::UnknownKey)
        );
    }

    #[test]
    fn no_kid_with_two_candidates_is_unknown_key() {
        let rsa = fixture_keys()[0].clone();
        let mut second = rsa.clone();
        second["kid"] = json!("rs-2");
        let jwks = Jwks::from_json(&json!({ "keys": [rsa, second] }).to_string()).expect("parses");
        assert_eq!(
            jwks.select(Algorithm::RS256, None).err(),
            Some(AuthError::UnknownKey)
        );
        assert!(jwks.select(Algorithm::RS256, Some("rs-2")).is_ok());
    }

    #[test]
    fn skips_keys_that_are_not_for_signature_verification() {
        let mut keys = fixture_keys();
        keys[0]["use"] = json!("enc");
        keys[1]["alg"] = json!("ES384");
        keys.push(json!({ "kty": "oct", "k": "c2VjcmV0", "kid": "hmac" }));
        keys.push(json!({ "kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "ed" }));
        keys.push(json!({ "kty": "weird" }));
        let err =
            Jwks::from_json(&json!({ "keys": keys }).to_string()).expect_err("nothing usable");
        assert!(matches!(err, AuthError::InvalidJwks(_)), "{err:?}");
    }

    #[test]
    fn rejects_garbage_and_invalid_key_material() {
        for text in ["", "{}", "[]", r#"{"keys": 3}"#] {
            assert!(
                matches!(Jwks::from_json(text), Err(AuthError::InvalidJwks(_))),
                "{text}"
            );
        }
        let mut keys = fixture_keys();
        keys[1]["y"] = keys[1]["x"].clone();
        let err =
            Jwks::from_json(&json!({ "keys": keys }).to_string()).expect_err("off-curve point");
        assert!(
            matches!(err, AuthError::InvalidJwks(ref m) if m.contains("es-1")),
            "{err:?}"
        );

        let weak = json!({ "kty": "RSA", "kid": "weak", "e": "AQAB", "n": "AQAB".repeat(40) });
        let err =
            Jwks::from_json(&json!({ "keys": [weak] }).to_string()).expect_err("1024-bit key");
        assert!(
            matches!(err, AuthError::InvalidJwks(ref m) if m.contains("2048")),
            "{err:?}"
        );
    }
}
