//! `soberana firearms …`: firearm traces answered on a node's own
//! acquisition and disposition records, and `soberana bench trace`.
//!
//! Adapters over the node (`soberana_node::firearms`: the records folder,
//! the answer computed on it and its release through the officers' rules)
//! and `soberana_firearms`. `generate` writes synthetic records (and, with
//! `--request`, a trace proposal about some of them); `hold` loads records
//! into the node, all or nothing; `answer` lets the receiving officer run an
//! incoming `FirearmTrace` on those records and release the answer
//! (`Node::answer_trace`: the decision carries it, and the node records the
//! disclosure with its digest, as for every answer); `show` and `stats`
//! read a released answer on either side — the asker checks it against its
//! own request first — and `stats` prints a digest of the figures that both
//! sides can compare.
//!
//! This file is long because it holds every firearms command as one
//! adapter (arguments, the node call, what is printed) next to the demo
//! step and the benchmark that use them; the logic is in the node and in
//! `soberana_firearms`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use soberana_core::{
    AgencyId, Direction, Firearm, FirearmTrace, HandlingCode, OfficerId, PartyCode, ProposalBody,
    ProposalDraft, ProposalId, ProposalState, Timestamp, TracePriority,
};
use soberana_firearms::synthetic::{self, Planted, SyntheticOptions};
use soberana_firearms::{
    ANSWER_LABEL, Date, TraceAnswer, TraceRequest, TraceResult, TraceStats, requests_of,
};
use soberana_node::firearms::{TraceRelease, release_items};
use soberana_node::{DecisionStep, Node, NodeError};
use soberana_store::ProposalDetail;

use crate::cli::DirArg;
use crate::policy::open_node;

pub use soberana_node::firearms::MAX_FIREARMS_PER_TRACE;

/// `soberana firearms …`.
#[derive(Debug, Subcommand)]
pub enum FirearmsCommand {
    /// Write synthetic acquisition and disposition records (CSV), and with
    /// `--request` a trace proposal about firearms drawn from them.
    Generate(GenerateArgs),
    /// Load acquisition and disposition records into the node, all or nothing.
    Hold(HoldArgs),
    /// As the receiving officer: trace an incoming firearm trace on our
    /// records and release the answer.
    Answer(AnswerArgs),
    /// Print a trace's answer, firearm by firearm.
    Show(ShowArgs),
    /// Trace statistics over answered traces, with a digest both sides compare.
    Stats(StatsArgs),
    /// Before sending a trace: check its serials for hits in the partner's
    /// lost-and-stolen holdings by private set intersection (`match ids`).
    Check(CheckArgs),
}

/// `soberana firearms check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The firearm trace proposal (TOML or JSON), before it is sent.
    pub draft: PathBuf,
    /// The match request.
    #[command(flatten)]
    pub request: crate::cli::MatchRequestArgs,
}

/// `soberana firearms generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The CSV file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Records to write.
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Generator seed: the same seed writes the same records.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write a trace proposal (JSON, for `soberana propose`) about
    /// firearms drawn from the records, as a partner would send it.
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Firearms in that proposal.
    #[arg(long, default_value_t = 1_000)]
    pub serials: usize,
    /// The party the proposal goes to.
    #[arg(long, default_value = "US")]
    pub to: String,
    /// The agency that asks.
    #[arg(long, default_value = "MX.FGR")]
    pub agency: String,
}

