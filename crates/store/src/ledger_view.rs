//! The ledger's storage seam, served by a node's store.
//!
//! The ledger crate reads and writes its log through
//! [`soberana_ledger::LedgerStorage`]; this adapter maps that trait onto
//! [`NodeStore`], so the same tables that intake appends to in its own
//! transactions are what proofs, checkpoints and audits read.

use soberana_core::{PartyCode, Timestamp};
use soberana_ledger::{
    AppendBatch, Hash, LedgerStorage, NodeId, StorageError, StoredCheckpoint, StoredCosignature,
    StoredLeaf,
};

use crate::{LedgerCheckpoint, NodeStore, PartnerCheckpoint, StoreError};

/// A node store seen as ledger storage.
pub struct LedgerView<'a>(pub &'a dyn NodeStore);

fn backend(e: StoreError) -> StorageError {
    match e {
        StoreError::Conflict(m) => StorageError::Conflict(m),
        other => StorageError::Backend(other.to_string()),
    }
}

/// The party code in an origin of the form `soberana/xx/log`; checkpoints
/// of logs named otherwise are kept under `ZZ` and told apart by origin.
fn party_of(origin: &str) -> Option<PartyCode> {
    let code = origin.strip_prefix("soberana/")?.strip_suffix("/log")?;
    PartyCode::new(&code.to_ascii_uppercase()).ok()
}

