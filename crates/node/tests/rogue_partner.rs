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
//!
//! This file is long because every attempt of a hostile partner shares one
//! harness (a pinned partner with its real key over mutual TLS, and the
//! checks that only a refusal was written and the node still answers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::party;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use soberana_core::{Proposal, ProposalDraft, ProposalId, ProposalKind, ProposalState, Timestamp};
use soberana_ledger::{
    AddCheckpoint, Checkpoint, LogEntry, NoteSigner, SignatureType, SignedCheckpoint,
    audit_storage, hash_leaf,
};
use soberana_node::{
    Node, NodeConfig, PolicyVerdict, ProposalPolicy, TlsIdentity, TransportLimits, Verdict,
    log_origin, witness_name,
};
use soberana_store::LedgerView;
use soberana_wire::{Body, CheckpointRequest, CosignatureReply, SealedEnvelope, SessionMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts what it can, so the rogue partner's proposals get as far as they
/// can; a person match waits for an officer.
struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(&self, proposal: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        let verdict = match proposal.kind() {
            ProposalKind::AssistanceOffer | ProposalKind::CoordinatedOperation => Verdict::Refuse,
            ProposalKind::PersonMatch => Verdict::Review,
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

/// The same, with MX's limits changed by `set` (written to its `node.toml`).
fn pair_with(dir: &Path, set: impl FnOnce(&mut TransportLimits)) -> (Node, Node) {
    drop(pair(dir));
    let path = dir.join("MX/node.toml");
    let mut config: NodeConfig = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    set(&mut config.limits);
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let open = |code: &str| Node::open(&dir.join(code), Arc::new(AcceptAll)).unwrap();
    (open("MX"), open("US"))
}

/// The rogue partner numbers its envelopes as an honest one would, so that
/// only the fault each case is about is tried.
fn next_sequence() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(10_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Seals `body` from the US to MX with the US key and sequence `sequence`.
fn seal(us: &Node, sequence: u64, body: &Body) -> Vec<u8> {
    (us.sealer())(party("MX"), sequence, body).bytes().to_vec()
}

/// Seals `body` from the US to MX with the next sequence number.
fn sealed(us: &Node, body: &Body) -> Vec<u8> {
    seal(us, next_sequence(), body)
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A proposal body from its TOML text.
fn example_body(text: &str) -> soberana_core::ProposalBody {
    toml::from_str(text).unwrap()
}

/// Sends a US proposal from `file` to MX and returns it once MX holds it.
async fn propose(us: &Node, mx: &Node, file: &str) -> Proposal {
    let proposal =
        Proposal::from_draft(example(file), party("US"), None, Timestamp::now()).unwrap();
    let (status, body) = us
        .send_raw(party("MX"), sealed(us, &Body::Proposal(proposal.clone())))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(mx.show(proposal.id).is_ok());
    proposal
}

fn part(proposal: ProposalId, step: u32, part: u32, parts: u32, payload: String) -> Body {
    Body::Session(SessionMessage {
        proposal_id: proposal,
        step,
        part,
        parts,
        payload,
    })
}

/// What MX holds, to check that a refusal wrote nothing but itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holdings {
    proposals: usize,
    refusals: usize,
    log: u64,
    partner_checkpoints: usize,
}

fn holdings(node: &Node) -> Holdings {
    Holdings {
        proposals: node.list(None, vec![]).unwrap().len(),
        refusals: node.store_for_tests().refusals(100_000).unwrap().len(),
        log: node.store_for_tests().log_size().unwrap(),
        partner_checkpoints: node
            .store_for_tests()
            .partner_checkpoints(party("US"))
            .unwrap()
            .len(),
    }
}

/// Sends `bytes` as the US and checks the exact refusal, and that MX wrote
/// one refusal (a row and its log entry) and nothing else.
async fn refused(us: &Node, mx: &Node, what: &str, bytes: Vec<u8>, status: u16, expect: &str) {
    let before = holdings(mx);
    let (got, body) = us.send_raw(party("MX"), bytes).await.unwrap();
    assert_eq!(
        (got, code(&body).as_str()),
        (status, expect),
        "{what}: {body}"
    );
    let reason = serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!reason.is_empty(), "{what}: no reason given");
    let after = holdings(mx);
    assert_eq!(
        after,
        Holdings {
            refusals: before.refusals + 1,
            log: before.log + 1,
            ..before
        },
        "{what}: more than the refusal was written"
    );
}

/// A checkpoint of the US log of `size` with a root made from `seed`,
/// validly signed with the US node's real log key.
fn us_checkpoint(us: &Node, size: u64, seed: &[u8]) -> String {
    let signer = NoteSigner::from_seed(
        &log_origin(party("US")),
        SignatureType::Ed25519,
        &us.signing_key_for_tests().seed(),
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
        restart: None,
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
    let view = LedgerView(node.store_for_tests().as_ref());
    audit_storage(
        &view,
        &node.log_key().unwrap(),
        &node.partner_witness_keys(),
    )
    .unwrap_or_else(|e| panic!("{}'s log does not audit: {e}", node.party()));
}

/// How many entries of the node's log satisfy `what`.
fn log_entries(node: &Node, what: impl Fn(&LogEntry) -> bool) -> usize {
    let size = node.store_for_tests().log_size().unwrap();
    node.store_for_tests()
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

    let held = mx
        .store_for_tests()
        .partner_checkpoints(party("US"))
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_get_a_final_specific_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();
    let alert = propose(&us, &mx, "us-border-alert.toml").await;
    let matching = propose(&us, &mx, "us-identifier-match.toml").await;
    let persons = {
        let mut draft = example("us-identifier-match.toml");
        draft.body = example_body(
            "kind = \"person_match\"\nrecord_count = 10\nschema = \"soberana-person-v1\"",
        );
        let proposal = Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap();
        let (status, body) = us
            .send_raw(party("MX"), sealed(&us, &Body::Proposal(proposal.clone())))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        proposal
    };
    assert_eq!(support::state(&mx, alert.id), Some(ProposalState::Accepted));
    assert_eq!(
        support::state(&mx, matching.id),
        Some(ProposalState::Accepted)
    );
    assert_eq!(
        support::state(&mx, persons.id),
        Some(ProposalState::AwaitingOfficer)
    );

    // Protocol messages only under an accepted proposal that runs a session.
    let payload = || "AAAA".to_owned();
    refused(
        &us,
        &mx,
        "a session part under a border alert",
        sealed(&us, &part(alert.id, 0, 0, 1, payload())),
        422,
        "no_session",
    )
    .await;
    refused(
        &us,
        &mx,
        "a session part under a match not yet accepted",
        sealed(&us, &part(persons.id, 0, 0, 1, payload())),
        409,
        "not_accepted",
    )
    .await;
    refused(
        &us,
        &mx,
        "a session part under no proposal",
        sealed(&us, &part(ProposalId::generate(), 0, 0, 1, payload())),
        409,
        "state",
    )
    .await;
    refused(
        &us,
        &mx,
        "a part beyond its step's count",
        sealed(&us, &part(matching.id, 0, 2, 2, payload())),
        400,
        "malformed_body",
    )
    .await;
    refused(
        &us,
        &mx,
        "a step of more parts than may be waited for",
        sealed(
            &us,
            &part(
                matching.id,
                0,
                0,
                soberana_node::sessions::MAX_PARTS + 1,
                payload(),
            ),
        ),
        400,
        "session_parts",
    )
    .await;
    // A part is taken once; the same part in another envelope is refused.
    let (status, body) = us
        .send_raw(
            party("MX"),
            sealed(&us, &part(matching.id, 0, 0, 2, payload())),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    refused(
        &us,
        &mx,
        "a repeated part",
        sealed(&us, &part(matching.id, 0, 0, 2, payload())),
        409,
        "repeated_part",
    )
    .await;

    // Witnessing: a checkpoint not signed by the pinned log key, then a
    // stale old size once something is cosigned.
    let stranger =
        NoteSigner::from_seed(&log_origin(party("US")), SignatureType::Ed25519, &[7; 32]).unwrap();
    let forged = SignedCheckpoint::sign(
        Checkpoint::new(stranger.name(), 1, hash_leaf(b"f")).unwrap(),
        &stranger,
    )
    .unwrap()
    .to_text();
    refused(
        &us,
        &mx,
        "a checkpoint signed by another key",
        sealed(&us, &add_checkpoint(0, forged)),
        403,
        "checkpoint_signature",
    )
    .await;
    let (status, body) = us
        .send_raw(
            party("MX"),
            sealed(&us, &add_checkpoint(0, us_checkpoint(&us, 1, b"a"))),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    refused(
        &us,
        &mx,
        "a stale old size",
        sealed(&us, &add_checkpoint(0, us_checkpoint(&us, 2, b"b"))),
        409,
        "old_size",
    )
    .await;

    // Cosignatures: of a checkpoint never issued, and a second valid one.
    let ours = mx.checkpoint_and_request_cosignatures().unwrap();
    let witness = NoteSigner::from_seed(
        &witness_name(party("US")),
        SignatureType::CosignatureV1,
        &us.signing_key_for_tests().seed(),
    )
    .unwrap();
    let cosign = |size: u64, at: u64| {
        Body::Cosignature(CosignatureReply {
            origin: log_origin(party("MX")),
            size,
            line: ours
                .cosign(&witness, at)
                .unwrap()
                .to_line()
                .trim_end()
                .to_owned(),
        })
    };
    let size = ours.checkpoint().size();
    refused(
        &us,
        &mx,
        "a cosignature of a checkpoint never issued",
        sealed(&us, &cosign(size + 5, 1_000)),
        400,
        "cosignature",
    )
    .await;
    let taken = next_sequence();
    let (status, body) = us
        .send_raw(party("MX"), seal(&us, taken, &cosign(size, 1_000)))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    refused(
        &us,
        &mx,
        "a second valid cosignature",
        sealed(&us, &cosign(size, 2_000)),
        409,
        "conflict",
    )
    .await;

    // Header times and sequence numbers.
    let now = Timestamp::now().unix_millis();
    let at = |sequence: u64, millis: i64| {
        SealedEnvelope::seal(
            &us.signing_key_for_tests(),
            party("US"),
            party("MX"),
            sequence,
            Timestamp::from_unix_millis(millis),
            &part(ProposalId::generate(), 0, 0, 1, payload()),
        )
        .bytes()
        .to_vec()
    };
    refused(
        &us,
        &mx,
        "a time an hour ahead",
        at(next_sequence(), now + 3_600_000),
        400,
        "time_ahead",
    )
    .await;
    refused(
        &us,
        &mx,
        "a time a year ago",
        at(next_sequence(), now - 365 * 24 * 3_600_000),
        400,
        "too_old",
    )
    .await;
    refused(
        &us,
        &mx,
        "a sequence number used before",
        at(taken, now),
        409,
        "sequence_reused",
    )
    .await;
    refused(
        &us,
        &mx,
        "a time an hour before an earlier number's",
        at(next_sequence() + 10, now - 3_600_000),
        409,
        "conflict",
    )
    .await;

    assert!(health(&us).await, "MX stopped answering");
    audit(&mx);
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_messages_beyond_a_proposals_quota_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| {
        limits.max_step_bytes = 4096;
        limits.max_session_bytes = 8192;
    });
    let mx_run = mx.start().await.unwrap();
    let matching = propose(&us, &mx, "us-identifier-match.toml").await;
    let send = |step: u32, n: u32, bytes: usize| {
        sealed(&us, &part(matching.id, step, n, 3, "A".repeat(bytes)))
    };
    let taken = us.send_raw(party("MX"), send(0, 0, 3000)).await.unwrap();
    assert_eq!(taken.0, 200, "{}", taken.1);
    refused(
        &us,
        &mx,
        "a step over its quota",
        send(0, 1, 3000),
        413,
        "quota",
    )
    .await;
    let taken = us.send_raw(party("MX"), send(0, 1, 1000)).await.unwrap();
    assert_eq!(taken.0, 200, "{}", taken.1);
    let taken = us.send_raw(party("MX"), send(2, 0, 4000)).await.unwrap();
    assert_eq!(taken.0, 200, "{}", taken.1);
    refused(
        &us,
        &mx,
        "a proposal over its quota",
        send(4, 0, 1000),
        413,
        "quota",
    )
    .await;
    // What was stored is what was taken: two parts of step 0, one of step 2.
    assert_eq!(
        mx.store_for_tests()
            .session_step(matching.id, party("US"), 0)
            .unwrap(),
        Some((3, 2))
    );
    assert_eq!(
        mx.store_for_tests()
            .session_step(matching.id, party("US"), 4)
            .unwrap(),
        None
    );
    assert!(health(&us).await, "MX stopped answering");
    audit(&mx);
    mx_run.stop().await;
}

/// Waits up to 20 s for `check` to hold, asking it again and again.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Whether the node closed `stream`: a read ends (or fails) within 20 s.
async fn closed_by_node<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_before_the_handshake_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| {
        limits.handshake_timeout_ms = 300;
        limits.max_handshakes_per_address = 4;
    });
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);
    // Two hundred connections that never show a certificate.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(mx_run.addr).await.unwrap());
    }
    for (i, stream) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_node(stream).await,
            "idle connection {i} was kept open"
        );
    }
    until("MX answers the partner again", || health(&us)).await;
    assert_eq!(holdings(&mx), before, "an idle connection wrote something");
    audit(&mx);
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_after_the_handshake_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| {
        limits.header_timeout_ms = 300;
    });
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);
    // Connections with the pinned certificate that then say nothing.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(us.connect_raw(party("MX")).await.unwrap());
    }
    for (i, stream) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_node(stream).await,
            "idle connection {i} was kept open"
        );
    }
    // Headers trickled a byte at a time never end.
    let mut slow = us.connect_raw(party("MX")).await.unwrap();
    slow.write_all(b"POST /v1/envelopes HTTP/1.1\r\nx-slow: ")
        .await
        .unwrap();
    let trickle = async {
        loop {
            if slow.write_all(b"a").await.is_err() || slow.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(20), trickle)
            .await
            .is_ok(),
        "trickled headers held the connection"
    );
    assert!(health(&us).await, "MX stopped answering");
    assert_eq!(holdings(&mx), before, "an idle connection wrote something");
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_holding_too_many_connections_gets_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| {
        limits.max_connections_per_partner = 4;
        limits.header_timeout_ms = 60_000;
    });
    let mx_run = mx.start().await.unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(us.connect_raw(party("MX")).await.unwrap());
    }
    // The fifth is closed at once (the header timeout is a minute away).
    let mut fifth = us.connect_raw(party("MX")).await.unwrap();
    assert!(
        closed_by_node(&mut fifth).await,
        "a fifth connection was served"
    );
    drop(held);
    until("MX answers the partner once it lets go", || health(&us)).await;
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_refused_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| {
        limits.body_timeout_ms = 300;
    });
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);
    let mut tls = us.connect_raw(party("MX")).await.unwrap();
    tls.write_all(b"POST /v1/envelopes HTTP/1.1\r\nhost: mx\r\ncontent-length: 100000\r\n\r\n")
        .await
        .unwrap();
    let (mut read, mut write) = tokio::io::split(tls);
    let trickle = tokio::spawn(async move {
        while write.write_all(b"SOBERANA").await.is_ok() && write.flush().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut answer)).await;
    trickle.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    let after = holdings(&mx);
    assert_eq!(
        after,
        Holdings {
            refusals: before.refusals + 1,
            log: before.log + 1,
            ..before
        },
        "more than the refusal was written"
    );
    assert!(health(&us).await, "MX stopped answering");
    audit(&mx);
    mx_run.stop().await;
}

