//! The node's storage contract as an executable check, so that every
//! [`NodeStore`] implementation (SQLite now, PostgreSQL next) passes one
//! shared suite: call [`check_node_store`] on a fresh, empty store from the
//! implementation's own tests. Modelled on `soberana_ledger::conformance`.
//!
//! It checks what the node relies on: each method is one transaction that
//! happens whole or not at all; the lifecycle is enforced; an envelope id is
//! taken once; a refusal writes the refusal and its log entry only; and four
//! eyes hold inside the decision's transaction (a decision cannot pass one
//! awaiting confirmation, a confirmation commits only what is still stored,
//! and the decision, its audit line and the removal commit together); a
//! financial trail commits with the proposals that carry it, or not at all;
//! an act on an agreement commits with its audit line, or neither does; our
//! log restart (entries, checkpoint, declaration) commits whole or not at
//! all; and analysts' verdicts on alerts are appended with their audit line.
//!
//! It returns a description of the first broken rule instead of panicking,
//! so it can run in any test harness.

use std::sync::Arc;

use soberana_core::{
    AgencyId, AgreementAct, AgreementAction, AgreementSide, AgreementStatus, AgreementTerms,
    DecidedBy, Decision, Direction, HandlingCode, InformationRequest, Officer, OfficerId, Outcome,
    PartyCode, Proposal, ProposalBody, ProposalDraft, ProposalId, ProposalKind, ProposalState,
    Role, Timestamp,
};
use soberana_ledger::{LogEntry, PeerChangeKind};
use soberana_wire::{NodeKey, SealedEnvelope};

use crate::{
    AlertVerdictRecord, AuditEntry, DeliveryResult, IntakeEffect, NodeStore, OfficerAccount,
    OfficerDecision, PendingDecision, PolicyResponse, ProposalFilter, Received, RefusalRecord,
    Sealer, StoreError,
};

mod delivery;
mod restart;

use delivery::{check_receive_each, check_recorded_deliveries, check_sequence_skip};
use restart::check_log_restart;

fn ensure(ok: bool, rule: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(rule.to_owned()) }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn party(code: &str) -> Result<PartyCode, String> {
    PartyCode::new(code).map_err(text)
}

pub(crate) fn sealer(from: PartyCode) -> Sealer {
    let key = Arc::new(NodeKey::from_seed(&[7; 32]));
    Arc::new(move |to, seq, body| SealedEnvelope::seal(&key, from, to, seq, Timestamp::now(), body))
}

pub(crate) fn proposal(from: PartyCode, to: PartyCode) -> Result<Proposal, String> {
    let draft = ProposalDraft {
        to,
        requesting_agency: AgencyId::new(&format!("{from}.FGR")).map_err(text)?,
        purpose: "prosecution of a trafficking case".into(),
        legal_basis: "MLAT".into(),
        handling: HandlingCode::H2,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: vec![],
        body: ProposalBody::InformationRequest(InformationRequest {
            subject: "a named suspect".into(),
            categories: vec!["criminal_records".into()],
            questions: vec![],
            exhibits: Vec::new(),
        }),
    };
    Proposal::from_draft(draft, from, None, Timestamp::now()).map_err(text)
}

pub(crate) fn received(p: &Proposal, effect: IntakeEffect) -> Received {
    // Each envelope from a sender takes the next number, as a real sender's.
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Received {
        envelope_id: ProposalId::generate().to_string(),
        sender: p.from,
        recipient: p.to,
        sequence: SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        sealed_at: Timestamp::now().unix_millis(),
        order_tolerance_ms: 60_000,
        body_digest: [1; 32],
        digest: "ab".repeat(32),
        bytes: b"envelope".to_vec(),
        received_at: Timestamp::now(),
        effect,
    }
}

fn audit(officer: &str, action: &str) -> AuditEntry {
    AuditEntry {
        at: Timestamp::now(),
        officer: officer.into(),
        action: action.into(),
        target: String::new(),
        detail: String::new(),
    }
}

fn state(store: &dyn NodeStore, id: ProposalId) -> Result<Option<ProposalState>, String> {
    Ok(store.proposal(id).map_err(text)?.map(|d| d.record.state))
}

