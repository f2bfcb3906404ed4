//! Hash → graph index lookup: open addressing over `u32` slots keyed by the change hash
//! itself (SHA-256, so its first bytes are already uniform). Four bytes a slot instead of a map
//! entry that repeats the 32-byte hash.

use automerge::ChangeHash;

const EMPTY: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct HashIndex {
    slots: Vec<u32>,
    len: usize,
}

fn start(hash: &ChangeHash, mask: usize) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash.0[..8]);
    u64::from_le_bytes(b) as usize & mask
}

impl HashIndex {
    /// The index of `hash`, looking hashes up in `hashes` (the graph's, by index).
    pub(crate) fn find(&self, hashes: &[ChangeHash], hash: &ChangeHash) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = start(hash, mask);
        loop {
            let slot = self.slots[at];
            if slot == EMPTY {
                return None;
            }
            if hashes[slot as usize] == *hash {
                return Some(slot);
            }
            at = (at + 1) & mask;
        }
    }

    /// Records `index` (whose hash is `hashes[index]`, not yet present).
    pub(crate) fn insert(&mut self, hashes: &[ChangeHash], index: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(hashes);
        }
        Self::place(&mut self.slots, &hashes[index as usize], index);
        self.len += 1;
    }

    /// Makes room for `extra` more entries at once (a cold start knows its count).
    pub(crate) fn reserve(&mut self, hashes: &[ChangeHash], extra: usize) {
        let want = ((self.len + extra) * 2).next_power_of_two();
        if want > self.slots.len() {
            self.rebuild(hashes, want);
        }
    }

    fn grow(&mut self, hashes: &[ChangeHash]) {
        let want = (self.slots.len() * 2).max(64);
        self.rebuild(hashes, want);
    }

    fn rebuild(&mut self, hashes: &[ChangeHash], size: usize) {
        let mut slots = vec![EMPTY; size];
        for &i in self.slots.iter().filter(|s| **s != EMPTY) {
            Self::place(&mut slots, &hashes[i as usize], i);
        }
        self.slots = slots;
    }

    fn place(slots: &mut [u32], hash: &ChangeHash, index: u32) {
        let mask = slots.len() - 1;
        let mut at = start(hash, mask);
        while slots[at] != EMPTY {
            at = (at + 1) & mask;
        }
        slots[at] = index;
    }
}
