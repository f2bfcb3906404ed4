//! The load figures of issue 13, each next to the automerge-repo Node server in the same run:
//! - P1b: a burst of edits from one unmodified automerge-repo JS client, watched by a second;
//! - fan-out with the same JS clients: one writer at 20 edits/s, 10 and 30 readers;
//! - P6: 100 Tessera Rust clients on one document (one writer at 20 edits/s, then every
//!   client writing once a second).
//!
//! Knobs for exploring: `TESSERA_P6_READERS=N` sets P6's readers, `TESSERA_ONLY_P6=1` skips the
//! JS rows.
//!
//! The relay's token is on the `enterprise` plan: 100 clients of one tenant on one document
//! send more messages per second than the free plan's room rate allows.

use std::time::Duration;

use anyhow::Context;

use crate::js_load::{self, JsRun};
use crate::p6_fanout::{self, P6Run};
use crate::peers::{self, Process, Scratch};
use crate::report::{Latencies, Row, Table, ms};

const RELAY: &str = "Tessera relay (workerd)";
const NODE: &str = "automerge-repo Node server";

/// Workload sizes.
struct Load {
    burst_edits: usize,
    fanout_readers: &'static [usize],
    fanout_edits: usize,
    p6_readers: usize,
    p6_edits: usize,
    p6_seconds: usize,
}

pub(crate) async fn run(quick: bool) -> anyhow::Result<Table> {
    let load = if quick {
        Load {
            burst_edits: 200,
            fanout_readers: &[10],
            fanout_edits: 40,
            p6_readers: 20,
            p6_edits: 40,
            p6_seconds: 3,
        }
    } else {
        Load {
            burst_edits: 1_000,
            fanout_readers: &[10, 30],
            fanout_edits: 100,
            p6_readers: 100,
            p6_edits: 200,
            p6_seconds: 10,
        }
    };
    // A smaller or larger P6 for exploring where fan-out stops keeping up.
    let mut load = load;
    if let Some(n) = std::env::var("TESSERA_P6_READERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        load.p6_readers = n;
    }
    let scratch = Scratch::new()?;
    eprintln!("fan-out: starting the relay in workerd and the automerge-repo Node server ...");
    let relay = peers::start_relay(&scratch.dir("relay")?)?;
    let only_p6 = std::env::var_os("TESSERA_ONLY_P6").is_some();
    let token = peers::relay_token_on(Some("enterprise"))?;
    let node = Process::automerge_repo_server(&scratch.dir("am-repo")?)?;
    let relay_ws = format!("{}/v1/docs/{{id}}?token={token}", ws(&relay.url()));
    let node_ws = ws(&node.http_url());
    let mut table = Table::default();

    if !only_p6 {
        eprintln!(
            "P1b: a burst of {} edits from a JS client ...",
            load.burst_edits
        );
        let scenario = format!("burst:{}", load.burst_edits);
        let ours = js_load::run(RELAY, &scenario, &relay_ws)?;
        let theirs = js_load::run(NODE, &scenario, &node_ws)?;
        table.extend(burst_rows(&ours, &theirs));

        for &readers in load.fanout_readers {
            eprintln!("fan-out: {readers} JS readers ...");
            let scenario = format!("fanout:{readers}:{}", load.fanout_edits);
            let ours = js_load::run(RELAY, &scenario, &relay_ws)?;
            let theirs = js_load::run(NODE, &scenario, &node_ws)?;
            for run in [&ours, &theirs] {
                table.extend(vec![Row::new(
                    format!(
                        "fan-out, {readers} JS readers, writer at 20 edits/s: last reader, {}",
                        run.latencies.server
                    ),
                    p50_p99(&run.latencies),
                )]);
            }
        }
    }
    eprintln!(
        "P6: {} Rust clients on one document ...",
        load.p6_readers + 1
    );
    let p6 = p6_fanout::run(
        &scratch,
        RELAY,
        &relay.url(),
        &token,
        load.p6_readers,
        load.p6_edits,
        load.p6_seconds,
    )
    .await
    .context("P6 against the Tessera relay")?;
    table.extend(p6_rows(&p6, load.p6_readers));
    // The same clients and load through the automerge-repo server, for context.
    // Context only: a failure here is a row, not the end of the run.
    match p6_fanout::run(
        &scratch,
        NODE,
        &node.http_url(),
        "no-token",
        load.p6_readers,
        load.p6_edits,
        load.p6_seconds,
    )
    .await
    {
        Ok(theirs) => table.extend(p6_context_rows(&theirs, load.p6_readers)),
        Err(e) => table.extend(vec![Row::new(
            format!("P6 {} readers, {NODE}", load.p6_readers),
            format!("failed: {e:#}"),
        )]),
    }
    table.note(format!(
        "P1b and fan-out: unmodified automerge-repo 2.5.6 JS clients in one Node process \
         (bench/client/js-load.mjs); the burst's edits are separate changes made back to back, \
         yielding to the event loop between them. P6: {} readers and a writer, Tessera Rust \
         clients in this process, then {} writers for {} s.",
        load.p6_readers, p6.writers, p6.edits_each
    ));
    drop((relay, node));
    Ok(table)
}

