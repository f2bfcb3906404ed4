//! Opening the WebSocket to a document's relay room, with the token in the header.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open connection to the relay.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) url: String,
    pub(crate) token: String,
}

/// A connect attempt that hangs (a black-holed address) counts as failed after this long, so
/// the core's back-off takes over.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the socket. The error text is for people ("connection refused", "HTTP 401").
pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Socket, String> {
    let mut request = endpoint
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", endpoint.token))
        .map_err(|_| "the token contains characters not allowed in a header".to_owned())?;
    request.headers_mut().insert("authorization", bearer);
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            Err(format!("relay answered HTTP {}", response.status()))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".to_owned()),
    }
}
