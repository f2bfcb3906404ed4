//! A `DocSync` session carried over tokio-tungstenite by the core's generic loop
//! ([`Device`], storage in memory); only the socket is written here.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sync_core::client::{ClientConfig, ClientEvent, ClientInput, DocSync};
use sync_core::io::Millis;
use sync_core::model::Page;
use sync_core::protocol::{DocumentId, PeerId, StorageId};
use sync_core::testing::{Device, LinkAction, MemoryStore};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as Millis
}

/// One client of one document.
#[derive(Debug)]
pub struct Client {
    /// The session with its store, timer, status and events, run by the core's generic loop.
    pub device: Device,
    url: String,
    ws: Option<Ws>,
    /// The close code of the last close the relay sent.
    pub last_close: Option<u16>,
    /// The size of every binary frame received, in order.
    pub frames_in: Vec<usize>,
}

impl Client {
    /// A client for `doc` at `url`; `create` makes a fresh page with a title, otherwise it starts
    /// empty and fetches the document.
    pub fn new(name: &str, url: String, doc: DocumentId, create: bool) -> Self {
        let actor = actor_for(name);
        let config = ClientConfig::new(
            PeerId::from(format!("peer-{name}").as_str()),
            StorageId::from(format!("storage-{name}").as_str()),
        );
        let session = if create {
            DocSync::create(config, doc, "E2E page", actor)
        } else {
            DocSync::open(config, doc, actor)
        };
        let mut actions = Vec::new();
        let device = Device::new(now_ms(), session, MemoryStore::default(), &mut actions);
        assert!(
            actions.is_empty(),
            "a new session does not connect by itself"
        );
        Self {
            device,
            url,
            ws: None,
            last_close: None,
            frames_in: Vec::new(),
        }
    }

    /// Goes online and pumps until `done` holds or `timeout` passes; returns whether it held.
    pub async fn online_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        self.input(ClientInput::GoOnline).await;
        self.pump_until(timeout, &mut done).await
    }

    /// Pumps until `done` holds or `timeout` passes.
    pub async fn pump_until(
        &mut self,
        timeout: Duration,
        done: &mut impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.step(Duration::from_millis(50)).await;
        }
    }

    /// Pumps for `d`.
    pub async fn pump_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            self.step(Duration::from_millis(50)).await;
        }
    }

    /// Applies an edit and carries its outputs.
    pub async fn edit(&mut self, f: impl FnOnce(&mut Page)) {
        let (_, outs) = self
            .device
            .sync
            .edit(now_ms(), |p| {
                f(p);
                Ok(())
            })
            .expect("edit");
        let mut actions = Vec::new();
        self.device.carry_out(now_ms(), outs, &mut actions);
        self.carry(actions).await;
    }

    async fn input(&mut self, input: ClientInput) {
        let mut actions = Vec::new();
        self.device.handle(now_ms(), input, &mut actions);
        self.carry(actions).await;
    }

    async fn step(&mut self, max_wait: Duration) {
        let mut actions = Vec::new();
        if self.device.tick(now_ms(), &mut actions) {
            self.carry(actions).await;
            return;
        }
        let Some(ws) = self.ws.as_mut() else {
            tokio::time::sleep(max_wait).await;
            return;
        };
        let input = match tokio::time::timeout(max_wait, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Binary(b)))) => {
                self.frames_in.push(b.len());
                ClientInput::Frame(b.to_vec())
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.map(|f| u16::from(f.code));
                self.last_close = code;
                self.ws = None;
                closed(code)
            }
            Ok(Some(Ok(_))) => return,
            Ok(Some(Err(_)) | None) => {
                self.ws = None;
                closed(None)
            }
        };
        self.input(input).await;
    }

    /// Carries out the connection actions the session asked for, in order, feeding back what
    /// the socket reports (and the actions that follow from that).
    async fn carry(&mut self, actions: Vec<LinkAction>) {
        let mut queue: std::collections::VecDeque<LinkAction> = actions.into();
        while let Some(action) = queue.pop_front() {
            let input = match action {
                LinkAction::Connect { .. } => match connect_async(self.url.as_str()).await {
                    Ok((ws, _)) => {
                        self.ws = Some(ws);
                        Some(ClientInput::TransportOpened)
                    }
                    Err(_) => Some(closed(None)),
                },
                LinkAction::Disconnect => {
                    if let Some(mut ws) = self.ws.take() {
                        let _ = ws.close(None).await;
                        // Read to the end: a close the relay sent first is still recorded.
                        let drain = async {
                            while let Some(Ok(m)) = ws.next().await {
                                if let Message::Close(Some(f)) = m {
                                    self.last_close = Some(u16::from(f.code));
                                }
                            }
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
                    }
                    None
                }
                LinkAction::Send(bytes) => {
                    if let Some(ws) = self.ws.as_mut()
                        && ws.send(Message::Binary(bytes.into())).await.is_err()
                    {
                        self.ws = None;
                        Some(closed(None))
                    } else {
                        None
                    }
                }
            };
            if let Some(input) = input {
                let mut more = Vec::new();
                self.device.handle(now_ms(), input, &mut more);
                queue.extend(more);
            }
        }
    }

    /// Whether the relay refused this session with `code`.
    pub fn refused_with(&self, code: &str) -> bool {
        self.device
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::Refused { code: c, .. } if c.as_str() == code))
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.device.sync.page().title()
    }
}

fn closed(code: Option<u16>) -> ClientInput {
    ClientInput::TransportClosed {
        code,
        reason: String::new(),
    }
}

/// A 16-byte actor id, unique per name and run (tests only).
fn actor_for(name: &str) -> [u8; 16] {
    let mut a = [0u8; 16];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    for (i, b) in name.bytes().chain(nanos.to_le_bytes()).enumerate() {
        a[i % 16] = a[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    a
}

/// Tries a WebSocket upgrade and returns the HTTP status and body of a refusal, or 101.
///
/// Written by hand rather than with tungstenite, whose error response carries the body only if
/// it arrived in the same read as the head.
pub async fn connect_status(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("ws://").expect("ws:// url");
    let (host, path) = rest.split_once('/').expect("url with a path");
    let mut s = TcpStream::connect(host).await.expect("connect");
    let req = format!(
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .expect("status line");
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if status == 101 || body.len() >= len {
                return (status, body.to_string());
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => panic!("no complete answer to the upgrade: {text:?}"),
        }
    }
}
