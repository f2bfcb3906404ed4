//! A `DocSync` session carried over tokio-tungstenite: the same loop a native shell runs, with
//! storage that always succeeds at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sync_core::client::{ClientConfig, ClientEvent, ClientInput, ClientOutput, DocSync};
use sync_core::io::Millis;
use sync_core::model::Page;
use sync_core::protocol::{DocumentId, PeerId, StorageId};
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
    /// The session.
    pub sync: DocSync,
    url: String,
    ws: Option<Ws>,
    timer: Option<Millis>,
    /// Every event so far.
    pub events: Vec<ClientEvent>,
    /// The close code of the last close the relay sent.
    pub last_close: Option<u16>,
}

impl Client {
    /// A client for `doc` at `url`; `create` makes a fresh page with a title, otherwise it starts
    /// empty and fetches the document.
    pub fn new(name: &str, url: String, doc: DocumentId, create: bool) -> Self {
        let actor = actor_for(name);
        let page = if create {
            Page::create(actor, "E2E page")
        } else {
            Page::empty(actor)
        };
        let config = ClientConfig::new(
            PeerId::from(format!("peer-{name}").as_str()),
            StorageId::from(format!("storage-{name}").as_str()),
        );
        let sync = DocSync::new(config, doc, page, BTreeMap::new(), 7);
        Self {
            sync,
            url,
            ws: None,
            timer: None,
            events: Vec::new(),
            last_close: None,
        }
    }

    /// Goes online and pumps until `done` holds or `timeout` passes; returns whether it held.
    pub async fn online_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let outs = self.sync.handle(now_ms(), ClientInput::GoOnline);
        self.carry(outs).await;
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
            .sync
            .edit(now_ms(), |p| {
                f(p);
                Ok(())
            })
            .expect("edit");
        self.carry(outs).await;
    }

    async fn step(&mut self, max_wait: Duration) {
        if let Some(at) = self.timer
            && at <= now_ms()
        {
            self.timer = None;
            let outs = self.sync.handle(now_ms(), ClientInput::Timer);
            self.carry(outs).await;
            return;
        }
        let Some(ws) = self.ws.as_mut() else {
            tokio::time::sleep(max_wait).await;
            return;
        };
        let input = match tokio::time::timeout(max_wait, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Binary(b)))) => ClientInput::Frame(b.to_vec()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.map(|f| u16::from(f.code));
                self.last_close = code;
                self.ws = None;
                ClientInput::TransportClosed { code }
            }
            Ok(Some(Ok(_))) => return,
            Ok(Some(Err(_)) | None) => {
                self.ws = None;
                ClientInput::TransportClosed { code: None }
            }
        };
        let outs = self.sync.handle(now_ms(), input);
        self.carry(outs).await;
    }

    async fn carry(&mut self, outs: Vec<ClientOutput>) {
        let mut queue: std::collections::VecDeque<ClientOutput> = outs.into();
        while let Some(out) = queue.pop_front() {
            let input = match out {
                ClientOutput::Connect => match connect_async(self.url.as_str()).await {
                    Ok((ws, _)) => {
                        self.ws = Some(ws);
                        Some(ClientInput::TransportOpened)
                    }
                    Err(_) => Some(ClientInput::TransportClosed { code: None }),
                },
                ClientOutput::Disconnect => {
                    if let Some(mut ws) = self.ws.take() {
                        let _ = ws.close(None).await;
                    }
                    None
                }
                ClientOutput::Send(bytes) => {
                    if let Some(ws) = self.ws.as_mut()
                        && ws.send(Message::Binary(bytes.into())).await.is_err()
                    {
                        self.ws = None;
                        Some(ClientInput::TransportClosed { code: None })
                    } else {
                        None
                    }
                }
                ClientOutput::Storage { task, .. } => Some(ClientInput::StorageDone {
                    task,
                    outcome: Ok(()),
                }),
                ClientOutput::SetTimer { at_ms } => {
                    self.timer = Some(at_ms);
                    None
                }
                ClientOutput::Event(e) => {
                    self.events.push(e);
                    None
                }
            };
            if let Some(input) = input {
                queue.extend(self.sync.handle(now_ms(), input));
            }
        }
    }

    /// Whether the relay refused this session with `code`.
    pub fn refused_with(&self, code: &str) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Refused { code: c, .. } if c.as_str() == code))
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.sync.page().title()
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
pub async fn connect_status(url: &str) -> (u16, String) {
    match connect_async(url).await {
        Ok(_) => (101, String::new()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            (status, body)
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}
