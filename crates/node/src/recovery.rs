//! A node whose log is behind what a partner cosigned: found at start,
//! said loudly, no conflicting checkpoint signed, and what the partner
//! holds taken back.
//!
//! A node restored from a backup older than a checkpoint its partner
//! cosigned has lost the entries after the backup; its next checkpoint at or
//! past that size would conflict with the cosigned one (a fork in the
//! partner's eyes). At start the node asks each partner for the latest
//! checkpoint of our log it cosigned (`GET /v1/witness/latest`, pinned
//! partners only) and compares it with its own log: larger than our log, or
//! another root at that size, and the node logs an error naming both,
//! reports not ready on `/readyz`, and refuses to sign checkpoints
//! (`Node::checkpoint_and_request_cosignatures`). The latest checkpoint
//! each partner cosigned is kept in `witnessed.json` in the node folder
//! and judged again whenever the node opens, so the refusal outlives a
//! restart and holds while the partner cannot be asked.
//!
//! `Node::recover_from_peer` (`soberana recover --from-peer`) fetches every
//! envelope that crossed as the partner holds it (`GET /v1/exchanged`):
//! those the partner sent us that we lack go through intake again (the age
//! limit waived: they are old by nature, but still checked against the
//! partner's key), so its proposals, decisions, receipts and answers are
//! back; those we sent that our store lost are counted and listed, since
//! only the partner's copy of them remains. Our envelope numbering to the
//! partner moves past the highest number of ours it holds, or the partner
//! would refuse our next envelope as a number used twice.
//!
//! The entries the restore lost cannot be rebuilt, so the log can never
//! again reach the root the partner cosigned. `Node::restart_log`
//! (`soberana recover --restart-log`) declares it: the envelopes we sent
//! that only the partner holds are logged again, a `LogRestart` entry names
//! the abandoned checkpoint, the entries kept, the cosigned checkpoint the
//! new branch still extends and the reason, and the checkpoint covering it
//! goes to the partner with the declaration. The partner's witness takes it
//! only against the last checkpoint of our log it cosigned (see
//! `Witness::restart`), logs the same entry and cosigns; that cosignature,
//! on a checkpoint ending with a restart abandoning exactly the checkpoint
//! kept in `witnessed.json`, replaces it there and ends the refusal.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use soberana_core::PartyCode;
use soberana_core::Timestamp;
use soberana_ledger::{AddCheckpoint, Hash, LedgerStorage, Log, LogEntry, SignedCheckpoint};
use soberana_store::{LedgerView, RestartDeclaration, StagedLedger};
use soberana_wire::{Body, CheckpointRequest, LogRestart};

use crate::ledger::MAX_RESTART_REASON_BYTES;
use crate::node::log_origin;
use crate::outbox::{Bounds, client_for, exchange};
use crate::{Node, NodeError};

mod restart;

fn ledger_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Ledger(e.to_string())
}

/// What a partner holds of our log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WitnessedLatest {
    /// The checkpoint note, if it cosigned any.
    pub note: Option<String>,
}

/// One envelope as the partner holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldEnvelope {
    /// True if the partner sent it (to us).
    pub sent_by_holder: bool,
    /// Its bytes, base64.
    pub bytes: String,
}

/// What `recover --from-peer` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Envelopes the partner holds for the two of us.
    pub held: usize,
    /// Envelopes from the partner we lacked and took in again.
    pub taken_in: usize,
    /// Envelopes from the partner we lacked and intake refused, with why.
    pub refused: Vec<String>,
    /// Envelopes we sent that our store no longer holds (the partner's copy
    /// is the only one left).
    pub ours_lost: Vec<String>,
    /// The partner's cosignatures on checkpoints of ours the restore lost:
    /// not taken in (there is no checkpoint of ours to attach them to).
    pub cosignatures_lost: usize,
}

