//! The change graph a relay room serves from: every change's bytes as received, plus a compact
//! index (hash, deps, actor, seq). The room answers sync messages from this graph alone
//! (`sync.rs`) and never builds the document: no `Automerge::load`, no apply, in the hot path.
//!
//! Indices are assigned in the order changes are admitted, and a change is admitted only after
//! all its deps, so index order is a topological order: a change's deps always have smaller
//! indices. The room writes changes to storage in the same order, so what is durable is always
//! a prefix of the graph, and a cold start rebuilds the same indices from the stored rows.
//!
//! Memory per change: about 60 bytes of index, instead of the ~900 bytes a materialized
//! automerge 0.12 document needs. The change bytes themselves live in storage, with a bounded
//! cache in memory (`store.rs`).

mod bitset;
mod index;
mod parse;
mod store;
mod sync;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, ChangeHash};

pub(crate) use bitset::Bitset;
pub(crate) use index::{IndexEntry, decode_index, encode_index, index_count};
pub use parse::ChangeError;
pub(crate) use parse::{ParsedChange, parse_change, split_chunks};
use store::ChangeStore;
pub(crate) use sync::{Outgoing, PeerSync};
use table::HashIndex;

/// The graph: see the module docs.
#[derive(Debug, Default)]
pub(crate) struct ChangeGraph {
    hashes: Vec<ChangeHash>,
    /// `deps[dep_start[i]..dep_start[i + 1]]` are change `i`'s deps (indices).
    dep_start: Vec<u32>,
    deps: Vec<u32>,
    /// (actor index, seq) of each change.
    authors: Vec<(u32, u32)>,
    actors: Vec<ActorId>,
    actor_lookup: BTreeMap<ActorId, u32>,
    max_seq: Vec<u32>,
    /// The change at which each actor first appears.
    actor_first: Vec<u32>,
    store: ChangeStore,
    lookup: HashIndex,
    heads: BTreeSet<u32>,
}

impl ChangeGraph {
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub(crate) fn index_of(&self, hash: &ChangeHash) -> Option<u32> {
        self.lookup.find(&self.hashes, hash)
    }

    pub(crate) fn contains(&self, hash: &ChangeHash) -> bool {
        self.index_of(hash).is_some()
    }

    pub(crate) fn hash(&self, i: u32) -> ChangeHash {
        self.hashes[i as usize]
    }

    pub(crate) fn deps(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.deps[self.dep_start[i] as usize..self.dep_start[i + 1] as usize]
    }

    /// Change `i`'s bytes, if they are in memory (see [`Self::rows_to_read`]).
    pub(crate) fn bytes(&self, i: u32) -> Option<&[u8]> {
        self.store.get(i)
    }

    /// Change `i`'s length in bytes, wherever its bytes are.
    pub(crate) fn len_of(&self, i: u32) -> usize {
        self.store.len_of(i) as usize
    }

    /// The stored rows to read back before `indices` can be served (none if all are in
    /// memory); marks the resident ones as used, so they are evicted last.
    pub(crate) fn rows_to_read(&mut self, indices: impl Iterator<Item = u32>) -> Vec<u64> {
        self.store.rows_to_read(indices)
    }

    /// A row read back from storage; `false` if it is not one the graph knows, with the
    /// length its index gives.
    pub(crate) fn fill_row(&mut self, seq: u64, bytes: Vec<u8>) -> bool {
        self.store.fill(seq, bytes)
    }

    /// The changes `indices` (loose until now, a contiguous run) are durable in row `seq`.
    pub(crate) fn stored_in_row(&mut self, seq: u64, indices: &[u32], row: Vec<u8>) {
        self.store.stored(seq, indices, row);
    }

    /// The stored rows holding `indices`, in memory or not.
    pub(crate) fn rows_of(&self, indices: impl Iterator<Item = u32>) -> BTreeSet<u64> {
        self.store.rows_of(indices)
    }

