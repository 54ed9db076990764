//! Bit-matrix plumbing for OT extension: the AES-CTR pseudo-random generator that expands base
//! OT seeds into columns, and the transposition between columns (one per base OT) and rows
//! (one per OPRF instance).
//!
//! Matrices are `u64` words. A column matrix holds `CODE_BITS` columns of `words` words each
//! (bit `r % 64` of word `r / 64` is row `r`); a row matrix holds `words * 64` rows of
//! `CODE_WORDS` words each (bit `c % 64` of word `c / 64` is column `c`). Transposition works
//! on 64×64 blocks with the recursive block swap of Warren, "Hacker's Delight" (2nd ed., §7-3),
//! and runs blocks in parallel.

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use rayon::prelude::*;

use super::{CODE_BITS, CODE_WORDS};

/// Fills `out` with AES-128 in counter mode under `key` (counter blocks 0, 1, 2, … as
/// little-endian 128-bit integers). This is the standard PRG of OT-extension implementations.
pub(crate) fn prg_fill(key: &[u8; 16], out: &mut [u64]) {
    prg_fill_from(&Aes128::new(GenericArray::from_slice(key)), 0, out);
}

/// Fills `out` with the AES-CTR stream of `cipher` starting at counter block `first_block`.
pub(crate) fn prg_fill_from(cipher: &Aes128, first_block: u128, out: &mut [u64]) {
    // Encrypt in chunks on the stack so AES-NI pipelines several blocks without allocating.
    const CHUNK_BLOCKS: usize = 32;
    let mut blocks = [GenericArray::default(); CHUNK_BLOCKS];
    let mut counter = first_block;
    for chunk in out.chunks_mut(CHUNK_BLOCKS * 2) {
        let n = chunk.len().div_ceil(2);
        for b in blocks.iter_mut().take(n) {
            *b = GenericArray::from(counter.to_le_bytes());
            counter += 1;
        }
        cipher.encrypt_blocks(&mut blocks[..n]);
        for (i, w) in chunk.iter_mut().enumerate() {
            let block = &blocks[i / 2];
            let mut b = [0u8; 8];
            b.copy_from_slice(&block[(i % 2) * 8..(i % 2) * 8 + 8]);
            *w = u64::from_le_bytes(b);
        }
    }
}

/// Transposes a 64×64 bit matrix in place: afterwards bit `j` of `a[i]` is what bit `i` of
/// `a[j]` was.
pub(crate) fn transpose64(a: &mut [u64; 64]) {
    let mut j = 32;
    let mut m: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        let mut k = 0;
        while k < 64 {
            let t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k] ^= t << j;
            a[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        m ^= m << j;
    }
}

/// Rows (`words * 64` rows of `CODE_WORDS` words) to columns (`CODE_BITS` columns of `words`
/// words).
pub(crate) fn rows_to_cols(rows: &[u64], words: usize) -> Vec<u64> {
    debug_assert_eq!(rows.len(), words * 64 * CODE_WORDS);
    // One task per group of 64 columns: it walks the row blocks in order, so its reads are
    // sequential 64-word tiles and its writes 64 sequential streams, one per column.
    let mut cols = vec![0u64; CODE_BITS * words];
    cols.par_chunks_exact_mut(64 * words)
        .enumerate()
        .for_each(|(w, group)| {
            for rb in 0..words {
                let mut tile = [0u64; 64];
                for (r, t) in tile.iter_mut().enumerate() {
                    *t = rows[(rb * 64 + r) * CODE_WORDS + w];
                }
                transpose64(&mut tile);
                for (b, t) in tile.iter().enumerate() {
                    group[b * words + rb] = *t;
                }
            }
        });
    cols
}

/// Columns (`CODE_BITS` columns of `words` words) to rows (`words * 64` rows of `CODE_WORDS`
/// words).
pub(crate) fn cols_to_rows(cols: &[u64], words: usize) -> Vec<u64> {
    debug_assert_eq!(cols.len(), words * CODE_BITS);
    let mut rows = vec![0u64; words * 64 * CODE_WORDS];
    rows.par_chunks_exact_mut(64 * CODE_WORDS)
        .enumerate()
        .for_each(|(rb, block)| {
            for w in 0..CODE_WORDS {
                let mut tile = [0u64; 64];
                for (b, t) in tile.iter_mut().enumerate() {
                    *t = cols[(w * 64 + b) * words + rb];
                }
                transpose64(&mut tile);
                for (r, t) in tile.iter().enumerate() {
                    block[r * CODE_WORDS + w] = *t;
                }
            }
        });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn bit(words: &[u64], i: usize) -> bool {
        (words[i / 64] >> (i % 64)) & 1 == 1
    }

    #[test]
    fn transpose64_matches_naive() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut a = [0u64; 64];
        rng.fill(&mut a[..]);
        let orig = a;
        transpose64(&mut a);
        for (i, row) in a.iter().enumerate() {
            for (j, orig_row) in orig.iter().enumerate() {
                assert_eq!((row >> j) & 1, (orig_row >> i) & 1, "({i},{j})");
            }
        }
    }

    #[test]
    fn rows_and_cols_round_trip_and_agree_bitwise() {
        let words = 3;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut rows = vec![0u64; words * 64 * CODE_WORDS];
        rng.fill(&mut rows[..]);
        let cols = rows_to_cols(&rows, words);
        for r in 0..words * 64 {
            for c in (0..CODE_BITS).step_by(7) {
                assert_eq!(
                    bit(&rows[r * CODE_WORDS..(r + 1) * CODE_WORDS], c),
                    bit(&cols[c * words..(c + 1) * words], r)
                );
            }
        }
        assert_eq!(cols_to_rows(&cols, words), rows);
    }

    /// Known answer: AES-128 of the all-zero block under the all-zero key is
    /// `66e94bd4ef8a2c3b884cfa59ca342b2e` (FIPS-197 / NIST AESAVS GFSbox-style vector; counter 0
    /// is the zero block).
    #[test]
    fn prg_is_aes_ctr() {
        let mut out = [0u64; 3];
        prg_fill(&[0u8; 16], &mut out);
        let first: Vec<u8> = out[..2].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(
            first,
            [
                0x66, 0xe9, 0x4b, 0xd4, 0xef, 0x8a, 0x2c, 0x3b, 0x88, 0x4c, 0xfa, 0x59, 0xca, 0x34,
                0x2b, 0x2e
            ]
        );
        let mut longer = [0u64; 1000];
        prg_fill(&[7u8; 16], &mut longer);
        let mut shorter = [0u64; 999];
        prg_fill(&[7u8; 16], &mut shorter);
        assert_eq!(&longer[..999], &shorter[..]);
        assert_ne!(longer[0], out[0]);
    }
}
