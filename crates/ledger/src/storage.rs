//! The storage seam: what the ledger must persist, as a small synchronous
//! trait, and an in-memory implementation used by tests and benchmarks.
//!
//! The contract, which every implementation (the SQLite one in the store
//! crate included) must keep:
//!
//! * [`LedgerStorage::append`] is atomic: the leaves *and* the perfect nodes
//!   of one [`AppendBatch`] are written together or not at all, in one
//!   transaction, and only if `batch.start` equals the current size
//!   (otherwise [`StorageError::Conflict`] and nothing is written). This is
//!   the group commit: the caller appends many entries per transaction.
//! * Leaves and nodes are never changed or deleted once written.
//! * Checkpoints, cosignatures and partner checkpoints are each written in
//!   their own single atomic statement; writing the same record twice is a
//!   no-op, writing a different record under the same key is a conflict.
//! * Reads never see half of a batch.
//!
//! Nodes are the perfect subtrees of [`NodeId`]: about two per leaf, written
//! once, which is what makes every proof O(log n) reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::tree::{NodeId, NodeTable};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The write does not fit what is stored (wrong start, a different
    /// record under an existing key).
    #[error("storage conflict: {0}")]
    Conflict(String),
    /// A record the ledger needs is not there.
    #[error("storage is missing {0}; the ledger database is incomplete or damaged")]
    Missing(String),
    /// The backend failed (I/O, SQL, corruption).
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// One stored leaf: its index, the canonical entry bytes and the leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLeaf {
    /// Position in the log.
    pub index: u64,
    /// The canonical entry bytes.
    pub entry: Vec<u8>,
    /// SHA-256(0x00 || entry).
    pub leaf_hash: Hash,
}

/// Everything one group commit writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendBatch {
    /// Index of the first leaf; must equal the stored size.
    pub start: u64,
    /// Entry bytes, in order, indices `start..start + entries.len()`.
    pub entries: Vec<Vec<u8>>,
    /// The perfect nodes completed by these leaves, level-0 leaf hashes
    /// included, in the order produced.
    pub nodes: Vec<(NodeId, Hash)>,
}

/// A checkpoint this log issued, as the signed note text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    /// The tree size.
    pub size: u64,
    /// The signed note (log signature only).
    pub note: String,
}

/// A cosignature a witness returned for one of our checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCosignature {
    /// The size of the checkpoint cosigned.
    pub size: u64,
    /// The witness key name.
    pub witness: String,
    /// The signature line, `— name base64`, without newline.
    pub line: String,
}

/// A partner checkpoint this node cosigned as a witness (the witness state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerCheckpoint {
    /// The partner log's origin.
    pub origin: String,
    /// The checkpoint size.
    pub size: u64,
    /// The partner's signed note as received (with our cosignature added).
    pub note: String,
}

/// What the ledger persists. Synchronous and object-safe so that any
/// database can sit behind it; see the module documentation for the
/// atomicity contract.
pub trait LedgerStorage {
    /// Number of leaves stored.
    fn size(&self) -> Result<u64, StorageError>;
    /// Writes one batch atomically (group commit); refuses unless
    /// `batch.start == size()`.
    fn append(&mut self, batch: &AppendBatch) -> Result<(), StorageError>;
    /// Leaves `[start, end)` in index order (fewer if the log is shorter).
    fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StorageError>;
    /// One perfect node, if stored.
    fn node(&self, id: NodeId) -> Result<Option<Hash>, StorageError>;
    /// Records a checkpoint we issued.
    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StorageError>;
    /// The checkpoint we issued at `size`, if any.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError>;
    /// Every checkpoint we issued, by increasing size.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StorageError>;
    /// The checkpoint we issued with the largest size.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError>;
    /// Records a witness cosignature on one of our checkpoints.
    fn put_cosignature(&mut self, cosignature: &StoredCosignature) -> Result<(), StorageError>;
    /// Cosignatures on our checkpoint of `size`.
    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, StorageError>;
    /// Records a partner checkpoint we cosigned.
    fn put_partner_checkpoint(
        &mut self,
        checkpoint: &PartnerCheckpoint,
    ) -> Result<(), StorageError>;
    /// The largest partner checkpoint we cosigned for `origin`.
    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<PartnerCheckpoint>, StorageError>;
}

