//! Officers of the desk: their accounts, the audit trail of what each did,
//! and decisions waiting for a second officer's confirmation.
//!
//! The desk (the web UI) keeps these in the node's own SQLite file so that a
//! node is still one file to back up, and so that every officer action sits
//! beside the proposals it touched. Password hashes arrive here already
//! hashed (PHC strings); this module never sees a password. Each method is
//! one transaction: an account change or a login outcome is written together
//! with its audit entry, or not at all.

use rusqlite::{OptionalExtension, Row, params};
use soberana_core::{Officer, OfficerId, ProposalId, Timestamp};

use crate::{SqliteStore, StoreError};

/// An officer's account on the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerAccount {
    /// Who the officer is and what they may do.
    pub officer: Officer,
    /// The password hash as a PHC string (Argon2id).
    pub password_hash: String,
    /// The language the desk speaks to this officer (`es` or `en`).
    pub language: String,
    /// The officer's offset from UTC in minutes, used to show times when
    /// no time zone is named.
    pub utc_offset_minutes: i32,
    /// The officer's time zone by its IANA name (`America/Mexico_City`),
    /// with daylight saving; empty when only the offset is known.
    pub time_zone: String,
    /// Failed logins since the last successful one.
    pub failures: u32,
    /// Logins are refused until then, after too many failures.
    pub locked_until: Option<Timestamp>,
}

/// One line of the desk's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who acted (an officer id, or the id someone tried to log in as).
    pub officer: String,
    /// What was done (`login`, `login_failed`, `decide`, …).
    pub action: String,
    /// What it was done to (a proposal id, or empty).
    pub target: String,
    /// Details in plain words.
    pub detail: String,
}

impl AuditEntry {
    /// Refuses a line that says nothing was done, or that holds a NUL
    /// character (which PostgreSQL cannot store as text): both stores
    /// refuse the same lines, and with them the act they record.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.action.trim().is_empty() {
            return Err(StoreError::Conflict(
                "an audit line must say what was done".into(),
            ));
        }
        let fields = [&self.officer, &self.action, &self.target, &self.detail];
        if fields.iter().any(|f| f.contains('\0')) {
            return Err(StoreError::Conflict(
                "an audit line cannot hold a NUL character".into(),
            ));
        }
        Ok(())
    }
}

/// A decision recorded by one officer, waiting for a second one to confirm
/// it before it takes effect (four eyes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDecision {
    /// The proposal it decides.
    pub proposal_id: ProposalId,
    /// The officer who recorded it.
    pub officer: OfficerId,
    /// When.
    pub at: Timestamp,
    /// The decision as the desk wrote it (JSON; opaque to the store).
    pub body: String,
}

/// Whether a login attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAdmission {
    /// No such officer (the caller checks a decoy hash and counts nothing).
    Unknown,
    /// The account is locked until then; no password is checked.
    Locked(Timestamp),
    /// The password may be checked; the attempt is already counted as this
    /// many consecutive failures.
    Admitted(u32),
}

