//! `soberana match …`: private matches of identifiers and person records
//! with a partner, and the holdings partners' matches are checked against.
//!
//! The command reads and checks the list first (every bad line is reported
//! and nothing is sent), then sends a proposal carrying only the list's size
//! and waits for the partner's decision and the result. The protocol itself
//! is driven by the node: by this process when no node runs for the
//! directory, otherwise by the running node (`soberana run`), with this
//! command watching the store.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use soberana_core::{AgencyId, OfficerId, PartyCode, ProposalId, ProposalState};
use soberana_node::sessions::{
    IdentifierRequest, MatchResult, RequestContext, match_result, read_identifier_file,
};
use soberana_node::{Node, NodeError};
use soberana_psi::{IdentifierKind, Protocol};

use soberana_linkage::record::{DateFormat, SexCodes};
use soberana_node::sessions::persons::{PersonFormat, PersonLayout, PersonLoad, load_person_file};

use crate::cli::{
    MatchHoldArgs, MatchHoldPersonsArgs, MatchHoldWhat, MatchIdsArgs, MatchKeyCommand,
    MatchPersonsArgs, MatchRequestArgs, PersonFormatArgs,
};
use crate::policy::open_node;

fn context(args: &MatchRequestArgs) -> Result<RequestContext> {
    Ok(RequestContext {
        agency: args.agency.as_deref().map(AgencyId::new).transpose()?,
        purpose: args.purpose.clone(),
        legal_basis: args.legal_basis.clone(),
        officer: args.officer.as_deref().map(OfficerId::new).transpose()?,
        ..RequestContext::default()
    })
}

/// `soberana match ids`.
pub fn ids(args: MatchIdsArgs) -> Result<()> {
    let protocol: Protocol = args.protocol.parse()?;
    if args.count_only && protocol == Protocol::Ot {
        bail!(soberana_node::sessions::MatchError::CountOnlyNeedsDh);
    }
    let kind = IdentifierKind::from_name(&args.kind)?;
    let items = read_identifier_file(&args.file, kind)?;
    if items.is_empty() {
        bail!(
            "`{}` holds no identifiers (only blank or comment lines); nothing to match",
            args.file.display()
        );
    }
    let node = open_node(&args.request.dir.dir)?;
    let peer = PartyCode::new(&args.request.peer)?;
    let count = items.len();
    let proposal = node.request_identifier_match(IdentifierRequest {
        peer,
        kind,
        items,
        protocol,
        count_only: args.count_only,
        context: context(&args.request)?,
    })?;
    if !args.request.json {
        println!(
            "asked {peer} to check {count} {kind} identifiers with {protocol} (proposal {}); only the count travels until {peer} accepts",
            proposal.id
        );
    }
    super::runtime()?.block_on(wait_and_print(node, proposal.id, &args.request))
}

/// `soberana match persons`.
pub fn persons(args: MatchPersonsArgs) -> Result<()> {
    let file = load_persons(&args.file, &args.format, args.request.json)?;
    let node = open_node(&args.request.dir.dir)?;
    let peer = PartyCode::new(&args.request.peer)?;
    let count = file.records.len();
    let proposal = node.request_person_match(peer, &file.records, &context(&args.request)?)?;
    if !args.request.json {
        println!(
            "asked {peer} to check {count} person records (proposal {}); only the count travels until {peer} accepts, then the encodings of these records, which {peer} compares and answers with verdicts",
            proposal.id
        );
    }
    super::runtime()?.block_on(wait_and_print(node, proposal.id, &args.request))
}