    /// Forgets the least recently used rows' bytes beyond `budget`, except `pinned` (all stay
    /// in storage).
    pub(crate) fn evict_rows(&mut self, budget: usize, pinned: &BTreeSet<u64>) {
        self.store.evict(budget, pinned);
    }

    /// Bytes of stored rows held in memory.
    pub(crate) fn resident_row_bytes(&self) -> usize {
        self.store.resident_bytes()
    }

    /// The heads, sorted (automerge's order on the wire).
    pub(crate) fn heads(&self) -> Vec<ChangeHash> {
        let mut heads: Vec<ChangeHash> = self.heads.iter().map(|i| self.hash(*i)).collect();
        heads.sort();
        heads
    }

    /// Whether every dep of `change` is in the graph.
    pub(crate) fn deps_known(&self, deps: &[ChangeHash]) -> bool {
        deps.iter().all(|d| self.contains(d))
    }

    /// Checks what the graph can check of a change whose deps it holds: its actor must not
    /// already have a change with this seq.
    pub(crate) fn check(&self, change: &ParsedChange) -> Result<(), ChangeError> {
        let taken = self
            .actor_lookup
            .get(&change.actor)
            .is_some_and(|a| u64::from(self.max_seq[*a as usize]) >= change.seq);
        if taken || change.seq > u64::from(u32::MAX) {
            return Err(ChangeError::DuplicateSeq {
                actor: change.actor.to_hex_string(),
                seq: change.seq,
            });
        }
        Ok(())
    }

    /// Adds a change whose deps are all present and that is not present itself; its index.
    pub(crate) fn insert(&mut self, change: &ParsedChange) -> u32 {
        self.store.push_loose(&change.bytes);
        let deps: Vec<u32> = change
            .deps
            .iter()
            .map(|d| self.index_of(d).expect("caller checked the deps"))
            .collect();
        let actor = self.actor_index(&change.actor);
        self.push(change.hash, &deps, actor, change.seq as u32)
    }

    fn actor_index(&mut self, actor: &ActorId) -> u32 {
        if let Some(a) = self.actor_lookup.get(actor) {
            return *a;
        }
        let a = self.actors.len() as u32;
        self.actors.push(actor.clone());
        self.actor_lookup.insert(actor.clone(), a);
        self.max_seq.push(0);
        self.actor_first.push(self.hashes.len() as u32);
        a
    }

    fn push(&mut self, hash: ChangeHash, deps: &[u32], actor: u32, seq: u32) -> u32 {
        let i = self.hashes.len() as u32;
        if self.dep_start.is_empty() {
            self.dep_start.push(0);
        }
        self.hashes.push(hash);
        self.deps.extend_from_slice(deps);
        self.dep_start.push(self.deps.len() as u32);
        for d in deps {
            self.heads.remove(d);
        }
        self.heads.insert(i);
        self.authors.push((actor, seq));
        let max = &mut self.max_seq[actor as usize];
        *max = (*max).max(seq);
        self.lookup.insert(&self.hashes, i);
        i
    }

    /// The index entry of change `i`, as stored next to its row. The actor id itself is
    /// stored only with the change where the actor first appears.
    pub(crate) fn entry(&self, i: u32) -> IndexEntry {
        let (actor, seq) = self.authors[i as usize];
        IndexEntry {
            len: self.store.len_of(i),
            hash: self.hash(i),
            deps: self.deps(i).to_vec(),
            actor_index: actor,
            new_actor: (self.actor_first[actor as usize] == i)
                .then(|| self.actors[actor as usize].clone()),
            seq,
        }
    }

    /// Prepares for `changes` more changes at once (a cold start knows its count), so the
    /// index vectors are allocated once instead of doubling.
    pub(crate) fn reserve(&mut self, changes: usize) {
        self.hashes.reserve_exact(changes);
        self.dep_start.reserve_exact(changes + 1);
        self.deps.reserve_exact(changes + changes / 8);
        self.authors.reserve_exact(changes);
        self.store.reserve(changes);
        self.lookup.reserve(&self.hashes, changes);
    }

    /// The head indices.
    pub(crate) fn head_indices(&self) -> &BTreeSet<u32> {
        &self.heads
    }