/// Runs the node's storage contract against `store`, which must be empty.
pub fn check_node_store(store: &dyn NodeStore) -> Result<(), String> {
    let (mx, us) = (party("MX")?, party("US")?);
    ensure(
        store.log_size().map_err(text)? == 0,
        "a new store has an empty log",
    )?;
    ensure(
        store.peers().map_err(text)?.is_empty(),
        "a new store pins no peer",
    )?;
    ensure(
        store
            .proposals(&ProposalFilter::default())
            .map_err(text)?
            .is_empty(),
        "a new store holds no proposal",
    )?;
    ensure(
        store.audit_trail(10).map_err(text)?.is_empty()
            && store.officers().map_err(text)?.is_empty(),
        "a new store has no officer and no audit line",
    )?;

    // Peers: pinned with a log entry.
    store
        .pin_peer(
            us,
            "{\"card\":\"US\"}".into(),
            LogEntry::PeerChange {
                party: "US".into(),
                key_fingerprint: [3; 32],
                change: PeerChangeKind::Added,
                time_ms: 1,
            },
        )
        .map_err(text)?;
    ensure(
        store.peers().map_err(text)? == vec![(us, "{\"card\":\"US\"}".to_owned())],
        "a pinned card is listed as pinned",
    )?;
    ensure(
        store.log_size().map_err(text)? == 1,
        "pinning a peer logs it",
    )?;

    // Our proposal: recorded, queued, logged together.
    let ours = proposal(mx, us)?;
    store
        .queue_proposal(ours.clone(), sealer(mx))
        .map_err(text)?;
    ensure(
        state(store, ours.id)? == Some(ProposalState::Queued),
        "a queued proposal of ours is queued",
    )?;
    ensure(
        store.proposal_kind(ours.id).map_err(text)? == Some(ours.kind())
            && store
                .proposal_kind(ProposalId::generate())
                .map_err(text)?
                .is_none(),
        "a stored proposal's kind is read alone, and an unknown one has none",
    )?;
    let due = store
        .due_deliveries(Timestamp::now().plus_seconds(1), 10)
        .map_err(text)?;
    ensure(
        due.len() == 1 && due.iter().all(|d| d.recipient == us),
        "a queued proposal is due for delivery to its recipient",
    )?;
    ensure(
        store.log_size().map_err(text)? == 2,
        "queuing a proposal logs its envelope",
    )?;
    for item in due {
        store
            .mark_delivered(item.envelope_id, Timestamp::now())
            .map_err(text)?;
    }
    ensure(
        store
            .due_deliveries(Timestamp::now().plus_seconds(1), 10)
            .map_err(text)?
            .is_empty(),
        "a delivered envelope is no longer due",
    )?;

    // The partner accepts our proposal; a result we learnt ourselves (a
    // match's) is recorded as its answer with all its log entries at once.
    let accepted = Decision {
        proposal_id: ours.id,
        decided_by_party: us,
        outcome: Outcome::Accepted,
        reasons: vec![],
        decided_by: DecidedBy::Policy,
        policy_digest: "00".repeat(32),
        decided_at: Timestamp::now(),
    };
    let mut from_us = ours.clone();
    from_us.from = us;
    from_us.to = mx;
    let taken = store
        .receive(
            received(&from_us, IntakeEffect::Decision(accepted)),
            sealer(mx),
        )
        .map_err(text)?;
    ensure(
        state(store, ours.id)? == Some(ProposalState::Accepted),
        "the partner's acceptance of our proposal is recorded",
    )?;
    ensure(
        taken.queued.is_empty() && taken.kind == Some(ours.kind()),
        "storing a decision says the kind of the proposal it decides",
    )?;
    let log = store.log_size().map_err(text)?;
    let entry = |time_ms| LogEntry::StandingRun {
        run_id: ours.id.to_string(),
        arrangement: "phones".into(),
        peer: "US".into(),
        side: "asker".into(),
        asked: 3,
        matched: Some(1),
        time_ms,
    };
    store
        .record_result(
            soberana_wire::Answer {
                proposal_id: ours.id,
                summary: "1 of our 3 identifiers are held by the partner".into(),
                items: vec![],
                handling: HandlingCode::H2,
                conditions: vec![],
            },
            vec![entry(1), entry(2)],
        )
        .map_err(text)?;
    ensure(
        state(store, ours.id)? == Some(ProposalState::Answered)
            && store.log_size().map_err(text)? == log + 2,
        "a match result is recorded as the answer with every one of its log entries",
    )?;

    // A partner's proposal for review waits for an officer; its envelope is
    // taken once.
    let theirs = proposal(us, mx)?;
    let effect = || IntakeEffect::Proposal {
        proposal: Box::new(theirs.clone()),
        response: Box::new(PolicyResponse::Review),
        verdict: "{}".into(),
    };
    let envelope = received(&theirs, effect());
    store.receive(envelope.clone(), sealer(mx)).map_err(text)?;
    ensure(
        state(store, theirs.id)? == Some(ProposalState::AwaitingOfficer),
        "a proposal for review awaits an officer",
    )?;
    let log = store.log_size().map_err(text)?;
    ensure(
        matches!(
            store.receive(envelope, sealer(mx)),
            Err(StoreError::Duplicate(_))
        ),
        "an envelope id seen before is refused as a duplicate",
    )?;
    ensure(
        store.log_size().map_err(text)? == log,
        "a duplicate writes nothing",
    )?;
    let incoming = store
        .proposals(&ProposalFilter {
            direction: Some(Direction::Incoming),
            states: vec![ProposalState::AwaitingOfficer],
            ..ProposalFilter::default()
        })
        .map_err(text)?;
    let of_kind = |kind: soberana_core::ProposalKind| {
        store
            .proposals(&ProposalFilter {
                direction: Some(Direction::Incoming),
                kinds: vec![kind],
                ..ProposalFilter::default()
            })
            .map(|found| found.len())
            .map_err(text)
    };
    let kind = incoming
        .first()
        .map(|r| r.proposal.kind())
        .ok_or("the inbox lists nothing")?;
    let other = soberana_core::ProposalKind::ALL
        .into_iter()
        .find(|k| *k != kind)
        .ok_or("only one kind of proposal")?;
    ensure(
        of_kind(kind)? == 1 && of_kind(other)? == 0,
        "a listing by kind holds the proposals of that kind and no other",
    )?;
    ensure(
        incoming.len() == 1,
        "the inbox lists the proposal awaiting an officer once",
    )?;

    // A refusal writes itself and its log entry, nothing else.
    store
        .record_refusal(RefusalRecord {
            at: Timestamp::now(),
            claimed_sender: "US".into(),
            digest: "cd".repeat(32),
            size: 9,
            reason: "bad signature".into(),
        })
        .map_err(text)?;
    ensure(
        store.refusals(10).map_err(text)?.len() == 1,
        "a refusal is recorded",
    )?;
    ensure(
        store.log_size().map_err(text)? == log + 1,
        "a refusal is logged",
    )?;
    // A batch's refusals are recorded together, each as if alone.
    let refused = |reason: &str| RefusalRecord {
        at: Timestamp::now(),
        claimed_sender: "US".into(),
        digest: "ce".repeat(32),
        size: 7,
        reason: reason.into(),
    };
    store.record_refusals(vec![]).map_err(text)?;
    store
        .record_refusals(vec![refused("duplicate"), refused("wrong recipient")])
        .map_err(text)?;
    let reasons: Vec<String> = store
        .refusals(10)
        .map_err(text)?
        .into_iter()
        .map(|r| r.reason)
        .collect();
    ensure(
        reasons == ["wrong recipient", "duplicate", "bad signature"],
        &format!("refusals recorded together are each kept, newest first: {reasons:?}"),
    )?;
    ensure(
        store.log_size().map_err(text)? == log + 3,
        "refusals recorded together are each logged",
    )?;

    // Officers.
    let ana = OfficerId::new("ana").map_err(text)?;
    store
        .put_officer(
            OfficerAccount {
                officer: Officer {
                    id: ana.clone(),
                    name: "Ana".into(),
                    agency: AgencyId::new("MX.UIF").map_err(text)?,
                    roles: vec![Role::Approver],
                },
                password_hash: "$argon2id$none".into(),
                language: "es".into(),
                utc_offset_minutes: -360,
                time_zone: String::new(),
                failures: 0,
                locked_until: None,
            },
            audit("operator", "officer_added"),
        )
        .map_err(text)?;
    ensure(
        store
            .officer(&ana)
            .map_err(text)?
            .is_some_and(|a| a.officer.has_role(Role::Approver)),
        "a registered officer is found with their roles",
    )?;

    // Four eyes inside the decision's transaction.
    let log = store.log_size().map_err(text)?;
    let pending = |body: &str| PendingDecision {
        proposal_id: theirs.id,
        officer: ana.clone(),
        at: Timestamp::now(),
        body: body.into(),
    };
    let decision = |confirms: Option<PendingDecision>| OfficerDecision {
        decision: Decision {
            proposal_id: theirs.id,
            decided_by_party: mx,
            outcome: Outcome::Refused,
            reasons: vec![],
            decided_by: DecidedBy::Policy,
            policy_digest: "00".repeat(32),
            decided_at: Timestamp::now(),
        },
        answer: None,
        confirms,
        audit: Some(audit("beto", "decision_confirmed")),
    };
    store
        .put_pending(pending("first"), audit("ana", "decision_pending"))
        .map_err(text)?;
    ensure(
        matches!(
            store.put_pending(pending("second"), audit("ana", "decision_pending")),
            Err(StoreError::Conflict(_))
        ),
        "a second decision awaiting confirmation is a conflict",
    )?;
    ensure(
        matches!(
            store.decide(decision(None), sealer(mx)),
            Err(StoreError::Conflict(_))
        ),
        "no decision passes one awaiting confirmation",
    )?;
    ensure(
        matches!(
            store.decide(decision(Some(pending("stale"))), sealer(mx)),
            Err(StoreError::Conflict(_))
        ),
        "a confirmation commits only the decision still stored",
    )?;
    ensure(
        state(store, theirs.id)? == Some(ProposalState::AwaitingOfficer)
            && store.log_size().map_err(text)? == log,
        "a refused decision writes nothing",
    )?;
    let trail = store.audit_trail(10).map_err(text)?.len();
    let stored = store
        .pending(theirs.id)
        .map_err(text)?
        .ok_or("a decision awaiting confirmation is kept")?;
    store
        .decide(decision(Some(stored)), sealer(mx))
        .map_err(text)?;
    ensure(
        store.pending(theirs.id).map_err(text)?.is_none(),
        "a confirmed decision no longer awaits confirmation",
    )?;
    ensure(
        store.audit_trail(10).map_err(text)?.len() == trail + 1,
        "a decision's audit line commits with it",
    )?;
    ensure(
        matches!(
            store.clear_pending(theirs.id, audit("carla", "decision_withdrawn")),
            Err(StoreError::Conflict(_))
        ) && store.audit_trail(10).map_err(text)?.len() == trail + 1,
        "withdrawing what was confirmed meanwhile is refused and not audited",
    )?;
    ensure(
        state(store, theirs.id)? == Some(ProposalState::Refused),
        "a decision moves the proposal",
    )?;
    ensure(
        store.log_size().map_err(text)? > log,
        "a decision is logged",
    )?;
    ensure(
        matches!(
            store.decide(decision(None), sealer(mx)),
            Err(StoreError::Transition(_))
        ),
        "a decided proposal cannot be decided again",
    )?;
    ensure(
        matches!(
            store.put_pending(pending("late"), audit("ana", "decision_pending")),
            Err(StoreError::Conflict(_))
        ),
        "a decided proposal takes no decision to confirm",
    )?;

    // A pin and its announcements: one transaction.
    let log = store.log_size().map_err(text)?;
    let notices = vec![proposal(mx, us)?, proposal(mx, us)?];
    let sent = store
        .log_and_propose(
            vec![LogEntry::PolicyPin {
                layer: "constitutional".into(),
                digest: [5; 32],
                time_ms: 2,
            }],
            notices.clone(),
            Some(audit("cli:operator", "policy_pin")),
            sealer(mx),
        )
        .map_err(text)?;
    ensure(sent.len() == 2, "every announcement is sealed and queued")?;
    ensure(
        store.log_size().map_err(text)? == log + 3,
        "the pin and each announcement are logged",
    )?;
    for notice in &notices {
        ensure(
            state(store, notice.id)? == Some(ProposalState::Queued),
            "each announcement is recorded as queued",
        )?;
    }
    ensure(
        store
            .audit_trail(1)
            .map_err(text)?
            .first()
            .is_some_and(|e| e.action == "policy_pin"),
        "the audit trail is newest first and holds the pin",
    )?;
    check_recorded_deliveries(store, mx)?;
    check_trails(store, mx, us)?;
    check_agreement(store, mx, us)?;
    check_sequence_skip(store, mx)?;
    check_receive_each(store, mx, us)?;
    check_alert_verdicts(store)?;
    // Last: its final case leaves a checkpoint past the log's end.
    check_log_restart(store, mx)
}

