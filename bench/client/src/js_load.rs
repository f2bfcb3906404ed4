//! P1b (burst) and the JS fan-out rows: unmodified automerge-repo JS clients driven by
//! `bench/client/js-load.mjs` in one Node process, against one server per run.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use client_e2e::root;
use serde_json::Value;

use crate::report::Latencies;

/// What one `js-load.mjs` run measured.
#[derive(Debug)]
pub(crate) struct JsRun {
    /// Edit→visible: at the reader (burst), or at the last reader (fan-out).
    pub(crate) latencies: Latencies,
    /// Edits per second, from the first edit to the reader having the last (burst only).
    pub(crate) edits_per_second: Option<f64>,
}

/// `scenario` as the script takes it (`burst:1000`, `fanout:30:100`); `url_template` is the
/// server's WebSocket URL with `{id}` for the document id.
pub(crate) fn run(
    server: &'static str,
    scenario: &str,
    url_template: &str,
) -> anyhow::Result<JsRun> {
    let out = Command::new("node")
        .arg(root().join("bench/client/js-load.mjs"))
        .args([scenario, url_template])
        .current_dir(root())
        .output()
        .context("running node bench/client/js-load.mjs")?;
    if !out.status.success() {
        bail!(
            "js-load {scenario} against {server} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout).context("js-load's output")?;
    let latencies = v["latenciesMs"]
        .as_array()
        .context("js-load printed no latencies")?
        .iter()
        .map(|ms| {
            ms.as_f64()
                .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1e3))
        })
        .collect::<Option<Vec<_>>>()
        .context("a latency that is not a number")?;
    Ok(JsRun {
        latencies: Latencies::new(server, "automerge-repo JS client", latencies),
        edits_per_second: v["editsPerSecond"].as_f64(),
    })
}
