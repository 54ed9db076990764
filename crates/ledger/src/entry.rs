//! Log entries: what each leaf of the ledger records, and its one canonical
//! byte encoding.
//!
//! A leaf hash is only meaningful if every party turns an entry into the same
//! bytes, so the encoding is fixed and hand-written rather than left to a
//! serializer: a version byte (`1`), a type tag, then the fields in declared
//! order (integers as big-endian `u64`, digests as 32 raw bytes, text as a
//! big-endian `u32` length and UTF-8, enums as one byte). Decoding is strict
//! (no trailing bytes, no unknown tags, no oversize text), so decoding and
//! re-encoding always gives the same bytes. Entries hold digests and headers,
//! never payloads, and use only plain types so that no other soberana crate
//! has to compile first.
//!
//! This file is long because each entry kind's encoding and decoding sit
//! side by side (an entry has exactly one encoding, so both halves change
//! together), with the tests that pin them.

use serde::{Deserialize, Serialize};

/// The encoding version written in the first byte of every entry.
pub const ENTRY_VERSION: u8 = 1;

/// Longest text field accepted, in bytes. Identifiers, names and reasons are
/// short; the bound keeps a hostile entry from carrying a payload.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Why an entry could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A text field is longer than [`MAX_TEXT_BYTES`].
    #[error("field `{field}` is {len} bytes; at most 4096 are allowed in a log entry")]
    TextTooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The first byte is not a known encoding version.
    #[error("entry encoding version {0} is not supported; this build reads version 1")]
    UnknownVersion(u8),
    /// The type tag is unknown.
    #[error("entry type tag {0} is not known")]
    UnknownTag(u8),
    /// The bytes end before the entry does.
    #[error("the entry bytes end inside field `{0}`")]
    Truncated(&'static str),
    /// Bytes remain after the entry.
    #[error("{0} bytes remain after the entry; an entry has exactly one encoding")]
    TrailingBytes(usize),
    /// A text field is not UTF-8.
    #[error("field `{0}` is not valid UTF-8")]
    BadUtf8(&'static str),
    /// An enumerated field holds an unknown value.
    #[error("field `{field}` holds unknown value {value}")]
    BadEnum {
        /// Which field.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
}

/// A 32-byte SHA-256 digest recorded in an entry (serialized as hex).
pub type Digest = [u8; 32];

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// The header of a signed envelope between two nodes (never its body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeRecord {
    /// The envelope's unique id.
    pub envelope_id: String,
    /// The sending party.
    pub sender: String,
    /// The receiving party.
    pub recipient: String,
    /// The sender's sequence number.
    pub sequence: u64,
    /// The envelope time, unix milliseconds.
    pub time_ms: u64,
    /// SHA-256 of the envelope body.
    #[serde(with = "hex32")]
    pub body_digest: Digest,
}

/// Whether a peer key was added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerChangeKind {
    /// The key was pinned.
    Added,
    /// The key was unpinned.
    Removed,
}

