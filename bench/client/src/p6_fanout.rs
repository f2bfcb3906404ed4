//! P6, fan-out with Tessera Rust clients, all in this process on loopback:
//! - one writer types one character every 50 ms (20 edits/s) while `readers` other clients
//!   watch; a sample is the time from the writer's `insert_text` call to one reader's text
//!   holding that character, for every (edit, reader) pair;
//! - then every client writes one character a second for `seconds` seconds, and every client
//!   must end with the same heads and all of them (`converged` says whether they did).
//!
//! Clients keep their pages in SQLite with `Durability::Normal` (as in P1): the figure is about
//! the relay's fan-out, not the clients' fsyncs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use client_native::{BlockId, Client, DocEvent, Document, Durability, SyncTarget};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;

use crate::p1_tessera::{fetch_until_visible, text_len};
use crate::page;
use crate::peers::Scratch;
use crate::report::Latencies;

/// One server's P6 results.
#[derive(Debug)]
pub(crate) struct P6Run {
    /// Every reader's edit→visible samples for the single writer.
    pub(crate) every_reader: Latencies,
    /// Per edit, the last reader's.
    pub(crate) last_reader: Latencies,
    /// Clients in the many-writers phase, and edits each made.
    pub(crate) writers: usize,
    pub(crate) edits_each: usize,
    /// Whether every client ended with the same heads and every edit.
    pub(crate) converged: bool,
    /// How long after the last edit the last client had everything.
    pub(crate) settle: Duration,
}

/// Edit i's start time, written by the writer before it makes the edit.
type Starts = Arc<Mutex<Vec<Option<Instant>>>>;

pub(crate) async fn run(
    scratch: &Scratch,
    name: &'static str,
    server: &str,
    token: &str,
    readers: usize,
    edits: usize,
    seconds: usize,
) -> anyhow::Result<P6Run> {
    let tag = format!("p6-{}", server.rsplit(':').next().unwrap_or("x"));
    let target = SyncTarget::new(server, token);
    let writer_client = Client::open_with(&scratch.dir(&format!("{tag}-w"))?, Durability::Normal)?;
    let (writer, block) = page::with_empty_paragraph(&writer_client, "p6").await?;
    writer.go_online(target.clone()).await?;

    let mut clients = Vec::with_capacity(readers);
    let mut docs = Vec::with_capacity(readers);
    for r in 0..readers {
        let client = Client::open_with(&scratch.dir(&format!("{tag}-r{r}"))?, Durability::Normal)?;
        let doc = client.find(&writer.url()).await?;
        // The server may not hold the writer's page yet (its upload is in flight): a reader
        // told "unavailable" asks again.
        fetch_until_visible(&doc, &block, &target)
            .await
            .context("a reader's first sync")?;
        clients.push(client);
        docs.push(doc);
    }

    // One writer at 20 edits/s.
    let starts: Starts = Arc::new(Mutex::new(vec![None; edits]));
    let mut watchers = JoinSet::new();
    for doc in &docs {
        watchers.spawn(watch(doc.clone(), block.clone(), edits, starts.clone()));
    }
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for i in 0..edits {
        tick.tick().await;
        starts.lock().expect("no panics while held")[i] = Some(Instant::now());
        writer.insert_text(block.clone(), i, "w".into()).await?;
    }
    let mut every = Vec::with_capacity(edits * readers);
    let mut last = vec![Duration::ZERO; edits];
    while let Some(seen) = watchers.join_next().await {
        let seen = seen.context("a reader's task")??;
        for (i, d) in seen.iter().enumerate() {
            last[i] = last[i].max(*d);
        }
        every.extend(seen);
    }

    // Every client writes one character a second.
    let mut all: Vec<Document> = docs.clone();
    all.push(writer.clone());
    let mut writers = JoinSet::new();
    for (w, doc) in all.iter().enumerate() {
        let (doc, block) = (doc.clone(), block.clone());
        writers.spawn(async move {
            // Spread the writers over the second, as independent people would be.
            tokio::time::sleep(Duration::from_millis((w * 1000 / 101) as u64)).await;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            for _ in 0..seconds {
                tick.tick().await;
                doc.insert_text(block.clone(), 0, "m".into()).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done.context("a writer's task")??;
    }
    let ended = Instant::now();
    let want = edits + all.len() * seconds;
    // One deadline for all of them: a server that does not converge would otherwise cost a
    // minute per client, 101 times over.
    let deadline = ended + SETTLE_LIMIT;
    let mut converged = true;
    for doc in &all {
        if wait_for_len(doc, &block, want, deadline).await.is_err() {
            converged = false;
            break;
        }
    }
    let settle = ended.elapsed();
    if converged {
        let heads = all[0].view().await?.heads;
        for doc in &all[1..] {
            converged &= doc.view().await?.heads == heads;
        }
    }
    for doc in &all {
        doc.go_offline().await?;
    }
    drop(clients);
    Ok(P6Run {
        every_reader: Latencies::new(name, "Tessera Rust client", every),
        last_reader: Latencies::new(name, "Tessera Rust client", last),
        writers: all.len(),
        edits_each: seconds,
        converged,
        settle,
    })
}

/// One reader: the time each of the writer's `edits` edits became visible here.
async fn watch(
    doc: Document,
    block: BlockId,
    edits: usize,
    starts: Starts,
) -> anyhow::Result<Vec<Duration>> {
    let mut events = doc.changes();
    let mut seen = Vec::with_capacity(edits);
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < edits {
        let event = tokio::time::timeout_at(deadline.into(), events.recv())
            .await
            .context("a reader stopped seeing the writer's edits")?;
        match event {
            Ok(DocEvent::RemoteChange) | Err(RecvError::Lagged(_)) => {}
            Ok(_) => continue,
            Err(RecvError::Closed) => bail!("a reader's session ended"),
        }
        let now = Instant::now();
        let len = text_len(&doc, &block).await?.min(edits);
        let starts = starts.lock().expect("no panics while held");
        for i in seen.len()..len {
            let start = starts[i].context("an edit seen before it was made")?;
            seen.push(now - start);
        }
    }
    Ok(seen)
}

/// How long after the last edit every client must hold every edit.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

/// Waits until the block's text has at least `len` characters, or the deadline.
async fn wait_for_len(
    doc: &Document,
    block: &BlockId,
    len: usize,
    deadline: Instant,
) -> anyhow::Result<()> {
    while Instant::now() < deadline {
        if text_len(doc, block).await.is_ok_and(|n| n >= len) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the block never reached {len} characters")
}