impl LedgerStorage for LedgerView<'_> {
    fn size(&self) -> Result<u64, StorageError> {
        self.0.log_size().map_err(backend)
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        self.0
            .append_batch(batch.start, batch.entries.clone(), batch.nodes.clone())
            .map_err(backend)
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StorageError> {
        Ok(self
            .0
            .log_leaves(start, end)
            .map_err(backend)?
            .into_iter()
            .map(|l| StoredLeaf {
                index: l.index,
                entry: l.entry,
                leaf_hash: l.hash,
            })
            .collect())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, StorageError> {
        match self.0.log_node(id) {
            Ok(hash) => Ok(Some(hash)),
            Err(StoreError::Corrupt(m)) if m.contains("is missing") => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StorageError> {
        if let Some(existing) = self.checkpoint(checkpoint.size)? {
            return crate::records::check_one_checkpoint_per_size(
                checkpoint.size,
                &checkpoint.note,
                Some(&existing.note),
            )
            .map_err(StorageError::Conflict);
        }
        self.0
            .add_checkpoint(LedgerCheckpoint {
                size: checkpoint.size,
                note: checkpoint.note.clone(),
                at: Timestamp::now(),
            })
            .map_err(backend)
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints()?.into_iter().find(|c| c.size == size))
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StorageError> {
        Ok(self
            .0
            .checkpoints()
            .map_err(backend)?
            .into_iter()
            .map(|c| StoredCheckpoint {
                size: c.size,
                note: c.note,
            })
            .collect())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints()?.into_iter().next_back())
    }

    fn put_cosignature(&mut self, cosignature: &StoredCosignature) -> Result<(), StorageError> {
        self.0.put_cosignature(cosignature.clone()).map_err(backend)
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, StorageError> {
        self.0.cosignatures(Some(size)).map_err(backend)
    }

    fn put_partner_checkpoint(
        &mut self,
        checkpoint: &soberana_ledger::PartnerCheckpoint,
    ) -> Result<(), StorageError> {
        let peer = party_of(&checkpoint.origin).unwrap_or(PartyCode::UNKNOWN);
        self.0
            .add_partner_checkpoint(
                PartnerCheckpoint {
                    peer,
                    size: checkpoint.size,
                    note: checkpoint.note.clone(),
                    at: Timestamp::now(),
                    origin: checkpoint.origin.clone(),
                    status: "cosigned".into(),
                    detail: String::new(),
                },
                Vec::new(),
            )
            .map_err(backend)
    }

    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<soberana_ledger::PartnerCheckpoint>, StorageError> {
        let peer = party_of(origin).unwrap_or(PartyCode::UNKNOWN);
        Ok(self
            .0
            .partner_checkpoints(peer)
            .map_err(backend)?
            .into_iter()
            .filter(|c| c.status == "cosigned" && c.origin == origin)
            .max_by_key(|c| c.size)
            .map(|c| soberana_ledger::PartnerCheckpoint {
                origin: c.origin,
                size: c.size,
                note: c.note,
            }))
    }
}

/// A node store seen as ledger storage whose writes are held in memory:
/// a change made of several ledger steps (entries appended, then a
/// checkpoint signed over them) is prepared against it whole, then written
/// in one transaction ([`NodeStore::declare_log_restart`]), so a crash or a
/// refusal between the steps cannot leave half of it stored. Reads see the
/// store with the held writes on top; cosignatures and partner
/// checkpoints are not held, and refused.
pub struct StagedLedger<'a> {
    base: LedgerView<'a>,
    start: u64,
    entries: Vec<Vec<u8>>,
    nodes: Vec<(NodeId, Hash)>,
    held_nodes: std::collections::HashMap<NodeId, Hash>,
    checkpoints: std::collections::BTreeMap<u64, StoredCheckpoint>,
}

impl<'a> StagedLedger<'a> {
    /// Holds writes over `store`'s log as it stands now.
    pub fn new(store: &'a dyn NodeStore) -> Result<Self, StoreError> {
        Ok(Self {
            base: LedgerView(store),
            start: store.log_size()?,
            entries: Vec::new(),
            nodes: Vec::new(),
            held_nodes: std::collections::HashMap::new(),
            checkpoints: std::collections::BTreeMap::new(),
        })
    }

    /// The log's size when the writes began to be held.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The entries appended (encoded) and the tree nodes they complete, in
    /// order.
    pub fn appended(&self) -> (&[Vec<u8>], &[(NodeId, Hash)]) {
        (&self.entries, &self.nodes)
    }

    /// A checkpoint signed over the held writes, if one of `size` was.
    pub fn held_checkpoint(&self, size: u64) -> Option<&StoredCheckpoint> {
        self.checkpoints.get(&size)
    }

    fn held() -> StorageError {
        StorageError::Conflict("a staged log takes entries and our checkpoints only".into())
    }
}

impl LedgerStorage for StagedLedger<'_> {
    fn size(&self) -> Result<u64, StorageError> {
        Ok(self.start + self.entries.len() as u64)
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        let size = self.size()?;
        if batch.start != size {
            return Err(StorageError::Conflict(format!(
                "a batch starting at {} cannot follow a log of size {size}",
                batch.start
            )));
        }
        self.entries.extend(batch.entries.iter().cloned());
        self.nodes.extend(batch.nodes.iter().copied());
        self.held_nodes.extend(batch.nodes.iter().copied());
        Ok(())
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StorageError> {
        let mut out = if start < self.start {
            self.base.leaves(start, end.min(self.start))?
        } else {
            Vec::new()
        };
        let from = start.max(self.start);
        let to = end.min(self.size()?);
        for index in from..to {
            let held = usize::try_from(index - self.start).ok();
            if let Some(entry) = held.and_then(|i| self.entries.get(i)) {
                out.push(StoredLeaf {
                    index,
                    entry: entry.clone(),
                    leaf_hash: soberana_ledger::hash_leaf(entry),
                });
            }
        }
        Ok(out)
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, StorageError> {
        match self.held_nodes.get(&id) {
            Some(hash) => Ok(Some(*hash)),
            None => self.base.node(id),
        }
    }

    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StorageError> {
        if let Some(existing) = self.checkpoint(checkpoint.size)? {
            return crate::records::check_one_checkpoint_per_size(
                checkpoint.size,
                &checkpoint.note,
                Some(&existing.note),
            )
            .map_err(StorageError::Conflict);
        }
        self.checkpoints.insert(checkpoint.size, checkpoint.clone());
        Ok(())
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StorageError> {
        match self.checkpoints.get(&size) {
            Some(held) => Ok(Some(held.clone())),
            None => self.base.checkpoint(size),
        }
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StorageError> {
        let mut all = self.base.checkpoints()?;
        all.extend(self.checkpoints.values().cloned());
        all.sort_by_key(|c| c.size);
        Ok(all)
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StorageError> {
        Ok(self.checkpoints()?.into_iter().next_back())
    }

    fn put_cosignature(&mut self, _: &StoredCosignature) -> Result<(), StorageError> {
        Err(Self::held())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, StorageError> {
        self.base.cosignatures(size)
    }

    fn put_partner_checkpoint(
        &mut self,
        _: &soberana_ledger::PartnerCheckpoint,
    ) -> Result<(), StorageError> {
        Err(Self::held())
    }

    fn latest_partner_checkpoint(
        &self,
        origin: &str,
    ) -> Result<Option<soberana_ledger::PartnerCheckpoint>, StorageError> {
        self.base.latest_partner_checkpoint(origin)
    }
}
