//! Intake inside one PostgreSQL transaction: a received envelope, its
//! checks against what its sender sent before, and its one effect (a
//! proposal, a decision, a receipt, an answer, a protocol message, a
//! partner checkpoint to witness, a cosignature, an act on the agreement, a
//! card update, a case act), as the SQLite store does.

use super::{Tx, agreements};
use soberana_core::{
    AgreementAct, AgreementAction, Direction, LifecycleEvent, PartyCode, ProposalKind,
    ProposalState, Timestamp,
};
use soberana_ledger::{AddCheckpoint, EnvelopeRecord, LogEntry, Observation, Witness};
use soberana_wire::{Body, CosignatureReply, SealedEnvelope};

use super::changes::*;
use crate::StoreError;
use crate::records::*;

/// Refuses an envelope dated out of its sender's numbering (beyond the
/// tolerance): a backdated or post-dated envelope.
fn check_order(tx: &mut Tx<'_, '_>, received: &Received) -> Result<(), StoreError> {
    let tolerance = i64::try_from(received.order_tolerance_ms).unwrap_or(i64::MAX);
    let (sender, sequence) = (received.sender.as_str(), received.sequence as i64);
    let before = tx.query_opt(
        "SELECT sequence, sealed_at FROM inbox WHERE sender = $1 AND sequence < $2
         ORDER BY sequence DESC LIMIT 1",
        &[&sender, &sequence],
    )?;
    if let Some(row) = before {
        let (n, t): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(t) = t
            && received.sealed_at < t.saturating_sub(tolerance)
        {
            return Err(StoreError::Conflict(format!(
                "envelope number {} from `{sender}` is dated {} ms before its number {n}; a sender's times follow its numbers",
                received.sequence,
                t - received.sealed_at
            )));
        }
    }
    let after = tx.query_opt(
        "SELECT sequence, sealed_at FROM inbox WHERE sender = $1 AND sequence > $2
         ORDER BY sequence ASC LIMIT 1",
        &[&sender, &sequence],
    )?;
    if let Some(row) = after {
        let (n, t): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        if let Some(t) = t
            && received.sealed_at > t.saturating_add(tolerance)
        {
            return Err(StoreError::Conflict(format!(
                "envelope number {} from `{sender}` is dated {} ms after its number {n}; a sender's times follow its numbers",
                received.sequence,
                received.sealed_at - t
            )));
        }
    }
    Ok(())
}

/// Records a received envelope and its one effect inside `tx`.
pub(super) fn receive_in(
    tx: &mut Tx<'_, '_>,
    received: Received,
    sealer: &Sealer,
) -> Result<Taken, StoreError> {
    let mut kind = received.effect.new_proposal_kind();
    let queued = store_received(tx, received, sealer, &mut kind)?;
    Ok(Taken { queued, kind })
}

