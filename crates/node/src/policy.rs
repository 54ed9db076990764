//! The seam between intake and policy.
//!
//! Intake asks a [`ProposalPolicy`] what to do with every incoming proposal
//! before anything else happens to it. The node ships one implementation
//! (the Cedar engine, in the policy crate, adapted by the binary); tests use
//! small ones of their own.

use serde::Serialize;
use soberana_core::{Proposal, Reason};

/// What policy says of a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Accept at once, on these conditions (none: accepted as proposed).
    Allow {
        /// Conditions attached.
        conditions: Vec<String>,
    },
    /// Refuse at once.
    Refuse,
    /// Send to an officer.
    Review,
}

/// A verdict with its reasons and the policy set that gave it.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVerdict {
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Why, naming the determining policies.
    pub reasons: Vec<Reason>,
    /// The hex SHA-256 of the whole policy set in force.
    pub policy_digest: String,
}

/// Decides incoming proposals.
pub trait ProposalPolicy: Send + Sync + 'static {
    /// Decides `proposal`; `related` are the earlier proposals it refers to
    /// (`related_to`) that this node holds, judged together with it.
    fn evaluate(&self, proposal: &Proposal, related: &[Proposal]) -> PolicyVerdict;

    /// Refuses, before anything is stored, a proposal whose facts this node
    /// cannot even read: a place in an unknown notation, an unknown
    /// territory or subdivision code, an unknown named place. The error is
    /// one line naming the field.
    fn admit(&self, proposal: &Proposal) -> Result<(), String> {
        let _ = proposal;
        Ok(())
    }

    /// The facts this node establishes about `proposal` (acts, places
    /// resolved with its own geography, who is armed, contradictions with
    /// the sender's labels), one line each, for officers to read beside the
    /// sender's wording. Policies that establish none return nothing.
    fn facts(&self, proposal: &Proposal) -> Vec<String> {
        let _ = proposal;
        Vec::new()
    }

    /// The hex SHA-256 of the whole policy set in force.
    fn digest(&self) -> String;
}
