//! Analysts' verdicts on money-laundering alerts: one small append-only
//! table, `alert_verdicts`, beside the audit trail.
//!
//! An alert is worked as an *incident* (alerts merged by the finance
//! engine), named by a key that is a digest of its evidence, so a verdict
//! stays attached to the same incident across scans of the same ledger. The
//! store knows nothing of finance: it keeps the key, whether the incident
//! was confirmed or dismissed, the reason, the officer and the time. Rows
//! are never changed or removed; an analyst who reconsiders adds a newer
//! verdict, and readers take the latest per incident, so the history of
//! what was decided stays readable.
//!
//! The contract is two methods ([`AlertVerdictStore`]); a store that
//! implements them must write the verdict and its audit line in one
//! transaction and return verdicts oldest first (by time written).
//! `conformance::check_node_store` holds both.

use rusqlite::params;
use soberana_core::Timestamp;

use crate::officers::insert_audit;
use crate::{AuditEntry, SqliteStore, StoreError};

/// One analyst's verdict on an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertVerdictRecord {
    /// The incident's key (`inc-` and 16 hex digits).
    pub incident: String,
    /// True when the analyst confirmed it, false when dismissed.
    pub confirmed: bool,
    /// Why, in the analyst's words.
    pub reason: String,
    /// The officer who gave it.
    pub officer: String,
    /// When.
    pub at: Timestamp,
}

/// Where analysts' verdicts on alerts are kept.
pub trait AlertVerdictStore: Send + Sync + 'static {
    /// Appends a verdict and its audit line, in one transaction.
    fn put_alert_verdict(
        &self,
        verdict: AlertVerdictRecord,
        audit: AuditEntry,
    ) -> Result<(), StoreError>;

    /// Every verdict ever given, oldest first.
    fn alert_verdicts(&self) -> Result<Vec<AlertVerdictRecord>, StoreError>;
}

impl AlertVerdictStore for SqliteStore {
    fn put_alert_verdict(
        &self,
        verdict: AlertVerdictRecord,
        audit: AuditEntry,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO alert_verdicts (incident, confirmed, reason, officer, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    verdict.incident,
                    verdict.confirmed,
                    verdict.reason,
                    verdict.officer,
                    verdict.at.unix_millis()
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn alert_verdicts(&self) -> Result<Vec<AlertVerdictRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT incident, confirmed, reason, officer, at FROM alert_verdicts ORDER BY seq",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(AlertVerdictRecord {
                        incident: r.get(0)?,
                        confirmed: r.get(1)?,
                        reason: r.get(2)?,
                        officer: r.get(3)?,
                        at: Timestamp::from_unix_millis(r.get(4)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}
