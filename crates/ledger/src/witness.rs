//! Witnessing a partner's log, sans I/O: feed it the partner's newest signed
//! checkpoint and a consistency proof from the last one we cosigned, get back
//! a cosignature or an alarm carrying the evidence.
//!
//! This is the witness role of C2SP tlog-witness, reduced to its core: a
//! witness cosigns only checkpoints that extend everything it has cosigned
//! before. Two signed checkpoints of one size with different roots
//! (equivocation) are proof of misbehaviour that anyone can check with the
//! log's public key alone; a failed consistency proof or a smaller size is
//! recorded with both signed checkpoints so that it can be escalated.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::hash::{Hash, empty_root};
use crate::note::{KeyError, NoteSignature, NoteSigner, SignatureType, VerifierKey};
use crate::tree::verify_consistency;

/// What kind of misbehaviour an alarm reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// Two different checkpoints of the same size.
    Equivocation,
    /// A larger checkpoint whose consistency proof from the earlier one fails.
    Inconsistent,
    /// A checkpoint smaller than one already cosigned.
    Rollback,
}

/// Evidence of log misbehaviour: both signed checkpoints (and the proof
/// offered, if any). Serializable so it can be stored and sent to oversight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// What was seen.
    pub kind: AlarmKind,
    /// The log's origin.
    pub origin: String,
    /// The checkpoint we had cosigned.
    pub earlier: SignedCheckpoint,
    /// The checkpoint that conflicts with it.
    pub later: SignedCheckpoint,
    /// The consistency proof the log offered (empty if none).
    pub proof: Vec<Hash>,
}

/// Why an alarm's evidence does not hold up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    /// A checkpoint in the evidence is not signed by the log.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoints do not show what the alarm claims.
    #[error("the evidence does not show {0:?}")]
    NotShown(AlarmKind),
}

impl Alarm {
    /// Checks the evidence with the log's key alone: both checkpoints signed
    /// by the log, and the claimed conflict visible in them.
    pub fn verify(&self, log_key: &VerifierKey) -> Result<(), AlarmError> {
        self.earlier.check_log_signature(log_key)?;
        self.later.check_log_signature(log_key)?;
        let (a, b) = (self.earlier.checkpoint(), self.later.checkpoint());
        let shown = match self.kind {
            AlarmKind::Equivocation => a.size() == b.size() && a.root() != b.root(),
            AlarmKind::Rollback => b.size() < a.size(),
            AlarmKind::Inconsistent => {
                a.size() < b.size()
                    && verify_consistency(a.size(), b.size(), &self.proof, a.root(), b.root())
                        .is_err()
            }
        };
        if shown {
            Ok(())
        } else {
            Err(AlarmError::NotShown(self.kind))
        }
    }

