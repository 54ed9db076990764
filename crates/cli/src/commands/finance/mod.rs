//! `soberana finance …`: follow the money through the node's own ledger and
//! across the border by request, and `soberana bench finance`.
//!
//! The commands are thin glue over `soberana_finance`: `generate` writes a
//! two-country ledger, `ingest` loads a country's exports into its node,
//! `trace` and `alerts` analyse them, and three commands carry a trail over
//! the border without any ledger crossing it. `continue` (requester) sends a
//! `FinancialIntelligence` proposal per border account carrying only the
//! account, the amount and the window; `answer` (partner) lets an officer
//! run the next leg on the partner's own data and releases the
//! disclosure-limited `ContinuationAnswer` as the answer item labelled
//! `continuation`; `stitch` (requester) hangs the answers from its trail.
//!
//! # Where the ledger lives
//!
//! Ingested tables stay files in the node directory (`finance/`), not rows
//! of the node's SQLite file. At a hundred million transactions a SQLite
//! table costs about ten times the graph's 44 bytes a transaction on disk,
//! inserts at a fraction of the CSV parse rate, and every trace would still
//! have to read all of it back to build the in-memory graph; the node's
//! SQLite file also holds the log and the proposals, which should not grow
//! by gigabytes or wait behind a bulk load. An ingest therefore validates
//! each file completely while copying it into a staging folder, and only a
//! fully valid set is moved in and named in `finance/ledger.json`, which is
//! replaced atomically: that manifest is the commit point, so a rejected or
//! interrupted ingest leaves nothing loaded. Trails sent over the border are
//! kept beside it in `finance/trails/`, and the pseudonym key that the
//! node's answers use in `finance/pseudonym.key`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use soberana_core::{
    AccountRef, AgencyId, FinancialIntelligence, HandlingCode, OfficerId, Outcome, PartyCode,
    Proposal, ProposalBody, ProposalDraft, ProposalId, ProposalState, Timestamp,
};
use soberana_finance::continuation::{DisclosurePolicy, PseudonymKey};
use soberana_finance::generate::{self, GenerateOptions};
use soberana_finance::ingest::{parse_accounts, parse_holders, parse_reports, read_transactions};
use soberana_finance::svg::{SvgOptions, dollars, render};
use soberana_finance::trace::{Direction, FlowGraph, Leg, NodeKind, Seed, TraceOptions, trace};
use soberana_finance::{
    AccountId, ContinuationAnswer, ContinuationRequest, Country, Graph, GraphBuilder, IngestError,
};
use soberana_node::{Batch, DecisionStep, LedgerManifest, Node, OfficerVerdict, finance_dir};
pub use soberana_node::{ColumnMaps, Table};
use soberana_wire::AnswerItem;

use crate::cli::{DirArg, JsonArg};
use crate::policy::open_node;

/// The label of the answer item that carries a continuation answer.
pub const CONTINUATION_LABEL: &str = "continuation";

/// `soberana finance …`.
#[derive(Debug, Subcommand)]
pub enum FinanceCommand {
    /// Write a synthetic two-country ledger (CSV) with planted typologies and
    /// the demo network: the whole ledger, each country's half, and a summary.
    Generate(GenerateArgs),
    /// Load CSV exports into the node, all or nothing.
    Ingest(IngestArgs),
    /// Follow the money from an account through this node's ledger.
    Trace(TraceArgs),
    /// Typologies of money laundering found in this node's ledger.
    Alerts(AlertsArgs),
    /// As an analyst: confirm or dismiss an incident of this node's alerts,
    /// with a reason; stored in the node with an audit line.
    Verdict(VerdictArgs),
    /// Trace from an account and ask the partner to continue the trail where
    /// it crosses into the partner's jurisdiction (one proposal per account).
    Continue(ContinueArgs),
    /// As the partner's officer: run the next leg of a continuation request
    /// on our own data and release the disclosure-limited answer.
    Answer(AnswerArgs),
    /// Stitch the partner's answers into the trail and print or draw it.
    Stitch(StitchArgs),
}

/// `soberana finance generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Transactions in the whole ledger.
    #[arg(long, visible_alias = "n", default_value_t = 100_000)]
    pub transactions: u64,
    /// Generator seed: the same seed writes the same rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days the ledger spans.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Write only the whole ledger, not each country's half.
    #[arg(long)]
    pub no_split: bool,
}

/// `soberana finance ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Transactions CSV (repeatable).
    #[arg(long)]
    pub transactions: Vec<PathBuf>,
    /// Accounts CSV (repeatable).
    #[arg(long)]
    pub accounts: Vec<PathBuf>,
    /// Holders CSV (repeatable).
    #[arg(long)]
    pub holders: Vec<PathBuf>,
    /// Suspicious-transaction reports CSV (repeatable).
    #[arg(long)]
    pub reports: Vec<PathBuf>,
    /// A TOML file naming this export's columns: tables `[transactions]`,
    /// `[accounts]`, `[holders]`, `[reports]`, each mapping a field to the
    /// header used (e.g. `amount = "importe"`); unnamed fields keep their
    /// standard names.
    #[arg(long)]
    pub columns: Option<PathBuf>,
}

/// The trail options shared by `trace` and `continue`.
#[derive(Debug, Clone, Args)]
pub struct TrailArgs {
    /// The account to start from (`clabe:…`, `iban:…` or `us:ROUTING:ACCOUNT`).
    #[arg(long)]
    pub from: String,
    /// Most hops (default 6).
    #[arg(long)]
    pub hops: Option<u8>,
    /// Only money moved within this long (e.g. `30d`, `12h`) from the start
    /// account's first transaction (its last, going backward), or from
    /// `--since`.
    #[arg(long)]
    pub window: Option<String>,
    /// Start of the window (RFC 3339, e.g. 2025-09-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
}

/// `soberana finance trace`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("output").args(["json", "svg"])))]
pub struct TraceArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Where to start, how far, when.
    #[command(flatten)]
    pub trail: TrailArgs,
    /// Where the money came from, instead of where it went.
    #[arg(long)]
    pub backward: bool,
    /// Print the flow graph as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the flow (Sankey) into this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// `soberana finance alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Most alerts printed, largest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print every alert as JSON.
    #[arg(long)]
    pub json: bool,
    /// Merge alerts into incidents, ranked by risk score, with the reasons.
    #[arg(long)]
    pub incidents: bool,
    /// Typology thresholds as JSON (a `TypologyConfig`; fields left out keep
    /// their defaults), e.g. this party's exemptions. Without it the node's
    /// own `finance/typology.json` is used when present.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `soberana finance verdict`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("finding").required(true).args(["confirmed", "dismissed"])))]
