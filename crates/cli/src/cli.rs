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
    /// How log lines are written: `text` for people, `json` for log
    /// collectors (one object per line). Colour codes only on a terminal.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SOBERANA_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: crate::logformat::LogFormat,
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
    /// Run a node: listen for partners and deliver the outbox until Ctrl-C or SIGTERM.
    Run(DirArg),
    /// Write a consistent backup of a node (it may be running) into a new folder.
    Backup(crate::commands::backup::BackupArgs),
    /// Check a backup and restore it into a new node folder, on SQLite or PostgreSQL.
    ///
    /// Without --store the restored node keeps its store in a SQLite file in
    /// its folder; with --store postgres://… in that empty database (or new
    /// schema). A backup of a node on the other kind of store is moved into
    /// it: this is how a node started on SQLite goes to PostgreSQL (stop it,
    /// back it up, restore the backup with --store, run the new folder), and
    /// back. The move copies every table
    /// in one transaction on the new store, counts the rows of each against
    /// the backup and recomputes the log's size and root, committing only if
    /// they are the backup's; the log goes on as it was (receipts issued
    /// before still verify, partners go on cosigning), and the old node must
    /// not run again once the new one has.
    Restore(crate::commands::backup::RestoreArgs),
    /// Reports computed from the node's own record (transparency).
    #[command(subcommand)]
    Report(crate::commands::report::ReportCommand),
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
    /// Confirm, as a second approver, a decision awaiting confirmation (a
    /// release under H2/H3), which then takes effect naming both.
    Confirm(ConfirmArgs),
    /// Withdraw a decision awaiting confirmation; nothing of it takes effect.
    Withdraw(ConfirmArgs),
    /// Verify, prove and check the tamper-evident log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Check, evaluate and pin the node's policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Measure soberana on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a node with its officer desk (the web UI) until Ctrl-C or SIGTERM.
    Desk(crate::commands::desk::DeskArgs),
    /// After a restore: take back a partner's envelopes, then declare the log restarted.
    ///
    /// Run it with the restored node stopped and the partner running. It takes
    /// back every envelope the partner sent us that the restore lost, checked
    /// against its pinned key. It cannot bring back our own log entries past
    /// the backup (decisions, disclosures, refusals, with our own times), so
    /// the log no longer matches the last checkpoint the partner cosigned and
    /// the node refuses to sign checkpoints.
    ///
    /// With --restart-log REASON it then declares the loss: the log restarts on
    /// a new branch from what it holds (the envelopes we sent that only the
    /// partner still holds are logged again first), with a signed entry naming
    /// the abandoned checkpoint the partner cosigned, the entries kept and the
    /// reason. The declaration goes to the partner with the new branch's first
    /// checkpoint when the node runs; the partner checks it, records it in its
    /// own log and cosigns, and from then on checkpoints are cosigned again and
    /// the node is ready. What stays provable: every receipt and proof against
    /// a checkpoint cosigned before the restore (the partner keeps those
    /// checkpoints), everything in the new branch, and the restart itself in
    /// both logs. What is lost for good: proof of our entries that existed
    /// only past the backup.
    Recover(crate::commands::backup::RecoverArgs),
    /// Rotate the node's signing key and TLS certificate with an overlap.
    #[command(subcommand)]
    Key(crate::commands::key::KeyCommand),
    /// The bilateral agreement with a partner: show, propose, amend,
    /// accept, suspend, resume, terminate (each a signed act in both logs).
    #[command(subcommand)]
    Agreement(crate::commands::agreement::AgreementCommand),
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
    /// Joint investigations: a case shared by both sides without a hub,
    /// exhibits under each side's conditions, custody in both logs.
    #[command(subcommand)]
    Case(crate::commands::case::CaseCommand),
}

