//! Four eyes under concurrency: approvers confirming the same decision at
//! once release it exactly once, and a confirmation racing a withdrawal
//! never releases what was withdrawn.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::sync::Arc;

use soberana_core::{OfficerId, Outcome, ProposalDraft, ProposalId, ProposalState, Role};
use soberana_node::{DecisionStep, Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_wire::AnswerItem;

/// Sends every request to an officer.
struct Review;

impl ProposalPolicy for Review {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &"55".repeat(32))
    }
    fn digest(&self) -> String {
        "55".repeat(32)
    }
}

fn example() -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/us-financial-intelligence.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = soberana_core::Timestamp::now().plus_seconds(3 * 86_400);
    draft
}

/// An H2 request awaiting an MX officer, with a decision by `ana` awaiting
/// confirmation, and the approvers registered.
async fn awaiting_confirmation(mx: &Node, us: &Node) -> (ProposalId, Vec<OfficerId>) {
    let proposal = us.propose(example(), None).unwrap();
    eventually("MX receives the request", || {
        state(mx, proposal.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    let approvers: Vec<OfficerId> = ["ana", "beto", "carla", "dora"]
        .iter()
        .map(|id| support::register(mx, id, "MX.UIF", &[Role::Approver]))
        .collect();
    let step = mx
        .decide(
            proposal.id,
            OfficerVerdict {
                officer: approvers[0].clone(),
                outcome: Outcome::Accepted,
                reason: "held in Mexico".into(),
                release: vec![AnswerItem {
                    label: "account".into(),
                    value: "received USD 482,500".into(),
                }],
            },
        )
        .unwrap();
    assert!(matches!(step, DecisionStep::AwaitingSecondApprover(_)));
    (proposal.id, approvers)
}

fn sent_kinds(node: &Node, id: ProposalId, kind: &str) -> usize {
    node.sent_envelopes(id)
        .unwrap()
        .iter()
        .filter(|(_, k)| k == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvers_confirming_at_once_release_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let (id, approvers) = awaiting_confirmation(&mx, &us).await;

    let threads: Vec<_> = (0..9)
        .map(|i| {
            let (mx, officer) = (mx.clone(), approvers[1 + i % 3].clone());
            std::thread::spawn(move || mx.confirm(id, &officer))
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let confirmed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(confirmed, 1, "{results:?}");
    assert_eq!(sent_kinds(&mx, id, "decision"), 1, "one decision left");
    assert_eq!(sent_kinds(&mx, id, "answer"), 1, "one answer left");
    let lines = mx
        .officers()
        .audit_trail(50)
        .unwrap()
        .iter()
        .filter(|e| e.action == "decision_confirmed")
        .count();
    assert_eq!(lines, 1);
    eventually("US receives the answer once", || {
        state(&us, id) == Some(ProposalState::Answered)
    })
    .await;
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_racing_a_withdrawal_never_releases_what_was_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let (id, approvers) = awaiting_confirmation(&mx, &us).await;
    let (a, b) = (mx.clone(), mx.clone());
    let (beto, carla) = (approvers[1].clone(), approvers[2].clone());
    let confirm = std::thread::spawn(move || a.confirm(id, &beto));
    let withdraw = std::thread::spawn(move || b.withdraw(id, &carla));
    let (confirmed, withdrawn) = (confirm.join().unwrap(), withdraw.join().unwrap());
    let withdrawals = mx
        .officers()
        .audit_trail(50)
        .unwrap()
        .iter()
        .filter(|e| e.action == "decision_withdrawn")
        .count();
    match (&confirmed, &withdrawn) {
        (Ok(_), Ok(())) => panic!("both a release and a withdrawal were recorded"),
        // The confirmation won: released once, and no withdrawal recorded.
        (Ok(_), Err(_)) => {
            assert_ne!(state(&mx, id), Some(ProposalState::AwaitingOfficer));
            assert_eq!(sent_kinds(&mx, id, "answer"), 1);
            assert_eq!(withdrawals, 0);
        }
        // The withdrawal won: nothing left MX.
        (Err(_), Ok(())) => {
            assert_eq!(state(&mx, id), Some(ProposalState::AwaitingOfficer));
            assert_eq!(sent_kinds(&mx, id, "answer"), 0);
            assert!(mx.pending(id).unwrap().is_none());
            assert_eq!(withdrawals, 1);
        }
        (Err(_), Err(_)) => panic!("both failed: {confirmed:?} {withdrawn:?}"),
    }
    mx_run.stop().await;
    us_run.stop().await;
}
