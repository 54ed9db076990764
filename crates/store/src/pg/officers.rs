//! [`OfficerStore`] on PostgreSQL: accounts, the audit trail and decisions
//! awaiting a second officer, each change with its audit line in one
//! transaction of the group committer (which serialises login attempts,
//! across processes too, under the writers' lock); and [`AlertVerdictStore`],
//! analysts' verdicts on alerts, each with its audit line.

use soberana_core::{Officer, OfficerId, ProposalId, Timestamp};

use super::PostgresStore;
use super::changes::insert_audit;
use crate::{
    AlertVerdictRecord, AlertVerdictStore, AuditEntry, LoginAdmission, OfficerAccount,
    OfficerStore, PendingDecision, StoreError,
};

const ACCOUNT_COLUMNS: &str =
    "officer, password_hash, language, utc_offset_minutes, failures, locked_until, time_zone";

fn account(row: &postgres::Row) -> Result<OfficerAccount, StoreError> {
    let officer: String = row.try_get(0)?;
    let officer: Officer =
        serde_json::from_str(&officer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let offset: i64 = row.try_get(3)?;
    let failures: i64 = row.try_get(4)?;
    let locked: Option<i64> = row.try_get(5)?;
    Ok(OfficerAccount {
        officer,
        password_hash: row.try_get(1)?,
        language: row.try_get(2)?,
        utc_offset_minutes: i32::try_from(offset)
            .map_err(|_| StoreError::Corrupt(format!("UTC offset {offset}")))?,
        time_zone: row.try_get(6)?,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until: locked.map(Timestamp::from_unix_millis),
    })
}

impl OfficerStore for PostgresStore {
    fn put_officer(&self, account: OfficerAccount, audit: AuditEntry) -> Result<(), StoreError> {
        let officer = serde_json::to_string(&account.officer)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO desk_officers (id, officer, password_hash, language, utc_offset_minutes, failures, locked_until, time_zone)
                 VALUES ($1, $2, $3, $4, $5, 0, NULL, $6)
                 ON CONFLICT (id) DO UPDATE SET officer = $2, password_hash = $3, language = $4,
                   utc_offset_minutes = $5, failures = 0, locked_until = NULL, time_zone = $6",
                &[
                    &account.officer.id.as_str(),
                    &officer,
                    &account.password_hash,
                    &account.language,
                    &i64::from(account.utc_offset_minutes),
                    &account.time_zone,
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn officer(&self, id: &OfficerId) -> Result<Option<OfficerAccount>, StoreError> {
        let id = id.as_str().to_owned();
        self.read(move |c| {
            c.query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM desk_officers WHERE id = $1"),
                &[&id],
            )?
            .map(|r| account(&r))
            .transpose()
        })
    }

    fn officers(&self) -> Result<Vec<OfficerAccount>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM desk_officers ORDER BY id"),
                &[],
            )?
            .iter()
            .map(account)
            .collect()
        })
    }

    fn admit_login(
        &self,
        id: &OfficerId,
        lock_after: u32,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<LoginAdmission, StoreError> {
        let id = id.as_str().to_owned();
        self.write(move |tx| {
            let Some(row) = tx.query_opt(
                "SELECT failures, locked_until FROM desk_officers WHERE id = $1 FOR UPDATE",
                &[&id],
            )?
            else {
                return Ok(LoginAdmission::Unknown);
            };
            let (failures, locked): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
            if let Some(until) = locked
                && until > now.unix_millis()
            {
                return Ok(LoginAdmission::Locked(Timestamp::from_unix_millis(until)));
            }
            // A lock that has run out starts a fresh count.
            let before = if locked.is_some() { 0 } else { failures };
            let failures = u32::try_from(before.saturating_add(1)).unwrap_or(u32::MAX);
            let lock = (lock_after > 0 && failures >= lock_after).then(|| lock_until.unix_millis());
            tx.execute(
                "UPDATE desk_officers SET failures = $2, locked_until = $3 WHERE id = $1",
                &[&id, &i64::from(failures), &lock],
            )?;
            Ok(LoginAdmission::Admitted(failures))
        })
    }

    fn login_succeeded(&self, id: &OfficerId, audit: AuditEntry) -> Result<(), StoreError> {
        let id = id.as_str().to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE desk_officers SET failures = 0, locked_until = NULL WHERE id = $1",
                &[&id],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn set_lock(
        &self,
        id: &OfficerId,
        locked_until: Option<Timestamp>,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE desk_officers SET failures = 0, locked_until = $2 WHERE id = $1",
                &[&id, &locked_until.map(|t| t.unix_millis())],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            insert_audit(tx, &audit)?;
            Ok(true)
        })
    }

    fn set_language(
        &self,
        id: &OfficerId,
        language: &str,
        audit: AuditEntry,
    ) -> Result<(), StoreError> {
        let (id, language) = (id.as_str().to_owned(), language.to_owned());
        self.write(move |tx| {
            tx.execute(
                "UPDATE desk_officers SET language = $2 WHERE id = $1",
                &[&id, &language],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write(move |tx| insert_audit(tx, &entry))
    }

    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.query(
                "SELECT at, officer, action, target, detail FROM desk_audit ORDER BY seq DESC LIMIT $1",
                &[&limit],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: Timestamp::from_unix_millis(r.try_get(0)?),
                    officer: r.try_get(1)?,
                    action: r.try_get(2)?,
                    target: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
        })
    }

    fn put_pending(&self, pending: PendingDecision, audit: AuditEntry) -> Result<(), StoreError> {
        self.write(move |tx| {
            let id = pending.proposal_id.to_string();
            if let Some(row) = tx.query_opt(
                "SELECT officer FROM desk_pending WHERE proposal_id = $1",
                &[&id],
            )? {
                let officer: String = row.try_get(0)?;
                return Err(StoreError::Conflict(format!(
                    "proposal `{id}` already has a decision by `{officer}` awaiting confirmation"
                )));
            }
            // A proposal decided meanwhile takes no decision to confirm.
            if let Some(row) = tx.query_opt("SELECT state FROM proposals WHERE id = $1", &[&id])? {
                let state: String = row.try_get(0)?;
                if state != soberana_core::ProposalState::AwaitingOfficer.as_str() {
                    return Err(StoreError::Conflict(format!(
                        "proposal `{id}` is {state}; only a proposal awaiting an officer takes a decision to confirm"
                    )));
                }
            }
            tx.execute(
                "INSERT INTO desk_pending (proposal_id, officer, at, body) VALUES ($1, $2, $3, $4)",
                &[
                    &id,
                    &pending.officer.as_str(),
                    &pending.at.unix_millis(),
                    &pending.body,
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn pending(&self, proposal: ProposalId) -> Result<Option<PendingDecision>, StoreError> {
        let id = proposal.to_string();
        self.read(move |c| {
            c.query_opt(
                "SELECT officer, at, body FROM desk_pending WHERE proposal_id = $1",
                &[&id],
            )?
            .map(|r| {
                let officer: String = r.try_get(0)?;
                Ok(PendingDecision {
                    proposal_id: proposal,
                    officer: OfficerId::new(&officer)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    at: Timestamp::from_unix_millis(r.try_get(1)?),
                    body: r.try_get(2)?,
                })
            })
            .transpose()
        })
    }

    fn clear_pending(&self, proposal: ProposalId, audit: AuditEntry) -> Result<(), StoreError> {
        let id = proposal.to_string();
        self.write(move |tx| {
            // Confirmed or withdrawn meanwhile: nothing to remove, and no
            // audit line for an act that did not happen.
            if tx.execute("DELETE FROM desk_pending WHERE proposal_id = $1", &[&id])? == 0 {
                return Err(StoreError::Conflict(format!(
                    "no decision on proposal `{id}` awaits confirmation any more"
                )));
            }
            insert_audit(tx, &audit)
        })
    }
}

impl AlertVerdictStore for PostgresStore {
    fn put_alert_verdict(
        &self,
        verdict: AlertVerdictRecord,
        audit: AuditEntry,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO alert_verdicts (incident, confirmed, reason, officer, at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &verdict.incident,
                    &verdict.confirmed,
                    &verdict.reason,
                    &verdict.officer,
                    &verdict.at.unix_millis(),
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn alert_verdicts(&self) -> Result<Vec<AlertVerdictRecord>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT incident, confirmed, reason, officer, at FROM alert_verdicts ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AlertVerdictRecord {
                    incident: r.try_get(0)?,
                    confirmed: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    officer: r.try_get(3)?,
                    at: Timestamp::from_unix_millis(r.try_get(4)?),
                })
            })
            .collect()
        })
    }
}
