//! Relay benchmark on the automerge-paper history (one change per edit), natively, with a
//! counting allocator (`bench/alloc-counter`, shared with `bench/automerge-versions`) around the same
//! `RelayRoom` code the Worker runs.
//!
//! Rows, each next to its baseline from the same run:
//! - P2: ingest of the whole history into an empty graph room, and of 1,000 new changes into
//!   the loaded 259,778-change room (time, peak heap above the loaded room), against today's
//!   room before the change graph (the document loaded, one incremental load per batch);
//! - P3: cold start of the graph room from its stored rows and index, against
//!   `Automerge::load` of the compressed save (what the room did before);
//! - P4: frame bytes, both ways, of a client holding the full document reconnecting with the
//!   sync state it persisted (`reconnect.rs`);
//! - P5: first sync of a new device through the room (bytes down, time), against the compressed
//!   save's size and `Automerge::load` of it.

mod reconnect;
mod storage;

use alloc_counter as alloc;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

use std::time::{Duration, Instant};

use automerge::{AutoCommit, Change, ReadDoc, transaction::Transactable};
use sync_core::io::ConnId;
use sync_core::protocol::DocumentId;
use sync_core::protocol::{Message, PeerId};
use sync_core::relay::{PeerAccess, PlanLimits, RelayRoom, RoomConfig, RoomInput, RoomOutput};

use storage::BenchStorage;

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
    let doc_changes: Vec<Change> = doc.get_changes(&[]);
    let doc_heads_after: Vec<automerge::ChangeHash> =
        doc_changes.iter().map(Change::hash).collect();
    let doc_id = DocumentId::from_random_bytes([7; 16]);
    drop(doc);
    println!(
        "history: {} changes, snapshot {:.1} MiB, built in {:.1} s",
        edits.len() + 1,
        snapshot.len() as f64 / MIB,
        build.as_secs_f64()
    );

    // P2, whole history: every change into an empty room, in upload-sized messages; the rows
    // it writes are what a cold start reads.
    let all: Vec<Vec<u8>> = doc_changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    let t = Instant::now();
    let (mut writer, _) = RelayRoom::new(RoomConfig::default(), doc_id);
    writer.handle(0, RoomInput::Loaded(Default::default()));
    let mut storage = BenchStorage::default();
    feed(&mut writer, &mut storage, &all, &doc_heads_after);
    let whole = t.elapsed();
    drop(writer);
    let stored = storage.stored();

    // P3: cold start from the rows and their index.
    let before = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), doc_id);
    room.handle(0, RoomInput::Loaded(stored.clone()));
    let cold = t.elapsed();
    let cold_peak = alloc::peak() - before;
    let cold_retained = alloc::current() - before;
    assert_eq!(room.change_count(), all.len());
    // Baseline: the room before the change graph loaded the document.
    let before_b = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let mut old_room = AutoCommit::load(&snapshot).expect("load");
    let load_time = t.elapsed();
    let load_peak = alloc::peak() - before_b;

    // P2, into the loaded room: 1,000 new changes from another peer, in one message.
    let batch_chunks: Vec<Vec<u8>> = new_changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    let last = vec![new_changes.last().expect("a batch").hash()];
    alloc::reset_peak();
    let before_ingest = alloc::current();
    let t = Instant::now();
    feed(
        &mut room,
        &mut storage,
        &batch_chunks,
        &[last[0]; 1].repeat(batch_chunks.len()),
    );
    let ingest = t.elapsed();
    let ingest_peak = alloc::peak() - before_ingest;
    assert_eq!(room.durable_heads(), last);
    // Baseline: today's room applies the persisted batch with one incremental load.
    alloc::reset_peak();
    let before_old = alloc::current();
    let t = Instant::now();
    old_room
        .load_incremental(&batch_bytes)
        .expect("batch loads");
    let old_ingest = t.elapsed();
    let old_ingest_peak = alloc::peak() - before_old;
    assert_eq!(
        old_room.length(&text),
        old_room.text(&text).expect("text").chars().count()
    );
    drop(old_room);
    drop(room);

    // P4: a client holding the document reconnects, first without persisted sync state, then
    // with the state that session persisted.
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), doc_id);
    room.handle(0, RoomInput::Loaded(stored.clone()));
    let first = reconnect::session(
        &mut room,
        &mut storage,
        ConnId(1),
        doc_id,
        &snapshot,
        Default::default(),
    );
    assert!(
        !first.saved_sync.is_empty(),
        "the client persisted no sync state"
    );
    let t = Instant::now();
    let again = reconnect::session(
        &mut room,
        &mut storage,
        ConnId(2),
        doc_id,
        &snapshot,
        first.saved_sync,
    );
    let reconnect_session = t.elapsed();

    // P5: a new device (nothing stored) syncs the whole document.
    let t = Instant::now();
    let fresh = reconnect::session(
        &mut room,
        &mut storage,
        ConnId(3),
        doc_id,
        &[],
        Default::default(),
    );
    let first_sync = t.elapsed();
    drop(room);

    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!();
    println!("| # | figure | graph room | baseline, same run | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| P2 | ingest of the whole history into an empty room | {:.0} changes/s ({} in {:.1} s) | - | >= 10,000 changes/s |",
        rate(all.len(), whole),
        all.len(),
        whole.as_secs_f64()
    );
    println!(
        "| P2 | ingest of {batch} changes into the loaded room | {:.0} changes/s ({:.1} ms), peak {:.1} MiB above the loaded room | today's room: {:.0} changes/s ({:.1} ms), peak {:.1} MiB | >= 10,000 changes/s; <= 32 MiB |",
        rate(batch, ingest),
        ingest.as_secs_f64() * 1000.0,
        ingest_peak as f64 / MIB,
        rate(batch, old_ingest),
        old_ingest.as_secs_f64() * 1000.0,
        old_ingest_peak as f64 / MIB,
    );
    println!(
        "| P3 | cold start (natively) | {:.0} ms, peak {:.1} MiB, retained {:.1} MiB | Automerge::load of the save: {:.0} ms, peak {:.1} MiB | <= 100 ms; <= 64 MiB (in workerd: see the graph e2e suite) |",
        cold.as_secs_f64() * 1000.0,
        cold_peak as f64 / MIB,
        cold_retained as f64 / MIB,
        load_time.as_secs_f64() * 1000.0,
        load_peak as f64 / MIB
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
        "| P4 | reconnect of an in-sync client | {} with persisted sync state, exchange {:.1} ms (the client's load of the document before it, not counted: {:.2} s) | {} without | <= 1 KB; <= 5 ms |",
        wire(again.wire),
        again.exchange.as_secs_f64() * 1000.0,
        reconnect_session
            .saturating_sub(again.exchange)
            .as_secs_f64(),
        wire(first.wire)
    );
    println!(
        "| P5 | first sync of a new device | {:.1} MiB down in {:.2} s | compressed save {:.1} MiB; Automerge::load {:.2} s | <= 1.2x bytes; <= 1.5x time |",
        fresh.wire.down.1 as f64 / MIB,
        first_sync.as_secs_f64(),
        snapshot.len() as f64 / MIB,
        load_time.as_secs_f64()
    );
}