/// What the desk asks of storage.
pub trait OfficerStore: Send + Sync + 'static {
    /// Creates or replaces an officer's account (failures and lock reset).
    fn put_officer(&self, account: OfficerAccount, audit: AuditEntry) -> Result<(), StoreError>;

    /// One officer's account.
    fn officer(&self, id: &OfficerId) -> Result<Option<OfficerAccount>, StoreError>;

    /// Every account, by id.
    fn officers(&self) -> Result<Vec<OfficerAccount>, StoreError>;

    /// Admits one login attempt for `id` before its password is checked, in
    /// one write: a locked account is refused; otherwise the attempt is
    /// counted as a failure *now* (a later success clears it), and the
    /// attempt that reaches `lock_after` locks the account until
    /// `lock_until`. Concurrent attempts are serialised by the store's
    /// writer, so at most `lock_after` passwords are ever checked between a
    /// success and the end of a lock. An expired lock starts a fresh count.
    fn admit_login(
        &self,
        id: &OfficerId,
        lock_after: u32,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<LoginAdmission, StoreError>;

    /// Records a successful login: the failure count and lock are cleared.
    fn login_succeeded(&self, id: &OfficerId, audit: AuditEntry) -> Result<(), StoreError>;

    /// Sets an account's lock (`None` unlocks it) and clears its failure
    /// count, with the audit line, in one write. Returns false when no such
    /// officer is registered (and writes nothing).
    fn set_lock(
        &self,
        id: &OfficerId,
        locked_until: Option<Timestamp>,
        audit: AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Sets the language the desk uses for an officer.
    fn set_language(
        &self,
        id: &OfficerId,
        language: &str,
        audit: AuditEntry,
    ) -> Result<(), StoreError>;

    /// Appends a line to the audit trail.
    fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The latest `limit` lines of the audit trail, newest first.
    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores a decision awaiting confirmation; refuses a second one for the
    /// same proposal with [`StoreError::Conflict`].
    fn put_pending(&self, pending: PendingDecision, audit: AuditEntry) -> Result<(), StoreError>;

    /// The decision awaiting confirmation for a proposal, if any.
    fn pending(&self, proposal: ProposalId) -> Result<Option<PendingDecision>, StoreError>;

    /// Removes the decision awaiting confirmation (withdrawn); refuses with
    /// [`StoreError::Conflict`] when none is stored any more.
    fn clear_pending(&self, proposal: ProposalId, audit: AuditEntry) -> Result<(), StoreError>;
}

pub(crate) fn insert_audit(
    tx: &rusqlite::Transaction<'_>,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    entry.check()?;
    tx.execute(
        "INSERT INTO desk_audit (at, officer, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.at.unix_millis(),
            entry.officer,
            entry.action,
            entry.target,
            entry.detail
        ],
    )?;
    Ok(())
}

/// Four eyes inside a decision's transaction: a decision confirming a
/// pending one needs exactly that one still stored (not withdrawn or
/// replaced meanwhile) and removes it; any other decision needs none.
pub(crate) fn settle_pending(
    tx: &rusqlite::Transaction<'_>,
    proposal: ProposalId,
    confirms: Option<&PendingDecision>,
) -> Result<(), StoreError> {
    let id = proposal.to_string();
    let stored: Option<(String, String)> = tx
        .query_row(
            "SELECT officer, body FROM desk_pending WHERE proposal_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match (confirms, stored) {
        (None, None) => Ok(()),
        (None, Some((officer, _))) => Err(StoreError::Conflict(format!(
            "a decision by `{officer}` on proposal `{id}` awaits a second approver's confirmation; confirm or withdraw it first"
        ))),
        (Some(wanted), Some((officer, body)))
            if officer == wanted.officer.as_str() && body == wanted.body =>
        {
            tx.execute(
                "DELETE FROM desk_pending WHERE proposal_id = ?1",
                params![id],
            )?;
            Ok(())
        }
        (Some(_), _) => Err(StoreError::Conflict(format!(
            "the decision on proposal `{id}` awaiting confirmation was withdrawn or replaced meanwhile; nothing was decided"
        ))),
    }
}

