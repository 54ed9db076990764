//! The bilateral ledger: an append-only RFC 9162 Merkle log of every exchange
//! between two country nodes, C2SP checkpoints signed by the log, C2SP
//! witness cosignatures from the partner, and the proofs that let a third
//! party check any of it without trusting either operator.
//!
//! The core does no I/O. Persistence goes through the [`LedgerStorage`] trait
//! (an in-memory implementation, [`MemoryStorage`], is included; the SQLite
//! one lives in the store crate), witnessing is a plain state value
//! ([`Witness`]) fed with checkpoints and returning cosignatures or alarms,
//! and every verifier takes bytes or text and returns a typed verdict.
//!
//! # What travels between nodes
//!
//! * Log → partner witness: an [`AddCheckpoint`] body (C2SP tlog-witness
//!   `add-checkpoint`): `old <size>`, consistency proof lines, a blank line,
//!   the signed checkpoint note.
//! * Witness → log: the cosignature line ([`NoteSignature::to_line`]), or on
//!   a stale old size the witness's latest size.
//! * To anyone: a [`ProofBundle`] (JSON receipt) or an [`Alarm`] (JSON
//!   evidence of equivocation, rollback or inconsistency).
//!
//! # Example
//!
//! ```
//! use soberana_ledger::*;
//!
//! let log_key = NoteSigner::from_seed("mx.example/ledger", SignatureType::Ed25519, &[1; 32])?;
//! let us_witness = NoteSigner::from_seed("us.example/witness", SignatureType::CosignatureV1, &[2; 32])?;
//! let mut log = Log::open(MemoryStorage::new(), log_key)?;
//! let mut witness = Witness::new(log.verifier(), us_witness.clone())?;
//!
//! // Group commit: one storage transaction for the batch.
//! log.append(&[LogEntry::PolicyPin { layer: "constitutional".into(), digest: sha256(b"policies"), time_ms: 0 }])?;
//! let checkpoint = log.sign_checkpoint()?;
//!
//! // The partner witnesses it and returns a cosignature.
//! let request = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: checkpoint.to_text() };
//! let Observation::Cosigned { cosignature, .. } = witness.add_checkpoint(&request.to_string(), 1_763_800_000)? else {
//!     unreachable!("a first checkpoint is always consistent");
//! };
//! log.add_cosignature(1, &cosignature, &us_witness.verifier())?;
//!
//! // Anyone can check a receipt with no access to either node.
//! let receipt = log.bundle(0, &[us_witness.verifier()])?;
//! let verified = verify_bundle_json(&receipt.to_json())?;
//! assert_eq!(verified.checkpoint.size(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Peer input is never indexed: a slice or index that could be out of range
// is a panic a partner could trigger. Tests index freely.
#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

mod audit;
#[cfg(feature = "bench")]
pub mod bench;
mod bundle;
mod checkpoint;
pub mod conformance;
mod entry;
mod hash;
mod log;
mod note;
mod oversight;
mod storage;
mod tree;
mod witness;

pub use audit::{
    AuditError, AuditReport, Finding, audit_log, audit_storage, audit_storage_rotated,
};
pub use bundle::{
    BUNDLE_FORMAT, BundleError, PinnedParty, PinnedReceipt, ProofBundle, VerifiedReceipt,
    verify_bundle, verify_bundle_json, verify_bundle_pinned, verify_bundle_with,
};
pub use log::{Log, LogError};
pub use oversight::{
    OversightError, PinnedCheckpoint, parse_proof_lines, verify_checkpoint_pinned,
    verify_consistency_pinned,
};
pub use storage::{
    AppendBatch, LedgerStorage, MemoryStorage, PartnerCheckpoint, StorageError, StoredCheckpoint,
    StoredCosignature, StoredLeaf, stream_leaves,
};
pub use witness::{
    AddCheckpoint, Alarm, AlarmError, AlarmKind, MAX_PROOF_LINES, Observation, Witness,
    WitnessError,
};

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, verify_checkpoint_text};
pub use entry::{
    Digest, ENTRY_VERSION, EntryError, EnvelopeRecord, LogEntry, MAX_TEXT_BYTES, PeerChangeKind,
};
pub use hash::{HASH_LEN, Hash, HashLengthError, empty_root, hash_children, hash_leaf, sha256};
pub use note::{
    KeyError, MAX_NOTE_BYTES, MAX_SIGNATURES, Note, NoteError, NoteSignature, NoteSigner,
    SignatureType, VerifiedSignature, VerifierKey, cosignature_message, key_id,
};
pub use tree::{
    GenerateError, NodeId, NodeTable, ProofError, TreeBuilder, compact_range_ids,
    consistency_proof, inclusion_proof, root_from_inclusion_proof, root_from_nodes,
    verify_consistency, verify_consistency_bytes, verify_inclusion, verify_inclusion_bytes,
};
