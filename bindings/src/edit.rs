//! `PageEdit` and its parts as uniffi records and enums, translated to and from
//! `sync_core::model`'s types. The core checks every value (block ids, heading levels, mark
//! values); this module only changes representation and never decides anything.
//!
//! Positions and lengths are `u32` across the FFI: they count Unicode scalar values of one
//! block's text, and a `u32` keeps Kotlin and Swift from seeing a platform-sized integer.

use sync_core::model as core;

use crate::error::{Result, TesseraError};

/// One edit of a page; each commits exactly one change. The same edits, in the same JSON, as
/// the browser client's `page.apply(edit)`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PageEdit {
    /// Adds a block; `Applied.created` holds its id.
    AddBlock {
        /// What the block is.
        kind: BlockKind,
        /// Its initial text.
        text: String,
        /// Where it goes.
        target: Target,
    },
    /// Inserts `text` at `pos`.
    InsertText {
        /// The block id.
        block: String,
        /// Where (Unicode scalar values).
        pos: u32,
        /// What.
        text: String,
    },
    /// Deletes `len` characters at `pos`.
    DeleteText {
        /// The block id.
        block: String,
        /// Where.
        pos: u32,
        /// How many characters.
        len: u32,
    },
    /// Replaces a block's text as a minimal diff: concurrent edits elsewhere in it survive.
    SetText {
        /// The block id.
        block: String,
        /// The new text.
        text: String,
    },
    /// Formats `start..end`.
    Mark {
        /// The block id.
        block: String,
        /// First character.
        start: u32,
        /// End (exclusive).
        end: u32,
        /// Which mark, with its value for links and colours.
        mark: MarkSpec,
    },
    /// Removes a mark from `start..end`.
    Unmark {
        /// The block id.
        block: String,
        /// First character.
        start: u32,
        /// End (exclusive).
        end: u32,
        /// Which mark.
        name: MarkName,
    },
    /// Changes a block's kind and settings (heading level, to-do checked, code language).
    SetKind {
        /// The block id.
        block: String,
        /// The new kind.
        kind: BlockKind,
    },
    /// Moves a block (indent and outdent are moves).
    Move {
        /// The block id.
        block: String,
        /// Where to.
        target: Target,
    },
    /// Deletes a block and its subtree.
    Delete {
        /// The block id.
        block: String,
    },
    /// Replaces the page title as a minimal diff.
    SetTitle {
        /// The new title.
        title: String,
    },
}

/// What a block is, with its settings.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum BlockKind {
    /// Plain text.
    Paragraph,
    /// A heading of level 1 to 3.
    Heading {
        /// 1, 2 or 3.
        level: u8,
    },
    /// A to-do item.
    Todo {
        /// Whether it is ticked.
        checked: bool,
    },
    /// An item of a bulleted list.
    Bulleted,
    /// An item of a numbered list.
    Numbered,
    /// A quotation.
    Quote,
    /// A code block.
    Code {
        /// The language for highlighting, if any.
        language: Option<String>,
    },
    /// A horizontal rule.
    Divider,
}

/// Where a block goes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Target {
    /// Last child of `parent` (`None`: the top level).
    End {
        /// The parent block id, or `None` for the top level.
        parent: Option<String>,
    },
    /// First child of `parent` (`None`: the top level).
    Start {
        /// The parent block id, or `None` for the top level.
        parent: Option<String>,
    },
    /// Right after this sibling, under the same parent.
    After {
        /// The sibling's id.
        block: String,
    },
}

/// The marks rich text supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MarkName {
    /// Bold.
    Bold,
    /// Italic.
    Italic,
    /// Underline.
    Underline,
    /// Strike-through.
    Strike,
    /// Inline code.
    Code,
    /// A hyperlink; its value is the href.
    Link,
    /// Text colour; its value is a colour name or CSS colour.
    Color,
}

/// A mark to apply: `value` is the href or colour for `Link` and `Color`, `None` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MarkSpec {
    /// Which mark.
    pub name: MarkName,
    /// The href or colour; `None` for the other marks.
    #[uniffi(default = None)]
    pub value: Option<String>,
}

