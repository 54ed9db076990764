//! Blocking by locality-sensitive hashing of the encodings (Hamming LSH by
//! bit sampling; Indyk and Motwani 1998, applied to Bloom-filter encodings by
//! Durham 2012 and Karapiperis and Verykios 2015).
//!
//! Comparing 10^6 × 10^6 encodings exhaustively is 10^12 comparisons. Instead
//! each of `L` tables samples `k` bit positions; two encodings that agree on
//! all `k` land in the same bucket and only those pairs are compared. Two
//! encodings whose bits agree with probability `p` collide in one table with
//! probability `p^k` and in at least one of `L` tables with probability
//! `1 - (1 - p^k)^L`: similar pairs (p ≈ 0.85) almost surely meet, random
//! ones (p ≈ 0.5) almost never. Works on encodings only, so the partner's
//! batch can be blocked without any clear-text field.
//!
//! The `k` positions of a table are taken from one 64-bit word, so a key is a
//! single load and AND; the bit positions of a CLK are already scattered by
//! the keyed hash, so any word is as good a sample as positions spread out.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::encoding::ClkBatch;
use crate::similarity::{Candidate, dice_rows};

/// Parameters of bit-sampling LSH.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LshConfig {
    /// Bits sampled per table (`k`, at most 64).
    pub bits_per_key: u32,
    /// Number of tables (`L`).
    pub tables: u32,
    /// Seed of the sampled positions (both sides need not agree on it: only
    /// the party that compares uses it).
    pub seed: u64,
    /// Buckets with more pairs than this are skipped and counted, so a very
    /// common value cannot turn blocking back into a full comparison.
    pub max_bucket_pairs: u64,
}

impl LshConfig {
    /// Chooses `L` so that a pair whose bits agree with probability
    /// `agreement` is found with probability at least `recall`, with `k`
    /// given. `agreement` for a true pair is `1 - hamming / length`.
    pub fn for_target(bits_per_key: u32, agreement: f64, recall: f64) -> Self {
        let k = bits_per_key.clamp(1, 64);
        let hit = agreement.clamp(1e-9, 1.0).powi(k as i32);
        let miss = (1.0 - recall).clamp(1e-12, 1.0);
        let tables = if hit >= 1.0 {
            1
        } else {
            (miss.ln() / (1.0 - hit).ln()).ceil().clamp(1.0, 10_000.0) as u32
        };
        Self {
            bits_per_key: k,
            tables,
            seed: 0x5eed,
            max_bucket_pairs: 1 << 22,
        }
    }
}

/// Counters from a blocked run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BlockingStats {
    /// Pairs compared (with repeats across tables).
    pub comparisons: u64,
    /// Pairs skipped in oversized buckets.
    pub skipped_pairs: u64,
}

/// Per table: which word, and which bits of it.
fn table_masks(config: &LshConfig, words_per: usize) -> Vec<(usize, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let k = config.bits_per_key.clamp(1, 64);
    (0..config.tables)
        .map(|_| {
            let word = rng.gen_range(0..words_per.max(1));
            let mut mask = 0u64;
            while mask.count_ones() < k {
                mask |= 1 << rng.gen_range(0..64);
            }
            (word, mask)
        })
        .collect()
}

