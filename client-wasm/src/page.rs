//! `Page`: one open document as JavaScript sees it. Reads are synchronous; every edit returns
//! a promise that settles once the edit is stored. The convenience methods build the core's
//! `PageEdit`s, so every edit goes through `DocSync::apply`.

use std::rc::Rc;

use js_sys::{Function, Promise};
use serde::de::DeserializeOwned;
use sync_core::client::ClientInput;
use sync_core::model::{BlockId, BlockKind, MarkName, MarkSpec, PageEdit, Target};
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result};
use crate::session::{Session, status_js};

#[wasm_bindgen]
extern "C" {
    /// A `Target` from JavaScript, typed for an optional trailing parameter.
    #[wasm_bindgen(typescript_type = "Target")]
    pub type TargetJs;
}

/// Largest edit accepted from JavaScript, as JSON.
const MAX_EDIT_BYTES: usize = 8 * 1024 * 1024;

/// An open page. `free()` (or `using`) releases this handle; the page stops syncing when its
/// last handle is released or `close()` is called.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Page {
    session: Rc<Session>,
}

impl Page {
    pub(crate) fn new(session: Rc<Session>) -> Self {
        Self { session }
    }

    fn edit(&self, edit: PageEdit) -> Result<Promise> {
        self.session.apply(&edit)
    }
}

