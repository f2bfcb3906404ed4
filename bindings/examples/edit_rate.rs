//! The Rust side of `make bench-bindings`: the edits `bench/edit_rate.py` makes through Python,
//! made through client-native directly, timed the same way. Prints three durations in seconds:
//! `EDITS` durable one-character edits, `CALLS` status reads, `CALLS / 10` `to_json` calls.
//!
//!     cargo run --release -p tessera-bindings --example edit_rate -- DATA_DIR EDITS CALLS

use std::path::PathBuf;
use std::time::Instant;

use client_native::{BlockKind, Client, PageEdit, Target};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: edit_rate DATA_DIR EDITS CALLS";
    let data = PathBuf::from(args.next().expect(usage));
    let edits: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);

    let client = Client::open(&data)?;
    let page = client.create("bench").await?;
    let block = page
        .add_block(
            BlockKind::Paragraph,
            String::new(),
            Target::End { parent: None },
        )
        .await?;
    let start = Instant::now();
    for pos in 0..edits {
        page.apply(PageEdit::InsertText {
            block: block.clone(),
            pos,
            text: "x".to_owned(),
        })
        .await?;
    }
    let edit_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(page.current_status());
    }
    let status_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..calls / 10 {
        std::hint::black_box(page.to_json().await?);
    }
    let json_s = start.elapsed().as_secs_f64();
    assert_eq!(page.view().await?.blocks[0].text.chars().count(), edits);
    println!("{edit_s} {status_s} {json_s}");
    Ok(())
}
