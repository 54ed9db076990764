//! A slow batch: `POST /v1/envelopes/batch` is bounded in time like a
//! single envelope. A pinned partner that sends a batch's headers and then
//! trickles its body (a few bytes at a time, framed by its length or in
//! chunks), is answered `408` (or cut) once `limits.body_timeout_ms` has
//! passed; one that declares a body over the limit is refused `413` for
//! its declared size before any of it is read; nothing of the batch
//! is stored but the refusal, and the node takes other envelopes from the
//! same partner meanwhile.
//!
//! The body timeout is set small in MX's configuration so that the
//! slowness is met in a fraction of a second; the generous waits below only
//! stop a broken node from hanging the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::party;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use soberana_core::{Proposal, ProposalDraft, Timestamp};
use soberana_node::{Node, NodeConfig, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_wire::{Body, encode_batch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The body timeout MX runs with here.
const BODY_TIMEOUT_MS: u64 = 300;

/// How long a reply may take before the test calls the node unbounded.
const GIVE_UP: Duration = Duration::from_secs(20);

/// Accepts every proposal.
struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &"66".repeat(32))
    }
    fn digest(&self) -> String {
        "66".repeat(32)
    }
}

/// MX (with a short body timeout) and US, pinned to each other.
fn pair(dir: &Path) -> (Node, Node) {
    drop(support::pair(dir, || Arc::new(AcceptAll)));
    let path = dir.join("MX/node.toml");
    let mut config: NodeConfig = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config.limits.body_timeout_ms = BODY_TIMEOUT_MS;
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let open = |code: &str| Node::open(&dir.join(code), Arc::new(AcceptAll)).unwrap();
    (open("MX"), open("US"))
}

/// A fresh US proposal, as its node would make it.
fn proposal() -> Proposal {
    let path = format!(
        "{}/../../examples/proposals/us-border-alert.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = Timestamp::now().plus_seconds(3600);
    Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap()
}

/// `proposal` sealed by US to MX under a fresh sequence number.
fn sealed(us: &Node, proposal: &Proposal) -> Vec<u8> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
    (us.sealer())(party("MX"), sequence, &Body::Proposal(proposal.clone()))
        .bytes()
        .to_vec()
}

/// What MX holds that a request could have written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holdings {
    proposals: usize,
    refusals: usize,
    log: u64,
}

fn holdings(node: &Node) -> Holdings {
    Holdings {
        proposals: node.list(None, vec![]).unwrap().len(),
        refusals: node.store_for_tests().refusals(100_000).unwrap().len(),
        log: node.store_for_tests().log_size().unwrap(),
    }
}

/// How a slow request frames its body.
#[derive(Clone, Copy, Debug)]
enum Framing {
    /// `content-length` of the true body, trickled.
    Length,
    /// `transfer-encoding: chunked`, one small chunk at a time.
    Chunked,
    /// `content-length` far past what is sent (and past the batch limit):
    /// a little is sent, then nothing.
    Inflated,
}

/// Sends `body` as a batch over US's pinned mutual TLS, slowly as `framing`
/// says, and returns what MX answered before closing (empty if it cut the
/// connection without a word). Panics if MX neither answers nor closes.
async fn slow_batch(us: &Node, body: Vec<u8>, framing: Framing) -> String {
    slow_post(us, "/v1/envelopes/batch", body, framing).await
}

