//! Items as the protocols see them: a fixed-size, domain-separated digest of each canonical
//! identifier, with duplicates folded.
//!
//! Both protocols work on 32-byte digests so their cost does not depend on identifier length
//! and so the same bytes feed hash-to-point (DH) and the pseudo-random code (OT). The digest is
//! never sent: only values derived from it under a party's secret key leave a node. Duplicates
//! are folded before matching (a duplicate would show the responder a repeated value), and the
//! requester maps matches back to every position of its own input.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

/// Hashes a digest for a hash map by taking its first eight bytes: digests are already uniform,
/// so running them through SipHash again would only cost time. Only a party's own input is
/// hashed this way, never peer data, so there is no flooding concern.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }
}

/// A party's input, digested and without duplicates.
pub(crate) struct PreparedSet {
    /// Distinct digests, in order of first occurrence.
    pub(crate) distinct: Vec<ItemDigest>,
    /// For each input position, the index of its digest in `distinct`.
    pub(crate) distinct_of_input: Vec<u32>,
}

impl PreparedSet {
    pub(crate) fn new<T: AsRef<[u8]> + Sync>(items: &[T]) -> Result<Self, PsiError> {
        if items.len() > MAX_SET_SIZE {
            return Err(PsiError::SetTooLarge(items.len()));
        }
        let digests: Vec<ItemDigest> = items.par_iter().map(|i| item_digest(i.as_ref())).collect();
        let mut index: HashMap<ItemDigest, u32, BuildHasherDefault<DigestHasher>> =
            HashMap::with_capacity_and_hasher(digests.len(), BuildHasherDefault::default());
        let mut distinct = Vec::with_capacity(digests.len());
        let mut distinct_of_input = Vec::with_capacity(digests.len());
        for d in digests {
            let next = distinct.len() as u32;
            let slot = *index.entry(d).or_insert_with(|| {
                distinct.push(d);
                next
            });
            distinct_of_input.push(slot);
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