/// Records a received envelope and its effect inside `tx`; sets
/// `decided_kind` to the kind of the proposal a decision decides.
fn store_received(
    tx: &mut Tx<'_, '_>,
    received: Received,
    sealer: &Sealer,
    decided_kind: &mut Option<ProposalKind>,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let now = received.received_at;
    let (kind, proposal_id) = match &received.effect {
        IntakeEffect::Proposal { proposal, .. } => ("proposal", proposal.id.to_string()),
        IntakeEffect::Decision(d) => ("decision", d.proposal_id.to_string()),
        IntakeEffect::Receipt(r) => ("receipt", r.proposal_id.to_string()),
        IntakeEffect::Answer(a) => ("answer", a.proposal_id.to_string()),
        IntakeEffect::Session { message, .. } => ("session", message.proposal_id.to_string()),
        IntakeEffect::Checkpoint(_) => ("checkpoint", String::new()),
        IntakeEffect::CosignatureReceived { .. } => ("cosignature", String::new()),
        IntakeEffect::Agreement(_) => ("agreement", String::new()),
        IntakeEffect::CardUpdate { .. } => ("card_update", String::new()),
        IntakeEffect::Case(event) => ("case", event.case_id.to_string()),
    };
    let earlier = tx.query_opt(
        "SELECT envelope_id FROM inbox WHERE sender = $1 AND sequence = $2 AND envelope_id <> $3 LIMIT 1",
        &[
            &received.sender.as_str(),
            &(received.sequence as i64),
            &received.envelope_id,
        ],
    )?;
    if let Some(row) = earlier {
        return Err(StoreError::SequenceReused {
            sender: received.sender.to_string(),
            sequence: received.sequence,
            earlier: row.try_get(0)?,
        });
    }
    check_order(tx, &received)?;
    let inserted = tx.execute(
        "INSERT INTO inbox (envelope_id, sender, sequence, kind, proposal_id, digest, bytes, received_at, sealed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (envelope_id) DO NOTHING",
        &[
            &received.envelope_id,
            &received.sender.as_str(),
            &(received.sequence as i64),
            &kind,
            &proposal_id,
            &received.digest,
            &received.bytes,
            &now.unix_millis(),
            &received.sealed_at,
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Duplicate(received.envelope_id));
    }
    let index = append_log(
        tx,
        &[LogEntry::EnvelopeReceived(EnvelopeRecord {
            envelope_id: received.envelope_id.clone(),
            sender: received.sender.to_string(),
            recipient: received.recipient.to_string(),
            sequence: received.sequence,
            time_ms: received.sealed_at.max(0) as u64,
            body_digest: received.body_digest,
        })],
    )?;
    tx.execute(
        "UPDATE inbox SET log_index = $2 WHERE envelope_id = $1",
        &[&received.envelope_id, &(index as i64)],
    )?;
    let peer = received.sender;
    match received.effect {
        IntakeEffect::Proposal {
            proposal,
            response,
            verdict,
        } => {
            insert_proposal(tx, &proposal, Direction::Incoming, Some(&verdict), now)?;
            match *response {
                PolicyResponse::Decided { decision, answer } => {
                    record_own_decision(tx, sealer, peer, &decision, answer.as_ref(), now)
                }
                PolicyResponse::Review => {
                    transition(
                        tx,
                        proposal.id,
                        Direction::Incoming,
                        peer,
                        LifecycleEvent::ReviewRequired,
                        "sent to an officer by policy",
                        now,
                    )?;
                    Ok(Vec::new())
                }
                PolicyResponse::Acknowledge(receipt) => {
                    transition(
                        tx,
                        proposal.id,
                        Direction::Incoming,
                        peer,
                        LifecycleEvent::Acknowledged,
                        "receipt given",
                        now,
                    )?;
                    insert_body(tx, "receipts", proposal.id, json(&receipt)?)?;
                    Ok(vec![queue(tx, sealer, peer, &Body::Receipt(receipt), now)?])
                }
            }
        }
        IntakeEffect::Decision(decision) => {
            let (_, kind) = transition_of(
                tx,
                decision.proposal_id,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Decided(decision.outcome.clone()),
                &format!("{} by {peer}", decision.outcome.as_str().replace('_', " ")),
                now,
            )?;
            *decided_kind = Some(kind);
            insert_body(tx, "decisions", decision.proposal_id, json(&decision)?)?;
            Ok(Vec::new())
        }
        IntakeEffect::Receipt(receipt) => {
            transition(
                tx,
                receipt.proposal_id,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Acknowledged,
                &format!("receipt from {peer}"),
                now,
            )?;
            insert_body(tx, "receipts", receipt.proposal_id, json(&receipt)?)?;
            Ok(Vec::new())
        }
        IntakeEffect::Answer(answer) => {
            transition(
                tx,
                answer.proposal_id,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Answered,
                &format!("answer from {peer}: {} item(s)", answer.items.len()),
                now,
            )?;
            insert_body(tx, "answers", answer.proposal_id, json(&answer)?)?;
            Ok(Vec::new())
        }
        IntakeEffect::Checkpoint(witnessing) => witness_in(tx, sealer, peer, &witnessing, now),
        IntakeEffect::CosignatureReceived { cosignature, log } => {
            insert_cosignature(tx, &cosignature)?;
            append_log(tx, &[log])?;
            Ok(Vec::new())
        }
        IntakeEffect::Session { message, quota } => {
            store_session_part(tx, peer, &message, quota, now)?;
            Ok(Vec::new())
        }
        IntakeEffect::Agreement(act) => {
            let us = received.recipient;
            agreements::record(tx, us, peer, peer, &act, &received.envelope_id, now)?;
            if matches!(act.action, AgreementAction::Acknowledge { .. }) {
                return Ok(Vec::new());
            }
            // Every act is acknowledged with a signed act of our own, so
            // the partner's log holds our word that we received it.
            let ack = AgreementAct {
                version: act.version,
                action: AgreementAction::Acknowledge {
                    envelope: received.digest.clone(),
                    of: act.action.as_str().to_owned(),
                },
                reason: String::new(),
                at: now,
            };
            let env = queue(tx, sealer, peer, &Body::Agreement(ack.clone()), now)?;
            agreements::record(tx, us, peer, us, &ack, &env.header().id.to_string(), now)?;
            Ok(vec![env])
        }
        IntakeEffect::CardUpdate {
            card,
            previous,
            log,
        } => {
            tx.execute(
                "UPDATE peers SET card = $2, pinned_at = $3 WHERE party = $1",
                &[&peer.as_str(), &card, &now.unix_millis()],
            )?;
            agreements::insert_previous_key(tx, &previous)?;
            append_log(tx, &[log])?;
            Ok(Vec::new())
        }
        IntakeEffect::Case(event) => {
            super::cases::receive_case_in(tx, received.recipient, peer, &event)?;
            Ok(Vec::new())
        }
    }
}

