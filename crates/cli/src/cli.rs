//! The command line, as clap types.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// soberana: cross-border security cooperation without subordination.
///
/// Each country runs its own node and keeps its data at home. Partners send
/// signed proposals; only the receiving country's policy and officers decide;
/// constitutional red lines can never be overridden; every exchange is in a
/// tamper-evident log both countries cosign.
///
/// Start with `soberana demo`, which runs a Mexican and a US node on this
/// machine and plays the story of the cooperation between them.
#[derive(Debug, Parser)]
#[command(name = "soberana", version, propagate_version = true)]
pub struct Cli {
    /// More detail in the log on standard error (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The node directory, shared by most commands.
#[derive(Debug, Clone, Args)]
pub struct DirArg {
    /// The node directory (made by `soberana init`).
    #[arg(long, short = 'd', env = "SOBERANA_DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the story of the articles between an MX and a US node on loopback.
    Demo(DemoArgs),
    /// Make a new node: keys, certificate, configuration, policy.
    Init(InitArgs),
    /// Run a node: listen for partners and deliver the outbox until Ctrl-C.
    Run(DirArg),
    /// This node's public party card.
    #[command(subcommand)]
    Card(CardCommand),
    /// Pinned partners.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Send a proposal from a TOML or JSON file (see examples/proposals).
    Propose(ProposeArgs),
    /// Incoming proposals awaiting an officer (or all, with --all).
    Inbox(ListArgs),
    /// Our proposals and where each stands.
    Outbox(ListArgs),
    /// One proposal with its history, decision and what was disclosed.
    Show(ShowArgs),
    /// Decide an incoming proposal that policy sent to an officer.
    Decide(DecideArgs),
    /// Verify, prove and check the tamper-evident log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Check, evaluate and pin the node's policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Measure soberana on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a node with its officer desk (the web UI) until Ctrl-C.
    Desk(crate::commands::desk::DeskArgs),
    /// Officer accounts on a node's desk.
    #[command(subcommand)]
    Officer(crate::commands::officer::OfficerCommand),
    /// Check identifiers or person records against a partner's holdings
    /// without either side disclosing its list.
    #[command(subcommand)]
    Match(MatchCommand),
    /// Follow the money: load ledgers, trace, find typologies, and continue
    /// a trail across the border by request (no ledger crosses).
    #[command(subcommand)]
    Finance(crate::commands::finance::FinanceCommand),
    /// Firearm traces on the node's acquisition and disposition records.
    #[command(subcommand)]
    Firearms(crate::commands::firearms::FirearmsCommand),
}

/// `soberana match …`.
///
/// What a node holds for partners to check against lives in its directory:
/// identifiers in `DIR/data/identifiers/<kind>.txt` (one per line; put them
/// there with `soberana match hold`), person records in `DIR/data/persons.csv`
/// with the linkage secret agreed with partners in `DIR/data/linkage.key`.
/// A partner's check runs only after this node's policy or an officer has
/// accepted it, and every message that leaves is recorded as a disclosure.
#[derive(Debug, Subcommand)]
pub enum MatchCommand {
    /// Ask a partner which of the identifiers in FILE it also holds (private
    /// set intersection): only the list's size travels until the partner
    /// accepts; then it learns how many were asked and nothing else.
    Ids(MatchIdsArgs),
    /// Ask a partner which of the person records in FILE (CSV) it likely
    /// holds (privacy-preserving record linkage): you learn which of your
    /// records match, with the partner's pseudonymous record id and a score;
    /// details only through a later information request.
    Persons(MatchPersonsArgs),
    /// Check an identifier file and keep it as this node's holdings of its
    /// kind, for partners' accepted matches to be checked against.
    Hold(MatchHoldArgs),
}

/// What every match request shares.
#[derive(Debug, Args)]
pub struct MatchRequestArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner asked (e.g. US).
    #[arg(long)]
    pub peer: String,
    /// The requesting agency (default: this party's first agency).
    #[arg(long)]
    pub agency: Option<String>,
    /// Why the match is asked for; it travels to the partner.
    #[arg(long, default_value = "check for hits in a case under investigation")]
    pub purpose: String,
    /// Under which law or agreement.
    #[arg(long, default_value = "bilateral security cooperation")]
    pub legal_basis: String,
    /// The officer asking.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: Option<String>,
    /// How long to wait for the result, in seconds; the request stays on
    /// the node after that (`soberana run` completes it; see `soberana show`).
    #[arg(long, default_value_t = 900)]
    pub wait: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana match ids`.
#[derive(Debug, Args)]
pub struct MatchIdsArgs {
    /// The identifiers, one per line (`kind:value`, or just the value of
    /// --kind); blank lines and `#` comments are skipped.
    pub file: PathBuf,
    /// The kind: phone, clabe, iban, aba, firearm, plate or email.
    #[arg(long)]
    pub kind: String,
    /// `ot` (fast, KKRT16 oblivious PRF) or `dh` (Diffie–Hellman).
    #[arg(long, default_value = "ot")]
    pub protocol: String,
    /// Learn only how many match, not which (needs `--protocol dh`).
    #[arg(long)]
    pub count_only: bool,
    /// The request.
    #[command(flatten)]
    pub request: MatchRequestArgs,
}

