//! `tessera-bench`: the client benchmarks of issue 4, printed side by side in one run on
//! loopback.
//!
//! - P1: edit→visible latency at a second client, 1,000 sequential edits, through the relay in
//!   workerd, the automerge-repo Node sync server (both with the Tessera client) and y-sweet
//!   (with a `yrs` client);
//! - P4/P5: bytes and time to reconnect an in-sync 100k-change document, and to sync it to a
//!   new device, next to its compressed save size;
//! - P7: local durable edit latency and batched edits per second.
//!
//! The servers are started here and killed at the end; `make bench-client` installs y-sweet
//! and the npm packages first.
//!
//! Usage: `tessera-bench [--quick] [--only p1|p45|fanout] [--trace automerge-paper-edits.json]`.
//! `--quick` shrinks the workloads for a smoke run; `--only` runs one group of rows (P1 and its
//! baselines; P4/P5; P1b, the JS fan-out rows and P6); `--trace` makes the P4/P5 document the
//! first edits of that trace; without it, or when the file is missing, a seeded stand-in typist
//! (`editing-trace`), and the table says which one.

mod fanout;
mod http;
mod js_load;
mod p1_floor;
mod p1_tessera;
mod p1_ysweet;
mod p45;
mod p6_fanout;
mod p7;
mod page;
mod peers;
mod report;

use std::time::Duration;

use anyhow::Context;

use crate::report::{Row, Table};

/// Sizes of the workloads.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    p1_edits: usize,
    p45_changes: usize,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = match args.windows(2).find(|w| w[0] == "--only") {
        None => Only::All,
        Some(w) => match w[1].as_str() {
            "p1" => Only::P1,
            "p45" => Only::P45,
            "fanout" => Only::Fanout,
            other => anyhow::bail!("--only takes p1, p45 or fanout, not {other:?}"),
        },
    };
    let trace = args
        .iter()
        .position(|a| a == "--trace")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let sizes = if quick {
        Sizes {
            p1_edits: 100,
            p45_changes: 2_000,
        }
    } else {
        Sizes {
            p1_edits: 1_000,
            p45_changes: 100_000,
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // `create` and `add_block` are the document's first two changes.
    let n = sizes.p45_changes - 2;
    let trace = trace.unwrap_or_else(|| std::path::PathBuf::from(editing_trace::DEFAULT_PATH));
    let (edits, source) = editing_trace::load_or_stand_in(&trace, n)?;
    let source = source.to_string();
    let table = if only == Only::Fanout {
        rt.block_on(fanout::run(quick))?
    } else {
        let mut table = rt.block_on(run(sizes, edits, &source, only))?;
        if only == Only::All {
            table.append(rt.block_on(fanout::run(quick))?);
        }
        table
    };
    table.print();
    Ok(())
}

/// Which rows a run measures (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    P1,
    P45,
    Fanout,
}

async fn run(
    sizes: Sizes,
    edits: Vec<editing_trace::Edit>,
    source: &str,
    only: Only,
) -> anyhow::Result<Table> {
    let scratch = peers::Scratch::new()?;
    let mut table = Table::default();

    if only == Only::All {
        for durability in [
            client_native::Durability::Full,
            client_native::Durability::Normal,
        ] {
            table.extend(p7::run(&scratch.dir(&format!("p7-{durability:?}"))?, durability).await?);
        }
    }

    eprintln!("starting the relay in workerd ...");
    let relay = peers::start_relay(&scratch.dir("relay")?)?;
    let token = peers::relay_token()?;
    if only != Only::P45 {
        p1(&scratch, &relay.url(), &token, sizes, &mut table).await?;
    }
    if only != Only::P1 {
        eprintln!(
            "P4/P5: building and uploading a {}-change document ...",
            sizes.p45_changes
        );
        let p45 = p45::run(&scratch, &relay.url(), &token, edits)
            .await
            .context("P4/P5 against the Tessera relay")?;
        table.extend(p45.rows());
    }
    drop(relay);
    table.note(format!(
        "P1: {} sequential one-character edits per server. P4/P5: a {}-change document of {source}, \
         one edit per change. Loopback, every server on 127.0.0.1; frame bytes are WebSocket \
         payloads counted by the client (Document::traffic).",
        sizes.p1_edits, sizes.p45_changes
    ));
    Ok(table)
}

/// P1 through the relay, next to its baselines (the automerge-repo Node server, y-sweet and the
/// workerd floor), each started here and stopped at the end.
async fn p1(
    scratch: &peers::Scratch,
    relay: &str,
    token: &str,
    sizes: Sizes,
    table: &mut Table,
) -> anyhow::Result<()> {
    eprintln!("starting the automerge-repo Node server, y-sweet and the workerd floor ...");
    let am_repo = peers::Process::automerge_repo_server(&scratch.dir("am-repo")?)?;
    let y_sweet = peers::Process::y_sweet(&scratch.dir("y-sweet")?)?;
    let floor = peers::Process::workerd_floor(&scratch.dir("floor")?)?;

    eprintln!("P1: {} edits per server ...", sizes.p1_edits);
    let ours = p1_tessera::run(
        scratch,
        "Tessera relay (workerd)",
        relay,
        token,
        true,
        sizes.p1_edits,
    )
    .await
    .context("P1 against the Tessera relay")?;
    let node = p1_tessera::run(
        scratch,
        "automerge-repo Node server",
        &am_repo.http_url(),
        "no-token",
        false,
        sizes.p1_edits,
    )
    .await
    .context("P1 against the automerge-repo Node server")?;
    let ys = p1_ysweet::run(&y_sweet.http_url(), sizes.p1_edits)
        .await
        .context("P1 against y-sweet")?;
    let floor_run = p1_floor::run(&floor.http_url(), sizes.p1_edits)
        .await
        .context("P1 through the workerd floor")?;
    let clients_floor = p1_tessera::run(
        scratch,
        "workerd floor, join answered (the clients sync with each other)",
        &floor.http_url(),
        "no-token",
        false,
        sizes.p1_edits,
    )
    .await
    .context("P1 with the Tessera clients through the workerd floor")?;
    table.extend(report::p1_rows(
        &ours,
        &node.visible,
        &ys,
        &floor_run,
        &clients_floor.visible,
    ));
    drop((am_repo, y_sweet, floor));
    Ok(())
}

/// How long one step of the workload may take before the bench gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows from one measurement.
pub(crate) type Rows = Vec<Row>;
