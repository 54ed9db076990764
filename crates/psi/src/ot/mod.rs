//! The fast protocol: private set intersection from a batched oblivious PRF built on OT
//! extension, following Kolesnikov, Kumaresan, Rosulek, Trieu, "Efficient Batched Oblivious
//! PRF with Applications to Private Set Intersection", ACM CCS 2016 (ePrint 2016/799), semi-
//! honest.
//!
//! Flow (requester = OPRF receiver, responder = OPRF sender):
//!
//! 1. **hello** (requester → responder): the requester cuckoo-hashes its `n` items into
//!    `m = bins_for(n)` bins (`cuckoo`), and sends `n`, `m`, the hashing seed and the first
//!    message `A` of `CODE_BITS` base OTs (Chou–Orlandi, `base`), in which it is the sender.
//! 2. **base reply** (responder → requester): the responder draws its secret `s ∈ {0,1}^k`
//!    (`k = CODE_BITS = 512`), uses the bits of `s` as base-OT choices and sends the points `Bᵢ`
//!    and a nonce; each side now holds the base-OT keys, and both derive a session id.
//! 3. **mask** (requester → responder): the requester writes, for each bin `j`, the
//!    pseudo-random codeword `C(yⱼ)` of the item in that bin (random for an empty bin) as row
//!    `j` of a matrix, and sends `uᵢ = G(k0ᵢ) ⊕ G(k1ᵢ) ⊕ Cᵢ` for each column `i`, where `G` is the
//!    AES-CTR PRG (`matrix`), laid out block by block: for each block of 64 bins, the block's
//!    word of every column. Its OPRF output for bin `j` is `H(j, t0ⱼ)` with `t0ᵢ = G(k0ᵢ)`.
//!    The responder forms `qᵢ = G(k_{sᵢ}ᵢ) ⊕ sᵢ·uᵢ`, so that row `qⱼ = t0ⱼ ⊕ (s ∧ C(yⱼ))`,
//!    and can evaluate the PRF of bin `j` on any `x` as `H(j, qⱼ ⊕ (s ∧ C(x)))`, which equals
//!    the requester's output exactly when `x = yⱼ` (KKRT16 §3, "BaRK-OPRF").
//! 4. **values** (responder → requester): for each of its items `x` and each hash function
//!    `h`, the responder sends the PRF of `x` (tagged with `h`) in bin `hₕ(x)`, truncated to
//!    `40 + log₂ m + log₂(3·n')` bits (statistical security 40, KKRT16 §5), in three sorted
//!    lists. The requester looks its own outputs up in the list of the hash function that
//!    placed each item.
//!
//! The pseudo-random code `C(x, h)` is AES-128 in counter mode under the key
//! `SHA-256(session, x)` (truncated to 128 bits), blocks `4h … 4h+3`: a PRG keyed by a random
//! oracle of the item, so every codeword is an independent pseudo-random 512-bit string. KKRT16
//! §4 needs any two codewords of a run to differ in at least κ = 128 positions: for a pair of
//! random 512-bit strings that fails with probability below 2^-97, so below 2^-50 over all
//! pairs of a 2^24 × 2^24 run. One hash and twelve AES blocks give all three codewords of an
//! item. The correlation-robust hash `H` is SHA-256 over the session id,
//! the bin index and the row. The responder learns `n` and nothing else; the
//! requester learns which of its items match and the size of the responder's set. A requester
//! that puts a guess of its choosing in every bin learns, for each, whether the responder holds
//! it: at most `bins_for(n)` identifiers, which is why the bin count carries no additive slack. Count-only
//! disclosure is not possible here (the requester knows which bin matched); the DH protocol
//! provides it.

mod base;
mod cuckoo;
mod matrix;

use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::dh::decode_points;
use crate::error::PsiError;
use crate::item::{ItemDigest, PreparedSet, keyed_prefix};
use crate::protocol::{Disclosure, Protocol, RequesterOutcome, ResponderSummary};
use aes::Aes128;
use aes::cipher::KeyInit;
use aes::cipher::generic_array::GenericArray;
use base::{BaseSender, SeedKey};
use cuckoo::{HASHES, Slot, bins_for, place, position_prefix, positions};
use matrix::{block_cols_to_rows, block_rows_to_cols, prg_fill_from};

