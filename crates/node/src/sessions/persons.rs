//! Person matching: privacy-preserving record linkage between two nodes.
//!
//! The requester learns which of its own records are likely the same people
//! as records the partner holds, with the partner's pseudonymous id and a
//! similarity score for each; it never sees the partner's records, and the
//! partner never sees the requester's. Details of a match are asked for later
//! with an information request quoting the pseudonymous id, which only the
//! partner can map back to its record.
//!
//! Both nodes encode person records into keyed Bloom filters
//! ([`soberana_linkage::Encoder`], schema `soberana-person-v1`) under a
//! secret agreed between them out of band (`DIR/data/linkage.key`, 32 random
//! bytes in hex). The run is two messages:
//!
//! | step | direction | content |
//! |---|---|---|
//! | 0 | requester → responder | `SBPH`, version 1, schema digest (32), key check (16), record count (u32 LE) |
//! | 1 | responder → requester | the responder's encodings under fresh pseudonymous ids ([`EncodingBatch`]) |
//!
//! The key check (the first 16 bytes of SHA-256 over a label and the secret)
//! lets the responder refuse a requester holding another secret instead of
//! answering with encodings that could never match. The responder keeps the
//! map from pseudonymous ids to its own records in
//! `DIR/data/responses/<proposal>.json`, for the later information request.
//!
//! Person records are read from CSV with a header naming soberana's fields:
//! `id`, `given_names`, `paternal_surname`, `maternal_surname`,
//! `date_of_birth` (`YYYY-MM-DD`), `sex` (`M`/`F`), `place_of_birth`,
//! `curp`, `ssn`; any subset of them may be present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use soberana_core::{PersonMatch, Proposal, ProposalBody};
use soberana_linkage::record::DateFormat;
use soberana_linkage::{
    ClkBatch, ColumnMapping, EncodingBatch, EncodingSchema, LinkConfig, LinkageSecret,
    PersonRecord, PseudonymousId, Threshold,
};
use soberana_wire::AnswerItem;

use super::{MatchError, PendingMatch, PendingWhat, RequestContext, RequesterNext, ResponderNext};
use crate::node::Node;

/// The protocol's name in the log.
pub const PROTOCOL: &str = "pprl-bloom";

/// The name of the encoding schema both sides must use.
pub const SCHEMA_NAME: &str = "soberana-person-v1";

const HELLO_MAGIC: &[u8; 4] = b"SBPH";
const HELLO_VERSION: u8 = 1;
const HELLO_LEN: usize = 4 + 1 + 32 + 16 + 4;

/// Below this many candidate pairs a fixed Dice threshold is used instead of
/// the one chosen from the score distribution.
pub const AUTO_THRESHOLD_PAIRS: usize = 1_000_000;

/// The Dice threshold on small runs.
pub const SMALL_RUN_THRESHOLD: f64 = 0.8;

/// The most encodings a requester accepts from a partner.
pub const MAX_PARTNER_RECORDS: u64 = 1 << 22;

/// A person record file read for matching.
#[derive(Debug, Clone)]
pub struct PersonFile {
    /// Each usable record with a label for people (its id, or its line).
    pub records: Vec<(String, PersonRecord)>,
    /// Rows refused, as `line N: reason`.
    pub rejected: Vec<String>,
}

/// Reads a person CSV whose header names soberana's fields.
pub fn read_person_file(path: &Path) -> Result<PersonFile, MatchError> {
    let text = std::fs::read_to_string(path).map_err(|e| MatchError::File {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let header: Vec<String> = text
        .lines()
        .next()
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_owned())
        .collect();
    let has = |name: &str| header.iter().any(|h| h == name).then(|| name.to_owned());
    let mapping = ColumnMapping {
        id: has("id"),
        given_names: has("given_names"),
        paternal_surname: has("paternal_surname"),
        maternal_surname: has("maternal_surname"),
        date_of_birth: has("date_of_birth"),
        date_format: DateFormat::Iso,
        sex: has("sex"),
        place_of_birth: has("place_of_birth"),
        curp: has("curp"),
        ssn: has("ssn"),
        ..ColumnMapping::default()
    };
    if mapping.given_names.is_none() && mapping.paternal_surname.is_none() {
        return Err(MatchError::Persons(format!(
            "`{}` has neither a `given_names` nor a `paternal_surname` column; the header must name soberana's fields (id, given_names, paternal_surname, maternal_surname, date_of_birth, sex, place_of_birth, curp, ssn)",
            path.display()
        )));
    }
    let outcome = soberana_linkage::read_csv(text.as_bytes(), &mapping)
        .map_err(|e| MatchError::Persons(format!("`{}`: {e}", path.display())))?;
    Ok(PersonFile {
        records: outcome
            .records
            .into_iter()
            .map(|(line, r)| {
                let label = if r.local_id.is_empty() {
                    format!("line {line}")
                } else {
                    r.local_id.clone()
                };
                (label, r)
            })
            .collect(),
        rejected: outcome
            .rejected
            .into_iter()
            .map(|p| format!("line {}: {}", p.line, p.reason))
            .collect(),
    })
}

/// A fresh linkage secret (32 random bytes, hex), to agree with a partner
/// over an official channel and write to both nodes' `data/linkage.key`.
pub fn new_linkage_key() -> Result<String, MatchError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| MatchError::Persons(format!("no randomness for a linkage secret: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The linkage secret this node agreed with its partners.
struct Secret {
    secret: LinkageSecret,
    check: [u8; 16],
}

fn load_secret(node: &Node) -> Result<Secret, String> {
    let path = node.linkage_key_path();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no linkage secret at `{}` ({e}); agree 32 random bytes with the partner and write them there in hex",
            path.display()
        )
    })?;
    let bytes =
        hex::decode(text.trim()).map_err(|e| format!("`{}` is not hex: {e}", path.display()))?;
    let secret = LinkageSecret::new(&bytes).map_err(|e| e.to_string())?;
    let digest = Sha256::new()
        .chain_update(b"soberana/linkage/key-check/v1\0")
        .chain_update(&bytes)
        .finalize();
    let mut check = [0u8; 16];
    check.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    Ok(Secret { secret, check })
}

