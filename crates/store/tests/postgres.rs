//! The PostgreSQL store: the same node and ledger storage contracts as the
//! SQLite store, group commit under concurrent callers, several stores
//! (as several node processes would) sharing one database, and key
//! rotation and joint investigations leaving the same as on SQLite.
//!
//! The database comes from `SOBERANA_TEST_POSTGRES` (a `postgres://` URL);
//! each test works in a fresh schema of its own, so tests run in parallel.
//! Without the variable every test fails and says how to start a server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use soberana_core::{
    AgencyId, HandlingCode, InformationRequest, PartyCode, Proposal, ProposalBody, ProposalDraft,
    Timestamp,
};
use soberana_ledger::{TreeBuilder, root_from_nodes};
use soberana_store::{LedgerView, NodeStore, PostgresStore, Sealer};
use soberana_wire::{NodeKey, SealedEnvelope};

const HOW: &str = "SOBERANA_TEST_POSTGRES is not set: the PostgreSQL store's tests need a server. \
As root on Debian: `scripts/test` installs and starts one; by hand: \
`apt-get install -y postgresql && pg_ctlcluster 15 main start && \
su postgres -c \"psql -c \\\"CREATE ROLE soberana LOGIN PASSWORD 'soberana' SUPERUSER\\\"\" && \
su postgres -c 'createdb -O soberana soberana'`, then \
`export SOBERANA_TEST_POSTGRES=postgres://soberana:soberana@localhost/soberana`";

/// The test database's URL; fails the test with the way to get one.
fn database() -> String {
    match std::env::var("SOBERANA_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("{HOW}"),
    }
}

/// A schema no other test uses.
fn fresh_schema() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store in its own schema, dropped with the schema at the end.
struct Fresh {
    store: Option<PostgresStore>,
    url: String,
    schema: String,
}

impl Fresh {
    fn new() -> Self {
        let url = database();
        let schema = fresh_schema();
        let store = PostgresStore::open_in_schema(&url, &schema)
            .unwrap_or_else(|e| panic!("cannot open a store in {url}: {e}\n{HOW}"));
        Self {
            store: Some(store),
            url,
            schema,
        }
    }

    fn store(&self) -> &PostgresStore {
        self.store.as_ref().unwrap()
    }

    /// Another store on the same schema, as a second node process would
    /// open it.
    fn another(&self) -> PostgresStore {
        PostgresStore::open_in_schema(&self.url, &self.schema).unwrap()
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            store.close();
        }
        if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema));
        }
    }
}

fn party(code: &str) -> PartyCode {
    PartyCode::new(code).unwrap()
}

fn sealer(from: PartyCode) -> Sealer {
    let key = Arc::new(NodeKey::from_seed(&[9; 32]));
    Arc::new(move |to, seq, body| SealedEnvelope::seal(&key, from, to, seq, Timestamp::now(), body))
}

fn proposal(from: PartyCode, to: PartyCode) -> Proposal {
    let draft = ProposalDraft {
        to,
        requesting_agency: AgencyId::new(&format!("{from}.FGR")).unwrap(),
        purpose: "prosecution".into(),
        legal_basis: "MLAT".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: vec![],
        body: ProposalBody::InformationRequest(InformationRequest {
            subject: "a named suspect".into(),
            categories: vec!["criminal_records".into()],
            questions: vec![],
            exhibits: Vec::new(),
        }),
    };
    Proposal::from_draft(draft, from, None, Timestamp::now()).unwrap()
}

#[test]
fn the_postgres_store_keeps_the_node_storage_contract() {
    let fresh = Fresh::new();
    soberana_store::conformance::check_node_store(fresh.store())
        .unwrap_or_else(|rule| panic!("{rule}"));
}

