//! One structured log line per request: what was asked, by which tenant, how it ended.
//!
//! Built from fields the Worker sets one by one; there is no field a token, a query string or
//! a request header could reach, so none can end up in the log.

use serde::Serialize;

/// The log line of one request, printed as JSON by the Worker when the request ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestLog {
    /// The HTTP method.
    pub method: String,
    /// The route's name (`connect`, `snapshot`, ...), `unknown` when no route matched.
    pub route: &'static str,
    /// The response status (101 for an accepted upgrade, and for an in-band refusal).
    pub status: u16,
    /// The refusal's code, when the Worker refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The verified token's tenant; absent until the token is verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The document id of a document route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Time spent in the Worker, in milliseconds.
    pub duration_ms: u64,
}

impl RequestLog {
    /// The line of a request with `method`, before anything else is known.
    pub fn new(method: &str) -> Self {
        Self {
            method: method.to_owned(),
            route: "unknown",
            ..Self::default()
        }
    }

    /// The JSON line.
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("a log line always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_the_known_fields() {
        let mut log = RequestLog::new("GET");
        assert_eq!(
            log.line(),
            r#"{"method":"GET","route":"unknown","status":0,"duration_ms":0}"#
        );
        log.route = "snapshot";
        log.status = 401;
        log.code = Some("auth_failed");
        log.tenant = Some("t\"1\n".into());
        log.doc = Some("4NMNnkMhL8jXrdJ9jamS58PAVdXu".into());
        log.duration_ms = 3;
        let line = log.line();
        assert!(!line.contains('\n'), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["tenant"], "t\"1\n");
        assert_eq!(v["code"], "auth_failed");
        assert_eq!(v["status"], 401);
    }
}
