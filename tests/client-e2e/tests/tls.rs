//! The CLI against the relay in workerd served over HTTPS (`wrangler dev --local-protocol
//! https`) with a certificate from a test CA: `https://` relay URLs sync over `wss://` when the
//! CA is trusted with `--ca-file`, and fail with advice when it is not.

use std::time::Duration;

use client_e2e::{Device, Relay, TestCa, jwt_secret, relay_script, tessera_bin, token};

fn scratch(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("tessera-e2e-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn sync_over_https_with_the_test_ca_converges() -> anyhow::Result<()> {
    let script = relay_script();
    let dir = scratch("converges");
    let ca = TestCa::make(&dir.join("ca"))?;
    let relay = Relay::start_tls(&script, &dir.join("relay"), &ca)?;
    let url = relay.url();
    assert!(url.starts_with("https://"), "{url}");
    let bin = tessera_bin()?;
    let t = token(&bin, &jwt_secret()?)?;
    let ca_file = ca.ca_cert.to_str().unwrap_or_default();
    let (a, b) = (
        Device {
            bin: bin.clone(),
            data: dir.join("a"),
        },
        Device {
            bin,
            data: dir.join("b"),
        },
    );
    let doc = a.ok(&["new", "--title", "Over TLS"])?;
    a.ok(&["add", &doc, "--kind", "paragraph", "--text", "sealed"])?;
    let sync = |d: &Device| {
        d.ok(&[
            "sync",
            &doc,
            "--relay",
            &url,
            "--token",
            &t,
            "--ca-file",
            ca_file,
            "--timeout",
            "30",
        ])
    };
    sync(&a)?;
    sync(&b)?;
    let (ja, jb) = (
        a.ok(&["show", &doc, "--json"])?,
        b.ok(&["show", &doc, "--json"])?,
    );
    assert_eq!(ja, jb);
    assert!(jb.contains("sealed") && jb.contains("Over TLS"), "{jb}");
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn https_relay_with_an_untrusted_certificate_fails_with_advice() -> anyhow::Result<()> {
    let script = relay_script();
    let dir = scratch("untrusted");
    let ca = TestCa::make(&dir.join("ca"))?;
    let relay = Relay::start_tls(&script, &dir.join("relay"), &ca)?;
    let bin = tessera_bin()?;
    let t = token(&bin, &jwt_secret()?)?;
    let a = Device {
        bin,
        data: dir.join("a"),
    };
    let doc = a.ok(&["new"])?;
    let started = std::time::Instant::now();
    let out = a.run_sync(&doc, &relay.url(), &t, 4);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "a timeout naming why: {err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--ca-file"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
