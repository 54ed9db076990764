//! The bilateral agreement with each partner and the acts that changed it.
//!
//! Two small tables: `agreements` holds where the agreement with a partner
//! stands (one row per partner, the [`Agreement`] as JSON beside its status,
//! which the outbox's due query reads to hold new proposals to a partner
//! whose agreement is suspended or terminated), and `agreement_acts` every
//! signed act, ours and the partner's, in the order they were recorded. An
//! act, the state it leads to, its envelope and its log entry commit in one
//! transaction; the state machine itself is [`Agreement::apply`] in core.

use rusqlite::{OptionalExtension, Transaction, params};
use soberana_core::{Agreement, AgreementAct, PartyCode, Timestamp};

use crate::StoreError;

/// One act on an agreement, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementActRecord {
    /// The party that made the act.
    pub by: PartyCode,
    /// The envelope that carried it.
    pub envelope_id: String,
    /// The act.
    pub act: AgreementAct,
    /// When it was recorded here.
    pub recorded_at: Timestamp,
}

pub(crate) fn load(
    tx: &rusqlite::Connection,
    partner: PartyCode,
) -> Result<Option<Agreement>, StoreError> {
    let body: Option<String> = tx
        .prepare_cached("SELECT body FROM agreements WHERE partner = ?1")?
        .query_row([partner.as_str()], |r| r.get(0))
        .optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Applies `act` by `by` to the agreement with `partner` and stores the
/// result and the act. Returns the agreement after it.
pub(crate) fn record(
    tx: &Transaction<'_>,
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
    let body = serde_json::to_string(&after).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO agreements (partner, status, body) VALUES (?1, ?2, ?3)
         ON CONFLICT(partner) DO UPDATE SET status = excluded.status, body = excluded.body",
    )?
    .execute(params![partner.as_str(), after.status.as_str(), body])?;
    let act_text = serde_json::to_string(act).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO agreement_acts (partner, by_party, envelope_id, act, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        partner.as_str(),
        by.as_str(),
        envelope_id,
        act_text,
        now.unix_millis()
    ])?;
    Ok(after)
}

pub(crate) fn acts(
    conn: &rusqlite::Connection,
    partner: PartyCode,
) -> Result<Vec<AgreementActRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT by_party, envelope_id, act, recorded_at FROM agreement_acts WHERE partner = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([partner.as_str()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (by, envelope_id, act, at) = row?;
        Ok(AgreementActRecord {
            by: PartyCode::new(&by).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            envelope_id,
            act: serde_json::from_str(&act).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            recorded_at: Timestamp::from_unix_millis(at),
        })
    })
    .collect()
}
