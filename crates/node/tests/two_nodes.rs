//! Two real nodes on loopback over mutual TLS: delivery, decisions, the
//! outbox across an outage, and every kind of bad envelope refused with
//! nothing stored but the refusal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use soberana_core::{
    DecidedBy, Direction, OfficerId, Outcome, ProposalDraft, ProposalKind, ProposalState, Role,
    Timestamp,
};
use soberana_node::{
    DecisionStep, Node, NodeError, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict,
};
use soberana_wire::{AnswerItem, Body, NodeKey, SealedEnvelope};

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

fn make(dir: &Path, code: &str) -> Node {
    support::make(dir, code, Arc::new(TestPolicy))
}

fn pair(dir: &Path) -> (Node, Node) {
    support::pair(dir, || Arc::new(TestPolicy))
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_reviewed_decided_and_answered_across_nodes() {
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

    // Releasing under H2 takes two registered approvers.
    let ana = support::register(&mx, "uif.ana", "MX.UIF", &[Role::Approver]);
    let beto = support::register(&mx, "uif.beto", "MX.UIF", &[Role::Approver]);
    let analyst = support::register(&mx, "uif.analyst", "MX.UIF", &[Role::Analyst]);
    let verdict = |officer: &OfficerId| OfficerVerdict {
        officer: officer.clone(),
        outcome: Outcome::AcceptedWithConditions {
            conditions: vec!["not to be used as evidence".into()],
        },
        reason: "within the Egmont principles".into(),
        release: vec![AnswerItem {
            label: "onward accounts".into(),
            value: "3".into(),
        }],
    };
    let unknown = OfficerId::new("approver").unwrap();
    assert!(matches!(
        mx.decide(proposal.id, verdict(&unknown)),
        Err(NodeError::UnknownOfficer(_))
    ));
    assert!(matches!(
        mx.decide(proposal.id, verdict(&analyst)),
        Err(NodeError::MissingRole { .. })
    ));
    let step = mx.decide(proposal.id, verdict(&ana)).unwrap();
    assert!(
        matches!(step, DecisionStep::AwaitingSecondApprover(ref p) if p.officer == ana),
        "{step:?}"
    );
    assert_eq!(
        state(&mx, proposal.id),
        Some(ProposalState::AwaitingOfficer),
        "nothing leaves on one approver's word"
    );
    assert!(matches!(
        mx.decide(proposal.id, verdict(&beto)),
        Err(NodeError::AwaitingConfirmation { .. })
    ));
    assert!(matches!(
        mx.confirm(proposal.id, &ana),
        Err(NodeError::SameOfficer(_))
    ));
    assert!(matches!(
        mx.confirm(proposal.id, &analyst),
        Err(NodeError::MissingRole { .. })
    ));
    // Withdrawn, it cannot be confirmed; made again, it can.
    mx.withdraw(proposal.id, &beto).unwrap();
    assert!(matches!(
        mx.confirm(proposal.id, &beto),
        Err(NodeError::NothingToConfirm(_))
    ));
    mx.decide(proposal.id, verdict(&ana)).unwrap();
    let decision = mx.confirm(proposal.id, &beto).unwrap();
    assert_eq!(
        decision.decided_by,
        DecidedBy::Officer {
            officer: ana.clone(),
            confirmed_by: Some(beto.clone()),
        }
    );
    assert!(mx.pending(proposal.id).unwrap().is_none());
    let trail: Vec<String> = mx
        .officers()
        .audit_trail(20)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.officer, e.action))
        .collect();
    for line in [
        "uif.ana decision_pending",
        "uif.beto decision_withdrawn",
        "uif.beto decision_confirmed",
    ] {
        assert!(trail.iter().any(|t| t == line), "{line} in {trail:?}");
    }
    eventually("US receives the answer", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let detail = us.show(proposal.id).unwrap();
    assert!(matches!(
        detail.decision.unwrap().outcome,
        Outcome::AcceptedWithConditions { .. }
    ));
    assert_eq!(detail.answer.unwrap().items.len(), 1);
    let mx_detail = mx.show(proposal.id).unwrap();
    assert_eq!(mx_detail.disclosures.len(), 1, "what left MX is recorded");
    assert!(
        mx.decide(
            proposal.id,
            OfficerVerdict {
                officer: ana.clone(),
                outcome: Outcome::Refused,
                reason: "changed my mind".into(),
                release: vec![],
            },
        )
        .is_err(),
        "a decided proposal cannot be decided again"
    );
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_receipts_come_back_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
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
    let receipt = us.show(notice.id).unwrap().receipt.unwrap();
    assert_eq!(receipt.received_by, party("MX"));
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_keeps_a_proposal_until_the_partner_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let us_run = us.start().await.unwrap();
    let proposal = us.propose(example("us-border-alert.toml"), None).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state(&us, proposal.id), Some(ProposalState::Queued));
    let mx_run = mx.start().await.unwrap();
    eventually("delivered once MX is up", || {
        state(&mx, proposal.id) == Some(ProposalState::Accepted)
    })
    .await;
    eventually("US records the acceptance", || {
        state(&us, proposal.id) == Some(ProposalState::Accepted)
    })
    .await;
    mx_run.stop().await;
    us_run.stop().await;
}

