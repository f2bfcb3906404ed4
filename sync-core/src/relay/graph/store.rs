//! Where the graph's change bytes are: storage is their home, memory only a bounded cache.
//!
//! A change not yet in a stored row is "loose": its bytes stay in memory until the row that
//! holds it is durable. A change in a stored row is found by (row, offset); the row's bytes
//! are in memory only while they are resident: the room evicts the least recently used rows
//! beyond its budget and asks the shell to read rows back (`StorageOp::ReadRows`) when a peer
//! needs their changes. A cold start thus reads only the index, and a room's memory no longer
//! grows with the document's bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// No row: the change is loose.
const LOOSE: u32 = u32::MAX;

/// A stored row's place in the cache.
#[derive(Debug)]
struct Row {
    seq: u64,
    /// Its bytes, while resident.
    bytes: Option<Vec<u8>>,
    /// Its length in bytes (what a read must return).
    len: u64,
    /// When it was last used, by the store's own clock.
    used: u64,
}

/// The change bytes of a graph, by change index.
#[derive(Debug, Default)]
pub(crate) struct ChangeStore {
    lens: Vec<u32>,
    /// (row slot, offset in the row), or (`LOOSE`, 0).
    at: Vec<(u32, u32)>,
    rows: Vec<Row>,
    slot_of: BTreeMap<u64, u32>,
    loose: HashMap<u32, Vec<u8>>,
    resident: usize,
    clock: u64,
}

impl ChangeStore {
    pub(crate) fn len_of(&self, i: u32) -> u32 {
        self.lens[i as usize]
    }

    pub(crate) fn reserve(&mut self, changes: usize) {
        self.lens.reserve_exact(changes);
        self.at.reserve_exact(changes);
    }

    /// Change `i` (the next index) arrives with its bytes; it stays in memory until a row
    /// holds it.
    pub(crate) fn push_loose(&mut self, bytes: &[u8]) {
        let i = self.lens.len() as u32;
        self.lens.push(bytes.len() as u32);
        self.at.push((LOOSE, 0));
        self.loose.insert(i, bytes.to_vec());
    }

    /// A stored row holding the next `lens.len()` changes, with its bytes if the caller has
    /// them (they count as resident).
    pub(crate) fn push_row(&mut self, seq: u64, lens: &[u32], bytes: Option<Vec<u8>>) {
        let slot = self.add_row(seq, lens.iter().map(|l| u64::from(*l)).sum(), bytes);
        let mut offset = 0u32;
        for len in lens {
            self.lens.push(*len);
            self.at.push((slot, offset));
            offset += len;
        }
    }

    /// The loose changes `indices` (a contiguous run, in order) are now durable in row `seq`,
    /// whose bytes are `row` (their concatenation).
    pub(crate) fn stored(&mut self, seq: u64, indices: &[u32], row: Vec<u8>) {
        let slot = self.add_row(seq, row.len() as u64, Some(row));
        let mut offset = 0u32;
        for i in indices {
            self.loose.remove(i);
            self.at[*i as usize] = (slot, offset);
            offset += self.lens[*i as usize];
        }
    }

    fn add_row(&mut self, seq: u64, len: u64, bytes: Option<Vec<u8>>) -> u32 {
        let slot = self.rows.len() as u32;
        self.clock += 1;
        self.resident += bytes.as_ref().map_or(0, Vec::len);
        self.rows.push(Row {
            seq,
            bytes,
            len,
            used: self.clock,
        });
        self.slot_of.insert(seq, slot);
        slot
    }

    /// Change `i`'s bytes, if they are in memory.
    pub(crate) fn get(&self, i: u32) -> Option<&[u8]> {
        let (slot, offset) = self.at[i as usize];
        if slot == LOOSE {
            return self.loose.get(&i).map(Vec::as_slice);
        }
        let bytes = self.rows[slot as usize].bytes.as_ref()?;
        bytes.get(offset as usize..(offset + self.lens[i as usize]) as usize)
    }

