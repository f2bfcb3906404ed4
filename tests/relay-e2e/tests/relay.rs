//! End-to-end tests against the relay in workerd. Each test starts its own `wrangler dev` on a
//! free port with a temporary state directory. Run with `make test-relay` (which builds first).

use std::time::Duration;

use relay_e2e::{Client, DEV_SECRET, Relay, TokenSpec, connect_refusal, new_doc};
use sync_core::auth::Scope;
use sync_core::protocol::ErrorCode;

const T: Duration = Duration::from_secs(30);

async fn in_sync(c: &mut Client) -> bool {
    c.online_until(T, |c| c.device.sync.is_in_sync()).await
}

#[tokio::test(flavor = "current_thread")]
async fn two_clients_converge_and_tombstone_refuses() {
    let relay = Relay::start("converge", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(
        in_sync(&mut a).await,
        "A never reached in-sync: {:?}",
        a.device.events
    );

    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(
        b.online_until(T, |b| b.title() == "E2E page").await,
        "B never saw A's page: {:?}",
        b.device.events
    );
    b.edit(|p| p.set_title("edited by B").unwrap()).await;
    assert!(b.pump_until(T, &mut |b| b.device.sync.is_in_sync()).await);
    assert!(
        a.pump_until(T, &mut |a| a.title() == "edited by B").await,
        "A never saw B's edit"
    );

    // The snapshot endpoint serves the same document, with an ETag.
    let (status, _) = relay
        .request("GET", &format!("/v1/docs/{doc}/snapshot"), Some(&token))
        .unwrap();
    assert_eq!(status, 200);

    // Only admins delete; afterwards the document is refused for good.
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{doc}"), Some(&token))
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("permission_denied"), "{body}");
    let admin = TokenSpec {
        scope: Scope::Admin,
        ..TokenSpec::writer()
    }
    .mint();
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{doc}"), Some(&admin))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    // Refused in-band (accept, `error`, close), the only form a browser can read.
    let refusal = connect_refusal(&relay.doc_url(&doc.to_string(), &token)).await;
    assert!(refusal.in_band(), "{refusal:?}");
    assert_eq!(refusal.code.as_deref(), Some("doc_deleted"), "{refusal:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn auth_matrix() {
    let relay = Relay::start("auth", &[]);
    let doc = new_doc();
    let id = doc.to_string();
    let url = |t: &str| relay.doc_url(&id, t);

    let no_token = format!("ws://127.0.0.1:{}/v1/docs/{id}", relay.port);
    let cases = [
        ("no token", no_token, ErrorCode::AuthFailed),
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
    ];
    // Refused upgrades come in-band: the only form a browser can read.
    for (name, url, code) in cases {
        let r = connect_refusal(&url).await;
        assert!(r.in_band(), "{name}: {r:?}");
        assert_eq!(r.code.as_deref(), Some(code.as_str()), "{name}: {r:?}");
        assert_eq!(r.close_code, Some(code.close_code()), "{name}: {r:?}");
    }
    assert_ne!(DEV_SECRET, "not-the-secret");

    // The document belongs to t1; a t2 token with the same id reaches t2's own, empty document.
    let mut owner = Client::new("owner", url(&TokenSpec::writer().mint()), doc, true);
    assert!(in_sync(&mut owner).await, "{:?}", owner.device.events);
    let other_tenant = TokenSpec {
        tenant: "t2".into(),
        ..TokenSpec::writer()
    }
    .mint();
    let mut other = Client::new("other", url(&other_tenant), doc, false);
    let _ = other
        .online_until(Duration::from_secs(5), |c| c.device.sync.is_in_sync())
        .await;
    other.pump_for(Duration::from_millis(500)).await;
    assert_ne!(other.title(), "E2E page", "t2 read t1's document");

    // A read-only peer that pushes a change gets permission_denied and the doc is unchanged.
    let read = TokenSpec {
        scope: Scope::Read,
        ..TokenSpec::writer()
    }
    .mint();
    let mut reader = Client::new("reader", url(&read), doc, false);
    assert!(reader.online_until(T, |r| r.title() == "E2E page").await);
    reader
        .edit(|p| p.set_title("reader was here").unwrap())
        .await;
    assert!(
        reader
            .pump_until(T, &mut |r| r.refused_with("permission_denied"))
            .await,
        "reader not refused: {:?}",
        reader.device.events
    );
    let mut check = Client::new("check", url(&TokenSpec::writer().mint()), doc, false);
    assert!(check.online_until(T, |c| c.title() == "E2E page").await);
    check.pump_for(Duration::from_millis(500)).await;
    assert_eq!(check.title(), "E2E page");
}

#[tokio::test(flavor = "current_thread")]
async fn restart_keeps_acknowledged_changes() {
    let mut relay = Relay::start("restart", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await);
    for i in 0..20 {
        a.edit(|p| p.set_title(&format!("title {i}")).unwrap())
            .await;
        a.pump_for(Duration::from_millis(20)).await;
    }
    assert!(a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await);
    // Every change is acknowledged: kill -9 wrangler and start it on the same state.
    relay.restart();
    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(
        b.online_until(T, |b| b.title() == "title 19").await,
        "acked change lost across restart: title is {:?}",
        b.title()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_and_oversized_frames_close_only_that_socket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let relay = Relay::start("frames", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut a = Client::new("a", url.clone(), doc, true);
    assert!(in_sync(&mut a).await);
    let mut b = Client::new("b", url.clone(), doc, false);
    assert!(b.online_until(T, |b| b.title() == "E2E page").await);

    for (name, frame) in [
        ("garbage", vec![0xff, 0x00, 0x13, 0x37]),
        ("oversized", vec![0xa1; 2 * 1024 * 1024]),
    ] {
        let (mut bad, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        bad.send(Message::Binary(frame.into())).await.unwrap();
        let closed = tokio::time::timeout(T, async {
            while let Some(m) = bad.next().await {
                match m {
                    Ok(Message::Close(f)) => return f.map(|f| u16::from(f.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: the relay never closed the socket"));
        assert!(
            matches!(closed, Some(c) if c >= 4000 || c == 1009),
            "{name}: closed with {closed:?}"
        );
        // The others keep syncing.
        let title = format!("after {name}");
        a.edit(|p| p.set_title(&title).unwrap()).await;
        assert!(
            a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await,
            "{name}"
        );
        assert!(b.pump_until(T, &mut |b| b.title() == title).await, "{name}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn rs256_token_from_a_local_jwks() {
    // A one-route JWKS server on 127.0.0.1, for the worker to fetch.
    let jwks = include_str!("../../../sync-core/src/auth/testdata/jwks.json");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{jwks}",
                jwks.len()
            );
        }
    });
    let var = format!("JWKS_URL=http://127.0.0.1:{port}/jwks.json");
    let relay = Relay::start("jwks", &[var.as_str()]);
    let doc = new_doc();
    let token = relay_e2e::rs256_token(&TokenSpec::writer());
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "RS256 client: {:?}", a.device.events);
    // A token signed by another RSA key (or the HS256 one with a wrong secret) is still refused.
    let r =
        connect_refusal(&relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint_with("nope")))
            .await;
    assert!(r.in_band(), "{r:?}");
    assert_eq!(r.code.as_deref(), Some("auth_failed"), "{r:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn quota_documents_bytes_and_rate() {
    // free: one document; basic: 100 kB stored; premium: 100 kB per window. Rooms reserve in
    // 256 KiB chunks, so the first write already exceeds the byte and rate limits.
    let big = 1u64 << 40;
    let plans = format!(
        concat!(
            "PLANS={{",
            r#""free":{{"max_docs":1,"max_stored_bytes":{big},"max_change_bytes_per_window":{big},"window_secs":60}},"#,
            r#""basic":{{"max_docs":100,"max_stored_bytes":100000,"max_change_bytes_per_window":{big},"window_secs":60}},"#,
            r#""premium":{{"max_docs":100,"max_stored_bytes":{big},"max_change_bytes_per_window":100000,"window_secs":60}}"#,
            "}}"
        ),
        big = big
    );
    let relay = Relay::start("quota", &[plans.as_str()]);
    let spec = |tenant: &str, plan: &str| TokenSpec {
        tenant: tenant.into(),
        plan: Some(plan.into()),
        ..TokenSpec::writer()
    };

    let free = spec("tq-docs", "free").mint();
    let d1 = new_doc();
    let mut first = Client::new("first", relay.doc_url(&d1.to_string(), &free), d1, true);
    assert!(in_sync(&mut first).await, "{:?}", first.device.events);
    let d2 = new_doc();
    let mut second = Client::new("second", relay.doc_url(&d2.to_string(), &free), d2, true);
    assert!(
        second
            .online_until(T, |c| c.refused_with("quota_exceeded"))
            .await,
        "document limit: {:?}",
        second.device.events
    );

    for (tenant, plan, code) in [
        ("tq-bytes", "basic", "quota_exceeded"),
        ("tq-rate", "premium", "rate_limited"),
    ] {
        let token = spec(tenant, plan).mint();
        let d = new_doc();
        let mut c = Client::new(tenant, relay.doc_url(&d.to_string(), &token), d, true);
        assert!(
            c.online_until(T, |c| c.refused_with(code)).await,
            "{plan}: {:?}",
            c.device.events
        );
        // Nothing partial was stored: a fresh reader finds no document content.
        let (status, body) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
        assert_eq!(status, 200, "{body}");
        let usage: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(usage["stored_bytes"], 0, "{plan}: {body}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn token_expiring_mid_session_closes_with_token_expired() {
    use sync_core::auth::CLOCK_LEEWAY_SECS;

    let relay = Relay::start("expiry", &[]);
    let doc = new_doc();
    // The Worker admits a token until `exp + CLOCK_LEEWAY_SECS`, and the room ends the session
    // at that same instant. JWT `exp` has whole seconds: this one, already past its `exp`, runs
    // out of leeway 3 to 4 s from now.
    let short = TokenSpec {
        exp_in: 4 - CLOCK_LEEWAY_SECS as i64,
        ..TokenSpec::writer()
    };
    let expires_at =
        std::time::UNIX_EPOCH + Duration::from_secs(short.claims().exp + CLOCK_LEEWAY_SECS);
    let mut a = Client::new(
        "a",
        relay.doc_url(&doc.to_string(), &short.mint()),
        doc,
        true,
    );
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    assert!(
        std::time::SystemTime::now() < expires_at,
        "too slow to test expiry"
    );
    // Idle: only the room's own timer (the Durable Object alarm) can end the session.
    assert!(
        a.pump_until(T, &mut |a| a.refused_with("token_expired"))
            .await,
        "the relay never refused the expired session: {:?}",
        a.device.events
    );
    assert!(
        std::time::SystemTime::now() >= expires_at,
        "refused before the token expired"
    );
    assert_eq!(
        a.last_close,
        Some(ErrorCode::TokenExpired.close_code()),
        "{:?}",
        a.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn cors_from_allowed_origins_and_security_headers() {
    let allowed = "http://app.example";
    let var = format!("ALLOWED_ORIGINS={allowed}");
    let relay = Relay::start("cors", &[var.as_str()]);
    let path = format!("/v1/docs/{}/snapshot", new_doc());
    let preflight = |origin: &'static str| {
        relay
            .http(
                "OPTIONS",
                &path,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "authorization"),
                ],
            )
            .expect("preflight answered")
    };

    let ok = preflight(allowed);
    assert!(ok.status < 300, "preflight: {ok:?}");
    assert_eq!(ok.header("access-control-allow-origin"), Some(allowed));
    let methods = ok.header("access-control-allow-methods").unwrap_or("");
    assert!(
        methods.contains("GET") && methods.contains("DELETE"),
        "{ok:?}"
    );
    let headers = ok.header("access-control-allow-headers").unwrap_or("");
    assert!(headers.contains("authorization"), "{ok:?}");

    let other = preflight("http://evil.example");
    assert_eq!(
        other.header("access-control-allow-origin"),
        None,
        "{other:?}"
    );
    assert_eq!(
        other.header("access-control-allow-methods"),
        None,
        "{other:?}"
    );

    // Every response carries the security headers, refusals too.
    for resp in [
        relay.http("GET", "/health", &[]).unwrap(),
        relay.http("GET", "/v1/usage", &[]).unwrap(),
    ] {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(resp.header(name), Some(value), "{name}: {resp:?}");
        }
        let csp = resp.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("default-src 'none'"), "{resp:?}");
        assert!(
            resp.header("strict-transport-security").is_some(),
            "{resp:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_document_over_the_frame_limit_travels_in_several_frames() {
    use sync_core::model::{BlockKind, Target};

    const FRAME_LIMIT: usize = 1024 * 1024; // RoomConfig::default().max_frame_bytes
    let relay = Relay::start("split", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut a = Client::new("a", url.clone(), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    // Four blocks of 400k characters of poorly compressible text: about 1.5 MB of changes.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..4u64 {
        let text: String = (0..400_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(
                    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        [(seed % 62) as usize],
                )
            })
            .collect();
        a.edit(|p| {
            p.add_block(
                i + 1,
                &BlockKind::Paragraph,
                &text,
                &Target::End { parent: None },
            )
            .unwrap();
        })
        .await;
    }
    let size = a.device.sync.page().clone().doc_mut().save().len();
    assert!(size > FRAME_LIMIT, "the document is only {size} bytes");
    assert!(
        a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await,
        "A's large changes never became durable: {:?}",
        a.device.events
    );

    let mut b = Client::new("b", url, doc, false);
    let want = a.device.sync.page().live_block_ids();
    assert!(
        b.online_until(T, |b| b.device.sync.page().live_block_ids() == want)
            .await,
        "B never got the large document: {:?}",
        b.device.events
    );
    let (ah, bh) = (a.device.sync.heads(), b.device.sync.heads());
    assert_eq!(ah, bh, "A and B differ");
    let max = b.frames_in.iter().max().copied().unwrap_or(0);
    let total: usize = b.frames_in.iter().sum();
    assert!(max <= FRAME_LIMIT, "a frame of {max} bytes");
    assert!(
        total > FRAME_LIMIT,
        "B received only {total} bytes in {} frames",
        b.frames_in.len()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn deleting_a_document_gives_its_quota_back() {
    // free: one document, so a second one fits only once the first is deleted.
    let big = 1u64 << 40;
    let plans = format!(
        r#"PLANS={{"free":{{"max_docs":1,"max_stored_bytes":{big},"max_change_bytes_per_window":{big},"window_secs":60}}}}"#
    );
    let relay = Relay::start("release", &[plans.as_str()]);
    let token = TokenSpec::writer().mint();
    let usage = || {
        let (status, body) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        (
            v["docs"].as_u64().unwrap(),
            v["stored_bytes"].as_u64().unwrap(),
        )
    };

    let d1 = new_doc();
    let mut first = Client::new("first", relay.doc_url(&d1.to_string(), &token), d1, true);
    assert!(in_sync(&mut first).await, "{:?}", first.device.events);
    let (docs, stored) = usage();
    assert_eq!(docs, 1);
    assert!(stored > 0);
    let d2 = new_doc();
    let mut second = Client::new("second", relay.doc_url(&d2.to_string(), &token), d2, true);
    assert!(
        second
            .online_until(T, |c| c.refused_with("quota_exceeded"))
            .await,
        "the document limit did not hold: {:?}",
        second.device.events
    );

    let admin = TokenSpec {
        scope: Scope::Admin,
        ..TokenSpec::writer()
    }
    .mint();
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{d1}"), Some(&admin))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(usage(), (0, 0), "the deleted document still counts");
    let d3 = new_doc();
    let mut third = Client::new("third", relay.doc_url(&d3.to_string(), &token), d3, true);
    assert!(
        in_sync(&mut third).await,
        "a new document after the delete: {:?}",
        third.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn compaction_gives_freed_bytes_back_to_the_quota() {
    let relay = Relay::start("compact", &[]);
    let token = TokenSpec::writer().mint();
    let stored = || {
        let (status, body) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["stored_bytes"].as_u64().unwrap()
    };
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut a = Client::new("a", url.clone(), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    // Forty small changes, each durable before the next: forty log rows.
    for i in 0..40 {
        a.edit(|p| p.set_title(&format!("title {i}")).unwrap())
            .await;
        assert!(a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await);
    }
    let before = stored();
    // After 30 s without writes the room compacts the rows into one smaller snapshot.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut after = before;
    while after >= before && std::time::Instant::now() < deadline {
        a.pump_for(Duration::from_secs(1)).await;
        after = stored();
    }
    assert!(
        after < before,
        "stored bytes stayed at {before} after compaction"
    );
    // The compacted document is whole.
    let mut b = Client::new("b", url, doc, false);
    assert!(b.online_until(T, |b| b.title() == "title 39").await);
}
