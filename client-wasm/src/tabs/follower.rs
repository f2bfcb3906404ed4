//! A follower: a context served by the leader of its database. It sends calls and waits for
//! their replies, keeps a copy of every page it opened (JSON and status, pushed by the leader
//! on every change), and follows the leadership as it moves.
//!
//! Which call goes where across changes of leader, and which is lost, is decided by the core's
//! [`CallLedger`]; this file carries its messages and wakes the callers.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use sync_core::client::ClientStatus;
use sync_core::client::handover::{CallLedger, Outgoing, Repeatable, Unanswered};
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::channel::Channel;
use super::remote_page::RemotePage;
use super::wire::{Call, Outcome, TabMessage};
use crate::error::Error;

/// Most calls one follower keeps waiting at once.
const MAX_PENDING: usize = 1024;

/// How a call ended, as the hub sees it.
#[derive(Debug)]
pub(crate) enum Settled {
    Answered(Outcome),
    /// A leader started it and vanished without answering: it may have been carried out.
    Lost,
    /// It was never carried out, or is harmless to repeat: carry it out here, now leading.
    Again,
    /// Refused here before it was sent.
    Refused(Error),
}

/// A caller waiting: where its ending goes, and how to wake it.
struct Waiting {
    slot: Rc<RefCell<Option<Settled>>>,
    wake: Function,
}

impl Repeatable for Call {
    fn repeatable(&self) -> bool {
        self.may_resend()
    }
}

/// The follower side of one context.
pub(crate) struct Follower {
    me: String,
    channel: Rc<Channel>,
    ledger: RefCell<CallLedger<Call>>,
    waiting: RefCell<BTreeMap<u64, Waiting>>,
    storage_id: RefCell<Option<String>>,
    pages: RefCell<BTreeMap<DocumentId, Weak<RemotePage>>>,
    /// Waiting for a leader to be known.
    leader_waiters: RefCell<Vec<Function>>,
    /// Waiting for the leader to resign (or to be gone).
    resign_waiters: RefCell<Vec<Function>>,
    closed: Cell<bool>,
}

impl Follower {
    pub(crate) fn new(me: String, channel: Rc<Channel>) -> Rc<Self> {
        let f = Rc::new(Self {
            me,
            channel,
            ledger: RefCell::new(CallLedger::new(MAX_PENDING)),
            waiting: RefCell::default(),
            storage_id: RefCell::default(),
            pages: RefCell::default(),
            leader_waiters: RefCell::default(),
            resign_waiters: RefCell::default(),
            closed: Cell::new(false),
        });
        f.channel.post(&TabMessage::Hello { from: f.me.clone() });
        f
    }

    /// The database's storage id, once a leader told it.
    pub(crate) fn storage_id(&self) -> Option<String> {
        self.storage_id.borrow().clone()
    }

    fn has_leader(&self) -> bool {
        self.ledger.borrow().leader().is_some()
    }

    /// Settles once a leader is known (at once if one is).
    pub(crate) fn leader_known(&self) -> Promise {
        promise_unless(self.has_leader(), &self.leader_waiters)
    }

    /// Settles once the leader resigned (at once if none leads). The lock can reach the next
    /// context before the old leader's last messages do; its `resigned` comes after its last
    /// reply, so waiting for it tells answered calls from lost ones.
    pub(crate) fn leader_resigned(&self) -> Promise {
        promise_unless(!self.has_leader(), &self.resign_waiters)
    }

    /// Sends a call to the leader (or queues it until one is known) and waits for it to
    /// settle.
    pub(crate) async fn call(&self, call: Call) -> Settled {
        if self.closed.get() {
            return Settled::Refused(Error::Closed);
        }
        let (seq, send) = match self.ledger.borrow_mut().call(call) {
            Ok(taken) => taken,
            Err(full) => return Settled::Refused(Error::BadTabMessage(full.to_string())),
        };
        let slot = Rc::new(RefCell::new(None));
        let mut wake = None;
        let woken = Promise::new(&mut |ok, _| wake = Some(ok));
        self.waiting.borrow_mut().insert(
            seq,
            Waiting {
                slot: slot.clone(),
                wake: wake.expect("the Promise executor runs at once"),
            },
        );
        if let Some(send) = send {
            self.send(send);
        }
        let _ = JsFuture::from(woken).await;
        slot.take().unwrap_or(Settled::Again)
    }

    fn send(&self, out: Outgoing<Call>) {
        self.channel.post(&TabMessage::Call {
            from: self.me.clone(),
            to: out.to,
            seq: out.seq,
            call: out.call,
        });
    }