/// `soberana match …`.
///
/// What a node holds for partners to check against lives in its directory:
/// identifiers in `DIR/data/identifiers/<kind>.txt` (one per line; put them
/// there with `soberana match hold`), person records in `DIR/data/persons.csv`
/// (put them there with `soberana match hold persons`) with the linkage
/// secret agreed with partners in `DIR/data/linkage.key` (`soberana match key
/// install`).
/// A partner's check runs only after this node's policy or an officer has
/// accepted it, and every message that leaves is recorded as a disclosure.
#[derive(Debug, Subcommand)]
pub enum MatchCommand {
    /// Ask a partner which of the identifiers in FILE it also holds (private
    /// set intersection): only the list's size travels until the partner
    /// accepts; then it learns how many were asked and nothing else.
    Ids(MatchIdsArgs),
    /// Ask a partner which of the person records in FILE (CSV) it likely
    /// holds (privacy-preserving record linkage): once the partner accepts,
    /// the encodings of your records go to it and it compares them with its
    /// own; you learn which of your records match, with a pseudonymous record
    /// id and a score, and nothing else of its records; details only through
    /// a later information request.
    Persons(MatchPersonsArgs),
    /// Check an identifier file and keep it as this node's holdings of its
    /// kind (`match hold FILE --kind KIND`), or a person file as this node's
    /// person records (`match hold persons FILE`), for partners' accepted
    /// matches to be checked against.
    Hold(MatchHoldArgs),
    /// Install and check the linkage secret person matches need.
    ///
    /// Partners agree one secret (32 random bytes, written as 64 hex digits)
    /// and carry it between them over an official channel, never through
    /// soberana. It is kept in `DIR/data/linkage.key`, readable by the node's
    /// user alone; the node refuses a key file others can read. Both sides
    /// compare the key check printed here before a first match.
    #[command(subcommand)]
    Key(MatchKeyCommand),
    /// Standing arrangements: check a whole list against a partner's
    /// holdings each period, within a query budget both sides set, with no
    /// officer accepting each run (bulk blind cross-matching).
    ///
    /// A standing arrangement lets one side (the asker) check a whole list —
    /// identifiers of one kind by private set intersection, or person records
    /// by linkage compared at the holder — against the partner's holdings once
    /// per period, with no officer accepting each run. Each side sets a query
    /// budget (per run and per period); a run is bound by the smaller of the
    /// two, and a run larger than that is refused whole before anything is
    /// sent or compared. The partner's node checks every run against the
    /// arrangement as it holds it, whatever the run claims.
    ///
    /// Made by signed acts on the bilateral agreement (which must be in
    /// force): one side proposes (`propose`), the other accepts with its own
    /// budget (`accept`). Each act is in both logs and acknowledged; a running
    /// node (`soberana run`) delivers it. Either side suspends or terminates
    /// it; suspending or terminating the agreement stops it too.
    ///
    /// Four eyes: proposing or accepting sets the budget under which our
    /// node answers the partner's runs with no officer, so it needs two
    /// different approvers registered and enabled on this node (`--officer`
    /// and `--confirmed-by`); suspending, resuming or terminating needs one
    /// (`--officer`). Who approved is kept in our audit trail.
    ///
    /// Runs: the running node fires one when a period has passed since the
    /// last, from the list kept with `keep` (or `propose --list`/`accept
    /// --list`); `run` fires one now. Each run is an ordinary bounded match
    /// proposal naming the arrangement, logged in both logs (run id,
    /// arrangement, queries asked, matches where the side learns them) with
    /// its disclosures.
    ///
    /// Example (US checks phones against MX's holdings daily):
    ///
    ///     US: soberana match standing propose MX phones --list-kind phone
    ///         --period daily --per-run 500 --per-period 1000 --list phones.txt
    ///         --officer fbi.lee --confirmed-by fbi.kim
    ///     MX: soberana match standing accept US phones --per-run 200 --per-period 1000
    ///         --officer uif.ana --confirmed-by uif.beto
    ///     US: soberana match standing run MX phones
    #[command(subcommand)]
    Standing(crate::commands::standing::StandingCommand),
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
    /// The records (CSV with a header row), read all or nothing like
    /// `soberana match hold persons` reads them (see its `--help` for the
    /// layouts): its data quality is printed before anything is sent.
    pub file: PathBuf,
    /// How the file is read.
    #[command(flatten)]
    pub format: PersonFormatArgs,
    /// The request.
    #[command(flatten)]
    pub request: MatchRequestArgs,
}

/// `soberana match hold`.
///
/// `soberana match hold FILE --kind KIND` keeps identifiers;
/// `soberana match hold persons FILE` keeps person records.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MatchHoldArgs {
    /// Hold person records instead of identifiers.
    #[command(subcommand)]
    pub what: Option<MatchHoldWhat>,
    /// The identifiers, one per line.
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    /// Their kind: phone, clabe, iban, aba, firearm, plate or email.
    #[arg(long, required = true)]
    pub kind: Option<String>,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// What else `soberana match hold` keeps.
