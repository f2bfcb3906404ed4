//! One database, several contexts: the tabs and workers of an origin that open the same
//! IndexedDB database share it through one writer.
//!
//! The context holding the database's Web Lock ([`lock`]) is the leader: it runs the real
//! client over the store and serves the others ([`leader`]). The others are followers
//! ([`follower`]): they queue for the lock and meanwhile send every call (`create`, `find`,
//! `list`, edits, `synced`, online and token changes) to the leader over the database's
//! `BroadcastChannel` ([`channel`], messages in [`wire`]), and read pages from copies the
//! leader pushes on every change. When the leader closes or its context dies, the browser
//! hands the lock to a follower, which opens the store and takes over: its pages move to its
//! own sessions with their listeners. Calls are acknowledged when started; the core's
//! [`CallLedger`](sync_core::client::handover::CallLedger) decides which unanswered call goes
//! to the next leader and which (an edit or a create started by a leader that died) rejects
//! with `leader_lost`.
//!
//! A [`Hub`] is one context's side of this: which role it has now (here: opening, taking over,
//! closing), and the calls of `Tessera` routed by role ([`calls`]). A store only this context
//! can see (memory), or a context without Web Locks (Node), has the local role for good.

mod calls;
mod channel;
mod follower;
mod leader;
mod lock;
mod read;
mod remote_page;
mod wire;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use sync_core::protocol::DocumentId;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

pub(crate) use remote_page::RemotePage;
pub(crate) use wire::{Call, MAX_EDIT_BYTES, MAX_TITLE, Outcome};

use channel::{Channel, Incoming};
use follower::Follower;
use leader::Leader;
use lock::LeaderLock;

use crate::env::{self, Timer};
use crate::error::{Error, Result};
use crate::handle::{Backend, PageHandle};
use crate::local::LocalClient;
use crate::options::Options;
use crate::session::{Notice, notice_js};

/// How long a new follower waits to hear from the leader before giving up with `store_busy`
/// (the lock holder does not answer: another version of this package, or a hung tab).
const LEADER_ANSWER_MS: u64 = 10_000;
/// How long a context taking over retries opening the store the old leader is still closing.
const TAKE_OVER_RETRY_MS: u64 = 250;
const TAKE_OVER_ATTEMPTS: u32 = 40;
/// How long a context taking over waits for the old leader's `resigned`: a leader that closed
/// cleanly sent it before letting the lock go, one that died never will.
const RESIGN_GRACE_MS: u64 = 1_000;

enum Role {
    /// This context owns the store: alone (memory, Node), or leading the others.
    Local {
        client: Rc<LocalClient>,
        leader: Option<Rc<Leader>>,
        _lock: Option<LeaderLock>,
    },
    Follower(Rc<Follower>),
    /// Opening (or taking over) the store; calls wait.
    Opening,
    Closed,
}

/// The role as a call sees it.
pub(crate) enum Current {
    Local(Rc<LocalClient>),
    Follower(Rc<Follower>),
}

/// One context's side of a database.
pub(crate) struct Hub {
    me: Weak<Self>,
    /// This context's id on the channel.
    id: String,
    options: RefCell<Options>,
    web_socket: Function,
    storage_id: RefCell<String>,
    channel: RefCell<Option<Rc<Channel>>>,
    role: RefCell<Role>,
    handles: RefCell<Vec<Weak<PageHandle>>>,
    /// Calls waiting for `Opening` to end.
    waiting: RefCell<Vec<Function>>,
}

