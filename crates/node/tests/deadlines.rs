//! Agreed answer times: a proposal left unanswered past its answer time is
//! recorded as a breach, once, in both nodes' logs and in its history; the
//! sender's own deadline field decides nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::sync::Arc;

use soberana_core::{ProposalDraft, ProposalKind, ProposalState, Timestamp};
use soberana_ledger::{LogEntry, audit_storage};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_store::LedgerView;

/// Sends every proposal to an officer.
struct Review;

impl ProposalPolicy for Review {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &"22".repeat(32))
    }
    fn digest(&self) -> String {
        "22".repeat(32)
    }
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn breaches(node: &Node) -> Vec<(String, String)> {
    let size = node.store().log_size().unwrap();
    node.store()
        .log_leaves(0, size)
        .unwrap()
        .into_iter()
        .filter_map(|leaf| match LogEntry::decode(&leaf.entry).unwrap() {
            LogEntry::DeadlineBreach {
                proposal_id, party, ..
            } => Some((proposal_id, party)),
            _ => None,
        })
        .collect()
}

fn log_verifies(node: &Node) {
    let key = node.log_key().unwrap();
    let witnesses = node.partner_witness_keys();
    audit_storage(&LedgerView(node.store().as_ref()), &key, &witnesses).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_is_a_breach_on_both_sides_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    // The sender asks for an answer within a second; the agreed time for a
    // financial request is seven days, and only that counts.
    let mut draft = example("us-financial-intelligence.toml");
    draft.deadline = Timestamp::now().plus_seconds(1);
    let proposal = us.propose(draft, None).unwrap();
    eventually("MX holds it for an officer", || {
        state(&mx, proposal.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    eventually("US sees it delivered", || {
        state(&us, proposal.id) == Some(ProposalState::Delivered)
    })
    .await;

    let created = proposal.created;
    let due = mx.answer_due(ProposalKind::FinancialIntelligence, created);
    assert_eq!(due, created.plus_seconds(7 * 24 * 3600));
    assert_eq!(
        us.answer_due(ProposalKind::FinancialIntelligence, created),
        due
    );

    // Before the agreed time: nothing, whatever the sender's deadline said.
    let before = due.plus_seconds(-1);
    assert!(mx.record_breaches(before).unwrap().is_empty());
    assert!(us.record_breaches(before).unwrap().is_empty());
    assert!(breaches(&mx).is_empty());

    // At the agreed time: one breach each side, naming MX as the party that
    // owed the answer; checking again records nothing more.
    let recorded = mx.record_breaches(due).unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].party.as_str(), "MX");
    assert_eq!(us.record_breaches(due).unwrap().len(), 1);
    assert!(mx.record_breaches(due.plus_seconds(60)).unwrap().is_empty());
    assert!(us.record_breaches(due.plus_seconds(60)).unwrap().is_empty());
    let want = vec![(proposal.id.to_string(), "MX".to_owned())];
    assert_eq!(breaches(&mx), want);
    assert_eq!(breaches(&us), want);

    // The history says so and the proposal still waits for its officer.
    let detail = mx.show(proposal.id).unwrap();
    assert_eq!(detail.record.state, ProposalState::AwaitingOfficer);
    assert!(
        detail
            .events
            .iter()
            .any(|e| e.event.starts_with("deadline breached: MX owed an answer")),
        "{:?}",
        detail.events
    );
    log_verifies(&mx);
    log_verifies(&us);
    mx_run.stop().await;
    us_run.stop().await;
}

#[test]
fn answer_times_come_from_the_node_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let node = support::make(dir.path(), "MX", Arc::new(Review));
    let config = dir.path().join("MX/node.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[answer_times]\nborder_alert = 3600\n");
    std::fs::write(&config, &text).unwrap();
    drop(node);
    let node = Node::open(&dir.path().join("MX"), Arc::new(Review)).unwrap();
    assert_eq!(node.answer_time(ProposalKind::BorderAlert).as_secs(), 3600);
    assert_eq!(
        node.answer_time(ProposalKind::InformationRequest).as_secs(),
        7 * 24 * 3600
    );
    drop(node);

    std::fs::write(&config, text.replace("border_alert", "border_alerts")).unwrap();
    let err = Node::open(&dir.path().join("MX"), Arc::new(Review))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("`answer_times.border_alerts` names no proposal kind"),
        "{err}"
    );
}
