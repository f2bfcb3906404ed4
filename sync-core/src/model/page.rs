//! `Page`: a Notion-style page stored in one Automerge document.

use std::collections::BTreeMap;

use automerge::marks::{ExpandMark, Mark};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::block::{BlockId, BlockKind, MarkName, MarkSpec};
use super::error::{EditError, LoadError};
use super::location::{Location, Place};
use super::position;
use super::tree::{StoredBlock, Tree};

const TITLE: &str = "title";
const BLOCKS: &str = "blocks";
const KIND: &str = "kind";
const PROPS: &str = "props";
const TEXT: &str = "text";
const LOCATION: &str = "loc";
const DELETED: &str = "deleted";

/// Where to put a new or moved block. In JSON `{"type":"end","parent":null}`,
/// `{"type":"start","parent":"<id>"}` or `{"type":"after","block":"<id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "TargetJson", into = "TargetJson")]
pub enum Target {
    /// Last child of `parent` (None: the top level).
    End {
        /// The parent; None for the top level.
        parent: Option<BlockId>,
    },
    /// First child of `parent` (None: the top level).
    Start {
        /// The parent; None for the top level.
        parent: Option<BlockId>,
    },
    /// Right after this sibling, under the same parent.
    After(BlockId),
}

/// The JSON form of [`Target`] (a tagged object, which TypeScript and uniffi users read best).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum TargetJson {
    End {
        #[serde(default)]
        parent: Option<BlockId>,
    },
    Start {
        #[serde(default)]
        parent: Option<BlockId>,
    },
    After {
        block: BlockId,
    },
}

impl From<TargetJson> for Target {
    fn from(t: TargetJson) -> Self {
        match t {
            TargetJson::End { parent } => Self::End { parent },
            TargetJson::Start { parent } => Self::Start { parent },
            TargetJson::After { block } => Self::After(block),
        }
    }
}

impl From<Target> for TargetJson {
    fn from(t: Target) -> Self {
        match t {
            Target::End { parent } => Self::End { parent },
            Target::Start { parent } => Self::Start { parent },
            Target::After(block) => Self::After { block },
        }
    }
}

/// A Notion-style page: a tree of rich-text blocks in one Automerge document.
///
/// Every edit method commits exactly one Automerge change, so a caller that persists after
/// each call has every returned edit on disk.
#[derive(Debug, Clone)]
pub struct Page {
    doc: AutoCommit,
}

impl Page {
    /// A new page whose changes are written by `actor` (random bytes from the caller).
    pub fn create(actor: [u8; 16], title: &str) -> Self {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
        let result: Result<(), automerge::AutomergeError> = (|| {
            let title_obj = doc.put_object(ROOT, TITLE, ObjType::Text)?;
            doc.splice_text(&title_obj, 0, 0, title)?;
            doc.put_object(ROOT, BLOCKS, ObjType::Map)?;
            Ok(())
        })();
        result.expect("writing to a fresh document cannot fail");
        doc.commit();
        Self { doc }
    }

    /// Wraps a document, for example one that is still empty because it has not synced yet.
    /// Edits fail with [`EditError::NotAPage`] until the page's root objects arrive.
    pub fn from_doc(doc: AutoCommit) -> Self {
        Self { doc }
    }

    /// An empty document that will be filled by sync, written to by `actor`.
    pub fn empty(actor: [u8; 16]) -> Self {
        Self::from_doc(AutoCommit::new().with_actor(ActorId::from(actor)))
    }

    /// Loads a saved document (full or incremental saves, concatenated).
    ///
    /// `actor` must be fresh for every load (random bytes): edits of an earlier session may
    /// have reached other replicas without reaching the disk, and writing again under the same
    /// actor would reuse their sequence numbers, which Automerge rejects.
    pub fn load(bytes: &[u8], actor: [u8; 16]) -> Result<Self, LoadError> {
        let doc = AutoCommit::load(bytes)?.with_actor(ActorId::from(actor));
        Ok(Self { doc })
    }

    /// The underlying document, read-only.
    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    /// The underlying document, for sync and storage.
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The page title.
    pub fn title(&self) -> String {
        match self.doc.get(ROOT, TITLE) {
            Ok(Some((Value::Object(ObjType::Text), obj))) => {
                self.doc.text(&obj).unwrap_or_default()
            }
            Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        }
    }

