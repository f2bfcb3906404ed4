//! The leader: the context holding its database's lock serves the other contexts (followers)
//! from its own client. It answers their calls (each an ordinary call on its client, so a
//! follower's edit resolves only after the leader stored it), and pushes a copy of every page
//! a follower opened (JSON and status) on every change.
//!
//! Closing hands over cleanly: new calls are answered `retry`, the client closes (its pages
//! drain their writes; calls waiting on a page, like `synced`, end and are answered `retry`),
//! calls still running finish and are answered, then `resigned` tells the followers that
//! nothing more will come.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use sync_core::client::ClientInput;
use sync_core::model::PageEdit;
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::channel::{Channel, Incoming};
use super::wire::{Call, Outcome, PageEvent, Row, TabMessage};
use crate::error::{Error, Result};
use crate::local::LocalClient;
use crate::session::Session;

/// Most calls running at once for one follower, and for all of them.
const MAX_CALLS_PER_FOLLOWER: u32 = 64;
const MAX_CALLS: u32 = 1024;
/// Most pages served to followers at once.
const MAX_SERVED: usize = 1024;

/// A session followers have open, and the listener that pushes its copies.
struct Served {
    session: Rc<Session>,
    listener: u32,
    _push: Closure<dyn FnMut(JsValue)>,
}

pub(crate) struct Leader {
    me: Weak<Self>,
    id: String,
    client: Rc<LocalClient>,
    channel: Rc<Channel>,
    served: RefCell<BTreeMap<DocumentId, Served>>,
    /// Calls running, by follower.
    running: RefCell<BTreeMap<String, u32>>,
    total: Cell<u32>,
    closing: Cell<bool>,
    drained: RefCell<Vec<Function>>,
}

impl Leader {
    /// Starts serving and tells the followers.
    pub(crate) fn start(id: String, client: Rc<LocalClient>, channel: Rc<Channel>) -> Rc<Self> {
        let leader = Rc::new_cyclic(|me| Self {
            me: me.clone(),
            id,
            client,
            channel,
            served: RefCell::default(),
            running: RefCell::default(),
            total: Cell::new(0),
            closing: Cell::new(false),
            drained: RefCell::default(),
        });
        leader.announce();
        leader
    }

    fn announce(&self) {
        self.channel.post(&TabMessage::Leader {
            from: self.id.clone(),
            storage_id: self.client.storage_id(),
        });
    }

    pub(crate) fn on_incoming(&self, incoming: Incoming) {
        match incoming {
            Incoming::BadCall(header, why) => self.reply(&header.from, header.seq, failed(&why)),
            Incoming::Message(TabMessage::Hello { .. }) => self.announce(),
            Incoming::Message(TabMessage::Call {
                from,
                to,
                seq,
                call,
            }) if to == self.id => self.on_call(from, seq, call),
            Incoming::Message(TabMessage::Leader { from, .. }) => {
                // The lock makes this impossible; a context that claims it misbehaves.
                web_sys::console::warn_1(
                    &format!("tessera: tab {from:?} claims to lead this database too").into(),
                );
            }
            Incoming::Message(_) => {}
        }
    }

    fn on_call(&self, from: String, seq: u64, call: Call) {
        if self.closing.get() {
            return self.reply(&from, seq, Outcome::Retry);
        }
        let theirs = self.running.borrow().get(&from).copied().unwrap_or(0);
        if theirs >= MAX_CALLS_PER_FOLLOWER || self.total.get() >= MAX_CALLS {
            let why = Error::BadTabMessage("too many calls at once".into());
            return self.reply(&from, seq, failed(&why));
        }
        self.running.borrow_mut().insert(from.clone(), theirs + 1);
        self.total.set(self.total.get() + 1);
        self.channel.post(&TabMessage::Accepted {
            from: self.id.clone(),
            to: from.clone(),
            seq,
        });
        let me = self
            .me
            .upgrade()
            .expect("a leader handling a message is alive");
        spawn_local(async move {
            let outcome = match me.run(call).await {
                Ok(outcome) => outcome,
                // Closing took the page away under a call that can be carried out again.
                Err(e) if e.code() == "closed" && me.closing.get() => Outcome::Retry,
                Err(e) => failed(&e),
            };
            me.reply(&from, seq, outcome);
            me.finished(&from);
        });
    }

    fn finished(&self, from: &str) {
        {
            let mut running = self.running.borrow_mut();
            if let Some(n) = running.get_mut(from) {
                *n -= 1;
                if *n == 0 {
                    running.remove(from);
                }
            }
        }
        self.total.set(self.total.get() - 1);
        if self.total.get() == 0 {
            for w in std::mem::take(&mut *self.drained.borrow_mut()) {
                let _ = w.call0(&JsValue::UNDEFINED);
            }
        }
    }

    fn reply(&self, to: &str, seq: u64, outcome: Outcome) {
        self.channel.post(&TabMessage::Reply {
            from: self.id.clone(),
            to: to.to_owned(),
            seq,
            outcome,
        });
    }

