//! Checkpoints in the C2SP `tlog-checkpoint` format, signed as C2SP notes,
//! and the C2SP `tlog-cosignature` v1 witness cosignatures applied to them.
//!
//! A checkpoint body is `origin\nsize\nbase64(root)\n` plus optional
//! non-empty extension lines (<https://c2sp.org/tlog-checkpoint>). The log
//! signs it with an Ed25519 (`0x01`) note key whose name is the origin; a
//! witness adds a cosignature (`0x04`) line over
//! `cosignature/v1\ntime <t>\n<body>` (<https://c2sp.org/tlog-cosignature>).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::Hash;
use crate::note::{
    KeyError, Note, NoteError, NoteSignature, NoteSigner, SignatureType, VerifiedSignature,
    VerifierKey,
};

/// A problem with a checkpoint body or its signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The body does not follow tlog-checkpoint.
    #[error("checkpoint body is malformed: {0}")]
    Malformed(&'static str),
    /// The note around the checkpoint is malformed or its signatures fail.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A key was of the wrong type or malformed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The origin line is not the name of the log key.
    #[error("checkpoint origin `{origin}` does not match the log key name `{key}`")]
    OriginMismatch {
        /// The origin in the checkpoint.
        origin: String,
        /// The key name.
        key: String,
    },
}

/// An unsigned checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint with no extension lines. The origin must be a non-empty
    /// line without control characters.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::Malformed(
                "origin must be a non-empty single line",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parses a body (the note text, final newline included).
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(CheckpointError::Malformed("body must end with a newline"));
        };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("origin line is empty"));
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("size line is missing"))?;
        let size = parse_size(size)?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("root line is missing"))?;
        let root = Hash::from_base64(root).ok_or(CheckpointError::Malformed(
            "root line is not base64 of 32 bytes",
        ))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed(
                "extension lines must not be empty",
            ));
        }
        if origin.chars().any(char::is_control)
            || extensions.iter().any(|e| e.chars().any(char::is_control))
        {
            return Err(CheckpointError::Malformed("control character in a line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree root.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines, if any.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The body as signed: origin, size, root, extensions, each newline-terminated.
    pub fn to_body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Decimal without leading zeros, fitting in 64 bits.
fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let bad = CheckpointError::Malformed("size must be a decimal number without leading zeros");
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return Err(bad);
    }
    text.parse().map_err(|_| bad)
}

/// A checkpoint together with its signed note (log signature, cosignatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with the log key; its name must be the origin.
    pub fn sign(checkpoint: Checkpoint, log_key: &NoteSigner) -> Result<Self, CheckpointError> {
        if log_key.kind() != SignatureType::Ed25519 {
            return Err(KeyError::WrongType {
                expected: SignatureType::Ed25519,
                got: log_key.kind(),
            }
            .into());
        }
        if log_key.name() != checkpoint.origin {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key: log_key.name().to_owned(),
            });
        }
        let mut note = Note::new(&checkpoint.to_body())?;
        note.sign(log_key, 0)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Parses a signed checkpoint and verifies the log's signature. The log
    /// key must be an Ed25519 key named like the origin line.
    pub fn verify(text: &str, log_key: &VerifierKey) -> Result<Self, CheckpointError> {
        let parsed = Self::parse_unverified(text)?;
        parsed.check_log_signature(log_key)?;
        Ok(parsed)
    }

    /// Parses without checking any signature: for evidence that will be
    /// checked later with [`SignedCheckpoint::check_log_signature`].
    pub fn parse_unverified(text: &str) -> Result<Self, CheckpointError> {
        let note = Note::parse(text)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Checks the log's own signature.
    pub fn check_log_signature(&self, log_key: &VerifierKey) -> Result<(), CheckpointError> {
        if log_key.kind() != SignatureType::Ed25519 {
            return Err(KeyError::WrongType {
                expected: SignatureType::Ed25519,
                got: log_key.kind(),
            }
            .into());
        }
        if log_key.name() != self.checkpoint.origin {
            return Err(CheckpointError::OriginMismatch {
                origin: self.checkpoint.origin.clone(),
                key: log_key.name().to_owned(),
            });
        }
        self.note.verify(&[log_key])?;
        Ok(())
    }

    /// Checks the cosignature of one witness and returns its timestamp.
    pub fn check_cosignature(&self, witness: &VerifierKey) -> Result<u64, CheckpointError> {
        if witness.kind() != SignatureType::CosignatureV1 {
            return Err(KeyError::WrongType {
                expected: SignatureType::CosignatureV1,
                got: witness.kind(),
            }
            .into());
        }
        let verified = self.note.verify(&[witness])?;
        Ok(verified
            .iter()
            .filter_map(|v| v.timestamp)
            .max()
            .unwrap_or_default())
    }

    /// Verifies the log signature and every listed witness's cosignature.
    pub fn verify_all(
        &self,
        log_key: &VerifierKey,
        witnesses: &[VerifierKey],
    ) -> Result<Vec<VerifiedSignature>, CheckpointError> {
        self.check_log_signature(log_key)?;
        let mut out = Vec::new();
        for w in witnesses {
            let t = self.check_cosignature(w)?;
            out.push(VerifiedSignature {
                name: w.name().to_owned(),
                kind: SignatureType::CosignatureV1,
                timestamp: Some(t),
            });
        }
        Ok(out)
    }

    /// Produces a witness cosignature on this checkpoint at `timestamp`
    /// (POSIX seconds). The caller is responsible for having checked
    /// consistency first; see [`crate::Witness`].
    pub fn cosign(
        &self,
        witness: &NoteSigner,
        timestamp: u64,
    ) -> Result<NoteSignature, CheckpointError> {
        if witness.kind() != SignatureType::CosignatureV1 {
            return Err(KeyError::WrongType {
                expected: SignatureType::CosignatureV1,
                got: witness.kind(),
            }
            .into());
        }
        Ok(witness.sign(self.note.text(), timestamp))
    }

    /// Attaches a cosignature line received from a witness, after checking it
    /// with that witness's key. Returns its timestamp.
    pub fn attach_cosignature(
        &mut self,
        line: &NoteSignature,
        witness: &VerifierKey,
    ) -> Result<u64, CheckpointError> {
        let mut candidate = self.note.clone();
        candidate.add_signature(line.clone())?;
        let with = SignedCheckpoint {
            checkpoint: self.checkpoint.clone(),
            note: candidate,
        };
        let t = with.check_cosignature(witness)?;
        *self = with;
        Ok(t)
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The whole note as text.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Serialize for SignedCheckpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for SignedCheckpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SignedCheckpoint::parse_unverified(&text).map_err(serde::de::Error::custom)
    }
}

