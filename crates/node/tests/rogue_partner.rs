//! A pinned partner gone rogue: the real partner's keys and certificate,
//! used over the real mutual-TLS channel to try what an honest node never
//! sends. Every attempt must meet its exact refusal, the node must keep
//! answering, its log must still audit, and nothing but refusals (or the
//! evidence of a fork) may be written.
//!
//! The partner here is the US node of a pinned MX–US pair, driven by hand:
//! its sealer signs with the US key and its TLS identity is the pinned one.
//! Limits are set small in the MX node's configuration so that slowness is
//! met in fractions of a second, and no assertion depends on how fast
//! anything runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::party;

use std::path::Path;
use std::sync::Arc;

use soberana_core::ProposalKind;
use soberana_ledger::{
    AddCheckpoint, Checkpoint, LogEntry, NoteSigner, SignatureType, SignedCheckpoint,
    audit_storage, hash_leaf,
};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict, log_origin};
use soberana_store::LedgerView;
use soberana_wire::{Body, CheckpointRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts everything: the rogue partner's proposals get as far as they can.
struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(
        &self,
        proposal: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        let verdict = match proposal.kind() {
            ProposalKind::AssistanceOffer | ProposalKind::CoordinatedOperation => Verdict::Refuse,
            _ => Verdict::Allow { conditions: vec![] },
        };
        support::test_verdict(verdict, &"11".repeat(32))
    }
    fn digest(&self) -> String {
        "11".repeat(32)
    }
}

/// MX (the node under attack) and the US node that plays the rogue partner.
fn pair(dir: &Path) -> (Node, Node) {
    support::pair(dir, || Arc::new(AcceptAll))
}

/// Seals `body` from the US to MX with the US key and sequence `sequence`.
fn seal(us: &Node, sequence: u64, body: &Body) -> Vec<u8> {
    (us.sealer())(party("MX"), sequence, body).bytes().to_vec()
}

/// A checkpoint of the US log of `size` with a root made from `seed`,
/// validly signed with the US node's real log key.
fn us_checkpoint(us: &Node, size: u64, seed: &[u8]) -> String {
    let signer = NoteSigner::from_seed(
        &log_origin(party("US")),
        SignatureType::Ed25519,
        &us.key().seed(),
    )
    .unwrap();
    let checkpoint = Checkpoint::new(signer.name(), size, hash_leaf(seed)).unwrap();
    SignedCheckpoint::sign(checkpoint, &signer)
        .unwrap()
        .to_text()
}

fn add_checkpoint(old_size: u64, checkpoint: String) -> Body {
    Body::Checkpoint(CheckpointRequest {
        add_checkpoint: AddCheckpoint {
            old_size,
            proof: vec![],
            checkpoint,
        }
        .to_string(),
    })
}

fn code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .map(|v| v["code"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// `GET /v1/health` as the pinned partner, over a fresh connection.
async fn health(us: &Node) -> bool {
    let Ok(mut tls) = us.connect_raw(party("MX")).await else {
        return false;
    };
    let request = b"GET /v1/health HTTP/1.1\r\nhost: mx\r\nconnection: close\r\n\r\n";
    if tls.write_all(request).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && text.contains("\"status\":\"ok\"")
}

/// The node's own log audits clean against its key and its partners'.
fn audit(node: &Node) {
    let view = LedgerView(node.store().as_ref());
    audit_storage(
        &view,
        &node.log_key().unwrap(),
        &node.partner_witness_keys(),
    )
    .unwrap_or_else(|e| panic!("{}'s log does not audit: {e}", node.party()));
}

/// How many entries of the node's log satisfy `what`.
fn log_entries(node: &Node, what: impl Fn(&LogEntry) -> bool) -> usize {
    let size = node.store().log_size().unwrap();
    node.store()
        .log_leaves(0, size)
        .unwrap()
        .iter()
        .filter(|leaf| LogEntry::decode(&leaf.entry).is_ok_and(|e| what(&e)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_checkpoints_sent_at_once_are_cosigned_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();

    // Sixteen validly signed extensions of the US log from nothing to
    // size 1, each with another root, sent at the same instant over
    // sixteen connections.
    let forks = 16u64;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..forks {
        let us = us.clone();
        let bytes = seal(
            &us,
            100 + i,
            &add_checkpoint(0, us_checkpoint(&us, 1, &i.to_be_bytes())),
        );
        sends.spawn(async move { us.send_raw(party("MX"), bytes).await.unwrap() });
    }
    let mut answers = Vec::new();
    while let Some(answer) = sends.join_next().await {
        answers.push(answer.unwrap());
    }
    let cosigned = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(cosigned, 1, "exactly one fork is cosigned: {answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, code(body).as_str()),
            (409, "witness_alarm"),
            "{body}"
        );
    }

    let held = mx.store().partner_checkpoints(party("US")).unwrap();
    assert_eq!(held.iter().filter(|c| c.status == "cosigned").count(), 1);
    assert_eq!(
        held.iter().filter(|c| c.status == "alarm").count(),
        forks as usize - 1
    );
    assert_eq!(
        log_entries(&mx, |e| matches!(e, LogEntry::CosignatureIssued { .. })),
        1,
        "one cosignature issued in the log"
    );
    // The fork stays a fork when sent again, one at a time.
    let again = seal(&us, 200, &add_checkpoint(0, us_checkpoint(&us, 1, b"late")));
    let (status, body) = us.send_raw(party("MX"), again).await.unwrap();
    assert_eq!(
        (status, code(&body).as_str()),
        (409, "witness_alarm"),
        "{body}"
    );
    assert!(health(&us).await, "MX stopped answering");
    audit(&mx);
    mx_run.stop().await;
}