impl<T: LedgerStorage + ?Sized> LedgerStorage for Box<T> {
    fn size(&self) -> Result<u64, StorageError> {
        (**self).size()
    }
    fn append(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        (**self).append(batch)
    }
    fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StorageError> {
        (**self).leaves(start, end)
    }
    fn node(&self, id: NodeId) -> Result<Option<Hash>, StorageError> {
        (**self).node(id)
    }
    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StorageError> {
        (**self).put_checkpoint(checkpoint)
    }
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError> {
        (**self).checkpoint(size)
    }
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StorageError> {
        (**self).checkpoints()
    }
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
        (**self).latest_checkpoint()
    }
    fn put_cosignature(&mut self, cosignature: &StoredCosignature) -> Result<(), StorageError> {
        (**self).put_cosignature(cosignature)
    }
    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, StorageError> {
        (**self).cosignatures(size)
    }
    fn put_partner_checkpoint(
        &mut self,
        checkpoint: &PartnerCheckpoint,
    ) -> Result<(), StorageError> {
        (**self).put_partner_checkpoint(checkpoint)
    }
    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<PartnerCheckpoint>, StorageError> {
        (**self).latest_partner_checkpoint(origin)
    }
}

/// Streams every stored leaf in index order, reading `chunk` leaves per call,
/// so an audit of a large log holds only one chunk in memory.
pub fn stream_leaves<S: LedgerStorage + ?Sized>(
    storage: &S,
    chunk: u64,
) -> impl Iterator<Item = Result<StoredLeaf, StorageError>> + '_ {
    let chunk = chunk.max(1);
    let mut next = 0u64;
    let mut buffer = std::collections::VecDeque::<StoredLeaf>::new();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        if buffer.is_empty() {
            match storage.leaves(next, next.saturating_add(chunk)) {
                Ok(batch) if batch.is_empty() => {
                    done = true;
                    return None;
                }
                Ok(batch) => {
                    next = next.saturating_add(chunk);
                    buffer.extend(batch);
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
        buffer.pop_front().map(Ok)
    })
}

/// An in-memory [`LedgerStorage`]: entry bytes in one buffer, nodes level by
/// level. Nothing survives the process; for tests, benchmarks and tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    data: Vec<u8>,
    ends: Vec<usize>,
    nodes: NodeTable,
    checkpoints: BTreeMap<u64, StoredCheckpoint>,
    cosignatures: BTreeMap<(u64, String), StoredCosignature>,
    partners: BTreeMap<(String, u64), PartnerCheckpoint>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 {
            0
        } else {
            *self.ends.get(index - 1)?
        };
        self.data.get(start..end)
    }
}

