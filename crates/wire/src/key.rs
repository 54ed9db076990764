//! Node signing keys.
//!
//! A node's Ed25519 key signs every envelope, party card and checkpoint it
//! issues. The private half lives only in [`NodeKey`], whose `Debug` prints
//! nothing secret and whose memory is wiped on drop; it is written to disk by
//! the node with mode 0600 and never logged.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::WireError;

/// A node's private signing key.
pub struct NodeKey(SigningKey);

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, WireError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut())
            .map_err(|e| WireError::Key(format!("no randomness from the system: {e}")))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// Reads a key file's text: the seed as 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, WireError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), seed.as_mut())
            .map_err(|_| WireError::Key("a signing key file must hold 64 hex digits".into()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key file's text. Handle with care: this is the secret.
    pub fn to_hex_secret(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.to_bytes()))
    }

    /// The 32-byte seed. Handle with care: this is the secret.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The underlying dalek key, for crates that sign other formats
    /// (checkpoints, cosignatures) with the same key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey(public {})", self.public())
    }
}

/// A node's public verifying key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, WireError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| WireError::Key("not a valid Ed25519 public key".into()))
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, WireError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| WireError::Key(format!("`{text}` is not 64 hex digits")))?;
        Self::from_bytes(&bytes)
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key as hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Whether `signature` over `message` was made by this key. Uses strict
    /// verification, which refuses malleable and small-order signatures.
    /// The strict check is the plain one (the same checks of `s`, the same
    /// equation, the same comparison with `R` as encoded) with small-order
    /// `R` and keys refused on top, so whatever it accepts the plain check
    /// accepts too: it is not run a second time (each costs a double scalar
    /// multiplication, the dearest step of taking an envelope in).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }

    /// The underlying dalek key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = NodeKey::generate().unwrap();
        let secret = key.to_hex_secret();
        let shown = format!("{key:?}");
        assert!(!shown.contains(secret.as_str()));
        assert!(shown.contains(&key.public().to_hex()));
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = NodeKey::from_seed(&[7; 32]);
        let other = NodeKey::from_seed(&[8; 32]);
        let sig = key.sign(b"proposal");
        assert!(key.public().verify(b"proposal", &sig));
        assert!(!key.public().verify(b"proposal!", &sig));
        assert!(!other.public().verify(b"proposal", &sig));
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert!(!key.public().verify(b"proposal", &flipped));
    }

    /// The small-order key and signature that plain Ed25519 verification
    /// takes for any message (the identity as key and as `R`, `s` zero) are
    /// refused, and so is a signature whose `s` is not reduced.
    #[test]
    fn small_order_and_malleable_signatures_are_refused() {
        use ed25519_dalek::Verifier as _;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = PublicKey::from_bytes(&identity).unwrap();
        let mut forged = [0u8; 64];
        forged[0] = 1;
        assert!(
            weak.verifying_key()
                .verify(b"any message", &Signature::from_bytes(&forged))
                .is_ok(),
            "plain verification takes it"
        );
        assert!(!weak.verify(b"any message", &forged));

        let key = NodeKey::from_seed(&[7; 32]);
        let mut signature = key.sign(b"message");
        assert!(key.public().verify(b"message", &signature));
        // s + l, the group order: the same point equation, another encoding.
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in signature[32..].iter_mut().zip(order) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert!(!key.public().verify(b"message", &signature));
    }

    #[test]
    fn key_files_round_trip() {
        let key = NodeKey::generate().unwrap();
        let again = NodeKey::from_hex(&key.to_hex_secret()).unwrap();
        assert_eq!(again.public(), key.public());
        assert!(NodeKey::from_hex("not a key").is_err());
    }
}
