//! Intake: what happens to bytes a partner sends.
//!
//! The checks run in a fixed order, cheapest and least trusting first: size,
//! shape, a pinned sender, the TLS identity of the connection, the recipient,
//! the signature, the body. Only then does the envelope have an effect, and
//! that effect is one of the closed set in [`IntakeEffect`]: a new proposal
//! (decided by policy before anyone sees it), or a decision, receipt or
//! answer concerning one of *our* proposals. A refusal is answered with a
//! clear error, recorded, and writes nothing else.

use serde::Serialize;
use soberana_core::{Decision, Outcome, ProposalBody, ProposalId, Receipt, Timestamp};
use soberana_store::{IntakeEffect, PolicyResponse, Received, RefusalRecord, StoreError};
use soberana_wire::{Body, Digest, UnverifiedEnvelope, WireError};

use crate::node::Node;
use crate::policy::Verdict;

/// What an accepted envelope did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// A proposal was created in our inbox.
    ProposalCreated {
        /// The proposal.
        proposal: ProposalId,
        /// What policy did with it: `accepted`, `refused`, `review` or `acknowledged`.
        disposition: String,
    },
    /// A decision on one of our proposals was recorded.
    DecisionRecorded {
        /// Our proposal.
        proposal: ProposalId,
    },
    /// A receipt for one of our proposals was recorded.
    ReceiptRecorded {
        /// Our proposal.
        proposal: ProposalId,
    },
    /// An answer to one of our proposals was recorded.
    AnswerRecorded {
        /// Our proposal.
        proposal: ProposalId,
    },
    /// We cosigned the partner's checkpoint.
    Cosigned {
        /// Its size.
        size: u64,
    },
    /// The partner's checkpoint conflicts with one we cosigned; both are
    /// kept as evidence.
    WitnessAlarm,
    /// The partner cosigned one of our checkpoints.
    CosignatureRecorded {
        /// Its size.
        size: u64,
    },
    /// A protocol message under an accepted proposal was taken in.
    SessionMessage {
        /// The proposal.
        proposal: ProposalId,
        /// The protocol step.
        step: u32,
    },
}

/// Why an envelope was refused, with the HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeRefusal {
    /// The HTTP status.
    pub status: u16,
    /// A short machine-readable code.
    pub code: &'static str,
    /// The reason, for people.
    pub reason: String,
}

impl IntakeRefusal {
    fn new(status: u16, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for IntakeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.code)
    }
}

fn from_wire(e: WireError) -> IntakeRefusal {
    match e {
        WireError::TooLarge { .. } => IntakeRefusal::new(413, "too_large", e.to_string()),
        WireError::BadSignature(_) => IntakeRefusal::new(403, "bad_signature", e.to_string()),
        WireError::BodyDigest => IntakeRefusal::new(400, "body_digest", e.to_string()),
        WireError::Body { .. } => IntakeRefusal::new(400, "malformed_body", e.to_string()),
        _ => IntakeRefusal::new(400, "malformed", e.to_string()),
    }
}

impl Node {
    /// Takes in an envelope's bytes received over a connection whose client
    /// certificate has fingerprint `tls_peer`. Records a refusal if refused.
    pub fn intake(
        &self,
        bytes: &[u8],
        tls_peer: Option<[u8; 32]>,
    ) -> Result<IntakeOutcome, IntakeRefusal> {
        let claimed = std::cell::Cell::new(String::from("?"));
        let result = self.intake_checked(bytes, tls_peer, &claimed);
        if let Err(refusal) = &result {
            let record = RefusalRecord {
                at: Timestamp::now(),
                claimed_sender: claimed.take(),
                digest: Digest::of(bytes).to_hex(),
                size: bytes.len() as u64,
                reason: refusal.to_string(),
            };
            tracing::warn!(reason = %refusal, sender = %record.claimed_sender, "envelope refused");
            if let Err(e) = self.store().record_refusal(record) {
                tracing::error!(error = %e, "could not record a refusal");
            }
        }
        result
    }