/// `soberana firearms hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// The records (CSV: manufacturer, model, caliber, serial, event, date,
    /// from, to, city, state).
    pub file: PathBuf,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `soberana firearms answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The incoming firearm trace proposal.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The officer releasing the answer.
    #[arg(long)]
    pub officer: String,
    /// The reason sent with the decision.
    #[arg(
        long,
        default_value = "traced on our acquisition and disposition records"
    )]
    pub reason: String,
    /// A condition on the use of the answer (repeatable).
    #[arg(long = "condition")]
    pub conditions: Vec<String>,
    /// Trace and print, but decide and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `soberana firearms show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The firearm trace proposal.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana firearms stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Answered firearm trace proposals (one or more).
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// `soberana bench trace`.
#[derive(Debug, Args)]
pub struct BenchTraceArgs {
    /// Acquisition and disposition records.
    #[arg(long, visible_alias = "n", default_value_t = 10_000_000)]
    pub records: u64,
    /// Firearms traced in one batch.
    #[arg(long, default_value_t = 10_000)]
    pub serials: usize,
    /// Rows for the CSV ingest figure.
    #[arg(long, default_value_t = 1_000_000)]
    pub ingest_rows: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `soberana firearms …`.
pub fn run(cmd: FirearmsCommand) -> Result<()> {
    match cmd {
        FirearmsCommand::Generate(args) => generate_cmd(args),
        FirearmsCommand::Hold(args) => hold_cmd(args),
        FirearmsCommand::Answer(args) => answer_cmd(args),
        FirearmsCommand::Show(args) => show_cmd(args),
        FirearmsCommand::Stats(args) => stats_cmd(args),
        FirearmsCommand::Check(args) => check_cmd(args),
    }
}

// ------------------------------------------------------------- holdings

/// A node's error, with the bad rows of a refused file printed first.
fn shown(e: NodeError) -> anyhow::Error {
    if let NodeError::Records { file, error } = &e {
        for row in &error.rows {
            eprintln!("{}: {row}", file.display());
        }
        if error.total_bad > error.rows.len() as u64 {
            eprintln!(
                "… and {} more bad rows",
                error.total_bad - error.rows.len() as u64
            );
        }
    }
    e.into()
}

/// Holds `source` in the node's records, all or nothing; returns the
/// records held afterwards.
pub fn hold(node: &Path, source: &Path) -> Result<u64> {
    soberana_node::firearms::hold(node, source).map_err(shown)
}

fn hold_cmd(args: HoldArgs) -> Result<()> {
    let started = Instant::now();
    let total = hold(&args.dir.dir, &args.file)?;
    println!(
        "held `{}` in {:.1} s; the node now holds {total} acquisition and disposition records",
        args.file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// --------------------------------------------------------------- answer

/// Prints each firearm's result and the totals; returns the figures.
fn print_answer(answer: &TraceAnswer, started: Instant) -> TraceStats {
    for r in &answer.results {
        println!("{}", one_line(r));
    }
    let stats = TraceStats::of(&answer.results);
    println!(
        "{} traced in {:.2} s; {} complete, {} partial, {} failed",
        stats.all.traces,
        started.elapsed().as_secs_f64(),
        stats.all.complete,
        stats.all.partial,
        stats.all.failed
    );
    stats
}

fn answer_cmd(args: AnswerArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let detail = node.show(id)?;
    if detail.record.direction != Direction::Incoming {
        bail!("proposal {id} is ours; only the partner it was sent to can answer it");
    }
    if detail.record.state != ProposalState::AwaitingOfficer && !args.dry_run {
        bail!(
            "proposal {id} is {}, not awaiting an officer",
            detail.record.state
        );
    }
    let officer = OfficerId::new(&args.officer)?;
    if args.reason.trim().is_empty() {
        bail!("--reason must say why, in plain words: it travels to the partner");
    }
    let started = Instant::now();
    if args.dry_run {
        let answer = node.trace_answer(id).map_err(shown)?;
        print_answer(&answer, started);
        soberana_node::firearms::fitting_items(&answer)?;
        println!("(dry run: nothing decided, nothing sent)");
        return Ok(());
    }
    let (answer, step) = node
        .answer_trace(
            id,
            TraceRelease {
                officer,
                conditions: args.conditions.clone(),
                reason: args.reason,
            },
        )
        .map_err(shown)?;
    let stats = print_answer(&answer, started);
    let bytes: usize = release_items(&answer).iter().map(|i| i.value.len()).sum();
    match step {
        DecisionStep::Decided(decision) => println!(
            "{id}: {} by {}; the answer ({bytes} bytes) is queued for {} and recorded as a disclosure",
            decision.outcome.as_str(),
            args.officer,
            detail.record.peer
        ),
        DecisionStep::AwaitingSecondApprover(_) => println!(
            "{id}: the answer ({bytes} bytes) awaits a second approver; nothing has left. Another approver runs `soberana confirm {id} --officer ID`"
        ),
    }
    println!("figures sha256 {}", stats.digest());
    Ok(())
}

// ---------------------------------------------------------- show, stats

/// The trace proposal of `detail`, or why it is not one.
fn trace_of(detail: &ProposalDetail) -> Result<&FirearmTrace> {
    match &detail.record.proposal.body {
        ProposalBody::FirearmTrace(t) => Ok(t),
        other => bail!(
            "proposal {} is a {}, not a firearm trace",
            detail.record.id(),
            other.kind()
        ),
    }
}

/// The released answer of a trace, checked against the request. On the
/// asking side it is peer input: parsed strictly, never trusted.
pub fn answer_of(detail: &ProposalDetail) -> Result<TraceAnswer> {
    let id = detail.record.id();
    let trace = trace_of(detail)?;
    let Some(answer) = &detail.answer else {
        bail!(
            "proposal {id} has no answer yet (it is {})",
            detail.record.state
        );
    };
    let item = answer
        .items
        .iter()
        .find(|i| i.label == ANSWER_LABEL)
        .ok_or_else(|| anyhow::anyhow!("the answer to {id} carries no `{ANSWER_LABEL}` item"))?;
    TraceAnswer::parse(&item.value, &requests_of(trace))
        .with_context(|| format!("the answer to {id} cannot be used"))
}

fn one_line(r: &TraceResult) -> String {
    let what = format!(
        "{}. {} {} {}",
        r.reference,
        r.manufacturer,
        if r.model.is_empty() { "" } else { &r.model },
        r.serial
    );
    match (r.first_retail_sale(), r.failure) {
        (Some(sale), _) => format!(
            "{what}: first retail sale {} by {} ({}, {}) to {}; time-to-crime {}",
            sale.date,
            sale.from,
            sale.city,
            sale.state,
            sale.to,
            r.time_to_crime_days()
                .map_or_else(|| "unknown".to_owned(), |d| format!("{d} days"))
        ),
        (None, Some(f)) => match r.chain.last() {
            Some(last) => format!(
                "{what}: {} — last record: {} {} to {} ({})",
                f.describe(),
                last.event,
                last.date,
                last.to,
                last.state
            ),
            None => format!("{what}: not traced — {}", f.describe()),
        },
        (None, None) => format!("{what}: no result"),
    }
}

fn show_cmd(args: ShowArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let detail = node.show(ProposalId::parse(&args.id)?)?;
    let answer = answer_of(&detail)?;
    if args.json {
        println!("{}", answer.to_json());
        return Ok(());
    }
    for r in &answer.results {
        println!("{}", one_line(r));
        for link in &r.chain {
            println!(
                "     {} {:<16} {} → {} {}{}",
                link.date,
                link.event.as_str(),
                link.from,
                link.to,
                if link.city.is_empty() {
                    String::new()
                } else {
                    format!("{}, ", link.city)
                },
                link.state
            );
        }
    }
    Ok(())
}

/// The statistics of answered traces, in the order given.
pub fn stats_of(node: &Node, ids: &[ProposalId]) -> Result<TraceStats> {
    let mut results = Vec::new();
    for id in ids {
        results.extend(answer_of(&node.show(*id)?)?.results);
    }
    Ok(TraceStats::of(&results))
}

fn stats_cmd(args: StatsArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let ids = args
        .ids
        .iter()
        .map(|s| ProposalId::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let stats = stats_of(&node, &ids)?;
    print!("{stats}");
    println!("figures sha256 {}", stats.digest());
    if args.json {
        println!("{}", stats.to_json());
    }
    Ok(())
}

// ---------------------------------------------------------------- check

/// The firearm identifiers (`MANUFACTURER/SERIAL`, normalised as a trace
/// normalises them) of a trace's firearms, and the firearms that cannot be
/// checked, with why.
pub fn identifiers_of(trace: &FirearmTrace) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut skipped = Vec::new();
    for (i, f) in trace.firearms.iter().enumerate() {
        let what = format!("{}. {} {}", i + 1, f.manufacturer, f.serial);
        match (
            soberana_firearms::normalise_manufacturer(&f.manufacturer),
            soberana_firearms::normalise_serial(&f.serial),
        ) {
            (None, _) => skipped.push(format!("{what}: manufacturer unknown")),
            (Some(maker), soberana_firearms::Serial::Number(serial)) => {
                let id = format!("{maker}/{serial}");
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            (Some(_), soberana_firearms::Serial::Obliterated) => {
                skipped.push(format!("{what}: serial obliterated"));
            }
            (Some(_), soberana_firearms::Serial::Missing) => {
                skipped.push(format!("{what}: no serial"));
            }
            (Some(_), soberana_firearms::Serial::Invalid(why)) => {
                skipped.push(format!("{what}: {why}"));
            }
        }
    }
    (ids, skipped)
}

fn check_cmd(args: CheckArgs) -> Result<()> {
    let draft = super::node::read_draft(&args.draft)?;
    let ProposalBody::FirearmTrace(trace) = &draft.body else {
        bail!(
            "`{}` is a {}, not a firearm trace",
            args.draft.display(),
            draft.body.kind()
        );
    };
    let (ids, skipped) = identifiers_of(trace);
    for s in &skipped {
        eprintln!("not checked: {s}");
    }
    if ids.is_empty() {
        bail!(
            "none of the {} firearms in `{}` has a manufacturer and serial to check",
            trace.firearms.len(),
            args.draft.display()
        );
    }
    let node_dir = &args.request.dir.dir;
    if !node_dir.join("node.toml").exists() {
        bail!(
            "`{}` is not a node directory (no node.toml); make one with `soberana init`",
            node_dir.display()
        );
    }
    let dir = node_dir.join("firearms");
    std::fs::create_dir_all(&dir)?;
    let list = dir.join(format!("check-{}.txt", Timestamp::now().unix_millis()));
    std::fs::write(&list, ids.join("\n") + "\n")
        .with_context(|| format!("cannot write `{}`", list.display()))?;
    let result = super::matching::ids(crate::cli::MatchIdsArgs {
        file: list.clone(),
        kind: "firearm".into(),
        protocol: "ot".into(),
        count_only: false,
        request: args.request,
    });
    let _ = std::fs::remove_file(&list);
    result
}

// ------------------------------------------------------------- generate

fn generate_cmd(args: GenerateArgs) -> Result<()> {
    let opts = SyntheticOptions {
        records: args.records,
        seed: args.seed,
        planted: Vec::new(),
    };
    let out = BufWriter::with_capacity(
        1 << 20,
        File::create(&args.out)
            .with_context(|| format!("cannot create `{}`", args.out.display()))?,
    );
    let firearms = synthetic::write_csv(&opts, out)?;
    println!(
        "wrote {} records of {firearms} firearms to {}",
        args.records,
        args.out.display()
    );
    if let Some(path) = &args.request {
        if args.serials == 0 || args.serials > MAX_FIREARMS_PER_TRACE {
            bail!("--serials must be between 1 and {MAX_FIREARMS_PER_TRACE}");
        }
        let requests = synthetic::requests(args.seed, firearms, args.serials, args.seed ^ 0x5eed);
        let draft = draft_of(
            &requests,
            PartyCode::new(&args.to)?,
            AgencyId::new(&args.agency)?,
        )?;
        std::fs::write(path, serde_json::to_string_pretty(&draft)?)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        println!(
            "wrote a trace proposal of {} firearms to {}; send it with `soberana propose {}`",
            requests.len(),
            path.display(),
            path.display()
        );
    }
    Ok(())
}

fn timestamp_of(date: Option<Date>) -> Option<Timestamp> {
    date.map(|d| Timestamp::from_unix_millis(i64::from(d.days()) * 86_400_000 + 12 * 3_600_000))
}

/// A trace proposal about `requests`.
fn draft_of(requests: &[TraceRequest], to: PartyCode, agency: AgencyId) -> Result<ProposalDraft> {
    let first = requests
        .first()
        .ok_or_else(|| anyhow::anyhow!("no firearms to trace"))?;
    Ok(ProposalDraft {
        to,
        requesting_agency: agency,
        purpose: "Trace firearms recovered in criminal investigations to their first retail sale"
            .into(),
        legal_basis: "Mexico–US bilateral firearms trafficking cooperation; eTrace".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now().plus_seconds(30 * 86_400),
        related_to: Vec::new(),
        body: ProposalBody::FirearmTrace(FirearmTrace {
            seized_at: first.recovered_at.clone(),
            seized_on: timestamp_of(first.recovered_on).unwrap_or_else(Timestamp::now),
            firearms: requests
                .iter()
                .map(|r| Firearm {
                    manufacturer: r.manufacturer.clone(),
                    model: r.model.clone(),
                    serial: r.serial.clone(),
                    caliber: r.caliber.clone(),
                    recovered_at: r.recovered_at.clone(),
                    recovered_on: timestamp_of(r.recovered_on),
                    crime_code: r.crime_code.clone(),
                })
                .collect(),
            priority: TracePriority::Routine,
        }),
    })
}

// ---------------------------------------------------------------- bench

/// `soberana bench trace`.
pub fn bench(args: BenchTraceArgs) -> Result<()> {
    eprintln!(
        "generating {} acquisition and disposition records, then tracing {} serials…",
        args.records, args.serials
    );
    let report = soberana_firearms::bench::run(&soberana_firearms::bench::BenchOptions {
        records: args.records,
        serials: args.serials,
        ingest_rows: args.ingest_rows,
        seed: args.seed,
    })?;
    println!("{report}");
    let peak = soberana_psi::bench::peak_memory();
    match peak {
        Some(b) => println!(
            "peak resident memory: {:.0} MiB",
            b as f64 / (1 << 20) as f64
        ),
        None => println!("peak resident memory: unknown (no /proc/self/status)"),
    }
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["peak_memory_bytes"] = serde_json::json!(peak);
        println!("{v}");
    }
    Ok(())
}

// ----------------------------------------------------------------- demo

/// The US records the demo plants among generated ones: the firearms of
/// the shipped trace request whose chains the story tells.
fn demo_planted() -> Vec<Planted> {
    let date = |s: &str| Date::parse(s).unwrap_or(Date::from_days(0));
    let planted = |maker: &str,
                   model: &str,
                   caliber: &str,
                   serial: &str,
                   dealer: (&str, &str, &str),
                   dealer_sale: &str,
                   retail: Option<(&str, &str)>| Planted {
        manufacturer: maker.into(),
        model: model.into(),
        caliber: caliber.into(),
        serial: serial.into(),
        dealer: (dealer.0.into(), dealer.1.into(), dealer.2.into()),
        dealer_sale: date(dealer_sale),
        retail: retail.map(|(who, when)| (who.into(), date(when))),
    };
    vec![
        planted(
            "Barrett",
            "M82A1",
            ".50 BMG",
            "AA004512",
            ("Desert Arms LLC (FFL 9-86-013-01-4J-05512)", "Tucson", "AZ"),
            "2023-04-20",
            Some(("Ramirez, Daniel R.", "2023-05-14")),
        ),
        planted(
            "Colt",
            "AR-15",
            "5.56",
            "LGC123456",
            (
                "Borderland Outdoors (FFL 9-86-019-01-5K-02871)",
                "Nogales",
                "AZ",
            ),
            "2023-12-01",
            Some(("Ramirez, Daniel R.", "2024-01-09")),
        ),
        planted(
            "FN Herstal",
            "FN 5.7",
            "5.7x28",
            "386204871",
            ("Lone Star Guns (FFL 5-74-029-01-3F-01177)", "Laredo", "TX"),
            "2024-02-10",
            None,
        ),
        planted(
            "Smith & Wesson",
            "M&P15",
            "5.56",
            "DVB4821",
            ("Lone Star Guns (FFL 5-74-029-01-3F-01177)", "Laredo", "TX"),
            "2022-10-02",
            Some(("Flores, Jose M.", "2022-11-30")),
        ),
    ]
}

/// Step 4 of `soberana demo`: the US node holds generated records with the
/// story's firearms among them; Mexico asks for a trace; the US officer
/// (ATF) traces on the US node's records and releases the answer; both
/// sides compute the same statistics from it.
pub async fn demo(mx: &Node, us: &Node, dir: &Path, draft: ProposalDraft) -> Result<()> {
    use crate::commands::demo::wait_for;
    let records = dir.join("us-firearm-records.csv");
    let opts = SyntheticOptions {
        records: 100_000,
        seed: 7,
        planted: demo_planted(),
    };
    synthetic::write_csv(&opts, BufWriter::new(File::create(&records)?))?;
    let held = hold(us.dir().root(), &records)?;
    println!(
        "   the US node holds {held} acquisition and disposition records (synthetic), loaded all or nothing"
    );
    let trace = mx.propose(draft, None)?;
    let at_us = wait_for(
        us,
        trace.id,
        &[
            ProposalState::AwaitingOfficer,
            ProposalState::Accepted,
            ProposalState::Refused,
        ],
    )
    .await?;
    if at_us.record.state != ProposalState::AwaitingOfficer {
        bail!(
            "the US node did not send the trace to an officer (it is {})",
            at_us.record.state
        );
    }
    println!("   US policy sent it to an officer (ATF), who traces the serials on the US records:");
    let (_, step) = us.answer_trace(
        trace.id,
        TraceRelease {
            officer: OfficerId::new("atf.approver")?,
            conditions: vec![],
            reason: "traced on US acquisition and disposition records".into(),
        },
    )?;
    if let DecisionStep::AwaitingSecondApprover(_) = step {
        println!(
            "   the answer names purchasers, H2 by US rules: a second US approver (FBI) confirms it"
        );
        us.confirm(trace.id, &OfficerId::new("fbi.approver")?)?;
    }
    wait_for(mx, trace.id, &[ProposalState::Answered]).await?;
    let at_mx = mx.show(trace.id)?;
    let received = answer_of(&at_mx)?;
    for r in &received.results {
        println!("     {}", one_line(r));
    }
    let ours = stats_of(mx, &[trace.id])?;
    let theirs = stats_of(us, &[trace.id])?;
    println!(
        "   {} of {} traced to a first retail sale; median time-to-crime {} days; sources: {}",
        ours.all.complete,
        ours.all.traces,
        ours.time_to_crime
            .median_days
            .map_or_else(|| "-".into(), |d| d.to_string()),
        ours.by_source_state
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if ours.digest() != theirs.digest() {
        bail!("the two sides' trace statistics differ");
    }
    println!(
        "   both sides computed the same trace statistics from the answer (sha256 {}…)",
        ours.digest().get(..16).unwrap_or("")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_firearms_with_a_maker_and_a_serial_are_checked_and_each_other_is_named() {
        let draft: ProposalDraft = toml::from_str(include_str!(
            "../../../../examples/proposals/mx-firearm-trace.toml"
        ))
        .unwrap();
        let ProposalBody::FirearmTrace(trace) = &draft.body else {
            panic!("the example is a firearm trace")
        };
        let (ids, skipped) = identifiers_of(trace);
        assert_eq!(
            ids,
            [
                "BARRETT/AA004512",
                "COLT/LGC123456",
                "FNHERSTAL/386204871",
                "SMITH&WESSON/DVB4821",
                "NORINCO/16012345",
            ]
        );
        assert_eq!(skipped, ["5. Romarm/Cugir OBLITERATED: serial obliterated"]);
        // Each is an identifier the PSI layer accepts as it stands.
        for id in &ids {
            let parsed = soberana_psi::Identifier::parse(
                soberana_psi::IdentifierKind::Firearm,
                id,
                &Default::default(),
            )
            .unwrap();
            assert_eq!(parsed.canonical(), format!("firearm:{id}"));
        }
    }

    #[test]
    fn a_trace_proposal_round_trips_through_the_draft_the_generator_writes() {
        let requests = synthetic::requests(1, 1_000, 20, 3);
        let draft = draft_of(
            &requests,
            PartyCode::new("US").unwrap(),
            AgencyId::new("MX.FGR").unwrap(),
        )
        .unwrap();
        let ProposalBody::FirearmTrace(trace) = &draft.body else {
            panic!("a firearm trace")
        };
        assert_eq!(requests_of(trace), requests);
    }
}
