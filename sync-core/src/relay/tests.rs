//! Unit tests of the relay room's decisions, one behaviour each. Whole-system convergence is
//! the simulator's job (`tests/simulator.rs`).

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};

use super::*;
use crate::io::{ConnId, TaskId};
use crate::protocol::{DocumentId, ErrorCode, Message, PeerId, PeerMetadata};

const DOC: DocumentId = DocumentId::from_bytes([7; 16]);
const NOW: u64 = 1_000_000;

fn access(can_write: bool) -> PeerAccess {
    PeerAccess {
        subject: "u".into(),
        tenant: "t".into(),
        can_write,
        expires_at_ms: NOW + 60_000,
        plan: PlanLimits::default(),
    }
}

/// A loaded, empty room.
fn room() -> RelayRoom {
    room_with(RoomConfig::default())
}

/// A loaded, empty room with `config`.
fn room_with(config: RoomConfig) -> RelayRoom {
    let (mut room, _) = RelayRoom::new(config, DOC);
    room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    room
}

/// A config whose metrics period is an hour, for tests of the room's other timers: the room
/// asks for one timer at a time, the earliest.
fn quiet_metrics() -> RoomConfig {
    RoomConfig {
        metrics_period_ms: 3_600_000,
        ..RoomConfig::default()
    }
}

/// Connects and joins as a Tessera client, which declares that it reads acks.
fn join(room: &mut RelayRoom, conn: ConnId, can_write: bool) -> Vec<RoomOutput> {
    join_declaring(room, conn, can_write, true)
}

/// Connects and joins; `reads_acks: false` is a stock automerge-repo peer.
fn join_declaring(
    room: &mut RelayRoom,
    conn: ConnId,
    can_write: bool,
    reads_acks: bool,
) -> Vec<RoomOutput> {
    let mut outs = room.handle(
        NOW,
        RoomInput::Connected {
            conn,
            access: access(can_write),
        },
    );
    let join = Message::Join {
        sender_id: PeerId::from("peer"),
        supported_protocol_versions: vec!["1".into()],
        metadata: Some(PeerMetadata {
            storage_id: None,
            is_ephemeral: true,
            reads_acks,
        }),
    };
    outs.extend(room.handle(NOW, frame(conn, &join)));
    outs
}

fn frame(conn: ConnId, m: &Message) -> RoomInput {
    RoomInput::Frame {
        conn,
        bytes: m.encode(),
    }
}

fn sync_frame(doc: &mut AutoCommit, state: &mut sync::State) -> Message {
    let data = doc
        .sync()
        .generate_sync_message(state)
        .expect("something to send")
        .encode();
    Message::Sync {
        document_id: DOC,
        sender_id: PeerId::from("peer"),
        target_id: PeerId::from("tessera-relay"),
        data,
    }
}

/// A client doc with one change, and its first two sync messages exchanged so the second one
/// carries the change.
fn push_change(room: &mut RelayRoom, conn: ConnId) -> (AutoCommit, Vec<RoomOutput>) {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "k", "v").unwrap();
    doc.commit();
    let mut state = sync::State::new();
    let first = sync_frame(&mut doc, &mut state);
    let outs = room.handle(NOW, frame(conn, &first));
    for out in sent(&outs, conn) {
        if let Message::Sync { data, .. } = out {
            doc.sync()
                .receive_sync_message(&mut state, sync::Message::decode(&data).unwrap())
                .unwrap();
        }
    }
    let second = sync_frame(&mut doc, &mut state);
    let outs = room.handle(NOW, frame(conn, &second));
    (doc, outs)
}

fn sent(outs: &[RoomOutput], conn: ConnId) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            RoomOutput::Send { conn: c, bytes } if *c == conn => Message::decode(bytes).ok(),
            _ => None,
        })
        .collect()
}

fn closed_with(outs: &[RoomOutput], conn: ConnId) -> Option<u16> {
    outs.iter().find_map(|o| match o {
        RoomOutput::Close { conn: c, code, .. } if *c == conn => Some(*code),
        _ => None,
    })
}

fn storage_tasks(outs: &[RoomOutput]) -> Vec<(TaskId, StorageOp)> {
    outs.iter()
        .filter_map(|o| match o {
            RoomOutput::Storage { task, op } => Some((*task, op.clone())),
            _ => None,
        })
        .collect()
}

fn grant_quota(room: &mut RelayRoom, outs: &[RoomOutput]) -> Vec<RoomOutput> {
    match outs.iter().find_map(|o| match o {
        RoomOutput::ReserveQuota { bytes, .. } => Some(*bytes),
        _ => None,
    }) {
        Some(bytes) => room.handle(NOW, RoomInput::Quota(Ok(bytes))),
        None => Vec::new(),
    }
}

#[test]
fn handshake_answers_peer_with_a_stable_storage_id() {
    let mut room = room();
    let outs = join(&mut room, ConnId(1), true);
    let msgs = sent(&outs, ConnId(1));
    assert!(matches!(
        &msgs[..],
        [Message::Peer { metadata: Some(m), selected_protocol_version, .. }]
            if m.storage_id.as_ref().map(|s| s.as_str()) == Some("tessera-relay")
                && !m.is_ephemeral && selected_protocol_version == "1"
    ));
}