pub struct VerdictArgs {
    /// The incident's key, as `finance alerts --incidents` prints it.
    pub incident: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The incident is laundering, or worth a report.
    #[arg(long)]
    pub confirmed: bool,
    /// The incident is not suspicious.
    #[arg(long)]
    pub dismissed: bool,
    /// Why, in the analyst's words.
    #[arg(long)]
    pub reason: String,
    /// The analyst (an officer registered on the node with the analyst or
    /// approver role).
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: String,
}

/// `soberana finance continue`.
#[derive(Debug, Args)]
pub struct ContinueArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Where to start, how far, when.
    #[command(flatten)]
    pub trail: TrailArgs,
    /// The partner asked (e.g. MX).
    #[arg(long)]
    pub peer: String,
    /// How long after the last arrival the partner should look (e.g. `30d`).
    #[arg(long, default_value = "30d")]
    pub horizon: String,
    /// Hops asked for on the partner's side.
    #[arg(long, default_value_t = 4)]
    pub partner_hops: u8,
    /// Most accounts asked about, largest amounts first.
    #[arg(long, default_value_t = 10)]
    pub max_requests: usize,
    /// The requesting agency (default: US.FINCEN for US, MX.UIF for MX).
    #[arg(long)]
    pub agency: Option<String>,
    /// The officer making the request.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: Option<String>,
}

/// `soberana finance answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The incoming proposal's id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Most hops run on our side (our disclosure policy caps it at 4).
    #[arg(long, default_value_t = 4)]
    pub hops: u8,
    /// A condition of acceptance (repeatable).
    #[arg(long = "condition")]
    pub conditions: Vec<String>,
    /// Why, in plain words: it travels to the partner.
    #[arg(
        long,
        default_value = "the trail was continued on our own data; only totals and pseudonyms are released"
    )]
    pub reason: String,
    /// The deciding officer: a registered approver of this node (not
    /// needed with --dry-run).
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: Option<String>,
    /// Compute and print the answer for review without deciding.
    #[arg(long)]
    pub dry_run: bool,
}

/// `soberana finance stitch`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("output").args(["json", "svg"])))]
pub struct StitchArgs {
    /// The id of any proposal `finance continue` sent for the trail.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Print the stitched flow graph as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the stitched flow into this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// `soberana bench finance`.
#[derive(Debug, Args)]
pub struct BenchFinanceArgs {
    /// Transactions in the generated ledger.
    #[arg(long, default_value_t = 10_000_000)]
    pub n: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Threads for the typology scan.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Transactions in the independent (AMLworld-style) ledger the
    /// detectors are also measured on; 0 skips it.
    #[arg(long, default_value_t = 2_000_000)]
    pub independent_n: u64,
    /// Seed of the independent ledger (seed 1 is kept for tuning).
    #[arg(long, default_value_t = 2)]
    pub independent_seed: u64,
    /// JSON on the last line.
    #[command(flatten)]
    pub json: JsonArg,
}

/// Runs one `soberana finance` command.
pub fn run(cmd: FinanceCommand) -> Result<()> {
    match cmd {
        FinanceCommand::Generate(args) => generate_cmd(args),
        FinanceCommand::Ingest(args) => ingest_cmd(args),
        FinanceCommand::Trace(args) => trace_cmd(args),
        FinanceCommand::Alerts(args) => alerts_cmd(args),
        FinanceCommand::Verdict(args) => verdict_cmd(args),
        FinanceCommand::Continue(args) => continue_cmd(args),
        FinanceCommand::Answer(args) => answer_cmd(args),
        FinanceCommand::Stitch(args) => stitch_cmd(args),
    }
}

/// Seconds the calling thread has spent on a CPU, from the kernel's
/// scheduler statistics (Linux; `None` elsewhere).
fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// `soberana bench finance`.
pub fn bench(args: BenchFinanceArgs) -> Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    eprintln!(
        "generating {} transactions, then ingest, traces and typology scan…",
        args.n
    );
    let report = soberana_finance::bench::run(&soberana_finance::bench::BenchOptions {
        transactions: args.n,
        seed: args.seed,
        scan_threads: args.threads.max(1),
        independent_transactions: args.independent_n,
        independent_seed: args.independent_seed,
        thread_cpu: Some(thread_cpu_secs),
        ..Default::default()
    })?;
    println!("{report}");
    if args.json.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

// ---------------------------------------------------------------- generate

fn buffered(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?,
    ))
}

/// Writes one ledger (whole, or one country's half) into `dir`.
fn write_ledger(opts: &GenerateOptions, dir: &Path) -> Result<generate::Summary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let summary = generate::write(opts, buffered(&dir.join("transactions.csv"))?)?;
    if opts.only_country.is_none() {
        generate::write_accounts(
            opts,
            buffered(&dir.join("accounts.csv"))?,
            buffered(&dir.join("holders.csv"))?,
        )?;
        generate::write_reports(opts, buffered(&dir.join("reports.csv"))?)?;
    } else {
        write_country_tables(opts, dir)?;
    }
    serde_json::to_writer_pretty(buffered(&dir.join("summary.json"))?, &summary)?;
    Ok(summary)
}