/// `soberana match hold`.
pub fn hold(args: MatchHoldArgs) -> Result<()> {
    if let Some(MatchHoldWhat::Persons(args)) = args.what {
        return hold_persons(args);
    }
    let (Some(file), Some(kind)) = (args.file, args.kind) else {
        bail!("name the identifier file and its --kind, or say `match hold persons FILE`");
    };
    let kind = IdentifierKind::from_name(&kind)?;
    let items = read_identifier_file(&file, kind)?;
    let node = open_node(&args.dir.dir)?;
    let path = node.holdings_path(kind);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut text = String::with_capacity(items.len() * 24);
    for item in &items {
        text.push_str(item);
        text.push('\n');
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
    println!(
        "{} holds {} {kind} identifiers for partners' accepted checks ({})",
        node.party(),
        items.len(),
        path.display()
    );
    Ok(())
}

/// The most problems listed before the rest are counted.
const PROBLEMS_SHOWN: usize = 20;

/// How a person file is read, from the options.
fn person_format(args: &PersonFormatArgs) -> Result<PersonFormat> {
    let dates = match args
        .dates
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("iso") => Some(DateFormat::Iso),
        Some("compact") => Some(DateFormat::Compact),
        Some("day-first") => Some(DateFormat::DayMonthYear),
        Some("month-first") => Some(DateFormat::MonthDayYear),
        Some(other) => {
            bail!("`--dates {other}` is not one of iso, compact, day-first, month-first")
        }
    };
    let sex_codes = match args
        .sex_codes
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("es") => Some(SexCodes::Spanish),
        Some("en") => Some(SexCodes::English),
        Some(other) => bail!(
            "`--sex-codes {other}` is not one of es (H = hombre, M = mujer) or en (M = male, F = female)"
        ),
    };
    let mut columns = Vec::new();
    if let Some(path) = &args.mapping {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let table: std::collections::BTreeMap<String, String> = toml::from_str(&text)
            .with_context(|| {
                format!(
                    "`{}` is not a mapping of FIELD = \"HEADER\" lines",
                    path.display()
                )
            })?;
        columns.extend(table);
    }
    for pair in &args.columns {
        let Some((field, header)) = pair.split_once('=') else {
            bail!("`--column {pair}` is not FIELD=HEADER");
        };
        columns.push((field.trim().to_owned(), header.trim().to_owned()));
    }
    Ok(PersonFormat {
        layout: PersonLayout::from_name(&args.layout)?,
        columns,
        dates,
        sex_codes,
    })
}

/// Reads a person file all or nothing, printing its data quality first.
fn load_persons(
    file: &std::path::Path,
    format: &PersonFormatArgs,
    quiet: bool,
) -> Result<PersonLoad> {
    let load = load_person_file(file, &person_format(format)?)?;
    if !quiet || !load.problems.is_empty() {
        println!("{}: {}", file.display(), load.quality);
    }
    if !load.problems.is_empty() {
        let mut listed: Vec<&str> = load
            .problems
            .iter()
            .take(PROBLEMS_SHOWN)
            .map(String::as_str)
            .collect();
        let more = load.problems.len().saturating_sub(PROBLEMS_SHOWN);
        let more = format!("… and {more} more");
        if load.problems.len() > PROBLEMS_SHOWN {
            listed.push(&more);
        }
        bail!(
            "{} problem(s) in `{}`; nothing was kept or sent:\n{}",
            load.problems.len(),
            file.display(),
            listed.join("\n")
        );
    }
    Ok(load)
}

/// `soberana match hold persons`.
fn hold_persons(args: MatchHoldPersonsArgs) -> Result<()> {
    let load = load_persons(&args.file, &args.format, false)?;
    let node = open_node(&args.dir.dir)?;
    let path = node.hold_persons(&load.records)?;
    println!(
        "{} holds {} person records for partners' accepted matches ({})",
        node.party(),
        load.records.len(),
        path.display()
    );
    Ok(())
}