#[derive(Debug, Subcommand)]
pub enum MatchHoldWhat {
    /// Check a person file (CSV) all or nothing and keep it as this node's
    /// person records, for partners' accepted matches to be linked against.
    ///
    /// Prints the file's data quality (rows, empty values per column,
    /// unreadable dates, columns not read) first. Any unusable row or value
    /// (a date not in the stated format, a sex code the locale does not
    /// know, a malformed CURP or SSN, a duplicate id) is an error naming its
    /// line and field, and nothing is kept. The records are kept, normalised,
    /// in `DIR/data/persons.csv` (replaced in one step, readable by the
    /// node's user alone).
    ///
    /// Layouts: `soberana` reads soberana's field names (id, given_names,
    /// paternal_surname, maternal_surname, date_of_birth, sex,
    /// place_of_birth, street_number, street, address_extra, locality,
    /// postcode, region, curp, ssn); `mexican` reads folio, nombre,
    /// apellido_paterno, apellido_materno, fecha_nacimiento, sexo,
    /// lugar_nacimiento, curp with day-first dates and Spanish sex codes;
    /// `febrl` reads the FEBRL sets (rec_id, given_name, surname, address_1,
    /// …) with YYYYMMDD dates. Headers are matched ignoring case; a layout
    /// field missing from the file is left empty.
    ///
    /// Example: `soberana match hold persons padron.csv --layout mexican`.
    Persons(MatchHoldPersonsArgs),
}

/// How a person file is read (shared by `match hold persons`).
#[derive(Debug, Clone, Args)]
pub struct PersonFormatArgs {
    /// The file's layout: soberana, mexican or febrl.
    #[arg(long, default_value = "soberana")]
    pub layout: String,
    /// Read a field from a column the layout does not name, as
    /// FIELD=HEADER (e.g. `--column given_names=first_name`); repeat for
    /// more. The column must be in the file.
    #[arg(long = "column", value_name = "FIELD=HEADER")]
    pub columns: Vec<String>,
    /// Read the column mapping from a TOML file of `FIELD = "HEADER"` lines
    /// (e.g. `given_names = "first_name"`); `--column` overrides it.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// How dates of birth are written: iso (YYYY-MM-DD), compact
    /// (YYYYMMDD), day-first (DD/MM/YYYY) or month-first (MM/DD/YYYY);
    /// `-` and `.` separators are accepted too. Default: the layout's
    /// (mexican: day-first, febrl: compact); with the soberana layout only
    /// year-first dates are read, and a date such as 03/04/1990 is refused
    /// as ambiguous rather than guessed.
    #[arg(long)]
    pub dates: Option<String>,
    /// What single letters in the sex column mean: `es` (H = hombre, male;
    /// M = mujer, female) or `en` (M = male, F = female). Default: the
    /// layout's (mexican: es, others: en). Words (hombre, mujer, male,
    /// female) are read in either.
    #[arg(long)]
    pub sex_codes: Option<String>,
}