    /// Replaces the title, as a minimal text diff so concurrent title edits merge.
    pub fn set_title(&mut self, title: &str) -> Result<(), EditError> {
        let obj = match self.doc.get(ROOT, TITLE)? {
            Some((Value::Object(ObjType::Text), obj)) => obj,
            _ => self.doc.put_object(ROOT, TITLE, ObjType::Text)?,
        };
        self.doc.update_text(&obj, title)?;
        self.doc.commit();
        Ok(())
    }

    /// Adds a block and returns its id. `id_bits` are random bits from the caller.
    pub fn add_block(
        &mut self,
        id_bits: u64,
        kind: &BlockKind,
        text: &str,
        target: &Target,
    ) -> Result<BlockId, EditError> {
        kind.check()?;
        let blocks = self.blocks_obj()?;
        let tree = self.tree();
        let place = self.place_for(&tree, target, None)?;
        let id = BlockId::from_random(id_bits);
        let obj = self.doc.put_object(&blocks, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, KIND, kind.name())?;
        let props = self.doc.put_object(&obj, PROPS, ObjType::Map)?;
        write_kind_props(&mut self.doc, &props, kind)?;
        let text_obj = self.doc.put_object(&obj, TEXT, ObjType::Text)?;
        self.doc.splice_text(&text_obj, 0, 0, text)?;
        let location = Location {
            current: place,
            previous: None,
        };
        self.doc.put(&obj, LOCATION, location.encode())?;
        self.doc.commit();
        Ok(id)
    }

    /// Inserts `text` at `pos` (in Unicode scalar values).
    pub fn insert_text(
        &mut self,
        block: &BlockId,
        pos: usize,
        text: &str,
    ) -> Result<(), EditError> {
        let text_obj = self.live_text(block)?;
        self.check_range(block, &text_obj, pos, pos)?;
        self.doc.splice_text(&text_obj, pos, 0, text)?;
        self.doc.commit();
        Ok(())
    }

    /// Deletes `len` characters at `pos`.
    pub fn delete_text(
        &mut self,
        block: &BlockId,
        pos: usize,
        len: usize,
    ) -> Result<(), EditError> {
        let text_obj = self.live_text(block)?;
        self.check_range(block, &text_obj, pos, pos.saturating_add(len))?;
        self.doc.splice_text(&text_obj, pos, len as isize, "")?;
        self.doc.commit();
        Ok(())
    }

    /// Replaces the block's text, as a minimal diff so concurrent edits elsewhere survive.
    pub fn set_text(&mut self, block: &BlockId, text: &str) -> Result<(), EditError> {
        let text_obj = self.live_text(block)?;
        self.doc.update_text(&text_obj, text)?;
        self.doc.commit();
        Ok(())
    }

    /// Applies a mark to `start..end`. Links do not grow when text is typed at their edges;
    /// the other marks grow at their end, as a writer expects of bold or italic.
    pub fn mark(
        &mut self,
        block: &BlockId,
        start: usize,
        end: usize,
        spec: &MarkSpec,
    ) -> Result<(), EditError> {
        let text_obj = self.live_text(block)?;
        self.check_mark_range(block, &text_obj, start, end)?;
        let value = match &spec.value {
            Some(v) => ScalarValue::Str(v.as_str().into()),
            None => ScalarValue::Boolean(true),
        };
        let mark = Mark::new(spec.name.as_str().to_owned(), value, start, end);
        self.doc.mark(&text_obj, mark, expand_rule(spec.name))?;
        self.doc.commit();
        Ok(())
    }

    /// Removes a mark from `start..end`.
    pub fn unmark(
        &mut self,
        block: &BlockId,
        start: usize,
        end: usize,
        name: MarkName,
    ) -> Result<(), EditError> {
        let text_obj = self.live_text(block)?;
        self.check_mark_range(block, &text_obj, start, end)?;
        self.doc
            .unmark(&text_obj, name.as_str(), start, end, expand_rule(name))?;
        self.doc.commit();
        Ok(())
    }

    /// Changes a block's kind and writes the new kind's settings. Settings of other kinds are
    /// left in place (they are not shown), so a concurrent edit of them is not lost either.
    pub fn set_kind(&mut self, block: &BlockId, kind: &BlockKind) -> Result<(), EditError> {
        kind.check()?;
        let obj = self.block_map(block)?;
        if self.is_deleted(&obj) {
            return Err(EditError::Deleted(block.to_string()));
        }
        self.doc.put(&obj, KIND, kind.name())?;
        let props = match self.doc.get(&obj, PROPS)? {
            Some((Value::Object(ObjType::Map), props)) => props,
            _ => self.doc.put_object(&obj, PROPS, ObjType::Map)?,
        };
        write_kind_props(&mut self.doc, &props, kind)?;
        if let BlockKind::Code { language: None } = kind {
            self.doc.delete(&props, "language")?;
        }
        self.doc.commit();
        Ok(())
    }

