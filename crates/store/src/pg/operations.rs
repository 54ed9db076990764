//! Reads that span several tables, from PostgreSQL: proposals with their
//! history, the operator's figures and the exchanged envelopes (the same
//! answers as the SQLite store's), each multi-query read in one snapshot.

use super::{Reads, Tx};
use postgres::types::ToSql;
use soberana_core::{Decision, Direction, ProposalId, ProposalState, Receipt, Timestamp};
use soberana_wire::Answer;

use super::changes::{party, unjson};
use crate::operations::refusal_code;
use crate::{
    Exchanged, Operations, PartnerOutbox, ProposalDetail, ProposalEvent, ProposalFilter,
    ProposalRecord, StoreError,
};

fn record_from_row(row: &postgres::Row) -> Result<ProposalRecord, StoreError> {
    let (direction, peer, state, updated, body): (String, String, String, i64, String) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    );
    Ok(ProposalRecord {
        direction: match direction.as_str() {
            "outgoing" => Direction::Outgoing,
            _ => Direction::Incoming,
        },
        peer: party(&peer)?,
        state: ProposalState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
        updated: Timestamp::from_unix_millis(updated),
        proposal: unjson(&body)?,
    })
}

/// Proposals matching `filter`, newest first.
pub(super) fn proposals(
    c: &mut Reads<'_>,
    filter: &ProposalFilter,
) -> Result<Vec<ProposalRecord>, StoreError> {
    let mut sql =
        String::from("SELECT direction, peer, state, updated, body FROM proposals WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(direction) = filter.direction {
        args.push(direction.as_str().to_owned());
        sql.push_str(&format!(" AND direction = ${}", args.len()));
    }
    if !filter.states.is_empty() {
        let mut marks = Vec::new();
        for state in &filter.states {
            args.push(state.as_str().to_owned());
            marks.push(format!("${}", args.len()));
        }
        sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
    }
    if !filter.kinds.is_empty() {
        let mut marks = Vec::new();
        for kind in &filter.kinds {
            args.push(kind.as_str().to_owned());
            marks.push(format!("${}", args.len()));
        }
        sql.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
    }
    sql.push_str(" ORDER BY created DESC, id DESC");
    if filter.limit > 0 {
        sql.push_str(&format!(" LIMIT {}", filter.limit));
    }
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    c.query(&sql, &params)?
        .iter()
        .map(record_from_row)
        .collect()
}

