//! What crosses between nodes: a batch of encodings under pseudonymous ids,
//! and the linkage result sent back.
//!
//! The batch is a fixed binary layout, parsed strictly because it comes from
//! the partner: every length is checked against the header before anything
//! is read, and trailing or missing bytes are refused with a typed error.
//!
//! ```text
//! offset size  field
//! 0      4     magic "SBLK"
//! 4      1     version = 1
//! 5      1     flags = 0 (reserved; anything else is refused)
//! 6      2     length_bits, little-endian (multiple of 64, 64..=8192)
//! 8      4     count, little-endian
//! 12     32    schema digest (SHA-256, see EncodingSchema::digest)
//! 44     count × (16-byte pseudonymous id ‖ length_bits/8 bytes of encoding)
//! ```
//!
//! Encoding bytes are the 64-bit words little-endian (bit `i` of the filter is
//! bit `i % 8` of byte `i / 8`). Pseudonymous ids are random per request, so
//! the partner cannot correlate batches across requests; only the sender can
//! map an id back to its record. The result travels as strict JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encoding::{Clk, ClkBatch};
use crate::error::MessageError;

/// Magic bytes of an encoding batch.
pub const MAGIC: [u8; 4] = *b"SBLK";
/// The one supported version.
pub const VERSION: u8 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 44;

/// An opaque 16-byte id the sender gives each encoding for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PseudonymousId(pub [u8; 16]);