impl LedgerStorage for MemoryStorage {
    fn size(&self) -> Result<u64, StorageError> {
        Ok(self.ends.len() as u64)
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        let size = self.ends.len() as u64;
        if batch.start != size {
            return Err(StorageError::Conflict(format!(
                "batch starts at {} but the log holds {size} leaves",
                batch.start
            )));
        }
        // Validate every node position before writing anything, so that a
        // bad batch leaves the store untouched (the atomicity contract).
        let mut next: [u64; 64] = [0; 64];
        for (level, slot) in next.iter_mut().enumerate() {
            *slot = self.nodes.next_index(level as u8);
        }
        for (id, _) in &batch.nodes {
            let Some(slot) = next.get_mut(usize::from(id.level)) else {
                return Err(StorageError::Conflict(format!(
                    "node level {} is out of range",
                    id.level
                )));
            };
            if *slot != id.index {
                return Err(StorageError::Conflict(format!(
                    "node ({}, {}) is not the next node of its level",
                    id.level, id.index
                )));
            }
            *slot += 1;
        }
        if next[0] != size + batch.entries.len() as u64 {
            return Err(StorageError::Conflict(
                "the batch must carry one leaf hash per entry".into(),
            ));
        }
        for (id, hash) in &batch.nodes {
            self.nodes.put(*id, *hash);
        }
        for e in &batch.entries {
            self.data.extend_from_slice(e);
            self.ends.push(self.data.len());
        }
        Ok(())
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StorageError> {
        let end = end.min(self.ends.len() as u64);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        for index in start..end {
            let i = usize::try_from(index).map_err(|e| StorageError::Backend(e.to_string()))?;
            let entry = self
                .entry(i)
                .ok_or_else(|| StorageError::Missing(format!("leaf {index}")))?;
            let leaf_hash = self
                .nodes
                .get(NodeId::new(0, index))
                .ok_or_else(|| StorageError::Missing(format!("leaf hash {index}")))?;
            out.push(StoredLeaf {
                index,
                entry: entry.to_vec(),
                leaf_hash,
            });
        }
        Ok(out)
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, StorageError> {
        Ok(self.nodes.get(id))
    }

    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StorageError> {
        match self.checkpoints.get(&checkpoint.size) {
            Some(existing) if existing == checkpoint => Ok(()),
            Some(_) => Err(StorageError::Conflict(format!(
                "a different checkpoint of size {} is already stored",
                checkpoint.size
            ))),
            None => {
                self.checkpoints.insert(checkpoint.size, checkpoint.clone());
                Ok(())
            }
        }
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints.get(&size).cloned())
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints.values().cloned().collect())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints.values().next_back().cloned())
    }

    fn put_cosignature(&mut self, cosignature: &StoredCosignature) -> Result<(), StorageError> {
        // A witness may cosign the same checkpoint again at a later time; the
        // latest line replaces the earlier one.
        self.cosignatures.insert(
            (cosignature.size, cosignature.witness.clone()),
            cosignature.clone(),
        );
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, StorageError> {
        Ok(self
            .cosignatures
            .range((size, String::new())..)
            .take_while(|((s, _), _)| *s == size)
            .map(|(_, c)| c.clone())
            .collect())
    }

    fn put_partner_checkpoint(
        &mut self,
        checkpoint: &PartnerCheckpoint,
    ) -> Result<(), StorageError> {
        self.partners.insert(
            (checkpoint.origin.clone(), checkpoint.size),
            checkpoint.clone(),
        );
        Ok(())
    }

    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<PartnerCheckpoint>, StorageError> {
        Ok(self
            .partners
            .range((origin.to_owned(), 0)..=(origin.to_owned(), u64::MAX))
            .next_back()
            .map(|(_, c)| c.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_leaf;
    use crate::tree::TreeBuilder;

    fn batch(start: u64, n: u64, builder: &mut TreeBuilder) -> AppendBatch {
        let mut b = AppendBatch {
            start,
            ..AppendBatch::default()
        };
        for i in start..start + n {
            let e = i.to_be_bytes().to_vec();
            builder.push_with(hash_leaf(&e), |id, h| b.nodes.push((id, h)));
            b.entries.push(e);
        }
        b
    }

    #[test]
    fn append_is_all_or_nothing() {
        let mut s = MemoryStorage::new();
        let mut builder = TreeBuilder::new();
        s.append(&batch(0, 5, &mut builder)).unwrap();
        assert_eq!(s.size().unwrap(), 5);
        // Wrong start: refused.
        let mut other = builder.clone();
        assert!(matches!(
            s.append(&batch(4, 2, &mut other.clone())),
            Err(StorageError::Conflict(_))
        ));
        // A batch with a node out of place: refused and nothing written.
        let mut bad = batch(5, 3, &mut other);
        bad.nodes[0].0.index += 1;
        assert!(s.append(&bad).is_err());
        assert_eq!(s.size().unwrap(), 5);
        assert_eq!(s.node(NodeId::new(0, 5)).unwrap(), None);
        // Entries without their leaf hashes: refused.
        let mut missing = batch(5, 1, &mut builder.clone());
        missing.nodes.clear();
        assert!(s.append(&missing).is_err());
        s.append(&batch(5, 3, &mut builder)).unwrap();
        let leaves = s.leaves(3, 100).unwrap();
        assert_eq!(leaves.len(), 5);
        assert_eq!(leaves[0].index, 3);
        assert_eq!(leaves[0].entry, 3u64.to_be_bytes());
        assert_eq!(leaves[0].leaf_hash, hash_leaf(&3u64.to_be_bytes()));
        assert_eq!(stream_leaves(&s, 3).count(), 8);
    }

    #[test]
    fn records_are_idempotent_and_conflicts_refused() {
        let mut s = MemoryStorage::new();
        let cp = StoredCheckpoint {
            size: 3,
            note: "a".into(),
        };
        s.put_checkpoint(&cp).unwrap();
        s.put_checkpoint(&cp).unwrap();
        assert!(
            s.put_checkpoint(&StoredCheckpoint {
                size: 3,
                note: "b".into()
            })
            .is_err()
        );
        s.put_checkpoint(&StoredCheckpoint {
            size: 9,
            note: "c".into(),
        })
        .unwrap();
        assert_eq!(s.latest_checkpoint().unwrap().unwrap().size, 9);
        for (size, w) in [(3, "w1"), (3, "w2"), (9, "w1")] {
            s.put_cosignature(&StoredCosignature {
                size,
                witness: w.into(),
                line: format!("{size}{w}"),
            })
            .unwrap();
        }
        assert_eq!(s.cosignatures(3).unwrap().len(), 2);
        assert_eq!(s.cosignatures(4).unwrap().len(), 0);
        for (origin, size) in [("a", 5), ("a", 7), ("b", 1)] {
            s.put_partner_checkpoint(&PartnerCheckpoint {
                origin: origin.into(),
                size,
                note: String::new(),
            })
            .unwrap();
        }
        assert_eq!(s.latest_partner_checkpoint("a").unwrap().unwrap().size, 7);
        assert_eq!(s.latest_partner_checkpoint("c").unwrap(), None);
    }
}
