//! Financial trails: what a node keeps about the continuation requests it
//! sends (its own side of the flow and what each proposal asks), written in
//! the same transaction as the proposals that carry them, so that a trail
//! exists exactly when its proposals do.
//!
//! Two tables (`trails`, `trail_proposals`, schema migration 5) and two
//! [`NodeStore`](crate::NodeStore) methods, `propose_trail` and `trail`: a
//! store for another database mirrors these alone.

use rusqlite::{OptionalExtension, Transaction, params};
use soberana_core::{ProposalId, Timestamp};

use crate::StoreError;

/// Stores `body` as one trail and names it from each of `proposals`, inside
/// the caller's transaction. A proposal that already carries a trail is
/// refused ([`StoreError::ProposalExists`]), which rolls the whole
/// transaction back.
pub(crate) fn insert_trail(
    tx: &Transaction<'_>,
    proposals: &[ProposalId],
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO trails (body, created) VALUES (?1, ?2)")?
        .execute(params![body, now.unix_millis()])?;
    let trail = tx.last_insert_rowid();
    for id in proposals {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO trail_proposals (proposal_id, trail_id) VALUES (?1, ?2)
                 ON CONFLICT(proposal_id) DO NOTHING",
            )?
            .execute(params![id.to_string(), trail])?;
        if inserted == 0 {
            return Err(StoreError::ProposalExists(id.to_string()));
        }
    }
    Ok(())
}

/// The trail that carries proposal `id`, if any.
pub(crate) fn trail_of(
    conn: &rusqlite::Connection,
    id: ProposalId,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT t.body FROM trail_proposals p JOIN trails t ON t.id = p.trail_id
             WHERE p.proposal_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?)
}
