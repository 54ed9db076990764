//! The case as both sides see it, and the rules every custody event must
//! keep before it is applied.
//!
//! Each node holds its own copy and applies its own acts and the partner's
//! events through the same [`Case::apply`], so a partner's event that breaks
//! a rule (administering our side, receiving an exhibit never released) is
//! refused by exactly the check that refuses it locally.

use serde::{Deserialize, Serialize};
use soberana_core::{OfficerId, PartyCode, ProposalId};

use crate::{
    Act, CaseError, CaseId, CustodyEvent, ExhibitDigest, ExhibitUse, MAX_TASKS, NODE_ACTOR,
    TaskDone, TaskState, UseConditions, check_message, check_task_title, task_id,
};

/// A member's role on its side of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseRole {
    /// Adds and removes its side's members, ends the case.
    Administrator,
    /// Contributes, reads and exports exhibits.
    Member,
}

/// One member of one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The side.
    pub party: PartyCode,
    /// The officer.
    pub officer: OfficerId,
    /// The role.
    pub role: CaseRole,
}

/// Where an exhibit stands with its contributor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExhibitStatus {
    /// Contributed, awaiting the contributing side's decision.
    Offered,
    /// Released to the other side.
    Released,
}

/// One exhibit and what has happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExhibitState {
    /// Its identity.
    pub digest: ExhibitDigest,
    /// The side that contributed it.
    pub contributor: PartyCode,
    /// The member who contributed it.
    pub offered_by: OfficerId,
    /// Its size in bytes.
    pub size: u64,
    /// Its label.
    pub label: String,
    /// Its use conditions.
    pub conditions: UseConditions,
    /// Offered or released.
    pub status: ExhibitStatus,
    /// Whether the receiving side recorded receipt.
    pub received: bool,
    /// The sides that deleted their copy of the bytes.
    pub deleted_by: Vec<PartyCode>,
    /// When it was offered, unix milliseconds: its retention counts from
    /// here on both sides (0 in a case stored before this was kept).
    #[serde(default)]
    pub offered_at_ms: u64,
}

/// The most members a side's opening may name.
const MAX_OPENING_MEMBERS: usize = 100;
/// A day in milliseconds.
const DAY_MS: u64 = 24 * 3600 * 1000;

impl ExhibitState {
    /// When its retention ends, unix milliseconds, counted from its offer.
    pub fn retention_ends_ms(&self) -> u64 {
        self.offered_at_ms
            .saturating_add(u64::from(self.conditions.retention_days).saturating_mul(DAY_MS))
    }
}

/// A joint investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Its id, derived from the agreement.
    pub id: CaseId,
    /// The accepted agreement.
    pub proposal_id: ProposalId,
    /// Its title.
    pub title: String,
    /// The two parties, the proposer first.
    pub parties: [PartyCode; 2],
    /// When it ends, unix milliseconds.
    pub ends_at_ms: u64,
    /// The sides that opened their copy.
    pub opened_by: Vec<PartyCode>,
    /// Members of both sides.
    pub members: Vec<Member>,
    /// Exhibits of both sides.
    pub exhibits: Vec<ExhibitState>,
    /// Why the case ended, once it has.
    pub ended: Option<String>,
    /// The sides that recorded the end.
    #[serde(default)]
    pub ended_by: Vec<PartyCode>,
    /// Tasks given to members, open and done.
    #[serde(default)]
    pub tasks: Vec<TaskState>,
}

const MAX_LABEL: usize = 200;

impl Case {
    /// The case an opening event creates.
    pub fn open(event: &CustodyEvent) -> Result<Self, CaseError> {
        let Act::Opened {
            proposal_id,
            title,
            parties,
            ends_at_ms,
            ..
        } = &event.act
        else {
            return Err(CaseError::OpeningMismatch("a case begins with its opening"));
        };
        if CaseId::for_proposal(proposal_id) != event.case_id {
            return Err(CaseError::OpeningMismatch(
                "the case id is not the one derived from the proposal",
            ));
        }
        if parties[0] == parties[1] {
            return Err(CaseError::OpeningMismatch(
                "a case has two different parties",
            ));
        }
        if title.is_empty() || title.len() > MAX_LABEL {
            return Err(CaseError::Text {
                field: "title",
                max: MAX_LABEL,
            });
        }
        let mut case = Case {
            id: event.case_id,
            proposal_id: *proposal_id,
            title: title.clone(),
            parties: *parties,
            ends_at_ms: *ends_at_ms,
            opened_by: Vec::new(),
            members: Vec::new(),
            exhibits: Vec::new(),
            ended: None,
            ended_by: Vec::new(),
            tasks: Vec::new(),
        };
        case.apply(event)?;
        Ok(case)
    }

