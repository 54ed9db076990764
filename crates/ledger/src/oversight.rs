//! What oversight checks with nothing but public material: a checkpoint and
//! its cosignatures, and the consistency of two checkpoints of one log,
//! against pinned keys ([`PinnedParty`]) only.

use crate::bundle::PinnedParty;
use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::hash::Hash;
use crate::note::VerifierKey;
use crate::tree::{ProofError, verify_consistency};

/// Why a checkpoint or a consistency claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OversightError {
    /// The note does not parse as a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No pinned party's log has the checkpoint's origin.
    #[error("no pinned key is the log `{origin}`; pinned logs: {pinned}")]
    LogNotPinned {
        /// The checkpoint's origin line.
        origin: String,
        /// The pinned logs.
        pinned: String,
    },
    /// The checkpoint is not signed by the pinned key of its log.
    #[error(
        "the checkpoint of `{origin}` is not signed by its pinned key `{key}` ({owner}): {reason}"
    )]
    NotSignedByPinnedKey {
        /// The log.
        origin: String,
        /// The pinned key.
        key: String,
        /// Whose.
        owner: String,
        /// The failure.
        reason: String,
    },
    /// The two checkpoints are of different logs.
    #[error("the checkpoints are of two logs, `{0}` and `{1}`")]
    DifferentLogs(String, String),
    /// The older checkpoint is larger than the newer one.
    #[error(
        "the first checkpoint (size {old}) is larger than the second (size {new}); give the older one first"
    )]
    Order {
        /// The first size.
        old: u64,
        /// The second size.
        new: u64,
    },
    /// A proof line is not a base64 hash.
    #[error("line {line} of the consistency proof is not the base64 of a 32-byte hash")]
    ProofLine {
        /// The 1-based line number.
        line: usize,
    },
    /// The consistency proof does not verify: the log was forked or rewritten.
    #[error("the log is NOT consistent between sizes {old} and {new}: {reason}")]
    Inconsistent {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
        /// Why the proof failed.
        reason: ProofError,
    },
}

/// A checkpoint verified against pinned keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCheckpoint {
    /// The checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Whose log key verified it.
    pub log_owner: String,
    /// The key.
    pub log_key: VerifierKey,
    /// Pinned partners whose cosignature verified, with its timestamp.
    pub cosigned_by: Vec<(String, u64)>,
    /// Pinned partners (other than the log's owner) with no cosignature.
    pub not_cosigned_by: Vec<String>,
}

/// Verifies a checkpoint note with the pinned key of its log (found by its
/// origin) and looks for every other pinned party's cosignature on it.
pub fn verify_checkpoint_pinned(
    text: &str,
    pinned: &[PinnedParty],
) -> Result<PinnedCheckpoint, OversightError> {
    let signed = SignedCheckpoint::parse_unverified(text)?;
    let origin = signed.checkpoint().origin().to_owned();
    let Some(owner) = pinned.iter().find(|p| p.log.name() == origin) else {
        let list: Vec<String> = pinned
            .iter()
            .map(|p| format!("`{}` ({})", p.log.name(), p.owner))
            .collect();
        return Err(OversightError::LogNotPinned {
            origin,
            pinned: if list.is_empty() {
                "none".into()
            } else {
                list.join(", ")
            },
        });
    };
    signed
        .check_log_signature(&owner.log)
        .map_err(|e| OversightError::NotSignedByPinnedKey {
            origin: origin.clone(),
            key: owner.log.to_string(),
            owner: owner.owner.clone(),
            reason: e.to_string(),
        })?;
    let (mut cosigned_by, mut not_cosigned_by) = (Vec::new(), Vec::new());
    for p in pinned.iter().filter(|p| p.log != owner.log) {
        match signed.check_cosignature(&p.witness) {
            Ok(t) => cosigned_by.push((p.owner.clone(), t)),
            Err(_) => not_cosigned_by.push(p.owner.clone()),
        }
    }
    Ok(PinnedCheckpoint {
        checkpoint: signed,
        log_owner: owner.owner.clone(),
        log_key: owner.log.clone(),
        cosigned_by,
        not_cosigned_by,
    })
}

/// Parses a consistency proof: one base64 hash per line (as in C2SP
/// tlog-witness `add-checkpoint`), blank lines ignored.
pub fn parse_proof_lines(text: &str) -> Result<Vec<Hash>, OversightError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Hash::from_base64(l.trim()).ok_or(OversightError::ProofLine { line: i + 1 }))
        .collect()
}

