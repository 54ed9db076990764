//! Signed envelopes: the only unit that crosses between nodes.
//!
//! The bytes of an envelope are
//!
//! ```text
//! "SOBERANA/1\n" | header length (u32, big-endian) | header | body | signature (64)
//! ```
//!
//! where the header is the compact JSON of [`EnvelopeHeader`] with its
//! fields in declaration order, and the signature is Ed25519 over every byte
//! before it. A receiver checks the signature over the bytes exactly as they
//! arrived, then checks that the header is canonical (re-encoding it gives
//! the same bytes), so that every envelope has one encoding and one digest.
//!
//! Parsing is in two steps that the types make impossible to skip:
//! [`UnverifiedEnvelope::parse`] reads only the shape and the claimed sender,
//! so the caller can look up that sender's pinned key;
//! [`UnverifiedEnvelope::verify`] checks the signature and the body digest
//! and only then yields a [`VerifiedEnvelope`] whose body can be read.

use serde::{Deserialize, Serialize};
use soberana_core::{PartyCode, Timestamp};
use uuid::Uuid;

use crate::{Body, BodyKind, Digest, NodeKey, PublicKey, WireError};

/// The version of the envelope format.
pub const WIRE_VERSION: u8 = 1;

/// The largest envelope a node accepts by default: 4 MiB.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

const MAGIC: &[u8] = b"SOBERANA/1\n";
const SIGNATURE_LEN: usize = 64;
const MAX_HEADER_LEN: usize = 4096;

/// An envelope's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeHeader {
    /// Format version; always [`WIRE_VERSION`].
    pub v: u8,
    /// The envelope's id, unique per sender: a resent envelope keeps its id.
    pub id: Uuid,
    /// The sending party.
    pub sender: PartyCode,
    /// The receiving party.
    pub recipient: PartyCode,
    /// The sender's sequence number, counting up from 1 per recipient.
    pub sequence: u64,
    /// When the envelope was sealed, in Unix milliseconds.
    pub time: i64,
    /// What the body is.
    pub kind: BodyKind,
    /// The body's length in bytes.
    pub body_len: u64,
    /// The SHA-256 digest of the body.
    pub body_digest: Digest,
}

impl EnvelopeHeader {
    /// When the envelope was sealed.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.time)
    }
}

/// An envelope sealed by this node, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEnvelope {
    header: EnvelopeHeader,
    bytes: Vec<u8>,
}

impl SealedEnvelope {
    /// Seals `body` from `sender` to `recipient` with the sender's key.
    pub fn seal(
        key: &NodeKey,
        sender: PartyCode,
        recipient: PartyCode,
        sequence: u64,
        time: Timestamp,
        body: &Body,
    ) -> Self {
        let body_bytes = body.to_bytes();
        let header = EnvelopeHeader {
            v: WIRE_VERSION,
            id: Uuid::now_v7(),
            sender,
            recipient,
            sequence,
            time: time.unix_millis(),
            kind: body.kind(),
            body_len: body_bytes.len() as u64,
            body_digest: Digest::of(&body_bytes),
        };
        let header_bytes = serde_json::to_vec(&header).unwrap_or_default();
        let mut bytes =
            Vec::with_capacity(MAGIC.len() + 4 + header_bytes.len() + body_bytes.len() + 64);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&header_bytes);
        bytes.extend_from_slice(&body_bytes);
        let signature = key.sign(&bytes);
        bytes.extend_from_slice(&signature);
        Self { header, bytes }
    }

    /// Reconstructs a sealed envelope from bytes this node sealed earlier
    /// (from its own outbox), checking them with its own key.
    pub fn from_stored(bytes: Vec<u8>, own_key: &PublicKey) -> Result<Self, WireError> {
        let verified = UnverifiedEnvelope::parse(&bytes, usize::MAX)?.verify(own_key)?;
        let header = verified.header().clone();
        Ok(Self { header, bytes })
    }

    /// The header.
    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The digest of the whole envelope.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.bytes)
    }
}

/// Bytes received that have the shape of an envelope, not yet verified.
#[derive(Debug)]
pub struct UnverifiedEnvelope<'a> {
    bytes: &'a [u8],
    header: EnvelopeHeader,
    signed_len: usize,
    body_start: usize,
}

