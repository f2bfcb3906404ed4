//! Unit tests of the room's bounds (`room/limits.rs`): fragments, ephemeral messages, queues and
//! rates. One behaviour each; the harness mirrors `tests.rs` so the two files stay independent.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};

use super::*;
use crate::io::ConnId;
use crate::protocol::{DocumentId, ErrorCode, Message, PeerId, fragment};

const DOC: DocumentId = DocumentId::from_bytes([9; 16]);
const NOW: u64 = 1_000_000;

fn access(can_write: bool, plan: PlanLimits) -> PeerAccess {
    PeerAccess {
        subject: "u".into(),
        tenant: "t".into(),
        can_write,
        expires_at_ms: NOW + 3_600_000,
        plan,
    }
}

fn loaded(config: RoomConfig) -> RelayRoom {
    let (mut room, _) = RelayRoom::new(config, DOC);
    room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    room
}

fn connect(room: &mut RelayRoom, conn: ConnId, can_write: bool, plan: PlanLimits) {
    room.handle(
        NOW,
        RoomInput::Connected {
            conn,
            access: access(can_write, plan),
        },
    );
}

fn join_as(room: &mut RelayRoom, now: u64, conn: ConnId, id: &str) -> Vec<RoomOutput> {
    let join = Message::Join {
        sender_id: PeerId::from(id),
        supported_protocol_versions: vec!["1".into()],
        metadata: None,
    };
    room.handle(now, frame(conn, &join))
}

/// Connected and joined as `peer-<n>`.
fn joined(room: &mut RelayRoom, conn: ConnId, can_write: bool, plan: PlanLimits) {
    connect(room, conn, can_write, plan);
    let outs = join_as(room, NOW, conn, &format!("peer-{}", conn.0));
    assert!(refusal(&outs, conn).is_none(), "{outs:?}");
}

fn frame(conn: ConnId, m: &Message) -> RoomInput {
    RoomInput::Frame {
        conn,
        bytes: m.encode(),
    }
}

fn sent(outs: &[RoomOutput], conn: ConnId) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            RoomOutput::Send { conn: c, bytes } if *c == conn => Message::decode(bytes).ok(),
            _ => None,
        })
        .collect()
}

/// The code and `retryAfterMs` `conn` was refused with, if it was (and it was closed).
fn refusal(outs: &[RoomOutput], conn: ConnId) -> Option<(ErrorCode, Option<u64>)> {
    let closed = outs
        .iter()
        .any(|o| matches!(o, RoomOutput::Close { conn: c, .. } if *c == conn));
    let error = sent(outs, conn).into_iter().find_map(|m| match m {
        Message::Error {
            code: Some(code),
            retry_after_ms,
            ..
        } => Some((code, retry_after_ms)),
        _ => None,
    });
    match (closed, error) {
        (true, Some(e)) => Some(e),
        (false, None) => None,
        other => panic!("an error without a close or the reverse: {other:?} in {outs:?}"),
    }
}

fn fragment_msg(message_id: u64, index: u32, count: u32, len: usize) -> Message {
    Message::Fragment {
        message_id,
        index,
        count,
        data: vec![7; len],
    }
}

fn ephemeral(sender: &str, len: usize) -> Message {
    Message::Ephemeral {
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        count: 1,
        session_id: "s".into(),
        document_id: DOC,
        data: vec![1; len],
    }
}

fn subscribe(sender: &str) -> Message {
    let data = AutoCommit::new()
        .sync()
        .generate_sync_message(&mut sync::State::new())
        .expect("a first message")
        .encode();
    Message::Request {
        document_id: DOC,
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        data,
    }
}

/// A sync message carrying one change with `len` characters of text, with the length of the
/// change and of the message's `data`.
fn change_msg(sender: &str, len: usize, seed: u64) -> (Message, usize, usize) {
    let mut doc = AutoCommit::new();
    let mut x = seed | 1;
    let text: String = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    doc.put(ROOT, "k", text).unwrap();
    doc.commit();
    let mut state = sync::State::new();
    // The first message has no changes; pretend the relay answered "I have nothing".
    let _ = doc.sync().generate_sync_message(&mut state);
    let mut empty = AutoCommit::new()
        .sync()
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    // As the relay answers: without flags, so the change comes as a change, not a document.
    empty.flags = None;
    doc.sync().receive_sync_message(&mut state, empty).unwrap();
    let message = doc.sync().generate_sync_message(&mut state).unwrap();
    // As sent: automerge may compress the change.
    let change_len: usize = message.changes.iter().map(<[u8]>::len).sum();
    let data = message.encode();
    let data_len = data.len();
    let m = Message::Sync {
        document_id: DOC,
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        data,
    };
    (m, change_len, data_len)
}