/// Sorted `(key hash << 32 | row)` for one table.
fn keys(batch: &ClkBatch, word: usize, mask: u64) -> Vec<u64> {
    let w = batch.words_per();
    let mut out: Vec<u64> = batch
        .words()
        .iter()
        .skip(word)
        .step_by(w)
        .enumerate()
        .map(|(row, &x)| {
            // Multiplicative hashing folds the masked word to 32 bits; a
            // collision only adds a candidate, never loses one.
            let h = ((x & mask).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32;
            (u64::from(h) << 32) | row as u64
        })
        .collect();
    out.sort_unstable();
    out
}

/// Candidate pairs at or above `floor` found through LSH blocking, each pair
/// once with its exact Dice score, sorted by `(a, b)`.
pub fn lsh_candidates(
    a: &ClkBatch,
    b: &ClkBatch,
    config: &LshConfig,
    floor: f64,
) -> (Vec<Candidate>, BlockingStats) {
    let mut stats = BlockingStats::default();
    if a.words_per() != b.words_per() || a.is_empty() || b.is_empty() {
        return (Vec::new(), stats);
    }
    let floor = floor as f32;
    let arch = pulp::Arch::new();
    let per_table: Vec<(Vec<Candidate>, BlockingStats)> = table_masks(config, a.words_per())
        .into_par_iter()
        .map(|(word, mask)| {
            let ka = keys(a, word, mask);
            let kb = keys(b, word, mask);
            arch.dispatch(JoinTable {
                a,
                b,
                ka: &ka,
                kb: &kb,
                floor,
                max_bucket_pairs: config.max_bucket_pairs,
            })
        })
        .collect();
    let mut all = Vec::new();
    for (c, s) in per_table {
        all.extend(c);
        stats.comparisons += s.comparisons;
        stats.skipped_pairs += s.skipped_pairs;
    }
    all.par_sort_unstable_by_key(|c| (c.a, c.b));
    all.dedup_by_key(|c| (c.a, c.b));
    (all, stats)
}

/// One table's merge join as a `pulp` operation, so the Dice kernel inside
/// is compiled with POPCNT where the CPU has it.
struct JoinTable<'a> {
    a: &'a ClkBatch,
    b: &'a ClkBatch,
    ka: &'a [u64],
    kb: &'a [u64],
    floor: f32,
    max_bucket_pairs: u64,
}

impl pulp::WithSimd for JoinTable<'_> {
    type Output = (Vec<Candidate>, BlockingStats);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        join_table(
            self.a,
            self.b,
            self.ka,
            self.kb,
            self.floor,
            self.max_bucket_pairs,
        )
    }
}

#[inline(always)]
fn join_table(
    a: &ClkBatch,
    b: &ClkBatch,
    ka: &[u64],
    kb: &[u64],
    floor: f32,
    max_bucket_pairs: u64,
) -> (Vec<Candidate>, BlockingStats) {
    let mut out = Vec::new();
    let mut stats = BlockingStats::default();
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (ka.get(i), kb.get(j)) {
        let (hx, hy) = (x >> 32, y >> 32);
        if hx < hy {
            i += 1;
            continue;
        }
        if hy < hx {
            j += 1;
            continue;
        }
        let i_end = i + ka
            .get(i..)
            .map_or(0, |s| s.partition_point(|v| v >> 32 == hx));
        let j_end = j + kb
            .get(j..)
            .map_or(0, |s| s.partition_point(|v| v >> 32 == hx));
        let pairs = (i_end - i) as u64 * (j_end - j) as u64;
        if pairs > max_bucket_pairs {
            stats.skipped_pairs += pairs;
        } else {
            stats.comparisons += pairs;
            for &x in ka.get(i..i_end).unwrap_or(&[]) {
                let ra = (x & 0xFFFF_FFFF) as usize;
                for &y in kb.get(j..j_end).unwrap_or(&[]) {
                    let rb = (y & 0xFFFF_FFFF) as usize;
                    let score = dice_rows(a, ra, b, rb);
                    if score >= floor {
                        out.push(Candidate {
                            a: ra as u32,
                            b: rb as u32,
                            score,
                        });
                    }
                }
            }
        }
        i = i_end;
        j = j_end;
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_count_follows_the_formula() {
        // p = 0.85, k = 16: p^k ≈ 0.0743; L = ln(0.01)/ln(1-0.0743) ≈ 59.7.
        let c = LshConfig::for_target(16, 0.85, 0.99);
        assert_eq!(c.tables, 60);
        assert_eq!(LshConfig::for_target(8, 1.0, 0.99).tables, 1);
    }

    #[test]
    fn masks_have_k_bits_in_range() {
        let c = LshConfig {
            bits_per_key: 20,
            tables: 50,
            seed: 9,
            max_bucket_pairs: 10,
        };
        for (word, mask) in table_masks(&c, 16) {
            assert!(word < 16);
            assert_eq!(mask.count_ones(), 20);
        }
    }
}
