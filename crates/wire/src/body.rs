//! The closed set of things an envelope can carry.
//!
//! A partner can send a proposal, its decision on one of ours, a receipt, or
//! an answer to one of our proposals. There is deliberately no kind that
//! carries an instruction: whatever a partner sends can at most create a
//! proposal for our policy and officers to decide.

use serde::{Deserialize, Serialize};
use soberana_core::{Decision, HandlingCode, Proposal, ProposalId, Receipt};

use crate::WireError;

/// The kind of body, named in the envelope header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// A new proposal.
    Proposal,
    /// A decision on a proposal we sent.
    Decision,
    /// A receipt for a proposal we sent.
    Receipt,
    /// What the partner released in answer to our accepted proposal.
    Answer,
}

impl BodyKind {
    /// The kind's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            BodyKind::Proposal => "proposal",
            BodyKind::Decision => "decision",
            BodyKind::Receipt => "receipt",
            BodyKind::Answer => "answer",
        }
    }
}

/// One item of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerItem {
    /// What the item is.
    pub label: String,
    /// Its content.
    pub value: String,
}

/// What a party released in answer to an accepted proposal: a disclosure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The proposal answered.
    pub proposal_id: ProposalId,
    /// A summary for people.
    pub summary: String,
    /// The released items.
    pub items: Vec<AnswerItem>,
    /// What the recipient may do with it.
    pub handling: HandlingCode,
    /// Conditions attached by the deciding party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// An envelope's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A new proposal.
    Proposal(Proposal),
    /// A decision on a proposal the recipient sent.
    Decision(Decision),
    /// A receipt for a proposal the recipient sent.
    Receipt(Receipt),
    /// An answer to a proposal the recipient sent.
    Answer(Answer),
}

impl Body {
    /// The body's kind.
    pub fn kind(&self) -> BodyKind {
        match self {
            Body::Proposal(_) => BodyKind::Proposal,
            Body::Decision(_) => BodyKind::Decision,
            Body::Receipt(_) => BodyKind::Receipt,
            Body::Answer(_) => BodyKind::Answer,
        }
    }

    /// The proposal the body is about.
    pub fn proposal_id(&self) -> ProposalId {
        match self {
            Body::Proposal(p) => p.id,
            Body::Decision(d) => d.proposal_id,
            Body::Receipt(r) => r.proposal_id,
            Body::Answer(a) => a.proposal_id,
        }
    }

    /// The body's bytes: compact JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded = match self {
            Body::Proposal(p) => serde_json::to_vec(p),
            Body::Decision(d) => serde_json::to_vec(d),
            Body::Receipt(r) => serde_json::to_vec(r),
            Body::Answer(a) => serde_json::to_vec(a),
        };
        // Serialising these plain data types to a Vec cannot fail: they hold
        // only strings, numbers, sequences and maps with string keys.
        encoded.unwrap_or_default()
    }

    /// Reads a body of the declared kind; unknown fields are refused.
    pub fn parse(kind: BodyKind, bytes: &[u8]) -> Result<Self, WireError> {
        let err = |e: serde_json::Error| WireError::Body {
            kind: kind.as_str().to_owned(),
            detail: e.to_string(),
        };
        Ok(match kind {
            BodyKind::Proposal => {
                let proposal: Proposal = serde_json::from_slice(bytes).map_err(err)?;
                proposal.validate().map_err(|e| WireError::Body {
                    kind: kind.as_str().to_owned(),
                    detail: e.to_string(),
                })?;
                Body::Proposal(proposal)
            }
            BodyKind::Decision => Body::Decision(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::Receipt => Body::Receipt(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::Answer => Body::Answer(serde_json::from_slice(bytes).map_err(err)?),
        })
    }
}