    /// Carries a call out on the client, as the same call from this context would.
    async fn run(&self, call: Call) -> Result<Outcome> {
        match call {
            Call::Create { title } => {
                let session = self.client.create(&title).await?;
                self.serve(&session)
            }
            Call::Find { url } => {
                let session = self.client.find(parse(&url)?).await?;
                self.serve(&session)
            }
            Call::List => {
                let rows = self.client.list().await?;
                let rows = rows
                    .into_iter()
                    .map(|r| Row {
                        url: r.url,
                        title: r.title,
                    })
                    .collect();
                Ok(Outcome::Rows { rows })
            }
            Call::Apply { url, edit } => {
                let session = self.client.find(parse(&url)?).await?;
                self.serve(&session)?;
                let edit = js_sys::JSON::parse(&edit)
                    .map_err(|e| Error::BadEdit(crate::error::describe(&e)))?;
                let edit: PageEdit = serde_wasm_bindgen::from_value(edit)
                    .map_err(|e| Error::BadEdit(format!("edit: {e}")))?;
                let applied = JsFuture::from(session.apply(&edit)?)
                    .await
                    .map_err(|e| Error::from_js(&e))?;
                let applied = serde_wasm_bindgen::from_value(applied)
                    .map_err(|e| Error::Storage(e.to_string()))?;
                Ok(Outcome::Applied { applied })
            }
            Call::Synced { url } => {
                let session = self.client.find(parse(&url)?).await?;
                self.serve(&session)?;
                JsFuture::from(session.synced())
                    .await
                    .map_err(|e| Error::from_js(&e))?;
                Ok(Outcome::Done)
            }
            Call::Online { url, online } => {
                let session = self.client.find(parse(&url)?).await?;
                self.serve(&session)?;
                session.input(if online {
                    ClientInput::GoOnline
                } else {
                    ClientInput::GoOffline
                });
                Ok(Outcome::Done)
            }
            Call::SetToken { token } => {
                let token = crate::options::token(&JsValue::from_str(&token))?;
                self.client.set_token(token);
                Ok(Outcome::Done)
            }
        }
    }

    /// Pushes copies of this session's page from now on; its copy now.
    fn serve(&self, session: &Rc<Session>) -> Result<Outcome> {
        let doc = session.doc_id();
        let mut served = self.served.borrow_mut();
        served.retain(|_, s| !s.session.is_closed());
        let already = served
            .get(&doc)
            .is_some_and(|s| Rc::ptr_eq(&s.session, session));
        if !already && served.len() >= MAX_SERVED {
            return Err(Error::BadTabMessage(format!(
                "the other tabs have more than {MAX_SERVED} pages open"
            )));
        }
        if !already {
            let (weak, me) = (Rc::downgrade(session), self.me.clone());
            let push = Closure::<dyn FnMut(JsValue)>::new(move |notice: JsValue| {
                if let (Some(session), Some(me)) = (weak.upgrade(), me.upgrade()) {
                    me.push(&session, event_of(&notice));
                }
            });
            let listener = session.subscribe(push.as_ref().unchecked_ref::<Function>().clone());
            if let Some(old) = served.insert(
                doc,
                Served {
                    session: session.clone(),
                    listener,
                    _push: push,
                },
            ) {
                old.session.unsubscribe(old.listener);
            }
        }
        drop(served);
        Ok(Outcome::Page {
            url: session.url(),
            json: session.to_json(),
            status: session.status(),
        })
    }

    fn push(&self, session: &Session, event: PageEvent) {
        self.channel.post(&TabMessage::Page {
            from: self.id.clone(),
            url: session.url(),
            json: session.to_json(),
            status: session.status(),
            event,
        });
    }

    /// Answers every new call `retry` from now on.
    pub(crate) fn stop_taking_calls(&self) {
        self.closing.set(true);
    }

    /// Lets the running calls finish and answer, and tells the followers. Call it once the
    /// client is closed: a call waiting on an open page could wait for ever.
    pub(crate) async fn resign(&self) {
        self.closing.set(true);
        if self.total.get() > 0 {
            let mut done = None;
            let drained = Promise::new(&mut |ok, _| done = Some(ok));
            self.drained
                .borrow_mut()
                .push(done.expect("the Promise executor runs at once"));
            let _ = JsFuture::from(drained).await;
        }
        for (_, s) in std::mem::take(&mut *self.served.borrow_mut()) {
            s.session.unsubscribe(s.listener);
        }
        self.channel.post(&TabMessage::Resigned {
            from: self.id.clone(),
        });
    }
}

fn parse(url: &str) -> Result<DocumentId> {
    DocumentId::parse_url_or_id(url.trim()).map_err(|e| Error::BadUrl(format!("{url:?}: {e}")))
}

fn failed(e: &Error) -> Outcome {
    Outcome::Failed {
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

/// Which page event a session's notice (`{type: "change", origin}` or `{type: "status"}`) is.
fn event_of(notice: &JsValue) -> PageEvent {
    let get = |k: &str| {
        js_sys::Reflect::get(notice, &k.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    match (get("type").as_deref(), get("origin").as_deref()) {
        (Some("change"), Some("remote")) => PageEvent::Remote,
        (Some("change"), _) => PageEvent::Local,
        _ => PageEvent::Status,
    }
}
