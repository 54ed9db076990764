//! Evidence behind a notice or information request, and the rules for the
//! two proposal kinds about evidence.
//!
//! A notice or information request carries its exhibits in its **evidence
//! file**: a case whose id is derived from the proposal's id
//! (`CaseId::for_proposal`), opened by either side from that proposal
//! (`Node::evidence_file_open`). Its exhibits are contributed, released
//! under four eyes, fetched, opened, used and deleted exactly as in a joint
//! investigation, under the same custody in both logs.
//!
//! A notice or request that carries exhibits names each of them (digest,
//! size, title) in its own signed body (`body.exhibits`): the receiver knows
//! from the proposal itself what evidence came with it. In its evidence
//! file, the sender offers only exhibits the body names, with the size it
//! names; our node checks that before our own offer
//! (`Node::exhibit_add`) and the receiving node at intake of the sender's
//! (`422 evidence_not_named`). A notice that names no exhibit gets evidence
//! in its file only once the receiver asked for it with a request for
//! evidence. What a notice named and never arrived is listed as missing
//! (`Node::evidence_named`).
//!
//! The receiver of a notice or request that came without evidence answers
//! with a **request for evidence** (`evidence_request`, `Node::
//! evidence_request`), a proposal naming the original. The sender's
//! officers answer it through `Node::decide`: an acceptance names, as what
//! it releases, the exhibits released in the evidence file, and is refused
//! while none is. The consent proposal's rules (`exhibit_consent`) live in
//! `case/consent.rs`; this module holds the checks both kinds pass when
//! they are made, when they arrive and when they are decided.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::path::PathBuf;

use soberana_case::{Act, CaseId, ExhibitDigest, ExhibitStatus, UseConditions};
use soberana_core::{
    Direction, EvidenceRequest, HandlingCode, NamedExhibit, OfficerId, PartyCode, Proposal,
    ProposalBody, ProposalDraft, ProposalId, ProposalKind, ProposalState, Timestamp,
};
use soberana_store::ProposalDetail;
use soberana_wire::AnswerItem;

use crate::officers::OfficerVerdict;
use crate::{Node, NodeError};

/// How long the sender has to answer a request for evidence.
const EVIDENCE_ANSWER_SECONDS: i64 = 7 * 86_400;
/// An evidence file runs this long from its proposal.
const EVIDENCE_TERM_MS: i64 = 365 * 24 * 3600 * 1000;

/// The title of an exhibit: the one given, or else the file's name.
fn title_of(path: &std::path::Path, title: &str) -> String {
    if title.trim().is_empty() {
        path.file_name()
            .map_or_else(|| "exhibit".into(), |n| n.to_string_lossy().into_owned())
    } else {
        title.trim().to_owned()
    }
}

/// Whether a proposal of `kind` has an evidence file.
pub fn has_evidence_file(kind: ProposalKind) -> bool {
    matches!(
        kind,
        ProposalKind::AdvanceNotification | ProposalKind::InformationRequest
    )
}

/// The exhibits a notice or information request names in its signed body.
pub fn named_exhibits(body: &ProposalBody) -> &[NamedExhibit] {
    match body {
        ProposalBody::AdvanceNotification(n) => &n.exhibits,
        ProposalBody::InformationRequest(r) => &r.exhibits,
        _ => &[],
    }
}

fn named_exhibits_mut(body: &mut ProposalBody) -> Option<&mut Vec<NamedExhibit>> {
    match body {
        ProposalBody::AdvanceNotification(n) => Some(&mut n.exhibits),
        ProposalBody::InformationRequest(r) => Some(&mut r.exhibits),
        _ => None,
    }
}

/// Where an exhibit a notice or request named stands in its evidence file,
/// as this node holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedEvidenceState {
    /// Named, and never offered in the evidence file.
    Missing,
    /// Offered by the sender, not released yet.
    Offered,
    /// Released to the receiver, not received yet.
    Released,
    /// Received by the receiver: every byte hashed to the named digest.
    Received,
}

impl NamedEvidenceState {
    /// The state's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            NamedEvidenceState::Missing => "missing",
            NamedEvidenceState::Offered => "offered",
            NamedEvidenceState::Released => "released",
            NamedEvidenceState::Received => "received",
        }
    }
}