fn seal_with(key: &NodeKey, from: &str, to: &str, body: &Body) -> Vec<u8> {
    SealedEnvelope::seal(key, party(from), party(to), 1, Timestamp::now(), body)
        .bytes()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_envelopes_are_refused_and_only_the_refusal_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();
    let us_key = soberana_node::load_signing_key(&dir.path().join("US/keys/signing.key")).unwrap();
    let draft = example("us-border-alert.toml");
    let proposal =
        soberana_core::Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap();
    let good = seal_with(&us_key, "US", "MX", &Body::Proposal(proposal.clone()));

    let forged = seal_with(
        &NodeKey::generate().unwrap(),
        "US",
        "MX",
        &Body::Proposal(proposal.clone()),
    );
    let unknown_sender = {
        let mut p = proposal.clone();
        p.from = party("GT");
        seal_with(&us_key, "GT", "MX", &Body::Proposal(p))
    };
    let wrong_recipient = seal_with(&us_key, "US", "CA", &Body::Proposal(proposal.clone()));
    let oversized = vec![b'x'; mx.config().max_envelope_bytes + 10];
    let truncated = good[..good.len() - 10].to_vec();
    let garbage = b"GET / HTTP/1.1".to_vec();
    let unknown_fields = {
        let mut value = serde_json::to_value(&proposal).unwrap();
        value["body"]["execute_on_arrival"] = serde_json::json!(true);
        raw_envelope(&us_key, "proposal", &serde_json::to_vec(&value).unwrap())
    };
    let unknown_kind = {
        let mut value = serde_json::to_value(&proposal).unwrap();
        value["body"]["kind"] = serde_json::json!("remote_strike");
        raw_envelope(&us_key, "proposal", &serde_json::to_vec(&value).unwrap())
    };
    let unknown_body_kind = raw_envelope(&us_key, "command", b"{}");

    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("forged signature", forged, 403),
        ("unknown sender", unknown_sender, 403),
        ("wrong recipient", wrong_recipient, 421),
        ("oversized body", oversized, 413),
        ("truncated", truncated, 400),
        ("garbage", garbage, 400),
        ("unknown fields", unknown_fields, 400),
        ("unknown proposal kind", unknown_kind, 400),
        ("unknown body kind", unknown_body_kind, 400),
    ];
    let mut refusals = 0;
    for (name, bytes, status) in cases {
        let (got, body) = us.send_raw(party("MX"), bytes).await.unwrap();
        assert_eq!(got, status, "{name}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            !error["error"].as_str().unwrap().is_empty(),
            "{name}: {body}"
        );
        refusals += 1;
        assert_eq!(mx.refusals(100).unwrap().len(), refusals, "{name}");
    }
    assert!(
        mx.list(Some(Direction::Incoming), vec![])
            .unwrap()
            .is_empty()
    );

    // The genuine envelope is accepted once; its replay is refused.
    let (status, body) = us.send_raw(party("MX"), good.clone()).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = us.send_raw(party("MX"), good).await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("already received"), "{body}");
    assert_eq!(mx.list(Some(Direction::Incoming), vec![]).unwrap().len(), 1);
    mx_run.stop().await;
}

/// An envelope with a hand-made header kind, signed correctly.
fn raw_envelope(key: &NodeKey, kind: &str, body: &[u8]) -> Vec<u8> {
    let digest = soberana_wire::Digest::of(body);
    let header = format!(
        r#"{{"v":1,"id":"{}","sender":"US","recipient":"MX","sequence":1,"time":0,"kind":"{kind}","body_len":{},"body_digest":"{}"}}"#,
        soberana_core::ProposalId::generate(),
        body.len(),
        digest.to_hex()
    );
    let mut bytes = b"SOBERANA/1\n".to_vec();
    bytes.extend_from_slice(&(header.len() as u32).to_be_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(body);
    let sig = key.sign(&bytes);
    bytes.extend_from_slice(&sig);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_pinned_certificate_is_refused_at_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = pair(dir.path());
    // A second "US" node with its own keys: it pins MX, but MX pinned the
    // real US node's certificate, not this one's.
    let stranger = make(&dir.path().join("impostor"), "US");
    stranger
        .add_peer(&mx.card().unwrap().to_text(), Path::new("mx.card"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mx_run = mx.start().await.unwrap();
    let err = stranger.send_raw(party("MX"), b"hello".to_vec()).await;
    assert!(err.is_err(), "an unpinned client got an answer: {err:?}");
    assert!(mx.refusals(10).unwrap().is_empty());
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_nodes_checkpoint_and_cosign_each_other_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let _ = pair(dir.path());
    let reopen = |code: &str| {
        let config = dir.path().join(code).join("node.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains("checkpoint_interval_secs = 300"), "{text}");
        std::fs::write(
            &config,
            text.replace(
                "checkpoint_interval_secs = 300",
                "checkpoint_interval_secs = 1",
            ),
        )
        .unwrap();
        Node::open(&dir.path().join(code), Arc::new(TestPolicy)).unwrap()
    };
    let (mx, us) = (reopen("MX"), reopen("US"));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us.propose(example("us-border-alert.toml"), None).unwrap();
    eventually("the alert is accepted", || {
        state(&us, proposal.id) == Some(ProposalState::Accepted)
    })
    .await;
    let covered = |node: &Node| {
        let size = node.log_size().unwrap();
        node.cosignatures(None)
            .unwrap()
            .iter()
            .any(|c| c.size >= size.saturating_sub(8) && c.size > 0)
    };
    for _ in 0..300 {
        if covered(&mx) && covered(&us) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(covered(&mx), "MX's log was not cosigned by the US");
    assert!(covered(&us), "the US log was not cosigned by MX");
    mx_run.stop().await;
    us_run.stop().await;
}
