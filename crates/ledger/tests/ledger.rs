//! Behaviour of the log, the witness, receipts and the full-log audit,
//! driven through the public API with the in-memory storage.
//!
//! This file is long because each test builds its log, checkpoints and
//! witnesses with the same few helpers at the top; the attacks on the
//! witness (forks, rollbacks, stale sizes) read best side by side.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use soberana_ledger::{
    Alarm, AlarmKind, AuditError, Checkpoint, EnvelopeRecord, Finding, LedgerStorage, Log,
    LogEntry, MemoryStorage, NoteSigner, Observation, SignatureType, SignedCheckpoint, StoredLeaf,
    Witness, audit_log, audit_storage, hash_leaf, verify_bundle, verify_bundle_json,
    verify_bundle_pinned, verify_bundle_with, verify_consistency, verify_inclusion,
};
use soberana_ledger::{BundleError, PinnedParty, ProofBundle};

const MX: &str = "mx.example/ledger";
const US: &str = "us.example/ledger";

fn log_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, SignatureType::Ed25519, &[seed; 32]).unwrap()
}

fn witness_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, SignatureType::CosignatureV1, &[seed; 32]).unwrap()
}

fn entry(i: u64) -> LogEntry {
    LogEntry::EnvelopeReceived(EnvelopeRecord {
        envelope_id: format!("env-{i}"),
        sender: "US".into(),
        recipient: "MX".into(),
        sequence: i,
        time_ms: 1_763_800_000_000 + i,
        body_digest: soberana_ledger::sha256(&i.to_be_bytes()),
    })
}

fn entries(range: std::ops::Range<u64>) -> Vec<LogEntry> {
    range.map(entry).collect()
}

#[test]
fn append_prove_and_reopen() {
    let mut log = Log::open(MemoryStorage::new(), log_signer(MX, 1)).unwrap();
    assert_eq!(log.size(), 0);
    assert_eq!(log.append(&entries(0..5)).unwrap(), 0);
    assert_eq!(log.append(&entries(5..37)).unwrap(), 5);
    assert_eq!(log.size(), 37);
    let root = log.root();
    for n in [1u64, 2, 5, 16, 37] {
        let rn = log.root_at(n).unwrap();
        for i in [0, n / 2, n - 1] {
            let proof = log.inclusion_proof(i, n).unwrap();
            assert!(proof.len() as u32 <= 64 - (n - 1).leading_zeros());
            let leaf = log.leaf(i).unwrap();
            assert_eq!(leaf.entry, entry(i).encode().unwrap());
            verify_inclusion(i, n, &leaf.leaf_hash, &proof, &rn).unwrap();
        }
        let proof = log.consistency_proof(n, 37).unwrap();
        verify_consistency(n, 37, &proof, &rn, &root).unwrap();
    }
    assert!(log.inclusion_proof(37, 37).is_err());
    assert!(log.inclusion_proof(0, 38).is_err());
    log.sign_checkpoint().unwrap();
    // Reopening rebuilds the same tree from O(log n) stored nodes.
    let storage = log.into_storage();
    let mut reopened = Log::open(storage, log_signer(MX, 1)).unwrap();
    assert_eq!(reopened.root(), root);
    reopened.append(&entries(37..40)).unwrap();
    assert_eq!(reopened.size(), 40);
}

#[test]
fn a_failed_batch_appends_nothing() {
    let mut log = Log::open(MemoryStorage::new(), log_signer(MX, 1)).unwrap();
    log.append(&entries(0..3)).unwrap();
    let root = log.root();
    let mut batch = entries(3..6);
    batch.push(LogEntry::PolicyPin {
        layer: "x".repeat(5000),
        digest: [0; 32],
        time_ms: 0,
    });
    assert!(log.append(&batch).is_err());
    assert_eq!(log.size(), 3);
    assert_eq!(log.root(), root);
    assert_eq!(log.storage().size().unwrap(), 3);
}

