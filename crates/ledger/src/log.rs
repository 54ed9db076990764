//! The log a node keeps of its own exchanges: group-commit appends,
//! checkpoints signed with the log key, cosignatures from the partner, and
//! O(log n) proofs read from stored perfect nodes.
//!
//! `Log` keeps only the compact range of the current tree in memory (one hash
//! per set bit of the size); everything else is in [`LedgerStorage`], so
//! reopening a log of any size reads O(log n) nodes.

use crate::bundle::{BUNDLE_FORMAT, ProofBundle};
use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::entry::{EntryError, LogEntry};
use crate::hash::{Hash, hash_leaf};
use crate::note::{KeyError, NoteSignature, NoteSigner, SignatureType, VerifierKey};
use crate::storage::{
    AppendBatch, LedgerStorage, StorageError, StoredCheckpoint, StoredCosignature, StoredLeaf,
};
use crate::tree::{
    GenerateError, NodeId, ProofError, TreeBuilder, compact_range_ids, consistency_proof,
    inclusion_proof, root_from_nodes,
};

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The storage failed or is inconsistent.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// An entry could not be encoded.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// A proof request was impossible.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A checkpoint or cosignature was refused.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A key of the wrong kind was supplied.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The stored log is shorter than, or differs from, a checkpoint it signed.
    #[error("the stored log does not match its own checkpoint of size {size}; run a full audit")]
    Damaged {
        /// The checkpoint's size.
        size: u64,
    },
    /// No checkpoint covers the requested entry.
    #[error("no checkpoint covers entry {index}{}", if *.cosigned { " with the requested cosignatures" } else { "" })]
    NoCheckpoint {
        /// The entry index.
        index: u64,
        /// Whether cosignatures were required.
        cosigned: bool,
    },
    /// The size asked for is beyond the log.
    #[error("size {asked} is beyond the log's {size} entries")]
    BeyondEnd {
        /// The size asked for.
        asked: u64,
        /// The log size.
        size: u64,
    },
}

impl From<GenerateError<StorageError>> for LogError {
    fn from(e: GenerateError<StorageError>) -> Self {
        match e {
            GenerateError::Proof(p) => LogError::Proof(p),
            GenerateError::Source(s) => LogError::Storage(s),
        }
    }
}

/// An append-only log over some storage, signing with the log's key.
pub struct Log<S: LedgerStorage> {
    storage: S,
    signer: NoteSigner,
    /// Keys of the same log rotated out: checkpoints they signed are still
    /// ours.
    previous: Vec<VerifierKey>,
    builder: TreeBuilder,
}

impl<S: LedgerStorage> std::fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.signer.name())
            .field("size", &self.builder.size())
            .finish_non_exhaustive()
    }
}

fn read_node<S: LedgerStorage + ?Sized>(storage: &S, id: NodeId) -> Result<Hash, StorageError> {
    storage.node(id)?.ok_or_else(|| {
        StorageError::Missing(format!(
            "tree node at level {} index {}",
            id.level, id.index
        ))
    })
}

impl<S: LedgerStorage> Log<S> {
    /// Opens the log stored in `storage`; `signer` is the log key (Ed25519,
    /// named like the origin). Checks that the stored tree still has the root
    /// of the latest checkpoint, which catches truncation or a rewritten
    /// prefix at start-up for O(log n) reads.
    pub fn open(storage: S, signer: NoteSigner) -> Result<Self, LogError> {
        Self::open_with_previous(storage, signer, Vec::new())
    }

    /// Opens the log like [`Log::open`], also taking checkpoints signed by
    /// `previous` keys of the same log (keys rotated out) as its own.
    pub fn open_with_previous(
        storage: S,
        signer: NoteSigner,
        previous: Vec<VerifierKey>,
    ) -> Result<Self, LogError> {
        if signer.kind() != SignatureType::Ed25519 {
            return Err(KeyError::WrongType {
                expected: SignatureType::Ed25519,
                got: signer.kind(),
            }
            .into());
        }
        let size = storage.size()?;
        let roots = compact_range_ids(size)
            .into_iter()
            .map(|id| read_node(&storage, id))
            .collect::<Result<Vec<_>, _>>()?;
        let builder = TreeBuilder::from_parts(size, roots)
            .ok_or_else(|| StorageError::Missing("the compact range of the tree".into()))?;
        let log = Log {
            storage,
            signer,
            previous,
            builder,
        };
        if let Some(latest) = log.storage.latest_checkpoint()? {
            let (signed, _) = log.verify_own(&latest.note)?;
            let cp = signed.checkpoint();
            if cp.size() > size || log.root_at(cp.size())? != *cp.root() {
                return Err(LogError::Damaged { size: cp.size() });
            }
        }
        Ok(log)
    }

