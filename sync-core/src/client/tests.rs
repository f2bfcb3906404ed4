//! Unit tests of the client session's decisions. Convergence is the simulator's job.

use super::*;
use crate::model::{BlockKind, Page, PageEdit, Target};
use crate::protocol::{
    DocumentId, ErrorCode, HttpRefusal, Message, PeerId, PeerMetadata, StorageId,
};

const NOW: u64 = 5_000;

fn config() -> ClientConfig {
    ClientConfig::new(PeerId::from("me"), StorageId::from("my-store"))
}

fn doc_id() -> DocumentId {
    DocumentId::from_bytes([1; 16])
}

/// A loaded session over a page with a title, saved as `chunks` chunks.
fn session_with_chunks(chunks: u32) -> DocSync {
    let mut page = Page::create([3; 16], "t");
    let stored = StoredDoc {
        bytes: page.doc_mut().save(),
        chunks,
        sync_states: Default::default(),
    };
    DocSync::loaded(config(), doc_id(), stored, [9; 16]).0
}

fn session() -> DocSync {
    session_with_chunks(1)
}

fn add_block(s: &mut DocSync) -> Vec<ClientOutput> {
    let edit = PageEdit::AddBlock {
        kind: BlockKind::Paragraph,
        text: "x".into(),
        target: Target::End { parent: None },
    };
    s.apply(NOW, &edit).unwrap().1
}

fn connects(outs: &[ClientOutput]) -> bool {
    outs.iter()
        .any(|o| matches!(o, ClientOutput::Connect { .. }))
}

fn status(outs: &[ClientOutput]) -> Option<&ClientStatus> {
    outs.iter().rev().find_map(|o| match o {
        ClientOutput::Status(s) => Some(s),
        _ => None,
    })
}

fn peer_frame() -> Vec<u8> {
    Message::Peer {
        sender_id: PeerId::from("relay"),
        selected_protocol_version: "1".into(),
        target_id: PeerId::from("me"),
        metadata: Some(PeerMetadata {
            storage_id: Some(StorageId::from("relay")),
            is_ephemeral: false,
            reads_acks: false,
        }),
    }
    .encode()
}

/// Online and past the handshake.
fn connected() -> DocSync {
    let mut s = session();
    assert!(connects(&s.handle(NOW, ClientInput::GoOnline)));
    let outs = s.handle(NOW, ClientInput::TransportOpened);
    assert!(outs.iter().any(|o| matches!(o, ClientOutput::Send(b)
        if matches!(Message::decode(b), Ok(Message::Join { .. })))));
    let outs = s.handle(NOW, ClientInput::Frame(peer_frame()));
    assert!(outs.contains(&ClientOutput::Event(ClientEvent::Connected)));
    s
}

#[test]
fn the_join_declares_that_the_session_reads_acks() {
    let mut s = session();
    s.handle(NOW, ClientInput::GoOnline);
    let outs = s.handle(NOW, ClientInput::TransportOpened);
    let join = outs.iter().find_map(|o| match o {
        ClientOutput::Send(b) => match Message::decode(b) {
            Ok(Message::Join { metadata, .. }) => Some(metadata),
            _ => None,
        },
        _ => None,
    });
    // The relay acks only peers that say so, and acks are how the session knows it is in sync.
    assert!(
        matches!(
            join,
            Some(Some(PeerMetadata {
                reads_acks: true,
                ..
            }))
        ),
        "{join:?}"
    );
}

fn closed(code: Option<u16>) -> ClientInput {
    ClientInput::TransportClosed {
        code,
        reason: String::new(),
    }
}

fn refuse(s: &mut DocSync, code: ErrorCode, retry_after_ms: Option<u64>) -> Vec<ClientOutput> {
    let err = Message::Error {
        message: "no".into(),
        code: Some(code),
        retry_after_ms,
    };
    let mut outs = s.handle(NOW, ClientInput::Frame(err.encode()));
    outs.extend(s.handle(NOW, closed(Some(code.close_code()))));
    outs
}

fn timer(outs: &[ClientOutput]) -> Option<u64> {
    outs.iter().rev().find_map(|o| match o {
        ClientOutput::SetTimer { at_ms } => Some(*at_ms),
        _ => None,
    })
}

