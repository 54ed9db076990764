//! Intake: what happens to bytes a partner sends.
//!
//! The checks run in a fixed order, cheapest and least trusting first: size,
//! shape, a pinned sender, the TLS identity of the connection, the recipient,
//! the signature, the body. Only then does the envelope have an effect, and
//! that effect is one of the closed set in [`IntakeEffect`]: a new proposal
//! (decided by policy before anyone sees it), or a decision, receipt or
//! answer concerning one of *our* proposals. A refusal is answered with a
//! clear error, recorded, and writes nothing else.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use serde::Serialize;
use soberana_core::{Decision, Outcome, ProposalBody, ProposalId, Receipt, Timestamp};
use soberana_store::{
    IntakeEffect, PolicyResponse, Received, RefusalRecord, SessionQuota, StoreError, Taken,
};
use soberana_wire::{Body, Digest, UnverifiedEnvelope, WireError};

use crate::node::Node;
use crate::policy::Verdict;

mod batch;

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
    /// kept as evidence and nothing is cosigned. Answered with `409
    /// witness_alarm`: the envelope is kept, but it is not accepted.
    WitnessAlarm {
        /// The conflicting checkpoint's size.
        size: u64,
    },
    /// The partner cosigned one of our checkpoints.
    CosignatureRecorded {
        /// Its size.
        size: u64,
    },
    /// The partner's act in a joint investigation was recorded.
    CaseAct {
        /// The case.
        case: soberana_case::CaseId,
    },
    /// A protocol message under an accepted proposal was taken in.
    SessionMessage {
        /// The proposal.
        proposal: ProposalId,
        /// The protocol step.
        step: u32,
    },
    /// The partner's new card was pinned; its previous key is still taken
    /// for the overlap it named.
    CardUpdated {
        /// The new card's fingerprint.
        fingerprint: String,
    },
    /// The partner's act on the bilateral agreement was recorded (and,
    /// unless it was an acknowledgement, acknowledged).
    AgreementAct {
        /// What the act did (`propose`, `suspend`, …).
        action: String,
        /// The version it concerns.
        version: u64,
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

/// The answer to an envelope the store would not take. Everything that is
/// the sender's doing is a final 4xx naming what to change; only a fault of
/// this node is a `503`, which the sender retries.
fn store_refusal(e: StoreError) -> IntakeRefusal {
    use soberana_ledger::WitnessError;
    match e {
        StoreError::Duplicate(id) => IntakeRefusal::new(
            409,
            "duplicate",
            format!("envelope `{id}` was already received (replay)"),
        ),
        StoreError::Transition(_)
        | StoreError::NoSuchProposal(_)
        | StoreError::WrongParty(..)
        | StoreError::ProposalExists(_) => IntakeRefusal::new(409, "state", e.to_string()),
        StoreError::NotAccepted(..) => IntakeRefusal::new(409, "not_accepted", e.to_string()),
        StoreError::Conflict(_) => IntakeRefusal::new(409, "conflict", e.to_string()),
        StoreError::Agreement(_) => IntakeRefusal::new(409, "agreement_state", e.to_string()),
        StoreError::NoSession(..) => IntakeRefusal::new(422, "no_session", e.to_string()),
        StoreError::RepeatedPart { .. } => IntakeRefusal::new(409, "repeated_part", e.to_string()),
        StoreError::OverQuota(_) => IntakeRefusal::new(413, "quota", e.to_string()),
        StoreError::Case(_) => IntakeRefusal::new(422, "case_rule", e.to_string()),
        StoreError::SequenceReused { .. } => {
            IntakeRefusal::new(409, "sequence_reused", e.to_string())
        }
        StoreError::Witness(WitnessError::OldSizeMismatch { latest }) => IntakeRefusal::new(
            409,
            "old_size",
            format!(
                "this witness last cosigned size {latest} of your log; send the checkpoint with `old {latest}` and a consistency proof from that size"
            ),
        ),
        StoreError::Witness(WitnessError::Restart(_)) => {
            IntakeRefusal::new(409, "log_restart", e.to_string())
        }
        StoreError::Witness(WitnessError::Malformed(what)) => {
            IntakeRefusal::new(400, "malformed_checkpoint", what)
        }
        StoreError::Witness(WitnessError::Checkpoint(e)) => {
            IntakeRefusal::new(403, "checkpoint_signature", e.to_string())
        }
        e => {
            tracing::error!(error = %e, "store failed at intake");
            IntakeRefusal::new(
                503,
                "unavailable",
                "the node could not store the envelope; send it again later",
            )
        }
    }
}

/// An envelope whose shape, sender, connection, recipient, signature and
/// time were checked: what is judged next.
struct Opened {
    sender: soberana_core::PartyCode,
    card: soberana_wire::PartyCard,
    header: soberana_wire::EnvelopeHeader,
    digest: Digest,
    body: Body,
    now: Timestamp,
}

/// An envelope that passed every check: what to store, and what it did.
struct Checked<'n> {
    received: Received,
    outcome: IntakeOutcome,
    /// Held from a standing run's check until it is stored.
    _standing: Option<std::sync::MutexGuard<'n, ()>>,
}

