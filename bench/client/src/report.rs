//! The printed table: one row per figure, with its target and whether this run met it.

use std::time::Duration;

use crate::p1_tessera::P1Run;

/// One figure.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) figure: String,
    pub(crate) measured: String,
    pub(crate) target: String,
    /// `None` for context rows that have no target of their own.
    pub(crate) met: Option<bool>,
}

impl Row {
    pub(crate) fn new(figure: impl Into<String>, measured: impl Into<String>) -> Self {
        Self {
            figure: figure.into(),
            measured: measured.into(),
            target: String::new(),
            met: None,
        }
    }

    pub(crate) fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

/// The whole run's figures.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    pub(crate) fn extend(&mut self, rows: Vec<Row>) {
        self.rows.extend(rows);
    }

    /// Another table's rows and notes after this one's.
    pub(crate) fn append(&mut self, other: Self) {
        self.rows.extend(other.rows);
        self.notes.extend(other.notes);
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn print(&self) {
        let w0 = self.rows.iter().map(|r| r.figure.len()).max().unwrap_or(0);
        let w1 = self
            .rows
            .iter()
            .map(|r| r.measured.len())
            .max()
            .unwrap_or(0);
        let w2 = self.rows.iter().map(|r| r.target.len()).max().unwrap_or(0);
        println!(
            "{:w0$}  {:w1$}  {:w2$}  verdict",
            "figure", "measured", "target"
        );
        for r in &self.rows {
            let verdict = match r.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            println!(
                "{:w0$}  {:w1$}  {:w2$}  {verdict}",
                r.figure, r.measured, r.target
            );
        }
        for n in &self.notes {
            println!("{n}");
        }
    }
}

/// Sorted latencies of one P1 run, and which client produced them.
#[derive(Debug)]
pub(crate) struct Latencies {
    pub(crate) server: &'static str,
    pub(crate) client: &'static str,
    sorted: Vec<Duration>,
}

impl Latencies {
    pub(crate) fn new(server: &'static str, client: &'static str, mut v: Vec<Duration>) -> Self {
        v.sort();
        Self {
            server,
            client,
            sorted: v,
        }
    }

    /// The `q` quantile (nearest rank).
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let n = self.sorted.len();
        let rank = ((n as f64) * q).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }
}

/// The P1 rows: ours with targets, the two peers for comparison. `floor` is two raw sockets
/// through the rebroadcasting Durable Object; `clients_floor` the same two Tessera clients as
/// ours through it, so the difference between ours and it is the relay's room alone.
pub(crate) fn p1_rows(
    run: &P1Run,
    node: &Latencies,
    ys: &Latencies,
    floor: &Latencies,
    clients_floor: &Latencies,
) -> Vec<Row> {
    let ours = &run.visible;
    let line = |l: &Latencies| format!("p50 {} p99 {}", ms(l.quantile(0.5)), ms(l.quantile(0.99)));
    let label = |l: &Latencies| format!("P1 edit->visible, {} ({})", l.server, l.client);
    let ys_p50 = ys.quantile(0.5);
    let ours_p50 = ours.quantile(0.5);
    let ours_p99 = ours.quantile(0.99);
    let mut rows = vec![
        Row::new(format!("{} p50", label(ours)), ms(ours_p50)).target(
            format!("<= y-sweet p50 ({})", ms(ys_p50)),
            ours_p50 <= ys_p50,
        ),
        Row::new(format!("{} p50", label(ours)), ms(ours_p50)).target(
            format!(
                "<= 1.5x the floor's p50 ({})",
                ms(floor.quantile(0.5).mul_f64(1.5))
            ),
            ours_p50 <= floor.quantile(0.5).mul_f64(1.5),
        ),
        Row::new(format!("{} p50", label(ours)), ms(ours_p50)).target(
            format!(
                "<= 1.5x the floor's p50 with the same clients ({})",
                ms(clients_floor.quantile(0.5).mul_f64(1.5))
            ),
            ours_p50 <= clients_floor.quantile(0.5).mul_f64(1.5),
        ),
        Row::new(format!("{} p99", label(ours)), ms(ours_p99))
            .target("<= 5 ms", ours_p99 <= Duration::from_millis(5)),
        Row::new(label(floor), line(floor)),
        Row::new(label(clients_floor), line(clients_floor)),
    ];
    if let Some(acked) = &run.acked {
        rows.push(Row::new(
            format!("P1 edit->durable ack at the sender, {}", acked.server),
            line(acked),
        ));
    }
    rows.push(Row::new(label(node), line(node)));
    rows.push(Row::new(label(ys), line(ys)));
    rows
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn us(d: Duration) -> String {
    format!("{:.0} us", d.as_secs_f64() * 1e6)
}

pub(crate) fn bytes(n: u64) -> String {
    if n < 10_000 {
        format!("{n} B")
    } else {
        format!("{:.1} KB", n as f64 / 1e3)
    }
}
