//! `soberana agreement …`: the bilateral agreement with a partner.
//!
//! Every act is signed by the node, recorded in its log and queued to the
//! partner, whose node records it in its own log and answers with a signed
//! acknowledgement; a running node (`soberana run`) delivers it. Terms are
//! proposed by one side and in force only once the other side accepts them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use soberana_core::{Agreement, AgreementAction, PartyCode, visible};

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana agreement …`.
#[derive(Debug, Subcommand)]
pub enum AgreementCommand {
    /// Show the agreement with a partner: status, terms in force, terms
    /// awaiting acceptance, and every act on it (ours and the partner's).
    Show(PartnerArgs),
    /// Propose terms to a partner (a TOML file, see
    /// examples/agreements/mx-us.toml); in force once the partner accepts.
    Propose(TermsArgs),
    /// Propose new terms for the agreement in force; the old ones hold until
    /// the partner accepts.
    Amend(TermsArgs),
    /// Accept the terms the partner proposed: they are in force on both sides.
    Accept(ActArgs),
    /// Suspend the agreement: no new proposal crosses either way (intake
    /// refuses them, our outbox holds them) until we resume it.
    Suspend(ActArgs),
    /// Resume an agreement we suspended.
    Resume(ActArgs),
    /// Terminate the agreement for good.
    Terminate(ActArgs),
}

/// The node and the partner.
#[derive(Debug, Args)]
pub struct PartnerArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner's party code (e.g. US).
    pub partner: String,
}

/// An act with a reason.
#[derive(Debug, Args)]
pub struct ActArgs {
    /// The node and the partner.
    #[command(flatten)]
    pub on: PartnerArgs,
    /// Why, recorded in the signed act both logs hold.
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// An act that proposes terms.
#[derive(Debug, Args)]
pub struct TermsArgs {
    /// The node, the partner and the reason.
    #[command(flatten)]
    pub act: ActArgs,
    /// The terms, as TOML.
    #[arg(long)]
    pub terms: PathBuf,
}

fn partner(text: &str) -> Result<PartyCode> {
    PartyCode::new(text).with_context(|| format!("partner `{text}`"))
}

/// Runs `soberana agreement …`.
pub fn run(cmd: AgreementCommand) -> Result<()> {
    let (args, action) = match cmd {
        AgreementCommand::Show(args) => return show(&args),
        AgreementCommand::Propose(t) => {
            let terms = soberana_node::read_terms(&t.terms)?;
            (t.act, AgreementAction::Propose { terms })
        }
        AgreementCommand::Amend(t) => {
            let terms = soberana_node::read_terms(&t.terms)?;
            (t.act, AgreementAction::Amend { terms })
        }
        AgreementCommand::Accept(a) => (a, AgreementAction::Accept),
        AgreementCommand::Suspend(a) => (a, AgreementAction::Suspend),
        AgreementCommand::Resume(a) => (a, AgreementAction::Resume),
        AgreementCommand::Terminate(a) => (a, AgreementAction::Terminate),
    };
    let node = open_node(&args.on.dir.dir)?;
    let peer = partner(&args.on.partner)?;
    let name = action.as_str();
    let (after, envelope) = node.act_on_agreement(peer, action, &args.reason)?;
    let standing = match &after.pending {
        Some(p) => format!(
            "version {} awaits {} acceptance; the agreement is {}",
            p.version,
            if p.by == peer { "our" } else { "the partner's" },
            after.status.as_str()
        ),
        None => format!(
            "the agreement is {} (version {})",
            after.status.as_str(),
            after.version
        ),
    };
    println!("{name}: signed, logged and queued to {peer} as envelope {envelope}; {standing}");
    Ok(())
}

fn show(args: &PartnerArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let peer = partner(&args.partner)?;
    let Some(agreement) = node.agreement(peer)? else {
        println!(
            "no agreement with {peer}: proposals are decided by policy alone; propose one with `soberana agreement propose {peer} --terms FILE`"
        );
        return Ok(());
    };
    print_agreement(&agreement);
    println!("acts:");
    for record in node.agreement_acts(peer)? {
        let extra = match &record.act.action {
            AgreementAction::Acknowledge { of, envelope } => {
                format!(" of {of} (envelope sha256 {envelope})")
            }
            _ => String::new(),
        };
        println!(
            "  {}  {} {} version {}{}{}  [envelope {}]",
            record.recorded_at,
            record.by,
            record.act.action.as_str(),
            record.act.version,
            extra,
            if record.act.reason.is_empty() {
                String::new()
            } else {
                format!(" — {}", visible(&record.act.reason))
            },
            record.envelope_id
        );
    }
    Ok(())
}

fn print_agreement(a: &Agreement) {
    println!(
        "agreement with {}: {} (version {}) since {}",
        a.partner,
        a.status.as_str(),
        a.version,
        a.since
    );
    if let Some(by) = a.stopped_by {
        println!(
            "  {} by {by}{}",
            a.status.as_str(),
            if a.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", visible(&a.reason))
            }
        );
    }
    if let Some(terms) = &a.terms {
        println!(
            "  terms in force (default handling {:?}):",
            terms.default_handling
        );
        for side in &terms.sides {
            print_side(side);
        }
    }
    for s in &a.standing {
        println!(
            "  standing arrangement `{}`: {} ({}), {} checks its {} list; effective budget {}",
            s.terms.name,
            s.status.as_str(),
            s.terms.period.as_str(),
            s.terms.asker,
            s.terms.list,
            s.effective_budget()
                .map_or("not agreed yet".to_owned(), |b| b.to_string())
        );
    }
    if let Some(p) = &a.pending {
        println!(
            "  version {} proposed by {} awaits acceptance (default handling {:?}):",
            p.version, p.by, p.terms.default_handling
        );
        for side in &p.terms.sides {
            print_side(side);
        }
    }
}

fn print_side(side: &soberana_core::AgreementSide) {
    let kinds: Vec<&str> = side.accepts.iter().map(|k| k.as_str()).collect();
    println!("    {} accepts: {}", side.party, kinds.join(", "));
    for (kind, hours) in &side.answer_hours {
        println!(
            "    {} answers {} within {hours} h",
            side.party,
            kind.as_str()
        );
    }
}
