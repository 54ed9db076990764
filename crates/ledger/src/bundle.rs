//! Receipts: a self-contained JSON bundle proving that an entry is in a log,
//! checkable by a third party with no access to either node.
//!
//! The bundle carries the entry bytes, its index, the log's signed checkpoint
//! with the partner's cosignature, the inclusion proof, and the verifier keys
//! of the log and the witnesses. The keys inside a bundle only make it
//! self-describing: someone settling a dispute must compare them with keys
//! they trust (published by each country), which [`verify_bundle_with`] does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::entry::{EntryError, LogEntry};
use crate::hash::{Hash, hash_leaf};
use crate::note::{VerifiedSignature, VerifierKey};
use crate::tree::{ProofError, verify_inclusion};

/// The `format` field of every bundle this version writes.
pub const BUNDLE_FORMAT: &str = "soberana-ledger-receipt/v1";

/// A receipt: everything needed to check that an entry is in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The log's verifier key (`name+hash+base64`).
    pub log_key: VerifierKey,
    /// The witnesses whose cosignatures the checkpoint carries.
    pub witness_keys: Vec<VerifierKey>,
    /// The signed checkpoint note, cosignatures included.
    pub checkpoint: String,
    /// The entry's index in the log.
    pub index: u64,
    /// The canonical entry bytes (base64 in JSON).
    #[serde(serialize_with = "ser_b64", deserialize_with = "de_b64")]
    pub entry: Vec<u8>,
    /// The inclusion proof for `index` at the checkpoint's size.
    pub inclusion_proof: Vec<Hash>,
}

fn ser_b64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&BASE64.encode(bytes))
}

fn de_b64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    BASE64.decode(text).map_err(serde::de::Error::custom)
}

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The JSON does not parse as a bundle.
    #[error("the receipt is not valid JSON for a ledger receipt: {0}")]
    Json(String),
    /// The format tag is unknown.
    #[error("receipt format `{0}` is not supported; expected `soberana-ledger-receipt/v1`")]
    Format(String),
    /// The checkpoint or a signature on it failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No witness key was given, so the checkpoint is not witnessed.
    #[error("the receipt names no witness; a receipt must carry the partner's cosignature")]
    NotWitnessed,
    /// The entry bytes are not a canonical entry.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The inclusion proof failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A key in the bundle is not one the caller trusts.
    #[error("the receipt's key `{0}` is not among the trusted keys")]
    UntrustedKey(String),
    /// The bundle names a log or witness that is pinned, but under another
    /// key: it was made by a different node than the one pinned.
    #[error(
        "the receipt's {role} key `{found}` is not the pinned key of `{name}`, which is `{pinned}` ({owner}); it was made by another node"
    )]
    KeyMismatch {
        /// `log` or `witness`.
        role: &'static str,
        /// The key name both carry.
        name: String,
        /// The key in the bundle.
        found: String,
        /// The pinned key.
        pinned: String,
        /// Whose the pinned key is.
        owner: String,
    },
    /// The bundle's log key is not pinned at all.
    #[error("the receipt's log key `{found}` is not pinned; pinned logs: {pinned}")]
    LogNotPinned {
        /// The key in the bundle.
        found: String,
        /// The pinned log keys, with their owners.
        pinned: String,
    },
    /// The bundle claims a pinned witness's cosignature the checkpoint does not carry.
    #[error(
        "the receipt claims a cosignature by {owner} (`{key}`) but it does not verify: {reason}"
    )]
    ClaimedCosignature {
        /// Whose witness key.
        owner: String,
        /// The witness key.
        key: String,
        /// Why it failed.
        reason: String,
    },
}

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The entry.
    pub entry: LogEntry,
    /// Its index.
    pub index: u64,
    /// The checkpoint it is included in.
    pub checkpoint: Checkpoint,
    /// The witness cosignatures that verified, with their timestamps.
    pub cosignatures: Vec<VerifiedSignature>,
}

/// Verifies a bundle against the keys it carries: the log signature, every
/// listed witness's cosignature (at least one witness), the entry's
/// canonical encoding and the inclusion proof.
pub fn verify_bundle(bundle: &ProofBundle) -> Result<VerifiedReceipt, BundleError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Format(
            bundle.format.chars().take(80).collect(),
        ));
    }
    if bundle.witness_keys.is_empty() {
        return Err(BundleError::NotWitnessed);
    }
    let signed = SignedCheckpoint::parse_unverified(&bundle.checkpoint)?;
    let cosignatures = signed.verify_all(&bundle.log_key, &bundle.witness_keys)?;
    let entry = LogEntry::decode(&bundle.entry)?;
    let checkpoint = signed.checkpoint().clone();
    verify_inclusion(
        bundle.index,
        checkpoint.size(),
        &hash_leaf(&bundle.entry),
        &bundle.inclusion_proof,
        checkpoint.root(),
    )?;
    Ok(VerifiedReceipt {
        entry,
        index: bundle.index,
        checkpoint,
        cosignatures,
    })
}

/// [`verify_bundle`], after checking that the bundle's log key and witness
/// keys are among the caller's trusted keys.
pub fn verify_bundle_with(
    bundle: &ProofBundle,
    trusted_logs: &[VerifierKey],
    trusted_witnesses: &[VerifierKey],
) -> Result<VerifiedReceipt, BundleError> {
    if !trusted_logs.contains(&bundle.log_key) {
        return Err(BundleError::UntrustedKey(bundle.log_key.to_string()));
    }
    if let Some(w) = bundle
        .witness_keys
        .iter()
        .find(|w| !trusted_witnesses.contains(w))
    {
        return Err(BundleError::UntrustedKey(w.to_string()));
    }
    verify_bundle(bundle)
}

