//! Policy digests: the hex SHA-256 that pins the constitutional layer and
//! identifies the whole policy set behind every decision.
//!
//! A digest is computed over exact file bytes, so a change of a single
//! character (even a comment) is a change the node must pin and announce.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::PolicyError;

/// A SHA-256 digest of policy text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyDigest([u8; 32]);

impl PolicyDigest {
    /// Parses a digest from 64 hexadecimal characters (either case).
    pub fn from_hex(text: &str) -> Result<Self, PolicyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| PolicyError::BadDigest(text.to_owned()))?;
        Ok(Self(bytes))
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest in lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for PolicyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PolicyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyDigest({})", self.to_hex())
    }
}

impl Serialize for PolicyDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PolicyDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PolicyDigest::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The digest to pin in configuration for a constitutional layer: the hex
/// SHA-256 of the file's exact bytes.
pub fn pin(constitutional_bytes: &[u8]) -> PolicyDigest {
    PolicyDigest(Sha256::digest(constitutional_bytes).into())
}

/// The digest of a whole policy set: the schema and both layers, each
/// length-prefixed so that no two different sets share an encoding.
pub(crate) fn set_digest(
    party: &str,
    schema: &[u8],
    constitutional: &[u8],
    operational: &[u8],
) -> PolicyDigest {
    let mut hasher = Sha256::new();
    hasher.update(b"soberana policy set v1\n");
    for part in [party.as_bytes(), schema, constitutional, operational] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    PolicyDigest(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_is_sha256_of_the_bytes() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            pin(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn digests_parse_from_hex_only() {
        let d = pin(b"abc");
        assert_eq!(PolicyDigest::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(
            PolicyDigest::from_hex(&d.to_hex().to_uppercase()).unwrap(),
            d
        );
        for bad in ["", "ab", &"g".repeat(64), &"a".repeat(63), &"a".repeat(66)] {
            assert!(PolicyDigest::from_hex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_digest_separates_its_parts() {
        let a = set_digest("MX", b"s", b"ab", b"c");
        let b = set_digest("MX", b"s", b"a", b"bc");
        assert_ne!(a, b);
        assert_ne!(a, set_digest("US", b"s", b"ab", b"c"));
    }
}