/// What [`Node::restart_log`] declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartProposed {
    /// The size of the abandoned checkpoint the partner cosigned.
    pub abandoned_size: u64,
    /// The entries our log holds before the declaration.
    pub restored_size: u64,
    /// The latest checkpoint the partner cosigned that the new branch
    /// still extends (0: none).
    pub kept_size: u64,
    /// The new branch's first checkpoint, sent to be cosigned.
    pub checkpoint_size: u64,
    /// Envelopes we sent that only the partner held, logged again.
    pub reappended: usize,
    /// True if the declaration was already made and is sent again.
    pub resent: bool,
}

impl Node {
    /// Compares our log with the latest checkpoint `peer` cosigned of it.
    /// `Ok(None)` when they agree (or it cosigned none); `Ok(Some(why))`
    /// when our log is behind or diverges.
    pub fn compare_with_witnessed(
        &self,
        peer: PartyCode,
        witnessed: &WitnessedLatest,
    ) -> Result<Option<String>, NodeError> {
        let Some(note) = &witnessed.note else {
            return Ok(None);
        };
        let keys = self.own_log_keys()?;
        let signed = keys
            .iter()
            .find_map(|key| SignedCheckpoint::verify(note, key).ok())
            .ok_or_else(|| {
                NodeError::Ledger(format!(
                    "{peer} answered with a checkpoint of our log that none of our keys signed"
                ))
            })?;
        let cp = signed.checkpoint();
        let ours = self.log_size()?;
        if cp.size() > ours {
            return Ok(Some(format!(
                "this node's log holds {ours} entries but {peer} cosigned our checkpoint of size {}: the log is behind (restored from an older backup?); run `soberana recover --from-peer {peer}`",
                cp.size()
            )));
        }
        let root = self
            .log()?
            .root_at(cp.size())
            .map_err(|e| NodeError::Ledger(e.to_string()))?;
        if root != *cp.root() {
            return Ok(Some(format!(
                "this node's log at size {} has root {} but {peer} cosigned root {} at that size: the log diverges from what the partner witnessed",
                cp.size(),
                root.to_hex(),
                cp.root().to_hex()
            )));
        }
        Ok(None)
    }

    /// Asks `peer` for the latest checkpoint of our log it cosigned.
    pub async fn fetch_witnessed(&self, peer: PartyCode) -> Result<WitnessedLatest, NodeError> {
        let body = self.get_from_partner(peer, "/v1/witness/latest").await?;
        serde_json::from_slice(&body)
            .map_err(|e| NodeError::Ledger(format!("{peer} answered no checkpoint: {e}")))
    }