/// One account's columns, in [`ACCOUNT_COLUMNS`] order.
type AccountRow = (String, String, String, i32, i64, Option<i64>, String);

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn account(
    (officer, hash, language, offset, failures, locked, time_zone): AccountRow,
) -> Result<OfficerAccount, StoreError> {
    let officer: Officer =
        serde_json::from_str(&officer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(OfficerAccount {
        officer,
        password_hash: hash,
        language,
        utc_offset_minutes: offset,
        time_zone,
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until: locked.map(Timestamp::from_unix_millis),
    })
}

const ACCOUNT_COLUMNS: &str =
    "officer, password_hash, language, utc_offset_minutes, failures, locked_until, time_zone";

impl OfficerStore for SqliteStore {
    fn put_officer(&self, account: OfficerAccount, audit: AuditEntry) -> Result<(), StoreError> {
        let officer = serde_json::to_string(&account.officer)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO desk_officers (id, officer, password_hash, language, utc_offset_minutes, failures, locked_until, time_zone)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, NULL, ?6)
                 ON CONFLICT(id) DO UPDATE SET officer = ?2, password_hash = ?3, language = ?4,
                   utc_offset_minutes = ?5, failures = 0, locked_until = NULL, time_zone = ?6",
                params![
                    account.officer.id.as_str(),
                    officer,
                    account.password_hash,
                    account.language,
                    account.utc_offset_minutes,
                    account.time_zone
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn officer(&self, id: &OfficerId) -> Result<Option<OfficerAccount>, StoreError> {
        let id = id.as_str().to_owned();
        let row = self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM desk_officers WHERE id = ?1"),
                params![id],
                account_from_row,
            )
            .optional()?)
        })?;
        row.map(account).transpose()
    }

    fn officers(&self) -> Result<Vec<OfficerAccount>, StoreError> {
        let rows = self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM desk_officers ORDER BY id"
            ))?;
            let rows = stmt
                .query_map([], account_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter().map(account).collect()
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
            let row: Option<(i64, Option<i64>)> = tx
                .query_row(
                    "SELECT failures, locked_until FROM desk_officers WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((failures, locked)) = row else {
                return Ok(LoginAdmission::Unknown);
            };
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
                "UPDATE desk_officers SET failures = ?2, locked_until = ?3 WHERE id = ?1",
                params![id, i64::from(failures), lock],
            )?;
            Ok(LoginAdmission::Admitted(failures))
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
                "UPDATE desk_officers SET failures = 0, locked_until = ?2 WHERE id = ?1",
                params![id, locked_until.map(|t| t.unix_millis())],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            insert_audit(tx, &audit)?;
            Ok(true)
        })
    }

    fn login_succeeded(&self, id: &OfficerId, audit: AuditEntry) -> Result<(), StoreError> {
        let id = id.as_str().to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE desk_officers SET failures = 0, locked_until = NULL WHERE id = ?1",
                params![id],
            )?;
            insert_audit(tx, &audit)
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
                "UPDATE desk_officers SET language = ?2 WHERE id = ?1",
                params![id, language],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write(move |tx| insert_audit(tx, &entry))
    }

    fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT at, officer, action, target, detail FROM desk_audit ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map(params![limit], |r| {
                    Ok(AuditEntry {
                        at: Timestamp::from_unix_millis(r.get(0)?),
                        officer: r.get(1)?,
                        action: r.get(2)?,
                        target: r.get(3)?,
                        detail: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn put_pending(&self, pending: PendingDecision, audit: AuditEntry) -> Result<(), StoreError> {
        self.write(move |tx| {
            let id = pending.proposal_id.to_string();
            let exists: Option<String> = tx
                .query_row(
                    "SELECT officer FROM desk_pending WHERE proposal_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(officer) = exists {
                return Err(StoreError::Conflict(format!(
                    "proposal `{id}` already has a decision by `{officer}` awaiting confirmation"
                )));
            }
            // A proposal decided meanwhile takes no decision to confirm.
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM proposals WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(state) = state
                && state != soberana_core::ProposalState::AwaitingOfficer.as_str()
            {
                return Err(StoreError::Conflict(format!(
                    "proposal `{id}` is {state}; only a proposal awaiting an officer takes a decision to confirm"
                )));
            }
            tx.execute(
                "INSERT INTO desk_pending (proposal_id, officer, at, body) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    pending.officer.as_str(),
                    pending.at.unix_millis(),
                    pending.body
                ],
            )?;
            insert_audit(tx, &audit)
        })
    }

    fn pending(&self, proposal: ProposalId) -> Result<Option<PendingDecision>, StoreError> {
        let id = proposal.to_string();
        let row: Option<(String, i64, String)> = self.read(|c| {
            Ok(c.query_row(
                "SELECT officer, at, body FROM desk_pending WHERE proposal_id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        row.map(|(officer, at, body)| {
            Ok(PendingDecision {
                proposal_id: proposal,
                officer: OfficerId::new(&officer)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                at: Timestamp::from_unix_millis(at),
                body,
            })
        })
        .transpose()
    }

    fn clear_pending(&self, proposal: ProposalId, audit: AuditEntry) -> Result<(), StoreError> {
        let id = proposal.to_string();
        self.write(move |tx| {
            // Confirmed or withdrawn meanwhile: nothing to remove, and no
            // audit line for an act that did not happen.
            if tx.execute(
                "DELETE FROM desk_pending WHERE proposal_id = ?1",
                params![id],
            )? == 0
            {
                return Err(StoreError::Conflict(format!(
                    "no decision on proposal `{id}` awaits confirmation any more"
                )));
            }
            insert_audit(tx, &audit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soberana_core::{AgencyId, Role};

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at: Timestamp::from_unix_millis(1_000),
            officer: "fgr.ana".into(),
            action: action.into(),
            target: String::new(),
            detail: String::new(),
        }
    }

    fn ana() -> OfficerAccount {
        OfficerAccount {
            officer: Officer {
                id: OfficerId::new("fgr.ana").unwrap(),
                name: "Ana Ruiz".into(),
                agency: AgencyId::new("MX.FGR").unwrap(),
                roles: vec![Role::Approver],
            },
            password_hash: "$argon2id$stub".into(),
            language: "es".into(),
            utc_offset_minutes: -360,
            time_zone: "America/Mexico_City".into(),
            failures: 0,
            locked_until: None,
        }
    }

    #[test]
    fn accounts_lockout_and_audit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
        store.put_officer(ana(), entry("officer_added")).unwrap();
        let id = OfficerId::new("fgr.ana").unwrap();
        assert_eq!(store.officer(&id).unwrap().unwrap(), ana());
        let (now, until) = (
            Timestamp::from_unix_millis(1_000),
            Timestamp::from_unix_millis(9_000),
        );
        // Each attempt is counted when admitted, before its password is checked.
        assert_eq!(
            store.admit_login(&id, 2, now, until).unwrap(),
            LoginAdmission::Admitted(1)
        );
        assert_eq!(store.officer(&id).unwrap().unwrap().locked_until, None);
        assert_eq!(
            store.admit_login(&id, 2, now, until).unwrap(),
            LoginAdmission::Admitted(2)
        );
        assert_eq!(
            store.officer(&id).unwrap().unwrap().locked_until,
            Some(until)
        );
        // Locked: nothing more is admitted until the lock runs out.
        assert_eq!(
            store.admit_login(&id, 2, now, until).unwrap(),
            LoginAdmission::Locked(until)
        );
        // After it, a fresh count starts.
        let later = Timestamp::from_unix_millis(10_000);
        assert_eq!(
            store.admit_login(&id, 2, later, later).unwrap(),
            LoginAdmission::Admitted(1)
        );
        let nobody = OfficerId::new("nobody").unwrap();
        assert_eq!(
            store.admit_login(&nobody, 2, now, until).unwrap(),
            LoginAdmission::Unknown
        );
        store.audit(entry("f")).unwrap();
        store.login_succeeded(&id, entry("login")).unwrap();
        let back = store.officer(&id).unwrap().unwrap();
        assert_eq!((back.failures, back.locked_until), (0, None));
        store.set_language(&id, "en", entry("language")).unwrap();
        assert_eq!(store.officer(&id).unwrap().unwrap().language, "en");
        let trail = store.audit_trail(10).unwrap();
        assert_eq!(trail.len(), 4);
        assert_eq!(trail.first().unwrap().action, "language");
        assert_eq!(store.officers().unwrap().len(), 1);
    }

    /// Many attempts at once: exactly the lock-out threshold are admitted.
    #[test]
    fn concurrent_login_attempts_admit_no_more_than_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("n.db")).unwrap());
        store.put_officer(ana(), entry("officer_added")).unwrap();
        let (now, until) = (
            Timestamp::from_unix_millis(1_000),
            Timestamp::from_unix_millis(9_000),
        );
        let attempts: Vec<_> = (0..40)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store
                        .admit_login(&OfficerId::new("fgr.ana").unwrap(), 5, now, until)
                        .unwrap()
                })
            })
            .collect();
        let results: Vec<_> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
        let admitted = results
            .iter()
            .filter(|r| matches!(r, LoginAdmission::Admitted(_)))
            .count();
        assert_eq!(admitted, 5, "{results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, LoginAdmission::Admitted(_) | LoginAdmission::Locked(_)))
        );
    }

    #[test]
    fn a_second_pending_decision_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
        let proposal = ProposalId::generate();
        let pending = PendingDecision {
            proposal_id: proposal,
            officer: OfficerId::new("fgr.ana").unwrap(),
            at: Timestamp::from_unix_millis(5),
            body: "{}".into(),
        };
        store
            .put_pending(pending.clone(), entry("pending"))
            .unwrap();
        let err = store
            .put_pending(pending.clone(), entry("pending"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(store.pending(proposal).unwrap(), Some(pending));
        store.clear_pending(proposal, entry("confirmed")).unwrap();
        assert_eq!(store.pending(proposal).unwrap(), None);
        // The refused second write left only its own audit line out.
        assert_eq!(store.audit_trail(10).unwrap().len(), 2);
    }
}