    /// The other party.
    pub fn partner_of(&self, party: PartyCode) -> PartyCode {
        if self.parties[0] == party {
            self.parties[1]
        } else {
            self.parties[0]
        }
    }

    /// The member's role on `party`'s side, if a member.
    pub fn role_of(&self, party: PartyCode, officer: &OfficerId) -> Option<CaseRole> {
        self.members
            .iter()
            .find(|m| m.party == party && &m.officer == officer)
            .map(|m| m.role)
    }

    /// The exhibit, if in this case.
    pub fn exhibit(&self, digest: &ExhibitDigest) -> Option<&ExhibitState> {
        self.exhibits.iter().find(|e| &e.digest == digest)
    }

    /// Whether `party` holds the exhibit's bytes, by these events.
    pub fn holds(&self, party: PartyCode, digest: &ExhibitDigest) -> bool {
        self.exhibit(digest).is_some_and(|e| {
            (e.contributor == party || e.received) && !e.deleted_by.contains(&party)
        })
    }

    fn require_admin(&self, e: &CustodyEvent) -> Result<(), CaseError> {
        match self.role_of(e.party, &e.actor) {
            Some(CaseRole::Administrator) => Ok(()),
            _ => Err(CaseError::NotAdministrator {
                actor: e.actor.to_string(),
                side: e.party.to_string(),
            }),
        }
    }

    fn require_member(&self, e: &CustodyEvent) -> Result<(), CaseError> {
        match self.role_of(e.party, &e.actor) {
            Some(_) => Ok(()),
            None => Err(CaseError::NotMember {
                actor: e.actor.to_string(),
                side: e.party.to_string(),
            }),
        }
    }

    fn exhibit_mut(&mut self, digest: &ExhibitDigest) -> Result<&mut ExhibitState, CaseError> {
        self.exhibits
            .iter_mut()
            .find(|x| &x.digest == digest)
            .ok_or_else(|| CaseError::UnknownExhibit(digest.short()))
    }

    /// Checks that `use_` of the exhibit by `party` keeps its conditions.
    /// The contributor's own use of its exhibit is never restricted.
    pub fn check_use(
        &self,
        party: PartyCode,
        digest: &ExhibitDigest,
        use_: &ExhibitUse,
        consented: bool,
    ) -> Result<(), CaseError> {
        let x = self
            .exhibit(digest)
            .ok_or_else(|| CaseError::UnknownExhibit(digest.short()))?;
        if x.contributor == party {
            return Ok(());
        }
        x.conditions.allows(digest, use_, consented)
    }