/// `soberana match persons`.
#[derive(Debug, Args)]
pub struct MatchPersonsArgs {
    /// The records (CSV whose header names soberana's fields: id,
    /// given_names, paternal_surname, maternal_surname, date_of_birth
    /// as YYYY-MM-DD, sex as M/F, place_of_birth, curp, ssn).
    pub file: PathBuf,
    /// The request.
    #[command(flatten)]
    pub request: MatchRequestArgs,
}

/// `soberana match hold`.
#[derive(Debug, Args)]
pub struct MatchHoldArgs {
    /// The identifiers, one per line.
    pub file: PathBuf,
    /// Their kind: phone, clabe, iban, aba, firearm, plate or email.
    #[arg(long)]
    pub kind: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `soberana demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the two nodes (default: a fresh folder under the system's
    /// temporary directory, printed at the start).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Play the story and exit, instead of leaving both nodes up.
    #[arg(long)]
    pub headless: bool,
}

/// `soberana init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The party this node speaks for (ISO 3166-1 alpha-2, e.g. MX).
    #[arg(long)]
    pub party: String,
    /// The node directory to create (must not exist, or be empty).
    #[arg(long, short = 'd')]
    pub dir: PathBuf,
    /// The address to listen on for partner nodes.
    #[arg(long, default_value = "127.0.0.1:7443")]
    pub listen: SocketAddr,
    /// The address partners reach this node at (default: https://LISTEN).
    #[arg(long)]
    pub endpoint: Option<String>,
}

/// `soberana card …`.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Write this node's signed party card, to give to partners.
    Export {
        /// The node.
        #[command(flatten)]
        dir: DirArg,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
}

/// `soberana peer …`.
#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Pin a partner from its party card. Compare the printed fingerprint
    /// with the partner over an official channel first.
    Add {
        /// The partner's card file.
        card: PathBuf,
        /// The node.
        #[command(flatten)]
        dir: DirArg,
    },
    /// List pinned partners.
    List(DirArg),
}

/// `soberana propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The proposal file (TOML or JSON).
    pub file: PathBuf,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The officer making the proposal.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: Option<String>,
}

/// `soberana inbox` and `soberana outbox`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Every proposal, not only those needing attention.
    #[arg(long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The proposal's id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana decide`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("outcome").required(true).args(["accept", "refuse", "ask"])))]
pub struct DecideArgs {
    /// The proposal's id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Accept (with --condition, accept on conditions).
    #[arg(long)]
    pub accept: bool,
    /// Refuse.
    #[arg(long)]
    pub refuse: bool,
    /// Ask for more information (the reason says what).
    #[arg(long)]
    pub ask: bool,
    /// Why, in plain words: it travels to the partner.
    #[arg(long)]
    pub reason: String,
    /// A condition of acceptance (repeatable).
    #[arg(long = "condition")]
    pub conditions: Vec<String>,
    /// An item released with an acceptance, as LABEL=VALUE (repeatable).
    /// Only what is listed here leaves the node.
    #[arg(long = "release")]
    pub release: Vec<String>,
    /// The deciding officer.
    #[arg(long, env = "SOBERANA_OFFICER", default_value = "approver")]
    pub officer: String,
}

