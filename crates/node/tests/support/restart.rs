//! The restore, recovery and log restart scenario, shared by the SQLite
//! pair (`recovery.rs`) and a witness on PostgreSQL (`postgres_nodes.rs`):
//! MX is restored from a backup older than a checkpoint US cosigned.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use crate::support::{self, eventually, party, state};

use soberana_core::{PartyCode, ProposalDraft, ProposalState, Timestamp};
use soberana_ledger::{
    AddCheckpoint, Checkpoint, LogEntry, NoteSigner, SignatureType, SignedCheckpoint,
    verify_bundle_with,
};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict, log_origin};
use soberana_wire::{Body, CheckpointRequest, LogRestart};

/// Accepts every proposal.
pub struct AcceptAll;

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

/// MX, backed up, goes on and has a checkpoint cosigned by US; restored
/// from the backup it finds itself behind, refuses to sign, takes back what
/// US holds, sees an undeclared fork raise an alarm at US, declares the
/// restart, has it cosigned and signs checkpoints again; both logs verify
/// and show it, and forged, replayed or inflated declarations are refused.
pub async fn restored_node_recovers_and_restarts_its_log(dir: &Path, mx: Node, us: Node) {
    restored_node_restarts_its_log(dir, mx, us, false).await;
}

/// The same, with MX's first declaration failing in its store's
/// transaction: it leaves nothing (no entry logged again, no restart
/// entry, no checkpoint, no envelope), and the same declaration made again
/// completes and is cosigned.
pub async fn restored_node_restarts_its_log_after_a_failed_declaration(
    dir: &Path,
    mx: Node,
    us: Node,
) {
    restored_node_restarts_its_log(dir, mx, us, true).await;
}

