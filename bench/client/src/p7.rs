//! P7: local durable edit latency (one edit, saved, per call) and batched edits per second
//! (many edits in one call, one save), for both durability settings.

use std::path::Path;
use std::time::Instant;

use client_native::{Client, Durability, PageEdit};

use crate::Rows;
use crate::page;
use crate::report::{Latencies, Row, us};

const EDITS: usize = 2_000;
const BATCH: usize = 10_000;

pub(crate) async fn run(dir: &Path, durability: Durability) -> anyhow::Result<Rows> {
    let client = Client::open_with(dir, durability)?;
    let (doc, block) = page::with_empty_paragraph(&client, "bench").await?;
    let mut latencies = Vec::with_capacity(EDITS);
    for i in 0..EDITS {
        let start = Instant::now();
        doc.insert_text(block.clone(), i, "x".into()).await?;
        latencies.push(start.elapsed());
    }
    let l = Latencies::new("local", "Tessera", latencies);
    let b = block.clone();
    let start = Instant::now();
    let batch = (0..BATCH)
        .map(|i| PageEdit::InsertText {
            block: b.clone(),
            pos: i,
            text: "y".into(),
        })
        .collect();
    doc.apply_batch(batch).await?;
    let batched = BATCH as f64 / start.elapsed().as_secs_f64();
    let p50 = l.quantile(0.5);
    Ok(vec![
        Row::new(
            format!("P7 durable edit ({durability:?}) p50 (p99)"),
            format!("{} ({})", us(p50), us(l.quantile(0.99))),
        )
        .target("<= 100 us p50", p50.as_micros() <= 100),
        Row::new(
            format!("P7 batched edits ({durability:?})"),
            format!("{batched:.0} edits/s"),
        )
        .target(">= 10k edits/s", batched >= 10_000.0),
    ])
}