fn encoder(secret: &Secret) -> Result<soberana_linkage::Encoder, String> {
    soberana_linkage::Encoder::new(EncodingSchema::person(), &secret.secret)
        .map_err(|e| e.to_string())
}

/// What the requester keeps until its session runs: its own encodings (made
/// when the match was asked for, so the records file is read only once) and a
/// label per record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingPersons {
    labels: Vec<String>,
    words_per: usize,
    words: Vec<u64>,
}

impl Node {
    /// Where this node keeps the person records partners' accepted matches
    /// are linked against.
    pub fn persons_path(&self) -> PathBuf {
        self.dir().root().join("data/persons.csv")
    }

    /// Where this node keeps the linkage secret agreed with partners.
    pub fn linkage_key_path(&self) -> PathBuf {
        self.dir().root().join("data/linkage.key")
    }

    /// Asks `peer` which of `records` it likely holds: sends a
    /// `person_match` proposal carrying only the number of records, and keeps
    /// their encodings here until the partner decides.
    pub fn request_person_match(
        &self,
        peer: soberana_core::PartyCode,
        records: &[(String, PersonRecord)],
        context: &RequestContext,
    ) -> Result<Proposal, MatchError> {
        if records.is_empty() {
            return Err(MatchError::Persons(
                "no usable person records; nothing to match".into(),
            ));
        }
        if self.peer(peer).is_none() {
            return Err(crate::NodeError::UnknownPeer(peer.to_string()).into());
        }
        let secret = load_secret(self).map_err(MatchError::Persons)?;
        let encoder = encoder(&secret).map_err(MatchError::Persons)?;
        let people: Vec<PersonRecord> = records.iter().map(|(_, r)| r.clone()).collect();
        let batch = encoder.encode_all(&people);
        let body = ProposalBody::PersonMatch(PersonMatch {
            record_count: records.len() as u64,
            schema: SCHEMA_NAME.into(),
        });
        let proposal = self.propose_match(peer, context, body)?;
        self.save_pending(&PendingMatch {
            proposal: proposal.id,
            peer,
            what: PendingWhat::Persons(PendingPersons {
                labels: records.iter().map(|(l, _)| l.clone()).collect(),
                words_per: batch.words_per(),
                words: batch.words().to_vec(),
            }),
        })?;
        self.wake_sessions();
        Ok(proposal)
    }
}

/// The requester's side of a person match.
pub(crate) struct PersonsRequester {
    labels: Vec<String>,
    ours: ClkBatch,
    digest: [u8; 32],
}

impl PersonsRequester {
    /// Builds the hello; returns the state, the message and our record count.
    pub(crate) fn start(
        node: &Node,
        pending: PendingPersons,
    ) -> Result<(Self, Vec<u8>, u64), String> {
        let secret = load_secret(node)?;
        let digest = EncodingSchema::person().digest();
        let ours = ClkBatch::from_words(pending.words_per, pending.words);
        if ours.len() != pending.labels.len() {
            return Err("the kept encodings do not match the kept labels".into());
        }
        let count = ours.len() as u32;
        let mut hello = Vec::with_capacity(HELLO_LEN);
        hello.extend_from_slice(HELLO_MAGIC);
        hello.push(HELLO_VERSION);
        hello.extend_from_slice(&digest);
        hello.extend_from_slice(&secret.check);
        hello.extend_from_slice(&count.to_le_bytes());
        Ok((
            Self {
                labels: pending.labels,
                ours,
                digest,
            },
            hello,
            u64::from(count),
        ))
    }

