//! The bit-sliced exhaustive scan: every encoding of one batch against 256
//! encodings of the other at once.
//!
//! Comparing pair by pair costs one AND and one popcount per 64 bits, and
//! then a horizontal sum per pair; on CPUs without a vector popcount
//! (AVX-512 VPOPCNTDQ) that caps a core at roughly one 1024-bit pair per 16
//! cycles. Here the second batch is stored transposed instead: it is cut into
//! blocks of [`LANES`] encodings, and each block holds, for every bit
//! position `p`, one 256-bit *column* whose lane `l` is bit `p` of the block's
//! encoding `l`. The AND count of a query `A` with all 256 encodings of a
//! block is then the lane-wise sum of the columns at `A`'s set positions,
//! which a Harley–Seal carry-save adder tree computes with plain AND, OR and
//! XOR on whole columns: about five bitwise operations per set bit of `A`
//! for 256 pairs, with no popcount and no per-pair horizontal sum.
//!
//! Two refinements keep it exact and short:
//!
//! * A query with more than half its bits set sums its *zero* positions
//!   instead, since `|A ∧ B| = |B| − |¬A ∧ B|`: no query costs more than half
//!   the encoding length.
//! * The second batch is sorted by popcount before it is cut into blocks, so
//!   a block's popcounts lie in a narrow range. That gives each block one
//!   conservative integer bar (the smallest AND count any of its pairs would
//!   need) which is compared against the 256 sums in bit-sliced form; only
//!   lanes that reach it are read out and decided exactly, with the same
//!   arithmetic as the pair-by-pair kernel. A block whose whole popcount
//!   range cannot reach the bar (Dice ≤ 2·min(|A|,|B|) / (|A|+|B|)) is
//!   skipped.
//!
//! Nothing here is approximate: every pair is decided exactly, and the tests
//! check the result against the pair-by-pair definition.
//!
//! This file is long because the kernel, its bounds and the exactness tests
//! against the pair-by-pair definition belong together: a change to one is
//! checked by the others in the same place.

use rayon::prelude::*;

use crate::encoding::ClkBatch;
use crate::similarity::{Candidate, RowTop, collect, score_reaching};

/// Encodings per block: one bit of each per 256-bit column.
pub(crate) const LANES: usize = 256;

/// One bit position of a block: bit `l` of word `l / 64` is bit `p` of the
/// block's encoding `l`.
/// Aligned to its size so that no load of a column straddles two cache
/// lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct Column([u64; 4]);

impl std::ops::Index<usize> for Column {
    type Output = u64;
    #[inline(always)]
    fn index(&self, i: usize) -> &u64 {
        &self.0[i]
    }
}

impl std::ops::IndexMut<usize> for Column {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.0[i]
    }
}

const ZERO: Column = Column([0; 4]);
const ALL: Column = Column([u64::MAX; 4]);

/// Bit planes of a lane-wise count: plane `i` holds bit `i` of every lane's
/// count. Twelve planes count up to 4095, enough for half of 4096 bits plus
/// padding.
const PLANES: usize = 12;

/// Longest encoding the sliced scan takes, in bits (positions must fit the
/// planes above and a `u16`).
pub(crate) const MAX_BITS: usize = 4096;

/// Rows of the first batch per parallel task: their position lists (about
/// 1 KiB each for 1024-bit encodings) and one block (32 KiB) stay in L2.
const ROWS_PER_TASK: usize = 128;

/// The second batch, sorted by popcount and transposed into blocks.
pub(crate) struct SlicedBatch {
    bits: usize,
    /// `blocks × bits` columns.
    columns: Vec<Column>,
    blocks: Vec<Block>,
    /// Popcount of each lane, block after block (0 for padding lanes).
    pop: Vec<u32>,
    /// The original index of each lane's encoding.
    order: Vec<u32>,
}

/// What the scan needs to know about one block without reading it.
struct Block {
    min_pop: u32,
    max_pop: u32,
    /// Lanes that hold an encoding (the last block may be partly empty).
    valid: Column,
}