/// `soberana log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the whole tree from the stored entries and check every
    /// checkpoint and cosignature; names the first bad entry on failure.
    Verify(DirArg),
    /// Write a self-contained proof that entry ENTRY is in this node's log.
    Proof {
        /// The entry's index.
        entry: u64,
        /// The node.
        #[command(flatten)]
        dir: DirArg,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Verify a proof bundle with no access to either node.
    Check {
        /// The bundle file.
        bundle: PathBuf,
    },
    /// Verify any C2SP checkpoint against a verifier key.
    Checkpoint {
        /// The verifier key (`name+hash+base64`).
        #[arg(long)]
        key: String,
        /// The checkpoint file.
        file: PathBuf,
    },
    /// Sign a checkpoint now and send it to every partner to cosign.
    Cosign(DirArg),
}

/// `soberana policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate both layers and say in plain words what each allows and forbids.
    Check(DirArg),
    /// Decide a proposal file as this node would, without sending anything.
    Eval {
        /// The proposal file (TOML or JSON), written as the partner would send it.
        file: PathBuf,
        /// The node.
        #[command(flatten)]
        dir: DirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pin the constitutional layer as it now is: recorded in the log and
    /// announced to every partner.
    Pin(DirArg),
}

/// `soberana bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed, policy-checked, durably stored proposals per second between
    /// two nodes on loopback, with round-trip latency percentiles.
    Exchange(BenchExchangeArgs),
    /// Cedar decisions per second, soberana's path beside raw Cedar.
    Policy(JsonArg),
    /// Private set intersection of N × N identifiers between two parties
    /// over loopback: time, bytes on the wire, peak memory.
    Psi(BenchPsiArgs),
    /// Durable appends per second into a node's store, proof generation and
    /// verification, and a full audit, at the given log sizes.
    Ledger(BenchLedgerArgs),
    /// Follow-the-money engine: CSV ingest, multi-hop traces, typology scan,
    /// memory per transaction, on a generated two-country ledger.
    Finance(crate::commands::finance::BenchFinanceArgs),
    /// Privacy-preserving record linkage: exhaustive and blocked matching of
    /// encoded person records, and accuracy on FEBRL data if given.
    Pprl(BenchPprlArgs),
    /// Firearm tracing: a batch of serials traced against generated
    /// acquisition and disposition records, with index time and memory.
    Trace(crate::commands::firearms::BenchTraceArgs),
}

/// `soberana bench pprl`.
#[derive(Debug, Args)]
pub struct BenchPprlArgs {
    /// A folder with FEBRL data sets, for accuracy figures.
    #[arg(long)]
    pub febrl: Option<PathBuf>,
    /// Records on each side of the exhaustive comparison (0 to skip).
    #[arg(long, default_value_t = 100_000)]
    pub exhaustive: usize,
    /// Records on each side of the blocked comparison (0 to skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub blocked: usize,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// `soberana bench psi`.
#[derive(Debug, Args)]
pub struct BenchPsiArgs {
    /// Identifiers on each side.
    #[arg(long, default_value_t = 1 << 16)]
    pub n: usize,
    /// `ot` (KKRT16 OPRF, fast) or `dh` (Diffie–Hellman, reference).
    #[arg(long, default_value = "ot")]
    pub protocol: String,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// `soberana bench ledger`.
#[derive(Debug, Args)]
pub struct BenchLedgerArgs {
    /// Log sizes for proofs and the audit (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1_000_000u64, 10_000_000])]
    pub sizes: Vec<u64>,
    /// Entries appended durably into a node store.
    #[arg(long, default_value_t = 200_000)]
    pub durable: usize,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// `soberana bench exchange`.
#[derive(Debug, Args)]
pub struct BenchExchangeArgs {
    /// Proposals per run.
    #[arg(long, default_value_t = 2000)]
    pub proposals: usize,
    /// Concurrent senders in the second run.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}
