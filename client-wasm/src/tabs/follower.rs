//! A follower: a context served by the leader of its database. It sends calls and waits for
//! their replies, keeps a copy of every page it opened (JSON and status, pushed by the leader
//! on every change), and follows the leadership as it moves.
//!
//! A call is queued (no leader known yet, or the last one resigned), sent to a named leader,
//! accepted by it (it started the call), or settled. When a different leader appears, or this
//! context takes over, calls the old leader accepted but never answered settle as `Lost` (the
//! hub resends those that are harmless to repeat and rejects the others with `leader_lost`);
//! calls it never accepted were never started, and go to the new leader like queued ones.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use sync_core::client::ClientStatus;
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::channel::Channel;
use super::wire::{Call, Outcome, PageEvent, TabMessage};
use crate::error::Error;
use crate::session::{Notice, notice_js};

/// Most calls one follower keeps waiting at once.
const MAX_PENDING: usize = 1024;

/// How a call ended, as the hub sees it.
#[derive(Debug)]
pub(crate) enum Settled {
    Answered(Outcome),
    /// The leader it went to vanished without answering: it may have been carried out.
    Lost,
    /// It was never carried out (this context took over, or closed): run it again or fail.
    NotRun,
    /// Refused here before it was sent.
    Refused(Error),
}

struct Pending {
    call: Call,
    /// The leader it was sent to; `None` while queued.
    sent_to: Option<String>,
    /// Whether that leader accepted it (started it).
    accepted: bool,
    slot: Rc<RefCell<Option<Settled>>>,
    wake: Function,
}

/// A page's copy in a follower.
#[derive(Debug)]
pub(crate) struct RemotePage {
    json: RefCell<String>,
    status: RefCell<ClientStatus>,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
}

impl RemotePage {
    fn new(json: String, status: ClientStatus) -> Rc<Self> {
        Rc::new(Self {
            json: RefCell::new(json),
            status: RefCell::new(status),
            listeners: RefCell::default(),
            next_listener: Cell::new(0),
        })
    }

    pub(crate) fn json(&self) -> String {
        self.json.borrow().clone()
    }

    pub(crate) fn status(&self) -> ClientStatus {
        self.status.borrow().clone()
    }

    pub(crate) fn subscribe(&self, f: Function) -> u32 {
        let id = self.next_listener.get();
        self.next_listener.set(id + 1);
        self.listeners.borrow_mut().push((id, f));
        id
    }