/// One exhibit a notice or request named, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEvidence {
    /// As the proposal's signed body names it.
    pub exhibit: NamedExhibit,
    /// Where it stands in the evidence file.
    pub state: NamedEvidenceState,
}

/// What [`Node::propose_with_evidence`] did.
#[derive(Debug, Clone)]
pub struct ProposedWithEvidence {
    /// The proposal, naming its exhibits.
    pub proposal: Proposal,
    /// Its evidence file, opened on our side.
    pub case: CaseId,
    /// The exhibits offered in it, in the order named (release each under
    /// four eyes, `Node::exhibit_release`).
    pub exhibits: Vec<ExhibitDigest>,
}

impl Node {
    /// Sends a notice or information request carrying the files `exhibits`
    /// (each with its title): the proposal names each by digest, size and
    /// title in its signed body, then our side of its evidence file is
    /// opened by `author` and each file offered in it under `conditions`.
    /// A file that cannot be read stops everything before the proposal is
    /// made.
    pub fn propose_with_evidence(
        &self,
        mut draft: ProposalDraft,
        author: &OfficerId,
        exhibits: &[(PathBuf, String)],
        conditions: UseConditions,
    ) -> Result<ProposedWithEvidence, NodeError> {
        self.case_officer(author)?;
        let kind = draft.body.kind();
        let Some(named) = named_exhibits_mut(&mut draft.body) else {
            return Err(NodeError::Proposal {
                path: "draft".into(),
                detail: format!(
                    "a {} carries no exhibits; only a notice or an information request does",
                    kind.label()
                ),
            });
        };
        for (path, title) in exhibits {
            let (digest, size) = super::case::digest_file(path)?;
            named.push(NamedExhibit {
                digest: digest.to_string(),
                size,
                title: title_of(path, title),
            });
        }
        let proposal = self.propose(draft, Some(author.clone()))?;
        let case = self.evidence_file_open(proposal.id, author)?;
        let mut offered = Vec::new();
        for (path, title) in exhibits {
            offered.push(self.exhibit_add(
                case,
                author,
                path,
                &title_of(path, title),
                conditions.clone(),
            )?);
        }
        Ok(ProposedWithEvidence {
            proposal,
            case,
            exhibits: offered,
        })
    }

    /// The exhibits the notice or request `proposal` names in its signed
    /// body, each with where it stands in its evidence file here: one the
    /// sender never offered (or that never arrived in the file) is
    /// `Missing`.
    pub fn evidence_named(&self, proposal: ProposalId) -> Result<Vec<NamedEvidence>, NodeError> {
        let detail = self.show(proposal)?;
        let case = self.store().case(CaseId::for_proposal(&proposal))?;
        Ok(named_exhibits(&detail.record.proposal.body)
            .iter()
            .map(|named| {
                let held = ExhibitDigest::parse(&named.digest)
                    .ok()
                    .and_then(|d| case.as_ref().and_then(|c| c.exhibit(&d).cloned()));
                let state = match held {
                    None => NamedEvidenceState::Missing,
                    Some(x) if x.received => NamedEvidenceState::Received,
                    Some(x) if x.status == ExhibitStatus::Released => NamedEvidenceState::Released,
                    Some(_) => NamedEvidenceState::Offered,
                };
                NamedEvidence {
                    exhibit: named.clone(),
                    state,
                }
            })
            .collect())
    }

