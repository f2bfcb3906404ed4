//! Resolving the stored registers into the tree every replica shows.
//!
//! The document stores, per block, a location register and a tombstone flag. Concurrent
//! writes to those can describe a graph that is not a tree (cycles) or hang live blocks below
//! deleted ones. This module turns any such state into one tree, by rules that depend only on
//! the document state, so replicas with the same changes show the same tree.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ObjId;

use super::block::BlockId;
use super::location::{Location, Place};

/// One block's stored state, as read from the document.
#[derive(Debug, Clone)]
pub(crate) struct StoredBlock {
    pub(crate) obj: ObjId,
    pub(crate) location: Location,
    /// The op id of the winning location write: a Lamport timestamp, identical on all replicas.
    pub(crate) location_op: ObjId,
    pub(crate) deleted: bool,
}

/// The resolved tree of live blocks.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// Children of each block, and of the top level under `None`, in display order.
    children: BTreeMap<Option<BlockId>, Vec<BlockId>>,
    /// The displayed parent of each live block.
    parent: BTreeMap<BlockId, Option<BlockId>>,
    /// The effective place of every block, live or not, after cycle breaking.
    places: BTreeMap<BlockId, Place>,
}

impl Tree {
    pub(crate) fn resolve(blocks: &BTreeMap<BlockId, StoredBlock>) -> Self {
        let places = break_cycles(blocks);
        let mut parent = BTreeMap::new();
        let mut children: BTreeMap<Option<BlockId>, Vec<BlockId>> = BTreeMap::new();
        for (id, _) in blocks.iter().filter(|(_, b)| !b.deleted) {
            let shown_under = nearest_live_ancestor(id, &places, blocks);
            children
                .entry(shown_under.clone())
                .or_default()
                .push(id.clone());
            parent.insert(id.clone(), shown_under);
        }
        for siblings in children.values_mut() {
            // Equal positions come from concurrent inserts at one spot; the id breaks the tie.
            siblings.sort_by(|a, b| (&places[a].position, a).cmp(&(&places[b].position, b)));
        }
        Self {
            children,
            parent,
            places,
        }
    }

    /// Live children of `parent` (None: the top level), in order.
    pub(crate) fn children(&self, parent: Option<&BlockId>) -> &[BlockId] {
        self.children
            .get(&parent.cloned())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether the block is shown.
    pub(crate) fn is_live(&self, id: &BlockId) -> bool {
        self.parent.contains_key(id)
    }

    /// The displayed parent of a live block.
    pub(crate) fn parent(&self, id: &BlockId) -> Option<&Option<BlockId>> {
        self.parent.get(id)
    }

    /// The effective position of a block among its siblings.
    pub(crate) fn position(&self, id: &BlockId) -> Option<&str> {
        self.places.get(id).map(|p| p.position.as_str())
    }

    /// Whether `ancestor` is `id` or one of its displayed ancestors.
    pub(crate) fn is_self_or_ancestor(&self, ancestor: &BlockId, id: &BlockId) -> bool {
        let mut cur = Some(id.clone());
        while let Some(c) = cur {
            if &c == ancestor {
                return true;
            }
            cur = self.parent.get(&c).cloned().flatten();
        }
        false
    }

    /// The block and all its displayed descendants.
    pub(crate) fn subtree(&self, id: &BlockId) -> Vec<BlockId> {
        let mut out = vec![id.clone()];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.children(Some(&out[i])).iter().cloned());
            i += 1;
        }
        out
    }
}

/// Effective places for all blocks such that parent links form a forest.
///
/// While a cycle exists, the block in it whose location write is newest (greatest op id) loses:
/// it goes back to the place its mover saw before moving. If it has already lost once (or has
/// no previous place), it goes to the top level at its own position instead. Each round either
/// uses up a block's one fallback or sends a block to the top level, where no cycle can pass
/// through it, so this ends.
fn break_cycles(blocks: &BTreeMap<BlockId, StoredBlock>) -> BTreeMap<BlockId, Place> {
    let known = |p: &Place| Place {
        parent: p.parent.clone().filter(|id| blocks.contains_key(id)),
        position: p.position.clone(),
    };
    let mut places: BTreeMap<BlockId, Place> = blocks
        .iter()
        .map(|(id, b)| (id.clone(), known(&b.location.current)))
        .collect();
    let mut fell_back = BTreeSet::new();
    while let Some(cycle) = find_cycle(&places) {
        let loser = cycle
            .iter()
            .max_by(|a, b| blocks[*a].location_op.cmp(&blocks[*b].location_op))
            .expect("a cycle has members")
            .clone();
        let previous = blocks[&loser].location.previous.as_ref().map(known);
        let place = match previous {
            Some(prev) if fell_back.insert(loser.clone()) => prev,
            _ => Place {
                parent: None,
                position: places[&loser].position.clone(),
            },
        };
        places.insert(loser, place);
    }
    places
}

/// The members of one cycle of parent links, found by walking from each block in id order.
fn find_cycle(places: &BTreeMap<BlockId, Place>) -> Option<Vec<BlockId>> {
    let mut done: BTreeSet<&BlockId> = BTreeSet::new();
    for start in places.keys() {
        let mut path: Vec<&BlockId> = Vec::new();
        let mut cur = Some(start);
        while let Some(id) = cur {
            if done.contains(id) {
                break;
            }
            if let Some(i) = path.iter().position(|p| *p == id) {
                return Some(path[i..].iter().map(|b| (*b).clone()).collect());
            }
            path.push(id);
            cur = places[id].parent.as_ref();
        }
        done.extend(path);
    }
    None
}

/// Where a live block is shown: under its parent if that is live, else under the nearest live
/// ancestor, else at the top level. A block moved into a subtree that was deleted at the same
/// time is thereby rescued rather than lost.
fn nearest_live_ancestor(
    id: &BlockId,
    places: &BTreeMap<BlockId, Place>,
    blocks: &BTreeMap<BlockId, StoredBlock>,
) -> Option<BlockId> {
    let mut cur = places[id].parent.clone();
    while let Some(p) = cur {
        if !blocks[&p].deleted {
            return Some(p);
        }
        cur = places[&p].parent.clone();
    }
    None
}