#[test]
fn opening_with_a_truncated_store_is_refused() {
    let mut log = Log::open(MemoryStorage::new(), log_signer(MX, 1)).unwrap();
    log.append(&entries(0..10)).unwrap();
    let cp = log.sign_checkpoint().unwrap();
    // Build a store holding only the first 9 entries but the same checkpoint.
    let mut short = Log::open(MemoryStorage::new(), log_signer(MX, 1)).unwrap();
    short.append(&entries(0..9)).unwrap();
    let mut storage = short.into_storage();
    storage
        .put_checkpoint(&soberana_ledger::StoredCheckpoint {
            size: 10,
            note: cp.to_text(),
        })
        .unwrap();
    assert!(matches!(
        Log::open(storage, log_signer(MX, 1)),
        Err(soberana_ledger::LogError::Damaged { size: 10 })
    ));
}

/// Two nodes, each witnessing the other, as in the demo.
#[test]
fn bilateral_witnessing_and_receipts() {
    let mut mx = Log::open(MemoryStorage::new(), log_signer(MX, 1)).unwrap();
    let us_witness_key = witness_signer("us.example/witness", 2);
    let mut us_witnesses_mx = Witness::new(mx.verifier(), us_witness_key.clone()).unwrap();

    mx.append(&entries(0..10)).unwrap();
    let cp1 = mx.sign_checkpoint().unwrap();
    let Observation::Cosigned { cosignature, .. } = us_witnesses_mx
        .observe(&cp1.to_text(), &[], 1_763_800_000)
        .unwrap()
    else {
        panic!("first checkpoint should be cosigned");
    };
    mx.add_cosignature(10, &cosignature, &us_witness_key.verifier())
        .unwrap();

    mx.append(&entries(10..25)).unwrap();
    let cp2 = mx.sign_checkpoint().unwrap();
    let proof = mx.consistency_proof(10, 25).unwrap();
    let Observation::Cosigned {
        cosignature,
        checkpoint,
    } = us_witnesses_mx
        .observe(&cp2.to_text(), &proof, 1_763_800_060)
        .unwrap()
    else {
        panic!("consistent checkpoint should be cosigned");
    };
    assert_eq!(checkpoint.checkpoint().size(), 25);
    assert_eq!(us_witnesses_mx.latest().unwrap().checkpoint().size(), 25);
    mx.add_cosignature(25, &cosignature, &us_witness_key.verifier())
        .unwrap();

    // A receipt for entry 17: JSON, checkable with nothing else.
    let bundle = mx.bundle(17, &[us_witness_key.verifier()]).unwrap();
    let json = bundle.to_json();
    let receipt = verify_bundle_json(&json).unwrap();
    assert_eq!(receipt.entry, entry(17));
    assert_eq!(receipt.index, 17);
    assert_eq!(receipt.checkpoint.size(), 25);
    assert_eq!(receipt.cosignatures[0].timestamp, Some(1_763_800_060));
    verify_bundle_with(&bundle, &[mx.verifier()], &[us_witness_key.verifier()]).unwrap();
    let stranger = witness_signer("us.example/witness", 9).verifier();
    assert!(verify_bundle_with(&bundle, &[mx.verifier()], &[stranger]).is_err());

    // Forged receipts are refused.
    let mut wrong_entry = bundle.clone();
    wrong_entry.entry = entry(18).encode().unwrap();
    assert!(verify_bundle(&wrong_entry).is_err());
    let mut wrong_index = bundle.clone();
    wrong_index.index = 16;
    assert!(verify_bundle(&wrong_index).is_err());
    let mut no_witness = bundle.clone();
    no_witness.witness_keys.clear();
    assert!(verify_bundle(&no_witness).is_err());
    let mut uncosigned = bundle.clone();
    uncosigned.checkpoint = cp2.to_text();
    assert!(verify_bundle(&uncosigned).is_err());
    let mut bad_proof = bundle.clone();
    bad_proof.inclusion_proof[0].0[0] ^= 1;
    assert!(verify_bundle(&bad_proof).is_err());
    let mut garbage_entry = bundle.clone();
    garbage_entry.entry.push(0);
    assert!(verify_bundle(&garbage_entry).is_err());
    assert!(verify_bundle_json("{}").is_err());
    assert!(verify_bundle_json(&json.replacen("\"index\"", "\"extra\": 1, \"index\"", 1)).is_err());

    // Without the witness's cosignature on a covering checkpoint, no bundle.
    mx.append(&entries(25..30)).unwrap();
    mx.sign_checkpoint().unwrap();
    assert!(mx.bundle(27, &[us_witness_key.verifier()]).is_err());
    // A cosignature by someone else's key is not stored.
    let forged = witness_signer("us.example/witness", 9);
    let signed = mx.signed_checkpoint(30).unwrap();
    let line = signed.cosign(&forged, 1).unwrap();
    assert!(
        mx.add_cosignature(30, &line, &us_witness_key.verifier())
            .is_err()
    );

    // The whole log audits clean with the witness key.
    let report = audit_storage(mx.storage(), &mx.verifier(), &[us_witness_key.verifier()]).unwrap();
    assert_eq!(report.size, 30);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.cosignatures, 2);
    assert_eq!(report.root, mx.root());
}

