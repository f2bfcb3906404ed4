//! `Document`: one open page. Edits, reads, status, listeners and sync, each forwarded to
//! `client_native::Document` with its types translated; mirrors the browser client's page.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_native::{Client, DocEvent, SyncTarget, TransportOptions};

use crate::callbacks::{Change, DocumentListener, Subscription, TokenProvider};
use crate::edit::{Applied, BlockKind, MarkName, MarkSpec, PageEdit, Target};
use crate::error::{Result, TesseraError};
use crate::runtime::{run, runtime};
use crate::status::ClientStatus;
use crate::view::PageView;

/// What a `Tessera` handle and its documents share: the client (gone once closed), the relay
/// and the app's token provider.
pub(crate) struct Shared {
    client: Mutex<Option<Client>>,
    relay: Option<String>,
    tokens: Option<Arc<dyn TokenProvider>>,
}

impl Shared {
    pub(crate) fn open(
        data_dir: PathBuf,
        relay: Option<String>,
        tokens: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Self> {
        // Inside the runtime: client-native spawns its document tasks on the current one.
        let _entered = runtime().enter();
        Ok(Self {
            client: Mutex::new(Some(Client::open(&data_dir)?)),
            relay,
            tokens,
        })
    }

    pub(crate) fn client(&self) -> Result<Client> {
        self.client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(closed)
    }

    fn is_closed(&self) -> bool {
        self.client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    pub(crate) fn close(&self) {
        self.client.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The target `start_sync` connects to: the relay, the provider's first token, and the
    /// provider again for every refusal (an exception there leaves the document waiting in
    /// `TokenNeeded`, which its status shows).
    fn sync_target(&self) -> Result<SyncTarget> {
        let relay = self.relay.clone().ok_or_else(|| TesseraError::NoRelay {
            reason: "Tessera.open was given no relay URL, so documents cannot sync".to_owned(),
        })?;
        let (token, token_provider) = match &self.tokens {
            Some(tokens) => {
                let first = tokens.token(None)?;
                // Weak: the app's object must be released on the app's thread (when its
                // Tessera is), never by a runtime thread while the host interpreter exits.
                let tokens = Arc::downgrade(tokens);
                let provider: client_native::TokenProvider =
                    Arc::new(move |code| tokens.upgrade()?.token(Some(code.into())).ok());
                (Some(first), Some(provider))
            }
            None => (None, None),
        };
        Ok(SyncTarget {
            relay,
            token,
            token_provider,
            transport: TransportOptions::default(),
        })
    }
}

fn closed() -> TesseraError {
    TesseraError::Closed {
        reason: "this Tessera handle was closed; open the database again".to_owned(),
    }
}

/// One open page. Every `find` of a page on one `Tessera` returns the same `Document`.
#[derive(uniffi::Object)]
pub struct Document {
    inner: client_native::Document,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("url", &self.inner.url())
            .finish_non_exhaustive()
    }
}

impl Document {
    pub(crate) fn new(inner: client_native::Document, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The document's handle, unless the `Tessera` it came from was closed.
    fn doc(&self) -> Result<client_native::Document> {
        if self.shared.is_closed() {
            return Err(closed());
        }
        Ok(self.inner.clone())
    }

    /// Stops syncing (for `Tessera.close`), in the background: close must not wait on the
    /// document's task, which may be busy with a slow write.
    pub(crate) fn stop(&self) {
        let doc = self.inner.clone();
        runtime().spawn(async move { doc.go_offline().await });
    }

    async fn edit(&self, edit: PageEdit) -> Result<Applied> {
        let edit = edit.try_into()?;
        let doc = self.doc()?;
        run(async move { Ok(doc.apply(edit).await?.into()) }).await
    }
}

#[uniffi::export]
impl Document {
    /// The page's URL, `automerge:<id>`: what another device passes to `find`.
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// Applies an edit; returns once it is durable in the local database.
    pub async fn apply(&self, edit: PageEdit) -> Result<Applied> {
        self.edit(edit).await
    }

    /// Applies edits in order with one save for all (bulk input, such as a paste or an
    /// import). Stops at the first refused edit: those before it stay applied and saved, and
    /// the error's reason names the refused edit's index.
    pub async fn apply_batch(&self, edits: Vec<PageEdit>) -> Result<Vec<Applied>> {
        // An edit that does not translate refuses the whole batch before anything is applied.
        let edits = edits
            .into_iter()
            .enumerate()
            .map(|(i, edit)| {
                edit.try_into().map_err(|e: TesseraError| {
                    let reason = format!("edit {i} of the batch: {e}");
                    e.with_reason(reason)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let doc = self.doc()?;
        run(async move {
            let applied = doc.apply_batch(edits).await?;
            Ok(applied.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// Adds a block; returns its id.
    pub async fn add_block(&self, kind: BlockKind, text: String, target: Target) -> Result<String> {
        let applied = self.edit(PageEdit::AddBlock { kind, text, target }).await?;
        applied.created.ok_or_else(|| TesseraError::Internal {
            reason: "an added block reported no id".to_owned(),
        })
    }

    /// Inserts `text` at `pos` (Unicode scalar values).
    pub async fn insert_text(&self, block: String, pos: u32, text: String) -> Result<()> {
        self.edit(PageEdit::InsertText { block, pos, text })
            .await
            .map(drop)
    }

    /// Deletes `len` characters at `pos`.
    pub async fn delete_text(&self, block: String, pos: u32, len: u32) -> Result<()> {
        self.edit(PageEdit::DeleteText { block, pos, len })
            .await
            .map(drop)
    }

    /// Replaces a block's text (as a minimal diff).
    pub async fn set_text(&self, block: String, text: String) -> Result<()> {
        self.edit(PageEdit::SetText { block, text }).await.map(drop)
    }

    /// Formats `start..end`.
    pub async fn mark(&self, block: String, start: u32, end: u32, mark: MarkSpec) -> Result<()> {
        self.edit(PageEdit::Mark {
            block,
            start,
            end,
            mark,
        })
        .await
        .map(drop)
    }

    /// Removes a mark from `start..end`.
    pub async fn unmark(&self, block: String, start: u32, end: u32, name: MarkName) -> Result<()> {
        self.edit(PageEdit::Unmark {
            block,
            start,
            end,
            name,
        })
        .await
        .map(drop)
    }

    /// Changes a block's kind and settings (ticks a to-do: `BlockKind.Todo(checked=True)`).
    pub async fn set_kind(&self, block: String, kind: BlockKind) -> Result<()> {
        self.edit(PageEdit::SetKind { block, kind }).await.map(drop)
    }

    /// Moves a block.
    pub async fn move_block(&self, block: String, target: Target) -> Result<()> {
        self.edit(PageEdit::Move { block, target }).await.map(drop)
    }

    /// Deletes a block and its subtree.
    pub async fn delete_block(&self, block: String) -> Result<()> {
        self.edit(PageEdit::Delete { block }).await.map(drop)
    }

    /// Replaces the title.
    pub async fn set_title(&self, title: String) -> Result<()> {
        self.edit(PageEdit::SetTitle { title }).await.map(drop)
    }

    /// The stable JSON rendering, byte-identical to `tessera show --json` and the browser
    /// client's `toJSON()` on every device in sync.
    pub async fn to_json(&self) -> Result<String> {
        let doc = self.doc()?;
        run(async move { Ok(doc.to_json().await?) }).await
    }

    /// The page as records: title and blocks, for drawing it.
    pub async fn view(&self) -> Result<PageView> {
        let doc = self.doc()?;
        run(async move { Ok(doc.view().await?.into()) }).await
    }

    /// The sync status now.
    pub fn status(&self) -> ClientStatus {
        self.inner.current_status().into()
    }

    /// Calls `listener` for local and remote changes and for status changes (at once with the
    /// current status), until the returned `Subscription` is cancelled or dropped. See the
    /// module docs of `callbacks` for the threads it runs on.
    pub fn subscribe(&self, listener: Arc<dyn DocumentListener>) -> Arc<Subscription> {
        // The subscription threads hold the listener weakly: the `Subscription` owns it, so
        // the app's object is released where the app releases the subscription, never by a
        // Tessera thread while the host interpreter exits.
        let on_change = Arc::downgrade(&listener);
        let changes = self.inner.subscribe(Box::new(move |event| {
            let change = match event {
                DocEvent::LocalChange => Change::Local,
                DocEvent::RemoteChange => Change::Remote,
                _ => return,
            };
            if let Some(listener) = on_change.upgrade() {
                // The app's exception is its own; the listener stays subscribed.
                let _ = listener.on_change(change);
            }
        }));
        let on_status = Arc::downgrade(&listener);
        let statuses = self.inner.subscribe_status(Box::new(move |status| {
            if let Some(listener) = on_status.upgrade() {
                let _ = listener.on_status(status.into());
            }
        }));
        Arc::new(Subscription {
            inner: vec![changes, statuses],
            _listener: listener,
        })
    }

    /// Starts syncing with the relay given to `Tessera.open` (asking the token provider for a
    /// token), reconnecting with back-off until `stop_sync`. Also the way to resume after
    /// `TokenNeeded` or `Refused`.
    pub async fn start_sync(&self) -> Result<()> {
        let doc = self.doc()?;
        let shared = self.shared.clone();
        // The provider is the app's code and may block: not on a runtime worker.
        let target = crate::runtime::run_blocking(move || shared.sync_target()).await?;
        run(async move { Ok(doc.go_online(target).await?) }).await
    }

    /// Stops syncing and closes the connection; edits go on offline.
    pub async fn stop_sync(&self) -> Result<()> {
        let doc = self.doc()?;
        run(async move { Ok(doc.go_offline().await?) }).await
    }

    /// Waits until the relay and the local database hold exactly this device's page. Raises
    /// `Timeout` after `timeout_ms` (sync goes on), or at once when waiting cannot help:
    /// `TokenNeeded`, `Refused`, `Unavailable`.
    pub async fn wait_in_sync(&self, timeout_ms: u64) -> Result<()> {
        let doc = self.doc()?;
        run(async move {
            Ok(doc
                .sync_until_in_sync(Duration::from_millis(timeout_ms))
                .await?)
        })
        .await
    }
}
