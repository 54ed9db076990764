//! Joint investigations in SQLite: [`CaseStore`] for [`SqliteStore`], and
//! the partner's case acts taken in at intake.
//!
//! A child of the SQLite module so that a case act shares the log append
//! and the outbox sealing of every other transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use soberana_case::{Act, Case, CaseError, CaseId, CustodyEvent};
use soberana_core::{PartyCode, ProposalId, Timestamp};
use soberana_ledger::LogEntry;
use soberana_wire::{Body, CaseMessage};

use super::{SqliteStore, append_log, json, load_state, queue, unjson};
use crate::cases::{NamedProposal, check_consent, check_opening};
use crate::{CaseStore, Sealer, StoreError, StoredCaseEvent};

/// The log entry that records `event` (the same on both sides).
pub(crate) fn case_entry(event: &CustodyEvent) -> LogEntry {
    LogEntry::CaseAct {
        case_id: event.case_id.to_string(),
        act: event.act.name().to_owned(),
        party: event.party.to_string(),
        actor: event.actor.to_string(),
        exhibit: event.act.exhibit().map_or([0; 32], |d| *d.as_bytes()),
        event_digest: event.digest(),
        time_ms: event.time_ms,
    }
}

fn load_case(tx: &Connection, id: CaseId) -> Result<Option<Case>, StoreError> {
    let state: Option<String> = tx
        .prepare_cached("SELECT state FROM cases WHERE case_id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    state.map(|s| unjson(&s)).transpose()
}

/// The proposal `id` as a case act is checked against it, if held.
fn named(tx: &Transaction<'_>, id: ProposalId) -> Result<Option<NamedProposal>, StoreError> {
    let Some(stored) = load_state(tx, id)? else {
        return Ok(None);
    };
    let (kind, body): (String, String) = tx
        .prepare_cached("SELECT kind, body FROM proposals WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Some(NamedProposal {
        direction: stored.direction,
        peer: stored.peer,
        state: stored.state,
        kind,
        body,
    }))
}

/// A case opens only under a joint-investigation proposal that this node
/// holds as accepted, or as the evidence file of a notice or information
/// request, exchanged with the case's other party.
fn check_agreement(
    tx: &Transaction<'_>,
    event: &CustodyEvent,
    us: PartyCode,
) -> Result<(), StoreError> {
    let Act::Opened {
        proposal_id,
        parties,
        ..
    } = &event.act
    else {
        return Err(StoreError::Case(CaseError::OpeningMismatch(
            "this node holds no such case; a case begins with its opening",
        )));
    };
    let id = proposal_id.to_string();
    let found = named(tx, *proposal_id)?.ok_or_else(|| StoreError::NoSuchProposal(id.clone()))?;
    check_opening(&id, &found, parties, us)
}

/// Applies `event` to its case inside `tx` (opening the case on its first
/// opening) and stores the case, the event and its log entry.
fn apply_in(
    tx: &Transaction<'_>,
    event: &CustodyEvent,
    us: PartyCode,
    ours: bool,
) -> Result<(u64, Option<Case>), StoreError> {
    let now = Timestamp::now().unix_millis();
    let case = match (&event.act, load_case(tx, event.case_id)?) {
        (Act::Refused { .. }, existing) => existing,
        (_, Some(mut case)) => {
            if matches!(event.act, Act::Opened { .. }) {
                check_agreement(tx, event, us)?;
            }
            if let Some((_, Some(consent))) = event.act.use_of() {
                check_consent(event, ours, consent, named(tx, consent)?)?;
            }
            case.apply(event)?;
            Some(case)
        }
        (_, None) => {
            check_agreement(tx, event, us)?;
            Some(Case::open(event)?)
        }
    };
    if let Some(case) = &case {
        tx.prepare_cached(
            "INSERT INTO cases (case_id, proposal_id, state, updated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(case_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
        )?
        .execute(params![
            case.id.to_string(),
            case.proposal_id.to_string(),
            json(case)?,
            now
        ])?;
    }
    let index = append_log(tx, &[case_entry(event)])?;
    tx.prepare_cached(
        "INSERT INTO case_events (case_id, ours, digest, event, log_index, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        event.case_id.to_string(),
        ours,
        hex_of(&event.digest()),
        String::from_utf8_lossy(&event.canonical()),
        index as i64,
        now
    ])?;
    Ok((index, case))
}

fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes in the partner's case act (already checked to come from `peer`).
pub(super) fn receive_case_in(
    tx: &Transaction<'_>,
    us: PartyCode,
    peer: PartyCode,
    event: &CustodyEvent,
) -> Result<(), StoreError> {
    if event.party != peer {
        return Err(StoreError::Case(CaseError::OtherSide {
            actor: event.actor.to_string(),
            acting: peer.to_string(),
            side: event.party.to_string(),
        }));
    }
    apply_in(tx, event, us, false).map(|_| ())
}

impl CaseStore for SqliteStore {
    fn case_act(&self, event: CustodyEvent, sealer: Sealer) -> Result<u64, StoreError> {
        self.write(move |tx| {
            let us = event.party;
            let (index, case) = apply_in(tx, &event, us, true)?;
            if let (Some(case), false) = (&case, matches!(event.act, Act::Refused { .. })) {
                let body = Body::Case(CaseMessage {
                    proposal_id: case.proposal_id,
                    event: String::from_utf8_lossy(&event.canonical()).into_owned(),
                });
                queue(tx, &sealer, case.partner_of(us), &body, Timestamp::now())?;
            }
            Ok(index)
        })
    }

    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        self.read(|c| load_case(c, id))
    }

    fn cases(&self) -> Result<Vec<Case>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT state FROM cases ORDER BY updated DESC, case_id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut cases = Vec::new();
            for state in rows {
                cases.push(unjson(&state?)?);
            }
            Ok(cases)
        })
    }

    fn case_events(&self, id: CaseId) -> Result<Vec<StoredCaseEvent>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT event, ours, log_index FROM case_events WHERE case_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut events = Vec::new();
            for row in rows {
                let (text, ours, index) = row?;
                let event = CustodyEvent::from_canonical(text.as_bytes())
                    .map_err(|e| StoreError::Corrupt(format!("custody event: {e}")))?;
                events.push(StoredCaseEvent {
                    event,
                    ours,
                    log_index: index as u64,
                });
            }
            Ok(events)
        })
    }
}
