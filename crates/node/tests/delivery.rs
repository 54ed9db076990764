//! The outbox on a clean link: every envelope reaches the partner exactly
//! once. A delivery finished while the loop was reading what is due must not
//! be sent again from that stale read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::sync::Arc;

use soberana_core::{ProposalDraft, ProposalState, Timestamp};
use soberana_node::{PolicyVerdict, ProposalPolicy, Verdict};

/// Acknowledges everything at once: each proposal makes one decision back.
struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &"33".repeat(32))
    }
    fn digest(&self) -> String {
        "33".repeat(32)
    }
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_envelope_is_sent_once_on_a_clean_link() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    let mut ids = Vec::new();
    for _ in 0..300 {
        let mut draft = example("us-border-alert.toml");
        draft.deadline = Timestamp::now().plus_seconds(3600);
        ids.push(us.propose(draft, None).unwrap().id);
    }
    for id in &ids {
        let id = *id;
        eventually("US learns each decision", || {
            state(&us, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
    // Every proposal went once and every decision came back once: a second
    // copy of any envelope would have been refused as a duplicate and left a
    // refusal behind on the receiving side.
    let duplicates = |node: &soberana_node::Node| {
        node.refusals(100_000)
            .unwrap()
            .iter()
            .filter(|r| r.reason.contains("(duplicate)"))
            .count()
    };
    assert_eq!(duplicates(&mx), 0, "MX received envelopes twice");
    assert_eq!(duplicates(&us), 0, "US received envelopes twice");
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backoff_ends_when_the_partner_answers_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    // MX is down: US's proposal fails and waits out a backoff.
    let us_run = us.start().await.unwrap();
    let proposal = us.propose(example("us-border-alert.toml"), None).unwrap();
    let store = us.store_for_tests().clone();
    eventually("the delivery fails and backs off", || {
        !store.backed_off(Timestamp::now()).unwrap().is_empty()
    })
    .await;
    // Make the wait long: ten minutes, far beyond what this test waits.
    let (envelope, _) = us.sent_envelopes(proposal.id).unwrap().remove(0);
    store
        .mark_failed(
            envelope,
            "partner down".into(),
            Timestamp::now().plus_seconds(600),
        )
        .unwrap();
    assert_eq!(state(&us, proposal.id), Some(ProposalState::Queued));

    // MX comes back: the probe finds it answers and the envelope goes now,
    // not in ten minutes.
    let mx_run = mx.start().await.unwrap();
    eventually("the proposal is delivered once MX answers", || {
        state(&us, proposal.id) == Some(ProposalState::Accepted)
    })
    .await;
    mx_run.stop().await;
    us_run.stop().await;
}