/// A pair of logs that witness each other, made from key seeds: entry 3 of
/// the first log is cosigned by the second party when `cosign` is set.
fn pair_bundle(log_seed: u8, witness_seed: u8, cosign: bool) -> (ProofBundle, [PinnedParty; 2]) {
    let mut log = Log::open(MemoryStorage::new(), log_signer(MX, log_seed)).unwrap();
    let witness = witness_signer("us.example/witness", witness_seed);
    log.append(&entries(0..8)).unwrap();
    let cp = log.sign_checkpoint().unwrap();
    let mut witnesses = vec![];
    if cosign {
        let mut w = Witness::new(log.verifier(), witness.clone()).unwrap();
        let Observation::Cosigned { cosignature, .. } =
            w.observe(&cp.to_text(), &[], 1_763_800_000).unwrap()
        else {
            panic!("a first checkpoint is cosigned");
        };
        log.add_cosignature(8, &cosignature, &witness.verifier())
            .unwrap();
        witnesses.push(witness.verifier());
    }
    let bundle = log.bundle(3, &witnesses).unwrap();
    let parties = [
        PinnedParty {
            owner: "MX, pinned card".into(),
            log: log.verifier(),
            witness: witness_signer("mx.example/witness", log_seed).verifier(),
        },
        PinnedParty {
            owner: "US, pinned card".into(),
            log: log_signer(US, witness_seed).verifier(),
            witness: witness.verifier(),
        },
    ];
    (bundle, parties)
}

#[test]
fn a_receipt_made_by_another_pair_of_nodes_is_refused_against_pinned_keys() {
    let (ours, pinned) = pair_bundle(1, 2, true);
    let verified = verify_bundle_pinned(&ours, &pinned).unwrap();
    assert_eq!(verified.log_owner, "MX, pinned card");
    assert_eq!(verified.cosigned_by.len(), 1);
    assert_eq!(verified.cosigned_by[0].0, "US, pinned card");
    assert!(verified.not_cosigned_by.is_empty());

    // Same names, other keys: verifies against the keys it carries...
    let (foreign, _) = pair_bundle(7, 8, true);
    verify_bundle(&foreign).unwrap();
    // ...and is refused against the pinned ones, naming both keys.
    let err = verify_bundle_pinned(&foreign, &pinned).unwrap_err();
    let BundleError::KeyMismatch {
        role,
        found,
        pinned: pinned_key,
        ..
    } = &err
    else {
        panic!("expected a key mismatch, got {err}");
    };
    assert_eq!(*role, "log");
    assert_eq!(found, &foreign.log_key.to_string());
    assert_eq!(pinned_key, &pinned[0].log.to_string());
    assert!(err.to_string().contains("MX, pinned card"), "{err}");

    // Our log key with a foreign witness key under the partner's name.
    let mut swapped = ours.clone();
    swapped.witness_keys = foreign.witness_keys.clone();
    let err = verify_bundle_pinned(&swapped, &pinned).unwrap_err();
    assert!(
        matches!(
            &err,
            BundleError::KeyMismatch {
                role: "witness",
                ..
            }
        ),
        "{err}"
    );

    // A foreign checkpoint inside a bundle that names our key.
    let mut transplanted = ours.clone();
    transplanted.checkpoint = foreign.checkpoint.clone();
    assert!(verify_bundle_pinned(&transplanted, &pinned).is_err());

    // A log nobody pinned.
    let err = verify_bundle_pinned(&ours, &pinned[1..]).unwrap_err();
    assert!(matches!(err, BundleError::LogNotPinned { .. }), "{err}");
}

