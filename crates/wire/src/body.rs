//! The closed set of things an envelope can carry.
//!
//! A partner can send a proposal, its decision on one of ours, a receipt, or
//! an answer to one of our proposals; a checkpoint of its log for us to
//! cosign, or its cosignature on ours (receipts for logs); and the messages
//! of a protocol run under a proposal that was accepted; and signed acts on
//! the bilateral agreement, which change what may cross, never run anything. There is
//! deliberately no kind that carries an instruction: whatever a partner
//! sends can at most create a proposal for our policy and officers to decide.

use serde::{Deserialize, Serialize};
use soberana_core::{AgreementAct, Decision, HandlingCode, Proposal, ProposalId, Receipt};

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
    /// A checkpoint of the sender's log, for us to cosign as its witness.
    Checkpoint,
    /// The partner's cosignature on one of our checkpoints.
    Cosignature,
    /// One message of a protocol run under an accepted proposal (a private
    /// set intersection, a record linkage, a financial trace).
    Session,
    /// A signed act on the bilateral agreement (propose, amend, accept,
    /// suspend, resume, terminate, acknowledge).
    Agreement,
    /// The sender's new party card (a rotated signing key and TLS
    /// certificate), in an envelope signed by its current key.
    CardUpdate,
    /// One act in the chain of custody of a joint investigation opened
    /// from an accepted proposal.
    Case,
}

impl BodyKind {
    /// The kind's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            BodyKind::Proposal => "proposal",
            BodyKind::Decision => "decision",
            BodyKind::Receipt => "receipt",
            BodyKind::Answer => "answer",
            BodyKind::Checkpoint => "checkpoint",
            BodyKind::Cosignature => "cosignature",
            BodyKind::Session => "session",
            BodyKind::Agreement => "agreement",
            BodyKind::CardUpdate => "card_update",
            BodyKind::Case => "case",
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

/// A checkpoint of the sender's log sent for witnessing: the body of a
/// C2SP tlog-witness `add-checkpoint` request (`old N`, the consistency
/// proof from the last size we cosigned, a blank line, the signed note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRequest {
    /// The add-checkpoint request body.
    pub add_checkpoint: String,
    /// Present when the checkpoint starts a new branch of the sender's log
    /// after a restore lost entries the recipient had cosigned: the
    /// sender's declaration, signed with the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<LogRestart>,
}

/// The sender's declaration that its log restarted: it was restored from a
/// backup older than `abandoned`, the last checkpoint of its log the
/// recipient cosigned, and goes on from `restored_size` entries plus the
/// declaration's own entry. The checkpoint it travels with is the new
/// branch's first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRestart {
    /// The abandoned checkpoint as the recipient holds it: the sender's
    /// signed note with the recipient's cosignature.
    pub abandoned: String,
    /// The entries the sender's log holds before the declaration.
    pub restored_size: u64,
    /// Why, in the operator's words.
    pub reason: String,
}

/// A witness's cosignature on one of the recipient's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignatureReply {
    /// The origin of the cosigned log.
    pub origin: String,
    /// The size of the cosigned checkpoint.
    pub size: u64,
    /// The signed-note signature line (`— name base64`).
    pub line: String,
}

/// A rotation of the sender's keys: its new card, signed by the new key,
/// carried in an envelope signed by the key it replaces (so the old key
/// vouches for the new one). The recipient pins the new card and keeps
/// accepting the old key and certificate for `overlap_days`; signatures
/// made before stay verifiable against the key valid at their time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardUpdate {
    /// The new card.
    pub card: crate::SignedCard,
    /// Days the old key and certificate are still taken for new envelopes.
    pub overlap_days: u32,
}

/// One message of a protocol run under an accepted proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionMessage {
    /// The proposal the run belongs to.
    pub proposal_id: ProposalId,
    /// The protocol step (each protocol numbers its own).
    pub step: u32,
    /// Which part of the step this is, from 0, for steps sent in parts.
    pub part: u32,
    /// How many parts the step has.
    pub parts: u32,
    /// The protocol's bytes, base64.
    pub payload: String,
}

