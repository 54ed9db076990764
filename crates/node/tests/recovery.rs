//! A node restored from a backup older than a checkpoint its partner
//! cosigned: the node finds at start that its log is behind, refuses to
//! sign a checkpoint that would conflict (also after a restart, before the
//! partner is asked again), and takes back from the partner the envelopes
//! it lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::sync::Arc;

use soberana_core::{ProposalDraft, ProposalState, Timestamp};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict};

struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &self.digest())
    }
    fn digest(&self) -> String {
        "55".repeat(32)
    }
}

fn draft(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = Timestamp::now().plus_seconds(3600);
    draft
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_behind_a_cosigned_checkpoint_says_so_and_recovers_from_its_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();

    let early = us.propose(draft("us-border-alert.toml"), None).unwrap().id;
    eventually("the first alert is accepted", || {
        state(&us, early) == Some(ProposalState::Accepted)
    })
    .await;
    mx.backup(&dir.path().join("backup")).unwrap();

    // After the backup: more traffic, and a checkpoint US cosigns.
    let late: Vec<_> = (0..3)
        .map(|_| us.propose(draft("us-border-alert.toml"), None).unwrap().id)
        .collect();
    for id in &late {
        let id = *id;
        eventually("each later alert is accepted", || {
            state(&us, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
    mx.checkpoint_and_request_cosignatures().unwrap();
    eventually("US cosigns MX's checkpoint", || {
        !mx.cosignatures(None).unwrap().is_empty()
    })
    .await;
    assert!(mx.check_log_against_partners().await.is_empty(), "in step");
    mx_run.stop().await;
    drop(mx);

    // MX is restored from the older backup.
    let restored = dir.path().join("MX-restored");
    soberana_node::restore(&dir.path().join("backup"), &restored, None).unwrap();
    let mx = Node::open(&restored, Arc::new(AcceptAll)).unwrap();
    assert!(state(&mx, late[0]).is_none(), "the backup predates it");

    // Found at start: the log is behind what US cosigned…
    let findings = mx.check_log_against_partners().await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("behind") && findings[0].contains("recover --from-peer US"),
        "{}",
        findings[0]
    );
    assert_eq!(mx.log_findings(), findings);
    // …and no conflicting checkpoint is signed.
    let refused = mx.checkpoint_and_request_cosignatures().unwrap_err();
    assert!(
        refused.to_string().contains("refusing to sign"),
        "{refused}"
    );

    // The finding is kept: reopened, before any partner is asked, the node
    // still says so and still refuses.
    drop(mx);
    let mx = Node::open(&restored, Arc::new(AcceptAll)).unwrap();
    assert_eq!(mx.log_findings(), findings, "forgotten at a restart");
    let refused = mx.checkpoint_and_request_cosignatures().unwrap_err();
    assert!(
        refused.to_string().contains("refusing to sign"),
        "{refused}"
    );

    // Recovery: US holds every envelope that crossed.
    let recovered = mx.recover_from_peer(party("US")).await.unwrap();
    assert!(recovered.refused.is_empty(), "{:?}", recovered.refused);
    assert_eq!(
        recovered.taken_in, 3,
        "the three later alerts: {recovered:?}"
    );
    assert!(
        recovered.cosignatures_lost >= 1,
        "on the checkpoints the restore lost"
    );
    // MX's three decisions and the checkpoints it sent since the backup
    // (the running node signs some on its own) exist only at US.
    assert!(
        recovered.ours_lost.len() >= 4,
        "MX's three decisions and its checkpoint exist only at US: {recovered:?}"
    );
    for id in &late {
        assert!(state(&mx, *id).is_some(), "recovered from US");
    }
    // Recovering twice takes nothing twice.
    let again = mx.recover_from_peer(party("US")).await.unwrap();
    assert_eq!(again.taken_in, 0);
    // What the restore lost of the log itself is not rebuilt: the refusal
    // holds, now and after another restart.
    assert_eq!(mx.check_log_against_partners().await.len(), 1);
    drop(mx);
    let mx = Node::open(&restored, Arc::new(AcceptAll)).unwrap();
    assert!(mx.checkpoint_and_request_cosignatures().is_err());
    us_run.stop().await;
}
