//! Full-log audit for tamper detection: recompute every leaf hash and the
//! tree from the stored entries, in one streaming pass, and check every
//! stored checkpoint and cosignature against it.
//!
//! Memory is O(log n) (the [`TreeBuilder`] stack) plus one lookahead leaf,
//! so a 10-million-entry log is audited without holding it. The audit stops
//! at the first problem in log order and names the first entry it cannot
//! vouch for: a leaf whose bytes do not match its stored hash, a missing
//! index, two entries out of order, a log shorter than a checkpoint it signed
//! (truncation), or a checkpoint whose root is not the recomputed one (a
//! fork: the stored history is not the one that was signed).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::hash::{Hash, hash_leaf};
use crate::note::{NoteSignature, VerifierKey};
use crate::storage::{
    LedgerStorage, StorageError, StoredCheckpoint, StoredCosignature, StoredLeaf, stream_leaves,
};
use crate::tree::{NodeId, TreeBuilder};

/// The first problem an audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// The entry bytes do not hash to the stored leaf hash.
    #[error(
        "entry {index} was altered: its bytes hash to {computed}, not the stored leaf hash {stored}"
    )]
    LeafHashMismatch {
        /// The entry.
        index: u64,
        /// The stored leaf hash.
        stored: Hash,
        /// The hash of the stored bytes.
        computed: Hash,
    },
    /// An index is missing from the sequence.
    #[error("entry {missing} is missing: the next stored entry is {found}")]
    Gap {
        /// The first missing index.
        missing: u64,
        /// The index found in its place.
        found: u64,
    },
    /// Entries are stored out of order.
    #[error("entries are out of order at {index}: entry {found} is stored where {index} belongs")]
    OutOfOrder {
        /// The position where order breaks.
        index: u64,
        /// The index found there.
        found: u64,
    },
    /// The log is shorter than a checkpoint it signed.
    #[error(
        "the log was truncated: it holds {size} entries but a checkpoint of size {checkpoint_size} was signed"
    )]
    Truncated {
        /// Entries present.
        size: u64,
        /// The largest signed size.
        checkpoint_size: u64,
    },
    /// A signed checkpoint's root is not the root of the stored entries.
    #[error(
        "fork at checkpoint {checkpoint_size}: it signs root {signed} but the stored entries give {computed}; entries from {first_unproven} on are not the signed history"
    )]
    Fork {
        /// The checkpoint's size.
        checkpoint_size: u64,
        /// The root it signs.
        signed: Hash,
        /// The root recomputed from the stored entries.
        computed: Hash,
        /// Size of the last checkpoint that did match (entries before it are proven).
        first_unproven: u64,
    },
    /// A stored tree node differs from the one recomputed from the entries:
    /// proofs served from it would be wrong.
    #[error(
        "stored tree node at level {level} index {index} is {stored} but the entries give {computed}; entries from {first_leaf} on are suspect"
    )]
    NodeMismatch {
        /// The node's level.
        level: u8,
        /// The node's index in its level.
        index: u64,
        /// The first leaf the node covers.
        first_leaf: u64,
        /// What is stored (hex, or `missing`).
        stored: String,
        /// What the entries give.
        computed: Hash,
    },
    /// A stored checkpoint is malformed or not signed by the log key.
    #[error("checkpoint {size} is not valid: {reason}")]
    BadCheckpoint {
        /// The size it was stored under.
        size: u64,
        /// Why it was refused.
        reason: String,
        /// Size of the last valid checkpoint.
        first_unproven: u64,
    },
    /// A stored cosignature from a known witness does not verify.
    #[error("the cosignature of `{witness}` on checkpoint {size} is not valid: {reason}")]
    BadCosignature {
        /// The checkpoint size.
        size: u64,
        /// The witness name.
        witness: String,
        /// Why it was refused.
        reason: String,
        /// Size of the last valid checkpoint.
        first_unproven: u64,
    },
}

impl Finding {
    /// The first entry index the audit cannot vouch for.
    pub fn first_bad_index(&self) -> u64 {
        match self {
            Finding::LeafHashMismatch { index, .. } | Finding::OutOfOrder { index, .. } => *index,
            Finding::Gap { missing, .. } => *missing,
            Finding::Truncated { size, .. } => *size,
            Finding::NodeMismatch { first_leaf, .. } => *first_leaf,
            Finding::Fork { first_unproven, .. }
            | Finding::BadCheckpoint { first_unproven, .. }
            | Finding::BadCosignature { first_unproven, .. } => *first_unproven,
        }
    }
}

