use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT};

use super::*;
use crate::protocol::{DocumentId, PeerId};

/// A document with `n` changes of roughly `size` bytes each.
fn doc_with_changes(n: usize, size: usize) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
    let text = doc.put_object(ROOT, "text", ObjType::Text).unwrap();
    doc.commit();
    for i in 0..n {
        let chunk: String = (0..size)
            .map(|j| char::from(b'a' + ((i * 7 + j) % 26) as u8))
            .collect();
        doc.splice_text(&text, 0, 0, &chunk).unwrap();
        doc.put(ROOT, format!("k{i}"), i as u64).unwrap();
        doc.commit();
    }
    doc
}

/// B's first message to A, optionally without its flags: a peer without flags is treated as
/// not supporting v2 messages, so A answers with v1.
fn first_exchange(a: &mut AutoCommit, b: &mut AutoCommit, v1_only: bool) -> (sync::State, Vec<u8>) {
    let mut a_state = sync::State::new();
    let mut b_state = sync::State::new();
    let mut hello = b.sync().generate_sync_message(&mut b_state).unwrap();
    if v1_only {
        hello.flags = None;
    }
    a.sync().receive_sync_message(&mut a_state, hello).unwrap();
    let reply = a.sync().generate_sync_message(&mut a_state).unwrap();
    (b_state, reply.encode())
}

fn deliver_parts(parts: &[Vec<u8>], b: &mut AutoCommit, b_state: &mut sync::State) {
    for part in parts {
        let message = sync::Message::decode(part).unwrap();
        b.sync().receive_sync_message(b_state, message).unwrap();
    }
}

fn check_split(v1_only: bool) {
    let mut a = doc_with_changes(200, 40);
    let mut b = AutoCommit::new().with_actor(ActorId::from(&[2u8; 16][..]));
    let (mut b_state, data) = first_exchange(&mut a, &mut b, v1_only);
    let version = sync::Message::decode(&data).unwrap().version;
    assert_eq!(version == MessageVersion::V1, v1_only);

    let max = 2_000;
    let parts = split_sync_data(&data, max).unwrap();
    assert!(parts.len() > 5, "only {} parts", parts.len());
    for part in &parts {
        assert!(part.len() <= max, "part of {} bytes", part.len());
    }
    deliver_parts(&parts, &mut b, &mut b_state);
    assert_eq!(b.get_heads(), a.get_heads());
}

#[test]
fn v1_message_splits_into_parts_a_stock_peer_applies_in_sequence() {
    check_split(true);
}

#[test]
fn v2_document_message_is_unpacked_into_v1_parts() {
    check_split(false);
}

#[test]
fn estimated_part_length_is_exact() {
    let mut a = doc_with_changes(50, 30);
    let mut b = AutoCommit::new();
    let (_, data) = first_exchange(&mut a, &mut b, true);
    let message = sync::Message::decode(&data).unwrap();
    let changes: Vec<Vec<u8>> = message.changes.iter().map(<[u8]>::to_vec).collect();
    let template = Template::new(message);
    for n in [1, 2, 17, changes.len()] {
        let some = changes[..n].to_vec();
        let len: usize = some.iter().map(|c| leb128_len(c.len()) + c.len()).sum();
        assert_eq!(template.part(some).len(), template.len(n, len));
    }
}

#[test]
fn small_message_is_returned_unchanged() {
    let mut a = doc_with_changes(3, 5);
    let mut b = AutoCommit::new();
    let (_, data) = first_exchange(&mut a, &mut b, true);
    assert_eq!(split_sync_data(&data, data.len()).unwrap(), vec![data]);
}

#[test]
fn one_huge_change_stays_whole_for_fragmenting() {
    let mut a = doc_with_changes(1, 5_000);
    let mut b = AutoCommit::new();
    let (mut b_state, data) = first_exchange(&mut a, &mut b, true);
    let parts = split_sync_data(&data, 1_000).unwrap();
    assert!(parts.iter().any(|p| p.len() > 1_000));
    deliver_parts(&parts, &mut b, &mut b_state);
    assert_eq!(b.get_heads(), a.get_heads());
}

#[test]
fn garbage_is_an_error() {
    assert!(matches!(
        split_sync_data(b"not a sync message", 10),
        Err(SplitError::BadSyncMessage(_))
    ));
}

#[test]
fn frame_budget_accounts_for_the_envelope() {
    let envelope = Message::Sync {
        document_id: DocumentId::from_bytes([5; 16]),
        sender_id: PeerId::from("relay"),
        target_id: PeerId::from("peer-123"),
        data: vec![1; 10],
    };
    for max_frame in [100, 300, 70_000, 1 << 20] {
        let budget = max_sync_data_len(&envelope, max_frame).unwrap();
        let full = Message::Sync {
            document_id: DocumentId::from_bytes([5; 16]),
            sender_id: PeerId::from("relay"),
            target_id: PeerId::from("peer-123"),
            data: vec![0; budget],
        };
        assert!(full.encode().len() <= max_frame);
        assert!(full.encode().len() + 8 >= max_frame);
    }
    assert_eq!(max_sync_data_len(&envelope, 20), None);
    assert_eq!(
        max_sync_data_len(
            &Message::Leave {
                sender_id: "x".into()
            },
            1000
        ),
        None
    );
}
