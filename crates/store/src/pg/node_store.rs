//! [`NodeStore`] on PostgreSQL: each write is one closure for the group
//! committer, each read one query (or one snapshot) on a reader thread.
//!
//! This file is long because it implements the whole `NodeStore` trait, one
//! short method per operation, in one `impl` block.

use soberana_core::{
    Agreement, AgreementAct, Direction, LifecycleEvent, PartyCode, Proposal, ProposalId,
    ProposalState, Timestamp,
};
use soberana_ledger::{Hash, LogEntry, NodeId, StoredCosignature};
use soberana_wire::{Answer, Body, CardUpdate, Digest, SealedEnvelope};

use super::changes::*;
use super::{CLAIM_LEASE_MS, PostgresStore, agreements};
use crate::records::*;
use crate::{AgreementActRecord, NodeStore, PreviousKey, StoreError};

impl NodeStore for PostgresStore {
    fn peers(&self) -> Result<Vec<(PartyCode, String)>, StoreError> {
        self.read(|c| {
            c.query("SELECT party, card FROM peers ORDER BY party", &[])?
                .iter()
                .map(|r| Ok((party(&r.try_get::<_, String>(0)?)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn pin_peer(&self, peer: PartyCode, card: String, log: LogEntry) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO peers (party, card, pinned_at) VALUES ($1, $2, $3)
                 ON CONFLICT (party) DO UPDATE SET card = excluded.card, pinned_at = excluded.pinned_at",
                &[&peer.as_str(), &card, &Timestamp::now().unix_millis()],
            )?;
            append_log(tx, &[log]).map(|_| ())
        })
    }

    fn append_log(&self, entries: Vec<LogEntry>) -> Result<u64, StoreError> {
        self.write(move |tx| append_log(tx, &entries))
    }

    fn append_batch(
        &self,
        start: u64,
        entries: Vec<Vec<u8>>,
        nodes: Vec<(NodeId, Hash)>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let (first, written) = append_encoded(tx, &entries)?;
            crate::records::check_appended("the batch", start, first, &nodes, &written)
        })
    }

    fn put_cosignature(&self, cosignature: StoredCosignature) -> Result<(), StoreError> {
        self.write(move |tx| insert_cosignature(tx, &cosignature))
    }

