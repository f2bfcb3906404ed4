//! A bare protocol peer for attack tests: it sends exactly the frames a test builds (no session
//! logic, no reassembly, no politeness) and reports what the relay answered.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sync_core::protocol::{Message, PeerId, PeerMetadata};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::Refusal;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An automerge sync message from an empty document to a peer it never synced with: no heads,
/// no needs, no haves, no changes. Enough to subscribe to a document without automerge here.
pub const EMPTY_SYNC_DATA: &[u8] = &[0x42, 0x00, 0x00, 0x00, 0x00];

/// What came next on a raw connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A binary frame that decoded as a message.
    Message(Message),
    /// The relay closed, with this close code.
    Closed(Option<u16>),
    /// Nothing arrived in time.
    Timeout,
}

/// One raw WebSocket connection to the relay.
#[derive(Debug)]
pub struct RawPeer {
    ws: Ws,
    /// Whether the relay has closed (or the socket failed).
    pub closed: bool,
}

impl RawPeer {
    /// Connects; panics if the upgrade is refused.
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = connect_async(url).await.expect("websocket upgrade");
        Self { ws, closed: false }
    }

    /// Connects and completes the handshake as `peer_id`; panics if the relay does not answer
    /// with `peer`.
    pub async fn joined(url: &str, peer_id: &str) -> Self {
        Self::joined_as(url, join(peer_id)).await
    }

    /// The same, declaring that it reads acks (`tesseraAcks`), as Tessera clients do: only
    /// such peers are sent acks.
    pub async fn joined_reading_acks(url: &str, peer_id: &str) -> Self {
        let join = Message::Join {
            sender_id: PeerId::from(peer_id),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
                reads_acks: true,
            }),
        };
        Self::joined_as(url, join).await
    }

    async fn joined_as(url: &str, join: Message) -> Self {
        let Message::Join { sender_id, .. } = &join else {
            panic!("not a join: {join:?}");
        };
        let peer_id = sender_id.to_string();
        let mut p = Self::connect(url).await;
        p.send(&join).await;
        match p.next(Duration::from_secs(10)).await {
            Next::Message(Message::Peer { .. }) => p,
            other => panic!("join as {peer_id}: expected `peer`, got {other:?}"),
        }
    }

    /// Sends one message; returns false if the socket is gone.
    pub async fn send(&mut self, m: &Message) -> bool {
        self.send_bytes(m.encode()).await
    }

    /// Sends one binary frame; returns false if the socket is gone.
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) -> bool {
        if self.closed {
            return false;
        }
        let ok = self.ws.send(WsMessage::Binary(bytes.into())).await.is_ok();
        if !ok {
            self.closed = true;
        }
        ok
    }

    /// The next message or close, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Next {
        if self.closed {
            return Next::Closed(None);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Next::Timeout,
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    if let Ok(m) = Message::decode(&b) {
                        return Next::Message(m);
                    }
                }
                Ok(Some(Ok(WsMessage::Close(f)))) => {
                    self.closed = true;
                    return Next::Closed(f.map(|f| u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    self.closed = true;
                    return Next::Closed(None);
                }
            }
        }
    }

    /// Reads until the relay closes and reports its `error` and close code; `None` if it did
    /// not close within `timeout`. Other messages on the way are returned in `seen`.
    pub async fn refusal(&mut self, timeout: Duration, seen: &mut Vec<Message>) -> Option<Refusal> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut refusal = Refusal {
            status: 101,
            ..Refusal::default()
        };
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Timeout => return None,
                Next::Closed(code) => {
                    refusal.close_code = code;
                    return Some(refusal);
                }
                Next::Message(Message::Error {
                    message,
                    code,
                    retry_after_ms,
                }) => {
                    refusal.code = code.map(|c| c.as_str().to_owned());
                    refusal.message = message;
                    refusal.retry_after_ms = retry_after_ms;
                }
                Next::Message(m) => seen.push(m),
            }
        }
    }
}

/// A `join` as `peer_id` speaking protocol 1.
pub fn join(peer_id: &str) -> Message {
    Message::Join {
        sender_id: PeerId::from(peer_id),
        supported_protocol_versions: vec!["1".into()],
        metadata: None,
    }
}