/// A trail and the proposals that carry it commit together, or not at all.
fn check_trails(store: &dyn NodeStore, mx: PartyCode, us: PartyCode) -> Result<(), String> {
    let log = store.log_size().map_err(text)?;
    let legs = vec![proposal(mx, us)?, proposal(mx, us)?];
    let sent = store
        .propose_trail(legs.clone(), "{\"trail\":1}".into(), sealer(mx))
        .map_err(text)?;
    ensure(sent.len() == 2, "every proposal of a trail is queued")?;
    ensure(
        store.log_size().map_err(text)? == log + 2,
        "every proposal of a trail is logged",
    )?;
    for leg in &legs {
        ensure(
            state(store, leg.id)? == Some(ProposalState::Queued)
                && store.trail(leg.id).map_err(text)?.as_deref() == Some("{\"trail\":1}"),
            "each proposal of a trail is recorded and finds its trail",
        )?;
    }
    // A trail whose second proposal cannot be recorded leaves nothing: not
    // the first proposal, not the trail, not a log entry.
    let fresh = proposal(mx, us)?;
    let taken = legs.first().cloned().ok_or("no leg")?;
    let log = store.log_size().map_err(text)?;
    ensure(
        matches!(
            store.propose_trail(
                vec![fresh.clone(), taken],
                "{\"trail\":2}".into(),
                sealer(mx)
            ),
            Err(StoreError::ProposalExists(_))
        ),
        "a trail naming a proposal that exists is refused",
    )?;
    ensure(
        state(store, fresh.id)?.is_none()
            && store.trail(fresh.id).map_err(text)?.is_none()
            && store.log_size().map_err(text)? == log,
        "a refused trail writes neither its proposals, nor itself, nor log entries",
    )?;
    ensure(
        store.trail(ProposalId::generate()).map_err(text)?.is_none(),
        "a proposal without a trail has none",
    )
}

