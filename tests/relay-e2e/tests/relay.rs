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
