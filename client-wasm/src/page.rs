//! `Page`: one open document as JavaScript sees it. Reads are synchronous; every edit returns
//! a promise that settles once the edit is stored. The convenience methods build the core's
//! `PageEdit`s, so every edit goes through `DocSync::apply`: here, or, in a tab served by
//! another, in the leading tab, whose answer comes once it stored the edit.

use std::rc::Rc;

use js_sys::{Function, Promise};
use serde::de::DeserializeOwned;
use sync_core::client::{ClientInput, ClientStatus};
use sync_core::model::{BlockId, BlockKind, MarkName, MarkSpec, PageEdit, Target};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise, spawn_local};

use crate::error::{Error, Result};
use crate::handle::{Backend, PageHandle};
use crate::session::{Session, status_js};
use crate::tabs::{Call, Hub, MAX_EDIT_BYTES, Outcome};

#[wasm_bindgen]
extern "C" {
    /// A `Target` from JavaScript, typed for an optional trailing parameter.
    #[wasm_bindgen(typescript_type = "Target")]
    pub type TargetJs;
}

/// An open page. `free()` (or `using`) releases this handle; the page stops syncing when its
/// last handle is released or `close()` is called.
#[wasm_bindgen]
pub struct Page {
    hub: Rc<Hub>,
    handle: Rc<PageHandle>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("url", &self.handle.url)
            .finish()
    }
}

impl Page {
    pub(crate) fn new(hub: Rc<Hub>, handle: Rc<PageHandle>) -> Self {
        Self { hub, handle }
    }

    fn edit(&self, edit: PageEdit) -> Result<Promise> {
        match self.handle.backend() {
            Backend::Local(session) => session.apply(&edit),
            Backend::Closed => Err(Error::Closed),
            Backend::Remote(_) => {
                let ser = serde_wasm_bindgen::Serializer::json_compatible();
                let js = serde::Serialize::serialize(&edit, &ser)
                    .map_err(|e| Error::BadEdit(e.to_string()))?;
                let json = js_sys::JSON::stringify(&js)
                    .ok()
                    .and_then(|s| s.as_string())
                    .ok_or_else(|| Error::BadEdit("the edit does not serialize".into()))?;
                if json.len() > MAX_EDIT_BYTES {
                    return Err(Error::BadEdit(format!(
                        "an edit is larger than {MAX_EDIT_BYTES} bytes"
                    )));
                }
                let call = Call::Apply {
                    url: self.handle.url.clone(),
                    edit: json,
                };
                Ok(self.served(call, move |s| s.apply(&edit)))
            }
        }
    }

    /// A call on a page the leading tab serves; if this context took over meanwhile, `local`
    /// carries it out on its own session instead.
    fn served(
        &self,
        call: Call,
        local: impl Fn(&Rc<Session>) -> Result<Promise> + 'static,
    ) -> Promise {
        let (hub, handle) = (self.hub.clone(), self.handle.clone());
        future_to_promise(async move {
            loop {
                match hub.backend(&handle).await? {
                    (Backend::Local(session), _) => return JsFuture::from(local(&session)?).await,
                    (Backend::Closed, _) | (Backend::Remote(_), None) => {
                        return Err(Error::Closed.into());
                    }
                    (Backend::Remote(_), Some(follower)) => {
                        match hub.call(&follower, call.clone()).await? {
                            Some(Outcome::Applied { applied }) => {
                                let ser = serde_wasm_bindgen::Serializer::json_compatible();
                                return serde::Serialize::serialize(&applied, &ser)
                                    .map_err(|e| Error::Storage(e.to_string()).into());
                            }
                            Some(Outcome::Done) => return Ok(JsValue::UNDEFINED),
                            Some(other) => {
                                return Err(Error::BadTabMessage(format!(
                                    "the leader answered {:.200}",
                                    format!("{other:?}")
                                ))
                                .into());
                            }
                            None => {}
                        }
                    }
                }
            }
        })
    }

