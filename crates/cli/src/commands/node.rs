//! Node commands: init, run, cards, peers, and the officer's commands.

use std::path::Path;

use anyhow::{Context, Result, bail};
use soberana_core::{
    DecidedBy, Direction, OfficerId, Outcome, PartyCode, ProposalDraft, ProposalId, ProposalState,
    Timestamp,
};
use soberana_node::{DecisionStep, InitOptions, Node, OfficerVerdict};
use soberana_store::{ProposalDetail, ProposalRecord};
use soberana_wire::AnswerItem;

use crate::cli::{
    CardCommand, ConfirmArgs, DecideArgs, DirArg, InitArgs, ListArgs, PeerCommand, ProposeArgs,
    ShowArgs,
};
use crate::policy::{initial_files, open_node};

/// `soberana init`.
pub fn init(args: InitArgs) -> Result<()> {
    let party = PartyCode::new(&args.party)?;
    let (files, digest) = initial_files(party)?;
    let config = soberana_node::init(&InitOptions {
        party,
        dir: args.dir.clone(),
        listen: args.listen,
        endpoint: args.endpoint,
        files,
        constitutional_digest: digest,
        store: args.store,
    })?;
    let node = open_node(&args.dir)?;
    let card = node.card()?.card;
    println!("made a {} node in {}", config.party, args.dir.display());
    println!("  listens on      {}", config.listen);
    println!("  store           {}", node.store_description());
    println!("  signing key     {}", card.signing_key);
    println!("  card fingerprint {}", card.fingerprint());
    println!(
        "next: soberana card export --dir {} -o {}.card",
        args.dir.display(),
        party
    );
    Ok(())
}

/// `soberana run`.
pub async fn serve(dir: DirArg) -> Result<()> {
    let node = open_node(&dir.dir)?;
    let _serving = node.lock_folder()?;
    // A rotated key every partner has taken is put in use now.
    let node = if node.switch_rotated_keys()? {
        open_node(&dir.dir)?
    } else {
        node
    };
    let running = node.start().await?;
    let operator = super::serve_operator(&node).await?;
    println!(
        "{} node listening on {} ({} partner(s) pinned); Ctrl-C to stop",
        node.party(),
        running.addr,
        node.peers().len()
    );
    super::stop_requested().await?;
    if let Some(endpoint) = operator {
        endpoint.stop().await;
    }
    running.stop().await;
    Ok(())
}

/// `soberana card …`.
pub fn card(cmd: CardCommand) -> Result<()> {
    match cmd {
        CardCommand::Export { dir, out } => {
            let node = open_node(&dir.dir)?;
            let signed = node.card()?;
            let text = signed.to_text();
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    eprintln!(
                        "wrote {}'s card to {} (fingerprint {})",
                        signed.card.party,
                        path.display(),
                        signed.card.fingerprint()
                    );
                }
                None => println!("{text}"),
            }
            Ok(())
        }
    }
}

/// `soberana peer …`.
pub fn peer(cmd: PeerCommand) -> Result<()> {
    match cmd {
        PeerCommand::Add { card, replace, dir } => {
            let node = open_node(&dir.dir)?;
            let text = std::fs::read_to_string(&card)
                .with_context(|| format!("cannot read card `{}`", card.display()))?;
            let pinned = if replace {
                node.replace_peer(&text, &card)?
            } else {
                node.add_peer(&text, &card)?
            };
            println!(
                "pinned {} ({}) at {}; fingerprint {}",
                pinned.party,
                pinned.name,
                pinned.endpoint,
                pinned.fingerprint()
            );
            Ok(())
        }
        PeerCommand::List(dir) => {
            let node = open_node(&dir.dir)?;
            for card in node.peers() {
                println!(
                    "{}  {}  {}  fingerprint {}",
                    card.party,
                    card.endpoint,
                    card.name,
                    card.fingerprint()
                );
            }
            Ok(())
        }
    }
}

/// Reads a proposal draft from a TOML or JSON file.
pub fn read_draft(path: &Path) -> Result<ProposalDraft> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read proposal `{}`", path.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    let draft = if is_json {
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("proposal `{}`: {e}", path.display()))?
    } else {
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!("proposal `{}`: {}", path.display(), toml_error(&text, &e))
        })?
    };
    Ok(draft)
}

