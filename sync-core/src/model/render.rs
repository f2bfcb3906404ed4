//! The stable JSON rendering of a page, printed by `tessera show --json` and every client's
//! `toJSON`, so two replicas can be compared byte for byte.
//!
//! Shape: `{"url","title","heads":[hex…],"blocks":[{"id","kind","props","text","marks",
//! "children"}]}`. Heads are sorted; children are in display order; marks are sorted by
//! `(start, end, name, value)`; deleted blocks are left out.

use std::collections::BTreeMap;

use automerge::{ObjType, ReadDoc, ScalarValue, Value};
use serde::Serialize;

use super::block::BlockId;
use super::page::Page;
use super::tree::Tree;
use crate::io::heads_to_hex;

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageView {
    /// `automerge:<id>`.
    pub url: String,
    /// The title.
    pub title: String,
    /// The document heads, as sorted hex change hashes.
    pub heads: Vec<String>,
    /// Top-level blocks, in order.
    pub blocks: Vec<BlockView>,
}

/// A rendered block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockView {
    /// The block id.
    pub id: String,
    /// The kind name.
    pub kind: String,
    /// Kind settings: `level` for headings, `checked` for to-dos, `language` for code.
    pub props: BTreeMap<String, serde_json::Value>,
    /// The plain text.
    pub text: String,
    /// Formatting spans over the text.
    pub marks: Vec<MarkView>,
    /// Child blocks, in order.
    pub children: Vec<Self>,
}

/// A formatting span; positions count Unicode scalar values, `end` is exclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkView {
    /// Start position.
    pub start: usize,
    /// End position (exclusive).
    pub end: usize,
    /// Mark name.
    pub name: String,
    /// `true` for boolean marks, the href or colour otherwise.
    pub value: serde_json::Value,
}

impl Page {
    /// The page as plain data. `url` is the document URL (`automerge:<id>`). Takes `&mut`
    /// only because Automerge closes any open transaction before reporting heads.
    pub fn view(&mut self, url: &str) -> PageView {
        let tree = self.tree();
        let heads = heads_to_hex(&self.doc_mut().get_heads());
        PageView {
            url: url.to_owned(),
            title: self.title(),
            heads,
            blocks: self.views_of(&tree, None),
        }
    }

    /// The stable JSON rendering (see the module docs).
    pub fn to_json(&mut self, url: &str) -> String {
        serde_json::to_string(&self.view(url)).expect("page views always serialize")
    }

    fn views_of(&self, tree: &Tree, parent: Option<&BlockId>) -> Vec<BlockView> {
        tree.children(parent)
            .iter()
            .map(|id| self.block_view(tree, id))
            .collect()
    }

    fn block_view(&self, tree: &Tree, id: &BlockId) -> BlockView {
        let doc = self.doc();
        let obj = self.block_obj(id).expect("resolved blocks exist");
        let kind = match doc.get(&obj, "kind").ok().flatten() {
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or("paragraph").to_owned(),
            _ => "paragraph".to_owned(),
        };
        let props = self.props_of(&obj, &kind);
        let (text, marks) = match doc.get(&obj, "text").ok().flatten() {
            Some((Value::Object(ObjType::Text), t)) => (
                doc.text(&t).unwrap_or_default(),
                doc.marks(&t).unwrap_or_default(),
            ),
            _ => (String::new(), Vec::new()),
        };
        let mut marks: Vec<MarkView> = marks
            .iter()
            .filter_map(|m| {
                let value = match m.value() {
                    ScalarValue::Null => return None,
                    ScalarValue::Boolean(false) => return None,
                    ScalarValue::Boolean(true) => serde_json::Value::Bool(true),
                    ScalarValue::Str(s) => serde_json::Value::String(s.to_string()),
                    other => serde_json::Value::String(other.to_string()),
                };
                Some(MarkView {
                    start: m.start,
                    end: m.end,
                    name: m.name().to_owned(),
                    value,
                })
            })
            .collect();
        marks.sort_by(|a, b| {
            (a.start, a.end, &a.name, a.value.to_string()).cmp(&(
                b.start,
                b.end,
                &b.name,
                b.value.to_string(),
            ))
        });
        BlockView {
            id: id.to_string(),
            kind,
            props,
            text,
            marks,
            children: self.views_of(tree, Some(id)),
        }
    }

    fn props_of(&self, obj: &automerge::ObjId, kind: &str) -> BTreeMap<String, serde_json::Value> {
        let doc = self.doc();
        let mut props = BTreeMap::new();
        let Some((Value::Object(ObjType::Map), props_obj)) = doc.get(obj, "props").ok().flatten()
        else {
            return props;
        };
        let scalar = |key: &str| match doc.get(&props_obj, key).ok().flatten() {
            Some((Value::Scalar(s), _)) => Some(s.into_owned()),
            _ => None,
        };
        match kind {
            "heading" => {
                let level = scalar("level")
                    .and_then(|s| s.as_i64().or_else(|| s.as_f64().map(|f| f as i64)))
                    .unwrap_or(1)
                    .clamp(1, 3);
                props.insert("level".into(), level.into());
            }
            "todo" => {
                let checked = scalar("checked").and_then(|s| s.as_bool()).unwrap_or(false);
                props.insert("checked".into(), checked.into());
            }
            "code" => {
                if let Some(lang) = scalar("language").and_then(|s| s.as_str().map(str::to_owned)) {
                    props.insert("language".into(), lang.into());
                }
            }
            _ => {}
        }
        props
    }
}
