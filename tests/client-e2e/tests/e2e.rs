//! The client against the real relay in workerd. Each test skips (with a printed reason) only
//! when `scripts/relay.sh` does not exist yet.

use std::path::Path;
use std::time::Duration;

use client_e2e::{Device, Relay, jwt_secret, relay_script, tessera_bin, token, token_with};

/// Fields drop in order: the relay dies before its state directory is removed.
struct World {
    relay: Relay,
    _dir: tempfile_dir::Dir,
    token: String,
    a: Device,
    b: Device,
}

mod tempfile_dir {
    /// A scratch directory removed on drop.
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);
    impl Dir {
        pub(crate) fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!("tessera-e2e-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn world(name: &str, script: &Path) -> anyhow::Result<World> {
    let dir = tempfile_dir::Dir::new(name);
    let bin = tessera_bin()?;
    let relay = Relay::start(script, &dir.0.join("relay"))?;
    let token = token(&bin, &jwt_secret()?)?;
    let device = |n: &str| Device {
        bin: bin.clone(),
        data: dir.0.join(n),
    };
    Ok(World {
        a: device("a"),
        b: device("b"),
        relay,
        token,
        _dir: dir,
    })
}

#[test]
fn demo_scenario_converges_byte_identically() -> anyhow::Result<()> {
    let script = relay_script();
    let w = world("demo", &script)?;
    let (a, b, url, t) = (&w.a, &w.b, w.relay.url(), w.token.as_str());
    let doc = a.ok(&["new", "--title", "Trip"])?;
    let x = a.ok(&["add", &doc, "--kind", "paragraph", "--text", "Pack bags"])?;
    let y = a.ok(&["add", &doc, "--kind", "heading", "--text", "Day one"])?;
    let z = a.ok(&["add", &doc, "--kind", "todo", "--text", "Book hotel"])?;
    let gone = a.ok(&["add", &doc, "--kind", "quote", "--text", "to delete"])?;
    a.sync(&doc, &url, t, 60)?;
    b.sync(&doc, &url, t, 60)?;
    // Offline, concurrently:
    a.ok(&["edit", &doc, &x, "--insert", "0", "Please "])?;
    b.ok(&["edit", &doc, &x, "--insert", "9", " tonight"])?;
    a.ok(&["mark", &doc, &x, "0", "6", "bold"])?;
    b.ok(&["mark", &doc, &x, "3", "9", "link=https://example.com"])?;
    a.ok(&["move", &doc, &z, "--parent", &y])?;
    b.ok(&["move", &doc, &z, "--parent", &x])?;
    a.ok(&["move", &doc, &x, "--parent", &y])?;
    b.ok(&["move", &doc, &y, "--parent", &x])?;
    a.ok(&["edit", &doc, &gone, "--set", "edited"])?;
    b.ok(&["delete", &doc, &gone])?;
    for _ in 0..2 {
        a.sync(&doc, &url, t, 60)?;
        b.sync(&doc, &url, t, 60)?;
    }
    let ja = a.ok(&["show", &doc, "--json"])?;
    let jb = b.ok(&["show", &doc, "--json"])?;
    assert_eq!(ja, jb, "both devices print the same bytes");
    let v: serde_json::Value = serde_json::from_str(&ja)?;
    assert!(!ja.contains(&gone), "delete wins over a concurrent edit");
    let text = ja.matches(&format!("\"id\":\"{z}\"")).count();
    assert_eq!(text, 1, "the twice-moved block appears exactly once: {v}");
    assert!(ja.contains("Please Pack bags tonight"), "{ja}");
    Ok(())
}

#[test]
fn relay_killed_mid_sync_then_restarted_loses_nothing() -> anyhow::Result<()> {
    let script = relay_script();
    let mut w = world("kill-relay", &script)?;
    let (url, t) = (w.relay.url(), w.token.clone());
    let doc = w.a.ok(&["new", "--title", "crash"])?;
    let blk = w.a.ok(&["add", &doc, "--kind", "paragraph"])?;
    w.a.sync(&doc, &url, &t, 60)?;
    for _ in 0..200 {
        w.a.ok(&["edit", &doc, &blk, "--insert", "0", "z"])?;
    }
    let mut sync = w.a.spawn_sync(&doc, &url, &t, 120)?;
    std::thread::sleep(Duration::from_millis(150));
    w.relay.kill9();
    std::thread::sleep(Duration::from_secs(1));
    w.relay.restart()?;
    assert!(sync.wait()?.success(), "the sync reconnected and finished");
    w.b.sync(&doc, &url, &t, 60)?;
    assert_eq!(
        w.a.ok(&["show", &doc, "--json"])?,
        w.b.ok(&["show", &doc, "--json"])?
    );
    Ok(())
}

#[test]
fn unreachable_relay_then_backoff_reconnect_brings_offline_edits() -> anyhow::Result<()> {
    let script = relay_script();
    let mut w = world("unreachable", &script)?;
    let (url, t) = (w.relay.url(), w.token.clone());
    let doc = w.a.ok(&["new"])?;
    w.a.sync(&doc, &url, &t, 60)?;
    w.relay.kill9();
    let blk =
        w.a.ok(&["add", &doc, "--kind", "paragraph", "--text", "offline"])?;
    // Unreachable: sync fails with an actionable message, edits keep working.
    let out = w.a.run_sync(&doc, &url, &t, 2);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
    w.a.ok(&["edit", &doc, &blk, "--insert", "0", "still "])?;
    let mut sync = w.a.spawn_sync(&doc, &url, &t, 240)?;
    std::thread::sleep(Duration::from_secs(3));
    w.relay.restart()?;
    assert!(sync.wait()?.success());
    w.b.sync(&doc, &url, &t, 60)?;
    assert!(w.b.ok(&["show", &doc, "--json"])?.contains("still offline"));
    Ok(())
}

#[test]
fn a_10k_edit_document_syncs_to_a_fresh_device() -> anyhow::Result<()> {
    let script = relay_script();
    let w = world("10k", &script)?;
    let (url, t) = (w.relay.url(), w.token.clone());
    let data = w.a.data.clone();
    // 10k separately committed edits, through the library (10k processes would take minutes).
    let doc = ten_k_edits(&data, 10_000)?;
    w.a.sync(&doc, &url, &t, 120)?;
    w.b.sync(&doc, &url, &t, 120)?;
    assert_eq!(
        w.a.ok(&["show", &doc, "--json"])?,
        w.b.ok(&["show", &doc, "--json"])?
    );
    Ok(())
}

/// A page with `n` separately committed, durable edits, made through the library API
/// (`n` CLI processes would take minutes).
fn ten_k_edits(data: &Path, n: usize) -> anyhow::Result<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Each edit is still its own committed transaction; `Normal` skips the fsync per
        // commit, which on a busy CI disk costs far more than the edit itself.
        let client = client_native::Client::open_with(data, client_native::Durability::Normal)?;
        let doc = client.create("big").await?;
        let blk = doc
            .add_block(
                client_native::BlockKind::Paragraph,
                String::new(),
                client_native::Target::End { parent: None },
            )
            .await?;
        for i in 0..n {
            doc.insert_text(blk.clone(), i, "e".into()).await?;
        }
        anyhow::Ok(doc.url())
    })
}

