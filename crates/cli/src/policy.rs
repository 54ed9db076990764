//! Loading a node's Cedar policy and adapting it to the node's policy seam.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use soberana_core::{PartyCode, Proposal, Registry};
use soberana_node::{NodeDir, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_policy::{PolicyDigest, PolicyEngine, PolicyFile};

/// The constitutional layer's file in a node directory.
pub fn constitutional_path(dir: &Path) -> PathBuf {
    dir.join("policy/constitutional.cedar")
}

/// The operational layer's file in a node directory.
pub fn operational_path(dir: &Path) -> PathBuf {
    dir.join("policy/operational.cedar")
}

/// The policy files `init` writes for `party`, and the digest to pin.
pub fn initial_files(party: PartyCode) -> Result<(Vec<(PathBuf, String)>, String)> {
    let constitutional = soberana_policy::shipped_constitutional(party).with_context(|| {
        format!("soberana ships no constitutional layer for `{party}`: write one and pin it with `soberana policy pin`")
    })?;
    let operational = soberana_policy::shipped_operational();
    let digest = soberana_policy::pin(constitutional.bytes()).to_hex();
    Ok((
        vec![
            (
                PathBuf::from("policy/constitutional.cedar"),
                String::from_utf8_lossy(constitutional.bytes()).into_owned(),
            ),
            (
                PathBuf::from("policy/operational.cedar"),
                String::from_utf8_lossy(operational.bytes()).into_owned(),
            ),
        ],
        digest,
    ))
}

/// Loads the node's policy engine, refusing a constitutional layer that is
/// missing, invalid, holds anything but `forbid`, or differs from the pin.
pub fn load_engine(dir: &Path) -> Result<PolicyEngine> {
    let node_dir = NodeDir::new(dir);
    let config = node_dir.load_config()?;
    let registry: Registry = node_dir.load_registry()?;
    let constitutional_file = constitutional_path(dir);
    let constitutional = if constitutional_file.exists() {
        Some(PolicyFile::read(&constitutional_file)?)
    } else {
        None
    };
    if config.constitutional_digest.is_empty() {
        bail!(
            "no constitutional digest is pinned in `{}`: run `soberana policy pin --dir {}`",
            node_dir.config().display(),
            dir.display()
        );
    }
    let pinned = PolicyDigest::from_hex(&config.constitutional_digest)?;
    let operational = PolicyFile::read(&operational_path(dir))?;
    Ok(PolicyEngine::load(
        config.party,
        &registry,
        constitutional.as_ref(),
        &pinned,
        &operational,
    )?)
}

/// The Cedar engine behind the node's policy seam.
pub struct CedarPolicy(pub PolicyEngine);

impl ProposalPolicy for CedarPolicy {
    fn evaluate(&self, proposal: &Proposal, related: &[Proposal]) -> PolicyVerdict {
        let related: Vec<&Proposal> = related.iter().collect();
        let decision = self.0.decide(proposal, &related);
        let verdict = match decision.verdict {
            soberana_policy::Verdict::Allow => Verdict::Allow {
                conditions: decision.conditions.clone(),
            },
            soberana_policy::Verdict::Review => Verdict::Review,
            soberana_policy::Verdict::Refuse => Verdict::Refuse,
        };
        PolicyVerdict {
            verdict,
            reasons: decision.core_reasons(),
            policy_digest: decision.policy_digest.to_hex(),
        }
    }

    fn digest(&self) -> String {
        self.0.digest().to_hex()
    }

    fn admit(&self, proposal: &Proposal) -> Result<(), String> {
        self.0.admit(proposal).map_err(|e| e.to_string())
    }
}

/// Opens the node in `dir` with its Cedar policy.
pub fn open_node(dir: &Path) -> Result<soberana_node::Node> {
    let engine = load_engine(dir)?;
    Ok(soberana_node::Node::open(
        dir,
        Arc::new(CedarPolicy(engine)),
    )?)
}