impl Hub {
    /// Opens the database the options name: as its only user, as the leader of the contexts
    /// sharing it, or as a follower served by the leader.
    pub(crate) async fn open(options: Options) -> Result<Rc<Self>> {
        let web_socket = crate::transport::constructor(options.web_socket.clone())?;
        let key = options.storage.shared_key();
        let hub = Rc::new_cyclic(|me| Self {
            me: me.clone(),
            id: env::hex(&env::random::<8>()),
            options: RefCell::new(options),
            web_socket,
            storage_id: RefCell::default(),
            channel: RefCell::default(),
            role: RefCell::new(Role::Opening),
            handles: RefCell::default(),
            waiting: RefCell::default(),
        });
        let locks = key.as_ref().and_then(|_| lock::web_locks());
        let (Some(key), Some(locks)) = (key, locks) else {
            let client = hub.open_client().await?;
            hub.settle(Role::Local {
                client,
                leader: None,
                _lock: None,
            });
            return Ok(hub);
        };
        // Listen first, so no answer is missed.
        let weak = hub.me.clone();
        let channel = Rc::new(Channel::open(&key, hub.id.clone(), move |m| {
            if let Some(hub) = weak.upgrade() {
                hub.on_incoming(m);
            }
        })?);
        hub.channel.replace(Some(channel.clone()));
        if let Some(lock) = lock::try_take(&locks, &key).await? {
            let client = hub.open_client().await?;
            hub.lead(client, lock);
            return Ok(hub);
        }
        let follower = Follower::new(hub.id.clone(), channel);
        hub.settle(Role::Follower(follower.clone()));
        hub.queue_for_lock(&locks, &key)?;
        let answered = follower.leader_known();
        let (timeout, _timer) = sleep_promise(LEADER_ANSWER_MS);
        let _ = JsFuture::from(Promise::race(&js_sys::Array::of2(&answered, &timeout))).await;
        match hub.current().await? {
            Current::Local(_) => Ok(hub),
            Current::Follower(f) => match f.storage_id() {
                Some(id) => {
                    hub.storage_id.replace(id);
                    Ok(hub)
                }
                None => {
                    hub.close().await?;
                    let name = hub.options.borrow().storage.name().to_owned();
                    Err(Error::StoreBusy(name))
                }
            },
        }
    }

    async fn open_client(&self) -> Result<Rc<LocalClient>> {
        let options = self.options.borrow().clone();
        let client = LocalClient::open(&options, self.web_socket.clone()).await?;
        self.storage_id.replace(client.storage_id());
        Ok(client)
    }

    /// Serves the others from `client`.
    fn lead(&self, client: Rc<LocalClient>, lock: LeaderLock) {
        let channel = self.channel.borrow().clone();
        let leader = channel.map(|c| Leader::start(self.id.clone(), client.clone(), c));
        self.settle(Role::Local {
            client,
            leader,
            _lock: Some(lock),
        });
    }

    fn settle(&self, role: Role) {
        self.role.replace(role);
        for w in std::mem::take(&mut *self.waiting.borrow_mut()) {
            let _ = w.call0(&JsValue::UNDEFINED);
        }
    }

    fn queue_for_lock(&self, locks: &JsValue, key: &str) -> Result<()> {
        let weak = self.me.clone();
        lock::wait(locks, key, move |lock| {
            // A context that closed meanwhile lets the lock go at once (dropping it).
            if let Some(hub) = weak.upgrade() {
                spawn_local(hub.take_over(lock));
            }
        })
    }

    /// The lock came to this follower: the leader closed or died. Open the store, serve the
    /// others, and move this context's pages onto its own sessions.
    async fn take_over(self: Rc<Self>, lock: LeaderLock) {
        let follower = match self.role.replace(Role::Opening) {
            Role::Follower(f) => f,
            other => {
                self.role.replace(other);
                return;
            }
        };
        // Calls resume only once the role is settled, so waiting here holds nothing up twice.
        let grace = sleep_promise(RESIGN_GRACE_MS);
        let resigned = follower.leader_resigned();
        let _ = JsFuture::from(Promise::race(&js_sys::Array::of2(&resigned, &grace.0))).await;
        drop(grace);
        follower.stop();
        let mut attempt = 0;
        let client = loop {
            match self.open_client().await {
                Ok(client) => break client,
                // The old leader may still be closing its store: its lock goes last.
                Err(Error::StoreBusy(_)) if attempt < TAKE_OVER_ATTEMPTS => {
                    attempt += 1;
                    sleep(TAKE_OVER_RETRY_MS).await;
                }
                Err(e) => {
                    web_sys::console::error_1(
                        &format!("tessera: cannot take over the database: {e}").into(),
                    );
                    drop(lock);
                    self.settle(Role::Closed);
                    self.close_handles();
                    return;
                }
            }
        };
        // Pages move before calls resume, so no call finds a page still served by nobody.
        loop {
            let remote: Vec<Rc<PageHandle>> = self
                .live_handles()
                .into_iter()
                .filter(|h| matches!(h.backend(), Backend::Remote(_)))
                .collect();
            if remote.is_empty() {
                break;
            }
            for handle in remote {
                adopt(&client, &handle).await;
            }
        }
        self.lead(client, lock);
    }

