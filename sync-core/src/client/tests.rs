//! Unit tests of the client session's decisions. Convergence is the simulator's job.

use std::collections::BTreeMap;

use super::*;
use crate::model::{BlockKind, Page, Target};
use crate::protocol::{
    DocumentId, ErrorCode, HttpRefusal, Message, PeerId, PeerMetadata, StorageId,
};

const NOW: u64 = 5_000;

fn session() -> DocSync {
    let config = ClientConfig::new(PeerId::from("me"), StorageId::from("my-store"));
    let page = Page::create([3; 16], "t");
    DocSync::new(
        config,
        DocumentId::from_bytes([1; 16]),
        page,
        BTreeMap::new(),
        9,
    )
}

fn add_block(s: &mut DocSync) -> Vec<ClientOutput> {
    let (_, outs) = s
        .edit(NOW, |p| {
            p.add_block(1, &BlockKind::Paragraph, "x", &Target::End { parent: None })
        })
        .unwrap();
    outs
}

/// Online and past the handshake.
fn connected() -> DocSync {
    let mut s = session();
    assert_eq!(
        s.handle(NOW, ClientInput::GoOnline),
        vec![ClientOutput::Connect]
    );
    let outs = s.handle(NOW, ClientInput::TransportOpened);
    assert!(matches!(&outs[..], [ClientOutput::Send(b), ..]
        if matches!(Message::decode(b), Ok(Message::Join { .. }))));
    let peer = Message::Peer {
        sender_id: PeerId::from("relay"),
        selected_protocol_version: "1".into(),
        target_id: PeerId::from("me"),
        metadata: Some(PeerMetadata {
            storage_id: Some(StorageId::from("relay")),
            is_ephemeral: false,
        }),
    };
    let outs = s.handle(NOW, ClientInput::Frame(peer.encode()));
    assert!(outs.contains(&ClientOutput::Event(ClientEvent::Connected)));
    s
}

fn refuse(s: &mut DocSync, code: ErrorCode, retry_after_ms: Option<u64>) -> Vec<ClientOutput> {
    let err = Message::Error {
        message: "no".into(),
        code: Some(code),
        retry_after_ms,
    };
    let mut outs = s.handle(NOW, ClientInput::Frame(err.encode()));
    outs.extend(s.handle(
        NOW,
        ClientInput::TransportClosed {
            code: Some(code.close_code()),
        },
    ));
    outs
}

fn timer(outs: &[ClientOutput]) -> Option<u64> {
    outs.iter().rev().find_map(|o| match o {
        ClientOutput::SetTimer { at_ms } => Some(*at_ms),
        _ => None,
    })
}

#[test]
fn an_edit_starts_with_the_write_that_makes_it_durable() {
    let mut s = session();
    let outs = add_block(&mut s);
    assert!(matches!(
        outs.first(),
        Some(ClientOutput::Storage {
            op: ClientStorageOp::AppendChanges { .. },
            ..
        })
    ));
    assert!(!s.is_saved());
    let ClientOutput::Storage { task, .. } = outs[0] else {
        unreachable!()
    };
    s.handle(
        NOW,
        ClientInput::StorageDone {
            task,
            outcome: Ok(()),
        },
    );
    assert!(s.is_saved());
}

fn first_storage_op(outs: &[ClientOutput]) -> Option<&ClientStorageOp> {
    outs.iter().find_map(|o| match o {
        ClientOutput::Storage { op, .. } => Some(op),
        _ => None,
    })
}

#[test]
fn a_long_stored_chain_is_folded_into_a_snapshot_at_the_next_save() {
    let limit = ClientConfig::new(PeerId::from("me"), StorageId::from("s")).compact_after_saves;
    let mut short = session().with_stored_chunks(limit);
    assert!(matches!(
        first_storage_op(&add_block(&mut short)),
        Some(ClientStorageOp::AppendChanges { .. })
    ));
    let mut long = session().with_stored_chunks(limit + 1);
    assert!(matches!(
        first_storage_op(&add_block(&mut long)),
        Some(ClientStorageOp::ReplaceWithSnapshot { .. })
    ));
}

#[test]
fn a_refused_upgrade_is_the_same_typed_refusal_as_on_an_open_connection() {
    let refusal = |code, retry_after_ms| {
        ClientInput::ConnectRefused(HttpRefusal {
            code,
            message: "no".into(),
            retry_after_ms,
        })
    };
    let mut s = session();
    s.handle(NOW, ClientInput::GoOnline);
    let outs = s.handle(NOW, refusal(ErrorCode::AuthFailed, None));
    assert!(outs.iter().any(|o| matches!(
        o,
        ClientOutput::Event(ClientEvent::Refused {
            code: ErrorCode::AuthFailed,
            retry_at_ms: None,
            ..
        })
    )));
    assert_eq!(
        s.stopped(),
        Some(&Stopped::NeedsToken(ErrorCode::AuthFailed))
    );

    let mut s = session();
    s.handle(NOW, ClientInput::GoOnline);
    let outs = s.handle(NOW, refusal(ErrorCode::RateLimited, Some(7_000)));
    assert!(timer(&outs).is_some_and(|at| at >= NOW + 7_000));
    assert_eq!(s.stopped(), None);

    // Offline before the refusal arrived: nothing happens.
    let mut s = session();
    s.handle(NOW, ClientInput::GoOnline);
    s.handle(NOW, ClientInput::GoOffline);
    assert!(
        s.handle(NOW, refusal(ErrorCode::DocDeleted, None))
            .is_empty()
    );
    assert_eq!(s.stopped(), Some(&Stopped::Offline));
}