/// Sends `body` to MX's `path` as [`slow_batch`] does.
async fn slow_post(us: &Node, path: &str, body: Vec<u8>, framing: Framing) -> String {
    let tls = us.connect_raw(party("MX")).await.unwrap();
    let (mut read, mut write) = tokio::io::split(tls);
    let length = match framing {
        Framing::Length => format!("content-length: {}\r\n", body.len()),
        Framing::Chunked => "transfer-encoding: chunked\r\n".to_owned(),
        Framing::Inflated => "content-length: 1000000000000\r\n".to_owned(),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: mx\r\ncontent-type: application/octet-stream\r\n{length}\r\n"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    write.flush().await.unwrap();
    let trickle = tokio::spawn(async move {
        match framing {
            Framing::Inflated => {
                let _ = write.write_all(&body[..body.len().min(64)]).await;
                let _ = write.flush().await;
                // Then nothing, with the connection held open.
                std::future::pending::<()>().await;
            }
            Framing::Length | Framing::Chunked => {
                for piece in body.chunks(4) {
                    let bytes = match framing {
                        Framing::Chunked => {
                            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                            chunk.extend_from_slice(piece);
                            chunk.extend_from_slice(b"\r\n");
                            chunk
                        }
                        _ => piece.to_vec(),
                    };
                    if write.write_all(&bytes).await.is_err() || write.flush().await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(BODY_TIMEOUT_MS / 6)).await;
                }
                // The whole body took far longer than the timeout; if the
                // node is still reading, the end arrives too.
                if matches!(framing, Framing::Chunked) {
                    let _ = write.write_all(b"0\r\n\r\n").await;
                }
                std::future::pending::<()>().await;
            }
        }
    });
    let mut answer = Vec::new();
    let ended = tokio::time::timeout(GIVE_UP, read.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(
        ended.is_ok(),
        "{framing:?}: MX held a slow batch open without answering or closing"
    );
    String::from_utf8_lossy(&answer).into_owned()
}

/// A slow batch, of `framing`, holding one good envelope: refused with
/// `408` (or cut), nothing of it stored but the refusal, while a good
/// envelope sent alone at the same time is taken.
async fn a_slow_batch_is_cut_and_the_node_serves_meanwhile(framing: Framing) {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);

    let slow = proposal();
    let batch = encode_batch(&[sealed(&us, &slow)]);
    // Far longer than the timeout to send whole at this pace.
    assert!(
        batch.len() as u64 / 4 * (BODY_TIMEOUT_MS / 6) > 4 * BODY_TIMEOUT_MS,
        "the batch is too small to be trickled past the timeout"
    );
    let alone = proposal();
    let alone_bytes = sealed(&us, &alone);
    let sender = us.clone();
    let meanwhile = tokio::spawn(async move {
        // Sent once the slow batch is under way.
        tokio::time::sleep(Duration::from_millis(BODY_TIMEOUT_MS / 3)).await;
        sender.send_raw(party("MX"), alone_bytes).await.unwrap()
    });

    let answer = slow_batch(&us, batch, framing).await;
    let (status, reply) = meanwhile.await.unwrap();
    assert_eq!(status, 200, "{framing:?}: the envelope sent alone: {reply}");
    assert!(reply.contains("proposal_created"), "{reply}");

    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{framing:?}: {answer}"
    );
    if !answer.is_empty() {
        assert!(answer.contains("body_timeout"), "{framing:?}: {answer}");
    }
    assert!(mx.show(alone.id).is_ok(), "the envelope sent alone is held");
    assert!(
        mx.show(slow.id).is_err(),
        "{framing:?}: the slow batch's envelope was taken"
    );
    let after = holdings(&mx);
    assert_eq!(
        after.proposals,
        before.proposals + 1,
        "{framing:?}: only the envelope sent alone made a proposal"
    );
    assert_eq!(
        after.refusals,
        before.refusals + usize::from(!answer.is_empty()),
        "{framing:?}: the slow batch's refusal is recorded (and nothing else refused)"
    );
    // And the node still answers the partner on a new connection.
    let again = proposal();
    let (status, reply) = us.send_raw(party("MX"), sealed(&us, &again)).await.unwrap();
    assert_eq!(status, 200, "{framing:?}: {reply}");
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_batch_is_refused_at_the_body_timeout() {
    a_slow_batch_is_cut_and_the_node_serves_meanwhile(Framing::Length).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_chunked_batch_is_refused_at_the_body_timeout() {
    a_slow_batch_is_cut_and_the_node_serves_meanwhile(Framing::Chunked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_declaring_more_than_it_sends_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);
    let slow = proposal();
    let answer = slow_batch(&us, encode_batch(&[sealed(&us, &slow)]), Framing::Inflated).await;
    // Refused for what it declares, before the body timeout: a `408
    // body_timeout` would mean the node waited for bytes it had no
    // reason to take.
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("batch_too_large"), "{answer}");
    assert!(mx.show(slow.id).is_err(), "the batch's envelope was taken");
    let after = holdings(&mx);
    assert_eq!(after.proposals, before.proposals, "a proposal was made");
    assert_eq!(
        after.refusals,
        before.refusals + 1,
        "the refusal is recorded"
    );
    let again = proposal();
    let (status, reply) = us.send_raw(party("MX"), sealed(&us, &again)).await.unwrap();
    assert_eq!(status, 200, "{reply}");
    mx_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_declaring_more_than_the_limit_is_refused_for_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let mx_run = mx.start().await.unwrap();
    let before = holdings(&mx);
    let slow = proposal();
    let answer = slow_post(&us, "/v1/envelopes", sealed(&us, &slow), Framing::Inflated).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("too_large"), "{answer}");
    assert!(mx.show(slow.id).is_err(), "the envelope was taken");
    let after = holdings(&mx);
    assert_eq!(after.proposals, before.proposals, "a proposal was made");
    assert_eq!(
        after.refusals,
        before.refusals + 1,
        "the refusal is recorded"
    );
    mx_run.stop().await;
}