/// Transposes a 64 × 64 bit matrix in place: bit `c` of row `r` becomes bit
/// `r` of row `c`. The recursive block swap of Warren's *Hacker's Delight*
/// (§7-3): 6 rounds of 32 masked swaps instead of 4096 single-bit moves.
fn transpose64(m: &mut [u64; 64]) {
    let mut j = 32usize;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        let mut k = 0usize;
        while k < 64 {
            // Swap bit c + j of row k with bit c of row k + j, for every c
            // in the lower half of each 2j-bit group.
            let t = ((m[k] >> j) ^ m[k + j]) & mask;
            m[k] ^= t << j;
            m[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        mask ^= mask << j;
    }
}

impl SlicedBatch {
    /// Sorts `b` by popcount and transposes it into blocks. `b` must have at
    /// most [`MAX_BITS`] bits per encoding.
    pub(crate) fn new(b: &ClkBatch) -> Self {
        let w = b.words_per();
        let bits = 64 * w;
        let n = b.len();
        let pops = b.popcounts();
        // By popcount, then by content: equal encodings (duplicates are
        // common) land in the same block, where they keep one block alive
        // past the checkpoint instead of several.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&x, &y| {
            let key = |j: u32| {
                (
                    pops.get(j as usize).copied().unwrap_or(0),
                    b.get(j as usize),
                )
            };
            key(x).cmp(&key(y)).then(x.cmp(&y))
        });
        let n_blocks = n.div_ceil(LANES);
        let stride = bits;
        let mut columns = vec![ZERO; n_blocks * stride];
        let words = b.words();
        columns
            .par_chunks_mut(stride)
            .enumerate()
            .for_each(|(block, cols)| {
                let mut m = [0u64; 64];
                for group in 0..LANES / 64 {
                    for word in 0..w {
                        for (l, row) in m.iter_mut().enumerate() {
                            let lane = block * LANES + group * 64 + l;
                            *row = order
                                .get(lane)
                                .and_then(|&j| words.get(j as usize * w + word))
                                .copied()
                                .unwrap_or(0);
                        }
                        transpose64(&mut m);
                        for (bit, &lanes) in m.iter().enumerate() {
                            if let Some(col) = cols.get_mut(word * 64 + bit) {
                                col[group] = lanes;
                            }
                        }
                    }
                }
            });
        let mut pop = vec![0u32; n_blocks * LANES];
        for (slot, &j) in pop.iter_mut().zip(&order) {
            *slot = pops.get(j as usize).copied().unwrap_or(0);
        }
        let blocks = (0..n_blocks)
            .map(|block| {
                let lanes = (n - block * LANES).min(LANES);
                let mut valid = ZERO;
                for l in 0..lanes {
                    valid[l / 64] |= 1 << (l % 64);
                }
                let p = pop.get(block * LANES..block * LANES + lanes).unwrap_or(&[]);
                Block {
                    min_pop: p.iter().copied().min().unwrap_or(0),
                    max_pop: p.iter().copied().max().unwrap_or(0),
                    valid,
                }
            })
            .collect();
        Self {
            bits,
            columns,
            blocks,
            pop,
            order,
        }
    }
}

/// The bit before which a scan checks whether any pair of a block can
/// still reach the bar: three quarters of the way, for encodings of 1024
/// bits or more. For random half-set encodings at a bar of 0.7 the bound
/// there rules out all but a fraction of a percent of blocks (`bench
/// pprl` counts them); a quarter earlier it rules out almost none.
fn checkpoint_bit(bits: usize) -> Option<usize> {
    (bits >= 1024).then_some(bits * 3 / 4 / 64 * 64)
}

/// Columns a round's window spans: offsets within it fit a `u8`, so a
/// window (`&[Column; 256]`, one bounds check per round) is indexed with
/// neither a check nor a mask per column, which keeps the column loads of
/// the hot loop plain.
const WINDOW: usize = 256;

/// 32 positions of a query that lie within one window.
struct Round {
    start: u16,
    offsets: [u8; ROUND],
}

/// The positions of one side of the checkpoint: whole rounds that fit a
/// window, and the rest (a last partial round, rounds spread wider than a
/// window) as plain positions.
#[derive(Default)]
struct Part {
    rounds: Vec<Round>,
    rest: Vec<u16>,
}

impl Part {
    fn new(positions: &[u16], bits: usize) -> Self {
        let mut part = Part::default();
        let (chunks, tail) = positions.as_chunks::<ROUND>();
        for chunk in chunks {
            let (first, last) = (usize::from(chunk[0]), usize::from(chunk[ROUND - 1]));
            if last - first < WINDOW && bits >= WINDOW {
                let start = first.min(bits - WINDOW);
                part.rounds.push(Round {
                    start: start as u16,
                    offsets: chunk.map(|p| (usize::from(p) - start) as u8),
                });
            } else {
                part.rest.extend_from_slice(chunk);
            }
        }
        part.rest.extend_from_slice(tail);
        part
    }
}

