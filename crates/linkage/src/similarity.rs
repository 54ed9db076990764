//! Sørensen–Dice similarity of Bloom-filter encodings, and the exhaustive
//! scan that compares every encoding of one batch with every one of another.
//!
//! Dice is `2·|A ∧ B| / (|A| + |B|)`: the popcount of the AND of two filters
//! over the sum of their popcounts. The scan is the hot loop of linkage and
//! has two kernels that return the same pairs:
//!
//! * [`Kernel::Sliced`] (the default) transposes the second batch and counts
//!   256 pairs per bitwise instruction; see the `sliced` module for how.
//! * [`Kernel::Pairwise`] ANDs and popcounts pair by pair: the definition,
//!   kept to measure the sliced kernel against and for encodings longer than
//!   it takes. It runs inside `pulp::Arch::dispatch`, which enters a function
//!   compiled for x86-64-v3 (POPCNT, AVX2) when the CPU has it, without any
//!   `unsafe` in this crate (the workspace forbids it); other CPUs get the
//!   portable code.
//!
//! Rows of the first batch are spread over all cores with rayon.

use rayon::prelude::*;
use serde::Serialize;

use crate::encoding::ClkBatch;
use crate::sliced;

/// Dice similarity of two encodings given as words; 0 when both are empty.
pub fn dice(a: &[u64], b: &[u64]) -> f64 {
    let pa: u32 = a.iter().map(|w| w.count_ones()).sum();
    let pb: u32 = b.iter().map(|w| w.count_ones()).sum();
    let and: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    if pa + pb == 0 {
        0.0
    } else {
        2.0 * f64::from(and) / f64::from(pa + pb)
    }
}

/// One scored pair: row `a` of the first batch, row `b` of the second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    /// Index in the first (requester's) batch.
    pub a: u32,
    /// Index in the second (partner's) batch.
    pub b: u32,
    /// Dice similarity.
    pub score: f32,
}

/// Which kernel an exhaustive scan runs. Both return the same pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// 256 pairs per bitwise instruction over a transposed second batch
    /// (encodings up to 4096 bits; longer ones fall back to pairwise).
    #[default]
    Sliced,
    /// One pair at a time: AND, popcount, compare.
    Pairwise,
}

/// What an exhaustive scan keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanConfig {
    /// Pairs scoring below this are never kept.
    pub floor: f64,
    /// Keep at most this many best pairs per row of the first batch
    /// (`usize::MAX` keeps every pair at or above the floor).
    pub top_k: usize,
    /// The kernel to run.
    pub kernel: Kernel,
}

/// Counters from a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ScanStats {
    /// Pairs decided (all of them, in an exhaustive scan).
    pub comparisons: u64,
    /// The kernel that ran.
    pub kernel: Kernel,
    /// Whether the POPCNT/AVX2 code path was taken.
    pub accelerated: bool,
}

/// The Dice score of a pair with AND count `and` and popcounts summing to
/// `sum`, if it reaches `bar`. Both kernels decide every pair here, so they
/// agree to the last bit; two empty encodings score 0.
#[inline(always)]
pub(crate) fn score_reaching(and: u32, sum: u32, bar: f32) -> Option<f32> {
    if sum == 0 {
        return (bar <= 0.0).then_some(0.0);
    }
    let (twice, sum) = ((2 * and) as f32, sum as f32);
    (twice >= bar * sum).then(|| twice / sum)
}

/// The best pairs of one row, and the bar a new pair must reach.
pub(crate) struct RowTop {
    floor: f32,
    k: usize,
    items: Vec<(f32, u32)>,
}

