//! `POST /v1/envelopes/batch`: several envelopes in one request, each
//! verified and judged on its own. A bad envelope refuses only itself; a
//! batch whose framing or size is wrong is refused whole and only the
//! refusal is stored; and the outbox, sending to a partner that refuses its
//! batches, sends the same envelopes one by one and loses none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use soberana_core::{Direction, Proposal, ProposalDraft, ProposalState, Timestamp};
use soberana_node::{Node, NodeConfig, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_wire::{Body, NodeKey, SealedEnvelope, encode_batch};

/// Accepts every proposal at once: each one makes one decision back.
struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &"44".repeat(32))
    }
    fn digest(&self) -> String {
        "44".repeat(32)
    }
}

/// MX and US, pinned to each other, with MX's configuration changed by `set`.
fn pair_with(dir: &Path, set: impl FnOnce(&mut NodeConfig)) -> (Node, Node) {
    drop(support::pair(dir, || Arc::new(AcceptAll)));
    let path = dir.join("MX/node.toml");
    let mut config: NodeConfig = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    set(&mut config);
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let open = |code: &str| Node::open(&dir.join(code), Arc::new(AcceptAll)).unwrap();
    (open("MX"), open("US"))
}

fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A fresh proposal from US, as its node would make it.
fn proposal() -> Proposal {
    let mut draft = example("us-border-alert.toml");
    draft.deadline = Timestamp::now().plus_seconds(3600);
    Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap()
}

/// Envelopes numbered as an honest sender would number them.
fn seal_with(key: &NodeKey, from: &str, to: &str, body: &Body) -> Vec<u8> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
    SealedEnvelope::seal(
        key,
        party(from),
        party(to),
        sequence,
        Timestamp::now(),
        body,
    )
    .bytes()
    .to_vec()
}

fn us_key(dir: &Path) -> NodeKey {
    soberana_node::load_signing_key(&dir.join("US/keys/signing.key")).unwrap()
}

fn incoming(node: &Node) -> usize {
    node.list(Some(Direction::Incoming), vec![]).unwrap().len()
}

/// The per-entry results of a batch reply, as (status, code).
fn results(body: &str) -> Vec<(u64, String)> {
    let reply: serde_json::Value = serde_json::from_str(body).unwrap();
    reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let code = r["code"]
                .as_str()
                .or(r["outcome"].as_str())
                .unwrap_or_default()
                .to_owned();
            (r["status"].as_u64().unwrap(), code)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_good_and_bad_envelopes_refuses_only_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |c| c.max_envelope_bytes = 16 * 1024);
    let mx_run = mx.start().await.unwrap();
    let key = us_key(dir.path());
    let first = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let second = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let forged = seal_with(
        &NodeKey::generate().unwrap(),
        "US",
        "MX",
        &Body::Proposal(proposal()),
    );
    let unknown_sender = {
        let mut p = proposal();
        p.from = party("GT");
        seal_with(&key, "GT", "MX", &Body::Proposal(p))
    };
    let wrong_recipient = seal_with(&key, "US", "CA", &Body::Proposal(proposal()));
    let oversized = vec![b'x'; 16 * 1024 + 1];
    let truncated = second[..second.len() - 10].to_vec();
    let garbage = b"GET / HTTP/1.1".to_vec();
    let batch = encode_batch(&[
        first.clone(),
        forged,
        unknown_sender,
        second,
        wrong_recipient,
        oversized,
        truncated,
        garbage,
        vec![],
    ]);

    let (status, body) = us.send_raw_batch(party("MX"), batch).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let expected: Vec<(u64, String)> = [
        (200, "proposal_created"),
        (403, "bad_signature"),
        (403, "unknown_sender"),
        (200, "proposal_created"),
        (421, "wrong_recipient"),
        (413, "too_large"),
        (400, "malformed"),
        (400, "malformed"),
        (400, "malformed"),
    ]
    .into_iter()
    .map(|(s, c)| (s, c.to_owned()))
    .collect();
    assert_eq!(results(&body), expected, "{body}");
    // The two genuine proposals were taken in; every other entry left only
    // its refusal behind.
    assert_eq!(incoming(&mx), 2);
    assert_eq!(mx.refusals(100).unwrap().len(), 7);

    // Sent again, alone or in a batch, the genuine envelope is a replay.
    let (status, body) = us
        .send_raw_batch(party("MX"), encode_batch(&[first]))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(results(&body), vec![(409, "duplicate".to_owned())]);
    assert_eq!(incoming(&mx), 2);
    mx_run.stop().await;
}

