//! The library as an FFI host drives it, against the real relay in workerd: plain callbacks
//! (no tokio types) see another device's changes arrive, status snapshots follow the session,
//! and a cancelled subscription hears nothing more.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_e2e::{Device, Relay, jwt_secret, relay_script, tessera_bin, token};
use client_native::{Client, ClientStatus, DocEvent, SyncTarget};

#[test]
fn callbacks_see_remote_changes_through_the_relay() -> anyhow::Result<()> {
    let script = relay_script();
    let dir = std::env::temp_dir().join(format!("tessera-e2e-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let relay = Relay::start(&script, &dir.join("relay"))?;
    let url = relay.url();
    let bin = tessera_bin()?;
    let t = token(&bin, &jwt_secret()?)?;
    let a = Device {
        bin,
        data: dir.join("a"),
    };
    let doc = a.ok(&["new", "--title", "callbacks"])?;
    a.sync(&doc, &url, &t, 60)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let events: Arc<Mutex<Vec<DocEvent>>> = Arc::default();
    let statuses: Arc<Mutex<Vec<ClientStatus>>> = Arc::default();
    rt.block_on(async {
        let client = Client::open(&dir.join("b"))?;
        let b = client.find(&doc).await?;
        let on_event = b.subscribe(Box::new({
            let events = events.clone();
            move |e| events.lock().unwrap().push(e)
        }));
        let _on_status = b.subscribe_status(Box::new({
            let statuses = statuses.clone();
            move |s| statuses.lock().unwrap().push(s)
        }));
        b.go_online(SyncTarget::new(url.clone(), t.clone())).await?;
        b.sync_until_in_sync(Duration::from_secs(60)).await?;
        wait_for("a connected status", || {
            statuses
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.sync.is_connected())
        })
        .await?;

        // Device A edits and syncs (a separate process); B's callback hears it arrive.
        let blk = a.ok(&["add", &doc, "--kind", "paragraph", "--text", "from A"])?;
        a.sync(&doc, &url, &t, 60)?;
        wait_for("RemoteChange", || {
            events.lock().unwrap().contains(&DocEvent::RemoteChange)
        })
        .await?;
        let view = b.view().await?;
        anyhow::ensure!(view.blocks.iter().any(|x| x.text == "from A"), "{view:?}");

        on_event.cancel();
        let heard = events.lock().unwrap().len();
        a.ok(&["edit", &doc, &blk, "--insert", "0", "again "])?;
        a.sync(&doc, &url, &t, 60)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !b
            .view()
            .await?
            .blocks
            .iter()
            .any(|x| x.text == "again from A")
        {
            anyhow::ensure!(Instant::now() < deadline, "B never got the second edit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::ensure!(
            events.lock().unwrap().len() == heard,
            "a cancelled subscription was called"
        );
        b.go_offline().await?;
        anyhow::Ok(())
    })?;
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn wait_for(what: &str, cond: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The relay refuses the token; the core asks the application's token provider once, the
/// session reconnects with its answer and syncs. A provider that answers with another bad
/// token is not asked again: the document stops with the typed refusal.
#[test]
fn the_token_provider_is_asked_when_the_relay_refuses_the_token() -> anyhow::Result<()> {
    let script = relay_script();
    let dir = std::env::temp_dir().join(format!("tessera-e2e-token-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let relay = Relay::start(&script, &dir.join("relay"))?;
    let url = relay.url();
    let bin = tessera_bin()?;
    let good = token(&bin, &jwt_secret()?)?;
    let bad = token(&bin, "not-the-relay-secret-but-long-enough-to-sign")?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = Client::open(&dir.join("a"))?;
        let doc = client.create("tokens").await?;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let provider: client_native::TokenProvider = Arc::new({
            let asked = asked.clone();
            let good = good.clone();
            move |code| {
                asked.lock().unwrap().push(code);
                Some(good.clone())
            }
        });
        let target = SyncTarget::new(url.clone(), bad.clone()).with_token_provider(provider);
        doc.go_online(target).await?;
        doc.sync_until_in_sync(Duration::from_secs(60)).await?;
        anyhow::ensure!(
            *asked.lock().unwrap() == vec![client_native::ErrorCode::AuthFailed],
            "the provider was asked {:?}",
            asked.lock().unwrap()
        );
        doc.go_offline().await?;

        // A provider that keeps handing out a refused token: asked once, then a typed stop.
        let other = client.create("still refused").await?;
        let asked = Arc::new(Mutex::new(0));
        let provider: client_native::TokenProvider = Arc::new({
            let asked = asked.clone();
            let bad = bad.clone();
            move |_| {
                *asked.lock().unwrap() += 1;
                Some(bad.clone())
            }
        });
        other
            .go_online(SyncTarget::new(url.clone(), bad.clone()).with_token_provider(provider))
            .await?;
        let err = other
            .sync_until_in_sync(Duration::from_secs(60))
            .await
            .expect_err("a refused token cannot sync");
        anyhow::ensure!(
            matches!(err, client_native::Error::NeedsToken { .. }),
            "{err}"
        );
        // Let a would-be loop show itself.
        tokio::time::sleep(Duration::from_secs(2)).await;
        anyhow::ensure!(
            *asked.lock().unwrap() == 1,
            "asked {}",
            asked.lock().unwrap()
        );
        anyhow::ensure!(
            other.current_status().sync.is_final(),
            "{:?}",
            other.current_status()
        );
        anyhow::Ok(())
    })?;
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
