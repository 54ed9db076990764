//! The operator's figures and the exchanged envelopes, read from
//! PostgreSQL in one snapshot (the same figures as the SQLite store's).

use postgres::Transaction;
use soberana_core::Timestamp;

use crate::operations::refusal_code;
use crate::{Exchanged, Operations, PartnerOutbox, StoreError};

/// Every delivered envelope to `peer` and every envelope from it.
pub(super) fn exchanged(
    tx: &mut Transaction<'_>,
    peer: &str,
) -> Result<Vec<Exchanged>, StoreError> {
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
pub(super) fn read(tx: &mut Transaction<'_>, now: Timestamp) -> Result<Operations, StoreError> {
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
