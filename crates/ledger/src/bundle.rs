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
