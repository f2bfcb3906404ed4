//! The relay's HTTP surface: which paths exist, how a request's method and path name one, and
//! how a client builds the URL of one (with the token in the `Authorization` header or, for
//! browsers and stock clients that cannot set headers on a WebSocket upgrade, in `?token=`).
//!
//! The relay parses with [`Route::parse`] and clients build with [`Route::path`] and
//! [`Route::url`], so the two sides cannot drift apart.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{BadDocumentId, DocumentId};

/// A request the relay answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /health` (or `HEAD`).
    Health,
    /// `OPTIONS` on any path: a CORS preflight.
    Preflight,
    /// `GET /v1/usage`: the caller's tenant's quota usage.
    Usage,
    /// `GET /v1/docs/<id>`: a WebSocket upgrade to the document's room.
    Connect(DocumentId),
    /// `GET /v1/docs/<id>/snapshot`: the document's Automerge bytes.
    Snapshot(DocumentId),
    /// `DELETE /v1/docs/<id>`: tombstone the document.
    Delete(DocumentId),
}

/// Why a method and path name no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No such path.
    ///
    /// Recovery: fix the URL; the relay's paths are the [`Route`] variants.
    #[error("no such route")]
    NotFound,
    /// The path exists, but not for this method.
    ///
    /// Recovery: use the method the [`Route`] documents.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The path's document id is not a document id.
    ///
    /// Recovery: a client bug; send the bs58check id (or `automerge:<id>`) of a real document.
    #[error("bad document id: {0}")]
    BadDocumentId(#[from] BadDocumentId),
}

/// What `?token=` escapes: everything but the characters a JWT is made of, so a token passes
/// through unchanged and anything else still round-trips through the relay's decoding.
const TOKEN_QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

impl Route {
    /// The route that `method` on `path` (without query) asks for.
    ///
    /// A trailing slash is ignored, and the document id may be the bare id or its URL form
    /// `automerge:<id>` (percent-encoded or not).
    pub fn parse(method: &str, path: &str) -> Result<Self, RouteError> {
        if method == "OPTIONS" {
            return Ok(Self::Preflight);
        }
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let doc =
            |id: &str| DocumentId::parse_url_or_id(&id.replace("%3A", ":").replace("%3a", ":"));
        match (method, parts.as_slice()) {
            ("GET" | "HEAD", ["health"]) => Ok(Self::Health),
            ("GET", ["v1", "usage"]) => Ok(Self::Usage),
            ("GET", ["v1", "docs", id]) => Ok(Self::Connect(doc(id)?)),
            ("DELETE", ["v1", "docs", id]) => Ok(Self::Delete(doc(id)?)),
            ("GET", ["v1", "docs", id, "snapshot"]) => Ok(Self::Snapshot(doc(id)?)),
            (
                _,
                ["health"] | ["v1", "usage"] | ["v1", "docs", _] | ["v1", "docs", _, "snapshot"],
            ) => Err(RouteError::MethodNotAllowed),
            _ => Err(RouteError::NotFound),
        }
    }