/// Width `k` of the pseudo-random code, and so the number of base OTs.
pub(crate) const CODE_BITS: usize = 512;
/// The code width in 64-bit words.
pub(crate) const CODE_WORDS: usize = CODE_BITS / 64;

/// Type byte of the requester's hello.
pub(crate) const HELLO_TYPE: u8 = 0x21;
const BASE_REPLY_TYPE: u8 = 0x22;
const MASK_TYPE: u8 = 0x23;
const VALUES_TYPE: u8 = 0x24;

const HELLO: &str = "ot hello";
const BASE_REPLY: &str = "ot base reply";
const MASK: &str = "ot mask";
const VALUES: &str = "ot values";

const SESSION_DOMAIN: &[u8] = b"soberana-psi/ot/session/v1\0";
const CODE_DOMAIN: &[u8] = b"soberana-psi/ot/code/v1\0";
const OUTPUT_DOMAIN: &[u8] = b"soberana-psi/ot/output/v1\0";

/// Bytes of one row block of the mask: one word per column.
const BLOCK_BYTES: usize = CODE_BITS * 8;

/// Row blocks per parallel task: an even number, so each task starts on an AES block.
const CHUNK_BLOCKS: usize = 16;

/// Statistical security parameter for false matches.
const STATISTICAL_BITS: u32 = 40;

/// Attempts at cuckoo placement before giving up: each fails with probability at most about
/// 0.1 (small tables, see `bins_for`), so 32 attempts all fail with probability below 10^-32.
const CUCKOO_ATTEMPTS: usize = 32;

type Row = [u64; CODE_WORDS];

fn session_id(seed: &[u8; 32], nonce: &[u8; 32], big_a: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SESSION_DOMAIN);
    h.update(seed);
    h.update(nonce);
    h.update(big_a);
    h.finalize().into()
}

/// An AES-128 instance for a base-OT seed.
fn cipher(key: &SeedKey) -> Aes128 {
    Aes128::new(GenericArray::from_slice(key))
}

/// The AES key of an item's codewords.
fn code_cipher(prefix: &Sha256, digest: &ItemDigest) -> Aes128 {
    let mut h = prefix.clone();
    h.update(digest);
    let d = h.finalize();
    Aes128::new(GenericArray::from_slice(&d[..16]))
}

/// The pseudo-random codeword of an item for hash function `hash`: counter blocks
/// `4·hash … 4·hash + 3` (each codeword is four AES blocks).
fn code(cipher: &Aes128, hash: usize) -> Row {
    let mut row = [0u64; CODE_WORDS];
    prg_fill_from(cipher, (hash * CODE_WORDS / 2) as u128, &mut row);
    row
}

fn code_prefix(session: &[u8; 32]) -> Sha256 {
    keyed_prefix(CODE_DOMAIN, session)
}

fn output_prefix(session: &[u8; 32]) -> Sha256 {
    keyed_prefix(OUTPUT_DOMAIN, session)
}

/// The correlation-robust hash of row `row` of bin `bin`.
fn output(prefix: &Sha256, bin: usize, row: &Row) -> [u8; 32] {
    let mut h = prefix.clone();
    h.update((bin as u64).to_le_bytes());
    for w in row {
        h.update(w.to_le_bytes());
    }
    h.finalize().into()
}

fn ceil_log2(x: usize) -> u32 {
    if x <= 1 {
        0
    } else {
        usize::BITS - (x - 1).leading_zeros()
    }
}

/// Bytes of each OPRF value: false-match probability over the whole run at most 2^-40.
fn value_width(bins: usize, responder_items: usize) -> usize {
    let bits = STATISTICAL_BITS + ceil_log2(bins) + ceil_log2(HASHES * responder_items.max(1));
    (bits as usize).div_ceil(8).min(MAX_WIDTH)
}

