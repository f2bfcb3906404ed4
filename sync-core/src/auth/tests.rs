//! End-to-end tests of the module: tokens signed here (and a few signed by another JWS
//! implementation, see testdata/README.md), verified through the public API.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::pkcs8::DecodePrivateKey as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};

use super::jws::{self, Algorithm, HmacKey};
use super::*;

const SECRET: &[u8] = b"dev-secret-at-least-32-bytes-long!!";
const JWKS: &str = include_str!("testdata/jwks.json");
// Test-only keys; the matching public halves are in testdata/jwks.json.
const RS256_PEM: &str = include_str!("testdata/rs256.pem");
const ES256_PEM: &str = include_str!("testdata/es256.pem");
const NOW: u64 = 1_700_000_000;

fn claims() -> Claims {
    Claims {
        sub: "user-1".into(),
        tenant: "acme".into(),
        docs: DocAccess::Only(vec!["doc-a".into(), "doc-b".into()]),
        scope: Scope::Write,
        plan: Some("pro".into()),
        exp: NOW + 3600,
        nbf: None,
        iat: Some(NOW),
        iss: None,
        aud: None,
    }
}

fn hs_verifier() -> Verifier {
    Verifier::new(VerifierConfig {
        hs256_secret: Some(SECRET.to_vec()),
        ..VerifierConfig::default()
    })
}

fn jwks_verifier() -> Verifier {
    let jwks = Jwks::from_json(JWKS).expect("fixture JWKS parses");
    Verifier::new(VerifierConfig {
        jwks: Some(jwks),
        ..VerifierConfig::default()
    })
}

/// The DER body of a PEM file.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

/// A compact JWS of `payload` with header `{"typ": "JWT", "alg": alg, "kid": kid}`, signed with
/// `sign` over the signing input.
fn sign_with(
    alg: Algorithm,
    kid: Option<&str>,
    payload: &impl serde::Serialize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let mut header = json!({ "typ": "JWT", "alg": alg.name() });
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let payload = serde_json::to_vec(payload).expect("payload serializes");
    jws::encode(header.to_string().as_bytes(), &payload, sign)
}

/// Signs with the test key for `alg`: [`SECRET`] or the PEM fixtures.
fn sign(alg: Algorithm, kid: Option<&str>, payload: &impl serde::Serialize) -> String {
    match alg {
        Algorithm::HS256 => {
            let key = HmacKey::new(SECRET).expect("non-empty secret");
            sign_with(alg, kid, payload, |input| key.sign(input))
        }
        Algorithm::RS256 => {
            let key = rsa::PrivateKey::from_pkcs1_der(&pem_der(RS256_PEM)).expect("RSA fixture");
            let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
            sign_with(alg, kid, payload, |input| key.sign(input).to_vec())
        }
        Algorithm::ES256 => {
            let key =
                p256::ecdsa::SigningKey::from_pkcs8_der(&pem_der(ES256_PEM)).expect("EC fixture");
            sign_with(alg, kid, payload, |input| {
                let signature: p256::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            })
        }
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Replaces the payload segment while keeping header and signature.
fn with_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(payload), parts[2])
}

#[test]
fn hs256_round_trip() {
    let claims = claims();
    let token = mint_hs256(&claims, SECRET).expect("mints");
    assert_eq!(hs_verifier().verify(&token, NOW), Ok(claims));
}

#[test]
fn bad_signature() {
    let other = mint_hs256(&claims(), b"some-other-secret").expect("mints");
    assert_eq!(
        hs_verifier().verify(&other, NOW),
        Err(AuthError::BadSignature)
    );

    let token = mint_hs256(&claims(), SECRET).expect("mints");
    let mut escalated = serde_json::to_value(claims()).expect("serializes");
    escalated["scope"] = json!("admin");
    let tampered = with_payload(&token, &escalated);
    assert_eq!(
        hs_verifier().verify(&tampered, NOW),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn expiry_respects_leeway_on_both_sides_of_the_boundary() {
    let token = mint_hs256(
        &Claims {
            exp: NOW,
            ..claims()
        },
        SECRET,
    )
    .expect("mints");
    let verifier = hs_verifier();
    assert!(verifier.verify(&token, NOW + CLOCK_LEEWAY_SECS - 1).is_ok());
    let err = verifier
        .verify(&token, NOW + CLOCK_LEEWAY_SECS)
        .expect_err("expired");
    assert_eq!(
        err,
        AuthError::Expired {
            exp: NOW,
            now: NOW + CLOCK_LEEWAY_SECS
        }
    );
    assert_eq!(err.code(), "token_expired");

    let strict = Verifier::new(VerifierConfig {
        hs256_secret: Some(SECRET.to_vec()),
        leeway_secs: 0,
        ..VerifierConfig::default()
    });
    assert!(strict.verify(&token, NOW - 1).is_ok());
    assert_eq!(
        strict.verify(&token, NOW),
        Err(AuthError::Expired { exp: NOW, now: NOW })
    );
}

#[test]
fn not_before_in_the_future() {
    let nbf = NOW + 600;
    let token = mint_hs256(
        &Claims {
            nbf: Some(nbf),
            ..claims()
        },
        SECRET,
    )
    .expect("mints");
    let verifier = hs_verifier();
    let err = verifier
        .verify(&token, nbf - CLOCK_LEEWAY_SECS - 1)
        .expect_err("too early");
    assert_eq!(
        err,
        AuthError::NotYetValid {
            nbf,
            now: nbf - CLOCK_LEEWAY_SECS - 1
        }
    );
    assert_eq!(err.code(), "auth_failed");
    assert!(verifier.verify(&token, nbf - CLOCK_LEEWAY_SECS).is_ok());
}

#[test]
fn issuer_is_checked_only_when_configured() {
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: Some(SECRET.to_vec()),
        issuer: Some("https://id.example".into()),
        ..VerifierConfig::default()
    });
    let good = mint_hs256(
        &Claims {
            iss: Some("https://id.example".into()),
            ..claims()
        },
        SECRET,
    );
    assert!(verifier.verify(&good.expect("mints"), NOW).is_ok());
    for iss in [Some("https://evil.example".into()), None] {
        let token = mint_hs256(&Claims { iss, ..claims() }, SECRET).expect("mints");
        assert_eq!(verifier.verify(&token, NOW), Err(AuthError::WrongIssuer));
    }
    let foreign = mint_hs256(
        &Claims {
            iss: Some("anyone".into()),
            ..claims()
        },
        SECRET,
    );
    assert!(hs_verifier().verify(&foreign.expect("mints"), NOW).is_ok());
}

