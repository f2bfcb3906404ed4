//! `Tessera`: one local store, the relay to sync with, and the open pages.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use sync_core::client::{ClientConfig, ClientStorageOp, Repo, StorageReply};
use sync_core::protocol::{DocumentId, PeerId};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::env;
use crate::error::{Error, Result};
use crate::options::{self, Options, StorageChoice};
use crate::page::Page;
use crate::session::Session;
use crate::store::{IdbStore, MemoryStore, Store};
use crate::transport;

/// Longest page title `create` accepts.
const MAX_TITLE: usize = 64 * 1024;

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
struct ClientInner {
    shared: Rc<Shared>,
    repo: Repo,
    /// Open sessions, so two `find`s of one document share one session (two sessions over
    /// one store would both write it).
    open: RefCell<BTreeMap<DocumentId, Weak<Session>>>,
    closed: RefCell<bool>,
}

/// A Tessera client: pages in one local store, synced with one relay.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Tessera {
    inner: Rc<ClientInner>,
}

#[wasm_bindgen]
impl Tessera {
    /// Opens the store and returns a client. Pages sync with `relay` when it is given.
    #[wasm_bindgen(unchecked_return_type = "Promise<Tessera>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
        future_to_promise(async move {
            let options = Options::read(&options)?;
            let web_socket = transport::constructor(options.web_socket)?;
            let store = match &options.storage {
                StorageChoice::Memory => Store::Memory(MemoryStore::new()),
                StorageChoice::IndexedDb { name } => Store::IndexedDb(IdbStore::open(name).await?),
            };
            // A fresh peer id per client: the relay tells concurrent sessions apart by it.
            let peer_id = PeerId::from(format!("tessera-web-{}", env::hex(&env::random::<8>())));
            let repo = Repo::new(ClientConfig::new(peer_id, store.storage_id()));
            let shared = Rc::new(Shared {
                store,
                relay: options.relay,
                online: options.online,
                web_socket,
                token_provider: options.token_provider,
                token: RefCell::new(options.token),
            });
            let inner = Rc::new(ClientInner {
                shared,
                repo,
                open: RefCell::default(),
                closed: RefCell::new(false),
            });
            Ok(Self { inner }.into())
        })
    }

    /// Creates a page; resolves once it is stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<Page>")]
    pub fn create(&self, title: Option<String>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.check_open()?;
            let title = title.unwrap_or_default();
            if title.len() > MAX_TITLE {
                return Err(
                    Error::BadEdit(format!("a title is longer than {MAX_TITLE} bytes")).into(),
                );
            }
            let (doc, out) = inner.repo.create(&title, env::random(), env::random());
            let session = Session::new(inner.shared.clone(), doc);
            let saved = session.saved(JsValue::UNDEFINED);
            session.start(out);
            inner.remember(&session);
            JsFuture::from(saved).await?;
            Ok(Page::new(session).into())
        })
    }

    /// Opens a page by URL (`automerge:<id>`) or id: from the store, or, when the store does
    /// not have it, fetched from the relay once online. Resolves once it is read.
    #[wasm_bindgen(unchecked_return_type = "Promise<Page>")]
    pub fn find(&self, url: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.check_open()?;
            let id = Repo::parse_url(&url).map_err(|e| Error::BadUrl(format!("{url:?}: {e}")))?;
            let session = match inner.opened(id) {
                Some(session) => session,
                None => {
                    let (doc, out) = inner.repo.open(id, env::random());
                    let session = Session::new(inner.shared.clone(), doc);
                    session.start(out);
                    inner.remember(&session);
                    session
                }
            };
            JsFuture::from(session.loaded()).await?;
            Ok(Page::new(session).into())
        })
    }

    /// The pages in the store, oldest first, with their titles.
    #[wasm_bindgen(unchecked_return_type = "Promise<PageSummary[]>")]
    pub fn list(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.check_open()?;
            let store = &inner.shared.store;
            let ids = match store.run(&Repo::list_op()).await.map_err(Error::Storage)? {
                StorageReply::Listed(ids) => ids,
                other => {
                    return Err(Error::Storage(format!(
                        "the store answered a list with {other:?}"
                    ))
                    .into());
                }
            };
            let rows = Array::new();
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
                        ))
                        .into());
                    }
                };
                let summary = Repo::summarize(id, &stored);
                let ser = serde_wasm_bindgen::Serializer::json_compatible();
                rows.push(
                    &serde::Serialize::serialize(&summary, &ser)
                        .map_err(|e| Error::Storage(e.to_string()))?,
                );
            }
            Ok(rows.into())
        })
    }

    /// A new token for every open page and later connections (after a refusal, the pages
    /// waiting for one reconnect at once).
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: String) -> Result<()> {
        let token = options::token(&JsValue::from_str(&token))?;
        self.inner.shared.token.replace(Some(token.clone()));
        for session in self.inner.sessions() {
            session.input(sync_core::client::ClientInput::Token(token.clone()));
        }
        Ok(())
    }

    /// The id of the local store (stable for an IndexedDB database).
    #[wasm_bindgen(getter, js_name = storageId)]
    pub fn storage_id(&self) -> String {
        self.inner.shared.store.storage_id().as_str().to_owned()
    }

    /// Closes every open page (their queued writes finish first) and the store.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            if inner.closed.replace(true) {
                return Ok(JsValue::UNDEFINED);
            }
            for session in inner.sessions() {
                JsFuture::from(session.close()).await?;
            }
            inner.open.borrow_mut().clear();
            inner.shared.store.close().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl ClientInner {
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