/// A row of the first batch, as the positions whose columns are summed.
struct Query {
    /// Positions before the checkpoint (all of them without one), then
    /// after it. The positions are the row's set bits, or its zero bits
    /// when `complement`; the checkpoint is at a whole round.
    parts: [Part; 2],
    complement: bool,
    pop: u32,
    /// Summed positions after the checkpoint.
    suffix_positions: u32,
}

/// The positions a row sums, ascending: its set bits, or its zero bits
/// when more than half are set (`complement`).
struct Summed {
    positions: Vec<u16>,
    complement: bool,
    pop: u32,
}

fn summed_positions(row: &[u64], bits: usize) -> Summed {
    let pop: u32 = row.iter().map(|w| w.count_ones()).sum();
    let complement = pop as usize * 2 > bits;
    let mut positions = Vec::with_capacity(bits / 2);
    for (i, &word) in row.iter().enumerate() {
        let mut rest = if complement { !word } else { word };
        while rest != 0 {
            positions.push((i * 64 + rest.trailing_zeros() as usize) as u16);
            rest &= rest - 1;
        }
    }
    Summed {
        positions,
        complement,
        pop,
    }
}

impl Query {
    #[cfg(test)]
    fn new(row: &[u64], bits: usize) -> Self {
        let s = summed_positions(row, bits);
        Self::from_positions(&s.positions, bits, s.complement, s.pop)
    }

    /// A query summing `positions` (ascending), which may be fewer than the
    /// row's own when a group sums the rest once for all its members.
    fn from_positions(positions: &[u16], bits: usize, complement: bool, pop: u32) -> Self {
        // The checkpoint falls after the first whole round that reaches
        // its bit, so the positions before it make whole rounds and none
        // has to be copied out and padded there.
        let split = checkpoint_bit(bits).map_or(positions.len(), |bit| {
            let before = positions.partition_point(|&p| usize::from(p) < bit);
            (before.div_ceil(ROUND) * ROUND).min(positions.len())
        });
        let (before, after) = positions.split_at(split);
        Self {
            parts: [Part::new(before, bits), Part::new(after, bits)],
            complement,
            pop,
            suffix_positions: after.len() as u32,
        }
    }
}

/// Rows scanned together. Two random half-set encodings share about half
/// their positions, so a pair of rows that sum the same kind of positions
/// (both set bits, or both zero bits) sums the shared ones before the
/// checkpoint once and goes on from a copy of that count each: about a
/// quarter fewer columns per row.
struct Group {
    /// Whole windowed rounds of positions every member sums, all before
    /// the checkpoint.
    shared: Vec<Round>,
    /// Each member's row within the task, and its query over the positions
    /// not shared.
    members: Vec<(usize, Query)>,
}

impl Group {
    /// Groups a task's rows: rows of the same kind in pairs, in row order;
    /// a row left over alone.
    fn pairs(rows: &[u64], words: usize, bits: usize) -> Vec<Group> {
        let summed: Vec<Summed> = rows
            .chunks_exact(words)
            .map(|row| summed_positions(row, bits))
            .collect();
        let limit = checkpoint_bit(bits).unwrap_or(bits);
        let mut groups = Vec::with_capacity(summed.len() / 2 + 2);
        for kind in [false, true] {
            let rows: Vec<usize> = (0..summed.len())
                .filter(|&i| summed.get(i).is_some_and(|s| s.complement == kind))
                .collect();
            for pair in rows.chunks(2) {
                let members: Vec<(usize, &Summed)> = pair
                    .iter()
                    .filter_map(|&i| summed.get(i).map(|s| (i, s)))
                    .collect();
                let shared = match members.as_slice() {
                    [(_, x), (_, y)] => {
                        let common = intersect(&x.positions, &y.positions, limit);
                        Part::new(&common, bits).rounds
                    }
                    _ => Vec::new(),
                };
                let taken: Vec<u16> = shared
                    .iter()
                    .flat_map(|r| r.offsets.map(|o| r.start + u16::from(o)))
                    .collect();
                let members = members
                    .into_iter()
                    .map(|(i, s)| {
                        let own = difference(&s.positions, &taken);
                        (i, Query::from_positions(&own, bits, s.complement, s.pop))
                    })
                    .collect();
                groups.push(Group { shared, members });
            }
        }
        groups
    }
}