/// The entries of a batch are stored together, each on its own: a replay
/// between two fresh proposals is refused alone and both neighbours are
/// stored; an envelope twice in one batch is taken once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_between_fresh_proposals_refuses_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |_| {});
    let mx_run = mx.start().await.unwrap();
    let key = us_key(dir.path());
    let seen = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let (status, body) = us
        .send_raw_batch(party("MX"), encode_batch(std::slice::from_ref(&seen)))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(results(&body), vec![(200, "proposal_created".to_owned())]);
    assert_eq!(incoming(&mx), 1);
    let refusals = mx.refusals(100).unwrap().len();

    let first = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let last = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let (status, body) = us
        .send_raw_batch(party("MX"), encode_batch(&[first, seen, last]))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let expected: Vec<(u64, String)> = [
        (200, "proposal_created"),
        (409, "duplicate"),
        (200, "proposal_created"),
    ]
    .into_iter()
    .map(|(s, c)| (s, c.to_owned()))
    .collect();
    assert_eq!(results(&body), expected, "{body}");
    assert_eq!(
        incoming(&mx),
        3,
        "exactly the two fresh proposals were stored"
    );
    assert_eq!(mx.refusals(100).unwrap().len(), refusals + 1);

    let twice = seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let (status, body) = us
        .send_raw_batch(party("MX"), encode_batch(&[twice.clone(), twice]))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        results(&body),
        vec![
            (200, "proposal_created".to_owned()),
            (409, "duplicate".to_owned())
        ]
    );
    assert_eq!(incoming(&mx), 4);
    mx_run.stop().await;
}

/// Accepts a proposal only if every proposal it relates to is stored.
struct RelatedStored;

impl ProposalPolicy for RelatedStored {
    fn evaluate(&self, proposal: &Proposal, related: &[Proposal]) -> PolicyVerdict {
        let verdict = if related.len() == proposal.related_to.len() {
            Verdict::Allow { conditions: vec![] }
        } else {
            Verdict::Refuse
        };
        support::test_verdict(verdict, &"45".repeat(32))
    }
    fn digest(&self) -> String {
        "45".repeat(32)
    }
}