/// `soberana match hold persons`.
#[derive(Debug, Args)]
pub struct MatchHoldPersonsArgs {
    /// The person records (CSV with a header row).
    pub file: PathBuf,
    /// How the file is read.
    #[command(flatten)]
    pub format: PersonFormatArgs,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `soberana match key …`: the linkage secret person matches are encoded
/// under.
#[derive(Debug, Subcommand)]
pub enum MatchKeyCommand {
    /// Check a linkage secret from FILE (64 hex digits) and install it.
    Install(MatchKeyInstallArgs),
    /// Make a fresh linkage secret, install it, and write a copy to OUT
    /// (readable by you alone) to carry to the partner.
    New(MatchKeyNewArgs),
    /// Print the key check of the installed linkage secret.
    Check(DirArg),
}

/// `soberana match key install`.
#[derive(Debug, Args)]
pub struct MatchKeyInstallArgs {
    /// The secret agreed with the partner: 64 hex digits.
    pub file: PathBuf,
    /// Replace a different secret already installed (matches under the old
    /// one stop working).
    #[arg(long)]
    pub replace: bool,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `soberana match key new`.
#[derive(Debug, Args)]
pub struct MatchKeyNewArgs {
    /// Where to write the copy for the partner (must not exist).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Replace a different secret already installed.
    #[arg(long)]
    pub replace: bool,
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
    /// Where the node keeps its store: a file in the node directory
    /// (SQLite, default `node.sqlite`) or a PostgreSQL database
    /// (`postgres://user@host/db`), which must be reachable now.
    #[arg(long)]
    pub store: Option<String>,
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
        /// Replace the card already pinned for this party (a key or
        /// certificate rotation). Without it, a different card for a pinned
        /// party is refused and both fingerprints are shown.
        #[arg(long)]
        replace: bool,
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
    /// Send nothing: fetch the partner's red lines (its constitutional
    /// layer, from its node) and say whether they would refuse this draft.
    /// Exits non-zero when they would.
    #[arg(long)]
    pub check: bool,
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
    /// The deciding officer: an approver registered on this node
    /// (`soberana officer add`).
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: String,
}

/// `soberana confirm` and `soberana withdraw`.
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The proposal's id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The approver acting: registered on this node, and for a
    /// confirmation not the one who made the decision.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: String,
}

/// `soberana log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the whole tree from the stored entries and check every
    /// checkpoint and cosignature; names the first bad entry on failure.
    Verify(DirArg),
    /// Write a self-contained proof that an entry is in this node's log;
    /// signs a fresh checkpoint first if none covers the entry yet.
    Proof {
        /// The entry's index, or a proposal id (its decision, else its
        /// first entry), or an envelope id.
        target: String,
        /// The node.
        #[command(flatten)]
        dir: DirArg,
        /// Where to write it (default: standard output).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Verify a proof bundle against pinned keys: the party cards given
    /// with --card, or else this node's own key and its pinned partners.
    Check {
        /// The bundle file.
        bundle: PathBuf,
        /// A party card whose keys to trust (repeat for the log's party and
        /// its witness); the keys inside the bundle are never trusted.
        #[arg(long = "card", value_name = "PARTY.card")]
        cards: Vec<PathBuf>,
        /// A node whose own key and pinned cards to trust (the default when
        /// no --card is given: the current directory).
        #[arg(long, short = 'd', env = "SOBERANA_DIR")]
        dir: Option<PathBuf>,
    },
    /// Verify a checkpoint (a C2SP note, or the one in a receipt) against a
    /// verifier key, or against pinned keys with its cosignatures.
    Checkpoint {
        /// A verifier key (`name+hash+base64`) to check the log signature
        /// with; without it, the cards given with --card or the node's.
        #[arg(long)]
        key: Option<String>,
        /// The checkpoint file.
        file: PathBuf,
        /// A party card whose keys to trust (repeatable).
        #[arg(long = "card", value_name = "PARTY.card")]
        cards: Vec<PathBuf>,
        /// A node whose own key and pinned cards to trust.
        #[arg(long, short = 'd', env = "SOBERANA_DIR")]
        dir: Option<PathBuf>,
    },
    /// Check that the log of NEW extends the log of OLD (RFC 9162
    /// consistency), with pinned keys and nothing but public material.
    Consistency {
        /// The older checkpoint (a note, or a receipt holding one).
        old: PathBuf,
        /// The newer checkpoint.
        new: PathBuf,
        /// The consistency proof: one base64 hash per line.
        #[arg(long)]
        proof: Option<PathBuf>,
        /// A party card whose keys to trust (repeatable).
        #[arg(long = "card", value_name = "PARTY.card")]
        cards: Vec<PathBuf>,
        /// A node whose own key and pinned cards to trust.
        #[arg(long, short = 'd', env = "SOBERANA_DIR")]
        dir: Option<PathBuf>,
    },
    /// Write two of this node's checkpoints (with cosignatures) and the
    /// consistency proof between them, for `soberana log consistency`.
    ConsistencyProof {
        /// The older checkpoint's size.
        old: u64,
        /// The newer checkpoint's size.
        new: u64,
        /// The node.
        #[command(flatten)]
        dir: DirArg,
        /// The folder to write `checkpoint-OLD.txt`, `checkpoint-NEW.txt`
        /// and `consistency-OLD-NEW.txt` to.
        #[arg(long, short = 'o')]
        out: PathBuf,
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
    /// encoded person records, and accuracy on FEBRL data if given, through
    /// the query path person matches run (same schema, same messages).
    Pprl(BenchPprlArgs),
    /// Size attacks by a pinned partner (oversized bodies, many at once, an
    /// oversized reply): the node's peak memory growth against its bound.
    Abuse(BenchAbuseArgs),
    /// Firearm tracing: a batch of serials traced against generated
    /// acquisition and disposition records, with index time and memory.
    Trace(crate::commands::firearms::BenchTraceArgs),
    /// A large exhibit between two nodes on loopback: contributed, released,
    /// fetched over mutual TLS with a cut and a resume; MB/s and peak memory.
    Case(crate::commands::case::bench::BenchCaseArgs),
}

/// `soberana bench abuse`.
#[derive(Debug, Args)]
pub struct BenchAbuseArgs {
    /// Bytes the partner offers in each attack, in MiB.
    #[arg(long, default_value_t = 512)]
    pub mib: u64,
    /// Oversized bodies sent at once.
    #[arg(long, default_value_t = 16)]
    pub concurrent: usize,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
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
    /// Where both nodes keep their stores: `sqlite` (a file each) or a
    /// `postgres://user@host/db` URL (a fresh schema each, dropped after).
    #[arg(long, default_value = "sqlite")]
    pub store: String,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}
