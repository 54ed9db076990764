//! Sørensen–Dice similarity of Bloom-filter encodings, and the exhaustive
//! scan that compares every encoding of one batch with every one of another.
//!
//! Dice is `2·|A ∧ B| / (|A| + |B|)`: the popcount of the AND of two filters
//! over the sum of their popcounts. The scan is the hot loop of linkage, so:
//!
//! * The kernel runs inside `pulp::Arch::dispatch`, which enters a function
//!   compiled for x86-64-v3 (POPCNT, AVX2) when the CPU has it, without any
//!   `unsafe` in this crate (the workspace forbids it); other CPUs get the
//!   portable code. There `u64::count_ones` becomes POPCNT, and the 16-word
//!   AND-popcount is vectorised by the compiler into AVX2 nibble lookups
//!   (`vpshufb`, `vpsadbw`), which it prefers to 16 scalar POPCNTs. The
//!   baseline x86-64 target has neither instruction.
//! * It is exact but lazy: after the first `C` words of a pair, the AND count
//!   plus the smaller of the two remaining popcounts bounds the final AND
//!   count, and when even that bound cannot reach the row's acceptance bar the
//!   rest of the pair is skipped. Every pair is still decided exactly; only
//!   pairs that provably fall below the bar are cut short. `C` is chosen by
//!   sampling pairs of the two batches.
//! * Rows of the first batch are spread over all cores with rayon; the second
//!   batch is walked in tiles that stay in the L2 cache.

use rayon::prelude::*;
use serde::Serialize;

use crate::encoding::ClkBatch;

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

/// What an exhaustive scan keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanConfig {
    /// Pairs scoring below this are never kept.
    pub floor: f64,
    /// Keep at most this many best pairs per row of the first batch
    /// (`usize::MAX` keeps every pair at or above the floor).
    pub top_k: usize,
    /// Cut pairs short once they provably cannot reach the bar. Results are
    /// identical either way; off only to measure the full kernel.
    pub early_exit: bool,
}

/// Counters from a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ScanStats {
    /// Pairs decided (all of them, in an exhaustive scan).
    pub comparisons: u64,
    /// Words compared before the early-exit bound is checked (equal to the
    /// words per encoding when early exit is off).
    pub checkpoint_words: usize,
    /// Whether the POPCNT/AVX2 code path was taken.
    pub accelerated: bool,
}

/// The best pairs of one row, and the bar a new pair must reach.
struct RowTop {
    floor: f32,
    k: usize,
    items: Vec<(f32, u32)>,
}

impl RowTop {
    fn new(floor: f32, k: usize) -> Self {
        Self {
            floor,
            k,
            items: Vec::new(),
        }
    }

    #[inline(always)]
    fn bar(&self) -> f32 {
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

    fn push(&mut self, score: f32, b: u32) {
        if self.items.len() < self.k {
            self.items.push((score, b));
            return;
        }
        let mut weakest = None;
        let mut min = f32::INFINITY;
        for (i, x) in self.items.iter().enumerate() {
            if x.0 < min {
                min = x.0;
                weakest = Some(i);
            }
        }
        if let Some(i) = weakest
            && score > min
            && let Some(slot) = self.items.get_mut(i)
        {
            *slot = (score, b);
        }
    }
}

/// Rows of B per tile: 2048 × 128 bytes = 256 KiB, well inside L2.
const TILE: usize = 2048;
/// Rows of A per parallel task.
const ROWS_PER_TASK: usize = 32;

/// Popcount of the words after the first `c` of every encoding.
fn tails(batch: &ClkBatch, c: usize) -> Vec<u32> {
    batch
        .words()
        .chunks_exact(batch.words_per())
        .map(|w| w.iter().skip(c).map(|x| x.count_ones()).sum())
        .collect()
}

/// Scans one task's rows of A against all of B for 1024-bit encodings.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scan_rows_16<const C: usize>(
    a_rows: &[[u64; 16]],
    a_pop: &[u32],
    a_tail: &[u32],
    b_rows: &[[u64; 16]],
    b_pop: &[u32],
    b_tail: &[u32],
    tops: &mut [RowTop],
) {
    let mut start = 0;
    while start < b_rows.len() {
        let end = (start + TILE).min(b_rows.len());
        let (Some(bt), Some(bp), Some(btl)) = (
            b_rows.get(start..end),
            b_pop.get(start..end),
            b_tail.get(start..end),
        ) else {
            break;
        };
        for (((a, &pa), &ta), top) in a_rows.iter().zip(a_pop).zip(a_tail).zip(tops.iter_mut()) {
            let mut bar = top.bar();
            for (j, ((b, &pb), &tb)) in bt.iter().zip(bp).zip(btl).enumerate() {
                let mut and_c = 0u32;
                for i in 0..C {
                    and_c += (a[i] & b[i]).count_ones();
                }
                let sum = (pa + pb) as f32;
                if C < 16 {
                    let bound = and_c + ta.min(tb);
                    if ((2 * bound) as f32) < bar * sum {
                        continue;
                    }
                }
                let mut and = and_c;
                for i in C..16 {
                    and += (a[i] & b[i]).count_ones();
                }
                let twice = (2 * and) as f32;
                if twice >= bar * sum {
                    let score = if sum > 0.0 { twice / sum } else { 0.0 };
                    top.push(score, (start + j) as u32);
                    bar = top.bar();
                }
            }
        }
        start = end;
    }
}

