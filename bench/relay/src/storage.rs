//! The Durable Object's log, in memory: rows as the room writes them, given back the way the
//! Worker gives them (at a cold start the index without the change bytes, which the room reads
//! back with `ReadRows` when a peer needs them). Every task succeeds at once.

use std::collections::BTreeMap;

use sync_core::io::TaskId;
use sync_core::relay::{RoomInput, StorageOp, StoredRoom, StoredRow};

#[derive(Debug, Default)]
pub(crate) struct BenchStorage {
    /// seq -> (change bytes, index)
    rows: BTreeMap<u64, (Vec<u8>, Vec<u8>)>,
}

impl BenchStorage {
    /// Carries out `op`; the room's answer.
    pub(crate) fn run(&mut self, task: TaskId, op: StorageOp) -> RoomInput {
        match op {
            StorageOp::AppendLog {
                seq, bytes, index, ..
            } => {
                self.rows.insert(seq, (bytes, index));
            }
            StorageOp::ReadRows { seqs } => {
                let rows = seqs
                    .iter()
                    .filter_map(|s| self.rows.get(s).map(|(b, _)| (*s, b.clone())))
                    .collect();
                return RoomInput::RowsRead {
                    task: Some(task),
                    outcome: Ok(rows),
                };
            }
            _ => {}
        }
        RoomInput::StorageDone {
            task,
            outcome: Ok(()),
        }
    }

    /// What a cold start loads: every row's index and length, no change bytes.
    pub(crate) fn stored(&self) -> StoredRoom {
        StoredRoom {
            log: self
                .rows
                .iter()
                .map(|(seq, (bytes, index))| StoredRow {
                    seq: *seq,
                    len: bytes.len() as u64,
                    bytes: None,
                    index: Some(index.clone()),
                })
                .collect(),
            ..StoredRoom::default()
        }
    }
}
