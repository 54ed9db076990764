//! Identifier matches between two real nodes on loopback: the hits are
//! exactly the plain intersection (both protocols, and a count only with
//! `dh`); nothing runs before the partner accepts; a partner's malformed
//! protocol bytes end the session with a clear error; no identifier ever
//! appears in an envelope sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use soberana_core::{ProposalId, ProposalKind, ProposalState, Timestamp};
use soberana_ledger::LogEntry;
use soberana_node::sessions::{
    ABORT_STEP, IdentifierRequest, MatchResult, RequestContext, match_result,
};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_psi::{IdentifierKind, Protocol};
use soberana_store::SqliteStore;
use soberana_wire::{Body, SealedEnvelope, SessionMessage, UnverifiedEnvelope};

/// Allows matches, except those whose purpose asks for an officer.
struct MatchPolicy;

impl ProposalPolicy for MatchPolicy {
    fn evaluate(
        &self,
        proposal: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        let verdict = match proposal.kind() {
            ProposalKind::IdentifierMatch | ProposalKind::PersonMatch
                if !proposal.purpose.contains("officer") =>
            {
                Verdict::Allow { conditions: vec![] }
            }
            _ => Verdict::Review,
        };
        support::test_verdict(verdict, &"22".repeat(32))
    }
    fn digest(&self) -> String {
        "22".repeat(32)
    }
}

fn pair(dir: &Path) -> (Node, Node) {
    support::pair(dir, || Arc::new(MatchPolicy))
}

fn phones(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("phone:+525510{i:06}")).collect()
}

fn hold(node: &Node, kind: IdentifierKind, items: &[String]) {
    let path = node.holdings_path(kind);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Written the way an officer would: untagged, with spaces and a comment.
    let mut text = String::from("# holdings for partners' checks\n");
    for item in items {
        let value = item.split_once(':').unwrap().1;
        text.push_str(&format!("{} {}\n", &value[..3], &value[3..]));
    }
    std::fs::write(path, text).unwrap();
}

fn request(
    to: &str,
    items: Vec<String>,
    protocol: Protocol,
    count_only: bool,
) -> IdentifierRequest {
    IdentifierRequest {
        peer: party(to),
        kind: IdentifierKind::Phone,
        items,
        protocol,
        count_only,
        context: RequestContext::default(),
    }
}

fn log_entries(node: &Node) -> Vec<LogEntry> {
    let size = node.log_size().unwrap();
    node.log_leaves(0, size)
        .unwrap()
        .into_iter()
        .map(|leaf| LogEntry::decode(&leaf.entry).unwrap())
        .collect()
}

