//! The case an accepted joint-investigation proposal opens, on both nodes,
//! with no separate step.
//!
//! The accepting node opens its side as soon as the acceptance is
//! committed (an officer's decision through [`Node::decide`] or
//! [`Node::confirm`], or policy's at intake); the proposing node opens its
//! side when it takes in the signed acceptance. Both derive the same case
//! id from the proposal. The opening is the node's own act (actor
//! `node`), and names the side's members as the agreement names them;
//! where it names none for a side, the officer who proposed (proposing
//! side) or decided (accepting side) administers it. A side left with no
//! administrator (policy accepted, the agreement named nobody, no author)
//! is taken by one of its approvers with [`Node::case_take`], once.
//!
//! If the node stops between the acceptance and the opening, the case loop
//! (`retention.rs`) opens what is owed on its next pass.

use std::sync::Mutex;

use soberana_case::{Act, CaseId, NODE_ACTOR, OpeningMember};
use soberana_core::{
    DecidedBy, Direction, OfficerId, Proposal, ProposalBody, ProposalId, ProposalKind,
    ProposalState, Role,
};
use soberana_store::ProposalDetail;

use super::DEFAULT_TERM_MS;
use crate::{Node, NodeError};

/// One opening at a time, so the intake hook and the case loop do not both
/// open the same side.
static OPENING: Mutex<()> = Mutex::new(());

/// The node's own actor.
pub(crate) fn node_actor() -> Result<OfficerId, NodeError> {
    OfficerId::new(NODE_ACTOR).map_err(|e| NodeError::Case(e.to_string()))
}

impl Node {
    /// Opens our side of the case of `proposal` if it is an accepted joint
    /// investigation and we have not opened it yet. Returns the case id
    /// when the proposal opens a case.
    pub fn open_agreed_case(&self, proposal: ProposalId) -> Result<Option<CaseId>, NodeError> {
        // Asked on every proposal and decision taken in: the kind alone
        // settles it for all but joint investigations.
        if self
            .store()
            .proposal_kind(proposal)?
            .is_some_and(|kind| kind != ProposalKind::JointInvestigation)
        {
            return Ok(None);
        }
        let detail = self.show(proposal)?;
        let Some(opening) = self.opening_of(&detail) else {
            return Ok(None);
        };
        let case = CaseId::for_proposal(&proposal);
        let _one = OPENING.lock().unwrap_or_else(|p| p.into_inner());
        if self
            .store()
            .case(case)?
            .is_some_and(|c| c.opened_by.contains(&self.party()))
        {
            return Ok(Some(case));
        }
        self.act(&node_actor()?, case, opening)?;
        tracing::info!(%case, %proposal, "case opened from the accepted agreement");
        Ok(Some(case))
    }

    /// Like [`Node::open_agreed_case`], for hooks that must not fail the
    /// act that called them: a failure is logged and the case loop tries
    /// again. `kind`, when the caller knows the proposal's kind, spares
    /// asking the store for it: only a joint investigation opens a case.
    pub(crate) fn open_agreed_case_logged(&self, proposal: ProposalId, kind: Option<ProposalKind>) {
        if kind.is_some_and(|kind| kind != ProposalKind::JointInvestigation) {
            return;
        }
        if let Err(e) = self.open_agreed_case(proposal) {
            tracing::warn!(%proposal, error = %e, "could not open the case of the agreement; the case loop tries again");
        }
    }

    /// Our opening act for an accepted joint investigation, or `None`.
    fn opening_of(&self, detail: &ProposalDetail) -> Option<Act> {
        let p = &detail.record.proposal;
        let ProposalBody::JointInvestigation(joint) = &p.body else {
            return None;
        };
        if !matches!(
            detail.record.state,
            ProposalState::Accepted | ProposalState::Answered
        ) {
            return None;
        }
        let us = self.party();
        // Only officers registered and enabled here now: one disabled since
        // the agreement was made is left out (an administrator adds them
        // again once enabled).
        let mut members: Vec<OpeningMember> = joint
            .members
            .iter()
            .filter(|m| m.party == us)
            .filter(|m| {
                let why = self.not_our_officer(&m.officer);
                if let Some(why) = &why {
                    tracing::warn!(proposal = %p.id, officer = %m.officer, "{why}; our side opens without them");
                }
                why.is_none()
            })
            .map(|m| OpeningMember {
                officer: m.officer.clone(),
                administrator: m.administrator,
            })
            .collect();
        if members.is_empty() {
            let acting = match detail.record.direction {
                Direction::Outgoing => p.author.clone(),
                Direction::Incoming => match detail.decision.as_ref().map(|d| &d.decided_by) {
                    Some(DecidedBy::Officer { officer, .. }) => Some(officer.clone()),
                    _ => None,
                },
            };
            members.extend(
                acting
                    .filter(|o| self.not_our_officer(o).is_none())
                    .map(|officer| OpeningMember {
                        officer,
                        administrator: true,
                    }),
            );
        }
        let ends = joint.ends.map_or_else(
            || p.created.unix_millis().saturating_add(DEFAULT_TERM_MS),
            |t| t.unix_millis(),
        );
        if ends < soberana_core::Timestamp::now().unix_millis() {
            // Its term is over: there is no case left to open.
            return None;
        }
        let mut title: String = joint.case_title.chars().take(200).collect();
        if title.trim().is_empty() {
            title = "joint investigation".into();
        }
        Some(Act::Opened {
            proposal_id: p.id,
            title,
            parties: [p.from, p.to],
            ends_at_ms: u64::try_from(ends).unwrap_or(0),
            members: Some(members),
        })
    }

