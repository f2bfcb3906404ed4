//! The client's real transport and session task against sync-core's real relay room, served
//! over real WebSockets on 127.0.0.1 by a minimal in-test shell (in-memory storage, unlimited
//! quota). This exercises the network path without workerd; `tests/client-e2e` covers the
//! real relay.

use std::time::Duration;

use client_native::{BlockKind, Client, Error, SyncTarget, Target};
use tokio::net::TcpListener;

#[path = "support/loopback_relay.rs"]
mod loopback_relay;
use loopback_relay::{Shared, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_through_a_relay_room() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, Shared::default()));
    let target = SyncTarget::new(relay, "tok");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        Client::open(da.path()).unwrap(),
        Client::open(db.path()).unwrap(),
    );

    let doc_a = a.create("Shared").await.unwrap();
    let blk = doc_a
        .add_block(
            BlockKind::Paragraph,
            "hello".into(),
            Target::End { parent: None },
        )
        .await
        .unwrap();
    doc_a.go_online(target.clone()).await.unwrap();
    doc_a
        .sync_until_in_sync(Duration::from_secs(20))
        .await
        .unwrap();

    let doc_b = b.find(&doc_a.url()).await.unwrap();
    doc_b.go_online(target.clone()).await.unwrap();
    doc_b
        .sync_until_in_sync(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        doc_a.to_json().await.unwrap(),
        doc_b.to_json().await.unwrap()
    );

    // Concurrent edits while both are online; both end with the same bytes.
    let mut changes = doc_a.changes();
    doc_b
        .insert_text(blk.clone(), 5, " world".into())
        .await
        .unwrap();
    doc_a
        .insert_text(blk.clone(), 0, ">> ".into())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if doc_a.to_json().await.unwrap() == doc_b.to_json().await.unwrap()
                && doc_a.to_json().await.unwrap().contains(">> hello world")
            {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), changes.recv()).await;
        }
    })
    .await
    .expect("converged");
    doc_a
        .sync_until_in_sync(Duration::from_secs(20))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_relay_times_out_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open(dir.path()).unwrap();
    let doc = client.create("offline").await.unwrap();
    doc.go_online(SyncTarget::new(format!("http://127.0.0.1:{port}"), "tok"))
        .await
        .unwrap();
    // Edits keep working while the relay is unreachable.
    doc.add_block(
        BlockKind::Paragraph,
        "x".into(),
        Target::End { parent: None },
    )
    .await
    .unwrap();
    let err = doc
        .sync_until_in_sync(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { reason, .. } if reason.contains("unreachable")),
        "{err}"
    );
}
