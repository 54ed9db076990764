//! `soberana match standing …`: standing match arrangements with a partner
//! (bulk blind cross-matching).
//!
//! The rules are the node's (`soberana_node::sessions::standing`); this is
//! the operator's way to them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use soberana_core::{
    OfficerId, PartyCode, StandingAction, StandingArrangement, StandingBudget, StandingPeriod,
    StandingTerms, Timestamp, visible,
};

use crate::cli::{DirArg, MatchRequestArgs};
use crate::policy::open_node;

/// `soberana match standing …` (its help is on `MatchCommand::Standing`).
#[derive(Debug, Subcommand)]
pub enum StandingCommand {
    /// Propose an arrangement to a partner, with the budget our side sets;
    /// two different approvers (--officer, --confirmed-by).
    Propose(ProposeArgs),
    /// Accept the arrangement a partner proposed, with the budget our side
    /// sets; it is in force once the act is recorded. Two different
    /// approvers (--officer, --confirmed-by): from then on our node answers
    /// the partner's runs within the budget with no officer.
    Accept(AcceptArgs),
    /// List the arrangements with every partner (or one): status, both
    /// budgets and the effective one, what this period has used.
    List(ListArgs),
    /// Run an arrangement now: check the list against the partner's
    /// holdings within the budget, and wait for the result.
    Run(RunArgs),
    /// Keep FILE as the list our side checks under an arrangement (read
    /// whole first: a bad line refuses it).
    Keep(KeepArgs),
    /// Suspend an arrangement: no run goes or is answered until we resume
    /// it. One approver (--officer).
    Suspend(NamedArgs),
    /// Resume an arrangement we suspended. One approver (--officer).
    Resume(NamedArgs),
    /// End an arrangement for good. One approver (--officer).
    Terminate(NamedArgs),
}

/// The node, the partner and the arrangement.
#[derive(Debug, Args)]
pub struct NamedArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner's party code (e.g. US).
    pub partner: String,
    /// The arrangement's name (a-z, 0-9, `-`, `_`).
    pub name: String,
    /// Why, recorded in the signed act both logs hold.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// The approver making the act (registered and enabled on this node,
    /// with the approver role). Who approved is kept in our audit trail,
    /// not in the act the partner receives.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: String,
}

/// The second approver that proposing or accepting needs.
#[derive(Debug, Args)]
pub struct ConfirmedByArg {
    /// A second, different approver (registered and enabled on this node).
    /// Proposing or accepting sets the budget under which our node answers
    /// the partner's runs with no officer looking at each, so the node
    /// makes the act only when two different approvers name it.
    #[arg(long)]
    pub confirmed_by: String,
}

/// A budget one side sets.
#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// The most queries (identifiers or person records) one run may hold.
    #[arg(long)]
    pub per_run: u64,
    /// The most queries all runs in one period may hold together.
    #[arg(long)]
    pub per_period: u64,
}

impl BudgetArgs {
    fn budget(&self) -> StandingBudget {
        StandingBudget {
            per_run: self.per_run,
            per_period: self.per_period,
        }
    }
}

/// `soberana match standing propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The node, the partner, the arrangement's name, the reason and the
    /// first approver.
    #[command(flatten)]
    pub on: NamedArgs,
    /// The second approver.
    #[command(flatten)]
    pub confirmed: ConfirmedByArg,
    /// What is checked: an identifier kind (phone, clabe, iban, aba,
    /// firearm, plate, email) or `persons`.
    #[arg(long)]
    pub list_kind: String,
    /// How often a run is due: daily or weekly.
    #[arg(long)]
    pub period: String,
    /// Which side checks its list: `us` (this node, the default) or
    /// `partner` (the partner checks its list against our holdings).
    #[arg(long, default_value = "us")]
    pub asker: String,
    /// The budget our side sets.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// The list our side checks (when we ask), kept for the runs.
    #[arg(long)]
    pub list: Option<PathBuf>,
}

/// `soberana match standing accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The node, the partner, the arrangement's name, the reason and the
    /// first approver.
    #[command(flatten)]
    pub on: NamedArgs,
    /// The second approver.
    #[command(flatten)]
    pub confirmed: ConfirmedByArg,
    /// The budget our side sets.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// The list our side checks (when we ask), kept for the runs.
    #[arg(long)]
    pub list: Option<PathBuf>,
}

/// `soberana match standing list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Only this partner.
    pub partner: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana match standing run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner's party code.
    pub partner: String,
    /// The arrangement's name.
    pub name: String,
    /// Check this list instead of the one kept for the arrangement.
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// The officer asking.
    #[arg(long, env = "SOBERANA_OFFICER")]
    pub officer: Option<String>,
    /// How long to wait for the result, in seconds.
    #[arg(long, default_value_t = 900)]
    pub wait: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `soberana match standing keep`.
