//! The steps every change is made of, inside one PostgreSQL transaction:
//! log appends, sealing into the outbox, lifecycle transitions, intake and
//! witnessing. They mirror the SQLite store's helpers step for step, so
//! both stores take the same decisions; only the SQL dialect differs.

use super::Tx;
use soberana_core::{
    Decision, Direction, LifecycleEvent, PartyCode, Proposal, ProposalId, ProposalState, Timestamp,
};
use soberana_ledger::{Hash, LogEntry, NodeId, StoredCosignature, hash_children, hash_leaf};
use soberana_wire::{Answer, Body, Digest, SealedEnvelope};

use crate::records::*;
use crate::{AuditEntry, PendingDecision, StoreError};

pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn unjson<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn party(text: &str) -> Result<PartyCode, StoreError> {
    PartyCode::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn hash_from(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("log hash: {e}")))
}

pub(super) fn hex_digest(digest: &[u8; 32]) -> String {
    Digest(*digest).to_hex()
}

/// The index the next log entry gets: the log's size.
pub(super) fn next_log_index<C: postgres::GenericClient>(
    db: &mut super::Db<'_, C>,
) -> Result<u64, StoreError> {
    let max: Option<i64> = db
        .query_one("SELECT MAX(idx) FROM log_leaves", &[])?
        .try_get(0)?;
    Ok(max.map_or(0, |m| m as u64 + 1))
}

