//! The arguments of `soberana finance …` and `soberana bench finance`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::{DirArg, JsonArg};

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
