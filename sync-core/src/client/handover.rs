//! One store, several contexts: when the tabs and workers of a browser origin share one
//! database, one of them leads (runs the client) and the others send it their calls. This is a
//! follower's ledger of those calls across changes of leader, so that no call is dropped or
//! carried out twice. The shell carries the messages (`client-wasm/src/tabs/`).
//!
//! A call is queued (no leader known, or the last one resigned), sent to a named leader, or
//! accepted by it: a leader accepts a call in the same step it starts it, so a call it never
//! accepted was never started. When the leader changes:
//! - a call the old leader never accepted goes to the new one;
//! - an accepted call that is harmless to repeat ([`Repeatable`]: a read, a status change)
//!   goes to the new one too;
//! - an accepted call that is not (an edit, a create) is [`Unanswered::Lost`]: the old leader
//!   may have carried it out before it vanished, and doing it again could do it twice, so the
//!   application must look before repeating it.
//!
//! A leader that closes cleanly answers every call it accepted (or tells the follower to send
//! it again later) and then resigns, so its calls never become lost.

use std::collections::BTreeMap;

/// Whether carrying a call out twice is harmless.
pub trait Repeatable {
    /// True for calls whose second run changes nothing the first did not (reads, setting a
    /// state); false for edits and creations.
    fn repeatable(&self) -> bool;
}

/// How a call ended when no leader will answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// A leader started it and vanished: it may or may not have been carried out.
    Lost,
    /// It was never started, or is harmless to repeat: carry it out elsewhere (this context,
    /// now leading).
    Again,
}

/// A call to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing<C> {
    /// The call's sequence number, echoed by the leader's acceptance and answer.
    pub seq: u64,
    /// The leader.
    pub to: String,
    /// The call.
    pub call: C,
}

/// Why a call was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {0} calls wait for the leader")]
pub struct Full(
    /// The bound.
    pub usize,
);

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Queued,
    Sent { to: String, accepted: bool },
}

#[derive(Debug)]
struct Entry<C> {
    call: C,
    state: State,
}

/// A follower's calls. Feed it what arrives from the leaders; send what it returns.
#[derive(Debug)]
pub struct CallLedger<C> {
    leader: Option<String>,
    next_seq: u64,
    calls: BTreeMap<u64, Entry<C>>,
    max_pending: usize,
}

/// What a change of leader asks of the shell.
#[derive(Debug, PartialEq, Eq)]
pub struct Handover<C> {
    /// Calls that end here: reject them.
    pub lost: Vec<u64>,
    /// Calls to send to the new leader.
    pub send: Vec<Outgoing<C>>,
}

impl<C: Clone + Repeatable> CallLedger<C> {
    /// An empty ledger that holds at most `max_pending` calls.
    pub fn new(max_pending: usize) -> Self {
        Self {
            leader: None,
            next_seq: 0,
            calls: BTreeMap::new(),
            max_pending,
        }
    }

    /// The leader calls go to, if one is known.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// How many calls wait.
    pub fn pending(&self) -> usize {
        self.calls.len()
    }

