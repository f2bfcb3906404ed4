use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa;
use rsa::{BoxedUint, pkcs1v15};
use serde::Deserialize;

use super::AuthError;
use super::jws::{Algorithm, PublicKey};

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
    key: PublicKey,
}

/// The members of a JWK (RFC 7517 §4, RFC 7518 §6) that decide whether and how we use it.
/// Everything else (`key_ops`, `x5c`, private members, ...) is ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Jwks {
    /// Parses a JWKS document.
    ///
    /// A usable-looking key that is not a valid public key (bad base64, a point off the curve,
    /// an RSA modulus under 2048 or over 8192 bits) is skipped. Fails with
    /// [`AuthError::InvalidJwks`] if the text is not a JWKS or if no usable key remains (naming
    /// the first invalid key, if there was one).
    pub fn from_json(json: &str) -> Result<Self, AuthError> {
        // Entries are parsed one by one so that one exotic key cannot reject the whole set.
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document =
            serde_json::from_str(json).map_err(|e| AuthError::InvalidJwks(e.to_string()))?;
        let mut keys = Vec::new();
        // The first broken key's reason, for the error when nothing usable remains.
        let mut broken = None;
        for entry in doc.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
                continue;
            };
            // One malformed key (a provider's bug, or a key mid-rotation) is skipped: refusing
            // the whole set would lock out every token signed by the good keys.
            match JwksKey::from_jwk(jwk) {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(e) => {
                    broken.get_or_insert(e);
                }
            }
        }
        if keys.is_empty() {
            return Err(broken.unwrap_or_else(|| {
                AuthError::InvalidJwks("no RS256 or ES256 signing key".into())
            }));
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
    ) -> Result<&PublicKey, AuthError> {
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
    fn from_jwk(jwk: Jwk) -> Result<Option<Self>, AuthError> {
        if jwk.public_key_use.as_deref().is_some_and(|u| u != "sig") {
            return Ok(None);
        }
        let declares = |name: &str| jwk.alg.as_deref().is_none_or(|alg| alg == name);
        let invalid = |why: &str| {
            AuthError::InvalidJwks(format!(
                "key {}: {why}",
                jwk.kid.as_deref().unwrap_or("without kid")
            ))
        };
        let decode = |member: &str, value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| invalid(&format!("{member} is not unpadded base64url")))
        };
        let (alg, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) if declares("RS256") => {
                let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                    return Ok(None);
                };
                let (n, e) = (decode("n", n)?, decode("e", e)?);
                if modulus_bits(&n) < MIN_RSA_BITS {
                    return Err(invalid("RSA modulus shorter than 2048 bits"));
                }
                // Also bounds the modulus at rsa's default 8192 bits and `e` at 2^33 - 1,
                // which keeps verification cheap.
                let key = rsa::PublicKey::new(
                    BoxedUint::from_be_slice_vartime(&n),
                    BoxedUint::from_be_slice_vartime(&e),
                )
                .map_err(|e| invalid(&format!("invalid RSA public key: {e}")))?;
                (
                    Algorithm::RS256,
                    PublicKey::Rsa(pkcs1v15::VerifyingKey::new(key)),
                )
            }
            ("EC", Some("P-256")) if declares("ES256") => {
                let (Some(x), Some(y)) = (&jwk.x, &jwk.y) else {
                    return Ok(None);
                };
                let (x, y) = (decode("x", x)?, decode("y", y)?);
                // RFC 7518 §6.2.1.2: each coordinate is the full 32 bytes for P-256.
                if x.len() != 32 || y.len() != 32 {
                    return Err(invalid("P-256 coordinates must be 32 bytes each"));
                }
                // The SEC1 uncompressed point 0x04 || x || y. Parsing it checks that the point
                // is on the curve, so a bad key fails now rather than as BadSignature on every
                // token.
                let point = [&[0x04][..], &x, &y].concat();
                let key = ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| invalid("not a valid P-256 public key"))?;
                (Algorithm::ES256, PublicKey::Ec(key))
            }
            _ => return Ok(None),
        };
        Ok(Some(Self {
            kid: jwk.kid,
            alg,
            key,
        }))
    }
}

/// The bit length of a big-endian unsigned integer, ignoring leading zero bytes.
fn modulus_bits(n: &[u8]) -> usize {
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
    fn a_malformed_key_is_skipped_and_the_others_still_load() {
        let mut keys = fixture_keys();
        keys[1]["y"] = keys[1]["x"].clone();
        keys.insert(
            0,
            json!({ "kty": "RSA", "kid": "bad", "n": "!!", "e": "AQAB" }),
        );
        let jwks = Jwks::from_json(&json!({ "keys": keys }).to_string()).expect("rs-1 remains");
        assert_eq!(jwks.len(), 1);
        assert!(jwks.select(Algorithm::RS256, Some("rs-1")).is_ok());
        assert_eq!(
            jwks.select(Algorithm::ES256, Some("es-1")).err(),
            Some(AuthError::UnknownKey)
        );
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
        let mut es = fixture_keys()[1].clone();
        es["y"] = es["x"].clone();
        let err =
            Jwks::from_json(&json!({ "keys": [es] }).to_string()).expect_err("off-curve point");
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
