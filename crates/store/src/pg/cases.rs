//! Joint investigations on PostgreSQL: [`CaseStore`] for
//! [`PostgresStore`], and the partner's case acts taken in at intake, with
//! the same checks and writes as the SQLite store's `sqlite/cases.rs`.

use postgres::GenericClient;
use soberana_case::{Act, Case, CaseError, CaseId, CustodyEvent};
use soberana_core::{PartyCode, ProposalId, Timestamp};
use soberana_wire::{Body, CaseMessage};

use super::changes::{append_log, hex_digest, json, load_state, queue, unjson};
use super::{Db, PostgresStore, Tx};
use crate::cases::{NamedProposal, check_consent, check_opening};
use crate::sqlite::cases::case_entry;
use crate::{CaseStore, Sealer, StoreError, StoredCaseEvent};

fn load_case<C: GenericClient>(db: &mut Db<'_, C>, id: CaseId) -> Result<Option<Case>, StoreError> {
    db.query_opt(
        "SELECT state FROM cases WHERE case_id = $1",
        &[&id.to_string()],
    )?
    .map(|row| unjson(&row.try_get::<_, String>(0)?))
    .transpose()
}

/// The proposal `id` as a case act is checked against it, if held.
fn named(tx: &mut Tx<'_, '_>, id: ProposalId) -> Result<Option<NamedProposal>, StoreError> {
    let Some(stored) = load_state(tx, id)? else {
        return Ok(None);
    };
    let row = tx.query_one(
        "SELECT kind, body FROM proposals WHERE id = $1",
        &[&id.to_string()],
    )?;
    Ok(Some(NamedProposal {
        direction: stored.direction,
        peer: stored.peer,
        state: stored.state,
        kind: row.try_get(0)?,
        body: row.try_get(1)?,
    }))
}

/// A case opens only under a joint-investigation proposal that this node
/// holds as accepted, or as the evidence file of a notice or information
/// request, exchanged with the case's other party.
fn check_agreement(
    tx: &mut Tx<'_, '_>,
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
    tx: &mut Tx<'_, '_>,
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
                let found = named(tx, consent)?;
                check_consent(event, ours, consent, found)?;
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
        tx.execute(
            "INSERT INTO cases (case_id, proposal_id, state, updated) VALUES ($1, $2, $3, $4)
             ON CONFLICT (case_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            &[
                &case.id.to_string(),
                &case.proposal_id.to_string(),
                &json(case)?,
                &now,
            ],
        )?;
    }
    let index = append_log(tx, &[case_entry(event)])?;
    tx.execute(
        "INSERT INTO case_events (case_id, ours, digest, event, log_index, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &event.case_id.to_string(),
            &ours,
            &hex_digest(&event.digest()),
            &String::from_utf8_lossy(&event.canonical()).into_owned(),
            &(index as i64),
            &now,
        ],
    )?;
    Ok((index, case))
}

/// Takes in the partner's case act (already checked to come from `peer`).
pub(super) fn receive_case_in(
    tx: &mut Tx<'_, '_>,
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

impl CaseStore for PostgresStore {
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
        self.read(move |c| load_case(c, id))
    }

    fn cases(&self) -> Result<Vec<Case>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT state FROM cases ORDER BY updated DESC, case_id",
                &[],
            )?
            .iter()
            .map(|r| unjson(&r.try_get::<_, String>(0)?))
            .collect()
        })
    }

    fn case_events(&self, id: CaseId) -> Result<Vec<StoredCaseEvent>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT event, ours, log_index FROM case_events WHERE case_id = $1 ORDER BY seq",
                &[&id.to_string()],
            )?
            .iter()
            .map(|r| {
                let text: String = r.try_get(0)?;
                let event = CustodyEvent::from_canonical(text.as_bytes())
                    .map_err(|e| StoreError::Corrupt(format!("custody event: {e}")))?;
                Ok(StoredCaseEvent {
                    event,
                    ours: r.try_get(1)?,
                    log_index: r.try_get::<_, i64>(2)? as u64,
                })
            })
            .collect()
        })
    }
}
