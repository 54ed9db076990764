//! Keys a party signed with before its current one: ours, after `key
//! rotate`, and each partner's, after its card update arrived. One small
//! table, `previous_keys`: the card that named the key (so its log and
//! witness keys can be rebuilt to check signatures made while it was
//! valid, forever), when it was retired, and until when envelopes signed by
//! it (or connections with its certificate) are still taken.

use rusqlite::{Connection, Transaction, params};
use soberana_core::{PartyCode, Timestamp};

use crate::StoreError;

/// A key a party used before its current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousKey {
    /// Whose key.
    pub party: PartyCode,
    /// The signed card that named it, as its JSON text.
    pub card: String,
    /// When it was replaced.
    pub retired_at: Timestamp,
    /// Until when new envelopes signed by it, and connections with its
    /// certificate, are still taken (the overlap).
    pub accepted_until: Timestamp,
}

pub(crate) fn insert(tx: &Transaction<'_>, key: &PreviousKey) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO previous_keys (party, card, retired_at, accepted_until) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        key.party.as_str(),
        key.card,
        key.retired_at.unix_millis(),
        key.accepted_until.unix_millis()
    ])?;
    Ok(())
}

pub(crate) fn list(
    conn: &Connection,
    party: Option<PartyCode>,
) -> Result<Vec<PreviousKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT party, card, retired_at, accepted_until FROM previous_keys
         WHERE ?1 IS NULL OR party = ?1 ORDER BY retired_at",
    )?;
    let rows = stmt.query_map([party.map(|p| p.to_string())], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (party, card, retired, until) = row?;
        Ok(PreviousKey {
            party: PartyCode::new(&party).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            card,
            retired_at: Timestamp::from_unix_millis(retired),
            accepted_until: Timestamp::from_unix_millis(until),
        })
    })
    .collect()
}
