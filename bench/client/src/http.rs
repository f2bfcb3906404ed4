//! A minimal HTTP/1.1 JSON POST over a loopback socket, enough for y-sweet's two setup calls
//! (create a document, get a client token); not on any measured path.

use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{Context, bail};

/// POSTs `body` to `http://host:port{path}` and returns the JSON response body.
pub(crate) fn post_json(base: &str, path: &str, body: &str) -> anyhow::Result<serde_json::Value> {
    let host = base
        .strip_prefix("http://")
        .context("only http:// URLs are supported")?;
    let mut s = TcpStream::connect(host)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no HTTP header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("POST {path}: {}", head.lines().next().unwrap_or_default());
    }
    // Chunked bodies carry a size line before the JSON; take the JSON object itself.
    let start = body.find('{').context("no JSON object in the response")?;
    let end = body.rfind('}').context("no JSON object in the response")?;
    Ok(serde_json::from_str(&body[start..=end])?)
}