#[test]
fn audience_is_checked_only_when_configured() {
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: Some(SECRET.to_vec()),
        audience: Some("tessera".into()),
        ..VerifierConfig::default()
    });
    let ok = [
        Audience::One("tessera".into()),
        Audience::Many(vec!["x".into(), "tessera".into()]),
    ];
    for aud in ok {
        let token = mint_hs256(
            &Claims {
                aud: Some(aud),
                ..claims()
            },
            SECRET,
        )
        .expect("mints");
        assert!(verifier.verify(&token, NOW).is_ok());
    }
    for aud in [
        Some(Audience::One("other".into())),
        Some(Audience::Many(vec![])),
        None,
    ] {
        let token = mint_hs256(&Claims { aud, ..claims() }, SECRET).expect("mints");
        assert_eq!(verifier.verify(&token, NOW), Err(AuthError::WrongAudience));
    }
    let token = mint_hs256(
        &Claims {
            aud: Some(Audience::One("x".into())),
            ..claims()
        },
        SECRET,
    );
    assert!(hs_verifier().verify(&token.expect("mints"), NOW).is_ok());
}

#[test]
fn alg_none_and_other_algorithms_are_rejected() {
    let payload = b64(&serde_json::to_value(claims()).expect("serializes"));
    for alg in ["none", "None", "NONE", "HS512", "RS512", "PS256", "EdDSA"] {
        let header = b64(&json!({ "alg": alg, "typ": "JWT" }));
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.c2ln"),
        ] {
            assert_eq!(
                hs_verifier().verify(&token, NOW),
                Err(AuthError::UnsupportedAlgorithm(alg.into())),
                "{token}"
            );
        }
    }
}

#[test]
fn hs256_is_refused_when_only_a_jwks_is_configured() {
    // The classic confusion attack: HMAC-sign with the server's *public* key as the secret.
    let keys: Value = serde_json::from_str(JWKS).expect("fixture is JSON");
    let public_n = keys["keys"][0]["n"].as_str().expect("n");
    let public_key_as_secret = HmacKey::new(public_n.as_bytes()).expect("non-empty");
    let forged = sign_with(Algorithm::HS256, Some("rs-1"), &claims(), |input| {
        public_key_as_secret.sign(input)
    });
    assert_eq!(
        jwks_verifier().verify(&forged, NOW),
        Err(AuthError::UnsupportedAlgorithm("HS256".into()))
    );

    let rs = sign(Algorithm::RS256, Some("rs-1"), &claims());
    assert_eq!(
        hs_verifier().verify(&rs, NOW),
        Err(AuthError::UnsupportedAlgorithm("RS256".into()))
    );
}

#[test]
fn rs256_and_es256_verify_against_the_jwks() {
    let verifier = jwks_verifier();
    for (alg, kid) in [(Algorithm::RS256, "rs-1"), (Algorithm::ES256, "es-1")] {
        assert_eq!(
            verifier.verify(&sign(alg, Some(kid), &claims()), NOW),
            Ok(claims()),
            "{alg:?}"
        );
        // One key of each family in the set, so a missing kid is unambiguous.
        assert_eq!(
            verifier.verify(&sign(alg, None, &claims()), NOW),
            Ok(claims()),
            "{alg:?}"
        );
        let expired = sign(
            alg,
            Some(kid),
            &Claims {
                exp: NOW - 3600,
                ..claims()
            },
        );
        assert!(matches!(
            verifier.verify(&expired, NOW),
            Err(AuthError::Expired { .. })
        ));
    }
}