    fn cosignatures(&self, size: Option<u64>) -> Result<Vec<StoredCosignature>, StoreError> {
        let size = size.map(|s| s as i64);
        self.read(move |c| {
            c.query(
                "SELECT size, witness, line FROM cosignatures
                 WHERE $1::BIGINT IS NULL OR size = $1 ORDER BY size, witness",
                &[&size],
            )?
            .iter()
            .map(|r| {
                Ok(StoredCosignature {
                    size: r.try_get::<_, i64>(0)? as u64,
                    witness: r.try_get(1)?,
                    line: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn received_log_index(&self, envelope_id: &str) -> Result<Option<u64>, StoreError> {
        let id = envelope_id.to_owned();
        self.read(move |c| {
            let row = c.query_opt("SELECT log_index FROM inbox WHERE envelope_id = $1", &[&id])?;
            let index: Option<i64> = match row {
                Some(r) => r.try_get(0)?,
                None => None,
            };
            Ok(index.map(|i| i as u64))
        })
    }

    fn sent_envelopes(&self, proposal: ProposalId) -> Result<Vec<(String, String)>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT envelope_id, kind FROM outbox WHERE proposal_id = $1 ORDER BY created, sequence",
                &[&proposal.to_string()],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn queued_envelope_ids(&self, peer: PartyCode) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT envelope_id FROM outbox WHERE recipient = $1",
                &[&peer.as_str()],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn received_envelopes(
        &self,
        proposal: ProposalId,
    ) -> Result<Vec<(String, Option<u64>)>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT envelope_id, log_index FROM inbox WHERE proposal_id = $1 ORDER BY log_index",
                &[&proposal.to_string()],
            )?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get::<_, Option<i64>>(1)?.map(|i| i as u64),
                ))
            })
            .collect()
        })
    }

    fn session_messages(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Vec<soberana_wire::SessionMessage>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT part, parts, payload FROM session_messages
                 WHERE proposal_id = $1 AND peer = $2 AND step = $3 ORDER BY part",
                &[&proposal.to_string(), &peer.as_str(), &(step as i64)],
            )?
            .iter()
            .map(|r| {
                Ok(soberana_wire::SessionMessage {
                    proposal_id: proposal,
                    step,
                    part: r.try_get::<_, i64>(0)? as u32,
                    parts: r.try_get::<_, i64>(1)? as u32,
                    payload: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn queue_messages(
        &self,
        peer: PartyCode,
        bodies: Vec<Body>,
        sealer: Sealer,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            for body in bodies {
                if matches!(
                    body,
                    Body::Proposal(_) | Body::Decision(_) | Body::Receipt(_) | Body::Answer(_)
                ) {
                    return Err(StoreError::Conflict(format!(
                        "a {} changes a proposal and is queued with its change, not on its own",
                        body.kind().as_str()
                    )));
                }
                queue(tx, &sealer, peer, &body, now)?;
            }
            Ok(())
        })
    }

    fn skip_sequence_to(&self, peer: PartyCode, next: u64) -> Result<(), StoreError> {
        let next = i64::try_from(next)
            .map_err(|_| StoreError::Conflict(format!("sequence {next} is out of range")))?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sequences (peer, next) VALUES ($1, $2)
                 ON CONFLICT (peer) DO UPDATE SET next = GREATEST(sequences.next, EXCLUDED.next)",
                &[&peer.as_str(), &next],
            )?;
            Ok(())
        })
    }

    fn record_result(&self, answer: Answer, log: Vec<LogEntry>) -> Result<(), StoreError> {
        self.write(move |tx| {
            let id = answer.proposal_id;
            let stored =
                load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
            let now = Timestamp::now();
            transition(
                tx,
                id,
                Direction::Outgoing,
                stored.peer,
                LifecycleEvent::Answered,
                &format!("result: {}", answer.summary),
                now,
            )?;
            tx.execute(
                "INSERT INTO answers (proposal_id, body) VALUES ($1, $2)",
                &[&id.to_string(), &json(&answer)?],
            )?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn record_disclosure(
        &self,
        proposal: ProposalId,
        digest: [u8; 32],
        bytes: u64,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO disclosures (proposal_id, digest, bytes, at) VALUES ($1, $2, $3, $4)",
                &[
                    &proposal.to_string(),
                    &hex_digest(&digest),
                    &(bytes as i64),
                    &Timestamp::now().unix_millis(),
                ],
            )?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn log_and_propose(
        &self,
        log: Vec<LogEntry>,
        proposals: Vec<Proposal>,
        audit: Option<crate::AuditEntry>,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            append_log(tx, &log)?;
            let mut sent = Vec::with_capacity(proposals.len());
            for proposal in &proposals {
                insert_proposal(tx, proposal, Direction::Outgoing, None, now)?;
                sent.push(queue(
                    tx,
                    &sealer,
                    proposal.to,
                    &Body::Proposal(proposal.clone()),
                    now,
                )?);
            }
            if let Some(entry) = &audit {
                insert_audit(tx, entry)?;
            }
            Ok(sent)
        })
    }

    fn propose_trail(
        &self,
        proposals: Vec<Proposal>,
        trail: String,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| agreements::propose_trail_in(tx, &proposals, &trail, &sealer))
    }

    fn trail(&self, id: ProposalId) -> Result<Option<String>, StoreError> {
        self.read(move |c| agreements::trail_of(c, id))
    }

    fn queue_proposal(
        &self,
        proposal: Proposal,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            insert_proposal(tx, &proposal, Direction::Outgoing, None, now)?;
            queue(
                tx,
                &sealer,
                proposal.to,
                &Body::Proposal(proposal.clone()),
                now,
            )
        })
    }

    fn receive(&self, received: Received, sealer: Sealer) -> Result<Taken, StoreError> {
        self.write(move |tx| super::intake::receive_in(tx, received, &sealer))
    }

    fn receive_each(
        &self,
        received: Vec<Received>,
        sealer: Sealer,
    ) -> Vec<Result<Taken, StoreError>> {
        let count = received.len();
        let stored = self.write(move |tx| {
            let mut outcomes = Vec::with_capacity(received.len());
            for entry in received {
                // A savepoint that cannot be set or undone fails the whole
                // change, which the writer then rolls back: never a partial
                // entry kept.
                let mut savepoint = tx.inner.transaction()?;
                let outcome = super::intake::receive_in(
                    &mut super::Db {
                        inner: &mut savepoint,
                        statements: &mut *tx.statements,
                    },
                    entry,
                    &sealer,
                );
                if outcome.is_ok() {
                    savepoint.commit()?;
                } else {
                    savepoint.rollback()?;
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        });
        crate::records::each_or_all(stored, count)
    }

    fn record_refusal(&self, refusal: RefusalRecord) -> Result<(), StoreError> {
        self.write(move |tx| refusal_in(tx, &refusal))
    }

    fn record_refusals(&self, refusals: Vec<RefusalRecord>) -> Result<(), StoreError> {
        if refusals.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            refusals
                .iter()
                .try_for_each(|refusal| refusal_in(tx, refusal))
        })
    }

    fn decide(
        &self,
        decision: OfficerDecision,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let id = decision.decision.proposal_id;
            let stored =
                load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
            settle_pending(tx, id, decision.confirms.as_ref())?;
            let sent = record_own_decision(
                tx,
                &sealer,
                stored.peer,
                &decision.decision,
                decision.answer.as_ref(),
                Timestamp::now(),
            )?;
            if let Some(entry) = &decision.audit {
                insert_audit(tx, entry)?;
            }
            Ok(sent)
        })
    }

    /// Claims what is due: rows another process claimed (and whose lease
    /// has not run out) are skipped, and rows locked by a concurrent claim
    /// are skipped rather than waited for. New proposals to a partner whose
    /// agreement is suspended or terminated, or to which an act on the
    /// agreement is still on its way, are held back.
    fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeliveryItem>, StoreError> {
        let claimant = self.claimant.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let clock = Timestamp::now().unix_millis();
            let rows = c.within(false, |tx| {
                Ok(tx.query(
                    "WITH due AS (
                     SELECT envelope_id FROM outbox
                     WHERE delivered_at IS NULL AND next_attempt <= $1
                       AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_until < $4)
                       AND NOT (kind = 'proposal' AND (
                            recipient IN (SELECT partner FROM agreements
                                          WHERE status IN ('suspended', 'terminated'))
                            OR EXISTS (SELECT 1 FROM outbox AS act
                                       WHERE act.recipient = outbox.recipient
                                         AND act.kind = 'agreement'
                                         AND act.delivered_at IS NULL)))
                     ORDER BY created, sequence LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 UPDATE outbox o SET claimed_by = $3, claimed_until = $5
                 FROM due WHERE o.envelope_id = due.envelope_id
                 RETURNING o.envelope_id, o.recipient, o.bytes, o.attempts, o.proposal_id,
                           o.created, o.sequence",
                    &[
                        &now.unix_millis(),
                        &limit,
                        &claimant,
                        &clock,
                        &clock.saturating_add(CLAIM_LEASE_MS),
                    ],
                )?)
            })?;
            let mut items = rows
                .iter()
                .map(|r| {
                    let created: i64 = r.try_get(5)?;
                    let sequence: i64 = r.try_get(6)?;
                    Ok((
                        (created, sequence),
                        DeliveryItem {
                            envelope_id: r.try_get(0)?,
                            recipient: party(&r.try_get::<_, String>(1)?)?,
                            bytes: r.try_get(2)?,
                            attempts: u32::try_from(r.try_get::<_, i64>(3)?).unwrap_or(u32::MAX),
                            proposal_id: r.try_get(4)?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            items.sort_by_key(|item| item.0);
            Ok(items.into_iter().map(|(_, item)| item).collect())
        })
    }

    fn mark_delivered(&self, envelope_id: String, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |tx| mark_delivered_in(tx, &envelope_id, now))
    }

    fn backed_off(&self, now: Timestamp) -> Result<Vec<PartyCode>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT recipient FROM outbox WHERE delivered_at IS NULL
                 GROUP BY recipient HAVING MIN(next_attempt) > $1 AND MAX(attempts) > 0",
                &[&now.unix_millis()],
            )?
            .iter()
            .map(|r| party(&r.try_get::<_, String>(0)?))
            .collect()
        })
    }

    fn retry_now(&self, peer: PartyCode, now: Timestamp) -> Result<u64, StoreError> {
        self.write(move |tx| retry_now_in(tx, peer.as_str(), now))
    }

    fn mark_failed(
        &self,
        envelope_id: String,
        error: String,
        next_attempt: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| mark_failed_in(tx, &envelope_id, &error, next_attempt))
    }

    fn mark_refused(
        &self,
        envelope_id: String,
        reason: String,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| mark_refused_in(tx, &envelope_id, &reason, now))
    }

    fn record_deliveries(
        &self,
        results: Vec<(String, DeliveryResult)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            for (envelope_id, result) in &results {
                match result {
                    DeliveryResult::Delivered => mark_delivered_in(tx, envelope_id, now)?,
                    DeliveryResult::Refused(reason) => {
                        mark_refused_in(tx, envelope_id, reason, now)?;
                    }
                    DeliveryResult::Failed {
                        error,
                        next_attempt,
                    } => mark_failed_in(tx, envelope_id, error, *next_attempt)?,
                }
            }
            Ok(())
        })
    }

    fn refused_deliveries(&self, limit: usize) -> Result<Vec<RefusedDelivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.query(
                "SELECT envelope_id, recipient, kind, proposal_id, COALESCE(last_error, ''), refused_at
                 FROM outbox WHERE refused_at IS NOT NULL ORDER BY refused_at DESC LIMIT $1",
                &[&limit],
            )?
            .iter()
            .map(|r| {
                Ok(RefusedDelivery {
                    envelope_id: r.try_get(0)?,
                    recipient: party(&r.try_get::<_, String>(1)?)?,
                    kind: r.try_get(2)?,
                    proposal_id: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    at: Timestamp::from_unix_millis(r.try_get(5)?),
                })
            })
            .collect()
        })
    }

    fn session_step(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        self.read(move |c| {
            let row = c.query_opt(
                "SELECT parts, stored FROM session_usage WHERE proposal_id = $1 AND peer = $2 AND step = $3",
                &[&proposal.to_string(), &peer.as_str(), &(step as i64)],
            )?;
            row.map(|r| {
                let (parts, stored): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
                Ok((parts.max(0) as u32, stored.max(0) as u32))
            })
            .transpose()
        })
    }

    fn next_delivery_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|c| {
            let next: Option<i64> = c
                .query_one(
                    "SELECT MIN(next_attempt) FROM outbox WHERE delivered_at IS NULL",
                    &[],
                )?
                .try_get(0)?;
            Ok(next.map(Timestamp::from_unix_millis))
        })
    }

    fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<ProposalRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |c| super::operations::proposals(c, &filter))
    }

    fn proposal(&self, id: ProposalId) -> Result<Option<ProposalDetail>, StoreError> {
        self.read_consistent(move |tx| super::operations::proposal(tx, id))
    }

    fn proposal_kind(
        &self,
        id: ProposalId,
    ) -> Result<Option<soberana_core::ProposalKind>, StoreError> {
        self.read(move |c| {
            let row = c.query_opt(
                "SELECT kind FROM proposals WHERE id = $1",
                &[&id.to_string()],
            )?;
            row.map(|r| crate::records::stored_kind(&r.get::<_, String>(0)))
                .transpose()
        })
    }

    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.query(
                "SELECT at, claimed_sender, digest, size, reason FROM refusals ORDER BY seq DESC LIMIT $1",
                &[&limit],
            )?
            .iter()
            .map(|r| {
                Ok(RefusalRecord {
                    at: Timestamp::from_unix_millis(r.try_get(0)?),
                    claimed_sender: r.try_get(1)?,
                    digest: r.try_get(2)?,
                    size: r.try_get::<_, i64>(3)? as u64,
                    reason: r.try_get(4)?,
                })
            })
            .collect()
        })
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        self.read(next_log_index)
    }

    fn record_breach(
        &self,
        proposal: ProposalId,
        open_states: Vec<ProposalState>,
        event: String,
        log: LogEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let id = proposal.to_string();
            let Some(row) = tx.query_opt(
                "SELECT state FROM proposals WHERE id = $1 FOR UPDATE",
                &[&id],
            )?
            else {
                return Err(StoreError::NoSuchProposal(id));
            };
            let state: String = row.try_get(0)?;
            let Some(current) = open_states.iter().copied().find(|s| s.as_str() == state) else {
                return Ok(false);
            };
            let recorded = tx.query_opt(
                "SELECT 1 FROM proposal_events WHERE proposal_id = $1 AND event LIKE 'deadline breached%' LIMIT 1",
                &[&id],
            )?;
            if recorded.is_some() {
                return Ok(false);
            }
            add_event(tx, proposal, current, &event, Timestamp::now())?;
            append_log(tx, &[log])?;
            Ok(true)
        })
    }

    fn exchanged(&self, peer: PartyCode) -> Result<Vec<crate::Exchanged>, StoreError> {
        self.read_consistent(move |tx| super::operations::exchanged(tx, peer.as_str()))
    }

    fn operations(&self, now: Timestamp) -> Result<crate::Operations, StoreError> {
        self.read_consistent(move |tx| super::operations::read(tx, now))
    }

    fn commit_latency(&self) -> crate::CommitLatency {
        self.commits.snapshot()
    }

    fn log_node(&self, id: NodeId) -> Result<Hash, StoreError> {
        self.read(move |c| {
            let row = c.query_opt(
                "SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2",
                &[&(id.level as i64), &(id.index as i64)],
            )?;
            let bytes: Vec<u8> = row
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "log node at level {} index {} is missing",
                        id.level, id.index
                    ))
                })?
                .try_get(0)?;
            hash_from(&bytes)
        })
    }

    fn log_leaves(&self, from: u64, to: u64) -> Result<Vec<StoredLeaf>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT idx, entry, hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&(from as i64), &(to as i64)],
            )?
            .iter()
            .map(|r| {
                let hash: Vec<u8> = r.try_get(2)?;
                Ok(StoredLeaf {
                    index: r.try_get::<_, i64>(0)? as u64,
                    entry: r.try_get(1)?,
                    hash: hash_from(&hash)?,
                })
            })
            .collect()
        })
    }

    fn declare_log_restart(
        &self,
        declaration: RestartDeclaration,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError> {
        declaration.check()?;
        self.write(move |tx| {
            let RestartDeclaration {
                start,
                entries,
                nodes,
                checkpoint,
                peer,
                body,
            } = declaration;
            let (first, written) = append_encoded(tx, &entries)?;
            crate::records::check_appended("the restart", start, first, &nodes, &written)?;
            let stored = tx.query_opt(
                "SELECT note FROM checkpoints WHERE size = $1",
                &[&(checkpoint.size as i64)],
            )?;
            let stored: Option<String> = stored.map(|row| row.try_get(0)).transpose()?;
            crate::records::check_one_checkpoint_per_size(
                checkpoint.size,
                &checkpoint.note,
                stored.as_deref(),
            )
            .map_err(StoreError::Conflict)?;
            tx.execute(
                "INSERT INTO checkpoints (size, note, at) VALUES ($1, $2, $3)
                 ON CONFLICT (size) DO NOTHING",
                &[
                    &(checkpoint.size as i64),
                    &checkpoint.note,
                    &checkpoint.at.unix_millis(),
                ],
            )?;
            queue(tx, &sealer, peer, &body, Timestamp::now())
        })
    }

    fn add_checkpoint(&self, checkpoint: LedgerCheckpoint) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO checkpoints (size, note, at) VALUES ($1, $2, $3)
                 ON CONFLICT (size) DO UPDATE SET note = excluded.note, at = excluded.at",
                &[
                    &(checkpoint.size as i64),
                    &checkpoint.note,
                    &checkpoint.at.unix_millis(),
                ],
            )?;
            Ok(())
        })
    }

    fn checkpoints(&self) -> Result<Vec<LedgerCheckpoint>, StoreError> {
        self.read(|c| {
            c.query("SELECT size, note, at FROM checkpoints ORDER BY size", &[])?
                .iter()
                .map(|r| {
                    Ok(LedgerCheckpoint {
                        size: r.try_get::<_, i64>(0)? as u64,
                        note: r.try_get(1)?,
                        at: Timestamp::from_unix_millis(r.try_get(2)?),
                    })
                })
                .collect()
        })
    }

    fn add_partner_checkpoint(
        &self,
        checkpoint: PartnerCheckpoint,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            insert_partner_checkpoint(tx, &checkpoint)?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn agreement(&self, peer: PartyCode) -> Result<Option<Agreement>, StoreError> {
        self.read(move |c| agreements::load(c, peer))
    }

    fn agreement_acts(&self, peer: PartyCode) -> Result<Vec<AgreementActRecord>, StoreError> {
        self.read(move |c| agreements::acts(c, peer))
    }

    fn act_on_agreement(
        &self,
        us: PartyCode,
        peer: PartyCode,
        act: AgreementAct,
        audit: Option<crate::AuditEntry>,
        sealer: Sealer,
    ) -> Result<(Agreement, SealedEnvelope), StoreError> {
        self.write(move |tx| {
            let done = agreements::act_in(tx, us, peer, &act, &sealer)?;
            if let Some(entry) = &audit {
                insert_audit(tx, entry)?;
            }
            Ok(done)
        })
    }

    fn previous_keys(&self, party: Option<PartyCode>) -> Result<Vec<PreviousKey>, StoreError> {
        self.read(move |c| agreements::previous_keys(c, party))
    }

    fn announce_card(
        &self,
        previous: PreviousKey,
        update: CardUpdate,
        log: LogEntry,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| agreements::announce_card_in(tx, &previous, update, log, &sealer))
    }

    fn card_updates_waiting(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .query_one(
                    "SELECT COUNT(*) FROM outbox WHERE kind = 'card_update' AND delivered_at IS NULL",
                    &[],
                )?
                .try_get(0)?;
            Ok(n.max(0) as u64)
        })
    }

    fn partner_checkpoints(&self, peer: PartyCode) -> Result<Vec<PartnerCheckpoint>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT size, note, at, status, detail, origin FROM partner_checkpoints
                 WHERE peer = $1 ORDER BY seq",
                &[&peer.as_str()],
            )?
            .iter()
            .map(|r| {
                Ok(PartnerCheckpoint {
                    peer,
                    size: r.try_get::<_, i64>(0)? as u64,
                    note: r.try_get(1)?,
                    at: Timestamp::from_unix_millis(r.try_get(2)?),
                    status: r.try_get(3)?,
                    detail: r.try_get(4)?,
                    origin: r.try_get(5)?,
                })
            })
            .collect()
        })
    }
}

/// Records one refusal at intake and its log entry inside `tx`.
fn refusal_in(tx: &mut super::Tx<'_, '_>, refusal: &RefusalRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO refusals (at, claimed_sender, digest, size, reason) VALUES ($1, $2, $3, $4, $5)",
        &[
            &refusal.at.unix_millis(),
            &refusal.claimed_sender,
            &refusal.digest,
            &(refusal.size as i64),
            &refusal.reason,
        ],
    )?;
    let digest = Digest::parse(&refusal.digest)
        .map(|d| d.0)
        .unwrap_or([0; 32]);
    append_log(
        tx,
        &[LogEntry::IntakeRefusal {
            reason: refusal.reason.chars().take(1000).collect(),
            digest,
            claimed_sender: refusal.claimed_sender.chars().take(16).collect(),
            time_ms: refusal.at.unix_millis().max(0) as u64,
        }],
    )
    .map(|_| ())
}