/// A TOML error in one line: where, and what.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// `soberana propose`.
pub fn propose(args: ProposeArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let draft = read_draft(&args.file)?;
    let author = args.officer.as_deref().map(OfficerId::new).transpose()?;
    if args.check {
        let proposal =
            soberana_core::Proposal::from_draft(draft, node.party(), author, Timestamp::now())
                .map_err(|e| anyhow::anyhow!("proposal `{}`: {e}", args.file.display()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let check = runtime.block_on(crate::policy::check_against_partner(&node, &proposal))?;
        println!("{}", check.summary());
        if check.refused() {
            bail!(
                "{}'s red lines would refuse this draft; nothing was sent",
                proposal.to
            );
        }
        return Ok(());
    }
    if !args.exhibits.is_empty() {
        let officer = author
            .ok_or_else(|| anyhow::anyhow!("a proposal carrying exhibits names its --officer"))?;
        let files: Vec<(std::path::PathBuf, String)> = args
            .exhibits
            .iter()
            .map(|e| match e.split_once('=') {
                Some((path, title)) => (path.into(), title.to_owned()),
                None => (e.into(), String::new()),
            })
            .collect();
        let sent = node.propose_with_evidence(
            draft,
            &officer,
            &files,
            soberana_case::UseConditions::strict(args.retention_days),
        )?;
        println!("{}", sent.proposal.id);
        for (digest, named) in sent
            .exhibits
            .iter()
            .zip(soberana_node::named_exhibits(&sent.proposal.body))
        {
            eprintln!(
                "named and offered in {}: {digest} `{}` {} bytes",
                sent.case, named.title, named.size
            );
        }
        eprintln!(
            "queued for {}: {}; release each exhibit under four eyes with `soberana case exhibit release {} DIGEST`",
            sent.proposal.to,
            sent.proposal.body.summary(),
            sent.case
        );
        return Ok(());
    }
    let proposal = node.propose(draft, author)?;
    println!("{}", proposal.id);
    eprintln!(
        "queued for {}: {} (deadline {}); a running node delivers it",
        proposal.to,
        proposal.body.summary(),
        proposal.deadline
    );
    Ok(())
}

fn deadline_text(deadline: Timestamp) -> String {
    let left = Timestamp::now().seconds_until(deadline);
    if left < 0 {
        format!("overdue by {}", duration_text(-left))
    } else {
        format!("{} left", duration_text(left))
    }
}

fn duration_text(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Prints one line that may hold partner-written text: every control and
/// bidirectional-control character in it is shown as `⟨U+XXXX⟩`, so escape
/// sequences cannot rewrite what the terminal shows and a field stays on one
/// line.
macro_rules! line {
    ($($arg:tt)*) => {
        println!("{}", soberana_core::visible(&format!($($arg)*)))
    };
}

fn print_records(records: &[ProposalRecord], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(records)?);
        return Ok(());
    }
    if records.is_empty() {
        line!("(none)");
    }
    for r in records {
        let p = &r.proposal;
        line!(
            "{}  {:<4} {:<17} {:<23} {:<3} {:<14} {}",
            p.id,
            r.peer,
            r.state.as_str(),
            p.kind().as_str(),
            p.handling,
            deadline_text(p.deadline),
            p.body.summary()
        );
    }
    Ok(())
}

/// `soberana inbox`.
pub fn inbox(args: ListArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let states = if args.all {
        vec![]
    } else {
        vec![ProposalState::AwaitingOfficer]
    };
    print_records(&node.list(Some(Direction::Incoming), states)?, args.json)
}

/// `soberana outbox`.
pub fn outbox(args: ListArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let states = if args.all {
        vec![]
    } else {
        vec![
            ProposalState::Queued,
            ProposalState::Delivered,
            ProposalState::Accepted,
        ]
    };
    print_records(&node.list(Some(Direction::Outgoing), states)?, args.json)?;
    // Envelopes a partner refused for good are never sent again: say so,
    // with the partner's reason, so an officer can act on it.
    let refused = node.refused_deliveries(50)?;
    if !args.json && !refused.is_empty() {
        println!(
            "\n{} envelope(s) refused for good by partners (not sent again):",
            refused.len()
        );
        for r in &refused {
            println!(
                "{}  {:<4} {:<11} {}  {}",
                r.at, r.recipient, r.kind, r.envelope_id, r.reason
            );
        }
    }
    Ok(())
}

/// Prints a proposal's detail for people.
pub fn print_detail(detail: &ProposalDetail) {
    let r = &detail.record;
    let p = &r.proposal;
    line!("proposal   {}", p.id);
    line!("kind       {} ({})", p.kind().label(), r.direction.as_str());
    line!("from → to  {} → {} ({})", p.from, p.to, p.requesting_agency);
    line!("state      {}", r.state);
    line!("asks       {}", p.body.summary());
    crate::commands::body::print_body(&p.body);
    line!("purpose    {}", p.purpose);
    line!("legal basis {}", p.legal_basis);
    line!("handling   {} — {}", p.handling, p.handling.meaning());
    line!("deadline   {} ({})", p.deadline, deadline_text(p.deadline));
    if let Some(verdict) = &detail.verdict {
        line!("policy     {}", verdict["verdict"].as_str().unwrap_or("?"));
        if let Some(reasons) = verdict["reasons"].as_array() {
            for reason in reasons {
                line!(
                    "  because  [{}] {}",
                    reason["policy"].as_str().unwrap_or("-"),
                    reason["text"].as_str().unwrap_or("")
                );
            }
        }
    }
    if let Some(d) = &detail.decision {
        line!(
            "decision   {} by {} at {}",
            d.outcome.as_str(),
            d.decided_by_party,
            d.decided_at
        );
        if let Outcome::AcceptedWithConditions { conditions } = &d.outcome {
            for c in conditions {
                line!("  condition {c}");
            }
        }
        for reason in &d.reasons {
            line!(
                "  because  {}{}",
                reason
                    .policy
                    .as_deref()
                    .map(|p| format!("[{p}] "))
                    .unwrap_or_default(),
                reason.text
            );
        }
        line!("  policy set {}", d.policy_digest);
    }
    if let Some(receipt) = &detail.receipt {
        line!(
            "receipt    from {} at {} (envelope {})",
            receipt.received_by,
            receipt.received_at,
            receipt.envelope_digest
        );
    }
    if let Some(answer) = &detail.answer {
        line!("answer     {}", answer.summary);
        for item in &answer.items {
            line!("  {}: {}", item.label, item.value);
        }
    }
    for (digest, bytes) in &detail.disclosures {
        line!("disclosed  {bytes} bytes, sha256 {digest}");
    }
    line!("history");
    for event in &detail.events {
        line!(
            "  {}  {:<17} {}",
            event.at,
            event.state.as_str(),
            event.event
        );
    }
}

/// `soberana show`.
pub fn show(args: ShowArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let detail = node.show(id)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
    } else {
        print_detail(&detail);
        // What this node establishes itself, beside the sender's wording:
        // places resolved with our geography, who acts, armed or not.
        let engine = crate::policy::load_engine(&args.dir.dir)?;
        let report = engine.eval(&detail.record.proposal, &[]);
        let facts = report.facts();
        if !facts.is_empty() {
            println!("facts established by {}:", engine.party());
            print!("{facts}");
        }
        // A consent request: each use asked, numbered for `decide
        // --grant`, and what was granted.
        if let soberana_core::ProposalBody::ExhibitConsent(_) = &detail.record.proposal.body {
            let grants = node.consent_grants(id)?;
            line!("uses asked (grant some with `soberana decide {id} --accept --grant N …`):");
            for (n, item) in grants.items.iter().enumerate() {
                let state = match item.granted {
                    None => "undecided",
                    Some(true) => "granted",
                    Some(false) => "not granted",
                };
                line!(
                    "  {}. {} of exhibit sha256:{}: {state}",
                    n + 1,
                    item.use_.describe(),
                    item.exhibit
                );
            }
            for condition in &grants.conditions {
                line!("  on condition: {condition}");
            }
        }
        // The evidence the notice or request named in its signed body,
        // and where each exhibit stands here.
        let named = node.evidence_named(id)?;
        if !named.is_empty() {
            line!(
                "evidence named in the signed body (evidence file {}):",
                soberana_case::CaseId::for_proposal(&id)
            );
        }
        for n in &named {
            line!(
                "  sha256:{} `{}` {} bytes: {}",
                n.exhibit.digest,
                n.exhibit.title,
                n.exhibit.size,
                n.state.as_str()
            );
        }
        // What a second approver is asked to confirm, before they do.
        if let Some(pending) = node.pending(id)? {
            println!(
                "awaiting   a second approver: {} by {} at {}",
                pending.outcome.as_str(),
                pending.officer,
                pending.at
            );
            println!("  because  {}", pending.reason);
            for item in &pending.release {
                println!("  releases {}: {}", item.label, item.value);
            }
            println!(
                "  confirm with `soberana confirm {id} --officer ID`, or withdraw with `soberana withdraw {id} --officer ID`"
            );
        }
        let entries = node.proposal_log_entries(id)?;
        line!("log entries (prove one with: soberana log proof INDEX, or the proposal id)");
        if entries.is_empty() {
            line!("  (none yet)");
        }
        for (index, entry) in &entries {
            line!("  #{index:<6} {}", crate::commands::log::describe(entry));
        }
    }
    Ok(())
}