/// One ledger record. Each variant's tag and field order are part of the
/// encoding and must never change; a new kind of record gets a new tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogEntry {
    /// Tag 1: we sent an envelope.
    EnvelopeSent(EnvelopeRecord),
    /// Tag 2: we accepted an envelope.
    EnvelopeReceived(EnvelopeRecord),
    /// Tag 3: a proposal was decided.
    Decision {
        /// The proposal decided.
        proposal_id: String,
        /// The outcome (e.g. `accepted`, `denied`, `accepted_with_conditions`).
        outcome: String,
        /// Digest of the policy set that was in force.
        #[serde(with = "hex32")]
        policy_set_digest: Digest,
        /// Who decided: a policy, or an officer's identifier.
        decided_by: String,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 4: data left the node.
    Disclosure {
        /// The proposal the disclosure answers.
        proposal_id: String,
        /// SHA-256 of exactly the bytes that left.
        #[serde(with = "hex32")]
        digest: Digest,
        /// How many bytes left.
        byte_count: u64,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 5: input was refused at intake.
    IntakeRefusal {
        /// Why it was refused.
        reason: String,
        /// SHA-256 of the refused bytes.
        #[serde(with = "hex32")]
        digest: Digest,
        /// The sender the input claimed (unverified).
        claimed_sender: String,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 6: a policy layer was pinned.
    PolicyPin {
        /// The layer (`constitutional`, `operational`).
        layer: String,
        /// Digest of the pinned policy set.
        #[serde(with = "hex32")]
        digest: Digest,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 7: a peer key was added or removed.
    PeerChange {
        /// The party.
        party: String,
        /// SHA-256 fingerprint of the key.
        #[serde(with = "hex32")]
        key_fingerprint: Digest,
        /// Added or removed.
        change: PeerChangeKind,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 8: we cosigned a partner's checkpoint.
    CosignatureIssued {
        /// The partner log's origin.
        origin: String,
        /// The checkpoint size.
        size: u64,
        /// The checkpoint root.
        #[serde(with = "hex32")]
        root: Digest,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 9: a partner cosigned our checkpoint.
    CosignatureReceived {
        /// The witness key name.
        witness: String,
        /// The checkpoint size.
        size: u64,
        /// The checkpoint root.
        #[serde(with = "hex32")]
        root: Digest,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 10: a privacy-preserving match ran.
    MatchSession {
        /// The session id.
        session_id: String,
        /// The protocol (e.g. `dh-psi`, `pprl-query`).
        protocol: String,
        /// The partner.
        peer: String,
        /// How many items we put in.
        our_size: u64,
        /// How many items the partner put in.
        their_size: u64,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 11: a proposal was not answered within the agreed answer time.
    DeadlineBreach {
        /// The proposal left unanswered.
        proposal_id: String,
        /// The party that owed the answer.
        party: String,
        /// When the answer was due, unix milliseconds.
        due_ms: u64,
        /// When the breach was recorded, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 12: an act in a joint investigation's chain of custody, by
    /// either side. Both logs record the same `event_digest` for one act.
    CaseAct {
        /// The case.
        case_id: String,
        /// The act (`opened`, `member_added`, `exhibit_offered`, …).
        act: String,
        /// The side that acted.
        party: String,
        /// The officer who acted.
        actor: String,
        /// The exhibit's SHA-256, or all zeros for an act on no exhibit.
        #[serde(with = "hex32")]
        exhibit: Digest,
        /// The digest of the custody event's canonical encoding.
        #[serde(with = "hex32")]
        event_digest: Digest,
        /// When the act was done, unix milliseconds (the acting side's clock).
        time_ms: u64,
    },
    /// Tag 13: a run under a standing match arrangement, asked (by us) or
    /// answered (by us). Both logs record one per run under the same run id.
    StandingRun {
        /// The run: the id of the match proposal that carried it.
        run_id: String,
        /// The arrangement's name.
        arrangement: String,
        /// The partner.
        peer: String,
        /// Our side in the run: `asker` or `holder`.
        side: String,
        /// How many queries the run held.
        asked: u64,
        /// How many matched, where this side learns it (the holder of an
        /// identifier run does not).
        matched: Option<u64>,
        /// When, unix milliseconds.
        time_ms: u64,
    },
    /// Tag 14: a log restarted on a new branch after a restore lost entries
    /// past a checkpoint the partner had cosigned. Appended by the log that
    /// restarted (the declaration) and by the witness that accepted it.
    LogRestart {
        /// The origin of the log that restarted.
        origin: String,
        /// The size of the abandoned branch's last cosigned checkpoint.
        abandoned_size: u64,
        /// Its root.
        #[serde(with = "hex32")]
        abandoned_root: Digest,
        /// The entries the log holds before this declaration: what the
        /// restore kept and what was taken back from the partner.
        restored_size: u64,
        /// The size of the latest cosigned checkpoint the new branch still
        /// extends (0: none); entries before it are unchanged.
        kept_size: u64,
        /// Why, in the operator's words.
        reason: String,
        /// When, unix milliseconds.
        time_ms: u64,
    },
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn digest(&mut self, d: &Digest) {
        self.0.extend_from_slice(d);
    }
    fn text(&mut self, field: &'static str, s: &str) -> Result<(), EntryError> {
        let len = u32::try_from(s.len())
            .ok()
            .filter(|_| s.len() <= MAX_TEXT_BYTES)
            .ok_or(EntryError::TextTooLong {
                field,
                len: s.len(),
            })?;
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], EntryError> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(EntryError::Truncated(field))?;
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, EntryError> {
        let b = self.take(1, field)?;
        Ok(b.first().copied().unwrap_or_default())
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, EntryError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn digest(&mut self, field: &'static str) -> Result<Digest, EntryError> {
        let b = self.take(32, field)?;
        let mut a = [0u8; 32];
        a.copy_from_slice(b);
        Ok(a)
    }
    fn text(&mut self, field: &'static str) -> Result<String, EntryError> {
        let b = self.take(4, field)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        let len = u32::from_be_bytes(a) as usize;
        if len > MAX_TEXT_BYTES {
            return Err(EntryError::TextTooLong { field, len });
        }
        let b = self.take(len, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| EntryError::BadUtf8(field))
    }
}

impl LogEntry {
    /// The entry's type tag in the encoding.
    pub fn tag(&self) -> u8 {
        match self {
            LogEntry::EnvelopeSent(_) => 1,
            LogEntry::EnvelopeReceived(_) => 2,
            LogEntry::Decision { .. } => 3,
            LogEntry::Disclosure { .. } => 4,
            LogEntry::IntakeRefusal { .. } => 5,
            LogEntry::PolicyPin { .. } => 6,
            LogEntry::PeerChange { .. } => 7,
            LogEntry::CosignatureIssued { .. } => 8,
            LogEntry::CosignatureReceived { .. } => 9,
            LogEntry::MatchSession { .. } => 10,
            LogEntry::DeadlineBreach { .. } => 11,
            LogEntry::CaseAct { .. } => 12,
            LogEntry::StandingRun { .. } => 13,
            LogEntry::LogRestart { .. } => 14,
        }
    }

    /// The canonical bytes of this entry: what the leaf hash is taken over.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut w = Writer(Vec::with_capacity(128));
        w.u8(ENTRY_VERSION);
        w.u8(self.tag());
        match self {
            LogEntry::EnvelopeSent(e) | LogEntry::EnvelopeReceived(e) => {
                w.text("envelope_id", &e.envelope_id)?;
                w.text("sender", &e.sender)?;
                w.text("recipient", &e.recipient)?;
                w.u64(e.sequence);
                w.u64(e.time_ms);
                w.digest(&e.body_digest);
            }
            LogEntry::Decision {
                proposal_id,
                outcome,
                policy_set_digest,
                decided_by,
                time_ms,
            } => {
                w.text("proposal_id", proposal_id)?;
                w.text("outcome", outcome)?;
                w.digest(policy_set_digest);
                w.text("decided_by", decided_by)?;
                w.u64(*time_ms);
            }
            LogEntry::Disclosure {
                proposal_id,
                digest,
                byte_count,
                time_ms,
            } => {
                w.text("proposal_id", proposal_id)?;
                w.digest(digest);
                w.u64(*byte_count);
                w.u64(*time_ms);
            }
            LogEntry::IntakeRefusal {
                reason,
                digest,
                claimed_sender,
                time_ms,
            } => {
                w.text("reason", reason)?;
                w.digest(digest);
                w.text("claimed_sender", claimed_sender)?;
                w.u64(*time_ms);
            }
            LogEntry::PolicyPin {
                layer,
                digest,
                time_ms,
            } => {
                w.text("layer", layer)?;
                w.digest(digest);
                w.u64(*time_ms);
            }
            LogEntry::PeerChange {
                party,
                key_fingerprint,
                change,
                time_ms,
            } => {
                w.text("party", party)?;
                w.digest(key_fingerprint);
                w.u8(match change {
                    PeerChangeKind::Added => 1,
                    PeerChangeKind::Removed => 2,
                });
                w.u64(*time_ms);
            }
            LogEntry::CosignatureIssued {
                origin,
                size,
                root,
                time_ms,
            } => {
                w.text("origin", origin)?;
                w.u64(*size);
                w.digest(root);
                w.u64(*time_ms);
            }
            LogEntry::CosignatureReceived {
                witness,
                size,
                root,
                time_ms,
            } => {
                w.text("witness", witness)?;
                w.u64(*size);
                w.digest(root);
                w.u64(*time_ms);
            }
            LogEntry::MatchSession {
                session_id,
                protocol,
                peer,
                our_size,
                their_size,
                time_ms,
            } => {
                w.text("session_id", session_id)?;
                w.text("protocol", protocol)?;
                w.text("peer", peer)?;
                w.u64(*our_size);
                w.u64(*their_size);
                w.u64(*time_ms);
            }
            LogEntry::DeadlineBreach {
                proposal_id,
                party,
                due_ms,
                time_ms,
            } => {
                w.text("proposal_id", proposal_id)?;
                w.text("party", party)?;
                w.u64(*due_ms);
                w.u64(*time_ms);
            }
            LogEntry::CaseAct {
                case_id,
                act,
                party,
                actor,
                exhibit,
                event_digest,
                time_ms,
            } => {
                w.text("case_id", case_id)?;
                w.text("act", act)?;
                w.text("party", party)?;
                w.text("actor", actor)?;
                w.digest(exhibit);
                w.digest(event_digest);
                w.u64(*time_ms);
            }
            LogEntry::StandingRun {
                run_id,
                arrangement,
                peer,
                side,
                asked,
                matched,
                time_ms,
            } => {
                w.text("run_id", run_id)?;
                w.text("arrangement", arrangement)?;
                w.text("peer", peer)?;
                w.text("side", side)?;
                w.u64(*asked);
                match matched {
                    Some(n) => {
                        w.u8(1);
                        w.u64(*n);
                    }
                    None => w.u8(0),
                }
                w.u64(*time_ms);
            }
            LogEntry::LogRestart {
                origin,
                abandoned_size,
                abandoned_root,
                restored_size,
                kept_size,
                reason,
                time_ms,
            } => {
                w.text("origin", origin)?;
                w.u64(*abandoned_size);
                w.digest(abandoned_root);
                w.u64(*restored_size);
                w.u64(*kept_size);
                w.text("reason", reason)?;
                w.u64(*time_ms);
            }
        }
        Ok(w.0)
    }

    /// Decodes canonical bytes; anything but exactly one well-formed entry is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let mut r = Reader(bytes);
        let version = r.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(EntryError::UnknownVersion(version));
        }
        let tag = r.u8("tag")?;
        let entry = match tag {
            1 | 2 => {
                let e = EnvelopeRecord {
                    envelope_id: r.text("envelope_id")?,
                    sender: r.text("sender")?,
                    recipient: r.text("recipient")?,
                    sequence: r.u64("sequence")?,
                    time_ms: r.u64("time_ms")?,
                    body_digest: r.digest("body_digest")?,
                };
                if tag == 1 {
                    LogEntry::EnvelopeSent(e)
                } else {
                    LogEntry::EnvelopeReceived(e)
                }
            }
            3 => LogEntry::Decision {
                proposal_id: r.text("proposal_id")?,
                outcome: r.text("outcome")?,
                policy_set_digest: r.digest("policy_set_digest")?,
                decided_by: r.text("decided_by")?,
                time_ms: r.u64("time_ms")?,
            },
            4 => LogEntry::Disclosure {
                proposal_id: r.text("proposal_id")?,
                digest: r.digest("digest")?,
                byte_count: r.u64("byte_count")?,
                time_ms: r.u64("time_ms")?,
            },
            5 => LogEntry::IntakeRefusal {
                reason: r.text("reason")?,
                digest: r.digest("digest")?,
                claimed_sender: r.text("claimed_sender")?,
                time_ms: r.u64("time_ms")?,
            },
            6 => LogEntry::PolicyPin {
                layer: r.text("layer")?,
                digest: r.digest("digest")?,
                time_ms: r.u64("time_ms")?,
            },
            7 => LogEntry::PeerChange {
                party: r.text("party")?,
                key_fingerprint: r.digest("key_fingerprint")?,
                change: match r.u8("change")? {
                    1 => PeerChangeKind::Added,
                    2 => PeerChangeKind::Removed,
                    value => {
                        return Err(EntryError::BadEnum {
                            field: "change",
                            value,
                        });
                    }
                },
                time_ms: r.u64("time_ms")?,
            },
            8 => LogEntry::CosignatureIssued {
                origin: r.text("origin")?,
                size: r.u64("size")?,
                root: r.digest("root")?,
                time_ms: r.u64("time_ms")?,
            },
            9 => LogEntry::CosignatureReceived {
                witness: r.text("witness")?,
                size: r.u64("size")?,
                root: r.digest("root")?,
                time_ms: r.u64("time_ms")?,
            },
            10 => LogEntry::MatchSession {
                session_id: r.text("session_id")?,
                protocol: r.text("protocol")?,
                peer: r.text("peer")?,
                our_size: r.u64("our_size")?,
                their_size: r.u64("their_size")?,
                time_ms: r.u64("time_ms")?,
            },
            11 => LogEntry::DeadlineBreach {
                proposal_id: r.text("proposal_id")?,
                party: r.text("party")?,
                due_ms: r.u64("due_ms")?,
                time_ms: r.u64("time_ms")?,
            },
            12 => LogEntry::CaseAct {
                case_id: r.text("case_id")?,
                act: r.text("act")?,
                party: r.text("party")?,
                actor: r.text("actor")?,
                exhibit: r.digest("exhibit")?,
                event_digest: r.digest("event_digest")?,
                time_ms: r.u64("time_ms")?,
            },
            13 => LogEntry::StandingRun {
                run_id: r.text("run_id")?,
                arrangement: r.text("arrangement")?,
                peer: r.text("peer")?,
                side: r.text("side")?,
                asked: r.u64("asked")?,
                matched: match r.u8("matched")? {
                    0 => None,
                    1 => Some(r.u64("matched")?),
                    value => {
                        return Err(EntryError::BadEnum {
                            field: "matched",
                            value,
                        });
                    }
                },
                time_ms: r.u64("time_ms")?,
            },
            14 => LogEntry::LogRestart {
                origin: r.text("origin")?,
                abandoned_size: r.u64("abandoned_size")?,
                abandoned_root: r.digest("abandoned_root")?,
                restored_size: r.u64("restored_size")?,
                kept_size: r.u64("kept_size")?,
                reason: r.text("reason")?,
                time_ms: r.u64("time_ms")?,
            },
            other => return Err(EntryError::UnknownTag(other)),
        };
        if !r.0.is_empty() {
            return Err(EntryError::TrailingBytes(r.0.len()));
        }
        Ok(entry)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One entry of every kind, for round trips here and elsewhere.
    pub(crate) fn samples() -> Vec<LogEntry> {
        let env = EnvelopeRecord {
            envelope_id: "env-1".into(),
            sender: "US".into(),
            recipient: "MX".into(),
            sequence: 7,
            time_ms: 1_763_800_000_000,
            body_digest: [1; 32],
        };
        vec![
            LogEntry::EnvelopeSent(env.clone()),
            LogEntry::EnvelopeReceived(env),
            LogEntry::Decision {
                proposal_id: "p-1".into(),
                outcome: "denied".into(),
                policy_set_digest: [2; 32],
                decided_by: "policy:red-line".into(),
                time_ms: 1,
            },
            LogEntry::Disclosure {
                proposal_id: "p-2".into(),
                digest: [3; 32],
                byte_count: 4096,
                time_ms: 2,
            },
            LogEntry::IntakeRefusal {
                reason: "bad signature".into(),
                digest: [4; 32],
                claimed_sender: "US".into(),
                time_ms: 3,
            },
            LogEntry::PolicyPin {
                layer: "constitutional".into(),
                digest: [5; 32],
                time_ms: 4,
            },
            LogEntry::PeerChange {
                party: "US".into(),
                key_fingerprint: [6; 32],
                change: PeerChangeKind::Removed,
                time_ms: 5,
            },
            LogEntry::CosignatureIssued {
                origin: "us.example/log".into(),
                size: 10,
                root: [7; 32],
                time_ms: 6,
            },
            LogEntry::CosignatureReceived {
                witness: "us.example/witness".into(),
                size: 11,
                root: [8; 32],
                time_ms: 7,
            },
            LogEntry::MatchSession {
                session_id: "m-1".into(),
                protocol: "dh-psi".into(),
                peer: "US".into(),
                our_size: 1 << 20,
                their_size: 1 << 20,
                time_ms: 8,
            },
            LogEntry::DeadlineBreach {
                proposal_id: "p-3".into(),
                party: "MX".into(),
                due_ms: 9,
                time_ms: 10,
            },
            LogEntry::CaseAct {
                case_id: "case-00".into(),
                act: "exhibit_received".into(),
                party: "US".into(),
                actor: "bob".into(),
                exhibit: [9; 32],
                event_digest: [10; 32],
                time_ms: 11,
            },
            LogEntry::StandingRun {
                run_id: "p-4".into(),
                arrangement: "phones-daily".into(),
                peer: "US".into(),
                side: "holder".into(),
                asked: 250,
                matched: Some(3),
                time_ms: 12,
            },
            LogEntry::LogRestart {
                origin: "soberana/mx/log".into(),
                abandoned_size: 40,
                abandoned_root: [11; 32],
                restored_size: 31,
                kept_size: 20,
                reason: "restored from the nightly backup".into(),
                time_ms: 13,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_in_bytes_and_json() {
        let mut tags = Vec::new();
        for entry in samples() {
            let bytes = entry.encode().unwrap();
            assert_eq!(bytes[0], ENTRY_VERSION);
            assert_eq!(bytes[1], entry.tag());
            assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
            let json = serde_json::to_string(&entry).unwrap();
            assert_eq!(serde_json::from_str::<LogEntry>(&json).unwrap(), entry);
            tags.push(entry.tag());
        }
        assert_eq!(tags, (1..=14).collect::<Vec<u8>>());
    }

    /// Pins the exact encoding: changing it would change every leaf hash.
    #[test]
    fn encoding_is_pinned() {
        let entry = LogEntry::PolicyPin {
            layer: "op".into(),
            digest: [0xab; 32],
            time_ms: 258,
        };
        let mut want = vec![1, 6, 0, 0, 0, 2, b'o', b'p'];
        want.extend_from_slice(&[0xab; 32]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(entry.encode().unwrap(), want);
    }

    #[test]
    fn malformed_bytes_are_refused() {
        let good = samples()[0].encode().unwrap();
        let mut trailing = good.clone();
        trailing.push(0);
        let mut bad_version = good.clone();
        bad_version[0] = 2;
        let mut bad_tag = good.clone();
        bad_tag[1] = 99;
        let mut bad_utf8 = good.clone();
        bad_utf8[6] = 0xff;
        let mut huge_len = good.clone();
        huge_len[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut peer = samples()[6].encode().unwrap();
        let change_at = 2 + 4 + 2 + 32;
        peer[change_at] = 3;
        let cases: Vec<(Vec<u8>, EntryError)> = vec![
            (vec![], EntryError::Truncated("version")),
            (vec![1], EntryError::Truncated("tag")),
            (
                good[..good.len() - 1].to_vec(),
                EntryError::Truncated("body_digest"),
            ),
            (trailing, EntryError::TrailingBytes(1)),
            (bad_version, EntryError::UnknownVersion(2)),
            (bad_tag, EntryError::UnknownTag(99)),
            (bad_utf8, EntryError::BadUtf8("envelope_id")),
            (
                huge_len,
                EntryError::TextTooLong {
                    field: "envelope_id",
                    len: u32::MAX as usize,
                },
            ),
            (
                peer,
                EntryError::BadEnum {
                    field: "change",
                    value: 3,
                },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(LogEntry::decode(&bytes), Err(want));
        }
    }

    #[test]
    fn oversize_text_is_refused_on_encode() {
        let entry = LogEntry::PolicyPin {
            layer: "x".repeat(MAX_TEXT_BYTES + 1),
            digest: [0; 32],
            time_ms: 0,
        };
        assert!(matches!(
            entry.encode(),
            Err(EntryError::TextTooLong { field: "layer", .. })
        ));
    }
}
