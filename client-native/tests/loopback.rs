//! The client's real transport and session task against sync-core's real relay room, served
//! over real WebSockets on 127.0.0.1 by a minimal in-test shell (in-memory storage, unlimited
//! quota). This exercises the network path without workerd; `tests/client-e2e` covers the
//! real relay.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_native::{BlockKind, Client, Error, SyncTarget, Target};
use futures_util::{SinkExt, StreamExt};
use sync_core::io::ConnId;
use sync_core::protocol::DocumentId;
use sync_core::relay::{
    PeerAccess, RelayRoom, RoomConfig, RoomInput, RoomOutput, StorageOp, StoredRoom,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

#[derive(Default)]
struct Relay {
    rooms: BTreeMap<DocumentId, RelayRoom>,
    conns: BTreeMap<ConnId, (DocumentId, mpsc::UnboundedSender<Message>)>,
    next_conn: u64,
}

type Shared = Arc<Mutex<Relay>>;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Feeds one input and carries out everything that follows, storage answered at once.
fn feed(shared: &Shared, doc: DocumentId, input: RoomInput) {
    let mut relay = shared.lock().unwrap();
    let mut queue = vec![input];
    while let Some(input) = queue.pop() {
        let outs = relay.rooms.get_mut(&doc).unwrap().handle(now(), input);
        let mut follow = Vec::new();
        for out in outs {
            match out {
                RoomOutput::Send { conn, bytes } => {
                    if let Some((_, tx)) = relay.conns.get(&conn) {
                        let _ = tx.send(Message::Binary(bytes.into()));
                    }
                }
                RoomOutput::Close { conn, code, reason } => {
                    if let Some((_, tx)) = relay.conns.remove(&conn) {
                        let _ = tx.send(Message::Close(Some(CloseFrame {
                            code: code.into(),
                            reason: reason.into(),
                        })));
                    }
                }
                RoomOutput::Storage { task, op } => {
                    let input = match op {
                        StorageOp::Load => RoomInput::Loaded(StoredRoom::default()),
                        _ => RoomInput::StorageDone {
                            task,
                            outcome: Ok(()),
                        },
                    };
                    follow.push(input);
                }
                RoomOutput::ReserveQuota { bytes, .. } => follow.push(RoomInput::Quota(Ok(bytes))),
                RoomOutput::SetTimer { at_ms } => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(at_ms.saturating_sub(now())))
                            .await;
                        feed(&shared, doc, RoomInput::Timer);
                    });
                }
                RoomOutput::Attach { .. } | RoomOutput::Event(_) => {}
            }
        }
        follow.reverse();
        queue.extend(follow);
    }
}

#[allow(clippy::result_large_err)] // tungstenite's callback signature, not ours
async fn serve(listener: TcpListener, shared: Shared) {
    while let Ok((tcp, _)) = listener.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut path = String::new();
            let mut auth = String::new();
            let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
                path = req.uri().path().to_owned();
                auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                Ok(resp)
            })
            .await
            .unwrap();
            assert_eq!(
                auth, "Bearer tok",
                "the token travels in the Authorization header"
            );
            let doc: DocumentId = path.trim_start_matches("/v1/docs/").parse().unwrap();
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let conn = {
                let mut relay = shared.lock().unwrap();
                relay.next_conn += 1;
                let conn = ConnId(relay.next_conn);
                relay.conns.insert(conn, (doc, tx));
                conn
            };
            let fresh = {
                let mut relay = shared.lock().unwrap();
                let fresh = !relay.rooms.contains_key(&doc);
                relay
                    .rooms
                    .entry(doc)
                    .or_insert_with(|| RelayRoom::new(RoomConfig::default(), doc).0);
                fresh
            };
            if fresh {
                // A new room asks to load its storage first; this relay starts empty.
                feed(&shared, doc, RoomInput::Loaded(StoredRoom::default()));
            }
            let access = PeerAccess {
                subject: "t".into(),
                tenant: "t".into(),
                can_write: true,
                expires_at_ms: now() + 3_600_000,
                plan: sync_core::relay::PlanLimits::default(),
            };
            feed(&shared, doc, RoomInput::Connected { conn, access });
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    let close = matches!(m, Message::Close(_));
                    if sink.send(m).await.is_err() || close {
                        break;
                    }
                }
            });
            while let Some(Ok(m)) = stream.next().await {
                if let Message::Binary(b) = m {
                    feed(
                        &shared,
                        doc,
                        RoomInput::Frame {
                            conn,
                            bytes: b.to_vec(),
                        },
                    );
                }
            }
            shared.lock().unwrap().conns.remove(&conn);
            feed(&shared, doc, RoomInput::Disconnected { conn });
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_through_a_relay_room() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, Shared::default()));
    let target = SyncTarget {
        relay,
        token: "tok".into(),
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        Client::open(da.path()).unwrap(),
        Client::open(db.path()).unwrap(),
    );

    let doc_a = a.create("Shared").unwrap();
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

    let doc_b = b.open_or_fetch(doc_a.id()).unwrap();
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
    let doc = client.create("offline").unwrap();
    doc.go_online(SyncTarget {
        relay: format!("http://127.0.0.1:{port}"),
        token: "tok".into(),
    })
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

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TESSERA_DATA")
        .output()
        .unwrap()
}

/// `tessera sync` on two devices, one of which has never seen the document, then offline edits
/// on both: identical `show --json`, and exit codes that scripts can rely on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sync_converges_two_data_dirs() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, Shared::default()));
    tokio::task::spawn_blocking(move || {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (a.path(), b.path());
        let out = |o: std::process::Output| {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap().trim().to_owned()
        };
        let doc = out(cli(a, &["new", "--title", "cli"]));
        let sync = |d| {
            out(cli(
                d,
                &[
                    "sync",
                    &doc,
                    "--relay",
                    &relay,
                    "--token",
                    "tok",
                    "--timeout",
                    "20",
                ],
            ))
        };
        let blk = out(cli(
            a,
            &["add", &doc, "--kind", "paragraph", "--text", "abc"],
        ));
        sync(a);
        sync(b);
        out(cli(a, &["edit", &doc, &blk, "--insert", "0", "A"]));
        out(cli(b, &["edit", &doc, &blk, "--insert", "3", "B"]));
        sync(a);
        sync(b);
        sync(a);
        let (ja, jb) = (
            out(cli(a, &["show", &doc, "--json"])),
            out(cli(b, &["show", &doc, "--json"])),
        );
        assert_eq!(ja, jb);
        assert!(ja.contains("\"text\":\"AabcB\""), "{ja}");
        // A document the relay has never seen, on a device that lacks it: a clear failure.
        let unknown = DocumentId::from_random_bytes([5; 16]).to_url();
        let o = cli(
            b,
            &[
                "sync",
                &unknown,
                "--relay",
                &relay,
                "--token",
                "tok",
                "--timeout",
                "10",
            ],
        );
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("does not have"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    })
    .await
    .unwrap();
}