async fn restored_node_restarts_its_log(dir: &Path, mx: Node, us: Node, first_fails: bool) {
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();

    let early = us.propose(draft("us-border-alert.toml"), None).unwrap().id;
    eventually("the first alert is accepted", || {
        state(&us, early) == Some(ProposalState::Accepted)
    })
    .await;
    mx.backup(&dir.join("backup")).unwrap();

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
    let abandoned = mx.checkpoint_and_request_cosignatures().unwrap();
    let abandoned_size = abandoned.checkpoint().size();
    eventually("US cosigns MX's checkpoint", || {
        !mx.cosignatures(Some(abandoned_size)).unwrap().is_empty()
    })
    .await;
    assert!(mx.check_log_against_partners().await.is_empty(), "in step");
    // A receipt US holds for one of its proposals, against the checkpoint
    // of the branch the restore will lose.
    let last_from_us = mx
        .store_for_tests()
        .exchanged(party("US"))
        .unwrap()
        .into_iter()
        .filter(|e| !e.sent && e.log_index.is_some_and(|i| i < abandoned_size))
        .max_by_key(|e| e.log_index)
        .unwrap();
    let receipt = mx
        .receipt_for(&last_from_us.envelope_id, party("US"))
        .unwrap();
    mx_run.stop().await;
    drop(mx);

    // MX is restored from the older backup.
    let restored = dir.join("MX-restored");
    soberana_node::restore(&dir.join("backup"), &restored, None).unwrap();
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

    // Without a declared restart, a checkpoint of MX's new branch is a fork
    // in US's eyes, as before: an alarm, nothing cosigned.
    let alarms_before = alarms(&us);
    let fork = mx.log().unwrap().sign_checkpoint().unwrap();
    mx.store_for_tests()
        .queue_messages(
            party("US"),
            vec![checkpoint_body(abandoned_size, fork.to_text(), None)],
            mx.sealer(),
        )
        .unwrap();
    let mx_run = mx.start().await.unwrap();
    eventually("US raises an alarm on the undeclared fork", || {
        alarms(&us) > alarms_before
    })
    .await;
    assert!(!mx.log_findings().is_empty(), "still refused");

    // The restart: declared, sent, checked and cosigned by US.
    let us_restarts = restarts(&us).len();
    if first_fails {
        let held = |n: &Node| {
            (
                n.store_for_tests().log_size().unwrap(),
                n.store_for_tests().checkpoints().unwrap(),
                n.store_for_tests()
                    .queued_envelope_ids(party("US"))
                    .unwrap(),
            )
        };
        let before = held(&mx);
        let failed = mx
            .restart_log_failing_in_the_store(party("US"), "restored from the backup")
            .await
            .unwrap_err();
        assert!(failed.to_string().contains("tree nodes"), "{failed}");
        assert_eq!(held(&mx), before, "a failed declaration wrote something");
        assert!(restarts(&mx).is_empty(), "a restart entry was logged");
        assert_eq!(
            log_entries(
                &mx,
                |e| matches!(e, LogEntry::EnvelopeSent(r) if recovered.ours_lost.contains(&r.envelope_id))
            ),
            0,
            "envelopes were logged again by a failed declaration"
        );
        assert!(!mx.log_findings().is_empty(), "still refused");
    }
    let proposed = mx
        .restart_log(
            party("US"),
            "restored from the backup taken before the outage",
        )
        .await
        .unwrap();
    assert_eq!(proposed.abandoned_size, abandoned_size);
    assert!(!proposed.resent);
    assert_eq!(
        proposed.reappended,
        recovered.ours_lost.len(),
        "every envelope MX sent that only US held is logged again: {proposed:?} / {recovered:?}"
    );
    assert_eq!(proposed.checkpoint_size, proposed.restored_size + 1);
    eventually("US acknowledges the restart and MX is ready again", || {
        mx.log_findings().is_empty()
    })
    .await;
    let witnessed = std::fs::read_to_string(restored.join("witnessed.json")).unwrap();
    let kept: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&witnessed).unwrap();
    let kept = SignedCheckpoint::verify(&kept["US"], &mx.log_key().unwrap()).unwrap();
    assert_eq!(
        kept.checkpoint().size(),
        proposed.checkpoint_size,
        "witnessed.json follows the new branch"
    );

    // Both logs show the restart, at the same place.
    let ours = restarts(&mx);
    let theirs = restarts(&us);
    assert_eq!(theirs.len(), us_restarts + 1);
    for (index, entry) in [ours.last().unwrap(), theirs.last().unwrap()] {
        let LogEntry::LogRestart {
            origin,
            abandoned_size: size,
            abandoned_root,
            restored_size,
            ..
        } = entry
        else {
            unreachable!()
        };
        assert_eq!(origin, &log_origin(party("MX")));
        assert_eq!(*size, abandoned_size);
        assert_eq!(abandoned_root, abandoned.checkpoint().root().as_bytes());
        assert_eq!(*restored_size, proposed.restored_size);
        assert!(*index >= proposed.restored_size.min(1));
    }
    assert_eq!(
        ours.last().unwrap().0,
        proposed.restored_size,
        "MX's own entry"
    );
    // The lost envelopes MX sent are in its log again.
    let relogged = log_entries(
        &mx,
        |e| matches!(e, LogEntry::EnvelopeSent(r) if recovered.ours_lost.contains(&r.envelope_id)),
    );
    assert_eq!(
        relogged,
        recovered.ours_lost.len(),
        "every envelope MX sent that only US held is in MX's log once"
    );

    // Checkpoints of the new branch are cosigned again.
    let next = mx.checkpoint_and_request_cosignatures().unwrap();
    let next_size = next.checkpoint().size();
    assert!(next_size > proposed.checkpoint_size);
    eventually("US cosigns the new branch", || {
        !mx.cosignatures(Some(next_size)).unwrap().is_empty()
    })
    .await;
    assert!(mx.check_log_against_partners().await.is_empty());
    assert_eq!(
        alarms(&us),
        alarms_before + 1,
        "the declared restart raised no alarm"
    );

    // Both logs verify; US keeps the abandoned branch's checkpoint, and the
    // receipt against it still verifies.
    mx.audit_log().unwrap().unwrap();
    us.audit_log().unwrap().unwrap();
    assert!(
        us.partner_checkpoints(party("MX"))
            .unwrap()
            .iter()
            .any(|c| c.status == "cosigned" && c.note == abandoned_note(&us, abandoned_size))
    );
    let mx_log_key = mx.log_key().unwrap();
    let us_witness = soberana_node::card_witness_key(&mx.peer(party("US")).unwrap()).unwrap();
    let verified = verify_bundle_with(&receipt, &[mx_log_key], &[us_witness]).unwrap();
    assert_eq!(verified.checkpoint.size(), abandoned_size);

    // Both transparency reports name the restart, the same way.
    let (from, to) = (
        Timestamp::from_unix_millis(0),
        Timestamp::now().plus_seconds(60),
    );
    let mx_report = mx.transparency_report(party("US"), from, to).unwrap();
    let us_report = us.transparency_report(party("MX"), from, to).unwrap();
    assert_eq!(mx_report.restarts.len(), 1, "{:?}", mx_report.restarts);
    assert_eq!(mx_report.restarts, us_report.restarts);
    assert_eq!(mx_report.restarts[0].party, "MX");
    assert_eq!(mx_report.restarts[0].restored_size, proposed.restored_size);
    assert_eq!(
        mx.log_restarts().unwrap().len(),
        1,
        "the node lists its restart"
    );

    mx_run.stop().await;
    us_run.stop().await;

    // A rogue MX (or a stale copy of the declaration) is refused, and US
    // records nothing but the refusal.
    refused_restarts(&mx, &us, abandoned_size);
}

