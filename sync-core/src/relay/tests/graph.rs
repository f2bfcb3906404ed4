//! The graph room end to end with stock automerge peers: forwarding before durability, the
//! structural refusals, changes waiting for their deps, and first syncs from the snapshot or in
//! batches (cold starts and rows read back: `rows.rs`).

use super::*;

/// A stock automerge peer on connection `conn`.
pub(super) struct Client {
    pub(super) conn: ConnId,
    pub(super) doc: AutoCommit,
    state: sync::State,
}

impl Client {
    pub(super) fn new(conn: u64) -> Self {
        Self {
            conn: ConnId(conn),
            doc: AutoCommit::new(),
            state: sync::State::new(),
        }
    }

    pub(super) fn edit(&mut self, key: &str, value: i64) {
        self.doc.put(ROOT, key, value).unwrap();
        self.doc.commit();
    }

    /// Takes the room's sync messages to this peer; whether any arrived.
    pub(super) fn take(&mut self, outs: &[RoomOutput]) -> bool {
        let mut any = false;
        for m in sent(outs, self.conn) {
            if let Message::Sync { data, .. } = m {
                let msg = sync::Message::decode(&data).unwrap();
                self.doc
                    .sync()
                    .receive_sync_message(&mut self.state, msg)
                    .unwrap();
                any = true;
            }
        }
        any
    }

    pub(super) fn say(&mut self, room: &mut RelayRoom) -> Option<Vec<RoomOutput>> {
        let data = self.doc.sync().generate_sync_message(&mut self.state)?;
        let m = Message::Sync {
            document_id: DOC,
            sender_id: PeerId::from("peer"),
            target_id: PeerId::from("tessera-relay"),
            data: data.encode(),
        };
        Some(room.handle(NOW, frame(self.conn, &m)))
    }
}

thread_local! {
    /// The rows storage holds, for answering `ReadRows`: (seq, change bytes).
    pub(super) static STORED_ROWS: std::cell::RefCell<Vec<(u64, Vec<u8>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Carries out quota and storage asks (all succeed; reads come from `STORED_ROWS`) until
/// none is left; returns every output.
pub(super) fn settle(room: &mut RelayRoom, mut outs: Vec<RoomOutput>) -> Vec<RoomOutput> {
    let mut all = Vec::new();
    while !outs.is_empty() {
        let mut next = Vec::new();
        for o in &outs {
            match o {
                RoomOutput::ReserveQuota { bytes, .. } => {
                    next.extend(room.handle(NOW, RoomInput::Quota(Ok(*bytes))));
                }
                RoomOutput::Storage {
                    task,
                    op: StorageOp::ReadRows { seqs },
                } => {
                    let rows = STORED_ROWS.with_borrow(|stored| {
                        stored
                            .iter()
                            .filter(|(seq, _)| seqs.contains(seq))
                            .cloned()
                            .collect()
                    });
                    next.extend(room.handle(
                        NOW,
                        RoomInput::RowsRead {
                            task: Some(*task),
                            outcome: Ok(rows),
                        },
                    ));
                }
                RoomOutput::Storage { task, op } if !matches!(op, StorageOp::Load) => {
                    next.extend(room.handle(
                        NOW,
                        RoomInput::StorageDone {
                            task: *task,
                            outcome: Ok(()),
                        },
                    ));
                }
                _ => {}
            }
        }
        all.extend(outs);
        outs = next;
    }
    all
}

/// Runs the clients against the room until nobody has anything to say.
pub(super) fn converge(room: &mut RelayRoom, clients: &mut [Client]) -> Vec<RoomOutput> {
    let mut log = Vec::new();
    for _ in 0..1_000 {
        let mut quiet = true;
        for c in clients.iter_mut() {
            if let Some(outs) = c.say(room) {
                quiet = false;
                let outs = settle(room, outs);
                log.extend(outs);
            }
        }
        for c in clients.iter_mut() {
            if c.take(&log) {
                quiet = false;
            }
        }
        if quiet {
            return log;
        }
        log.clear();
    }
    panic!("did not converge");
}

pub(super) fn joined_clients(room: &mut RelayRoom, n: u64) -> Vec<Client> {
    (1..=n)
        .map(|i| {
            join(room, ConnId(i), true);
            Client::new(i)
        })
        .collect()
}

#[test]
fn a_change_reaches_other_peers_before_it_is_durable_and_is_acked_after() {
    let mut room = room();
    let mut clients = joined_clients(&mut room, 2);
    converge(&mut room, &mut clients);
    clients[0].edit("a", 1);
    let outs = clients[0].say(&mut room).unwrap();
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    let (task, op) = storage_tasks(&outs).pop().expect("the row");
    assert!(matches!(op, StorageOp::AppendLog { .. }));
    // Forwarded already: peer 2 has the change while the row is still being written.
    assert!(clients[1].take(&outs));
    assert_eq!(clients[1].doc.get_heads(), clients[0].doc.get_heads());
    assert!(
        !sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Ack { .. }))
    );
    let outs = room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    let heads: Vec<String> = clients[0]
        .doc
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        sent(&outs, ConnId(1))
            .iter()
            .any(|m| matches!(m, Message::Ack { heads: h, .. } if *h == heads))
    );
}

