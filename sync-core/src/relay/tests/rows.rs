//! Cold starts and rows read back: a room loads the stored index without the change bytes,
//! and reads rows back from storage when a peer needs their changes.

use super::graph::{Client, STORED_ROWS, converge, joined_clients, settle};
use super::*;

/// Rows a room wrote, as storage would give them back.
fn rows_of(outs: &[RoomOutput]) -> Vec<StoredRow> {
    storage_tasks(outs)
        .into_iter()
        .filter_map(|(_, op)| match op {
            StorageOp::AppendLog {
                seq, bytes, index, ..
            } => Some(StoredRow {
                seq,
                len: bytes.len() as u64,
                bytes: Some(bytes),
                index: Some(index),
            }),
            _ => None,
        })
        .collect()
}

/// Every row a room writes for `doc`'s history (uploaded by one peer into a room that writes
/// rows of at most 2,000 bytes), as storage would give them back.
fn rows_written_for(doc: &AutoCommit) -> Vec<StoredRow> {
    let mut writer = room_with(RoomConfig {
        max_row_bytes: 2_000,
        ..RoomConfig::default()
    });
    let mut c = joined_clients(&mut writer, 1);
    c[0].doc = doc.clone();
    let mut rows = Vec::new();
    for _ in 0..20 {
        let Some(outs) = c[0].say(&mut writer) else {
            break;
        };
        let outs = settle(&mut writer, outs);
        rows.extend(rows_of(&outs));
        c[0].take(&outs);
    }
    rows
}

#[test]
fn a_failed_read_of_evicted_rows_is_retried_and_nothing_is_sent_without_them() {
    let mut author = Client::new(1);
    for i in 0..40 {
        author.edit(&format!("k{}", i % 4), i);
    }
    let mut rows = rows_written_for(&author.doc);
    let stored: Vec<(u64, Vec<u8>)> = rows
        .iter()
        .map(|r| (r.seq, r.bytes.clone().expect("written")))
        .collect();
    for row in &mut rows {
        row.bytes = None;
    }
    let config = RoomConfig {
        max_row_bytes: 2_000,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config.clone(), DOC);
    room.handle(
        NOW,
        RoomInput::Loaded(StoredRoom {
            log: rows,
            ..StoredRoom::default()
        }),
    );
    let mut fresh = joined_clients(&mut room, 1);
    let outs = fresh[0].say(&mut room).expect("a first message");
    let reads: Vec<TaskId> = storage_tasks(&outs)
        .into_iter()
        .filter(|(_, op)| matches!(op, StorageOp::ReadRows { .. }))
        .map(|(task, _)| task)
        .collect();
    assert_eq!(reads.len(), 1, "one read for the rows the answer needs");
    assert!(room.has_held_changes(), "the answer waits for its rows");
    let outs = room.handle(
        NOW,
        RoomInput::RowsRead {
            task: Some(reads[0]),
            outcome: Err("injected".into()),
        },
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, RoomOutput::Event(RoomEvent::StorageFailed { .. })))
    );
    assert!(
        !fresh[0].take(&outs),
        "nothing is sent without the rows: {outs:?}"
    );
    // The read is asked for again on the retry timer, and then the answer goes out.
    let later = NOW + config.max_retry_ms;
    let outs = room.handle(later, RoomInput::Timer);
    let again: Vec<(TaskId, StorageOp)> = storage_tasks(&outs)
        .into_iter()
        .filter(|(_, op)| matches!(op, StorageOp::ReadRows { .. }))
        .collect();
    assert_eq!(again.len(), 1, "read again: {outs:?}");
    let StorageOp::ReadRows { seqs } = &again[0].1 else {
        unreachable!()
    };
    let rows = stored
        .iter()
        .filter(|(seq, _)| seqs.contains(seq))
        .cloned()
        .collect();
    let outs = room.handle(
        later,
        RoomInput::RowsRead {
            task: Some(again[0].0),
            outcome: Ok(rows),
        },
    );
    assert!(fresh[0].take(&outs), "the waiting answer went out");
    assert!(!room.has_held_changes());
}

#[test]
fn a_cold_start_reads_the_index_and_serves_a_new_device() {
    let mut room = room_with(RoomConfig {
        max_row_bytes: 2_000,
        ..RoomConfig::default()
    });
    let mut clients = joined_clients(&mut room, 1);
    for i in 0..40 {
        clients[0].edit(&format!("k{}", i % 4), i);
    }
    let outs = converge(&mut room, &mut clients);
    let _ = outs;
    let mut rows = rows_written_for(&clients[0].doc);
    assert!(rows.len() > 1, "several rows: {}", rows.len());
    // As the Durable Object loads them: the index without the change bytes, which are read
    // back when the new device needs them.
    STORED_ROWS.set(
        rows.iter()
            .map(|r| (r.seq, r.bytes.clone().expect("written")))
            .collect(),
    );
    for row in &mut rows {
        row.bytes = None;
    }
    let (mut cold, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let outs = cold.handle(
        NOW,
        RoomInput::Loaded(StoredRoom {
            log: rows,
            ..StoredRoom::default()
        }),
    );
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, RoomOutput::Event(RoomEvent::StorageFailed { .. }))),
        "every row adopted through its index: {outs:?}"
    );
    assert_eq!(cold.durable_heads(), clients[0].doc.get_heads());
    assert_eq!(cold.resident_row_bytes(), 0);
    let mut fresh = joined_clients(&mut cold, 1);
    converge(&mut cold, &mut fresh);
    assert_eq!(fresh[0].doc.get_heads(), clients[0].doc.get_heads());
    assert!(cold.resident_row_bytes() > 0, "rows were read back");
}