    /// The copy of a page, shared by every `Page` of it in this context.
    pub(crate) fn page(
        &self,
        doc: DocumentId,
        json: String,
        status: ClientStatus,
    ) -> Rc<RemotePage> {
        let mut pages = self.pages.borrow_mut();
        pages.retain(|_, p| p.strong_count() > 0);
        if let Some(page) = pages.get(&doc).and_then(Weak::upgrade) {
            drop(pages);
            page.update(json, status, None);
            return page;
        }
        let page = RemotePage::new(json, status);
        pages.insert(doc, Rc::downgrade(&page));
        page
    }

    fn open_pages(&self) -> Vec<DocumentId> {
        self.pages
            .borrow()
            .iter()
            .filter(|(_, p)| p.strong_count() > 0)
            .map(|(d, _)| *d)
            .collect()
    }

    pub(crate) fn on_message(self: &Rc<Self>, m: TabMessage) {
        match m {
            TabMessage::Leader { from, storage_id } => self.on_leader(&from, storage_id),
            TabMessage::Resigned { from } => {
                self.ledger.borrow_mut().on_resigned(&from);
                if !self.has_leader() {
                    wake_all(&self.resign_waiters);
                }
            }
            TabMessage::Accepted { from, to, seq } if to == self.me => {
                self.ledger.borrow_mut().on_accepted(&from, seq);
            }
            TabMessage::Reply {
                from,
                to,
                seq,
                outcome,
            } if to == self.me => {
                if outcome == Outcome::Retry {
                    // The leader is closing; the call waits for the next one.
                    self.ledger.borrow_mut().on_retry(&from, seq);
                } else if self.ledger.borrow_mut().on_answer(&from, seq) {
                    self.settle(seq, Settled::Answered(outcome));
                }
            }
            TabMessage::Page {
                from,
                url,
                json,
                status,
                event,
            } => {
                if self.ledger.borrow().leader() != Some(from.as_str()) {
                    return;
                }
                let Ok(doc) = DocumentId::parse_url_or_id(&url) else {
                    return;
                };
                let page = self.pages.borrow().get(&doc).and_then(Weak::upgrade);
                if let Some(page) = page {
                    page.update(json, status, Some(event));
                }
            }
            // Calls and hellos are for the leader; the rest is addressed to other contexts.
            TabMessage::Hello { .. }
            | TabMessage::Call { .. }
            | TabMessage::Accepted { .. }
            | TabMessage::Reply { .. } => {}
        }
    }

    fn on_leader(self: &Rc<Self>, from: &str, storage_id: String) {
        if self.ledger.borrow().leader() == Some(from) {
            return;
        }
        self.storage_id.replace(Some(storage_id));
        let handover = self.ledger.borrow_mut().on_leader(from);
        for seq in handover.lost {
            self.settle(seq, Settled::Lost);
        }
        for send in handover.send {
            self.send(send);
        }
        wake_all(&self.leader_waiters);
        // A new leader may not have this context's pages open: ask for them, which also
        // brings their copies up to date and has it push them from now on.
        for doc in self.open_pages() {
            let me = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let url = doc.to_url();
                if let Settled::Answered(Outcome::Page { json, status, .. }) =
                    me.call(Call::Find { url }).await
                {
                    let page = me.pages.borrow().get(&doc).and_then(Weak::upgrade);
                    if let Some(page) = page {
                        page.update(json, status, None);
                    }
                }
            });
        }
    }

    fn settle(&self, seq: u64, how: Settled) {
        let Some(w) = self.waiting.borrow_mut().remove(&seq) else {
            return;
        };
        w.slot.replace(Some(how));
        let _ = w.wake.call0(&JsValue::UNDEFINED);
    }

    /// This context took over (or closed): every waiting call settles as the ledger says.
    pub(crate) fn stop(&self) {
        self.closed.set(true);
        let ends = self.ledger.borrow_mut().stop();
        for (seq, how) in ends {
            let how = match how {
                Unanswered::Lost => Settled::Lost,
                Unanswered::Again => Settled::Again,
            };
            self.settle(seq, how);
        }
        wake_all(&self.leader_waiters);
        wake_all(&self.resign_waiters);
    }
}

/// A promise that settles at once if `now`, else when `waiters` are woken.
fn promise_unless(now: bool, waiters: &RefCell<Vec<Function>>) -> Promise {
    let mut resolve = None;
    let p = Promise::new(&mut |ok, _| resolve = Some(ok));
    let resolve = resolve.expect("the Promise executor runs at once");
    if now {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    } else {
        waiters.borrow_mut().push(resolve);
    }
    p
}

fn wake_all(waiters: &RefCell<Vec<Function>>) {
    for w in std::mem::take(&mut *waiters.borrow_mut()) {
        let _ = w.call0(&JsValue::UNDEFINED);
    }
}