/// The widest OPRF value; with at most 2^24 items per side 12 bytes suffice, so values fit a
/// `u128` and sort and compare as integers.
const MAX_WIDTH: usize = 16;

/// The first `width` bytes of `value`, as a big-endian integer (so integer order is byte order).
fn truncate(value: &[u8; 32], width: usize) -> u128 {
    let mut b = [0u8; 16];
    let width = width.min(MAX_WIDTH);
    b[16 - width..].copy_from_slice(&value[..width]);
    u128::from_be_bytes(b)
}

/// Reads a list of `width`-byte big-endian values.
fn read_values(bytes: &[u8], width: usize) -> Vec<u128> {
    bytes
        .chunks_exact(width)
        .map(|c| {
            let mut b = [0u8; 16];
            b[16 - c.len()..].copy_from_slice(c);
            u128::from_be_bytes(b)
        })
        .collect()
}

fn row_at(rows: &[u64], j: usize) -> Row {
    let mut r = [0u64; CODE_WORDS];
    if let Some(src) = rows.get(j * CODE_WORDS..(j + 1) * CODE_WORDS) {
        r.copy_from_slice(src);
    }
    r
}

fn one_point(bytes: &[u8], message: &'static str) -> Result<RistrettoPoint, PsiError> {
    decode_points(bytes, message)?
        .into_iter()
        .next()
        .ok_or(PsiError::MalformedPoint { message, index: 0 })
}

/// Starts the requester: places its items and opens the base OTs.
pub(crate) fn start_requester(set: PreparedSet) -> Result<(ExpectBaseOtReply, Vec<u8>), PsiError> {
    let n = set.distinct.len();
    let bins = bins_for(n);
    let mut rng = ChaCha20Rng::from_rng(OsRng).map_err(|_| PsiError::CuckooFailed(n))?;
    let mut placed = None;
    for _ in 0..CUCKOO_ATTEMPTS {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let prefix = position_prefix(&seed);
        let candidates: Vec<_> = set
            .distinct
            .par_iter()
            .map(|d| positions(&prefix, d, bins))
            .collect();
        if let Some(table) = place(&candidates, bins, &mut rng) {
            placed = Some((seed, table));
            break;
        }
    }
    let (seed, table) = placed.ok_or(PsiError::CuckooFailed(n))?;
    let base = BaseSender::new();
    let mut w = Writer::new(HELLO_TYPE, 72);
    w.u32(n as u32);
    w.u32(bins as u32);
    w.bytes(&seed);
    w.bytes(&base.public());
    let state = ExpectBaseOtReply {
        set,
        seed,
        bins,
        table,
        base,
    };
    Ok((state, w.finish()))
}

/// The requester after its hello, waiting for the base-OT answers.
pub struct ExpectBaseOtReply {
    set: PreparedSet,
    seed: [u8; 32],
    bins: usize,
    table: Vec<Option<Slot>>,
    base: BaseSender,
}

