//! Bit-matrix plumbing for OT extension: the AES-CTR pseudo-random generator that expands base
//! OT seeds into columns, and the transposition between columns (one per base OT) and rows
//! (one per OPRF instance, i.e. per bin).
//!
//! The matrices are processed one *row block* of 64 bins at a time: a block holds 64 rows of
//! `CODE_WORDS` words (bit `c % 64` of word `c / 64` is column `c`), or equivalently
//! `CODE_BITS` column words (bit `r` is row `r` of the block). Counter-mode AES can produce any
//! word of a column directly, so each block is generated, transposed and used while it is in
//! cache, and no full column matrix is ever stored. Transposition works on 64×64 tiles with the
//! recursive block swap of Warren, "Hacker's Delight" (2nd ed., §7-3).

use aes::Aes128;
use aes::cipher::BlockEncrypt;
#[cfg(test)]
use aes::cipher::KeyInit;
use aes::cipher::generic_array::GenericArray;

use super::{CODE_BITS, CODE_WORDS};

/// Fills `out` with AES-128 in counter mode under `key` (counter blocks 0, 1, 2, … as
/// little-endian 128-bit integers). This is the standard PRG of OT-extension implementations;
/// the protocol uses [`prg_fill_from`] to produce any part of the stream directly.
#[cfg(test)]
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

/// One block: 64 rows of `CODE_WORDS` words to `CODE_BITS` column words.
pub(crate) fn block_rows_to_cols(rows: &[u64], cols: &mut [u64]) {
    debug_assert_eq!(rows.len(), 64 * CODE_WORDS);
    debug_assert_eq!(cols.len(), CODE_BITS);
    for (w, tile_out) in cols.chunks_exact_mut(64).enumerate() {
        let mut tile = [0u64; 64];
        for (r, t) in tile.iter_mut().enumerate() {
            *t = rows[r * CODE_WORDS + w];
        }
        transpose64(&mut tile);
        tile_out.copy_from_slice(&tile);
    }
}

/// One block: `CODE_BITS` column words to 64 rows of `CODE_WORDS` words.
pub(crate) fn block_cols_to_rows(cols: &[u64], rows: &mut [u64]) {
    debug_assert_eq!(rows.len(), 64 * CODE_WORDS);
    debug_assert_eq!(cols.len(), CODE_BITS);
    for (w, tile_in) in cols.chunks_exact(64).enumerate() {
        let mut tile = [0u64; 64];
        tile.copy_from_slice(tile_in);
        transpose64(&mut tile);
        for (r, t) in tile.iter().enumerate() {
            rows[r * CODE_WORDS + w] = *t;
        }
    }
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
    fn block_transposition_round_trips_and_agrees_bitwise() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut rows = vec![0u64; 64 * CODE_WORDS];
        rng.fill(&mut rows[..]);
        let mut cols = vec![0u64; CODE_BITS];
        block_rows_to_cols(&rows, &mut cols);
        for (r, row) in rows.chunks_exact(CODE_WORDS).enumerate() {
            for (c, col) in cols.iter().enumerate() {
                assert_eq!(bit(row, c), (col >> r) & 1 == 1, "row {r}, column {c}");
            }
        }
        let mut back = vec![0u64; 64 * CODE_WORDS];
        block_cols_to_rows(&cols, &mut back);
        assert_eq!(back, rows);
    }

    #[test]
    fn prg_can_start_at_any_block() {
        let key = [9u8; 16];
        let mut whole = [0u64; 40];
        prg_fill(&key, &mut whole);
        let cipher = Aes128::new(GenericArray::from_slice(&key));
        let mut part = [0u64; 7];
        prg_fill_from(&cipher, 10, &mut part);
        assert_eq!(&whole[20..27], &part[..]);
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