/// The positions in both ascending lists and below `limit`, ascending.
fn intersect(x: &[u16], y: &[u16], limit: usize) -> Vec<u16> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(&a), Some(&b)) = (x.get(i), y.get(j)) {
        if usize::from(a) >= limit || usize::from(b) >= limit {
            break;
        }
        match a.cmp(&b) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The positions of ascending `x` not in ascending `taken`.
fn difference(x: &[u16], taken: &[u16]) -> Vec<u16> {
    let mut t = taken.iter().peekable();
    x.iter()
        .copied()
        .filter(|&p| {
            while t.next_if(|&&q| q < p).is_some() {}
            t.peek() != Some(&&p)
        })
        .collect()
}

/// Bitwise operations on whole columns. The AVX2 implementation issues
/// one 256-bit instruction per operation; written against `[u64; 4]`
/// alone, the compiler vectorises the adder tree only while it stays
/// simple, so the instructions are spelled out.
trait Ops: Copy {
    fn and(self, a: Column, b: Column) -> Column;
    fn or(self, a: Column, b: Column) -> Column;
    fn xor(self, a: Column, b: Column) -> Column;
    fn not(self, a: Column) -> Column;
}

/// Plain `u64` arithmetic, for CPUs without AVX2.
#[derive(Clone, Copy)]
struct Portable;

impl Ops for Portable {
    #[inline(always)]
    fn and(self, a: Column, b: Column) -> Column {
        Column([a[0] & b[0], a[1] & b[1], a[2] & b[2], a[3] & b[3]])
    }
    #[inline(always)]
    fn or(self, a: Column, b: Column) -> Column {
        Column([a[0] | b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]])
    }
    #[inline(always)]
    fn xor(self, a: Column, b: Column) -> Column {
        Column([a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]])
    }
    #[inline(always)]
    fn not(self, a: Column) -> Column {
        Column([!a[0], !a[1], !a[2], !a[3]])
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Column, Ops};
    use pulp::bytemuck::cast;
    use pulp::u64x4;
    use pulp::x86::V3;

    #[inline(always)]
    fn v(c: Column) -> u64x4 {
        cast(c.0)
    }

    #[inline(always)]
    fn c(v: u64x4) -> Column {
        Column(cast(v))
    }

    impl Ops for V3 {
        #[inline(always)]
        fn and(self, a: Column, b: Column) -> Column {
            c(self.and_u64x4(v(a), v(b)))
        }
        #[inline(always)]
        fn or(self, a: Column, b: Column) -> Column {
            c(self.or_u64x4(v(a), v(b)))
        }
        #[inline(always)]
        fn xor(self, a: Column, b: Column) -> Column {
            c(self.xor_u64x4(v(a), v(b)))
        }
        #[inline(always)]
        fn not(self, a: Column) -> Column {
            c(self.not_u64x4(v(a)))
        }
    }
}

/// Carry-save adder: the lane-wise sum of three bits as (carry, sum).
#[inline(always)]
fn csa<O: Ops>(o: O, a: Column, b: Column, c: Column) -> (Column, Column) {
    let u = o.xor(a, b);
    (o.or(o.and(a, b), o.and(u, c)), o.xor(u, c))
}

/// Columns summed per round of the adder tree.
const ROUND: usize = 32;

/// The running sums of the adder tree: one bit plane each of weight 1, 2,
/// 4, 8 and 16.
#[derive(Clone, Copy)]
struct Sums {
    ones: Column,
    twos: Column,
    fours: Column,
    eights: Column,
    sixteens: Column,
}

/// Adds eight columns into `ones` and `twos` and returns two columns of fours.
#[inline(always)]
fn add_eight<O: Ops>(
    o: O,
    s: &mut Sums,
    col: &impl Fn(usize) -> Column,
    base: usize,
) -> (Column, Column) {
    let (twos_a, ones) = csa(o, s.ones, col(base), col(base + 1));
    let (twos_b, ones) = csa(o, ones, col(base + 2), col(base + 3));
    let (fours_a, twos) = csa(o, s.twos, twos_a, twos_b);
    let (twos_a, ones) = csa(o, ones, col(base + 4), col(base + 5));
    let (twos_b, ones) = csa(o, ones, col(base + 6), col(base + 7));
    let (fours_b, twos) = csa(o, twos, twos_a, twos_b);
    s.ones = ones;
    s.twos = twos;
    (fours_a, fours_b)
}

/// Adds sixteen columns into the sums below sixteen and returns the column
/// of sixteens.
#[inline(always)]
fn add_sixteen<O: Ops>(o: O, s: &mut Sums, col: &impl Fn(usize) -> Column, base: usize) -> Column {
    let (a, b) = add_eight(o, s, col, base);
    let (eights_a, fours) = csa(o, s.fours, a, b);
    let (a, b) = add_eight(o, s, col, base + 8);
    let (eights_b, fours) = csa(o, fours, a, b);
    s.fours = fours;
    let (sixteens, eights) = csa(o, s.eights, eights_a, eights_b);
    s.eights = eights;
    sixteens
}

