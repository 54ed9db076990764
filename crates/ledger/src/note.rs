//! C2SP signed notes (<https://c2sp.org/signed-note>) and their keys.
//!
//! A note is UTF-8 text followed by a blank line and one or more signature
//! lines `— <name> base64(key id || signature)`. Verifier keys travel as
//! `name+hash+base64(type || public key)`. Two signature types are supported,
//! because those are the two the ledger uses: `0x01` plain Ed25519 (the log's
//! own checkpoint signature) and `0x04` the timestamped Ed25519 cosignature of
//! <https://c2sp.org/tlog-cosignature> (the partner's witness signature).
//! Everything here parses peer-controlled text, so nothing panics and every
//! size is bounded.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Largest note accepted, signatures included. Checkpoints are a few hundred
/// bytes; the bound stops a peer from making us buffer or scan megabytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Most signature lines accepted on one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The header line of the cosignature/v1 signed message.
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// Signature types from the signed-note registry that the ledger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature (tlog-cosignature v1).
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte from the signed-note registry.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    /// The type for an identifier byte, if supported.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// A problem with a key name or a verifier key string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key name is empty or holds a space, a `+` or a control character.
    #[error(
        "key name `{0}` is not valid; a key name must be non-empty, without spaces, `+` or control characters"
    )]
    BadName(String),
    /// The verifier key is not `name+hash+base64`.
    #[error(
        "verifier key `{0}` is malformed; expected `name+8 hex digits+base64(type || public key)`"
    )]
    Malformed(String),
    /// The key type byte is not one the ledger supports.
    #[error(
        "verifier key type 0x{0:02x} is not supported; use 0x01 (Ed25519) or 0x04 (cosignature/v1)"
    )]
    UnsupportedType(u8),
    /// The public key is not a valid Ed25519 point.
    #[error("the public key in the verifier key is not a valid Ed25519 key")]
    BadPublicKey,
    /// The hash in the verifier key does not match its name and key.
    #[error("the key id {given:08x} does not match the name and key (expected {computed:08x})")]
    IdMismatch {
        /// The id written in the verifier key.
        given: u32,
        /// The id computed from name, type and key.
        computed: u32,
    },
    /// A key of the wrong type was supplied.
    #[error("expected a {expected:?} key, got a {got:?} key")]
    WrongType {
        /// What the caller needed.
        expected: SignatureType,
        /// What it got.
        got: SignatureType,
    },
}

/// A problem with a note or one of its signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note exceeds [`MAX_NOTE_BYTES`].
    #[error("the note is {0} bytes; at most 65536 are accepted")]
    TooLarge(usize),
    /// A control character other than newline appears.
    #[error("the note contains a control character; only newline is allowed")]
    ControlCharacter,
    /// The text is empty or does not end in a newline.
    #[error("the note text must be non-empty and end with a newline")]
    BadText,
    /// There is no blank line separating text from signatures.
    #[error("the note has no blank line before its signatures")]
    NoSignatureBlock,
    /// A signature line is malformed.
    #[error("signature line `{0}` is malformed; expected `— <name> <base64>`")]
    BadSignatureLine(String),
    /// Too many signature lines.
    #[error("the note has {0} signatures; at most 100 are accepted")]
    TooManySignatures(usize),
    /// A known key's signature did not verify: the whole note is refused.
    #[error(
        "the signature by `{0}` does not verify; the note was altered or signed with another key"
    )]
    BadSignature(String),
    /// No known key signed the note.
    #[error("no signature on the note is from a trusted key; check the verifier key and origin")]
    NoTrustedSignature,
}

