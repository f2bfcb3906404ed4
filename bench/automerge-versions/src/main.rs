//! Side-by-side benchmark of automerge 0.6.1 and 0.12.0 on the automerge-paper editing trace.
//!
//! Both versions are linked into this one binary (as `am06` and `am12`) and run one after the
//! other in the same process, so their numbers come from the same run on the same machine. Heap
//! figures come from a counting global allocator (`bench/alloc-counter`): they are bytes requested from the
//! allocator, not RSS. See README.md for what each row means.

mod v06;
mod v12;

use alloc_counter as alloc;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Number of edits in the automerge-paper trace.
const TRACE_EDITS: usize = 259_778;
/// Length in Unicode scalar values of the trace's final text.
const TRACE_FINAL_CHARS: usize = 104_852;
/// Number of edits replayed with `--quick`.
const QUICK_EDITS: usize = 20_000;
/// The trace's default location, relative to the repository root.
const DEFAULT_TRACE: &str = "../shared/data/automerge-paper-edits.json";

/// One edit of the trace: at `pos` (in chars), delete `del` chars, then insert `ins`.
#[derive(Debug)]
struct Edit {
    pos: usize,
    del: usize,
    ins: String,
}

/// The (possibly truncated) trace and the text a plain `Vec<char>` replay of it yields.
#[derive(Debug)]
struct Trace {
    edits: Vec<Edit>,
    expected: String,
}

/// Knobs shared by both versions' runs.
#[derive(Debug)]
struct Config {
    /// Runs for the "one remote change" and sync medians.
    single_runs: usize,
    /// Batch sizes for one `apply_changes` call.
    batches: [usize; 2],
    /// Most changes applied one `apply_changes` call each.
    naive_max: usize,
    /// The naive loop stops after this much wall time, even if `naive_max` is not reached.
    naive_budget: Duration,
}

/// One version's results: (metric, value) rows in print order.
#[derive(Debug)]
struct Report {
    label: &'static str,
    rows: Vec<(String, String)>,
}

impl Report {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            rows: Vec::new(),
        }
    }

    fn add(&mut self, metric: impl Into<String>, value: impl Into<String>) {
        self.rows.push((metric.into(), value.into()));
    }
}

/// Turns what `get_changes`/`get_last_local_change` return into an owned `Change`:
/// 0.6.1 returns `&Change`, 0.12.0 returns `Change`.
trait IntoChange<C> {
    fn into_change(self) -> C;
}

impl IntoChange<am06::Change> for &am06::Change {
    fn into_change(self) -> am06::Change {
        self.clone()
    }
}

impl IntoChange<Self> for am12::Change {
    fn into_change(self) -> Self {
        self
    }
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn fmt_mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Heap growth from `base` to `now`, which may be negative.
fn delta(now: usize, base: usize) -> i64 {
    now as i64 - base as i64
}

fn fmt_bytes(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out} bytes ({})", fmt_mib(n as i64))
}

fn fmt_rate(per_change: Duration) -> String {
    format!("{:.0} changes/s", 1.0 / per_change.as_secs_f64())
}

/// Logs progress to stderr, so stdout holds only the results.
fn progress(label: &str, start: Instant, msg: &str) {
    eprintln!("[{:>7.1}s] [{label}] {msg}", start.elapsed().as_secs_f64());
}

/// The first three fields of /proc/loadavg: other work on a shared machine skews timings.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned())
}

fn parse_trace(path: &Path) -> Result<Vec<Edit>, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let bad = || format!("edit {i}: expected [pos, del, ...chars], got {entry:?}");
            let pos = entry
                .first()
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(bad)?;
            let del = entry
                .get(1)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(bad)?;
            let mut ins = String::new();
            for v in &entry[2..] {
                ins.push_str(v.as_str().ok_or_else(bad)?);
            }
            Ok(Edit {
                pos: usize::try_from(pos).map_err(|_| bad())?,
                del: usize::try_from(del).map_err(|_| bad())?,
                ins,
            })
        })
        .collect()
}

