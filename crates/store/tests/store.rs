//! The SQLite store: lifecycle enforcement, duplicates, durability across
//! reopening, concurrent group commit, and a log whose stored subtrees agree
//! with a tree recomputed from its leaves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use soberana_core::{
    DecidedBy, Decision, Direction, HandlingCode, InformationRequest, Outcome, PartyCode, Proposal,
    ProposalBody, ProposalDraft, ProposalState, Timestamp,
};
use soberana_ledger::{LogEntry, TreeBuilder, hash_leaf, root_from_nodes};
use soberana_store::{
    IntakeEffect, NodeStore, PolicyResponse, ProposalFilter, Received, Sealer, SqliteStore,
    StoreError,
};
use soberana_wire::{NodeKey, SealedEnvelope};

fn mx() -> PartyCode {
    PartyCode::new("MX").unwrap()
}
fn us() -> PartyCode {
    PartyCode::new("US").unwrap()
}

fn sealer(from: PartyCode) -> Sealer {
    let key = Arc::new(NodeKey::from_seed(&[9; 32]));
    Arc::new(move |to, seq, body| SealedEnvelope::seal(&key, from, to, seq, Timestamp::now(), body))
}

fn proposal(from: PartyCode, to: PartyCode) -> Proposal {
    let agency = format!("{from}.FGR");
    let draft = ProposalDraft {
        to,
        requesting_agency: soberana_core::AgencyId::new(&agency).unwrap(),
        purpose: "prosecution".into(),
        legal_basis: "MLAT".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: vec![],
        body: ProposalBody::InformationRequest(InformationRequest {
            subject: "someone".into(),
            categories: vec!["criminal_records".into()],
            questions: vec![],
            exhibits: Vec::new(),
        }),
    };
    Proposal::from_draft(draft, from, None, Timestamp::now()).unwrap()
}

fn received(p: &Proposal, effect: IntakeEffect) -> Received {
    Received {
        envelope_id: uuid_like(),
        sender: p.from,
        recipient: p.to,
        sequence: next_sequence(),
        sealed_at: 0,
        body_digest: [1; 32],
        digest: "ab".repeat(32),
        bytes: b"envelope".to_vec(),
        received_at: Timestamp::now(),
        effect,
        order_tolerance_ms: 0,
    }
}

/// A sender numbers its envelopes one by one; so do these.
fn next_sequence() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn uuid_like() -> String {
    soberana_core::ProposalId::generate().to_string()
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.sqlite")).unwrap();
    (dir, store)
}

#[test]
fn an_incoming_proposal_for_review_waits_for_an_officer() {
    let (_dir, store) = store();
    let p = proposal(us(), mx());
    let effect = IntakeEffect::Proposal {
        proposal: Box::new(p.clone()),
        response: Box::new(PolicyResponse::Review),
        verdict: "{}".into(),
    };
    let sent = store.receive(received(&p, effect), sealer(mx())).unwrap();
    assert!(sent.queued.is_empty());
    assert_eq!(
        sent.kind,
        Some(p.kind()),
        "the stored proposal's kind is said"
    );
    let waiting = store
        .proposals(&ProposalFilter {
            direction: Some(Direction::Incoming),
            states: vec![ProposalState::AwaitingOfficer],
            ..ProposalFilter::default()
        })
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id(), p.id);
}

#[test]
fn the_same_envelope_twice_has_the_effect_of_once() {
    let (_dir, store) = store();
    let p = proposal(us(), mx());
    let effect = IntakeEffect::Proposal {
        proposal: Box::new(p.clone()),
        response: Box::new(PolicyResponse::Review),
        verdict: "{}".into(),
    };
    let r = received(&p, effect);
    store.receive(r.clone(), sealer(mx())).unwrap();
    let log_after_first = store.log_size().unwrap();
    let err = store.receive(r, sealer(mx())).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    assert_eq!(store.count("proposals").unwrap(), 1);
    assert_eq!(store.count("inbox").unwrap(), 1);
    assert_eq!(store.log_size().unwrap(), log_after_first);
}

