//! Opening the WebSocket to a document's relay room, with the token in the header, over TLS
//! for `wss://` (see [`crate::tls`]).

use std::sync::Arc;

use rustls::ClientConfig;

use sync_core::protocol::HttpRefusal;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// An open connection to the relay.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) url: String,
    /// The TLS configuration for `wss://`, built once when the target is set.
    pub(crate) tls: Arc<ClientConfig>,
}

/// Why a connect attempt failed.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The relay answered the upgrade with a refusal of ours (bad token, deleted document...).
    Refused(HttpRefusal),
    /// No relay answered, or something else did; the text is for people.
    Unreachable(String),
}

/// Opens the socket, with the token in the `Authorization` header. A hanging attempt has no
/// timeout here: the core's connect deadline ends it (the driver drops this future).
pub(crate) async fn connect(
    endpoint: &Endpoint,
    token: Option<&str>,
) -> Result<Socket, ConnectError> {
    let unreachable = ConnectError::Unreachable;
    let mut request = endpoint
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| unreachable(e.to_string()))?;
    if let Some(token) = token {
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            unreachable("the token contains characters not allowed in a header".to_owned())
        })?;
        request.headers_mut().insert("authorization", bearer);
    }
    let connector = Connector::Rustls(endpoint.tls.clone());
    // No Nagle: a sync message and the answer right behind it are small writes, and Nagle
    // holds the second until the first is acknowledged, which a delayed ACK makes ~40 ms.
    let disable_nagle = true;
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        disable_nagle,
        Some(connector),
    );
    match connecting.await {
        Ok((socket, _response)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let body = response.body().as_deref().unwrap_or_default();
            match HttpRefusal::parse(status.as_u16(), retry_after, body) {
                Some(refusal) => Err(ConnectError::Refused(refusal)),
                None => Err(unreachable(format!("relay answered HTTP {status}"))),
            }
        }
        Err(e) => Err(unreachable(describe(&e))),
    }
}

/// The transport's error for people; a refused certificate says how to trust it, since
/// waiting and retrying will not help.
fn describe(e: &tokio_tungstenite::tungstenite::Error) -> String {
    let text = e.to_string();
    if text.contains("certificate") {
        format!(
            "TLS: the relay's certificate is not trusted ({text}); if the relay uses a private CA or a self-made certificate, trust it with --ca-file PATH (TransportOptions::ca_file)"
        )
    } else {
        text
    }
}
