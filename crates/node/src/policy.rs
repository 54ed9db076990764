//! The seam between intake and policy.
//!
//! Intake asks a [`ProposalPolicy`] what to do with every incoming proposal
//! before anything else happens to it. The node ships one implementation
//! (the Cedar engine, in the policy crate, adapted by the binary); tests use
//! small ones of their own.

use serde::Serialize;
use soberana_core::{AgencyKind, PartyCode, Proposal, Reason};

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

    /// The same facts, act by act, for a table: who acts, of which kind,
    /// where (each place as said and as established), armed or not.
    /// Policies that establish none return nothing.
    fn acts(&self, proposal: &Proposal) -> Vec<ActFacts> {
        let _ = proposal;
        Vec::new()
    }

    /// The hex SHA-256 of the whole policy set in force.
    fn digest(&self) -> String;
}

/// One act of a proposal as this node established it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActFacts {
    /// Which part of the proposal it is, for people (`task 1`).
    pub origin: String,
    /// The acting agency, as named.
    pub agency: String,
    /// Its kind in our registry (`military` when unknown).
    pub agency_kind: AgencyKind,
    /// Its party in our registry.
    pub agency_party: String,
    /// Whether our registry knows the agency.
    pub known_agency: bool,
    /// What it does (`patrol`, `raid`, …).
    pub action: String,
    /// Whether any place or launch point is on our territory.
    pub on_territory: bool,
    /// Whether personnel are armed.
    pub armed: bool,
    /// Whether it uses force, by flag or by nature.
    pub kinetic: bool,
    /// Whether it is accredited, unarmed presence only.
    pub presence: bool,
    /// Every place, as said and as established.
    pub places: Vec<PlaceFacts>,
    /// The policies that forbid it.
    pub forbidden_by: Vec<String>,
}

/// One place of an act: the sender's words and what this node established.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceFacts {
    /// The sender's own words.
    pub said: String,
    /// Whose territory it is in, as established (`None`: no party's, or
    /// not resolvable).
    pub sovereign: Option<PartyCode>,
    /// What was established, for people (`MX land (by named place
    /// culiacan)`); `None` when the place could not be resolved.
    pub established: Option<String>,
    /// The point it was resolved at, latitude and longitude in degrees.
    pub point: Option<(f64, f64)>,
    /// How the sender's label contradicts what was established.
    pub contradiction: Option<String>,
}