/// How the rogue partner's own node answers MX's deliveries.
#[derive(Clone, Copy)]
enum Answer {
    /// A reply of a gigabyte, written as fast as MX reads it.
    Flood,
    /// A reply whose body comes one byte at a time, for ever.
    Trickle,
    /// A short JSON answer with this status.
    Status(u16),
}

/// What the rogue partner's node saw.
#[derive(Default)]
struct Seen {
    /// Envelopes posted to the rogue node.
    requests: AtomicUsize,
    /// Reply bytes written before MX stopped reading (or hung up).
    written: std::sync::Mutex<Vec<usize>>,
}

/// Plays the US node at its pinned address and certificate, answering
/// every delivery with `answer`.
async fn rogue_partner_node(
    dir: &Path,
    us: &Node,
    answer: Answer,
) -> (Arc<Seen>, tokio::task::JoinHandle<()>) {
    let identity =
        TlsIdentity::load(&dir.join("US/keys/tls.crt"), &dir.join("US/keys/tls.key")).unwrap();
    let key = rustls_pemfile::private_key(&mut identity.key_pem().as_bytes())
        .unwrap()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![identity.cert_der.clone().into()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(us.config().listen).await.unwrap();
    let seen = Arc::new(Seen::default());
    let shared = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // Read the request: headers, then the body by its length.
                let mut request = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                let head_end = loop {
                    let Ok(n) = tls.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    let Ok(n) = tls.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                // Deliveries are counted; a node's other asks (its health,
                // what it cosigned of our log) are answered the same way
                // but are not deliveries.
                if head.starts_with("post /v1/envelopes") {
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                }
                let mut written = 0usize;
                match answer {
                    Answer::Flood => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n";
                        if tls.write_all(head.as_bytes()).await.is_ok() {
                            let chunk = vec![b'x'; 64 * 1024];
                            while written < 1 << 30 && tls.write_all(&chunk).await.is_ok() {
                                written += chunk.len();
                            }
                        }
                    }
                    Answer::Trickle => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n";
                        if tls.write_all(head.as_bytes()).await.is_ok() {
                            while tls.write_all(b"x").await.is_ok() && tls.flush().await.is_ok() {
                                written += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                    Answer::Status(status) => {
                        let body = format!(
                            r#"{{"error":"not taken \u001b[31mhere\u001b[0m","code":"rogue_{status}"}}"#
                        );
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(reply.as_bytes()).await;
                        let _ = tls.flush().await;
                    }
                }
                seen.written.lock().unwrap().push(written);
            });
        }
    });
    (seen, task)
}