/// Entries are taken in order: a proposal relating to one earlier in its
/// batch is judged once that one is stored, so policy sees it.
#[test]
fn a_proposal_is_judged_after_the_one_it_relates_to_in_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(RelatedStored));
    let key = us_key(dir.path());
    let first = proposal();
    let mut draft = example("us-border-alert.toml");
    draft.deadline = Timestamp::now().plus_seconds(3600);
    draft.related_to = vec![first.id];
    let follow_up = Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap();
    let entries = [
        seal_with(&key, "US", "MX", &Body::Proposal(proposal())),
        seal_with(&key, "US", "MX", &Body::Proposal(first)),
        seal_with(&key, "US", "MX", &Body::Proposal(follow_up)),
    ];
    let dispositions: Vec<String> = mx
        .intake_batch(&entries, None)
        .into_iter()
        .map(|result| match result.unwrap() {
            soberana_node::IntakeOutcome::ProposalCreated { disposition, .. } => disposition,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(dispositions, ["accepted", "accepted", "accepted"]);
    assert_eq!(incoming(&mx), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_batch_is_refused_whole_and_only_the_refusal_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |c| c.limits.max_batch_envelopes = 3);
    let mx_run = mx.start().await.unwrap();
    let key = us_key(dir.path());
    let good = || seal_with(&key, "US", "MX", &Body::Proposal(proposal()));
    let whole = encode_batch(&[good(), good()]);
    let mut trailing = encode_batch(&[good()]);
    trailing.extend_from_slice(b"more");
    let mut lying_length = encode_batch(&[good()]);
    let at = b"SOBERANA-BATCH/1\n".len() + 4;
    lying_length[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let mut lying_count = encode_batch(&[good()]);
    lying_count[at - 4..at].copy_from_slice(&2u32.to_be_bytes());

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", whole[..whole.len() - 1].to_vec()),
        ("bytes after the last entry", trailing),
        ("an entry longer than the batch", lying_length),
        ("a count with no entry behind it", lying_count),
        (
            "over the count",
            encode_batch(&[good(), good(), good(), good()]),
        ),
        ("empty", encode_batch::<Vec<u8>>(&[])),
        ("an envelope without framing", good()),
        ("nothing", vec![]),
        ("garbage", b"GET / HTTP/1.1".to_vec()),
    ];
    for (n, (name, bytes)) in cases.into_iter().enumerate() {
        let (status, body) = us.send_raw_batch(party("MX"), bytes).await.unwrap();
        assert_eq!(status, 400, "{name}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["code"], "malformed_batch", "{name}: {body}");
        assert!(
            !error["error"].as_str().unwrap().is_empty(),
            "{name}: {body}"
        );
        assert_eq!(mx.refusals(100).unwrap().len(), n + 1, "{name}");
        assert_eq!(incoming(&mx), 0, "{name}: nothing in it was taken");
    }
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_batch_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair_with(dir.path(), |c| c.limits.max_batch_bytes = 8 * 1024);
    let mx_run = mx.start().await.unwrap();
    let key = us_key(dir.path());
    let envelopes: Vec<Vec<u8>> = (0..12)
        .map(|_| seal_with(&key, "US", "MX", &Body::Proposal(proposal())))
        .collect();
    let batch = encode_batch(&envelopes);
    assert!(batch.len() > 8 * 1024, "the batch must be over the bound");
    let (status, body) = us.send_raw_batch(party("MX"), batch).await.unwrap();
    assert_eq!(status, 413, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "batch_too_large", "{body}");
    assert_eq!(incoming(&mx), 0);
    assert_eq!(mx.refusals(100).unwrap().len(), 1);

    // Within the bound, the same envelopes are taken.
    let (status, body) = us
        .send_raw_batch(party("MX"), encode_batch(&envelopes[..2]))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(incoming(&mx), 2);
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_envelopes_go_in_batches_and_each_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    // Queued before the outbox runs, so its first read finds them all and
    // sends them together.
    let ids: Vec<_> = (0..40)
        .map(|_| {
            let mut draft = example("us-border-alert.toml");
            draft.deadline = Timestamp::now().plus_seconds(3600);
            us.propose(draft, None).unwrap().id
        })
        .collect();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    for id in &ids {
        let id = *id;
        eventually("US learns each decision", || {
            state(&us, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
    // Nothing was refused on either side: no duplicate, no batch refused.
    assert!(mx.refusals(1000).unwrap().is_empty());
    assert!(us.refusals(1000).unwrap().is_empty());
    assert_eq!(incoming(&mx), ids.len());
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_refuses_batches_gets_the_envelopes_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    // MX takes no batch of more than one envelope, as a node with smaller
    // bounds would; an older node answers `404` the same way.
    let (mx, us) = pair_with(dir.path(), |c| c.limits.max_batch_envelopes = 1);
    let ids: Vec<_> = (0..10)
        .map(|_| {
            let mut draft = example("us-border-alert.toml");
            draft.deadline = Timestamp::now().plus_seconds(3600);
            us.propose(draft, None).unwrap().id
        })
        .collect();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    for id in &ids {
        let id = *id;
        eventually("US learns each decision", || {
            state(&us, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
    // The batch was tried and refused whole (so nothing in it was judged),
    // and then every envelope went alone and was taken once.
    let refusals = mx.refusals(1000).unwrap();
    assert!(
        refusals
            .iter()
            .all(|r| r.reason.ends_with("(malformed_batch)")),
        "{refusals:?}"
    );
    assert!(!refusals.is_empty(), "the outbox never tried a batch");
    assert_eq!(incoming(&mx), ids.len());
    mx_run.stop().await;
    us_run.stop().await;
}