impl RowTop {
    pub(crate) fn new(floor: f32, k: usize) -> Self {
        Self {
            floor,
            k,
            items: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn bar(&self) -> f32 {
        if self.items.len() < self.k {
            self.floor
        } else {
            // Full: a newcomer must beat the weakest kept pair.
            self.items
                .iter()
                .map(|x| x.0)
                .fold(f32::INFINITY, f32::min)
                .max(self.floor)
        }
    }

    pub(crate) fn push(&mut self, score: f32, b: u32) {
        if self.items.len() < self.k {
            self.items.push((score, b));
            return;
        }
        // The weakest kept pair: lowest score, and of equal scores the
        // highest index, so the kept set does not depend on scan order.
        let weakest = self
            .items
            .iter()
            .enumerate()
            .min_by(|(_, x), (_, y)| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)))
            .map(|(i, &x)| (i, x));
        if let Some((i, (min, min_b))) = weakest
            && (score > min || (score == min && b < min_b))
            && let Some(slot) = self.items.get_mut(i)
        {
            *slot = (score, b);
        }
    }
}

/// Rows of A per parallel task.
const ROWS_PER_TASK: usize = 32;

/// The pair-by-pair scan, for any length.
#[inline(always)]
fn scan_rows_any(
    words_per: usize,
    a_words: &[u64],
    a_pop: &[u32],
    b: &ClkBatch,
    tops: &mut [RowTop],
) {
    for ((a, &pa), top) in a_words
        .chunks_exact(words_per)
        .zip(a_pop)
        .zip(tops.iter_mut())
    {
        let mut bar = top.bar();
        for (j, (bw, &pb)) in b
            .words()
            .chunks_exact(words_per)
            .zip(b.popcounts())
            .enumerate()
        {
            let and: u32 = a.iter().zip(bw).map(|(x, y)| (x & y).count_ones()).sum();
            if let Some(score) = score_reaching(and, pa + pb, bar) {
                top.push(score, j as u32);
                bar = top.bar();
            }
        }
    }
}

/// One task of the scan for other lengths, as a `pulp` operation.
struct ScanAny<'a> {
    words_per: usize,
    words: &'a [u64],
    pop: &'a [u32],
    b: &'a ClkBatch,
    tops: &'a mut [RowTop],
}

impl pulp::WithSimd for ScanAny<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        scan_rows_any(self.words_per, self.words, self.pop, self.b, self.tops);
    }
}

/// Whether this CPU runs the accelerated (x86-64-v3) kernels.
pub fn accelerated() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        pulp::x86::V3::try_new().is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Compares every row of `a` with every row of `b` and keeps, per row of
/// `a`, the pairs the config asks for. Both batches must have the same words
/// per encoding (otherwise nothing is compared).
pub fn scan(a: &ClkBatch, b: &ClkBatch, config: ScanConfig) -> (Vec<Candidate>, ScanStats) {
    let w = a.words_per();
    let kernel = if 64 * w <= sliced::MAX_BITS {
        config.kernel
    } else {
        Kernel::Pairwise
    };
    let mut stats = ScanStats {
        comparisons: 0,
        kernel,
        accelerated: accelerated(),
    };
    if w != b.words_per() || a.is_empty() || b.is_empty() {
        return (Vec::new(), stats);
    }
    stats.comparisons = a.len() as u64 * b.len() as u64;
    let floor = config.floor as f32;
    let k = config.top_k.max(1);
    if kernel == Kernel::Sliced {
        let transposed = sliced::SlicedBatch::new(b);
        return (sliced::scan(a, &transposed, floor, k), stats);
    }
    let arch = pulp::Arch::new();
    let per_task: Vec<Vec<Candidate>> = a
        .words()
        .par_chunks(ROWS_PER_TASK * w)
        .zip(a.popcounts().par_chunks(ROWS_PER_TASK))
        .enumerate()
        .map(|(task, (words, pop))| {
            let mut tops: Vec<RowTop> = pop.iter().map(|_| RowTop::new(floor, k)).collect();
            arch.dispatch(ScanAny {
                words_per: w,
                words,
                pop,
                b,
                tops: &mut tops,
            });
            collect(task * ROWS_PER_TASK, tops)
        })
        .collect();
    (per_task.into_iter().flatten().collect(), stats)
}

