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
}

/// `soberana report transparency`.
#[derive(Debug, Args)]
pub struct TransparencyArgs {
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
    }
}

fn transparency(args: TransparencyArgs) -> Result<()> {
    let from = instant(&args.from, "--from")?;
    let to = instant(&args.to, "--to")?;
    if to <= from {
        bail!("--to ({}) must come after --from ({})", args.to, args.from);
    }
    let peer =
        PartyCode::new(&args.peer).map_err(|e| anyhow::anyhow!("--peer `{}`: {e}", args.peer))?;
    let node = open_node(&args.dir.dir)?;
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