#[test]
fn a_receipt_the_partner_never_cosigned_verifies_for_the_log_and_says_so() {
    let (bundle, pinned) = pair_bundle(1, 2, false);
    assert!(matches!(
        verify_bundle(&bundle),
        Err(BundleError::NotWitnessed)
    ));
    let verified = verify_bundle_pinned(&bundle, &pinned).unwrap();
    assert!(!verified.is_cosigned());
    assert_eq!(verified.not_cosigned_by.len(), 1);
    assert_eq!(verified.not_cosigned_by[0].0, "US, pinned card");
    assert_eq!(verified.receipt.index, 3);

    // Claiming the partner's cosignature without carrying it is refused.
    let mut claimed = bundle.clone();
    claimed.witness_keys = vec![pinned[1].witness.clone()];
    let err = verify_bundle_pinned(&claimed, &pinned).unwrap_err();
    assert!(
        matches!(err, BundleError::ClaimedCosignature { .. }),
        "{err}"
    );
}

fn forked_checkpoint(signer: &NoteSigner, size: u64, seed: &[u8]) -> SignedCheckpoint {
    SignedCheckpoint::sign(
        Checkpoint::new(signer.name(), size, hash_leaf(seed)).unwrap(),
        signer,
    )
    .unwrap()
}

#[test]
fn a_declared_restart_is_cosigned_only_against_the_last_cosigned_checkpoint() {
    use soberana_ledger::{AddCheckpoint, WitnessError};
    let us = log_signer(US, 3);
    let cosigner = witness_signer("mx.example/witness", 4);
    // The log as it was: cosigned at 4 and at 10.
    let mut old = Log::open(MemoryStorage::new(), us.clone()).unwrap();
    old.append(&entries(0..4)).unwrap();
    let cp4 = old.sign_checkpoint().unwrap();
    old.append(&entries(4..10)).unwrap();
    let cp10 = old.sign_checkpoint().unwrap();
    let mut w = Witness::new(old.verifier(), cosigner.clone()).unwrap();
    let Observation::Cosigned {
        checkpoint: cosigned4,
        ..
    } = w.observe(&cp4.to_text(), &[], 1).unwrap()
    else {
        panic!("a first checkpoint is cosigned");
    };
    let proof = old.consistency_proof(4, 10).unwrap();
    assert!(matches!(
        w.observe(&cp10.to_text(), &proof, 2).unwrap(),
        Observation::Cosigned { .. }
    ));
    // Restored at 4 entries, other entries after them, the declaration last.
    let mut new = Log::open(MemoryStorage::new(), us.clone()).unwrap();
    new.append(&entries(0..4)).unwrap();
    new.append(&entries(100..103)).unwrap();
    new.append(&[LogEntry::LogRestart {
        origin: US.into(),
        abandoned_size: 10,
        abandoned_root: *cp10.checkpoint().root().as_bytes(),
        restored_size: 7,
        kept_size: 4,
        reason: "restored".into(),
        time_ms: 3,
    }])
    .unwrap();
    let first = new.sign_checkpoint().unwrap();
    let request = AddCheckpoint {
        old_size: 4,
        proof: new.consistency_proof(4, 8).unwrap(),
        checkpoint: first.to_text(),
    }
    .to_string();
    let restart = |w: &mut Witness, size: u64, root, restored: u64, base: Option<&str>| {
        w.restart(&request, size, root, restored, base, 4)
    };
    let refused = |r: Result<Observation, WitnessError>, what: &str| match r {
        Err(WitnessError::Restart(why)) => assert!(why.contains(what), "{why}"),
        other => panic!("{what}: {other:?}"),
    };
    let base = cosigned4.to_text();
    // Naming an older cosigned checkpoint, or declaring another size: refused.
    refused(
        restart(&mut w, 4, cp4.checkpoint().root(), 7, Some(&base)),
        "last checkpoint of the log this witness cosigned is of size 10",
    );
    refused(
        restart(&mut w, 10, cp10.checkpoint().root(), 9, Some(&base)),
        "declares 9 entries",
    );
    // A kept checkpoint the witness never cosigned: refused.
    refused(
        restart(&mut w, 10, cp10.checkpoint().root(), 7, None),
        "cosigned none of that size",
    );
    assert_eq!(w.latest().unwrap().checkpoint().size(), 10, "unmoved");
    // The declaration as made: cosigned, and the new branch is the state.
    let Observation::Cosigned { checkpoint, .. } =
        restart(&mut w, 10, cp10.checkpoint().root(), 7, Some(&base)).unwrap()
    else {
        panic!("the declared restart is cosigned");
    };
    assert_eq!(checkpoint.checkpoint().size(), 8);
    checkpoint.check_cosignature(&cosigner.verifier()).unwrap();
    // Again: the abandoned checkpoint is no longer the last cosigned.
    refused(
        restart(&mut w, 10, cp10.checkpoint().root(), 7, Some(&base)),
        "restart already taken",
    );
    // The new branch goes on as any log.
    new.append(&entries(200..202)).unwrap();
    let next = new.sign_checkpoint().unwrap();
    let proof = new.consistency_proof(8, 10).unwrap();
    assert!(matches!(
        w.observe(&next.to_text(), &proof, 5).unwrap(),
        Observation::Cosigned { .. }
    ));
}

