//! The finance benchmark, as library code for `soberana bench finance`:
//! ingest speed (CSV rows per second), memory per transaction, trace
//! latency (6 hops), full typology scan time, and recall and precision on
//! the planted patterns, on a generated two-country ledger.
//!
//! Goals (from the product's bars): a 6-hop trace under 100 ms at 100 M
//! transactions; a typology scan of 10 M under 30 s; recall ≥ 0.95 at
//! precision ≥ 0.9; under 16 GB for 100 M transactions.

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use crate::amlworld::{self, AmlWorldOptions, CaseScore, Scored};
use crate::baseline;
use crate::generate::{self, GenerateOptions};
use crate::graph::GraphBuilder;
use crate::incident::incidents;
use crate::ingest::{TransactionColumns, read_transactions};
use crate::trace::{Seed, TraceOptions, trace};
use crate::typology::{Score, TypologyConfig, evaluate, scan_parallel};

/// What to measure.
#[derive(Clone, Debug, Serialize)]
pub struct BenchOptions {
    /// Transactions in the generated ledger (default 10,000,000).
    pub transactions: u64,
    /// Generator seed (default 1).
    pub seed: u64,
    /// Rows for the CSV ingest measurement (default the smaller of the
    /// ledger and 2,000,000: the CSV text is held in memory).
    pub ingest_rows: Option<u64>,
    /// Hops of the traced trails (default 6).
    pub hops: u8,
    /// Traces run (default 40: the demo network's first collector, then
    /// accounts spread over the population, people and companies).
    pub traces: usize,
    /// Threads for the typology scan (default 1).
    pub scan_threads: usize,
    /// Transactions in the independent (AMLworld-style) ledger; 0 skips
    /// it (default 2,000,000).
    pub independent_transactions: u64,
    /// Seed of the independent ledger (default 2; seed 1 is the tuning
    /// seed, never reported).
    pub independent_seed: u64,
    /// Seconds the calling thread has spent on a CPU, if the caller can
    /// tell (this crate does no I/O; the binary reads the kernel's count).
    /// On a machine shared with other work the wall-clock time of the scan
    /// includes the time it waited for a CPU; this shows its own.
    #[serde(skip)]
    pub thread_cpu: Option<fn() -> Option<f64>>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            transactions: 10_000_000,
            seed: 1,
            ingest_rows: None,
            hops: 6,
            traces: 40,
            scan_threads: 1,
            independent_transactions: 2_000_000,
            independent_seed: 2,
            thread_cpu: None,
        }
    }
}

/// Trace latency figures.
#[derive(Clone, Debug, Serialize)]
pub struct TraceFigures {
    /// Traces run.
    pub runs: usize,
    /// Hop limit.
    pub hops: u8,
    /// Median, milliseconds.
    pub median_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
    /// Mean flow edges per trace.
    pub mean_edges: f64,
    /// The first seed (a demo collector), for side-by-side runs.
    pub first_seed: String,
    /// Milliseconds of the trace from `first_seed`.
    pub first_seed_ms: f64,
    /// The first ten traces, seed by seed, for side-by-side runs.
    pub per_seed: Vec<SeedTiming>,
}

/// One trace's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SeedTiming {
    /// The seed account.
    pub account: String,
    /// Milliseconds.
    pub ms: f64,
    /// Flow edges.
    pub edges: usize,
    /// Flow nodes.
    pub nodes: usize,
}

/// The benchmark's results.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Transactions in the graph.
    pub transactions: u64,
    /// Accounts in the graph.
    pub accounts: u64,
    /// Seconds to generate the ledger and build the graph.
    pub build_secs: f64,
    /// CSV rows parsed and loaded in the ingest measurement.
    pub ingest_rows: u64,
    /// Rows per second (parse, validate, intern, build).
    pub ingest_rows_per_sec: f64,
    /// Bytes held per transaction (columns, adjacency, accounts).
    pub bytes_per_transaction: f64,
    /// Bytes held in all.
    pub graph_bytes: u64,
    /// Trace latency.
    pub trace: TraceFigures,
    /// Seconds for a full typology scan (wall clock).
    pub scan_secs: f64,
    /// Seconds the scan spent on the CPU (one thread, when the caller
    /// gave a thread clock): the scan's own cost, without the time it
    /// waited for a CPU on a shared machine.
    pub scan_cpu_secs: Option<f64>,
    /// Threads it ran on.
    pub scan_threads: usize,
    /// Alerts raised.
    pub alerts: usize,
    /// Recall and precision against the planted patterns.
    pub score: Score,
    /// Hardware threads available (the measurements use one).
    pub threads: usize,
    /// Figures on the independent ledger, if run.
    pub independent: Option<IndependentFigures>,
}