/// How many alarms `us` raised on MX's log.
fn alarms(us: &Node) -> usize {
    us.partner_checkpoints(party("MX"))
        .unwrap()
        .iter()
        .filter(|c| c.status == "alarm")
        .count()
}

/// The cosigned checkpoint of MX's log of `size` US holds, as it holds it.
fn abandoned_note(us: &Node, size: u64) -> String {
    us.partner_checkpoints(party("MX"))
        .unwrap()
        .into_iter()
        .find(|c| c.status == "cosigned" && c.size == size)
        .unwrap()
        .note
}

/// Every restart entry of the node's log, with its index.
fn restarts(node: &Node) -> Vec<(u64, LogEntry)> {
    let size = node.store_for_tests().log_size().unwrap();
    node.store_for_tests()
        .log_leaves(0, size)
        .unwrap()
        .iter()
        .enumerate()
        .filter_map(|(i, leaf)| match LogEntry::decode(&leaf.entry) {
            Ok(e @ LogEntry::LogRestart { .. }) => Some((i as u64, e)),
            _ => None,
        })
        .collect()
}

fn log_entries(node: &Node, what: impl Fn(&LogEntry) -> bool) -> usize {
    let size = node.store_for_tests().log_size().unwrap();
    node.store_for_tests()
        .log_leaves(0, size)
        .unwrap()
        .iter()
        .filter(|leaf| LogEntry::decode(&leaf.entry).is_ok_and(|e| what(&e)))
        .count()
}

fn checkpoint_body(old_size: u64, checkpoint: String, restart: Option<LogRestart>) -> Body {
    Body::Checkpoint(CheckpointRequest {
        add_checkpoint: AddCheckpoint {
            old_size,
            proof: vec![],
            checkpoint,
        }
        .to_string(),
        restart,
    })
}

/// A checkpoint of MX's log of `size` signed with the log key of `seed`.
fn signed_by(seed: &[u8; 32], size: u64) -> String {
    let signer =
        NoteSigner::from_seed(&log_origin(party("MX")), SignatureType::Ed25519, seed).unwrap();
    let checkpoint =
        Checkpoint::new(signer.name(), size, soberana_ledger::hash_leaf(b"fork")).unwrap();
    SignedCheckpoint::sign(checkpoint, &signer)
        .unwrap()
        .to_text()
}