#[derive(Debug, Args)]
pub struct KeepArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner's party code.
    pub partner: String,
    /// The arrangement's name.
    pub name: String,
    /// The list: identifiers one per line, or person records (CSV with
    /// soberana's header: id, given_names, paternal_surname, …).
    pub file: PathBuf,
}

/// The approvers an act names: `--officer`, and `--confirmed-by` where the
/// act needs two (the node judges them).
fn approvers(on: &NamedArgs, confirmed: Option<&ConfirmedByArg>) -> Result<Vec<OfficerId>> {
    let mut approvers = vec![OfficerId::new(&on.officer).context("--officer")?];
    if let Some(c) = confirmed {
        approvers.push(OfficerId::new(&c.confirmed_by).context("--confirmed-by")?);
    }
    Ok(approvers)
}

/// The node's refusal of an act, naming the four-eyes rule when the same
/// approver was named twice.
fn refused(what: &str, e: soberana_node::NodeError) -> anyhow::Error {
    match e {
        soberana_node::NodeError::SameOfficer(who) => anyhow::anyhow!(
            "`{who}` is named twice: {what} needs two different approvers (--officer and --confirmed-by), since it sets the budget under which our node answers the partner's runs with no officer"
        ),
        other => other.into(),
    }
}

fn partner(text: &str) -> Result<PartyCode> {
    PartyCode::new(text).with_context(|| format!("partner `{text}`"))
}

/// Runs `soberana match standing …`.
pub fn run(cmd: StandingCommand) -> Result<()> {
    match cmd {
        StandingCommand::Propose(args) => propose(args),
        StandingCommand::Accept(args) => accept(args),
        StandingCommand::List(args) => list(&args),
        StandingCommand::Run(args) => run_now(args),
        StandingCommand::Keep(args) => keep(&args),
        StandingCommand::Suspend(a) => act(&a, |name| StandingAction::Suspend { name }),
        StandingCommand::Resume(a) => act(&a, |name| StandingAction::Resume { name }),
        StandingCommand::Terminate(a) => act(&a, |name| StandingAction::Terminate { name }),
    }
}

fn propose(args: ProposeArgs) -> Result<()> {
    let node = open_node(&args.on.dir.dir)?;
    let peer = partner(&args.on.partner)?;
    let Some(period) = StandingPeriod::from_name(&args.period) else {
        bail!("period `{}` is not daily or weekly", args.period);
    };
    let asker = match args.asker.trim().to_ascii_lowercase().as_str() {
        "us" | "we" | "ours" => node.party(),
        "partner" | "they" | "theirs" => peer,
        other => bail!("--asker `{other}` is not `us` or `partner`"),
    };
    if args.list.is_some() && asker != node.party() {
        bail!("--list is the list our side checks; with --asker partner the partner keeps its own");
    }
    if let Some(list) = &args.list {
        // Read before the act, so a bad list proposes nothing.
        check_list(&args.list_kind, list)?;
    }
    let terms = StandingTerms {
        name: args.on.name.clone(),
        asker,
        list: args.list_kind.trim().to_ascii_lowercase(),
        period,
    };
    let after = node
        .act_on_standing(
            peer,
            StandingAction::Propose {
                terms,
                budget: args.budget.budget(),
            },
            &args.on.reason,
            &approvers(&args.on, Some(&args.confirmed))?,
        )
        .map_err(|e| refused("standing_propose", e))?;
    println!(
        "standing_propose: signed, logged and queued to {peer}; `{}` awaits {peer}'s acceptance with its budget",
        after.terms.name
    );
    if let Some(list) = &args.list {
        let count = node.keep_standing_list(peer, &args.on.name, list)?;
        println!("  kept a list of {count} for its runs");
    }
    Ok(())
}

/// Reads a list as the node will, before an act that would keep it.
fn check_list(kind: &str, file: &std::path::Path) -> Result<()> {
    soberana_node::Node::check_standing_list(kind, file)?;
    Ok(())
}

