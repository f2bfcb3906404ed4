//! `Client`: one local database and the documents opened from it, over the core's
//! [`Repo`](sync_core::client::Repo).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sync_core::client::{ClientConfig, ClientOutput, DocSummary, DocSync, Repo};
use sync_core::protocol::{DocumentId, PeerId};

use crate::clock;
use crate::document::Document;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::store::{Durability, Store};

/// The database file inside a data directory.
const DB_FILE: &str = "tessera.db";

/// A local database of documents. Cheap to clone. Must be used inside a tokio runtime (opening
/// a document spawns its task there).
///
/// [`open`](Self::open) is a blocking call (it opens SQLite on the calling thread); the rest
/// are async and run their storage on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct Client {
    store: Arc<Mutex<Store>>,
    repo: Repo,
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
        let config = ClientConfig::new(peer_id, store.storage_id().clone());
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            repo: Repo::new(config),
            path,
            open: Arc::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a page and returns it, open, once it is stored.
    pub async fn create(&self, title: &str) -> Result<Document> {
        let started = self.repo.create(title, clock::random(), clock::random());
        self.start(started).await
    }

    /// Opens a document stored here.
    pub async fn open_document(&self, id: DocumentId) -> Result<Document> {
        if let Some(doc) = self.lock_open().get(&id) {
            return Ok(doc.clone());
        }
        if !self.blocking(move |s| s.has_document(id)).await? {
            return Err(Error::UnknownDocument(id.to_url()));
        }
        self.start(self.repo.open(id, clock::random())).await
    }

    /// Opens a document by URL (`automerge:<id>` or the bare id); one that is not here yet
    /// is fetched from the relay once it goes online.
    pub async fn find(&self, url: &str) -> Result<Document> {
        let id = Repo::parse_url(url)?;
        if let Some(doc) = self.lock_open().get(&id) {
            return Ok(doc.clone());
        }
        self.start(self.repo.open(id, clock::random())).await
    }

    /// Every stored document with its title, oldest first.
    pub async fn list(&self) -> Result<Vec<DocSummary>> {
        self.blocking(|store| {
            store
                .list_documents()?
                .into_iter()
                .map(|id| Ok(Repo::summarize(id, &store.load(id)?)))
                .collect()
        })
        .await
    }

    /// Runs `f` on the store on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&mut store.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(|_| Error::SessionGone)?
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, BTreeMap<DocumentId, Document>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spawns the session's task and carries out its first outputs (the load, or a new
    /// page's save) before handing the document out.
    async fn start(&self, (sync, first): (DocSync, Vec<ClientOutput>)) -> Result<Document> {
        let id = sync.doc_id();
        let doc = Document::spawn(Driver::new(sync, self.store.clone()));
        if let Some(err) = doc.call_async(move |d| Box::pin(d.start(first))).await? {
            return Err(err);
        }
        let doc = self.lock_open().entry(id).or_insert(doc).clone();
        Ok(doc)
    }
}
