//! The bilateral transparency report.
//!
//! For a period, what crossed between two parties: proposals by kind,
//! decisions by outcome and who took them, refusals by policy (the red
//! lines), answers and what they released, matches, checkpoints and
//! cosignatures, and the list of envelopes behind every figure.
//!
//! Each node computes it from what it holds itself: the envelopes it sent
//! that the partner took and those it received, each checked against the
//! signature of its sender (our key, or the partner's pinned key). The
//! period is read from the envelopes' signed header times, which both
//! sides hold identically, and the report is serialised canonically (keys
//! sorted, lists sorted by envelope id), so when both nodes hold the same
//! exchanges their reports are byte-identical. When they are not,
//! [`compare`] lists the envelopes one side holds and the other does not,
//! with the log entry that recorded each on our side.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use soberana_core::{DecidedBy, Outcome, PartyCode, Timestamp};
use soberana_wire::{Body, UnverifiedEnvelope};

use crate::{Node, NodeError};

/// The report format, named in every report.
pub const REPORT_FORMAT: &str = "soberana-transparency/1";

/// One envelope behind the figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct ReportedEnvelope {
    /// The envelope id.
    pub envelope: String,
    /// Who sent it.
    pub sender: String,
    /// Its body kind (`proposal`, `decision`, …).
    pub kind: String,
    /// The proposal it belongs to, where it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    /// Its signed header time, unix milliseconds.
    pub time_ms: i64,
    /// SHA-256 of its body, hex.
    pub body_digest: String,
}

/// What answers released, per sender.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// Answers sent.
    pub answers: u64,
    /// Items released in them.
    pub items: u64,
    /// Bytes of their bodies.
    pub bytes: u64,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransparencyReport {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// The two parties, sorted.
    pub parties: Vec<String>,
    /// The period's start, inclusive (RFC 3339).
    pub from: String,
    /// The period's end, exclusive (RFC 3339).
    pub to: String,
    /// SHA-256 over the sorted envelope list: equal digests, equal exchanges.
    pub exchange_digest: String,
    /// Envelopes by `SENDER kind`.
    pub envelopes: BTreeMap<String, u64>,
    /// Proposals by `PROPOSER kind`.
    pub proposals: BTreeMap<String, u64>,
    /// Decisions by `DECIDER outcome by policy|officer`.
    pub decisions: BTreeMap<String, u64>,
    /// Refusals taken by policy alone, by `DECIDER policy-id`.
    pub refused_by_policy: BTreeMap<String, u64>,
    /// Decisions an officer took with a second officer's confirmation, by decider.
    pub four_eyes: BTreeMap<String, u64>,
    /// Receipts (notices acknowledged) by the acknowledging party.
    pub receipts: BTreeMap<String, u64>,
    /// What answers released, by the releasing party.
    pub released: BTreeMap<String, Released>,
    /// Protocol messages of matches and traces, by sender.
    pub match_messages: BTreeMap<String, u64>,
    /// Proposals under which a match or trace ran.
    pub match_proposals: u64,
    /// Answer times breached, by `PARTY-THAT-OWED kind`: proposals answered
    /// (decided or acknowledged) after their agreed answer time, or not
    /// answered by the earlier of the period's end and the moment the
    /// report was made.
    pub breaches: BTreeMap<String, u64>,
    /// Checkpoints sent to be cosigned, by the log's party.
    pub checkpoints: BTreeMap<String, u64>,
    /// Cosignatures, by the witnessing party.
    pub cosignatures: BTreeMap<String, u64>,
    /// Every envelope behind the figures, sorted by id.
    pub exchange: Vec<ReportedEnvelope>,
    /// Log restarts declared in the period, in the order sent (absent when
    /// none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarts: Vec<ReportedRestart>,
}