/// The accounts, holders and reports a country holds: the population's
/// tables filtered on their country column (the last one).
fn write_country_tables(opts: &GenerateOptions, dir: &Path) -> Result<()> {
    let Some(country) = opts.only_country else {
        return Ok(());
    };
    let mut accounts = Vec::new();
    let mut holders = Vec::new();
    generate::write_accounts(opts, &mut accounts, &mut holders)?;
    for (name, text) in [("accounts.csv", accounts), ("holders.csv", holders)] {
        let mut out = buffered(&dir.join(name))?;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let ours = line.ends_with(format!(",{country}").as_bytes());
            if (i == 0 || ours) && !line.is_empty() {
                out.write_all(line)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
    }
    let mut out = buffered(&dir.join("reports.csv"))?;
    writeln!(out, "report_id,filed,account,tx_ids")?;
    for r in generate::reports(opts)? {
        if r.account.country() == country {
            let ids: Vec<String> = r.transactions.iter().map(|t| t.0.to_string()).collect();
            writeln!(out, "{},{},{},{}", r.id, r.filed, r.account, ids.join(";"))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn generate_cmd(args: GenerateArgs) -> Result<()> {
    if args.transactions == 0 {
        bail!("--transactions must be at least 1");
    }
    let base = GenerateOptions {
        seed: args.seed,
        transactions: args.transactions,
        days: args.days,
        ..GenerateOptions::default()
    };
    let started = Instant::now();
    // The three files are independent: write them side by side.
    let (whole, halves) = std::thread::scope(|s| {
        let halves: Vec<_> = if args.no_split {
            Vec::new()
        } else {
            [Country::US, Country::MX]
                .into_iter()
                .map(|c| {
                    let opts = GenerateOptions {
                        only_country: Some(c),
                        ..base.clone()
                    };
                    let dir = args.out.join(c.as_str().to_ascii_lowercase());
                    s.spawn(move || write_ledger(&opts, &dir).map(|sum| (c, sum)))
                })
                .collect()
        };
        let whole = write_ledger(&base, &args.out);
        let halves: Vec<Result<(Country, generate::Summary)>> = halves
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a generator thread failed")))
            })
            .collect();
        (whole, halves)
    });
    let summary = whole?;
    println!(
        "{} transactions, {} accounts, {} planted patterns → {} ({:.1} s)",
        summary.transactions,
        summary.accounts,
        summary.planted.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    for half in halves {
        let (c, s) = half?;
        println!(
            "  {c}'s half: {} transactions → {}",
            s.transactions,
            args.out.join(c.as_str().to_ascii_lowercase()).display()
        );
    }
    if let Some((collector, _)) = summary.scenario.first() {
        println!("demo collector (structured cash deposits): {collector}");
    }
    Ok(())
}

// ------------------------------------------------------------------ ledger

fn require_node(node: &Path) -> Result<()> {
    if !node.join("node.toml").exists() {
        bail!(
            "`{}` is not a node directory (no node.toml); make one with `soberana init`",
            node.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` through a synced temporary file and a rename,
/// so that readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot write `{}`", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(())
}

/// Reads a source file while copying it into the staging folder, counting
/// lines and printing a progress line on standard error now and then.
struct Tee<'a> {
    inner: File,
    copy: BufWriter<File>,
    copy_error: Option<io::Error>,
    label: &'a str,
    total: u64,
    bytes: u64,
    lines: u64,
    started: Instant,
    shown: Instant,
    quiet: bool,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        if let Err(e) = self.copy.write_all(chunk) {
            let again = io::Error::new(e.kind(), e.to_string());
            self.copy_error = Some(e);
            return Err(again);
        }
        self.bytes += n as u64;
        self.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if !self.quiet && self.shown.elapsed() >= Duration::from_millis(500) {
            self.shown = Instant::now();
            let pct = if self.total == 0 {
                100.0
            } else {
                self.bytes as f64 * 100.0 / self.total as f64
            };
            eprint!(
                "\r{}: {} rows read ({pct:.0}%), {:.0} rows/s   ",
                self.label,
                self.lines.saturating_sub(1),
                self.lines as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
            );
        }
        Ok(n)
    }
}

/// Prints every bad row of a rejected file and turns it into an error.
fn rejected(source: &Path, e: &IngestError) -> anyhow::Error {
    for row in &e.rows {
        eprintln!("{}:{}: {}", source.display(), row.line, row.reason);
    }
    if e.total_bad > e.rows.len() as u64 {
        eprintln!("… and {} more bad rows", e.total_bad - e.rows.len() as u64);
    }
    anyhow::anyhow!(
        "`{}` has {} bad row(s); nothing was loaded: fix them (or map the columns with --columns) and ingest again",
        source.display(),
        e.total_bad
    )
}

/// Validates `source` as a `table` while copying it to `staged`.
fn stage(
    source: &Path,
    table: Table,
    maps: &ColumnMaps,
    staged: &Path,
    quiet: bool,
) -> Result<u64> {
    let inner =
        File::open(source).with_context(|| format!("cannot open `{}`", source.display()))?;
    let total = inner.metadata().map(|m| m.len()).unwrap_or(0);
    let label = format!("{} {}", table.name(), source.display());
    let now = Instant::now();
    let mut tee = Tee {
        inner,
        copy: BufWriter::with_capacity(1 << 20, File::create(staged)?),
        copy_error: None,
        label: &label,
        total,
        bytes: 0,
        lines: 0,
        started: now,
        shown: now,
        quiet,
    };
    let reader = BufReader::with_capacity(1 << 16, &mut tee);
    let result: std::result::Result<u64, IngestError> = match table {
        Table::Transactions => {
            read_transactions(reader, &maps.transactions, &mut GraphBuilder::new())
        }
        Table::Accounts => parse_accounts(reader, &maps.accounts).map(|v| v.len() as u64),
        Table::Holders => parse_holders(reader, &maps.holders).map(|v| v.len() as u64),
        Table::Reports => parse_reports(reader, &maps.reports).map(|v| v.len() as u64),
    };
    if let Some(e) = tee.copy_error.take() {
        return Err(e).with_context(|| format!("cannot copy into `{}`", staged.display()));
    }
    let secs = tee.started.elapsed().as_secs_f64();
    match result {
        Ok(rows) => {
            let copy = tee.copy.into_inner().map_err(|e| e.into_error())?;
            copy.sync_all()?;
            if quiet {
                return Ok(rows);
            }
            eprintln!(
                "\r{label}: {rows} rows valid in {secs:.1} s ({:.0} rows/s)   ",
                rows as f64 / secs.max(1e-9)
            );
            Ok(rows)
        }
        Err(e) => {
            if !quiet {
                eprintln!();
            }
            Err(rejected(source, &e))
        }
    }
}

fn ingest_cmd(args: IngestArgs) -> Result<()> {
    let node = &args.dir.dir;
    require_node(node)?;
    let maps: ColumnMaps = match &args.columns {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("`{}` is not a column mapping", path.display()))?
        }
        None => ColumnMaps::default(),
    };
    let inputs: Vec<(Table, PathBuf)> = [
        (Table::Transactions, &args.transactions),
        (Table::Accounts, &args.accounts),
        (Table::Holders, &args.holders),
        (Table::Reports, &args.reports),
    ]
    .into_iter()
    .flat_map(|(t, files)| files.iter().map(move |f| (t, f.clone())))
    .collect();
    let total = ingest(node, &inputs, &maps, false)?;
    println!("the node now holds {total} transactions");
    Ok(())
}

/// Loads `inputs` into the node at `node`, all or nothing: every file is
/// validated in full before any is named in the manifest. Returns the
/// transactions the node holds afterwards. `quiet` drops the progress and
/// per-file lines (bad rows are always printed).
pub fn ingest(
    node: &Path,
    inputs: &[(Table, PathBuf)],
    maps: &ColumnMaps,
    quiet: bool,
) -> Result<u64> {
    require_node(node)?;
    if inputs.is_empty() {
        bail!("nothing to ingest: give --transactions, --accounts, --holders or --reports");
    }
    let fin = finance_dir(node);
    std::fs::create_dir_all(&fin)?;
    // Staging folders of an interrupted ingest were never committed.
    for entry in std::fs::read_dir(&fin)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".staging-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let staging = fin.join(format!(
        ".staging-{}-{}",
        std::process::id(),
        Timestamp::now().unix_millis()
    ));
    std::fs::create_dir_all(&staging)?;
    let mut manifest = LedgerManifest::load(node)?;
    let first = manifest.batches.len() + 1;
    let staged: Result<Vec<Batch>> = inputs
        .iter()
        .enumerate()
        .map(|(i, (table, source))| {
            let file = format!("{:06}-{}.csv", first + i, table.name());
            let rows = stage(source, *table, maps, &staging.join(&file), quiet)?;
            Ok(Batch {
                table: *table,
                file,
                source: source.display().to_string(),
                rows,
                loaded: Timestamp::now(),
                columns: maps.clone(),
            })
        })
        .collect();
    let batches = match staged {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    for b in &batches {
        std::fs::rename(staging.join(&b.file), fin.join(&b.file))?;
    }
    let _ = std::fs::remove_dir_all(&staging);
    manifest.batches.extend(batches.iter().cloned());
    manifest.save(node)?;
    for b in batches.iter().filter(|_| !quiet) {
        println!(
            "loaded {} {} rows from {}",
            b.rows,
            b.table.name(),
            b.source
        );
    }
    Ok(manifest.transactions())
}

/// Builds the node's graph from everything loaded, reports applied (the
/// node's own rule, which the desk uses too).
pub fn load_graph(node: &Path) -> Result<Graph> {
    require_node(node)?;
    Ok(soberana_node::load_graph(node)?)
}

// ------------------------------------------------------------------- trace

/// Parses `30d`, `12h`, `90m`, `3600s` or `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().with_context(|| {
        format!("duration `{text}` does not start with a number; write e.g. `30d`")
    })?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("duration `{text}` has unit `{unit}`; use s, m, h, d or w"),
    };
    n.checked_mul(unit)
        .filter(|&s| s > 0)
        .with_context(|| format!("duration `{text}` must be positive and not absurdly long"))
}

fn node_country(node: &Node) -> Result<Country> {
    Country::new(node.party().as_str()).map_err(Into::into)
}

/// Runs a trace with the command line's options.
fn run_trace(
    graph: &Graph,
    home: Country,
    args: &TrailArgs,
    direction: Direction,
) -> Result<FlowGraph> {
    let account = AccountId::new(&args.from)?;
    let mut opts = match direction {
        Direction::Forward => TraceOptions::forward(home),
        Direction::Backward => TraceOptions::backward(home),
    };
    if let Some(h) = args.hops {
        if h == 0 {
            bail!("--hops must be at least 1");
        }
        opts.max_hops = h;
    }
    let since = args
        .since
        .as_deref()
        .map(|s| Timestamp::parse(s).map(|t| t.unix_millis().div_euclid(1000)))
        .transpose()?;
    if let Some(s) = since {
        match direction {
            Direction::Forward => opts.from = s,
            Direction::Backward => opts.to = s,
        }
    }
    if let Some(w) = &args.window {
        let w = parse_duration(w)?;
        let a = graph.account(&account).with_context(|| {
            format!("account `{account}` has no transactions in this ledger; check the identifier")
        })?;
        let times = graph
            .outgoing(a)
            .iter()
            .chain(graph.incoming(a))
            .map(|&t| graph.time(t));
        match direction {
            Direction::Forward => {
                let start = since.or_else(|| times.min()).unwrap_or(0);
                opts.from = start;
                opts.to = start.saturating_add(w);
            }
            Direction::Backward => {
                let end = since.or_else(|| times.max()).unwrap_or(0);
                opts.to = end;
                opts.from = end.saturating_sub(w);
            }
        }
    }
    Ok(trace(
        graph,
        &[Seed {
            account,
            amount: None,
        }],
        &opts,
    )?)
}

fn usd(cents: i64) -> String {
    dollars(cents)
}

fn when(secs: i64) -> String {
    Timestamp::from_unix_millis(secs.saturating_mul(1000)).to_string()
}

/// Prints a flow graph for people: nodes by hop, the partner's leg marked.
pub fn print_flow(flow: &FlowGraph) {
    let home_nodes = flow.nodes.iter().filter(|n| n.leg == Leg::Home).count();
    println!(
        "{} trace, rule {}: {} seeded, {} nodes ({} from {}'s ledger), {} edges",
        match flow.direction {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        },
        flow.rule,
        usd(flow.seeded),
        flow.nodes.len(),
        home_nodes,
        flow.home,
        flow.edges.len()
    );
    let mut order: Vec<usize> = (0..flow.nodes.len()).collect();
    order.sort_by_key(|&i| {
        let n = &flow.nodes[i];
        (n.hop, std::cmp::Reverse(n.inflow.max(n.outflow)))
    });
    const SHOWN: usize = 40;
    for &i in order.iter().take(SHOWN) {
        let n = &flow.nodes[i];
        let kind = match n.kind {
            NodeKind::Seed => "seed",
            NodeKind::Account => "account",
            NodeKind::Border => "BORDER",
            NodeKind::CashOut => "cash out",
            NodeKind::CashIn => "cash in",
            NodeKind::Partner => "partner",
        };
        let leg = match n.leg {
            Leg::Home => String::new(),
            Leg::Partner(c) => format!("  [{c}'s leg]"),
        };
        println!(
            "  hop {:>2} {:<9} {:<44} in {:>16}  out {:>16}{}{}{}",
            n.hop,
            kind,
            n.key,
            usd(n.inflow),
            usd(n.outflow),
            if n.reported { "  reported" } else { "" },
            if n.border_zone { "  border zone" } else { "" },
            leg
        );
    }
    if flow.nodes.len() > SHOWN {
        println!(
            "  … {} more nodes (--json for all)",
            flow.nodes.len() - SHOWN
        );
    }
}

fn trace_cmd(args: TraceArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let home = node_country(&node)?;
    let graph = load_graph(&args.dir.dir)?;
    let direction = if args.backward {
        Direction::Backward
    } else {
        Direction::Forward
    };
    let flow = run_trace(&graph, home, &args.trail, direction)?;
    if args.json {
        println!("{}", flow.to_json());
        return Ok(());
    }
    print_flow(&flow);
    // Only a forward trail can be continued by the partner.
    for (_, n) in flow
        .border_nodes()
        .filter(|_| direction == Direction::Forward)
    {
        if let Some(c) = n.country {
            println!(
                "the trail crosses into {c} at {} ({}); ask {c} to continue it with\n  soberana finance continue --dir {} --from {} --peer {c}",
                n.key,
                usd(n.inflow),
                args.dir.dir.display(),
                args.trail.from
            );
            break;
        }
    }
    if let Some(path) = &args.svg {
        draw(
            &flow,
            path,
            &format!("Follow the money from {}", args.trail.from),
        )?;
    }
    Ok(())
}

fn draw(flow: &FlowGraph, path: &Path, title: &str) -> Result<()> {
    let svg = render(
        flow,
        &SvgOptions {
            title: title.to_owned(),
            ..SvgOptions::default()
        },
    );
    std::fs::write(path, svg).with_context(|| format!("cannot write `{}`", path.display()))?;
    println!("flow drawn to {}", path.display());
    Ok(())
}

fn print_precision(precision: &[soberana_finance::verdict::PeriodPrecision]) {
    if precision.is_empty() {
        println!("no verdicts yet: give one with `soberana finance verdict INCIDENT`");
        return;
    }
    println!("precision of worked incidents, week by week:");
    for p in precision {
        println!(
            "  week of {}  {} confirmed, {} dismissed, precision {:.2}",
            when(p.start),
            p.confirmed,
            p.dismissed,
            p.precision
        );
    }
}

fn alerts_cmd(args: AlertsArgs) -> Result<()> {
    if args.incidents {
        require_node(&args.dir.dir)?;
        let node = open_node(&args.dir.dir)?;
        let review = node.alert_review(args.config.as_deref())?;
        if args.json {
            let incidents: Vec<_> = review.incidents.iter().map(|i| &i.incident).collect();
            println!("{}", serde_json::to_string(&incidents)?);
            return Ok(());
        }
        println!(
            "{} incidents ({} alerts) in {} transactions, riskiest first",
            review.incidents.len(),
            review.alerts,
            review.transactions
        );
        for r in review.incidents.iter().take(args.limit) {
            let i = &r.incident;
            let kinds: Vec<&str> = i.kinds.iter().map(|k| k.name()).collect();
            println!(
                "  {}  score {:>5.2}  {:<28} {:>16}  {} … {}",
                r.key,
                i.score,
                kinds.join("+"),
                usd(i.value),
                when(i.first),
                when(i.last)
            );
            for reason in &i.reasons {
                println!("      {reason}");
            }
            if let Some(v) = &r.verdict {
                println!(
                    "      verdict: {} by {} on {}: {}",
                    finding_word(v.finding),
                    v.officer,
                    when(v.at),
                    soberana_core::visible(&v.reason)
                );
            }
        }
        print_precision(&review.precision);
        return Ok(());
    }
    let cfg = soberana_node::typology_config(&args.dir.dir, args.config.as_deref())?;
    let graph = load_graph(&args.dir.dir)?;
    let mut alerts = soberana_finance::scan(&graph, &cfg);
    alerts.sort_by_key(|a| std::cmp::Reverse(a.value));
    if args.json {
        println!("{}", serde_json::to_string(&alerts)?);
        return Ok(());
    }
    println!("{} alerts in {} transactions", alerts.len(), graph.len());
    for a in alerts.iter().take(args.limit) {
        println!(
            "  {:<16} {:<44} {:>16}  {} … {}  {} transactions",
            a.kind.name(),
            a.account,
            usd(a.value),
            when(a.first),
            when(a.last),
            a.evidence.len()
        );
    }
    Ok(())
}

fn finding_word(f: soberana_finance::verdict::Finding) -> &'static str {
    match f {
        soberana_finance::verdict::Finding::Confirmed => "confirmed",
        soberana_finance::verdict::Finding::Dismissed => "dismissed",
    }
}

fn verdict_cmd(args: VerdictArgs) -> Result<()> {
    use soberana_finance::verdict::Finding;
    require_node(&args.dir.dir)?;
    let officer = OfficerId::new(&args.officer)
        .with_context(|| format!("`{}` is not an officer id", args.officer))?;
    let finding = if args.confirmed {
        Finding::Confirmed
    } else {
        Finding::Dismissed
    };
    let node = open_node(&args.dir.dir)?;
    let v = node.record_alert_verdict(&officer, &args.incident, finding, &args.reason)?;
    println!(
        "{} {} by {}; stored on the node",
        v.incident,
        finding_word(v.finding),
        v.officer
    );
    print_precision(&node.alert_precision()?);
    Ok(())
}

// ------------------------------------------------------------ continuation

/// The numbering scheme and number of an account, as a proposal names it.
pub fn account_ref(account: &AccountId) -> AccountRef {
    let text = account.as_str();
    let (scheme, number) = if let Some(n) = text.strip_prefix("clabe:") {
        ("clabe", n)
    } else if let Some(n) = text.strip_prefix("iban:") {
        ("iban", n)
    } else if let Some(n) = text.strip_prefix("us:") {
        ("us_aba", n)
    } else {
        ("", text)
    };
    AccountRef {
        scheme: scheme.to_owned(),
        number: number.to_owned(),
        institution: String::new(),
    }
}

/// The account a proposal names, checked (a partner's input).
pub fn account_of(r: &AccountRef) -> Result<AccountId> {
    let prefix = match r.scheme.as_str() {
        "clabe" => "clabe",
        "iban" => "iban",
        "us_aba" => "us",
        other => bail!("account scheme `{other}` is unknown; expected clabe, iban or us_aba"),
    };
    Ok(AccountId::new(&format!("{prefix}:{}", r.number))?)
}

/// The draft asking `peer` to continue the trail from `req`'s account.
fn continuation_draft(
    req: &ContinuationRequest,
    peer: PartyCode,
    agency: &AgencyId,
) -> Result<ProposalDraft> {
    Ok(ProposalDraft {
        to: peer,
        requesting_agency: agency.clone(),
        purpose: format!("Continue a financial trace that reached an account held in {peer}"),
        legal_basis: "Egmont Group principles for information exchange between FIUs".into(),
        handling: HandlingCode::H2,
        deadline: Timestamp::now().plus_seconds(14 * 86_400),
        related_to: vec![],
        body: ProposalBody::FinancialIntelligence(FinancialIntelligence {
            accounts: vec![account_ref(&req.account)],
            window_from: Timestamp::from_unix_millis(req.from.saturating_mul(1000)),
            window_to: Timestamp::from_unix_millis(req.to.saturating_mul(1000)),
            amount_minor: u64::try_from(req.value).unwrap_or(0),
            currency: "USD".into(),
            question: format!(
                "Where did these funds go after arrival (up to {} hops), and are any onward accounts already reported?",
                req.max_hops
            ),
        }),
    })
}

/// The continuation requests an incoming proposal carries, one per account,
/// rebuilt from its fields (a partner's input: checked here and again by
/// `continuation::answer`).
pub fn requests_of(proposal: &Proposal, hops: u8) -> Result<Vec<ContinuationRequest>> {
    let ProposalBody::FinancialIntelligence(f) = &proposal.body else {
        bail!(
            "proposal {} is a {}, not a request to continue a financial trace",
            proposal.id,
            proposal.body.kind()
        );
    };
    if !(f.currency.is_empty() || f.currency == "USD") {
        bail!(
            "the amount is in `{}`; continuation amounts are in USD cents",
            f.currency
        );
    }
    let value = i64::try_from(f.amount_minor).context("the amount is too large")?;
    let requester = Country::new(proposal.from.as_str())?;
    f.accounts
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(ContinuationRequest {
                request_id: request_id(proposal.id, i, f.accounts.len()),
                requester,
                account: account_of(r)?,
                value,
                tx_count: 0,
                from: f.window_from.unix_millis().div_euclid(1000),
                to: f.window_to.unix_millis().div_euclid(1000),
                max_hops: hops,
            })
        })
        .collect()
}

/// A request's id: the proposal's id, numbered when it names several
/// accounts.
fn request_id(id: ProposalId, i: usize, n: usize) -> String {
    if n == 1 {
        id.to_string()
    } else {
        format!("{id}.{}", i + 1)
    }
}

/// A trail sent over the border: our flow and what we asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trail {
    /// Where it started.
    pub from: String,
    /// Our side of the flow.
    pub flow: FlowGraph,
    /// One per proposal sent.
    pub legs: Vec<TrailLeg>,
}