#[test]
fn witness_raises_alarms_with_evidence() {
    let us = log_signer(US, 3);
    let mut log = Log::open(MemoryStorage::new(), us.clone()).unwrap();
    log.append(&entries(0..8)).unwrap();
    let cp8 = log.sign_checkpoint().unwrap();
    let mut w = Witness::new(log.verifier(), witness_signer("mx.example/witness", 4)).unwrap();
    assert!(matches!(
        w.observe(&cp8.to_text(), &[], 10).unwrap(),
        Observation::Cosigned { .. }
    ));

    // A forged note (not signed by the log) is an error, not evidence.
    let stranger = log_signer(US, 5);
    let forged = forked_checkpoint(&stranger, 9, b"x");
    assert!(w.observe(&forged.to_text(), &[], 11).is_err());

    let cases = [
        (
            forked_checkpoint(&us, 8, b"other"),
            vec![],
            AlarmKind::Equivocation,
        ),
        (
            forked_checkpoint(&us, 5, b"old"),
            vec![],
            AlarmKind::Rollback,
        ),
        (
            forked_checkpoint(&us, 12, b"fork"),
            log.consistency_proof(8, 8).unwrap(),
            AlarmKind::Inconsistent,
        ),
    ];
    for (cp, proof, kind) in cases {
        let Observation::Alarm(alarm) = w.observe(&cp.to_text(), &proof, 12).unwrap() else {
            panic!("{kind:?} should raise an alarm");
        };
        assert_eq!(alarm.kind, kind);
        assert_eq!(alarm.earlier.checkpoint().size(), 8);
        // The evidence survives JSON and checks with the log key alone.
        let back: Alarm = serde_json::from_str(&alarm.to_json()).unwrap();
        back.verify(&log.verifier()).unwrap();
        assert!(back.verify(&stranger.verifier()).is_err());
        // The state did not move.
        assert_eq!(w.latest().unwrap().checkpoint().size(), 8);
    }
    // A mislabelled alarm does not verify.
    let Observation::Alarm(mut alarm) = w
        .observe(&forked_checkpoint(&us, 8, b"z").to_text(), &[], 13)
        .unwrap()
    else {
        panic!("equivocation expected");
    };
    alarm.kind = AlarmKind::Rollback;
    assert!(alarm.verify(&log.verifier()).is_err());

    // The honest next checkpoint with a good proof is still cosigned, and the
    // same checkpoint seen twice is cosigned again rather than an alarm.
    log.append(&entries(8..20)).unwrap();
    let cp20 = log.sign_checkpoint().unwrap();
    let proof = log.consistency_proof(8, 20).unwrap();
    assert!(matches!(
        w.observe(&cp20.to_text(), &proof, 14).unwrap(),
        Observation::Cosigned { .. }
    ));
    assert!(matches!(
        w.observe(&cp20.to_text(), &[], 15).unwrap(),
        Observation::Cosigned { .. }
    ));
    // Resuming from persisted state keeps the rules.
    let persisted = w.latest().unwrap().to_text();
    let mut resumed = Witness::resume(
        log.verifier(),
        witness_signer("mx.example/witness", 4),
        &persisted,
    )
    .unwrap();
    assert!(matches!(
        resumed.observe(&cp8.to_text(), &[], 16).unwrap(),
        Observation::Alarm(a) if a.kind == AlarmKind::Rollback
    ));
}