impl PseudonymousId {
    /// Parses 32 lowercase or uppercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, MessageError> {
        let bad = || MessageError::Json(format!("pseudonymous id `{s}` is not 32 hex digits"));
        if s.len() != 32 {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl PseudonymousId {
    /// A fresh random id. Use a cryptographic generator (e.g. `OsRng`) and
    /// new ids for every request, so batches cannot be correlated.
    pub fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

impl std::fmt::Display for PseudonymousId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for PseudonymousId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PseudonymousId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A parsed batch of encodings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodingBatch {
    /// Digest of the schema the encodings were made with.
    pub schema_digest: [u8; 32],
    /// Encoding length in bits.
    pub length_bits: u32,
    /// Pseudonymous ids, one per encoding.
    pub ids: Vec<PseudonymousId>,
    /// The encodings, in the same order as the ids.
    pub clks: ClkBatch,
}

impl EncodingBatch {
    /// Builds a batch of `clks` under `ids` (one id per encoding) for a
    /// schema whose digest is `schema_digest`.
    pub fn new(
        schema_digest: [u8; 32],
        ids: Vec<PseudonymousId>,
        clks: &[Clk],
        length_bits: u32,
    ) -> Result<Self, MessageError> {
        if length_bits == 0 || !length_bits.is_multiple_of(64) || length_bits > 8192 {
            return Err(MessageError::BadLength(length_bits));
        }
        if ids.len() != clks.len() {
            return Err(MessageError::IdCountMismatch {
                ids: ids.len() as u64,
                encodings: clks.len() as u64,
            });
        }
        let words_per = (length_bits / 64) as usize;
        if let Some(bad) = clks.iter().find(|c| c.0.len() != words_per) {
            return Err(MessageError::BadLength(bad.0.len() as u32 * 64));
        }
        Ok(Self {
            schema_digest,
            length_bits,
            ids,
            clks: ClkBatch::from_clks(clks, words_per),
        })
    }

    /// Serialises to the binary layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.ids.len().min(self.clks.len());
        let bytes_per = self.length_bits as usize / 8;
        let mut out = Vec::with_capacity(HEADER_LEN + n * (16 + bytes_per));
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(0);
        // `new` and `parse` both hold length_bits to at most 8192.
        out.extend_from_slice(&(self.length_bits as u16).to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&self.schema_digest);
        for (i, id) in self.ids.iter().enumerate().take(n) {
            out.extend_from_slice(&id.0);
            for w in self.clks.get(i).unwrap_or(&[]) {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out
    }

    /// Parses the binary layout strictly. `expected_digest` is our own
    /// schema digest; `max_count` bounds what we accept from a partner.
    pub fn parse(
        bytes: &[u8],
        expected_digest: &[u8; 32],
        max_count: u64,
    ) -> Result<Self, MessageError> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or(MessageError::TooShort(bytes.len(), HEADER_LEN))?;
        let (magic, rest) = header.split_at(4);
        if magic != MAGIC {
            return Err(MessageError::BadMagic);
        }
        let (ver, rest) = rest.split_at(1);
        let version = ver.first().copied().unwrap_or(0);
        if version != VERSION {
            return Err(MessageError::BadVersion(version));
        }
        let (flags, rest) = rest.split_at(1);
        if flags != [0] {
            return Err(MessageError::BadFlags(flags.first().copied().unwrap_or(0)));
        }
        let (len, rest) = rest.split_at(2);
        let length_bits = u32::from(u16::from_le_bytes([
            len.first().copied().unwrap_or(0),
            len.get(1).copied().unwrap_or(0),
        ]));
        if length_bits == 0 || length_bits % 64 != 0 || length_bits > 8192 {
            return Err(MessageError::BadLength(length_bits));
        }
        let (count, digest) = rest.split_at(4);
        let mut c = [0u8; 4];
        c.copy_from_slice(count);
        let count = u64::from(u32::from_le_bytes(c));
        if digest != expected_digest.as_slice() {
            return Err(MessageError::SchemaMismatch);
        }
        if count > max_count {
            return Err(MessageError::TooMany(count, max_count));
        }
        let entry = 16 + u64::from(length_bits / 8);
        let expected = count * entry;
        let actual = (bytes.len() - HEADER_LEN) as u64;
        if actual > expected {
            return Err(MessageError::TrailingBytes(actual - expected));
        }
        if actual < expected {
            return Err(MessageError::WrongLength { expected, actual });
        }
        let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
        let mut ids = Vec::with_capacity(count as usize);
        let mut words = Vec::with_capacity(count as usize * (length_bits as usize / 64));
        for e in body.chunks_exact(entry as usize) {
            let (id, clk) = e.split_at(16);
            let mut idb = [0u8; 16];
            idb.copy_from_slice(id);
            ids.push(PseudonymousId(idb));
            for w in clk.chunks_exact(8) {
                let mut wb = [0u8; 8];
                wb.copy_from_slice(w);
                words.push(u64::from_le_bytes(wb));
            }
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w.first() == w.get(1)) {
            let dup = w.first().map(ToString::to_string).unwrap_or_default();
            return Err(MessageError::DuplicateId(dup));
        }
        Ok(Self {
            schema_digest: *expected_digest,
            length_bits,
            ids,
            clks: ClkBatch::from_words(length_bits as usize / 64, words),
        })
    }
}

/// One link in a result: our record's index in the batch we scanned from,
/// the partner's pseudonymous id, and the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkedPair {
    /// Index of the requester's record (in the requester's own order).
    pub requester_index: u32,
    /// The partner's pseudonymous id.
    pub partner_id: PseudonymousId,
    /// Dice similarity in `[0, 1]`.
    pub score: f32,
}

/// The result of linking a requester's records to a partner's batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkResult {
    /// Hex SHA-256 digest of the schema used.
    pub schema_digest: String,
    /// The threshold applied.
    pub threshold: f64,
    /// Linked pairs, one-to-one.
    pub pairs: Vec<LinkedPair>,
}

impl LinkResult {
    /// Builds the result of linking our batch to a partner's `batch`: every
    /// link's partner row becomes the partner's pseudonymous id. Links whose
    /// row is outside the batch are dropped (they cannot come from linking
    /// this batch).
    pub fn from_links(
        links: &[crate::assign::Link],
        batch: &EncodingBatch,
        threshold: f64,
    ) -> Self {
        let pairs = links
            .iter()
            .filter_map(|l| {
                batch.ids.get(l.b as usize).map(|id| LinkedPair {
                    requester_index: l.a,
                    partner_id: *id,
                    score: l.score,
                })
            })
            .collect();
        Self {
            schema_digest: batch
                .schema_digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            threshold,
            pairs,
        }
    }