    /// Applies one event if it keeps every rule; otherwise changes nothing
    /// and says which rule it breaks.
    pub fn apply(&mut self, e: &CustodyEvent) -> Result<(), CaseError> {
        if e.case_id != self.id {
            return Err(CaseError::WrongCase {
                event: e.case_id.to_string(),
                case: self.id.to_string(),
            });
        }
        if !self.parties.contains(&e.party) {
            return Err(CaseError::NotAParty(e.party.to_string()));
        }
        // After the agreed end date, as after a signed end, only deletions,
        // refusals and each side's record of the end are taken.
        let over = self.ended.is_some() || e.time_ms > self.ends_at_ms;
        let allowed_after = match e.act {
            Act::ExhibitDeleted { .. } | Act::Refused { .. } => true,
            Act::Ended { .. } => !self.ended_by.contains(&e.party),
            _ => false,
        };
        if over && !allowed_after {
            return Err(CaseError::Ended);
        }
        if e.by_node()
            && !matches!(
                e.act,
                Act::Opened { .. }
                    | Act::ExhibitDeleted { .. }
                    | Act::Ended { .. }
                    | Act::Refused { .. }
            )
        {
            return Err(CaseError::NodeAct(
                "a node acts by itself only to open a case, end it at its date or delete an exhibit at the end of its retention",
            ));
        }
        match &e.act {
            Act::Opened {
                proposal_id,
                title,
                parties,
                ends_at_ms,
                members,
            } => {
                if self.opened_by.contains(&e.party) {
                    return Err(CaseError::AlreadyOpened(e.party.to_string()));
                }
                if proposal_id != &self.proposal_id {
                    return Err(CaseError::OpeningMismatch("another proposal"));
                }
                if parties != &self.parties {
                    return Err(CaseError::OpeningMismatch("other parties"));
                }
                if ends_at_ms != &self.ends_at_ms {
                    return Err(CaseError::OpeningMismatch("another end date"));
                }
                if title != &self.title {
                    return Err(CaseError::OpeningMismatch("another title"));
                }
                let founding: Vec<Member> = match members {
                    None if e.by_node() => {
                        return Err(CaseError::NodeAct(
                            "an opening by the node names its side's members",
                        ));
                    }
                    None => vec![Member {
                        party: e.party,
                        officer: e.actor.clone(),
                        role: CaseRole::Administrator,
                    }],
                    Some(list) => {
                        if list.len() > MAX_OPENING_MEMBERS {
                            return Err(CaseError::OpeningMismatch(
                                "an opening names at most 100 members",
                            ));
                        }
                        let mut seen: Vec<&soberana_core::OfficerId> = Vec::new();
                        for m in list {
                            if seen.contains(&&m.officer) || m.officer.as_str() == NODE_ACTOR {
                                return Err(CaseError::AlreadyMember(m.officer.to_string()));
                            }
                            seen.push(&m.officer);
                        }
                        list.iter()
                            .map(|m| Member {
                                party: e.party,
                                officer: m.officer.clone(),
                                role: if m.administrator {
                                    CaseRole::Administrator
                                } else {
                                    CaseRole::Member
                                },
                            })
                            .collect()
                    }
                };
                self.opened_by.push(e.party);
                self.members.extend(founding);
            }
            Act::MemberAdded {
                side,
                member,
                administrator,
            } => {
                self.require_side(e, *side)?;
                // A side opened without an administrator (a policy accepted
                // and the agreement named none) is taken by one of its own
                // officers adding themself as its administrator, once.
                let taking = *administrator && member == &e.actor && !self.has_admin(*side);
                if !taking {
                    self.require_admin(e)?;
                }
                if member.as_str() == NODE_ACTOR {
                    return Err(CaseError::NodeAct("`node` names the node, not an officer"));
                }
                if self.role_of(*side, member).is_some() {
                    return Err(CaseError::AlreadyMember(member.to_string()));
                }
                self.members.push(Member {
                    party: *side,
                    officer: member.clone(),
                    role: if *administrator {
                        CaseRole::Administrator
                    } else {
                        CaseRole::Member
                    },
                });
            }
            Act::MemberRemoved { side, member } => {
                self.require_side(e, *side)?;
                self.require_admin(e)?;
                let role = self
                    .role_of(*side, member)
                    .ok_or_else(|| CaseError::NotMember {
                        actor: member.to_string(),
                        side: side.to_string(),
                    })?;
                let admins = self
                    .members
                    .iter()
                    .filter(|m| m.party == *side && m.role == CaseRole::Administrator)
                    .count();
                if role == CaseRole::Administrator && admins <= 1 {
                    return Err(CaseError::LastAdministrator(member.to_string()));
                }
                self.members
                    .retain(|m| !(m.party == *side && &m.officer == member));
            }
            Act::ExhibitOffered {
                exhibit,
                size,
                label,
                conditions,
            } => {
                self.require_member(e)?;
                if self.exhibit(exhibit).is_some() {
                    return Err(CaseError::DuplicateExhibit(exhibit.short()));
                }
                if label.is_empty() || label.len() > MAX_LABEL {
                    return Err(CaseError::Text {
                        field: "label",
                        max: MAX_LABEL,
                    });
                }
                conditions.check()?;
                self.exhibits.push(ExhibitState {
                    digest: *exhibit,
                    contributor: e.party,
                    offered_by: e.actor.clone(),
                    size: *size,
                    label: label.clone(),
                    conditions: conditions.clone(),
                    status: ExhibitStatus::Offered,
                    received: false,
                    deleted_by: Vec::new(),
                    offered_at_ms: e.time_ms,
                });
            }
            Act::ExhibitReleased {
                exhibit,
                approved_by,
            } => {
                let party = e.party;
                let x = self.exhibit_mut(exhibit)?;
                if x.contributor != party {
                    return Err(CaseError::NotContributor(x.contributor.to_string()));
                }
                if x.status != ExhibitStatus::Offered {
                    return Err(state_error(x, "released"));
                }
                let mut seen = approved_by.clone();
                seen.sort();
                seen.dedup();
                if approved_by.is_empty() || seen.len() != approved_by.len() {
                    return Err(CaseError::Approvers);
                }
                x.status = ExhibitStatus::Released;
            }
            Act::ExhibitReceived { exhibit } => {
                let party = e.party;
                let x = self.exhibit_mut(exhibit)?;
                if x.contributor == party || x.status != ExhibitStatus::Released || x.received {
                    return Err(state_error(x, "received"));
                }
                x.received = true;
            }
            Act::ExhibitOpened { exhibit } => {
                self.require_member(e)?;
                if !self.holds(e.party, exhibit) {
                    return Err(self.not_held(exhibit, "opened"));
                }
            }
            Act::ExhibitExported {
                exhibit,
                use_,
                consent,
            }
            | Act::ExhibitUsed {
                exhibit,
                use_,
                consent,
            } => {
                self.require_member(e)?;
                let act = if matches!(e.act, Act::ExhibitUsed { .. }) {
                    "used"
                } else {
                    "exported"
                };
                if !self.holds(e.party, exhibit) {
                    return Err(self.not_held(exhibit, act));
                }
                self.check_use(e.party, exhibit, use_, consent.is_some())?;
            }
            Act::ExhibitDeleted { exhibit, .. } => {
                if !self.holds(e.party, exhibit) {
                    return Err(self.not_held(exhibit, "deleted"));
                }
                if e.by_node()
                    && self
                        .exhibit(exhibit)
                        .is_some_and(|x| x.offered_at_ms > 0 && e.time_ms < x.retention_ends_ms())
                {
                    return Err(CaseError::NodeAct(
                        "the node deletes an exhibit by itself only once its retention has ended",
                    ));
                }
                let party = e.party;
                self.exhibit_mut(exhibit)?.deleted_by.push(party);
            }
            Act::Refused { .. } => {}
            Act::MessagePosted { language, text } => {
                self.require_member(e)?;
                check_message(language, text)?;
            }
            Act::TaskCreated {
                title,
                owner_side,
                owner,
                due_ms,
            } => {
                self.require_member(e)?;
                check_task_title(title)?;
                if self.role_of(*owner_side, owner).is_none() {
                    return Err(CaseError::TaskOwner {
                        owner: owner.to_string(),
                        side: owner_side.to_string(),
                    });
                }
                if *due_ms <= e.time_ms || *due_ms > self.ends_at_ms {
                    return Err(CaseError::TaskDeadline);
                }
                if self.tasks.len() >= MAX_TASKS {
                    return Err(CaseError::TooManyTasks(self.tasks.len()));
                }
                self.tasks.push(TaskState {
                    id: task_id(e),
                    title: title.clone(),
                    given_by_side: e.party,
                    given_by: e.actor.clone(),
                    owner_side: *owner_side,
                    owner: owner.clone(),
                    created_ms: e.time_ms,
                    due_ms: *due_ms,
                    done: None,
                });
            }
            Act::TaskDone { task } => {
                self.require_member(e)?;
                let admin = self.role_of(e.party, &e.actor) == Some(CaseRole::Administrator);
                let t = self
                    .tasks
                    .iter_mut()
                    .find(|t| &t.id == task)
                    .ok_or_else(|| CaseError::UnknownTask(task.chars().take(40).collect()))?;
                if t.done.is_some() {
                    return Err(CaseError::TaskClosed(t.id.clone()));
                }
                let owner = t.owner_side == e.party && t.owner == e.actor;
                if !(owner || (admin && t.owner_side == e.party)) {
                    return Err(CaseError::NotTaskOwner {
                        actor: e.actor.to_string(),
                        task: t.id.clone(),
                        side: t.owner_side.to_string(),
                    });
                }
                t.done = Some(TaskDone {
                    by: e.actor.clone(),
                    side: e.party,
                    at_ms: e.time_ms,
                });
            }
            Act::Ended { reason } => {
                // The node records the end by itself once the agreed date
                // has come; before it, only an administrator ends the case.
                if !(e.by_node() && e.time_ms >= self.ends_at_ms) {
                    self.require_admin(e)?;
                }
                if self.ended.is_none() {
                    self.ended = Some(reason.clone());
                }
                self.ended_by.push(e.party);
            }
        }
        Ok(())
    }