/// Detectors and the two-rule baseline on the independent ledger.
#[derive(Clone, Debug, Serialize)]
pub struct IndependentFigures {
    /// Its seed.
    pub seed: u64,
    /// Transactions.
    pub transactions: u64,
    /// Laundering cases.
    pub cases: usize,
    /// Share of transactions that are laundering.
    pub illicit_rate: f64,
    /// Seconds to generate it.
    pub build_secs: f64,
    /// Seconds for the typology scan (one thread).
    pub scan_secs: f64,
    /// The typology detectors' alerts one by one.
    pub raw_alerts: CaseScore,
    /// The detectors' incidents (alerts merged, as an analyst works them;
    /// labelled by their most telling pattern).
    pub detectors: CaseScore,
    /// The two-rule baseline.
    pub baseline: CaseScore,
}

/// Runs the detectors and the baseline on an independent ledger.
pub fn independent(
    opts: &AmlWorldOptions,
    cfg: &TypologyConfig,
) -> Result<IndependentFigures, BenchError> {
    let t = Instant::now();
    let world = amlworld::build(opts)?;
    let build_secs = t.elapsed().as_secs_f64();
    let g = &world.graph;
    let t = Instant::now();
    let alerts = scan_parallel(g, cfg, 1);
    let scan_secs = t.elapsed().as_secs_f64();
    let raw = amlworld::score(
        &world,
        alerts.iter().map(|a| Scored {
            label: a.kind.name(),
            account: g.account(&a.account),
            evidence: &a.evidence,
        }),
    );
    let merged = incidents(&alerts);
    let detectors = amlworld::score(
        &world,
        merged.iter().map(|i| Scored {
            label: i.kinds.first().map_or("none", |k| k.name()),
            account: i.accounts.first().and_then(|a| g.account(a)),
            evidence: &i.evidence,
        }),
    );
    let base = baseline::scan(g);
    let baseline = amlworld::score(
        &world,
        base.iter().map(|a| Scored {
            label: a.rule,
            account: Some(a.account),
            evidence: &a.evidence,
        }),
    );
    Ok(IndependentFigures {
        seed: opts.seed,
        transactions: g.len() as u64,
        cases: world.cases.len(),
        illicit_rate: world.illicit.len() as f64 / g.len().max(1) as f64,
        build_secs,
        scan_secs,
        raw_alerts: raw,
        detectors,
        baseline,
    })
}

