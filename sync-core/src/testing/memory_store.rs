//! `MemoryStore`: a client store in memory, for tests and throwaway sessions. It is the
//! reference the conformance suite describes.

use std::collections::BTreeMap;

use super::ClientStore;
use crate::client::{ClientStorageOp, StorageReply, StoredDoc};
use crate::protocol::{DocumentId, StorageId};

#[derive(Debug, Clone, Default)]
struct Entry {
    chunks: Vec<Vec<u8>>,
    sync_states: BTreeMap<StorageId, Vec<u8>>,
}

/// Documents in memory, in the order they were first written.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    docs: BTreeMap<DocumentId, Entry>,
    order: Vec<DocumentId>,
    /// When set, the next this-many writes fail (to provoke save failures).
    pub fail_next_writes: u32,
}

impl MemoryStore {
    fn entry(&mut self, doc: DocumentId) -> &mut Entry {
        if !self.docs.contains_key(&doc) {
            self.order.push(doc);
        }
        self.docs.entry(doc).or_default()
    }
}

impl ClientStore for MemoryStore {
    fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply, String> {
        if op.is_write() && self.fail_next_writes > 0 {
            self.fail_next_writes -= 1;
            return Err("injected write failure".to_owned());
        }
        match op {
            ClientStorageOp::Load { doc } => {
                let entry = self.docs.get(doc).cloned().unwrap_or_default();
                Ok(StorageReply::Loaded(StoredDoc {
                    bytes: entry.chunks.concat(),
                    chunks: u32::try_from(entry.chunks.len()).unwrap_or(u32::MAX),
                    sync_states: entry.sync_states,
                }))
            }
            ClientStorageOp::AppendChanges { doc, bytes } => {
                self.entry(*doc).chunks.push(bytes.clone());
                Ok(StorageReply::Done)
            }
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => {
                self.entry(*doc).chunks = vec![bytes.clone()];
                Ok(StorageReply::Done)
            }
            ClientStorageOp::PutSyncState { doc, peer, bytes } => {
                self.entry(*doc)
                    .sync_states
                    .insert(peer.clone(), bytes.clone());
                Ok(StorageReply::Done)
            }
            ClientStorageOp::List => Ok(StorageReply::Listed(self.order.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_passes_the_conformance_suite() {
        super::super::run_sync(MemoryStore::default, |s| s).unwrap();
    }
}
