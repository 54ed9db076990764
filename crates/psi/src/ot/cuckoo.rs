//! Cuckoo hashing of the requester's items into bins, one item per bin, as in KKRT16 §5 and
//! Pinkas, Schneider, Segev, Zohner, "Phasing: Private Set Intersection using Permutation-based
//! Hashing", USENIX Security 2015.
//!
//! Each item has `HASHES` candidate bins; the requester places every item in one of them (so
//! it needs one OPRF instance per bin), and the responder evaluates each of its items in all
//! candidate bins. With 3 hash functions and `⌊1.27·n⌋` bins insertion succeeds with
//! overwhelming probability (the load threshold of 3-way cuckoo hashing is about 0.918); on the
//! rare failure the requester draws a new seed, which the responder sees only as a random seed.
//! The bin count bounds how many identifiers a requester can test (see [`bins_for`]).
//! No stash is used, so the responder's work is exactly `HASHES` evaluations per item.

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::item::{ItemDigest, keyed_prefix};

/// Candidate bins per item.
pub(crate) const HASHES: usize = 3;

/// Eviction steps before an insertion is declared failed.
const MAX_KICKS: usize = 2_000;

const POSITION_DOMAIN: &[u8] = b"soberana-psi/ot/cuckoo/v1\0";

/// The number of bins for `n` requester items: `n + ⌊0.27·n⌋`, at least one. Both parties
/// compute it; the responder refuses any other value.
///
/// Every bin is one OPRF evaluation the requester holds, and a requester that does not follow
/// the protocol can put a different identifier of its choosing in each bin: the bin count *is*
/// the number of identifiers it can test. So there is no additive slack for small sets (an
/// earlier `+ 32` let a request for one identifier test up to 60): under an acceptance of `n`
/// the requester tests at most `bins_for(n)`, exactly `n` for `n ≤ 3` and at most 27 % more
/// beyond. Small tables fail to place more often (at most about one attempt in ten, measured
/// for every `n` up to 40), which the requester absorbs by drawing a new seed.
pub(crate) fn bins_for(n: usize) -> usize {
    n.saturating_add(n / 100 * 27 + n % 100 * 27 / 100).max(1)
}

/// The hash state for positions under `seed`.
pub(crate) fn position_prefix(seed: &[u8; 32]) -> Sha256 {
    keyed_prefix(POSITION_DOMAIN, seed)
}

/// The candidate bins of an item under the seed absorbed in `prefix` (they may coincide).
pub(crate) fn positions(prefix: &Sha256, digest: &ItemDigest, bins: usize) -> [usize; HASHES] {
    let mut h = prefix.clone();
    h.update(digest);
    let d = h.finalize();
    let mut out = [0usize; HASHES];
    for (i, o) in out.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&d[i * 8..i * 8 + 8]);
        // A 64-bit value reduced mod a bin count below 2^32 has negligible bias.
        *o = (u64::from_le_bytes(w) % bins as u64) as usize;
    }
    out
}

/// One occupied bin: which distinct item, placed by which hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) item: u32,
    pub(crate) hash: u8,
}

/// Places every item; `None` when an insertion fails (the caller retries with a new seed).
pub(crate) fn place<R: RngCore>(
    candidates: &[[usize; HASHES]],
    bins: usize,
    rng: &mut R,
) -> Option<Vec<Option<Slot>>> {
    let mut table: Vec<Option<Slot>> = vec![None; bins];
    for (item, cands) in candidates.iter().enumerate() {
        // Take a free candidate bin if there is one; most items need no eviction at all.
        if let Some(hash) = cands
            .iter()
            .position(|&bin| table.get(bin).is_some_and(Option::is_none))
        {
            let bin = cands[hash];
            table[bin] = Some(Slot {
                item: item as u32,
                hash: hash as u8,
            });
            continue;
        }
        let mut current = Slot {
            item: item as u32,
            hash: rng.gen_range(0..HASHES as u8),
        };
        let mut placed = false;
        for _ in 0..MAX_KICKS {
            let bin = candidates.get(current.item as usize)?[current.hash as usize];
            match table.get_mut(bin)?.replace(current) {
                None => {
                    placed = true;
                    break;
                }
                Some(evicted) => {
                    // Move the evicted item to one of its other bins, chosen at random so the
                    // walk cannot cycle forever between two bins.
                    let step = 1 + rng.gen_range(0..HASHES as u8 - 1);
                    current = Slot {
                        item: evicted.item,
                        hash: (evicted.hash + step) % HASHES as u8,
                    };
                }
            }
        }
        if !placed {
            return None;
        }
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::item_digest;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_item_lands_in_one_of_its_bins() {
        for n in [0usize, 1, 2, 3, 50, 4096] {
            let seed = [n as u8; 32];
            let bins = bins_for(n);
            let cands: Vec<_> = (0..n)
                .map(|i| {
                    positions(
                        &position_prefix(&seed),
                        &item_digest(&i.to_le_bytes()),
                        bins,
                    )
                })
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
            let table = place(&cands, bins, &mut rng).expect("placement");
            assert_eq!(table.iter().flatten().count(), n);
            let mut seen = vec![false; n];
            for (bin, slot) in table.iter().enumerate() {
                if let Some(s) = slot {
                    assert_eq!(cands[s.item as usize][s.hash as usize], bin);
                    assert!(!seen[s.item as usize], "item placed twice");
                    seen[s.item as usize] = true;
                }
            }
            assert!(seen.iter().all(|s| *s), "n = {n}");
        }
    }

    #[test]
    fn too_few_bins_fails_instead_of_looping() {
        let cands = vec![[0usize, 1, 0]; 3];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(place(&cands, 2, &mut rng).is_none());
    }
}