/// Checks a key name: non-empty, no Unicode spaces, no `+`, no control characters.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The signed-note key id: `SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, kind: SignatureType, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', kind.byte()]);
    hasher.update(public_key);
    let digest: [u8; 32] = hasher.finalize().into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// A public key that can check note signatures: name, key id, type and key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    kind: SignatureType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier for `key` under `name`, with the key id computed.
    pub fn new(name: &str, kind: SignatureType, key: VerifyingKey) -> Result<Self, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        let id = key_id(name, kind, key.as_bytes());
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            kind,
            key,
        })
    }

    /// Parses `name+hash+base64(type || public key)`; the hash must match.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        let malformed = || KeyError::Malformed(vkey.chars().take(200).collect());
        // Names never hold `+`, but standard base64 can: split twice only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        if !valid_name(name) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        let given = u32::from_str_radix(hash, 16).map_err(|_| malformed())?;
        let raw = BASE64.decode(key).map_err(|_| malformed())?;
        let Some((&type_byte, public)) = raw.split_first() else {
            return Err(malformed());
        };
        let kind =
            SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
        let public: [u8; 32] = public.try_into().map_err(|_| malformed())?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| KeyError::BadPublicKey)?;
        let parsed = VerifierKey::new(name, kind, key)?;
        if parsed.id != given {
            return Err(KeyError::IdMismatch {
                given,
                computed: parsed.id,
            });
        }
        Ok(parsed)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn kind(&self) -> SignatureType {
        self.kind
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether a signature line claims to be from this key (name and id both
    /// match; the spec requires ignoring lines that match only one).
    pub fn claims(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.id
    }

    /// Checks a signature (already claimed by this key) over `text`; returns
    /// the cosignature timestamp for type `0x04`.
    pub fn check(&self, text: &str, sig: &NoteSignature) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature(sig.name.clone());
        match self.kind {
            SignatureType::Ed25519 => {
                let signature = Signature::from_slice(&sig.signature).map_err(|_| bad())?;
                self.key
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let (timestamp, signature) = sig.signature.split_at_checked(8).ok_or_else(bad)?;
                let timestamp: [u8; 8] = timestamp.try_into().map_err(|_| bad())?;
                let timestamp = u64::from_be_bytes(timestamp);
                if timestamp > i64::MAX as u64 {
                    return Err(bad());
                }
                let signature = Signature::from_slice(signature).map_err(|_| bad())?;
                let message = cosignature_message(text, timestamp);
                self.key
                    .verify_strict(message.as_bytes(), &signature)
                    .map_err(|_| bad())?;
                Ok(Some(timestamp))
            }
        }
    }
}

/// The cosignature/v1 signed message: header line, timestamp line, then the
/// whole checkpoint body (c2sp.org/tlog-cosignature, "Ed25519 signed message").
pub fn cosignature_message(body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{body}")
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.kind.byte());
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(raw))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl Serialize for VerifierKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VerifierKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        VerifierKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A private key that signs notes: a name, a type and an Ed25519 key.
///
/// `Debug` never shows the key; there is deliberately no `Display`.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    kind: SignatureType,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, kind: SignatureType, seed: &[u8; 32]) -> Result<Self, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        Ok(NoteSigner {
            name: name.to_owned(),
            kind,
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Parses a private key in the Go `sumdb/note` text form,
    /// `PRIVATE+KEY+name+hash+base64(type || seed)`; the hash must match.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        // Never echo the key text in an error: it is a secret.
        let malformed = || KeyError::Malformed("PRIVATE+KEY+…".to_owned());
        let rest = skey.strip_prefix("PRIVATE+KEY+").ok_or_else(malformed)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        let given = u32::from_str_radix(hash, 16).map_err(|_| malformed())?;
        let raw = zeroize::Zeroizing::new(BASE64.decode(key).map_err(|_| malformed())?);
        let Some((&type_byte, seed)) = raw.split_first() else {
            return Err(malformed());
        };
        let kind =
            SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
        let seed: zeroize::Zeroizing<[u8; 32]> =
            zeroize::Zeroizing::new(seed.try_into().map_err(|_| malformed())?);
        let signer = NoteSigner::from_seed(name, kind, &seed)?;
        let computed = signer.verifier().key_id();
        if computed != given {
            return Err(KeyError::IdMismatch { given, computed });
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature type.
    pub fn kind(&self) -> SignatureType {
        self.kind
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, self.kind, key.as_bytes()),
            kind: self.kind,
            key,
        }
    }

    /// Signs note text. For a cosigner, `timestamp` (POSIX seconds) is bound
    /// into the signature; a plain Ed25519 signer ignores it.
    pub fn sign(&self, text: &str, timestamp: u64) -> NoteSignature {
        let id = key_id(&self.name, self.kind, self.key.verifying_key().as_bytes());
        let signature = match self.kind {
            SignatureType::Ed25519 => self.key.sign(text.as_bytes()).to_bytes().to_vec(),
            SignatureType::CosignatureV1 => {
                // The spec bounds the timestamp to 2^63 - 1.
                let timestamp = timestamp.min(i64::MAX as u64);
                let message = cosignature_message(text, timestamp);
                let mut out = timestamp.to_be_bytes().to_vec();
                out.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
                out
            }
        };
        NoteSignature {
            name: self.name.clone(),
            key_id: id,
            signature,
        }
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 32-bit key id.
    pub key_id: u32,
    /// The signature bytes after the key id (for cosignatures: timestamp || signature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one line, without its newline: `— <name> <base64>`.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::BadSignatureLine(line.chars().take(120).collect());
        let rest = line.strip_prefix("\u{2014} ").ok_or_else(bad)?;
        let (name, b64) = rest.split_once(' ').ok_or_else(bad)?;
        if !valid_name(name) {
            return Err(bad());
        }
        let raw = BASE64.decode(b64).map_err(|_| bad())?;
        if raw.len() < 5 {
            return Err(bad());
        }
        let (id, signature) = raw.split_at(4);
        let id: [u8; 4] = id.try_into().map_err(|_| bad())?;
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(id),
            signature: signature.to_vec(),
        })
    }

    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, BASE64.encode(raw))
    }
}