    /// Moves a block: one write of its location register.
    pub fn move_block(&mut self, block: &BlockId, target: &Target) -> Result<(), EditError> {
        let tree = self.tree();
        let stored = self.stored_block(block)?;
        if stored.deleted {
            return Err(EditError::Deleted(block.to_string()));
        }
        let place = self.place_for(&tree, target, Some(block))?;
        let location = Location {
            current: place,
            previous: Some(stored.location.current),
        };
        self.doc.put(&stored.obj, LOCATION, location.encode())?;
        self.doc.commit();
        Ok(())
    }

    /// Deletes a block and everything shown below it, as tombstones.
    pub fn delete_block(&mut self, block: &BlockId) -> Result<(), EditError> {
        let tree = self.tree();
        let stored = self.stored_block(block)?;
        if stored.deleted {
            return Err(EditError::Deleted(block.to_string()));
        }
        let all = self.stored_blocks();
        for id in tree.subtree(block) {
            if let Some(b) = all.get(&id) {
                self.doc.put(&b.obj, DELETED, true)?;
            }
        }
        self.doc.commit();
        Ok(())
    }

    /// The text of a live block.
    pub fn text(&self, block: &BlockId) -> Result<String, EditError> {
        let obj = self.live_text(block)?;
        Ok(self.doc.text(&obj)?)
    }

    /// Ids of the live children of `parent` (None: the top level), in order.
    pub fn children(&self, parent: Option<&BlockId>) -> Vec<BlockId> {
        self.tree().children(parent).to_vec()
    }

    /// Every block whose tombstone is not set, straight from the registers. The rendered tree
    /// shows exactly these blocks, each once; tests compare the two.
    pub fn live_block_ids(&self) -> std::collections::BTreeSet<BlockId> {
        self.stored_blocks()
            .into_iter()
            .filter(|(_, b)| !b.deleted)
            .map(|(id, _)| id)
            .collect()
    }

    pub(crate) fn tree(&self) -> Tree {
        Tree::resolve(&self.stored_blocks())
    }

    pub(crate) fn stored_blocks(&self) -> BTreeMap<BlockId, StoredBlock> {
        let Some(blocks) = self.blocks_obj_opt() else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for item in self.doc.map_range(&blocks, ..) {
            let Some(id) = BlockId::from_document(&item.key) else {
                continue;
            };
            let obj = item.id();
            if let Some(block) = self.read_stored_block(obj) {
                out.insert(id, block);
            }
        }
        out
    }

    fn read_stored_block(&self, obj: ObjId) -> Option<StoredBlock> {
        if !matches!(self.doc.object_type(&obj), Ok(ObjType::Map)) {
            return None;
        }
        let (location, location_op) = match self.doc.get(&obj, LOCATION).ok().flatten() {
            Some((Value::Scalar(s), op)) => (Location::decode(s.as_str().unwrap_or_default()), op),
            // A block whose location never arrived is shown at the end of the top level.
            _ => (Location::decode(""), obj.clone()),
        };
        let deleted = self.is_deleted(&obj);
        Some(StoredBlock {
            obj,
            location,
            location_op,
            deleted,
        })
    }

    fn stored_block(&self, id: &BlockId) -> Result<StoredBlock, EditError> {
        let obj = self.block_map(id)?;
        self.read_stored_block(obj)
            .ok_or_else(|| EditError::NoSuchBlock(id.to_string()))
    }

    /// Whether the block carries a tombstone.
    fn is_deleted(&self, block: &ObjId) -> bool {
        matches!(
            self.doc.get(block, DELETED).ok().flatten(),
            Some((Value::Scalar(s), _)) if s.as_bool() == Some(true)
        )
    }

    /// The block's map object, without reading its location (text edits do not need it, and
    /// every lookup costs on the hot path of typing).
    fn block_map(&self, id: &BlockId) -> Result<ObjId, EditError> {
        let blocks = self.blocks_obj()?;
        match self.doc.get(&blocks, id.as_str())? {
            Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
            _ => Err(EditError::NoSuchBlock(id.to_string())),
        }
    }

    pub(crate) fn block_obj(&self, id: &BlockId) -> Option<ObjId> {
        self.stored_block(id).ok().map(|b| b.obj)
    }