    fn intake_checked(
        &self,
        bytes: &[u8],
        tls_peer: Option<[u8; 32]>,
        claimed: &std::cell::Cell<String>,
    ) -> Result<IntakeOutcome, IntakeRefusal> {
        let us = self.party();
        let unverified = UnverifiedEnvelope::parse(bytes, self.config().max_envelope_bytes)
            .map_err(from_wire)?;
        let sender = unverified.claimed_sender();
        claimed.set(sender.to_string());
        let card = self.peer(sender).ok_or_else(|| {
            IntakeRefusal::new(
                403,
                "unknown_sender",
                format!("sender `{sender}` is not a pinned partner of {us}"),
            )
        })?;
        if let Some(fp) = tls_peer
            && fp != card.tls_cert_sha256.0
        {
            return Err(IntakeRefusal::new(
                403,
                "tls_identity",
                format!("the connection's certificate is not the one pinned for `{sender}`"),
            ));
        }
        let recipient = unverified.unverified_header().recipient;
        if recipient != us {
            return Err(IntakeRefusal::new(
                421,
                "wrong_recipient",
                format!("envelope is addressed to `{recipient}`, this node is `{us}`"),
            ));
        }
        let verified = unverified.verify(&card.signing_key).map_err(from_wire)?;
        let body = verified.body().map_err(from_wire)?;
        let header = verified.header().clone();
        let now = Timestamp::now();
        let mismatch = |what: &str| {
            IntakeRefusal::new(
                400,
                "party_mismatch",
                format!("the {what} does not match the envelope's sender `{sender}`"),
            )
        };
        let (effect, outcome) = match body {
            Body::Proposal(proposal) => {
                if proposal.from != sender || proposal.to != us {
                    return Err(mismatch("proposal's parties"));
                }
                self.policy()
                    .admit(&proposal)
                    .map_err(|e| IntakeRefusal::new(400, "unreadable_place", e))?;
                let related = self.related_proposals(&proposal.related_to);
                let verdict = self.policy().evaluate(&proposal, &related);
                let explanation = serde_json::to_string(&verdict).unwrap_or_default();
                let (response, disposition) =
                    self.respond(&proposal, &verdict, &verified.digest(), now);
                let outcome = IntakeOutcome::ProposalCreated {
                    proposal: proposal.id,
                    disposition: disposition.to_owned(),
                };
                (
                    IntakeEffect::Proposal {
                        proposal: Box::new(proposal),
                        response: Box::new(response),
                        verdict: explanation,
                    },
                    outcome,
                )
            }
            Body::Decision(decision) => {
                if decision.decided_by_party != sender {
                    return Err(mismatch("decision's party"));
                }
                let proposal = decision.proposal_id;
                (
                    IntakeEffect::Decision(decision),
                    IntakeOutcome::DecisionRecorded { proposal },
                )
            }
            Body::Receipt(receipt) => {
                if receipt.received_by != sender {
                    return Err(mismatch("receipt's party"));
                }
                let proposal = receipt.proposal_id;
                (
                    IntakeEffect::Receipt(receipt),
                    IntakeOutcome::ReceiptRecorded { proposal },
                )
            }
            Body::Answer(answer) => {
                let proposal = answer.proposal_id;
                (
                    IntakeEffect::Answer(answer),
                    IntakeOutcome::AnswerRecorded { proposal },
                )
            }
            Body::Checkpoint(request) => {
                let effect = self.witness_effect(&card, &request)?;
                let outcome = match &effect {
                    IntakeEffect::WitnessCosigned { checkpoint, .. } => IntakeOutcome::Cosigned {
                        size: checkpoint.size,
                    },
                    _ => IntakeOutcome::WitnessAlarm,
                };
                (effect, outcome)
            }
            Body::Cosignature(reply) => {
                let effect = self.cosignature_effect(&card, &reply)?;
                (
                    effect,
                    IntakeOutcome::CosignatureRecorded { size: reply.size },
                )
            }
            Body::Session(message) => {
                let proposal = message.proposal_id;
                let step = message.step;
                (
                    IntakeEffect::Session(message),
                    IntakeOutcome::SessionMessage { proposal, step },
                )
            }
        };
        let received = Received {
            envelope_id: header.id.to_string(),
            sender,
            recipient: us,
            sequence: header.sequence,
            sealed_at: header.time,
            body_digest: header.body_digest.0,
            digest: verified.digest().to_hex(),
            bytes: bytes.to_vec(),
            received_at: now,
            effect,
        };
        match self.store().receive(received, self.sealer()) {
            Ok(_) => {
                self.wake_outbox();
                self.announce(&outcome);
                Ok(outcome)
            }
            Err(StoreError::Duplicate(id)) => Err(IntakeRefusal::new(
                409,
                "duplicate",
                format!("envelope `{id}` was already received (replay)"),
            )),
            Err(
                e @ (StoreError::Transition(_)
                | StoreError::NoSuchProposal(_)
                | StoreError::WrongParty(..)
                | StoreError::ProposalExists(_)),
            ) => Err(IntakeRefusal::new(409, "state", e.to_string())),
            Err(e) => {
                tracing::error!(error = %e, "store failed at intake");
                Err(IntakeRefusal::new(
                    503,
                    "unavailable",
                    "the node could not store the envelope; send it again later",
                ))
            }
        }
    }