/// Why an audit did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The log shows tampering or damage.
    #[error("the log failed its audit: {0}")]
    Tampered(Finding),
    /// The storage could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The result of a passing audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Entries checked.
    pub size: u64,
    /// The recomputed root of all entries.
    pub root: Hash,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// Cosignatures from known witnesses that were checked.
    pub cosignatures: usize,
    /// Cosignatures from witnesses not given to the audit (ignored).
    pub unknown_cosignatures: usize,
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries, root {}, {} checkpoints and {} cosignatures verified ({} from unknown witnesses ignored)",
            self.size, self.root, self.checkpoints, self.cosignatures, self.unknown_cosignatures
        )
    }
}

struct PendingCheckpoint {
    size: u64,
    parsed: Result<SignedCheckpoint, String>,
    cosignatures: Vec<StoredCosignature>,
}

/// Audits a log from its stored parts. `leaves` must yield the stored
/// leaves in storage order; `checkpoints` and `cosignatures` are every stored
/// record; `witnesses` are the cosigner keys to check (cosignatures from
/// other names are counted and ignored).
pub fn audit_log<I>(
    leaves: I,
    checkpoints: &[StoredCheckpoint],
    cosignatures: &[StoredCosignature],
    log_key: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<AuditReport, AuditError>
where
    I: IntoIterator<Item = Result<StoredLeaf, StorageError>>,
{
    audit_inner(
        leaves,
        checkpoints,
        cosignatures,
        std::slice::from_ref(log_key),
        witnesses,
        None,
    )
}

/// Reads one stored node, for comparing the stored tree with the recomputed one.
type NodeReader<'a> = &'a dyn Fn(NodeId) -> Result<Option<Hash>, StorageError>;

fn audit_inner<I>(
    leaves: I,
    checkpoints: &[StoredCheckpoint],
    cosignatures: &[StoredCosignature],
    log_keys: &[VerifierKey],
    witnesses: &[VerifierKey],
    nodes: Option<NodeReader<'_>>,
) -> Result<AuditReport, AuditError>
where
    I: IntoIterator<Item = Result<StoredLeaf, StorageError>>,
{
    let mut by_size: BTreeMap<u64, PendingCheckpoint> = BTreeMap::new();
    for c in checkpoints {
        // The log's key of the checkpoint's time: the one in use, or one
        // rotated out.
        let parsed = log_keys
            .iter()
            .map(|key| SignedCheckpoint::verify(&c.note, key).map_err(|e| e.to_string()))
            .reduce(|a, b| a.or(b))
            .unwrap_or_else(|| Err("no log key to check it with".to_owned()))
            .and_then(|s| {
                if s.checkpoint().size() == c.size {
                    Ok(s)
                } else {
                    Err(format!("its note says size {}", s.checkpoint().size()))
                }
            });
        by_size.insert(
            c.size,
            PendingCheckpoint {
                size: c.size,
                parsed,
                cosignatures: Vec::new(),
            },
        );
    }
    let mut report = AuditReport {
        size: 0,
        root: Hash::default(),
        checkpoints: 0,
        cosignatures: 0,
        unknown_cosignatures: 0,
    };
    for c in cosignatures {
        match by_size.get_mut(&c.size) {
            Some(p) => p.cosignatures.push(c.clone()),
            // A cosignature on a checkpoint we never stored proves nothing
            // about the stored log; it is counted, not trusted.
            None => report.unknown_cosignatures += 1,
        }
    }
    let mut pending = by_size.into_values().peekable();
    let mut builder = TreeBuilder::new();
    let mut last_good = 0u64;
    let tampered = |f: Finding| Err(AuditError::Tampered(f));

    // Checkpoints of size 0 are checked before any leaf.
    while let Some(p) = pending.next_if(|p| p.size == 0) {
        check_checkpoint(&p, &builder, witnesses, &mut last_good, &mut report)?;
    }
    let mut iter = leaves.into_iter().peekable();
    let mut expected = 0u64;
    let mut chunk: Vec<StoredLeaf> = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        while chunk.len() < CHUNK {
            match iter.next() {
                Some(item) => chunk.push(item?),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len() as u64;
        // A whole aligned chunk with no checkpoint strictly inside it and no
        // node comparison can be folded into the tree as perfect subtrees
        // built by the worker threads; otherwise leaves are pushed one by one.
        let fast = nodes.is_none()
            && chunk.len() == CHUNK
            && expected.is_multiple_of(len)
            && pending.peek().is_none_or(|p| p.size >= expected + len);
        let hashed = hash_chunk(&chunk, fast);
        for (k, leaf) in chunk.iter().enumerate() {
            if leaf.index != expected + k as u64 {
                let want = expected + k as u64;
                let next = match chunk.get(k + 1) {
                    Some(n) => Some(n.index),
                    None => match iter.peek() {
                        Some(Ok(n)) => Some(n.index),
                        _ => None,
                    },
                };
                let swapped = leaf.index > want && next == Some(want);
                if leaf.index < want || swapped {
                    return tampered(Finding::OutOfOrder {
                        index: want,
                        found: leaf.index,
                    });
                }
                return tampered(Finding::Gap {
                    missing: want,
                    found: leaf.index,
                });
            }
            if hashed.first_mismatch == Some(k) {
                return tampered(Finding::LeafHashMismatch {
                    index: leaf.index,
                    stored: leaf.leaf_hash,
                    computed: hash_leaf(&leaf.entry),
                });
            }
            if fast {
                continue;
            }
            let computed = hashed
                .hashes
                .get(k)
                .copied()
                .unwrap_or_else(|| hash_leaf(&leaf.entry));
            push_checked(&mut builder, computed, nodes)?;
            let size = expected + k as u64 + 1;
            while let Some(p) = pending.next_if(|p| p.size == size) {
                check_checkpoint(&p, &builder, witnesses, &mut last_good, &mut report)?;
            }
        }
        if fast {
            for (level, root) in &hashed.subtrees {
                builder.push_subtree(*level, *root);
            }
            while let Some(p) = pending.next_if(|p| p.size == expected + len) {
                check_checkpoint(&p, &builder, witnesses, &mut last_good, &mut report)?;
            }
        }
        expected += len;
    }
    if let Some(p) = pending.last() {
        return tampered(Finding::Truncated {
            size: expected,
            checkpoint_size: p.size,
        });
    }
    report.size = expected;
    report.root = builder.root();
    Ok(report)
}

/// Leaves hashed per parallel step: large enough that starting the threads
/// is noise (a few milliseconds of hashing), small enough to keep memory
/// bounded. A power of two, so that full chunks are perfect subtrees.
const CHUNK: usize = 1 << 14;

/// What the worker threads computed for one chunk.
struct HashedChunk {
    /// Every leaf hash (empty on the fast path, where only subtrees are needed).
    hashes: Vec<Hash>,
    /// Position of the first leaf whose bytes do not match its stored hash.
    first_mismatch: Option<usize>,
    /// On the fast path, the perfect subtrees covering the chunk, in order.
    subtrees: Vec<(u8, Hash)>,
}

/// Hashes a chunk on every core. With `subtrees`, each worker also folds its
/// (power-of-two, aligned) slice into one perfect-subtree root, which moves
/// the interior hashing off the main thread as well.
fn hash_chunk(chunk: &[StoredLeaf], subtrees: bool) -> HashedChunk {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    // A power of two number of slices keeps every slice an aligned perfect subtree.
    let slices = if chunk.len() < 1024 {
        1
    } else {
        1usize << (usize::BITS - 1 - cores.leading_zeros())
    };
    let per = chunk.len().div_ceil(slices).max(1);
    let work = |src: &[StoredLeaf]| {
        let mut hashes = Vec::with_capacity(if subtrees { 0 } else { src.len() });
        let mut first_mismatch = None;
        let mut tree = TreeBuilder::new();
        for (k, leaf) in src.iter().enumerate() {
            let h = hash_leaf(&leaf.entry);
            if first_mismatch.is_none() && h != leaf.leaf_hash {
                first_mismatch = Some(k);
            }
            if subtrees {
                tree.push(h);
            } else {
                hashes.push(h);
            }
        }
        (hashes, first_mismatch, tree.root())
    };
    let results: Vec<_> = if slices == 1 {
        vec![work(chunk)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .chunks(per)
                .map(|src| scope.spawn(move || work(src)))
                .collect();
            // A worker only hashes; it cannot panic, but if it somehow did,
            // redo its slice here rather than propagate the panic.
            handles
                .into_iter()
                .zip(chunk.chunks(per))
                .map(|(h, src)| h.join().unwrap_or_else(|_| work(src)))
                .collect()
        })
    };
    let level = per.trailing_zeros() as u8;
    let mut out = HashedChunk {
        hashes: Vec::with_capacity(if subtrees { 0 } else { chunk.len() }),
        first_mismatch: None,
        subtrees: Vec::new(),
    };
    for (i, (hashes, mismatch, root)) in results.into_iter().enumerate() {
        if out.first_mismatch.is_none() {
            out.first_mismatch = mismatch.map(|k| i * per + k);
        }
        out.hashes.extend(hashes);
        if subtrees {
            out.subtrees.push((level, root));
        }
    }
    out
}

/// Pushes one leaf hash, comparing every completed node with the stored one
/// when a node reader is given.
fn push_checked(
    builder: &mut TreeBuilder,
    computed: Hash,
    nodes: Option<NodeReader<'_>>,
) -> Result<(), AuditError> {
    let Some(read) = nodes else {
        builder.push(computed);
        return Ok(());
    };
    let mut outcome: Result<(), AuditError> = Ok(());
    builder.push_with(computed, |id, hash| {
        if outcome.is_err() {
            return;
        }
        outcome = match read(id) {
            Ok(Some(stored)) if stored == hash => Ok(()),
            Ok(stored) => Err(AuditError::Tampered(Finding::NodeMismatch {
                level: id.level,
                index: id.index,
                first_leaf: id.index << id.level,
                stored: stored.map_or_else(|| "missing".to_owned(), |h| h.to_hex()),
                computed: hash,
            })),
            Err(e) => Err(e.into()),
        };
    });
    outcome
}

fn check_checkpoint(
    p: &PendingCheckpoint,
    builder: &TreeBuilder,
    witnesses: &[VerifierKey],
    last_good: &mut u64,
    report: &mut AuditReport,
) -> Result<(), AuditError> {
    let signed = match &p.parsed {
        Ok(s) => s,
        Err(reason) => {
            return Err(AuditError::Tampered(Finding::BadCheckpoint {
                size: p.size,
                reason: reason.clone(),
                first_unproven: *last_good,
            }));
        }
    };
    let computed = builder.root();
    if computed != *signed.checkpoint().root() {
        return Err(AuditError::Tampered(Finding::Fork {
            checkpoint_size: p.size,
            signed: *signed.checkpoint().root(),
            computed,
            first_unproven: *last_good,
        }));
    }
    for c in &p.cosignatures {
        // A witness whose key was rotated is named by several keys: the
        // cosignature must verify under one of them.
        let keys: Vec<&VerifierKey> = witnesses.iter().filter(|w| w.name() == c.witness).collect();
        if keys.is_empty() {
            report.unknown_cosignatures += 1;
            continue;
        }
        let outcome = NoteSignature::parse_line(&c.line)
            .map_err(|e| e.to_string())
            .and_then(|line| {
                keys.iter()
                    .map(|key| {
                        let mut copy = signed.clone();
                        copy.attach_cosignature(&line, key)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    })
                    .reduce(|a, b| a.or(b))
                    .unwrap_or(Ok(()))
            });
        if let Err(reason) = outcome {
            return Err(AuditError::Tampered(Finding::BadCosignature {
                size: p.size,
                witness: c.witness.clone(),
                reason,
                first_unproven: *last_good,
            }));
        }
        report.cosignatures += 1;
    }
    report.checkpoints += 1;
    *last_good = p.size;
    Ok(())
}

/// Audits everything in `storage`, streaming the leaves in chunks, and also
/// compares every stored tree node with the recomputed one (so that a
/// rewritten entry is pinned to the first node that covers it, and a damaged
/// node, which would make proofs fail, is found).
pub fn audit_storage<S: LedgerStorage + ?Sized>(
    storage: &S,
    log_key: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<AuditReport, AuditError> {
    audit_storage_rotated(storage, std::slice::from_ref(log_key), witnesses)
}

/// Like [`audit_storage`] for a log whose key was rotated: a checkpoint
/// verifies under any of `log_keys` (the key in use and those before it),
/// and a cosignature under any of `witnesses` of its witness's name.
pub fn audit_storage_rotated<S: LedgerStorage + ?Sized>(
    storage: &S,
    log_keys: &[VerifierKey],
    witnesses: &[VerifierKey],
) -> Result<AuditReport, AuditError> {
    let checkpoints = storage.checkpoints()?;
    let mut cosignatures = Vec::new();
    for c in &checkpoints {
        cosignatures.extend(storage.cosignatures(c.size)?);
    }
    let read = |id: NodeId| storage.node(id);
    audit_inner(
        stream_leaves(storage, 1 << 16),
        &checkpoints,
        &cosignatures,
        log_keys,
        witnesses,
        Some(&read),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{NoteSigner, SignatureType};

    fn leaves(n: u64) -> Vec<StoredLeaf> {
        (0..n)
            .map(|index| {
                let entry = index.to_le_bytes().to_vec();
                StoredLeaf {
                    index,
                    leaf_hash: hash_leaf(&entry),
                    entry,
                }
            })
            .collect()
    }

    fn run(leaves: Vec<StoredLeaf>) -> Result<AuditReport, AuditError> {
        let key = NoteSigner::from_seed("a.example/log", SignatureType::Ed25519, &[1; 32])
            .unwrap()
            .verifier();
        audit_log(leaves.into_iter().map(Ok), &[], &[], &key, &[])
    }

    /// Checkpoints at a chunk's end (folded subtrees) and inside a chunk
    /// (leaf by leaf) are both checked, and a fork at either is found.
    #[test]
    fn checkpoints_on_both_paths() {
        use crate::checkpoint::{Checkpoint, SignedCheckpoint};
        let signer =
            NoteSigner::from_seed("a.example/log", SignatureType::Ed25519, &[1; 32]).unwrap();
        let n = CHUNK as u64 * 2 + 100;
        let all = leaves(n);
        let mut tree = TreeBuilder::new();
        let mut stored = Vec::new();
        let sizes = [CHUNK as u64, CHUNK as u64 + 5, n];
        for leaf in &all {
            tree.push(leaf.leaf_hash);
            if sizes.contains(&tree.size()) {
                let cp = Checkpoint::new("a.example/log", tree.size(), tree.root()).unwrap();
                stored.push(StoredCheckpoint {
                    size: tree.size(),
                    note: SignedCheckpoint::sign(cp, &signer).unwrap().to_text(),
                });
            }
        }
        let audit = |cps: &[StoredCheckpoint]| {
            audit_log(
                all.iter().cloned().map(Ok),
                cps,
                &[],
                &signer.verifier(),
                &[],
            )
        };
        assert_eq!(audit(&stored).unwrap().checkpoints, 3);
        for (i, size) in sizes.iter().enumerate() {
            let mut forked = stored.clone();
            let other = Checkpoint::new("a.example/log", *size, hash_leaf(b"other")).unwrap();
            forked[i].note = SignedCheckpoint::sign(other, &signer).unwrap().to_text();
            let Err(AuditError::Tampered(Finding::Fork {
                checkpoint_size,
                first_unproven,
                ..
            })) = audit(&forked)
            else {
                panic!("fork at {size} not found");
            };
            assert_eq!(checkpoint_size, *size);
            assert_eq!(first_unproven, if i == 0 { 0 } else { sizes[i - 1] });
        }
    }

    /// Findings across the boundary of two parallel hashing chunks must be
    /// the same as anywhere else.
    #[test]
    fn findings_across_a_chunk_boundary() {
        let n = CHUNK as u64 * 2 + 100;
        let b = CHUNK - 1; // last leaf of the first chunk
        let all = leaves(n);
        let mut tree = TreeBuilder::new();
        all.iter().for_each(|l| tree.push(l.leaf_hash));
        let report = run(all.clone()).unwrap();
        assert_eq!((report.size, report.root), (n, tree.root()));

        let mut swapped = all.clone();
        swapped.swap(b, b + 1);
        assert_eq!(
            run(swapped).unwrap_err(),
            AuditError::Tampered(Finding::OutOfOrder {
                index: b as u64,
                found: b as u64 + 1
            })
        );
        let mut gap = all.clone();
        gap.remove(b);
        assert_eq!(
            run(gap).unwrap_err(),
            AuditError::Tampered(Finding::Gap {
                missing: b as u64,
                found: b as u64 + 1
            })
        );
        let mut changed = all.clone();
        changed[b + 1].entry[0] ^= 1;
        assert!(matches!(
            run(changed).unwrap_err(),
            AuditError::Tampered(Finding::LeafHashMismatch { index, .. }) if index == b as u64 + 1
        ));
        // A storage error surfaces as such, not as a finding.
        let failing = all
            .into_iter()
            .take(10)
            .map(Ok)
            .chain(std::iter::once(Err(StorageError::Backend("disk".into()))));
        let key = NoteSigner::from_seed("a.example/log", SignatureType::Ed25519, &[1; 32])
            .unwrap()
            .verifier();
        assert!(matches!(
            audit_log(failing, &[], &[], &key, &[]),
            Err(AuditError::Storage(_))
        ));
    }
}
