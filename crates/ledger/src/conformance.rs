//! The storage contract as an executable check, so that every
//! [`LedgerStorage`] implementation (in memory, SQLite, PostgreSQL) passes
//! one shared suite: call [`check_storage_contract`] on a fresh, empty store
//! from the implementation's own tests.
//!
//! It returns a description of the first broken rule instead of panicking,
//! so it can run in any test harness.

use crate::hash::{Hash, hash_leaf};
use crate::storage::{
    AppendBatch, LedgerStorage, PartnerCheckpoint, StoredCheckpoint, StoredCosignature,
};
use crate::tree::{NodeId, TreeBuilder, compact_range_ids};

fn batch(builder: &mut TreeBuilder, start: u64, n: u64) -> AppendBatch {
    let mut b = AppendBatch {
        start,
        ..AppendBatch::default()
    };
    for i in start..start + n {
        let entry = format!("entry {i}").into_bytes();
        builder.push_with(hash_leaf(&entry), |id, h| b.nodes.push((id, h)));
        b.entries.push(entry);
    }
    b
}

fn ensure(ok: bool, rule: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(rule.to_owned()) }
}

/// Runs the storage contract against `storage`, which must be empty.
pub fn check_storage_contract<S: LedgerStorage + ?Sized>(storage: &mut S) -> Result<(), String> {
    let err = |e: crate::storage::StorageError| e.to_string();
    ensure(
        storage.size().map_err(err)? == 0,
        "a new store must be empty",
    )?;
    ensure(
        storage.latest_checkpoint().map_err(err)?.is_none(),
        "a new store has no checkpoint",
    )?;

    let mut builder = TreeBuilder::new();
    storage.append(&batch(&mut builder, 0, 5)).map_err(err)?;
    storage.append(&batch(&mut builder, 5, 12)).map_err(err)?;
    ensure(
        storage.size().map_err(err)? == 17,
        "size counts every appended leaf",
    )?;

    // A batch that does not start at the size is refused and writes nothing.
    let mut wrong = builder.clone();
    ensure(
        storage.append(&batch(&mut wrong, 16, 2)).is_err(),
        "append must refuse a batch that does not start at the current size",
    )?;
    let mut bad = batch(&mut builder.clone(), 17, 3);
    if let Some(last) = bad.nodes.last_mut() {
        last.0.index += 7;
    }
    ensure(
        storage.append(&bad).is_err(),
        "append must refuse a node that is not the next of its level",
    )?;
    ensure(
        storage.size().map_err(err)? == 17,
        "a refused batch must write nothing",
    )?;
    ensure(
        storage.node(NodeId::new(0, 17)).map_err(err)?.is_none(),
        "a refused batch must write no node",
    )?;

    let leaves = storage.leaves(3, 100).map_err(err)?;
    ensure(
        leaves.len() == 14,
        "leaves(start, end) stops at the log's end",
    )?;
    for (k, leaf) in leaves.iter().enumerate() {
        let i = 3 + k as u64;
        ensure(leaf.index == i, "leaves come back in index order")?;
        ensure(
            leaf.entry == format!("entry {i}").into_bytes(),
            "entry bytes round-trip exactly",
        )?;
        ensure(
            leaf.leaf_hash == hash_leaf(&leaf.entry),
            "the leaf hash is the level-0 node",
        )?;
    }
    let roots: Result<Vec<Hash>, String> = compact_range_ids(17)
        .into_iter()
        .map(|id| {
            storage
                .node(id)
                .map_err(err)?
                .ok_or_else(|| format!("node ({}, {}) was not stored", id.level, id.index))
        })
        .collect();
    let rebuilt = TreeBuilder::from_parts(17, roots?).ok_or("compact range of the wrong length")?;
    ensure(
        rebuilt.root() == builder.root(),
        "stored nodes rebuild the same root",
    )?;

    let a = StoredCheckpoint {
        size: 5,
        note: "five".into(),
    };
    let b = StoredCheckpoint {
        size: 17,
        note: "seventeen".into(),
    };
    storage.put_checkpoint(&b).map_err(err)?;
    storage.put_checkpoint(&a).map_err(err)?;
    storage.put_checkpoint(&a).map_err(err)?;
    ensure(
        storage
            .put_checkpoint(&StoredCheckpoint {
                size: 5,
                note: "other".into(),
            })
            .is_err(),
        "a different checkpoint under an existing size is a conflict",
    )?;
    ensure(
        storage.checkpoints().map_err(err)? == vec![a.clone(), b.clone()],
        "checkpoints by increasing size",
    )?;
    ensure(
        storage.checkpoint(5).map_err(err)? == Some(a),
        "checkpoint by size",
    )?;
    ensure(
        storage.latest_checkpoint().map_err(err)? == Some(b),
        "latest is the largest size",
    )?;

    for (size, witness) in [(5, "w1"), (5, "w2"), (17, "w1")] {
        storage
            .put_cosignature(&StoredCosignature {
                size,
                witness: witness.into(),
                line: format!("{size} {witness}"),
            })
            .map_err(err)?;
    }
    ensure(
        storage.cosignatures(5).map_err(err)?.len() == 2,
        "cosignatures by checkpoint size",
    )?;
    ensure(
        storage.cosignatures(6).map_err(err)?.is_empty(),
        "no cosignatures for an unknown size",
    )?;

    for (origin, size) in [("us", 3), ("us", 9), ("ca", 1)] {
        storage
            .put_partner_checkpoint(&PartnerCheckpoint {
                origin: origin.into(),
                size,
                note: format!("{origin} {size}"),
            })
            .map_err(err)?;
    }
    let latest = storage.latest_partner_checkpoint("us").map_err(err)?;
    ensure(
        latest.map(|c| c.size) == Some(9),
        "latest partner checkpoint per origin",
    )?;
    ensure(
        storage
            .latest_partner_checkpoint("mx")
            .map_err(err)?
            .is_none(),
        "no partner checkpoint for an unknown origin",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn memory_storage_keeps_the_contract() {
        check_storage_contract(&mut MemoryStorage::new()).unwrap();
    }

    #[test]
    fn the_check_refuses_a_non_empty_store() {
        let mut s = MemoryStorage::new();
        let mut b = TreeBuilder::new();
        s.append(&batch(&mut b, 0, 1)).unwrap();
        assert!(check_storage_contract(&mut s).is_err());
    }
}