    fn status_now(&self) -> Result<ClientStatus> {
        match self.handle.backend() {
            Backend::Local(session) => Ok(session.status()),
            Backend::Remote(remote) => Ok(remote.status()),
            Backend::Closed => Err(Error::Closed),
        }
    }

    fn online(&self, online: bool) {
        match self.handle.backend() {
            Backend::Local(session) => session.input(if online {
                ClientInput::GoOnline
            } else {
                ClientInput::GoOffline
            }),
            Backend::Remote(_) => {
                let call = Call::Online {
                    url: self.handle.url.clone(),
                    online,
                };
                let done = self.served(call, move |s| {
                    s.input(if online {
                        ClientInput::GoOnline
                    } else {
                        ClientInput::GoOffline
                    });
                    Ok(Promise::resolve(&JsValue::UNDEFINED))
                });
                spawn_local(async move {
                    if let Err(e) = JsFuture::from(done).await {
                        web_sys::console::warn_2(
                            &"tessera: going online or offline failed".into(),
                            &e,
                        );
                    }
                });
            }
            Backend::Closed => {}
        }
    }
}

#[wasm_bindgen]
impl Page {
    /// `automerge:<id>`: give it to `find` on another device.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.handle.url.clone()
    }

    /// The page as plain data, the same JSON `tessera show --json` prints.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "PageJSON")]
    pub fn to_json(&self) -> Result<JsValue> {
        let json = match self.handle.backend() {
            Backend::Local(session) => session.to_json(),
            Backend::Remote(remote) => remote.json(),
            Backend::Closed => return Err(Error::Closed),
        };
        js_sys::JSON::parse(&json).map_err(|e| Error::Storage(crate::error::describe(&e)))
    }

    /// The sync status.
    #[wasm_bindgen(getter, unchecked_return_type = "Status")]
    pub fn status(&self) -> Result<JsValue> {
        Ok(status_js(&self.status_now()?))
    }

    /// The sync status as a sentence for people ("disconnected, retrying: …"), worded by the
    /// core as in every Tessera client.
    #[wasm_bindgen(getter, js_name = statusText)]
    pub fn status_text(&self) -> Result<String> {
        Ok(self.status_now()?.sync.to_string())
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
        let id = self.handle.subscribe(listener);
        let handle = Rc::downgrade(&self.handle);
        // Calling it twice is harmless; it holds the page only weakly.
        Closure::<dyn FnMut()>::new(move || {
            if let Some(h) = handle.upgrade() {
                h.unsubscribe(id);
            }
        })
        .into_js_value()
    }

    /// Resolves once the relay and the local store both hold exactly this page; rejects with
    /// a `TesseraError` when the core says waiting cannot help (a refusal, a token needed).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn synced(&self) -> Promise {
        match self.handle.backend() {
            Backend::Local(session) => session.synced(),
            Backend::Closed => Promise::reject(&Error::Closed.into()),
            Backend::Remote(_) => {
                let call = Call::Synced {
                    url: self.handle.url.clone(),
                };
                self.served(call, |s| Ok(s.synced()))
            }
        }
    }

    /// Starts syncing (the default when the client has a relay).
    #[wasm_bindgen(js_name = goOnline)]
    pub fn go_online(&self) {
        self.online(true);
    }

    /// Stops syncing; edits keep being saved locally and sync after `goOnline()`.
    #[wasm_bindgen(js_name = goOffline)]
    pub fn go_offline(&self) {
        self.online(false);
    }

    /// Stops syncing and releases the page once its queued writes are done.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        match self.handle.backend() {
            Backend::Local(session) => session.close(),
            // The leader keeps serving the page to others; this context stops hearing of it.
            Backend::Remote(_) | Backend::Closed => {
                self.handle.swap(Backend::Closed);
                Promise::resolve(&JsValue::UNDEFINED)
            }
        }
    }
}

fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(v).map_err(|e| Error::BadEdit(format!("{what}: {e}")))
}

fn block_id(s: String) -> Result<BlockId> {
    s.parse().map_err(|e| Error::BadEdit(format!("{e}")))
}
