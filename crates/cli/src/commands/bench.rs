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
    /// Round trips completed: proposal sent, stored and decided by the
    /// partner, and its signed decision stored back at the sender.
    pub proposals: usize,
    /// Round trips per second, end to end.
    pub per_second: f64,
    /// Median round trip, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile round trip, milliseconds.
    pub p99_ms: f64,
    /// Processor time (user and system, both nodes: they share this
    /// process) per round trip, microseconds. Wall-clock figures swing with
    /// whatever else the machine runs; this one hardly does.
    pub cpu_us: f64,
    /// Of that, what the two nodes' store writers used per round trip,
    /// microseconds: each node writes on one thread, so this is the part
    /// that does not spread over more cores.
    pub writer_cpu_us: f64,
    /// The busiest store writer's share of one core over the run (1.0 is a
    /// whole core): at 1.0 that node's writer is the ceiling.
    pub writer_busiest: f64,
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

/// The processor time (user plus system) in a `/proc/…/stat` line.
fn stat_cpu(stat: &str) -> Option<Duration> {
    // The command name may hold spaces and parentheses; the fields after
    // its last `)` do not.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, in clock
    // ticks of 1/100 s (USER_HZ, fixed for /proc on Linux).
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let total = ticks(11)? + ticks(12)?;
    Some(Duration::from_millis(total * 10))
}

/// Processor time this process has used so far (user plus system), from
/// `/proc/self/stat`; `None` where there is no such file.
fn process_cpu() -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// Whether a thread's name, as the kernel keeps it (at most 15 bytes and
/// a newline), is a store's writer.
fn is_store_writer(name: &str) -> bool {
    let name = name.trim_end();
    soberana_store::WRITER_THREADS
        .iter()
        .any(|writer| writer.get(..15).unwrap_or(writer) == name)
}

/// Processor time each store writer thread of this process has used so
/// far, by thread id; empty where `/proc` is not there.
fn writer_cpu() -> HashMap<u32, Duration> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if !is_store_writer(&name) {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            Some((tid, stat_cpu(&stat)?))
        })
        .collect()
}

/// The machine's load average over the last minute, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn run_once(
    us: &Node,
    waiters: &Waiters,
    senders: usize,
    total: usize,
) -> Result<ExchangeRun> {
    let per_sender = total.div_ceil(senders);
    let cpu_before = process_cpu();
    let writers_before = writer_cpu();
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
    let cpu = match (cpu_before, process_cpu()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => Duration::ZERO,
    };
    let writers: Vec<Duration> = writer_cpu()
        .into_iter()
        .map(|(tid, after)| {
            after.saturating_sub(writers_before.get(&tid).copied().unwrap_or_default())
        })
        .collect();
    let writer_total: Duration = writers.iter().sum();
    let writer_busiest = writers.iter().max().copied().unwrap_or_default();
    latencies.sort();
    Ok(ExchangeRun {
        senders,
        proposals: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        cpu_us: cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        writer_cpu_us: writer_total.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        writer_busiest: writer_busiest.as_secs_f64() / elapsed.as_secs_f64(),
    })
}

/// Figures of the exchange benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeReport {
    /// The stores both nodes used (`sqlite` or `postgres`).
    pub store: String,
    /// The machine's one-minute load average before and after the runs.
    pub load_average: (f64, f64),
    /// One sender at a time.
    pub single: ExchangeRun,
    /// Many concurrent senders.
    pub concurrent: ExchangeRun,
    /// Envelopes a node received a second time (refused as duplicates):
    /// deliveries the sender gave up on too early and sent again.
    pub sent_twice: usize,
}

