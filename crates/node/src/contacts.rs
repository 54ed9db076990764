//! Reports of contacts with foreign agencies, from the node's own record.
//!
//! Mexico's National Security Law (2020 reform) obliges Mexican officials
//! to report every meeting, information exchange or call with a foreign
//! agent to the foreign ministry (SRE) and the security ministry (SSPC)
//! within three days. Every exchange that crosses a soberana node is such a
//! contact, and the node holds all of it: which foreign agency asked or
//! answered, which of our officials decided or asked, when, what was
//! exchanged and under which proposal. This module draws the report for a
//! period from the envelopes the node holds (each verified against its
//! sender's key), one contact per proposal, with the date each report is
//! due, and signs it with the node's key so the ministry can check who
//! filed it ([`check_contact_report`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use soberana_core::{DecidedBy, Outcome, PartyCode, Timestamp};
use soberana_wire::{Body, PublicKey};

use crate::{Node, NodeError};

/// The format named in every contact report.
pub const CONTACT_REPORT_FORMAT: &str = "soberana-contact-report/1";
/// The days the law gives to report a contact.
pub const REPORT_WITHIN_DAYS: i64 = 3;
const SIGNING_LABEL: &[u8] = b"soberana contact report v1\n";

/// One contact: everything exchanged under one proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The proposal the exchange belongs to.
    pub proposal: String,
    /// Its kind.
    pub kind: String,
    /// What it is about, in the proposer's words.
    pub summary: String,
    /// The foreign party.
    pub foreign_party: String,
    /// The foreign agency and, where known, its official.
    pub foreign_agency: String,
    /// Our agency and officials in the exchange.
    pub our_officials: Vec<String>,
    /// Who started it: `us` or `them`.
    pub initiated_by: String,
    /// The first exchange (RFC 3339).
    pub first_contact: String,
    /// The last exchange in the period (RFC 3339).
    pub last_contact: String,
    /// What crossed, in order: `proposal received`, `decision sent: accepted`, …
    pub exchanged: Vec<String>,
    /// Items of information we released.
    pub items_released: u64,
    /// When the report of this contact is due (first contact + 3 days).
    pub report_due: String,
    /// Whether that date had passed when the report was made.
    pub overdue: bool,
}

/// The report's content, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactReport {
    /// [`CONTACT_REPORT_FORMAT`].
    pub format: String,
    /// The reporting party.
    pub party: String,
    /// To whom it is filed.
    pub filed_with: Vec<String>,
    /// The period's start, inclusive (RFC 3339).
    pub from: String,
    /// The period's end, exclusive (RFC 3339).
    pub to: String,
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// The contacts, by first contact.
    pub contacts: Vec<Contact>,
}

/// A report with the reporting node's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedContactReport {
    /// The report.
    pub report: ContactReport,
    /// The node's signing key (hex), as in its party card.
    pub signing_key: String,
    /// Ed25519 over the label and the report's canonical JSON, base64.
    pub signature: String,
}

fn signed_bytes(report: &ContactReport) -> Vec<u8> {
    let mut bytes = SIGNING_LABEL.to_vec();
    // A struct of strings, bools, numbers and vectors: its JSON is canonical.
    bytes.extend_from_slice(&serde_json::to_vec(report).unwrap_or_default());
    bytes
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::AcceptedWithConditions { .. } => "accepted with conditions",
        Outcome::Refused => "refused",
        Outcome::MoreInformationNeeded { .. } => "more information needed",
    }
}

