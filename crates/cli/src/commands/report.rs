//! `soberana report …`: reports a node computes from its own record.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use soberana_core::{PartyCode, Timestamp};
use soberana_node::TransparencyReport;

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// What crossed between this node and a partner in a period: proposals,
    /// decisions, red-line refusals, releases, matches, checkpoints, and the
    /// envelopes behind each figure. Both nodes compute it from their own
    /// record; when they hold the same exchanges, the two reports are
    /// byte-identical.
    Transparency(TransparencyArgs),
    /// The contacts with a partner's agencies in a period, as Mexico's
    /// National Security Law asks officials to report them (to the SRE and
    /// the SSPC, within three days): who, which foreign agency, when, what
    /// was exchanged, under which proposal, and when each report is due.
    /// Signed with the node's key.
    Contacts(ContactsArgs),
    /// Check a signed contact report against the reporting party's card.
    Check(CheckArgs),
}

/// `soberana report contacts`.
#[derive(Debug, Args)]
pub struct ContactsArgs {
    /// The node, the partner whose agencies were in contact, the period.
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Write the signed report (JSON) here instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// `soberana report check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The signed report.
    pub report: PathBuf,
    /// The reporting party's card, whose signing key must have signed it.
    #[arg(long)]
    pub card: PathBuf,
}

/// The node, the partner and the period a report covers.
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner.
    #[arg(long)]
    pub peer: String,
    /// The period's first day (YYYY-MM-DD, UTC) or instant (RFC 3339), inclusive.
    #[arg(long)]
    pub from: String,
    /// The period's end (YYYY-MM-DD, UTC, or RFC 3339), exclusive.
    #[arg(long)]
    pub to: String,
}

impl PeriodArgs {
    /// The partner and the period, checked.
    fn read(&self) -> Result<(PartyCode, Timestamp, Timestamp)> {
        let from = instant(&self.from, "--from")?;
        let to = instant(&self.to, "--to")?;
        if to <= from {
            bail!("--to ({}) must come after --from ({})", self.to, self.from);
        }
        let peer = PartyCode::new(&self.peer)
            .map_err(|e| anyhow::anyhow!("--peer `{}`: {e}", self.peer))?;
        Ok((peer, from, to))
    }
}

/// `soberana report transparency`.
#[derive(Debug, Args)]
pub struct TransparencyArgs {
    /// The node, the partner and the period.
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Write the report here instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Compare with the partner's report for the same period and list every
    /// envelope that one side holds and the other does not; exits non-zero
    /// when they differ.
    #[arg(long)]
    pub compare: Option<PathBuf>,
}

/// A day (midnight UTC) or an RFC 3339 instant.
fn instant(text: &str, flag: &str) -> Result<Timestamp> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    Timestamp::parse(&full).map_err(|_| {
        anyhow::anyhow!("{flag} `{text}` is not a day (2026-01-31) or an RFC 3339 instant")
    })
}

/// Runs a report command.
pub fn run(cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Transparency(args) => transparency(args),
        ReportCommand::Contacts(args) => contacts(args),
        ReportCommand::Check(args) => check(args),
    }
}

fn contacts(args: ContactsArgs) -> Result<()> {
    let (peer, from, to) = args.period.read()?;
    let node = open_node(&args.period.dir.dir)?;
    let signed = node.contact_report(peer, from, to)?;
    let text = serde_json::to_string_pretty(&signed)? + "\n";
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            let overdue = signed.report.contacts.iter().filter(|c| c.overdue).count();
            eprintln!(
                "wrote {} contact(s) with {peer} agencies to {} ({overdue} past the three-day reporting date); signed by {}",
                signed.report.contacts.len(),
                path.display(),
                signed.signing_key
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read `{}`", args.report.display()))?;
    let signed: soberana_node::SignedContactReport = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "`{}` is not a signed contact report: {e}",
            args.report.display()
        )
    })?;
    let card_text = std::fs::read_to_string(&args.card)
        .with_context(|| format!("cannot read card `{}`", args.card.display()))?;
    let card = soberana_wire::SignedCard::parse(&card_text)
        .map_err(|e| anyhow::anyhow!("card `{}`: {e}", args.card.display()))?;
    if card.party.as_str() != signed.report.party {
        bail!(
            "the report is {}'s but the card is {}'s",
            signed.report.party,
            card.party
        );
    }
    let report = soberana_node::check_contact_report(&signed, &card.signing_key)?;
    println!(
        "valid: {}'s contact report for {} to {}, {} contact(s), signed by the key pinned in {} ({})",
        report.party,
        report.from,
        report.to,
        report.contacts.len(),
        args.card.display(),
        card.signing_key
    );
    Ok(())
}

fn transparency(args: TransparencyArgs) -> Result<()> {
    let (peer, from, to) = args.period.read()?;
    let node = open_node(&args.period.dir.dir)?;
    let report = node.transparency_report(peer, from, to)?;
    let text = report.to_text();
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!(
                "wrote the {}–{} transparency report to {} ({} envelopes, exchange digest {})",
                report.parties.join("/"),
                report.from,
                path.display(),
                report.exchange.len(),
                report.exchange_digest
            );
        }
        None if args.compare.is_none() => print!("{text}"),
        None => {}
    }
    let Some(path) = args.compare else {
        return Ok(());
    };
    let their_text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let theirs: TransparencyReport = serde_json::from_str(&their_text)
        .map_err(|e| anyhow::anyhow!("`{}` is not a transparency report: {e}", path.display()))?;
    if their_text == text {
        println!(
            "the reports are byte-identical: {} envelopes, exchange digest {}",
            report.exchange.len(),
            report.exchange_digest
        );
        return Ok(());
    }
    let diff = soberana_node::compare_reports(&node, &report, &theirs);
    for line in &diff.header {
        println!("differs: {line}");
    }
    for (e, index) in &diff.only_ours {
        let at = index.map_or("not in our log's received entries".to_owned(), |i| {
            format!("our log entry {i}")
        });
        println!(
            "only ours:   {} {} from {} at {} ({at})",
            e.envelope,
            e.kind,
            e.sender,
            Timestamp::from_unix_millis(e.time_ms)
        );
    }
    for e in &diff.only_theirs {
        println!(
            "only theirs: {} {} from {} at {}",
            e.envelope,
            e.kind,
            e.sender,
            Timestamp::from_unix_millis(e.time_ms)
        );
    }
    for (a, b) in &diff.differing {
        println!(
            "differs:     {} (ours body {}, theirs body {})",
            a.envelope, a.body_digest, b.body_digest
        );
    }
    if diff.is_empty() {
        bail!(
            "the reports list the same envelopes but their texts differ; compare them line by line"
        );
    }
    bail!(
        "the reports differ: {} envelope(s) only ours, {} only theirs, {} differing",
        diff.only_ours.len(),
        diff.only_theirs.len(),
        diff.differing.len()
    )
}