/// One Harley–Seal round: adds the 32 columns `col(0..32)` into the running
/// sums with 31 carry-save adders and returns the column of thirty-twos.
#[inline(always)]
fn add_round<O: Ops>(o: O, s: &mut Sums, col: impl Fn(usize) -> Column) -> Column {
    let sixteens_a = add_sixteen(o, s, &col, 0);
    let sixteens_b = add_sixteen(o, s, &col, 16);
    let (carry, sixteens) = csa(o, s.sixteens, sixteens_a, sixteens_b);
    s.sixteens = sixteens;
    carry
}

/// A lane-wise count under way: the adder tree's running sums and the
/// planes of weight 32 and up, into which every round's thirty-twos ripple.
#[derive(Clone)]
struct Counter {
    sums: Sums,
    high: [Column; PLANES - 5],
}

impl Counter {
    fn new() -> Self {
        Self {
            sums: Sums {
                ones: ZERO,
                twos: ZERO,
                fours: ZERO,
                eights: ZERO,
                sixteens: ZERO,
            },
            high: [ZERO; PLANES - 5],
        }
    }

    #[inline(always)]
    fn round<O: Ops>(&mut self, o: O, col: impl Fn(usize) -> Column) {
        let mut carry = add_round(o, &mut self.sums, col);
        for plane in self.high.iter_mut() {
            let next = o.and(*plane, carry);
            *plane = o.xor(*plane, carry);
            carry = next;
        }
    }

    fn planes(&self) -> [Column; PLANES] {
        let s = &self.sums;
        let mut planes = [ZERO; PLANES];
        planes[0] = s.ones;
        planes[1] = s.twos;
        planes[2] = s.fours;
        planes[3] = s.eights;
        planes[4] = s.sixteens;
        for (dst, &src) in planes.iter_mut().skip(5).zip(&self.high) {
            *dst = src;
        }
        planes
    }
}

/// Room to copy the columns of a query's positions that are not in
/// windowed rounds, so they are summed in rounds of their own. One per
/// task, as long as a whole query can be, so it is allocated and zeroed
/// once, not once per query.
struct Leftovers(Vec<Column>);

impl Leftovers {
    fn new(bits: usize) -> Self {
        Self(vec![ZERO; (bits / 2).div_ceil(ROUND) * ROUND])
    }
}

/// Adds windowed rounds of columns.
#[inline(always)]
fn add_rounds<O: Ops>(o: O, cols: &[Column], rounds: &[Round], counter: &mut Counter) {
    for r in rounds {
        let start = usize::from(r.start);
        if let Some(window) = cols
            .get(start..start + WINDOW)
            .and_then(|w| <&[Column; WINDOW]>::try_from(w).ok())
        {
            counter.round(o, |i| window[usize::from(r.offsets[i])]);
        }
    }
}

/// Adds the columns of one part of a query: its windowed rounds straight
/// through the adder tree, the rest copied out and summed in rounds padded
/// with zero columns.
#[inline(always)]
fn add_part<O: Ops>(
    o: O,
    cols: &[Column],
    part: &Part,
    stage: &mut [Column],
    counter: &mut Counter,
) {
    add_rounds(o, cols, &part.rounds, counter);
    let staged = part.rest.len().min(stage.len());
    for (slot, &p) in stage.iter_mut().zip(&part.rest) {
        *slot = cols.get(usize::from(p)).copied().unwrap_or(ZERO);
    }
    let padded = staged.div_ceil(ROUND) * ROUND;
    for slot in stage.iter_mut().take(padded).skip(staged) {
        *slot = ZERO;
    }
    let (rounds, _) = stage.get(..padded).unwrap_or(&[]).as_chunks::<ROUND>();
    for r in rounds {
        counter.round(o, |i| r[i]);
    }
}

/// The lane-wise count of set bits among the block's columns at the
/// query's positions, added to `start`, as bit planes. Between the two parts (at the
/// checkpoint) `alive` decides from the count so far whether any lane can
/// still reach the bar; if none can, the rest is skipped and the result is
/// `None`.
#[inline(always)]
fn block_planes<O: Ops>(
    o: O,
    cols: &[Column],
    q: &Query,
    start: Counter,
    leftovers: &mut Leftovers,
    alive: impl Fn(&[Column; PLANES]) -> bool,
) -> Option<[Column; PLANES]> {
    let mut counter = start;
    let [before, after] = &q.parts;
    add_part(o, cols, before, &mut leftovers.0, &mut counter);
    if !(after.rounds.is_empty() && after.rest.is_empty()) {
        if !alive(&counter.planes()) {
            return None;
        }
        add_part(o, cols, after, &mut leftovers.0, &mut counter);
    }
    Some(counter.planes())
}

