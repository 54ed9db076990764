//! The case id, derived from the agreement, and the exhibit digest, an
//! exhibit's identity.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use soberana_core::ProposalId;

use crate::CaseError;

/// The id of a case. Both nodes derive it from the accepted proposal, so the
/// same agreement names the same case on both sides without a coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId([u8; 16]);

impl CaseId {
    /// The case opened by the accepted proposal `proposal`: the first 16
    /// bytes of SHA-256 over a domain label and the proposal id.
    pub fn for_proposal(proposal: &ProposalId) -> Self {
        let mut h = Sha256::new();
        h.update(b"soberana/case/v1\n");
        h.update(proposal.as_bytes());
        let full = h.finalize();
        let mut id = [0u8; 16];
        for (to, from) in id.iter_mut().zip(full.iter()) {
            *to = *from;
        }
        Self(id)
    }

    /// Parses `case-` followed by 32 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, CaseError> {
        let bad = || CaseError::BadCaseId(text.to_owned());
        let hex_part = text.strip_prefix("case-").ok_or_else(bad)?;
        if hex_part.len() != 32 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut id = [0u8; 16];
        hex::decode_to_slice(hex_part, &mut id).map_err(|_| bad())?;
        Ok(Self(id))
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "case-{}", hex::encode(self.0))
    }
}

impl Serialize for CaseId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CaseId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The SHA-256 of an exhibit's bytes: the exhibit's identity. Two exhibits
/// with the same bytes are the same exhibit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExhibitDigest([u8; 32]);

impl ExhibitDigest {
    /// The digest of `bytes` (for small exhibits and tests; large ones go
    /// through [`crate::Upload`]).
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 lowercase hex digits (an optional `sha256:` prefix is allowed).
    pub fn parse(text: &str) -> Result<Self, CaseError> {
        let bad = || CaseError::BadDigest(text.to_owned());
        let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
        if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut d = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut d).map_err(|_| bad())?;
        Ok(Self(d))
    }

    /// The digest's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 12 hex digits, for people.
    pub fn short(&self) -> String {
        hex::encode(self.0.iter().take(6).copied().collect::<Vec<u8>>())
    }
}

impl fmt::Display for ExhibitDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for ExhibitDigest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExhibitDigest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ExhibitDigest::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_is_derived_from_the_proposal_and_round_trips() {
        let a = CaseId::for_proposal(&ProposalId::from_bytes([1; 16]));
        let b = CaseId::for_proposal(&ProposalId::from_bytes([2; 16]));
        assert_ne!(a, b);
        assert_eq!(CaseId::parse(&a.to_string()), Ok(a));
        for bad in [
            "",
            "case-",
            "case-zz",
            "CASE-00000000000000000000000000000000",
        ] {
            assert!(CaseId::parse(bad).is_err(), "{bad}");
        }
        let upper = a.to_string().to_uppercase().replace("CASE-", "case-");
        assert!(CaseId::parse(&upper).is_err());
    }

    #[test]
    fn digest_parses_only_sha256_hex() {
        let d = ExhibitDigest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ExhibitDigest::parse(&format!("sha256:{d}")), Ok(d));
        assert!(ExhibitDigest::parse("ba78").is_err());
    }
}