#[test]
fn a_decision_on_a_proposal_never_sent_is_refused_and_writes_nothing() {
    let (_dir, store) = store();
    let p = proposal(mx(), us());
    let decision = Decision {
        proposal_id: p.id,
        decided_by_party: us(),
        outcome: Outcome::Accepted,
        reasons: vec![],
        decided_by: DecidedBy::Policy,
        policy_digest: "00".repeat(32),
        decided_at: Timestamp::now(),
    };
    let mut r = received(&p, IntakeEffect::Decision(decision));
    r.sender = us();
    let err = store.receive(r, sealer(mx())).unwrap_err();
    assert!(matches!(err, StoreError::NoSuchProposal(_)), "{err}");
    assert_eq!(store.count("inbox").unwrap(), 0);
    assert_eq!(store.log_size().unwrap(), 0);
}

#[test]
fn a_decided_proposal_cannot_be_decided_again() {
    let (_dir, store) = store();
    let p = proposal(us(), mx());
    let decision = Decision {
        proposal_id: p.id,
        decided_by_party: mx(),
        outcome: Outcome::Refused,
        reasons: vec![],
        decided_by: DecidedBy::Policy,
        policy_digest: "00".repeat(32),
        decided_at: Timestamp::now(),
    };
    let effect = IntakeEffect::Proposal {
        proposal: Box::new(p.clone()),
        response: Box::new(PolicyResponse::Decided {
            decision: decision.clone(),
            answer: None,
        }),
        verdict: "{}".into(),
    };
    let sent = store.receive(received(&p, effect), sealer(mx())).unwrap();
    assert_eq!(
        sent.queued.len(),
        1,
        "the refusal goes back to the proposer"
    );
    let err = store
        .decide(
            soberana_store::OfficerDecision {
                decision: Decision {
                    outcome: Outcome::Accepted,
                    ..decision
                },
                answer: None,
                confirms: None,
                audit: None,
            },
            sealer(mx()),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Transition(_)), "{err}");
    let detail = store.proposal(p.id).unwrap().unwrap();
    assert_eq!(detail.record.state, ProposalState::Refused);
    assert_eq!(detail.decision.unwrap().outcome, Outcome::Refused);
}

#[test]
fn what_was_committed_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.sqlite");
    let p = proposal(mx(), us());
    {
        let store = SqliteStore::open(&path).unwrap();
        store.queue_proposal(p.clone(), sealer(mx())).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let due = store.due_deliveries(Timestamp::now(), 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].recipient, us());
    assert_eq!(
        store.proposal(p.id).unwrap().unwrap().record.state,
        ProposalState::Queued
    );
    store
        .mark_delivered(due[0].envelope_id.clone(), Timestamp::now())
        .unwrap();
    assert!(
        store
            .due_deliveries(Timestamp::now(), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.proposal(p.id).unwrap().unwrap().record.state,
        ProposalState::Delivered
    );
}

#[test]
fn concurrent_writers_are_committed_together_and_all_land() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    store
                        .queue_proposal(proposal(mx(), us()), sealer(mx()))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.count("proposals").unwrap(), 200);
    assert_eq!(store.count("outbox").unwrap(), 200);
    // Sequence numbers per recipient are unique and gapless.
    let due = store.due_deliveries(Timestamp::now(), 1000).unwrap();
    assert_eq!(due.len(), 200);
}