#[test]
fn jwks_key_selection_failures() {
    let verifier = jwks_verifier();
    let unknown = sign(Algorithm::RS256, Some("rotated-away"), &claims());
    assert_eq!(verifier.verify(&unknown, NOW), Err(AuthError::UnknownKey));
    let cross_family = sign(Algorithm::ES256, Some("rs-1"), &claims());
    assert_eq!(
        verifier.verify(&cross_family, NOW),
        Err(AuthError::UnknownKey)
    );

    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let token = sign(alg, None, &claims());
        let tampered = with_payload(
            &token,
            &json!({ "sub": "x", "tenant": "y", "docs": "*", "exp": NOW + 1 }),
        );
        assert_eq!(
            verifier.verify(&tampered, NOW),
            Err(AuthError::BadSignature),
            "{alg:?}"
        );
    }
}

#[test]
fn docs_grants_survive_verification() {
    let all = mint_hs256(
        &Claims {
            docs: DocAccess::All,
            ..claims()
        },
        SECRET,
    )
    .expect("mints");
    let verified = hs_verifier().verify(&all, NOW).expect("valid");
    assert!(verified.allows_doc("doc-a") && verified.allows_doc("any-other"));

    let specific = hs_verifier().verify(&mint_hs256(&claims(), SECRET).expect("mints"), NOW);
    let specific = specific.expect("valid");
    assert!(specific.allows_doc("doc-b") && !specific.allows_doc("doc-c"));

    let bare = sign(
        Algorithm::HS256,
        None,
        &json!({ "sub": "u", "tenant": "t", "docs": "doc-z", "exp": NOW + 1 }),
    );
    let bare = hs_verifier().verify(&bare, NOW).expect("valid");
    assert!(bare.allows_doc("doc-z") && !bare.allows_doc("doc-a"));
    assert_eq!((bare.scope, bare.plan_or_default()), (Scope::Read, "free"));
}

#[test]
fn missing_tenant_is_named() {
    let token = sign(
        Algorithm::HS256,
        None,
        &json!({ "sub": "u", "docs": ["a"], "exp": NOW + 1 }),
    );
    let err = hs_verifier().verify(&token, NOW).expect_err("no tenant");
    assert_eq!(err, AuthError::MissingClaim("tenant"));
    assert_eq!(err.code(), "auth_failed");
}

#[test]
fn malformed_tokens() {
    let good = mint_hs256(&claims(), SECRET).expect("mints");
    let crit = format!(
        "{}.{}",
        b64(&json!({ "alg": "HS256", "crit": ["b64"] })),
        good.split_once('.').expect("dot").1
    );
    let not_object = sign(Algorithm::HS256, None, &json!([1, 2, 3]));
    let wrong_type = sign(
        Algorithm::HS256,
        None,
        &json!({ "sub": "u", "tenant": "t", "docs": ["a"], "exp": "soon" }),
    );
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "e30.e30.",
        "!!!.e30.e30",
        &crit,
        &not_object,
        &wrong_type,
    ] {
        assert_eq!(
            hs_verifier().verify(token, NOW),
            Err(AuthError::Malformed),
            "{token}"
        );
    }
    let extra_segment = format!("{good}.x");
    assert!(hs_verifier().verify(&extra_segment, NOW).is_err());
}

#[test]
fn empty_secret_enables_nothing() {
    assert_eq!(mint_hs256(&claims(), b""), Err(AuthError::UnknownKey));
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: Some(Vec::new()),
        ..VerifierConfig::default()
    });
    let token = mint_hs256(&claims(), SECRET).expect("mints");
    assert_eq!(
        verifier.verify(&token, NOW),
        Err(AuthError::UnsupportedAlgorithm("HS256".into()))
    );
}

#[test]
fn config_debug_redacts_the_secret() {
    let config = VerifierConfig {
        hs256_secret: Some(b"hunter2".to_vec()),
        ..VerifierConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(
        shown.contains("[redacted]") && !shown.contains("104, 117"),
        "{shown}"
    );
}

#[test]
fn tokens_signed_by_another_implementation_verify() {
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: Some(SECRET.to_vec()),
        jwks: Some(Jwks::from_json(JWKS).expect("fixture JWKS parses")),
        ..VerifierConfig::default()
    });
    let lines: Vec<&str> = include_str!("testdata/foreign_tokens.txt")
        .lines()
        .collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let (alg, token) = line.split_once(' ').expect("`ALG TOKEN` lines");
        let claims = verifier
            .verify(token, NOW)
            .unwrap_or_else(|err| panic!("{alg}: {err}"));
        assert_eq!(
            (claims.sub.as_str(), claims.tenant.as_str(), claims.scope),
            ("user-1", "acme", Scope::Write),
            "{alg}"
        );
        assert!(claims.allows_doc("doc-a"), "{alg}");
    }
}