    /// Whether `contributor` may offer the exhibit `digest` of `size` in
    /// the evidence file of `proposal`: the sender offers only what the
    /// proposal's signed body names, with the size it names, or, if it
    /// names none, only once the receiver asked for its evidence. The
    /// receiver's own exhibits in the file are not bound by the body.
    pub(crate) fn check_evidence_offer(
        &self,
        proposal: &Proposal,
        contributor: PartyCode,
        digest: &ExhibitDigest,
        size: u64,
    ) -> Result<(), String> {
        if !has_evidence_file(proposal.kind()) || contributor != proposal.from {
            return Ok(());
        }
        let named = named_exhibits(&proposal.body);
        if named.is_empty() {
            if self.evidence_asked(proposal).map_err(|e| e.to_string())? {
                return Ok(());
            }
            return Err(format!(
                "{} `{}` names no exhibit in its signed body and {} has not asked for its evidence; {} offers an exhibit in its evidence file only as the body names it, or in answer to a request for evidence",
                proposal.kind().label(),
                proposal.id,
                proposal.to,
                proposal.from
            ));
        }
        let text = digest.to_string();
        let Some(x) = named.iter().find(|x| x.digest == text) else {
            return Err(format!(
                "exhibit {} is not among the {} exhibit(s) {} `{}` names in its signed body",
                digest.short(),
                named.len(),
                proposal.kind().label(),
                proposal.id
            ));
        };
        if x.size != size {
            return Err(format!(
                "exhibit {} (`{}`) is named with {} bytes in {} `{}`, and offered with {size}",
                digest.short(),
                x.title,
                x.size,
                proposal.kind().label(),
                proposal.id
            ));
        }
        Ok(())
    }

    /// Whether the receiver of `proposal` asked its sender for the evidence
    /// behind it (a request for evidence exchanged between the two).
    fn evidence_asked(&self, proposal: &Proposal) -> Result<bool, NodeError> {
        let us = self.party();
        let direction = if proposal.to == us {
            Direction::Outgoing
        } else {
            Direction::Incoming
        };
        Ok(self
            .list(Some(direction), Vec::<ProposalState>::new())?
            .iter()
            .any(|r| {
                matches!(&r.proposal.body, ProposalBody::EvidenceRequest(asked) if asked.about == proposal.id)
            }))
    }

    /// The partner's offer of an exhibit in the evidence file of a notice
    /// or request, checked at intake against the proposal as we hold it.
    pub(crate) fn admit_evidence_offer(
        &self,
        event: &soberana_case::CustodyEvent,
    ) -> Result<(), String> {
        let Act::ExhibitOffered { exhibit, size, .. } = &event.act else {
            return Ok(());
        };
        let Some(case) = self
            .store()
            .case(event.case_id)
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let Some(detail) = self
            .store()
            .proposal(case.proposal_id)
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        self.check_evidence_offer(&detail.record.proposal, event.party, exhibit, *size)
    }

    /// Asks the sender of the notice or request `about` for the evidence
    /// behind it: a request for evidence of ours, queued to that side.
    pub fn evidence_request(
        &self,
        about: ProposalId,
        by: &OfficerId,
        asked: &str,
    ) -> Result<Proposal, NodeError> {
        let account = self.case_officer(by)?;
        let original = self.show(about)?;
        let p = &original.record.proposal;
        let body = EvidenceRequest {
            about,
            asked: asked.trim().to_owned(),
        };
        self.check_evidence_asked(p.from, &body)
            .map_err(NodeError::Case)?;
        let draft = ProposalDraft {
            to: p.from,
            requesting_agency: account.officer.agency.clone(),
            purpose: format!(
                "the evidence behind {} `{about}`: {}",
                p.kind().label(),
                body.asked
            ),
            legal_basis: p.legal_basis.clone(),
            handling: HandlingCode::H2,
            deadline: Timestamp::now().plus_seconds(EVIDENCE_ANSWER_SECONDS),
            related_to: vec![about],
            body: ProposalBody::EvidenceRequest(body),
        };
        self.propose(draft, Some(by.clone()))
    }

    /// Opens our side of the evidence file of the notice or request
    /// `proposal`; `officer` becomes our side's first administrator.
    pub fn evidence_file_open(
        &self,
        proposal: ProposalId,
        officer: &OfficerId,
    ) -> Result<CaseId, NodeError> {
        self.case_officer(officer)?;
        let detail = self.show(proposal)?;
        let p = &detail.record.proposal;
        if !has_evidence_file(p.kind()) {
            return Err(NodeError::Case(format!(
                "proposal `{proposal}` is a {}; only a notice or an information request has an evidence file",
                p.kind().label()
            )));
        }
        let case = CaseId::for_proposal(&proposal);
        let title: String = format!("evidence: {}", p.body.summary())
            .chars()
            .take(200)
            .collect();
        let ends = p.created.unix_millis().saturating_add(EVIDENCE_TERM_MS);
        self.act(
            officer,
            case,
            Act::Opened {
                proposal_id: proposal,
                title,
                parties: [p.from, p.to],
                ends_at_ms: u64::try_from(ends).unwrap_or(0),
                members: None,
            },
        )?;
        Ok(case)
    }

