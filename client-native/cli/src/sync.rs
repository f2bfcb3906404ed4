//! `tessera sync`: bring documents in sync with a relay, or keep them in sync (`--watch`).

use std::io::IsTerminal;
use std::time::Duration;

use client_native::{Client, DocEvent, Document, SyncTarget, TransportOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::SyncArgs;
use crate::parse_doc;

pub(crate) async fn run(client: &Client, args: SyncArgs) -> anyhow::Result<()> {
    let target = SyncTarget {
        relay: args.relay.clone(),
        token: Some(args.token.clone()),
        token_provider: None,
        transport: TransportOptions {
            ca_file: args.ca_file.clone(),
            allow_insecure: args.insecure_transport,
        },
    };
    let mut docs = Vec::new();
    for d in &args.docs {
        parse_doc(d)?; // a clear message for a bad URL
        let doc = client.find(d).await?;
        doc.go_online(target.clone()).await?;
        docs.push(doc);
    }
    if args.watch {
        return watch(docs).await;
    }
    let bar = progress(docs.len());
    let timeout = Duration::from_secs(args.timeout);
    let waits = docs.iter().map(|doc| {
        let bar = bar.clone();
        async move {
            let r = doc.sync_until_in_sync(timeout).await;
            bar.inc(1);
            // Context, not a new message: `main` reads the typed error for the exit code.
            r.map_err(|e| anyhow::Error::new(e).context(doc.url()))
        }
    });
    let results = futures_join(waits).await;
    bar.finish_and_clear();
    for doc in &docs {
        let _ = doc.go_offline().await;
    }
    let mut failures = results.into_iter().filter_map(Result::err);
    if let Some(first) = failures.next() {
        for f in failures {
            eprintln!("error: {f:#}");
        }
        return Err(first);
    }
    Ok(())
}

/// A spinner on a terminal, nothing when piped.
fn progress(n: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} syncing {pos}/{len} documents ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

async fn futures_join<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Each wait is independent; polling them one after another still bounds the total time
    // by the slowest, since all sessions run in their own tasks meanwhile.
    for h in handles {
        out.push(h.await);
    }
    out
}

async fn watch(docs: Vec<Document>) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for doc in docs {
        let mut events = doc.changes();
        tasks.push(tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                match event {
                    DocEvent::Refused {
                        code,
                        retrying: false,
                    } => {
                        eprintln!("{}: relay refused ({code}); stopped", doc.url());
                        return;
                    }
                    other => eprintln!("{}: {other:?}", doc.url()),
                }
            }
        }));
    }
    tokio::signal::ctrl_c().await.ok();
    Ok(())
}
