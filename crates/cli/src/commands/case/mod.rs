//! `soberana case …`: joint investigations without a hub.
//!
//! Thin glue over the node's case acts (`soberana_node`'s `case` module,
//! rules in `soberana_case`): take our side of a case the agreement left
//! without an administrator (the acceptance itself opens the case),
//! administer our members, write messages and give and close tasks,
//! contribute, release, fetch, open, export and delete exhibits, end the
//! case, and write and check the case report for a court. Every act lands in this
//! node's log and, through the outbox, in the partner's; a refused act is
//! one `refused` entry in our log and a non-zero exit.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use soberana_case::{Case, CaseId, ExhibitDigest, UseConditions};
use soberana_core::{OfficerId, ProposalId, Timestamp};
use soberana_node::{Fetched, Node};

use crate::cli::DirArg;
use crate::policy::open_node;

pub mod bench;
mod evidence;
mod report;
mod work;

pub use evidence::{ConsentArgs, RequestEvidenceArgs, UseArg, UseArgs};

pub(crate) use report::{report, verify};

/// `soberana case …`.
///
/// The acceptance of a joint-investigation proposal (the agreement) opens
/// the case on both nodes by itself: the accepting node when it decides,
/// the proposing node when the signed acceptance arrives. Both derive the
/// same case id from the proposal, so a case can be named by its id
/// (`case-…`) or by the proposal's id. Each side's members are the ones the
/// agreement names (or the officer who proposed or accepted it), and are
/// administered by that side's administrators only. The case ends at the
/// agreed date, or earlier by a signed act.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// The cases this node holds.
    List(DirArg),
    /// Take the administration of our side of a case the agreement left
    /// without one (policy accepted it and named nobody for our side): an
    /// approver, once.
    Take(OpenArgs),
    /// Open our side of the evidence file of a notice or information
    /// request: the case that holds the exhibits behind it. Either side may
    /// open it; the sender adds and releases the exhibits there.
    OpenEvidence(OpenArgs),
    /// Ask the sender of a notice or information request we received for
    /// the evidence behind it.
    ///
    /// Sends a request for evidence (a proposal of its own kind, naming the
    /// original). The sender's officers answer it with `soberana decide`
    /// or on the desk: an acceptance names the exhibits released in the
    /// original's evidence file, under their conditions, and needs two
    /// approvers. Fetch them with `soberana case open-evidence PROPOSAL`
    /// and `soberana case exhibit fetch`. A proposal this node did not
    /// receive from that side is refused, and nothing is sent.
    RequestEvidence(RequestEvidenceArgs),
    /// A case: parties, members, exhibits with their custody, and every act.
    Show(ShowArgs),
    /// Add or remove members of our side (administrators only).
    #[command(subcommand)]
    Member(MemberCommand),
    /// Contribute, release, fetch, open, export or delete exhibits.
    #[command(subcommand)]
    Exhibit(ExhibitCommand),
    /// Write to the case's members of both sides, saying the language.
    ///
    /// The message is an act in both logs, at most 8 KiB; the partner's
    /// members read it on their node. Example:
    /// `soberana case message CASE --officer ana --lang es "Revisen la página 4"`.
    Message(work::MessageArgs),
    /// The case's messages, oldest first (members of our side only).
    Messages(work::ListArgs),
    /// Give a member of either side a task with a deadline, or close one.
    ///
    /// `soberana case task CASE --officer ana --owner US:bob --due 2026-12-20
    /// "trace serial DX-4471"` gives it; `soberana case task CASE --officer
    /// bob --done task-…` closes it (its owner, or an administrator of the
    /// owner's side).
    Task(work::TaskArgs),
    /// The case's tasks: open ones by deadline (overdue marked), then done.
    Tasks(work::ListArgs),
    /// End the case before its agreed date, by a signed act of one of our
    /// administrators.
    End(EndArgs),
    /// Write the case report for a court into a new folder: every custody
    /// event with its proof of inclusion in our log and in the partner's.
    ///
    /// Each proof checks offline with `soberana log check FILE --card
    /// MX.card --card US.card`; `soberana case verify FOLDER` checks them
    /// all and that every act is in both logs.
    Report(ReportArgs),
    /// Check a case report offline: every proof against the parties' keys,
    /// every entry against the event beside it, every act in both logs.
    Verify(VerifyArgs),
}