/// One continuation asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailLeg {
    /// The proposal that carries it.
    pub proposal: ProposalId,
    /// The request, as the partner will rebuild it.
    pub request: ContinuationRequest,
}

fn trails_dir(node: &Path) -> PathBuf {
    finance_dir(node).join("trails")
}

/// Saves a trail under its first proposal's id.
pub fn save_trail(node: &Path, trail: &Trail) -> Result<()> {
    let Some(first) = trail.legs.first() else {
        return Ok(());
    };
    let dir = trails_dir(node);
    std::fs::create_dir_all(&dir)?;
    write_atomically(
        &dir.join(format!("{}.json", first.proposal)),
        &serde_json::to_vec(trail)?,
    )
}

/// The trail that sent proposal `id`.
pub fn find_trail(node: &Path, id: ProposalId) -> Result<Trail> {
    let dir = trails_dir(node);
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!(
            "this node sent no continuation requests (no `{}`)",
            dir.display()
        )
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let trail: Trail = serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("`{}` is damaged", path.display()))?;
        if trail.legs.iter().any(|l| l.proposal == id) {
            return Ok(trail);
        }
    }
    bail!("proposal {id} is not a continuation request this node sent")
}

/// What `send_continuations` asks, and of whom.
#[derive(Debug, Clone)]
pub struct ContinueOptions {
    /// Where to start, how far, when.
    pub trail: TrailArgs,
    /// The partner asked.
    pub peer: PartyCode,
    /// Seconds after the last arrival the partner should look.
    pub horizon: i64,
    /// Hops asked for on the partner's side.
    pub partner_hops: u8,
    /// Most accounts asked about, largest amounts first.
    pub max_requests: usize,
    /// The requesting agency.
    pub agency: AgencyId,
    /// The officer making the request.
    pub officer: Option<OfficerId>,
}