fn done(task: crate::io::TaskId) -> ClientInput {
    ClientInput::StorageDone {
        task,
        outcome: Ok(StorageReply::Done),
    }
}

fn first_storage(outs: &[ClientOutput]) -> Option<(crate::io::TaskId, &ClientStorageOp)> {
    outs.iter().find_map(|o| match o {
        ClientOutput::Storage { task, op } => Some((*task, op)),
        _ => None,
    })
}

#[test]
fn an_opened_session_asks_the_store_first_and_goes_online_once_loaded() {
    let (mut s, outs) = DocSync::open(config(), doc_id(), [4; 16]);
    let (task, op) = first_storage(&outs).expect("a load");
    assert_eq!(op, &ClientStorageOp::Load { doc: doc_id() });
    assert_eq!(status(&outs).unwrap().sync, SyncStatus::Loading);
    assert!(matches!(
        s.apply(NOW, &PageEdit::SetTitle { title: "x".into() }),
        Err(ApplyError::NotLoaded)
    ));
    // Online before the load answered: the connect waits for the page.
    assert!(!connects(&s.handle(NOW, ClientInput::GoOnline)));
    let mut page = Page::create([5; 16], "stored");
    let stored = StoredDoc {
        bytes: page.doc_mut().save(),
        chunks: 1,
        sync_states: Default::default(),
    };
    let outs = s.handle(
        NOW,
        ClientInput::StorageDone {
            task,
            outcome: Ok(StorageReply::Loaded(stored)),
        },
    );
    assert!(outs.contains(&ClientOutput::Event(ClientEvent::Loaded)));
    assert!(connects(&outs));
    assert_eq!(s.page().title(), "stored");
    assert_eq!(status(&outs).unwrap().sync, SyncStatus::Connecting);
}

#[test]
fn a_failed_load_is_retried_but_undecodable_bytes_are_not() {
    let (mut s, outs) = DocSync::open(config(), doc_id(), [4; 16]);
    let (task, _) = first_storage(&outs).unwrap();
    let outs = s.handle(
        NOW,
        ClientInput::StorageDone {
            task,
            outcome: Err("locked".into()),
        },
    );
    assert!(matches!(
        status(&outs).unwrap().sync,
        SyncStatus::LoadFailed { .. }
    ));
    let at = timer(&outs).expect("a retry");
    let outs = s.handle(at, ClientInput::Timer);
    let (task, op) = first_storage(&outs).expect("loads again");
    assert!(matches!(op, ClientStorageOp::Load { .. }));
    let garbage = StoredDoc {
        bytes: b"not automerge".to_vec(),
        chunks: 1,
        sync_states: Default::default(),
    };
    let outs = s.handle(
        NOW,
        ClientInput::StorageDone {
            task,
            outcome: Ok(StorageReply::Loaded(garbage)),
        },
    );
    let st = status(&outs).unwrap();
    assert!(st.sync.is_final(), "{st:?}");
    assert!(timer(&outs).is_none(), "no retry of bytes that cannot load");
    assert!(
        first_storage(&outs).is_none(),
        "nothing is written over them"
    );
}

#[test]
fn a_created_page_is_stored_whole_before_it_counts_as_saved() {
    let (mut s, outs) = DocSync::create(config(), doc_id(), "new", [4; 16]);
    let (task, op) = first_storage(&outs).expect("a write");
    assert!(matches!(op, ClientStorageOp::ReplaceWithSnapshot { .. }));
    assert!(status(&outs).unwrap().unsaved);
    let outs = s.handle(NOW, done(task));
    assert!(!status(&outs).unwrap().unsaved);
    assert_eq!(s.page().title(), "new");
}

#[test]
fn an_edit_carries_the_write_that_makes_it_durable() {
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
    let (task, _) = first_storage(&outs).unwrap();
    s.handle(NOW, done(task));
    assert!(s.is_saved());
}

#[test]
fn apply_returns_the_new_block_id() {
    let mut s = session();
    let edit = PageEdit::AddBlock {
        kind: BlockKind::Todo { checked: false },
        text: "milk".into(),
        target: Target::End { parent: None },
    };
    let (applied, _) = s.apply(NOW, &edit).unwrap();
    let id = applied.created.expect("an id");
    assert_eq!(s.view().blocks[0].id, id.to_string());
    let (again, _) = s.apply(NOW, &edit).unwrap();
    assert_ne!(again.created, Some(id), "each block gets a fresh id");
}