fn raw_sync(changes: Vec<Vec<u8>>) -> Message {
    sync_to_relay(Vec::new(), sync::ChunkList::from(changes))
}

/// A version-1 sync message from a peer with these heads and changes.
pub(super) fn sync_to_relay(
    heads: Vec<automerge::ChangeHash>,
    changes: sync::ChunkList,
) -> Message {
    let msg = sync::Message {
        heads,
        need: Vec::new(),
        have: Vec::new(),
        changes,
        flags: None,
        version: sync::MessageVersion::V1,
    };
    Message::Sync {
        document_id: DOC,
        sender_id: PeerId::from("peer"),
        target_id: PeerId::from("tessera-relay"),
        data: msg.encode(),
    }
}

fn refusal_code(outs: &[RoomOutput], conn: ConnId) -> Option<ErrorCode> {
    sent(outs, conn).into_iter().find_map(|m| match m {
        Message::Error { code, .. } => code,
        _ => None,
    })
}

#[test]
fn documents_and_malformed_changes_are_bad_messages_and_nothing_is_taken() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).unwrap();
    doc.commit();
    let good = doc.get_changes(&[])[0].raw_bytes().to_vec();
    let mut bad = good.clone();
    bad[12] ^= 0x55;
    for chunks in [
        vec![doc.save()],
        vec![good.clone(), bad],
        vec![b"xyz".to_vec()],
    ] {
        let mut room = room();
        join(&mut room, ConnId(1), true);
        let outs = room.handle(NOW, frame(ConnId(1), &raw_sync(chunks)));
        assert_eq!(refusal_code(&outs, ConnId(1)), Some(ErrorCode::BadMessage));
        assert_eq!(room.change_count(), 0);
        assert!(storage_tasks(&outs).is_empty());
        assert!(!room.has_unpersisted());
    }
}

#[test]
fn a_change_whose_dep_is_missing_waits_for_it() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).unwrap();
    doc.commit();
    doc.put(ROOT, "a", 2).unwrap();
    doc.commit();
    let changes: Vec<Vec<u8>> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let outs = room.handle(NOW, frame(ConnId(1), &raw_sync(vec![changes[1].clone()])));
    let outs = settle(&mut room, outs);
    assert_eq!(room.change_count(), 0, "held, not admitted");
    assert!(room.has_unpersisted());
    // The room asks for what it lacks.
    let needs = sent(&outs, ConnId(1)).into_iter().find_map(|m| match m {
        Message::Sync { data, .. } => Some(sync::Message::decode(&data).unwrap().need),
        _ => None,
    });
    assert_eq!(needs, Some(vec![]), "the message named no heads yet");
    let outs = room.handle(NOW, frame(ConnId(1), &raw_sync(vec![changes[0].clone()])));
    settle(&mut room, outs);
    assert_eq!(room.change_count(), 2);
    assert_eq!(room.durable_heads(), doc.get_heads());
}