impl<'a> UnverifiedEnvelope<'a> {
    /// Reads the shape of `bytes`: size, magic, header. Nothing here is
    /// trusted until [`verify`](Self::verify) succeeds.
    pub fn parse(bytes: &'a [u8], limit: usize) -> Result<Self, WireError> {
        if bytes.len() > limit {
            return Err(WireError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| WireError::Malformed("does not start with `SOBERANA/1`".into()))?;
        let (len_bytes, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| WireError::Malformed("truncated before the header length".into()))?;
        let header_len = u32::from_be_bytes(*len_bytes) as usize;
        if header_len > MAX_HEADER_LEN {
            return Err(WireError::Malformed(format!(
                "header of {header_len} bytes is over the limit of {MAX_HEADER_LEN}"
            )));
        }
        if rest.len() < header_len + SIGNATURE_LEN {
            return Err(WireError::Malformed("truncated".into()));
        }
        let (header_bytes, rest) = rest.split_at(header_len);
        let header: EnvelopeHeader = serde_json::from_slice(header_bytes)
            .map_err(|e| WireError::Malformed(format!("header: {e}")))?;
        if header.v != WIRE_VERSION {
            return Err(WireError::Malformed(format!(
                "envelope version {} is not supported (this node speaks {WIRE_VERSION})",
                header.v
            )));
        }
        let canonical = serde_json::to_vec(&header).unwrap_or_default();
        if canonical != header_bytes {
            return Err(WireError::NonCanonical);
        }
        let body_len = rest.len() - SIGNATURE_LEN;
        if header.body_len != body_len as u64 {
            return Err(WireError::Malformed(format!(
                "header says {} body bytes, envelope has {body_len}",
                header.body_len
            )));
        }
        let body_start = MAGIC.len() + 4 + header_len;
        Ok(Self {
            bytes,
            header,
            signed_len: bytes.len() - SIGNATURE_LEN,
            body_start,
        })
    }

    /// The sender the envelope claims; use it only to find the key to verify with.
    pub fn claimed_sender(&self) -> PartyCode {
        self.header.sender
    }

    /// The header, unverified.
    pub fn unverified_header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// Checks the signature with `key` (the claimed sender's pinned key) and
    /// the body against its digest.
    pub fn verify(self, key: &PublicKey) -> Result<VerifiedEnvelope<'a>, WireError> {
        self.verify_any(std::slice::from_ref(key))
    }

    /// Checks the signature with any of `keys` (a sender's pinned key and
    /// the previous keys it still may use while a rotation overlaps) and
    /// the body against its digest.
    pub fn verify_any(self, keys: &[PublicKey]) -> Result<VerifiedEnvelope<'a>, WireError> {
        let (signed, signature) = self.bytes.split_at(self.signed_len);
        let signature: &[u8; 64] = signature
            .try_into()
            .map_err(|_| WireError::Malformed("signature is not 64 bytes".into()))?;
        if !keys.iter().any(|key| key.verify(signed, signature)) {
            return Err(WireError::BadSignature(self.header.sender.to_string()));
        }
        let body = signed
            .get(self.body_start..)
            .ok_or_else(|| WireError::Malformed("truncated".into()))?;
        if Digest::of(body) != self.header.body_digest {
            return Err(WireError::BodyDigest);
        }
        Ok(VerifiedEnvelope {
            bytes: self.bytes,
            header: self.header,
            body,
        })
    }
}

/// An envelope whose signature and body digest have been checked.
#[derive(Debug)]
pub struct VerifiedEnvelope<'a> {
    bytes: &'a [u8],
    header: EnvelopeHeader,
    body: &'a [u8],
}

