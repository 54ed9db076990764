//! Two real nodes on loopback, each keeping its store in PostgreSQL (one
//! database, a schema each): a request is delivered, reviewed by two
//! approvers, answered; a refusal and a receipt come back on their own; the
//! outbox holds a proposal until the partner is up. The same flows as on
//! SQLite, through the same node code.
//!
//! The database comes from `SOBERANA_TEST_POSTGRES`; without it the tests
//! fail and say how to start one (`scripts/test` does it as root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/restart.rs"]
mod restart;

use support::{eventually, party, state};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use soberana_core::{DecidedBy, Outcome, ProposalDraft, ProposalKind, ProposalState, Role};
use soberana_node::{
    DecisionStep, InitOptions, Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict, init,
};
use soberana_wire::AnswerItem;

/// Refuses operations, reviews requests, accepts the rest.
struct TestPolicy;

impl ProposalPolicy for TestPolicy {
    fn evaluate(
        &self,
        proposal: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        let verdict = match proposal.kind() {
            ProposalKind::AssistanceOffer | ProposalKind::CoordinatedOperation => Verdict::Refuse,
            ProposalKind::InformationRequest | ProposalKind::FinancialIntelligence => {
                Verdict::Review
            }
            _ => Verdict::Allow { conditions: vec![] },
        };
        support::test_verdict(verdict, &"11".repeat(32))
    }
    fn digest(&self) -> String {
        "11".repeat(32)
    }
}

fn database() -> String {
    match std::env::var("SOBERANA_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "SOBERANA_TEST_POSTGRES is not set: these tests run nodes on PostgreSQL. \
             As root on Debian, `scripts/test` installs and starts a server and sets it; \
             by hand see crates/store/tests/postgres.rs or README (Operating a node)"
        ),
    }
}

/// A store URL in a schema no other test uses.
fn fresh_store(code: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = database();
    let sep = if base.contains('?') { '&' } else { '?' };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{base}{sep}schema=node_{}_{}_{}_{nanos}",
        code.to_ascii_lowercase(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn make(dir: &Path, code: &str) -> Node {
    init(&InitOptions {
        party: party(code),
        dir: dir.join(code),
        listen: support::free_port(),
        endpoint: None,
        files: vec![(
            "policy/constitutional.cedar".into(),
            support::TEST_CONSTITUTIONAL.into(),
        )],
        constitutional_digest: soberana_node::constitutional_digest(
            support::TEST_CONSTITUTIONAL.as_bytes(),
        ),
        store: Some(fresh_store(code)),
    })
    .unwrap();
    let node = Node::open(&dir.join(code), Arc::new(TestPolicy)).unwrap();
    assert!(
        node.store_description().starts_with("postgres://"),
        "{}",
        node.store_description()
    );
    node
}

fn pair(dir: &Path) -> (Node, Node) {
    let (mx, us) = (make(dir, "MX"), make(dir, "US"));
    mx.add_peer(&us.card().unwrap().to_text(), Path::new("us.card"))
        .unwrap();
    us.add_peer(&mx.card().unwrap().to_text(), Path::new("mx.card"))
        .unwrap();
    (mx, us)
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_reviewed_decided_and_answered_between_postgres_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us
        .propose(example("us-financial-intelligence.toml"), None)
        .unwrap();
    eventually("MX receives the request", || {
        state(&mx, proposal.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    eventually("US sees it delivered", || {
        state(&us, proposal.id) == Some(ProposalState::Delivered)
    })
    .await;
    let ana = support::register(&mx, "uif.ana", "MX.UIF", &[Role::Approver]);
    let beto = support::register(&mx, "uif.beto", "MX.UIF", &[Role::Approver]);
    let verdict = OfficerVerdict {
        officer: ana.clone(),
        outcome: Outcome::Accepted,
        reason: "within the Egmont principles".into(),
        release: vec![AnswerItem {
            label: "onward accounts".into(),
            value: "3".into(),
        }],
    };
    let step = mx.decide(proposal.id, verdict).unwrap();
    assert!(
        matches!(step, DecisionStep::AwaitingSecondApprover(_)),
        "{step:?}"
    );
    assert_eq!(
        state(&mx, proposal.id),
        Some(ProposalState::AwaitingOfficer)
    );
    let decision = mx.confirm(proposal.id, &beto).unwrap();
    assert_eq!(
        decision.decided_by,
        DecidedBy::Officer {
            officer: ana,
            confirmed_by: Some(beto),
        }
    );
    eventually("US receives the answer", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    assert_eq!(us.show(proposal.id).unwrap().answer.unwrap().items.len(), 1);
    assert_eq!(mx.show(proposal.id).unwrap().disclosures.len(), 1);
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_receipts_and_a_late_partner_between_postgres_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let us_run = us.start().await.unwrap();
    let alert = us.propose(example("us-border-alert.toml"), None).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state(&us, alert.id), Some(ProposalState::Queued));
    let mx_run = mx.start().await.unwrap();
    eventually("the alert is delivered once MX is up", || {
        state(&us, alert.id) == Some(ProposalState::Accepted)
    })
    .await;
    let troops = us.propose(example("us-deploy-forces.toml"), None).unwrap();
    let notice = us.propose(example("us-notify-order.toml"), None).unwrap();
    eventually("the offer is refused on both sides", || {
        state(&us, troops.id) == Some(ProposalState::Refused)
            && state(&mx, troops.id) == Some(ProposalState::Refused)
    })
    .await;
    eventually("the notification is acknowledged", || {
        state(&us, notice.id) == Some(ProposalState::Acknowledged)
    })
    .await;
    assert_eq!(
        us.show(notice.id).unwrap().receipt.unwrap().received_by,
        party("MX")
    );
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_on_postgres_takes_a_declared_log_restart_and_refuses_forged_ones() {
    let dir = tempfile::tempdir().unwrap();
    // MX on SQLite (restored from its backup); US witnesses on PostgreSQL.
    let mx = support::make(dir.path(), "MX", Arc::new(restart::AcceptAll));
    let us = make(dir.path(), "US");
    mx.add_peer(&us.card().unwrap().to_text(), Path::new("us.card"))
        .unwrap();
    us.add_peer(&mx.card().unwrap().to_text(), Path::new("mx.card"))
        .unwrap();
    restart::restored_node_recovers_and_restarts_its_log(dir.path(), mx, us).await;
}