/// The kept pairs of consecutive rows, the first being `first_row`, each
/// row's pairs best first.
pub(crate) fn collect(first_row: usize, tops: Vec<RowTop>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, mut top) in tops.into_iter().enumerate() {
        top.items
            .sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        for (score, b) in top.items {
            out.push(Candidate {
                a: (first_row + i) as u32,
                b,
                score,
            });
        }
    }
    out
}

/// Dice of row `i` of `a` and row `j` of `b` through the batches' stored
/// popcounts (the kernel used after blocking).
#[inline(always)]
pub(crate) fn dice_rows(a: &ClkBatch, i: usize, b: &ClkBatch, j: usize) -> f32 {
    let (Some(x), Some(y), Some(pa), Some(pb)) = (
        a.get(i),
        b.get(j),
        a.popcounts().get(i),
        b.popcounts().get(j),
    ) else {
        return 0.0;
    };
    let and: u32 = x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum();
    let sum = pa + pb;
    if sum == 0 {
        0.0
    } else {
        (2 * and) as f32 / sum as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn config(floor: f64, top_k: usize, kernel: Kernel) -> ScanConfig {
        ScanConfig {
            floor,
            top_k,
            kernel,
        }
    }

    fn random_batch(rng: &mut ChaCha8Rng, n: usize, words: usize) -> ClkBatch {
        ClkBatch::from_words(words, (0..n * words).map(|_| rng.r#gen::<u64>()).collect())
    }

    /// Reference: every pair scored one by one with [`dice`].
    fn brute(a: &ClkBatch, b: &ClkBatch, floor: f64) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for i in 0..a.len() {
            for j in 0..b.len() {
                let (Some(x), Some(y)) = (a.get(i), b.get(j)) else {
                    continue;
                };
                if dice(x, y) as f32 >= floor as f32 {
                    out.push((i as u32, j as u32));
                }
            }
        }
        out
    }

    #[test]
    fn dice_table() {
        let cases: [(&[u64], &[u64], f64); 5] = [
            (&[0b1111], &[0b1111], 1.0),
            (&[0b1111], &[0b0000], 0.0),
            (&[0b1100], &[0b0110], 0.5),
            (&[0, 0], &[0, 0], 0.0),
            (&[u64::MAX, 0], &[u64::MAX, u64::MAX], 2.0 * 64.0 / 192.0),
        ];
        for (a, b, want) in cases {
            assert!((dice(a, b) - want).abs() < 1e-12, "{a:?} {b:?}");
        }
    }

    /// A batch of `n` encodings of which every third is a noisy copy of a
    /// row of `a` (so some pairs pass high floors), the rest random with
    /// bits set at the given density.
    fn near_copies(rng: &mut ChaCha8Rng, a: &ClkBatch, n: usize, density: f64) -> ClkBatch {
        let w = a.words_per();
        let mut words = Vec::new();
        for i in 0..n {
            let src = a.get(i % a.len()).unwrap_or(&[]);
            for &x in src {
                let noise = rng.r#gen::<u64>() & rng.r#gen::<u64>() & rng.r#gen::<u64>();
                let fresh = (0..64).fold(0u64, |acc, bit| {
                    acc | u64::from(rng.gen_bool(density)) << bit
                });
                words.push(if i % 3 == 0 { x ^ noise } else { fresh });
            }
        }
        ClkBatch::from_words(w, words)
    }

    fn dense_batch(rng: &mut ChaCha8Rng, n: usize, words: usize, density: f64) -> ClkBatch {
        let w: Vec<u64> = (0..n * words)
            .map(|_| {
                (0..64).fold(0u64, |acc, bit| {
                    acc | u64::from(rng.gen_bool(density)) << bit
                })
            })
            .collect();
        ClkBatch::from_words(words, w)
    }

    #[test]
    fn both_kernels_equal_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 1024 bits at the usual density, dense filters (the sliced kernel
        // sums zero positions), sparse ones, and lengths that are not 1024;
        // 600 rows on the B side make two full blocks and a partial one.
        for (words, density, n_a, n_b) in [
            (16, 0.5, 70, 600),
            (16, 0.75, 40, 300),
            (16, 0.2, 40, 300),
            (3, 0.5, 30, 257),
            (1, 0.6, 20, 90),
            (64, 0.4, 10, 40),
        ] {
            let a = dense_batch(&mut rng, n_a, words, density);
            let b = near_copies(&mut rng, &a, n_b, density);
            for floor in [0.0, 0.5, 0.55, 0.7, 0.8, 0.95, 1.0] {
                let want = brute(&a, &b, floor);
                for kernel in [Kernel::Sliced, Kernel::Pairwise] {
                    let (mut got, stats) = scan(&a, &b, config(floor, usize::MAX, kernel));
                    assert_eq!(stats.comparisons, (n_a * n_b) as u64);
                    assert_eq!(stats.kernel, kernel);
                    got.sort_by_key(|c| (c.a, c.b));
                    let pairs: Vec<(u32, u32)> = got.iter().map(|c| (c.a, c.b)).collect();
                    assert_eq!(
                        pairs, want,
                        "{kernel:?} words {words} density {density} floor {floor}"
                    );
                    for c in &got {
                        let exact = dice(
                            a.get(c.a as usize).unwrap_or(&[]),
                            b.get(c.b as usize).unwrap_or(&[]),
                        );
                        assert!((f64::from(c.score) - exact).abs() < 1e-6);
                    }
                }
            }
        }
    }

    #[test]
    fn empty_encodings_score_zero_in_both_kernels() {
        let a = ClkBatch::from_words(16, vec![0; 16 * 3]);
        let b = ClkBatch::from_words(16, vec![0; 16 * 5]);
        for kernel in [Kernel::Sliced, Kernel::Pairwise] {
            let (got, _) = scan(&a, &b, config(0.0, usize::MAX, kernel));
            assert_eq!(got.len(), 15);
            assert!(got.iter().all(|c| c.score == 0.0));
            let (got, _) = scan(&a, &b, config(0.1, usize::MAX, kernel));
            assert!(got.is_empty());
        }
    }

    #[test]
    fn top_k_keeps_the_best_per_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for words in [16, 4] {
            let a = random_batch(&mut rng, 40, words);
            let b = random_batch(&mut rng, 300, words);
            let mut per_kernel = Vec::new();
            for kernel in [Kernel::Sliced, Kernel::Pairwise] {
                let (got, _) = scan(&a, &b, config(0.0, 2, kernel));
                for i in 0..40u32 {
                    let mine: Vec<f32> = got.iter().filter(|c| c.a == i).map(|c| c.score).collect();
                    let mut all: Vec<f32> = (0..300)
                        .map(|j| {
                            dice(a.get(i as usize).unwrap_or(&[]), b.get(j).unwrap_or(&[])) as f32
                        })
                        .collect();
                    all.sort_by(|x, y| y.total_cmp(x));
                    assert_eq!(mine.len(), 2);
                    for (m, w) in mine.iter().zip(&all) {
                        assert!((m - w).abs() < 1e-6, "row {i}: {mine:?} vs {:?}", &all[..2]);
                    }
                }
                per_kernel.push(got);
            }
            // Ties are broken by index, so both kernels keep the same pairs
            // in the same order.
            assert_eq!(per_kernel[0], per_kernel[1]);
        }
    }

    #[test]
    fn mismatched_lengths_compare_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = random_batch(&mut rng, 3, 16);
        let b = random_batch(&mut rng, 3, 8);
        let (got, stats) = scan(&a, &b, config(0.0, 5, Kernel::Sliced));
        assert!(got.is_empty());
        assert_eq!(stats.comparisons, 0);
    }
}