/// Proposal kinds that run a protocol session once accepted.
const SESSION_KINDS: [ProposalKind; 2] = [ProposalKind::IdentifierMatch, ProposalKind::PersonMatch];

/// Stores one part of a protocol message under an accepted match proposal,
/// within its quota.
fn store_session_part(
    tx: &mut Tx<'_, '_>,
    peer: PartyCode,
    message: &soberana_wire::SessionMessage,
    quota: SessionQuota,
    now: Timestamp,
) -> Result<(), StoreError> {
    let id = message.proposal_id.to_string();
    let stored = load_state(tx, message.proposal_id)?
        .ok_or_else(|| StoreError::NoSuchProposal(id.clone()))?;
    if stored.peer != peer {
        return Err(StoreError::WrongParty(id, peer.to_string()));
    }
    let kind: String = tx
        .query_one("SELECT kind FROM proposals WHERE id = $1", &[&id])?
        .try_get(0)?;
    if !SESSION_KINDS.iter().any(|k| k.as_str() == kind) {
        return Err(StoreError::NoSession(id, kind.replace('_', " ")));
    }
    if !matches!(
        stored.state,
        ProposalState::Accepted | ProposalState::Answered
    ) {
        return Err(StoreError::NotAccepted(id, stored.state.to_string()));
    }
    let step = message.step as i64;
    let step_stored: i64 = match tx.query_opt(
        "SELECT bytes FROM session_usage WHERE proposal_id = $1 AND peer = $2 AND step = $3",
        &[&id, &peer.as_str(), &step],
    )? {
        Some(row) => row.try_get(0)?,
        None => 0,
    };
    let repeated = tx.query_opt(
        "SELECT 1 FROM session_messages WHERE proposal_id = $1 AND peer = $2 AND step = $3 AND part = $4",
        &[&id, &peer.as_str(), &step, &(message.part as i64)],
    )?;
    if repeated.is_some() {
        return Err(StoreError::RepeatedPart {
            proposal: id,
            step: message.step,
            part: message.part,
        });
    }
    let size = message.payload.len() as u64;
    let step_bytes = step_stored.max(0) as u64 + size;
    if step_bytes > quota.max_step_bytes {
        return Err(StoreError::OverQuota(format!(
            "step {} under proposal `{id}` would hold {step_bytes} bytes; at most {} are taken per step",
            message.step, quota.max_step_bytes
        )));
    }
    let total: i64 = tx
        .query_one(
            "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM session_usage WHERE proposal_id = $1 AND peer = $2",
            &[&id, &peer.as_str()],
        )?
        .try_get(0)?;
    let total = total.max(0) as u64 + size;
    if total > quota.max_session_bytes {
        return Err(StoreError::OverQuota(format!(
            "proposal `{id}` would hold {total} bytes of protocol messages; at most {} are taken per proposal",
            quota.max_session_bytes
        )));
    }
    tx.execute(
        "INSERT INTO session_messages (proposal_id, peer, step, part, parts, payload, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &peer.as_str(),
            &step,
            &(message.part as i64),
            &(message.parts as i64),
            &message.payload,
            &now.unix_millis(),
        ],
    )?;
    tx.execute(
        "INSERT INTO session_usage (proposal_id, peer, step, parts, stored, bytes)
         VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (proposal_id, peer, step)
         DO UPDATE SET stored = session_usage.stored + 1,
                       bytes = session_usage.bytes + excluded.bytes,
                       parts = LEAST(session_usage.parts, excluded.parts)",
        &[
            &id,
            &peer.as_str(),
            &step,
            &(message.parts as i64),
            &(size as i64),
        ],
    )?;
    Ok(())
}