/// What an applied edit produced.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Applied {
    /// The id of the block an `AddBlock` created.
    pub created: Option<String>,
}

fn block_id(id: String) -> Result<core::BlockId> {
    id.parse().map_err(TesseraError::invalid)
}

fn pos(n: u32) -> usize {
    // u32 always fits the core's usize on the 32- and 64-bit targets uniffi supports.
    n as usize
}

impl TryFrom<BlockKind> for core::BlockKind {
    type Error = TesseraError;

    fn try_from(kind: BlockKind) -> Result<Self> {
        let kind = match kind {
            BlockKind::Paragraph => Self::Paragraph,
            BlockKind::Heading { level } => Self::Heading { level },
            BlockKind::Todo { checked } => Self::Todo { checked },
            BlockKind::Bulleted => Self::Bulleted,
            BlockKind::Numbered => Self::Numbered,
            BlockKind::Quote => Self::Quote,
            BlockKind::Code { language } => Self::Code { language },
            BlockKind::Divider => Self::Divider,
        };
        kind.check().map_err(TesseraError::invalid)?;
        Ok(kind)
    }
}

impl TryFrom<Target> for core::Target {
    type Error = TesseraError;

    fn try_from(target: Target) -> Result<Self> {
        Ok(match target {
            Target::End { parent } => Self::End {
                parent: parent.map(block_id).transpose()?,
            },
            Target::Start { parent } => Self::Start {
                parent: parent.map(block_id).transpose()?,
            },
            Target::After { block } => Self::After(block_id(block)?),
        })
    }
}

impl From<MarkName> for core::MarkName {
    fn from(name: MarkName) -> Self {
        match name {
            MarkName::Bold => Self::Bold,
            MarkName::Italic => Self::Italic,
            MarkName::Underline => Self::Underline,
            MarkName::Strike => Self::Strike,
            MarkName::Code => Self::Code,
            MarkName::Link => Self::Link,
            MarkName::Color => Self::Color,
        }
    }
}

impl TryFrom<MarkSpec> for core::MarkSpec {
    type Error = TesseraError;

    fn try_from(spec: MarkSpec) -> Result<Self> {
        Self::new(spec.name.into(), spec.value).map_err(TesseraError::invalid)
    }
}

impl TryFrom<PageEdit> for core::PageEdit {
    type Error = TesseraError;

    fn try_from(edit: PageEdit) -> Result<Self> {
        Ok(match edit {
            PageEdit::AddBlock { kind, text, target } => Self::AddBlock {
                kind: kind.try_into()?,
                text,
                target: target.try_into()?,
            },
            PageEdit::InsertText {
                block,
                pos: at,
                text,
            } => Self::InsertText {
                block: block_id(block)?,
                pos: pos(at),
                text,
            },
            PageEdit::DeleteText {
                block,
                pos: at,
                len,
            } => Self::DeleteText {
                block: block_id(block)?,
                pos: pos(at),
                len: pos(len),
            },
            PageEdit::SetText { block, text } => Self::SetText {
                block: block_id(block)?,
                text,
            },
            PageEdit::Mark {
                block,
                start,
                end,
                mark,
            } => Self::Mark {
                block: block_id(block)?,
                start: pos(start),
                end: pos(end),
                mark: mark.try_into()?,
            },
            PageEdit::Unmark {
                block,
                start,
                end,
                name,
            } => Self::Unmark {
                block: block_id(block)?,
                start: pos(start),
                end: pos(end),
                name: name.into(),
            },
            PageEdit::SetKind { block, kind } => Self::SetKind {
                block: block_id(block)?,
                kind: kind.try_into()?,
            },
            PageEdit::Move { block, target } => Self::Move {
                block: block_id(block)?,
                target: target.try_into()?,
            },
            PageEdit::Delete { block } => Self::Delete {
                block: block_id(block)?,
            },
            PageEdit::SetTitle { title } => Self::SetTitle { title },
        })
    }
}