#[test]
fn the_postgres_store_keeps_the_ledger_storage_contract() {
    let fresh = Fresh::new();
    soberana_ledger::conformance::check_storage_contract(&mut LedgerView(fresh.store()))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Many callers at once: every change commits, each envelope takes its own
/// sequence number, and the stored subtrees agree with the leaves.
#[test]
fn concurrent_callers_share_commits_and_keep_the_log_whole() {
    let fresh = Fresh::new();
    let store = Arc::new(fresh.another());
    let (mx, us) = (party("MX"), party("US"));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    store.queue_proposal(proposal(mx, us), sealer(mx)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let size = store.log_size().unwrap();
    assert_eq!(size, 200, "one log entry per queued proposal");
    let due = store
        .due_deliveries(Timestamp::from_unix_millis(i64::MAX), 1000)
        .unwrap();
    assert_eq!(due.len(), 200);
    let leaves = store.log_leaves(0, size).unwrap();
    let mut tree = TreeBuilder::new();
    for leaf in &leaves {
        tree.push(leaf.hash);
    }
    let from_nodes = root_from_nodes(size, |id| store.log_node(id)).unwrap();
    assert_eq!(from_nodes, tree.root());
    let latency = store.commit_latency();
    assert!(latency.count >= 200, "every change was timed: {latency:?}");
}

/// Two processes on one database: each envelope is claimed by one of them
/// only, each keeps seeing what it claimed, and what one delivered the
/// other never gets.
#[test]
fn two_stores_on_one_database_never_claim_the_same_envelope() {
    let fresh = Fresh::new();
    let (first, second) = (fresh.store(), fresh.another());
    let (mx, us) = (party("MX"), party("US"));
    for _ in 0..40 {
        // Half queued through each process: one log, one numbering.
        first.queue_proposal(proposal(mx, us), sealer(mx)).unwrap();
        second.queue_proposal(proposal(mx, us), sealer(mx)).unwrap();
    }
    assert_eq!(first.log_size().unwrap(), 80);
    let later = Timestamp::now().plus_seconds(1);
    let a = first.due_deliveries(later, 30).unwrap();
    let b = second.due_deliveries(later, 1000).unwrap();
    assert_eq!((a.len(), b.len()), (30, 50));
    let ids_a: HashSet<_> = a.iter().map(|d| d.envelope_id.clone()).collect();
    let ids_b: HashSet<_> = b.iter().map(|d| d.envelope_id.clone()).collect();
    assert!(ids_a.is_disjoint(&ids_b), "an envelope was claimed twice");
    // A process still sees what it claimed (its own in-flight bookkeeping
    // decides), and the other still does not.
    assert_eq!(first.due_deliveries(later, 1000).unwrap().len(), 30);
    assert!(second.due_deliveries(later, 1000).unwrap().len() == 50);
    for item in &a {
        first
            .mark_delivered(item.envelope_id.clone(), Timestamp::now())
            .unwrap();
    }
    assert!(first.due_deliveries(later, 1000).unwrap().is_empty());
    // A failed attempt is released: whoever looks next may take it.
    let retry = b.first().unwrap().envelope_id.clone();
    second
        .mark_failed(retry.clone(), "partner unreachable".into(), later)
        .unwrap();
    let taken = first.due_deliveries(later, 1000).unwrap();
    assert_eq!(
        taken.iter().map(|d| &d.envelope_id).collect::<Vec<_>>(),
        vec![&retry]
    );
    // Sequence numbers to the partner are unique across both processes.
    let mut numbers = HashSet::new();
    for item in a.iter().chain(&b) {
        let env = soberana_wire::UnverifiedEnvelope::parse(&item.bytes, usize::MAX).unwrap();
        assert!(numbers.insert(env.unverified_header().sequence));
    }
}

#[test]
fn a_store_url_that_is_not_postgres_is_refused_with_its_reason() {
    let Err(err) = PostgresStore::open("postgres://nobody@/db?port=notaport") else {
        panic!("a malformed URL opened a store");
    };
    assert!(err.to_string().contains("not a PostgreSQL URL"), "{err}");
    let Err(err) = PostgresStore::open_in_schema(&database(), "bad\"name") else {
        panic!("a malformed schema name was used");
    };
    assert!(err.to_string().contains("not a schema name"), "{err}");
}

/// A process that claimed envelopes and died (its lease ran out) does not
/// hold them for ever: another process takes them over.
#[test]
fn envelopes_claimed_by_a_process_whose_lease_ran_out_are_taken_over() {
    let fresh = Fresh::new();
    let (first, second) = (fresh.store(), fresh.another());
    let (mx, us) = (party("MX"), party("US"));
    for _ in 0..3 {
        first.queue_proposal(proposal(mx, us), sealer(mx)).unwrap();
    }
    let later = Timestamp::now().plus_seconds(1);
    assert_eq!(first.due_deliveries(later, 10).unwrap().len(), 3);
    assert!(second.due_deliveries(later, 10).unwrap().is_empty());
    // The first process is gone and its lease has run out.
    let mut client = postgres::Client::connect(&fresh.url, postgres::NoTls).unwrap();
    let expired = client
        .execute(
            &format!(
                "UPDATE \"{}\".outbox SET claimed_until = 0 WHERE claimed_by IS NOT NULL",
                fresh.schema
            ),
            &[],
        )
        .unwrap();
    assert_eq!(expired, 3);
    assert_eq!(second.due_deliveries(later, 10).unwrap().len(), 3);
    assert!(first.due_deliveries(later, 10).unwrap().is_empty());
}

/// A card for `party` signed by the key seeded with `seed`.
fn signed_card(party_code: PartyCode, seed: u8) -> soberana_wire::SignedCard {
    let key = NodeKey::from_seed(&[seed; 32]);
    let card = soberana_wire::PartyCard {
        version: soberana_wire::CARD_VERSION,
        party: party_code,
        name: format!("{party_code} node"),
        endpoint: "https://node.example:8443".into(),
        signing_key: key.public(),
        tls_cert_sha256: soberana_wire::Digest::of(&[seed]),
        tls_cert_pem: "-----BEGIN CERTIFICATE-----".into(),
        log_origin: format!("soberana.{party_code}/log"),
        issued: Timestamp::now(),
    };
    soberana_wire::SignedCard::sign(card, &key).unwrap()
}

fn peer_change(party_code: PartyCode) -> soberana_ledger::LogEntry {
    soberana_ledger::LogEntry::PeerChange {
        party: party_code.to_string(),
        key_fingerprint: [3; 32],
        change: soberana_ledger::PeerChangeKind::Added,
        time_ms: 1,
    }
}

/// Our key rotation and a partner's, on `store`: what each step leaves.
fn rotate_keys(store: &dyn NodeStore) -> Vec<String> {
    let (mx, us) = (party("MX"), party("US"));
    let mut seen = Vec::new();
    store
        .pin_peer(us, signed_card(us, 1).to_text(), peer_change(us))
        .unwrap();
    let now = Timestamp::now();
    let ours = soberana_store::PreviousKey {
        party: mx,
        card: signed_card(mx, 2).to_text(),
        retired_at: now,
        accepted_until: now.plus_seconds(86_400),
    };
    let update = soberana_wire::CardUpdate {
        card: signed_card(mx, 4),
        overlap_days: 1,
    };
    let log = store.log_size().unwrap();
    let sent = store
        .announce_card(ours.clone(), update, peer_change(mx), sealer(mx))
        .unwrap();
    seen.push(format!("announced to {} partner(s)", sent.len()));
    assert_eq!(sent.len(), 1, "the update goes to every pinned partner");
    assert_eq!(sent[0].header().recipient, us);
    assert_eq!(
        store.log_size().unwrap(),
        log + 2,
        "the rotation's entry and the envelope's are logged with it"
    );
    assert_eq!(store.previous_keys(Some(mx)).unwrap(), vec![ours.clone()]);
    assert_eq!(store.card_updates_waiting().unwrap(), 1);
    store
        .mark_delivered(sent[0].header().id.to_string(), Timestamp::now())
        .unwrap();
    assert_eq!(
        store.card_updates_waiting().unwrap(),
        0,
        "a delivered update waits no more"
    );

    let theirs = soberana_store::PreviousKey {
        party: us,
        card: signed_card(us, 1).to_text(),
        retired_at: now,
        accepted_until: now.plus_seconds(3_600),
    };
    let new_card = signed_card(us, 5).to_text();
    let received = soberana_store::Received {
        envelope_id: soberana_core::ProposalId::generate().to_string(),
        sender: us,
        recipient: mx,
        sequence: 1,
        sealed_at: Timestamp::now().unix_millis(),
        order_tolerance_ms: 60_000,
        body_digest: [1; 32],
        digest: "cd".repeat(32),
        bytes: b"card update".to_vec(),
        received_at: Timestamp::now(),
        effect: soberana_store::IntakeEffect::CardUpdate {
            card: new_card.clone(),
            previous: theirs.clone(),
            log: peer_change(us),
        },
    };
    let replies = store.receive(received, sealer(mx)).unwrap();
    assert!(replies.queued.is_empty(), "a card update is not answered");
    assert_eq!(
        store.peers().unwrap(),
        vec![(us, new_card)],
        "the partner's new card replaces the pinned one"
    );
    assert_eq!(store.previous_keys(Some(us)).unwrap(), vec![theirs]);
    let every = store.previous_keys(None).unwrap();
    assert_eq!(every.len(), 2, "both parties' retired keys are kept");
    seen.push(format!(
        "retired keys: {}",
        every
            .iter()
            .map(|k| k.party.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ));
    seen.push(format!(
        "log size grew by {}",
        store.log_size().unwrap() - log
    ));
    seen
}

#[test]
fn key_rotation_and_a_partner_s_card_update_are_kept_as_in_sqlite() {
    let fresh = Fresh::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = soberana_store::SqliteStore::open(&dir.path().join("node.sqlite")).unwrap();
    let on_sqlite = rotate_keys(&sqlite);
    let on_postgres = rotate_keys(fresh.store());
    assert_eq!(on_postgres, on_sqlite);
}

/// A joint investigation on `store`: the partner's proposal accepted here,
/// our copy of the case opened, the partner's opening taken in, a refused
/// act recorded; what each step leaves.
fn work_a_case(store: &dyn NodeStore) -> Vec<String> {
    use soberana_case::{Act, CaseId, CustodyEvent};
    use soberana_core::{
        DecidedBy, Decision, JointInvestigation, OfficerId, Outcome, ProposalBody,
    };
    use soberana_store::{IntakeEffect, PolicyResponse, Received};

    let (mx, us) = (party("MX"), party("US"));
    let mut theirs = proposal(us, mx);
    theirs.body = ProposalBody::JointInvestigation(JointInvestigation {
        case_title: "Operation Frontera".into(),
        summary: "arms crossing the border".into(),
        agencies: vec![
            AgencyId::new("US.ATF").unwrap(),
            AgencyId::new("MX.FGR").unwrap(),
        ],
        tasks: vec![],
        ends: None,
        members: Vec::new(),
    });
    let accept = Decision {
        proposal_id: theirs.id,
        decided_by_party: mx,
        outcome: Outcome::Accepted,
        reasons: vec![],
        decided_by: DecidedBy::Policy,
        policy_digest: "00".repeat(32),
        decided_at: Timestamp::now(),
    };
    let mut sequence = 0;
    let mut from_us = |effect: IntakeEffect| {
        sequence += 1;
        Received {
            envelope_id: soberana_core::ProposalId::generate().to_string(),
            sender: us,
            recipient: mx,
            sequence,
            sealed_at: Timestamp::now().unix_millis(),
            order_tolerance_ms: 60_000,
            body_digest: [1; 32],
            digest: "ef".repeat(32),
            bytes: b"envelope".to_vec(),
            received_at: Timestamp::now(),
            effect,
        }
    };
    store
        .receive(
            from_us(IntakeEffect::Proposal {
                proposal: Box::new(theirs.clone()),
                response: Box::new(PolicyResponse::Decided {
                    decision: accept,
                    answer: None,
                }),
                verdict: "{}".into(),
            }),
            sealer(mx),
        )
        .unwrap();
    let case_id = CaseId::for_proposal(&theirs.id);
    let opening = |side: PartyCode, actor: &str| CustodyEvent {
        case_id,
        party: side,
        actor: OfficerId::new(actor).unwrap(),
        time_ms: 1_000,
        act: Act::Opened {
            proposal_id: theirs.id,
            title: "Operation Frontera".into(),
            parties: [us, mx],
            ends_at_ms: u64::MAX / 2,
            members: None,
        },
    };
    let mut seen = Vec::new();

    // A case under a proposal that is not a joint investigation is refused
    // and writes nothing.
    let other = proposal(us, mx);
    let log = store.log_size().unwrap();
    let mut wrong = opening(mx, "ana");
    wrong.case_id = CaseId::for_proposal(&other.id);
    wrong.act = Act::Opened {
        proposal_id: other.id,
        title: "Not a case".into(),
        parties: [us, mx],
        ends_at_ms: u64::MAX / 2,
        members: None,
    };
    assert!(store.case_act(wrong, sealer(mx)).is_err());
    assert_eq!(
        store.log_size().unwrap(),
        log,
        "a refused opening writes nothing"
    );

    let index = store.case_act(opening(mx, "ana"), sealer(mx)).unwrap();
    assert_eq!(index, log, "the act's log entry comes first");
    let queued = store
        .due_deliveries(Timestamp::now().plus_seconds(1), 100)
        .unwrap();
    assert!(
        queued
            .iter()
            .any(|d| d.recipient == us && d.proposal_id == theirs.id.to_string()),
        "our act is queued to the other side under the proposal"
    );
    seen.push(format!("queued after our opening: {}", queued.len()));

    // The partner's opening, and an act claiming our side from it.
    store
        .receive(
            from_us(IntakeEffect::Case(Box::new(opening(us, "joe")))),
            sealer(mx),
        )
        .unwrap();
    let forged = from_us(IntakeEffect::Case(Box::new(opening(mx, "joe"))));
    assert!(
        store.receive(forged, sealer(mx)).is_err(),
        "a partner cannot act for our side"
    );
    let refused = CustodyEvent {
        case_id,
        party: mx,
        actor: OfficerId::new("ana").unwrap(),
        time_ms: 2_000,
        act: Act::Refused {
            exhibit: None,
            reason: "not a member".into(),
        },
    };
    let before = store
        .due_deliveries(Timestamp::now().plus_seconds(1), 100)
        .unwrap()
        .len();
    store.case_act(refused, sealer(mx)).unwrap();
    assert_eq!(
        store
            .due_deliveries(Timestamp::now().plus_seconds(1), 100)
            .unwrap()
            .len(),
        before,
        "a refused act is logged, not sent"
    );

    // A message, a task for the partner's member, and the partner closing
    // it: the case's tasks come out the same on both stores.
    let ours = |time_ms, act| CustodyEvent {
        case_id,
        party: mx,
        actor: OfficerId::new("ana").unwrap(),
        time_ms,
        act,
    };
    store
        .case_act(
            ours(
                3_000,
                Act::MessagePosted {
                    language: "es".into(),
                    text: "Revisen la página 4".into(),
                },
            ),
            sealer(mx),
        )
        .unwrap();
    let task = ours(
        3_001,
        Act::TaskCreated {
            title: "trace serial DX-4471".into(),
            owner_side: us,
            owner: OfficerId::new("joe").unwrap(),
            due_ms: 90_000,
        },
    );
    let task_id = soberana_case::task_id(&task);
    store.case_act(task, sealer(mx)).unwrap();
    let done = CustodyEvent {
        case_id,
        party: us,
        actor: OfficerId::new("joe").unwrap(),
        time_ms: 3_002,
        act: Act::TaskDone { task: task_id },
    };
    store
        .receive(from_us(IntakeEffect::Case(Box::new(done))), sealer(mx))
        .unwrap();
    // A partner's use of an exhibit naming a consent this store does not
    // hold is refused whole, before the case's own rules are asked.
    let log = store.log_size().unwrap();
    let used = CustodyEvent {
        case_id,
        party: us,
        actor: OfficerId::new("joe").unwrap(),
        time_ms: 3_000,
        act: Act::ExhibitUsed {
            exhibit: soberana_case::ExhibitDigest::of(b"ledger"),
            use_: soberana_case::ExhibitUse::Court {
                proceedings: "US v. Doe".into(),
            },
            consent: Some(soberana_core::ProposalId::generate()),
        },
    };
    let err = store
        .receive(from_us(IntakeEffect::Case(Box::new(used))), sealer(mx))
        .unwrap_err();
    assert!(err.to_string().contains("does not hold"), "{err}");
    assert_eq!(
        store.log_size().unwrap(),
        log,
        "a refused use writes nothing"
    );

    let case = store.case(case_id).unwrap().expect("the case is held");
    assert_eq!(store.cases().unwrap(), vec![case.clone()]);
    assert_eq!(case.partner_of(mx), us);
    let events = store.case_events(case_id).unwrap();
    seen.push(format!(
        "events: {}",
        events
            .iter()
            .map(|e| format!("{}:{}:{}", e.event.act.name(), e.ours, e.event.party))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    assert_eq!(events.len(), 6);
    assert!(case.tasks.iter().all(|t| !t.is_open()) && case.tasks.len() == 1);
    assert!(events.windows(2).all(|w| w[0].log_index < w[1].log_index));
    // Everything but the ids, which each run draws afresh.
    let mut state = serde_json::to_value(&case).unwrap();
    let fields = state.as_object_mut().unwrap();
    fields.remove("id");
    fields.remove("proposal_id");
    // A task's id derives from its event, which names the case.
    for task in fields["tasks"].as_array_mut().unwrap() {
        task.as_object_mut().unwrap().remove("id");
    }
    seen.push(format!("case: {state}"));
    seen
}

#[test]
fn a_joint_investigation_is_kept_as_in_sqlite() {
    let fresh = Fresh::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = soberana_store::SqliteStore::open(&dir.path().join("node.sqlite")).unwrap();
    let on_sqlite = work_a_case(&sqlite);
    let on_postgres = work_a_case(fresh.store());
    assert_eq!(on_postgres, on_sqlite);
}
