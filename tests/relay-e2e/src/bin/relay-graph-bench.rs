//! `relay-graph-bench`: issue 13's P3 and P5 measured in workerd, on the automerge-paper
//! history, next to their baselines from the same run (`Automerge::load` of the document's
//! compressed save, natively, and that save's size).
//!
//! - P3: cold start of the room after kill -9 of workerd: the time from opening a socket to the
//!   relay's `peer` answer (the room is built from its stored rows and index before it answers)
//!   and the room's wasm memory right after, three times;
//! - P5: first sync of a fresh device through the cold room: bytes down and time.
//!
//! Run by `make bench-relay` after the native table (needs the relay built: `make relay-build`).

use std::time::{Duration, Instant};

use automerge::AutoCommit;
use relay_e2e::RawPeer;
use relay_e2e::paper::{self, History};

const MIB: f64 = 1024.0 * 1024.0;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let history = History::paper();
    eprintln!(
        "history: {}, {} changes; uploading it to the relay in workerd ...",
        history.source,
        history.changes.len()
    );
    let t = Instant::now();
    let loaded = AutoCommit::load(&history.save).expect("the save loads");
    let load_time = t.elapsed();
    drop(loaded);

    let (mut relay, doc, url) = paper::relay_with_doc("graph-bench");
    paper::upload(&url, doc, &history, |_| {}).await;
    let (upload_memory, _) = paper::wasm_memory(&relay, doc, "t1");

    let mut cold = Vec::new();
    for round in 1..=3 {
        eprintln!("P3: cold start {round} of 3 ...");
        relay.restart();
        let t = Instant::now();
        let peer = RawPeer::joined(&url, "cold-start").await;
        let took = t.elapsed();
        let (memory, _) = paper::wasm_memory(&relay, doc, "t1");
        drop(peer);
        cold.push((took, memory));
    }
    eprintln!("P5: a fresh device's first sync through a cold room ...");
    relay.restart();
    let fresh = paper::first_sync(&url, doc, &history).await;
    let (sync_memory, _) = paper::wasm_memory(&relay, doc, "t1");
    drop(relay);

    cold.sort();
    let (median, memory) = cold[1];
    println!();
    println!("| # | figure (in workerd) | graph room | baseline, same run | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| P3 | cold start after kill -9: socket to `peer` | median {:.0} ms (runs: {}); wasm memory {:.1} MiB | Automerge::load of the save, natively: {:.0} ms | <= 100 ms; <= 64 MiB |",
        ms(median),
        cold.iter()
            .map(|(d, _)| format!("{:.0} ms", ms(*d)))
            .collect::<Vec<_>>()
            .join(", "),
        memory as f64 / MIB,
        ms(load_time)
    );
    println!(
        "| P5 | first sync of a fresh device (cold room) | {:.1} MiB down in {} messages, {:.2} s (after a {:.0} ms handshake); wasm memory {:.1} MiB | compressed save {:.2} MiB; Automerge::load {:.2} s | <= 1.2x bytes; <= 1.5x time |",
        fresh.bytes_down as f64 / MIB,
        fresh.messages,
        fresh.sync.as_secs_f64(),
        ms(fresh.handshake),
        sync_memory as f64 / MIB,
        history.save.len() as f64 / MIB,
        load_time.as_secs_f64()
    );
    println!(
        "| - | the uploading room (context) | wasm memory {:.1} MiB after the upload | - | <= 64 MiB |",
        upload_memory as f64 / MIB
    );
    println!();
    println!(
        "history: {}, {} changes, {:.1} MiB of change bytes; loopback, the relay in `wrangler dev`.",
        history.source,
        history.changes.len(),
        history.bytes() as f64 / MIB
    );
}
