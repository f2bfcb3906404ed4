//! In-memory stand-ins for the shells' stores, with the same contracts: a task's effect is
//! visible only once it completes, and a failed task changes nothing.

use std::collections::BTreeMap;

use sync_core::io::TaskId;
use sync_core::relay::{RoomLedger, StorageOp, StoredRoom, StoredSnapshot};

/// The relay's Durable Object storage plus R2.
#[derive(Debug, Default)]
pub(crate) struct RelayStore {
    log: BTreeMap<u64, Vec<u8>>,
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
            StorageOp::AppendLog { seq, bytes, ledger } => {
                assert!(bytes.len() < 2_000_000, "rows stay under 2 MB");
                self.log.insert(seq, bytes);
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
            StorageOp::TrimLog { through } => self.log.retain(|s, _| *s > through),
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
        let through = self.current.map_or(0, |c| c.1);
        StoredRoom {
            snapshot,
            log: self
                .log
                .iter()
                .filter(|(s, _)| **s > through)
                .map(|(s, b)| (*s, b.clone()))
                .collect(),
            deleted: self.deleted,
            ledger: self.ledger,
        }
    }
}
