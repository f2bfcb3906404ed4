//! What goes before the local write: the frames of a local edit, and the event and answer for
//! changes from the relay (the latency other devices and the application see), and what goes
//! after everything (the sync-state write, which nothing waits for).

use automerge::sync::{self, ChunkList, MessageVersion};

use super::*;

/// The index of the first output that matches.
fn position(outs: &[ClientOutput], f: impl Fn(&ClientOutput) -> bool) -> usize {
    outs.iter()
        .position(f)
        .unwrap_or_else(|| panic!("no such output in {outs:?}"))
}

fn is_send(o: &ClientOutput) -> bool {
    matches!(o, ClientOutput::Send(b) if matches!(Message::decode(b), Ok(Message::Sync { .. })))
}

fn is_append(o: &ClientOutput) -> bool {
    matches!(
        o,
        ClientOutput::Storage {
            op: ClientStorageOp::AppendChanges { .. },
            ..
        }
    )
}

/// The relay forwarding one change of another device: a block added to the session's page.
fn remote_change() -> Vec<u8> {
    let mut page = Page::create([3; 16], "t");
    let mut other = Page::load(&page.doc_mut().save(), [5; 16]).unwrap();
    other
        .add_block(
            1,
            &BlockKind::Paragraph,
            "hi",
            &Target::End { parent: None },
        )
        .unwrap();
    let change = other.doc_mut().get_last_local_change().unwrap().clone();
    let message = sync::Message {
        heads: other.doc_mut().get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: ChunkList::from(vec![change.raw_bytes().to_vec()]),
        flags: None,
        version: MessageVersion::V1,
    };
    Message::Sync {
        document_id: doc_id(),
        sender_id: PeerId::from("relay"),
        target_id: PeerId::from("me"),
        data: message.encode(),
    }
    .encode()
}

#[test]
fn a_local_edit_goes_to_the_relay_before_its_write_and_counts_as_saved_after_it() {
    let mut s = connected();
    let outs = add_block(&mut s);
    assert!(position(&outs, is_send) < position(&outs, is_append));
    assert!(!s.is_saved(), "sent is not saved");
    let (task, _) = first_storage(&outs).unwrap();
    s.handle(NOW, done(task));
    assert!(s.is_saved());
}

#[test]
fn a_batch_goes_to_the_relay_before_its_write() {
    let mut s = connected();
    let edits = vec![
        PageEdit::SetTitle { title: "a".into() },
        PageEdit::SetTitle { title: "b".into() },
    ];
    let (applied, outs) = s.apply_batch(NOW, &edits);
    assert_eq!(applied.unwrap().len(), 2);
    assert!(position(&outs, is_send) < position(&outs, is_append));
}

#[test]
fn changes_from_the_relay_are_shown_and_answered_before_they_are_stored() {
    let mut s = connected();
    let outs = s.handle(NOW, ClientInput::Frame(remote_change()));
    let shown = position(&outs, |o| {
        matches!(o, ClientOutput::Event(ClientEvent::RemoteChange))
    });
    let answered = position(&outs, is_send);
    let stored = position(&outs, is_append);
    assert!(shown < answered && answered < stored, "{outs:?}");
    assert_eq!(s.view().blocks.len(), 1);
    assert!(!s.is_saved());
    let (task, _) = first_storage(&outs).unwrap();
    s.handle(NOW, done(task));
    assert!(s.is_saved());
}

#[test]
fn in_sync_is_shown_before_the_sync_state_is_written() {
    let mut s = connected();
    let outs = add_block(&mut s);
    let (task, _) = first_storage(&outs).unwrap();
    s.handle(NOW, done(task));
    let ack = Message::Ack {
        sender_id: PeerId::from("relay"),
        target_id: PeerId::from("me"),
        document_id: doc_id(),
        heads: s.heads().iter().map(ToString::to_string).collect(),
    };
    let outs = s.handle(NOW, ClientInput::Frame(ack.encode()));
    let event = position(&outs, |o| {
        matches!(o, ClientOutput::Event(ClientEvent::InSync))
    });
    let status = position(
        &outs,
        |o| matches!(o, ClientOutput::Status(st) if st.sync == SyncStatus::InSync),
    );
    let written = position(&outs, |o| {
        matches!(
            o,
            ClientOutput::Storage {
                op: ClientStorageOp::PutSyncState { .. },
                ..
            }
        )
    });
    assert!(event < written && status < written, "{outs:?}");
}
