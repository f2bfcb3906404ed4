//! `tessera-bench`: client benchmarks on this machine.
//!
//! P7: local durable edit latency (one edit, saved, per call) and batched edits per second
//! (many edits, one save), for both durability settings. P1/P4/P5 need the relay and are not
//! measured here yet.

use std::time::{Duration, Instant};

use client_native::{BlockKind, Client, Durability, Target};

const EDITS: usize = 2_000;
const BATCH: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for durability in [Durability::Full, Durability::Normal] {
            p7(durability).await?;
        }
        anyhow::Ok(())
    })
}

async fn p7(durability: Durability) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let client = Client::open_with(&dir, durability)?;
    let doc = client.create("bench")?;
    let block = doc
        .add_block(
            BlockKind::Paragraph,
            String::new(),
            Target::End { parent: None },
        )
        .await?;
    let mut latencies = Vec::with_capacity(EDITS);
    for i in 0..EDITS {
        let start = Instant::now();
        doc.insert_text(block.clone(), i, "x".into()).await?;
        latencies.push(start.elapsed());
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    // Batched: many edits in one call, saved as one append.
    let b = block.clone();
    let start = Instant::now();
    doc.edit(move |page| {
        for i in 0..BATCH {
            page.insert_text(&b, i, "y")?;
        }
        Ok(())
    })
    .await?;
    let batched = BATCH as f64 / start.elapsed().as_secs_f64();
    println!(
        "P7 {durability:?}: durable edit p50 {} p99 {} (target p50 <= 100us); batched {:.0} edits/s (target >= 10k)",
        us(p(0.5)),
        us(p(0.99)),
        batched
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn us(d: Duration) -> String {
    format!("{:.0}us", d.as_secs_f64() * 1e6)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tessera-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
