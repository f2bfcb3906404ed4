use percent_encoding::percent_decode_str;

/// Finds the access token in a request: `Authorization: Bearer <token>` first, else the
/// `token=` query parameter, percent-decoded.
///
/// The query fallback exists because browsers cannot set headers on a WebSocket upgrade and
/// stock automerge-repo clients only let the app choose the URL. `authorization_header` is the
/// header's value; `query` is the URL's query string, with or without its leading `?`. A header
/// with another scheme (e.g. `Basic`) is ignored. An empty token counts as none.
pub fn bearer_token(authorization_header: Option<&str>, query: Option<&str>) -> Option<String> {
    authorization_header
        .and_then(from_authorization)
        .or_else(|| query.and_then(from_query))
}

fn from_authorization(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(|c: char| c.is_ascii_whitespace())?;
    // RFC 7235: the auth scheme is case-insensitive.
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn from_query(query: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))?;
    let token = percent_decode_str(raw).decode_utf8().ok()?;
    (!token.is_empty()).then(|| token.into_owned())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn header_wins_over_query() {
        assert_eq!(
            bearer_token(Some("Bearer abc"), Some("token=xyz")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            bearer_token(Some("bearer   abc  "), None).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn falls_back_to_query_when_header_absent_or_not_bearer() {
        assert_eq!(
            bearer_token(None, Some("?a=1&token=xyz&b=2")).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            bearer_token(Some("Basic dXNlcjpwdw=="), Some("token=xyz")).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            bearer_token(Some("Bearer "), Some("token=xyz")).as_deref(),
            Some("xyz")
        );
    }

    #[test]
    fn query_value_is_percent_decoded() {
        assert_eq!(
            bearer_token(None, Some("token=a%2Eb%2ec")).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(bearer_token(None, Some("token=%FF")), None);
    }

    #[test]
    fn nothing_found() {
        assert_eq!(bearer_token(None, None), None);
        assert_eq!(bearer_token(Some("Bearer"), Some("")), None);
        assert_eq!(bearer_token(None, Some("mytoken=abc&token=")), None);
    }
}
