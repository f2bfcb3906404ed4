//! `Tessera`: one local store, the relay to sync with, and the open pages. The calls go to
//! this context's [`Hub`], which carries them out on its own client or has the tab leading
//! the database carry them out (see [`crate::tabs`]).

use std::rc::Rc;

use js_sys::{Array, Promise};
use sync_core::client::Repo;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{Error, Result};
use crate::options::{self, Options};
use crate::page::Page;
use crate::tabs::{Hub, MAX_TITLE};

/// A Tessera client: pages in one local store, synced with one relay.
#[wasm_bindgen]
pub struct Tessera {
    hub: Rc<Hub>,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera")
            .field("storage_id", &self.hub.storage_id())
            .finish()
    }
}

#[wasm_bindgen]
impl Tessera {
    /// Opens the store and returns a client. Pages sync with `relay` when it is given. When
    /// another tab or worker of this origin has the same IndexedDB database open, this client
    /// is served by it, and takes over when it goes away.
    #[wasm_bindgen(unchecked_return_type = "Promise<Tessera>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
        future_to_promise(async move {
            let options = Options::read(&options)?;
            let hub = Hub::open(options).await?;
            Ok(Self { hub }.into())
        })
    }

    /// Creates a page; resolves once it is stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<Page>")]
    pub fn create(&self, title: Option<String>) -> Promise {
        let hub = self.hub.clone();
        future_to_promise(async move {
            let title = title.unwrap_or_default();
            if title.len() > MAX_TITLE {
                return Err(
                    Error::BadEdit(format!("a title is longer than {MAX_TITLE} bytes")).into(),
                );
            }
            let handle = hub.create(title).await?;
            Ok(Page::new(hub, handle).into())
        })
    }

    /// Opens a page by URL (`automerge:<id>`) or id: from the store, or, when the store does
    /// not have it, fetched from the relay once online. Resolves once it is read.
    #[wasm_bindgen(unchecked_return_type = "Promise<Page>")]
    pub fn find(&self, url: String) -> Promise {
        let hub = self.hub.clone();
        future_to_promise(async move {
            let id = Repo::parse_url(&url).map_err(|e| Error::BadUrl(format!("{url:?}: {e}")))?;
            let handle = hub.find(id).await?;
            Ok(Page::new(hub, handle).into())
        })
    }

    /// The pages in the store, oldest first, with their titles.
    #[wasm_bindgen(unchecked_return_type = "Promise<PageSummary[]>")]
    pub fn list(&self) -> Promise {
        let hub = self.hub.clone();
        future_to_promise(async move {
            let rows = Array::new();
            let ser = serde_wasm_bindgen::Serializer::json_compatible();
            for summary in hub.list().await? {
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
        self.hub.set_token(token);
        Ok(())
    }

    /// Which store holds this client's pages (the default picks the best one this context
    /// can run; a tab served by another reports the leader's).
    #[wasm_bindgen(getter, js_name = storageType, unchecked_return_type = "StorageType")]
    pub fn storage_type(&self) -> String {
        crate::store::kind_of(&self.hub.storage_id()).to_owned()
    }

    /// The id of the local store (stable for a SQLite or IndexedDB database).
    #[wasm_bindgen(getter, js_name = storageId)]
    pub fn storage_id(&self) -> String {
        self.hub.storage_id()
    }

    /// Closes every open page (their queued writes finish first) and the store. A tab that
    /// serves others answers what it is running, then hands the database over.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let hub = self.hub.clone();
        future_to_promise(async move {
            hub.close().await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
