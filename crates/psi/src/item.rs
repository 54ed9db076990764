//! Items as the protocols see them: a fixed-size, domain-separated digest of each canonical
//! identifier, with duplicates folded.
//!
//! Both protocols work on 32-byte digests so their cost does not depend on identifier length
//! and so the same bytes feed hash-to-point (DH) and the pseudo-random code (OT). The digest is
//! never sent: only values derived from it under a party's secret key leave a node. Duplicates
//! are folded before matching (a duplicate would show the responder a repeated value), and the
//! requester maps matches back to every position of its own input.

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::MAX_SET_SIZE;
use crate::error::PsiError;

/// Domain separation for item digests; a change makes old and new nodes never match.
const ITEM_DOMAIN: &[u8] = b"soberana-psi/item/v1\0";

/// The digest of one item.
pub(crate) type ItemDigest = [u8; 32];

/// Hashes one item's bytes.
pub(crate) fn item_digest(item: &[u8]) -> ItemDigest {
    let mut h = Sha256::new();
    h.update(ITEM_DOMAIN);
    h.update((item.len() as u64).to_le_bytes());
    h.update(item);
    h.finalize().into()
}

/// A SHA-256 state that has absorbed `domain ‖ key`, zero-padded to one 64-byte block, so
/// that each use (by cloning) hashes only its own input: a 32-byte input then costs one
/// compression instead of two. The padding is part of the domain separation.
pub(crate) fn keyed_prefix(domain: &[u8], key: &[u8; 32]) -> Sha256 {
    let mut block = [0u8; 64];
    let take = domain.len().min(32);
    block[..take].copy_from_slice(&domain[..take]);
    block[32..].copy_from_slice(key);
    let mut h = Sha256::new();
    h.update(block);
    h
}

/// A party's input, digested and without duplicates.
pub(crate) struct PreparedSet {
    /// Distinct digests, in ascending order (which reveals nothing: they are never sent).
    pub(crate) distinct: Vec<ItemDigest>,
    /// For each input position, the index of its digest in `distinct`.
    pub(crate) distinct_of_input: Vec<u32>,
}

impl PreparedSet {
    pub(crate) fn new<T: AsRef<[u8]> + Sync>(items: &[T]) -> Result<Self, PsiError> {
        if items.len() > MAX_SET_SIZE {
            return Err(PsiError::SetTooLarge(items.len()));
        }
        // Sorting (digest, position) pairs groups duplicates; it runs on all cores, unlike
        // inserting into a hash map.
        let mut pairs: Vec<(ItemDigest, u32)> = items
            .par_iter()
            .enumerate()
            .map(|(i, item)| (item_digest(item.as_ref()), i as u32))
            .collect();
        pairs.par_sort_unstable();
        let mut distinct: Vec<ItemDigest> = Vec::with_capacity(pairs.len());
        let mut distinct_of_input = vec![0u32; pairs.len()];
        for (digest, position) in pairs {
            if distinct.last() != Some(&digest) {
                distinct.push(digest);
            }
            if let Some(slot) = distinct_of_input.get_mut(position as usize) {
                *slot = (distinct.len() - 1) as u32;
            }
        }
        Ok(PreparedSet {
            distinct,
            distinct_of_input,
        })
    }

    /// The input positions whose digest is marked in `matched` (indexed like `distinct`).
    pub(crate) fn input_positions(&self, matched: &[bool]) -> Vec<usize> {
        self.distinct_of_input
            .iter()
            .enumerate()
            .filter(|(_, d)| matched.get(**d as usize).copied().unwrap_or(false))
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the item digest: two nodes match only if they digest identically. The expected
    /// value was computed independently with Python's `hashlib.sha256` over
    /// `b"soberana-psi/item/v1\0" + (19).to_bytes(8, "little") + b"phone:+525512345678"`.
    #[test]
    fn item_digest_known_answer() {
        let d = item_digest(b"phone:+525512345678");
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "10bbf5006868b87056f4690e2d9cacced53c4dda6ed2d8dabb9dc58ff07a4176"
        );
    }

    #[test]
    fn duplicates_fold_and_map_back_to_every_position() {
        let set = PreparedSet::new(&["b", "a", "b", "c", "a"]).unwrap();
        assert_eq!(set.distinct.len(), 3);
        let b = set.distinct_of_input[0];
        assert_eq!(set.distinct_of_input[2], b);
        let mut matched = vec![false; 3];
        matched[b as usize] = true;
        assert_eq!(set.input_positions(&matched), [0, 2]);
    }
}