fn plan() -> PlanLimits {
    PlanLimits::default()
}

#[test]
fn a_fragment_before_join_is_bad_message() {
    let mut room = loaded(RoomConfig::default());
    connect(&mut room, ConnId(1), true, plan());
    let outs = room.handle(NOW, frame(ConnId(1), &fragment_msg(1, 0, 2, 10)));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::BadMessage, None))
    );
}

#[test]
fn a_read_only_peer_cannot_send_fragments() {
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), false, plan());
    let outs = room.handle(NOW, frame(ConnId(1), &fragment_msg(1, 0, 2, 10)));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::PermissionDenied, None))
    );
}

#[test]
fn per_peer_fragment_bounds_refuse_with_payload_too_large() {
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, plan());
    for id in 0..4 {
        let outs = room.handle(NOW, frame(ConnId(1), &fragment_msg(id, 0, 2, 10)));
        assert_eq!(refusal(&outs, ConnId(1)), None);
    }
    let outs = room.handle(NOW, frame(ConnId(1), &fragment_msg(9, 0, 2, 10)));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::PayloadTooLarge, None))
    );
}

#[test]
fn the_room_wide_fragment_bound_refuses_only_the_peer_that_crosses_it() {
    let config = RoomConfig {
        max_room_reassembly_bytes: 2500,
        ..RoomConfig::default()
    };
    let mut room = loaded(config);
    for c in 1..=3 {
        joined(&mut room, ConnId(c), true, plan());
    }
    for c in 1..=2 {
        let outs = room.handle(NOW, frame(ConnId(c), &fragment_msg(1, 0, 2, 1000)));
        assert_eq!(refusal(&outs, ConnId(c)), None);
    }
    let outs = room.handle(NOW, frame(ConnId(3), &fragment_msg(1, 0, 2, 1000)));
    assert_eq!(
        refusal(&outs, ConnId(3)),
        Some((ErrorCode::PayloadTooLarge, None))
    );
    // The others still complete their messages.
    let whole = subscribe("peer-1").encode();
    let parts = fragment(&whole, 5, 60).unwrap();
    let mut outs = Vec::new();
    for p in &parts {
        outs.extend(room.handle(
            NOW,
            RoomInput::Frame {
                conn: ConnId(1),
                bytes: p.clone(),
            },
        ));
    }
    assert_eq!(refusal(&outs, ConnId(1)), None);
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::DocUnavailable { .. })),
        "the reassembled request was not answered: {outs:?}"
    );
}

#[test]
fn abandoned_partial_messages_expire_with_the_timer() {
    // An hour-long metrics period: the room asks for the earliest timer only.
    let mut room = loaded(RoomConfig {
        metrics_period_ms: 3_600_000,
        ..RoomConfig::default()
    });
    joined(&mut room, ConnId(1), true, plan());
    let outs = room.handle(NOW, frame(ConnId(1), &fragment_msg(1, 0, 2, 10)));
    assert!(
        outs.iter()
            .any(|o| matches!(o, RoomOutput::SetTimer { at_ms } if *at_ms == NOW + 30_000)),
        "no timer for the partial message: {outs:?}"
    );
    for id in 2..5 {
        room.handle(NOW, frame(ConnId(1), &fragment_msg(id, 0, 2, 10)));
    }
    // Expired, the four partials no longer count: four new ones fit.
    let outs = room.handle(NOW + 30_000, RoomInput::Timer);
    assert_eq!(refusal(&outs, ConnId(1)), None);
    for id in 10..14 {
        let outs = room.handle(NOW + 30_001, frame(ConnId(1), &fragment_msg(id, 0, 2, 10)));
        assert_eq!(refusal(&outs, ConnId(1)), None, "{id}");
    }
}