/// Traces from `opts.trail.from` and sends one proposal per account reached
/// in the partner's jurisdiction; returns the trail (saved in the node
/// directory).
pub fn send_continuations(node: &Node, graph: &Graph, opts: &ContinueOptions) -> Result<Trail> {
    let (trail_args, peer) = (&opts.trail, opts.peer);
    let home = node_country(node)?;
    let partner = Country::new(peer.as_str())?;
    if partner == home {
        bail!("--peer must be another country than this node's ({home})");
    }
    let flow = run_trace(graph, home, trail_args, Direction::Forward)?;
    let mut reqs =
        soberana_finance::requests(&flow, partner, opts.horizon, opts.partner_hops, "pending");
    if reqs.is_empty() {
        bail!(
            "the trail from `{}` reaches no account held in {partner}: there is nothing to ask {partner}",
            trail_args.from
        );
    }
    reqs.sort_by_key(|r| std::cmp::Reverse(r.value));
    reqs.truncate(opts.max_requests.max(1));
    let mut trail = Trail {
        from: trail_args.from.clone(),
        flow,
        legs: Vec::new(),
    };
    for mut req in reqs {
        let proposal = node.propose(
            continuation_draft(&req, peer, &opts.agency)?,
            opts.officer.clone(),
        )?;
        req.request_id = proposal.id.to_string();
        trail.legs.push(TrailLeg {
            proposal: proposal.id,
            request: req,
        });
        save_trail(node.dir().root(), &trail)?;
    }
    Ok(trail)
}