    /// Asks every partner what it cosigned of our log, keeps the latest
    /// such checkpoint of each in `witnessed.json` (so a finding outlives a
    /// restart, and holds while the partner is unreachable), and records
    /// what is wrong; returns the findings (empty when all agree).
    pub async fn check_log_against_partners(&self) -> Vec<String> {
        let before = self.load_witnessed();
        let mut held = before.clone();
        let mut errors = Vec::new();
        for card in self.peers() {
            let witnessed = match self.fetch_witnessed(card.party).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!(partner = %card.party, error = %e, "could not ask the partner what it cosigned");
                    continue;
                }
            };
            let Some(note) = witnessed.note else { continue };
            match self.witnessed_size(card.party, &note) {
                Ok(size) => {
                    let kept = held
                        .get(card.party.as_str())
                        .and_then(|old| self.witnessed_size(card.party, old).ok());
                    // A partner restored from its own backup may answer an
                    // older checkpoint: the larger one it ever told us holds.
                    if kept.is_none_or(|kept| size >= kept) {
                        held.insert(card.party.to_string(), note);
                    }
                }
                Err(e) => {
                    tracing::error!(partner = %card.party, error = %e, "checking our log against the partner");
                    errors.push(e.to_string());
                }
            }
        }
        if held != before
            && let Err(e) = self.save_witnessed(&held)
        {
            tracing::error!(error = %e, "cannot keep what partners cosigned of our log");
            errors.push(e.to_string());
        }
        // A restart the partner acknowledged replaces the abandoned
        // checkpoint kept for it (the partner now answers a smaller one).
        self.settle_restarts();
        let held = self.load_witnessed();
        let mut findings = self.findings_from(&held);
        for finding in &findings {
            tracing::error!("{finding}");
        }
        findings.extend(errors);
        self.set_log_findings(findings.clone());
        findings
    }

    /// Judges the log against the checkpoints partners told us they
    /// cosigned, as kept in `witnessed.json`: at open, before any partner
    /// is asked, so a log found behind stays refused across a restart.
    pub(crate) fn recall_log_findings(&self) {
        self.settle_restarts();
        let held = self.load_witnessed();
        self.set_log_findings(self.findings_from(&held));
    }

    fn findings_from(&self, held: &BTreeMap<String, String>) -> Vec<String> {
        let mut findings = Vec::new();
        for (party, note) in held {
            let Ok(peer) = PartyCode::new(party) else {
                continue;
            };
            let witnessed = WitnessedLatest {
                note: Some(note.clone()),
            };
            match self.compare_with_witnessed(peer, &witnessed) {
                Ok(Some(finding)) => findings.push(finding),
                Ok(None) => {}
                Err(e) => findings.push(e.to_string()),
            }
        }
        findings
    }

    /// The size of a checkpoint of our log a partner says it cosigned,
    /// verified against our keys.
    fn witnessed_size(&self, peer: PartyCode, note: &str) -> Result<u64, NodeError> {
        self.own_log_keys()?
            .iter()
            .find_map(|key| SignedCheckpoint::verify(note, key).ok())
            .map(|signed| signed.checkpoint().size())
            .ok_or_else(|| {
                NodeError::Ledger(format!(
                    "{peer} answered with a checkpoint of our log that none of our keys signed"
                ))
            })
    }

    fn load_witnessed(&self) -> BTreeMap<String, String> {
        let path = self.dir().witnessed();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return BTreeMap::new();
        };
        serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(file = %path.display(), error = %e, "not valid; what partners cosigned is asked again");
            BTreeMap::new()
        })
    }

    fn save_witnessed(&self, held: &BTreeMap<String, String>) -> Result<(), NodeError> {
        let path = self.dir().witnessed();
        let text =
            serde_json::to_string_pretty(held).map_err(|e| NodeError::Ledger(e.to_string()))?;
        let staged = path.with_extension("json.new");
        std::fs::write(&staged, text + "\n").map_err(NodeError::io(&staged))?;
        std::fs::rename(&staged, &path).map_err(NodeError::io(&path))
    }

    /// Takes back what `peer` holds of our exchanges (see the module
    /// documentation).
    pub async fn recover_from_peer(&self, peer: PartyCode) -> Result<Recovered, NodeError> {
        let body = self.get_from_partner(peer, "/v1/exchanged").await?;
        let held: Vec<HeldEnvelope> = serde_json::from_slice(&body)
            .map_err(|e| NodeError::Ledger(format!("{peer} answered no envelope list: {e}")))?;
        // What crossed as we hold it, and every envelope we queued (one
        // still waiting in the outbox is not lost: it goes again).
        let ours: HashSet<String> = self
            .store()
            .exchanged(peer)?
            .into_iter()
            .map(|e| e.envelope_id)
            .chain(self.store().queued_envelope_ids(peer)?)
            .collect();
        let mut out = Recovered {
            held: held.len(),
            ..Recovered::default()
        };
        // Our envelopes the partner holds carry numbers our restored store
        // may hand out again; the partner refuses a number used twice. Ours
        // are told apart by our own signature, so a partner cannot push the
        // numbering on with envelopes we never sent.
        let own_keys = self.own_signing_keys();
        let highest = held
            .iter()
            .filter(|e| !e.sent_by_holder)
            .filter_map(|e| {
                base64::engine::general_purpose::STANDARD
                    .decode(&e.bytes)
                    .ok()
            })
            .filter_map(|bytes| {
                let parsed = soberana_wire::UnverifiedEnvelope::parse(
                    &bytes,
                    self.config().max_envelope_bytes,
                )
                .ok()?;
                let verified = parsed.verify_any(&own_keys).ok()?;
                (verified.header().recipient == peer).then_some(verified.header().sequence)
            })
            .max();
        if let Some(highest) = highest {
            self.store()
                .skip_sequence_to(peer, highest.saturating_add(1))?;
        }
        for envelope in held {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&envelope.bytes)
            else {
                out.refused.push("an envelope that is not base64".into());
                continue;
            };
            let Ok(parsed) =
                soberana_wire::UnverifiedEnvelope::parse(&bytes, self.config().max_envelope_bytes)
            else {
                out.refused.push("an envelope that does not parse".into());
                continue;
            };
            let id = parsed.unverified_header().id.to_string();
            if ours.contains(&id) {
                continue;
            }
            let kind = parsed.unverified_header().kind;
            if envelope.sent_by_holder && kind == soberana_wire::BodyKind::Cosignature {
                // Taken in only if we still hold the checkpoint it is on.
                match self.intake_recovered(&bytes) {
                    Ok(_) => out.taken_in += 1,
                    Err(_) => out.cosignatures_lost += 1,
                }
                continue;
            }
            if envelope.sent_by_holder {
                match self.intake_recovered(&bytes) {
                    Ok(_) => out.taken_in += 1,
                    Err(refusal) => out.refused.push(format!("{id}: {refusal}")),
                }
            } else {
                out.ours_lost.push(id);
            }
        }
        self.wake_outbox();
        Ok(out)
    }

    async fn get_from_partner(&self, peer: PartyCode, path: &str) -> Result<Bytes, NodeError> {
        let mut cache = std::collections::HashMap::new();
        let (url, client, _) = client_for(self, peer, &mut cache)
            .ok_or_else(|| NodeError::UnknownPeer(peer.to_string()))?;
        let url = url.replace("/v1/envelopes", path);
        let request = hyper::Request::get(&url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| NodeError::Ledger(e.to_string()))?;
        let bounds = Bounds {
            reply_bytes: 512 * 1024 * 1024,
            ..Bounds::of(self)
        };
        let (status, body) = exchange(&client, request, bounds)
            .await
            .map_err(NodeError::Ledger)?;
        if !status.is_success() {
            return Err(NodeError::Ledger(format!(
                "{peer} answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )));
        }
        Ok(body)
    }

    /// Our envelope signing keys: the one in use and those rotated out.
    fn own_signing_keys(&self) -> Vec<soberana_wire::PublicKey> {
        let mut keys = vec![self.key().public()];
        keys.extend(
            self.previous_cards()
                .iter()
                .filter(|c| c.party == self.party())
                .map(|c| c.signing_key),
        );
        keys
    }
}

/// What the partner-facing API answers a pinned partner about its log and
/// our exchanges.
/// The latest is the last cosigned, not the largest: after an acknowledged
/// restart of the partner's log, its new branch's checkpoints come after
/// larger ones of the abandoned branch.
pub(crate) fn witnessed_for(node: &Node, party: PartyCode) -> Result<WitnessedLatest, NodeError> {
    let note = node
        .partner_checkpoints(party)?
        .into_iter()
        .rfind(|c| c.status == "cosigned")
        .map(|c| c.note);
    Ok(WitnessedLatest { note })
}

pub(crate) fn exchanged_for(node: &Node, party: PartyCode) -> Result<Vec<HeldEnvelope>, NodeError> {
    Ok(node
        .store()
        .exchanged(party)?
        .into_iter()
        .map(|e| HeldEnvelope {
            sent_by_holder: e.sent,
            bytes: base64::engine::general_purpose::STANDARD.encode(&e.bytes),
        })
        .collect())
}
