//! The stored index of a log row: for each change in the row, its length, hash, deps (as graph
//! indices), actor and seq. A cold start adopts rows through it without parsing or hashing a
//! single change. Format (all integers unsigned LEB128):
//!
//! ```text
//! first index, count, then per change:
//!   len, hash (32 bytes), dep count, dep indices..., actor index, [actor length, actor bytes
//!   if this is where the actor first appears: flagged by the low bit of the actor field], seq
//! ```

use automerge::{ActorId, ChangeHash};

use super::ChangeGraph;
use super::parse::{read_uleb, write_uleb};

/// One change's index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) len: u32,
    pub(crate) hash: ChangeHash,
    pub(crate) deps: Vec<u32>,
    pub(crate) actor_index: u32,
    /// The actor id, where the actor first appears.
    pub(crate) new_actor: Option<ActorId>,
    pub(crate) seq: u32,
}

/// The index of changes `first..first + count` of `graph`.
pub(crate) fn encode_index(graph: &ChangeGraph, first: u32, count: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(count as usize * 40 + 8);
    write_uleb(&mut out, u64::from(first));
    write_uleb(&mut out, u64::from(count));
    for i in first..first + count {
        let e = graph.entry(i);
        write_uleb(&mut out, u64::from(e.len));
        out.extend_from_slice(&e.hash.0);
        write_uleb(&mut out, e.deps.len() as u64);
        for d in &e.deps {
            write_uleb(&mut out, u64::from(*d));
        }
        write_uleb(
            &mut out,
            (u64::from(e.actor_index) << 1) | u64::from(e.new_actor.is_some()),
        );
        if let Some(actor) = &e.new_actor {
            write_uleb(&mut out, actor.to_bytes().len() as u64);
            out.extend_from_slice(actor.to_bytes());
        }
        write_uleb(&mut out, u64::from(e.seq));
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn uleb(&mut self) -> Option<u64> {
        let (v, used) = read_uleb(self.bytes.get(self.at..)?)?;
        self.at += used;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uleb()?).ok()
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
}

/// The first index and the entries; `None` if the bytes are not a whole index. Every count is
/// checked against the bytes left, so a damaged index cannot ask for a huge allocation.
pub(crate) fn decode_index(bytes: &[u8]) -> Option<(u64, Vec<IndexEntry>)> {
    let mut r = Reader { bytes, at: 0 };
    let first = r.uleb()?;
    let count = r.uleb()?;
    // Every entry takes at least 36 bytes.
    if count > (bytes.len() / 36) as u64 {
        return None;
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = r.u32()?;
        let hash = ChangeHash(r.take(32)?.try_into().ok()?);
        let ndeps = r.uleb()?;
        if ndeps > (bytes.len() - r.at) as u64 {
            return None;
        }
        let deps = (0..ndeps).map(|_| r.u32()).collect::<Option<Vec<u32>>>()?;
        let actor_field = r.uleb()?;
        let actor_index = u32::try_from(actor_field >> 1).ok()?;
        let new_actor = if actor_field & 1 == 1 {
            let n = usize::try_from(r.uleb()?).ok()?;
            Some(ActorId::from(r.take(n)?))
        } else {
            None
        };
        let seq = r.u32()?;
        entries.push(IndexEntry {
            len,
            hash,
            deps,
            actor_index,
            new_actor,
            seq,
        });
    }
    (r.at == bytes.len()).then_some((first, entries))
}

/// How many changes an index describes, from its header alone.
pub(crate) fn index_count(bytes: &[u8]) -> Option<u64> {
    let mut r = Reader { bytes, at: 0 };
    r.uleb()?;
    r.uleb()
}
