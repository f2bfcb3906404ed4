//! `Tessera`: one local database, the relay it syncs with and the app's token provider; it
//! opens, creates, finds and lists documents. Mirrors the browser client's `Tessera.open`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::callbacks::TokenProvider;
use crate::document::{Document, Shared};
use crate::error::Result;
use crate::runtime::run;

/// One row of `Tessera.list()`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocSummary {
    /// `automerge:<id>`, for `find`.
    pub url: String,
    /// The page title (empty until a fetched document arrives).
    pub title: String,
}

/// A local database of pages, syncing through one relay.
#[derive(uniffi::Object)]
pub struct Tessera {
    shared: Arc<Shared>,
    /// The documents opened through this handle, stopped by `close()`.
    opened: Mutex<BTreeMap<String, Arc<Document>>>,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl Tessera {
    /// Opens (creating) the database in `data_dir`. `relay` is the relay's base URL
    /// (`https://…`, or `http://127.0.0.1:…` on this machine); without it the documents stay
    /// offline. `token_provider` is asked for a JWT whenever a document connects.
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        relay: Option<String>,
        token_provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Arc<Self>> {
        let shared = Shared::open(PathBuf::from(data_dir), relay, token_provider)?;
        Ok(Arc::new(Self {
            shared: Arc::new(shared),
            opened: Mutex::default(),
        }))
    }

    /// Creates a page with this title; it is stored before this returns.
    pub async fn create(&self, title: String) -> Result<Arc<Document>> {
        let client = self.shared.client()?;
        let doc = run(async move { Ok(client.create(&title).await?) }).await?;
        Ok(self.track(doc))
    }

    /// Opens the page at `url` (`automerge:<id>`) from the database; a page that is not
    /// stored here opens empty and is fetched from the relay by `start_sync`.
    pub async fn find(&self, url: String) -> Result<Arc<Document>> {
        let client = self.shared.client()?;
        let doc = run(async move { Ok(client.find(&url).await?) }).await?;
        Ok(self.track(doc))
    }

    /// Every stored page, oldest first, with its title.
    pub async fn list(&self) -> Result<Vec<DocSummary>> {
        let client = self.shared.client()?;
        run(async move {
            let rows = client.list().await?;
            Ok(rows
                .into_iter()
                .map(|r| DocSummary {
                    url: r.url,
                    title: r.title,
                })
                .collect())
        })
        .await
    }

    /// Stops syncing every document opened through this handle and closes the database; later
    /// calls on it or on its documents raise `TesseraError.Closed`. Calling it again does
    /// nothing.
    pub fn close(&self) {
        let opened = std::mem::take(&mut *self.opened.lock().unwrap_or_else(|p| p.into_inner()));
        for doc in opened.into_values() {
            doc.stop();
        }
        self.shared.close();
    }
}

impl Tessera {
    /// One facade object per document, so every `find` of a page returns the same handle.
    fn track(&self, doc: client_native::Document) -> Arc<Document> {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        opened
            .entry(doc.url())
            .or_insert_with(|| Arc::new(Document::new(doc, self.shared.clone())))
            .clone()
    }
}
