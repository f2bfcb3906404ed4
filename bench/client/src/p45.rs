//! P4 and P5 on one document of many small changes (one edit of the trace per change): device
//! A builds it offline and uploads it to the relay; then
//!
//! - P4: A reopens its database (the sync state with the relay persisted in it) and reconnects
//!   while in sync. The figure is from `go_online` to in sync (connect, WebSocket upgrade,
//!   handshake, sync exchange) and the frame bytes both ways;
//! - P5: a new device B fetches the whole document; time from `go_online` to in sync, and the
//!   frame bytes both ways, next to the document's compressed save size (`Automerge::save`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use automerge::Automerge;
use client_native::{
    Client, DocEvent, Document, DocumentId, Durability, PageEdit, Store, SyncTarget, Traffic,
};
use tokio::sync::broadcast::error::RecvError;

use crate::Rows;
use crate::page;
use crate::peers::Scratch;
use crate::report::{Row, bytes, ms};
use editing_trace::Edit;

/// What one run saw.
#[derive(Debug)]
pub(crate) struct P45 {
    changes: usize,
    build: Duration,
    upload: Synced,
    reconnect: Synced,
    /// A second reconnect, from the sync state the first one persisted.
    again: Synced,
    first_sync: Synced,
    save_compressed: usize,
}

/// One `go_online` until in sync.
#[derive(Debug)]
struct Synced {
    time: Duration,
    /// Until the handshake completed (connect, WebSocket upgrade, `join`/`peer`).
    handshake: Duration,
    traffic: Traffic,
}

const SYNC_TIMEOUT: Duration = Duration::from_secs(900);

pub(crate) async fn run(
    scratch: &Scratch,
    relay: &str,
    token: &str,
    edits: Vec<Edit>,
) -> anyhow::Result<P45> {
    let target = SyncTarget::new(relay, token);
    let dir_a = scratch.dir("p45-a")?;

    // Build offline, then upload.
    let client = Client::open_with(&dir_a, Durability::Normal)?;
    let start = Instant::now();
    let (doc, block) = page::with_empty_paragraph(&client, "p45").await?;
    let id = doc.id();
    for e in edits {
        let mut batch = Vec::with_capacity(2);
        if e.del > 0 {
            batch.push(PageEdit::DeleteText {
                block: block.clone(),
                pos: e.pos,
                len: e.del,
            });
        }
        if !e.text.is_empty() {
            batch.push(PageEdit::InsertText {
                block: block.clone(),
                pos: e.pos,
                text: e.text.clone(),
            });
        }
        doc.apply_batch(batch).await?;
    }
    let build = start.elapsed();
    let upload = timed_sync(&doc, &target).await.context("upload")?;
    doc.go_offline().await?;
    drop((doc, client));

    // P4: the same device, reopened, reconnects while in sync; twice, to tell the sync state
    // persisted after the upload from the one persisted after a reconnect.
    let reconnect = reopen_and_sync(&dir_a, id, &target).await?;
    let again = reopen_and_sync(&dir_a, id, &target).await?;

    // P5: a new device.
    let dir_b = scratch.dir("p45-b")?;
    let client = Client::open_with(&dir_b, Durability::Normal)?;
    let doc = client.find(&id.to_url()).await?;
    let first_sync = timed_sync(&doc, &target).await.context("first sync")?;
    doc.go_offline().await?;
    drop((doc, client));

    let (a, b) = (saved(&dir_a, id)?, saved(&dir_b, id)?);
    if a.get_heads() != b.get_heads() {
        bail!("the new device ended with different heads than the first");
    }
    Ok(P45 {
        changes: a.get_changes(&[]).len(),
        build,
        upload,
        reconnect,
        again,
        first_sync,
        save_compressed: a.save().len(),
    })
}

/// Goes online and waits for in sync; the time and the frames it took.
async fn timed_sync(doc: &Document, target: &SyncTarget) -> anyhow::Result<Synced> {
    let mut events = doc.changes();
    let before = doc.traffic();
    let start = Instant::now();
    // The handshake's end is stamped as the event arrives, while the sync goes on.
    let handshake = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(DocEvent::Connected) => return Some(start.elapsed()),
                Err(RecvError::Closed) => return None,
                _ => {}
            }
        }
    });
    doc.go_online(target.clone()).await?;
    doc.sync_until_in_sync(SYNC_TIMEOUT).await?;
    let time = start.elapsed();
    let traffic = doc.traffic().since(&before);
    let handshake = tokio::time::timeout(Duration::from_secs(1), handshake)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .context("in sync without a Connected event")?;
    Ok(Synced {
        time,
        handshake,
        traffic,
    })
}

/// Reopens the device's database and reconnects; the time and frames until in sync.
async fn reopen_and_sync(
    data_dir: &Path,
    id: DocumentId,
    target: &SyncTarget,
) -> anyhow::Result<Synced> {
    let client = Client::open_with(data_dir, Durability::Normal)?;
    let doc = client.open_document(id).await?;
    let measured = timed_sync(&doc, target).await.context("reconnect")?;
    doc.go_offline().await?;
    Ok(measured)
}

/// The document as a device's database holds it.
fn saved(data_dir: &Path, id: DocumentId) -> anyhow::Result<Automerge> {
    let store = Store::open(&data_dir.join("tessera.db"), Durability::Normal)?;
    Ok(Automerge::load(&store.load(id)?.bytes)?)
}

impl Synced {
    fn time(&self) -> String {
        format!("{} (handshake {})", ms(self.time), ms(self.handshake))
    }

    fn bytes(&self) -> String {
        let t = &self.traffic;
        format!(
            "{} ({} sent + {} received, {} frames)",
            bytes(t.total_bytes()),
            bytes(t.bytes_sent),
            bytes(t.bytes_received),
            t.frames_sent + t.frames_received
        )
    }
}

impl P45 {
    pub(crate) fn rows(&self) -> Rows {
        let r = &self.reconnect;
        let f = &self.first_sync;
        let ratio = f.traffic.total_bytes() as f64 / self.save_compressed as f64;
        vec![
            Row::new(
                format!("P4/P5 setup: build {} changes locally", self.changes),
                ms(self.build),
            ),
            Row::new(
                "P4/P5 setup: upload to the relay",
                format!("{}, {}", self.upload.time(), self.upload.bytes()),
            ),
            Row::new("P4 reconnect in sync: bytes", r.bytes())
                .target("<= 1 KB", r.traffic.total_bytes() <= 1_000),
            Row::new("P4 reconnect in sync: time", r.time())
                .target("<= 5 ms", r.time <= Duration::from_millis(5)),
            Row::new(
                "P4 again (state saved by that reconnect)",
                format!("{}, {}", self.again.time(), self.again.bytes()),
            ),
            Row::new(
                "P5 first sync to a new device: bytes",
                format!("{} = {ratio:.2}x save", f.bytes()),
            )
            .target(
                format!(
                    "<= 1.2x compressed save ({})",
                    bytes(self.save_compressed as u64)
                ),
                ratio <= 1.2,
            ),
            Row::new("P5 first sync to a new device: time", f.time()),
        ]
    }
}
