//! P1 with the Tessera client: device A types one character at a time; each sample is the time
//! from A's `insert_text` call to B's `RemoteChange` event for it (B's text checked after the
//! clock stops). Both devices use `Durability::Normal` (WAL, no fsync per edit), because the
//! figure is about the network path and the Yjs client it is compared with persists nothing.
//!
//! The same code runs against the Tessera relay and the automerge-repo Node server: both speak
//! the automerge-repo WebSocket protocol, so only the server differs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use client_native::{
    BlockId, BlockKind, Client, DocEvent, Document, Durability, SyncTarget, Target,
};
use tokio::sync::broadcast::error::RecvError;

use crate::STEP_TIMEOUT;
use crate::peers::Scratch;
use crate::report::Latencies;

pub(crate) async fn run(
    scratch: &Scratch,
    name: &'static str,
    server: &str,
    token: &str,
    edits: usize,
) -> anyhow::Result<Latencies> {
    let tag = format!("p1-{}", server.rsplit(':').next().unwrap_or("x"));
    let a = Client::open_with(&scratch.dir(&format!("{tag}-a"))?, Durability::Normal)?;
    let b = Client::open_with(&scratch.dir(&format!("{tag}-b"))?, Durability::Normal)?;
    let target = SyncTarget {
        relay: server.to_owned(),
        token: token.to_owned(),
    };
    let doc_a = a.create("p1")?;
    let block = doc_a
        .add_block(
            BlockKind::Paragraph,
            String::new(),
            Target::End { parent: None },
        )
        .await?;
    doc_a.go_online(target.clone()).await?;
    let doc_b = b.open_or_fetch(doc_a.id())?;
    fetch_until_visible(&doc_b, &block, &target).await?;

    let mut changes = doc_b.changes();
    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        while changes.try_recv().is_ok() {}
        let start = Instant::now();
        doc_a.insert_text(block.clone(), i, "x".into()).await?;
        loop {
            let event = tokio::time::timeout(STEP_TIMEOUT, changes.recv())
                .await
                .with_context(|| format!("edit {i} never reached the second client"))?;
            match event {
                Ok(DocEvent::RemoteChange) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => bail!("the second client's session ended"),
            }
            let elapsed = start.elapsed();
            if text_len(&doc_b, &block).await? > i {
                samples.push(elapsed);
                break;
            }
        }
    }
    doc_a.go_offline().await?;
    doc_b.go_offline().await?;
    Ok(Latencies::new(name, "Tessera Rust client", samples))
}

/// Connects B and waits until A's block is there. A server without the document yet (A's
/// upload still in flight) answers "unavailable"; B then asks again.
async fn fetch_until_visible(
    doc_b: &Document,
    block: &BlockId,
    target: &SyncTarget,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    doc_b.go_online(target.clone()).await?;
    while Instant::now() < deadline {
        if text_len(doc_b, block).await.is_ok() {
            return Ok(());
        }
        if doc_b.status().borrow().unavailable {
            doc_b.go_offline().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            doc_b.go_online(target.clone()).await?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the second client never received the document")
}

/// The length of the block's text at a device, or an error if the block is not there.
async fn text_len(doc: &Document, block: &BlockId) -> anyhow::Result<usize> {
    let view = doc.view().await?;
    let id = block.to_string();
    view.blocks
        .iter()
        .find(|b| b.id == id)
        .map(|b| b.text.chars().count())
        .context("block not there yet")
}
