//! `soberana bench …`: figures measured on this machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;
use soberana_core::{
    AgencyId, FlowDirection, HandlingCode, PartyCode, ProposalBody, ProposalDraft, ProposalId,
    SeizureReport, Timestamp,
};
use soberana_node::{IntakeOutcome, Node};
use tokio::sync::oneshot;

use crate::cli::{
    BenchAbuseArgs, BenchExchangeArgs, BenchLedgerArgs, BenchPprlArgs, BenchPsiArgs, JsonArg,
};
use crate::commands::demo::{introduce, make_node, make_node_in};

/// Figures of one exchange run.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeRun {
    /// Concurrent senders.
    pub senders: usize,
    /// Proposals exchanged.
    pub proposals: usize,
    /// Proposals per second, end to end.
    pub per_second: f64,
    /// Median round trip, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile round trip, milliseconds.
    pub p99_ms: f64,
}

fn seizure(n: usize) -> Result<ProposalDraft> {
    Ok(ProposalDraft {
        to: PartyCode::new("MX")?,
        requesting_agency: AgencyId::new("US.CBP")?,
        purpose: "Share outcome figures of border enforcement".into(),
        legal_basis: "Bilateral border security cooperation".into(),
        handling: HandlingCode::H0,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: vec![],
        body: ProposalBody::SeizureReport(SeizureReport {
            direction: FlowDirection::Southbound,
            commodity: "firearms".into(),
            quantity: (n % 50 + 1) as u64,
            unit: "pieces".into(),
            place: "Nogales, Arizona".into(),
            seized_on: Timestamp::now(),
            agency: AgencyId::new("US.CBP")?,
            location: Some(soberana_core::Location {
                territory: Some(soberana_core::Territory::Of(PartyCode::new("US")?)),
                domain: soberana_core::Domain::Land,
                place: "Nogales, Arizona".into(),
                at: Some("US-AZ".into()),
            }),
        }),
    })
}

type Waiters = Arc<
    Mutex<(
        HashMap<ProposalId, oneshot::Sender<Instant>>,
        HashMap<ProposalId, Instant>,
    )>,
>;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

async fn run_once(
    us: &Node,
    waiters: &Waiters,
    senders: usize,
    total: usize,
) -> Result<ExchangeRun> {
    let per_sender = total.div_ceil(senders);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for s in 0..senders {
        let us = us.clone();
        let waiters = Arc::clone(waiters);
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_sender);
            for i in 0..per_sender {
                let draft = seizure(s * per_sender + i)?;
                let t0 = Instant::now();
                let node = us.clone();
                let proposal =
                    tokio::task::spawn_blocking(move || node.propose(draft, None)).await??;
                let (tx, rx) = oneshot::channel();
                let early = {
                    let mut guard = waiters.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                    match guard.1.remove(&proposal.id) {
                        Some(at) => Some(at),
                        None => {
                            guard.0.insert(proposal.id, tx);
                            None
                        }
                    }
                };
                let arrived = match early {
                    Some(at) => at,
                    None => tokio::time::timeout(Duration::from_secs(60), rx).await??,
                };
                latencies.push(arrived.saturating_duration_since(t0));
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(ExchangeRun {
        senders,
        proposals: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
    })
}

/// Figures of the exchange benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeReport {
    /// The stores both nodes used (`sqlite` or `postgres`).
    pub store: String,
    /// One sender at a time.
    pub single: ExchangeRun,
    /// Many concurrent senders.
    pub concurrent: ExchangeRun,
}

