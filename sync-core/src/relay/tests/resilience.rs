//! Failed IO steps and the quota ledger: every failure reported back is retried or closes
//! only the connection concerned, and unused budget survives (and returns from) restarts.

use super::storage::{releases, stored_log};
use super::*;

fn done(task: TaskId, ok: bool) -> RoomInput {
    RoomInput::StorageDone {
        task,
        outcome: if ok { Ok(()) } else { Err("injected".into()) },
    }
}

fn timer_at(outs: &[RoomOutput]) -> Option<u64> {
    outs.iter().find_map(|o| match o {
        RoomOutput::SetTimer { at_ms } => Some(*at_ms),
        _ => None,
    })
}

fn reservation(outs: &[RoomOutput]) -> Option<u64> {
    outs.iter().find_map(|o| match o {
        RoomOutput::ReserveQuota { bytes, .. } => Some(*bytes),
        _ => None,
    })
}

fn acked(outs: &[RoomOutput], conn: ConnId) -> bool {
    sent(outs, conn)
        .iter()
        .any(|m| matches!(m, Message::Ack { .. }))
}

fn append(outs: &[RoomOutput]) -> Option<(TaskId, u64, RoomLedger)> {
    storage_tasks(outs)
        .into_iter()
        .find_map(|(task, op)| match op {
            StorageOp::AppendLog { seq, ledger, .. } => Some((task, seq, ledger)),
            _ => None,
        })
}

#[test]
fn a_failed_quota_call_is_asked_again_after_a_back_off() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let want = reservation(&outs).expect("a reservation");
    let outs = room.handle(
        NOW,
        RoomInput::QuotaFailed {
            error: "quota object down".into(),
        },
    );
    assert!(storage_tasks(&outs).is_empty(), "nothing written unpaid");
    assert!(!acked(&outs, ConnId(1)));
    let at = timer_at(&outs).expect("a retry timer");
    assert!(at > NOW);
    // Before the back-off nothing is asked; at it, the same reservation again.
    let outs = room.handle(at, RoomInput::Timer);
    assert_eq!(reservation(&outs), Some(want));
    let outs = room.handle(at, RoomInput::Quota(Ok(want)));
    let (task, seq, _) = append(&outs).expect("the row, now paid for");
    assert_eq!(seq, 1);
    assert!(acked(&room.handle(at, done(task, true)), ConnId(1)));
}

#[test]
fn a_failed_attachment_or_send_closes_only_that_peer() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    join(&mut room, ConnId(2), true);
    join(&mut room, ConnId(3), true);
    let outs = room.handle(
        NOW,
        RoomInput::AttachFailed {
            conn: ConnId(2),
            error: "over 16 KiB".into(),
        },
    );
    assert_eq!(closed_with(&outs, ConnId(2)), Some(1011));
    let outs = room.handle(
        NOW,
        RoomInput::SendFailed {
            conn: ConnId(3),
            error: "socket gone".into(),
        },
    );
    assert_eq!(closed_with(&outs, ConnId(3)), Some(1011));
    assert_eq!(room.connections().collect::<Vec<_>>(), vec![ConnId(1)]);
    // The others keep writing and being acknowledged.
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = grant_quota(&mut room, &outs);
    let (task, ..) = append(&outs).expect("a row");
    assert!(acked(&room.handle(NOW, done(task, true)), ConnId(1)));
}

#[test]
fn a_failed_timer_is_asked_again_after_a_back_off_not_in_a_loop() {
    let mut room = room_with(quiet_metrics());
    join(&mut room, ConnId(1), true);
    let outs = room.handle(
        NOW,
        RoomInput::TimerFailed {
            error: "alarm refused".into(),
        },
    );
    assert_eq!(timer_at(&outs), None, "no immediate re-ask");
    let later = NOW + RoomConfig::default().first_retry_ms;
    let outs = room.handle(later, RoomInput::Disconnected { conn: ConnId(9) });
    assert_eq!(
        timer_at(&outs),
        Some(NOW + 60_000),
        "the token expiry again"
    );
}

#[test]
fn a_failed_load_is_retried_and_keeps_its_peers() {
    let (mut room, outs) = RelayRoom::new(RoomConfig::default(), DOC);
    let (task, op) = storage_tasks(&outs).pop().expect("a load");
    assert_eq!(op, StorageOp::Load);
    join(&mut room, ConnId(1), true);
    let outs = room.handle(NOW, done(task, false));
    assert!(room.is_loading());
    assert!(closed_with(&outs, ConnId(1)).is_none());
    let at = timer_at(&outs).expect("a retry timer");
    let outs = room.handle(at, RoomInput::Timer);
    assert_eq!(
        storage_tasks(&outs).pop().map(|(_, op)| op),
        Some(StorageOp::Load)
    );
    room.handle(at, RoomInput::Loaded(StoredRoom::default()));
    assert!(room.is_ready());
    assert_eq!(room.connections().collect::<Vec<_>>(), vec![ConnId(1)]);
}