    /// Parses a result strictly: unknown fields, scores outside `[0, 1]`,
    /// a threshold outside `[0, 1]`, or an id used twice are refused.
    pub fn parse_json(text: &str) -> Result<Self, MessageError> {
        let r: Self = serde_json::from_str(text).map_err(|e| MessageError::Json(e.to_string()))?;
        if !(0.0..=1.0).contains(&r.threshold) {
            return Err(MessageError::Json(format!(
                "threshold `{}` is outside 0..1",
                r.threshold
            )));
        }
        let mut seen_ids = std::collections::HashSet::new();
        let mut seen_rows = std::collections::HashSet::new();
        for p in &r.pairs {
            if !(0.0..=1.0).contains(&p.score) {
                return Err(MessageError::Json(format!(
                    "score `{}` is outside 0..1",
                    p.score
                )));
            }
            if !seen_ids.insert(p.partner_id) {
                return Err(MessageError::DuplicateId(p.partner_id.to_string()));
            }
            if !seen_rows.insert(p.requester_index) {
                return Err(MessageError::Json(format!(
                    "requester index `{}` appears twice; links are one-to-one",
                    p.requester_index
                )));
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EncodingBatch {
        let ids = vec![PseudonymousId([1; 16]), PseudonymousId([2; 16])];
        let clks = vec![Clk(vec![1, 2]), Clk(vec![u64::MAX, 0])];
        EncodingBatch::new([9; 32], ids, &clks, 128).expect("consistent batch")
    }

    #[test]
    fn inconsistent_batches_are_not_built() {
        let ids = vec![PseudonymousId([1; 16])];
        assert_eq!(
            EncodingBatch::new([0; 32], ids.clone(), &[], 128).err(),
            Some(MessageError::IdCountMismatch {
                ids: 1,
                encodings: 0
            })
        );
        assert_eq!(
            EncodingBatch::new([0; 32], ids.clone(), &[Clk(vec![1])], 128).err(),
            Some(MessageError::BadLength(64))
        );
        assert_eq!(
            EncodingBatch::new([0; 32], ids, &[Clk(vec![1, 2])], 100).err(),
            Some(MessageError::BadLength(100))
        );
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = b.to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 2 * (16 + 16));
        let parsed = EncodingBatch::parse(&bytes, &[9; 32], 10).expect("valid");
        assert_eq!(parsed, b);
    }

    #[test]
    fn malformed_batches_are_refused() {
        let good = sample().to_bytes();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.clone();
            f(&mut v);
            EncodingBatch::parse(&v, &[9; 32], 10).err()
        };
        let cases: Vec<(&str, Option<MessageError>)> = vec![
            ("empty", with(&|v| v.clear())),
            ("short header", with(&|v| v.truncate(43))),
            ("magic", with(&|v| v[0] = b'X')),
            ("version", with(&|v| v[4] = 2)),
            ("flags", with(&|v| v[5] = 1)),
            (
                "length zero",
                with(&|v| v[6..8].copy_from_slice(&0u16.to_le_bytes())),
            ),
            (
                "length not x64",
                with(&|v| v[6..8].copy_from_slice(&100u16.to_le_bytes())),
            ),
            (
                "length huge",
                with(&|v| v[6..8].copy_from_slice(&16384u16.to_le_bytes())),
            ),
            (
                "count up",
                with(&|v| v[8..12].copy_from_slice(&3u32.to_le_bytes())),
            ),
            (
                "count down",
                with(&|v| v[8..12].copy_from_slice(&1u32.to_le_bytes())),
            ),
            (
                "count over limit",
                with(&|v| v[8..12].copy_from_slice(&11u32.to_le_bytes())),
            ),
            ("digest", with(&|v| v[12] ^= 1)),
            ("trailing", with(&|v| v.push(0))),
            (
                "truncated",
                with(&|v| {
                    v.pop();
                }),
            ),
            (
                "duplicate id",
                with(&|v| {
                    let second = HEADER_LEN + 32;
                    v[second..second + 16].copy_from_slice(&[1; 16]);
                }),
            ),
        ];
        let want = [
            MessageError::TooShort(0, HEADER_LEN),
            MessageError::TooShort(43, HEADER_LEN),
            MessageError::BadMagic,
            MessageError::BadVersion(2),
            MessageError::BadFlags(1),
            MessageError::BadLength(0),
            MessageError::BadLength(100),
            MessageError::BadLength(16384),
            MessageError::WrongLength {
                expected: 96,
                actual: 64,
            },
            MessageError::TrailingBytes(32),
            MessageError::TooMany(11, 10),
            MessageError::SchemaMismatch,
            MessageError::TrailingBytes(1),
            MessageError::WrongLength {
                expected: 64,
                actual: 63,
            },
            MessageError::DuplicateId(PseudonymousId([1; 16]).to_string()),
        ];
        for ((name, got), want) in cases.into_iter().zip(want) {
            assert_eq!(got, Some(want), "case {name}");
        }
    }

    /// Random corruptions of a valid batch (flipped bytes, truncations,
    /// extensions) must come back as `Ok` or a typed error, never a panic.
    #[test]
    fn mutated_batches_never_panic() {
        use rand::{Rng, SeedableRng};
        let good = sample().to_bytes();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for _ in 0..5_000 {
            let mut v = good.clone();
            match rng.gen_range(0..3) {
                0 => {
                    for _ in 0..rng.gen_range(1..4) {
                        let i = rng.gen_range(0..v.len());
                        v[i] ^= 1 << rng.gen_range(0..8);
                    }
                }
                1 => v.truncate(rng.gen_range(0..v.len())),
                _ => v.extend((0..rng.gen_range(1..40)).map(|_| rng.r#gen::<u8>())),
            }
            let _ = EncodingBatch::parse(&v, &[9; 32], 10);
        }
        // Arbitrary bytes of every short length.
        for len in 0..200 {
            let v: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            assert!(EncodingBatch::parse(&v, &[9; 32], 10).is_err());
        }
    }

    #[test]
    fn result_json_round_trip_and_strictness() {
        let r = LinkResult {
            schema_digest: "ab".repeat(32),
            threshold: 0.7,
            pairs: vec![LinkedPair {
                requester_index: 3,
                partner_id: PseudonymousId([0xab; 16]),
                score: 0.9,
            }],
        };
        let text = serde_json::to_string(&r).expect("serialises");
        assert_eq!(LinkResult::parse_json(&text).expect("valid"), r);
        let bad = [
            text.replace("\"threshold\"", "\"extra\":1,\"threshold\""),
            text.replace("0.9", "1.5"),
            text.replace("0.7", "-0.1"),
            text.replace(&"ab".repeat(16), "zz"),
            text.replace(&"ab".repeat(16), &"ab".repeat(15)),
            r#"{"schema_digest":"","threshold":0.5,"pairs":[
                {"requester_index":1,"partner_id":"00000000000000000000000000000000","score":0.9},
                {"requester_index":2,"partner_id":"00000000000000000000000000000000","score":0.8}]}"#
                .to_owned(),
            r#"{"schema_digest":"","threshold":0.5,"pairs":[
                {"requester_index":1,"partner_id":"00000000000000000000000000000000","score":0.9},
                {"requester_index":1,"partner_id":"00000000000000000000000000000001","score":0.8}]}"#
                .to_owned(),
        ];
        for b in bad {
            assert!(LinkResult::parse_json(&b).is_err(), "accepted {b}");
        }
    }
}
