//! `soberana policy check`: both layers validated, and what each policy
//! allows and forbids said in plain words from its annotations.
//!
//! The check loads the layers exactly as a node would, except that it does
//! not require the pin to match: it reports the digest to pin, so that an
//! operator who changed the constitutional layer sees what must be recorded
//! and announced.

use std::fmt;

use serde::Serialize;
use soberana_core::{PartyCode, Registry};

use crate::layers::{Disposition, Layer, PolicyFile, PolicyMeta};
use crate::{PolicyDigest, PolicyEngine, PolicyError};

/// One policy in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDescription {
    /// The policy's id.
    pub id: String,
    /// Its layer.
    pub layer: Layer,
    /// `forbid` or `permit`.
    pub effect: &'static str,
    /// What it does to the proposals it matches: forbids, allows, or sends
    /// to an officer.
    pub does: &'static str,
    /// The kinds of proposal (or `task`) it applies to.
    pub applies_to: Vec<String>,
    /// What it says, in plain words.
    pub says: String,
    /// The condition attached to an acceptance, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl PolicyDescription {
    fn new(meta: &PolicyMeta) -> Self {
        let applies_to = if meta.actions.is_empty() {
            vec!["every action".to_owned()]
        } else {
            meta.actions.clone()
        };
        let (effect, does) = match (meta.forbids, meta.disposition) {
            (true, _) => ("forbid", "forbids"),
            (false, Disposition::Allow) => ("permit", "accepts automatically"),
            (false, Disposition::Review) => ("permit", "sends to an officer"),
        };
        let says = match (&meta.description, &meta.reason) {
            (Some(d), Some(r)) => format!("{d}. Why: {r}"),
            (Some(text), None) | (None, Some(text)) => text.clone(),
            (None, None) => "(no @description or @reason: add one)".to_owned(),
        };
        Self {
            id: meta.id.clone(),
            layer: meta.layer,
            effect,
            does,
            applies_to,
            says,
            condition: meta.condition.clone(),
        }
    }
}

/// The result of checking a node's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The party whose policy it is.
    pub party: PartyCode,
    /// The digest of the constitutional layer: the value to pin.
    pub constitutional_digest: PolicyDigest,
    /// Whether it matches the pin given, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_matches: Option<bool>,
    /// The digest of the whole policy set, as decisions will carry it.
    pub policy_set_digest: PolicyDigest,
    /// Every policy, constitutional first, in file order.
    pub policies: Vec<PolicyDescription>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "policy for {}: both layers valid (strict schema validation)",
            self.party
        )?;
        writeln!(
            f,
            "constitutional digest (to pin): {}",
            self.constitutional_digest
        )?;
        match self.pin_matches {
            Some(true) => writeln!(f, "  matches the pinned digest")?,
            Some(false) => writeln!(
                f,
                "  DOES NOT match the pinned digest: the node will refuse to start until it is pinned"
            )?,
            None => {}
        }
        writeln!(f, "policy set digest: {}", self.policy_set_digest)?;
        let mut layer = None;
        for p in &self.policies {
            if layer != Some(p.layer) {
                layer = Some(p.layer);
                writeln!(f, "\n{} layer:", p.layer.as_str())?;
            }
            writeln!(
                f,
                "  {} — {} ({}): {}",
                p.id,
                p.does,
                p.applies_to.join(", "),
                p.says
            )?;
            if let Some(c) = &p.condition {
                writeln!(f, "    condition: {c}")?;
            }
        }
        if self.policies.iter().all(|p| p.effect == "forbid") {
            writeln!(
                f,
                "\nno permit: every proposal will be refused (with no permit, the answer is no)"
            )?;
        }
        Ok(())
    }
}

impl PolicyEngine {
    /// The plain-words description of this engine's policies.
    pub fn check_report(&self, pinned: Option<&PolicyDigest>) -> CheckReport {
        CheckReport {
            party: self.party(),
            constitutional_digest: self.constitutional_digest(),
            pin_matches: pinned.map(|p| *p == self.constitutional_digest()),
            policy_set_digest: self.digest(),
            policies: self.policies().map(PolicyDescription::new).collect(),
        }
    }
}

/// Validates both layers as a node would (except the pin, which is compared
/// and reported, not required) and describes every policy.
pub fn check(
    party: PartyCode,
    registry: &Registry,
    constitutional: Option<&PolicyFile>,
    operational: &PolicyFile,
    pinned: Option<&PolicyDigest>,
) -> Result<CheckReport, PolicyError> {
    let constitutional = constitutional.ok_or(PolicyError::ConstitutionalMissing { party })?;
    let engine = PolicyEngine::load_unpinned(party, registry, constitutional, operational)?;
    Ok(engine.check_report(pinned))
}