#[test]
fn every_row_carries_the_ledger_and_a_failed_row_gives_its_budget_back() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let granted = reservation(&outs).expect("a reservation");
    let outs = grant_quota(&mut room, &outs);
    let (task, _, ledger) = append(&outs).expect("a row");
    assert!(ledger.counted);
    assert!(ledger.budget < granted);
    let outs = room.handle(NOW, done(task, false));
    assert_eq!(room.ledger().budget, granted, "the failed row used nothing");
    let at = timer_at(&outs).expect("a retry");
    let (_, _, again) = append(&room.handle(at, RoomInput::Timer)).expect("the row again");
    assert_eq!(again, ledger, "the same budget, not charged twice");
}

#[test]
fn a_new_incarnation_gives_back_what_the_last_one_left_unused_once() {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let mut stored = stored_log(2);
    stored.ledger = RoomLedger {
        budget: 1000,
        unpaid: 7,
        counted: true,
    };
    let outs = room.handle(NOW, RoomInput::Loaded(stored.clone()));
    let (task, op) = storage_tasks(&outs).pop().expect("the ledger first");
    assert_eq!(
        op,
        StorageOp::PutLedger(RoomLedger {
            budget: 0,
            unpaid: 7,
            counted: true,
        })
    );
    assert_eq!(releases(&outs), vec![], "not before the ledger is stored");
    assert_eq!(
        releases(&room.handle(NOW, done(task, true))),
        vec![(1000, false)]
    );

    // A failed ledger write releases nothing and keeps the budget for the room's own use.
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    let outs = room.handle(NOW, RoomInput::Loaded(stored));
    let (task, _) = storage_tasks(&outs).pop().unwrap();
    assert_eq!(releases(&room.handle(NOW, done(task, false))), vec![]);
    assert_eq!(room.ledger().budget, 1000);
}

#[test]
fn an_idle_room_gives_its_budget_back_after_compacting() {
    let config = RoomConfig {
        compact_after_log_rows: 1,
        compact_delay_ms: 10,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config, DOC);
    room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = grant_quota(&mut room, &outs);
    let (task, _, ledger) = append(&outs).expect("a row");
    room.handle(NOW, done(task, true));
    let outs = room.handle(NOW + 10, RoomInput::Timer);
    let (task, _) = storage_tasks(&outs).pop().expect("a snapshot");
    let outs = room.handle(NOW + 10, done(task, true));
    let ledger_task = storage_tasks(&outs)
        .into_iter()
        .find_map(|(t, op)| matches!(op, StorageOp::PutLedger(l) if l.budget == 0).then_some(t))
        .expect("the ledger, budget gone");
    let mut given: u64 = releases(&outs).iter().map(|(b, _)| b).sum();
    given += releases(&room.handle(NOW + 10, done(ledger_task, true)))
        .iter()
        .map(|(b, _)| b)
        .sum::<u64>();
    assert!(
        given >= ledger.budget,
        "gave back {given} of {}",
        ledger.budget
    );
    assert_eq!(room.ledger().budget, 0);
}

#[test]
fn a_snapshot_written_while_the_delete_landed_is_deleted_too() {
    let config = RoomConfig {
        compact_after_log_rows: 1,
        compact_delay_ms: 10,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config, DOC);
    room.handle(NOW, RoomInput::Loaded(stored_log(3)));
    let outs = room.handle(NOW, RoomInput::Timer);
    let Some((put, StorageOp::PutSnapshot { generation, .. })) = storage_tasks(&outs).pop() else {
        panic!("a snapshot: {outs:?}")
    };
    let outs = room.handle(NOW, RoomInput::Delete);
    let (tomb, _) = storage_tasks(&outs).pop().expect("a tombstone");
    room.handle(NOW, done(tomb, true));
    // The put lands after the tombstone: its object goes too, and nothing is trimmed.
    let outs = room.handle(NOW, done(put, true));
    assert_eq!(
        storage_tasks(&outs)
            .into_iter()
            .map(|(_, op)| op)
            .collect::<Vec<_>>(),
        vec![StorageOp::DeleteSnapshot { generation }]
    );
    assert_eq!(releases(&outs), vec![]);
}

#[test]
fn a_failed_tombstone_or_snapshot_delete_is_retried() {
    let (mut room, _) = RelayRoom::new(RoomConfig::default(), DOC);
    room.handle(NOW, RoomInput::Loaded(stored_log(1)));
    let outs = room.handle(NOW, RoomInput::Delete);
    let (task, op) = storage_tasks(&outs).pop().expect("a tombstone");
    assert_eq!(op, StorageOp::PutTombstone);
    room.handle(NOW, done(task, false));
    let at = NOW + RoomConfig::default().first_retry_ms;
    let outs = room.handle(at, RoomInput::Timer);
    let (task, op) = storage_tasks(&outs).pop().expect("the tombstone again");
    assert_eq!(op, StorageOp::PutTombstone);
    room.handle(at, done(task, true));
    assert!(storage_tasks(&room.handle(at + 60_000, RoomInput::Timer)).is_empty());
}

#[test]
fn a_document_that_does_not_exist_is_neither_deleted_nor_written() {
    let mut room = room();
    assert!(!room.exists());
    join(&mut room, ConnId(1), true);
    let outs = room.handle(NOW, RoomInput::Delete);
    assert!(storage_tasks(&outs).is_empty(), "{outs:?}");
    assert!(!room.is_deleted());
    // Once a write was counted it exists.
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = grant_quota(&mut room, &outs);
    let (task, ..) = append(&outs).expect("a row");
    room.handle(NOW, done(task, true));
    assert!(room.exists());
}