/// The acting officer, shared by every act.
#[derive(Debug, Clone, Args)]
pub struct OfficerArg {
    /// The officer acting (registered on this node).
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: String,
}

/// `case take`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The accepted joint-investigation proposal.
    pub proposal: String,
    /// The approver taking the administration of our side.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The case (its id, or the proposal's).
    pub case: String,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case member …`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add an officer of this node to our side.
    Add(MemberArgs),
    /// Remove a member of our side (not its last administrator).
    Remove(MemberArgs),
}

/// `case member add|remove`.
#[derive(Debug, Args)]
pub struct MemberArgs {
    /// The case.
    pub case: String,
    /// The member (an officer registered on this node).
    pub member: String,
    /// Make the new member an administrator of our side.
    #[arg(long)]
    pub administrator: bool,
    /// The administrator acting.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit …`.
#[derive(Debug, Subcommand)]
pub enum ExhibitCommand {
    /// Contribute a file as an exhibit of our side, under use conditions.
    /// Its SHA-256 is its identity; it is sealed at rest with the case key.
    /// By default the strictest conditions apply: case purpose only, no
    /// onward transmission, no court use without our consent.
    Add(AddArgs),
    /// Release one of our exhibits to the other side: two different
    /// approvers (four eyes).
    Release(ReleaseArgs),
    /// Fetch a released exhibit of the other side over the pinned channel.
    /// A cut transfer keeps what arrived; run it again to resume.
    Fetch(FetchArgs),
    /// Write an exhibit's bytes for a member to read (recorded as opened).
    Open(OpenExhibitArgs),
    /// Export an exhibit to a file for a use.
    ///
    /// The use is checked against the exhibit's conditions: one they
    /// forbid (court use, onward transmission, another purpose) goes
    /// through only with the contributing side's accepted consent to
    /// exactly that use of that exhibit (`case exhibit consent`);
    /// otherwise it is refused, the refusal logged, nothing written. The
    /// export names who made it and the consent it rests on, in both logs.
    Export(ExportArgs),
    /// Record a use of an exhibit outside the node (filed in court, handed
    /// to another authority) without writing a copy; checked exactly as
    /// an export is.
    Use(UseArgs),
    /// Ask the contributing side's consent to a use of an exhibit it
    /// released to us.
    ///
    /// Sends a consent proposal naming the case, the exhibit and the use;
    /// the other side's officers accept (two approvers) or refuse it with
    /// a reason. Only an accepted consent lets `export` or `use` through
    /// for that use. Refused here, with nothing sent, for an exhibit this
    /// node never received or a use its conditions already allow.
    Consent(ConsentArgs),
    /// Delete our copy of an exhibit's bytes (end of retention); its chain
    /// of custody stays.
    Delete(DeleteArgs),
}

/// Names an exhibit of a case.
#[derive(Debug, Args)]
pub struct ExhibitRef {
    /// The case.
    pub case: String,
    /// The exhibit's SHA-256 (64 hex digits).
    pub exhibit: String,
}

/// `case exhibit add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The case.
    pub case: String,
    /// The file.
    pub file: PathBuf,
    /// A label for people (default: the file's name).
    #[arg(long, default_value = "")]
    pub label: String,
    /// How many days the other side may keep the bytes.
    #[arg(long, default_value_t = 90)]
    pub retention_days: u32,
    /// Let the other side use it as evidence in court without asking us.
    #[arg(long)]
    pub allow_court_use: bool,
    /// Let the other side pass it on to other authorities.
    #[arg(long)]
    pub allow_onward_transmission: bool,
    /// Let the other side use it beyond the case's purpose.
    #[arg(long)]
    pub allow_other_purposes: bool,
    /// The member contributing.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// The first approver.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The second, different approver.
    #[arg(long)]
    pub confirmed_by: String,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// Stop this attempt after about this many bytes (whole 1 MiB chunks);
    /// the next fetch resumes.
    #[arg(long)]
    pub max_bytes: Option<u64>,
    /// The member fetching.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit open`.
