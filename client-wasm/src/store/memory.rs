//! The memory store: documents in a map, gone with the page.

use std::cell::RefCell;
use std::collections::BTreeMap;

use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::{DocumentId, StorageId};

use crate::env;

#[derive(Debug, Default)]
struct Doc {
    chunks: Vec<Vec<u8>>,
    sync_states: BTreeMap<StorageId, Vec<u8>>,
}

/// Documents in memory, in the order they were first stored.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    storage_id: StorageId,
    docs: RefCell<Vec<(DocumentId, Doc)>>,
}

impl MemoryStore {
    /// An empty store with a fresh storage id.
    pub(crate) fn new() -> Self {
        Self {
            storage_id: StorageId::from(format!("mem-{}", env::hex(&env::random::<16>()))),
            docs: RefCell::default(),
        }
    }

    pub(crate) fn storage_id(&self) -> StorageId {
        self.storage_id.clone()
    }

    pub(crate) fn run(&self, op: &ClientStorageOp) -> StorageReply {
        let mut docs = self.docs.borrow_mut();
        match op {
            ClientStorageOp::Load { doc } => {
                let stored = docs.iter().find(|(d, _)| d == doc).map(|(_, d)| StoredDoc {
                    bytes: d.chunks.concat(),
                    chunks: d.chunks.len() as u32,
                    sync_states: d.sync_states.clone(),
                });
                StorageReply::Loaded(stored.unwrap_or_default())
            }
            ClientStorageOp::AppendChanges { doc, bytes } => {
                entry(&mut docs, doc).chunks.push(bytes.clone());
                StorageReply::Done
            }
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => {
                entry(&mut docs, doc).chunks = vec![bytes.clone()];
                StorageReply::Done
            }
            ClientStorageOp::PutSyncState { doc, peer, bytes } => {
                entry(&mut docs, doc)
                    .sync_states
                    .insert(peer.clone(), bytes.clone());
                StorageReply::Done
            }
            ClientStorageOp::List => StorageReply::Listed(docs.iter().map(|(id, _)| *id).collect()),
        }
    }
}

/// The document's entry, recorded if new.
fn entry<'a>(docs: &'a mut Vec<(DocumentId, Doc)>, id: &DocumentId) -> &'a mut Doc {
    let i = match docs.iter().position(|(d, _)| d == id) {
        Some(i) => i,
        None => {
            docs.push((*id, Doc::default()));
            docs.len() - 1
        }
    };
    &mut docs[i].1
}