/// Parses `LABEL=VALUE` release items.
pub fn parse_release(items: &[String]) -> Result<Vec<AnswerItem>> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((label, value)) if !label.trim().is_empty() => Ok(AnswerItem {
                label: label.trim().to_owned(),
                value: value.trim().to_owned(),
            }),
            _ => bail!("release item `{item}` must be LABEL=VALUE"),
        })
        .collect()
}

/// `soberana decide`.
pub fn decide(args: DecideArgs) -> Result<()> {
    let node: Node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let outcome = if args.accept {
        if args.conditions.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::AcceptedWithConditions {
                conditions: args.conditions.clone(),
            }
        }
    } else if args.refuse {
        Outcome::Refused
    } else {
        Outcome::MoreInformationNeeded {
            questions: vec![args.reason.clone()],
        }
    };
    if !args.accept && !args.release.is_empty() {
        bail!("only an acceptance can release items: drop --release or use --accept");
    }
    if args.reason.trim().is_empty() {
        bail!("--reason must say why, in plain words: it travels to the partner");
    }
    if !args.grants.is_empty() && (!args.accept || !args.release.is_empty()) {
        bail!("--grant goes with --accept, and instead of --release: it names the uses granted");
    }
    let release = if args.grants.is_empty() {
        parse_release(&args.release)?
    } else {
        node.consent_grant_items(id, &args.grants)?
    };
    if !release.is_empty() {
        let handling = node.classify_release(&node.show(id)?.record.proposal, &release);
        println!(
            "released items handled as {}: {}",
            handling.code,
            handling.grounds.join("; ")
        );
    }
    let officer = OfficerId::new(&args.officer)?;
    let step = node.decide(
        id,
        OfficerVerdict {
            officer: officer.clone(),
            outcome,
            reason: args.reason,
            release,
        },
    )?;
    match step {
        DecisionStep::Decided(decision) => {
            println!(
                "{id}: {} by {officer}; queued for the partner",
                decision.outcome.as_str(),
            );
            opened_case(&node, id);
        }
        DecisionStep::AwaitingSecondApprover(pending) => println!(
            "{id}: {} by {officer} awaits a second approver (it releases {} item(s) under a restrictive handling code); nothing has left. Another approver runs `soberana confirm {id} --dir {} --officer ID`",
            pending.outcome.as_str(),
            pending.release.len(),
            args.dir.dir.display()
        ),
    }
    Ok(())
}