    fn has_admin(&self, side: PartyCode) -> bool {
        self.members
            .iter()
            .any(|m| m.party == side && m.role == CaseRole::Administrator)
    }

    /// The tasks open and past their deadline at `now_ms`.
    pub fn overdue_tasks(&self, now_ms: u64) -> impl Iterator<Item = &TaskState> {
        self.tasks.iter().filter(move |t| t.is_overdue(now_ms))
    }

    fn require_side(&self, e: &CustodyEvent, side: PartyCode) -> Result<(), CaseError> {
        if side != e.party {
            return Err(CaseError::OtherSide {
                actor: e.actor.to_string(),
                acting: e.party.to_string(),
                side: side.to_string(),
            });
        }
        Ok(())
    }

    fn not_held(&self, exhibit: &ExhibitDigest, act: &'static str) -> CaseError {
        match self.exhibit(exhibit) {
            None => CaseError::UnknownExhibit(exhibit.short()),
            Some(x) => CaseError::ExhibitState {
                exhibit: exhibit.short(),
                status: "not held by this side",
                act: if x.status == ExhibitStatus::Offered {
                    "used before its release"
                } else {
                    act
                },
            },
        }
    }
}

fn state_error(x: &ExhibitState, act: &'static str) -> CaseError {
    CaseError::ExhibitState {
        exhibit: x.digest.short(),
        status: match (x.status, x.received) {
            (ExhibitStatus::Offered, _) => "offered, not released",
            (ExhibitStatus::Released, false) => "released",
            (ExhibitStatus::Released, true) => "released and received",
        },
        act,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod work_tests;
