//! The sync protocol answered from the change graph: the relay's side of automerge's
//! `generate_sync_message` / `receive_sync_message`, step for step, with graph indices where
//! automerge uses hashes and document lookups. The per-peer state is a few head lists, the
//! peer's last `have`, and a bitset of what it was sent.
//!
//! The relay never advertises message flags. Without them a peer never believes the relay takes
//! version-2 messages, so it never sends a whole document (which the relay could only take by
//! loading it); it sends changes. The relay itself may send a version-2 message (the first-sync
//! snapshot) to a peer that advertised flags: any automerge that sends flags reads those.

use std::collections::VecDeque;

use automerge::ChangeHash;
use automerge::sync::{BloomFilter, Have, MessageFlags, State};

use super::{Bitset, ChangeGraph};

/// What to send a peer: a sync message whose changes are graph indices (the room fills in
/// their bytes), optionally preceded by the room's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outgoing {
    pub(crate) heads: Vec<ChangeHash>,
    pub(crate) need: Vec<ChangeHash>,
    pub(crate) have: Vec<Have>,
    pub(crate) changes: Vec<u32>,
    /// Send the snapshot first, as one version-2 message with the changes after it.
    pub(crate) snapshot: bool,
}

/// One peer's sync state. See automerge's `sync::State` for the meaning of each field.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerSync {
    shared_heads: Vec<ChangeHash>,
    last_sent_heads: Vec<ChangeHash>,
    their_heads: Option<Vec<ChangeHash>>,
    their_need: Option<Vec<ChangeHash>>,
    their_have: Option<Vec<Have>>,
    sent: Bitset,
    in_flight: bool,
    /// When changes last went out, if the peer has not answered since. New changes wait for
    /// its answer (for at most the room's `reply_hold_ms`) and then go out together: a slow
    /// peer gets fewer, larger messages instead of a queue it cannot drain. The bound is for
    /// a peer that does not answer (one sent changes it already had, say).
    awaiting_reply: Option<u64>,
    /// Something was held back for the answer.
    held: bool,
    have_responded: bool,
    /// The peer sends flags, so it reads version-2 messages.
    v2: bool,
    peer_read_only: bool,
    /// Changes chosen for the peer and not sent yet: a big answer goes out one batch per
    /// round trip, so the room never holds all of it encoded at once.
    backlog: VecDeque<u32>,
}

impl PeerSync {
    /// What survives hibernation: the shared heads, in automerge's own encoding.
    pub(crate) fn encode(&self) -> Vec<u8> {
        State {
            shared_heads: self.shared_heads.clone(),
            ..State::default()
        }
        .encode()
    }

    /// The state a reattached connection resumes with (as automerge's `State::decode`).
    pub(crate) fn decode(bytes: &[u8]) -> Self {
        let shared_heads = State::decode(bytes)
            .map(|s| s.shared_heads)
            .unwrap_or_default();
        Self {
            shared_heads,
            their_have: Some(Vec::new()),
            ..Self::default()
        }
    }

    pub(crate) fn their_heads(&self) -> &[ChangeHash] {
        self.their_heads.as_deref().unwrap_or_default()
    }

    pub(crate) fn take_backlog(&mut self, graph: &ChangeGraph, max_bytes: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(&i) = self.backlog.front() {
            let len = graph.len_of(i);
            if !out.is_empty() && bytes + len > max_bytes {
                break;
            }
            bytes += len;
            out.push(i);
            self.backlog.pop_front();
        }
        out
    }

    pub(crate) fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// First half of receiving a message, before its changes are ingested.
    pub(crate) fn begin_receive(&mut self, flags: Option<MessageFlags>) {
        self.in_flight = false;
        self.awaiting_reply = None;
        if let Some(flags) = flags {
            self.v2 = true;
            if flags.contains(MessageFlags::SYNC_RESET) {
                self.sent.clear();
                self.backlog.clear();
            }
            self.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
        }
    }

    /// Second half, once the message's changes are in the graph (or queued for their deps).
    pub(crate) fn finish_receive(
        &mut self,
        graph: &ChangeGraph,
        before_heads: &[ChangeHash],
        had_changes: bool,
        heads: Vec<ChangeHash>,
        need: Vec<ChangeHash>,
        have: Vec<Have>,
    ) {
        let after = graph.heads();
        if had_changes {
            self.shared_heads = advance_heads(before_heads, &after, &self.shared_heads);
        }
        let known: Vec<u32> = heads.iter().filter_map(|h| graph.index_of(h)).collect();
        if known.len() == heads.len() {
            graph.remove_ancestors(&known, &mut self.sent);
        }
        if !had_changes && heads == before_heads {
            self.last_sent_heads.clone_from(&heads);
        }
        if known.len() == heads.len() {
            self.shared_heads.clone_from(&heads);
            if heads.is_empty() {
                // The peer lost everything: start over.
                self.last_sent_heads = Vec::new();
                self.sent.clear();
                self.backlog.clear();
            }
        } else {
            let mut shared = self.shared_heads.clone();
            shared.extend(heads.iter().filter(|h| graph.contains(h)));
            shared.sort();
            shared.dedup();
            self.shared_heads = shared;
        }
        self.their_have = Some(have);
        self.their_heads = Some(heads);
        self.their_need = Some(need);
    }