/// Feeds `changes` to `room` as one peer's sync messages of at most ~900 KB (the heads after
/// change `i` are `heads[i]`), granting quota and carrying out every storage task in
/// `storage`.
fn feed(
    room: &mut RelayRoom,
    storage: &mut BenchStorage,
    changes: &[Vec<u8>],
    heads: &[automerge::ChangeHash],
) {
    let conn = ConnId(77);
    let access = PeerAccess {
        subject: "bench".into(),
        tenant: "bench".into(),
        can_write: true,
        expires_at_ms: u64::MAX,
        plan: PlanLimits {
            peer_messages_per_sec: u32::MAX,
            peer_bytes_per_sec: u64::MAX,
            tenant_messages_per_sec: u32::MAX,
            tenant_bytes_per_sec: u64::MAX,
            ..PlanLimits::default()
        },
    };
    let mut queue: std::collections::VecDeque<RoomInput> = std::collections::VecDeque::from([
        RoomInput::Connected { conn, access },
        RoomInput::Frame {
            conn,
            bytes: Message::Join {
                sender_id: PeerId::from("feeder"),
                supported_protocol_versions: vec!["1".into()],
                metadata: None,
            }
            .encode(),
        },
    ]);
    let mut at = 0;
    loop {
        while let Some(input) = queue.pop_front() {
            for out in room.handle(0, input) {
                match out {
                    RoomOutput::Storage { task, op } => queue.push_back(storage.run(task, op)),
                    RoomOutput::ReserveQuota { bytes, .. } => {
                        queue.push_back(RoomInput::Quota(Ok(bytes)));
                    }
                    RoomOutput::Close { reason, .. } => {
                        panic!("the room closed the feeder: {reason}")
                    }
                    _ => {}
                }
            }
        }
        if at == changes.len() {
            return;
        }
        let mut end = at;
        let mut size = 0;
        while end < changes.len() && size + changes[end].len() < 900_000 {
            size += changes[end].len();
            end += 1;
        }
        let data = automerge::sync::Message {
            heads: vec![heads[end - 1]],
            need: Vec::new(),
            have: Vec::new(),
            changes: automerge::sync::ChunkList::from(changes[at..end].to_vec()),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        }
        .encode();
        queue.push_back(RoomInput::Frame {
            conn,
            bytes: Message::Sync {
                document_id: room.doc_id(),
                sender_id: PeerId::from("feeder"),
                target_id: PeerId::from("tessera-relay"),
                data,
            }
            .encode(),
        });
        at = end;
    }
}
