//! `Repo`: the documents of one local store, so no shell writes its own multi-document layer.
//! It mints document ids, turns a URL into a session, and lists what the store holds.
//!
//! A shell keeps one [`DocSync`] per open document (opening one twice would run two sessions
//! over one store) and carries out each session's outputs; the repo's own IO is one op,
//! [`ClientStorageOp::List`], followed by a `Load` per listed document for its summary.

use serde::Serialize;

use super::config::ClientConfig;
use super::doc_sync::DocSync;
use super::io::{ClientOutput, ClientStorageOp, StoredDoc};
use crate::model::Page;
use crate::protocol::{BadDocumentId, DocumentId};

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocSummary {
    /// `automerge:<id>`.
    pub url: String,
    /// The page title (empty until a fetched document arrives).
    pub title: String,
}

/// Opens, creates and lists the documents of one store.
#[derive(Debug, Clone)]
pub struct Repo {
    config: ClientConfig,
}

impl Repo {
    /// A repo whose sessions use `config` (its storage id names the store).
    pub fn new(config: ClientConfig) -> Self {
        Self { config }
    }

    /// The settings every session gets.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// A new page. `id_bytes` and `seed` are fresh random bytes from the shell: the document
    /// id, and the session's actor and seed. The outputs store it.
    pub fn create(
        &self,
        title: &str,
        id_bytes: [u8; 16],
        seed: [u8; 16],
    ) -> (DocSync, Vec<ClientOutput>) {
        let id = DocumentId::from_random_bytes(id_bytes);
        DocSync::create(self.config.clone(), id, title, seed)
    }

    /// A session for a document, loaded from the store; one the store lacks is fetched from
    /// the relay once online.
    pub fn open(&self, id: DocumentId, seed: [u8; 16]) -> (DocSync, Vec<ClientOutput>) {
        DocSync::open(self.config.clone(), id, seed)
    }

    /// [`open`](Self::open) by URL: `automerge:<id>` or the bare id.
    pub fn find(
        &self,
        url: &str,
        seed: [u8; 16],
    ) -> Result<(DocSync, Vec<ClientOutput>), BadDocumentId> {
        Ok(self.open(Self::parse_url(url)?, seed))
    }

    /// The document a URL names: `automerge:<id>` or the bare id.
    pub fn parse_url(url: &str) -> Result<DocumentId, BadDocumentId> {
        DocumentId::parse_url_or_id(url.trim())
    }

    /// The op that lists the store's documents; answered with `StorageReply::Listed`.
    pub fn list_op() -> ClientStorageOp {
        ClientStorageOp::List
    }

    /// The listing row of a document, from what the store holds for it. A document that has
    /// not arrived yet, or whose bytes do not load, has an empty title.
    pub fn summarize(id: DocumentId, stored: &StoredDoc) -> DocSummary {
        let title = if stored.bytes.is_empty() {
            String::new()
        } else {
            Page::load(&stored.bytes, [0; 16])
                .map(|p| p.title())
                .unwrap_or_default()
        };
        DocSummary {
            url: id.to_url(),
            title,
        }
    }
}