#[derive(Debug, Args)]
pub struct OpenExhibitArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// Where to write the bytes (standard output if not given).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The member opening it.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// The file to write (must not exist).
    #[arg(long)]
    pub to: PathBuf,
    /// The use.
    #[command(flatten)]
    pub use_: UseArg,
    /// The member exporting.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// Why.
    #[arg(long, default_value = "end of retention")]
    pub reason: String,
    /// The member deleting.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case end`.
#[derive(Debug, Args)]
pub struct EndArgs {
    /// The case.
    pub case: String,
    /// Why it ends early.
    #[arg(long)]
    pub reason: String,
    /// The administrator ending it.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The case.
    pub case: String,
    /// The folder to write (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Write our log's proofs only, without asking the partner for its own.
    #[arg(long)]
    pub ours_only: bool,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The report folder.
    pub folder: PathBuf,
    /// A party card whose keys to trust (repeat: both parties'); without
    /// cards, the node in --dir supplies its own key and pinned cards.
    #[arg(long = "card")]
    pub cards: Vec<PathBuf>,
    /// A node whose key and pinned cards to trust.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs one `case` command.
pub fn run(cmd: CaseCommand) -> Result<()> {
    match cmd {
        CaseCommand::List(dir) => list(&dir.dir),
        CaseCommand::Take(a) => {
            let node = open_node(&a.dir.dir)?;
            let proposal = ProposalId::parse(a.proposal.trim())
                .map_err(|_| anyhow::anyhow!("`{}` is not a proposal id", a.proposal))?;
            let case = node.case_take(proposal, &officer(&a.officer)?)?;
            println!(
                "{case}: {} administers {}'s side; the partner is told",
                a.officer.officer,
                node.party()
            );
            Ok(())
        }
        CaseCommand::Message(a) => work::message(&a),
        CaseCommand::Messages(a) => work::messages(&a),
        CaseCommand::Task(a) => work::task(&a),
        CaseCommand::Tasks(a) => work::tasks(&a),
        CaseCommand::OpenEvidence(a) => evidence::open_evidence(&a),
        CaseCommand::RequestEvidence(a) => evidence::request_evidence(&a),
        CaseCommand::Show(a) => show(&a),
        CaseCommand::Member(MemberCommand::Add(a)) => {
            let node = open_node(&a.dir.dir)?;
            let case = case_id(&a.case)?;
            node.case_member_add(
                case,
                &officer(&a.officer)?,
                &OfficerId::new(&a.member)?,
                a.administrator,
            )?;
            println!("{case}: {} added to {}'s side", a.member, node.party());
            Ok(())
        }
        CaseCommand::Member(MemberCommand::Remove(a)) => {
            let node = open_node(&a.dir.dir)?;
            let case = case_id(&a.case)?;
            node.case_member_remove(case, &officer(&a.officer)?, &OfficerId::new(&a.member)?)?;
            println!("{case}: {} removed from {}'s side", a.member, node.party());
            Ok(())
        }
        CaseCommand::Exhibit(cmd) => exhibit(cmd),
        CaseCommand::End(a) => {
            let node = open_node(&a.dir.dir)?;
            let case = case_id(&a.case)?;
            node.case_end(case, &officer(&a.officer)?, &a.reason)?;
            println!("{case}: ended by {}", a.officer.officer);
            Ok(())
        }
        CaseCommand::Report(a) => super::runtime()?.block_on(report(&a)),
        CaseCommand::Verify(a) => verify(&a.folder, &a.cards, a.dir.as_deref()).map(|_| ()),
    }
}

pub(crate) fn officer(arg: &OfficerArg) -> Result<OfficerId> {
    Ok(OfficerId::new(&arg.officer)?)
}

/// A case named by its id or by its proposal's.
pub fn case_id(text: &str) -> Result<CaseId> {
    let text = text.trim();
    if let Ok(case) = CaseId::parse(text) {
        return Ok(case);
    }
    if let Ok(proposal) = ProposalId::parse(text) {
        return Ok(CaseId::for_proposal(&proposal));
    }
    bail!("`{text}` is neither a case id (`case-` and 32 hex digits) nor a proposal id")
}

/// The exhibit named by its digest or by a unique prefix of at least 8 hex
/// digits (as `case show` prints them).
pub(crate) fn exhibit_ref(node: &Node, r: &ExhibitRef) -> Result<(CaseId, ExhibitDigest)> {
    let case = case_id(&r.case)?;
    let text = r.exhibit.trim();
    if let Ok(digest) = ExhibitDigest::parse(text) {
        return Ok((case, digest));
    }
    if text.len() >= 8 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let found: Vec<ExhibitDigest> = node
            .case(case)?
            .case
            .exhibits
            .iter()
            .map(|x| x.digest)
            .filter(|d| d.to_string().starts_with(text))
            .collect();
        if let [one] = found.as_slice() {
            return Ok((case, *one));
        }
        if found.len() > 1 {
            bail!(
                "`{text}` names {} exhibits of {case}; give more digits",
                found.len()
            );
        }
    }
    bail!(
        "`{text}` is not an exhibit of {case}: give its SHA-256 (64 hex digits) or a unique prefix of 8 or more"
    )
}