/// A log with checkpoints at 10, 20 and 30, cosigned, as stored parts.
struct Parts {
    leaves: Vec<StoredLeaf>,
    checkpoints: Vec<soberana_ledger::StoredCheckpoint>,
    cosignatures: Vec<soberana_ledger::StoredCosignature>,
    signer: NoteSigner,
    witness: NoteSigner,
}

fn parts() -> Parts {
    let signer = log_signer(MX, 1);
    let witness = witness_signer("us.example/witness", 2);
    let mut log = Log::open(MemoryStorage::new(), signer.clone()).unwrap();
    for end in [10u64, 20, 30] {
        log.append(&entries(log.size()..end)).unwrap();
        let cp = log.sign_checkpoint().unwrap();
        let line = cp.cosign(&witness, 100 + end).unwrap();
        log.add_cosignature(end, &line, &witness.verifier())
            .unwrap();
    }
    log.append(&entries(30..35)).unwrap();
    let s = log.storage();
    let checkpoints = s.checkpoints().unwrap();
    let cosignatures = checkpoints
        .iter()
        .flat_map(|c| s.cosignatures(c.size).unwrap())
        .collect();
    Parts {
        leaves: s.leaves(0, 100).unwrap(),
        checkpoints,
        cosignatures,
        signer,
        witness,
    }
}

fn audit(p: &Parts) -> Result<soberana_ledger::AuditReport, AuditError> {
    audit_log(
        p.leaves.iter().cloned().map(Ok),
        &p.checkpoints,
        &p.cosignatures,
        &p.signer.verifier(),
        &[p.witness.verifier()],
    )
}

fn finding(p: &Parts) -> Finding {
    match audit(p) {
        Err(AuditError::Tampered(f)) => f,
        other => panic!("expected a finding, got {other:?}"),
    }
}

#[test]
fn audit_passes_an_intact_log() {
    let p = parts();
    let r = audit(&p).unwrap();
    assert_eq!((r.size, r.checkpoints, r.cosignatures), (35, 3, 3));
}

#[test]
fn audit_names_a_changed_byte() {
    let mut p = parts();
    p.leaves[13].entry[5] ^= 1;
    let f = finding(&p);
    assert!(
        matches!(f, Finding::LeafHashMismatch { index: 13, .. }),
        "{f}"
    );
    assert_eq!(f.first_bad_index(), 13);
}

#[test]
fn audit_names_a_rewritten_entry_as_a_fork() {
    // The attacker changes entry 13 and recomputes its leaf hash: the leaves
    // are self-consistent, but the signed checkpoint at 20 no longer is.
    let mut p = parts();
    p.leaves[13].entry = entry(99).encode().unwrap();
    p.leaves[13].leaf_hash = hash_leaf(&p.leaves[13].entry);
    let f = finding(&p);
    assert!(
        matches!(
            f,
            Finding::Fork {
                checkpoint_size: 20,
                first_unproven: 10,
                ..
            }
        ),
        "{f}"
    );
}

#[test]
fn audit_names_a_deleted_entry() {
    let mut p = parts();
    p.leaves.remove(7);
    let f = finding(&p);
    assert_eq!(
        f,
        Finding::Gap {
            missing: 7,
            found: 8
        }
    );
    assert_eq!(f.first_bad_index(), 7);
}

#[test]
fn audit_names_two_reordered_entries() {
    let mut p = parts();
    p.leaves.swap(21, 22);
    assert_eq!(
        finding(&p),
        Finding::OutOfOrder {
            index: 21,
            found: 22
        }
    );
}

#[test]
fn audit_names_truncation() {
    let mut p = parts();
    p.leaves.truncate(25);
    let f = finding(&p);
    assert_eq!(
        f,
        Finding::Truncated {
            size: 25,
            checkpoint_size: 30
        }
    );
    assert_eq!(f.first_bad_index(), 25);
}

#[test]
fn audit_names_a_fork() {
    // The log key signed a second history at size 20.
    let mut p = parts();
    let other = forked_checkpoint(&p.signer, 20, b"another history");
    p.checkpoints[1].note = other.to_text();
    let f = finding(&p);
    assert!(
        matches!(
            f,
            Finding::Fork {
                checkpoint_size: 20,
                first_unproven: 10,
                ..
            }
        ),
        "{f}"
    );
    assert_eq!(f.first_bad_index(), 10);
}