/// A benchmark that could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The generator refused.
    #[error(transparent)]
    Generate(#[from] generate::GenerateError),
    /// The generated CSV did not load (a bug).
    #[error("the generated CSV did not load: {0}")]
    Ingest(#[from] crate::error::IngestError),
    /// The independent generator refused.
    #[error(transparent)]
    AmlWorld(#[from] amlworld::AmlWorldError),
    /// A trace failed (a bug).
    #[error("a trace failed: {0}")]
    Trace(#[from] crate::error::TraceError),
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let gen_opts = GenerateOptions {
        seed: opts.seed,
        transactions: opts.transactions,
        ..GenerateOptions::default()
    };
    // Ingest: a CSV held in memory, parsed and built.
    let rows = opts
        .ingest_rows
        .unwrap_or(opts.transactions.min(2_000_000))
        .max(1000);
    let mut csv = Vec::with_capacity(rows as usize * 120);
    generate::write(
        &GenerateOptions {
            transactions: rows,
            ..gen_opts.clone()
        },
        &mut csv,
    )?;
    let t = Instant::now();
    let mut b = GraphBuilder::new();
    let loaded = read_transactions(csv.as_slice(), &TransactionColumns::default(), &mut b)?;
    let small = b.finish();
    let ingest_secs = t.elapsed().as_secs_f64();
    drop(small);
    drop(csv);

    let t = Instant::now();
    let (g, summary) = generate::build_graph(&gen_opts)?;
    let build_secs = t.elapsed().as_secs_f64();
    let mem = g.memory();
    let (transactions, accounts) = (g.len() as u64, g.account_count() as u64);

    // Traces: the demo collector first (the side-by-side seed), then
    // spread-out accounts with outgoing payments.
    let mut seeds: Vec<_> = summary
        .scenario
        .iter()
        .take(1)
        .map(|(c, _)| c.clone())
        .collect();
    let mut k = 0u64;
    while seeds.len() < opts.traces && g.account_count() > 0 {
        let a = ((k.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % g.account_count() as u64) as u32;
        k += 1;
        if let Some(id) = g.account_id(a)
            && !g.outgoing(a).is_empty()
        {
            seeds.push(id.clone());
        }
        if k > 10 * opts.traces as u64 + 1000 {
            break;
        }
    }
    seeds.truncate(opts.traces);
    let mut times = Vec::new();
    let mut edges = 0usize;
    let mut per_seed = Vec::new();
    for s in &seeds {
        let mut o = TraceOptions::forward(s.country());
        o.max_hops = opts.hops;
        let t = Instant::now();
        let f = trace(
            &g,
            &[Seed {
                account: s.clone(),
                amount: None,
            }],
            &o,
        )?;
        times.push(ms(t.elapsed()));
        edges += f.edges.len();
        if per_seed.len() < 10 {
            per_seed.push(SeedTiming {
                account: s.to_string(),
                ms: times.last().copied().unwrap_or(0.0),
                edges: f.edges.len(),
                nodes: f.nodes.len(),
            });
        }
    }
    let first_ms = times.first().copied().unwrap_or(0.0);
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };

    let cpu = || opts.thread_cpu.and_then(|clock| clock());
    let cpu0 = cpu();
    let t = Instant::now();
    let alerts = scan_parallel(&g, &TypologyConfig::default(), opts.scan_threads);
    let scan_secs = t.elapsed().as_secs_f64();
    let scan_cpu_secs = match (cpu0, cpu()) {
        (Some(a), Some(b)) if opts.scan_threads <= 1 => Some(b - a),
        _ => None,
    };
    let score = evaluate(&alerts, &summary.planted);
    drop(g);
    let independent = (opts.independent_transactions > 0)
        .then(|| {
            independent(
                &AmlWorldOptions {
                    seed: opts.independent_seed,
                    transactions: opts.independent_transactions.max(20_000),
                    ..AmlWorldOptions::default()
                },
                &TypologyConfig::default(),
            )
        })
        .transpose()?;

    Ok(BenchReport {
        transactions,
        accounts,
        build_secs,
        ingest_rows: loaded,
        ingest_rows_per_sec: loaded as f64 / ingest_secs.max(1e-9),
        bytes_per_transaction: mem.per_transaction,
        graph_bytes: mem.transactions + mem.accounts,
        trace: TraceFigures {
            runs: times.len(),
            hops: opts.hops,
            median_ms: pick(0.5),
            p95_ms: pick(0.95),
            max_ms: sorted.last().copied().unwrap_or(0.0),
            mean_edges: edges as f64 / times.len().max(1) as f64,
            first_seed: seeds.first().map(|s| s.to_string()).unwrap_or_default(),
            first_seed_ms: first_ms,
            per_seed,
        },
        scan_secs,
        scan_cpu_secs,
        scan_threads: opts.scan_threads.max(1),
        alerts: alerts.len(),
        score,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        independent,
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "finance benchmark: {} transactions, {} accounts",
            self.transactions, self.accounts
        )?;
        writeln!(f, "  generate + build graph   {:>10.2} s", self.build_secs)?;
        writeln!(
            f,
            "  CSV ingest               {:>10.0} rows/s ({} rows)",
            self.ingest_rows_per_sec, self.ingest_rows
        )?;
        writeln!(
            f,
            "  memory                   {:>10.1} bytes/transaction ({:.2} GB)",
            self.bytes_per_transaction,
            self.graph_bytes as f64 / 1e9
        )?;
        writeln!(
            f,
            "  trace, {} hops ({} runs)  median {:.2} ms, p95 {:.2} ms, max {:.2} ms, {:.0} edges on average",
            self.trace.hops,
            self.trace.runs,
            self.trace.median_ms,
            self.trace.p95_ms,
            self.trace.max_ms,
            self.trace.mean_edges
        )?;
        write!(
            f,
            "  typology scan            {:>10.2} s, {} alerts",
            self.scan_secs, self.alerts
        )?;
        match self.scan_cpu_secs {
            Some(cpu) => writeln!(f, " ({cpu:.2} s on the CPU; the rest waiting for one)")?,
            None => writeln!(f)?,
        }
        writeln!(
            f,
            "  planted patterns         recall {:.3}, precision {:.3} ({} of {} found; {} of {} alerts true)",
            self.score.recall,
            self.score.precision,
            self.score.found,
            self.score.known,
            self.score.true_alerts,
            self.score.alerts
        )?;
        for (kind, known, found, alerts, true_alerts) in &self.score.by_kind {
            writeln!(
                f,
                "    {:<15} found {found}/{known}, true alerts {true_alerts}/{alerts}",
                kind.name()
            )?;
        }
        if let Some(i) = &self.independent {
            writeln!(
                f,
                "independent ledger (AMLworld-style, seed {}): {} transactions, {} cases, illicit rate {:.4}, built in {:.1} s",
                i.seed, i.transactions, i.cases, i.illicit_rate, i.build_secs
            )?;
            writeln!(f, "  typology scan            {:>10.2} s", i.scan_secs)?;
            write_case_score(f, "detectors (incidents)", &i.detectors)?;
            writeln!(
                f,
                "    (as single alerts: {} alerts, precision {:.3}, {:.1} per 100k)",
                i.raw_alerts.alerts, i.raw_alerts.precision, i.raw_alerts.alerts_per_100k
            )?;
            write_case_score(f, "baseline (two rules)", &i.baseline)?;
        }
        write!(
            f,
            "  ({} hardware threads; every figure from one thread)",
            self.threads
        )
    }
}

fn write_case_score(f: &mut fmt::Formatter<'_>, name: &str, s: &CaseScore) -> fmt::Result {
    writeln!(
        f,
        "  {name:<24} case recall {:.3} ({}/{}), alert precision {:.3} ({}/{}), {:.1} alerts per 100k transactions",
        s.recall, s.found, s.cases, s.precision, s.true_alerts, s.alerts, s.alerts_per_100k
    )?;
    let cases: Vec<String> = s
        .by_case
        .iter()
        .map(|(k, n, fo)| format!("{} {fo}/{n}", k.name()))
        .collect();
    writeln!(f, "    cases found: {}", cases.join(", "))?;
    let forms: Vec<String> = s
        .by_form
        .iter()
        .map(|(k, n, fo)| format!("{k:?} {fo}/{n}"))
        .collect();
    writeln!(f, "    structuring forms: {}", forms.join(", "))?;
    let alerts: Vec<String> = s
        .by_alert
        .iter()
        .map(|(k, a, t)| format!("{k} {t}/{a}"))
        .collect();
    writeln!(f, "    true alerts by kind: {}", alerts.join(", "))?;
    let roles: Vec<String> = s
        .false_by_role
        .iter()
        .map(|(l, r, n)| format!("{l}@{} {n}", r.name()))
        .collect();
    writeln!(f, "    false alerts by account role: {}", roles.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_reports_every_figure() {
        let r = run(&BenchOptions {
            transactions: 20_000,
            ingest_rows: Some(5_000),
            traces: 5,
            independent_transactions: 30_000,
            ..BenchOptions::default()
        })
        .unwrap();
        assert!(
            r.transactions >= 19_000 && r.transactions <= 21_000,
            "{}",
            r.transactions
        );
        assert_eq!(r.trace.runs, 5);
        assert!(
            r.bytes_per_transaction > 30.0 && r.bytes_per_transaction < 200.0,
            "{}",
            r.bytes_per_transaction
        );
        assert!(r.ingest_rows >= 4_500);
        assert!(
            r.trace.first_seed.starts_with("us:"),
            "the demo collector is American"
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"recall\""));
        assert!(r.to_string().contains("recall"));
        let i = r.independent.as_ref().unwrap();
        assert!(i.cases > 0 && i.transactions > 20_000);
        assert!(r.to_string().contains("baseline (two rules)"));
        // Without a thread clock no CPU time is claimed.
        assert_eq!(r.scan_cpu_secs, None);
        assert!(!r.to_string().contains("on the CPU"));
    }

    #[test]
    fn the_scan_reports_its_own_cpu_time_when_given_a_thread_clock() {
        fn clock() -> Option<f64> {
            thread_local!(static TICKS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) });
            Some(TICKS.with(|t| {
                t.set(t.get() + 1.5);
                t.get()
            }))
        }
        let r = run(&BenchOptions {
            transactions: 5_000,
            ingest_rows: Some(1_000),
            traces: 1,
            independent_transactions: 0,
            thread_cpu: Some(clock),
            ..BenchOptions::default()
        })
        .unwrap();
        assert_eq!(r.scan_cpu_secs, Some(1.5));
        assert!(
            r.to_string()
                .contains("(1.50 s on the CPU; the rest waiting for one)"),
            "{r}"
        );
    }
}