/// One party's keys that a checker trusts, from a source the checker trusts
/// (a pinned party card, the node's own key), and a label saying whose they
/// are and where they came from, shown in every verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedParty {
    /// Whose keys these are, e.g. "MX, pinned card ab12-…".
    pub owner: String,
    /// The key that signs the party's log checkpoints.
    pub log: VerifierKey,
    /// The key that signs the party's witness cosignatures.
    pub witness: VerifierKey,
}

/// What a receipt verified against pinned keys establishes, and what it does
/// not: a checkpoint signed by a pinned log but not (yet) cosigned by a
/// pinned partner verifies for the log's signature only, and says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedReceipt {
    /// The entry, its index and checkpoint; `cosignatures` holds only those
    /// checked with pinned keys.
    pub receipt: VerifiedReceipt,
    /// The pinned party whose log key verified the checkpoint.
    pub log_owner: String,
    /// The log key used.
    pub log_key: VerifierKey,
    /// Pinned partners whose cosignature on the checkpoint verified.
    pub cosigned_by: Vec<(String, VerifierKey)>,
    /// Pinned partners (other than the log's owner) with no cosignature on
    /// the checkpoint.
    pub not_cosigned_by: Vec<(String, VerifierKey)>,
    /// Witness keys the bundle lists that are not pinned: not checked.
    pub unchecked_witnesses: Vec<VerifierKey>,
}

impl PinnedReceipt {
    /// Whether at least one pinned partner cosigned the checkpoint.
    pub fn is_cosigned(&self) -> bool {
        !self.cosigned_by.is_empty()
    }
}

/// Verifies a bundle with the keys of `pinned` parties only, never with the
/// keys the bundle carries: the bundle's log key must be a pinned party's log
/// key (a key of the same name but another value is refused as made by
/// another node), the checkpoint signature, entry and inclusion proof are
/// checked with it, and every other pinned party's cosignature is looked for
/// on the checkpoint. A witness the bundle lists under a pinned name but
/// another key is refused; one the bundle lists under a pinned key must
/// verify; one that is not pinned is reported as unchecked.
pub fn verify_bundle_pinned(
    bundle: &ProofBundle,
    pinned: &[PinnedParty],
) -> Result<PinnedReceipt, BundleError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Format(
            bundle.format.chars().take(80).collect(),
        ));
    }
    let Some(log_party) = pinned.iter().find(|p| p.log == bundle.log_key) else {
        if let Some(p) = pinned
            .iter()
            .find(|p| p.log.name() == bundle.log_key.name())
        {
            return Err(BundleError::KeyMismatch {
                role: "log",
                name: p.log.name().to_owned(),
                found: bundle.log_key.to_string(),
                pinned: p.log.to_string(),
                owner: p.owner.clone(),
            });
        }
        let list = pinned
            .iter()
            .map(|p| format!("`{}` ({})", p.log, p.owner))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(BundleError::LogNotPinned {
            found: bundle.log_key.to_string(),
            pinned: if list.is_empty() { "none".into() } else { list },
        });
    };
    let mut unchecked_witnesses = Vec::new();
    for claimed in &bundle.witness_keys {
        if pinned.iter().any(|p| p.witness == *claimed) {
            continue;
        }
        if let Some(p) = pinned.iter().find(|p| p.witness.name() == claimed.name()) {
            return Err(BundleError::KeyMismatch {
                role: "witness",
                name: p.witness.name().to_owned(),
                found: claimed.to_string(),
                pinned: p.witness.to_string(),
                owner: p.owner.clone(),
            });
        }
        unchecked_witnesses.push(claimed.clone());
    }
    let signed = SignedCheckpoint::parse_unverified(&bundle.checkpoint)?;
    signed.check_log_signature(&log_party.log)?;
    let entry = LogEntry::decode(&bundle.entry)?;
    let checkpoint = signed.checkpoint().clone();
    verify_inclusion(
        bundle.index,
        checkpoint.size(),
        &hash_leaf(&bundle.entry),
        &bundle.inclusion_proof,
        checkpoint.root(),
    )?;
    let mut cosignatures = Vec::new();
    let (mut cosigned_by, mut not_cosigned_by) = (Vec::new(), Vec::new());
    for p in pinned.iter().filter(|p| p.log != log_party.log) {
        match signed.check_cosignature(&p.witness) {
            Ok(t) => {
                cosignatures.push(VerifiedSignature {
                    name: p.witness.name().to_owned(),
                    kind: p.witness.kind(),
                    timestamp: Some(t),
                });
                cosigned_by.push((p.owner.clone(), p.witness.clone()));
            }
            Err(e) if bundle.witness_keys.contains(&p.witness) => {
                return Err(BundleError::ClaimedCosignature {
                    owner: p.owner.clone(),
                    key: p.witness.to_string(),
                    reason: e.to_string(),
                });
            }
            Err(_) => not_cosigned_by.push((p.owner.clone(), p.witness.clone())),
        }
    }
    Ok(PinnedReceipt {
        receipt: VerifiedReceipt {
            entry,
            index: bundle.index,
            checkpoint,
            cosignatures,
        },
        log_owner: log_party.owner.clone(),
        log_key: log_party.log.clone(),
        cosigned_by,
        not_cosigned_by,
        unchecked_witnesses,
    })
}

/// Parses and verifies a JSON bundle.
pub fn verify_bundle_json(json: &str) -> Result<VerifiedReceipt, BundleError> {
    let bundle: ProofBundle =
        serde_json::from_str(json).map_err(|e| BundleError::Json(e.to_string()))?;
    verify_bundle(&bundle)
}

impl ProofBundle {
    /// The bundle as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and lists cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
