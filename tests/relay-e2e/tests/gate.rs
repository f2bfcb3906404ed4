//! The Worker's gate against workerd: tenant isolation on every route, refusals a browser can
//! read, and token hygiene.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relay_e2e::{Client, Relay, TokenSpec, connect_refusal, new_doc};
use sync_core::auth::{Audience, Scope, mint_hs256};
use sync_core::protocol::ErrorCode;

const T: Duration = Duration::from_secs(30);

fn tenant(name: &str, scope: Scope) -> TokenSpec {
    TokenSpec {
        tenant: name.into(),
        scope,
        ..TokenSpec::writer()
    }
}

async fn in_sync(c: &mut Client) -> bool {
    c.online_until(T, |c| c.device.sync.is_in_sync()).await
}

/// A JWKS server on 127.0.0.1 that counts its requests and serves whatever set it holds now.
struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
}

impl JwksServer {
    fn start(body: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(Mutex::new(body));
        let (h, b) = (hits.clone(), body.clone());
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                h.fetch_add(1, Ordering::SeqCst);
                let body = b.lock().unwrap().clone();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/jwks.json"),
            hits,
            body,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn var(&self) -> String {
        format!("JWKS_URL={}", self.url)
    }
}

fn fixture_jwks() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../sync-core/src/auth/testdata/jwks.json"
    ))
    .unwrap()
}

