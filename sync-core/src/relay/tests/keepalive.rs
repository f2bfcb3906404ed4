//! A client's `keepalive` frame: accepted, answered with nothing, forwarded to nobody, not
//! counted as a refusal, and the connection keeps syncing.

use super::*;

#[test]
fn a_keepalive_is_dropped_without_refusal_answer_or_forwarding() {
    let mut room = room_with(quiet_metrics());
    join(&mut room, ConnId(1), true);
    join(&mut room, ConnId(2), true);
    // Peer 2 syncs, so it is one the room relays ephemeral messages to...
    let (_doc, mut outs) = push_change(&mut room, ConnId(2));
    outs.extend(grant_quota(&mut room, &outs));
    store_all(&mut room, &outs);
    let presence = Message::Ephemeral {
        sender_id: PeerId::from("peer"),
        target_id: PeerId::from("tessera-relay"),
        count: 1,
        session_id: "s".into(),
        document_id: DOC,
        data: vec![0xa0],
    };
    let outs = room.handle(NOW, frame(ConnId(1), &presence));
    assert_eq!(sent(&outs, ConnId(2)).len(), 1, "the control: {outs:?}");

    // ...but never a keepalive, and peer 1 hears nothing back.
    let mut outs = Vec::new();
    for _ in 0..3 {
        outs.extend(room.handle(NOW, frame(ConnId(1), &Message::Keepalive)));
    }
    assert!(sent(&outs, ConnId(1)).is_empty(), "no answer: {outs:?}");
    assert!(sent(&outs, ConnId(2)).is_empty(), "not forwarded: {outs:?}");
    assert_eq!(closed_with(&outs, ConnId(1)), None, "not refused");
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, RoomOutput::Event(RoomEvent::Refused { .. }))),
        "not counted as a refusal: {outs:?}"
    );
    assert!(storage_tasks(&outs).is_empty(), "nothing stored");

    // The connection that sent them still syncs: its change reaches the other peer.
    let (_doc, mut outs) = push_change(&mut room, ConnId(1));
    assert_eq!(closed_with(&outs, ConnId(1)), None);
    outs.extend(grant_quota(&mut room, &outs));
    let outs = store_all(&mut room, &outs);
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Ack { .. })),
        "and is acked: {outs:?}"
    );
}

/// Completes every storage task in `outs` (and those they lead to); returns what followed.
fn store_all(room: &mut RelayRoom, outs: &[RoomOutput]) -> Vec<RoomOutput> {
    let mut pending = storage_tasks(outs);
    let mut after = Vec::new();
    while let Some((task, _)) = pending.pop() {
        let outs = room.handle(
            NOW,
            RoomInput::StorageDone {
                task,
                outcome: Ok(()),
            },
        );
        pending.extend(storage_tasks(&outs));
        after.extend(outs);
    }
    after
}