#[test]
fn heads_the_relay_acked_are_saved_as_shared_so_a_reconnect_sends_no_bloom_of_them() {
    let mut s = connected();
    let outs = add_block(&mut s);
    let Some(ClientOutput::Storage { task, .. }) = outs.first() else {
        panic!("an edit starts with its save: {outs:?}")
    };
    s.handle(
        NOW,
        ClientInput::StorageDone {
            task: *task,
            outcome: Ok(()),
        },
    );
    let heads = s.page_mut_for_read().doc_mut().get_heads();
    let ack = Message::Ack {
        sender_id: PeerId::from("relay"),
        target_id: PeerId::from("me"),
        document_id: DocumentId::from_bytes([1; 16]),
        heads: heads.iter().map(ToString::to_string).collect(),
    };
    let outs = s.handle(NOW, ClientInput::Frame(ack.encode()));
    let saved = outs.iter().find_map(|o| match o {
        ClientOutput::Storage {
            op: ClientStorageOp::PutSyncState { bytes, .. },
            ..
        } => Some(bytes.clone()),
        _ => None,
    });
    let state = automerge::sync::State::decode(&saved.expect("in sync: state saved")).unwrap();
    assert_eq!(state.shared_heads, heads);
}

#[test]
fn a_failed_save_stays_dirty_and_is_retried() {
    let mut s = session();
    let outs = add_block(&mut s);
    let ClientOutput::Storage { task, op } = outs[0].clone() else {
        unreachable!()
    };
    let outs = s.handle(
        NOW,
        ClientInput::StorageDone {
            task,
            outcome: Err("disk full".into()),
        },
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, ClientOutput::Event(ClientEvent::SaveFailed { .. })))
    );
    assert!(!s.is_saved());
    let at = timer(&outs).expect("a retry timer");
    let outs = s.handle(at, ClientInput::Timer);
    let retried = outs.iter().find_map(|o| match o {
        ClientOutput::Storage { op, .. } => Some(op.clone()),
        _ => None,
    });
    assert_eq!(retried, Some(op), "the same changes are written again");
}

#[test]
fn a_dropped_connection_reconnects_with_backoff() {
    let mut s = connected();
    let outs = s.handle(NOW, ClientInput::TransportClosed { code: None });
    let at = timer(&outs).expect("a reconnect timer");
    assert!(at > NOW && at <= NOW + 250);
    assert!(
        !s.handle(at - 1, ClientInput::Timer)
            .contains(&ClientOutput::Connect)
    );
    let outs = s.handle(at, ClientInput::Timer);
    assert!(outs.contains(&ClientOutput::Connect));
    // Failing again before any progress waits longer: the second delay is in [250, 500].
    let outs = s.handle(at, ClientInput::TransportClosed { code: None });
    let second = timer(&outs).expect("another reconnect timer") - at;
    assert!((250..=500).contains(&second), "{second}");
}

#[test]
fn an_expired_token_stops_until_a_new_one_arrives() {
    let mut s = connected();
    let outs = refuse(&mut s, ErrorCode::TokenExpired, None);
    assert!(outs.iter().any(|o| matches!(
        o,
        ClientOutput::Event(ClientEvent::Refused {
            code: ErrorCode::TokenExpired,
            retry_at_ms: None,
            ..
        })
    )));
    assert_eq!(
        s.stopped(),
        Some(&Stopped::NeedsToken(ErrorCode::TokenExpired))
    );
    assert!(timer(&outs).is_none(), "no reconnect with a dead token");
    assert_eq!(
        s.handle(NOW, ClientInput::TokenRefreshed),
        vec![ClientOutput::Connect]
    );
}

#[test]
fn rate_limits_pause_at_least_as_long_as_asked() {
    let mut s = connected();
    let outs = refuse(&mut s, ErrorCode::RateLimited, Some(7_000));
    let at = timer(&outs).expect("a retry");
    assert!(at >= NOW + 7_000);
    assert!(s.stopped().is_none());
}

#[test]
fn a_deleted_document_stops_syncing() {
    let mut s = connected();
    let outs = refuse(&mut s, ErrorCode::DocDeleted, None);
    assert_eq!(s.stopped(), Some(&Stopped::Refused(ErrorCode::DocDeleted)));
    assert!(timer(&outs).is_none());
    assert!(s.handle(NOW + 60_000, ClientInput::Timer).is_empty());
}
