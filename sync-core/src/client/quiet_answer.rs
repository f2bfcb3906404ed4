//! Receiving a sync message that says only "I have exactly your heads", without automerge's
//! `receive_sync_message`, which on such a message costs time in proportion to the whole
//! history: automerge 0.12 trims the hashes it sent by walking every ancestor of the peer's
//! heads (`ChangeGraph::remove_ancestors`), even when it sent none. That is ~7 ms on a
//! 100k-change document, on every reconnect of an in-sync device (P4) and on every answer the
//! relay sends. The state it would leave is known without the walk: the peer's heads are ours,
//! so every change we have is among their ancestors and nothing we sent is still unconfirmed.
//! Anything else (changes, flags, other heads) goes through automerge.

use automerge::ChangeHash;
use automerge::sync::{Message, State};

/// Updates `state` for `message` exactly as automerge 0.12's `receive_sync_message` would, if
/// the message carries no changes and no flags and its heads are `our_heads` (both non-empty).
/// Returns the message back otherwise, untouched, for automerge.
pub(super) fn receive_quiet(
    state: &mut State,
    message: Message,
    our_heads: &[ChangeHash],
) -> Result<(), Message> {
    let quiet = message.changes.is_empty()
        && message.flags.is_none()
        && !our_heads.is_empty()
        && message.heads == our_heads;
    if !quiet {
        return Err(message);
    }
    state.in_flight = false;
    // Every hash we sent is a change of ours, so an ancestor of (or one of) the peer's heads.
    state.sent_hashes.clear();
    state.last_sent_heads.clone_from(&message.heads);
    state.shared_heads.clone_from(&message.heads);
    state.their_have = Some(message.have);
    state.their_heads = Some(message.heads);
    state.their_need = Some(message.need);
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::sync::{self, SyncDoc};
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, transaction::Transactable};

    use super::*;

    /// A document of `n` changes, and a copy that has synced with it, with both states.
    fn synced(n: usize) -> (AutoCommit, AutoCommit, State, State) {
        let mut a = AutoCommit::new();
        let text = a.put_object(ROOT, "t", ObjType::Text).unwrap();
        for i in 0..n {
            a.splice_text(&text, i, 0, "x").unwrap();
            a.commit();
        }
        let mut b = AutoCommit::load(&a.save()).unwrap();
        let (mut sa, mut sb) = (State::new(), State::new());
        for _ in 0..10 {
            let ma = a.sync().generate_sync_message(&mut sa);
            if let Some(m) = ma.clone() {
                b.sync().receive_sync_message(&mut sb, m).unwrap();
            }
            let mb = b.sync().generate_sync_message(&mut sb);
            if let Some(m) = mb.clone() {
                a.sync().receive_sync_message(&mut sa, m).unwrap();
            }
            if ma.is_none() && mb.is_none() {
                break;
            }
        }
        (a, b, sa, sb)
    }

    fn same(x: &State, y: &State) {
        assert_eq!(x.shared_heads, y.shared_heads);
        assert_eq!(x.last_sent_heads, y.last_sent_heads);
        assert_eq!(x.their_heads, y.their_heads);
        assert_eq!(x.their_need, y.their_need);
        assert_eq!(x.their_have, y.their_have);
        assert_eq!(x.sent_hashes, y.sent_hashes);
        assert_eq!(x.in_flight, y.in_flight);
        assert_eq!(x.have_responded, y.have_responded);
        assert_eq!(x.their_capabilities, y.their_capabilities);
    }

    #[test]
    fn leaves_the_state_automerge_would_leave() {
        let (mut a, mut b, _, _) = synced(50);
        // A reconnect: b restored with only the shared heads, as the client persists them.
        let mut restored = State::new();
        restored.shared_heads = b.get_heads();
        let ask = b.sync().generate_sync_message(&mut restored).unwrap();
        // The relay's state for the new connection is fresh.
        let mut sa = State::new();
        a.sync().receive_sync_message(&mut sa, ask).unwrap();
        let mut answer = a.sync().generate_sync_message(&mut sa).unwrap();
        // The relay sends no flags (automerge's own peers advertise capabilities in them).
        answer.flags = None;
        assert!(answer.changes.is_empty() && answer.heads == b.get_heads());

        let mut by_automerge = restored.clone();
        b.sync()
            .receive_sync_message(&mut by_automerge, answer.clone())
            .unwrap();
        let mut ours = restored;
        let heads = b.get_heads();
        assert!(receive_quiet(&mut ours, answer, &heads).is_ok());
        same(&ours, &by_automerge);
        // And what each makes b send next.
        let next_ours = b.sync().generate_sync_message(&mut ours);
        let next_theirs = b.sync().generate_sync_message(&mut by_automerge);
        assert_eq!(
            next_ours.map(Message::encode),
            next_theirs.map(Message::encode)
        );
    }

    #[test]
    fn a_message_with_changes_or_other_heads_goes_to_automerge() {
        let (mut a, mut b, _, _) = synced(3);
        let text = a.get(ROOT, "t").unwrap().unwrap().1;
        a.splice_text(&text, 0, 0, "y").unwrap();
        a.commit();
        let mut fresh = State::new();
        let m = a.sync().generate_sync_message(&mut fresh).unwrap();
        let heads = b.get_heads();
        assert!(m.heads != heads);
        assert!(receive_quiet(&mut State::new(), m, &heads).is_err());
        let with_changes = Message {
            heads: heads.clone(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![a.get_last_local_change().unwrap().raw_bytes().to_vec()].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        assert!(receive_quiet(&mut State::new(), with_changes, &heads).is_err());
        assert!(receive_quiet(&mut State::new(), empty_with(Vec::new()), &[]).is_err());
    }

    fn empty_with(heads: Vec<ChangeHash>) -> Message {
        Message {
            heads,
            need: Vec::new(),
            have: Vec::new(),
            changes: Vec::<Vec<u8>>::new().into(),
            flags: None,
            version: sync::MessageVersion::V1,
        }
    }
}