#[test]
fn stored_subtrees_agree_with_a_tree_recomputed_from_the_leaves() {
    let (_dir, store) = store();
    for n in 0..77u64 {
        store
            .append_log(vec![LogEntry::PolicyPin {
                layer: "operational".into(),
                digest: [n as u8; 32],
                time_ms: n,
            }])
            .unwrap();
        let size = store.log_size().unwrap();
        assert_eq!(size, n + 1);
        let leaves = store.log_leaves(0, size).unwrap();
        let mut tree = TreeBuilder::new();
        for leaf in &leaves {
            assert_eq!(hash_leaf(&leaf.entry), leaf.hash);
            tree.push(leaf.hash);
        }
        let from_nodes = root_from_nodes(size, |id| store.log_node(id)).unwrap();
        assert_eq!(from_nodes, tree.root(), "size {size}");
    }
}

#[test]
fn the_store_keeps_the_ledger_storage_contract() {
    let (_dir, store) = store();
    soberana_ledger::conformance::check_storage_contract(&mut soberana_store::LedgerView(&store))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Four eyes inside the decision's transaction: whatever a confirming
/// approver read before, the decision commits only if exactly that pending
/// decision is still stored, and no other decision commits while one is.
#[test]
fn a_confirmation_racing_a_withdrawal_or_a_replacement_decides_nothing() {
    use soberana_store::{AuditEntry, OfficerDecision, OfficerStore, PendingDecision};
    let (_dir, store) = store();
    let p = proposal(us(), mx());
    let effect = IntakeEffect::Proposal {
        proposal: Box::new(p.clone()),
        response: Box::new(PolicyResponse::Review),
        verdict: "{}".into(),
    };
    store.receive(received(&p, effect), sealer(mx())).unwrap();
    let line = |action: &str| AuditEntry {
        at: Timestamp::now(),
        officer: "beto".into(),
        action: action.into(),
        target: p.id.to_string(),
        detail: String::new(),
    };
    let pending = |body: &str| PendingDecision {
        proposal_id: p.id,
        officer: soberana_core::OfficerId::new("ana").unwrap(),
        at: Timestamp::now(),
        body: body.into(),
    };
    let decision = |confirms: Option<PendingDecision>| OfficerDecision {
        decision: Decision {
            proposal_id: p.id,
            decided_by_party: mx(),
            outcome: Outcome::Accepted,
            reasons: vec![],
            decided_by: DecidedBy::Policy,
            policy_digest: "00".repeat(32),
            decided_at: Timestamp::now(),
        },
        answer: None,
        confirms,
        audit: Some(line("decision_confirmed")),
    };
    let before = store.log_size().unwrap();
    // Confirming what was withdrawn meanwhile.
    let read = pending("{\"first\":1}");
    let err = store
        .decide(decision(Some(read.clone())), sealer(mx()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Confirming what was replaced meanwhile by the same officer.
    store
        .put_pending(pending("{\"second\":2}"), line("decision_pending"))
        .unwrap();
    let err = store
        .decide(decision(Some(read)), sealer(mx()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Deciding past a pending decision.
    let err = store.decide(decision(None), sealer(mx())).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let detail = store.proposal(p.id).unwrap().unwrap();
    assert_eq!(detail.record.state, ProposalState::AwaitingOfficer);
    assert_eq!(store.log_size().unwrap(), before, "nothing was logged");
    assert_eq!(store.audit_trail(10).unwrap().len(), 1, "only the pending");
    // Confirming what is stored decides, clears it and audits, at once.
    let stored = store.pending(p.id).unwrap().unwrap();
    store.decide(decision(Some(stored)), sealer(mx())).unwrap();
    assert_eq!(store.pending(p.id).unwrap(), None);
    assert_eq!(store.audit_trail(10).unwrap().len(), 2);
    assert_ne!(
        store.proposal(p.id).unwrap().unwrap().record.state,
        ProposalState::AwaitingOfficer
    );
    // A decided proposal takes no decision to confirm.
    let err = store
        .put_pending(pending("{}"), line("decision_pending"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
}

#[test]
fn the_sqlite_store_keeps_the_node_storage_contract() {
    let (_dir, store) = store();
    soberana_store::conformance::check_node_store(&store).unwrap_or_else(|rule| panic!("{rule}"));
}
