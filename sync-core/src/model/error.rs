//! Errors of the document model, one type per kind of failure.

use thiserror::Error;

/// Input that names something that cannot exist. The caller fixes the input and tries again;
/// nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    /// Block ids are non-empty, at most 64 characters, with no `|`.
    #[error("invalid block id {0:?}")]
    BlockId(String),
    /// The kind is not one of paragraph, heading, todo, bulleted, numbered, quote, code, divider.
    #[error(
        "unknown block kind {0:?} (expected one of paragraph, heading, todo, bulleted, numbered, quote, code, divider)"
    )]
    Kind(String),
    /// Headings have levels 1, 2 and 3.
    #[error("heading level must be 1, 2 or 3, not {0}")]
    HeadingLevel(u8),
    /// The mark is not one of bold, italic, underline, strike, code, link, color.
    #[error(
        "unknown mark {0:?} (expected one of bold, italic, underline, strike, code, link=HREF, color=VALUE)"
    )]
    Mark(String),
    /// `link` and `color` need `=VALUE`.
    #[error("mark {0} needs a value, as in {0}=VALUE")]
    MarkNeedsValue(&'static str),
    /// The boolean marks take no value.
    #[error("mark {0} takes no value")]
    MarkTakesNoValue(&'static str),
}

/// Why an edit of a page was refused. Nothing was written when this is returned.
#[derive(Debug, Error)]
pub enum EditError {
    /// The block does not exist (or never synced here). Check the id with `show`.
    #[error("no block {0} in this page")]
    NoSuchBlock(String),
    /// The block was deleted; deleted blocks cannot be edited or used as anchors.
    #[error("block {0} is deleted")]
    Deleted(String),
    /// A text range falls outside the block's text. Re-read the text length and retry.
    #[error("range {start}..{end} is outside the text of block {block} ({len} characters)")]
    OutOfRange {
        /// The block.
        block: String,
        /// First position asked for.
        start: usize,
        /// End position asked for.
        end: usize,
        /// The text length, in Unicode scalar values.
        len: usize,
    },
    /// A block cannot be moved under itself or one of its descendants.
    #[error("cannot move block {0} under itself or its own descendant")]
    WouldCycle(String),
    /// The `after` anchor is not a child of the requested parent.
    #[error("block {anchor} is not a child of {parent}")]
    AnchorNotSibling {
        /// The anchor block.
        anchor: String,
        /// The parent asked for (`root` for the top level).
        parent: String,
    },
    /// The input itself is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The document is not a Tessera page (it lacks the expected root objects).
    #[error("this document is not a Tessera page: {0}")]
    NotAPage(&'static str),
    /// Automerge refused the operation; this is a bug or a corrupted document.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// Why bytes could not be loaded as a page.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The bytes are not an Automerge document or change set.
    #[error("not a valid Automerge document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}
