//! The native counterpart of the browser bench's edit→visible figure (client-wasm/bench): two
//! `client-native` devices with their own SQLite stores (`Durability::Full`, fsync per edit,
//! as the browser devices' IndexedDB uses strict durability) sync one page through the relay
//! the bench started. Device A replaces one block's text with a numbered marker; each sample is
//! the time from that edit's call to B's `RemoteChange` that shows it.
//!
//! Usage: `wasm-bench-native RELAY TOKEN EDITS`; prints `p50_ms p99_ms` on one line.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use client_native::{BlockKind, Client, DocEvent, Durability, SyncTarget, Target};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, relay, token, edits] = args.as_slice() else {
        bail!("usage: wasm-bench-native RELAY TOKEN EDITS");
    };
    let edits: usize = edits.parse().context("EDITS")?;
    let dir =
        std::env::temp_dir().join(format!("tessera-wasm-bench-native-{}", std::process::id()));
    let result = run(&dir, relay, token, edits).await;
    let _ = std::fs::remove_dir_all(&dir);
    let mut samples = result?;
    samples.sort();
    let at = |p: usize| samples[(p * samples.len() / 100).min(samples.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{:.2} {:.2}", ms(at(50)), ms(at(99)));
    Ok(())
}

async fn run(
    dir: &std::path::Path,
    relay: &str,
    token: &str,
    edits: usize,
) -> anyhow::Result<Vec<Duration>> {
    let a = Client::open_with(&dir.join("a"), Durability::Full)?;
    let b = Client::open_with(&dir.join("b"), Durability::Full)?;
    let target = SyncTarget::new(relay, token);
    let doc_a = a.create("bench").await?;
    let block = doc_a
        .add_block(
            BlockKind::Paragraph,
            String::new(),
            Target::End { parent: None },
        )
        .await?;
    doc_a.go_online(target.clone()).await?;
    doc_a.sync_until_in_sync(Duration::from_secs(30)).await?;
    let doc_b = b.find(&doc_a.url()).await?;
    doc_b.go_online(target).await?;
    doc_b.sync_until_in_sync(Duration::from_secs(30)).await?;

    let mut seen = doc_b.changes();
    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        while seen.try_recv().is_ok() {}
        let marker = format!("<{i}>");
        let start = Instant::now();
        doc_a.set_text(block.clone(), marker.clone()).await?;
        let visible = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match seen.recv().await {
                    Ok(DocEvent::RemoteChange) => {}
                    Ok(_) => continue,
                    Err(e) => bail!("B's events ended: {e}"),
                }
                let at = start.elapsed();
                if doc_b.to_json().await?.contains(&marker) {
                    return Ok(at);
                }
            }
        })
        .await
        .with_context(|| format!("edit {i} never reached B"))??;
        samples.push(visible);
    }
    doc_a.go_offline().await?;
    doc_b.go_offline().await?;
    Ok(samples)
}