/// The bilateral agreement: a refused act writes nothing; an act, its
/// envelope and its log entry commit together; the partner's act is
/// acknowledged; a suspension holds new proposals in the outbox while the
/// act itself goes; and a partner that answers again ends the backoff.
fn check_agreement(store: &dyn NodeStore, mx: PartyCode, us: PartyCode) -> Result<(), String> {
    let act = |version: u64, action: AgreementAction| AgreementAct {
        version,
        action,
        reason: String::new(),
        at: Timestamp::now(),
    };
    ensure(
        store.agreement(us).map_err(text)?.is_none(),
        "no agreement before any act",
    )?;
    let log = store.log_size().map_err(text)?;
    let audited = |s: &dyn NodeStore| s.audit_trail(100_000).map(|t| t.len()).map_err(text);
    let lines = audited(store)?;
    ensure(
        matches!(
            store.act_on_agreement(
                mx,
                us,
                act(0, AgreementAction::Suspend),
                Some(audit("ana", "standing_suspend")),
                sealer(mx)
            ),
            Err(StoreError::Agreement(_))
        ),
        "an act that does not fit the agreement is refused",
    )?;
    ensure(
        store.log_size().map_err(text)? == log
            && store.agreement(us).map_err(text)?.is_none()
            && store.agreement_acts(us).map_err(text)?.is_empty()
            && audited(store)? == lines,
        "a refused act writes nothing, not even its audit line",
    )?;
    let side = |party: PartyCode| AgreementSide {
        party,
        accepts: vec![ProposalKind::InformationRequest],
        answer_hours: Default::default(),
    };
    let terms = AgreementTerms {
        sides: vec![side(mx), side(us)],
        default_handling: HandlingCode::H1,
    };
    ensure(
        matches!(
            store.act_on_agreement(
                mx,
                us,
                act(
                    1,
                    AgreementAction::Propose {
                        terms: terms.clone()
                    }
                ),
                Some(audit("ana", " ")),
                sealer(mx)
            ),
            Err(StoreError::Conflict(_))
        ),
        "an audit line that says nothing is refused",
    )?;
    ensure(
        store.log_size().map_err(text)? == log
            && store.agreement(us).map_err(text)?.is_none()
            && store.agreement_acts(us).map_err(text)?.is_empty()
            && store
                .due_deliveries(Timestamp::now(), 10_000)
                .map_err(text)?
                .iter()
                .all(|d| d.proposal_id != "agreement:US")
            && audited(store)? == lines,
        "an act whose audit line is refused is not recorded, logged or queued",
    )?;
    store
        .act_on_agreement(
            mx,
            us,
            act(1, AgreementAction::Propose { terms }),
            Some(audit("ana", "agreement_propose")),
            sealer(mx),
        )
        .map_err(text)?;
    ensure(
        store.log_size().map_err(text)? == log + 1,
        "an act's envelope is logged with it",
    )?;
    ensure(
        audited(store)? == lines + 1
            && store
                .audit_trail(1)
                .map_err(text)?
                .first()
                .map(|e| e.action.as_str())
                == Some("agreement_propose"),
        "an act's audit line is written with it",
    )?;
    let replies = store
        .receive(
            received(
                &proposal(us, mx)?,
                IntakeEffect::Agreement(act(1, AgreementAction::Accept)),
            ),
            sealer(mx),
        )
        .map_err(text)?;
    ensure(
        replies.queued.len() == 1,
        "the partner's act is acknowledged",
    )?;
    ensure(
        store
            .agreement(us)
            .map_err(text)?
            .is_some_and(|a| a.status == AgreementStatus::Active && a.version == 1),
        "accepted terms are in force",
    )?;
    ensure(
        store.agreement_acts(us).map_err(text)?.len() == 3,
        "the proposal, the acceptance and our acknowledgement are recorded",
    )?;
    let held = proposal(mx, us)?;
    store
        .queue_proposal(held.clone(), sealer(mx))
        .map_err(text)?;
    store
        .act_on_agreement(mx, us, act(1, AgreementAction::Suspend), None, sealer(mx))
        .map_err(text)?;
    let later = Timestamp::now().plus_seconds(10);
    let due = store.due_deliveries(later, 10_000).map_err(text)?;
    ensure(
        !due.iter().any(|d| d.proposal_id == held.id.to_string()),
        "a suspended agreement holds new proposals in the outbox",
    )?;
    let Some(suspension) = due.iter().find(|d| d.proposal_id == "agreement:US") else {
        return Err("acts on the agreement still go while it is suspended".into());
    };
    store
        .mark_failed(
            suspension.envelope_id.clone(),
            "partner down".into(),
            Timestamp::now().plus_seconds(600),
        )
        .map_err(text)?;
    ensure(
        store.retry_now(us, Timestamp::now()).map_err(text)? >= 1,
        "a partner that answers again ends the backoff of what waits for it",
    )?;
    ensure(
        store
            .due_deliveries(later, 10_000)
            .map_err(text)?
            .iter()
            .any(|d| d.envelope_id == suspension.envelope_id),
        "what waited out a backoff is due again",
    )?;
    ensure(
        store.card_updates_waiting().map_err(text)? == 0
            && store.previous_keys(None).map_err(text)?.is_empty(),
        "no key was rotated",
    )?;
    Ok(())
}

