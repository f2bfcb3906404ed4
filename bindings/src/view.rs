//! The page as plain records (`Document::view`), for apps that draw blocks instead of parsing
//! `to_json()`. Translated field by field from `sync_core::model::PageView`; the JSON props of
//! a block become typed optional fields.

use sync_core::model as core;

/// A page: its title and its top-level blocks in order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PageView {
    /// `automerge:<id>`.
    pub url: String,
    /// The title.
    pub title: String,
    /// The document heads, sorted hex change hashes.
    pub heads: Vec<String>,
    /// Top-level blocks, in order.
    pub blocks: Vec<BlockView>,
}

/// One block with its children.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BlockView {
    /// The block id, for edits.
    pub id: String,
    /// `paragraph`, `heading`, `todo`, `bulleted`, `numbered`, `quote`, `code` or `divider`.
    pub kind: String,
    /// A heading's level.
    pub level: Option<u8>,
    /// Whether a to-do is ticked.
    pub checked: Option<bool>,
    /// A code block's language.
    pub language: Option<String>,
    /// The plain text.
    pub text: String,
    /// Formatting spans over the text.
    pub marks: Vec<MarkView>,
    /// Child blocks, in order.
    // Named, not `Self`: uniffi's derive reads the field's type as written.
    #[allow(clippy::use_self)]
    pub children: Vec<BlockView>,
}

/// A formatting span; positions count Unicode scalar values, `end` is exclusive.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MarkView {
    /// Start.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// The mark's name (`bold`, `link`, ...).
    pub name: String,
    /// The href or colour; `None` for the boolean marks.
    pub value: Option<String>,
}

impl From<core::PageView> for PageView {
    fn from(v: core::PageView) -> Self {
        Self {
            url: v.url,
            title: v.title,
            heads: v.heads,
            blocks: v.blocks.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::BlockView> for BlockView {
    fn from(b: core::BlockView) -> Self {
        let prop = |key: &str| b.props.get(key);
        Self {
            level: prop("level")
                .and_then(serde_json::Value::as_u64)
                .and_then(|l| u8::try_from(l).ok()),
            checked: prop("checked").and_then(serde_json::Value::as_bool),
            language: prop("language")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            id: b.id,
            kind: b.kind,
            text: b.text,
            marks: b.marks.into_iter().map(Into::into).collect(),
            children: b.children.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::MarkView> for MarkView {
    fn from(m: core::MarkView) -> Self {
        Self {
            start: m.start as u64,
            end: m.end as u64,
            name: m.name,
            value: m.value.as_str().map(str::to_owned),
        }
    }
}