/// Appends entries to the log inside `tx`; returns the first index.
pub(super) fn append_log(tx: &mut Tx<'_, '_>, entries: &[LogEntry]) -> Result<u64, StoreError> {
    let encoded = entries
        .iter()
        .map(|e| e.encode().map_err(|e| StoreError::Entry(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    append_encoded(tx, &encoded).map(|(first, _)| first)
}

/// Appends encoded entries and every perfect subtree they complete;
/// returns the first index and the nodes written.
pub(super) fn append_encoded(
    tx: &mut Tx<'_, '_>,
    entries: &[Vec<u8>],
) -> Result<(u64, Vec<(NodeId, Hash)>), StoreError> {
    let first = next_log_index(tx)?;
    let mut written = Vec::with_capacity(entries.len() * 2);
    for (size, bytes) in (first..).zip(entries) {
        let leaf = hash_leaf(bytes);
        let leaf_bytes = leaf.as_bytes().to_vec();
        tx.execute(
            "INSERT INTO log_leaves (idx, entry, hash) VALUES ($1, $2, $3)",
            &[&(size as i64), bytes, &leaf_bytes],
        )?;
        tx.execute(
            "INSERT INTO log_nodes (level, idx, hash) VALUES ($1, $2, $3)",
            &[&0i64, &(size as i64), &leaf_bytes],
        )?;
        written.push((NodeId::new(0, size), leaf));
        let (mut level, mut index, mut hash) = (0u8, size, leaf);
        while index % 2 == 1 {
            let left: Vec<u8> = tx
                .query_one(
                    "SELECT hash FROM log_nodes WHERE level = $1 AND idx = $2",
                    &[&(level as i64), &((index - 1) as i64)],
                )?
                .try_get(0)?;
            hash = hash_children(&hash_from(&left)?, &hash);
            level += 1;
            index /= 2;
            tx.execute(
                "INSERT INTO log_nodes (level, idx, hash) VALUES ($1, $2, $3)",
                &[&(level as i64), &(index as i64), &hash.as_bytes().to_vec()],
            )?;
            written.push((NodeId::new(level, index), hash));
        }
    }
    Ok((first, written))
}

fn next_sequence(tx: &mut Tx<'_, '_>, peer: PartyCode) -> Result<u64, StoreError> {
    let next: i64 = tx
        .query_one(
            "INSERT INTO sequences (peer, next) VALUES ($1, 2)
             ON CONFLICT (peer) DO UPDATE SET next = sequences.next + 1
             RETURNING next - 1",
            &[&peer.as_str()],
        )?
        .try_get(0)?;
    Ok(next as u64)
}

/// Seals `body` to `recipient`, queues it and logs it, inside `tx`.
pub(super) fn queue(
    tx: &mut Tx<'_, '_>,
    sealer: &Sealer,
    recipient: PartyCode,
    body: &Body,
    now: Timestamp,
) -> Result<SealedEnvelope, StoreError> {
    let sequence = next_sequence(tx, recipient)?;
    let env = sealer(recipient, sequence, body);
    tx.execute(
        "INSERT INTO outbox (envelope_id, recipient, sequence, kind, proposal_id, bytes, created, next_attempt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        &[
            &env.header().id.to_string(),
            &recipient.as_str(),
            &(sequence as i64),
            &body.kind().as_str(),
            &delivery_group(body, recipient),
            &env.bytes(),
            &now.unix_millis(),
        ],
    )?;
    append_log(
        tx,
        &[LogEntry::EnvelopeSent(crate::envelope_record(env.header()))],
    )?;
    Ok(env)
}

/// What the outbox orders an envelope with: the proposal it concerns, or
/// for acts on an agreement, the agreement (a suspension and its resumption
/// must arrive in the order they were made).
fn delivery_group(body: &Body, recipient: PartyCode) -> String {
    match body {
        Body::Agreement(_) => format!("agreement:{recipient}"),
        other => other
            .proposal_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

/// Makes every envelope waiting out a backoff for `recipient` due at `now`.
pub(super) fn retry_now_in(
    tx: &mut Tx<'_, '_>,
    recipient: &str,
    now: Timestamp,
) -> Result<u64, StoreError> {
    Ok(tx.execute(
        "UPDATE outbox SET next_attempt = $2
         WHERE recipient = $1 AND delivered_at IS NULL AND next_attempt > $2",
        &[&recipient, &now.unix_millis()],
    )?)
}

/// Marks an envelope delivered, and makes what waits out a backoff for its
/// recipient due at once (the partner answers again).
pub(super) fn mark_delivered_in(
    tx: &mut Tx<'_, '_>,
    envelope_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let row = tx.query_opt(
        "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, last_error = NULL,
                claimed_by = NULL, claimed_until = NULL
         WHERE envelope_id = $1 AND delivered_at IS NULL
         RETURNING kind, proposal_id, recipient",
        &[&envelope_id, &now.unix_millis()],
    )?;
    let Some(row) = row else {
        return Ok(());
    };
    let (kind, proposal_id, recipient): (String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    // The partner answers again: what waits out a backoff for it
    // is due at once.
    retry_now_in(tx, &recipient, now)?;
    if kind == "proposal" {
        let id = ProposalId::parse(&proposal_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The partner's decision may have arrived first; then there
        // is nothing to move.
        if let Some(stored) = load_state(tx, id)?
            && stored.state == ProposalState::Queued
        {
            transition(
                tx,
                id,
                Direction::Outgoing,
                party(&recipient)?,
                LifecycleEvent::Delivered,
                &format!("delivered to {recipient}"),
                now,
            )?;
        }
    }
    Ok(())
}

/// Records a failed delivery attempt and when to try again.
pub(super) fn mark_failed_in(
    tx: &mut Tx<'_, '_>,
    envelope_id: &str,
    error: &str,
    next_attempt: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt = $3,
                claimed_by = NULL, claimed_until = NULL
         WHERE envelope_id = $1 AND delivered_at IS NULL",
        &[&envelope_id, &error, &next_attempt.unix_millis()],
    )?;
    Ok(())
}

/// Records that a partner refused an envelope for good.
pub(super) fn mark_refused_in(
    tx: &mut Tx<'_, '_>,
    envelope_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Marked delivered as well, so the delivery queue never looks
    // at it again; `refused_at` tells the two apart.
    let row = tx.query_opt(
        "UPDATE outbox SET delivered_at = $2, refused_at = $2, attempts = attempts + 1,
                last_error = $3, claimed_by = NULL, claimed_until = NULL
         WHERE envelope_id = $1 AND delivered_at IS NULL
         RETURNING proposal_id, recipient",
        &[&envelope_id, &now.unix_millis(), &reason],
    )?;
    if let Some(row) = row {
        let (proposal_id, recipient): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        if let Ok(id) = ProposalId::parse(&proposal_id)
            && let Some(stored) = load_state(tx, id)?
        {
            add_event(
                tx,
                id,
                stored.state,
                &format!("{recipient}'s node refused an envelope for good: {reason}"),
                now,
            )?;
        }
    }
    Ok(())
}

pub(super) struct Stored {
    pub(super) direction: Direction,
    pub(super) peer: PartyCode,
    pub(super) state: ProposalState,
    pub(super) kind: soberana_core::ProposalKind,
}

pub(super) fn load_state(
    tx: &mut Tx<'_, '_>,
    id: ProposalId,
) -> Result<Option<Stored>, StoreError> {
    let Some(row) = tx.query_opt(
        "SELECT direction, peer, state, kind FROM proposals WHERE id = $1 FOR UPDATE",
        &[&id.to_string()],
    )?
    else {
        return Ok(None);
    };
    let (direction, peer, state, kind): (String, String, String, String) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    let direction = match direction.as_str() {
        "outgoing" => Direction::Outgoing,
        "incoming" => Direction::Incoming,
        other => return Err(StoreError::Corrupt(format!("direction `{other}`"))),
    };
    let state = ProposalState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?;
    Ok(Some(Stored {
        direction,
        peer: party(&peer)?,
        state,
        kind: crate::records::stored_kind(&kind)?,
    }))
}

/// Moves a proposal through the lifecycle and records the step.
pub(super) fn transition(
    tx: &mut Tx<'_, '_>,
    id: ProposalId,
    expect_direction: Direction,
    peer: PartyCode,
    event: LifecycleEvent,
    description: &str,
    now: Timestamp,
) -> Result<ProposalState, StoreError> {
    transition_of(tx, id, expect_direction, peer, event, description, now).map(|(next, _)| next)
}

/// [`transition`], returning the proposal's kind too.
pub(super) fn transition_of(
    tx: &mut Tx<'_, '_>,
    id: ProposalId,
    expect_direction: Direction,
    peer: PartyCode,
    event: LifecycleEvent,
    description: &str,
    now: Timestamp,
) -> Result<(ProposalState, soberana_core::ProposalKind), StoreError> {
    let stored = load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
    if stored.direction != expect_direction || stored.peer != peer {
        return Err(StoreError::WrongParty(id.to_string(), peer.to_string()));
    }
    let next = stored.state.apply(stored.direction, &event)?;
    tx.execute(
        "UPDATE proposals SET state = $2, updated = $3 WHERE id = $1",
        &[&id.to_string(), &next.as_str(), &now.unix_millis()],
    )?;
    add_event(tx, id, next, description, now)?;
    Ok((next, stored.kind))
}

pub(super) fn add_event(
    tx: &mut Tx<'_, '_>,
    id: ProposalId,
    state: ProposalState,
    description: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO proposal_events (proposal_id, at, state, event) VALUES ($1, $2, $3, $4)",
        &[
            &id.to_string(),
            &now.unix_millis(),
            &state.as_str(),
            &description,
        ],
    )?;
    Ok(())
}

pub(super) fn insert_proposal(
    tx: &mut Tx<'_, '_>,
    proposal: &Proposal,
    direction: Direction,
    verdict: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let peer = match direction {
        Direction::Outgoing => proposal.to,
        Direction::Incoming => proposal.from,
    };
    let state = ProposalState::initial(direction);
    let inserted = tx.execute(
        "INSERT INTO proposals (id, direction, peer, kind, state, body, created, deadline, updated, verdict)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        &[
            &proposal.id.to_string(),
            &direction.as_str(),
            &peer.as_str(),
            &proposal.kind().as_str(),
            &state.as_str(),
            &json(proposal)?,
            &proposal.created.unix_millis(),
            &proposal.deadline.unix_millis(),
            &now.unix_millis(),
            &verdict,
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::ProposalExists(proposal.id.to_string()));
    }
    let what = match direction {
        Direction::Outgoing => format!("proposed to {}", proposal.to),
        Direction::Incoming => format!("received from {}", proposal.from),
    };
    add_event(tx, proposal.id, state, &what, now)
}

fn decision_entry(decision: &Decision, now: Timestamp) -> LogEntry {
    let digest = Digest::parse(&decision.policy_digest)
        .map(|d| d.0)
        .unwrap_or([0; 32]);
    LogEntry::Decision {
        proposal_id: decision.proposal_id.to_string(),
        outcome: decision.outcome.as_str().to_owned(),
        policy_set_digest: digest,
        decided_by: match &decision.decided_by {
            soberana_core::DecidedBy::Policy => "policy".to_owned(),
            soberana_core::DecidedBy::Officer { officer, .. } => format!("officer:{officer}"),
        },
        time_ms: now.unix_millis().max(0) as u64,
    }
}

pub(super) fn insert_body(
    tx: &mut Tx<'_, '_>,
    table: &str,
    id: ProposalId,
    body: String,
) -> Result<(), StoreError> {
    tx.execute(
        &format!("INSERT INTO {table} (proposal_id, body) VALUES ($1, $2)"),
        &[&id.to_string(), &body],
    )?;
    Ok(())
}

/// Stores a decision made here, queues it, and queues the answer if any.
pub(super) fn record_own_decision(
    tx: &mut Tx<'_, '_>,
    sealer: &Sealer,
    peer: PartyCode,
    decision: &Decision,
    answer: Option<&Answer>,
    now: Timestamp,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let id = decision.proposal_id;
    let by = match &decision.decided_by {
        soberana_core::DecidedBy::Policy => "policy".to_owned(),
        soberana_core::DecidedBy::Officer { officer, .. } => format!("officer {officer}"),
    };
    transition(
        tx,
        id,
        Direction::Incoming,
        peer,
        LifecycleEvent::Decided(decision.outcome.clone()),
        &format!("{} by {by}", decision.outcome.as_str().replace('_', " ")),
        now,
    )?;
    insert_body(tx, "decisions", id, json(decision)?)?;
    append_log(tx, &[decision_entry(decision, now)])?;
    let mut sent = vec![queue(
        tx,
        sealer,
        peer,
        &Body::Decision(decision.clone()),
        now,
    )?];
    if let Some(answer) = answer {
        if !decision.outcome.is_acceptance() {
            return Err(StoreError::Corrupt(
                "an answer can only follow an acceptance".into(),
            ));
        }
        let env = queue(tx, sealer, peer, &Body::Answer(answer.clone()), now)?;
        let body = Body::Answer(answer.clone()).to_bytes();
        let digest = Digest::of(&body);
        tx.execute(
            "INSERT INTO disclosures (proposal_id, digest, bytes, at) VALUES ($1, $2, $3, $4)",
            &[
                &id.to_string(),
                &digest.to_hex(),
                &(body.len() as i64),
                &now.unix_millis(),
            ],
        )?;
        insert_body(tx, "answers", id, json(answer)?)?;
        append_log(
            tx,
            &[LogEntry::Disclosure {
                proposal_id: id.to_string(),
                digest: digest.0,
                byte_count: body.len() as u64,
                time_ms: now.unix_millis().max(0) as u64,
            }],
        )?;
        transition(
            tx,
            id,
            Direction::Incoming,
            peer,
            LifecycleEvent::Answered,
            &format!("answered: {} item(s) disclosed", answer.items.len()),
            now,
        )?;
        sent.push(env);
    }
    Ok(sent)
}

pub(super) fn insert_partner_checkpoint(
    tx: &mut Tx<'_, '_>,
    c: &PartnerCheckpoint,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO partner_checkpoints (peer, size, note, at, status, detail, origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &c.peer.as_str(),
            &(c.size as i64),
            &c.note,
            &c.at.unix_millis(),
            &c.status,
            &c.detail,
            &c.origin,
        ],
    )?;
    Ok(())
}

pub(super) fn insert_cosignature(
    tx: &mut Tx<'_, '_>,
    c: &StoredCosignature,
) -> Result<(), StoreError> {
    let existing: Option<String> = tx
        .query_opt(
            "SELECT line FROM cosignatures WHERE size = $1 AND witness = $2",
            &[&(c.size as i64), &c.witness],
        )?
        .map(|row| row.try_get(0))
        .transpose()?;
    match existing {
        Some(line) if line == c.line => Ok(()),
        Some(_) => Err(StoreError::Conflict(format!(
            "a different cosignature by `{}` on size {} is stored",
            c.witness, c.size
        ))),
        None => {
            tx.execute(
                "INSERT INTO cosignatures (size, witness, line) VALUES ($1, $2, $3)",
                &[&(c.size as i64), &c.witness, &c.line],
            )?;
            Ok(())
        }
    }
}

pub(super) fn insert_audit(tx: &mut Tx<'_, '_>, entry: &AuditEntry) -> Result<(), StoreError> {
    entry.check()?;
    tx.execute(
        "INSERT INTO desk_audit (at, officer, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &entry.at.unix_millis(),
            &entry.officer,
            &entry.action,
            &entry.target,
            &entry.detail,
        ],
    )?;
    Ok(())
}

/// Four eyes inside a decision's transaction: a decision confirming a
/// pending one needs exactly that one still stored and removes it; any
/// other decision needs none.
pub(super) fn settle_pending(
    tx: &mut Tx<'_, '_>,
    proposal: ProposalId,
    confirms: Option<&PendingDecision>,
) -> Result<(), StoreError> {
    let id = proposal.to_string();
    let stored: Option<(String, String)> = match tx.query_opt(
        "SELECT officer, body FROM desk_pending WHERE proposal_id = $1",
        &[&id],
    )? {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
        None => None,
    };
    match (confirms, stored) {
        (None, None) => Ok(()),
        (None, Some((officer, _))) => Err(StoreError::Conflict(format!(
            "a decision by `{officer}` on proposal `{id}` awaits a second approver's confirmation; confirm or withdraw it first"
        ))),
        (Some(wanted), Some((officer, body)))
            if officer == wanted.officer.as_str() && body == wanted.body =>
        {
            tx.execute("DELETE FROM desk_pending WHERE proposal_id = $1", &[&id])?;
            Ok(())
        }
        (Some(_), _) => Err(StoreError::Conflict(format!(
            "the decision on proposal `{id}` awaiting confirmation was withdrawn or replaced meanwhile; nothing was decided"
        ))),
    }
}
