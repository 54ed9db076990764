//! Officers' acts on the node, under the rules every entry point shares.
//!
//! The CLI and the desk reach these methods the same way, so neither can
//! skip a rule:
//! - **Roles.** A decision, a confirmation or a withdrawal is made by an
//!   officer registered on this node with the `approver` role; anyone else
//!   is refused before anything is written.
//! - **Four eyes.** An acceptance that releases material under a handling
//!   code restricting dissemination (H2, H3) does not take effect at once:
//!   it is stored as awaiting a second approver, and only a *different*
//!   approver's confirmation sends it, naming both
//!   (`DecidedBy::Officer { officer, confirmed_by }`). While one awaits
//!   confirmation no other decision on the proposal is taken; the store
//!   checks this inside the decision's own transaction, so a confirmation
//!   racing a withdrawal cannot release what was withdrawn.
//! - **Audit.** Every act writes its line to the audit trail in the same
//!   transaction as the act.

use serde::{Deserialize, Serialize};
use soberana_core::{
    DecidedBy, Decision, Direction, HandlingCode, OfficerId, Outcome, ProposalId, ProposalState,
    Reason, Role, Timestamp,
};
use soberana_store::{
    AuditEntry, OfficerAccount, OfficerDecision, PendingDecision, ProposalDetail,
};
use soberana_wire::{Answer, AnswerItem};

use crate::{Node, NodeError};

/// What an officer decides.
#[derive(Debug, Clone)]
pub struct OfficerVerdict {
    /// The officer deciding.
    pub officer: OfficerId,
    /// What is decided.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// What is released with an acceptance.
    pub release: Vec<AnswerItem>,
}

/// What became of an officer's decision.
#[derive(Debug, Clone)]
pub enum DecisionStep {
    /// It took effect and is queued to the proposer.
    Decided(Decision),
    /// Four eyes: it is stored and waits for a different approver to
    /// confirm it (`soberana confirm`, or the desk); nothing has left.
    AwaitingSecondApprover(AwaitingConfirmation),
}

/// A decision awaiting a second approver's confirmation.
#[derive(Debug, Clone)]
pub struct AwaitingConfirmation {
    /// The officer who made it.
    pub officer: OfficerId,
    /// When.
    pub at: Timestamp,
    /// What it decides.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// What it releases.
    pub release: Vec<AnswerItem>,
}

/// A decision as stored while it awaits confirmation (the JSON format the
/// desk has always written, so stored rows stay readable).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredVerdict {
    outcome: Outcome,
    reason: String,
    release: Vec<(String, String)>,
}

fn audit(officer: &OfficerId, action: &str, id: ProposalId, detail: String) -> AuditEntry {
    AuditEntry {
        at: Timestamp::now(),
        officer: officer.to_string(),
        action: action.into(),
        target: id.to_string(),
        detail,
    }
}

/// Whether releasing `release` with `outcome` on `detail` needs a second
/// approver: an acceptance that releases anything under a handling code
/// restricting dissemination.
///
/// `handling` is *our* classification of what would be released
/// ([`Node::classify_release`]): the partner's label is only its floor.
pub fn needs_four_eyes(handling: HandlingCode, outcome: &Outcome, release: &[AnswerItem]) -> bool {
    outcome.is_acceptance() && !release.is_empty() && handling.restricts_dissemination()
}

impl Node {
    /// The officer registered as `id`, if they hold the approver role.
    pub(crate) fn approver(&self, id: &OfficerId) -> Result<(), NodeError> {
        let account = self
            .store()
            .officer(id)?
            .ok_or_else(|| NodeError::UnknownOfficer(id.to_string()))?;
        if is_disabled(&account) {
            return Err(NodeError::DisabledOfficer(id.to_string()));
        }
        if !account.officer.has_role(Role::Approver) {
            return Err(NodeError::MissingRole {
                officer: id.to_string(),
                role: Role::Approver.as_str(),
            });
        }
        Ok(())
    }

    /// The proposal, if an officer can decide it now.
    pub(crate) fn decidable(&self, id: ProposalId) -> Result<ProposalDetail, NodeError> {
        let detail = self.show(id)?;
        if detail.record.direction != Direction::Incoming
            || detail.record.state != ProposalState::AwaitingOfficer
        {
            return Err(NodeError::NotAwaitingDecision {
                id: id.to_string(),
                state: format!(
                    "{} and {}",
                    detail.record.direction.as_str(),
                    detail.record.state
                ),
            });
        }
        Ok(detail)
    }

