//! The bilateral agreement with each partner and its acts, keys a party
//! signed with before its current one, and financial trails, on
//! PostgreSQL: the same tables and steps as the SQLite store's
//! `agreements.rs`, `keys.rs` and `trails.rs`.

use postgres::GenericClient;
use soberana_core::{
    Agreement, AgreementAct, Direction, PartyCode, Proposal, ProposalId, Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_wire::{Body, CardUpdate, SealedEnvelope};

use super::changes::{append_log, insert_proposal, json, party, queue, unjson};
use super::{Db, Tx};
use crate::{AgreementActRecord, PreviousKey, Sealer, StoreError};

/// Where the agreement with `partner` stands, if any act on it was recorded.
pub(super) fn load<C: GenericClient>(
    db: &mut Db<'_, C>,
    partner: PartyCode,
) -> Result<Option<Agreement>, StoreError> {
    db.query_opt(
        "SELECT body FROM agreements WHERE partner = $1",
        &[&partner.as_str()],
    )?
    .map(|row| unjson(&row.try_get::<_, String>(0)?))
    .transpose()
}

/// Applies `act` by `by` to the agreement with `partner` and stores the
/// result and the act. Returns the agreement after it.
pub(super) fn record(
    tx: &mut Tx<'_, '_>,
    us: PartyCode,
    partner: PartyCode,
    by: PartyCode,
    act: &AgreementAct,
    envelope_id: &str,
    now: Timestamp,
) -> Result<Agreement, StoreError> {
    let current = load(tx, partner)?;
    let after = Agreement::apply(current.as_ref(), act, by, us, partner)
        .map_err(|e| StoreError::Agreement(e.to_string()))?;
    tx.execute(
        "INSERT INTO agreements (partner, status, body) VALUES ($1, $2, $3)
         ON CONFLICT (partner) DO UPDATE SET status = excluded.status, body = excluded.body",
        &[&partner.as_str(), &after.status.as_str(), &json(&after)?],
    )?;
    tx.execute(
        "INSERT INTO agreement_acts (partner, by_party, envelope_id, act, recorded_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &partner.as_str(),
            &by.as_str(),
            &envelope_id,
            &json(act)?,
            &now.unix_millis(),
        ],
    )?;
    Ok(after)
}

/// Every act on the agreement with `partner`, oldest first.
pub(super) fn acts<C: GenericClient>(
    db: &mut Db<'_, C>,
    partner: PartyCode,
) -> Result<Vec<AgreementActRecord>, StoreError> {
    db.query(
        "SELECT by_party, envelope_id, act, recorded_at FROM agreement_acts
         WHERE partner = $1 ORDER BY seq",
        &[&partner.as_str()],
    )?
    .iter()
    .map(|r| {
        Ok(AgreementActRecord {
            by: party(&r.try_get::<_, String>(0)?)?,
            envelope_id: r.try_get(1)?,
            act: unjson(&r.try_get::<_, String>(2)?)?,
            recorded_at: Timestamp::from_unix_millis(r.try_get(3)?),
        })
    })
    .collect()
}

/// Keeps a key its party signed with before its current one.
pub(super) fn insert_previous_key(
    tx: &mut Tx<'_, '_>,
    key: &PreviousKey,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO previous_keys (party, card, retired_at, accepted_until) VALUES ($1, $2, $3, $4)",
        &[
            &key.party.as_str(),
            &key.card,
            &key.retired_at.unix_millis(),
            &key.accepted_until.unix_millis(),
        ],
    )?;
    Ok(())
}

/// Keys `party` (every party, if `None`) signed with before, oldest first.
pub(super) fn previous_keys<C: GenericClient>(
    db: &mut Db<'_, C>,
    party_code: Option<PartyCode>,
) -> Result<Vec<PreviousKey>, StoreError> {
    let wanted = party_code.map(|p| p.to_string());
    db.query(
        "SELECT party, card, retired_at, accepted_until FROM previous_keys
         WHERE $1::TEXT IS NULL OR party = $1 ORDER BY retired_at",
        &[&wanted],
    )?
    .iter()
    .map(|r| {
        Ok(PreviousKey {
            party: party(&r.try_get::<_, String>(0)?)?,
            card: r.try_get(1)?,
            retired_at: Timestamp::from_unix_millis(r.try_get(2)?),
            accepted_until: Timestamp::from_unix_millis(r.try_get(3)?),
        })
    })
    .collect()
}

