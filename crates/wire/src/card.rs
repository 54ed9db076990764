//! Party cards: what one node publishes so that another can pin it.
//!
//! A card names the party, the address of its node, the Ed25519 key that
//! signs its envelopes and checkpoints, and the SHA-256 fingerprint of its
//! TLS certificate. It is self-signed, which proves the holder of the key
//! made it; that the key really is the partner's is established out of band,
//! by comparing the card's fingerprint over an official channel before
//! `soberana peer add`.

use serde::{Deserialize, Serialize};
use soberana_core::{PartyCode, Timestamp};

use crate::{Digest, NodeKey, PublicKey, WireError};

/// The version of the card format.
pub const CARD_VERSION: u8 = 1;

/// A node's public description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyCard {
    /// Format version; always [`CARD_VERSION`].
    pub version: u8,
    /// The party.
    pub party: PartyCode,
    /// The party's name.
    pub name: String,
    /// The node's address, `https://host:port`.
    pub endpoint: String,
    /// The key that signs the node's envelopes, cards and checkpoints.
    pub signing_key: PublicKey,
    /// The SHA-256 digest of the node's TLS certificate (DER).
    pub tls_cert_sha256: Digest,
    /// The node's TLS certificate, PEM, so the partner can trust exactly it.
    pub tls_cert_pem: String,
    /// The name of the node's log (its checkpoint origin line).
    pub log_origin: String,
    /// When the card was made.
    pub issued: Timestamp,
}

impl PartyCard {
    /// A short fingerprint of the card's keys, to compare over the phone.
    pub fn fingerprint(&self) -> String {
        let mut material = Vec::with_capacity(64);
        material.extend_from_slice(self.signing_key.as_bytes());
        material.extend_from_slice(self.tls_cert_sha256.as_bytes());
        let digest = Digest::of(&material).to_hex();
        digest
            .as_bytes()
            .chunks(4)
            .take(8)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A card with its signature by the card's own signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCard {
    /// The card.
    pub card: PartyCard,
    /// Hex Ed25519 signature over the card's compact JSON.
    pub signature: String,
}

impl SignedCard {
    /// Signs `card` with `key`, which must be the card's signing key.
    pub fn sign(card: PartyCard, key: &NodeKey) -> Result<Self, WireError> {
        if key.public() != card.signing_key {
            return Err(WireError::Card(
                "the card must be signed by the key it names".into(),
            ));
        }
        let bytes = card_bytes(&card)?;
        Ok(Self {
            signature: hex::encode(key.sign(&bytes)),
            card,
        })
    }

    /// Parses a card file and checks its signature.
    pub fn parse(text: &str) -> Result<PartyCard, WireError> {
        let signed: SignedCard = serde_json::from_str(text)
            .map_err(|e| WireError::Card(format!("not a party card: {e}")))?;
        signed.verify()
    }

    /// Checks the signature and the version; returns the card.
    pub fn verify(self) -> Result<PartyCard, WireError> {
        if self.card.version != CARD_VERSION {
            return Err(WireError::Card(format!(
                "card version {} is not supported",
                self.card.version
            )));
        }
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut signature)
            .map_err(|_| WireError::Card("signature is not 128 hex digits".into()))?;
        let bytes = card_bytes(&self.card)?;
        if !self.card.signing_key.verify(&bytes, &signature) {
            return Err(WireError::Card(
                "signature does not match the card's signing key".into(),
            ));
        }
        Ok(self.card)
    }

    /// The card file's text.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn card_bytes(card: &PartyCard) -> Result<Vec<u8>, WireError> {
    let mut bytes = b"soberana party card\n".to_vec();
    let json = serde_json::to_vec(card).map_err(|e| WireError::Card(e.to_string()))?;
    bytes.extend_from_slice(&json);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(key: &NodeKey) -> PartyCard {
        PartyCard {
            version: CARD_VERSION,
            party: PartyCode::new("MX").unwrap(),
            name: "Estados Unidos Mexicanos".into(),
            endpoint: "https://127.0.0.1:7443".into(),
            signing_key: key.public(),
            tls_cert_sha256: Digest::of(b"cert"),
            tls_cert_pem: String::new(),
            log_origin: "soberana.mx/log".into(),
            issued: Timestamp::from_unix_millis(0),
        }
    }

    #[test]
    fn a_signed_card_round_trips() {
        let key = NodeKey::from_seed(&[3; 32]);
        let text = SignedCard::sign(card(&key), &key).unwrap().to_text();
        assert_eq!(SignedCard::parse(&text).unwrap(), card(&key));
    }

    #[test]
    fn an_edited_card_is_refused() {
        let key = NodeKey::from_seed(&[3; 32]);
        let mut signed = SignedCard::sign(card(&key), &key).unwrap();
        signed.card.endpoint = "https://203.0.113.9:7443".into();
        assert!(signed.verify().is_err());
    }

    #[test]
    fn a_card_signed_by_another_key_is_refused() {
        let key = NodeKey::from_seed(&[3; 32]);
        let other = NodeKey::from_seed(&[4; 32]);
        assert!(SignedCard::sign(card(&key), &other).is_err());
        let mut signed = SignedCard::sign(card(&key), &key).unwrap();
        signed.card.signing_key = other.public();
        assert!(signed.verify().is_err());
    }
}