/// One proposal with its history and everything attached to it.
pub(super) fn proposal(
    c: &mut Tx<'_, '_>,
    id: ProposalId,
) -> Result<Option<ProposalDetail>, StoreError> {
    let key = id.to_string();
    let Some(row) = c.query_opt(
        "SELECT direction, peer, state, updated, body, verdict FROM proposals WHERE id = $1",
        &[&key],
    )?
    else {
        return Ok(None);
    };
    let record = record_from_row(&row)?;
    let verdict: Option<String> = row.try_get(5)?;
    let events = c
        .query(
            "SELECT at, state, event FROM proposal_events WHERE proposal_id = $1 ORDER BY seq",
            &[&key],
        )?
        .iter()
        .map(|r| {
            let state: String = r.try_get(1)?;
            Ok(ProposalEvent {
                at: Timestamp::from_unix_millis(r.try_get(0)?),
                state: ProposalState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
                event: r.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut one = |table: &str| -> Result<Option<String>, StoreError> {
        c.query_opt(
            &format!("SELECT body FROM {table} WHERE proposal_id = $1"),
            &[&key],
        )?
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .transpose()
    };
    let decision: Option<Decision> = one("decisions")?.map(|t| unjson(&t)).transpose()?;
    let receipt: Option<Receipt> = one("receipts")?.map(|t| unjson(&t)).transpose()?;
    let answer: Option<Answer> = one("answers")?.map(|t| unjson(&t)).transpose()?;
    let disclosures = c
        .query(
            "SELECT digest, bytes FROM disclosures WHERE proposal_id = $1 ORDER BY seq",
            &[&key],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as u64)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(ProposalDetail {
        record,
        events,
        verdict: verdict.map(|v| unjson(&v)).transpose()?,
        decision,
        receipt,
        answer,
        disclosures,
    }))
}

/// Every delivered envelope to `peer` and every envelope from it.
pub(super) fn exchanged(tx: &mut Tx<'_, '_>, peer: &str) -> Result<Vec<Exchanged>, StoreError> {
    let mut out = Vec::new();
    for r in tx.query(
        "SELECT envelope_id, bytes FROM outbox
         WHERE recipient = $1 AND delivered_at IS NOT NULL AND refused_at IS NULL
         ORDER BY envelope_id",
        &[&peer],
    )? {
        out.push(Exchanged {
            envelope_id: r.try_get(0)?,
            sent: true,
            bytes: r.try_get(1)?,
            log_index: None,
        });
    }
    for r in tx.query(
        "SELECT envelope_id, bytes, log_index FROM inbox WHERE sender = $1 ORDER BY envelope_id",
        &[&peer],
    )? {
        out.push(Exchanged {
            envelope_id: r.try_get(0)?,
            sent: false,
            bytes: r.try_get(1)?,
            log_index: r.try_get::<_, Option<i64>>(2)?.map(|i| i.max(0) as u64),
        });
    }
    Ok(out)
}

/// Reads the figures.
pub(super) fn read(tx: &mut Tx<'_, '_>, now: Timestamp) -> Result<Operations, StoreError> {
    let now_ms = now.unix_millis();
    let mut ops = Operations::default();
    for r in tx.query(
        "SELECT recipient,
                COUNT(*) FILTER (WHERE delivered_at IS NULL),
                MIN(created) FILTER (WHERE delivered_at IS NULL),
                COUNT(*) FILTER (WHERE delivered_at IS NOT NULL AND refused_at IS NULL),
                COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN attempts
                                  ELSE GREATEST(attempts - 1, 0) END), 0)::BIGINT
         FROM outbox GROUP BY recipient",
        &[],
    )? {
        let (party, queued, oldest, delivered, failed): (String, i64, Option<i64>, i64, i64) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        ops.outbox.insert(
            party,
            PartnerOutbox {
                queued: queued.max(0) as u64,
                oldest_secs: oldest.map_or(0, |t| ((now_ms - t).max(0) / 1000) as u64),
                delivered: delivered.max(0) as u64,
                failed_attempts: failed.max(0) as u64,
            },
        );
    }
    for r in tx.query("SELECT reason, COUNT(*) FROM refusals GROUP BY reason", &[])? {
        let (reason, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        *ops.refusals
            .entry(refusal_code(&reason).to_owned())
            .or_default() += n.max(0) as u64;
    }
    for (direction, first, second, slot) in [
        (
            "incoming",
            "received",
            "awaiting_officer",
            &mut ops.overdue_incoming,
        ),
        ("outgoing", "queued", "delivered", &mut ops.overdue_outgoing),
    ] {
        let n: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM proposals
                 WHERE direction = $1 AND deadline < $2 AND state IN ($3, $4)",
                &[&direction, &now_ms, &first, &second],
            )?
            .try_get(0)?;
        *slot = n.max(0) as u64;
    }
    ops.log_size = super::changes::next_log_index(tx)?;
    if let Some(r) = tx.query_opt(
        "SELECT size, at FROM checkpoints ORDER BY size DESC LIMIT 1",
        &[],
    )? {
        let (size, at): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        ops.checkpoint_size = size.max(0) as u64;
        ops.checkpoint_age_secs = Some(((now_ms - at).max(0) / 1000) as u64);
    }
    for r in tx.query(
        "SELECT witness, MAX(size) FROM cosignatures GROUP BY witness",
        &[],
    )? {
        let (witness, size): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        ops.cosigned_size.insert(witness, size.max(0) as u64);
    }
    Ok(ops)
}