    /// An officer's decision on an incoming proposal awaiting one. It takes
    /// effect and is queued (with anything released) to the proposer, or,
    /// where four eyes are required, waits for a second approver.
    pub fn decide(
        &self,
        id: ProposalId,
        verdict: OfficerVerdict,
    ) -> Result<DecisionStep, NodeError> {
        if verdict.reason.trim().is_empty() {
            return Err(NodeError::BadDecision(
                "give a reason for the decision; the partner reads it".into(),
            ));
        }
        if !verdict.release.is_empty() && !verdict.outcome.is_acceptance() {
            return Err(NodeError::BadDecision(
                "only an acceptance releases anything; release nothing or accept".into(),
            ));
        }
        self.approver(&verdict.officer)?;
        let detail = self.decidable(id)?;
        if verdict.outcome.is_acceptance() {
            self.check_agreed_members(&detail)?;
        }
        if let Some(pending) = self.store().pending(id)? {
            return Err(NodeError::AwaitingConfirmation {
                id: id.to_string(),
                officer: pending.officer.to_string(),
            });
        }
        // Accepting a continuation or trace request answers it: the node
        // computes the answer on its own data unless the officer wrote what
        // to release.
        let verdict = self.with_continuation(&detail, verdict)?;
        let verdict = self.with_trace(&detail, verdict)?;
        let verdict = self.with_consent(&detail, verdict)?;
        let verdict = self.with_evidence(&detail, verdict)?;
        let handling = self
            .classify_release(&detail.record.proposal, &verdict.release)
            .code;
        if needs_four_eyes(handling, &verdict.outcome, &verdict.release) {
            let stored = StoredVerdict {
                outcome: verdict.outcome.clone(),
                reason: verdict.reason.clone(),
                release: verdict
                    .release
                    .iter()
                    .map(|i| (i.label.clone(), i.value.clone()))
                    .collect(),
            };
            let body = serde_json::to_string(&stored)
                .map_err(|e| NodeError::BadDecision(e.to_string()))?;
            let at = Timestamp::now();
            self.store().put_pending(
                PendingDecision {
                    proposal_id: id,
                    officer: verdict.officer.clone(),
                    at,
                    body,
                },
                audit(
                    &verdict.officer,
                    "decision_pending",
                    id,
                    format!(
                        "{} · {} item(s)",
                        verdict.outcome.as_str(),
                        verdict.release.len()
                    ),
                ),
            )?;
            return Ok(DecisionStep::AwaitingSecondApprover(AwaitingConfirmation {
                officer: verdict.officer,
                at,
                outcome: verdict.outcome,
                reason: verdict.reason,
                release: verdict.release,
            }));
        }
        let line = audit(
            &verdict.officer,
            "decide",
            id,
            format!(
                "{} · {} item(s) released",
                verdict.outcome.as_str(),
                verdict.release.len()
            ),
        );
        let decision = self.commit_decision(
            &detail,
            DecidedBy::Officer {
                officer: verdict.officer,
                confirmed_by: None,
            },
            verdict.outcome,
            verdict.reason,
            verdict.release,
            None,
            line,
        )?;
        Ok(DecisionStep::Decided(decision))
    }

    /// A second approver confirms the decision awaiting confirmation on
    /// `id`, which then takes effect naming both officers.
    pub fn confirm(&self, id: ProposalId, officer: &OfficerId) -> Result<Decision, NodeError> {
        self.approver(officer)?;
        let detail = self.decidable(id)?;
        let pending = self
            .store()
            .pending(id)?
            .ok_or_else(|| NodeError::NothingToConfirm(id.to_string()))?;
        if &pending.officer == officer {
            return Err(NodeError::SameOfficer(officer.to_string()));
        }
        let stored = parse_stored(&pending)?;
        let items = stored.release.len();
        let line = audit(
            officer,
            "decision_confirmed",
            id,
            format!(
                "{} by {} confirmed · {items} item(s) released",
                stored.outcome.as_str(),
                pending.officer
            ),
        );
        self.commit_decision(
            &detail,
            DecidedBy::Officer {
                officer: pending.officer.clone(),
                confirmed_by: Some(officer.clone()),
            },
            stored.outcome,
            stored.reason,
            stored
                .release
                .into_iter()
                .map(|(label, value)| AnswerItem { label, value })
                .collect(),
            Some(pending),
            line,
        )
    }