/// Lanes whose count is at most `most`.
#[inline(always)]
fn at_most<O: Ops>(o: O, planes: &[Column; PLANES], most: u32) -> Column {
    o.not(at_least(o, planes, most.saturating_add(1)))
}

/// Lanes whose count (as bit planes) is at least `bar`.
#[inline(always)]
fn at_least<O: Ops>(o: O, planes: &[Column; PLANES], bar: u32) -> Column {
    if bar == 0 {
        return ALL;
    }
    if bar >= 1 << PLANES {
        return ZERO;
    }
    // From the top bit down: lanes already greater, and lanes equal so far.
    let (mut greater, mut equal) = (ZERO, ALL);
    for (i, &plane) in planes.iter().enumerate().rev() {
        if bar >> i & 1 == 1 {
            equal = o.and(equal, plane);
        } else {
            greater = o.or(greater, o.and(equal, plane));
            equal = o.and(equal, o.not(plane));
        }
    }
    o.or(greater, equal)
}

/// One lane's count, read back from the planes.
#[inline(always)]
fn lane_count(planes: &[Column; PLANES], lane: usize) -> u32 {
    let (word, bit) = (lane / 64, lane % 64);
    planes
        .iter()
        .enumerate()
        .map(|(i, p)| ((p[word] >> bit & 1) as u32) << i)
        .sum()
}

/// Whether no pair of `pa` with a popcount in `lo..=hi` can reach `bar`:
/// Dice ≤ 2·min(|A|,|B|)/(|A|+|B|), which peaks at |B| = |A|. A relative
/// margin keeps blocks at the edge in, whatever the float rounding.
#[inline(always)]
fn out_of_reach(pa: u32, lo: u32, hi: u32, bar: f32) -> bool {
    let pb = pa.clamp(lo, hi);
    let sum = f64::from(pa + pb);
    sum > 0.0 && 2.0 * f64::from(pa.min(pb)) < f64::from(bar) * sum * (1.0 - 1e-6)
}

/// Scans one task's rows of the first batch against every block.
#[inline(always)]
fn scan_rows<O: Ops>(o: O, sliced: &SlicedBatch, groups: &[Group], tops: &mut [RowTop]) {
    let mut leftovers = Leftovers::new(sliced.bits);
    let stride = sliced.bits;
    for (block_no, (block, cols)) in sliced
        .blocks
        .iter()
        .zip(sliced.columns.chunks_exact(stride))
        .enumerate()
    {
        let pops = sliced
            .pop
            .get(block_no * LANES..(block_no + 1) * LANES)
            .unwrap_or(&[]);
        for group in groups {
            let reachable = group.members.iter().any(|(row, q)| {
                tops.get(*row).is_some_and(|top| {
                    !out_of_reach(q.pop, block.min_pop, block.max_pop, top.bar())
                })
            });
            if !reachable {
                continue;
            }
            let mut shared = Counter::new();
            add_rounds(o, cols, &group.shared, &mut shared);
            for (row, q) in &group.members {
                let Some(top) = tops.get_mut(*row) else {
                    continue;
                };
                let mut bar = top.bar();
                if out_of_reach(q.pop, block.min_pop, block.max_pop, bar) {
                    continue;
                }
                // The smallest AND count any pair of this block could pass
                // with, one below the rounded value so float rounding never
                // excludes a pair the exact check would keep.
                let need = ((f64::from(bar) * f64::from(q.pop + block.min_pop) / 2.0).floor()
                    as u32)
                    .saturating_sub(1);
                // Whether any lane can still reach `need` given the count
                // `x` over the positions before the checkpoint: summing set
                // bits, |A ∧ B| ≤ x + (set bits of A after it); summing zero
                // bits, |A ∧ B| ≤ |B| − x, with |B| at most the block's
                // largest.
                let alive = |x: &[Column; PLANES]| {
                    let lanes = if q.complement {
                        match block.max_pop.checked_sub(need) {
                            Some(most) => at_most(o, x, most),
                            None => ZERO,
                        }
                    } else {
                        at_least(o, x, need.saturating_sub(q.suffix_positions))
                    };
                    o.and(lanes, block.valid) != ZERO
                };
                let Some(planes) = block_planes(o, cols, q, shared.clone(), &mut leftovers, alive)
                else {
                    continue;
                };
                let mask = if q.complement {
                    // |A ∧ B| = |B| − |¬A ∧ B| ≥ need ⇔ |¬A ∧ B| ≤ |B| − need.
                    match block.max_pop.checked_sub(need) {
                        Some(most) => at_most(o, &planes, most),
                        None => ZERO,
                    }
                } else {
                    at_least(o, &planes, need)
                };
                let mask = o.and(mask, block.valid);
                for (word, &bits) in mask.0.iter().enumerate() {
                    let mut rest = bits;
                    while rest != 0 {
                        let lane = word * 64 + rest.trailing_zeros() as usize;
                        rest &= rest - 1;
                        let pb = pops.get(lane).copied().unwrap_or(0);
                        let count = lane_count(&planes, lane);
                        let and_count = if q.complement {
                            pb.saturating_sub(count)
                        } else {
                            count
                        };
                        if let Some(score) = score_reaching(and_count, q.pop + pb, bar) {
                            let original = sliced
                                .order
                                .get(block_no * LANES + lane)
                                .copied()
                                .unwrap_or(u32::MAX);
                            top.push(score, original);
                            bar = top.bar();
                        }
                    }
                }
            }
        }
    }
}