/// MX's undelivered envelopes to the US: (attempts, count).
fn undelivered(mx: &Node) -> Vec<u32> {
    mx.store_for_tests()
        .due_deliveries(Timestamp::from_unix_millis(i64::MAX), 1000)
        .unwrap()
        .into_iter()
        .map(|d| d.attempts)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_a_reply_is_cut_at_the_reply_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let (seen, rogue) = rogue_partner_node(dir.path(), &us, Answer::Flood).await;
    let mx_run = mx.start().await.unwrap();
    mx.checkpoint_and_request_cosignatures().unwrap();
    until("MX hangs up on the flood", || async {
        !seen.written.lock().unwrap().is_empty()
    })
    .await;
    let written = seen.written.lock().unwrap()[0];
    // MX reads at most 64 KiB of a reply; what else was written sat in the
    // two sockets' buffers when it hung up.
    assert!(written < 32 << 20, "MX read {written} bytes of a reply");
    // The rogue notes what it wrote as MX hangs up; MX records the failed
    // attempt a moment later.
    until("the delivery is retried", || async {
        undelivered(&mx).iter().all(|&a| a >= 1)
    })
    .await;
    assert!(health(&us).await, "MX stopped answering");
    rogue.abort();
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_reply_is_cut_at_the_delivery_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| limits.delivery_timeout_ms = 300);
    let (seen, rogue) = rogue_partner_node(dir.path(), &us, Answer::Trickle).await;
    let mx_run = mx.start().await.unwrap();
    mx.checkpoint_and_request_cosignatures().unwrap();
    until("MX hangs up on the trickle", || async {
        !seen.written.lock().unwrap().is_empty()
    })
    .await;
    until("the delivery is marked failed", || async {
        undelivered(&mx).iter().any(|&a| a >= 1)
    })
    .await;
    rogue.abort();
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_refusal_is_recorded_and_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let (seen, rogue) = rogue_partner_node(dir.path(), &us, Answer::Status(422)).await;
    let mx_run = mx.start().await.unwrap();
    mx.checkpoint_and_request_cosignatures().unwrap();
    until("MX records the refusal", || async {
        !mx.store_for_tests()
            .refused_deliveries(10)
            .unwrap()
            .is_empty()
    })
    .await;
    let refused = mx.store_for_tests().refused_deliveries(10).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].kind, "checkpoint");
    assert!(
        refused[0].reason.starts_with("422"),
        "{}",
        refused[0].reason
    );
    assert!(
        refused[0].reason.contains("rogue_422"),
        "{}",
        refused[0].reason
    );
    assert!(
        !refused[0].reason.contains('\u{1b}'),
        "the partner's escape codes were kept"
    );
    // Nothing is left to deliver: it will not be sent again; and it is not
    // counted among what the partner took.
    assert!(mx.store_for_tests().next_delivery_due().unwrap().is_none());
    assert!(
        !mx.store_for_tests()
            .exchanged(party("US"))
            .unwrap()
            .iter()
            .any(|e| e.envelope_id == refused[0].envelope_id),
        "a refused envelope is reported as delivered"
    );
    let ops = mx.store_for_tests().operations(Timestamp::now()).unwrap();
    assert_eq!(ops.outbox.get("US").map_or(0, |o| o.delivered), 0);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1);
    rogue.abort();
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_fault_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let (seen, rogue) = rogue_partner_node(dir.path(), &us, Answer::Status(503)).await;
    let mx_run = mx.start().await.unwrap();
    mx.checkpoint_and_request_cosignatures().unwrap();
    until("MX sends it again", || async {
        seen.requests.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(
        mx.store_for_tests()
            .refused_deliveries(10)
            .unwrap()
            .is_empty()
    );
    assert!(mx.store_for_tests().next_delivery_due().unwrap().is_some());
    rogue.abort();
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_partner_stops_sending_ends_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |limits| limits.session_idle_timeout_ms = 300);
    let mx_run = mx.start().await.unwrap();
    let matching = propose(&us, &mx, "us-identifier-match.toml").await;
    // One part of a two-part first step, and then nothing.
    let (status, body) = us
        .send_raw(
            party("MX"),
            sealed(&us, &part(matching.id, 0, 0, 2, "AAAA".into())),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    until("MX ends the session and tells the partner", || async {
        mx.store_for_tests()
            .sent_envelopes(matching.id)
            .unwrap()
            .iter()
            .any(|(_, kind)| kind == "session")
    })
    .await;
    assert!(health(&us).await, "MX stopped answering");
    audit(&mx);
    mx_run.stop().await;
}