    /// An approver withdraws the decision awaiting confirmation on `id`;
    /// nothing of it takes effect.
    pub fn withdraw(&self, id: ProposalId, officer: &OfficerId) -> Result<(), NodeError> {
        self.approver(officer)?;
        let pending = self
            .store()
            .pending(id)?
            .ok_or_else(|| NodeError::NothingToConfirm(id.to_string()))?;
        self.store().clear_pending(
            id,
            audit(
                officer,
                "decision_withdrawn",
                id,
                format!("pending decision by {}", pending.officer),
            ),
        )?;
        Ok(())
    }

    /// The decision awaiting a second approver on `id`, if any.
    pub fn pending(&self, id: ProposalId) -> Result<Option<AwaitingConfirmation>, NodeError> {
        let Some(pending) = self.store().pending(id)? else {
            return Ok(None);
        };
        let stored = parse_stored(&pending)?;
        Ok(Some(AwaitingConfirmation {
            officer: pending.officer,
            at: pending.at,
            outcome: stored.outcome,
            reason: stored.reason,
            release: stored
                .release
                .into_iter()
                .map(|(label, value)| AnswerItem { label, value })
                .collect(),
        }))
    }

    /// Builds the decision and its answer, and commits them (with the
    /// audit line, and the confirmed pending decision removed) in one
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    fn commit_decision(
        &self,
        detail: &ProposalDetail,
        decided_by: DecidedBy,
        outcome: Outcome,
        reason: String,
        release: Vec<AnswerItem>,
        confirms: Option<PendingDecision>,
        line: AuditEntry,
    ) -> Result<Decision, NodeError> {
        let id = detail.record.id();
        let decision = Decision {
            proposal_id: id,
            decided_by_party: self.party(),
            reasons: {
                // What is accepted is the structured content alone: prose
                // never carries consent.
                let mut reasons = vec![Reason::plain(reason)];
                if outcome.is_acceptance() {
                    reasons.push(Reason::plain(soberana_core::STRUCTURED_CONTENT_ONLY));
                }
                reasons
            },
            outcome,
            decided_by,
            policy_digest: self.policy().digest(),
            decided_at: Timestamp::now(),
        };
        let handling = self
            .classify_release(&detail.record.proposal, &release)
            .code;
        let answer = (decision.outcome.is_acceptance() && !release.is_empty()).then(|| Answer {
            proposal_id: id,
            summary: format!(
                "released by {} under decision of {}",
                self.party(),
                decision.decided_at
            ),
            items: release,
            handling,
            conditions: match &decision.outcome {
                Outcome::AcceptedWithConditions { conditions } => conditions.clone(),
                _ => Vec::new(),
            },
        });
        self.store().decide(
            OfficerDecision {
                decision: decision.clone(),
                answer,
                confirms,
                audit: Some(line),
            },
            self.sealer(),
        )?;
        self.wake_outbox();
        if decision.outcome.is_acceptance() {
            // An accepted joint investigation opens its case at once.
            self.open_agreed_case_logged(id, Some(detail.record.kind()));
        }
        Ok(decision)
    }

    /// The officers registered on this node, and their audit trail.
    pub fn officers(&self) -> Officers<'_> {
        Officers { node: self }
    }
}

fn parse_stored(pending: &PendingDecision) -> Result<StoredVerdict, NodeError> {
    serde_json::from_str(&pending.body).map_err(|e| {
        NodeError::Store(soberana_store::StoreError::Corrupt(format!(
            "the decision on `{}` awaiting confirmation does not parse: {e}",
            pending.proposal_id
        )))
    })
}

/// The officers' accounts and audit trail of a node. Decisions awaiting
/// confirmation are changed only through [`Node::decide`],
/// [`Node::confirm`] and [`Node::withdraw`].
pub struct Officers<'a> {
    node: &'a Node,
}

/// A disabled account is locked until this instant (the end of year 9999):
/// the desk refuses its logins as locked, and the node refuses its acts.
pub const DISABLED_UNTIL: Timestamp = Timestamp::from_unix_millis(253_402_300_799_000);

