//! What a refused connection looks like from the client's side, whichever form the relay used:
//! an HTTP status with a JSON `code` (what a native client can read), or an accepted socket that
//! carries an `error` message and then closes (the only form a browser can read).

use std::time::Duration;

use futures_util::StreamExt;
use sync_core::protocol::Message;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

/// A refusal as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusal {
    /// The upgrade's HTTP status: 101 when the refusal came in-band.
    pub status: u16,
    /// The machine-readable code, from the `error` message or the JSON body.
    pub code: Option<String>,
    /// The human-readable message.
    pub message: String,
    /// `retryAfterMs` of the `error` message, when it had one.
    pub retry_after_ms: Option<u64>,
    /// The WebSocket close code, for an in-band refusal.
    pub close_code: Option<u16>,
}

impl Refusal {
    /// Whether the refusal came in-band (accepted socket, `error`, close), as a browser needs.
    pub fn in_band(&self) -> bool {
        self.status == 101 && self.code.is_some() && self.close_code.is_some()
    }
}

/// Connects to `url` without sending anything and reports how the relay refused it. Panics if
/// the relay accepted the connection and did not refuse it within 20 s.
pub async fn connect_refusal(url: &str) -> Refusal {
    let (mut ws, _) = match connect_async(url).await {
        Ok(ok) => ok,
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp.body().clone().unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            return Refusal {
                status,
                code: json["code"].as_str().map(str::to_owned),
                message: json["message"].as_str().unwrap_or_default().to_owned(),
                ..Refusal::default()
            };
        }
        Err(e) => panic!("connecting to {url}: {e}"),
    };
    let mut refusal = Refusal {
        status: 101,
        ..Refusal::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await;
        match next {
            Ok(Some(Ok(WsMessage::Binary(bytes)))) => {
                if let Ok(Message::Error {
                    message,
                    code,
                    retry_after_ms,
                }) = Message::decode(&bytes)
                {
                    refusal.code = code.map(|c| c.as_str().to_owned());
                    refusal.message = message;
                    refusal.retry_after_ms = retry_after_ms;
                }
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                refusal.close_code = frame.map(|f| u16::from(f.code));
                return refusal;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return refusal,
            Err(_) => panic!("{url}: the relay accepted the socket and never refused it"),
        }
    }
}
