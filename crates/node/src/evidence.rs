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
//! The receiver of a notice or request that came without evidence answers
//! with a **request for evidence** (`evidence_request`, `Node::
//! evidence_request`), a proposal naming the original. The sender's
//! officers answer it through `Node::decide`: an acceptance names, as what
//! it releases, the exhibits released in the evidence file, and is refused
//! while none is. The consent proposal's rules (`exhibit_consent`) live in
//! `case/consent.rs`; this module holds the checks both kinds pass when
//! they are made, when they arrive and when they are decided.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use soberana_case::{Act, CaseId, ExhibitStatus};
use soberana_core::{
    Direction, EvidenceRequest, HandlingCode, OfficerId, PartyCode, Proposal, ProposalBody,
    ProposalDraft, ProposalId, ProposalKind, Timestamp,
};
use soberana_store::ProposalDetail;
use soberana_wire::AnswerItem;

use crate::officers::OfficerVerdict;
use crate::{Node, NodeError};

/// How long the sender has to answer a request for evidence.
const EVIDENCE_ANSWER_SECONDS: i64 = 7 * 86_400;
/// An evidence file runs this long from its proposal.
const EVIDENCE_TERM_MS: i64 = 365 * 24 * 3600 * 1000;

/// Whether a proposal of `kind` has an evidence file.
pub fn has_evidence_file(kind: ProposalKind) -> bool {
    matches!(
        kind,
        ProposalKind::AdvanceNotification | ProposalKind::InformationRequest
    )
}

impl Node {
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