/// Replays `edits` into a plain `Vec<char>`: the reference the CRDTs must match.
fn replay_plain(edits: &[Edit]) -> Result<String, String> {
    let mut text: Vec<char> = Vec::new();
    for (i, e) in edits.iter().enumerate() {
        if e.pos + e.del > text.len() {
            return Err(format!(
                "edit {i} is out of range for a text of {}",
                text.len()
            ));
        }
        text.splice(e.pos..e.pos + e.del, e.ins.chars());
    }
    Ok(text.into_iter().collect())
}

fn default_trace_path() -> PathBuf {
    // Relative to the repository root, whichever directory we were started from.
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let from_root = repo_root.join(DEFAULT_TRACE);
    if from_root.exists() {
        from_root
    } else {
        PathBuf::from(DEFAULT_TRACE)
    }
}

fn print_table(reports: &[Report]) {
    let header: Vec<&str> = std::iter::once("metric")
        .chain(reports.iter().map(|r| r.label))
        .collect();
    let mut lines: Vec<Vec<String>> = Vec::new();
    for (metric, _) in &reports[0].rows {
        let mut line = vec![metric.clone()];
        for r in reports {
            let v = r
                .rows
                .iter()
                .find(|(m, _)| m == metric)
                .map(|(_, v)| v.as_str());
            line.push(v.unwrap_or("n/a").to_owned());
        }
        lines.push(line);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .chain(std::iter::once(header[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    row(&header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for l in &lines {
        let cells: Vec<&str> = l.iter().map(String::as_str).collect();
        row(&cells);
    }
}

fn run() -> Result<(), String> {
    let start = Instant::now();
    let mut trace_path = None;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--trace" => {
                trace_path = Some(PathBuf::from(args.next().ok_or("--trace needs a path")?));
            }
            "-h" | "--help" => {
                println!("usage: automerge-versions [--trace PATH] [--quick]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let trace_path = trace_path.unwrap_or_else(default_trace_path);

    // Verify the trace before measuring anything.
    let mut edits = parse_trace(&trace_path)?;
    if edits.len() != TRACE_EDITS {
        return Err(format!(
            "expected {TRACE_EDITS} edits, found {}",
            edits.len()
        ));
    }
    let full_text = replay_plain(&edits)?;
    if full_text.chars().count() != TRACE_FINAL_CHARS {
        return Err(format!(
            "plain replay gives {} chars, expected {TRACE_FINAL_CHARS}",
            full_text.chars().count()
        ));
    }
    progress(
        "trace",
        start,
        "verified: 259,778 edits, final text 104,852 chars",
    );
    let expected = if quick {
        edits.truncate(QUICK_EDITS);
        replay_plain(&edits)?
    } else {
        full_text
    };
    let trace = Trace { edits, expected };

    let cfg = Config {
        single_runs: 21,
        batches: [100, 1000],
        naive_max: 1000,
        naive_budget: Duration::from_secs(if quick { 20 } else { 60 }),
    };

    println!(
        "automerge 0.6.1 vs 0.12.0, automerge-paper trace ({}): {} edits -> {} changes, final text {} chars",
        trace_path.display(),
        trace.edits.len(),
        trace.edits.len(),
        trace.expected.chars().count(),
    );
    println!(
        "mode: {}; cores available: {}; heap = bytes requested from the allocator (not RSS)",
        if quick { "--quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    println!();

    let load_before = loadavg();
    let reports = [
        v06::run(&cfg, &trace, start)?,
        v12::run(&cfg, &trace, start)?,
    ];
    println!();
    print_table(&reports);
    println!();
    println!(
        "naive loop (row 5): at most {} changes, stopped after {} s of wall time per version \
         (adaptive; n is shown in the row).",
        cfg.naive_max,
        cfg.naive_budget.as_secs()
    );
    println!(
        "load average (1/5/15 min) before: {load_before}; after: {}",
        loadavg()
    );
    println!("total run time: {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