/// Sends restart declarations US must refuse, each sealed by MX's real key
/// and taken in directly, and checks that US wrote the refusal alone.
fn refused_restarts(mx: &Node, us: &Node, abandoned_size: u64) {
    let mx_party: PartyCode = party("MX");
    let log_size = |n: &Node| n.store_for_tests().log_size().unwrap();
    let held = |n: &Node| n.partner_checkpoints(mx_party).unwrap().len();
    let mut sequence = 1_000_000;
    let mut send = |body: &Body| {
        sequence += 1;
        let bytes = (mx.sealer())(party("US"), sequence, body).bytes().to_vec();
        us.intake(&bytes, None)
    };
    let accepted = us
        .store_for_tests()
        .exchanged(mx_party)
        .unwrap()
        .into_iter()
        .filter(|e| !e.sent)
        .find_map(|e| {
            let parsed = soberana_wire::UnverifiedEnvelope::parse(&e.bytes, usize::MAX).ok()?;
            let verified = parsed
                .verify_any(&[mx.signing_key_for_tests().public()])
                .ok()?;
            match verified.body().ok()? {
                Body::Checkpoint(request) if request.restart.is_some() => {
                    Some((e.bytes.clone(), request))
                }
                _ => None,
            }
        })
        .expect("US holds the restart it accepted");
    let (accepted_bytes, accepted_request) = accepted;
    let declared = accepted_request.restart.clone().unwrap();
    let latest_cosigned = us
        .partner_checkpoints(mx_party)
        .unwrap()
        .into_iter()
        .rfind(|c| c.status == "cosigned")
        .unwrap();
    let request = AddCheckpoint::parse(&accepted_request.add_checkpoint).unwrap();

    let cases: Vec<(&str, Body, &str)> = vec![
        (
            "the accepted declaration sent again in a new envelope",
            Body::Checkpoint(accepted_request.clone()),
            "restart already taken",
        ),
        (
            "an abandoned checkpoint US never cosigned",
            checkpoint_body(
                0,
                request.checkpoint.clone(),
                Some(LogRestart {
                    abandoned: signed_by(&mx.signing_key_for_tests().seed(), abandoned_size + 7),
                    ..declared.clone()
                }),
            ),
            "never cosigned",
        ),
        (
            "an abandoned checkpoint not signed by MX's pinned log key",
            checkpoint_body(
                0,
                request.checkpoint.clone(),
                Some(LogRestart {
                    abandoned: signed_by(&[7; 32], abandoned_size),
                    ..declared.clone()
                }),
            ),
            "not signed by a log key pinned",
        ),
        (
            "more restored entries than its checkpoint holds",
            checkpoint_body(
                0,
                request.checkpoint.clone(),
                Some(LogRestart {
                    abandoned: latest_cosigned.note.clone(),
                    restored_size: 10_000,
                    reason: declared.reason.clone(),
                }),
            ),
            "declares 10000 entries",
        ),
    ];
    for (what, body, expect) in cases {
        let (size, checkpoints, refusals) = (
            log_size(us),
            held(us),
            us.store_for_tests().refusals(100_000).unwrap().len(),
        );
        let refusal = send(&body).expect_err(what);
        assert!(
            refusal.to_string().contains(expect) && refusal.to_string().contains("log restart"),
            "{what}: {refusal}"
        );
        assert_eq!(held(us), checkpoints, "{what}: a checkpoint was recorded");
        assert_eq!(
            us.store_for_tests().refusals(100_000).unwrap().len(),
            refusals + 1,
            "{what}: the refusal is recorded"
        );
        assert!(
            log_size(us) <= size + 1,
            "{what}: more than the refusal was logged"
        );
    }
    // The very envelope again: a replay.
    let replay = us.intake(&accepted_bytes, None).unwrap_err();
    assert!(replay.to_string().contains("replay"), "{replay}");
    assert_eq!(restarts(us).len(), 1, "one restart, however often declared");
}