#[test]
fn messages_before_join_are_refused() {
    let mut room = room();
    room.handle(
        NOW,
        RoomInput::Connected {
            conn: ConnId(1),
            access: access(true),
        },
    );
    let mut doc = AutoCommit::new();
    let msg = sync_frame(&mut doc, &mut sync::State::new());
    let outs = room.handle(NOW, frame(ConnId(1), &msg));
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::BadMessage.close_code())
    );
}

#[test]
fn other_documents_are_unavailable() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let other = DocumentId::from_bytes([9; 16]);
    let msg = Message::Request {
        document_id: other,
        sender_id: PeerId::from("peer"),
        target_id: PeerId::from("tessera-relay"),
        data: AutoCommit::new()
            .sync()
            .generate_sync_message(&mut sync::State::new())
            .unwrap()
            .encode(),
    };
    let outs = room.handle(NOW, frame(ConnId(1), &msg));
    assert!(matches!(
        &sent(&outs, ConnId(1))[..],
        [Message::DocUnavailable { document_id, .. }] if *document_id == other
    ));
}

#[test]
fn changes_are_acked_only_after_the_write_is_durable() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let (mut doc, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .all(|m| !matches!(m, Message::Ack { .. }))
    );
    let (task, op) = storage_tasks(&outs).pop().expect("a log append");
    assert!(matches!(op, StorageOp::AppendLog { seq: 1, .. }));
    assert!(
        room.durable_heads().is_empty(),
        "not durable before the write is done"
    );
    assert_eq!(room.heads(), doc.get_heads(), "but already in the graph");
    let outs = room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    let heads: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Ack { heads: h, .. } if *h == heads))
    );
    assert_eq!(room.durable_heads(), doc.get_heads());
}

#[test]
fn the_snapshot_etag_changes_exactly_when_the_document_does() {
    let mut room = room();
    let empty = room.snapshot_etag();
    assert_eq!(room.snapshot_etag(), empty, "stable while nothing changes");
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    assert_eq!(
        room.snapshot_etag(),
        empty,
        "a change not yet durable is not served"
    );
    let (task, _) = storage_tasks(&outs).pop().expect("a log append");
    room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    let written = room.snapshot_etag();
    assert_ne!(written, empty);
    assert!(written.starts_with('"') && written.ends_with('"') && written.len() == 18);
}

#[test]
fn a_failed_write_stays_dirty_and_is_retried() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    let (task, op) = storage_tasks(&outs).pop().unwrap();
    let outs = room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Err("disk".into()),
        },
    );
    assert!(room.has_unpersisted());
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .all(|m| !matches!(m, Message::Ack { .. }))
    );
    let at = outs
        .iter()
        .find_map(|o| match o {
            RoomOutput::SetTimer { at_ms } => Some(*at_ms),
            _ => None,
        })
        .expect("a retry timer");
    let outs = room.handle(at, RoomInput::Timer);
    let (_, again) = storage_tasks(&outs).pop().expect("the same row, again");
    assert_eq!(again, op);
}

#[test]
fn read_only_peers_cannot_change_the_document() {
    let mut room = room();
    join(&mut room, ConnId(1), false);
    let (_, outs) = push_change(&mut room, ConnId(1));
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::PermissionDenied.close_code())
    );
    assert!(storage_tasks(&outs).is_empty());
    assert!(room.heads().is_empty());
}

#[test]
fn a_malformed_frame_closes_only_its_connection() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    join(&mut room, ConnId(2), true);
    let outs = room.handle(
        NOW,
        RoomInput::Frame {
            conn: ConnId(1),
            bytes: vec![0xff, 0x00, 0x13],
        },
    );
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::BadMessage.close_code())
    );
    assert_eq!(closed_with(&outs, ConnId(2)), None);
    assert_eq!(room.connections().collect::<Vec<_>>(), vec![ConnId(2)]);
}

#[test]
fn expired_tokens_close_the_session() {
    let mut room = room_with(quiet_metrics());
    let outs = join(&mut room, ConnId(1), true);
    let at = outs
        .iter()
        .find_map(|o| match o {
            RoomOutput::SetTimer { at_ms } => Some(*at_ms),
            _ => None,
        })
        .expect("a timer for the expiry");
    assert_eq!(at, NOW + 60_000);
    let outs = room.handle(at, RoomInput::Timer);
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::TokenExpired.close_code())
    );
}

#[test]
fn a_quota_refusal_stores_nothing() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let (_, outs) = push_change(&mut room, ConnId(1));
    assert!(outs.iter().any(|o| matches!(
        o,
        RoomOutput::ReserveQuota {
            new_document: true,
            ..
        }
    )));
    let refusal = QuotaRefusal {
        code: ErrorCode::RateLimited,
        retry_after_ms: Some(5_000),
    };
    let outs = room.handle(NOW, RoomInput::Quota(Err(refusal)));
    assert!(storage_tasks(&outs).is_empty());
    assert!(!room.has_unpersisted());
    assert!(sent(&outs, ConnId(1)).iter().any(|m| matches!(
        m,
        Message::Error {
            code: Some(ErrorCode::RateLimited),
            retry_after_ms: Some(5_000),
            ..
        }
    )));
    assert_eq!(
        closed_with(&outs, ConnId(1)),
        Some(ErrorCode::RateLimited.close_code())
    );
}

mod acks;
mod graph;
mod keepalive;
mod metrics;
mod resilience;
mod rows;
mod storage;
