//! `PageEdit`: every edit of a page as plain data, so that one edit surface serves the CLI, the
//! browser (through wasm-bindgen, as JSON) and desktop apps (through uniffi, as records).
//!
//! JSON shape (camelCase, tagged by `type`), for example
//! `{"type":"addBlock","kind":{"kind":"todo","checked":false},"text":"milk","target":{"type":"end","parent":null}}`
//! or `{"type":"mark","block":"…","start":0,"end":4,"mark":{"name":"link","value":"https://…"}}`.

use serde::{Deserialize, Serialize};

use super::block::{BlockId, BlockKind, MarkName, MarkSpec};
use super::error::EditError;
use super::page::{Page, Target};

/// One edit of a page. Each edit commits exactly one Automerge change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PageEdit {
    /// Adds a block; [`Applied::created`] holds its id.
    AddBlock {
        /// What the block is.
        kind: BlockKind,
        /// Its initial text.
        #[serde(default)]
        text: String,
        /// Where it goes.
        target: Target,
    },
    /// Inserts text at `pos` (Unicode scalar values).
    InsertText {
        /// The block.
        block: BlockId,
        /// Where.
        pos: usize,
        /// What.
        text: String,
    },
    /// Deletes `len` characters at `pos`.
    DeleteText {
        /// The block.
        block: BlockId,
        /// Where.
        pos: usize,
        /// How many characters.
        len: usize,
    },
    /// Replaces a block's text, as a minimal diff (concurrent edits elsewhere in it survive).
    SetText {
        /// The block.
        block: BlockId,
        /// The new text.
        text: String,
    },
    /// Formats `start..end`.
    Mark {
        /// The block.
        block: BlockId,
        /// First character.
        start: usize,
        /// End (exclusive).
        end: usize,
        /// Which mark, with its value for links and colours.
        mark: MarkSpec,
    },
    /// Removes a mark from `start..end`.
    Unmark {
        /// The block.
        block: BlockId,
        /// First character.
        start: usize,
        /// End (exclusive).
        end: usize,
        /// Which mark.
        name: MarkName,
    },
    /// Changes what a block is and its settings (heading level, to-do checked, code language).
    SetKind {
        /// The block.
        block: BlockId,
        /// The new kind with its settings.
        kind: BlockKind,
    },
    /// Moves a block (indent and outdent are moves).
    Move {
        /// The block.
        block: BlockId,
        /// Where to.
        target: Target,
    },
    /// Deletes a block and its subtree.
    Delete {
        /// The block.
        block: BlockId,
    },
    /// Replaces the page title, as a minimal diff.
    SetTitle {
        /// The new title.
        title: String,
    },
}

/// What an applied edit produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// The id of the block an [`PageEdit::AddBlock`] created.
    pub created: Option<BlockId>,
}