/// `soberana match key …`.
pub fn key(cmd: MatchKeyCommand) -> Result<()> {
    use soberana_node::sessions::persons::{linkage_key_check, new_linkage_key};
    let said = |node: &Node, check: &str| {
        println!(
            "{} holds the linkage secret in {} (readable by this user alone); key check {check}: the partner's must read the same",
            node.party(),
            node.linkage_key_path().display()
        );
    };
    match cmd {
        MatchKeyCommand::Install(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read `{}`", args.file.display()))?;
            let node = open_node(&args.dir.dir)?;
            let check = node
                .install_linkage_key(&text, args.replace)
                .with_context(|| format!("`{}`", args.file.display()))?;
            said(&node, &check);
        }
        MatchKeyCommand::New(args) => {
            let node = open_node(&args.dir.dir)?;
            let key = new_linkage_key()?;
            {
                use std::io::Write as _;
                use std::os::unix::fs::OpenOptionsExt as _;
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&args.out)
                    .with_context(|| format!("cannot create `{}`", args.out.display()))?;
                out.write_all(format!("{key}\n").as_bytes())
                    .and_then(|()| out.sync_all())
                    .with_context(|| format!("cannot write `{}`", args.out.display()))?;
            }
            let check = match node.install_linkage_key(&key, args.replace) {
                Ok(check) => check,
                Err(e) => {
                    let _ = std::fs::remove_file(&args.out);
                    return Err(e.into());
                }
            };
            said(&node, &check);
            println!(
                "carry {} to the partner over an official channel; they run `soberana match key install`",
                args.out.display()
            );
        }
        MatchKeyCommand::Check(dir) => {
            let node = open_node(&dir.dir)?;
            let path = node.linkage_key_path();
            let text = soberana_node::read_secret(&path)?;
            let check =
                linkage_key_check(&text).with_context(|| format!("`{}`", path.display()))?;
            said(&node, &check);
        }
    }
    Ok(())
}

/// Prints a match's result, one line each.
pub fn print_result(result: &MatchResult, indent: &str) {
    match result {
        MatchResult::Hits { hits, summary } => {
            println!("{indent}{summary}");
            for hit in hits {
                println!("{indent}  {hit}");
            }
        }
        MatchResult::Count { summary, .. } => println!("{indent}{summary}"),
        MatchResult::Failed { reason } => println!("{indent}no result: {reason}"),
    }
}

