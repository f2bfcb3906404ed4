//! P1 against y-sweet with a Yjs client (`yrs`, the CRDT library y-sweet itself is built on):
//! two documents connect the way the y-websocket provider does (create the doc and fetch a
//! client token over y-sweet's HTTP API, then `<url>/<docId>`), exchange the y-sync handshake,
//! and A sends each one-character insert as a y-sync `Update`. A sample is the time from A's
//! edit to B having applied it.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::encoding::read::Cursor;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, Text, TextRef, Transact, Update};

use crate::STEP_TIMEOUT;
use crate::http::post_json;
use crate::report::Latencies;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn run(base: &str, edits: usize) -> anyhow::Result<Latencies> {
    let url = socket_url(base)?;
    let mut a = Peer::connect(&url).await?;
    let mut b = Peer::connect(&url).await?;
    // A never waits on what the server sends it; keep its socket drained.
    let a_reader = tokio::spawn(drain(a.stream.take().context("A's stream")?));

    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        let start = Instant::now();
        let update = {
            let mut txn = a.doc.transact_mut();
            a.text.insert(&mut txn, i as u32, "x");
            txn.encode_update_v1()
        };
        a.send(Message::Sync(SyncMessage::Update(update))).await?;
        while b.len() <= i {
            tokio::time::timeout(STEP_TIMEOUT, b.receive())
                .await
                .with_context(|| format!("edit {i} never reached the second client"))??;
        }
        samples.push(start.elapsed());
    }
    if b.text.get_string(&b.doc.transact()) != "x".repeat(edits) {
        bail!("the second Yjs client ended with different text");
    }
    a_reader.abort();
    Ok(Latencies::new(
        "y-sweet 0.9.1",
        "yrs 0.19.2 client",
        samples,
    ))
}

/// Creates a document and returns the provider URL for it, as y-sweet's client token gives it.
fn socket_url(base: &str) -> anyhow::Result<String> {
    let doc = post_json(base, "/doc/new", "{}")?;
    let id = doc["docId"].as_str().context("no docId from /doc/new")?;
    let auth = post_json(base, &format!("/doc/{id}/auth"), "{}")?;
    let url = auth["url"].as_str().context("no url in the client token")?;
    Ok(match auth["token"].as_str() {
        Some(token) => format!("{url}/{id}?token={token}"),
        None => format!("{url}/{id}"),
    })
}

/// One Yjs document over one socket.
struct Peer {
    doc: Doc,
    text: TextRef,
    sink: SplitSink<Ws, WsMessage>,
    stream: Option<SplitStream<Ws>>,
}

impl Peer {
    /// Connects and completes the handshake (our step 1 answered by the server's step 2).
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let (sink, stream) = ws.split();
        let doc = Doc::new();
        let text = doc.get_or_insert_text("text");
        let mut peer = Self {
            doc,
            text,
            sink,
            stream: Some(stream),
        };
        let sv = peer.doc.transact().state_vector();
        peer.send(Message::Sync(SyncMessage::SyncStep1(sv))).await?;
        while !tokio::time::timeout(STEP_TIMEOUT, peer.receive())
            .await
            .context("no sync step 2 from y-sweet")??
        {}
        Ok(peer)
    }

    async fn send(&mut self, message: Message) -> anyhow::Result<()> {
        self.sink
            .send(WsMessage::Binary(message.encode_v1().into()))
            .await?;
        Ok(())
    }

    fn len(&self) -> usize {
        self.text.len(&self.doc.transact()) as usize
    }

    /// Reads one frame and applies what it carries; true if it held a sync step 2.
    async fn receive(&mut self) -> anyhow::Result<bool> {
        let stream = self.stream.as_mut().context("stream handed off")?;
        let frame = stream.next().await.context("y-sweet closed the socket")??;
        let WsMessage::Binary(bytes) = frame else {
            return Ok(false);
        };
        let mut step2 = false;
        let mut decoder = DecoderV1::new(Cursor::new(&bytes));
        for message in MessageReader::new(&mut decoder) {
            match message? {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let update = self.doc.transact().encode_state_as_update_v1(&sv);
                    self.send(Message::Sync(SyncMessage::SyncStep2(update)))
                        .await?;
                }
                Message::Sync(SyncMessage::SyncStep2(u)) => {
                    step2 = true;
                    self.apply(&u)?;
                }
                Message::Sync(SyncMessage::Update(u)) => self.apply(&u)?,
                _ => {} // awareness and the rest carry no document changes
            }
        }
        Ok(step2)
    }

    fn apply(&self, update: &[u8]) -> anyhow::Result<()> {
        let update = Update::decode_v1(update)?;
        self.doc.transact_mut().apply_update(update);
        Ok(())
    }
}

async fn drain(mut stream: SplitStream<Ws>) {
    while let Some(Ok(_)) = stream.next().await {}
}
