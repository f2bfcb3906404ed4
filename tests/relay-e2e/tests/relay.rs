//! End-to-end tests against the relay in workerd. Each test starts its own `wrangler dev` on a
//! free port with a temporary state directory. Run with `make test-relay` (which builds first).

use std::time::Duration;

use relay_e2e::{Client, DEV_SECRET, Relay, TokenSpec, connect_status};
use sync_core::auth::Scope;
use sync_core::protocol::DocumentId;

const T: Duration = Duration::from_secs(30);

fn new_doc() -> DocumentId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    DocumentId::from_random_bytes(nanos.to_le_bytes())
}

async fn in_sync(c: &mut Client) -> bool {
    c.online_until(T, |c| c.sync.is_in_sync()).await
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
        a.events
    );

    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(
        b.online_until(T, |b| b.title() == "E2E page").await,
        "B never saw A's page: {:?}",
        b.events
    );
    b.edit(|p| p.set_title("edited by B").unwrap()).await;
    assert!(b.pump_until(T, &mut |b| b.sync.is_in_sync()).await);
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
    let (status, body) = connect_status(&relay.doc_url(&doc.to_string(), &token)).await;
    assert_eq!(status, 410, "{body}");
    assert!(body.contains("doc_deleted"), "{body}");
}

#[tokio::test(flavor = "current_thread")]
async fn auth_matrix() {
    let relay = Relay::start("auth", &[]);
    let doc = new_doc();
    let id = doc.to_string();
    let url = |t: &str| relay.doc_url(&id, t);

    let no_token = format!("ws://127.0.0.1:{}/v1/docs/{id}", relay.port);
    let cases = [
        ("no token", no_token, 401, "auth_failed"),
        (
            "bad signature",
            url(&TokenSpec::writer().mint_with("not-the-secret")),
            401,
            "auth_failed",
        ),
        (
            "expired",
            url(&TokenSpec {
                exp_in: -3600,
                ..TokenSpec::writer()
            }
            .mint()),
            401,
            "token_expired",
        ),
        (
            "wrong doc",
            url(&TokenSpec {
                docs: Some(vec![new_doc().to_string()]),
                ..TokenSpec::writer()
            }
            .mint()),
            401,
            "auth_failed",
        ),
    ];
    for (name, url, status, code) in cases {
        let (got, body) = connect_status(&url).await;
        assert_eq!(got, status, "{name}: {body}");
        assert!(body.contains(code), "{name}: {body}");
    }
    assert_ne!(DEV_SECRET, "not-the-secret");

    // The document now belongs to t1; a t2 token is refused.
    let mut owner = Client::new("owner", url(&TokenSpec::writer().mint()), doc, true);
    assert!(in_sync(&mut owner).await, "{:?}", owner.events);
    let other_tenant = TokenSpec {
        tenant: "t2".into(),
        ..TokenSpec::writer()
    }
    .mint();
    let (got, body) = connect_status(&url(&other_tenant)).await;
    assert_eq!(got, 401, "wrong tenant: {body}");

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
        reader.events
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
    assert!(a.pump_until(T, &mut |a| a.sync.is_in_sync()).await);
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
            a.pump_until(T, &mut |a| a.sync.is_in_sync()).await,
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
    assert!(in_sync(&mut a).await, "RS256 client: {:?}", a.events);
    // A token signed by another RSA key (or the HS256 one with a wrong secret) is still refused.
    let (status, body) =
        connect_status(&relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint_with("nope")))
            .await;
    assert_eq!(status, 401, "{body}");
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
    assert!(in_sync(&mut first).await, "{:?}", first.events);
    let d2 = new_doc();
    let mut second = Client::new("second", relay.doc_url(&d2.to_string(), &free), d2, true);
    assert!(
        second
            .online_until(T, |c| c.refused_with("quota_exceeded"))
            .await,
        "document limit: {:?}",
        second.events
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
            c.events
        );
        // Nothing partial was stored: a fresh reader finds no document content.
        let (status, body) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
        assert_eq!(status, 200, "{body}");
        let usage: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(usage["stored_bytes"], 0, "{plan}: {body}");
    }
}
