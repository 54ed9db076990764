//! `soberana policy check | eval | pin`.

use std::sync::Arc;

use anyhow::{Result, bail};
use soberana_core::{Proposal, ProposalDraft, Timestamp};
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
    let constitutional = PolicyFile::read(&constitutional_path(dir))?;
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
    let by = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    );
    let Some(pinned) = Node::pin_constitutional(dir, Arc::new(CedarPolicy(engine)), &by)? else {
        println!("the constitutional layer is already pinned at {digest}");
        return Ok(());
    };
    println!(
        "pinned the constitutional layer at {} (was {})",
        pinned.digest,
        if pinned.previous.is_empty() {
            "unpinned"
        } else {
            &pinned.previous
        }
    );
    for proposal in &pinned.announced {
        println!(
            "announced to {} as notification {}",
            proposal.to, proposal.id
        );
    }
    Ok(())
}