/// Verifies two checkpoints of one log against pinned keys, and the RFC 9162
/// consistency proof between them: the newer log extends the older one.
/// Equal sizes need an empty proof and equal roots.
pub fn verify_consistency_pinned(
    old: &str,
    new: &str,
    proof: &[Hash],
    pinned: &[PinnedParty],
) -> Result<(PinnedCheckpoint, PinnedCheckpoint), OversightError> {
    let old = verify_checkpoint_pinned(old, pinned)?;
    let new = verify_checkpoint_pinned(new, pinned)?;
    let (a, b) = (old.checkpoint.checkpoint(), new.checkpoint.checkpoint());
    if a.origin() != b.origin() {
        return Err(OversightError::DifferentLogs(
            a.origin().to_owned(),
            b.origin().to_owned(),
        ));
    }
    if a.size() > b.size() {
        return Err(OversightError::Order {
            old: a.size(),
            new: b.size(),
        });
    }
    let inconsistent = |reason| OversightError::Inconsistent {
        old: a.size(),
        new: b.size(),
        reason,
    };
    if a.size() == 0 {
        // Every log extends the empty one.
        return Ok((old, new));
    }
    verify_consistency(a.size(), b.size(), proof, a.root(), b.root()).map_err(inconsistent)?;
    Ok((old, new))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{EnvelopeRecord, Log, LogEntry, MemoryStorage, NoteSigner, SignatureType};

    fn party(seed: u8, log: &str, witness: &str) -> (NoteSigner, NoteSigner, PinnedParty) {
        let l = NoteSigner::from_seed(log, SignatureType::Ed25519, &[seed; 32]).unwrap();
        let w = NoteSigner::from_seed(witness, SignatureType::CosignatureV1, &[seed; 32]).unwrap();
        let p = PinnedParty {
            owner: format!("{log} card"),
            log: l.verifier(),
            witness: w.verifier(),
        };
        (l, w, p)
    }

    fn entry(i: u64) -> LogEntry {
        LogEntry::EnvelopeReceived(EnvelopeRecord {
            envelope_id: format!("env-{i}"),
            sender: "US".into(),
            recipient: "MX".into(),
            sequence: i,
            time_ms: i,
            body_digest: crate::sha256(&i.to_be_bytes()),
        })
    }

    #[test]
    fn consistency_between_checkpoints_with_public_material_only() {
        let (mx_log, _, mx) = party(1, "soberana/mx/log", "soberana/mx/witness");
        let (_, us_witness, us) = party(2, "soberana/us/log", "soberana/us/witness");
        let pinned = [mx.clone(), us.clone()];
        let mut log = Log::open(MemoryStorage::new(), mx_log).unwrap();
        log.append(&(0..5).map(entry).collect::<Vec<_>>()).unwrap();
        let old = log.sign_checkpoint().unwrap();
        let line = old.cosign(&us_witness, 1_763_800_000).unwrap();
        log.add_cosignature(5, &line, &us.witness).unwrap();
        let old = log.signed_checkpoint(5).unwrap();
        log.append(&(5..12).map(entry).collect::<Vec<_>>()).unwrap();
        let new = log.sign_checkpoint().unwrap();
        let proof = log.consistency_proof(5, 12).unwrap();

        let checked = verify_checkpoint_pinned(&old.to_text(), &pinned).unwrap();
        assert_eq!(checked.cosigned_by, vec![(us.owner.clone(), 1_763_800_000)]);
        let checked = verify_checkpoint_pinned(&new.to_text(), &pinned).unwrap();
        assert_eq!(checked.not_cosigned_by, vec![us.owner.clone()]);

        verify_consistency_pinned(&old.to_text(), &new.to_text(), &proof, &pinned).unwrap();
        let text: String = proof.iter().map(|h| h.to_base64() + "\n").collect();
        assert_eq!(parse_proof_lines(&text).unwrap(), proof);
        assert!(matches!(
            verify_consistency_pinned(&new.to_text(), &old.to_text(), &proof, &pinned),
            Err(OversightError::Order { .. })
        ));

        // A fork: another log under the same key from entry 3 on.
        let (mx_log2, _, _) = party(1, "soberana/mx/log", "soberana/mx/witness");
        let mut fork = Log::open(MemoryStorage::new(), mx_log2).unwrap();
        let mut entries: Vec<_> = (0..12).map(entry).collect();
        entries[3] = entry(99);
        fork.append(&entries).unwrap();
        let forked = fork.sign_checkpoint().unwrap();
        let fork_proof = fork.consistency_proof(5, 12).unwrap();
        assert!(matches!(
            verify_consistency_pinned(&old.to_text(), &forked.to_text(), &fork_proof, &pinned),
            Err(OversightError::Inconsistent { .. })
        ));

        // A checkpoint by a key that is not the pinned one.
        let (other, _, _) = party(9, "soberana/mx/log", "soberana/mx/witness");
        let mut impostor = Log::open(MemoryStorage::new(), other).unwrap();
        impostor.append(&[entry(0)]).unwrap();
        let fake = impostor.sign_checkpoint().unwrap();
        assert!(matches!(
            verify_checkpoint_pinned(&fake.to_text(), &pinned),
            Err(OversightError::NotSignedByPinnedKey { .. })
        ));
        assert!(matches!(
            verify_checkpoint_pinned(&old.to_text(), &[us]),
            Err(OversightError::LogNotPinned { .. })
        ));
        assert!(matches!(
            parse_proof_lines("not base64!"),
            Err(OversightError::ProofLine { line: 1 })
        ));
    }
}