#[test]
fn audit_names_bad_signatures() {
    let mut p = parts();
    p.checkpoints[2].note = p.checkpoints[2].note.replacen("\n30\n", "\n31\n", 1);
    assert!(matches!(
        finding(&p),
        Finding::BadCheckpoint {
            size: 30,
            first_unproven: 20,
            ..
        }
    ));

    let mut p = parts();
    let other = witness_signer("us.example/witness", 7);
    let cp = SignedCheckpoint::verify(&p.checkpoints[0].note, &p.signer.verifier()).unwrap();
    p.cosignatures[0].line = cp
        .cosign(&other, 1)
        .unwrap()
        .to_line()
        .trim_end()
        .to_owned();
    assert!(matches!(
        finding(&p),
        Finding::BadCosignature {
            size: 10,
            first_unproven: 0,
            ..
        }
    ));
}

/// The tlog-witness add-checkpoint exchange between the two nodes.
#[test]
fn add_checkpoint_requests() {
    use soberana_ledger::{AddCheckpoint, WitnessError};
    let mut log = Log::open(MemoryStorage::new(), log_signer(US, 3)).unwrap();
    let witness_key = witness_signer("mx.example/witness", 4);
    let mut w = Witness::new(log.verifier(), witness_key.clone()).unwrap();
    log.append(&entries(0..6)).unwrap();
    let cp6 = log.sign_checkpoint().unwrap();

    // First contact: old size 0, no proof.
    let req = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: cp6.to_text(),
    };
    let body = req.to_string();
    assert!(
        body.starts_with("old 0\n\nus.example/ledger\n6\n"),
        "{body}"
    );
    assert_eq!(AddCheckpoint::parse(&body).unwrap(), req);
    let Observation::Cosigned { cosignature, .. } = w.add_checkpoint(&body, 100).unwrap() else {
        panic!("first checkpoint should be cosigned");
    };
    log.add_cosignature(6, &cosignature, &witness_key.verifier())
        .unwrap();
    // A second extension from the same old size, signed by the log, with
    // another root at the size just cosigned: evidence of a fork, kept
    // even though its old size is now stale.
    let fork = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: forked_checkpoint(&log_signer(US, 3), 6, b"fork").to_text(),
    };
    let Observation::Alarm(alarm) = w.add_checkpoint(&fork.to_string(), 100).unwrap() else {
        panic!("a conflicting checkpoint of the cosigned size must raise an alarm");
    };
    assert_eq!(alarm.kind, AlarmKind::Equivocation);
    alarm.verify(&log.verifier()).unwrap();
    assert_eq!(w.latest().unwrap().checkpoint().size(), 6);

    log.append(&entries(6..11)).unwrap();
    let cp11 = log.sign_checkpoint().unwrap();
    // A stale old size gets the witness's real size back (HTTP 409).
    let stale = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: cp11.to_text(),
    };
    assert_eq!(
        w.add_checkpoint(&stale.to_string(), 101),
        Err(WitnessError::OldSizeMismatch { latest: 6 })
    );
    let good = AddCheckpoint {
        old_size: 6,
        proof: log.consistency_proof(6, 11).unwrap(),
        checkpoint: cp11.to_text(),
    };
    assert!(matches!(
        w.add_checkpoint(&good.to_string(), 102).unwrap(),
        Observation::Cosigned { .. }
    ));

    let malformed = [
        "".to_owned(),
        "old 11\n".to_owned(),
        format!("old 011\n\n{}", cp11.to_text()),
        format!("old -1\n\n{}", cp11.to_text()),
        format!("new 11\n\n{}", cp11.to_text()),
        format!("old 11\nnot-a-hash\n\n{}", cp11.to_text()),
        format!(
            "old 11\n{}\n{}",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64),
            cp11.to_text()
        ),
    ];
    for body in malformed {
        assert!(w.add_checkpoint(&body, 103).is_err(), "accepted {body:?}");
    }
    // Not signed by the partner's log: refused before any state is revealed.
    let stranger = forked_checkpoint(&log_signer(US, 8), 11, b"x");
    assert!(matches!(
        w.add_checkpoint(&format!("old 0\n\n{}", stranger.to_text()), 104),
        Err(WitnessError::Checkpoint(_))
    ));
    assert_eq!(w.latest().unwrap().checkpoint().size(), 11);
}