fn default_agency(home: Country) -> Result<AgencyId> {
    Ok(AgencyId::new(match home.as_str() {
        "US" => "US.FINCEN",
        "MX" => "MX.UIF",
        other => bail!("give the requesting agency with --agency (no default for `{other}`)"),
    })?)
}

fn continue_cmd(args: ContinueArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let home = node_country(&node)?;
    let graph = load_graph(&args.dir.dir)?;
    let peer = PartyCode::new(&args.peer)?;
    let agency = match &args.agency {
        Some(a) => AgencyId::new(a)?,
        None => default_agency(home)?,
    };
    let officer = args.officer.as_deref().map(OfficerId::new).transpose()?;
    let trail = send_continuations(
        &node,
        &graph,
        &ContinueOptions {
            trail: args.trail.clone(),
            peer,
            horizon: parse_duration(&args.horizon)?,
            partner_hops: args.partner_hops,
            max_requests: args.max_requests,
            agency,
            officer,
        },
    )?;
    print_flow(&trail.flow);
    for leg in &trail.legs {
        println!(
            "asked {peer} to continue from {} ({} in {} transactions, {} … {}): proposal {}",
            leg.request.account,
            usd(leg.request.value),
            leg.request.tx_count,
            when(leg.request.from),
            when(leg.request.to),
            leg.proposal
        );
    }
    if let Some(first) = trail.legs.first() {
        println!(
            "only the account, the amount and the window were sent. Once {peer} answers:\n  soberana finance stitch {} --dir {}",
            first.proposal,
            args.dir.dir.display()
        );
    }
    Ok(())
}