    /// Refuses a joint investigation that names, for our side, an officer
    /// not registered and enabled here: our node establishes who our
    /// members are, whoever wrote the agreement. Checked when we propose
    /// one, when the partner's arrives, when our officer accepts one and,
    /// by leaving such an officer out, when our side opens.
    pub(crate) fn check_agreed_members(&self, detail: &ProposalDetail) -> Result<(), NodeError> {
        self.check_our_members(&detail.record.proposal)
            .map_err(NodeError::BadDecision)
    }

    /// The reason a joint investigation's members for our side are not all
    /// registered and enabled officers of this node, if they are not.
    pub(crate) fn check_our_members(&self, proposal: &Proposal) -> Result<(), String> {
        let ProposalBody::JointInvestigation(joint) = &proposal.body else {
            return Ok(());
        };
        let us = self.party();
        for m in joint.members.iter().filter(|m| m.party == us) {
            if let Some(why) = self.not_our_officer(&m.officer) {
                let role = if m.administrator {
                    "an administrator"
                } else {
                    "a member"
                };
                return Err(format!(
                    "the agreement names `{}` as {role} of {us}'s side, but {why}; {us} names its own members from its officer registry",
                    m.officer
                ));
            }
        }
        Ok(())
    }

    /// Why `officer` cannot be a member of our side, if they cannot: not
    /// registered on this node, or disabled here.
    pub(crate) fn not_our_officer(&self, officer: &OfficerId) -> Option<String> {
        match self.store().officer(officer) {
            Ok(Some(account)) if crate::officers::is_disabled(&account) => Some(format!(
                "officer `{officer}` is disabled on {}",
                self.party()
            )),
            Ok(Some(_)) => None,
            Ok(None) => Some(format!(
                "officer `{officer}` is not registered on {}",
                self.party()
            )),
            Err(e) => Some(format!("the officer registry could not be read: {e}")),
        }
    }

    /// An approver of ours takes the administration of our side of the case
    /// of `proposal`, which the agreement left without one (policy accepted
    /// it and named nobody for our side). Opens our side first if it is not
    /// open yet. Taking it is a `member_added` act in both logs; it is
    /// refused when our side already has an administrator, and then
    /// nothing is written unless the officer already is one.
    pub fn case_take(
        &self,
        proposal: ProposalId,
        officer: &OfficerId,
    ) -> Result<CaseId, NodeError> {
        let account = self.case_officer(officer)?;
        let case = self.open_agreed_case(proposal)?.ok_or_else(|| {
            NodeError::Case(format!(
                "proposal `{proposal}` is not an accepted joint investigation; only one opens a case"
            ))
        })?;
        let view = self.case(case)?;
        let us = self.party();
        if view.case.role_of(us, officer) == Some(soberana_case::CaseRole::Administrator) {
            return Ok(case);
        }
        let admins: Vec<String> = view
            .case
            .members
            .iter()
            .filter(|m| m.party == us && m.role == soberana_case::CaseRole::Administrator)
            .map(|m| m.officer.to_string())
            .collect();
        if !admins.is_empty() {
            return Err(NodeError::Case(format!(
                "{us}'s side of {case} is administered by `{}`; `{officer}` cannot take it (ask an administrator to add them)",
                admins.join("`, `")
            )));
        }
        if !account.officer.has_role(Role::Approver) {
            return Err(NodeError::MissingRole {
                officer: officer.to_string(),
                role: Role::Approver.as_str(),
            });
        }
        self.act(
            officer,
            case,
            Act::MemberAdded {
                side: us,
                member: officer.clone(),
                administrator: true,
            },
        )?;
        Ok(case)
    }
}