/// `soberana confirm`.
pub fn confirm(args: ConfirmArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    let officer = OfficerId::new(&args.officer)?;
    let decision = node.confirm(id, &officer)?;
    let first = match &decision.decided_by {
        DecidedBy::Officer { officer, .. } => officer.to_string(),
        DecidedBy::Policy => "policy".into(),
    };
    println!(
        "{id}: {} by {first}, confirmed by {officer}; queued for the partner",
        decision.outcome.as_str()
    );
    opened_case(&node, id);
    Ok(())
}

/// Says which case an accepted joint investigation opened, if it did.
fn opened_case(node: &soberana_node::Node, id: ProposalId) {
    let case = soberana_case::CaseId::for_proposal(&id);
    if let Ok(view) = node.case(case) {
        println!(
            "{case}: opened on {}'s side by the acceptance, with {} member(s) of ours; the partner opens its side when the acceptance arrives (`soberana case show {case}`)",
            node.party(),
            view.case
                .members
                .iter()
                .filter(|m| m.party == node.party())
                .count()
        );
    }
}

/// `soberana withdraw`.
pub fn withdraw(args: ConfirmArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let id = ProposalId::parse(&args.id)?;
    node.withdraw(id, &OfficerId::new(&args.officer)?)?;
    println!("{id}: the decision awaiting confirmation was withdrawn; nothing of it took effect");
    Ok(())
}