/// A log restart declared by one party to the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedRestart {
    /// The party whose log restarted.
    pub party: String,
    /// The envelope that carried the declaration.
    pub envelope: String,
    /// The entries its log kept before the declaration.
    pub restored_size: u64,
    /// The first checkpoint of the new branch.
    pub checkpoint_size: u64,
    /// The reason given.
    pub reason: String,
}

impl TransparencyReport {
    /// The canonical text: pretty JSON with sorted keys and a final newline.
    pub fn to_text(&self) -> String {
        // Struct fields serialise in declaration order and every map is a
        // BTreeMap, so the text depends on the figures alone.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::AcceptedWithConditions { .. } => "accepted_with_conditions",
        Outcome::Refused => "refused",
        Outcome::MoreInformationNeeded { .. } => "more_information_needed",
    }
}

/// One envelope that crossed between us and a partner, verified and read.
pub(crate) struct Crossed {
    /// True for one we sent.
    pub sent: bool,
    /// Its signed header.
    pub header: soberana_wire::EnvelopeHeader,
    /// Its body.
    pub body: Body,
    /// The length of its body in bytes.
    pub body_len: usize,
}

impl Node {
    /// Every envelope that crossed between us and `peer` with a signed
    /// header time in `[from, to)`, each verified against its sender's key
    /// (ours, or the partner's pinned one) and read.
    pub(crate) fn crossed(
        &self,
        peer: PartyCode,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Crossed>, NodeError> {
        let card = self.peer(peer).ok_or_else(|| NodeError::Report {
            detail: format!("`{peer}` is not a pinned partner of this node"),
        })?;
        // The key in use and every key rotated out: each envelope verifies
        // against the key its sender held when it was sealed.
        let previous = self.previous_cards();
        let keys_of = |party: PartyCode, current: soberana_wire::PublicKey| {
            let mut keys = vec![current];
            keys.extend(
                previous
                    .iter()
                    .filter(|c| c.party == party)
                    .map(|c| c.signing_key),
            );
            keys
        };
        let own = keys_of(self.party(), self.key().public());
        let theirs = keys_of(peer, card.signing_key);
        let mut out = Vec::new();
        for stored in self.store().exchanged(peer)? {
            let keys = if stored.sent { &own } else { &theirs };
            let verified = UnverifiedEnvelope::parse(&stored.bytes, usize::MAX)
                .and_then(|e| e.verify_any(keys))
                .map_err(|e| NodeError::Report {
                    detail: format!(
                        "stored envelope `{}` does not verify against {}'s {} key: {e}",
                        stored.envelope_id,
                        if stored.sent { self.party() } else { peer },
                        if stored.sent { "own" } else { "pinned" },
                    ),
                })?;
            let header = verified.header().clone();
            let at = header.timestamp();
            if at < from || at >= to {
                continue;
            }
            let body = verified.body().map_err(|e| NodeError::Report {
                detail: format!("stored envelope `{}`: {e}", stored.envelope_id),
            })?;
            out.push(Crossed {
                sent: stored.sent,
                header,
                body,
                body_len: verified.body_bytes().len(),
            });
        }
        Ok(out)
    }

    /// Computes the transparency report of what crossed between this node
    /// and `peer` with signed header times in `[from, to)`.
    pub fn transparency_report(
        &self,
        peer: PartyCode,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<TransparencyReport, NodeError> {
        let mut parties = vec![self.party().to_string(), peer.to_string()];
        parties.sort();
        let mut report = TransparencyReport {
            format: REPORT_FORMAT.into(),
            parties,
            from: from.to_string(),
            to: to.to_string(),
            exchange_digest: String::new(),
            envelopes: BTreeMap::new(),
            proposals: BTreeMap::new(),
            decisions: BTreeMap::new(),
            refused_by_policy: BTreeMap::new(),
            four_eyes: BTreeMap::new(),
            receipts: BTreeMap::new(),
            released: BTreeMap::new(),
            match_messages: BTreeMap::new(),
            match_proposals: 0,
            breaches: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            cosignatures: BTreeMap::new(),
            exchange: Vec::new(),
            restarts: Vec::new(),
        };
        let mut matched = std::collections::BTreeSet::new();
        // Per proposal: (kind, the party that owes the answer, created),
        // and the signed time of its first answer.
        let mut asked: BTreeMap<String, (soberana_core::ProposalKind, String, Timestamp)> =
            BTreeMap::new();
        let mut answered: BTreeMap<String, Timestamp> = BTreeMap::new();
        for Crossed {
            header,
            body,
            body_len,
            ..
        } in self.crossed(peer, from, to)?
        {
            let at = header.timestamp();
            let sender = header.sender.to_string();
            *report
                .envelopes
                .entry(format!("{sender} {}", header.kind.as_str()))
                .or_default() += 1;
            let proposal = match &body {
                Body::Proposal(p) => {
                    asked.insert(
                        p.id.to_string(),
                        (p.body.kind(), p.to.to_string(), p.created),
                    );
                    *report
                        .proposals
                        .entry(format!("{sender} {}", p.body.kind().as_str()))
                        .or_default() += 1;
                    Some(p.id.to_string())
                }
                Body::Decision(d) => {
                    let by = match &d.decided_by {
                        DecidedBy::Policy => "policy",
                        DecidedBy::Officer { confirmed_by, .. } => {
                            if confirmed_by.is_some() {
                                *report.four_eyes.entry(sender.clone()).or_default() += 1;
                            }
                            "officer"
                        }
                    };
                    *report
                        .decisions
                        .entry(format!("{sender} {} by {by}", outcome_name(&d.outcome)))
                        .or_default() += 1;
                    if matches!(d.outcome, Outcome::Refused) && by == "policy" {
                        for reason in &d.reasons {
                            let policy = reason.policy.as_deref().unwrap_or("(unnamed)");
                            *report
                                .refused_by_policy
                                .entry(format!("{sender} {policy}"))
                                .or_default() += 1;
                        }
                    }
                    let first = answered.entry(d.proposal_id.to_string()).or_insert(at);
                    *first = (*first).min(at);
                    Some(d.proposal_id.to_string())
                }
                Body::Receipt(r) => {
                    let first = answered.entry(r.proposal_id.to_string()).or_insert(at);
                    *first = (*first).min(at);
                    *report.receipts.entry(sender.clone()).or_default() += 1;
                    Some(r.proposal_id.to_string())
                }
                Body::Answer(a) => {
                    let released = report.released.entry(sender.clone()).or_default();
                    released.answers += 1;
                    released.items += a.items.len() as u64;
                    released.bytes += body_len as u64;
                    Some(a.proposal_id.to_string())
                }
                Body::Session(m) => {
                    *report.match_messages.entry(sender.clone()).or_default() += 1;
                    matched.insert(m.proposal_id.to_string());
                    Some(m.proposal_id.to_string())
                }
                Body::Case(c) => Some(c.proposal_id.to_string()),
                Body::Checkpoint(request) => {
                    *report.checkpoints.entry(sender.clone()).or_default() += 1;
                    if let Some(restart) = &request.restart {
                        let checkpoint_size =
                            soberana_ledger::AddCheckpoint::parse(&request.add_checkpoint)
                                .ok()
                                .and_then(|r| {
                                    soberana_ledger::SignedCheckpoint::parse_unverified(
                                        &r.checkpoint,
                                    )
                                    .ok()
                                })
                                .map_or(0, |c| c.checkpoint().size());
                        report.restarts.push(ReportedRestart {
                            party: sender.clone(),
                            envelope: header.id.to_string(),
                            restored_size: restart.restored_size,
                            checkpoint_size,
                            reason: restart.reason.clone(),
                        });
                    }
                    None
                }
                Body::Cosignature(_) => {
                    *report.cosignatures.entry(sender.clone()).or_default() += 1;
                    None
                }
                // Acts on the agreement are counted with the envelopes by
                // kind; they concern no proposal.
                Body::Agreement(_) | Body::CardUpdate(_) => None,
            };
            report.exchange.push(ReportedEnvelope {
                envelope: header.id.to_string(),
                sender,
                kind: header.kind.as_str().to_owned(),
                proposal,
                time_ms: header.time,
                body_digest: header.body_digest.to_hex(),
            });
        }
        report.match_proposals = matched.len() as u64;
        let horizon = to.min(Timestamp::now());
        for (id, (kind, owed_by, created)) in &asked {
            let due = self.answer_due(*kind, *created);
            let late = match answered.get(id) {
                Some(at) => *at > due,
                None => due <= horizon,
            };
            if late {
                *report
                    .breaches
                    .entry(format!("{owed_by} {}", kind.as_str()))
                    .or_default() += 1;
            }
        }
        report.exchange.sort();
        report.restarts.sort_by(|a, b| a.envelope.cmp(&b.envelope));
        let mut digest = Sha256::new();
        for e in &report.exchange {
            digest.update(format!("{} {} {}\n", e.envelope, e.sender, e.body_digest));
        }
        report.exchange_digest = hex::encode(digest.finalize());
        Ok(report)
    }

    /// Where our log recorded each envelope we received, for listing
    /// differences.
    fn log_index_of(&self, envelope: &str) -> Option<u64> {
        self.store().received_log_index(envelope).ok().flatten()
    }
}

/// How two parties' reports for the same period differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportDifference {
    /// Envelopes only in our report, with our log index where we hold one.
    pub only_ours: Vec<(ReportedEnvelope, Option<u64>)>,
    /// Envelopes only in the partner's report.
    pub only_theirs: Vec<ReportedEnvelope>,
    /// Envelopes both list but with different contents.
    pub differing: Vec<(ReportedEnvelope, ReportedEnvelope)>,
    /// The report's other fields that differ (parties, period).
    pub header: Vec<String>,
}

impl ReportDifference {
    /// True when the reports agree.
    pub fn is_empty(&self) -> bool {
        self.only_ours.is_empty()
            && self.only_theirs.is_empty()
            && self.differing.is_empty()
            && self.header.is_empty()
    }
}

/// Compares our report with the partner's for the same period.
pub fn compare(
    node: &Node,
    ours: &TransparencyReport,
    theirs: &TransparencyReport,
) -> ReportDifference {
    let mut diff = ReportDifference::default();
    for (name, a, b) in [
        ("format", &ours.format, &theirs.format),
        ("from", &ours.from, &theirs.from),
        ("to", &ours.to, &theirs.to),
    ] {
        if a != b {
            diff.header
                .push(format!("{name}: ours `{a}`, theirs `{b}`"));
        }
    }
    if ours.parties != theirs.parties {
        diff.header.push(format!(
            "parties: ours {:?}, theirs {:?}",
            ours.parties, theirs.parties
        ));
    }
    let theirs_by_id: BTreeMap<&str, &ReportedEnvelope> = theirs
        .exchange
        .iter()
        .map(|e| (e.envelope.as_str(), e))
        .collect();
    let ours_by_id: BTreeMap<&str, &ReportedEnvelope> = ours
        .exchange
        .iter()
        .map(|e| (e.envelope.as_str(), e))
        .collect();
    for e in &ours.exchange {
        match theirs_by_id.get(e.envelope.as_str()) {
            None => diff
                .only_ours
                .push((e.clone(), node.log_index_of(&e.envelope))),
            Some(t) if *t != e => diff.differing.push((e.clone(), (*t).clone())),
            Some(_) => {}
        }
    }
    for e in &theirs.exchange {
        if !ours_by_id.contains_key(e.envelope.as_str()) {
            diff.only_theirs.push(e.clone());
        }
    }
    diff
}