/// Witnesses a partner's checkpoint inside `tx`: the witness state is read,
/// judged and written in this one transaction, under the writers' lock.
fn witness_in(
    tx: &mut Tx<'_, '_>,
    sealer: &Sealer,
    peer: PartyCode,
    witnessing: &Witnessing,
    now: Timestamp,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let origin = witnessing.log_key.name().to_owned();
    let latest: Option<String> = tx
        .query_opt(
            "SELECT note FROM partner_checkpoints
             WHERE peer = $1 AND origin = $2 AND status = 'cosigned'
             ORDER BY seq DESC LIMIT 1",
            &[&peer.as_str(), &origin],
        )?
        .map(|row| row.try_get(0))
        .transpose()?;
    let key = witnessing.log_key.clone();
    let cosigner = witnessing.cosigner.clone();
    let mut witness = match &latest {
        Some(note) => Witness::resume_rotated(key, &witnessing.previous_log_keys, cosigner, note)?,
        None => Witness::new(key, cosigner)?,
    };
    // A declared restart is judged against the same state, and the
    // checkpoint it names as kept is read here too (see `Witness::restart`).
    let (observation, restarted) = match &witnessing.restart {
        None => (
            witness.add_checkpoint(&witnessing.request, witnessing.now_secs)?,
            None,
        ),
        Some(claim) => {
            let old_size = AddCheckpoint::parse(&witnessing.request)?.old_size;
            let base: Option<String> = if old_size == 0 {
                None
            } else {
                tx.query_opt(
                    "SELECT note FROM partner_checkpoints
                     WHERE peer = $1 AND origin = $2 AND status = 'cosigned' AND size = $3
                     ORDER BY seq DESC LIMIT 1",
                    &[&peer.as_str(), &origin, &(old_size as i64)],
                )?
                .map(|row| row.try_get(0))
                .transpose()?
            };
            let observation = witness.restart(
                &witnessing.request,
                claim.abandoned_size,
                &claim.abandoned_root,
                claim.restored_size,
                base.as_deref(),
                witnessing.now_secs,
            )?;
            (observation, Some(claim.log_entry(&origin, old_size, now)))
        }
    };
    match observation {
        Observation::Cosigned {
            checkpoint,
            cosignature,
        } => {
            let cp = checkpoint.checkpoint();
            insert_partner_checkpoint(
                tx,
                &PartnerCheckpoint {
                    peer,
                    size: cp.size(),
                    note: checkpoint.to_text(),
                    at: now,
                    origin: cp.origin().to_owned(),
                    status: "cosigned".into(),
                    detail: String::new(),
                },
            )?;
            let cosigned = LogEntry::CosignatureIssued {
                origin: cp.origin().to_owned(),
                size: cp.size(),
                root: *cp.root().as_bytes(),
                time_ms: now.unix_millis().max(0) as u64,
            };
            append_log(
                tx,
                &restarted.into_iter().chain([cosigned]).collect::<Vec<_>>(),
            )?;
            let reply = CosignatureReply {
                origin: cp.origin().to_owned(),
                size: cp.size(),
                line: cosignature.to_line().trim_end().to_owned(),
            };
            Ok(vec![queue(
                tx,
                sealer,
                peer,
                &Body::Cosignature(reply),
                now,
            )?])
        }
        Observation::Alarm(alarm) => {
            tracing::error!(%peer, size = alarm.later.checkpoint().size(), kind = ?alarm.kind,
                "witness alarm: the partner's log conflicts with a checkpoint we cosigned");
            insert_partner_checkpoint(
                tx,
                &PartnerCheckpoint {
                    peer,
                    size: alarm.later.checkpoint().size(),
                    note: alarm.later.to_text(),
                    at: now,
                    origin: alarm.origin.clone(),
                    status: "alarm".into(),
                    detail: alarm.to_json(),
                },
            )?;
            Ok(Vec::new())
        }
    }
}