/// How many envelopes `node` refused as already received.
fn duplicates(node: &Node) -> usize {
    node.refusals(1_000_000)
        .map(|r| {
            r.iter()
                .filter(|r| r.reason.ends_with("(duplicate)"))
                .count()
        })
        .unwrap_or(0)
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
    // A round trip ends when the partner's signed decision is stored back
    // at the sender.
    let mut events = us.subscribe();
    let listener = {
        let waiters = Arc::clone(&waiters);
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if let IntakeOutcome::DecisionRecorded { proposal } = event {
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
        "exchanging {} seizure reports US → MX and MX's decisions back (signed, pinned mutual TLS, Cedar policy, durable and logged in both stores)…",
        args.proposals
    );
    let load_before = load_average().unwrap_or(0.0);
    // A short warm-up opens connections and fills caches.
    run_once(&us, &waiters, 4, 100.min(args.proposals)).await?;
    let single = run_once(&us, &waiters, 1, (args.proposals / 4).max(1)).await?;
    let concurrent = run_once(&us, &waiters, args.concurrency, args.proposals).await?;
    let load_after = load_average().unwrap_or(0.0);
    listener.abort();
    mx_run.stop().await;
    us_run.stop().await;
    let sent_twice = duplicates(&mx) + duplicates(&us);
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
        load_average: (load_before, load_after),
        single,
        concurrent,
        sent_twice,
    };
    for run in [&report.single, &report.concurrent] {
        println!(
            "{} {:>3} sender(s): {:>8.0} round trips/s   p50 {:>6.2} ms   p99 {:>7.2} ms   cpu {:>6.0} µs/round trip (store writers {:.0} µs, busiest {:.0} % of a core)   ({} proposals)",
            report.store,
            run.senders,
            run.per_second,
            run.p50_ms,
            run.p99_ms,
            run.cpu_us,
            run.writer_cpu_us,
            run.writer_busiest * 100.0,
            run.proposals
        );
    }
    println!(
        "envelopes sent twice: {}   load average {:.2} before, {:.2} after{}",
        report.sent_twice,
        load_before,
        load_after,
        if stores.is_some() {
            "   (cpu excludes the PostgreSQL server)"
        } else {
            ""
        }
    );
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
        febrl_dir: args.febrl.clone(),
        exhaustive_n: args.exhaustive,
        blocked_n: args.blocked,
    })?;
    print!("{report}");
    let nodes = match &args.febrl {
        Some(dir) => {
            eprintln!("FEBRL4 again between two live nodes (`match persons`, officer accepts)…");
            let r = super::runtime()?.block_on(febrl_between_nodes(dir))?;
            println!(
                "  FEBRL4 {}x{} between two nodes (MX asks with A, US holds B): precision {:.4}  recall {:.4}  F1 {:.4}; {} links; request to answer {:.0} ms",
                r.asked,
                r.held,
                r.quality.precision,
                r.quality.recall,
                r.quality.f1,
                r.quality.links,
                r.answer_ms
            );
            Some(r)
        }
        None => None,
    };
    println!();
    if args.json {
        #[derive(Serialize)]
        struct Both<'a> {
            #[serde(flatten)]
            linkage: &'a soberana_linkage::bench::PprlReport,
            febrl_between_nodes: Option<TwoNodeReport>,
        }
        println!(
            "{}",
            serde_json::to_string(&Both {
                linkage: &report,
                febrl_between_nodes: nodes,
            })?
        );
    }
    Ok(())
}

/// FEBRL4 through `match persons` between two live nodes.
#[derive(Debug, Clone, Serialize)]
pub struct TwoNodeReport {
    /// Records the asker asked about.
    pub asked: usize,
    /// Records the holder holds.
    pub held: usize,
    /// Accuracy against the known pairs.
    pub quality: soberana_linkage::Quality,
    /// Milliseconds from the officer's acceptance to the asker's answer.
    pub answer_ms: f64,
}