#[wasm_bindgen]
impl Page {
    /// `automerge:<id>`: give it to `find` on another device.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.session.url()
    }

    /// The page as plain data, the same JSON `tessera show --json` prints.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "PageJSON")]
    pub fn to_json(&self) -> Result<JsValue> {
        js_sys::JSON::parse(&self.session.to_json())
            .map_err(|e| Error::Storage(crate::error::describe(&e)))
    }

    /// The sync status.
    #[wasm_bindgen(getter, unchecked_return_type = "Status")]
    pub fn status(&self) -> JsValue {
        status_js(&self.session.status())
    }

    /// The sync status as a sentence for people ("disconnected, retrying: …"), worded by the
    /// core as in every Tessera client.
    #[wasm_bindgen(getter, js_name = statusText)]
    pub fn status_text(&self) -> String {
        self.session.status().sync.to_string()
    }

    /// Applies one edit; resolves (with the id of a created block) once it is stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<Applied>")]
    pub fn apply(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PageEdit")] edit: JsValue,
    ) -> Result<Promise> {
        if let Some(json) = js_sys::JSON::stringify(&edit)
            .ok()
            .and_then(|s| s.as_string())
            && json.len() > MAX_EDIT_BYTES
        {
            return Err(Error::BadEdit(format!(
                "an edit is larger than {MAX_EDIT_BYTES} bytes"
            )));
        }
        let edit: PageEdit = from_js(edit, "edit")?;
        self.edit(edit)
    }

    /// Adds a block (at the end of the top level unless `target` says where).
    #[wasm_bindgen(js_name = addBlock, unchecked_return_type = "Promise<Applied>")]
    pub fn add_block(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BlockKind")] kind: JsValue,
        text: Option<String>,
        target: Option<TargetJs>,
    ) -> Result<Promise> {
        let kind: BlockKind = from_js(kind, "kind")?;
        let target = match target {
            Some(t) => from_js(t.into(), "target")?,
            None => Target::End { parent: None },
        };
        self.edit(PageEdit::AddBlock {
            kind,
            text: text.unwrap_or_default(),
            target,
        })
    }

    /// Inserts text at `pos` (Unicode scalar values).
    #[wasm_bindgen(js_name = insertText, unchecked_return_type = "Promise<Applied>")]
    pub fn insert_text(&self, block: String, pos: u32, text: String) -> Result<Promise> {
        self.edit(PageEdit::InsertText {
            block: block_id(block)?,
            pos: pos as usize,
            text,
        })
    }

    /// Deletes `len` characters at `pos`.
    #[wasm_bindgen(js_name = deleteText, unchecked_return_type = "Promise<Applied>")]
    pub fn delete_text(&self, block: String, pos: u32, len: u32) -> Result<Promise> {
        self.edit(PageEdit::DeleteText {
            block: block_id(block)?,
            pos: pos as usize,
            len: len as usize,
        })
    }

    /// Replaces a block's text (as a minimal diff).
    #[wasm_bindgen(js_name = setText, unchecked_return_type = "Promise<Applied>")]
    pub fn set_text(&self, block: String, text: String) -> Result<Promise> {
        self.edit(PageEdit::SetText {
            block: block_id(block)?,
            text,
        })
    }

    /// Formats `start..end` with a mark (`{name: "bold"}`, `{name: "link", value: href}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Applied>")]
    pub fn mark(
        &self,
        block: String,
        start: u32,
        end: u32,
        #[wasm_bindgen(unchecked_param_type = "MarkSpec")] mark: JsValue,
    ) -> Result<Promise> {
        let mark: MarkSpec = from_js(mark, "mark")?;
        self.edit(PageEdit::Mark {
            block: block_id(block)?,
            start: start as usize,
            end: end as usize,
            mark,
        })
    }

    /// Removes a mark from `start..end`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Applied>")]
    pub fn unmark(
        &self,
        block: String,
        start: u32,
        end: u32,
        #[wasm_bindgen(unchecked_param_type = "MarkName")] name: JsValue,
    ) -> Result<Promise> {
        let name: MarkName = from_js(name, "name")?;
        self.edit(PageEdit::Unmark {
            block: block_id(block)?,
            start: start as usize,
            end: end as usize,
            name,
        })
    }

    /// Changes a block's kind and its settings.
    #[wasm_bindgen(js_name = setKind, unchecked_return_type = "Promise<Applied>")]
    pub fn set_kind(
        &self,
        block: String,
        #[wasm_bindgen(unchecked_param_type = "BlockKind")] kind: JsValue,
    ) -> Result<Promise> {
        let kind: BlockKind = from_js(kind, "kind")?;
        self.edit(PageEdit::SetKind {
            block: block_id(block)?,
            kind,
        })
    }

    /// Moves a block (indent and outdent are moves).
    #[wasm_bindgen(js_name = "move", unchecked_return_type = "Promise<Applied>")]
    pub fn move_block(
        &self,
        block: String,
        #[wasm_bindgen(unchecked_param_type = "Target")] target: JsValue,
    ) -> Result<Promise> {
        let target: Target = from_js(target, "target")?;
        self.edit(PageEdit::Move {
            block: block_id(block)?,
            target,
        })
    }

    /// Deletes a block and its subtree.
    #[wasm_bindgen(js_name = "delete", unchecked_return_type = "Promise<Applied>")]
    pub fn delete_block(&self, block: String) -> Result<Promise> {
        self.edit(PageEdit::Delete {
            block: block_id(block)?,
        })
    }

    /// Replaces the title.
    #[wasm_bindgen(js_name = setTitle, unchecked_return_type = "Promise<Applied>")]
    pub fn set_title(&self, title: String) -> Result<Promise> {
        self.edit(PageEdit::SetTitle { title })
    }

    /// Calls `listener` on every change (local or remote) and status change; returns the
    /// function that stops it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: PageEvent) => void")] listener: Function,
    ) -> JsValue {
        let id = self.session.subscribe(listener);
        let session = Rc::downgrade(&self.session);
        // Calling it twice is harmless; it holds the page only weakly.
        Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = session.upgrade() {
                s.unsubscribe(id);
            }
        })
        .into_js_value()
    }

    /// Resolves once the relay and the local store both hold exactly this page; rejects with
    /// a `TesseraError` when the core says waiting cannot help (a refusal, a token needed).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn synced(&self) -> Promise {
        self.session.synced()
    }

    /// Starts syncing (the default when the client has a relay).
    #[wasm_bindgen(js_name = goOnline)]
    pub fn go_online(&self) {
        self.session.input(ClientInput::GoOnline);
    }

    /// Stops syncing; edits keep being saved locally and sync after `goOnline()`.
    #[wasm_bindgen(js_name = goOffline)]
    pub fn go_offline(&self) {
        self.session.input(ClientInput::GoOffline);
    }

    /// Stops syncing and releases the page once its queued writes are done.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        self.session.close()
    }
}

fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(v).map_err(|e| Error::BadEdit(format!("{what}: {e}")))
}

fn block_id(s: String) -> Result<BlockId> {
    s.parse().map_err(|e| Error::BadEdit(format!("{e}")))
}
