//! What the room stores and gives back: snapshot refreshes, deletes, damaged snapshots and cold
//! starts.

use super::*;

#[test]
fn a_snapshot_refresh_keeps_every_row() {
    let config = RoomConfig {
        compact_after_log_rows: 1,
        compact_delay_ms: 10,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config, DOC);
    room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    let (task, _) = storage_tasks(&outs).pop().unwrap();
    room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    let outs = room.handle(NOW + 10, RoomInput::Timer);
    let (task, op) = storage_tasks(&outs).pop().expect("a snapshot");
    assert!(matches!(
        op,
        StorageOp::PutSnapshot {
            generation: 1,
            log_through: 1,
            ..
        }
    ));
    let outs = room.handle(
        NOW + 11,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    // The rows stay the source of truth: nothing is trimmed or deleted. (Idle after the
    // refresh, the room stores its ledger to give unused budget back.)
    let ops: Vec<StorageOp> = storage_tasks(&outs)
        .into_iter()
        .map(|(_, op)| op)
        .filter(|op| !matches!(op, StorageOp::PutLedger(_)))
        .collect();
    assert_eq!(ops, vec![]);
    assert!(outs.iter().any(|o| matches!(
        o,
        RoomOutput::Event(RoomEvent::Compacted { generation: 1, .. })
    )));
}

/// A stored room with `n` separate one-key changes, one log row each.
pub(super) fn stored_log(n: u64) -> StoredRoom {
    let mut doc = AutoCommit::new();
    let log = (1..=n)
        .map(|seq| {
            doc.put(ROOT, "k", seq).unwrap();
            doc.commit();
            let bytes = doc.save_incremental();
            StoredRow {
                seq,
                len: bytes.len() as u64,
                bytes: Some(bytes),
                index: None,
            }
        })
        .collect();
    StoredRoom {
        log,
        ..StoredRoom::default()
    }
}

pub(super) fn releases(outs: &[RoomOutput]) -> Vec<(u64, bool)> {
    outs.iter()
        .filter_map(|o| match o {
            RoomOutput::Event(RoomEvent::QuotaReleased { bytes, document }) => {
                Some((*bytes, *document))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_refreshed_snapshot_replaces_the_previous_one_and_frees_only_it() {
    let config = RoomConfig {
        compact_after_log_rows: 1,
        compact_delay_ms: 10,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config, DOC);
    let stored = stored_log(50);
    room.handle(NOW, RoomInput::Loaded(stored));
    let snapshot = |outs: &[RoomOutput]| match storage_tasks(outs).pop() {
        Some((
            task,
            StorageOp::PutSnapshot {
                bytes, generation, ..
            },
        )) => (task, generation, bytes.len() as u64),
        other => panic!("expected a snapshot, got {other:?}"),
    };
    let done = |task, outcome| RoomInput::StorageDone { task, outcome };
    // A failed snapshot changes nothing.
    let (task, _, _) = snapshot(&room.handle(NOW + 10, RoomInput::Timer));
    let outs = room.handle(NOW + 11, done(task, Err("r2 down".into())));
    assert_eq!(releases(&outs), vec![]);
    // The retry succeeds: a snapshot is added, never charged to the tenant (it is a cache).
    let at = NOW + RoomConfig::default().max_retry_ms;
    let (task, generation, _) = snapshot(&room.handle(at, RoomInput::Timer));
    assert_eq!(generation, 1);
    let outs = room.handle(at, done(task, Ok(())));
    assert_eq!(releases(&outs), vec![]);
    assert!(!room.document().expect("in memory").is_empty());
    // Once more rows arrive, the next refresh replaces it and deletes the first one.
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    for (task, op) in storage_tasks(&outs) {
        if matches!(op, StorageOp::AppendLog { .. }) {
            room.handle(at, done(task, Ok(())));
        }
    }
    let later = at + 60_000;
    let (task, generation, _) = snapshot(&room.handle(later, RoomInput::Timer));
    assert_eq!(generation, 2);
    let outs = room.handle(later, done(task, Ok(())));
    assert!(
        storage_tasks(&outs)
            .iter()
            .any(|(_, op)| *op == StorageOp::DeleteSnapshot { generation: 1 })
    );
}

#[test]
fn a_room_woken_with_a_log_compacts_it_at_once() {
    // A Durable Object that hibernated since its last write is rebuilt by its alarm: it loads,
    // then gets the timer. Waiting the idle delay again would postpone it on every wake-up.
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    room.handle(NOW, RoomInput::Loaded(stored_log(3)));
    let outs = room.handle(NOW, RoomInput::Timer);
    assert!(
        matches!(
            storage_tasks(&outs).pop(),
            Some((_, StorageOp::PutSnapshot { log_through: 3, .. }))
        ),
        "{outs:?}"
    );
    // An empty log has nothing to compact.
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    assert!(storage_tasks(&room.handle(NOW, RoomInput::Timer)).is_empty());
}

#[test]
fn deleting_gives_back_everything_stored_and_granted() {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let mut stored = stored_log(3);
    let snapshot = AutoCommit::new().save();
    let stored_bytes =
        (snapshot.len() + stored.log.iter().map(|r| r.len as usize).sum::<usize>()) as u64;
    stored.snapshot = Some(StoredSnapshot {
        generation: 1,
        log_through: 0,
        bytes: snapshot,
    });
    room.handle(NOW, RoomInput::Loaded(stored));
    join(&mut room, ConnId(1), true);
    // One more change, written from a fresh grant: the grant counts whole, used or not.
    let (_, outs) = push_change(&mut room, ConnId(1));
    let Some(granted) = outs.iter().find_map(|o| match o {
        RoomOutput::ReserveQuota { bytes, .. } => Some(*bytes),
        _ => None,
    }) else {
        panic!("no reservation: {outs:?}")
    };
    let outs = grant_quota(&mut room, &outs);
    for (task, _) in storage_tasks(&outs) {
        room.handle(
            NOW,
            RoomInput::StorageDone {
                task,
                outcome: Ok(()),
            },
        );
    }
    let outs = room.handle(NOW, RoomInput::Delete);
    assert_eq!(releases(&outs), vec![(stored_bytes + granted, true)]);
    // Only once.
    assert_eq!(releases(&room.handle(NOW, RoomInput::Delete)), vec![]);
}

#[test]
fn deleted_documents_refuse_everyone() {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    room.handle(NOW, RoomInput::Loaded(stored_log(1)));
    join(&mut room, ConnId(1), true);
    let outs = room.handle(NOW, RoomInput::Delete);
    assert!(
        storage_tasks(&outs)
            .iter()
            .any(|(_, op)| *op == StorageOp::PutTombstone)
    );
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::DocDeleted.close_code())
    );
    let outs = room.handle(
        NOW,
        RoomInput::Connected {
            conn: ConnId(2),
            access: access(true),
        },
    );
    assert_eq!(
        closed_with(&outs, ConnId(2)),
        Some(ErrorCode::DocDeleted.close_code())
    );
}

#[test]
fn a_damaged_snapshot_is_never_served_or_overwritten() {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let stored = StoredRoom {
        snapshot: Some(StoredSnapshot {
            generation: 3,
            log_through: 4,
            bytes: b"not automerge".to_vec(),
        }),
        ..StoredRoom::default()
    };
    let outs = room.handle(NOW, RoomInput::Loaded(stored));
    assert!(storage_tasks(&outs).is_empty());
    let outs = room.handle(
        NOW,
        RoomInput::Connected {
            conn: ConnId(1),
            access: access(true),
        },
    );
    assert_eq!(closed_with(&outs, ConnId(1)), Some(1011));
    assert!(!room.is_ready());
}

#[test]
fn a_cold_start_of_a_room_stored_before_the_graph_reads_its_trimmed_snapshot() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).unwrap();
    doc.commit();
    let snapshot = doc.save();
    let heads_at_snapshot = doc.get_heads();
    doc.put(ROOT, "b", 2).unwrap();
    doc.commit();
    let row = doc.save_after(&heads_at_snapshot);
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let stored = StoredRoom {
        snapshot: Some(StoredSnapshot {
            generation: 1,
            log_through: 7,
            bytes: snapshot,
        }),
        log: vec![StoredRow {
            seq: 8,
            len: row.len() as u64,
            bytes: Some(row),
            index: None,
        }],
        ..StoredRoom::default()
    };
    room.handle(NOW, RoomInput::Loaded(stored));
    assert!(room.is_ready());
    assert_eq!(room.heads(), doc.get_heads());
    // New rows continue after the highest sequence number ever used.
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    assert!(
        storage_tasks(&outs)
            .iter()
            .any(|(_, op)| matches!(op, StorageOp::AppendLog { seq: 9, .. }))
    );
}