/// Runs FEBRL4 between two nodes as an analyst would: the US holds
/// `dataset4b.csv` (`match hold persons --layout febrl`), MX asks about
/// `dataset4a.csv` (`match persons --layout febrl`), a US officer accepts,
/// and the answer's pseudonyms are mapped back through the US's id map to
/// score the links against the true pairs.
async fn febrl_between_nodes(febrl: &std::path::Path) -> Result<TwoNodeReport> {
    use soberana_node::sessions::RequestContext;
    use soberana_node::sessions::persons::{
        PersonFormat, PersonLayout, load_person_file, new_linkage_key,
    };
    let dir = std::env::temp_dir().join(format!(
        "soberana-bench-pprl-{}",
        Timestamp::now().unix_millis()
    ));
    let mx = make_node(&dir, "MX")?;
    let us = make_node(&dir, "US")?;
    introduce(&mx, &us)?;
    crate::commands::desk::demo_officers(&mx, &us)?;
    let key = new_linkage_key()?;
    mx.install_linkage_key(&key, false)?;
    us.install_linkage_key(&key, false)?;
    let format = PersonFormat {
        layout: PersonLayout::Febrl,
        ..PersonFormat::default()
    };
    let load = |name: &str| -> Result<_> {
        let loaded = load_person_file(&febrl.join(name), &format)?;
        if !loaded.problems.is_empty() {
            bail!(
                "{name}: {} unusable values, first: {}",
                loaded.problems.len(),
                loaded.problems.first().map_or("", String::as_str)
            );
        }
        Ok(loaded.records)
    };
    let held = load("dataset4b.csv")?;
    let asked = load("dataset4a.csv")?;
    us.hold_persons(&held)?;
    let mx_run = mx.start().await?;
    let us_run = us.start().await?;
    let result = async {
        let proposal = mx.request_person_match(
            us.party(),
            &asked,
            &RequestContext {
                agency: Some(soberana_core::AgencyId::new("MX.CNI")?),
                purpose: "benchmark: FEBRL4 between two nodes".into(),
                ..RequestContext::default()
            },
        )?;
        let started = Instant::now();
        crate::commands::matching::accept_and_wait(
            &mx,
            &us,
            proposal.id,
            "fbi.approver",
            "benchmark",
        )
        .await?;
        let answer_ms = started.elapsed().as_secs_f64() * 1000.0;
        let answer = mx
            .show(proposal.id)?
            .answer
            .ok_or_else(|| anyhow::anyhow!("the match was answered with nothing"))?;
        let map: HashMap<String, String> = serde_json::from_str(&std::fs::read_to_string(
            us.dir()
                .root()
                .join(format!("data/responses/{}.json", proposal.id)),
        )?)?;
        let number = |id: &str| id.split('-').nth(1).map(str::to_owned);
        let index_a: HashMap<&str, u32> = asked
            .iter()
            .enumerate()
            .map(|(i, (l, _))| (l.as_str(), i as u32))
            .collect();
        let index_b: HashMap<&str, u32> = held
            .iter()
            .enumerate()
            .map(|(i, (l, _))| (l.as_str(), i as u32))
            .collect();
        let mut links = Vec::new();
        for item in &answer.items {
            let pseudonym = item
                .value
                .split_whitespace()
                .nth(2)
                .unwrap_or("")
                .trim_end_matches(',');
            if let (Some(&a), Some(b)) = (
                index_a.get(item.label.as_str()),
                map.get(pseudonym).and_then(|l| index_b.get(l.as_str())),
            ) {
                links.push(soberana_linkage::Link {
                    a,
                    b: *b,
                    score: 0.0,
                });
            }
        }
        let by_number: HashMap<String, u32> = held
            .iter()
            .enumerate()
            .filter_map(|(j, (l, _))| number(l).map(|n| (n, j as u32)))
            .collect();
        let truth: Vec<(u32, u32)> = asked
            .iter()
            .enumerate()
            .filter_map(|(i, (l, _))| {
                number(l)
                    .and_then(|n| by_number.get(&n).copied())
                    .map(|j| (i as u32, j))
            })
            .collect();
        Ok::<_, anyhow::Error>(TwoNodeReport {
            asked: asked.len(),
            held: held.len(),
            quality: soberana_linkage::Quality::measure(&links, &truth),
            answer_ms,
        })
    }
    .await;
    mx_run.stop().await;
    us_run.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_time_is_read_after_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid … utime stime …: utime 250 and stime 7
        // ticks of 10 ms.
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 7 0 0 20 0 9 0 100";
        assert_eq!(stat_cpu(line), Some(Duration::from_millis(2570)));
        assert_eq!(stat_cpu("4242 (short) S 1"), None);
        assert_eq!(stat_cpu("no parenthesis here"), None);
    }

    #[test]
    fn store_writers_are_told_by_their_thread_names() {
        // The kernel cuts names to 15 bytes and `comm` ends in a newline.
        assert!(is_store_writer("soberana-store-\n"));
        assert!(is_store_writer("soberana-pg-wri\n"));
        assert!(!is_store_writer("soberana-pg-rea\n"));
        assert!(!is_store_writer("tokio-runtime-w\n"));
        assert!(!is_store_writer("soberana-\n"));
        assert!(!is_store_writer(""));
    }

    #[test]
    fn this_process_reads_its_own_processor_time_and_writer_threads() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = soberana_store::SqliteStore::open(&dir.path().join("node.sqlite"))
            .expect("a new store");
        let before = process_cpu().expect("/proc/self/stat is readable on Linux");
        // The writer names itself once it runs, which may be just after
        // the store is opened.
        let started = Instant::now();
        while writer_cpu().is_empty() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Other tests of this process may have stores open too.
        assert!(
            !writer_cpu().is_empty(),
            "an open SQLite store has a writer thread this process can see"
        );
        drop(store);
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = process_cpu().expect("readable");
        assert!(
            after > before,
            "60 ms of spinning shows in the process's time"
        );
    }
}
