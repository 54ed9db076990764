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
            return if existing.note == checkpoint.note {
                Ok(())
            } else {
                Err(StorageError::Conflict(format!(
                    "a different checkpoint of size {} is stored",
                    checkpoint.size
                )))
            };
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