    /// The origin line of this log's checkpoints (the log key name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The log's verifier key, to give to partners and auditors.
    pub fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.builder.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.builder.root()
    }

    /// Appends a batch of entries in one storage transaction (group commit)
    /// and returns the index of the first. On error nothing is appended.
    pub fn append(&mut self, entries: &[LogEntry]) -> Result<u64, LogError> {
        let encoded = entries
            .iter()
            .map(LogEntry::encode)
            .collect::<Result<Vec<_>, _>>()?;
        let start = self.builder.size();
        let mut builder = self.builder.clone();
        let mut batch = AppendBatch {
            start,
            entries: Vec::with_capacity(encoded.len()),
            nodes: Vec::with_capacity(encoded.len() * 2 + 64),
        };
        for e in encoded {
            builder.push_with(hash_leaf(&e), |id, h| batch.nodes.push((id, h)));
            batch.entries.push(e);
        }
        self.storage.append(&batch)?;
        // Only a committed batch moves the in-memory tree forward.
        self.builder = builder;
        Ok(start)
    }

    /// The root of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size() {
            return Err(LogError::BeyondEnd {
                asked: size,
                size: self.size(),
            });
        }
        Ok(root_from_nodes(size, |id| read_node(&self.storage, id))?)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if size > self.size() {
            return Err(LogError::BeyondEnd {
                asked: size,
                size: self.size(),
            });
        }
        Ok(inclusion_proof(index, size, |id| {
            read_node(&self.storage, id)
        })?)
    }

    /// The consistency proof from `size1` to `size2` entries.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, LogError> {
        if size2 > self.size() {
            return Err(LogError::BeyondEnd {
                asked: size2,
                size: self.size(),
            });
        }
        Ok(consistency_proof(size1, size2, |id| {
            read_node(&self.storage, id)
        })?)
    }

    /// The stored entry at `index`.
    pub fn leaf(&self, index: u64) -> Result<StoredLeaf, LogError> {
        self.storage
            .leaves(index, index.saturating_add(1))?
            .into_iter()
            .next()
            .ok_or(LogError::BeyondEnd {
                asked: index.saturating_add(1),
                size: self.size(),
            })
    }

    /// Signs and stores a checkpoint of the current tree.
    pub fn sign_checkpoint(&mut self) -> Result<SignedCheckpoint, LogError> {
        let size = self.size();
        if let Some(existing) = self.storage.checkpoint(size)? {
            // One checkpoint per size: signing twice would look like equivocation.
            return Ok(self.verify_own(&existing.note)?.0);
        }
        let cp = Checkpoint::new(self.origin(), size, self.root())?;
        let signed = SignedCheckpoint::sign(cp, &self.signer)?;
        self.storage.put_checkpoint(&StoredCheckpoint {
            size,
            note: signed.to_text(),
        })?;
        Ok(signed)
    }

    /// Signs and stores a checkpoint of the tree at `size`, which must not
    /// exceed the log (entries appended since are left to a later one).
    pub fn sign_checkpoint_at(&mut self, size: u64) -> Result<SignedCheckpoint, LogError> {
        if let Some(existing) = self.storage.checkpoint(size)? {
            return Ok(self.verify_own(&existing.note)?.0);
        }
        let cp = Checkpoint::new(self.origin(), size, self.root_at(size)?)?;
        let signed = SignedCheckpoint::sign(cp, &self.signer)?;
        self.storage.put_checkpoint(&StoredCheckpoint {
            size,
            note: signed.to_text(),
        })?;
        Ok(signed)
    }

    /// Checks and stores a witness's cosignature on our checkpoint of `size`;
    /// returns the cosignature's timestamp.
    pub fn add_cosignature(
        &mut self,
        size: u64,
        line: &NoteSignature,
        witness: &VerifierKey,
    ) -> Result<u64, LogError> {
        let mut signed = self.signed_checkpoint(size)?;
        let timestamp = signed.attach_cosignature(line, witness)?;
        let text = line.to_line();
        self.storage.put_cosignature(&StoredCosignature {
            size,
            witness: witness.name().to_owned(),
            line: text.trim_end_matches('\n').to_owned(),
        })?;
        Ok(timestamp)
    }

    /// Our checkpoint of `size` with every stored cosignature attached.
    pub fn signed_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, LogError> {
        let stored = self
            .storage
            .checkpoint(size)?
            .ok_or(LogError::NoCheckpoint {
                index: size.saturating_sub(1),
                cosigned: false,
            })?;
        let (mut signed, _) = self.verify_own(&stored.note)?;
        for c in self.storage.cosignatures(size)? {
            let line = NoteSignature::parse_line(&c.line).map_err(CheckpointError::from)?;
            let mut note = signed.note().clone();
            note.add_signature(line).map_err(CheckpointError::from)?;
            signed = SignedCheckpoint::parse_unverified(&note.to_text())?;
        }
        Ok(signed)
    }

    /// A self-contained receipt for entry `index`, against the latest
    /// checkpoint that covers it and carries a valid cosignature from every
    /// one of `witnesses`.
    pub fn bundle(&self, index: u64, witnesses: &[VerifierKey]) -> Result<ProofBundle, LogError> {
        let mut checkpoints = self.storage.checkpoints()?;
        checkpoints.retain(|c| c.size > index);
        let missing = LogError::NoCheckpoint {
            index,
            cosigned: !witnesses.is_empty(),
        };
        for stored in checkpoints.iter().rev() {
            let signed = self.signed_checkpoint(stored.size)?;
            let (_, log_key) = self.verify_own(&stored.note)?;
            if witnesses
                .iter()
                .all(|w| signed.check_cosignature(w).is_ok())
            {
                let leaf = self.leaf(index)?;
                return Ok(ProofBundle {
                    format: BUNDLE_FORMAT.to_owned(),
                    log_key,
                    witness_keys: witnesses.to_vec(),
                    checkpoint: signed.to_text(),
                    index,
                    entry: leaf.entry,
                    inclusion_proof: self.inclusion_proof(index, stored.size)?,
                });
            }
        }
        Err(missing)
    }

    /// Verifies one of our checkpoints with the key in use or a previous
    /// one; returns it with the key that signed it.
    fn verify_own(&self, note: &str) -> Result<(SignedCheckpoint, VerifierKey), LogError> {
        let current = self.verifier();
        let mut first_error = None;
        for key in std::iter::once(&current).chain(self.previous.iter()) {
            match SignedCheckpoint::verify(note, key) {
                Ok(signed) => return Ok((signed, key.clone())),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error
            .map(LogError::from)
            .unwrap_or(LogError::NoCheckpoint {
                index: 0,
                cosigned: false,
            }))
    }

    /// The storage, for reads such as audits.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }
}