    /// The alarm as JSON.
    pub fn to_json(&self) -> String {
        // Plain strings and lists: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// What observing a checkpoint produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The checkpoint extends what we cosigned before: here is our
    /// cosignature and the checkpoint with it attached. Persist the
    /// checkpoint (as a `PartnerCheckpoint`) *before* sending the
    /// cosignature back, in the same transaction that checked the old size:
    /// tlog-witness requires it, or two racing requests could roll the
    /// witness state back.
    Cosigned {
        /// The partner checkpoint with our cosignature attached.
        checkpoint: SignedCheckpoint,
        /// The cosignature line to return to the partner.
        cosignature: NoteSignature,
    },
    /// The log misbehaved; nothing was cosigned and the state is unchanged.
    Alarm(Box<Alarm>),
}

/// Why a checkpoint could not even be considered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The checkpoint is malformed or not signed by the partner's log key.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A key was of the wrong type.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An add-checkpoint request body is malformed.
    #[error("the add-checkpoint request is malformed: {0}")]
    Malformed(&'static str),
    /// A declared restart of the log does not hold against what we
    /// cosigned (see [`Witness::restart`]).
    #[error("the log restart is refused: {0}")]
    Restart(String),
    /// The request's old size is not the size we last cosigned
    /// (tlog-witness answers 409 with this size).
    #[error("the old size does not match; the witness last cosigned size {latest}")]
    OldSizeMismatch {
        /// The size of the latest checkpoint we cosigned (0 if none).
        latest: u64,
    },
}

/// Most consistency proof lines a tlog-witness request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// A C2SP tlog-witness `add-checkpoint` request body: the size the log
/// believes we last cosigned, a consistency proof from it, and the new
/// signed checkpoint. This is the message a log sends its partner's witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the previous checkpoint the witness cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parses a request body (c2sp.org/tlog-witness, add-checkpoint).
    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let (head, checkpoint) = body.split_once("\n\n").ok_or(WitnessError::Malformed(
            "no blank line before the checkpoint",
        ))?;
        let mut lines = head.split('\n');
        let old =
            lines
                .next()
                .and_then(|l| l.strip_prefix("old "))
                .ok_or(WitnessError::Malformed(
                    "the first line must be `old <size>`",
                ))?;
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(WitnessError::Malformed(
                "the old size must be decimal without leading zeros",
            ));
        }
        let old_size = old
            .parse()
            .map_err(|_| WitnessError::Malformed("the old size does not fit 64 bits"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::Malformed(
                    "more than 63 consistency proof lines",
                ));
            }
            proof.push(Hash::from_base64(line).ok_or(WitnessError::Malformed(
                "a proof line is not base64 of 32 bytes",
            ))?);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old_size)?;
        for h in &self.proof {
            writeln!(f, "{}", h.to_base64())?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

/// Witness state for one partner log.
#[derive(Debug, Clone)]
pub struct Witness {
    log_key: VerifierKey,
    previous: Vec<VerifierKey>,
    cosigner: NoteSigner,
    latest: Option<SignedCheckpoint>,
}

impl Witness {
    /// A witness that has cosigned nothing yet for the log of `log_key`
    /// (Ed25519), cosigning with `cosigner` (cosignature/v1).
    pub fn new(log_key: VerifierKey, cosigner: NoteSigner) -> Result<Self, WitnessError> {
        if log_key.kind() != SignatureType::Ed25519 {
            return Err(KeyError::WrongType {
                expected: SignatureType::Ed25519,
                got: log_key.kind(),
            }
            .into());
        }
        if cosigner.kind() != SignatureType::CosignatureV1 {
            return Err(KeyError::WrongType {
                expected: SignatureType::CosignatureV1,
                got: cosigner.kind(),
            }
            .into());
        }
        Ok(Witness {
            log_key,
            previous: Vec::new(),
            cosigner,
            latest: None,
        })
    }

    /// Resumes from the last checkpoint we cosigned (as persisted).
    pub fn resume(
        log_key: VerifierKey,
        cosigner: NoteSigner,
        latest: &str,
    ) -> Result<Self, WitnessError> {
        let mut w = Witness::new(log_key, cosigner)?;
        w.latest = Some(SignedCheckpoint::verify(latest, &w.log_key)?);
        Ok(w)
    }

    /// Like [`Witness::resume`], for a log whose key was rotated: the last
    /// checkpoint we cosigned may be signed by one of `previous` (the log's
    /// keys before `log_key`); new checkpoints must be signed by `log_key`.
    pub fn resume_rotated(
        log_key: VerifierKey,
        previous: &[VerifierKey],
        cosigner: NoteSigner,
        latest: &str,
    ) -> Result<Self, WitnessError> {
        let mut w = Witness::new(log_key, cosigner)?;
        let mut verified = SignedCheckpoint::verify(latest, &w.log_key);
        for key in previous {
            if verified.is_ok() {
                break;
            }
            verified = SignedCheckpoint::verify(latest, key);
        }
        w.latest = Some(verified?);
        w.previous = previous.to_vec();
        Ok(w)
    }

    /// The last checkpoint we cosigned.
    pub fn latest(&self) -> Option<&SignedCheckpoint> {
        self.latest.as_ref()
    }

    /// Our cosigner verifier key, for the partner to check our cosignatures.
    pub fn cosigner_key(&self) -> VerifierKey {
        self.cosigner.verifier()
    }

    /// Handles a tlog-witness `add-checkpoint` request body. Over HTTP the
    /// outcomes map to: `Cosigned` → 200 with the cosignature line;
    /// `OldSizeMismatch` → 409 with the size; `Alarm` equivocation → 409,
    /// rollback → 400, inconsistent → 422; `Malformed` → 400; a checkpoint
    /// not signed by the partner's log key → 403.
    pub fn add_checkpoint(&mut self, body: &str, now: u64) -> Result<Observation, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        // The signature is checked before anything else so that a stranger
        // cannot even learn our state.
        let new = SignedCheckpoint::verify(&request.checkpoint, &self.log_key)?;
        // A signed checkpoint of the size we cosigned with another root is
        // proof of a fork whatever old size the request names: keep it as
        // evidence rather than answer a size mismatch and lose it. This is
        // what a log that sends conflicting extensions at once meets once
        // the first of them is cosigned.
        if let Some(old) = &self.latest
            && old.checkpoint().size() == new.checkpoint().size()
            && old.checkpoint().root() != new.checkpoint().root()
        {
            return Ok(Observation::Alarm(Box::new(Alarm {
                kind: AlarmKind::Equivocation,
                origin: new.checkpoint().origin().to_owned(),
                earlier: old.clone(),
                later: new,
                proof: request.proof,
            })));
        }
        let latest = self.latest.as_ref().map_or(0, |c| c.checkpoint().size());
        if request.old_size != latest {
            return Err(WitnessError::OldSizeMismatch { latest });
        }
        if request.old_size == 0 && !request.proof.is_empty() {
            return Err(WitnessError::Malformed(
                "the proof must be empty when the old size is zero",
            ));
        }
        self.observe(&request.checkpoint, &request.proof, now)
    }

    /// Handles an `add-checkpoint` request that comes with the log's signed
    /// declaration that it restarted: a restore lost entries past the
    /// checkpoint of size `abandoned_size` and root `abandoned_root` that we
    /// cosigned, and the log goes on from `restored_size` entries plus the
    /// declaration itself. The request's checkpoint is the new branch's
    /// first, of size `restored_size + 1`; its old size names a checkpoint
    /// we cosigned that the new branch still extends (`base`, the note we
    /// hold at that size, proven by the request's consistency proof), or 0.
    ///
    /// Cosigned only if the abandoned checkpoint is exactly the latest we
    /// cosigned: a checkpoint we never cosigned, one we cosigned before the
    /// latest, or a restart already taken (its abandoned checkpoint is no
    /// longer the latest) is refused. Once cosigned the new branch is our
    /// state, so its later checkpoints are witnessed as usual; the abandoned
    /// checkpoints stay stored as they were signed.
    pub fn restart(
        &mut self,
        body: &str,
        abandoned_size: u64,
        abandoned_root: &Hash,
        restored_size: u64,
        base: Option<&str>,
        now: u64,
    ) -> Result<Observation, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let new = SignedCheckpoint::verify(&request.checkpoint, &self.log_key)?;
        let refuse = |why: String| Err(WitnessError::Restart(why));
        let Some(latest) = &self.latest else {
            return refuse(format!(
                "it names a cosigned checkpoint of size {abandoned_size}, but this witness cosigned no checkpoint of the log"
            ));
        };
        let (size, root) = (latest.checkpoint().size(), latest.checkpoint().root());
        if abandoned_size != size || abandoned_root != root {
            return refuse(format!(
                "it names the checkpoint of size {abandoned_size} and root {} as the last one cosigned, but the last checkpoint of the log this witness cosigned is of size {size} and root {} (a checkpoint never cosigned, or a restart already taken)",
                abandoned_root.to_hex(),
                root.to_hex()
            ));
        }
        let new_size = new.checkpoint().size();
        if restored_size.checked_add(1) != Some(new_size) {
            return refuse(format!(
                "it declares {restored_size} entries before the restart, but its checkpoint is of size {new_size} (the restored entries and the declaration)"
            ));
        }
        if new_size == size && new.checkpoint().root() == root {
            return refuse("its checkpoint is the one already cosigned: nothing was lost".into());
        }
        let kept = match base {
            _ if request.old_size == 0 => {
                if !request.proof.is_empty() {
                    return Err(WitnessError::Malformed(
                        "the proof must be empty when the old size is zero",
                    ));
                }
                None
            }
            None => {
                return refuse(format!(
                    "it says the new branch extends the checkpoint of size {} this witness cosigned, but it cosigned none of that size",
                    request.old_size
                ));
            }
            Some(note) => {
                let mut verified = SignedCheckpoint::verify(note, &self.log_key);
                for key in &self.previous {
                    if verified.is_ok() {
                        break;
                    }
                    verified = SignedCheckpoint::verify(note, key);
                }
                Some(verified?)
            }
        };
        if let Some(kept) = &kept {
            let (a, b) = (kept.checkpoint(), new.checkpoint());
            let consistent = a.size() == request.old_size
                && a.size() <= b.size()
                && if a.size() == b.size() {
                    a.root() == b.root()
                } else {
                    verify_consistency(a.size(), b.size(), &request.proof, a.root(), b.root())
                        .is_ok()
                };
            if !consistent {
                return refuse(format!(
                    "its checkpoint of size {} does not extend the checkpoint of size {} this witness cosigned",
                    b.size(),
                    request.old_size
                ));
            }
        }
        let cosignature = new.cosign(&self.cosigner, now)?;
        let mut checkpoint = new;
        checkpoint.attach_cosignature(&cosignature, &self.cosigner.verifier())?;
        self.latest = Some(checkpoint.clone());
        Ok(Observation::Cosigned {
            checkpoint,
            cosignature,
        })
    }

    /// Considers the partner's signed checkpoint `note` with a consistency
    /// proof from our latest cosigned checkpoint; `now` is POSIX seconds.
    pub fn observe(
        &mut self,
        note: &str,
        proof: &[Hash],
        now: u64,
    ) -> Result<Observation, WitnessError> {
        let new = SignedCheckpoint::verify(note, &self.log_key)?;
        let alarm = |kind, earlier: &SignedCheckpoint| {
            Observation::Alarm(Box::new(Alarm {
                kind,
                origin: new.checkpoint().origin().to_owned(),
                earlier: earlier.clone(),
                later: new.clone(),
                proof: proof.to_vec(),
            }))
        };
        if let Some(old) = &self.latest {
            let (a, b) = (old.checkpoint(), new.checkpoint());
            if b.size() < a.size() {
                return Ok(alarm(AlarmKind::Rollback, old));
            }
            if b.size() == a.size() && b.root() != a.root() {
                return Ok(alarm(AlarmKind::Equivocation, old));
            }
            // An empty tree is a prefix of every tree; RFC 9162 has no proof
            // from size 0, so none is asked for (but its root must be right).
            // The same tree seen again needs no proof either.
            let consistent = if b.size() == a.size() {
                true
            } else if a.size() == 0 {
                *a.root() == empty_root()
            } else {
                verify_consistency(a.size(), b.size(), proof, a.root(), b.root()).is_ok()
            };
            if !consistent {
                return Ok(alarm(AlarmKind::Inconsistent, old));
            }
        }
        let cosignature = new.cosign(&self.cosigner, now)?;
        let mut checkpoint = new;
        checkpoint.attach_cosignature(&cosignature, &self.cosigner.verifier())?;
        self.latest = Some(checkpoint.clone());
        Ok(Observation::Cosigned {
            checkpoint,
            cosignature,
        })
    }
}
