//! The 32-byte SHA-256 hash and the two RFC 9162 tree hashes built from it.
//!
//! RFC 9162 §2.1.1 (as RFC 6962 §2.1 before it) prefixes leaves with 0x00 and
//! interior nodes with 0x01 so that a leaf can never be passed off as a node;
//! every other module computes hashes only through [`hash_leaf`] and
//! [`hash_children`], so the domain separation lives in one place.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Length in bytes of every hash in the tree.
pub const HASH_LEN: usize = 32;

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
///
/// Serialized as standard base64 (the encoding of checkpoints and of the
/// upstream test vectors) so that JSON bundles read the same as notes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

/// The length of a byte string given as a hash was not 32.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash must be exactly 32 bytes, got {0}; send the raw SHA-256 output")]
pub struct HashLengthError(pub usize);

impl Hash {
    /// Reads a hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashLengthError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashLengthError(bytes.len()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Standard base64, as in checkpoints.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 holding exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = BASE64.decode(text).ok()?;
        Hash::from_slice(&bytes).ok()
    }

    /// Lower-case hex, for messages and logs.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_base64(&text)
            .ok_or_else(|| serde::de::Error::custom("expected standard base64 of 32 bytes"))
    }
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The hash of a leaf: SHA-256(0x00 || entry).
pub fn hash_leaf(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    // One contiguous buffer is measurably faster than three `update` calls
    // for this fixed 65-byte input, and this is the hot loop of every audit.
    let mut buf = [0u8; 1 + 2 * HASH_LEN];
    buf[0] = 0x01;
    buf[1..1 + HASH_LEN].copy_from_slice(&left.0);
    buf[1 + HASH_LEN..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// SHA-256 of arbitrary bytes, for digests recorded in log entries.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers from RFC 6962 test data as used by transparency-dev/merkle
    // `rfc6962/rfc6962_test.go`: the empty tree, the empty leaf, and the node
    // hash of the leaf hashes of "N123" and "N456".
    #[test]
    fn known_answers() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_leaf(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hash_leaf(b"L123456").to_hex(),
            "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
        );
        // Root of the two-leaf tree [empty, 0x00]: `roots[1]` in the
        // transparency-dev/merkle vector generator (commit 417fb0c3).
        let node = hash_children(&hash_leaf(b""), &hash_leaf(&[0x00]));
        assert_eq!(
            node.to_hex(),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }

    #[test]
    fn from_slice_refuses_wrong_lengths() {
        for len in [0usize, 31, 33, 64] {
            assert_eq!(Hash::from_slice(&vec![0; len]), Err(HashLengthError(len)));
        }
        assert!(Hash::from_slice(&[7; 32]).is_ok());
    }

    #[test]
    fn base64_round_trip_and_refusal() {
        let h = hash_leaf(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Some(h));
        assert_eq!(Hash::from_base64("ZG9uJ3QgY2FyZSAx"), None);
        assert_eq!(Hash::from_base64("not base64!"), None);
    }
}
