//! A firearm trace answered on the node's records: an acceptance that
//! releases nothing, on a node holding records, releases the trace answer
//! after a second approver (a trace names purchasers: H2), and the asker
//! receives it; `answer_trace` refuses a proposal that is not a trace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::sync::Arc;

use soberana_core::{Outcome, ProposalDraft, ProposalState, Role};
use soberana_firearms::ANSWER_LABEL;
use soberana_firearms::synthetic::{SyntheticOptions, write_csv};
use soberana_node::firearms::{TraceRelease, hold};
use soberana_node::{DecisionStep, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict};

/// Sends every request to an officer.
struct Review;

impl ProposalPolicy for Review {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &"77".repeat(32))
    }
    fn digest(&self) -> String {
        "77".repeat(32)
    }
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = soberana_core::Timestamp::now().plus_seconds(3 * 86_400);
    draft
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_a_trace_without_a_release_releases_the_trace_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let records = dir.path().join("records.csv");
    write_csv(
        &SyntheticOptions {
            records: 2_000,
            ..Default::default()
        },
        std::fs::File::create(&records).unwrap(),
    )
    .unwrap();
    assert!(hold(us.dir().root(), &records).unwrap() > 0);
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let id = mx
        .propose(example("mx-firearm-trace.toml"), None)
        .unwrap()
        .id;
    eventually("the US sends the trace to an officer", || {
        state(&us, id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    let atf = support::register(&us, "atf", "US.ATF", &[Role::Approver]);
    let fbi = support::register(&us, "fbi", "US.FBI", &[Role::Approver]);
    let step = us
        .decide(
            id,
            OfficerVerdict {
                officer: atf.clone(),
                outcome: Outcome::Accepted,
                reason: "traced on US records".into(),
                release: vec![],
            },
        )
        .unwrap();
    let DecisionStep::AwaitingSecondApprover(pending) = step else {
        panic!("a trace answer names purchasers and takes a second approver");
    };
    assert!(pending.release.iter().any(|i| i.label == ANSWER_LABEL));
    us.confirm(id, &fbi).unwrap();
    eventually("MX receives the answer", || {
        state(&mx, id) == Some(ProposalState::Answered)
    })
    .await;
    let answer = mx.show(id).unwrap().answer.unwrap();
    assert!(answer.items.iter().any(|i| i.label == ANSWER_LABEL));

    // A request that is not a trace is not answered as one.
    let not_a_trace = us
        .propose(example("us-financial-intelligence.toml"), None)
        .unwrap()
        .id;
    eventually("MX holds the financial request", || {
        state(&mx, not_a_trace) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    let err = mx
        .answer_trace(
            not_a_trace,
            TraceRelease {
                officer: support::register(&mx, "ana", "MX.FGR", &[Role::Approver]),
                conditions: vec![],
                reason: "r".into(),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a firearm trace"), "{err}");
    assert_eq!(
        state(&mx, not_a_trace),
        Some(ProposalState::AwaitingOfficer)
    );
    mx_run.stop().await;
    us_run.stop().await;
}