/// One task, run inside a function compiled for AVX2 when the CPU has it.
struct Task<'a, O> {
    ops: O,
    sliced: &'a SlicedBatch,
    groups: &'a [Group],
    tops: &'a mut [RowTop],
}

impl<O: Ops> pulp::NullaryFnOnce for Task<'_, O> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        scan_rows(self.ops, self.sliced, self.groups, self.tops);
    }
}

/// Runs one task with the best column arithmetic this CPU has.
fn run_task(sliced: &SlicedBatch, groups: &[Group], tops: &mut [RowTop]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = pulp::x86::V3::try_new() {
        v3.vectorize(Task {
            ops: v3,
            sliced,
            groups,
            tops,
        });
        return;
    }
    pulp::NullaryFnOnce::call(Task {
        ops: Portable,
        sliced,
        groups,
        tops,
    });
}

/// Compares every row of `a` with every encoding in `sliced` and keeps, per
/// row, what a [`RowTop`] of `floor` and `k` keeps.
pub(crate) fn scan(a: &ClkBatch, sliced: &SlicedBatch, floor: f32, k: usize) -> Vec<Candidate> {
    let w = a.words_per();
    let per_task: Vec<Vec<Candidate>> = a
        .words()
        .par_chunks(ROWS_PER_TASK * w)
        .enumerate()
        .map(|(task, rows)| {
            let groups = Group::pairs(rows, w, sliced.bits);
            let mut tops: Vec<RowTop> = (0..rows.len() / w.max(1))
                .map(|_| RowTop::new(floor, k))
                .collect();
            run_task(sliced, &groups, &mut tops);
            collect(task * ROWS_PER_TASK, tops)
        })
        .collect();
    per_task.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn transpose_matches_the_bit_by_bit_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let m: [u64; 64] = std::array::from_fn(|_| rng.r#gen());
        let mut t = m;
        transpose64(&mut t);
        for (r, row) in m.iter().enumerate() {
            for (c, column) in t.iter().enumerate() {
                assert_eq!(row >> c & 1, column >> r & 1, "row {r} col {c}");
            }
        }
    }

    /// Checks the planes against counting each lane bit by bit, and the
    /// bit-sliced comparison against plain integers.
    fn check(planes: &[Column; PLANES], cols: &[Column], chosen: &[u16]) {
        for lane in 0..LANES {
            let want = chosen
                .iter()
                .filter(|&&p| cols[p as usize][lane / 64] >> (lane % 64) & 1 == 1)
                .count() as u32;
            assert_eq!(lane_count(planes, lane), want, "lane {lane}");
            for bar in [0, 1, want.saturating_sub(1), want, want + 1, 4095, 4096] {
                let hit = at_least(Portable, planes, bar)[lane / 64] >> (lane % 64) & 1 == 1;
                assert_eq!(hit, want >= bar, "lane {lane} bar {bar}");
            }
        }
    }

    /// A block's planes for a query with the portable arithmetic, checked
    /// against the AVX2 arithmetic where the CPU has it.
    fn planes_both(cols: &[Column], q: &Query, leftovers: &mut Leftovers) -> [Column; PLANES] {
        let planes = block_planes(Portable, cols, q, Counter::new(), leftovers, |_| true)
            .unwrap_or([ALL; PLANES]);
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            assert_eq!(
                block_planes(v3, cols, q, Counter::new(), leftovers, |_| true),
                Some(planes)
            );
        }
        planes
    }

    /// The positions a query sums: its set bits, or its zero bits.
    fn summed(q: &Query, row: &[u64]) -> Vec<u16> {
        (0..row.len() * 64)
            .filter(|&p| (row[p / 64] >> (p % 64) & 1 == 1) != q.complement)
            .map(|p| p as u16)
            .collect()
    }

    fn random_row(rng: &mut ChaCha8Rng, words: usize, density: f64) -> Vec<u64> {
        (0..words)
            .map(|_| (0..64).fold(0u64, |acc, b| acc | u64::from(rng.gen_bool(density)) << b))
            .collect()
    }

    #[test]
    fn planes_count_every_lane() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        // Long and short encodings, one shorter than a window (192 bits);
        // sparse rows (rounds wider than a window), half and dense rows
        // (dense ones sum their zero positions).
        for words in [16, 8, 3, 5] {
            let bits = words * 64;
            let mut leftovers = Leftovers::new(bits);
            let cols: Vec<Column> = (0..bits)
                .map(|_| Column(std::array::from_fn(|_| rng.r#gen())))
                .collect();
            for density in [0.02, 0.3, 0.5, 0.8, 0.99] {
                let row = random_row(&mut rng, words, density);
                let q = Query::new(&row, bits);
                if density != 0.5 {
                    assert_eq!(q.complement, density > 0.5, "{density}");
                }
                let planes = planes_both(&cols, &q, &mut leftovers);
                check(&planes, &cols, &summed(&q, &row));
            }
        }
        // Every length of a partial round, before and across the checkpoint.
        let mut leftovers = Leftovers::new(1024);
        let cols: Vec<Column> = (0..1024)
            .map(|_| Column(std::array::from_fn(|_| rng.r#gen())))
            .collect();
        for len in 0..70 {
            for first in [0usize, 230, 740] {
                let mut row = vec![0u64; 16];
                for p in first..first + len {
                    row[p / 64] |= 1 << (p % 64);
                }
                let q = Query::new(&row, 1024);
                let planes = planes_both(&cols, &q, &mut leftovers);
                check(&planes, &cols, &summed(&q, &row));
            }
        }
    }

    #[test]
    fn an_all_set_and_an_empty_row_sum_nothing_or_everything_right() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let cols: Vec<Column> = (0..1024)
            .map(|_| Column(std::array::from_fn(|_| rng.r#gen())))
            .collect();
        let mut leftovers = Leftovers::new(1024);
        for row in [vec![0u64; 16], vec![u64::MAX; 16]] {
            let q = Query::new(&row, 1024);
            assert!(
                q.parts
                    .iter()
                    .all(|p| p.rounds.is_empty() && p.rest.is_empty())
            );
            let planes = planes_both(&cols, &q, &mut leftovers);
            assert!(planes.iter().all(|p| *p == ZERO));
        }
    }

    #[test]
    fn a_group_sums_each_position_of_each_member_exactly_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        // Rows of both kinds (dense rows sum their zero bits) and an odd
        // number of each, so some rows are left alone.
        let mut rows = Vec::new();
        for density in [0.3, 0.5, 0.7, 0.4, 0.8] {
            rows.extend(random_row(&mut rng, 16, density));
        }
        let groups = Group::pairs(&rows, 16, 1024);
        let mut seen = Vec::new();
        for g in &groups {
            assert!(g.members.len() == 1 || g.members.len() == 2);
            if g.members.len() == 1 {
                assert!(g.shared.is_empty());
            }
            let shared: Vec<u16> = g
                .shared
                .iter()
                .flat_map(|r| r.offsets.map(|o| r.start + u16::from(o)))
                .collect();
            for (row, q) in &g.members {
                let original = summed_positions(&rows[row * 16..(row + 1) * 16], 1024);
                assert_eq!(q.complement, original.complement);
                let mut own: Vec<u16> = shared.clone();
                for part in &q.parts {
                    own.extend(
                        part.rounds
                            .iter()
                            .flat_map(|r| r.offsets.map(|o| r.start + u16::from(o))),
                    );
                    own.extend(&part.rest);
                }
                own.sort_unstable();
                assert_eq!(own, original.positions, "row {row}");
                seen.push(*row);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert!(
            groups.iter().any(|g| g.shared.len() >= 2),
            "pairs share rounds"
        );
        assert_eq!(intersect(&[1, 3, 5, 9], &[3, 4, 5, 9], 9), vec![3, 5]);
        assert_eq!(difference(&[1, 3, 5, 9], &[3, 9]), vec![1, 5]);
    }
}