/// The pseudonym key this node's answers use, made on first use.
fn pseudonym_key(node: &Path) -> Result<PseudonymKey> {
    let path = finance_dir(node).join("pseudonym.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!(
                    "`{}` is not a 32-byte key; remove it to make a new one (pseudonyms will change)",
                    path.display()
                )
            })?;
            Ok(PseudonymKey::new(key))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::getrandom(&mut key)
                .map_err(|e| anyhow::anyhow!("no randomness for the pseudonym key: {e}"))?;
            std::fs::create_dir_all(finance_dir(node))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(&path)
                .with_context(|| format!("cannot create `{}`", path.display()))?;
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(PseudonymKey::new(key))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Runs the next leg of every account an incoming continuation request
/// names, on this node's own ledger, and returns the answers.
pub fn compute_answers(
    node: &Node,
    graph: &Graph,
    id: ProposalId,
    hops: u8,
) -> Result<Vec<ContinuationAnswer>> {
    let detail = node.show(id)?;
    let home = node_country(node)?;
    let key = pseudonym_key(node.dir().root())?;
    requests_of(&detail.record.proposal, hops)?
        .iter()
        .map(|req| {
            Ok(soberana_finance::answer(
                graph,
                req,
                home,
                &key,
                &DisclosurePolicy::default(),
                &soberana_finance::TypologyConfig::default(),
            )?)
        })
        .collect()
}

/// One line a person can read about an answer.
fn answer_summary(a: &ContinuationAnswer) -> String {
    if !a.found {
        return format!("no transactions of {} in the window", a.account);
    }
    format!(
        "{}: {} moved on through {} accounts in {} transactions, {} retained, {} withdrawn in cash ({} in border zones), {} sent abroad{}",
        a.account,
        usd(a.moved_on),
        a.accounts_reached,
        a.transactions,
        usd(a.retained),
        usd(a.cash_out),
        usd(a.cash_out_border_zone),
        usd(a.abroad),
        if a.account_reported {
            "; the account is already reported"
        } else {
            ""
        }
    )
}

/// The items an officer releases for `answers`: each answer's JSON under
/// the label `continuation`, and one readable summary.
pub fn release_items(answers: &[ContinuationAnswer]) -> Result<Vec<AnswerItem>> {
    let mut items = Vec::new();
    for a in answers {
        items.push(AnswerItem {
            label: CONTINUATION_LABEL.into(),
            value: serde_json::to_string(a)?,
        });
        items.push(AnswerItem {
            label: "summary".into(),
            value: answer_summary(a),
        });
    }
    Ok(items)
}

fn answer_cmd(args: AnswerArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let detail = node.show(id)?;
    if detail.record.state != ProposalState::AwaitingOfficer && !args.dry_run {
        bail!(
            "proposal {id} is {}, not awaiting an officer",
            detail.record.state
        );
    }
    let graph = load_graph(&args.dir.dir)?;
    let answers = compute_answers(&node, &graph, id, args.hops)?;
    for a in &answers {
        println!("{}", answer_summary(a));
    }
    let release = release_items(&answers)?;
    if args.dry_run {
        for item in release.iter().filter(|i| i.label == CONTINUATION_LABEL) {
            println!("{}", item.value);
        }
        println!("(dry run: nothing decided, nothing sent)");
        return Ok(());
    }
    let Some(officer) = args.officer.as_deref() else {
        bail!(
            "name the deciding officer with --officer ID (a registered approver; see `soberana officer list --dir {}`)",
            args.dir.dir.display()
        );
    };
    let officer = OfficerId::new(officer)?;
    let outcome = if args.conditions.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::AcceptedWithConditions {
            conditions: args.conditions.clone(),
        }
    };
    let step = node.decide(
        id,
        OfficerVerdict {
            officer: officer.clone(),
            outcome,
            reason: args.reason,
            release,
        },
    )?;
    match step {
        DecisionStep::Decided(decision) => println!(
            "{id}: {} by {officer}; the continuation (totals and pseudonyms only) is queued for {}",
            decision.outcome.as_str(),
            detail.record.peer
        ),
        DecisionStep::AwaitingSecondApprover(_) => println!(
            "{id}: releasing under {} needs a second approver; nothing has left. Another approver runs `soberana confirm {id} --dir {} --officer ID`",
            detail.record.proposal.handling,
            args.dir.dir.display()
        ),
    }
    Ok(())
}

/// What became of one leg when stitching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegStatus {
    /// Stitched: the partner's answer.
    Stitched(Box<ContinuationAnswer>),
    /// Not answered yet (the proposal's state).
    Waiting(ProposalState),
    /// Answered without a usable continuation (why).
    Unusable(String),
}

/// Stitches every answered leg of `trail` into its flow.
pub fn stitch_trail(node: &Node, trail: &Trail) -> Result<(FlowGraph, Vec<LegStatus>)> {
    let mut flow = trail.flow.clone();
    let mut status = Vec::new();
    for leg in &trail.legs {
        let detail = node.show(leg.proposal)?;
        let Some(answer) = detail
            .answer
            .filter(|_| detail.record.state == ProposalState::Answered)
        else {
            status.push(LegStatus::Waiting(detail.record.state));
            continue;
        };
        // The partner's release is peer input: parse strictly, check by stitching.
        let parsed = answer
            .items
            .iter()
            .filter(|i| i.label == CONTINUATION_LABEL)
            .map(|i| serde_json::from_str::<ContinuationAnswer>(&i.value))
            .find(|a| {
                a.as_ref()
                    .is_ok_and(|a| a.request_id == leg.request.request_id)
            });
        let result = match parsed {
            None => LegStatus::Unusable("the answer carries no continuation for it".into()),
            Some(Err(e)) => LegStatus::Unusable(format!("the continuation does not parse: {e}")),
            Some(Ok(a)) => match soberana_finance::stitch(&mut flow, &leg.request, &a) {
                Ok(_) => LegStatus::Stitched(Box::new(a)),
                Err(e) => LegStatus::Unusable(e.to_string()),
            },
        };
        status.push(result);
    }
    Ok((flow, status))
}