    /// Adopts stored row `seq` of `len` bytes through the index stored with it: no parsing,
    /// no hashing, and its bytes (if the caller read them) become resident. The bytes come
    /// back (and nothing is adopted) if the index does not describe the row at this point of
    /// the graph.
    pub(crate) fn adopt_row(
        &mut self,
        seq: u64,
        len: u64,
        bytes: Option<Vec<u8>>,
        index: &[u8],
    ) -> Result<(), Option<Vec<u8>>> {
        let Some((first, entries)) = decode_index(index) else {
            return Err(bytes);
        };
        let total: u64 = entries.iter().map(|e| u64::from(e.len)).sum();
        let mut actors = self.actors.len() as u32;
        let mut next = self.len() as u32;
        let consistent = first == u64::from(next)
            && total == len
            && bytes.as_ref().is_none_or(|b| b.len() as u64 == len)
            && entries.iter().all(|e| {
                let actor_ok = match &e.new_actor {
                    Some(_) => e.actor_index == actors,
                    None => e.actor_index < actors,
                };
                actors += u32::from(e.new_actor.is_some());
                let ok = actor_ok && e.deps.iter().all(|d| *d < next);
                next += 1;
                ok
            });
        if !consistent {
            return Err(bytes);
        }
        let lens: Vec<u32> = entries.iter().map(|e| e.len).collect();
        self.store.push_row(seq, &lens, bytes);
        for e in entries {
            if let Some(actor) = e.new_actor {
                self.actor_lookup.insert(actor.clone(), e.actor_index);
                self.actors.push(actor);
                self.max_seq.push(0);
                self.actor_first.push(self.hashes.len() as u32);
            }
            self.push(e.hash, &e.deps, e.actor_index, e.seq);
        }
        Ok(())
    }

    /// Changes that are not ancestors of `base` (nor in it), ascending: what a peer at `base`
    /// lacks. Walks down from the heads in index order with two colours and stops as soon as
    /// everything left is an ancestor of `base`, so it costs what is new since `base`, not the
    /// size of the graph.
    pub(crate) fn not_ancestors(&self, base: &[u32]) -> Vec<u32> {
        if base.is_empty() {
            return (0..self.len() as u32).collect();
        }
        // index -> is an ancestor of `base` (or in it)
        let mut frontier: BTreeMap<u32, bool> = self.heads.iter().map(|h| (*h, false)).collect();
        for b in base {
            frontier.insert(*b, true);
        }
        let mut new_left = frontier.values().filter(|old| !**old).count();
        let mut out = Vec::new();
        while new_left > 0 {
            let (i, old) = frontier.pop_last().expect("new_left counts entries");
            if !old {
                new_left -= 1;
                out.push(i);
            }
            for d in self.deps(i) {
                match frontier.get_mut(d) {
                    Some(o) if old && !*o => {
                        *o = true;
                        new_left -= 1;
                    }
                    Some(_) => {}
                    None => {
                        frontier.insert(*d, old);
                        new_left += usize::from(!old);
                    }
                }
            }
        }
        out.reverse();
        out
    }

    /// Removes from `set` every change that is `heads` or an ancestor of them. Only indices at
    /// or above the set's minimum are visited.
    pub(crate) fn remove_ancestors(&self, heads: &[u32], set: &mut Bitset) {
        let Some(min) = set.min() else {
            return;
        };
        let mut todo: BTreeSet<u32> = heads.iter().copied().filter(|h| *h >= min).collect();
        while let Some(i) = todo.pop_last() {
            set.remove(i);
            if set.is_empty() {
                return;
            }
            todo.extend(self.deps(i).iter().copied().filter(|d| *d >= min));
        }
    }

    /// Raw bytes of changes `indices` concatenated (a log row, the tail after a snapshot), or
    /// `None` if some are not in memory.
    pub(crate) fn concat(&self, indices: impl Iterator<Item = u32>) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for i in indices {
            out.extend_from_slice(self.bytes(i)?);
        }
        Some(out)
    }
}