    pub(crate) fn unsubscribe(&self, id: u32) {
        self.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// A fresh copy from the leader; listeners hear what changed.
    pub(crate) fn update(&self, json: String, status: ClientStatus, event: Option<PageEvent>) {
        let changed = *self.json.borrow() != json;
        let status_changed = *self.status.borrow() != status;
        self.json.replace(json);
        self.status.replace(status.clone());
        let mut notices = Vec::new();
        match event {
            Some(PageEvent::Local) => notices.push(Notice::Change { remote: false }),
            Some(PageEvent::Remote) => notices.push(Notice::Change { remote: true }),
            // A refresh after a hand-over says what it found.
            None if changed => notices.push(Notice::Change { remote: false }),
            _ => {}
        }
        if status_changed {
            notices.push(Notice::Status(status));
        }
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for notice in &notices {
            let event = notice_js(notice);
            for f in &listeners {
                let _ = f.call1(&JsValue::UNDEFINED, &event);
            }
        }
    }
}

/// The follower side of one context.
pub(crate) struct Follower {
    me: String,
    channel: Rc<Channel>,
    leader: RefCell<Option<(String, String)>>,
    next_seq: Cell<u64>,
    pending: RefCell<BTreeMap<u64, Pending>>,
    pages: RefCell<BTreeMap<DocumentId, Weak<RemotePage>>>,
    /// Waiting for the first leader to be known.
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
            leader: RefCell::new(None),
            next_seq: Cell::new(0),
            pending: RefCell::default(),
            pages: RefCell::default(),
            leader_waiters: RefCell::default(),
            resign_waiters: RefCell::default(),
            closed: Cell::new(false),
        });
        f.channel.post(&TabMessage::Hello { from: f.me.clone() });
        f
    }

    /// The leader's storage id, once a leader is known.
    pub(crate) fn storage_id(&self) -> Option<String> {
        self.leader.borrow().as_ref().map(|(_, s)| s.clone())
    }

    /// Settles once a leader is known (at once if one is).
    pub(crate) fn leader_known(&self) -> Promise {
        let mut resolve = None;
        let p = Promise::new(&mut |ok, _| resolve = Some(ok));
        let resolve = resolve.expect("the Promise executor runs at once");
        if self.leader.borrow().is_some() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        } else {
            self.leader_waiters.borrow_mut().push(resolve);
        }
        p
    }

    /// Settles once the leader resigned (at once if none leads). The lock can reach the next
    /// context before the old leader's last messages do; its `resigned` comes after its last
    /// reply, so waiting for it tells answered calls from lost ones.
    pub(crate) fn leader_resigned(&self) -> Promise {
        let mut resolve = None;
        let p = Promise::new(&mut |ok, _| resolve = Some(ok));
        let resolve = resolve.expect("the Promise executor runs at once");
        if self.leader.borrow().is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        } else {
            self.resign_waiters.borrow_mut().push(resolve);
        }
        p
    }

    /// Sends a call to the leader (or queues it until one is known) and waits for it to
    /// settle.
    pub(crate) async fn call(&self, call: Call) -> Settled {
        if self.closed.get() {
            return Settled::Refused(Error::Closed);
        }
        if self.pending.borrow().len() >= MAX_PENDING {
            return Settled::Refused(Error::BadTabMessage(format!(
                "more than {MAX_PENDING} calls wait for the leader tab"
            )));
        }
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let slot = Rc::new(RefCell::new(None));
        let mut wake = None;
        let woken = Promise::new(&mut |ok, _| wake = Some(ok));
        let leader = self.leader.borrow().as_ref().map(|(id, _)| id.clone());
        if let Some(to) = &leader {
            self.send(seq, to, &call);
        }
        self.pending.borrow_mut().insert(
            seq,
            Pending {
                call,
                sent_to: leader,
                accepted: false,
                slot: slot.clone(),
                wake: wake.expect("the Promise executor runs at once"),
            },
        );
        let _ = JsFuture::from(woken).await;
        slot.take().unwrap_or(Settled::NotRun)
    }

    fn send(&self, seq: u64, to: &str, call: &Call) {
        self.channel.post(&TabMessage::Call {
            from: self.me.clone(),
            to: to.to_owned(),
            seq,
            call: call.clone(),
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

    /// The pages open here, to reopen after taking over.
    pub(crate) fn open_pages(&self) -> Vec<DocumentId> {
        self.pages
            .borrow()
            .iter()
            .filter(|(_, p)| p.strong_count() > 0)
            .map(|(d, _)| *d)
            .collect()
    }

    pub(crate) fn on_message(self: &Rc<Self>, m: TabMessage) {
        match m {
            TabMessage::Leader { from, storage_id } => self.on_leader(from, storage_id),
            TabMessage::Resigned { from } => {
                let mut leader = self.leader.borrow_mut();
                if leader.as_ref().is_some_and(|(id, _)| *id == from) {
                    *leader = None;
                    // It answered all it received; what it did not receive goes to the next.
                    for p in self.pending.borrow_mut().values_mut() {
                        if p.sent_to.as_deref() == Some(&from) {
                            p.sent_to = None;
                            p.accepted = false;
                        }
                    }
                }
                drop(leader);
                for w in std::mem::take(&mut *self.resign_waiters.borrow_mut()) {
                    let _ = w.call0(&JsValue::UNDEFINED);
                }
            }
            TabMessage::Accepted { from, to, seq } if to == self.me => {
                if let Some(p) = self.pending.borrow_mut().get_mut(&seq)
                    && p.sent_to.as_deref() == Some(&from)
                {
                    p.accepted = true;
                }
            }
            TabMessage::Reply {
                from,
                to,
                seq,
                outcome,
            } if to == self.me => {
                let mine = self
                    .pending
                    .borrow()
                    .get(&seq)
                    .is_some_and(|p| p.sent_to.as_deref() == Some(&from));
                if !mine {
                    return;
                }
                if outcome == Outcome::Retry {
                    // The leader is closing; the call waits for the next one.
                    if let Some(p) = self.pending.borrow_mut().get_mut(&seq) {
                        p.sent_to = None;
                        p.accepted = false;
                    }
                    return;
                }
                self.settle(seq, Settled::Answered(outcome));
            }
            TabMessage::Page {
                from,
                url,
                json,
                status,
                event,
            } => {
                if !self.is_leader(&from) {
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
            // Calls and hellos are for the leader; replies to others are not ours.
            TabMessage::Hello { .. }
            | TabMessage::Call { .. }
            | TabMessage::Accepted { .. }
            | TabMessage::Reply { .. } => {}
        }
    }

    fn is_leader(&self, id: &str) -> bool {
        self.leader.borrow().as_ref().is_some_and(|(l, _)| l == id)
    }

    fn on_leader(self: &Rc<Self>, from: String, storage_id: String) {
        if self.is_leader(&from) {
            return;
        }
        let old = self
            .leader
            .replace(Some((from.clone(), storage_id)))
            .map(|(id, _)| id);
        // Calls the old leader started and never answered: lost. Calls it never started, and
        // queued ones: to the new one.
        let mut lost = Vec::new();
        let mut resend = Vec::new();
        for (seq, p) in self.pending.borrow_mut().iter_mut() {
            if p.sent_to.as_ref() == Some(&from) {
                continue;
            }
            if p.sent_to.is_some() && p.accepted {
                lost.push(*seq);
            } else {
                p.sent_to = Some(from.clone());
                p.accepted = false;
                resend.push((*seq, p.call.clone()));
            }
        }
        for seq in lost {
            self.settle(seq, Settled::Lost);
        }
        for (seq, call) in resend {
            self.send(seq, &from, &call);
        }
        for w in std::mem::take(&mut *self.leader_waiters.borrow_mut()) {
            let _ = w.call0(&JsValue::UNDEFINED);
        }
        // The new leader may not have this context's pages open: ask for them, which also
        // brings their copies up to date.
        if old.is_some() {
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
    }

    fn settle(&self, seq: u64, how: Settled) {
        let Some(p) = self.pending.borrow_mut().remove(&seq) else {
            return;
        };
        p.slot.replace(Some(how));
        let _ = p.wake.call0(&JsValue::UNDEFINED);
    }

    /// This context took over (or closed): every waiting call settles, those a leader started
    /// as `Lost`, the others as `NotRun`.
    pub(crate) fn stop(&self) {
        self.closed.set(true);
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        for (_, p) in pending {
            let how = if p.accepted {
                Settled::Lost
            } else {
                Settled::NotRun
            };
            p.slot.replace(Some(how));
            let _ = p.wake.call0(&JsValue::UNDEFINED);
        }
        for w in std::mem::take(&mut *self.leader_waiters.borrow_mut()) {
            let _ = w.call0(&JsValue::UNDEFINED);
        }
    }
}