    pub(crate) fn handle(self, message: &[u8]) -> Result<RequesterNext, String> {
        let theirs = EncodingBatch::parse(message, &self.digest, MAX_PARTNER_RECORDS)
            .map_err(|e| e.to_string())?;
        if theirs.clks.words_per() != self.ours.words_per() {
            return Err("the partner's encodings have another length".into());
        }
        // The unlabelled threshold needs enough scored pairs to see a
        // non-match group and a match group; on small runs it can sit on the
        // exact matches alone, so a fixed threshold is used there.
        let pairs = self.ours.len().saturating_mul(theirs.clks.len());
        let config = if pairs < AUTO_THRESHOLD_PAIRS {
            LinkConfig {
                threshold: Threshold::Fixed(SMALL_RUN_THRESHOLD),
                ..LinkConfig::default()
            }
        } else {
            LinkConfig::default()
        };
        let outcome = soberana_linkage::link(&self.ours, &theirs.clks, &config);
        let mut items = Vec::new();
        for link in &outcome.links {
            let (Some(label), Some(partner)) = (
                self.labels.get(link.a as usize),
                theirs.ids.get(link.b as usize),
            ) else {
                continue;
            };
            items.push(AnswerItem {
                label: label.clone(),
                value: format!("partner record {partner}, score {:.3}", link.score),
            });
        }
        Ok(RequesterNext::Done {
            summary: format!(
                "{} of our {} records likely match records the partner holds (threshold {:.2}); ask for details with an information request quoting the partner record id",
                items.len(),
                self.labels.len(),
                outcome.threshold
            ),
            items,
        })
    }
}

/// The responder's side of a person match.
pub(crate) struct PersonsResponder {
    proposal: soberana_core::ProposalId,
    responses_dir: PathBuf,
    check: [u8; 16],
    labels: Vec<String>,
    theirs: Vec<PersonRecord>,
    secret: Secret,
}

impl PersonsResponder {
    pub(crate) fn new(node: &Node, m: &PersonMatch) -> Result<Self, String> {
        if m.schema != SCHEMA_NAME {
            return Err(format!(
                "encoding schema `{}` is not one this node uses; it uses `{SCHEMA_NAME}`",
                m.schema
            ));
        }
        let secret = load_secret(node)?;
        let path = node.persons_path();
        let (labels, theirs) = if path.exists() {
            let file = read_person_file(&path).map_err(|e| e.to_string())?;
            file.records.into_iter().unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Self {
            proposal: soberana_core::ProposalId::generate(),
            responses_dir: node.dir().root().join("data/responses"),
            check: secret.check,
            labels,
            theirs,
            secret,
        })
    }

    /// For the log: how many records we link against.
    pub(crate) fn our_size(&self) -> u64 {
        self.theirs.len() as u64
    }

    /// Names the proposal the run answers (for the kept id map).
    pub(crate) fn for_proposal(mut self, id: soberana_core::ProposalId) -> Self {
        self.proposal = id;
        self
    }

    pub(crate) fn handle(self, message: &[u8]) -> Result<ResponderNext, String> {
        if message.len() != HELLO_LEN {
            return Err(format!(
                "a person-match hello is {HELLO_LEN} bytes, this one {}",
                message.len()
            ));
        }
        let field = |from: usize, len: usize| message.get(from..from + len).unwrap_or(&[]);
        if field(0, 4) != HELLO_MAGIC {
            return Err("not a person-match hello".into());
        }
        if field(4, 1) != [HELLO_VERSION] {
            return Err("unsupported person-match version".into());
        }
        let digest = EncodingSchema::person().digest();
        if field(5, 32) != digest {
            return Err(format!(
                "the requester encodes with another schema than `{SCHEMA_NAME}`"
            ));
        }
        if field(37, 16) != self.check {
            return Err(
                "the requester holds another linkage secret; agree one secret and try again".into(),
            );
        }
        let mut count = [0u8; 4];
        count.copy_from_slice(field(53, 4));
        let asked = u64::from(u32::from_le_bytes(count));
        let encoder = encoder(&self.secret)?;
        let clks: Vec<_> = self.theirs.iter().map(|r| encoder.encode(r)).collect();
        let mut ids = Vec::with_capacity(clks.len());
        let mut map = BTreeMap::new();
        for label in &self.labels {
            let mut id = [0u8; 16];
            getrandom::getrandom(&mut id).map_err(|e| format!("no randomness: {e}"))?;
            let id = PseudonymousId(id);
            map.insert(id.to_string(), label.clone());
            ids.push(id);
        }
        // Keep the map before anything leaves, so every id sent can be
        // answered for later.
        std::fs::create_dir_all(&self.responses_dir)
            .and_then(|()| {
                let text = serde_json::to_vec_pretty(&map).unwrap_or_default();
                std::fs::write(
                    self.responses_dir.join(format!("{}.json", self.proposal)),
                    text,
                )
            })
            .map_err(|e| format!("cannot keep the pseudonymous id map: {e}"))?;
        let batch = EncodingBatch::new(digest, ids, &clks, encoder.schema().length_bits)
            .map_err(|e| e.to_string())?;
        Ok(ResponderNext::Finish {
            message: batch.to_bytes(),
            asked,
        })
    }
}