/// Runs the node here if none runs for its directory, and waits for the
/// proposal's result, saying how it goes.
pub(crate) async fn wait_and_print(
    node: Node,
    id: ProposalId,
    args: &MatchRequestArgs,
) -> Result<()> {
    let running = match node.start().await {
        Ok(running) => Some(running),
        Err(NodeError::Bind { .. }) => {
            if !args.json {
                println!(
                    "a node is already running for {}; it runs the match, this command watches",
                    node.dir().root().display()
                );
            }
            None
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = watch(&node, id, args).await;
    if let Some(running) = running {
        running.stop().await;
    }
    let result = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_result(&result, "");
    }
    if matches!(result, MatchResult::Failed { .. }) {
        bail!("the match did not complete");
    }
    Ok(())
}

async fn watch(node: &Node, id: ProposalId, args: &MatchRequestArgs) -> Result<MatchResult> {
    let started = Instant::now();
    let mut last_state = None;
    let mut last_parts = 0;
    loop {
        let detail = node.show(id)?;
        let state = detail.record.state;
        if last_state != Some(state) && !args.json {
            let said = match state {
                ProposalState::Queued => "queued for delivery",
                ProposalState::Delivered => "delivered; the partner's policy or an officer decides",
                ProposalState::Accepted => "accepted; the protocol runs",
                _ => "",
            };
            if !said.is_empty() {
                println!("  {said}");
            }
        }
        last_state = Some(state);
        match state {
            ProposalState::Answered => {
                return match_result(&detail).context("the proposal was answered with no result");
            }
            ProposalState::Refused | ProposalState::MoreInformationNeeded => {
                let reasons: Vec<String> = detail
                    .decision
                    .iter()
                    .flat_map(|d| d.reasons.iter().map(|r| r.text.clone()))
                    .collect();
                bail!(
                    "the partner decided: {state} ({}); nothing of the list left this node",
                    reasons.join("; ")
                );
            }
            ProposalState::Queued => {
                if let Some(refused) = detail
                    .events
                    .iter()
                    .find(|e| e.event.contains("refused an envelope for good"))
                {
                    bail!("{}; nothing of the list left this node", refused.event);
                }
            }
            _ => {}
        }
        let parts = node.session_progress(id)?.sent_parts;
        if parts != last_parts && !args.json {
            println!("  protocol: {parts} message part(s) sent");
            last_parts = parts;
        }
        if started.elapsed() > Duration::from_secs(args.wait) {
            bail!(
                "no result within {} s (the proposal is {state}); the request stays on the node: keep `soberana run --dir {}` up and look with `soberana show {id}`",
                args.wait,
                node.dir().root().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One match in the demo: `asker` checks `list` (identifiers of `kind`,
/// one per line) against what `holder` holds; an officer of `holder`
/// accepts; returns what `asker` learnt.
pub async fn demo_match(
    asker: &Node,
    holder: &Node,
    kind: IdentifierKind,
    list: &str,
    agency: &str,
    officer: &str,
) -> Result<MatchResult> {
    let options = soberana_psi::ReadOptions {
        default_kind: Some(kind),
        ..soberana_psi::ReadOptions::default()
    };
    let items: Vec<String> = soberana_psi::read_identifiers(list.as_bytes(), &options)?
        .iter()
        .map(|i| i.canonical().to_owned())
        .collect();
    let proposal = asker.request_identifier_match(IdentifierRequest {
        peer: holder.party(),
        kind,
        items,
        protocol: Protocol::Ot,
        count_only: false,
        context: RequestContext {
            agency: Some(AgencyId::new(agency)?),
            purpose: format!("check seized {kind} identifiers for hits in a trafficking case"),
            ..RequestContext::default()
        },
    })?;
    accept_and_wait(
        asker,
        holder,
        proposal.id,
        officer,
        "a hit/no-hit check: only matches are learnt, nothing else leaves",
    )
    .await
}

/// Has an officer of `holder` accept the match proposal `id` once policy
/// sends it to review (policy may also have accepted it already), and waits
/// for `asker` to hold the answer.
pub(crate) async fn accept_and_wait(
    asker: &Node,
    holder: &Node,
    id: ProposalId,
    officer: &str,
    reason: &str,
) -> Result<MatchResult> {
    let waiting = super::demo::wait_for(
        holder,
        id,
        &[
            ProposalState::AwaitingOfficer,
            ProposalState::Accepted,
            ProposalState::Refused,
        ],
    )
    .await?;
    match waiting.record.state {
        ProposalState::AwaitingOfficer => {
            holder.decide(
                id,
                soberana_node::OfficerVerdict {
                    officer: OfficerId::new(officer)?,
                    outcome: soberana_core::Outcome::Accepted,
                    reason: reason.into(),
                    release: Vec::new(),
                },
            )?;
        }
        ProposalState::Refused => bail!("{} refused the match", holder.party()),
        _ => {}
    }
    let answered = super::demo::wait_for(asker, id, &[ProposalState::Answered]).await?;
    match_result(&answered).context("the match was answered with no result")
}

/// A person match in the demo: `asker` checks the records in `records`
/// (CSV) against `holder`'s person records; an officer of `holder` accepts.
pub async fn demo_person_match(
    asker: &Node,
    holder: &Node,
    records: &std::path::Path,
    agency: &str,
    officer: &str,
) -> Result<MatchResult> {
    let file = soberana_node::sessions::persons::read_person_file(records)?;
    let proposal = asker.request_person_match(
        holder.party(),
        &file.records,
        &RequestContext {
            agency: Some(AgencyId::new(agency)?),
            purpose: "find cross-border links of suspects in a kidnapping case".into(),
            ..RequestContext::default()
        },
    )?;
    accept_and_wait(
        asker,
        holder,
        proposal.id,
        officer,
        "likely matches only, under pseudonymous ids; details need an information request",
    )
    .await
}
