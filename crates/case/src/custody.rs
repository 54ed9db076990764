//! The chain of custody: one signed-off act per event, with one canonical
//! encoding and one digest.
//!
//! The event's digest is what both logs record (`LogEntry::CaseAct`), so the
//! two logs can be compared entry by entry and a court can check that the
//! contributing and the receiving side recorded the same act. Events name
//! exhibits by digest and hold no exhibit bytes, so the chain survives the
//! deletion of the bytes at the end of retention.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soberana_core::{OfficerId, PartyCode, ProposalId};

use crate::{CaseError, CaseId, ExhibitDigest, ExhibitUse, UseConditions};

/// The actor of the acts a node takes by itself under the agreement: an
/// opening under a policy's acceptance, the end at the agreed date, the
/// deletion of an exhibit at the end of its retention.
pub const NODE_ACTOR: &str = "node";

/// One member of the opening side, as the agreement names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningMember {
    /// The officer.
    pub officer: OfficerId,
    /// Whether they administer the side.
    pub administrator: bool,
}

/// One act on a case, by one officer of one side, at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyEvent {
    /// The case.
    pub case_id: CaseId,
    /// The side that acted.
    pub party: PartyCode,
    /// The officer who acted (for a release, the first approver).
    pub actor: OfficerId,
    /// When, unix milliseconds.
    pub time_ms: u64,
    /// What was done.
    pub act: Act,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub enum Act {
    /// A side opened its copy of the case from the accepted agreement; the
    /// actor becomes that side's first administrator.
    Opened {
        /// The accepted joint-investigation proposal.
        proposal_id: ProposalId,
        /// The case's title, from the agreement.
        title: String,
        /// The two parties: the proposer first.
        parties: [PartyCode; 2],
        /// When the case ends, unix milliseconds.
        ends_at_ms: u64,
        /// The opening side's members as the agreement names them. Absent
        /// (an opening by an officer's own act), the actor is the side's
        /// first administrator; present, exactly these are its members.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Vec<OpeningMember>>,
    },
    /// A side's administrator added a member to that side.
    MemberAdded {
        /// The side the member joins: only that side's administrators add.
        side: PartyCode,
        /// The new member.
        member: OfficerId,
        /// Whether the member administers the side.
        administrator: bool,
    },
    /// A side's administrator removed a member of that side.
    MemberRemoved {
        /// The side the member leaves.
        side: PartyCode,
        /// The member removed.
        member: OfficerId,
    },
    /// A member contributed an exhibit; it is offered, not yet released.
    ExhibitOffered {
        /// Its identity.
        exhibit: ExhibitDigest,
        /// Its size in bytes.
        size: u64,
        /// A label for people (a file name, "forensic image of …").
        label: String,
        /// What the receiving side may do with it.
        conditions: UseConditions,
    },
    /// The contributing side decided to release the exhibit to the other side.
    ExhibitReleased {
        /// The exhibit.
        exhibit: ExhibitDigest,
        /// The officers whose decision released it (two under four eyes).
        approved_by: Vec<OfficerId>,
    },
    /// The receiving side holds the exhibit's bytes, checked against its digest.
    ExhibitReceived {
        /// The exhibit.
        exhibit: ExhibitDigest,
    },
    /// A member read the exhibit's bytes.
    ExhibitOpened {
        /// The exhibit.
        exhibit: ExhibitDigest,
    },
    /// A member exported the exhibit from the node, for a use its conditions allow.
    ExhibitExported {
        /// The exhibit.
        exhibit: ExhibitDigest,
        /// What for.
        #[serde(rename = "for")]
        use_: ExhibitUse,
        /// The contributing side's accepted consent to this use, if the
        /// conditions needed one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        consent: Option<ProposalId>,
    },
    /// A member recorded a use of the exhibit outside the node (filed in
    /// court, handed to another authority) without taking a copy out.
    ExhibitUsed {
        /// The exhibit.
        exhibit: ExhibitDigest,
        /// What for.
        #[serde(rename = "for")]
        use_: ExhibitUse,
        /// The contributing side's accepted consent to this use, if the
        /// conditions needed one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        consent: Option<ProposalId>,
    },
    /// A side deleted its copy of the bytes (end of retention, end of case).
    ExhibitDeleted {
        /// The exhibit.
        exhibit: ExhibitDigest,
        /// Why.
        reason: String,
    },
    /// An act was refused: recorded once, nothing else changed.
    Refused {
        /// The exhibit concerned, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exhibit: Option<ExhibitDigest>,
        /// What was refused and why.
        reason: String,
    },
    /// A member wrote to the case's members of both sides.
    MessagePosted {
        /// The language it is written in (`es`, `en`, …).
        language: String,
        /// The text.
        text: String,
    },
    /// A member gave a member of either side a task with a deadline.
    TaskCreated {
        /// What is to be done.
        title: String,
        /// The owner's side.
        owner_side: PartyCode,
        /// The member who owns it.
        owner: OfficerId,
        /// When it is due, unix milliseconds.
        due_ms: u64,
    },
    /// A task was done: by its owner, or an administrator of the owner's side.
    TaskDone {
        /// The task (see [`crate::TaskState::id`]).
        task: String,
    },
    /// A side ended the case by a signed act before the agreed date, or the
    /// date came.
    Ended {
        /// Why.
        reason: String,
    },
}