/// Every envelope `node` has queued to send, as bytes.
fn sent_bytes(node: &Node) -> Vec<Vec<u8>> {
    let path = node.dir().store_path(node.config());
    let conn = SqliteStore::raw_connection(&path).unwrap();
    let mut stmt = conn.prepare("SELECT bytes FROM outbox").unwrap();
    stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The session messages among `node`'s sent envelopes, verified with its key.
fn sent_sessions(node: &Node) -> Vec<SessionMessage> {
    sent_bytes(node)
        .iter()
        .filter_map(|bytes| {
            let envelope = UnverifiedEnvelope::parse(bytes, usize::MAX)
                .unwrap()
                .verify(&node.public_key())
                .unwrap();
            match envelope.body().unwrap() {
                Body::Session(m) => Some(m),
                _ => None,
            }
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// No identifier of `items`, in any spelling we use, is in what `node` sent:
/// neither in the envelopes' bytes nor in the decoded protocol payloads.
fn assert_no_plaintext(node: &Node, items: &[String]) {
    let envelopes = sent_bytes(node);
    let payloads: Vec<Vec<u8>> = sent_sessions(node)
        .iter()
        .map(|m| {
            base64::engine::general_purpose::STANDARD
                .decode(&m.payload)
                .unwrap()
        })
        .collect();
    assert!(!payloads.is_empty(), "{} sent no session", node.party());
    for item in items {
        let value = item.split_once(':').unwrap().1;
        let digits = value.trim_start_matches('+');
        for needle in [item.as_str(), value, digits, &digits[2..]] {
            for bytes in envelopes.iter().chain(&payloads) {
                assert!(
                    !contains(bytes, needle.as_bytes()),
                    "{} sent `{needle}` in the clear",
                    node.party()
                );
            }
        }
    }
}

async fn run_match(
    mx: &Node,
    us: &Node,
    asked: Vec<String>,
    protocol: Protocol,
    count_only: bool,
) -> (ProposalId, MatchResult) {
    let proposal = us
        .request_identifier_match(request("MX", asked, protocol, count_only))
        .unwrap();
    eventually("the US learns its result", || {
        state(us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let result = match_result(&us.show(proposal.id).unwrap()).unwrap();
    eventually("MX records the disclosure", || {
        !mx.show(proposal.id).unwrap().disclosures.is_empty()
    })
    .await;
    (proposal.id, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_are_exactly_the_plain_intersection_and_nothing_travels_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let held = phones(0..300);
    hold(&mx, IdentifierKind::Phone, &held);
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    // 40 of the 120 asked are held; the same list through both protocols.
    let asked = phones(260..380);
    let plain: BTreeSet<String> = asked.iter().filter(|a| held.contains(a)).cloned().collect();
    assert_eq!(plain.len(), 40);
    for protocol in [Protocol::Ot, Protocol::Dh] {
        let (id, result) = run_match(&mx, &us, asked.clone(), protocol, false).await;
        let MatchResult::Hits { hits, .. } = result else {
            panic!("{protocol}: expected hits, got {result:?}");
        };
        let hits: BTreeSet<String> = hits.into_iter().collect();
        assert_eq!(hits, plain, "{protocol}");

        let mx_detail = mx.show(id).unwrap();
        let disclosed: u64 = mx_detail.disclosures.iter().map(|(_, b)| *b).sum();
        assert!(disclosed > 0, "{protocol}: what left MX is recorded");
        assert_eq!(mx_detail.record.state, ProposalState::Accepted);
    }

    // A count only, with dh.
    let (_, result) = run_match(&mx, &us, asked.clone(), Protocol::Dh, true).await;
    assert!(
        matches!(result, MatchResult::Count { count: 40, .. }),
        "{result:?}"
    );

    // Each side logged each session: 3 on each side.
    for node in [&mx, &us] {
        let (protocols, sessions): (Vec<String>, Vec<(u64, u64)>) = log_entries(node)
            .into_iter()
            .filter_map(|e| match e {
                LogEntry::MatchSession {
                    protocol,
                    our_size,
                    their_size,
                    ..
                } => Some((protocol, (our_size, their_size))),
                _ => None,
            })
            .unzip();
        assert_eq!(
            protocols,
            ["ot-psi", "dh-psi", "dh-psi"],
            "{}",
            node.party()
        );
        assert_eq!(sessions.len(), 3, "{} match sessions logged", node.party());
        if node.party() == mx.party() {
            assert!(sessions.iter().all(|&s| s == (300, 120)), "{sessions:?}");
        } else {
            assert!(
                sessions.iter().all(|&(ours, _)| ours == 120),
                "{sessions:?}"
            );
        }
    }
    let disclosures = log_entries(&mx)
        .into_iter()
        .filter(|e| matches!(e, LogEntry::Disclosure { .. }))
        .count();
    // dh: one reply; ot: base reply and values.
    assert_eq!(disclosures, 2 + 1 + 1);

    assert_no_plaintext(&us, &asked);
    assert_no_plaintext(&mx, &held);
    // The requester's kept list is gone once the session is over.
    assert!(
        !us.dir()
            .root()
            .join("data/requests")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "json")),
        "a finished request's list is removed"
    );
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_runs_before_the_partner_accepts_and_early_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    hold(&mx, IdentifierKind::Phone, &phones(0..50));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    let mut asking = request("MX", phones(0..20), Protocol::Dh, false);
    asking.context.purpose = "needs an officer".into();
    let proposal = us.request_identifier_match(asking).unwrap();
    eventually("MX sends it to an officer", || {
        state(&mx, proposal.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    // Give the session tasks time to do something wrong.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        sent_sessions(&us).is_empty(),
        "the US sent protocol messages before MX decided"
    );

    // A session message forged for that proposal, and one for a proposal MX
    // never saw, are both refused and stored nowhere.
    for target in [proposal.id, ProposalId::generate()] {
        let forged = SealedEnvelope::seal(
            &us.signing_key_for_tests(),
            us.party(),
            mx.party(),
            1_000_000,
            Timestamp::now(),
            &Body::Session(SessionMessage {
                proposal_id: target,
                step: 0,
                part: 0,
                parts: 1,
                payload: "EQE=".into(),
            }),
        );
        let (status, body) = us
            .send_raw(mx.party(), forged.bytes().to_vec())
            .await
            .unwrap();
        assert_ne!(status, 200, "a session before acceptance was taken: {body}");
        assert!(
            mx.session_messages(target, us.party(), 0)
                .unwrap()
                .is_empty()
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let detail = mx.show(proposal.id).unwrap();
    assert!(detail.disclosures.is_empty(), "MX computed nothing");
    assert!(sent_sessions(&mx).is_empty(), "MX sent nothing");
    assert_eq!(detail.record.state, ProposalState::AwaitingOfficer);
    mx_run.stop().await;
    us_run.stop().await;
}

/// Envelopes `node` queued of one kind, oldest first.
fn queued(node: &Node, kind: &str) -> Vec<Vec<u8>> {
    let path = node.dir().store_path(node.config());
    let conn = SqliteStore::raw_connection(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT bytes FROM outbox WHERE kind = ?1 ORDER BY created, sequence")
        .unwrap();
    stmt.query_map([kind], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protocol_bytes_from_the_partner_end_the_session_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    // Only the US runs; MX's side is played by hand, as a faulty partner would.
    let us_run = us.start().await.unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let cases: Vec<(&str, Vec<SessionMessage>)> = vec![
        (
            "not a protocol message",
            vec![SessionMessage {
                proposal_id: ProposalId::generate(),
                step: 1,
                part: 0,
                parts: 1,
                payload: b64(b"garbage"),
            }],
        ),
        (
            "a dh reply cut short",
            vec![SessionMessage {
                proposal_id: ProposalId::generate(),
                step: 1,
                part: 0,
                parts: 1,
                payload: b64(&[0x12, 0x01, 0xff]),
            }],
        ),
        (
            "parts that disagree",
            vec![
                SessionMessage {
                    proposal_id: ProposalId::generate(),
                    step: 1,
                    part: 0,
                    parts: 2,
                    payload: b64(&[0x12]),
                },
                SessionMessage {
                    proposal_id: ProposalId::generate(),
                    step: 1,
                    part: 1,
                    parts: 3,
                    payload: b64(&[0x01]),
                },
            ],
        ),
    ];
    let mut sequence = 1_000_000;
    for (what, messages) in cases {
        let proposal = us
            .request_identifier_match(request("MX", phones(0..10), Protocol::Dh, false))
            .unwrap();
        for bytes in queued(&us, "proposal") {
            let _ = mx.intake(&bytes, None);
        }
        for bytes in queued(&mx, "decision") {
            let _ = us.intake(&bytes, None);
        }
        assert_eq!(state(&us, proposal.id), Some(ProposalState::Accepted));
        eventually("the US starts its session", || {
            sent_sessions(&us)
                .iter()
                .any(|m| m.proposal_id == proposal.id && m.step == 0)
        })
        .await;
        for mut message in messages {
            message.proposal_id = proposal.id;
            sequence += 1;
            let envelope = SealedEnvelope::seal(
                &mx.signing_key_for_tests(),
                mx.party(),
                us.party(),
                sequence,
                Timestamp::now(),
                &Body::Session(message),
            );
            us.intake(envelope.bytes(), None).unwrap();
        }
        eventually(what, || {
            state(&us, proposal.id) == Some(ProposalState::Answered)
        })
        .await;
        let result = match_result(&us.show(proposal.id).unwrap()).unwrap();
        let MatchResult::Failed { reason } = result else {
            panic!("{what}: expected a failure, got {result:?}");
        };
        assert!(
            reason.contains("malformed") || reason.contains("part"),
            "{what}: {reason}"
        );
        assert!(
            sent_sessions(&us)
                .iter()
                .any(|m| m.proposal_id == proposal.id && m.step == ABORT_STEP),
            "{what}: the partner is told the session ended"
        );
    }
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_larger_than_accepted_is_not_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    hold(&mx, IdentifierKind::Phone, &phones(0..50));
    let mx_run = mx.start().await.unwrap();
    // The US proposes a set of 10 but its kept list holds 30 (changed before
    // its node runs): MX must see 30 asked and answer nothing.
    let proposal = us
        .request_identifier_match(request("MX", phones(0..10), Protocol::Dh, false))
        .unwrap();
    let kept = us
        .dir()
        .root()
        .join(format!("data/requests/{}.json", proposal.id));
    let text = std::fs::read_to_string(&kept).unwrap();
    let more: Vec<String> = phones(0..30);
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["what"]["items"] = serde_json::json!(more);
    std::fs::write(&kept, value.to_string()).unwrap();
    let us_run = us.start().await.unwrap();
    eventually("the US learns the session ended", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let result = match_result(&us.show(proposal.id).unwrap()).unwrap();
    let MatchResult::Failed { reason } = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert!(
        reason.contains("30 items where 10 were accepted"),
        "{reason}"
    );
    assert!(mx.show(proposal.id).unwrap().disclosures.is_empty());
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_is_answered_with_an_abort_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    hold(&mx, IdentifierKind::Phone, &phones(0..50));
    // Only MX runs; the US side is played by hand, as a faulty partner would.
    let mx_run = mx.start().await.unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut sequence = 2_000_000;
    for (what, payload) in [
        ("garbage", b64(b"not a psi message")),
        ("an empty message", String::new()),
        (
            "a dh query with a bad count",
            b64(&[0x11, 0x01, 0xff, 0xff, 0xff, 0xff]),
        ),
        ("an ot hello cut short", b64(&[0x21, 0x01, 0x00])),
    ] {
        let proposal = us
            .request_identifier_match(request("MX", phones(0..10), Protocol::Dh, false))
            .unwrap();
        for bytes in queued(&us, "proposal") {
            let _ = mx.intake(&bytes, None);
        }
        assert_eq!(state(&mx, proposal.id), Some(ProposalState::Accepted));
        sequence += 1;
        let envelope = SealedEnvelope::seal(
            &us.signing_key_for_tests(),
            us.party(),
            mx.party(),
            sequence,
            Timestamp::now(),
            &Body::Session(SessionMessage {
                proposal_id: proposal.id,
                step: 0,
                part: 0,
                parts: 1,
                payload,
            }),
        );
        mx.intake(envelope.bytes(), None).unwrap();
        eventually(what, || {
            sent_sessions(&mx)
                .iter()
                .any(|m| m.proposal_id == proposal.id && m.step == ABORT_STEP)
        })
        .await;
        let replies: Vec<u32> = sent_sessions(&mx)
            .iter()
            .filter(|m| m.proposal_id == proposal.id)
            .map(|m| m.step)
            .collect();
        assert_eq!(replies, [ABORT_STEP], "{what}: MX sent only the abort");
        assert!(
            mx.show(proposal.id).unwrap().disclosures.is_empty(),
            "{what}: nothing was disclosed"
        );
    }
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cut_by_a_restart_ends_with_a_reason_and_is_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let proposal = us
        .request_identifier_match(request("MX", phones(0..10), Protocol::Dh, false))
        .unwrap();
    for bytes in queued(&us, "proposal") {
        let _ = mx.intake(&bytes, None);
    }
    for bytes in queued(&mx, "decision") {
        let _ = us.intake(&bytes, None);
    }
    let us_run = us.start().await.unwrap();
    eventually("the US starts its session", || {
        sent_sessions(&us)
            .iter()
            .any(|m| m.proposal_id == proposal.id && m.step == 0)
    })
    .await;
    us_run.stop().await;
    // The one-time secrets of the first run are gone with it.
    let us_run = us.start().await.unwrap();
    eventually("the US ends the session", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let Some(MatchResult::Failed { reason }) = match_result(&us.show(proposal.id).unwrap()) else {
        panic!("expected a failure");
    };
    assert!(reason.contains("interrupted"), "{reason}");
    let first_steps = sent_sessions(&us)
        .iter()
        .filter(|m| m.proposal_id == proposal.id && m.step == 0)
        .count();
    assert_eq!(first_steps, 1, "the first step is not sent again");
    assert!(
        sent_sessions(&us)
            .iter()
            .any(|m| m.proposal_id == proposal.id && m.step == ABORT_STEP),
        "the partner is told the session ended"
    );
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_holding_tells_the_partner_no_path_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let path = mx.holdings_path(IdentifierKind::Phone);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "+52 55 1234 5678\nnot a phone 12\n").unwrap();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us
        .request_identifier_match(request("MX", phones(0..3), Protocol::Dh, false))
        .unwrap();
    eventually("the US learns the session ended", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let result = match_result(&us.show(proposal.id).unwrap()).unwrap();
    let MatchResult::Failed { reason } = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert!(
        reason.contains("cannot read its phone holdings"),
        "{reason}"
    );
    let root = mx.dir().root().to_str().unwrap().to_owned();
    for needle in [root.as_str(), "phone.txt", "not a phone", "line 2"] {
        assert!(!reason.contains(needle), "`{needle}` in {reason}");
    }
    assert!(mx.show(proposal.id).unwrap().disclosures.is_empty());
    mx_run.stop().await;
    us_run.stop().await;
}