/// Analysts' verdicts on alerts: appended with their audit line, read
/// oldest first, a reconsidered verdict kept beside the first.
fn check_alert_verdicts(store: &dyn NodeStore) -> Result<(), String> {
    ensure(
        store.alert_verdicts().map_err(text)?.is_empty(),
        "a new store holds no verdict on an alert",
    )?;
    let verdict = |confirmed: bool, at: i64| AlertVerdictRecord {
        incident: "inc-00000000000000ab".into(),
        confirmed,
        reason: "paid in at three branches".into(),
        officer: "ana".into(),
        at: Timestamp::from_unix_millis(at),
    };
    store
        .put_alert_verdict(verdict(false, 10), audit("ana", "alert_verdict"))
        .map_err(text)?;
    store
        .put_alert_verdict(verdict(true, 20), audit("ana", "alert_verdict"))
        .map_err(text)?;
    ensure(
        store.alert_verdicts().map_err(text)? == vec![verdict(false, 10), verdict(true, 20)],
        "verdicts on alerts are kept whole, oldest first",
    )?;
    ensure(
        store
            .audit_trail(2)
            .map_err(text)?
            .iter()
            .all(|e| e.action == "alert_verdict"),
        "each verdict on an alert writes its audit line",
    )?;
    Ok(())
}