impl ExpectBaseOtReply {
    /// Handles the base-OT reply; returns the next state and the mask message.
    pub fn handle(self, message: &[u8]) -> Result<(ExpectOprfValues, Vec<u8>), PsiError> {
        let mut r = Reader::new(BASE_REPLY, BASE_REPLY_TYPE, message)?;
        let nonce: [u8; 32] = r.array()?;
        let points = r.elements(CODE_BITS, 32)?;
        r.finish()?;
        let points = decode_points(points, BASE_REPLY)?;
        let keys = self.base.keys(&points);
        let session = session_id(&self.seed, &nonce, &self.base.public());

        let blocks = self.bins.div_ceil(64);
        let code_prefix = code_prefix(&session);
        let out_prefix = output_prefix(&session);
        let ciphers: Vec<(Aes128, Aes128)> = keys
            .iter()
            .map(|(k0, k1)| (cipher(k0), cipher(k1)))
            .collect();
        // Per bin, the first 16 bytes of the requester's OPRF output `H(j, t0ⱼ)`; the width
        // to compare is known only once the responder's count arrives.
        let mut outputs = vec![0u128; blocks * 64];
        let mut w = Writer::new(MASK_TYPE, blocks * BLOCK_BYTES);
        w.tail_mut(blocks * BLOCK_BYTES)
            .par_chunks_mut(CHUNK_BLOCKS * BLOCK_BYTES)
            .zip(outputs.par_chunks_mut(CHUNK_BLOCKS * 64))
            .enumerate()
            .for_each_init(rand::thread_rng, |rng, (chunk, (message, outputs))| {
                let first = chunk * CHUNK_BLOCKS;
                let count = message.len() / BLOCK_BYTES;
                // t0 and t1 words of this chunk, column by column.
                let mut t0 = vec![0u64; CODE_BITS * count];
                let mut u = vec![0u64; CODE_BITS * count];
                let mut t1 = vec![0u64; count];
                for (c, (c0, c1)) in ciphers.iter().enumerate() {
                    let t0c = &mut t0[c * count..(c + 1) * count];
                    prg_fill_from(c0, (first / 2) as u128, t0c);
                    prg_fill_from(c1, (first / 2) as u128, &mut t1);
                    for (b, (x, y)) in t0c.iter().zip(t1.iter()).enumerate() {
                        u[b * CODE_BITS + c] = x ^ y;
                    }
                }
                let mut rows = [0u64; 64 * CODE_WORDS];
                let mut cols = [0u64; CODE_BITS];
                for b in 0..count {
                    let block = first + b;
                    for (i, row) in rows.chunks_exact_mut(CODE_WORDS).enumerate() {
                        let bin = block * 64 + i;
                        let slot = self.table.get(bin).copied().flatten();
                        let codeword = match slot.and_then(|s| {
                            self.set
                                .distinct
                                .get(s.item as usize)
                                .map(|d| code(&code_cipher(&code_prefix, d), usize::from(s.hash)))
                        }) {
                            Some(c) => c,
                            // An empty bin gets a random codeword, so the mask shows nothing
                            // of the table's occupancy; rows past the last bin stay zero.
                            None if bin < self.bins => rng.r#gen(),
                            None => [0u64; CODE_WORDS],
                        };
                        row.copy_from_slice(&codeword);
                    }
                    block_rows_to_cols(&rows, &mut cols);
                    let ub = &mut u[b * CODE_BITS..(b + 1) * CODE_BITS];
                    for (x, c) in ub.iter_mut().zip(cols.iter()) {
                        *x ^= c;
                    }
                    for (c, col) in cols.iter_mut().enumerate() {
                        *col = t0[c * count + b];
                    }
                    block_cols_to_rows(&cols, &mut rows);
                    for (i, row) in rows.chunks_exact(CODE_WORDS).enumerate() {
                        let bin = block * 64 + i;
                        if self.table.get(bin).copied().flatten().is_some() {
                            let mut r = [0u64; CODE_WORDS];
                            r.copy_from_slice(row);
                            outputs[b * 64 + i] =
                                truncate(&output(&out_prefix, bin, &r), MAX_WIDTH);
                        }
                    }
                }
                for (out, word) in message.chunks_exact_mut(8).zip(u.iter()) {
                    out.copy_from_slice(&word.to_le_bytes());
                }
            });
        let next = ExpectOprfValues {
            set: self.set,
            table: self.table,
            outputs,
            bins: self.bins,
        };
        Ok((next, w.finish()))
    }
}

/// The requester after its mask, waiting for the responder's OPRF values.
pub struct ExpectOprfValues {
    set: PreparedSet,
    table: Vec<Option<Slot>>,
    outputs: Vec<u128>,
    bins: usize,
}

