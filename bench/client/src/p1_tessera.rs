//! P1 with the Tessera client: device A types one character at a time; each sample is the time
//! from A's `insert_text` call to B's `RemoteChange` event for it (B's text checked after the
//! clock stops). Both devices use `Durability::Normal` (WAL, no fsync per edit), because the
//! figure is about the network path and the Yjs client it is compared with persists nothing.
//!
//! Against the relay it also records, per edit, when A hears the relay's `ack` (the edit is
//! durable there), which tells the relay's persist time apart from the rest of the path.
//!
//! The same code runs against the Tessera relay and the automerge-repo Node server: both speak
//! the automerge-repo WebSocket protocol, so only the server differs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use client_native::{BlockId, Client, DocEvent, Document, Durability, SyncTarget};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::STEP_TIMEOUT;
use crate::page;
use crate::peers::Scratch;
use crate::report::Latencies;

/// One server's P1 samples.
#[derive(Debug)]
pub(crate) struct P1Run {
    /// Edit at A to visible at B.
    pub(crate) visible: Latencies,
    /// Edit at A to the server's durable ack at A (the relay's extension; the automerge-repo
    /// server sends none).
    pub(crate) acked: Option<Latencies>,
}

pub(crate) async fn run(
    scratch: &Scratch,
    name: &'static str,
    server: &str,
    token: &str,
    with_acks: bool,
    edits: usize,
) -> anyhow::Result<P1Run> {
    let tag = format!("p1-{}", server.rsplit(':').next().unwrap_or("x"));
    let a = Client::open_with(&scratch.dir(&format!("{tag}-a"))?, Durability::Normal)?;
    let b = Client::open_with(&scratch.dir(&format!("{tag}-b"))?, Durability::Normal)?;
    let target = SyncTarget::new(server, token);
    let (doc_a, block) = page::with_empty_paragraph(&a, "p1").await?;
    doc_a.go_online(target.clone()).await?;
    let doc_b = b.find(&doc_a.url()).await?;
    fetch_until_visible(&doc_b, &block, &target).await?;

    let mut seen_b = doc_b.changes();
    let mut seen_a = doc_a.changes();
    let mut visible = Vec::with_capacity(edits);
    let mut acked = Vec::with_capacity(edits);
    for i in 0..edits {
        while seen_b.try_recv().is_ok() {}
        while seen_a.try_recv().is_ok() {}
        let start = Instant::now();
        doc_a.insert_text(block.clone(), i, "x".into()).await?;
        let (at_b, at_a) = tokio::time::timeout(
            STEP_TIMEOUT,
            wait_for_edit(
                i,
                start,
                &doc_b,
                &block,
                &mut seen_b,
                &mut seen_a,
                with_acks,
            ),
        )
        .await
        .with_context(|| format!("edit {i} never reached the second client"))??;
        visible.push(at_b);
        acked.extend(at_a);
    }
    doc_a.go_offline().await?;
    doc_b.go_offline().await?;
    Ok(P1Run {
        visible: Latencies::new(name, "Tessera Rust client", visible),
        acked: with_acks.then(|| Latencies::new(name, "Tessera Rust client", acked)),
    })
}

/// Edit `i`'s time to B's text (checked after the clock stops) and, with acks, to A's
/// `InSync` (the relay's ack that the edit is durable there), whichever comes first.
async fn wait_for_edit(
    i: usize,
    start: Instant,
    doc_b: &Document,
    block: &BlockId,
    seen_b: &mut Receiver<DocEvent>,
    seen_a: &mut Receiver<DocEvent>,
    with_acks: bool,
) -> anyhow::Result<(Duration, Option<Duration>)> {
    let mut at_b = None;
    let mut at_a = None;
    while at_b.is_none() || (with_acks && at_a.is_none()) {
        tokio::select! {
            event = seen_b.recv(), if at_b.is_none() => {
                match event {
                    Ok(DocEvent::RemoteChange) | Err(RecvError::Lagged(_)) => {}
                    Ok(_) => continue,
                    Err(RecvError::Closed) => bail!("the second client's session ended"),
                }
                let elapsed = start.elapsed();
                if text_len(doc_b, block).await? > i {
                    at_b = Some(elapsed);
                }
            }
            event = seen_a.recv(), if with_acks && at_a.is_none() => {
                if matches!(event, Ok(DocEvent::InSync)) {
                    at_a = Some(start.elapsed());
                }
            }
        }
    }
    Ok((at_b.expect("loop condition"), at_a))
}

/// Connects B and waits until A's block is there. A server without the document yet (A's
/// upload still in flight) answers "unavailable"; B then asks again.
pub(crate) async fn fetch_until_visible(
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
        if doc_b.current_status().sync == client_native::SyncStatus::Unavailable {
            doc_b.go_offline().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            doc_b.go_online(target.clone()).await?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the second client never received the document")
}

/// The length of the block's text at a device, or an error if the block is not there.
pub(crate) async fn text_len(doc: &Document, block: &BlockId) -> anyhow::Result<usize> {
    let view = doc.view().await?;
    let id = block.to_string();
    view.blocks
        .iter()
        .find(|b| b.id == id)
        .map(|b| b.text.chars().count())
        .context("block not there yet")
}
