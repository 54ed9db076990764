//! Decisions: the receiving party's answer to a proposal, with its reasons.
//!
//! A decision names who made it (policy or an officer), the digest of the
//! policy set in force, and reasons that a person on the other side can
//! read — for a refusal, the policies that determined it.

use serde::{Deserialize, Serialize};

use crate::{OfficerId, PartyCode, ProposalId, Timestamp};

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// Accepted as proposed.
    Accepted,
    /// Accepted on conditions.
    AcceptedWithConditions {
        /// The conditions, each a sentence.
        conditions: Vec<String>,
    },
    /// Refused.
    Refused,
    /// More information is needed before deciding.
    MoreInformationNeeded {
        /// What is asked.
        questions: Vec<String>,
    },
}

impl Outcome {
    /// A short name for the outcome.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::AcceptedWithConditions { .. } => "accepted_with_conditions",
            Outcome::Refused => "refused",
            Outcome::MoreInformationNeeded { .. } => "more_information_needed",
        }
    }

    /// Whether the proposal may go ahead.
    pub fn is_acceptance(&self) -> bool {
        matches!(
            self,
            Outcome::Accepted | Outcome::AcceptedWithConditions { .. }
        )
    }
}

/// One reason for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The policy that gave it, if a policy did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The reason in plain words.
    pub text: String,
    /// The same reason in Spanish, when the policy that gave it carries one
    /// (`@reason_es`); officers reading Spanish see it instead of `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_es: Option<String>,
}

impl Reason {
    /// A reason given by an officer or by the node, not by a named policy.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            policy: None,
            text: text.into(),
            text_es: None,
        }
    }
}

/// Who made a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecidedBy {
    /// Policy alone.
    Policy,
    /// An officer (after policy sent the proposal to review).
    Officer {
        /// The officer.
        officer: OfficerId,
        /// A second officer who confirmed it, where four eyes are required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirmed_by: Option<OfficerId>,
    },
}

/// The receiving party's decision on a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The proposal decided.
    pub proposal_id: ProposalId,
    /// The deciding party.
    pub decided_by_party: PartyCode,
    /// What was decided.
    pub outcome: Outcome,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Who decided.
    pub decided_by: DecidedBy,
    /// The hex SHA-256 digest of the policy set in force.
    pub policy_digest: String,
    /// When.
    pub decided_at: Timestamp,
}