impl VerifiedEnvelope<'_> {
    /// The header.
    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// The body's raw bytes.
    pub fn body_bytes(&self) -> &[u8] {
        self.body
    }

    /// The body, read as its declared kind.
    pub fn body(&self) -> Result<Body, WireError> {
        Body::parse(self.header.kind, self.body)
    }

    /// The digest of the whole envelope as received.
    pub fn digest(&self) -> Digest {
        Digest::of(self.bytes)
    }

    /// The whole envelope as received.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use soberana_core::{Outcome, ProposalId, Receipt};

    use super::*;

    fn party(code: &str) -> PartyCode {
        PartyCode::new(code).unwrap()
    }

    fn receipt() -> Body {
        Body::Receipt(Receipt {
            proposal_id: ProposalId::generate(),
            received_by: party("MX"),
            received_at: Timestamp::from_unix_millis(1_700_000_000_000),
            envelope_digest: "00".repeat(32),
            note: "received".into(),
        })
    }

    fn sealed() -> (NodeKey, SealedEnvelope) {
        let key = NodeKey::from_seed(&[1; 32]);
        let env = SealedEnvelope::seal(
            &key,
            party("MX"),
            party("US"),
            1,
            Timestamp::from_unix_millis(1_700_000_000_000),
            &receipt(),
        );
        (key, env)
    }

    #[test]
    fn a_sealed_envelope_verifies_and_reads_back() {
        let (key, env) = sealed();
        let unverified = UnverifiedEnvelope::parse(env.bytes(), MAX_ENVELOPE_BYTES).unwrap();
        assert_eq!(unverified.claimed_sender(), party("MX"));
        let verified = unverified.verify(&key.public()).unwrap();
        assert_eq!(verified.header(), env.header());
        assert_eq!(verified.digest(), env.digest());
        assert!(matches!(verified.body().unwrap(), Body::Receipt(_)));
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let (key, env) = sealed();
        for i in 0..env.bytes().len() {
            let mut bytes = env.bytes().to_vec();
            bytes[i] ^= 0x01;
            let result = UnverifiedEnvelope::parse(&bytes, MAX_ENVELOPE_BYTES)
                .and_then(|u| u.verify(&key.public()));
            assert!(result.is_err(), "flipping byte {i} went unnoticed");
        }
    }

    #[test]
    fn truncation_and_garbage_are_refused_without_panic() {
        let (key, env) = sealed();
        for len in 0..env.bytes().len() {
            let result = UnverifiedEnvelope::parse(&env.bytes()[..len], MAX_ENVELOPE_BYTES)
                .and_then(|u| u.verify(&key.public()));
            assert!(result.is_err(), "truncated to {len} accepted");
        }
        let mut long = env.bytes().to_vec();
        long.push(0);
        assert!(
            UnverifiedEnvelope::parse(&long, MAX_ENVELOPE_BYTES)
                .and_then(|u| u.verify(&key.public()))
                .is_err()
        );
    }

    #[test]
    fn a_forged_signature_names_the_sender() {
        let (_, env) = sealed();
        let impostor = NodeKey::from_seed(&[2; 32]);
        let err = UnverifiedEnvelope::parse(env.bytes(), MAX_ENVELOPE_BYTES)
            .unwrap()
            .verify(&impostor.public())
            .unwrap_err();
        assert_eq!(err, WireError::BadSignature("MX".into()));
    }

    #[test]
    fn oversized_envelopes_are_refused_before_parsing() {
        let (_, env) = sealed();
        let err = UnverifiedEnvelope::parse(env.bytes(), 10).unwrap_err();
        assert!(matches!(err, WireError::TooLarge { .. }));
    }

    #[test]
    fn non_canonical_headers_are_refused_even_when_signed() {
        // A sender that signs a header with extra whitespace produces a valid
        // signature over non-canonical bytes: refused all the same, so one
        // message cannot have two digests.
        let key = NodeKey::from_seed(&[1; 32]);
        let body = receipt().to_bytes();
        let header = EnvelopeHeader {
            v: 1,
            id: Uuid::nil(),
            sender: party("MX"),
            recipient: party("US"),
            sequence: 1,
            time: 0,
            kind: BodyKind::Receipt,
            body_len: body.len() as u64,
            body_digest: Digest::of(&body),
        };
        let pretty = serde_json::to_vec_pretty(&header).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(pretty.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&pretty);
        bytes.extend_from_slice(&body);
        let sig = key.sign(&bytes);
        bytes.extend_from_slice(&sig);
        assert_eq!(
            UnverifiedEnvelope::parse(&bytes, MAX_ENVELOPE_BYTES).unwrap_err(),
            WireError::NonCanonical
        );
    }

    #[test]
    fn unknown_fields_in_a_body_are_refused() {
        let json = br#"{"proposal_id":"0190a0b0-0000-7000-8000-000000000000","decided_by_party":"MX","outcome":{"outcome":"accepted"},"reasons":[],"decided_by":{"by":"policy"},"policy_digest":"x","decided_at":"2025-01-01T00:00:00Z","execute":"rm -rf"}"#;
        assert!(Body::parse(BodyKind::Decision, json).is_err());
        let ok = br#"{"proposal_id":"0190a0b0-0000-7000-8000-000000000000","decided_by_party":"MX","outcome":{"outcome":"accepted"},"reasons":[],"decided_by":{"by":"policy"},"policy_digest":"x","decided_at":"2025-01-01T00:00:00Z"}"#;
        match Body::parse(BodyKind::Decision, ok).unwrap() {
            Body::Decision(d) => assert_eq!(d.outcome, Outcome::Accepted),
            other => panic!("{other:?}"),
        }
    }
}
