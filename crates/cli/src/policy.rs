//! Loading a node's Cedar policy and adapting it to the node's policy seam.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use soberana_core::{PartyCode, Proposal, Registry};
use soberana_node::{ActFacts, NodeDir, PlaceFacts, PolicyVerdict, ProposalPolicy, Verdict};
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

    fn facts(&self, proposal: &Proposal) -> Vec<String> {
        self.0
            .eval(proposal, &[])
            .facts()
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    fn acts(&self, proposal: &Proposal) -> Vec<ActFacts> {
        self.0
            .eval(proposal, &[])
            .tasks
            .into_iter()
            .map(|task| ActFacts {
                origin: task.origin,
                agency: task.agency,
                agency_kind: task.agency_kind,
                agency_party: task.agency_party,
                known_agency: task.known_agency,
                action: task.action,
                on_territory: task.on_territory,
                armed: task.armed,
                kinetic: task.kinetic,
                presence: task.presence,
                places: task
                    .places
                    .into_iter()
                    .map(|place| PlaceFacts {
                        said: place.said,
                        sovereign: place.fact.as_ref().and_then(|r| r.sovereign()),
                        established: place.fact.as_ref().map(|r| r.to_string()),
                        point: place.fact.as_ref().and_then(|r| r.point),
                        contradiction: place.contradiction,
                    })
                    .collect(),
                forbidden_by: task.forbidden_by,
            })
            .collect()
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

/// What a partner's red lines say of a draft.
pub struct PartnerCheck {
    /// The partner.
    pub party: PartyCode,
    /// The digest of the layer that was evaluated.
    pub digest: String,
    /// The constitutional policies that would refuse it, with their reasons.
    pub refusals: Vec<String>,
}

impl PartnerCheck {
    /// True when the partner's red lines refuse the draft.
    pub fn refused(&self) -> bool {
        !self.refusals.is_empty()
    }

    /// One paragraph for the officer.
    pub fn summary(&self) -> String {
        if self.refused() {
            let mut text = format!(
                "WARNING: {}'s red lines (constitutional layer {}) would REFUSE this draft:",
                self.party,
                &self.digest[..16.min(self.digest.len())]
            );
            for reason in &self.refusals {
                text.push_str("\n  - ");
                text.push_str(reason);
            }
            text
        } else {
            format!(
                "{}'s red lines (constitutional layer {}) do not refuse this draft; its officers and operational policy still decide",
                self.party,
                &self.digest[..16.min(self.digest.len())]
            )
        }
    }
}

/// Fetches the partner's constitutional layer from its node and evaluates
/// `proposal` against it as the partner's node would.
pub async fn check_against_partner(
    node: &soberana_node::Node,
    proposal: &Proposal,
) -> Result<PartnerCheck> {
    let layer = node.fetch_partner_constitution(proposal.to).await?;
    let file = PolicyFile::new(
        format!("{} constitutional layer (fetched)", proposal.to),
        layer.text.as_bytes().to_vec(),
    );
    let pinned = soberana_policy::pin(file.bytes());
    let operational = soberana_policy::shipped_operational();
    let engine = PolicyEngine::load(
        proposal.to,
        node.registry(),
        Some(&file),
        &pinned,
        &operational,
    )
    .with_context(|| format!("{}'s constitutional layer does not load", proposal.to))?;
    let decision = engine.decide(proposal, &[]);
    let refusals = decision
        .reasons
        .iter()
        .filter(|r| r.layer == Some(soberana_policy::Layer::Constitutional))
        .map(|r| r.to_string())
        .collect();
    Ok(PartnerCheck {
        party: proposal.to,
        digest: layer.digest,
        refusals,
    })
}