/// Whether an account is disabled (rather than locked for a while after
/// failed logins).
pub fn is_disabled(account: &OfficerAccount) -> bool {
    account.locked_until.is_some_and(|t| t >= DISABLED_UNTIL)
}

impl Officers<'_> {
    fn set_lock(
        &self,
        id: &OfficerId,
        until: Option<Timestamp>,
        action: &str,
        by: &str,
    ) -> Result<(), NodeError> {
        let line = AuditEntry {
            at: Timestamp::now(),
            officer: by.to_owned(),
            action: action.into(),
            target: id.to_string(),
            detail: String::new(),
        };
        if self.node.store().set_lock(id, until, line)? {
            Ok(())
        } else {
            Err(NodeError::UnknownOfficer(id.to_string()))
        }
    }

    /// Disables an account: it can neither log in to the desk nor act
    /// through the node until enabled again. Audited, naming `by`.
    pub fn disable(&self, id: &OfficerId, by: &str) -> Result<(), NodeError> {
        self.set_lock(id, Some(DISABLED_UNTIL), "officer_disabled", by)
    }

    /// Enables a disabled account, or unlocks one locked after failed
    /// logins, and clears its failure count. Audited, naming `by`.
    pub fn enable(&self, id: &OfficerId, by: &str) -> Result<(), NodeError> {
        self.set_lock(id, None, "officer_enabled", by)
    }

    /// Registers (or replaces) an officer's account, with an audit line
    /// naming who did it (`by`: an officer, or the operator's identity on
    /// the machine, such as `cli:maria`).
    pub fn put_officer(&self, account: OfficerAccount, by: &str) -> Result<(), NodeError> {
        if account.officer.roles.is_empty() {
            return Err(NodeError::BadOfficer(
                "an officer needs at least one role".into(),
            ));
        }
        if account.officer.id.as_str() == soberana_case::NODE_ACTOR {
            return Err(NodeError::BadOfficer(format!(
                "`{}` names the node itself in the records of joint investigations; choose another officer id",
                soberana_case::NODE_ACTOR
            )));
        }
        let roles: Vec<&str> = account.officer.roles.iter().map(Role::as_str).collect();
        let line = AuditEntry {
            at: Timestamp::now(),
            officer: by.to_owned(),
            action: "officer_added".into(),
            target: account.officer.id.to_string(),
            detail: format!(
                "{} · {} · {}",
                account.officer.name,
                account.officer.agency,
                roles.join(",")
            ),
        };
        Ok(self.node.store().put_officer(account, line)?)
    }

    /// One officer's account.
    pub fn officer(&self, id: &OfficerId) -> Result<Option<OfficerAccount>, NodeError> {
        Ok(self.node.store().officer(id)?)
    }

    /// Every account, by id.
    pub fn officers(&self) -> Result<Vec<OfficerAccount>, NodeError> {
        Ok(self.node.store().officers()?)
    }

    /// Admits one login attempt before its password is checked, counting it
    /// in one store write (see [`soberana_store::OfficerStore::admit_login`]).
    pub fn admit_login(
        &self,
        id: &OfficerId,
        lock_after: u32,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<soberana_store::LoginAdmission, NodeError> {
        Ok(self
            .node
            .store()
            .admit_login(id, lock_after, now, lock_until)?)
    }

    /// Records a successful login.
    pub fn login_succeeded(&self, id: &OfficerId, audit: AuditEntry) -> Result<(), NodeError> {
        Ok(self.node.store().login_succeeded(id, audit)?)
    }

    /// Sets the language the desk uses for an officer.
    pub fn set_language(
        &self,
        id: &OfficerId,
        language: &str,
        audit: AuditEntry,
    ) -> Result<(), NodeError> {
        Ok(self.node.store().set_language(id, language, audit)?)
    }

    /// Appends a line to the audit trail.
    pub fn audit(&self, entry: AuditEntry) -> Result<(), NodeError> {
        Ok(self.node.store().audit(entry)?)
    }

    /// The latest `limit` lines of the audit trail, newest first.
    pub fn audit_trail(&self, limit: usize) -> Result<Vec<AuditEntry>, NodeError> {
        Ok(self.node.store().audit_trail(limit)?)
    }

    /// The decision awaiting confirmation on a proposal, if any.
    pub fn pending(&self, id: ProposalId) -> Result<Option<AwaitingConfirmation>, NodeError> {
        self.node.pending(id)
    }
}