#[derive(Default)]
struct Draft {
    kind: String,
    summary: String,
    foreign_agency: Option<String>,
    foreign_officials: Vec<String>,
    ours: Vec<String>,
    initiated_by: Option<&'static str>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    exchanged: Vec<(Timestamp, String)>,
    items: u64,
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

impl Node {
    /// Draws and signs the contact report of the exchanges with `peer`
    /// whose signed times fall in `[from, to)`.
    pub fn contact_report(
        &self,
        peer: PartyCode,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<SignedContactReport, NodeError> {
        let mut drafts: BTreeMap<String, Draft> = BTreeMap::new();
        for crossed in self.crossed(peer, from, to)? {
            let at = crossed.header.timestamp();
            let body = crossed.body;
            let sent = crossed.sent;
            let way = if sent { "sent" } else { "received" };
            let (proposal, what) = match &body {
                Body::Proposal(p) => {
                    let draft = drafts.entry(p.id.to_string()).or_default();
                    draft.kind = p.body.kind().as_str().to_owned();
                    draft.summary = p.body.summary();
                    let agency = p.requesting_agency.to_string();
                    let author = p.author.as_ref().map(|a| format!("{agency} ({a})"));
                    if sent {
                        draft.initiated_by = Some("us");
                        push_unique(&mut draft.ours, author.unwrap_or(agency));
                    } else {
                        draft.initiated_by = Some("them");
                        draft.foreign_agency = Some(author.unwrap_or(agency));
                    }
                    (p.id.to_string(), format!("proposal {way}"))
                }
                Body::Decision(d) => {
                    let draft = drafts.entry(d.proposal_id.to_string()).or_default();
                    let mut deciders = Vec::new();
                    if let DecidedBy::Officer {
                        officer,
                        confirmed_by,
                    } = &d.decided_by
                    {
                        deciders.push(officer.to_string());
                        if let Some(second) = confirmed_by {
                            deciders.push(second.to_string());
                        }
                    }
                    for who in deciders {
                        if sent {
                            push_unique(&mut draft.ours, format!("officer {who}"));
                        } else {
                            push_unique(&mut draft.foreign_officials, who);
                        }
                    }
                    let by = if matches!(d.decided_by, DecidedBy::Policy) {
                        " by policy"
                    } else {
                        ""
                    };
                    (
                        d.proposal_id.to_string(),
                        format!("decision {way}: {}{by}", outcome_name(&d.outcome)),
                    )
                }
                Body::Receipt(r) => (r.proposal_id.to_string(), format!("receipt {way}")),
                Body::Answer(a) => {
                    if sent {
                        drafts.entry(a.proposal_id.to_string()).or_default().items +=
                            a.items.len() as u64;
                    }
                    (
                        a.proposal_id.to_string(),
                        format!("answer {way}: {} item(s)", a.items.len()),
                    )
                }
                Body::Session(m) => (
                    m.proposal_id.to_string(),
                    format!("match message {way} (step {})", m.step),
                ),
                Body::Case(c) => (
                    c.proposal_id.to_string(),
                    format!("joint investigation act {way}"),
                ),
                // Checkpoints and cosignatures are between nodes, not people.
                Body::Checkpoint(_)
                | Body::Cosignature(_)
                | Body::Agreement(_)
                | Body::CardUpdate(_) => continue,
            };
            let draft = drafts.entry(proposal).or_default();
            draft.first = Some(draft.first.map_or(at, |f| f.min(at)));
            draft.last = Some(draft.last.map_or(at, |l| l.max(at)));
            draft.exchanged.push((at, what));
        }
        let now = Timestamp::now();
        let mut contacts: Vec<Contact> = drafts
            .into_iter()
            .filter_map(|(proposal, mut d)| {
                let first = d.first?;
                let last = d.last.unwrap_or(first);
                d.exchanged.sort();
                // Match messages come by the hundred: one line per kind.
                let mut lines: Vec<String> = Vec::new();
                for (_, what) in d.exchanged {
                    if !lines.contains(&what) || !what.starts_with("match message") {
                        lines.push(what);
                    }
                }
                let due = first.plus_seconds(REPORT_WITHIN_DAYS * 24 * 3600);
                let mut foreign = d
                    .foreign_agency
                    .unwrap_or_else(|| format!("{peer} (agency not named)"));
                if !d.foreign_officials.is_empty() {
                    foreign = format!("{foreign}; officials {}", d.foreign_officials.join(", "));
                }
                if d.ours.is_empty() {
                    d.ours
                        .push(format!("{} node (decided by policy)", self.party()));
                }
                Some(Contact {
                    proposal,
                    kind: d.kind,
                    summary: d.summary,
                    foreign_party: peer.to_string(),
                    foreign_agency: foreign,
                    our_officials: d.ours,
                    initiated_by: d.initiated_by.unwrap_or("them").to_owned(),
                    first_contact: first.to_string(),
                    last_contact: last.to_string(),
                    exchanged: lines,
                    items_released: d.items,
                    report_due: due.to_string(),
                    overdue: now > due,
                })
            })
            .collect();
        contacts
            .sort_by(|a, b| (&a.first_contact, &a.proposal).cmp(&(&b.first_contact, &b.proposal)));
        let report = ContactReport {
            format: CONTACT_REPORT_FORMAT.into(),
            party: self.party().to_string(),
            filed_with: vec![
                "Secretaría de Relaciones Exteriores (SRE)".into(),
                "Secretaría de Seguridad y Protección Ciudadana (SSPC)".into(),
            ],
            from: from.to_string(),
            to: to.to_string(),
            made_at: now.to_string(),
            contacts,
        };
        let signature = self.key().sign(&signed_bytes(&report));
        Ok(SignedContactReport {
            report,
            signing_key: self.key().public().to_hex(),
            signature: base64::engine::general_purpose::STANDARD.encode(signature),
        })
    }
}

/// Checks a signed contact report against the key pinned for its party
/// (from its party card); returns the report.
pub fn check_contact_report(
    signed: &SignedContactReport,
    pinned: &PublicKey,
) -> Result<ContactReport, NodeError> {
    let bad = |detail: String| NodeError::Report { detail };
    if signed.report.format != CONTACT_REPORT_FORMAT {
        return Err(bad(format!(
            "format `{}` is not `{CONTACT_REPORT_FORMAT}`",
            signed.report.format
        )));
    }
    if signed.signing_key != pinned.to_hex() {
        return Err(bad(format!(
            "signed with key {}, not with the pinned key {}",
            signed.signing_key,
            pinned.to_hex()
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&signed.signature)
        .map_err(|_| bad("the signature is not base64".into()))?;
    let signature: [u8; 64] = bytes
        .try_into()
        .map_err(|_| bad("the signature is not 64 bytes".into()))?;
    if !pinned.verify(&signed_bytes(&signed.report), &signature) {
        return Err(bad(format!(
            "the signature does not verify with {}'s pinned key: the report was changed after it was signed",
            signed.report.party
        )));
    }
    Ok(signed.report.clone())
}