/// One act of a joint investigation, sent to the other side so both logs
/// record it. The event is the canonical JSON of a custody event (the
/// `case` crate's `CustodyEvent`); the receiver parses and checks it
/// against its copy of the case before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseMessage {
    /// The accepted joint-investigation proposal the case was opened from.
    pub proposal_id: ProposalId,
    /// The custody event's canonical JSON.
    pub event: String,
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
    /// A checkpoint for the recipient to cosign.
    Checkpoint(CheckpointRequest),
    /// A cosignature on one of the recipient's checkpoints.
    Cosignature(CosignatureReply),
    /// A protocol message under an accepted proposal.
    Session(SessionMessage),
    /// An act on the bilateral agreement.
    Agreement(AgreementAct),
    /// The sender's new card.
    CardUpdate(CardUpdate),
    /// An act of a joint investigation.
    Case(CaseMessage),
}

impl Body {
    /// The body's kind.
    pub fn kind(&self) -> BodyKind {
        match self {
            Body::Proposal(_) => BodyKind::Proposal,
            Body::Decision(_) => BodyKind::Decision,
            Body::Receipt(_) => BodyKind::Receipt,
            Body::Answer(_) => BodyKind::Answer,
            Body::Checkpoint(_) => BodyKind::Checkpoint,
            Body::Cosignature(_) => BodyKind::Cosignature,
            Body::Session(_) => BodyKind::Session,
            Body::Agreement(_) => BodyKind::Agreement,
            Body::CardUpdate(_) => BodyKind::CardUpdate,
            Body::Case(_) => BodyKind::Case,
        }
    }

    /// The proposal the body is about, if it is about one.
    pub fn proposal_id(&self) -> Option<ProposalId> {
        match self {
            Body::Proposal(p) => Some(p.id),
            Body::Decision(d) => Some(d.proposal_id),
            Body::Receipt(r) => Some(r.proposal_id),
            Body::Answer(a) => Some(a.proposal_id),
            Body::Session(s) => Some(s.proposal_id),
            Body::Case(c) => Some(c.proposal_id),
            Body::Checkpoint(_)
            | Body::Cosignature(_)
            | Body::Agreement(_)
            | Body::CardUpdate(_) => None,
        }
    }

    /// The body's bytes: compact JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded = match self {
            Body::Proposal(p) => serde_json::to_vec(p),
            Body::Decision(d) => serde_json::to_vec(d),
            Body::Receipt(r) => serde_json::to_vec(r),
            Body::Answer(a) => serde_json::to_vec(a),
            Body::Checkpoint(c) => serde_json::to_vec(c),
            Body::Cosignature(c) => serde_json::to_vec(c),
            Body::Session(s) => serde_json::to_vec(s),
            Body::Agreement(a) => serde_json::to_vec(a),
            Body::CardUpdate(c) => serde_json::to_vec(c),
            Body::Case(c) => serde_json::to_vec(c),
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
            BodyKind::Checkpoint => Body::Checkpoint(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::Cosignature => Body::Cosignature(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::Agreement => Body::Agreement(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::CardUpdate => Body::CardUpdate(serde_json::from_slice(bytes).map_err(err)?),
            BodyKind::Session => {
                let message: SessionMessage = serde_json::from_slice(bytes).map_err(err)?;
                if message.parts == 0 || message.part >= message.parts {
                    return Err(WireError::Body {
                        kind: kind.as_str().to_owned(),
                        detail: format!(
                            "part {} of {} is not a part of the step",
                            message.part, message.parts
                        ),
                    });
                }
                Body::Session(message)
            }
            BodyKind::Case => Body::Case(serde_json::from_slice(bytes).map_err(err)?),
        })
    }
}
