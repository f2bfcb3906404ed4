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