    fn live_text(&self, id: &BlockId) -> Result<ObjId, EditError> {
        let obj = self.block_map(id)?;
        if self.is_deleted(&obj) {
            return Err(EditError::Deleted(id.to_string()));
        }
        match self.doc.get(&obj, TEXT)? {
            Some((Value::Object(ObjType::Text), obj)) => Ok(obj),
            _ => Err(EditError::NotAPage("block has no text object")),
        }
    }

    fn check_range(
        &self,
        block: &BlockId,
        text: &ObjId,
        start: usize,
        end: usize,
    ) -> Result<(), EditError> {
        let len = self.doc.length(text);
        if start > end || end > len {
            return Err(EditError::OutOfRange {
                block: block.to_string(),
                start,
                end,
                len,
            });
        }
        Ok(())
    }

    fn check_mark_range(
        &self,
        block: &BlockId,
        text: &ObjId,
        start: usize,
        end: usize,
    ) -> Result<(), EditError> {
        self.check_range(block, text, start, end)?;
        if start == end {
            let len = self.doc.length(text);
            return Err(EditError::OutOfRange {
                block: block.to_string(),
                start,
                end,
                len,
            });
        }
        Ok(())
    }

    fn blocks_obj_opt(&self) -> Option<ObjId> {
        match self.doc.get(ROOT, BLOCKS) {
            Ok(Some((Value::Object(ObjType::Map), obj))) => Some(obj),
            _ => None,
        }
    }

    fn blocks_obj(&self) -> Result<ObjId, EditError> {
        self.blocks_obj_opt().ok_or(EditError::NotAPage(
            "it has no blocks map (has it synced yet?)",
        ))
    }

    /// The place a block should get for `target`; `moving` is the block being moved, if any.
    fn place_for(
        &self,
        tree: &Tree,
        target: &Target,
        moving: Option<&BlockId>,
    ) -> Result<Place, EditError> {
        let check_parent = |parent: &Option<BlockId>| -> Result<(), EditError> {
            let Some(p) = parent else { return Ok(()) };
            if !tree.is_live(p) {
                return Err(match self.stored_block(p) {
                    Ok(_) => EditError::Deleted(p.to_string()),
                    Err(e) => e,
                });
            }
            if let Some(m) = moving
                && tree.is_self_or_ancestor(m, p)
            {
                return Err(EditError::WouldCycle(m.to_string()));
            }
            Ok(())
        };
        // Siblings exclude the moving block itself, so moving next to where it is works.
        let siblings = |parent: &Option<BlockId>| -> Vec<BlockId> {
            tree.children(parent.as_ref())
                .iter()
                .filter(|b| Some(*b) != moving)
                .cloned()
                .collect()
        };
        let pos = |id: &BlockId| tree.position(id).unwrap_or_default().to_owned();
        let (parent, position) = match target {
            Target::End { parent } => {
                check_parent(parent)?;
                let last = siblings(parent).last().map(pos);
                (parent.clone(), position::between(last.as_deref(), None))
            }
            Target::Start { parent } => {
                check_parent(parent)?;
                let first = siblings(parent).first().map(pos);
                (parent.clone(), position::between(None, first.as_deref()))
            }
            Target::After(anchor) => {
                if !tree.is_live(anchor) {
                    return Err(match self.stored_block(anchor) {
                        Ok(_) => EditError::Deleted(anchor.to_string()),
                        Err(e) => e,
                    });
                }
                if Some(anchor) == moving {
                    return Err(EditError::WouldCycle(anchor.to_string()));
                }
                let parent = tree.parent(anchor).cloned().flatten();
                check_parent(&parent)?;
                let anchor_pos = pos(anchor);
                // The next sibling with a strictly greater key: ties come from concurrent
                // inserts and sort by id, so we go after the whole tied run.
                let next = siblings(&parent)
                    .iter()
                    .map(pos)
                    .find(|p| p.as_str() > anchor_pos.as_str());
                let position = position::between(Some(&anchor_pos), next.as_deref());
                (parent, position)
            }
        };
        Ok(Place { parent, position })
    }
}

fn expand_rule(name: MarkName) -> ExpandMark {
    match name {
        MarkName::Link => ExpandMark::None,
        _ => ExpandMark::After,
    }
}

fn write_kind_props(
    doc: &mut AutoCommit,
    props: &ObjId,
    kind: &BlockKind,
) -> Result<(), automerge::AutomergeError> {
    match kind {
        BlockKind::Heading { level } => doc.put(props, "level", i64::from(*level)),
        BlockKind::Todo { checked } => doc.put(props, "checked", *checked),
        BlockKind::Code {
            language: Some(lang),
        } => doc.put(props, "language", lang.as_str()),
        _ => Ok(()),
    }
}