/// Stores `body` as one trail and names it from each of `proposals`; a
/// proposal that already carries a trail is refused
/// ([`StoreError::ProposalExists`]), which rolls the whole change back.
pub(super) fn insert_trail(
    tx: &mut Tx<'_, '_>,
    proposals: &[ProposalId],
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let trail: i64 = tx
        .query_one(
            "INSERT INTO trails (body, created) VALUES ($1, $2) RETURNING id",
            &[&body, &now.unix_millis()],
        )?
        .try_get(0)?;
    for id in proposals {
        let inserted = tx.execute(
            "INSERT INTO trail_proposals (proposal_id, trail_id) VALUES ($1, $2)
             ON CONFLICT (proposal_id) DO NOTHING",
            &[&id.to_string(), &trail],
        )?;
        if inserted == 0 {
            return Err(StoreError::ProposalExists(id.to_string()));
        }
    }
    Ok(())
}

/// The trail that carries proposal `id`, if any.
pub(super) fn trail_of<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: ProposalId,
) -> Result<Option<String>, StoreError> {
    Ok(db
        .query_opt(
            "SELECT t.body FROM trail_proposals p JOIN trails t ON t.id = p.trail_id
             WHERE p.proposal_id = $1",
            &[&id.to_string()],
        )?
        .map(|row| row.try_get(0))
        .transpose()?)
}

/// Our act on the agreement with `peer`: judged before anything is sealed
/// (so a refused act writes nothing), queued, and recorded with the state
/// it leads to.
pub(super) fn act_in(
    tx: &mut Tx<'_, '_>,
    us: PartyCode,
    peer: PartyCode,
    act: &AgreementAct,
    sealer: &Sealer,
) -> Result<(Agreement, SealedEnvelope), StoreError> {
    let now = Timestamp::now();
    let current = load(tx, peer)?;
    Agreement::apply(current.as_ref(), act, us, us, peer)
        .map_err(|e| StoreError::Agreement(e.to_string()))?;
    let env = queue(tx, sealer, peer, &Body::Agreement(act.clone()), now)?;
    let after = record(tx, us, peer, us, act, &env.header().id.to_string(), now)?;
    Ok((after, env))
}

/// Our key rotation: the retired key kept, `log` appended and `update`
/// queued to every pinned partner.
pub(super) fn announce_card_in(
    tx: &mut Tx<'_, '_>,
    previous: &PreviousKey,
    update: CardUpdate,
    log: LogEntry,
    sealer: &Sealer,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let now = Timestamp::now();
    insert_previous_key(tx, previous)?;
    append_log(tx, &[log])?;
    let peers: Vec<String> = tx
        .query("SELECT party FROM peers ORDER BY party", &[])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let body = Body::CardUpdate(update);
    peers
        .iter()
        .map(|p| queue(tx, sealer, party(p)?, &body, now))
        .collect()
}

/// Records and queues each of our new `proposals` and stores `trail`
/// naming every one of them.
pub(super) fn propose_trail_in(
    tx: &mut Tx<'_, '_>,
    proposals: &[Proposal],
    trail: &str,
    sealer: &Sealer,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let now = Timestamp::now();
    let mut sent = Vec::with_capacity(proposals.len());
    for proposal in proposals {
        insert_proposal(tx, proposal, Direction::Outgoing, None, now)?;
        sent.push(queue(
            tx,
            sealer,
            proposal.to,
            &Body::Proposal(proposal.clone()),
            now,
        )?);
    }
    let ids: Vec<ProposalId> = proposals.iter().map(|p| p.id).collect();
    insert_trail(tx, &ids, trail, now)?;
    Ok(sent)
}