/// `soberana bench exchange`.
pub async fn exchange(args: BenchExchangeArgs) -> Result<()> {
    if args.proposals == 0 || args.concurrency == 0 {
        bail!("--proposals and --concurrency must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!(
        "soberana-bench-exchange-{}",
        Timestamp::now().unix_millis()
    ));
    let stores = match args.store.as_str() {
        "sqlite" => None,
        url if soberana_store::is_postgres_url(url) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let stamp = Timestamp::now().unix_millis();
            Some([
                format!("{url}{sep}schema=bench_mx_{stamp}"),
                format!("{url}{sep}schema=bench_us_{stamp}"),
            ])
        }
        other => bail!("--store `{other}`: use `sqlite` or a postgres://user@host/db URL"),
    };
    let (mx_store, us_store) = match &stores {
        Some([mx, us]) => (Some(mx.clone()), Some(us.clone())),
        None => (None, None),
    };
    let mx = make_node_in(&dir, "MX", mx_store)?;
    let us = make_node_in(&dir, "US", us_store)?;
    introduce(&mx, &us)?;
    let mx_run = mx.start().await?;
    let us_run = us.start().await?;
    let waiters: Waiters = Arc::default();
    let mut events = mx.subscribe();
    let listener = {
        let waiters = Arc::clone(&waiters);
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let IntakeOutcome::ProposalCreated { proposal, .. } = event {
                    let now = Instant::now();
                    if let Ok(mut guard) = waiters.lock() {
                        match guard.0.remove(&proposal) {
                            Some(tx) => {
                                let _ = tx.send(now);
                            }
                            None => {
                                guard.1.insert(proposal, now);
                            }
                        }
                    }
                }
            }
        })
    };
    eprintln!(
        "exchanging {} seizure reports US → MX (signed, pinned mutual TLS, Cedar policy, durable in both stores)…",
        args.proposals
    );
    // A short warm-up opens connections and fills caches.
    run_once(&us, &waiters, 4, 100.min(args.proposals)).await?;
    let single = run_once(&us, &waiters, 1, (args.proposals / 4).max(1)).await?;
    let concurrent = run_once(&us, &waiters, args.concurrency, args.proposals).await?;
    listener.abort();
    mx_run.stop().await;
    us_run.stop().await;
    drop((mx, us));
    let _ = std::fs::remove_dir_all(&dir);
    for url in stores.iter().flatten() {
        let url = url.clone();
        tokio::task::spawn_blocking(move || soberana_store::PostgresStore::drop_store(&url))
            .await??;
    }
    let report = ExchangeReport {
        store: if stores.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
        .into(),
        single,
        concurrent,
    };
    for run in [&report.single, &report.concurrent] {
        println!(
            "{} {:>3} sender(s): {:>8.0} proposals/s   round trip p50 {:>6.2} ms   p99 {:>7.2} ms   ({} proposals)",
            report.store, run.senders, run.per_second, run.p50_ms, run.p99_ms, run.proposals
        );
    }
    println!(
        "for scale: X-Road's light security server is sized for < 50 requests/minute; ~110 tx/s measured through a clustered gateway"
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// `soberana bench policy`.
pub fn policy(args: JsonArg) -> Result<()> {
    let report = soberana_policy::bench::run(&soberana_policy::bench::BenchOptions::default())?;
    print!("{report}");
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// `soberana bench psi`.
pub fn psi(args: BenchPsiArgs) -> Result<()> {
    let protocol: soberana_psi::Protocol = args
        .protocol
        .parse()
        .map_err(|e| anyhow::anyhow!("--protocol: {e}"))?;
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    eprintln!(
        "intersecting {} × {} identifiers with the {protocol} protocol over loopback…",
        args.n, args.n
    );
    let report = soberana_psi::bench::run(args.n, protocol)?;
    println!("{report}");
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// Durable appends into a node store.
#[derive(Debug, Clone, Serialize)]
pub struct DurableAppends {
    /// Entries appended.
    pub entries: usize,
    /// Entries per transaction.
    pub batch: usize,
    /// Entries per second, each batch committed with a full fsync.
    pub per_second: f64,
}

/// Figures of the ledger benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerReport {
    /// Appends through a node's SQLite store.
    pub durable: DurableAppends,
    /// Proofs and audits at scale (in memory).
    pub ledger: soberana_ledger::bench::BenchReport,
}

/// `soberana bench ledger`.
pub fn ledger(args: BenchLedgerArgs) -> Result<()> {
    use soberana_store::NodeStore;
    let dir = std::env::temp_dir().join(format!(
        "soberana-bench-ledger-{}",
        Timestamp::now().unix_millis()
    ));
    std::fs::create_dir_all(&dir)?;
    let store = soberana_store::SqliteStore::open(&dir.join("node.sqlite"))?;
    let batch = 1000usize;
    let entry = |i: usize| {
        soberana_ledger::LogEntry::EnvelopeReceived(soberana_ledger::EnvelopeRecord {
            envelope_id: format!("01a20000-0000-7000-8000-{i:012}"),
            sender: "US".into(),
            recipient: "MX".into(),
            sequence: i as u64,
            time_ms: i as u64,
            body_digest: [7; 32],
        })
    };
    eprintln!(
        "appending {} entries durably (WAL, synchronous=FULL), {batch} per transaction…",
        args.durable
    );
    let start = Instant::now();
    let mut done = 0;
    while done < args.durable {
        let n = batch.min(args.durable - done);
        store.append_log((done..done + n).map(entry).collect())?;
        done += n;
    }
    let elapsed = start.elapsed().as_secs_f64();
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
    let durable = DurableAppends {
        entries: done,
        batch,
        per_second: done as f64 / elapsed,
    };
    println!(
        "durable appends: {:.0} entries/s ({} entries, {} per transaction, fsync on every commit)",
        durable.per_second, durable.entries, durable.batch
    );
    eprintln!(
        "building logs of {:?} entries in memory for proofs and audits…",
        args.sizes
    );
    let ledger = soberana_ledger::bench::run(&soberana_ledger::bench::BenchOptions {
        sizes: args.sizes.clone(),
        ..Default::default()
    })?;
    println!("{ledger}");
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&LedgerReport { durable, ledger })?
        );
    }
    Ok(())
}

/// `soberana bench pprl`.
pub fn pprl(args: BenchPprlArgs) -> Result<()> {
    let report = soberana_linkage::bench::run(&soberana_linkage::bench::BenchOptions {
        febrl_dir: args.febrl,
        exhaustive_n: args.exhaustive,
        blocked_n: args.blocked,
    })?;
    print!("{report}");
    println!();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// `soberana bench abuse`.
pub async fn abuse(args: BenchAbuseArgs) -> Result<()> {
    if args.mib == 0 || args.concurrent == 0 {
        bail!("--mib and --concurrent must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!(
        "soberana-bench-abuse-{}",
        Timestamp::now().unix_millis()
    ));
    let mx = make_node(&dir, "MX")?;
    let us = make_node(&dir, "US")?;
    introduce(&mx, &us)?;
    eprintln!(
        "a pinned US partner turns rogue against MX: {} MiB bodies and replies, {} bodies at once…",
        args.mib, args.concurrent
    );
    let report = soberana_node::abuse::run(&mx, &us, args.mib * 1024 * 1024, args.concurrent).await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    print!("{report}");
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if let Some(case) = report.cases.iter().find(|c| !c.within_bound()) {
        bail!("memory under `{}` exceeded its bound", case.attack);
    }
    Ok(())
}
