//! The Notion-style page model on top of Automerge.
//!
//! # Layout in the document
//! ```text
//! ROOT { title: Text, blocks: Map { <block id>: Map {
//!     kind: "paragraph" | "heading" | …,  props: Map { level | checked | language },
//!     text: Text (with marks),  loc: "parent|position|prev_parent|prev_position",
//!     deleted: true (once deleted) } } }
//! ```
//! Text positions count Unicode scalar values.
//!
//! # Moves
//! A block's place is one register, `loc`, holding its parent and a fractional index among its
//! siblings. A move is one write to it, so concurrent moves of one block never duplicate or
//! lose it: Automerge keeps one winner, the write with the greatest op id, on every replica.
//! Siblings are ordered by `(position, block id)`.
//!
//! # The cycle rule
//! Concurrent moves can make parent links form a cycle (A under B on one replica, B under A on
//! another). When reading, while a cycle exists, the block in it whose location write has the
//! **greatest op id** (Automerge's Lamport timestamp `(counter, actor)`, the same on every
//! replica) loses: it is shown at the place its mover saw before that move (the register
//! records it). If that place still closes a cycle, or the block already lost once, it is
//! shown at the top level at its own position. So of two conflicting moves the later one is
//! undone, as in Kleppmann et al. 2021, and the tree is acyclic everywhere.
//!
//! # Deletes, and the edit-versus-delete rule
//! Deleting a block writes a tombstone (`deleted: true`) on it and on every block shown below
//! it at that moment. Tombstones are never removed, so **delete wins**: a concurrent text edit,
//! mark or move of a deleted block is merged into the hidden block but the block stays hidden.
//! A block that was concurrently *moved or added under* a deleted block is not lost: it is
//! shown under its nearest live ancestor (or at the top level). Hence after sync every replica
//! shows the same tree, every live block exactly once, and no live block is lost.

mod block;
mod edit;
mod error;
mod location;
mod page;
mod position;
mod render;
mod tree;

pub use block::{BlockId, BlockKind, MarkName, MarkSpec};
pub use edit::{Applied, PageEdit};
pub use error::{EditError, InvalidInput, LoadError};
pub use page::{Page, Target};
pub use render::{BlockView, MarkView, PageView};

#[cfg(test)]
mod tests;
