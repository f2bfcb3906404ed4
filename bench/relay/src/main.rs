//! Relay benchmark on the automerge-paper history (one change per edit), natively, with a
//! counting allocator (`bench/alloc-counter`, shared with `bench/automerge-versions`) around the same
//! `RelayRoom` code the Worker runs.
//!
//! Rows: (b) cold start of a room loading the full-history snapshot, time and peak heap;
//! (a) ingest of a batch of changes the way the room applies a persisted batch (one incremental
//! load) vs a naive one-`apply_changes`-per-change baseline, in the same run;
//! (c) frame bytes, both ways, of a client holding the full document reconnecting to a room that
//! holds it too: with the sync state it persisted last time vs without (`reconnect.rs`).

mod reconnect;

use alloc_counter as alloc;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

use std::time::{Duration, Instant};

use automerge::{AutoCommit, Change, ReadDoc, transaction::Transactable};
use sync_core::io::ConnId;
use sync_core::protocol::DocumentId;
use sync_core::relay::{RelayRoom, RoomConfig, RoomInput, RoomLedger, StoredRoom, StoredSnapshot};

const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let mut args = std::env::args().skip(1);
    let trace = args
        .next()
        .unwrap_or_else(|| editing_trace::DEFAULT_PATH.to_string());
    let (edits, source) =
        editing_trace::load_or_stand_in(std::path::Path::new(&trace), editing_trace::PAPER_EDITS)
            .unwrap_or_else(|e| panic!("{e}"));
    println!("history: {source}");
    let batch = 1000usize;

    // The full history, one change per edit.
    let t = Instant::now();
    let mut doc = AutoCommit::new();
    let text = doc
        .put_object(automerge::ROOT, "text", automerge::ObjType::Text)
        .expect("text");
    doc.commit();
    for e in &edits {
        doc.splice_text(&text, e.pos, e.del as isize, &e.text)
            .expect("splice");
        doc.commit();
    }
    let snapshot = doc.save();
    let build = t.elapsed();
    // A batch of new changes made by another peer on top of the history.
    let mut fork = doc.fork();
    let base_heads = doc.get_heads();
    for i in 0..batch {
        fork.splice_text(&text, i % 1000, 0, "x").expect("splice");
        fork.commit();
    }
    let new_changes: Vec<Change> = fork.get_changes(&base_heads);
    let batch_bytes: Vec<u8> = new_changes
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    drop(fork);
    drop(doc);
    println!(
        "history: {} changes, snapshot {:.1} MiB, built in {:.1} s",
        edits.len() + 1,
        snapshot.len() as f64 / MIB,
        build.as_secs_f64()
    );

    // (b) cold start: a room loads the snapshot.
    let before = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let doc_id = DocumentId::from_random_bytes([7; 16]);
    let mut room = room_on(doc_id, &snapshot);
    let cold = t.elapsed();
    let cold_peak = alloc::peak() - before;
    let cold_retained = alloc::current() - before;

    // (a) ingest, the room's way: one incremental load of the persisted batch.
    alloc::reset_peak();
    let before_ingest = alloc::current();
    let t = Instant::now();
    room.doc_mut()
        .load_incremental(&batch_bytes)
        .expect("batch loads");
    let batched = t.elapsed();
    let ingest_peak = alloc::peak() - before_ingest;
    assert_eq!(
        room.doc_mut().length(&text),
        room.doc_mut().text(&text).expect("text").chars().count()
    );
    drop(room);

    // (c) reconnect: a fresh room on the snapshot; the client first syncs without any persisted
    // sync state (the naive baseline, as a client that keeps none would on every reconnect),
    // then reconnects with the state that session persisted.
    let mut room = room_on(doc_id, &snapshot);
    let first = reconnect::session(&mut room, ConnId(1), doc_id, &snapshot, Default::default());
    assert!(
        !first.saved_sync.is_empty(),
        "the client persisted no sync state"
    );
    let again = reconnect::session(&mut room, ConnId(2), doc_id, &snapshot, first.saved_sync);
    drop(room);

    // The naive baseline: one apply per change into the materialized document.
    let mut naive = AutoCommit::load(&snapshot).expect("load");
    let t = Instant::now();
    let mut applied = 0usize;
    for c in &new_changes {
        naive.apply_changes([c.clone()]).expect("apply");
        applied += 1;
        if t.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let naive_time = t.elapsed();

    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!();
    println!("| metric | relay room | naive baseline | target |");
    println!("|---|---|---|---|");
    println!(
        "| (a) ingest, changes/s | {:.0} ({batch} in one batch, {:.0} ms) | {:.1} ({applied} applies in {:.1} s) | >= 1000 |",
        rate(batch, batched),
        batched.as_secs_f64() * 1000.0,
        rate(applied, naive_time),
        naive_time.as_secs_f64()
    );
    println!(
        "| (a) peak heap during ingest | {:.1} MiB above the loaded room | - | <= 64 MiB |",
        ingest_peak as f64 / MIB
    );
    println!(
        "| (b) cold start | {:.0} ms | - | <= 250 ms |",
        cold.as_secs_f64() * 1000.0
    );
    println!(
        "| (b) peak / retained heap | {:.1} / {:.1} MiB | - | <= 64 MiB |",
        cold_peak as f64 / MIB,
        cold_retained as f64 / MIB
    );
    let wire = |w: reconnect::Wire| {
        format!(
            "{} B in {} frames (up {} B, down {} B)",
            w.bytes(),
            w.frames(),
            w.up.1,
            w.down.1
        )
    };
    println!(
        "| (c) reconnect frame bytes, both ways | {} with persisted sync state | {} without | <= 1 KB |",
        wire(again.wire),
        wire(first.wire)
    );
}

/// A room that has loaded `snapshot` as its stored state, the way a cold start does.
fn room_on(doc_id: DocumentId, snapshot: &[u8]) -> RelayRoom {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), doc_id);
    room.handle(
        0,
        RoomInput::Loaded(StoredRoom {
            snapshot: Some(StoredSnapshot {
                generation: 1,
                log_through: 0,
                bytes: snapshot.to_vec(),
            }),
            log: Vec::new(),
            deleted: false,
            ledger: RoomLedger::default(),
        }),
    );
    room
}