#[test]
fn an_over_long_peer_id_is_bad_message() {
    let mut room = loaded(RoomConfig::default());
    connect(&mut room, ConnId(1), true, plan());
    let outs = join_as(&mut room, NOW, ConnId(1), &"p".repeat(100_000));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::BadMessage, None))
    );
    assert!(
        !sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Peer { .. }))
    );
}

#[test]
fn ephemeral_senders_are_the_joined_peer_and_nothing_is_stored() {
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, plan());
    joined(&mut room, ConnId(2), true, plan());
    room.handle(NOW, frame(ConnId(2), &subscribe("peer-2")));
    let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("victim", 10)));
    let relayed: Vec<Message> = sent(&outs, ConnId(2));
    assert!(
        matches!(&relayed[..], [Message::Ephemeral { sender_id, target_id, .. }]
            if sender_id.as_str() == "peer-1" && target_id.as_str() == "peer-2"),
        "{relayed:?}"
    );
    assert!(
        !outs.iter().any(|o| matches!(
            o,
            RoomOutput::Storage { .. } | RoomOutput::ReserveQuota { .. }
        )),
        "ephemeral data reached storage: {outs:?}"
    );
}

#[test]
fn oversized_ephemerals_are_payload_too_large() {
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, plan());
    let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("peer-1", 64 * 1024)));
    assert_eq!(refusal(&outs, ConnId(1)), None);
    let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("peer-1", 64 * 1024 + 1)));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::PayloadTooLarge, None))
    );
}

#[test]
fn an_ephemeral_flood_is_rate_limited_with_retry_after() {
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, plan());
    joined(&mut room, ConnId(2), true, plan());
    for i in 0..100 {
        let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("peer-1", 8)));
        assert_eq!(refusal(&outs, ConnId(1)), None, "{i}");
    }
    let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("peer-1", 8)));
    // 50 per second: the next one is allowed 20 ms later.
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::RateLimited, Some(20)))
    );
    // The other peer is not affected.
    let outs = room.handle(NOW, frame(ConnId(2), &ephemeral("peer-2", 8)));
    assert_eq!(refusal(&outs, ConnId(2)), None);
}

#[test]
fn the_plan_rate_per_connection_refuses_only_that_connection() {
    let slow = PlanLimits {
        peer_messages_per_sec: 5,
        ..PlanLimits::default()
    };
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, slow);
    joined(&mut room, ConnId(2), true, slow);
    // The join was the first of five.
    for _ in 0..4 {
        let outs = room.handle(NOW, frame(ConnId(1), &subscribe("peer-1")));
        assert_eq!(refusal(&outs, ConnId(1)), None);
    }
    let outs = room.handle(NOW, frame(ConnId(1), &subscribe("peer-1")));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::RateLimited, Some(200)))
    );
    let outs = room.handle(NOW, frame(ConnId(2), &subscribe("peer-2")));
    assert_eq!(refusal(&outs, ConnId(2)), None);
    // Time refills the bucket (a new connection of the same token would be served).
    joined(&mut room, ConnId(3), true, slow);
    for _ in 0..4 {
        room.handle(NOW, frame(ConnId(3), &subscribe("peer-3")));
    }
    let outs = room.handle(NOW + 200, frame(ConnId(3), &subscribe("peer-3")));
    assert_eq!(refusal(&outs, ConnId(3)), None);
}

#[test]
fn the_plan_byte_rate_counts_frame_bytes() {
    let slow = PlanLimits {
        peer_bytes_per_sec: 1000,
        ..PlanLimits::default()
    };
    let mut room = loaded(RoomConfig::default());
    joined(&mut room, ConnId(1), true, slow);
    let outs = room.handle(NOW, frame(ConnId(1), &ephemeral("peer-1", 2000)));
    assert!(
        matches!(
            refusal(&outs, ConnId(1)),
            Some((ErrorCode::RateLimited, Some(ms))) if ms > 0
        ),
        "{outs:?}"
    );
}