/// What a verified signature established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedSignature {
    /// The key name.
    pub name: String,
    /// The key's type.
    pub kind: SignatureType,
    /// For a cosignature, the POSIX time the cosigner stated.
    pub timestamp: Option<u64>,
}

/// A signed note: text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_chars(text: &str) -> Result<(), NoteError> {
    if text.chars().any(|c| c != '\n' && (c as u32) < 0x20) {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

impl Note {
    /// An unsigned note around `text` (non-empty, ending in a newline).
    pub fn new(text: &str) -> Result<Self, NoteError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(text.len()));
        }
        check_chars(text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::BadText);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Signatures are not checked here: see [`Note::verify`].
    pub fn parse(message: &str) -> Result<Self, NoteError> {
        if message.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(message.len()));
        }
        check_chars(message)?;
        // The text is separated from the signatures by the last blank line.
        let split = message.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&message[..=split], &message[split + 2..]);
        if text.len() < 2 {
            return Err(NoteError::BadText);
        }
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::NoSignatureBlock);
        };
        if block.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures(block.split('\n').count()));
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing any earlier line from the same name and id.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(self.signatures.len() + 1));
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Signs with `signer` and adds the signature.
    pub fn sign(&mut self, signer: &NoteSigner, timestamp: u64) -> Result<(), NoteError> {
        let sig = signer.sign(&self.text, timestamp);
        self.add_signature(sig)
    }

    /// Verifies against the trusted `keys`, following the spec: lines from
    /// unknown keys are ignored, a known key whose signature fails rejects the
    /// whole note, and at least one known key must have signed.
    pub fn verify(&self, keys: &[&VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            for key in keys.iter().filter(|k| k.claims(sig)) {
                let timestamp = key.check(&self.text, sig)?;
                verified.push(VerifiedSignature {
                    name: key.name.clone(),
                    kind: key.kind,
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(verified)
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESSERA_VKEY: &str =
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

    fn signer(kind: SignatureType) -> NoteSigner {
        NoteSigner::from_seed("example.org/test", kind, &[9; 32]).unwrap()
    }

    #[test]
    fn vkey_round_trips_and_id_is_checked() {
        let key = VerifierKey::parse(TESSERA_VKEY).unwrap();
        assert_eq!(key.name(), "example.com/log/testdata");
        assert_eq!(key.key_id(), 0x33d7b496);
        assert_eq!(key.kind(), SignatureType::Ed25519);
        assert_eq!(key.to_string(), TESSERA_VKEY);
        let wrong_id = TESSERA_VKEY.replace("33d7b496", "33d7b497");
        assert!(matches!(
            VerifierKey::parse(&wrong_id),
            Err(KeyError::IdMismatch { .. })
        ));
    }

    #[test]
    fn malformed_vkeys_are_refused() {
        let cases = [
            "",
            "name",
            "name+33d7b496",
            "+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
            "example.com/log/testdata+33d7b4+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
            "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx+x",
            "example.com/log/testdata+33d7b496+!!!",
            "example.com/log/testdata+33d7b496+AQ==",
            "a b+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
        ];
        for case in cases {
            assert!(VerifierKey::parse(case).is_err(), "accepted `{case}`");
        }
        // Type 0x02 (ECDSA) is not supported.
        let ecdsa = format!("n+00000000+{}", BASE64.encode([2u8; 33]));
        assert_eq!(
            VerifierKey::parse(&ecdsa),
            Err(KeyError::UnsupportedType(2))
        );
    }

    #[test]
    fn sign_parse_verify_round_trip_with_two_signers() {
        let log = signer(SignatureType::Ed25519);
        let witness =
            NoteSigner::from_seed("witness.example/w", SignatureType::CosignatureV1, &[3; 32])
                .unwrap();
        let mut note = Note::new("hello\nworld\n").unwrap();
        note.sign(&log, 0).unwrap();
        note.sign(&witness, 1_700_000_000).unwrap();
        let text = note.to_text();
        let parsed = Note::parse(&text).unwrap();
        assert_eq!(parsed, note);
        let (lv, wv) = (log.verifier(), witness.verifier());
        let ok = parsed.verify(&[&lv, &wv]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].timestamp, Some(1_700_000_000));
        // Verifying with only one known key ignores the other line.
        assert_eq!(parsed.verify(&[&wv]).unwrap().len(), 1);
    }

    #[test]
    fn unknown_keys_are_ignored_but_a_failing_known_key_rejects() {
        let log = signer(SignatureType::Ed25519);
        let mut note = Note::new("text\n").unwrap();
        note.sign(&log, 0).unwrap();
        // A line with the same name but a different id is an unknown key.
        note.add_signature(NoteSignature {
            name: log.name().to_owned(),
            key_id: 1,
            signature: vec![0; 64],
        })
        .unwrap();
        assert_eq!(note.verify(&[&log.verifier()]).unwrap().len(), 1);
        // A line with the right name and id but a wrong signature rejects the note.
        let mut forged = Note::new("text\n").unwrap();
        let mut sig = log.sign("other\n", 0);
        forged.add_signature(sig.clone()).unwrap();
        assert_eq!(
            forged.verify(&[&log.verifier()]),
            Err(NoteError::BadSignature(log.name().to_owned()))
        );
        // Truncated signature bytes are a failed signature, not a panic.
        sig.signature.truncate(10);
        let mut short = Note::new("text\n").unwrap();
        short.add_signature(sig).unwrap();
        assert!(short.verify(&[&log.verifier()]).is_err());
        // No known key at all.
        let other = NoteSigner::from_seed("other", SignatureType::Ed25519, &[1; 32]).unwrap();
        assert_eq!(
            note.verify(&[&other.verifier()]),
            Err(NoteError::NoTrustedSignature)
        );
    }

    #[test]
    fn cosignature_timestamp_is_bound() {
        let witness = signer(SignatureType::CosignatureV1);
        let mut sig = witness.sign("body\n", 100);
        sig.signature[7] ^= 1; // claim time 101
        let mut note = Note::new("body\n").unwrap();
        note.add_signature(sig).unwrap();
        assert!(note.verify(&[&witness.verifier()]).is_err());
    }

    #[test]
    fn malformed_notes_are_refused() {
        let log = signer(SignatureType::Ed25519);
        let good = {
            let mut n = Note::new("a\n").unwrap();
            n.sign(&log, 0).unwrap();
            n.to_text()
        };
        let line = good.lines().last().unwrap().to_owned();
        let cases: Vec<(String, &str)> = vec![
            ("a\n".into(), "no blank line"),
            ("a\n\n".into(), "no signatures"),
            (format!("a\n\n{line}"), "no final newline"),
            (format!("\n\n{line}\n"), "empty text"),
            (format!("a\x01\n\n{line}\n"), "control character"),
            (format!("a\n\n{line}\n\n"), "blank after signatures"),
            ("a\n\n- name AAAAAAA=\n".into(), "hyphen instead of em dash"),
            ("a\n\n\u{2014} name\n".into(), "no signature"),
            ("a\n\n\u{2014} name AAAA\n".into(), "signature too short"),
            ("a\n\n\u{2014} na+me AAAAAAA=\n".into(), "plus in name"),
            ("a\n\n\u{2014} name !!!!\n".into(), "not base64"),
            ("x".repeat(MAX_NOTE_BYTES + 1), "too large"),
        ];
        for (text, why) in cases {
            assert!(Note::parse(&text).is_err(), "accepted note with {why}");
        }
        let many = format!("a\n\n{}", format!("{line}\n").repeat(MAX_SIGNATURES + 1));
        assert!(matches!(
            Note::parse(&many),
            Err(NoteError::TooManySignatures(_))
        ));
        assert!(Note::parse(&good).is_ok());
    }

    #[test]
    fn signer_debug_hides_the_key() {
        let s = format!("{:?}", signer(SignatureType::Ed25519));
        assert!(!s.contains("09"), "{s}");
        assert!(s.contains("example.org/test"));
    }
}