    /// A new call: its sequence number, and what to send now (nothing until a leader is
    /// known).
    pub fn call(&mut self, call: C) -> Result<(u64, Option<Outgoing<C>>), Full> {
        if self.calls.len() >= self.max_pending {
            return Err(Full(self.max_pending));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let (state, send) = match &self.leader {
            Some(to) => (
                State::Sent {
                    to: to.clone(),
                    accepted: false,
                },
                Some(Outgoing {
                    seq,
                    to: to.clone(),
                    call: call.clone(),
                }),
            ),
            None => (State::Queued, None),
        };
        self.calls.insert(seq, Entry { call, state });
        Ok((seq, send))
    }

    /// Leader `from` started call `seq`.
    pub fn on_accepted(&mut self, from: &str, seq: u64) {
        if let Some(e) = self.calls.get_mut(&seq)
            && let State::Sent { to, accepted } = &mut e.state
            && to == from
        {
            *accepted = true;
        }
    }

    /// Leader `from` answered call `seq`: true when that settles one of ours (an answer from
    /// a leader the call was not sent to is ignored).
    pub fn on_answer(&mut self, from: &str, seq: u64) -> bool {
        let ours = self
            .calls
            .get(&seq)
            .is_some_and(|e| matches!(&e.state, State::Sent { to, .. } if to == from));
        if ours {
            self.calls.remove(&seq);
        }
        ours
    }

    /// Leader `from` is closing and did not carry call `seq` out: it waits for the next one.
    pub fn on_retry(&mut self, from: &str, seq: u64) {
        if let Some(e) = self.calls.get_mut(&seq)
            && matches!(&e.state, State::Sent { to, .. } if to == from)
        {
            e.state = State::Queued;
        }
    }

    /// `id` leads now (an announcement; repeated ones change nothing).
    pub fn on_leader(&mut self, id: &str) -> Handover<C> {
        let mut handover = Handover {
            lost: Vec::new(),
            send: Vec::new(),
        };
        if self.leader.as_deref() == Some(id) {
            return handover;
        }
        self.leader = Some(id.to_owned());
        for (seq, e) in &mut self.calls {
            let resend = match &e.state {
                State::Sent { to, .. } if to == id => false,
                State::Sent { accepted: true, .. } if !e.call.repeatable() => {
                    handover.lost.push(*seq);
                    false
                }
                _ => true,
            };
            if resend {
                e.state = State::Sent {
                    to: id.to_owned(),
                    accepted: false,
                };
                handover.send.push(Outgoing {
                    seq: *seq,
                    to: id.to_owned(),
                    call: e.call.clone(),
                });
            }
        }
        for seq in &handover.lost {
            self.calls.remove(seq);
        }
        handover
    }

    /// Leader `id` closed after answering every call it accepted: what it holds waits for
    /// the next leader.
    pub fn on_resigned(&mut self, id: &str) {
        if self.leader.as_deref() != Some(id) {
            return;
        }
        self.leader = None;
        for e in self.calls.values_mut() {
            if matches!(&e.state, State::Sent { to, .. } if to == id) {
                e.state = State::Queued;
            }
        }
    }

    /// No leader will answer any more (this context takes over, or closes): how each call
    /// ends. The ledger is empty afterwards.
    pub fn stop(&mut self) -> Vec<(u64, Unanswered)> {
        self.leader = None;
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|(seq, e)| {
                let started = matches!(e.state, State::Sent { accepted: true, .. });
                let how = if started && !e.call.repeatable() {
                    Unanswered::Lost
                } else {
                    Unanswered::Again
                };
                (seq, how)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Call {
        Edit(u32),
        Read,
    }

    impl Repeatable for Call {
        fn repeatable(&self) -> bool {
            matches!(self, Self::Read)
        }
    }

    fn sent_to(send: &[Outgoing<Call>]) -> Vec<(u64, &str)> {
        send.iter().map(|s| (s.seq, s.to.as_str())).collect()
    }

    #[test]
    fn calls_wait_for_a_leader_then_go_to_it() {
        let mut l = CallLedger::new(8);
        let (a, send) = l.call(Call::Edit(1)).unwrap();
        assert_eq!(send, None, "no leader yet");
        let h = l.on_leader("L");
        assert_eq!(sent_to(&h.send), [(a, "L")]);
        assert!(h.lost.is_empty());
        let (b, send) = l.call(Call::Read).unwrap();
        assert_eq!(send.map(|s| (s.seq, s.to)), Some((b, "L".to_owned())));
        assert!(l.on_answer("L", a));
        assert!(!l.on_answer("L", a), "answered once");
        assert!(!l.on_answer("M", b), "not from the leader it went to");
        assert_eq!(l.pending(), 1);
        assert!(
            l.on_leader("L").send.is_empty(),
            "a repeated announcement changes nothing"
        );
    }

    #[test]
    fn a_started_edit_is_lost_with_its_leader_and_everything_else_moves_on() {
        let mut l = CallLedger::new(8);
        l.on_leader("L");
        let (started_edit, _) = l.call(Call::Edit(1)).unwrap();
        let (unstarted_edit, _) = l.call(Call::Edit(2)).unwrap();
        let (started_read, _) = l.call(Call::Read).unwrap();
        l.on_accepted("L", started_edit);
        l.on_accepted("L", started_read);
        l.on_accepted("M", unstarted_edit); // not the leader it went to: ignored
        let h = l.on_leader("M");
        assert_eq!(h.lost, [started_edit]);
        assert_eq!(
            sent_to(&h.send),
            [(unstarted_edit, "M"), (started_read, "M")]
        );
        // The old leader's late answer no longer counts; the new one's does.
        assert!(!l.on_answer("L", unstarted_edit));
        assert!(l.on_answer("M", unstarted_edit));
    }

    #[test]
    fn a_resigned_leader_loses_nothing() {
        let mut l = CallLedger::new(8);
        l.on_leader("L");
        let (edit, _) = l.call(Call::Edit(1)).unwrap();
        l.on_accepted("L", edit);
        let (retried, _) = l.call(Call::Edit(2)).unwrap();
        l.on_retry("L", retried);
        l.on_resigned("L");
        assert_eq!(l.leader(), None);
        let (later, send) = l.call(Call::Edit(3)).unwrap();
        assert_eq!(send, None, "queued until the next leader");
        let h = l.on_leader("M");
        assert!(h.lost.is_empty());
        assert_eq!(
            sent_to(&h.send),
            [(edit, "M"), (retried, "M"), (later, "M")]
        );
    }

    #[test]
    fn taking_over_settles_every_call() {
        let mut l = CallLedger::new(8);
        let (queued, _) = l.call(Call::Edit(0)).unwrap();
        l.on_leader("L");
        let (started_edit, _) = l.call(Call::Edit(1)).unwrap();
        let (started_read, _) = l.call(Call::Read).unwrap();
        l.on_accepted("L", started_edit);
        l.on_accepted("L", started_read);
        let mut ends = l.stop();
        ends.sort_by_key(|(seq, _)| *seq);
        assert_eq!(
            ends,
            [
                (queued, Unanswered::Again),
                (started_edit, Unanswered::Lost),
                (started_read, Unanswered::Again)
            ]
        );
        assert_eq!(l.pending(), 0);
        assert_eq!(l.leader(), None);
    }

    #[test]
    fn the_ledger_is_bounded() {
        let mut l = CallLedger::new(2);
        l.call(Call::Read).unwrap();
        l.call(Call::Read).unwrap();
        assert_eq!(l.call(Call::Read).unwrap_err(), Full(2));
    }
}
