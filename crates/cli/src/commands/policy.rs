//! `soberana policy check | eval | pin`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use soberana_core::{
    AdvanceNotification, AgencyKind, HandlingCode, MeasureKind, Proposal, ProposalBody,
    ProposalDraft, Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_node::{Node, NodeDir};
use soberana_policy::{PolicyDigest, PolicyEngine, PolicyFile};

use crate::cli::PolicyCommand;
use crate::commands::node::read_draft;
use crate::policy::{CedarPolicy, constitutional_path, load_engine, operational_path};

/// Runs a policy command.
pub fn run(cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Check(dir) => {
            let node_dir = NodeDir::new(&dir.dir);
            let config = node_dir.load_config()?;
            let registry = node_dir.load_registry()?;
            let path = constitutional_path(&dir.dir);
            let constitutional = path.exists().then(|| PolicyFile::read(&path)).transpose()?;
            let operational = PolicyFile::read(&operational_path(&dir.dir))?;
            let pinned = (!config.constitutional_digest.is_empty())
                .then(|| PolicyDigest::from_hex(&config.constitutional_digest))
                .transpose()?;
            let report = soberana_policy::check(
                config.party,
                &registry,
                constitutional.as_ref(),
                &operational,
                pinned.as_ref(),
            )?;
            print!("{report}");
            if report.pin_matches == Some(false) {
                bail!(
                    "the constitutional layer differs from the pinned digest: review it, then `soberana policy pin --dir {}`",
                    dir.dir.display()
                );
            }
            Ok(())
        }
        PolicyCommand::Eval { file, dir, json } => {
            let engine = load_engine(&dir.dir)?;
            let draft: ProposalDraft = read_draft(&file)?;
            if draft.to != engine.party() {
                bail!(
                    "proposal `{}` is addressed to `{}`, but this node decides for `{}`",
                    file.display(),
                    draft.to,
                    engine.party()
                );
            }
            let from = draft.requesting_agency.party();
            let proposal = Proposal::from_draft(draft, from, None, Timestamp::now())
                .map_err(|e| anyhow::anyhow!("proposal `{}`: {e}", file.display()))?;
            engine
                .admit(&proposal)
                .map_err(|e| anyhow::anyhow!("proposal `{}`: {e}", file.display()))?;
            let report = engine.eval(&proposal, &[]);
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{report}");
                println!();
            }
            Ok(())
        }
        PolicyCommand::Pin(dir) => pin(&dir.dir),
    }
}

fn pin(dir: &std::path::Path) -> Result<()> {
    let node_dir = NodeDir::new(dir);
    let config = node_dir.load_config()?;
    let registry = node_dir.load_registry()?;
    let path = constitutional_path(dir);
    let constitutional = PolicyFile::read(&path)?;
    let operational = PolicyFile::read(&operational_path(dir))?;
    let digest = soberana_policy::pin(constitutional.bytes());
    // Validate before anything is written: a layer that would not load is
    // never pinned.
    let engine = PolicyEngine::load(
        config.party,
        &registry,
        Some(&constitutional),
        &digest,
        &operational,
    )?;
    if config.constitutional_digest == digest.to_hex() {
        println!("the constitutional layer is already pinned at {digest}");
        return Ok(());
    }
    let previous = config.constitutional_digest.clone();
    let config_path = node_dir.config();
    let text = std::fs::read_to_string(&config_path)?;
    let mut value: toml::Table = toml::from_str(&text)?;
    value.insert(
        "constitutional_digest".into(),
        toml::Value::String(digest.to_hex()),
    );
    let staged = config_path.with_extension("toml.new");
    std::fs::write(&staged, toml::to_string_pretty(&value)?)
        .with_context(|| format!("cannot write `{}`", staged.display()))?;
    std::fs::rename(&staged, &config_path)?;

    let node = Node::open(dir, Arc::new(CedarPolicy(engine)))?;
    node.store().append_log(vec![LogEntry::PolicyPin {
        layer: "constitutional".into(),
        digest: *digest.as_bytes(),
        time_ms: Timestamp::now().unix_millis().max(0) as u64,
    }])?;
    println!(
        "pinned the constitutional layer at {digest} (was {})",
        if previous.is_empty() {
            "unpinned"
        } else {
            &previous
        }
    );
    announce(&node, &previous, &digest.to_hex())
}

/// Tells every partner of the change, as an advance notification from our
/// diplomatic agency: a change of red lines is never silent.
fn announce(node: &Node, previous: &str, digest: &str) -> Result<()> {
    let Some(agency) = node
        .registry()
        .agencies()
        .find(|a| a.id.party() == node.party() && a.kind == AgencyKind::Diplomatic)
        .map(|a| a.id.clone())
    else {
        bail!(
            "the registry lists no diplomatic agency of `{}` to announce the change from",
            node.party()
        );
    };
    for peer in node.peers() {
        let draft = ProposalDraft {
            to: peer.party,
            requesting_agency: agency.clone(),
            purpose: "Notice of a change to our constitutional policy layer".into(),
            legal_basis: "Bilateral commitment to announce changes of red lines".into(),
            handling: HandlingCode::H0,
            deadline: Timestamp::now().plus_seconds(7 * 86_400),
            related_to: vec![],
            body: ProposalBody::AdvanceNotification(AdvanceNotification {
                measure: MeasureKind::ConstitutionalPolicyChange,
                title: "Constitutional policy layer pinned".into(),
                summary: format!("digest {digest} replaces {previous}"),
                effective: Timestamp::now(),
                targets: vec![],
                assurances: vec![],
                evidence: vec![format!("sha256:{digest}")],
                acts: vec![],
            }),
        };
        let proposal = node.propose(draft, None)?;
        println!(
            "announced to {} as notification {}",
            peer.party, proposal.id
        );
    }
    Ok(())
}