    /// Turns policy's verdict into the response intake stores and sends.
    fn respond(
        &self,
        proposal: &soberana_core::Proposal,
        verdict: &crate::PolicyVerdict,
        envelope_digest: &Digest,
        now: Timestamp,
    ) -> (PolicyResponse, &'static str) {
        let us = self.party();
        let decision = |outcome: Outcome, extra: Option<String>| {
            let mut reasons = verdict.reasons.clone();
            reasons.extend(extra.map(|text| soberana_core::Reason { policy: None, text }));
            Decision {
                proposal_id: proposal.id,
                decided_by_party: us,
                outcome,
                reasons,
                decided_by: soberana_core::DecidedBy::Policy,
                policy_digest: verdict.policy_digest.clone(),
                decided_at: now,
            }
        };
        let notification = matches!(proposal.body, ProposalBody::AdvanceNotification(_));
        match (&proposal.body, &verdict.verdict) {
            // A refusal stands whatever the kind: the red lines apply to
            // notifications too. A notification refused is answered with a
            // signed objection that says notice was received, so the one
            // record proves notice was given and refused.
            (_, Verdict::Refuse) => (
                PolicyResponse::Decided {
                    decision: decision(
                        Outcome::Refused,
                        notification.then(|| {
                            format!(
                                "objection: notice of this measure was received (envelope sha256 {}) and is refused; receiving it is not acquiescence",
                                envelope_digest.to_hex()
                            )
                        }),
                    ),
                    answer: None,
                },
                "refused",
            ),
            (ProposalBody::AdvanceNotification(_), Verdict::Allow { .. }) => (
                PolicyResponse::Acknowledge(Receipt {
                    proposal_id: proposal.id,
                    received_by: us,
                    received_at: now,
                    envelope_digest: envelope_digest.to_hex(),
                    note: format!(
                        "received; a receipt is not agreement; {}",
                        soberana_core::STRUCTURED_CONTENT_ONLY
                    ),
                }),
                "acknowledged",
            ),
            (_, Verdict::Review) => (PolicyResponse::Review, "review"),
            (_, Verdict::Allow { conditions }) => {
                let outcome = if conditions.is_empty() {
                    Outcome::Accepted
                } else {
                    Outcome::AcceptedWithConditions {
                        conditions: conditions.clone(),
                    }
                };
                (
                    PolicyResponse::Decided {
                        decision: decision(
                            outcome,
                            Some(soberana_core::STRUCTURED_CONTENT_ONLY.to_owned()),
                        ),
                        answer: None,
                    },
                    "accepted",
                )
            }
        }
    }

    fn related_proposals(&self, ids: &[ProposalId]) -> Vec<soberana_core::Proposal> {
        ids.iter()
            .filter_map(|id| self.store().proposal(*id).ok().flatten())
            .map(|d| d.record.proposal)
            .collect()
    }
}