    fn on_incoming(&self, incoming: Incoming) {
        enum To {
            Leader(Rc<Leader>),
            Follower(Rc<Follower>),
        }
        let to = match &*self.role.borrow() {
            Role::Local {
                leader: Some(l), ..
            } => Some(To::Leader(l.clone())),
            Role::Follower(f) => Some(To::Follower(f.clone())),
            _ => None,
        };
        match (to, incoming) {
            (Some(To::Leader(l)), incoming) => l.on_incoming(incoming),
            (Some(To::Follower(f)), Incoming::Message(m)) => f.on_message(m),
            _ => {}
        }
    }

    /// The role, once any opening or take-over has finished.
    pub(crate) async fn current(&self) -> Result<Current> {
        loop {
            match &*self.role.borrow() {
                Role::Local { client, .. } => return Ok(Current::Local(client.clone())),
                Role::Follower(f) => return Ok(Current::Follower(f.clone())),
                Role::Closed => return Err(Error::Closed),
                Role::Opening => {}
            }
            let mut wake = None;
            let woken = Promise::new(&mut |ok, _| wake = Some(ok));
            self.waiting
                .borrow_mut()
                .push(wake.expect("the Promise executor runs at once"));
            let _ = JsFuture::from(woken).await;
        }
    }

    /// Closes this context's side: a leader answers what it is running, tells the followers,
    /// closes its pages and the store, and only then lets the lock go to the next context.
    pub(crate) async fn close(&self) -> Result<()> {
        // Let an opening or take-over finish first, so nothing is left half done.
        let _ = self.current().await;
        let role = self.role.replace(Role::Closed);
        let result = match role {
            Role::Local {
                client,
                leader,
                _lock,
            } => {
                if let Some(leader) = &leader {
                    leader.stop_taking_calls();
                }
                let closed = client.close().await;
                if let Some(leader) = leader {
                    leader.resign().await;
                }
                drop(_lock);
                closed
            }
            Role::Follower(f) => {
                f.stop();
                Ok(())
            }
            Role::Opening | Role::Closed => Ok(()),
        };
        self.close_handles();
        self.channel.take();
        result
    }

    fn close_handles(&self) {
        for h in self.live_handles() {
            if matches!(h.backend(), Backend::Remote(_)) {
                h.swap(Backend::Closed);
            }
        }
    }

    fn handle(&self, doc: DocumentId, backend: Backend) -> Rc<PageHandle> {
        let handle = PageHandle::new(doc, backend);
        let mut handles = self.handles.borrow_mut();
        handles.retain(|h| h.strong_count() > 0);
        handles.push(Rc::downgrade(&handle));
        handle
    }

    fn live_handles(&self) -> Vec<Rc<PageHandle>> {
        self.handles
            .borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

/// Moves a page served by the old leader onto this context's own session; listeners hear
/// whether it differs from the last copy.
async fn adopt(client: &LocalClient, handle: &PageHandle) {
    let Backend::Remote(remote) = handle.backend() else {
        return;
    };
    match client.find(handle.doc).await {
        Ok(session) => {
            let differs = session.to_json() != remote.json();
            let status_differs = session.status() != remote.status();
            let status = session.status();
            handle.swap(Backend::Local(session));
            if differs {
                handle.emit(&notice_js(&Notice::Change { remote: false }));
            }
            if status_differs {
                handle.emit(&notice_js(&Notice::Status(status)));
            }
        }
        Err(e) => {
            web_sys::console::warn_1(
                &format!(
                    "tessera: cannot reopen {} after taking over: {e}",
                    handle.url
                )
                .into(),
            );
            handle.swap(Backend::Closed);
        }
    }
}

/// A promise settling after `ms`, and its timer (dropping it cancels the timer).
fn sleep_promise(ms: u64) -> (Promise, Timer) {
    let mut wake = None;
    let woken = Promise::new(&mut |ok, _| wake = Some(ok));
    let wake = wake.expect("the Promise executor runs at once");
    let timer = Timer::at(env::now_ms() + ms, move || {
        let _ = wake.call0(&JsValue::UNDEFINED);
    });
    (woken, timer)
}

async fn sleep(ms: u64) {
    let (woken, _timer) = sleep_promise(ms);
    let _ = JsFuture::from(woken).await;
}