fn burst_rows(ours: &JsRun, theirs: &JsRun) -> Vec<Row> {
    let rate = |r: &JsRun| r.edits_per_second.unwrap_or(0.0);
    let (our_rate, their_rate) = (rate(ours), rate(theirs));
    let (our_p50, their_p50) = (ours.latencies.quantile(0.5), theirs.latencies.quantile(0.5));
    vec![
        Row::new(
            format!("P1b burst, {RELAY}: edits/s"),
            format!("{our_rate:.0}"),
        )
        .target(
            format!(">= 2x {NODE} ({:.0})", 2.0 * their_rate),
            our_rate >= 2.0 * their_rate,
        ),
        Row::new(
            format!("P1b burst, {RELAY}: edit->visible"),
            p50_p99(&ours.latencies),
        )
        .target(
            format!("p50 < {NODE}'s ({})", ms(their_p50)),
            our_p50 < their_p50,
        ),
        Row::new(
            format!("P1b burst, {NODE}"),
            format!("{their_rate:.0} edits/s, {}", p50_p99(&theirs.latencies)),
        ),
    ]
}

fn p6_rows(p6: &P6Run, readers: usize) -> Vec<Row> {
    let p99 = p6.every_reader.quantile(0.99);
    vec![
        Row::new(
            format!("P6 {readers} readers, writer at 20 edits/s: every reader"),
            p50_p99(&p6.every_reader),
        )
        .target("p99 <= 20 ms", p99 <= Duration::from_millis(20)),
        Row::new(
            format!("P6 {readers} readers: last reader per edit"),
            p50_p99(&p6.last_reader),
        ),
        Row::new(
            format!(
                "P6 {} writers at 1 edit/s for {} s",
                p6.writers, p6.edits_each
            ),
            format!(
                "{}; last client complete {} after the last edit",
                if p6.converged {
                    "all converged, nothing lost"
                } else {
                    "NOT converged"
                },
                ms(p6.settle)
            ),
        )
        .target("every reader converges", p6.converged),
    ]
}

fn p6_context_rows(p6: &P6Run, readers: usize) -> Vec<Row> {
    vec![
        Row::new(
            format!(
                "P6 {readers} readers, {}: every reader",
                p6.every_reader.server
            ),
            p50_p99(&p6.every_reader),
        ),
        Row::new(
            format!("P6 {} writers, {}", p6.writers, p6.every_reader.server),
            format!(
                "{}; last client complete {} after the last edit",
                if p6.converged {
                    "all converged"
                } else {
                    "NOT converged"
                },
                ms(p6.settle)
            ),
        ),
    ]
}

fn p50_p99(l: &Latencies) -> String {
    format!("p50 {} p99 {}", ms(l.quantile(0.5)), ms(l.quantile(0.99)))
}

fn ws(http: &str) -> String {
    http.replacen("http", "ws", 1)
}
