//! In-memory stand-ins for the shells' stores, with the same contracts: a task's effect is
//! visible only once it completes, and a failed task changes nothing.

use std::collections::BTreeMap;

use sync_core::io::TaskId;
use sync_core::relay::{RoomLedger, StorageOp, StoredRoom, StoredRow, StoredSnapshot};

/// The relay's Durable Object storage plus R2.
#[derive(Debug, Default)]
pub(crate) struct RelayStore {
    log: BTreeMap<u64, (Vec<u8>, Vec<u8>)>,
    snapshots: BTreeMap<u64, Vec<u8>>,
    current: Option<(u64, u64)>,
    deleted: bool,
    ledger: RoomLedger,
    unfinished: BTreeMap<TaskId, StorageOp>,
}

impl RelayStore {
    /// Starts a task. `Load` is answered at once; others finish with `commit` or `fail`.
    pub(crate) fn start(&mut self, task: TaskId, op: StorageOp) -> Option<StoredRoom> {
        if op == StorageOp::Load {
            return Some(self.load());
        }
        self.unfinished.insert(task, op);
        None
    }

    pub(crate) fn commit(&mut self, task: TaskId) {
        let Some(op) = self.unfinished.remove(&task) else {
            return;
        };
        match op {
            StorageOp::Load => {}
            StorageOp::AppendLog {
                seq,
                bytes,
                index,
                ledger,
            } => {
                assert!(
                    bytes.len() + index.len() < 2_000_000,
                    "rows stay under 2 MB"
                );
                self.log.insert(seq, (bytes, index));
                self.ledger = ledger;
            }
            StorageOp::PutLedger(ledger) => self.ledger = ledger,
            StorageOp::PutSnapshot {
                generation,
                bytes,
                log_through,
            } => {
                self.snapshots.insert(generation, bytes);
                self.current = Some((generation, log_through));
            }
            StorageOp::DeleteSnapshot { generation } => {
                assert_ne!(
                    self.current.map(|c| c.0),
                    Some(generation),
                    "never delete the current snapshot"
                );
                self.snapshots.remove(&generation);
            }
            StorageOp::PutTombstone => self.deleted = true,
        }
    }

    pub(crate) fn fail(&mut self, task: TaskId) {
        self.unfinished.remove(&task);
    }

    /// The relay died: tasks it started never finish.
    pub(crate) fn forget_unfinished(&mut self) {
        self.unfinished.clear();
    }

    fn load(&self) -> StoredRoom {
        let snapshot = self
            .current
            .map(|(generation, log_through)| StoredSnapshot {
                generation,
                log_through,
                bytes: self.snapshots[&generation].clone(),
            });
        StoredRoom {
            snapshot,
            log: self
                .log
                .iter()
                .map(|(s, (b, i))| StoredRow {
                    seq: *s,
                    bytes: b.clone(),
                    index: Some(i.clone()),
                })
                .collect(),
            deleted: self.deleted,
            ledger: self.ledger,
        }
    }
}
