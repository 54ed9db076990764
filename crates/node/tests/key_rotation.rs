//! Rotating a node's signing key and TLS certificate between two live nodes
//! while proposals flow: the new card is announced in an update signed by
//! the old key and recorded in both logs, the partner keeps taking the old
//! key during the overlap, the node switches once the partner has the
//! update, nothing is lost, and receipts signed before the rotation still
//! verify against the key valid at their time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::sync::Arc;

use soberana_core::{ProposalDraft, ProposalId, ProposalState, Timestamp};
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
        "44".repeat(32)
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

fn send(from: &Node, name: &str, n: usize) -> Vec<ProposalId> {
    (0..n)
        .map(|_| from.propose(draft(name), None).unwrap().id)
        .collect()
}

async fn all_accepted(node: &Node, ids: &[ProposalId]) {
    for id in ids {
        let id = *id;
        eventually("every proposal is accepted", || {
            state(node, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_mid_traffic_and_old_receipts_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();

    // Before: traffic, and a checkpoint of MX's log that US cosigns.
    let mut sent = send(&us, "us-border-alert.toml", 5);
    all_accepted(&us, &sent).await;
    mx.checkpoint_and_request_cosignatures().unwrap();
    eventually("US cosigns MX's checkpoint", || {
        !mx.cosignatures(None).unwrap().is_empty()
    })
    .await;
    let (envelope, _) = us.sent_envelopes(sent[0]).unwrap().remove(0);
    let receipt = us.fetch_receipt(party("MX"), &envelope).await.unwrap();
    let old_card = mx.card().unwrap().card;

    // Rotate MX's keys while US keeps sending.
    let during = send(&us, "us-border-alert.toml", 5);
    let new_fingerprint = mx.rotate_keys(7).unwrap();
    assert_ne!(new_fingerprint, old_card.fingerprint());
    assert!(
        mx.rotate_keys(7).is_err(),
        "a second rotation waits for the first"
    );
    eventually("US pins MX's new card", || {
        us.peer(party("MX"))
            .is_some_and(|c| c.fingerprint() == new_fingerprint)
    })
    .await;
    all_accepted(&us, &during).await;
    sent.extend(during);

    // The switch: as soon as every partner has the update, the running MX
    // puts the new key and certificate in use, with no restart.
    let queued = send(&us, "us-border-alert.toml", 5);
    eventually("MX switches to the new key while running", || {
        mx.card().unwrap().card.fingerprint() == new_fingerprint
    })
    .await;
    assert!(mx.key_status().unwrap().next.is_none());
    assert!(dir.path().join("MX/keys/retired").is_dir());
    all_accepted(&us, &queued).await;
    sent.extend(queued);
    let after = send(&us, "us-border-alert.toml", 5);
    let back = send(&mx, "mx-information-request.toml", 1);
    all_accepted(&us, &after).await;
    all_accepted(&mx, &back).await;
    sent.extend(after);

    // Nothing lost, nothing twice: MX holds each of US's proposals once.
    for id in &sent {
        assert_eq!(state(&mx, *id), Some(ProposalState::Accepted));
    }
    assert_eq!(
        mx.list(Some(soberana_core::Direction::Incoming), vec![])
            .unwrap()
            .len(),
        sent.len()
    );

    // A restart keeps the new key in use.
    mx_run.stop().await;
    drop(mx);
    let mx = Node::open(&dir.path().join("MX"), Arc::new(AcceptAll)).unwrap();
    assert_eq!(mx.card().unwrap().card.fingerprint(), new_fingerprint);
    let mx_run = mx.start().await.unwrap();

    // New checkpoints are signed with the new key and cosigned by US.
    let before = mx.cosignatures(None).unwrap().len();
    mx.checkpoint_and_request_cosignatures().unwrap();
    eventually("US cosigns a checkpoint signed with MX's new key", || {
        mx.cosignatures(None).unwrap().len() > before
    })
    .await;

    // The receipt signed before the rotation still verifies, on both
    // sides, against the key valid at its time.
    for node in [&us, &mx] {
        let verified =
            soberana_ledger::verify_bundle_pinned(&receipt, &node.pinned_parties().unwrap())
                .unwrap_or_else(|e| panic!("{}: old receipt: {e}", node.party()));
        assert!(verified.is_cosigned(), "{}", node.party());
        assert!(
            verified.log_owner.contains("previous card"),
            "{}",
            verified.log_owner
        );
    }
    // Both logs verify whole: checkpoints and cosignatures under the keys
    // of their time.
    mx.audit_log().unwrap().unwrap();
    us.audit_log().unwrap().unwrap();
    // Both logs record the rotation: the update as sent and as received.
    let update_logged = |node: &Node| {
        node.log_leaves(0, node.log_size().unwrap())
            .unwrap()
            .iter()
            .filter(|leaf| {
                matches!(
                    soberana_ledger::LogEntry::decode(&leaf.entry),
                    Ok(soberana_ledger::LogEntry::PeerChange { party, .. }) if party == "MX"
                )
            })
            .count()
    };
    assert_eq!(update_logged(&mx), 1, "MX logs its new key");
    assert_eq!(
        update_logged(&us),
        2,
        "US logs MX pinned, then MX's new key"
    );

    mx_run.stop().await;
    us_run.stop().await;
}

#[test]
fn an_overlap_out_of_bounds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    for days in [0, 91] {
        let err = mx.rotate_keys(days).unwrap_err().to_string();
        assert!(err.contains("overlap"), "{err}");
    }
    assert!(mx.key_status().unwrap().next.is_none(), "nothing was made");
}

#[test]
fn a_key_near_its_age_limit_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    assert!(mx.key_warnings().is_empty(), "a new key is not due");
    drop(mx);
    // The operator's limit is ten days: a key of any age is within 30 days
    // of it.
    let config = dir.path().join("MX/node.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("key_max_age_days = 365"), "{text}");
    std::fs::write(
        &config,
        text.replace("key_max_age_days = 365", "key_max_age_days = 10"),
    )
    .unwrap();
    let mx = Node::open(&dir.path().join("MX"), Arc::new(AcceptAll)).unwrap();
    let warnings = mx.key_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("soberana key rotate"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_certificate_near_its_not_after_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let not_after = mx.key_status().unwrap().tls_not_after.unwrap();
    let days = Timestamp::now().seconds_until(not_after) / 86_400;
    assert!(
        (364..=365).contains(&days),
        "a new certificate serves a year: {days}"
    );
    assert!(mx.tls_expiry_secs().unwrap() > 364 * 86_400);
    assert!(mx.key_warnings().is_empty());
    drop(mx);
    // A certificate with ten days left, the key's age notwithstanding.
    let keys = dir.path().join("MX/keys");
    let short = soberana_node::TlsIdentity::generate(vec!["localhost".into()], 10).unwrap();
    std::fs::write(keys.join("tls.crt"), &short.cert_pem).unwrap();
    std::fs::remove_file(keys.join("tls.key")).unwrap();
    soberana_node::write_secret(&keys.join("tls.key"), short.key_pem()).unwrap();
    let mx = Node::open(&dir.path().join("MX"), Arc::new(AcceptAll)).unwrap();
    let left = mx.tls_expiry_secs().unwrap();
    assert!(left > 9 * 86_400 && left <= 10 * 86_400, "{left}");
    let warnings = mx.key_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("TLS certificate expires") && warnings[0].contains("key rotate"),
        "{}",
        warnings[0]
    );
}

/// A retired key still taken for ordinary envelopes during its overlap must
/// not move the pin: a card update signed by it — here MX's old card sent
/// back, which would bring a possibly stolen key back into use — is refused
/// and the new card stays pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_update_signed_by_a_retired_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();
    let old_key = mx.signing_key_for_tests().clone();
    let old_card = mx.card().unwrap();
    let new_fingerprint = mx.rotate_keys(7).unwrap();
    eventually("US pins MX's new card", || {
        us.peer(party("MX"))
            .is_some_and(|c| c.fingerprint() == new_fingerprint)
    })
    .await;

    // The old key still signs an ordinary envelope US takes in its overlap…
    let ordinary = soberana_wire::SealedEnvelope::seal(
        &old_key,
        party("MX"),
        party("US"),
        1_000_000,
        Timestamp::now(),
        &soberana_wire::Body::Checkpoint(soberana_wire::CheckpointRequest {
            add_checkpoint: "not a checkpoint".into(),
            restart: None,
        }),
    );
    let said = us.intake(ordinary.bytes(), None).unwrap_err();
    assert_ne!(said.code, "bad_signature", "{said:?}");

    // …but not a card update.
    let forged = soberana_wire::SealedEnvelope::seal(
        &old_key,
        party("MX"),
        party("US"),
        1_000_001,
        Timestamp::now(),
        &soberana_wire::Body::CardUpdate(soberana_wire::CardUpdate {
            card: old_card,
            overlap_days: 7,
        }),
    );
    let refused = us.intake(forged.bytes(), None).unwrap_err();
    assert_eq!(refused.code, "bad_signature", "{refused:?}");
    assert_eq!(
        us.peer(party("MX")).unwrap().fingerprint(),
        new_fingerprint,
        "the pin did not move"
    );
    mx_run.stop().await;
    us_run.stop().await;
}

/// A rotation puts its new key files in place before it stores the
/// announcement; a serving node that looks in between (its switch runs
/// every two seconds and once at start), or a node started after a crash
/// there, finds keys no partner was ever told of. Switching to them would
/// cut the node off: partners refuse every connection and envelope of a
/// key they never saw, the card update that would tell them included. The
/// state is made here by putting another node's keys where a rotation
/// puts them, with nothing announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_announced_are_never_switched_to_and_a_new_rotation_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let next = dir.path().join("MX/keys/next");
    std::fs::create_dir_all(&next).unwrap();
    for name in ["signing.key", "tls.key", "tls.crt"] {
        std::fs::copy(dir.path().join("US/keys").join(name), next.join(name)).unwrap();
    }
    let in_use = mx.card().unwrap().card.fingerprint();
    assert!(!mx.switch_rotated_keys_running().unwrap());
    assert!(!mx.switch_rotated_keys().unwrap());
    assert_eq!(mx.card().unwrap().card.fingerprint(), in_use);
    assert!(
        dir.path().join("MX/keys/next/signing.key").exists(),
        "the keys are left where they are, unused"
    );
    assert_eq!(mx.key_status().unwrap().next, None, "nothing is announced");

    // Started now, the node serves with the key in use; a rotation starts
    // afresh, is announced, taken and switched to.
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();
    let new_fingerprint = mx.rotate_keys(7).unwrap();
    eventually("US pins MX's new card", || {
        us.peer(party("MX"))
            .is_some_and(|c| c.fingerprint() == new_fingerprint)
    })
    .await;
    eventually("MX switches to the announced key", || {
        mx.card()
            .is_ok_and(|c| c.card.fingerprint() == new_fingerprint)
    })
    .await;
    assert_ne!(
        mx.card().unwrap().card.signing_key,
        us.card().unwrap().card.signing_key,
        "the key in use is the announced one, not the files that were never announced"
    );
    mx_run.stop().await;
    us_run.stop().await;
}
