//! `soberana case message|messages|task|tasks`: the members' messages and
//! tasks, through the node's rules (`Node::case_message`,
//! `Node::case_task`, `Node::case_task_done`, and the readers that show a
//! member of our side what this node holds).

use anyhow::{Context, Result, bail};
use clap::Args;
use soberana_core::{OfficerId, PartyCode, Timestamp};

use super::{OfficerArg, case_id, officer};
use crate::cli::DirArg;
use crate::policy::open_node;

/// `case message`.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// The case (its id, or the proposal's).
    pub case: String,
    /// The text (at most 8 KiB; a longer text is an exhibit).
    pub text: String,
    /// The language it is written in: `es`, `en` or another ISO 639 code.
    #[arg(long = "lang", default_value = "es")]
    pub language: String,
    /// The member writing.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case messages` and `case tasks`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The case (its id, or the proposal's).
    pub case: String,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
    /// The member reading (a member of our side).
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case task`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["title", "done"])))]
pub struct TaskArgs {
    /// The case (its id, or the proposal's).
    pub case: String,
    /// What is to be done (gives a new task).
    pub title: Option<String>,
    /// The owner, as SIDE:OFFICER (`US:bob`), a member of that side.
    #[arg(long, requires = "title")]
    pub owner: Option<String>,
    /// When it is due: a date (`2026-12-20`, end of that day UTC), a time
    /// (RFC 3339) or a span from now (`P7D`, `PT48H`).
    #[arg(long, requires = "title")]
    pub due: Option<String>,
    /// Close this task instead (its id, `task-…`).
    #[arg(long, conflicts_with_all = ["title", "owner", "due"])]
    pub done: Option<String>,
    /// The member acting.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

fn when(ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub(super) fn message(a: &MessageArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let case = case_id(&a.case)?;
    node.case_message(case, &officer(&a.officer)?, a.language.trim(), &a.text)?;
    println!(
        "{case}: message from {} ({}) recorded; the partner's members receive it",
        a.officer.officer, a.language
    );
    Ok(())
}

pub(super) fn messages(a: &ListArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let case = case_id(&a.case)?;
    let list = node.case_messages(case, &officer(&a.officer)?)?;
    if a.json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|m| {
                serde_json::json!({
                    "party": m.party, "author": m.author, "time_ms": m.time_ms,
                    "language": m.language, "text": m.text, "log_index": m.log_index,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("{case}: no messages yet");
    }
    for m in list {
        println!(
            "{}",
            soberana_core::visible(&format!(
                "#{} {} {} of {} [{}]: {}",
                m.log_index,
                when(m.time_ms),
                m.author,
                m.party,
                m.language,
                m.text
            ))
        );
    }
    Ok(())
}

/// Parses `--due`.
fn due(text: &str) -> Result<Timestamp> {
    let text = text.trim();
    if text.starts_with('P') {
        return soberana_core::deadline_from(text, Timestamp::now())
            .with_context(|| format!("`--due {text}`"));
    }
    if text.len() == 10 {
        return Timestamp::parse(&format!("{text}T23:59:59Z"))
            .with_context(|| format!("`--due {text}` is not a date (YYYY-MM-DD)"));
    }
    Timestamp::parse(text)
        .with_context(|| format!("`--due {text}`: give a date, an RFC 3339 time or a span (P7D)"))
}

fn owner(text: &str) -> Result<(PartyCode, OfficerId)> {
    let Some((side, who)) = text.split_once(':') else {
        bail!("`--owner {text}`: say SIDE:OFFICER, e.g. `US:bob`");
    };
    Ok((PartyCode::new(side.trim())?, OfficerId::new(who.trim())?))
}

pub(super) fn task(a: &TaskArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let case = case_id(&a.case)?;
    let by = officer(&a.officer)?;
    if let Some(task) = &a.done {
        node.case_task_done(case, &by, task)?;
        println!("{case}: {task} done, recorded by {by}");
        return Ok(());
    }
    let title = a.title.as_deref().unwrap_or_default();
    let (side, who) = owner(
        a.owner
            .as_deref()
            .context("a new task names its owner: `--owner SIDE:OFFICER`")?,
    )?;
    let due = due(a
        .due
        .as_deref()
        .context("a new task has a deadline: `--due 2026-12-20` or `--due P7D`")?)?;
    let id = node.case_task(case, &by, title, side, &who, due)?;
    println!("{case}: {id} given to {who} of {side}, due {due}");
    Ok(())
}

pub(super) fn tasks(a: &ListArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let case = case_id(&a.case)?;
    let list = node.case_tasks(case, &officer(&a.officer)?)?;
    let now = u64::try_from(Timestamp::now().unix_millis()).unwrap_or(0);
    if a.json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("overdue".into(), t.is_overdue(now).into());
                }
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("{case}: no tasks yet");
    }
    for t in list {
        let status = match &t.done {
            Some(d) => format!("done {} by {}", when(d.at_ms), d.by),
            None if t.is_overdue(now) => "OVERDUE".to_owned(),
            None => "open".to_owned(),
        };
        println!(
            "{}",
            soberana_core::visible(&format!(
                "{}  {status}  due {}  {} of {}  `{}` (given by {} of {})",
                t.id,
                when(t.due_ms),
                t.owner,
                t.owner_side,
                t.title,
                t.given_by,
                t.given_by_side
            ))
        );
    }
    Ok(())
}
