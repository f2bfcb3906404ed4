//! The client that owns a store: one core [`Repo`], one [`Session`] per open document, and
//! the store they write. A context has one when it is the only one using its database, or
//! when it leads the contexts that share it (see [`crate::tabs`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::Function;
use sync_core::client::{
    ClientConfig, ClientInput, ClientStorageOp, DocSummary, Repo, SERVICE_WORKER_KEEPALIVE_MS,
    StorageReply,
};
use sync_core::protocol::{DocumentId, PeerId};
use wasm_bindgen_futures::JsFuture;

use crate::env;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::session::Session;
use crate::store::Store;

/// What every session of one client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) relay: Option<String>,
    pub(crate) online: bool,
    pub(crate) web_socket: Function,
    pub(crate) token_provider: Option<Function>,
    pub(crate) token: RefCell<Option<String>>,
}

#[derive(Debug)]
pub(crate) struct LocalClient {
    shared: Rc<Shared>,
    repo: Repo,
    /// Open sessions, so two `find`s of one document share one session (two sessions over
    /// one store would both write it).
    open: RefCell<BTreeMap<DocumentId, Weak<Session>>>,
    closed: RefCell<bool>,
}

impl LocalClient {
    /// Opens the store the options name.
    pub(crate) async fn open(options: &Options, web_socket: Function) -> Result<Rc<Self>> {
        let store = Store::open(&options.storage).await?;
        // A fresh peer id per client: the relay tells concurrent sessions apart by it.
        let peer_id = PeerId::from(format!("tessera-web-{}", env::hex(&env::random::<8>())));
        let mut config = ClientConfig::new(peer_id, store.storage_id());
        config.keepalive_ms = options.keepalive.then_some(SERVICE_WORKER_KEEPALIVE_MS);
        let shared = Rc::new(Shared {
            store,
            relay: options.relay.clone(),
            online: options.online,
            web_socket,
            token_provider: options.token_provider.clone(),
            token: RefCell::new(options.token.clone()),
        });
        Ok(Rc::new(Self {
            shared,
            repo: Repo::new(config),
            open: RefCell::default(),
            closed: RefCell::new(false),
        }))
    }

    /// Creates a page; resolves once it is stored.
    pub(crate) async fn create(&self, title: &str) -> Result<Rc<Session>> {
        self.check_open()?;
        let (doc, out) = self.repo.create(title, env::random(), env::random());
        let session = Session::new(self.shared.clone(), doc);
        let saved = session.saved(wasm_bindgen::JsValue::UNDEFINED);
        session.start(out);
        self.remember(&session);
        JsFuture::from(saved)
            .await
            .map_err(|e| Error::from_js(&e))?;
        Ok(session)
    }

    /// The open session of a document, or a new one reading it from the store; resolves
    /// once it is read.
    pub(crate) async fn find(&self, id: DocumentId) -> Result<Rc<Session>> {
        self.check_open()?;
        let session = match self.opened(id) {
            Some(session) => session,
            None => {
                let (doc, out) = self.repo.open(id, env::random());
                let session = Session::new(self.shared.clone(), doc);
                session.start(out);
                self.remember(&session);
                session
            }
        };
        JsFuture::from(session.loaded())
            .await
            .map_err(|e| Error::from_js(&e))?;
        Ok(session)
    }

    /// The pages in the store, oldest first, with their titles.
    pub(crate) async fn list(&self) -> Result<Vec<DocSummary>> {
        self.check_open()?;
        let store = &self.shared.store;
        let ids = match store.run(&Repo::list_op()).await.map_err(Error::Storage)? {
            StorageReply::Listed(ids) => ids,
            other => {
                return Err(Error::Storage(format!(
                    "the store answered a list with {other:?}"
                )));
            }
        };
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = match store
                .run(&ClientStorageOp::Load { doc: id })
                .await
                .map_err(Error::Storage)?
            {
                StorageReply::Loaded(stored) => stored,
                other => {
                    return Err(Error::Storage(format!(
                        "the store answered a load with {other:?}"
                    )));
                }
            };
            rows.push(Repo::summarize(id, &stored));
        }
        Ok(rows)
    }

    /// A new token for every open page and later connections.
    pub(crate) fn set_token(&self, token: String) {
        self.shared.token.replace(Some(token.clone()));
        for session in self.sessions() {
            session.input(ClientInput::Token(token.clone()));
        }
    }

    pub(crate) fn storage_id(&self) -> String {
        self.shared.store.storage_id().as_str().to_owned()
    }

    /// Closes every open page (their queued writes finish first) and the store.
    pub(crate) async fn close(&self) -> Result<()> {
        if self.closed.replace(true) {
            return Ok(());
        }
        for session in self.sessions() {
            JsFuture::from(session.close())
                .await
                .map_err(|e| Error::from_js(&e))?;
        }
        self.open.borrow_mut().clear();
        self.shared.store.close().await;
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if *self.closed.borrow() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn opened(&self, id: DocumentId) -> Option<Rc<Session>> {
        self.open
            .borrow()
            .get(&id)
            .and_then(Weak::upgrade)
            .filter(|s| !s.is_closed())
    }

    fn remember(&self, session: &Rc<Session>) {
        let mut open = self.open.borrow_mut();
        open.retain(|_, s| s.strong_count() > 0);
        open.insert(session.doc_id(), Rc::downgrade(session));
    }

    fn sessions(&self) -> Vec<Rc<Session>> {
        self.open
            .borrow()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }
}