fn accept(args: AcceptArgs) -> Result<()> {
    let node = open_node(&args.on.dir.dir)?;
    let peer = partner(&args.on.partner)?;
    if let Some(list) = &args.list {
        let Some(arrangement) = node
            .standing_arrangements(peer)?
            .into_iter()
            .find(|a| a.terms.name == args.on.name)
        else {
            bail!(
                "there is no standing arrangement `{}` with {peer}",
                args.on.name
            );
        };
        check_list(&arrangement.terms.list, list)?;
    }
    let after = node
        .act_on_standing(
            peer,
            StandingAction::Accept {
                name: args.on.name.clone(),
                budget: args.budget.budget(),
            },
            &args.on.reason,
            &approvers(&args.on, Some(&args.confirmed))?,
        )
        .map_err(|e| refused("standing_accept", e))?;
    println!(
        "standing_accept: signed, logged and queued to {peer}; `{}` is {}, effective budget {}",
        after.terms.name,
        after.status.as_str(),
        after
            .effective_budget()
            .map_or("not set".to_owned(), |b| b.to_string())
    );
    if let Some(list) = &args.list {
        let count = node.keep_standing_list(peer, &args.on.name, list)?;
        println!("  kept a list of {count} for its runs");
    }
    Ok(())
}

fn act(args: &NamedArgs, make: impl FnOnce(String) -> StandingAction) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let peer = partner(&args.partner)?;
    let action = make(args.name.clone());
    let what = action.as_str();
    let after = node
        .act_on_standing(peer, action, &args.reason, &approvers(args, None)?)
        .map_err(|e| refused(what, e))?;
    println!(
        "{what}: signed, logged and queued to {peer}; `{}` is {}",
        after.terms.name,
        after.status.as_str()
    );
    Ok(())
}

fn keep(args: &KeepArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let peer = partner(&args.partner)?;
    let count = node.keep_standing_list(peer, &args.name, &args.file)?;
    println!(
        "kept a list of {count} for standing arrangement `{}` with {peer} ({})",
        args.name,
        node.standing_list_path(peer, &args.name).display()
    );
    Ok(())
}

fn list(args: &ListArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let only = args.partner.as_deref().map(partner).transpose()?;
    let views: Vec<_> = node
        .standing_views(Timestamp::now())?
        .into_iter()
        .filter(|v| only.is_none_or(|p| v.partner == p))
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    if views.is_empty() {
        println!(
            "no standing arrangements; propose one with `soberana match standing propose PARTNER NAME …`"
        );
        return Ok(());
    }
    for v in &views {
        print_arrangement(&node.party(), v.partner, &v.arrangement);
        println!(
            "    effective budget: {}; used this period: {}",
            v.effective
                .map_or("not agreed yet".to_owned(), |b| b.to_string()),
            v.used_this_period
        );
        if v.arrangement.terms.asker == node.party() {
            println!(
                "    our list: {}; last run: {}",
                if v.list_kept {
                    "kept"
                } else {
                    "none kept (see `keep`)"
                },
                v.last_run.map_or("never".to_owned(), |t| t.to_string())
            );
            if let Some(next) = v.next_run {
                println!("    next run due: {next}");
            }
        }
        for run in &v.runs {
            println!(
                "    run {} at {}: {}, {} queries{}",
                run.proposal,
                run.at,
                run.state,
                run.queries,
                run.matched
                    .map_or(String::new(), |m| format!(", {m} matched"))
            );
        }
    }
    Ok(())
}

fn print_arrangement(us: &PartyCode, peer: PartyCode, a: &StandingArrangement) {
    let who = if a.terms.asker == *us {
        format!(
            "we check our {} list against {peer}'s holdings",
            a.terms.list
        )
    } else {
        format!("{peer} checks its {} list against ours", a.terms.list)
    };
    println!(
        "{peer} `{}`: {} ({}), {who}",
        a.terms.name,
        a.status.as_str(),
        a.terms.period.as_str()
    );
    for (party, budget) in &a.budgets {
        println!("    {party} sets {budget}");
    }
    if let Some(by) = a.stopped_by {
        println!(
            "    {} by {by}{}",
            a.status.as_str(),
            if a.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", visible(&a.reason))
            }
        );
    }
}

fn run_now(args: RunArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let peer = partner(&args.partner)?;
    let officer = args.officer.as_deref().map(OfficerId::new).transpose()?;
    let proposal = node.run_standing(
        peer,
        &args.name,
        args.list.as_deref(),
        officer,
        Timestamp::now(),
    )?;
    if !args.json {
        println!(
            "standing run under `{}` sent to {peer} (proposal {}); {peer}'s node checks it against the arrangement and answers without an officer",
            args.name, proposal.id
        );
    }
    let watch = MatchRequestArgs {
        dir: DirArg {
            dir: args.dir.dir.clone(),
        },
        peer: args.partner.clone(),
        agency: None,
        purpose: String::new(),
        legal_basis: String::new(),
        officer: args.officer.clone(),
        wait: args.wait,
        json: args.json,
    };
    super::runtime()?.block_on(super::matching::wait_and_print(node, proposal.id, &watch))
}