    /// The rows to read before `indices` can be served, and marks the resident ones used.
    pub(crate) fn rows_to_read(&mut self, indices: impl Iterator<Item = u32>) -> Vec<u64> {
        self.clock += 1;
        let mut want = Vec::new();
        for i in indices {
            let (slot, _) = self.at[i as usize];
            if slot == LOOSE {
                continue;
            }
            let row = &mut self.rows[slot as usize];
            if row.bytes.is_some() {
                row.used = self.clock;
            } else if want.last() != Some(&row.seq) && !want.contains(&row.seq) {
                want.push(row.seq);
            }
        }
        want
    }

    /// A row read back from storage; `false` if the store does not know it or its length is
    /// not what the index says (the bytes are then not used).
    pub(crate) fn fill(&mut self, seq: u64, bytes: Vec<u8>) -> bool {
        let Some(slot) = self.slot_of.get(&seq).copied() else {
            return false;
        };
        self.clock += 1;
        let row = &mut self.rows[slot as usize];
        if bytes.len() as u64 != row.len {
            return false;
        }
        if row.bytes.is_none() {
            self.resident += bytes.len();
            row.bytes = Some(bytes);
        }
        row.used = self.clock;
        true
    }

    /// The stored rows that hold `indices` (resident or not).
    pub(crate) fn rows_of(&self, indices: impl Iterator<Item = u32>) -> BTreeSet<u64> {
        indices
            .map(|i| self.at[i as usize].0)
            .filter(|slot| *slot != LOOSE)
            .map(|slot| self.rows[slot as usize].seq)
            .collect()
    }

    /// Drops the least recently used resident rows, except `pinned`, until at most `budget`
    /// bytes of rows stay (or only pinned ones).
    pub(crate) fn evict(&mut self, budget: usize, pinned: &BTreeSet<u64>) {
        if self.resident <= budget {
            return;
        }
        let mut by_age: Vec<(u64, u32)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.bytes.is_some() && !pinned.contains(&r.seq))
            .map(|(slot, r)| (r.used, slot as u32))
            .collect();
        by_age.sort_unstable();
        for (_, slot) in by_age {
            if self.resident <= budget {
                break;
            }
            if let Some(bytes) = self.rows[slot as usize].bytes.take() {
                self.resident -= bytes.len();
            }
        }
    }

    /// Bytes of stored rows in memory.
    pub(crate) fn resident_bytes(&self) -> usize {
        self.resident
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicted_rows_are_named_for_reading_and_serve_again_once_filled() {
        let mut s = ChangeStore::default();
        s.push_row(1, &[2, 3], Some(b"abcde".to_vec()));
        s.push_row(2, &[1], None);
        s.push_loose(b"xy");
        assert_eq!(s.get(1), Some(&b"cde"[..]));
        assert_eq!(s.get(2), None);
        assert_eq!(s.get(3), Some(&b"xy"[..]));
        assert_eq!(s.rows_to_read(0..4), vec![2]);
        assert!(
            !s.fill(2, b"too long".to_vec()),
            "a row of the wrong length"
        );
        assert!(s.fill(2, b"z".to_vec()));
        assert_eq!(s.get(2), Some(&b"z"[..]));
        assert!(s.rows_to_read(0..4).is_empty());

        s.stored(3, &[3], b"xy".to_vec());
        assert_eq!(s.resident_bytes(), 8);
        // Row 1 was used least recently (row 2 was filled, row 3 just stored).
        s.rows_to_read(2..4);
        s.evict(4, &BTreeSet::new());
        assert_eq!(s.get(0), None);
        assert_eq!(s.get(3), Some(&b"xy"[..]));
        assert_eq!(s.rows_to_read(0..4), vec![1]);
        assert!(s.resident_bytes() <= 4);

        // A pinned row stays, over the budget.
        assert!(s.fill(1, b"abcde".to_vec()));
        let pinned = s.rows_of(0..2);
        assert_eq!(pinned, BTreeSet::from([1]));
        s.evict(0, &pinned);
        assert_eq!(s.get(0), Some(&b"ab"[..]));
        assert_eq!(s.get(2), None);
        assert_eq!(s.resident_bytes(), 5);
    }
}
