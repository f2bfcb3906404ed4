//! A minimal relay for tests: sync-core's real relay room behind real WebSockets on 127.0.0.1
//! (in-memory storage, unlimited quota), shared by the library's loopback tests and the CLI's.

#![allow(unreachable_pub, dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
pub(crate) struct Relay {
    rooms: BTreeMap<DocumentId, RelayRoom>,
    conns: BTreeMap<ConnId, (DocumentId, mpsc::UnboundedSender<Message>)>,
    next_conn: u64,
}

pub(crate) type Shared = Arc<Mutex<Relay>>;

pub(crate) fn now() -> u64 {
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
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
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