impl Page {
    /// Applies one edit. `id_bits` are random bits for a new block's id (the core has no rng);
    /// other edits ignore them. Nothing is written when this returns an error.
    pub fn apply(&mut self, edit: &PageEdit, id_bits: u64) -> Result<Applied, EditError> {
        let mut applied = Applied::default();
        match edit {
            PageEdit::AddBlock { kind, text, target } => {
                applied.created = Some(self.add_block(id_bits, kind, text, target)?);
            }
            PageEdit::InsertText { block, pos, text } => self.insert_text(block, *pos, text)?,
            PageEdit::DeleteText { block, pos, len } => self.delete_text(block, *pos, *len)?,
            PageEdit::SetText { block, text } => self.set_text(block, text)?,
            PageEdit::Mark {
                block,
                start,
                end,
                mark,
            } => self.mark(block, *start, *end, mark)?,
            PageEdit::Unmark {
                block,
                start,
                end,
                name,
            } => self.unmark(block, *start, *end, *name)?,
            PageEdit::SetKind { block, kind } => self.set_kind(block, kind)?,
            PageEdit::Move { block, target } => self.move_block(block, target)?,
            PageEdit::Delete { block } => self.delete_block(block)?,
            PageEdit::SetTitle { title } => self.set_title(title)?,
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(json: &str) -> PageEdit {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_edit_round_trips_through_json() {
        let block: BlockId = "00000000000000aa".parse().unwrap();
        let edits = [
            PageEdit::AddBlock {
                kind: BlockKind::Heading { level: 2 },
                text: "Hi".into(),
                target: Target::After(block.clone()),
            },
            PageEdit::InsertText {
                block: block.clone(),
                pos: 1,
                text: "x".into(),
            },
            PageEdit::Mark {
                block: block.clone(),
                start: 0,
                end: 2,
                mark: "link=https://example.com".parse().unwrap(),
            },
            PageEdit::Unmark {
                block: block.clone(),
                start: 0,
                end: 2,
                name: MarkName::Bold,
            },
            PageEdit::SetKind {
                block: block.clone(),
                kind: BlockKind::Todo { checked: true },
            },
            PageEdit::Move {
                block,
                target: Target::Start { parent: None },
            },
            PageEdit::SetTitle { title: "T".into() },
        ];
        for e in edits {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<PageEdit>(&json).unwrap(),
                e,
                "{json}"
            );
        }
    }

    #[test]
    fn the_documented_json_shapes_parse() {
        let add = edit(
            r#"{"type":"addBlock","kind":{"kind":"todo","checked":false},"text":"milk","target":{"type":"end","parent":null}}"#,
        );
        assert!(matches!(add, PageEdit::AddBlock { .. }));
        let mark = edit(
            r#"{"type":"mark","block":"00000000000000aa","start":0,"end":4,"mark":{"name":"link","value":"https://x"}}"#,
        );
        assert!(matches!(mark, PageEdit::Mark { .. }));
    }

    #[test]
    fn invalid_input_is_refused_when_parsed() {
        for bad in [
            r#"{"type":"delete","block":"a|b"}"#,
            r#"{"type":"addBlock","kind":{"kind":"heading","level":7},"target":{"type":"end","parent":null}}"#,
            r#"{"type":"mark","block":"aa","start":0,"end":1,"mark":{"name":"link"}}"#,
            r#"{"type":"mark","block":"aa","start":0,"end":1,"mark":{"name":"bold","value":"x"}}"#,
            r#"{"type":"explode"}"#,
        ] {
            assert!(serde_json::from_str::<PageEdit>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn apply_reports_the_new_block_and_edits_it() {
        let mut page = Page::create([1; 16], "T");
        let applied = page
            .apply(
                &PageEdit::AddBlock {
                    kind: BlockKind::Todo { checked: false },
                    text: "milk".into(),
                    target: Target::End { parent: None },
                },
                7,
            )
            .unwrap();
        let id = applied.created.unwrap();
        page.apply(
            &PageEdit::SetKind {
                block: id.clone(),
                kind: BlockKind::Todo { checked: true },
            },
            0,
        )
        .unwrap();
        let view = page.view("automerge:x");
        assert_eq!(view.blocks[0].props["checked"], serde_json::json!(true));
        page.apply(
            &PageEdit::SetKind {
                block: id,
                kind: BlockKind::Heading { level: 2 },
            },
            0,
        )
        .unwrap();
        let view = page.view("automerge:x");
        assert_eq!(view.blocks[0].kind, "heading");
        assert_eq!(view.blocks[0].props["level"], serde_json::json!(2));
        assert!(!view.blocks[0].props.contains_key("checked"));
    }

    #[test]
    fn a_refused_edit_writes_nothing() {
        let mut page = Page::create([1; 16], "T");
        let heads = page.doc_mut().get_heads();
        let err = page
            .apply(
                &PageEdit::Delete {
                    block: "00000000000000aa".parse().unwrap(),
                },
                0,
            )
            .unwrap_err();
        assert!(matches!(err, EditError::NoSuchBlock(_)));
        assert_eq!(page.doc_mut().get_heads(), heads);
    }
}