/// The portable scan for any length (no early exit).
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
            let sum = (pa + pb) as f32;
            let twice = (2 * and) as f32;
            if twice >= bar * sum {
                let score = if sum > 0.0 { twice / sum } else { 0.0 };
                top.push(score, j as u32);
                bar = top.bar();
            }
        }
    }
}

/// One task of the 1024-bit scan, as a `pulp` operation: `with_simd` is
/// inlined into a function compiled for the detected CPU level, and with it
/// every `#[inline(always)]` kernel below, so `count_ones` becomes POPCNT.
struct Scan16<'a> {
    c: usize,
    rows: &'a [[u64; 16]],
    pop: &'a [u32],
    tail: &'a [u32],
    b_rows: &'a [[u64; 16]],
    b_pop: &'a [u32],
    b_tail: &'a [u32],
    tops: &'a mut [RowTop],
}

impl pulp::WithSimd for Scan16<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self {
            c,
            rows,
            pop,
            tail,
            b_rows,
            b_pop,
            b_tail,
            tops,
        } = self;
        match c {
            6 => scan_rows_16::<6>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
            8 => scan_rows_16::<8>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
            10 => scan_rows_16::<10>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
            11 => scan_rows_16::<11>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
            12 => scan_rows_16::<12>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
            _ => scan_rows_16::<16>(rows, pop, tail, b_rows, b_pop, b_tail, tops),
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

/// Chooses the early-exit checkpoint for 1024-bit encodings by measuring,
/// on a sample of pairs, how often each candidate checkpoint already rules a
/// pair out at the given bar; the cost model is words touched per pair.
fn choose_checkpoint(a: &ClkBatch, b: &ClkBatch, bar: f64) -> usize {
    const CANDIDATES: [usize; 3] = [8, 12, 16];
    let sample_a = a.len().min(64);
    let sample_b = b.len().min(256);
    if sample_a == 0 || sample_b == 0 || bar <= 0.0 {
        return 16;
    }
    let mut best = (f64::INFINITY, 16);
    for &c in &CANDIDATES {
        let (mut words, mut pruned_count, mut pairs) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..sample_a {
            for j in 0..sample_b {
                let (Some(x), Some(y)) = (a.get(i), b.get(j)) else {
                    continue;
                };
                let and_c: u32 = x
                    .iter()
                    .zip(y)
                    .take(c)
                    .map(|(p, q)| (p & q).count_ones())
                    .sum();
                let ta: u32 = x.iter().skip(c).map(|w| w.count_ones()).sum();
                let tb: u32 = y.iter().skip(c).map(|w| w.count_ones()).sum();
                let sum = f64::from(x.iter().chain(y).map(|w| w.count_ones()).sum::<u32>());
                let pruned = c < 16 && f64::from(2 * (and_c + ta.min(tb))) < bar * sum;
                words += c as f64 + if pruned { 0.0 } else { (16 - c) as f64 };
                pruned_count += if pruned { 1.0 } else { 0.0 };
                pairs += 1.0;
            }
        }
        let mut cost = words / pairs.max(1.0);
        if c < 16 {
            // From timings of this kernel: splitting a pair costs about five
            // words (a second horizontal sum and the bound), and a branch
            // that goes either way about eight more when mispredicted.
            let p = pruned_count / pairs.max(1.0);
            cost += 5.0 + 8.0 * p.min(1.0 - p);
        }
        if cost < best.0 {
            best = (cost, c);
        }
    }
    best.1
}

/// Compares every row of `a` with every row of `b` and keeps, per row of
/// `a`, the pairs the config asks for. Both batches must have the same words
/// per encoding (otherwise nothing is compared).
pub fn scan(a: &ClkBatch, b: &ClkBatch, config: ScanConfig) -> (Vec<Candidate>, ScanStats) {
    let w = a.words_per();
    let mut stats = ScanStats {
        comparisons: 0,
        checkpoint_words: w,
        accelerated: accelerated(),
    };
    if w != b.words_per() || a.is_empty() || b.is_empty() {
        return (Vec::new(), stats);
    }
    stats.comparisons = a.len() as u64 * b.len() as u64;
    let floor = config.floor as f32;
    let k = config.top_k.max(1);
    let arch = pulp::Arch::new();
    let per_task: Vec<Vec<Candidate>> = if w == 16 {
        // With top-k the bar rises above the floor as rows fill, so the
        // sample is judged at the floor: a conservative choice.
        let c = if config.early_exit {
            choose_checkpoint(a, b, config.floor)
        } else {
            16
        };
        stats.checkpoint_words = c;
        let (a_rows, _) = a.words().as_chunks::<16>();
        let (b_rows, _) = b.words().as_chunks::<16>();
        let a_tail = tails(a, c);
        let b_tail = tails(b, c);
        a_rows
            .par_chunks(ROWS_PER_TASK)
            .zip(a.popcounts().par_chunks(ROWS_PER_TASK))
            .zip(a_tail.par_chunks(ROWS_PER_TASK))
            .enumerate()
            .map(|(task, ((rows, pop), tail))| {
                let mut tops: Vec<RowTop> = rows.iter().map(|_| RowTop::new(floor, k)).collect();
                let (bp, bt) = (b.popcounts(), b_tail.as_slice());
                arch.dispatch(Scan16 {
                    c,
                    rows,
                    pop,
                    tail,
                    b_rows,
                    b_pop: bp,
                    b_tail: bt,
                    tops: &mut tops,
                });
                collect(task * ROWS_PER_TASK, tops)
            })
            .collect()
    } else {
        a.words()
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
            .collect()
    };
    (per_task.into_iter().flatten().collect(), stats)
}

fn collect(first_row: usize, tops: Vec<RowTop>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, top) in tops.into_iter().enumerate() {
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

    #[test]
    fn early_exit_scan_equals_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = random_batch(&mut rng, 70, 16);
        // Plant near-copies so some pairs pass high floors.
        let mut words = Vec::new();
        for i in 0..90 {
            let src = a.get(i % 70).unwrap_or(&[]);
            for w in src {
                let noise = rng.r#gen::<u64>() & rng.r#gen::<u64>() & rng.r#gen::<u64>();
                words.push(if i % 3 == 0 { w ^ noise } else { rng.r#gen() });
            }
        }
        let b = ClkBatch::from_words(16, words);
        for floor in [0.0, 0.5, 0.55, 0.7, 0.8, 0.95] {
            let (mut got, stats) = scan(
                &a,
                &b,
                ScanConfig {
                    floor,
                    top_k: usize::MAX,
                    early_exit: true,
                },
            );
            assert_eq!(stats.comparisons, 70 * 90);
            got.sort_by_key(|c| (c.a, c.b));
            let pairs: Vec<(u32, u32)> = got.iter().map(|c| (c.a, c.b)).collect();
            assert_eq!(pairs, brute(&a, &b, floor), "floor {floor}");
            for c in &got {
                let exact = dice(
                    a.get(c.a as usize).unwrap_or(&[]),
                    b.get(c.b as usize).unwrap_or(&[]),
                );
                assert!((f64::from(c.score) - exact).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn top_k_keeps_the_best_per_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for words in [16, 4] {
            let a = random_batch(&mut rng, 40, words);
            let b = random_batch(&mut rng, 300, words);
            let (got, _) = scan(
                &a,
                &b,
                ScanConfig {
                    floor: 0.0,
                    top_k: 2,
                    early_exit: true,
                },
            );
            for i in 0..40u32 {
                let mut mine: Vec<f32> = got.iter().filter(|c| c.a == i).map(|c| c.score).collect();
                mine.sort_by(|x, y| y.total_cmp(x));
                let mut all: Vec<f32> = (0..300)
                    .map(|j| dice(a.get(i as usize).unwrap_or(&[]), b.get(j).unwrap_or(&[])) as f32)
                    .collect();
                all.sort_by(|x, y| y.total_cmp(x));
                assert_eq!(mine.len(), 2);
                for (m, w) in mine.iter().zip(&all) {
                    assert!((m - w).abs() < 1e-6, "row {i}: {mine:?} vs {:?}", &all[..2]);
                }
            }
        }
    }

    #[test]
    fn mismatched_lengths_compare_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a = random_batch(&mut rng, 3, 16);
        let b = random_batch(&mut rng, 3, 8);
        let (got, stats) = scan(
            &a,
            &b,
            ScanConfig {
                floor: 0.0,
                top_k: 5,
                early_exit: true,
            },
        );
        assert!(got.is_empty());
        assert_eq!(stats.comparisons, 0);
    }
}