    /// The route's method.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Preflight => "OPTIONS",
            Self::Delete(_) => "DELETE",
            Self::Health | Self::Usage | Self::Connect(_) | Self::Snapshot(_) => "GET",
        }
    }

    /// The route's path. A preflight has no path of its own: it gives `/`.
    pub fn path(&self) -> String {
        match self {
            Self::Health => "/health".into(),
            Self::Preflight => "/".into(),
            Self::Usage => "/v1/usage".into(),
            Self::Connect(doc) | Self::Delete(doc) => format!("/v1/docs/{doc}"),
            Self::Snapshot(doc) => format!("/v1/docs/{doc}/snapshot"),
        }
    }

    /// A short name for logs and metrics: `health`, `preflight`, `usage`, `connect`,
    /// `snapshot` or `delete`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Preflight => "preflight",
            Self::Usage => "usage",
            Self::Connect(_) => "connect",
            Self::Snapshot(_) => "snapshot",
            Self::Delete(_) => "delete",
        }
    }

    /// The document the route is about, if any.
    pub fn doc(&self) -> Option<DocumentId> {
        match self {
            Self::Connect(doc) | Self::Snapshot(doc) | Self::Delete(doc) => Some(*doc),
            Self::Health | Self::Preflight | Self::Usage => None,
        }
    }

    /// The full URL of the route on the relay at `base` (`http://h:p`, `https://...`, `ws://...`
    /// or `wss://...`, any trailing slash ignored). [`Route::Connect`] gets the WebSocket scheme
    /// (`ws`/`wss`), every other route the HTTP one. With `token`, it goes in `?token=`, the
    /// only place a browser's WebSocket can carry it; otherwise send it as
    /// `Authorization: Bearer`. `None` if `base` has another scheme or no host.
    pub fn url(&self, base: &str, token: Option<&str>) -> Option<String> {
        let (scheme, rest) = base.trim_end_matches('/').split_once("://")?;
        if rest.is_empty() {
            return None;
        }
        let secure = match scheme {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return None,
        };
        let scheme = match (matches!(self, Self::Connect(_)), secure) {
            (true, false) => "ws",
            (true, true) => "wss",
            (false, false) => "http",
            (false, true) => "https",
        };
        let mut url = format!("{scheme}://{rest}{}", self.path());
        if let Some(token) = token {
            url.push_str("?token=");
            url.extend(utf8_percent_encode(token, TOKEN_QUERY));
        }
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::bearer_token;

    const ID: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    fn id() -> DocumentId {
        DocumentId::parse_url_or_id(ID).unwrap()
    }

    #[test]
    fn parses_every_route() {
        let doc = id();
        assert_eq!(Route::parse("GET", "/health"), Ok(Route::Health));
        assert_eq!(Route::parse("HEAD", "/health/"), Ok(Route::Health));
        assert_eq!(Route::parse("OPTIONS", "/anything"), Ok(Route::Preflight));
        assert_eq!(Route::parse("GET", "/v1/usage"), Ok(Route::Usage));
        assert_eq!(
            Route::parse("GET", &format!("/v1/docs/{ID}")),
            Ok(Route::Connect(doc))
        );
        assert_eq!(
            Route::parse("GET", &format!("/v1/docs/automerge%3A{ID}/snapshot")),
            Ok(Route::Snapshot(doc))
        );
        assert_eq!(
            Route::parse("GET", &format!("/v1/docs/automerge:{ID}")),
            Ok(Route::Connect(doc))
        );
        assert_eq!(
            Route::parse("DELETE", &format!("/v1/docs/{ID}")),
            Ok(Route::Delete(doc))
        );
    }

    #[test]
    fn refuses_what_is_not_a_route() {
        assert_eq!(Route::parse("GET", "/nope"), Err(RouteError::NotFound));
        assert_eq!(Route::parse("GET", "/v1/docs"), Err(RouteError::NotFound));
        assert_eq!(
            Route::parse("GET", &format!("/v1/docs/{ID}/snapshot/x")),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Route::parse("POST", "/health"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse("PUT", &format!("/v1/docs/{ID}")),
            Err(RouteError::MethodNotAllowed)
        );
        assert!(matches!(
            Route::parse("GET", "/v1/docs/notanid"),
            Err(RouteError::BadDocumentId(_))
        ));
    }

    #[test]
    fn built_paths_parse_back() {
        let doc = id();
        for route in [
            Route::Health,
            Route::Usage,
            Route::Connect(doc),
            Route::Snapshot(doc),
            Route::Delete(doc),
        ] {
            assert_eq!(Route::parse(route.method(), &route.path()), Ok(route));
            assert_eq!(route.doc().is_some(), route.path().starts_with("/v1/docs/"));
        }
        assert_eq!(Route::Connect(doc).name(), "connect");
    }

    #[test]
    fn urls_pick_the_scheme_and_carry_the_token_in_the_query() {
        let doc = id();
        assert_eq!(
            Route::Connect(doc)
                .url("http://127.0.0.1:8787/", None)
                .unwrap(),
            format!("ws://127.0.0.1:8787/v1/docs/{ID}")
        );
        assert_eq!(
            Route::Snapshot(doc).url("wss://r.example", None).unwrap(),
            format!("https://r.example/v1/docs/{ID}/snapshot")
        );
        let url = Route::Connect(doc)
            .url("https://r.example", Some("a.b-c_d"))
            .unwrap();
        assert_eq!(url, format!("wss://r.example/v1/docs/{ID}?token=a.b-c_d"));
        // Odd characters are escaped and come back out of the relay's reading of the query.
        let url = Route::Usage.url("http://h", Some("a+b&c=d")).unwrap();
        let query = url.split_once('?').unwrap().1;
        assert_eq!(bearer_token(None, Some(query)).as_deref(), Some("a+b&c=d"));
        assert_eq!(Route::Usage.url("ftp://h", None), None);
        assert_eq!(Route::Usage.url("http://", None), None);
        assert_eq!(Route::Usage.url("127.0.0.1:8787", None), None);
    }
}
