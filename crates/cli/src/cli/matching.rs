//! `soberana match …`, as clap types.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::DirArg;

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