    /// Our check of a proposal about evidence before it leaves (a draft
    /// written by hand passes it too, through `Node::propose`).
    pub(crate) fn check_evidence_kinds(&self, proposal: &Proposal) -> Result<(), String> {
        match &proposal.body {
            ProposalBody::ExhibitConsent(asked) => self.check_consent_asked(asked),
            ProposalBody::EvidenceRequest(asked) => self.check_evidence_asked(proposal.to, asked),
            _ => Ok(()),
        }
    }

    /// The partner's proposal about evidence, checked at intake against
    /// what we hold; anything else is refused before it is stored.
    pub(crate) fn admit_evidence_kinds(&self, proposal: &Proposal) -> Result<(), String> {
        match &proposal.body {
            ProposalBody::ExhibitConsent(asked) => self.admit_consent(proposal.from, asked),
            ProposalBody::EvidenceRequest(asked) => {
                self.admit_evidence_request(proposal.from, asked)
            }
            _ => Ok(()),
        }
    }

    /// A request for evidence of ours names a notice or request the
    /// addressee sent us.
    fn check_evidence_asked(&self, to: PartyCode, asked: &EvidenceRequest) -> Result<(), String> {
        let original = self
            .store()
            .proposal(asked.about)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no proposal `{}` on this node; evidence is asked for a notice or request received here",
                    asked.about
                )
            })?;
        let p = &original.record.proposal;
        if original.record.direction != Direction::Incoming || p.from != to {
            return Err(format!(
                "proposal `{}` was not sent to us by {to}; evidence is asked of the side that sent the notice or request",
                asked.about
            ));
        }
        if !has_evidence_file(p.kind()) {
            return Err(format!(
                "proposal `{}` is a {}; evidence is asked for a notice or an information request",
                asked.about,
                p.kind().label()
            ));
        }
        Ok(())
    }

    /// The partner's request for evidence names a notice or request we
    /// sent it.
    fn admit_evidence_request(
        &self,
        sender: PartyCode,
        asked: &EvidenceRequest,
    ) -> Result<(), String> {
        let found = self
            .store()
            .proposal(asked.about)
            .map_err(|e| e.to_string())?;
        match found {
            Some(d)
                if d.record.direction == Direction::Outgoing
                    && d.record.proposal.to == sender
                    && has_evidence_file(d.record.proposal.kind()) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "{} sent {sender} no notice or information request `{}`",
                self.party(),
                asked.about
            )),
        }
    }

    /// On the acceptance of a request for evidence, what is released is
    /// the exhibits of ours released in the proposal's evidence file, each
    /// named by digest with its conditions. An acceptance with none
    /// released is refused: release them first (`case exhibit release`).
    pub(crate) fn with_evidence(
        &self,
        detail: &ProposalDetail,
        mut verdict: OfficerVerdict,
    ) -> Result<OfficerVerdict, NodeError> {
        let ProposalBody::EvidenceRequest(asked) = &detail.record.proposal.body else {
            return Ok(verdict);
        };
        if !verdict.outcome.is_acceptance() {
            return Ok(verdict);
        }
        let case = CaseId::for_proposal(&asked.about);
        let us = self.party();
        let released: Vec<AnswerItem> = self
            .store()
            .case(case)?
            .map(|c| {
                c.exhibits
                    .iter()
                    .filter(|x| x.contributor == us && x.status == ExhibitStatus::Released)
                    .map(|x| AnswerItem {
                        label: format!("exhibit `{}`", x.label),
                        value: format!(
                            "sha256:{} · {} bytes · {} · in {case}",
                            x.digest,
                            x.size,
                            x.conditions.describe()
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if released.is_empty() {
            return Err(NodeError::BadDecision(format!(
                "no exhibit of ours is released in the evidence file {case} of `{}`; open it (`soberana case open-evidence {}`), add and release the exhibits under four eyes, then accept",
                asked.about, asked.about
            )));
        }
        verdict.release = released;
        Ok(verdict)
    }
}