impl ExpectOprfValues {
    /// Handles the responder's values and computes the intersection.
    pub fn handle(self, message: &[u8]) -> Result<RequesterOutcome, PsiError> {
        let mut r = Reader::new(VALUES, VALUES_TYPE, message)?;
        let width = usize::from(r.u8()?);
        let count = r.u32()? as usize;
        if count > crate::MAX_SET_SIZE {
            return Err(PsiError::BadCount {
                message: VALUES,
                reason: format!(
                    "`{count}` items exceeds the limit of {}",
                    crate::MAX_SET_SIZE
                ),
            });
        }
        let expected = value_width(self.bins, count);
        if width != expected {
            return Err(PsiError::BadField {
                message: VALUES,
                field: "width",
                reason: format!("`{width}` bytes where {expected} are required"),
            });
        }
        let mut lists = Vec::with_capacity(HASHES);
        for _ in 0..HASHES {
            let list = read_values(r.elements(count, width)?, width);
            if !list.is_sorted() {
                return Err(PsiError::BadField {
                    message: VALUES,
                    field: "values",
                    reason: "each list must be sorted ascending".to_owned(),
                });
            }
            lists.push(list);
        }
        r.finish()?;

        // The requester's own values, grouped by the hash function that placed each item and
        // sorted, are merged with the responder's sorted lists: a linear pass instead of a
        // binary search with a cache miss per probe.
        let shift = 8 * (MAX_WIDTH - width);
        let mut ours: Vec<(u8, u128, u32)> = self
            .table
            .par_iter()
            .zip(self.outputs.par_iter())
            .filter_map(|(slot, value)| {
                let slot = (*slot)?;
                Some((slot.hash, value >> shift, slot.item))
            })
            .collect();
        ours.par_sort_unstable();
        let mut hits = Vec::new();
        for (h, list) in lists.iter().enumerate() {
            let mut theirs = list.iter().peekable();
            for &(_, value, item) in ours.iter().filter(|(hash, _, _)| usize::from(*hash) == h) {
                while theirs.next_if(|v| **v < value).is_some() {}
                if theirs.peek() == Some(&&value) {
                    hits.push(item);
                }
            }
        }
        let mut matched = vec![false; self.set.distinct.len()];
        for item in hits {
            if let Some(m) = matched.get_mut(item as usize) {
                *m = true;
            }
        }
        Ok(RequesterOutcome::Matches(
            self.set.input_positions(&matched),
        ))
    }
}

/// The responder waiting for a hello.
pub struct ExpectHello {
    set: PreparedSet,
}

impl ExpectHello {
    pub(crate) fn new(set: PreparedSet) -> Self {
        ExpectHello { set }
    }

    /// Handles the hello; returns the next state and the base-OT reply.
    pub fn handle(self, message: &[u8]) -> Result<(ExpectMask, Vec<u8>), PsiError> {
        let mut r = Reader::new(HELLO, HELLO_TYPE, message)?;
        let asked = r.u32()? as usize;
        let bins = r.u32()? as usize;
        let seed: [u8; 32] = r.array()?;
        let big_a_bytes: [u8; 32] = r.array()?;
        r.finish()?;
        if asked > crate::MAX_SET_SIZE {
            return Err(PsiError::BadCount {
                message: HELLO,
                reason: format!(
                    "`{asked}` items exceeds the limit of {}",
                    crate::MAX_SET_SIZE
                ),
            });
        }
        if bins != bins_for(asked) {
            return Err(PsiError::BadField {
                message: HELLO,
                field: "bins",
                reason: format!(
                    "`{bins}` bins where {} are required for {asked} items",
                    bins_for(asked)
                ),
            });
        }
        let big_a = one_point(&big_a_bytes, HELLO)?;

        let mut secret = [0u64; CODE_WORDS];
        OsRng.fill(&mut secret[..]);
        let choices: Vec<bool> = (0..CODE_BITS)
            .map(|i| (secret[i / 64] >> (i % 64)) & 1 == 1)
            .collect();
        let (points, keys) = base::receive(&big_a, &choices);
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        let session = session_id(&seed, &nonce, &big_a_bytes);

        let mut w = Writer::new(BASE_REPLY_TYPE, 32 + 32 * CODE_BITS);
        w.bytes(&nonce);
        for p in &points {
            w.bytes(p);
        }
        let next = ExpectMask {
            set: self.set,
            asked,
            bins,
            seed,
            session,
            secret,
            keys,
        };
        Ok((next, w.finish()))
    }
}