impl From<core::Applied> for Applied {
    fn from(applied: core::Applied) -> Self {
        Self {
            created: applied.created.map(String::from),
        }
    }
}

/// Parses an edit from the core's JSON form (`{"type":"addBlock",...}`), the shape the
/// browser client takes, so an app can keep edits as JSON (a queue, a log, a test fixture).
#[uniffi::export]
pub fn edit_from_json(json: String) -> Result<PageEdit> {
    let edit: core::PageEdit = serde_json::from_str(&json).map_err(TesseraError::invalid)?;
    edit.try_into()
}

impl TryFrom<core::PageEdit> for PageEdit {
    type Error = TesseraError;

    fn try_from(edit: core::PageEdit) -> Result<Self> {
        Ok(match edit {
            core::PageEdit::AddBlock { kind, text, target } => Self::AddBlock {
                kind: kind.into(),
                text,
                target: target.into(),
            },
            core::PageEdit::InsertText { block, pos, text } => Self::InsertText {
                block: block.into(),
                pos: ffi_pos(pos)?,
                text,
            },
            core::PageEdit::DeleteText { block, pos, len } => Self::DeleteText {
                block: block.into(),
                pos: ffi_pos(pos)?,
                len: ffi_pos(len)?,
            },
            core::PageEdit::SetText { block, text } => Self::SetText {
                block: block.into(),
                text,
            },
            core::PageEdit::Mark {
                block,
                start,
                end,
                mark,
            } => Self::Mark {
                block: block.into(),
                start: ffi_pos(start)?,
                end: ffi_pos(end)?,
                mark: MarkSpec {
                    name: mark.name.into(),
                    value: mark.value,
                },
            },
            core::PageEdit::Unmark {
                block,
                start,
                end,
                name,
            } => Self::Unmark {
                block: block.into(),
                start: ffi_pos(start)?,
                end: ffi_pos(end)?,
                name: name.into(),
            },
            core::PageEdit::SetKind { block, kind } => Self::SetKind {
                block: block.into(),
                kind: kind.into(),
            },
            core::PageEdit::Move { block, target } => Self::Move {
                block: block.into(),
                target: target.into(),
            },
            core::PageEdit::Delete { block } => Self::Delete {
                block: block.into(),
            },
            core::PageEdit::SetTitle { title } => Self::SetTitle { title },
        })
    }
}

fn ffi_pos(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| TesseraError::InvalidInput {
        reason: format!("position {n} is beyond the 2^32 characters a block can hold"),
    })
}

impl From<core::BlockKind> for BlockKind {
    fn from(kind: core::BlockKind) -> Self {
        match kind {
            core::BlockKind::Paragraph => Self::Paragraph,
            core::BlockKind::Heading { level } => Self::Heading { level },
            core::BlockKind::Todo { checked } => Self::Todo { checked },
            core::BlockKind::Bulleted => Self::Bulleted,
            core::BlockKind::Numbered => Self::Numbered,
            core::BlockKind::Quote => Self::Quote,
            core::BlockKind::Code { language } => Self::Code { language },
            core::BlockKind::Divider => Self::Divider,
        }
    }
}

impl From<core::Target> for Target {
    fn from(target: core::Target) -> Self {
        match target {
            core::Target::End { parent } => Self::End {
                parent: parent.map(String::from),
            },
            core::Target::Start { parent } => Self::Start {
                parent: parent.map(String::from),
            },
            core::Target::After(block) => Self::After {
                block: block.into(),
            },
        }
    }
}

impl From<core::MarkName> for MarkName {
    fn from(name: core::MarkName) -> Self {
        match name {
            core::MarkName::Bold => Self::Bold,
            core::MarkName::Italic => Self::Italic,
            core::MarkName::Underline => Self::Underline,
            core::MarkName::Strike => Self::Strike,
            core::MarkName::Code => Self::Code,
            core::MarkName::Link => Self::Link,
            core::MarkName::Color => Self::Color,
        }
    }
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