fn list(dir: &Path) -> Result<()> {
    let node = open_node(dir)?;
    let cases = node.cases()?;
    if cases.is_empty() {
        println!(
            "no cases; a case opens when a joint-investigation proposal is accepted (`soberana decide ID --accept`)"
        );
    }
    for c in cases {
        println!(
            "{}  {} ({} ↔ {}), {} member(s), {} exhibit(s), {}",
            c.id,
            c.title,
            c.parties[0],
            c.parties[1],
            c.members.len(),
            c.exhibits.len(),
            ends(&c)
        );
    }
    Ok(())
}

pub(crate) fn ends(case: &Case) -> String {
    match &case.ended {
        Some(reason) => format!("ended: {reason}"),
        None => format!(
            "ends {}",
            Timestamp::from_unix_millis(i64::try_from(case.ends_at_ms).unwrap_or(i64::MAX))
        ),
    }
}

fn show(a: &ShowArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let view = node.case(case_id(&a.case)?)?;
    let c = &view.case;
    if a.json {
        let events: Vec<serde_json::Value> = view
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "log_index": e.log_index,
                    "ours": e.ours,
                    "digest": report::hex_of(&e.event.digest()),
                    "event": e.event,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "case": c, "events": events }))?
        );
        return Ok(());
    }
    let line = |s: String| println!("{}", soberana_core::visible(&s));
    line(format!("{}  {}", c.id, c.title));
    line(format!(
        "  agreement {}; parties {} and {}; {}",
        c.proposal_id,
        c.parties[0],
        c.parties[1],
        ends(c)
    ));
    for m in node.case_members(c.id)? {
        let standing = if !m.established_here {
            format!(", as {} claims", m.party)
        } else if !m.enabled {
            ", disabled here: no access".to_owned()
        } else {
            String::new()
        };
        line(format!(
            "  member {} of {} ({:?}{standing})",
            m.officer, m.party, m.role
        ));
    }
    for x in &c.exhibits {
        line(format!(
            "  exhibit {} `{}` {} bytes from {} by {}: {:?}{}; {}",
            x.digest,
            x.label,
            x.size,
            x.contributor,
            x.offered_by,
            x.status,
            if x.received { ", received" } else { "" },
            x.conditions.describe()
        ));
    }
    for named in node.evidence_named(c.proposal_id).unwrap_or_default() {
        line(format!(
            "  named in the signed proposal: {} `{}` {} bytes: {}",
            named.exhibit.digest,
            named.exhibit.title,
            named.exhibit.size,
            named.state.as_str()
        ));
    }
    line("  chain of custody:".into());
    for e in &view.events {
        let ev = &e.event;
        let on = ev
            .act
            .exhibit()
            .map(|d| format!(" {}", d.short()))
            .unwrap_or_default();
        let why = match &ev.act {
            soberana_case::Act::Refused { reason, .. } => format!(": {reason}"),
            _ => String::new(),
        };
        line(format!(
            "    #{} {} {}{} by {} of {}{}",
            e.log_index,
            Timestamp::from_unix_millis(i64::try_from(ev.time_ms).unwrap_or(0)),
            ev.act.name(),
            on,
            ev.actor,
            ev.party,
            why
        ));
    }
    Ok(())
}

