//! In-memory stand-ins for the shells' stores, with the same contracts: a task's effect is
//! visible only once it completes, and a failed task changes nothing.

use std::collections::BTreeMap;

use sync_core::client::{ClientStorageOp, StorageReply};
use sync_core::testing::{ClientStore, MemoryStore};

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

    /// Finishes a task: its effect, or for a `ReadRows` the rows it reads (as of now).
    pub(crate) fn commit(&mut self, task: TaskId) -> Option<Vec<(u64, Vec<u8>)>> {
        let op = self.unfinished.remove(&task)?;
        match op {
            StorageOp::Load => {}
            StorageOp::ReadRows { seqs } => {
                let rows = seqs
                    .iter()
                    .filter_map(|s| self.log.get(s).map(|(b, _)| (*s, b.clone())))
                    .collect();
                return Some(rows);
            }
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
        None
    }

    /// Whether `task` reads rows (it is answered with `RowsRead`).
    pub(crate) fn is_read(&self, task: TaskId) -> bool {
        matches!(self.unfinished.get(&task), Some(StorageOp::ReadRows { .. }))
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
                // As the Durable Object does: indexed rows' bytes stay in storage until the
                // room reads them back.
                .map(|(s, (b, i))| StoredRow {
                    seq: *s,
                    len: b.len() as u64,
                    bytes: None,
                    index: Some(i.clone()),
                })
                .collect(),
            deleted: self.deleted,
            ledger: self.ledger,
        }
    }
}

/// A client's store that fails writes at a seeded rate (the simulator's storage faults).
#[derive(Debug, Default)]
pub(crate) struct FaultyStore {
    pub(crate) inner: MemoryStore,
    /// Writes that fail, per thousand; 0 once the network heals.
    pub(crate) fail_per_mille: u32,
    rng: u64,
}

impl FaultyStore {
    pub(crate) fn new(seed: u64, fail_per_mille: u32) -> Self {
        Self {
            inner: MemoryStore::default(),
            fail_per_mille,
            rng: seed | 1,
        }
    }

    /// xorshift64: the store's own stream, so failures do not shift the scenario's rolls.
    fn roll(&mut self) -> bool {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.fail_per_mille > 0 && (self.rng % 1000) < u64::from(self.fail_per_mille)
    }
}

impl ClientStore for FaultyStore {
    fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply, String> {
        if op.is_write() && self.roll() {
            return Err("injected storage failure".into());
        }
        self.inner.run(op)
    }
}
