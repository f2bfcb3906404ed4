//! Routing of the Worker's `fetch`: pure, so it is tested natively.

use sync_core::protocol::{DocumentId, ErrorCode};

use crate::error::{Error, Result};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`
    Health,
    /// `OPTIONS *`: a CORS preflight.
    Preflight,
    /// `GET /v1/usage`
    Usage,
    /// `GET /v1/docs/<id>`: a WebSocket upgrade to the document's room.
    Connect(DocumentId),
    /// `GET /v1/docs/<id>/snapshot`
    Snapshot(DocumentId),
    /// `DELETE /v1/docs/<id>`
    Delete(DocumentId),
    /// Anything under `/__dev/`: development-only routes, `404` unless `TESSERA_DEV_FAULTS`
    /// is set (see `dev.rs`).
    Dev,
}

/// Maps a method and path to a [`Route`].
pub fn route(method: &str, path: &str) -> Result<Route> {
    if method == "OPTIONS" {
        return Ok(Route::Preflight);
    }
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (method, parts.as_slice()) {
        (_, ["__dev", ..]) => Ok(Route::Dev),
        ("GET" | "HEAD", ["health"]) => Ok(Route::Health),
        ("GET", ["v1", "usage"]) => Ok(Route::Usage),
        ("GET", ["v1", "docs", id]) => Ok(Route::Connect(doc_id(id)?)),
        ("DELETE", ["v1", "docs", id]) => Ok(Route::Delete(doc_id(id)?)),
        ("GET", ["v1", "docs", id, "snapshot"]) => Ok(Route::Snapshot(doc_id(id)?)),
        (_, ["health"] | ["v1", "usage"] | ["v1", "docs", _] | ["v1", "docs", _, "snapshot"]) => {
            Err(Error::MethodNotAllowed)
        }
        _ => Err(Error::NotFound),
    }
}

fn doc_id(s: &str) -> Result<DocumentId> {
    let decoded = percent_decode(s);
    DocumentId::parse_url_or_id(&decoded)
        .map_err(|e| Error::refused(ErrorCode::BadMessage, format!("bad document id: {e}")))
}

/// `automerge%3A<id>` is accepted as well as the bare id.
fn percent_decode(s: &str) -> String {
    s.replace("%3A", ":").replace("%3a", ":")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    #[test]
    fn routes() {
        let id = DocumentId::parse_url_or_id(ID).unwrap();
        assert_eq!(route("GET", "/health").unwrap(), Route::Health);
        assert_eq!(route("GET", "/v1/usage").unwrap(), Route::Usage);
        assert_eq!(
            route("GET", &format!("/v1/docs/{ID}")).unwrap(),
            Route::Connect(id)
        );
        assert_eq!(
            route("GET", &format!("/v1/docs/automerge%3A{ID}/snapshot")).unwrap(),
            Route::Snapshot(id)
        );
        assert_eq!(
            route("DELETE", &format!("/v1/docs/{ID}")).unwrap(),
            Route::Delete(id)
        );
        assert!(matches!(route("GET", "/nope"), Err(Error::NotFound)));
        assert!(matches!(
            route("POST", "/health"),
            Err(Error::MethodNotAllowed)
        ));
        let bad = route("GET", "/v1/docs/notanid").unwrap_err();
        assert_eq!(bad.code(), "bad_message");
    }
}