fn stitch_cmd(args: StitchArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let trail = find_trail(&args.dir.dir, id)?;
    let (flow, status) = stitch_trail(&node, &trail)?;
    if args.json {
        println!("{}", flow.to_json());
        return Ok(());
    }
    print_flow(&flow);
    for (leg, s) in trail.legs.iter().zip(&status) {
        match s {
            LegStatus::Stitched(a) => println!(
                "{}'s leg from {}: {}",
                a.answering,
                leg.request.account,
                answer_summary(a)
            ),
            LegStatus::Waiting(state) => println!(
                "{} (proposal {}): {state}, not answered yet",
                leg.request.account, leg.proposal
            ),
            LegStatus::Unusable(why) => println!(
                "{} (proposal {}): answered, but not stitched: {why}",
                leg.request.account, leg.proposal
            ),
        }
    }
    if let Some(path) = &args.svg {
        draw(
            &flow,
            path,
            &format!("Follow the money from {}", trail.from),
        )?;
    }
    Ok(())
}

// -------------------------------------------------------------------- demo

/// Step 3 of `soberana demo`: a small two-country ledger, the US trace from
/// the structuring network to the border, the request, the MX officer's
/// computed release, and the stitched flow drawn to `dir/flow.svg`.
pub async fn demo(us: &Node, mx: &Node, dir: &Path) -> Result<()> {
    use crate::commands::demo::wait_for;
    let say = |text: String| println!("   {text}");
    let data = dir.join("finance-data");
    let base = GenerateOptions {
        seed: 1,
        transactions: 5_000,
        ..GenerateOptions::default()
    };
    let mut collector = None;
    for (node, country) in [(us, Country::US), (mx, Country::MX)] {
        let half = data.join(country.as_str().to_ascii_lowercase());
        let summary = write_ledger(
            &GenerateOptions {
                only_country: Some(country),
                ..base.clone()
            },
            &half,
        )?;
        collector = collector.or_else(|| summary.scenario.first().map(|(c, _)| c.clone()));
        let root = node.dir().root();
        if LedgerManifest::load(root)?.batches.is_empty() {
            let held = ingest(
                root,
                &[
                    (Table::Transactions, half.join("transactions.csv")),
                    (Table::Accounts, half.join("accounts.csv")),
                    (Table::Reports, half.join("reports.csv")),
                ],
                &ColumnMaps::default(),
                true,
            )?;
            say(format!(
                "{country} loaded its own half of the ledger: {held} transactions"
            ));
        }
    }
    let collector = collector.context("the generator planted no demo network")?;
    let us_graph = load_graph(us.dir().root())?;
    let trail = send_continuations(
        us,
        &us_graph,
        &ContinueOptions {
            trail: TrailArgs {
                from: collector.to_string(),
                hops: None,
                window: None,
                since: None,
            },
            peer: mx.party(),
            horizon: 30 * 86_400,
            partner_hops: 4,
            max_requests: 3,
            agency: AgencyId::new("US.FINCEN")?,
            officer: None,
        },
    )?;
    let flow = &trail.flow;
    say(format!(
        "US trace from the collector {collector}: {} of structured cash, {} nodes, {} hop(s)",
        usd(flow.seeded),
        flow.nodes.len(),
        flow.nodes.iter().map(|n| n.hop).max().unwrap_or(0)
    ));
    for leg in &trail.legs {
        say(format!(
            "the trail reaches {} held in MX ({}): US → MX request carries only that account, the amount and the window",
            leg.request.account,
            usd(leg.request.value)
        ));
    }
    let mx_graph = load_graph(mx.dir().root())?;
    for leg in &trail.legs {
        let waiting = wait_for(
            mx,
            leg.proposal,
            &[ProposalState::AwaitingOfficer, ProposalState::Refused],
        )
        .await?;
        if waiting.record.state != ProposalState::AwaitingOfficer {
            bail!("MX policy did not send the continuation request to an officer");
        }
        let answers = compute_answers(mx, &mx_graph, leg.proposal, 4)?;
        let step = mx.decide(
            leg.proposal,
            OfficerVerdict {
                officer: OfficerId::new("uif.approver")?,
                outcome: Outcome::AcceptedWithConditions {
                    conditions: vec![
                        "not to be used as evidence without Mexico's permission (H2)".into(),
                        "no onward dissemination to third countries".into(),
                    ],
                },
                reason: "the account is held in Mexico; Mexico continued the trail on its own data"
                    .into(),
                release: release_items(&answers)?,
            },
        )?;
        if let DecisionStep::AwaitingSecondApprover(_) = step {
            mx.confirm(leg.proposal, &OfficerId::new("fgr.approver")?)?;
        }
    }
    say("MX policy sent each request to an officer (UIF), who ACCEPTED with conditions;".into());
    say("the release is restricted (H2), so a second MX approver (FGR) confirmed it first;".into());
    say("MX ran the next leg on its own ledger and released totals and pseudonyms only".into());
    for leg in &trail.legs {
        wait_for(us, leg.proposal, &[ProposalState::Answered]).await?;
        if let Ok(detail) = mx.show(leg.proposal) {
            for (digest, bytes) in &detail.disclosures {
                say(format!(
                    "MX recorded the disclosure: {bytes} bytes, sha256 {}…",
                    digest.get(..16).unwrap_or(digest)
                ));
            }
        }
    }
    let (stitched, status) = stitch_trail(us, &trail)?;
    for s in &status {
        match s {
            LegStatus::Stitched(a) => say(format!("MX's leg: {}", answer_summary(a))),
            LegStatus::Waiting(state) => bail!("a continuation was not answered (it is {state})"),
            LegStatus::Unusable(why) => bail!("MX's continuation did not stitch: {why}"),
        }
    }
    let partner = stitched
        .nodes
        .iter()
        .filter(|n| matches!(n.leg, Leg::Partner(_)))
        .count();
    say(format!(
        "the US stitched MX's leg into its flow: {} nodes, {partner} of them on MX's side (pseudonymous)",
        stitched.nodes.len()
    ));
    let svg = dir.join("flow.svg");
    std::fs::write(
        &svg,
        render(
            &stitched,
            &SvgOptions {
                title: format!("Follow the money from {collector}"),
                ..SvgOptions::default()
            },
        ),
    )?;
    std::fs::write(dir.join("flow.json"), stitched.to_json())?;
    say(format!(
        "no ledger crossed the border; the stitched flow is drawn in {}",
        svg.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests;