#[test]
fn a_long_stored_chain_is_folded_into_a_snapshot_at_the_next_save() {
    let limit = config().compact_after_saves;
    let mut short = session_with_chunks(limit);
    assert!(matches!(
        first_storage(&add_block(&mut short)),
        Some((_, ClientStorageOp::AppendChanges { .. }))
    ));
    let mut long = session_with_chunks(limit + 1);
    assert!(matches!(
        first_storage(&add_block(&mut long)),
        Some((_, ClientStorageOp::ReplaceWithSnapshot { .. }))
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
    // The provider is being asked: not final yet.
    assert_eq!(
        status(&outs).unwrap().sync,
        SyncStatus::RefreshingToken {
            code: ErrorCode::AuthFailed
        }
    );
    assert!(!s.status().sync.is_final());
    // It has nothing: the refusal is final, with the relay's words.
    let outs = s.handle(NOW, ClientInput::TokenUnavailable);
    assert_eq!(
        status(&outs).unwrap().sync,
        SyncStatus::TokenNeeded {
            code: ErrorCode::AuthFailed,
            message: "no".into()
        }
    );

    let mut s = session();
    s.handle(NOW, ClientInput::GoOnline);
    let outs = s.handle(NOW, refusal(ErrorCode::RateLimited, Some(7_000)));
    assert!(timer(&outs).is_some_and(|at| at >= NOW + 7_000));
    assert_eq!(s.stopped(), None);
    assert!(matches!(
        status(&outs).unwrap().sync,
        SyncStatus::Retrying {
            code: Some(ErrorCode::RateLimited),
            ..
        }
    ));

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
    let (task, _) = first_storage(&outs).expect("an edit starts with its save");
    s.handle(NOW, done(task));
    let heads = s.heads();
    let ack = Message::Ack {
        sender_id: PeerId::from("relay"),
        target_id: PeerId::from("me"),
        document_id: doc_id(),
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
    assert_eq!(status(&outs).unwrap().sync, SyncStatus::InSync);
}

#[test]
fn a_failed_save_stays_dirty_and_is_retried() {
    let mut s = session();
    let outs = add_block(&mut s);
    let (task, op) = first_storage(&outs).unwrap();
    let op = op.clone();
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
    let st = status(&outs).unwrap();
    assert!(st.unsaved);
    assert_eq!(st.save_error.as_deref(), Some("disk full"));
    assert!(!s.is_saved());
    let at = timer(&outs).expect("a retry timer");
    let outs = s.handle(at, ClientInput::Timer);
    assert_eq!(
        first_storage(&outs).map(|(_, op)| op.clone()),
        Some(op),
        "the same changes are written again"
    );
}

#[test]
fn a_dropped_connection_reconnects_with_backoff() {
    let mut s = connected();
    let outs = s.handle(NOW, closed(None));
    let at = timer(&outs).expect("a reconnect timer");
    assert!(at > NOW && at <= NOW + 250);
    assert!(matches!(
        status(&outs).unwrap().sync,
        SyncStatus::Retrying { at_ms, .. } if at_ms == at
    ));
    assert!(!connects(&s.handle(at - 1, ClientInput::Timer)));
    assert!(connects(&s.handle(at, ClientInput::Timer)));
    // Failing again before any progress waits longer: the second delay is in [250, 500].
    let outs = s.handle(at, closed(None));
    let second = timer(&outs).expect("another reconnect timer") - at;
    assert!((250..=500).contains(&second), "{second}");
}

#[test]
fn a_connect_that_never_answers_times_out_and_backs_off() {
    let mut s = session();
    let outs = s.handle(NOW, ClientInput::GoOnline);
    let deadline = timer(&outs).expect("the connect deadline");
    assert_eq!(deadline, NOW + config().connect_timeout_ms);
    let outs = s.handle(deadline, ClientInput::Timer);
    assert!(outs.contains(&ClientOutput::Disconnect));
    assert!(matches!(
        status(&outs).unwrap().sync,
        SyncStatus::Retrying { ref message, .. } if message.contains("did not answer")
    ));
    // The handshake has its own deadline: an open socket that never says `peer` fails too.
    let at = timer(&outs).unwrap();
    assert!(connects(&s.handle(at, ClientInput::Timer)));
    s.handle(at + 10, ClientInput::TransportOpened);
    let deadline = at + 10 + config().connect_timeout_ms;
    assert!(
        !s.handle(deadline - 1, ClientInput::Timer)
            .contains(&ClientOutput::Disconnect)
    );
    let outs = s.handle(deadline, ClientInput::Timer);
    assert!(outs.contains(&ClientOutput::Disconnect));
}

#[test]
fn an_expired_token_asks_the_provider_once_then_waits_for_the_application() {
    let mut s = connected();
    let outs = refuse(&mut s, ErrorCode::TokenExpired, None);
    assert!(outs.contains(&ClientOutput::TokenNeeded {
        code: ErrorCode::TokenExpired
    }));
    assert_eq!(
        s.stopped(),
        Some(&Stopped::NeedsToken(ErrorCode::TokenExpired))
    );
    assert!(timer(&outs).is_none(), "no reconnect with a dead token");
    let outs = s.handle(NOW, ClientInput::Token("fresh".into()));
    assert!(outs.contains(&ClientOutput::Connect {
        token: Some("fresh".into())
    }));
    // The fresh token is refused too: no second ask, no loop; the status says why.
    let outs = s.handle(
        NOW,
        ClientInput::ConnectRefused(HttpRefusal {
            code: ErrorCode::AuthFailed,
            message: "bad signature".into(),
            retry_after_ms: None,
        }),
    );
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, ClientOutput::TokenNeeded { .. }))
    );
    assert!(status(&outs).unwrap().sync.is_final());
    // A token the application supplies later is tried, and a good session resets the streak.
    s.handle(NOW, ClientInput::Token("right".into()));
    s.handle(NOW, ClientInput::TransportOpened);
    s.handle(NOW, ClientInput::Frame(peer_frame()));
    let outs = refuse(&mut s, ErrorCode::TokenExpired, None);
    assert!(outs.contains(&ClientOutput::TokenNeeded {
        code: ErrorCode::TokenExpired
    }));
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
    assert_eq!(
        s.status().sync,
        SyncStatus::Refused {
            code: ErrorCode::DocDeleted,
            message: "no".into()
        }
    );
}