/// The record of a refusal at intake: who the envelope claimed to come
/// from, its digest and size, and why.
fn refusal_record(bytes: &[u8], claimed_sender: String, refusal: &IntakeRefusal) -> RefusalRecord {
    tracing::warn!(reason = %refusal, sender = %claimed_sender, "envelope refused");
    RefusalRecord {
        at: Timestamp::now(),
        claimed_sender,
        digest: Digest::of(bytes).to_hex(),
        size: bytes.len() as u64,
        reason: refusal.to_string(),
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
        self.intake_recording(bytes, tls_peer, false)
    }

    /// Takes in an envelope the partner holds and we lost (recovery): every
    /// check but the age limit, since such envelopes are old by nature.
    pub(crate) fn intake_recovered(&self, bytes: &[u8]) -> Result<IntakeOutcome, IntakeRefusal> {
        self.intake_recording(bytes, None, true)
    }

    fn intake_recording(
        &self,
        bytes: &[u8],
        tls_peer: Option<[u8; 32]>,
        recovering: bool,
    ) -> Result<IntakeOutcome, IntakeRefusal> {
        let claimed = std::cell::Cell::new(String::from("?"));
        let result = self
            .open_envelope(bytes, tls_peer, &claimed, recovering)
            .and_then(|opened| self.judge(bytes, opened))
            .and_then(|checked| self.store_one(checked));
        if let Err(refusal) = &result
            && let Err(e) =
                self.store()
                    .record_refusal(refusal_record(bytes, claimed.take(), refusal))
        {
            tracing::error!(error = %e, "could not record a refusal");
        }
        result
    }

    /// Stores one checked envelope on its own and sees to its effects.
    fn store_one(&self, checked: Checked<'_>) -> Result<IntakeOutcome, IntakeRefusal> {
        let Checked {
            received,
            outcome,
            _standing: standing,
        } = checked;
        let stored = self.store().receive(received, self.sealer());
        let result = self.after_storing(outcome, stored);
        drop(standing);
        result
    }

    /// The checks that need no more than the envelope and the pinned
    /// partners: size, shape, a pinned sender, the TLS identity of the
    /// connection, the recipient, the signature, the body, the time.
    fn open_envelope(
        &self,
        bytes: &[u8],
        tls_peer: Option<[u8; 32]>,
        claimed: &std::cell::Cell<String>,
        recovering: bool,
    ) -> Result<Opened, IntakeRefusal> {
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
        let accepted = self.accepted_keys(sender);
        if let Some(fp) = tls_peer
            && !accepted.iter().any(|(_, tls)| *tls == fp)
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
        // The pinned key, or a previous one still in its overlap — except
        // for a card update: only the key pinned now may move the pin, so a
        // retired key (perhaps the reason for the rotation) cannot bring
        // itself or another key back.
        let keys: Vec<soberana_wire::PublicKey> =
            if unverified.unverified_header().kind == soberana_wire::BodyKind::CardUpdate {
                vec![card.signing_key]
            } else {
                accepted.iter().map(|(key, _)| *key).collect()
            };
        let verified = unverified.verify_any(&keys).map_err(from_wire)?;
        let body = verified.body().map_err(from_wire)?;
        let header = verified.header().clone();
        let now = Timestamp::now();
        if !recovering {
            self.check_time(header.time, now)?;
        }
        Ok(Opened {
            sender,
            card,
            header,
            digest: verified.digest(),
            body,
            now,
        })
    }

    /// The checks that depend on what the envelope does, then policy's
    /// verdict on a new proposal: what to store, and what it did.
    fn judge(&self, bytes: &[u8], opened: Opened) -> Result<Checked<'_>, IntakeRefusal> {
        let Opened {
            sender,
            card,
            header,
            digest,
            body,
            now,
        } = opened;
        let us = self.party();
        let mismatch = |what: &str| {
            IntakeRefusal::new(
                400,
                "party_mismatch",
                format!("the {what} does not match the envelope's sender `{sender}`"),
            )
        };
        // A standing run's budget is checked against the runs stored, so
        // the check and the storing are one step for such runs.
        let standing = matches!(&body, Body::Proposal(p) if crate::sessions::standing::standing_ref(p).is_some())
            .then(|| self.standing_intake());
        let (effect, outcome) = match body {
            Body::Proposal(proposal) => {
                if proposal.from != sender || proposal.to != us {
                    return Err(mismatch("proposal's parties"));
                }
                self.admit_under_agreement(&proposal)?;
                // A run under a standing arrangement is judged by the
                // arrangement as we hold it; what it claims decides nothing.
                let covered = self
                    .admit_standing_run(&proposal, now)
                    .map_err(|r| IntakeRefusal::new(403, r.code, r.reason))?;
                self.admit_evidence_kinds(&proposal)
                    .map_err(|e| IntakeRefusal::new(422, "evidence_rule", e))?;
                // Who our members are is established by our registry, not
                // by what the partner wrote.
                self.check_our_members(&proposal)
                    .map_err(|e| IntakeRefusal::new(422, "unknown_member", e))?;
                self.policy()
                    .admit(&proposal)
                    .map_err(|e| IntakeRefusal::new(400, "unreadable_place", e))?;
                let related = self.related_proposals(&proposal.related_to);
                let mut verdict = self.policy().evaluate(&proposal, &related);
                if let Some(reason) = covered {
                    // Covered: no officer is asked; a policy refusal stands.
                    if matches!(verdict.verdict, Verdict::Review) {
                        verdict.verdict = Verdict::Allow { conditions: vec![] };
                    }
                    verdict.reasons.push(soberana_core::Reason::plain(reason));
                }
                let explanation = serde_json::to_string(&verdict).unwrap_or_default();
                let (response, disposition) = self.respond(&proposal, &verdict, &digest, now);
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
                let (effect, size) = self.witness_effect(&card, &request)?;
                // Cosigned or not is decided in the store's transaction;
                // see below.
                (effect, IntakeOutcome::Cosigned { size })
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
                // The body's own check saw to it that the part is one of
                // the step's; here, that the step is not too long to wait for.
                if message.parts > crate::sessions::MAX_PARTS {
                    return Err(IntakeRefusal::new(
                        400,
                        "session_parts",
                        format!(
                            "step {} claims {} parts; a step has at most {}",
                            message.step,
                            message.parts,
                            crate::sessions::MAX_PARTS
                        ),
                    ));
                }
                let limits = &self.config().limits;
                let quota = SessionQuota {
                    max_session_bytes: limits.max_session_bytes,
                    max_step_bytes: limits.max_step_bytes,
                };
                (
                    IntakeEffect::Session { message, quota },
                    IntakeOutcome::SessionMessage { proposal, step },
                )
            }
            Body::CardUpdate(update) => {
                let (card, previous, log) = self
                    .check_card_update(sender, &card, &update)
                    .map_err(|e| IntakeRefusal::new(400, "card_update", e))?;
                let fingerprint = update.card.card.fingerprint();
                (
                    IntakeEffect::CardUpdate {
                        card,
                        previous,
                        log,
                    },
                    IntakeOutcome::CardUpdated { fingerprint },
                )
            }
            Body::Agreement(act) => {
                let outcome = IntakeOutcome::AgreementAct {
                    action: act.action.as_str().to_owned(),
                    version: act.version,
                };
                (IntakeEffect::Agreement(act), outcome)
            }
            Body::Case(message) => {
                let event = soberana_case::CustodyEvent::from_canonical(message.event.as_bytes())
                    .map_err(|e| IntakeRefusal::new(400, "bad_case_act", e.to_string()))?;
                if event.party != sender {
                    return Err(mismatch("case act's side"));
                }
                // An exhibit offered in a notice's evidence file is one the
                // notice named in its signed body.
                self.admit_evidence_offer(&event)
                    .map_err(|e| IntakeRefusal::new(422, "evidence_not_named", e))?;
                // A use resting on our consent is one our officers granted.
                self.admit_consent_use(&event)
                    .map_err(|e| IntakeRefusal::new(422, "case_rule", e))?;
                let case = event.case_id;
                (
                    IntakeEffect::Case(Box::new(event)),
                    IntakeOutcome::CaseAct { case },
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
            digest: digest.to_hex(),
            bytes: bytes.to_vec(),
            received_at: now,
            effect,
            order_tolerance_ms: self.config().limits.max_clock_skew_ms,
        };
        Ok(Checked {
            received,
            outcome,
            _standing: standing,
        })
    }

    /// What follows the store's answer to a checked envelope: its refusal,
    /// or the effects of what was stored on the node (the outbox, the
    /// partners' keys, a case to open, the log's findings, listeners).
    fn after_storing(
        &self,
        outcome: IntakeOutcome,
        stored: Result<Taken, StoreError>,
    ) -> Result<IntakeOutcome, IntakeRefusal> {
        let witnessing = matches!(outcome, IntakeOutcome::Cosigned { .. });
        let rotated = matches!(outcome, IntakeOutcome::CardUpdated { .. });
        match stored {
            Ok(Taken { queued, kind }) => {
                // A witnessed checkpoint queues its cosignature; an alarm
                // queues nothing (see `IntakeEffect::Checkpoint`).
                let outcome = match outcome {
                    IntakeOutcome::Cosigned { size } if witnessing && queued.is_empty() => {
                        IntakeOutcome::WitnessAlarm { size }
                    }
                    other => other,
                };
                // A partner's cosignature may acknowledge our log restart.
                if matches!(outcome, IntakeOutcome::CosignatureRecorded { .. })
                    && !self.log_findings().is_empty()
                {
                    self.recall_log_findings();
                }
                if rotated && let Err(e) = self.reload_peers() {
                    tracing::error!(error = %e, "could not reload partners after a card update");
                }
                // An accepted joint investigation opens its case here: the
                // partner's signed acceptance of ours, or policy's of theirs.
                if let IntakeOutcome::DecisionRecorded { proposal }
                | IntakeOutcome::ProposalCreated { proposal, .. } = &outcome
                {
                    // The store says the proposal's kind, so most need no read.
                    self.open_agreed_case_logged(*proposal, kind);
                }
                // A new proposal's answer goes out at once; anything else
                // queued is found by the outbox's read of the store.
                match &outcome {
                    IntakeOutcome::ProposalCreated { proposal, .. } => {
                        self.hand_to_outbox(&queued, *proposal)
                    }
                    _ if queued.is_empty() && !rotated => {}
                    _ => self.wake_outbox(),
                }
                self.announce(&outcome);
                Ok(outcome)
            }
            Err(e) => Err(store_refusal(e)),
        }
    }

    /// Refuses a header time too far ahead of our clock, or older than an
    /// outbox would keep retrying. (A time that goes back against the
    /// sender's own numbering is refused by the store, which holds the
    /// neighbours.)
    fn check_time(&self, sealed: i64, now: Timestamp) -> Result<(), IntakeRefusal> {
        let limits = &self.config().limits;
        let skew = i64::try_from(limits.max_clock_skew_ms).unwrap_or(i64::MAX);
        let age = i64::try_from(limits.max_envelope_age_ms).unwrap_or(i64::MAX);
        let now = now.unix_millis();
        if sealed > now.saturating_add(skew) {
            return Err(IntakeRefusal::new(
                400,
                "time_ahead",
                format!(
                    "the envelope is dated {} ms ahead of this node's clock (at most {skew} ms is allowed); check the sending node's clock",
                    sealed - now
                ),
            ));
        }
        if sealed < now.saturating_sub(age) {
            return Err(IntakeRefusal::new(
                400,
                "too_old",
                format!(
                    "the envelope is dated {} ms ago; envelopes older than {age} ms are not taken (check the sending node's clock, or send it anew)",
                    now - sealed
                ),
            ));
        }
        Ok(())
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
            reasons.extend(extra.map(soberana_core::Reason::plain));
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
            // Consent to use evidence, and evidence released on request,
            // are given by officers: policy may refuse them, never accept.
            (
                ProposalBody::ExhibitConsent(_) | ProposalBody::EvidenceRequest(_),
                Verdict::Allow { .. },
            ) => (PolicyResponse::Review, "review"),
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

    /// Refuses a new proposal the agreement with its sender does not let
    /// in: the agreement is suspended or terminated, or its kind is not one
    /// we accept from that partner. No agreement at all leaves the decision
    /// to policy.
    fn admit_under_agreement(
        &self,
        proposal: &soberana_core::Proposal,
    ) -> Result<(), IntakeRefusal> {
        let agreement = self
            .store()
            .agreement(proposal.from)
            .map_err(store_refusal)?;
        let Some(agreement) = agreement else {
            return Ok(());
        };
        match agreement.refuses(proposal.kind(), proposal.from, proposal.to) {
            None => Ok(()),
            Some(reason) => {
                let code = match agreement.status {
                    soberana_core::AgreementStatus::Suspended => "agreement_suspended",
                    soberana_core::AgreementStatus::Terminated => "agreement_terminated",
                    _ => "not_in_agreement",
                };
                Err(IntakeRefusal::new(403, code, reason))
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