#[test]
fn client_killed_mid_burst_keeps_returned_edits_and_syncs() -> anyhow::Result<()> {
    let script = relay_script();
    let w = world("kill-client", &script)?;
    let (url, t) = (w.relay.url(), w.token.clone());
    let doc = w.a.ok(&["new"])?;
    let blk = w.a.ok(&["add", &doc, "--kind", "paragraph"])?;
    let mut returned = 0;
    for i in 0..60u64 {
        let mut child = w.a.spawn(&["edit", &doc, &blk, "--insert", "0", "k"])?;
        if i % 5 == 4 {
            std::thread::sleep(Duration::from_millis(i % 9));
            let _ = child.kill();
            let _ = child.wait();
        } else {
            assert!(child.wait()?.success());
            returned += 1;
        }
    }
    w.a.sync(&doc, &url, &t, 60)?;
    w.b.sync(&doc, &url, &t, 60)?;
    let json = w.b.ok(&["show", &doc, "--json"])?;
    let v: serde_json::Value = serde_json::from_str(&json)?;
    let len = v["blocks"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .count();
    assert!(
        len >= returned,
        "{len} chars synced, {returned} edits returned"
    );
    assert_eq!(json, w.a.ok(&["show", &doc, "--json"])?);
    Ok(())
}

#[test]
fn relay_refusals_reach_the_cli_as_actionable_errors() -> anyhow::Result<()> {
    let script = relay_script();
    let dir = tempfile_dir::Dir::new("refusals");
    let bin = tessera_bin()?;
    // A plan of one document, so the second one is over quota.
    let plans = r#"PLANS={"free":{"max_docs":1,"max_stored_bytes":1048576,"max_change_bytes_per_window":1048576,"window_secs":60}}"#;
    let relay = Relay::start_with_vars(&script, &dir.0.join("relay"), &[plans])?;
    let url = relay.url();
    let secret = jwt_secret()?;
    let write = token(&bin, &secret)?;
    let device = Device {
        bin: bin.clone(),
        data: dir.0.join("a"),
    };
    let first = device.ok(&["new"])?;
    device.sync(&first, &url, &write, 60)?;
    let sync = |doc: &str, token: &str| {
        let started = std::time::Instant::now();
        let out = device.run_sync(doc, &url, token, 6);
        assert!(!out.status.success(), "sync of {doc} must fail");
        (
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    };

    // A token signed with another secret: refused at the upgrade, reported at once.
    let forged = token(&bin, "not-the-relay-secret")?;
    let (err, took) = sync(&first, &forged);
    assert!(
        err.contains("auth_failed") && err.contains("new token"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(5),
        "no retrying a bad token: {took:?}"
    );

    // Over the plan's document count: the client pauses and retries, and says why.
    let second = device.ok(&["new"])?;
    let (err, _) = sync(&second, &write);
    assert!(err.contains("quota_exceeded"), "{err}");

    // A deleted document stops syncing for good.
    let admin = token_with(&bin, &secret, "admin")?;
    let status = relay.delete_doc(&first, &admin).unwrap_or_default();
    assert!(status.contains("200"), "delete: {status}");
    let (err, took) = sync(&first, &write);
    assert!(err.contains("doc_deleted"), "{err}");
    assert!(
        took < Duration::from_secs(5),
        "no retrying a deleted document: {took:?}"
    );
    // Local data is untouched by the refusals.
    assert!(
        device
            .ok(&["show", &first, "--json"])?
            .contains("\"blocks\"")
    );
    drop(relay);
    Ok(())
}