/// Verifies any C2SP checkpoint note against one verifier key string and
/// returns its body. The key must be an Ed25519 (`0x01`) key named like the
/// origin; other signatures on the note are ignored.
pub fn verify_checkpoint_text(note: &str, vkey: &str) -> Result<Checkpoint, CheckpointError> {
    let key = VerifierKey::parse(vkey)?;
    Ok(SignedCheckpoint::verify(note, &key)?.checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_leaf;

    #[test]
    fn body_round_trip_with_extensions() {
        let body =
            "example.com/log\n42\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\next one\next two\n";
        let cp = Checkpoint::parse(body).unwrap();
        assert_eq!(cp.size(), 42);
        assert_eq!(cp.extensions(), ["ext one", "ext two"]);
        assert_eq!(cp.to_body(), body);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=";
        let cases = [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            "o\n1\nZG9uJ3QgY2FyZSAx\n".to_owned(),
            "o\n1\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
        ];
        for case in cases {
            assert!(Checkpoint::parse(&case).is_err(), "accepted {case:?}");
        }
    }

    #[test]
    fn sign_verify_cosign() {
        let log =
            NoteSigner::from_seed("mx.example/log", SignatureType::Ed25519, &[1; 32]).unwrap();
        let witness =
            NoteSigner::from_seed("us.example/witness", SignatureType::CosignatureV1, &[2; 32])
                .unwrap();
        let cp = Checkpoint::new("mx.example/log", 5, hash_leaf(b"r")).unwrap();
        let mut signed = SignedCheckpoint::sign(cp, &log).unwrap();
        let line = signed.cosign(&witness, 1_763_800_000).unwrap();
        assert_eq!(
            signed
                .attach_cosignature(&line, &witness.verifier())
                .unwrap(),
            1_763_800_000
        );
        let text = signed.to_text();
        let back = SignedCheckpoint::verify(&text, &log.verifier()).unwrap();
        back.verify_all(&log.verifier(), &[witness.verifier()])
            .unwrap();
        // The log key cannot stand in for the witness key or the other way round.
        assert!(back.check_cosignature(&log.verifier()).is_err());
        assert!(SignedCheckpoint::verify(&text, &witness.verifier()).is_err());
        // A forged cosignature is not attached.
        let mut forged = line.clone();
        forged.signature[20] ^= 1;
        let mut copy = back.clone();
        assert!(
            copy.attach_cosignature(&forged, &witness.verifier())
                .is_err()
        );
        assert_eq!(copy, back);
        // Altering the size invalidates the log signature.
        let altered = text.replacen("\n5\n", "\n6\n", 1);
        assert!(SignedCheckpoint::verify(&altered, &log.verifier()).is_err());
    }

    #[test]
    fn origin_must_match_key_name() {
        let log = NoteSigner::from_seed("a.example/log", SignatureType::Ed25519, &[1; 32]).unwrap();
        let cp = Checkpoint::new("b.example/log", 1, hash_leaf(b"")).unwrap();
        assert!(matches!(
            SignedCheckpoint::sign(cp, &log),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }
}