    /// The next message for the peer, if any (automerge's `generate_sync_message`). `our_need`
    /// is what the room lacks to reach the peer's heads; `snapshot` whether the room has a
    /// snapshot to offer a peer that has nothing.
    pub(crate) fn generate(
        &mut self,
        graph: &ChangeGraph,
        our_need: Vec<ChangeHash>,
        snapshot: bool,
        now: u64,
        hold_ms: u64,
    ) -> Option<Outgoing> {
        let holding = self.awaiting_reply.is_some_and(|at| now < at + hold_ms);
        if !holding {
            // Whatever was held goes out now, or turned out not to be needed: either way the
            // hold's timer has nothing left to do.
            self.held = false;
        }
        let our_heads = graph.heads();
        let their_heads = self.their_heads.clone().unwrap_or_default();
        // Their heads may have reached the graph after their message was received (the room
        // admits changes once quota allows): then they are shared now, as automerge would have
        // recorded had it applied them on receipt. Without this the `have` below would cover
        // everything since an old point, every time.
        if !their_heads.is_empty()
            && self.shared_heads != their_heads
            && their_heads.iter().all(|h| graph.contains(h))
        {
            self.shared_heads.clone_from(&their_heads);
        }
        let our_have = if our_need.iter().all(|h| their_heads.contains(h)) {
            vec![self.bloom(graph)]
        } else {
            Vec::new()
        };
        if let Some(first) = self.their_have.as_ref().and_then(|h| h.first())
            && !first.last_sync.iter().all(|h| graph.contains(h))
        {
            // The peer's idea of what we share names changes we do not have: reset.
            return Some(Outgoing {
                heads: our_heads,
                need: Vec::new(),
                have: vec![Have::default()],
                changes: Vec::new(),
                snapshot: false,
            });
        }
        let mut send_snapshot = false;
        let changes: Vec<u32> = if self.peer_read_only || holding {
            Vec::new()
        } else if let (Some(have), Some(need)) = (&self.their_have, &self.their_need) {
            if snapshot
                && self.v2
                && self.their_heads.as_deref() == Some(&[])
                && self.sent.is_empty()
            {
                send_snapshot = true;
                Vec::new()
            } else {
                hashes_to_send(graph, have, need)
                    .into_iter()
                    .filter(|i| !self.sent.contains(*i))
                    .collect()
            }
        } else {
            Vec::new()
        };
        let empty = changes.is_empty() && !send_snapshot;
        if empty && our_need.is_empty() && holding {
            // Held until the peer answers (see `awaiting_reply`).
            self.held = true;
            return None;
        }
        let heads_unchanged = self.last_sent_heads == our_heads;
        let heads_equal = self.their_heads.as_ref() == Some(&our_heads);
        if heads_unchanged && self.have_responded && ((heads_equal && empty) || self.in_flight) {
            return None;
        }
        self.have_responded = true;
        self.last_sent_heads.clone_from(&our_heads);
        if send_snapshot {
            for i in 0..graph.len() as u32 {
                self.sent.insert(i);
            }
        }
        for &i in &changes {
            self.sent.insert(i);
        }
        self.in_flight = true;
        self.held = false;
        self.awaiting_reply = (!empty).then_some(now);
        Some(Outgoing {
            heads: our_heads,
            need: our_need,
            have: our_have,
            changes,
            snapshot: send_snapshot,
        })
    }

    /// When held changes go out even without an answer (see `awaiting_reply`).
    pub(crate) fn hold_expires(&self, hold_ms: u64) -> Option<u64> {
        self.held
            .then_some(self.awaiting_reply?)
            .map(|at| at + hold_ms)
    }

    /// Keeps `rest` (already marked sent) for the next round trip.
    pub(crate) fn defer(&mut self, rest: impl IntoIterator<Item = u32>) {
        self.backlog.extend(rest);
    }

    fn bloom(&self, graph: &ChangeGraph) -> Have {
        let base: Vec<u32> = self
            .shared_heads
            .iter()
            .filter_map(|h| graph.index_of(h))
            .collect();
        let since = graph.not_ancestors(&base);
        Have {
            last_sync: self.shared_heads.clone(),
            bloom: BloomFilter::from_hashes(since.iter().map(|i| graph.hash(*i))),
        }
    }
}

/// What the peer lacks according to its `have` and `need` (automerge's `get_hashes_to_send`):
/// the changes since its last sync that miss all its bloom filters, every change that depends
/// on one of those, and what it asked for by name. Ascending, so deps come first.
fn hashes_to_send(graph: &ChangeGraph, have: &[Have], need: &[ChangeHash]) -> Vec<u32> {
    let need: Vec<u32> = need.iter().filter_map(|h| graph.index_of(h)).collect();
    if have.is_empty() {
        return need;
    }
    let mut last_sync: Vec<u32> = have
        .iter()
        .flat_map(|h| h.last_sync.iter())
        .filter_map(|h| graph.index_of(h))
        .collect();
    last_sync.sort_unstable();
    last_sync.dedup();
    let candidates = graph.not_ancestors(&last_sync);
    // One pass in topological order: a change is sent if no filter has it, or if one of its
    // deps is sent (a dependent of something the peer lacks cannot be applied without it).
    let mut to_send = Bitset::default();
    for &i in &candidates {
        let missing = have.iter().all(|h| !h.bloom.contains_hash(&graph.hash(i)));
        if missing || graph.deps(i).iter().any(|d| to_send.contains(*d)) {
            to_send.insert(i);
        }
    }
    let mut out: Vec<u32> = need.into_iter().filter(|i| !to_send.contains(*i)).collect();
    out.extend(candidates.into_iter().filter(|i| to_send.contains(*i)));
    out
}

/// automerge's `advance_heads`: our new heads plus the old shared heads we still have as heads.
fn advance_heads(
    old_heads: &[ChangeHash],
    new_heads: &[ChangeHash],
    shared: &[ChangeHash],
) -> Vec<ChangeHash> {
    let mut out: Vec<ChangeHash> = new_heads
        .iter()
        .filter(|h| !old_heads.contains(h))
        .chain(shared.iter().filter(|h| new_heads.contains(h)))
        .copied()
        .collect();
    out.sort();
    out.dedup();
    out
}
