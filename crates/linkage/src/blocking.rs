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
    /// Before a candidate pair is scored, a second whole word of both
    /// encodings (kept beside the bucket entry, so no extra memory access)
    /// must differ in at most this many bits. Unrelated encodings differ in
    /// about 32 of 64, similar ones in few: this drops almost every chance
    /// collision without fetching its encoding. 64 disables the check.
    pub sketch_max_distance: u32,
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
        // Mean plus three standard deviations of the disagreement of a pair
        // at this agreement over 64 bits: it passes about 99.8% of such pairs
        // and well under 1% of unrelated ones.
        let q = (1.0 - agreement).clamp(0.0, 1.0);
        let sketch = (64.0 * q + 3.0 * (64.0 * q * (1.0 - q)).sqrt())
            .ceil()
            .min(64.0) as u32;
        Self {
            bits_per_key: k,
            tables,
            seed: 0x5eed,
            sketch_max_distance: sketch,
            max_bucket_pairs: 1 << 16,
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

/// Word `w` of every encoding, contiguous: a table reads one word per
/// encoding, and reading it from row-major storage would pull a whole
/// 128-byte row into cache for 8 useful bytes.
fn columns(batch: &ClkBatch) -> Vec<Vec<u64>> {
    let w = batch.words_per();
    (0..w)
        .map(|k| batch.words().iter().skip(k).step_by(w).copied().collect())
        .collect()
}

/// Bucket entry of one encoding in one table: `[hash << 32 | row, sketch]`,
/// where `hash` is a 32-bit hash of the sampled bits and `sketch` the
/// encoding's sketch word. Two encodings collide in a table when their hashes
/// are equal; different sampled bits with equal 32-bit hashes (about 2^-32)
/// only add a candidate, whose exact score is computed anyway.
#[inline(always)]
fn entry(x: u64, mask: u64, row: usize, sketch: u64) -> [u64; 2] {
    let h = (x & mask).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    [(h << 32) | row as u64, sketch]
}

/// Sorts entries by their top `bits` bits with a two-pass LSD radix sort:
/// each pass scatters into at most 4,096 streams, which the caches absorb,
/// where one pass into a million buckets would miss on every write.
fn radix_sort_top(
    entries: &mut Vec<[u64; 2]>,
    tmp: &mut Vec<[u64; 2]>,
    counts: &mut Vec<u32>,
    bits: u32,
) {
    let low = bits / 2;
    let high = bits - low;
    for (shift, width) in [(64 - bits, low), (64 - high, high)] {
        if width == 0 {
            continue;
        }
        let digit_mask = (1u64 << width) - 1;
        counts.clear();
        counts.resize(1 << width, 0);
        for e in entries.iter() {
            counts[((e[0] >> shift) & digit_mask) as usize] += 1;
        }
        let mut acc = 0u32;
        for c in counts.iter_mut() {
            let n = *c;
            *c = acc;
            acc += n;
        }
        tmp.clear();
        tmp.resize(entries.len(), [0; 2]);
        for e in entries.iter() {
            let d = ((e[0] >> shift) & digit_mask) as usize;
            tmp[counts[d] as usize] = *e;
            counts[d] += 1;
        }
        std::mem::swap(entries, tmp);
    }
}

/// Reusable per-thread buffers of one table.
#[derive(Default)]
struct Buffers {
    a: Vec<[u64; 2]>,
    b: Vec<[u64; 2]>,
    tmp: Vec<[u64; 2]>,
    counts: Vec<u32>,
}

/// Candidate pairs at or above `floor` found through LSH blocking, each pair
/// once with its exact Dice score, sorted by `(a, b)`.
///
/// Each table builds one entry per encoding on both sides, radix-sorts both
/// by hash and walks them together: all memory access is sequential except
/// fetching the two encodings of a pair that survives the sketch check.
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
    let (cols_a, cols_b) = rayon::join(|| columns(a), || columns(b));
    // About four encodings of the larger side per sorted bucket.
    let larger = a.len().max(b.len());
    let bits = (usize::BITS - larger.leading_zeros())
        .saturating_sub(2)
        .clamp(2, 24);
    let per_table: Vec<(Vec<Candidate>, BlockingStats)> = table_masks(config, a.words_per())
        .into_par_iter()
        .map_init(Buffers::default, |buf, (word, mask)| {
            // The sketch word is the one half the encoding away.
            let sketch = (word + a.words_per() / 2) % a.words_per();
            let (Some(ca), Some(cb), Some(sa), Some(sb)) = (
                cols_a.get(word),
                cols_b.get(word),
                cols_a.get(sketch),
                cols_b.get(sketch),
            ) else {
                return (Vec::new(), BlockingStats::default());
            };
            buf.a.clear();
            buf.a.extend(
                ca.iter()
                    .zip(sa)
                    .enumerate()
                    .map(|(r, (&x, &s))| entry(x, mask, r, s)),
            );
            buf.b.clear();
            buf.b.extend(
                cb.iter()
                    .zip(sb)
                    .enumerate()
                    .map(|(r, (&x, &s))| entry(x, mask, r, s)),
            );
            radix_sort_top(&mut buf.a, &mut buf.tmp, &mut buf.counts, bits);
            radix_sort_top(&mut buf.b, &mut buf.tmp, &mut buf.counts, bits);
            arch.dispatch(JoinTable {
                a,
                b,
                ea: &buf.a,
                eb: &buf.b,
                bits,
                sketch_max: config.sketch_max_distance,
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
    ea: &'a [[u64; 2]],
    eb: &'a [[u64; 2]],
    bits: u32,
    sketch_max: u32,
    floor: f32,
    max_bucket_pairs: u64,
}

impl pulp::WithSimd for JoinTable<'_> {
    type Output = (Vec<Candidate>, BlockingStats);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        join_table(self)
    }
}

#[inline(always)]
fn join_table(t: JoinTable<'_>) -> (Vec<Candidate>, BlockingStats) {
    let JoinTable {
        a,
        b,
        ea,
        eb,
        bits,
        sketch_max,
        floor,
        max_bucket_pairs,
    } = t;
    let mut out = Vec::new();
    let mut stats = BlockingStats::default();
    let top = |e: &[u64; 2]| e[0] >> (64 - bits);
    let (mut i, mut j) = (0usize, 0usize);
    while let (Some(x), Some(y)) = (ea.get(i), eb.get(j)) {
        let (bx, by) = (top(x), top(y));
        if bx < by {
            i += 1;
            continue;
        }
        if by < bx {
            j += 1;
            continue;
        }
        // Buckets hold a handful of entries: a linear walk stays in the
        // cache lines already loaded, where a binary search would not.
        let mut i_end = i + 1;
        while ea.get(i_end).is_some_and(|e| top(e) == bx) {
            i_end += 1;
        }
        let mut j_end = j + 1;
        while eb.get(j_end).is_some_and(|e| top(e) == bx) {
            j_end += 1;
        }
        let (Some(ga), Some(gb)) = (ea.get(i..i_end), eb.get(j..j_end)) else {
            break;
        };
        if (ga.len() as u64) * (gb.len() as u64) > max_bucket_pairs {
            stats.skipped_pairs += (ga.len() as u64) * (gb.len() as u64);
        } else {
            for &[eb0, skb] in gb {
                for &[ea0, ska] in ga {
                    if ea0 >> 32 != eb0 >> 32 || (ska ^ skb).count_ones() > sketch_max {
                        continue;
                    }
                    let (ra, rb) = ((ea0 & 0xFFFF_FFFF) as usize, (eb0 & 0xFFFF_FFFF) as usize);
                    stats.comparisons += 1;
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
    fn radix_sort_orders_by_top_bits() {
        let mut v: Vec<[u64; 2]> = (0..1000u64)
            .map(|i| [i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i])
            .collect();
        let (mut tmp, mut counts) = (Vec::new(), Vec::new());
        radix_sort_top(&mut v, &mut tmp, &mut counts, 12);
        assert_eq!(v.len(), 1000);
        assert!(v.windows(2).all(|w| w[0][0] >> 52 <= w[1][0] >> 52));
        let mut payload: Vec<u64> = v.iter().map(|e| e[1]).collect();
        payload.sort_unstable();
        assert_eq!(payload, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn masks_have_k_bits_in_range() {
        let c = LshConfig {
            bits_per_key: 20,
            tables: 50,
            seed: 9,
            sketch_max_distance: 64,
            max_bucket_pairs: 10,
        };
        for (word, mask) in table_masks(&c, 16) {
            assert!(word < 16);
            assert_eq!(mask.count_ones(), 20);
        }
    }
}