/// The responder after its base-OT reply, waiting for the mask.
pub struct ExpectMask {
    set: PreparedSet,
    asked: usize,
    bins: usize,
    seed: [u8; 32],
    session: [u8; 32],
    secret: Row,
    keys: Vec<SeedKey>,
}

impl Drop for ExpectMask {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret.zeroize();
        for k in &mut self.keys {
            k.zeroize();
        }
    }
}

impl ExpectMask {
    /// Handles the mask; returns the OPRF values to send and what the responder learnt.
    pub fn handle(self, message: &[u8]) -> Result<(Vec<u8>, ResponderSummary), PsiError> {
        let blocks = self.bins.div_ceil(64);
        let mut r = Reader::new(MASK, MASK_TYPE, message)?;
        let masks = r.elements(blocks, BLOCK_BYTES)?;
        r.finish()?;

        let ciphers: Vec<Aes128> = self.keys.iter().map(cipher).collect();
        // All-ones where the bit of the secret is set, so it is applied without a branch.
        let select: Vec<u64> = (0..CODE_BITS)
            .map(|c| 0u64.wrapping_sub((self.secret[c / 64] >> (c % 64)) & 1))
            .collect();
        let mut q_rows = vec![0u64; blocks * 64 * CODE_WORDS];
        q_rows
            .par_chunks_mut(CHUNK_BLOCKS * 64 * CODE_WORDS)
            .zip(masks.par_chunks(CHUNK_BLOCKS * BLOCK_BYTES))
            .enumerate()
            .for_each(|(chunk, (rows, u))| {
                let first = chunk * CHUNK_BLOCKS;
                let count = u.len() / BLOCK_BYTES;
                let mut q = vec![0u64; CODE_BITS * count];
                for (c, cipher) in ciphers.iter().enumerate() {
                    prg_fill_from(
                        cipher,
                        (first / 2) as u128,
                        &mut q[c * count..(c + 1) * count],
                    );
                }
                let mut cols = [0u64; CODE_BITS];
                for (b, (rows, u)) in rows
                    .chunks_exact_mut(64 * CODE_WORDS)
                    .zip(u.chunks_exact(BLOCK_BYTES))
                    .enumerate()
                {
                    for (c, (col, u)) in cols.iter_mut().zip(u.chunks_exact(8)).enumerate() {
                        let mut bytes = [0u8; 8];
                        bytes.copy_from_slice(u);
                        *col = q[c * count + b] ^ (u64::from_le_bytes(bytes) & select[c]);
                    }
                    block_cols_to_rows(&cols, rows);
                }
            });

        let n = self.set.distinct.len();
        let width = value_width(self.bins, n);
        let code_prefix = code_prefix(&self.session);
        let out_prefix = output_prefix(&self.session);
        let position_prefix = position_prefix(&self.seed);
        let per_item: Vec<[u128; HASHES]> = self
            .set
            .distinct
            .par_iter()
            .map(|d| {
                let bins = positions(&position_prefix, d, self.bins);
                let cipher = code_cipher(&code_prefix, d);
                let mut out = [0u128; HASHES];
                for (h, (o, &bin)) in out.iter_mut().zip(bins.iter()).enumerate() {
                    let c = code(&cipher, h);
                    let mut row = row_at(&q_rows, bin);
                    for ((r, c), s) in row.iter_mut().zip(c.iter()).zip(self.secret.iter()) {
                        *r ^= c & s;
                    }
                    *o = truncate(&output(&out_prefix, bin, &row), width);
                }
                out
            })
            .collect();
        drop(q_rows);

        let mut w = Writer::new(VALUES_TYPE, 5 + HASHES * n * width);
        w.u8(width as u8);
        w.u32(n as u32);
        for h in 0..HASHES {
            let mut list: Vec<u128> = per_item
                .iter()
                .filter_map(|values| values.get(h).copied())
                .collect();
            // Sorting the pseudo-random values hides the order of the responder's input.
            list.par_sort_unstable();
            for v in list {
                w.bytes(&v.to_be_bytes()[16 - width..]);
            }
        }
        let summary = ResponderSummary {
            protocol: Protocol::Ot,
            asked: self.asked,
            queries: self.bins,
            disclosure: Disclosure::Intersection,
        };
        Ok((w.finish(), summary))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// A requester that does not follow the protocol: it states `claimed` items but fills
    /// every bin of the table it is allowed with a different identifier from `guesses`, each
    /// in one of its candidate bins, to test as many as it can.
    fn greedy_requester(guesses: &[Vec<u8>], claimed: usize) -> (ExpectBaseOtReply, Vec<u8>) {
        let set = PreparedSet::new(guesses).unwrap();
        let bins = bins_for(claimed);
        let seed = [7u8; 32];
        let prefix = position_prefix(&seed);
        let mut table: Vec<Option<Slot>> = vec![None; bins];
        for (item, d) in set.distinct.iter().enumerate() {
            for (hash, bin) in positions(&prefix, d, bins).into_iter().enumerate() {
                if table[bin].is_none() {
                    table[bin] = Some(Slot {
                        item: item as u32,
                        hash: hash as u8,
                    });
                    break;
                }
            }
        }
        let base = BaseSender::new();
        let mut w = Writer::new(HELLO_TYPE, 72);
        w.u32(claimed as u32);
        w.u32(bins as u32);
        w.bytes(&seed);
        w.bytes(&base.public());
        let state = ExpectBaseOtReply {
            set,
            seed,
            bins,
            table,
            base,
        };
        (state, w.finish())
    }

    /// How many of `guesses` a greedy requester stating `claimed` items learns are held by a
    /// responder that holds every one of them.
    fn learned(claimed: usize, guesses: usize) -> usize {
        let guesses: Vec<Vec<u8>> = (0..guesses)
            .map(|i| format!("phone:+5255{i:08}").into_bytes())
            .collect();
        let (requester, hello) = greedy_requester(&guesses, claimed);
        let responder = ExpectHello::new(PreparedSet::new(&guesses).unwrap());
        let (responder, reply) = responder.handle(&hello).unwrap();
        let (requester, mask) = requester.handle(&reply).unwrap();
        let (values, summary) = responder.handle(&mask).unwrap();
        assert_eq!(summary.asked, claimed);
        assert_eq!(summary.queries, bins_for(claimed));
        match requester.handle(&values).unwrap() {
            RequesterOutcome::Matches(m) => m.len(),
            RequesterOutcome::Count(_) => panic!("ot discloses matches"),
        }
    }

    /// A request accepted for one identifier used to test about 60 (one per bin of a table
    /// sized `n + 32`); it now tests at most what was accepted, plus the cuckoo table's 27 %
    /// for larger counts.
    #[test]
    fn a_requester_tests_no_more_identifiers_than_were_accepted() {
        for (accepted, bound) in [(1usize, 1usize), (2, 2), (3, 3), (10, 12), (100, 127)] {
            let got = learned(accepted, 4 * bound + 200);
            assert!(
                got <= bound,
                "accepted {accepted}: the requester tested {got} identifiers (bound {bound})"
            );
            assert!(got >= 1, "the greedy requester found at least one");
        }
    }

    #[test]
    fn value_width_covers_statistical_security() {
        // 2^20 × 2^20: 40 + 21 (1.27·2^20 bins) + 22 (3·2^20 values) = 83 bits → 11 bytes.
        assert_eq!(value_width(bins_for(1 << 20), 1 << 20), 11);
        // No items: 40 + 0 (1 bin) + 2 = 42 bits → 6 bytes.
        assert_eq!(value_width(bins_for(0), 0), 6);
        assert!(value_width(usize::MAX / 4, usize::MAX / 4) <= MAX_WIDTH);
        assert!(value_width(bins_for(crate::MAX_SET_SIZE), crate::MAX_SET_SIZE) <= 12);
    }
}
