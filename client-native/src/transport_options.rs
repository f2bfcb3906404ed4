//! How the transport may reach a relay: which certificates it trusts beyond the built-in web
//! roots, and whether an unencrypted connection to another machine is allowed.
//!
//! A bearer token sent over `ws://` travels in clear text, so plain connections are refused
//! unless they stay on this machine (loopback) or the user opted in explicitly.

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Transport settings for [`SyncTarget`](crate::SyncTarget). The default trusts the built-in
/// web roots only and refuses `ws://`/`http://` to anything but loopback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportOptions {
    /// A PEM file of extra CA certificates to trust for `wss://`/`https://` relays (a private
    /// CA, or the certificate of a development relay), on top of the built-in web roots.
    pub ca_file: Option<PathBuf>,
    /// Allow unencrypted `ws://`/`http://` to hosts other than loopback. The token is then
    /// readable by anyone on the path; meant for closed test networks only.
    pub allow_insecure: bool,
}

/// Refuses a plain-text socket URL to a non-loopback host unless the options allow it.
/// `url` is a socket URL as [`doc_socket_url`](crate::doc_socket_url) makes it.
pub(crate) fn check_url(url: &str, options: &TransportOptions) -> Result<()> {
    let Some(rest) = url.strip_prefix("ws://") else {
        // wss:// (the only other scheme a socket URL has) is encrypted.
        return Ok(());
    };
    let host = host_of(rest);
    if options.allow_insecure || is_loopback(host) {
        return Ok(());
    }
    Err(Error::InsecureTransport {
        host: host.to_owned(),
    })
}

/// The host of `host[:port][/path]` (userinfo dropped, IPv6 brackets removed).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> TransportOptions {
        TransportOptions::default()
    }

    #[test]
    fn plain_text_stays_on_loopback_unless_opted_in() {
        for ok in [
            "ws://127.0.0.1:8787/v1/docs/x",
            "ws://127.8.9.10/v1/docs/x",
            "ws://localhost:1/v1/docs/x",
            "ws://LocalHost/v1/docs/x",
            "ws://[::1]:8787/v1/docs/x",
            "ws://[::ffff:127.0.0.1]:8787/v1/docs/x",
            "wss://relay.example.com/v1/docs/x",
            "wss://10.0.0.5:443/v1/docs/x",
        ] {
            check_url(ok, &strict()).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for refused in [
            "ws://relay.example.com/v1/docs/x",
            "ws://10.0.0.5:8787/v1/docs/x",
            "ws://128.0.0.1/v1/docs/x",
            "ws://[::2]:8787/v1/docs/x",
            "ws://localhost.evil.example/v1/docs/x",
            "ws://127.0.0.1.evil.example/v1/docs/x",
            "ws://127.0.0.1@evil.example/v1/docs/x",
        ] {
            match check_url(refused, &strict()) {
                Err(Error::InsecureTransport { host }) => {
                    assert!(!host.is_empty(), "{refused}");
                    let msg = Error::InsecureTransport { host }.to_string();
                    assert!(msg.contains("https://"), "{msg}");
                    assert!(msg.contains("--insecure-transport"), "{msg}");
                }
                other => panic!("{refused}: {other:?}"),
            }
        }
        let opted_in = TransportOptions {
            allow_insecure: true,
            ..TransportOptions::default()
        };
        check_url("ws://relay.example.com/v1/docs/x", &opted_in).unwrap();
    }

    #[test]
    fn host_is_read_from_the_authority_only() {
        assert_eq!(host_of("h.example:80/v1/docs/x"), "h.example");
        assert_eq!(host_of("u:p@h.example/x"), "h.example");
        assert_eq!(host_of("[::1]:9/x"), "::1");
        assert_eq!(host_of("h.example?q=127.0.0.1"), "h.example");
    }
}
