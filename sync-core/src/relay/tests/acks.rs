//! Who is acked and when (`room/acks.rs`): only peers that declared they read acks, once per
//! write that stores their changes, never twice with the same heads, and a reader as soon as
//! what it holds is durable.

use super::graph::{Client, converge, settle, sync_to_relay};
use super::*;

/// The heads of every ack sent to `conn`, in order.
fn acks_to(outs: &[RoomOutput], conn: ConnId) -> Vec<Vec<String>> {
    sent(outs, conn)
        .into_iter()
        .filter_map(|m| match m {
            Message::Ack { heads, .. } => Some(heads),
            _ => None,
        })
        .collect()
}

fn hex_heads(client: &mut Client) -> Vec<String> {
    let mut heads: Vec<String> = client
        .doc
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();
    heads.sort();
    heads
}

/// A sync message with no changes that reports `client`'s heads.
fn heads_only(client: &mut Client) -> Message {
    sync_to_relay(client.doc.get_heads(), sync::ChunkList::empty())
}

/// A stored write task among `outs`, not finished.
fn write_task(outs: &[RoomOutput]) -> TaskId {
    storage_tasks(outs)
        .into_iter()
        .find_map(|(task, op)| matches!(op, StorageOp::AppendLog { .. }).then_some(task))
        .expect("a row write")
}

fn done(room: &mut RelayRoom, task: TaskId) -> Vec<RoomOutput> {
    room.handle(
        NOW,
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    )
}

#[test]
fn a_stock_peer_gets_no_acks_and_a_tessera_peer_does() {
    let mut room = room();
    join_declaring(&mut room, ConnId(1), true, false);
    join(&mut room, ConnId(2), true);
    let mut clients = [Client::new(1), Client::new(2)];
    let mut log = converge(&mut room, &mut clients);
    // The stock peer writes, the Tessera peer reads, then the other way round.
    for (writer, reader) in [(0, 1), (1, 0)] {
        clients[writer].edit("k", writer as i64);
        let outs = clients[writer].say(&mut room).expect("a change to send");
        let outs = settle(&mut room, outs);
        clients[reader].take(&outs);
        log.extend(outs);
        log.extend(converge(&mut room, &mut clients));
        assert_eq!(
            clients[reader].doc.get_heads(),
            clients[writer].doc.get_heads()
        );
    }
    assert_eq!(acks_to(&log, ConnId(1)), Vec::<Vec<String>>::new());
    assert!(
        acks_to(&log, ConnId(2)).contains(&hex_heads(&mut clients[1])),
        "the Tessera peer is told its heads are durable: {:?}",
        acks_to(&log, ConnId(2))
    );
}

#[test]
fn a_room_told_to_acks_everyone_acks_a_peer_that_did_not_declare() {
    let mut room = room_with(RoomConfig {
        ack_undeclared_peers: true,
        ..RoomConfig::default()
    });
    join_declaring(&mut room, ConnId(1), true, false);
    let mut client = Client::new(1);
    converge(&mut room, std::slice::from_mut(&mut client));
    client.edit("k", 1);
    let outs = client.say(&mut room).expect("a change to send");
    let outs = settle(&mut room, outs);
    assert_eq!(acks_to(&outs, ConnId(1)), vec![hex_heads(&mut client)]);
}

#[test]
fn one_write_covering_several_messages_is_one_ack() {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    let mut client = Client::new(1);
    converge(&mut room, std::slice::from_mut(&mut client));
    client.edit("a", 1);
    let outs = client.say(&mut room).expect("a change to send");
    let mut log = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    let first = write_task(&log);
    // Two more messages while the first row is being written: they wait for the next row.
    for (key, value) in [("b", 2), ("c", 3)] {
        client.edit(key, value);
        let outs = client.say(&mut room).expect("a change to send");
        assert!(storage_tasks(&outs).is_empty(), "one write at a time");
        log.extend(outs);
    }
    let outs = done(&mut room, first);
    assert_eq!(
        acks_to(&outs, ConnId(1)),
        Vec::<Vec<String>>::new(),
        "two of its changes are not durable yet"
    );
    let second = write_task(&outs);
    log.extend(outs);
    log.extend(done(&mut room, second));
    assert_eq!(acks_to(&log, ConnId(1)), vec![hex_heads(&mut client)]);
    // Saying the same heads again gets no second ack (the old room acked every such message).
    let outs = room.handle(NOW, frame(ConnId(1), &heads_only(&mut client)));
    assert_eq!(acks_to(&outs, ConnId(1)), Vec::<Vec<String>>::new());
}

/// Two declaring peers in sync; the first has just sent one new change (the room's outputs).
fn a_writer_and_a_reader_after_one_edit() -> (RelayRoom, [Client; 2], Vec<RoomOutput>) {
    let mut room = room();
    join(&mut room, ConnId(1), true);
    join(&mut room, ConnId(2), true);
    let mut clients = [Client::new(1), Client::new(2)];
    converge(&mut room, &mut clients);
    clients[0].edit("a", 1);
    let outs = clients[0].say(&mut room).expect("a change to send");
    (room, clients, outs)
}

#[test]
fn a_reader_learns_a_forwarded_change_is_durable_when_the_write_ends() {
    let (mut room, mut clients, outs) = a_writer_and_a_reader_after_one_edit();
    let outs = [outs.clone(), grant_quota(&mut room, &outs)].concat();
    let task = write_task(&outs);
    // The reader has the change before it is durable, and answers: nothing to ack yet.
    assert!(clients[1].take(&outs));
    let answer = clients[1].say(&mut room).expect("an answer");
    assert_eq!(acks_to(&answer, ConnId(2)), Vec::<Vec<String>>::new());
    let outs = done(&mut room, task);
    let heads = hex_heads(&mut clients[1]);
    assert_eq!(acks_to(&outs, ConnId(2)), vec![heads.clone()]);
    assert_eq!(acks_to(&outs, ConnId(1)), vec![heads]);
}

#[test]
fn a_reader_behind_the_durable_heads_is_acked_only_once_it_catches_up() {
    let (mut room, mut clients, outs) = a_writer_and_a_reader_after_one_edit();
    let outs = settle(&mut room, outs);
    clients[1].take(&outs);
    converge(&mut room, &mut clients);
    assert_eq!(clients[1].doc.get_heads(), clients[0].doc.get_heads());
    clients[0].edit("b", 2);
    let outs = clients[0].say(&mut room).expect("a change to send");
    let forwarded = settle(&mut room, outs);
    // The reader reports the heads it had before `b`: an ack of `b` would not put it in sync.
    let outs = room.handle(NOW, frame(ConnId(2), &heads_only(&mut clients[1])));
    assert_eq!(acks_to(&outs, ConnId(2)), Vec::<Vec<String>>::new());
    assert!(clients[1].take(&forwarded));
    let answer = clients[1].say(&mut room).expect("an answer");
    assert_eq!(
        acks_to(&answer, ConnId(2)),
        vec![hex_heads(&mut clients[0])]
    );
}
