//! Mapping a relay base URL to a document's WebSocket address.

use sync_core::protocol::{DocumentId, Route};

use crate::error::{Error, Result};

/// `http://h:p` (or `ws://`, `https://`, `wss://`) plus a document -> `ws://h:p/v1/docs/<id>`,
/// built by the same `sync_core::protocol::routes` the relay parses with.
pub fn doc_socket_url(relay: &str, doc: DocumentId) -> Result<String> {
    Route::Connect(doc)
        .url(relay, None)
        .ok_or_else(|| Error::BadRelayUrl(relay.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_http_to_ws() {
        let doc = DocumentId::from_bytes([7; 16]);
        let url = doc_socket_url("http://127.0.0.1:8787/", doc).unwrap();
        assert_eq!(url, format!("ws://127.0.0.1:8787/v1/docs/{doc}"));
        assert!(
            doc_socket_url("https://r.example", doc)
                .unwrap()
                .starts_with("wss://")
        );
        assert!(doc_socket_url("ftp://x", doc).is_err());
        assert!(doc_socket_url("127.0.0.1:8787", doc).is_err());
    }
}