/// An RS256 token signed by the test key `rs-1` whose header names `kid`.
fn rs256_with_kid(spec: &TokenSpec, kid: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let pem = include_bytes!("../../../sync-core/src/auth/testdata/rs256.pem");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &spec.claims(),
        &EncodingKey::from_rsa_pem(pem).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn another_tenant_cannot_read_or_delete_a_document() {
    let relay = Relay::start("tenant-routes", &[]);
    let doc = new_doc();
    let owner = tenant("t-owner", Scope::Write).mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &owner), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    let snapshot = format!("/v1/docs/{doc}/snapshot");
    let (status, original) = relay.request("GET", &snapshot, Some(&owner)).unwrap();
    assert_eq!(status, 200, "owner's snapshot");

    // Another tenant with every document and the admin scope.
    let intruder = tenant("t-intruder", Scope::Admin).mint();
    let (status, body) = relay.request("GET", &snapshot, Some(&intruder)).unwrap();
    assert!(
        status != 200 || body != original,
        "tenant B read tenant A's snapshot ({status})"
    );
    let _ = relay.request("DELETE", &format!("/v1/docs/{doc}"), Some(&intruder));

    // A's document is intact: same snapshot, and a new A client syncs it.
    let (status, after) = relay.request("GET", &snapshot, Some(&owner)).unwrap();
    assert_eq!(status, 200, "owner's snapshot after B's attempts: {after}");
    assert_eq!(after, original, "A's snapshot changed");
    let mut check = Client::new("check", relay.doc_url(&doc.to_string(), &owner), doc, false);
    assert!(
        check.online_until(T, |c| c.title() == "E2E page").await,
        "A's document after B's delete: {:?}",
        check.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_same_doc_id_in_two_tenants_is_two_documents() {
    let relay = Relay::start("tenant-sockets", &[]);
    let doc = new_doc();
    let one = tenant("t-one", Scope::Write).mint();
    let two = tenant("t-two", Scope::Write).mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &one), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    a.edit(|p| p.set_title("tenant one").unwrap()).await;
    assert!(a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await);

    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &two), doc, true);
    assert!(
        in_sync(&mut b).await,
        "tenant two could not open its own document: {:?}",
        b.device.events
    );
    b.edit(|p| p.set_title("tenant two").unwrap()).await;
    assert!(b.pump_until(T, &mut |b| b.device.sync.is_in_sync()).await);

    for (token, want, other) in [
        (&one, "tenant one", "tenant two"),
        (&two, "tenant two", "tenant one"),
    ] {
        let mut r = Client::new("reader", relay.doc_url(&doc.to_string(), token), doc, false);
        assert!(
            r.online_until(T, |r| r.title() == want).await,
            "{want}: title is {:?}; {:?}",
            r.title(),
            r.device.events
        );
        r.pump_for(Duration::from_millis(300)).await;
        assert_ne!(r.title(), other);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn worker_refusals_of_upgrades_come_in_band() {
    let relay = Relay::start("in-band", &[]);
    let doc = new_doc();
    let id = doc.to_string();
    let url = |t: &str| relay.doc_url(&id, t);
    let long_tenant = tenant(&"x".repeat(129), Scope::Write).mint();
    let cases = [
        (
            "no token",
            format!("ws://127.0.0.1:{}/v1/docs/{id}", relay.port),
            ErrorCode::AuthFailed,
        ),
        (
            "bad signature",
            url(&TokenSpec::writer().mint_with("not-the-secret")),
            ErrorCode::AuthFailed,
        ),
        (
            "expired",
            url(&TokenSpec {
                exp_in: -3600,
                ..TokenSpec::writer()
            }
            .mint()),
            ErrorCode::TokenExpired,
        ),
        (
            "wrong doc",
            url(&TokenSpec {
                docs: Some(vec![new_doc().to_string()]),
                ..TokenSpec::writer()
            }
            .mint()),
            ErrorCode::AuthFailed,
        ),
        (
            "bad doc id",
            relay.doc_url("notanid", &TokenSpec::writer().mint()),
            ErrorCode::BadMessage,
        ),
        (
            "tenant claim too long",
            url(&long_tenant),
            ErrorCode::AuthFailed,
        ),
    ];
    for (name, url, code) in cases {
        let r = connect_refusal(&url).await;
        assert!(r.in_band(), "{name}: not in-band: {r:?}");
        assert_eq!(r.code.as_deref(), Some(code.as_str()), "{name}: {r:?}");
        assert_eq!(r.close_code, Some(code.close_code()), "{name}: {r:?}");
        assert!(!r.message.is_empty(), "{name}: {r:?}");
    }

    // Plain requests keep the HTTP status and the JSON code.
    let snapshot = format!("/v1/docs/{id}/snapshot");
    let (status, body) = relay.request("GET", &snapshot, None).unwrap();
    assert_eq!(status, 401, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "auth_failed", "{body}");
    let writer = TokenSpec::writer().mint();
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{id}"), Some(&writer))
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("permission_denied"), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn hs256_tokens_never_fetch_the_jwks() {
    let jwks = JwksServer::start(fixture_jwks().to_string());
    let var = jwks.var();
    let relay = Relay::start("jwks-hs256", &[var.as_str()]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    let (status, _) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(jwks.hits(), 0, "an HS256 token fetched the JWKS");
    // An RS256 token does fetch it, once.
    let rs = relay_e2e::rs256_token(&TokenSpec::writer());
    let (status, body) = relay.request("GET", "/v1/usage", Some(&rs)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(jwks.hits(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_malformed_key_does_not_break_the_set() {
    let mut set = fixture_jwks();
    set["keys"].as_array_mut().unwrap().insert(
        0,
        serde_json::json!({ "kty": "RSA", "kid": "broken", "alg": "RS256", "n": "!!not base64!!", "e": "AQAB" }),
    );
    let jwks = JwksServer::start(set.to_string());
    let var = jwks.var();
    let relay = Relay::start("jwks-malformed", &[var.as_str()]);
    let doc = new_doc();
    let token = relay_e2e::rs256_token(&TokenSpec::writer());
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(
        in_sync(&mut a).await,
        "RS256 token with one malformed key in the set: {:?}",
        a.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_kid_refetches_at_most_once_per_period() {
    // The set starts without rs-1 (the key was "rotated in" after the relay first fetched).
    let mut old = fixture_jwks();
    old["keys"].as_array_mut().unwrap().remove(0);
    let jwks = JwksServer::start(old.to_string());
    let var = jwks.var();
    let relay = Relay::start("jwks-kid", &[var.as_str(), "JWKS_REFETCH_SECS=10"]);
    let token = rs256_with_kid(&TokenSpec::writer(), "rs-1");
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &token);
    // In-band refusals end at once; plain HTTP requests to wrangler can take seconds to close.
    let refused = || async { connect_refusal(&url).await.code };
    let started = std::time::Instant::now();
    assert_eq!(refused().await.as_deref(), Some("auth_failed"));
    assert_eq!(jwks.hits(), 1);

    // Now the issuer publishes rs-1. Within the refetch period unknown kids do not refetch.
    *jwks.body.lock().unwrap() = fixture_jwks().to_string();
    for _ in 0..5 {
        assert_eq!(refused().await.as_deref(), Some("auth_failed"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "too slow to test the period"
    );
    assert_eq!(jwks.hits(), 1, "an unknown kid refetched within the period");

    // After the period one request refetches and the rotated-in key is accepted.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut a = Client::new("a", url.clone(), doc, true);
    assert!(
        in_sync(&mut a).await,
        "the rotated-in key after the period: {:?}",
        a.device.events
    );
    assert_eq!(jwks.hits(), 2);
    let mut b = Client::new("b", url, doc, false);
    assert!(b.online_until(T, |b| b.title() == "E2E page").await);
    assert_eq!(jwks.hits(), 2, "a known kid refetched");
}

#[tokio::test(flavor = "current_thread")]
async fn the_query_token_never_reaches_the_logs() {
    let relay = Relay::start("log-token", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    let (status, _) = relay
        .get(&format!("/v1/docs/{doc}/snapshot?token={token}"))
        .unwrap();
    assert_eq!(status, 200);
    let (status, _) = relay.get("/v1/usage?token=not.a.token").unwrap();
    assert_eq!(status, 401);
    // Log lines are written as they happen; give the pipe a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(relay.state.join("wrangler.log")).unwrap();
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "the token is in the log:\n{log}");
    assert!(
        !log.contains("not.a.token"),
        "a bad token is in the log:\n{log}"
    );
    // The relay does log each request, as one JSON line without the query.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("route").is_some())
        .collect();
    let snapshot = lines
        .iter()
        .find(|v| v["route"] == "snapshot")
        .unwrap_or_else(|| panic!("no log line for the snapshot request:\n{log}"));
    assert_eq!(snapshot["status"], 200, "{snapshot}");
    assert_eq!(snapshot["tenant"], "t1", "{snapshot}");
    assert_eq!(snapshot["doc"], doc.to_string(), "{snapshot}");
    assert!(snapshot["duration_ms"].is_number(), "{snapshot}");
    let refused = lines
        .iter()
        .find(|v| v["route"] == "usage")
        .unwrap_or_else(|| panic!("no log line for the usage request:\n{log}"));
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(refused["code"], "auth_failed", "{refused}");
}

#[tokio::test(flavor = "current_thread")]
async fn issuer_and_audience_are_checked_when_configured() {
    let relay = Relay::start(
        "iss-aud",
        &["JWT_ISSUER=https://id.example", "JWT_AUDIENCE=tessera"],
    );
    let doc = new_doc();
    let mint = |iss: Option<&str>, aud: Option<&str>| {
        let mut claims = TokenSpec::writer().claims();
        claims.iss = iss.map(str::to_owned);
        claims.aud = aud.map(|a| Audience::One(a.to_owned()));
        mint_hs256(&claims, relay_e2e::DEV_SECRET.as_bytes()).unwrap()
    };
    let good = mint(Some("https://id.example"), Some("tessera"));
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &good), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    for (name, token) in [
        (
            "other issuer",
            mint(Some("https://evil.example"), Some("tessera")),
        ),
        ("no issuer", mint(None, Some("tessera"))),
        (
            "other audience",
            mint(Some("https://id.example"), Some("other")),
        ),
        ("no audience", mint(Some("https://id.example"), None)),
    ] {
        let r = connect_refusal(&relay.doc_url(&doc.to_string(), &token)).await;
        assert!(r.in_band(), "{name}: {r:?}");
        assert_eq!(r.code.as_deref(), Some("auth_failed"), "{name}: {r:?}");
        let (status, body) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
        assert_eq!(status, 401, "{name}: {body}");
    }
}
