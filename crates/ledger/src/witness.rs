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