fn exhibit(cmd: ExhibitCommand) -> Result<()> {
    match cmd {
        ExhibitCommand::Add(a) => {
            let node = open_node(&a.dir.dir)?;
            let case = case_id(&a.case)?;
            let conditions = UseConditions {
                purpose_only: !a.allow_other_purposes,
                no_onward_transmission: !a.allow_onward_transmission,
                court_needs_consent: !a.allow_court_use,
                retention_days: a.retention_days,
            };
            let described = conditions.describe();
            let digest =
                node.exhibit_add(case, &officer(&a.officer)?, &a.file, &a.label, conditions)?;
            println!(
                "{case}: exhibit {digest} offered ({described}); release it with `soberana case exhibit release {case} {digest} --officer A --confirmed-by B`"
            );
            Ok(())
        }
        ExhibitCommand::Release(a) => {
            let node = open_node(&a.dir.dir)?;
            let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
            node.exhibit_release(
                case,
                digest,
                &[officer(&a.officer)?, OfficerId::new(&a.confirmed_by)?],
            )?;
            println!(
                "{case}: exhibit {} released to the other side",
                digest.short()
            );
            Ok(())
        }
        ExhibitCommand::Fetch(a) => {
            let node = open_node(&a.dir.dir)?;
            let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
            let by = officer(&a.officer)?;
            let fetched =
                super::runtime()?.block_on(node.exhibit_fetch(case, &by, digest, a.max_bytes))?;
            match fetched {
                Fetched::Received {
                    resumed_from,
                    bytes,
                } => println!(
                    "{case}: exhibit {} received ({bytes} bytes{}), digest checked",
                    digest.short(),
                    if resumed_from > 0 {
                        format!(", resumed from byte {resumed_from}")
                    } else {
                        String::new()
                    }
                ),
                Fetched::Cut { at, of } => println!(
                    "{case}: exhibit {} cut at byte {at} of {of}; run the same command to resume",
                    digest.short()
                ),
            }
            Ok(())
        }
        ExhibitCommand::Open(a) => {
            let node = open_node(&a.dir.dir)?;
            let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
            let by = officer(&a.officer)?;
            match &a.out {
                Some(path) => {
                    if path.exists() {
                        bail!("`{}` exists; name a new file", path.display());
                    }
                    let mut file = std::fs::File::create(path)
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    let n = node.exhibit_open(case, &by, digest, &mut file)?;
                    eprintln!(
                        "{case}: exhibit {} opened by {by} ({n} bytes) into {}",
                        digest.short(),
                        path.display()
                    );
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    node.exhibit_open(case, &by, digest, &mut lock)?;
                    lock.flush()?;
                }
            }
            Ok(())
        }
        ExhibitCommand::Export(a) => evidence::export(&a),
        ExhibitCommand::Use(a) => evidence::use_exhibit(&a),
        ExhibitCommand::Consent(a) => evidence::consent(&a),
        ExhibitCommand::Delete(a) => {
            let node = open_node(&a.dir.dir)?;
            let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
            node.exhibit_delete(case, &officer(&a.officer)?, digest, &a.reason)?;
            println!(
                "{case}: our copy of exhibit {} deleted; its custody stays in both logs",
                digest.short()
            );
            Ok(())
        }
    }
}
