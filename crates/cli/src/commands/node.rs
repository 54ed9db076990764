//! Node commands: init, run, cards, peers, and the officer's commands.

use std::path::Path;

use anyhow::{Context, Result, bail};
use soberana_core::{
    Direction, OfficerId, Outcome, PartyCode, ProposalDraft, ProposalId, ProposalState, Timestamp,
};
use soberana_node::{InitOptions, Node, OfficerVerdict};
use soberana_store::{ProposalDetail, ProposalRecord};
use soberana_wire::AnswerItem;

use crate::cli::{
    CardCommand, DecideArgs, DirArg, InitArgs, ListArgs, PeerCommand, ProposeArgs, ShowArgs,
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
    })?;
    let node = open_node(&args.dir)?;
    let card = node.card()?.card;
    println!("made a {} node in {}", config.party, args.dir.display());
    println!("  listens on      {}", config.listen);
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
    let running = node.start().await?;
    println!(
        "{} node listening on {} ({} partner(s) pinned); Ctrl-C to stop",
        node.party(),
        running.addr,
        node.peers().len()
    );
    tokio::signal::ctrl_c().await?;
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
        PeerCommand::Add { card, dir } => {
            let node = open_node(&dir.dir)?;
            let text = std::fs::read_to_string(&card)
                .with_context(|| format!("cannot read card `{}`", card.display()))?;
            let pinned = node.add_peer(&text, &card)?;
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

fn print_records(records: &[ProposalRecord], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(records)?);
        return Ok(());
    }
    if records.is_empty() {
        println!("(none)");
    }
    for r in records {
        let p = &r.proposal;
        println!(
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
    print_records(&node.list(Some(Direction::Outgoing), states)?, args.json)
}

/// Prints a proposal's detail for people.
pub fn print_detail(detail: &ProposalDetail) {
    let r = &detail.record;
    let p = &r.proposal;
    println!("proposal   {}", p.id);
    println!("kind       {} ({})", p.kind().label(), r.direction.as_str());
    println!("from → to  {} → {} ({})", p.from, p.to, p.requesting_agency);
    println!("state      {}", r.state);
    println!("asks       {}", p.body.summary());
    println!("purpose    {}", p.purpose);
    println!("legal basis {}", p.legal_basis);
    println!("handling   {} — {}", p.handling, p.handling.meaning());
    println!("deadline   {} ({})", p.deadline, deadline_text(p.deadline));
    if let Some(verdict) = &detail.verdict {
        println!("policy     {}", verdict["verdict"].as_str().unwrap_or("?"));
        if let Some(reasons) = verdict["reasons"].as_array() {
            for reason in reasons {
                println!(
                    "  because  [{}] {}",
                    reason["policy"].as_str().unwrap_or("-"),
                    reason["text"].as_str().unwrap_or("")
                );
            }
        }
    }
    if let Some(d) = &detail.decision {
        println!(
            "decision   {} by {} at {}",
            d.outcome.as_str(),
            d.decided_by_party,
            d.decided_at
        );
        if let Outcome::AcceptedWithConditions { conditions } = &d.outcome {
            for c in conditions {
                println!("  condition {c}");
            }
        }
        for reason in &d.reasons {
            println!(
                "  because  {}{}",
                reason
                    .policy
                    .as_deref()
                    .map(|p| format!("[{p}] "))
                    .unwrap_or_default(),
                reason.text
            );
        }
        println!("  policy set {}", d.policy_digest);
    }
    if let Some(receipt) = &detail.receipt {
        println!(
            "receipt    from {} at {} (envelope {})",
            receipt.received_by, receipt.received_at, receipt.envelope_digest
        );
    }
    if let Some(answer) = &detail.answer {
        println!("answer     {}", answer.summary);
        for item in &answer.items {
            println!("  {}: {}", item.label, item.value);
        }
    }
    for (digest, bytes) in &detail.disclosures {
        println!("disclosed  {bytes} bytes, sha256 {digest}");
    }
    println!("history");
    for event in &detail.events {
        println!(
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
    let decision = node.decide(
        id,
        OfficerVerdict {
            officer: OfficerId::new(&args.officer)?,
            outcome,
            reason: args.reason,
            release: parse_release(&args.release)?,
        },
    )?;
    println!(
        "{}: {} by {}; queued for the partner",
        id,
        decision.outcome.as_str(),
        args.officer
    );
    Ok(())
}