/// A store whose entry 13 was rewritten behind the ledger's back, with its
/// leaf hash recomputed (and, optionally, its level-0 node too).
struct Rewritten {
    inner: MemoryStorage,
    also_level0: bool,
}

impl Rewritten {
    fn forged() -> Vec<u8> {
        entry(99).encode().unwrap()
    }
}

impl LedgerStorage for Rewritten {
    fn size(&self) -> Result<u64, soberana_ledger::StorageError> {
        self.inner.size()
    }
    fn append(
        &mut self,
        b: &soberana_ledger::AppendBatch,
    ) -> Result<(), soberana_ledger::StorageError> {
        self.inner.append(b)
    }
    fn leaves(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<StoredLeaf>, soberana_ledger::StorageError> {
        let mut out = self.inner.leaves(start, end)?;
        for l in &mut out {
            if l.index == 13 {
                l.entry = Self::forged();
                l.leaf_hash = hash_leaf(&l.entry);
            }
        }
        Ok(out)
    }
    fn node(
        &self,
        id: soberana_ledger::NodeId,
    ) -> Result<Option<soberana_ledger::Hash>, soberana_ledger::StorageError> {
        if self.also_level0 && id == soberana_ledger::NodeId::new(0, 13) {
            return Ok(Some(hash_leaf(&Self::forged())));
        }
        self.inner.node(id)
    }
    fn put_checkpoint(
        &mut self,
        c: &soberana_ledger::StoredCheckpoint,
    ) -> Result<(), soberana_ledger::StorageError> {
        self.inner.put_checkpoint(c)
    }
    fn checkpoint(
        &self,
        size: u64,
    ) -> Result<Option<soberana_ledger::StoredCheckpoint>, soberana_ledger::StorageError> {
        self.inner.checkpoint(size)
    }
    fn checkpoints(
        &self,
    ) -> Result<Vec<soberana_ledger::StoredCheckpoint>, soberana_ledger::StorageError> {
        self.inner.checkpoints()
    }
    fn latest_checkpoint(
        &self,
    ) -> Result<Option<soberana_ledger::StoredCheckpoint>, soberana_ledger::StorageError> {
        self.inner.latest_checkpoint()
    }
    fn put_cosignature(
        &mut self,
        c: &soberana_ledger::StoredCosignature,
    ) -> Result<(), soberana_ledger::StorageError> {
        self.inner.put_cosignature(c)
    }
    fn cosignatures(
        &self,
        size: u64,
    ) -> Result<Vec<soberana_ledger::StoredCosignature>, soberana_ledger::StorageError> {
        self.inner.cosignatures(size)
    }
    fn put_partner_checkpoint(
        &mut self,
        c: &soberana_ledger::PartnerCheckpoint,
    ) -> Result<(), soberana_ledger::StorageError> {
        self.inner.put_partner_checkpoint(c)
    }
    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<soberana_ledger::PartnerCheckpoint>, soberana_ledger::StorageError> {
        self.inner.latest_partner_checkpoint(origin)
    }
}

#[test]
fn storage_audit_pins_a_rewritten_entry_to_its_stored_nodes() {
    let signer = log_signer(MX, 1);
    let mut log = Log::open(MemoryStorage::new(), signer.clone()).unwrap();
    log.append(&entries(0..30)).unwrap();
    log.sign_checkpoint().unwrap();
    let clean = log.into_storage();
    audit_storage(&clean, &signer.verifier(), &[]).unwrap();
    let cases = [(false, 0u8, 13u64, 13u64), (true, 1, 6, 12)];
    for (also_level0, level, index, first) in cases {
        let store = Rewritten {
            inner: clean.clone(),
            also_level0,
        };
        let Err(AuditError::Tampered(f)) = audit_storage(&store, &signer.verifier(), &[]) else {
            panic!("rewritten entry not found");
        };
        assert!(
            matches!(&f, Finding::NodeMismatch { level: l, index: i, .. } if *l == level && *i == index),
            "{f}"
        );
        assert_eq!(f.first_bad_index(), first);
    }
}
