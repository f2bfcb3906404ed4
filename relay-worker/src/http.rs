//! Response helpers: JSON refusals, CORS from `ALLOWED_ORIGINS`, and security headers.

use worker::{Env, Headers, Response};

use crate::error::Error;

/// The refusal for `e`: `{"code","message"}` with the matching status.
pub(crate) fn refusal(e: &Error) -> worker::Result<Response> {
    if matches!(e, Error::Config(_) | Error::Runtime(_)) {
        worker::console_error!("relay error: {e}");
    }
    json(e.body(), e.status())
}

/// A JSON response.
pub(crate) fn json(body: String, status: u16) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

/// Adds CORS (when the origin is allowed) and security headers. WebSocket upgrades pass as is.
pub(crate) async fn finish(
    resp: Response,
    origin: Option<String>,
    env: &Env,
) -> worker::Result<Response> {
    if resp.status_code() == 101 {
        return Ok(resp);
    }
    // Responses that came back from a Durable Object have immutable headers: copy them.
    let status = resp.status_code();
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.set(&k, &v)?;
    }
    let mut resp = resp;
    let body = resp.bytes().await?;
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("strict-transport-security", "max-age=63072000"),
    ] {
        headers.set(k, v)?;
    }
    if headers.get("cache-control")?.is_none() {
        headers.set("cache-control", "no-store")?;
    }
    if let Some(origin) = origin
        && origin_allowed(&origin, env)
    {
        headers.set("access-control-allow-origin", &origin)?;
        headers.set("vary", "Origin")?;
        headers.set("access-control-allow-methods", "GET, DELETE, OPTIONS")?;
        headers.set(
            "access-control-allow-headers",
            "authorization, content-type, if-none-match",
        )?;
        headers.set("access-control-expose-headers", "etag")?;
        headers.set("access-control-max-age", "600")?;
    }
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}

fn origin_allowed(origin: &str, env: &Env) -> bool {
    let allowed = env
        .var("ALLOWED_ORIGINS")
        .map(|v| v.to_string())
        .unwrap_or_default();
    allowed
        .split(',')
        .map(str::trim)
        .any(|a| a == "*" || a == origin)
}