#[test]
fn the_waiting_queue_is_bounded() {
    let mut room = room_with(RoomConfig {
        max_waiting_changes: 1,
        ..RoomConfig::default()
    });
    join(&mut room, ConnId(1), true);
    let mut doc = AutoCommit::new();
    for i in 0..3 {
        doc.put(ROOT, "a", i).unwrap();
        doc.commit();
    }
    let changes: Vec<Vec<u8>> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let outs = room.handle(NOW, frame(ConnId(1), &raw_sync(changes[1..].to_vec())));
    assert_eq!(refusal_code(&outs, ConnId(1)), Some(ErrorCode::RateLimited));
}

#[test]
fn a_new_device_gets_the_snapshot_plus_the_tail_in_one_message() {
    let config = RoomConfig {
        compact_after_log_rows: 1,
        // Due at once, so the test's clock need not move (the peers' rate buckets use it).
        compact_delay_ms: 0,
        ..RoomConfig::default()
    };
    let mut room = room_with(config);
    let mut clients = joined_clients(&mut room, 1);
    for i in 0..30 {
        clients[0].edit(&format!("k{}", i % 3), i);
    }
    converge(&mut room, &mut clients);
    // The idle alarm refreshes the snapshot.
    let timer = room.handle(NOW, RoomInput::Timer);
    let outs = settle(&mut room, timer);
    assert!(
        outs.iter()
            .any(|o| matches!(o, RoomOutput::Event(RoomEvent::Compacted { .. })))
    );
    // Then one more change: the tail.
    clients[0].edit("tail", 1);
    converge(&mut room, &mut clients);
    join(&mut room, ConnId(9), true);
    let mut fresh = Client::new(9);
    let outs = fresh.say(&mut room).unwrap();
    let answers: Vec<sync::Message> = sent(&outs, ConnId(9))
        .into_iter()
        .filter_map(|m| match m {
            Message::Sync { data, .. } => Some(sync::Message::decode(&data).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].version, sync::MessageVersion::V2);
    fresh.take(&outs);

    assert_eq!(fresh.doc.get_heads(), clients[0].doc.get_heads());
    // The room's document (the snapshot route) loads to the same heads.
    let mut loaded = AutoCommit::load(&room.document().expect("in memory")).unwrap();
    assert_eq!(loaded.get_heads(), room.durable_heads());
}

#[test]
fn a_big_first_sync_goes_out_in_batches_one_per_round_trip() {
    let mut room = room_with(RoomConfig {
        max_send_bytes: 1_000,
        ..RoomConfig::default()
    });
    let mut clients = joined_clients(&mut room, 1);
    for i in 0..60 {
        clients[0].edit("k", i);
    }
    converge(&mut room, &mut clients);
    // A v1-only peer (no flags): changes, in batches.
    join(&mut room, ConnId(2), true);
    let mut fresh = Client::new(2);
    let mut rounds = 0;
    let mut biggest = 0;
    while let Some(outs) = fresh.say(&mut room) {
        for m in sent(&outs, ConnId(2)) {
            if let Message::Sync { data, .. } = &m {
                let msg = sync::Message::decode(data).unwrap();
                let bytes: usize = msg.changes.iter().map(<[u8]>::len).sum();
                biggest = biggest.max(bytes);
            }
        }
        fresh.take(&outs);
        rounds += 1;
        assert!(rounds < 100);
    }
    assert!(rounds > 3, "{rounds} round trips");
    assert!(biggest <= 1_000 + 200, "{biggest}");
    assert_eq!(fresh.doc.get_heads(), clients[0].doc.get_heads());
}

#[test]
fn back_to_back_messages_end_in_one_ack_of_the_last_head() {
    let mut doc = AutoCommit::new();
    for i in 0..150 {
        doc.put(ROOT, "k", i).unwrap();
        doc.commit();
    }
    let changes = doc.get_changes(&[]);
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let mut outs = Vec::new();
    for part in changes.chunks(50) {
        let msg = sync::Message {
            heads: vec![part.last().unwrap().hash()],
            need: Vec::new(),
            have: Vec::new(),
            changes: sync::ChunkList::from(
                part.iter()
                    .map(|c| c.raw_bytes().to_vec())
                    .collect::<Vec<_>>(),
            ),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        let m = Message::Sync {
            document_id: DOC,
            sender_id: PeerId::from("peer"),
            target_id: PeerId::from("tessera-relay"),
            data: msg.encode(),
        };
        outs.extend(room.handle(NOW, frame(ConnId(1), &m)));
    }
    let outs = settle(&mut room, outs);
    let last = vec![changes.last().unwrap().hash().to_string()];
    let acks: Vec<Vec<String>> = sent(&outs, ConnId(1))
        .into_iter()
        .filter_map(|m| match m {
            Message::Ack { heads, .. } => Some(heads),
            _ => None,
        })
        .collect();
    assert_eq!(acks.last(), Some(&last), "{acks:?}");
}

/// Fan-out: a peer that was sent changes and has not answered gets the next ones with its
/// answer, in one message, not one message per change.
#[test]
fn changes_for_a_peer_wait_for_its_answer_to_the_last_ones() {
    let mut room = room();
    let mut clients = joined_clients(&mut room, 2);
    converge(&mut room, &mut clients);
    clients[0].edit("a", 1);
    let outs = {
        let o = clients[0].say(&mut room).unwrap();
        settle(&mut room, o)
    };
    assert!(clients[1].take(&outs), "the first change goes out at once");
    for v in 2..=4 {
        clients[0].edit("a", v);
        let outs = {
            let o = clients[0].say(&mut room).unwrap();
            settle(&mut room, o)
        };
        assert!(
            !clients[1].take(&outs),
            "held while peer 2 has not answered: {outs:?}"
        );
    }
    let answer = {
        let o = clients[1].say(&mut room).expect("peer 2 answers");
        settle(&mut room, o)
    };
    let syncs = sent(&answer, ConnId(2))
        .into_iter()
        .filter(|m| matches!(m, Message::Sync { .. }))
        .count();
    assert_eq!(syncs, 1, "the held changes in one message: {answer:?}");
    assert!(clients[1].take(&answer));
    assert_eq!(clients[1].doc.get_heads(), clients[0].doc.get_heads());
}

/// A peer that never answers (here: it drops what it was sent) still gets held changes once
/// `reply_hold_ms` has passed, on the room's timer.
#[test]
fn held_changes_go_out_on_the_timer_when_no_answer_comes() {
    let mut room = room();
    let hold = RoomConfig::default().reply_hold_ms;
    let mut clients = joined_clients(&mut room, 2);
    converge(&mut room, &mut clients);
    clients[0].edit("a", 1);
    let first = {
        let o = clients[0].say(&mut room).unwrap();
        settle(&mut room, o)
    };
    clients[0].edit("b", 2);
    let held = {
        let o = clients[0].say(&mut room).unwrap();
        settle(&mut room, o)
    };
    assert!(!clients[1].take(&held));
    let timer = held
        .iter()
        .chain(&first)
        .filter_map(|o| match o {
            RoomOutput::SetTimer { at_ms } => Some(*at_ms),
            _ => None,
        })
        .min()
        .expect("a timer for the held change");
    assert!(timer <= NOW + hold, "timer at {timer}");
    let outs = room.handle(NOW + hold, RoomInput::Timer);
    assert!(clients[1].take(&first) && clients[1].take(&outs));
    assert_eq!(clients[1].doc.get_heads(), clients[0].doc.get_heads());
}