impl Act {
    /// The act's name, as the log and the report print it.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Opened { .. } => "opened",
            Act::MemberAdded { .. } => "member_added",
            Act::MemberRemoved { .. } => "member_removed",
            Act::ExhibitOffered { .. } => "exhibit_offered",
            Act::ExhibitReleased { .. } => "exhibit_released",
            Act::ExhibitReceived { .. } => "exhibit_received",
            Act::ExhibitOpened { .. } => "exhibit_opened",
            Act::ExhibitExported { .. } => "exhibit_exported",
            Act::ExhibitUsed { .. } => "exhibit_used",
            Act::ExhibitDeleted { .. } => "exhibit_deleted",
            Act::Refused { .. } => "refused",
            Act::MessagePosted { .. } => "message_posted",
            Act::TaskCreated { .. } => "task_created",
            Act::TaskDone { .. } => "task_done",
            Act::Ended { .. } => "ended",
        }
    }

    /// The use and consent an export or a recorded use names.
    pub fn use_of(&self) -> Option<(&ExhibitUse, Option<ProposalId>)> {
        match self {
            Act::ExhibitExported { use_, consent, .. } | Act::ExhibitUsed { use_, consent, .. } => {
                Some((use_, *consent))
            }
            _ => None,
        }
    }

    /// The exhibit the act concerns, if any.
    pub fn exhibit(&self) -> Option<ExhibitDigest> {
        match self {
            Act::ExhibitOffered { exhibit, .. }
            | Act::ExhibitReleased { exhibit, .. }
            | Act::ExhibitReceived { exhibit }
            | Act::ExhibitOpened { exhibit }
            | Act::ExhibitExported { exhibit, .. }
            | Act::ExhibitUsed { exhibit, .. }
            | Act::ExhibitDeleted { exhibit, .. } => Some(*exhibit),
            Act::Refused { exhibit, .. } => *exhibit,
            _ => None,
        }
    }
}

impl CustodyEvent {
    /// Whether the node took this act by itself (see [`NODE_ACTOR`]).
    pub fn by_node(&self) -> bool {
        self.actor.as_str() == NODE_ACTOR
    }

    /// The canonical bytes: JSON with fields in declared order and no
    /// whitespace. Serialising a value of these types cannot fail.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses canonical bytes, refusing anything that is not exactly the
    /// canonical form of one event.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, CaseError> {
        let event: CustodyEvent = serde_json::from_slice(bytes).map_err(|_| {
            CaseError::BadConditions("the custody event is not well-formed JSON of a known act")
        })?;
        if event.canonical() != bytes {
            return Err(CaseError::BadConditions(
                "the custody event is not in canonical form",
            ));
        }
        Ok(event)
    }

    /// SHA-256 over a domain label and the canonical bytes: what both logs
    /// record for this act.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"soberana/custody/v1\n");
        h.update(self.canonical());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> CustodyEvent {
        CustodyEvent {
            case_id: CaseId::for_proposal(&ProposalId::from_bytes([3; 16])),
            party: PartyCode::new("MX").unwrap(),
            actor: OfficerId::new("ana").unwrap(),
            time_ms: 5,
            act: Act::ExhibitOffered {
                exhibit: ExhibitDigest::of(b"x"),
                size: 1,
                label: "x.bin".into(),
                conditions: UseConditions::strict(30),
            },
        }
    }

    #[test]
    fn canonical_round_trip_and_digest_is_stable() {
        let e = event();
        let bytes = e.canonical();
        assert_eq!(CustodyEvent::from_canonical(&bytes), Ok(e.clone()));
        assert_eq!(e.digest(), event().digest());
        let mut other = event();
        other.time_ms = 6;
        assert_ne!(e.digest(), other.digest());
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let mut bytes = event().canonical();
        bytes.push(b' ');
        assert!(CustodyEvent::from_canonical(&bytes).is_err());
        assert!(CustodyEvent::from_canonical(b"{}").is_err());
    }
}
