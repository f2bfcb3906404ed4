//! `Client`: one local database and the documents opened from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sync_core::client::{ClientConfig, DocSync};
use sync_core::model::Page;
use sync_core::protocol::{DocumentId, PeerId};

use crate::clock;
use crate::document::Document;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::store::{Durability, Store};

/// The database file inside a data directory.
const DB_FILE: &str = "tessera.db";

/// One row of [`Client::list`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocSummary {
    /// `automerge:<id>`.
    pub url: String,
    /// The page title (empty until a fetched document arrives).
    pub title: String,
}

/// A local database of documents. Cheap to clone. Must be used inside a tokio runtime (opening
/// a document spawns its task there).
///
/// Its own methods (`open`, `create`, `open_document`, `open_or_fetch`, `list`) are blocking
/// calls: they read or write SQLite on the calling thread, which suits an FFI host's threads
/// and `spawn_blocking`. Everything a document does afterwards (edits, sync) runs its storage
/// on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct Client {
    store: Arc<Mutex<Store>>,
    peer_id: PeerId,
    path: PathBuf,
    /// Open documents, so two `open` calls share one session.
    open: Arc<Mutex<BTreeMap<DocumentId, Document>>>,
}

impl Client {
    /// Opens (creating) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, Durability::default())
    }

    /// Opens with an explicit durability setting.
    pub fn open_with(data_dir: &Path, durability: Durability) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let store = Store::open(&path, durability)?;
        // A fresh peer id per process: the relay tells concurrent sessions apart by it.
        let bytes: [u8; 8] = clock::random();
        let peer_id = PeerId::from(format!(
            "tessera-{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            peer_id,
            path,
            open: Arc::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a page and returns it, open.
    pub fn create(&self, title: &str) -> Result<Document> {
        let id = DocumentId::from_random_bytes(clock::random());
        let mut page = Page::create(clock::random(), title);
        self.store()
            .create_document(id, Some(&page.doc_mut().save()))?;
        self.start(id, page, 1)
    }

    /// Opens a document stored here.
    pub fn open_document(&self, id: DocumentId) -> Result<Document> {
        if let Some(doc) = self.lock_open().get(&id) {
            return Ok(doc.clone());
        }
        if !self.store().has_document(id)? {
            return Err(Error::UnknownDocument(id.to_url()));
        }
        let (page, chunks) = self.load_page(id)?;
        self.start(id, page, chunks)
    }

    /// Opens a document, recording it as empty (to be fetched by sync) if it is not here yet.
    pub fn open_or_fetch(&self, id: DocumentId) -> Result<Document> {
        self.store().create_document(id, None)?;
        self.open_document(id)
    }

    /// Every stored document with its title.
    pub fn list(&self) -> Result<Vec<DocSummary>> {
        let ids = self.store().list_documents()?;
        ids.into_iter()
            .map(|id| {
                let (page, _) = self.load_page(id)?;
                Ok(DocSummary {
                    url: id.to_url(),
                    title: page.title(),
                })
            })
            .collect()
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, BTreeMap<DocumentId, Document>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads with a fresh actor (see `Page::load`), with the number of stored chunks: the
    /// session decides when to fold them into one snapshot.
    fn load_page(&self, id: DocumentId) -> Result<(Page, u32)> {
        let (bytes, chunks) = self.store().load_bytes(id)?;
        if bytes.is_empty() {
            return Ok((Page::empty(clock::random()), 0));
        }
        let page = Page::load(&bytes, clock::random())?;
        Ok((page, u32::try_from(chunks).unwrap_or(u32::MAX)))
    }

    fn start(&self, id: DocumentId, page: Page, stored_chunks: u32) -> Result<Document> {
        let saved_sync = self.store().sync_states(id)?;
        let storage_id = self.store().storage_id().clone();
        let config = ClientConfig::new(self.peer_id.clone(), storage_id);
        let sync = DocSync::new(config, id, page, saved_sync, clock::random())
            .with_stored_chunks(stored_chunks);
        let doc = Document::spawn(Driver::new(sync, self.store.clone()));
        self.lock_open().insert(id, doc.clone());
        Ok(doc)
    }
}