#[test]
fn status_serializes_to_the_documented_json() {
    let mut s = connected();
    let outs = s.handle(NOW, closed(None));
    let json = serde_json::to_value(status(&outs).unwrap()).unwrap();
    assert_eq!(json["sync"]["state"], "retrying");
    assert!(json["sync"]["atMs"].is_u64());
    assert_eq!(json["unsaved"], false);
    let refused = SyncStatus::Refused {
        code: ErrorCode::DocDeleted,
        message: "gone".into(),
    };
    assert_eq!(
        serde_json::to_string(&refused).unwrap(),
        r#"{"state":"refused","code":"doc_deleted","message":"gone"}"#
    );
    // And it reads back, for shells that pass a status between contexts.
    let back: ClientStatus = serde_json::from_value(json).unwrap();
    assert_eq!(&back, status(&outs).unwrap());
    let back: SyncStatus =
        serde_json::from_str(r#"{"state":"refused","code":"doc_deleted","message":"gone"}"#)
            .unwrap();
    assert_eq!(back, refused);
    assert!(
        serde_json::from_str::<SyncStatus>(r#"{"state":"refused","code":"nope","message":""}"#)
            .is_err()
    );
}

#[test]
fn the_repo_lists_titles_and_parses_urls() {
    let repo = Repo::new(config());
    let (mut s, _) = repo.create("Groceries", [1; 16], [2; 16]);
    let stored = StoredDoc {
        bytes: s.page.doc_mut().save(),
        chunks: 1,
        sync_states: Default::default(),
    };
    let summary = Repo::summarize(s.doc_id(), &stored);
    assert_eq!(summary.title, "Groceries");
    assert_eq!(Repo::parse_url(&summary.url).unwrap(), s.doc_id());
    assert!(Repo::parse_url("automerge:nope").is_err());
    assert_eq!(Repo::summarize(s.doc_id(), &StoredDoc::default()).title, "");
}

mod keepalive;
mod write_order;