#[test]
fn the_tenant_rate_is_shared_by_all_connections_of_the_room() {
    let tenant = PlanLimits {
        tenant_messages_per_sec: 6,
        ..PlanLimits::default()
    };
    let mut room = loaded(RoomConfig::default());
    // Three joins, then three more messages fill the tenant's six.
    for c in 1..=3 {
        joined(&mut room, ConnId(c), true, tenant);
    }
    for c in 1..=3 {
        let outs = room.handle(NOW, frame(ConnId(c), &subscribe(&format!("peer-{c}"))));
        assert_eq!(refusal(&outs, ConnId(c)), None);
    }
    let outs = room.handle(NOW, frame(ConnId(1), &subscribe("peer-1")));
    let Some((ErrorCode::RateLimited, Some(ms))) = refusal(&outs, ConnId(1)) else {
        panic!("the tenant's seventh message was accepted: {outs:?}");
    };
    assert!(ms > 0 && ms <= 1000, "{ms}");
    // A second later there is room again.
    let outs = room.handle(NOW + 1000, frame(ConnId(2), &subscribe("peer-2")));
    assert_eq!(refusal(&outs, ConnId(2)), None);
}

#[test]
fn early_frames_are_bounded_while_the_document_loads() {
    let config = RoomConfig {
        max_early_frames: 3,
        ..RoomConfig::default()
    };
    let (mut room, _) = RelayRoom::new(config, DOC);
    joined(&mut room, ConnId(1), true, plan());
    joined(&mut room, ConnId(2), true, plan());
    for _ in 0..2 {
        let outs = room.handle(NOW, frame(ConnId(1), &subscribe("peer-1")));
        assert_eq!(refusal(&outs, ConnId(1)), None);
    }
    let outs = room.handle(NOW, frame(ConnId(2), &subscribe("peer-2")));
    assert_eq!(refusal(&outs, ConnId(2)), None);
    let outs = room.handle(NOW, frame(ConnId(1), &subscribe("peer-1")));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::RateLimited, Some(1000)))
    );
    // The refused peer's frames are dropped; the other one is served once loaded.
    let outs = room.handle(NOW, RoomInput::Loaded(StoredRoom::default()));
    assert!(
        sent(&outs, ConnId(2))
            .iter()
            .any(|m| matches!(m, Message::DocUnavailable { .. })),
        "{outs:?}"
    );
    assert!(sent(&outs, ConnId(1)).is_empty());
}

#[test]
fn pending_changes_are_bounded_per_peer_and_per_room() {
    let (a, a_change, _) = change_msg("peer-1", 2_000, 1);
    let (b, b_change, _) = change_msg("peer-1", 2_000, 2);
    let (c, c_change, _) = change_msg("peer-2", 2_000, 3);
    let (d, _, _) = change_msg("peer-3", 2_000, 4);
    let config = RoomConfig {
        // Peer 1's second change would just not fit; peer 2's fits the room exactly.
        max_pending_bytes_per_peer: a_change + b_change - 1,
        max_pending_bytes: a_change + c_change,
        ..RoomConfig::default()
    };
    let mut room = loaded(config);
    for conn in 1..=3 {
        joined(&mut room, ConnId(conn), true, plan());
    }
    // Nothing is granted, so every change stays pending.
    let outs = room.handle(NOW, frame(ConnId(1), &a));
    assert_eq!(refusal(&outs, ConnId(1)), None);
    assert!(room.has_unpersisted());
    let outs = room.handle(NOW, frame(ConnId(1), &b));
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::RateLimited, Some(1000)))
    );
    let outs = room.handle(NOW, frame(ConnId(2), &c));
    assert_eq!(refusal(&outs, ConnId(2)), None);
    // The room holds a + c now: a third peer's change is over the room's bound.
    let outs = room.handle(NOW, frame(ConnId(3), &d));
    assert_eq!(
        refusal(&outs, ConnId(3)),
        Some((ErrorCode::RateLimited, Some(1000)))
    );
    // Small sync messages without changes still pass.
    let outs = room.handle(NOW, frame(ConnId(2), &subscribe("peer-2")));
    assert_eq!(refusal(&outs, ConnId(2)), None);
}

#[test]
fn token_expiry_uses_only_the_time_given() {
    let mut room = loaded(RoomConfig::default());
    connect(&mut room, ConnId(1), true, plan());
    let late = NOW + 3_600_000;
    let outs = join_as(&mut room, late, ConnId(1), "peer-1");
    assert_eq!(
        refusal(&outs, ConnId(1)),
        Some((ErrorCode::TokenExpired, None))
    );
}
