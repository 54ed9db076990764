//! The members' work on a case: messages between the two sides, each in
//! the language it was written in, and tasks with owners and deadlines.
//!
//! Posting a message, giving a task and closing one are custody events
//! like every other act: checked by the case's rules (members only, a
//! message at most `MAX_MESSAGE_BYTES`, a task to a member of either side,
//! due before the case ends), recorded in our log and sent to the partner,
//! which records the same digest in its own. A refused act is one `refused`
//! entry in our log; nothing of it is stored or sent. A member reads what
//! this node holds: our side's messages and tasks and the ones the partner
//! sent us, no more; an officer who is not a member of our side reads none.

use soberana_case::{Act, CaseError, CaseId, CustodyEvent, TaskState, check_message, task_id};
use soberana_core::{OfficerId, PartyCode, Timestamp};

use super::{case_error, now_ms};
use crate::{Node, NodeError};

/// A message as a member reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMessageView {
    /// The side that wrote it.
    pub party: PartyCode,
    /// The member who wrote it.
    pub author: OfficerId,
    /// When, unix milliseconds.
    pub time_ms: u64,
    /// Its language (`es`, `en`, …).
    pub language: String,
    /// The text.
    pub text: String,
    /// The index of the entry of our log that records it.
    pub log_index: u64,
    /// Whether our side wrote it.
    pub ours: bool,
}

impl Node {
    /// Refuses a reader who is not a member of our side of the case.
    fn require_reader(&self, case: CaseId, viewer: &OfficerId) -> Result<(), NodeError> {
        self.case_officer(viewer)?;
        let view = self.case(case)?;
        if view.case.role_of(self.party(), viewer).is_none() {
            return Err(case_error(CaseError::NotMember {
                actor: viewer.to_string(),
                side: self.party().to_string(),
            }));
        }
        Ok(())
    }

    /// A member of our side writes to the case's members of both sides.
    /// Returns the index of the log entry that records it.
    pub fn case_message(
        &self,
        case: CaseId,
        by: &OfficerId,
        language: &str,
        text: &str,
    ) -> Result<u64, NodeError> {
        self.case_officer(by)?;
        // Checked before the event is built, so an oversized text is never
        // copied into one; the refusal names the size, not the text.
        if let Err(e) = check_message(language, text) {
            self.refuse(by, case, None, &e.to_string())?;
            return Err(case_error(e));
        }
        self.act(
            by,
            case,
            Act::MessagePosted {
                language: language.to_owned(),
                text: text.to_owned(),
            },
        )
    }

    /// The case's messages, oldest first, for a member of our side.
    pub fn case_messages(
        &self,
        case: CaseId,
        viewer: &OfficerId,
    ) -> Result<Vec<CaseMessageView>, NodeError> {
        self.require_reader(case, viewer)?;
        Ok(self
            .store()
            .case_events(case)?
            .into_iter()
            .filter_map(|stored| match stored.event.act {
                Act::MessagePosted { language, text } => Some(CaseMessageView {
                    party: stored.event.party,
                    author: stored.event.actor,
                    time_ms: stored.event.time_ms,
                    language,
                    text,
                    log_index: stored.log_index,
                    ours: stored.ours,
                }),
                _ => None,
            })
            .collect())
    }

    /// A member of our side gives a member of either side a task due at
    /// `due`. Returns the task's id (the same on both sides).
    pub fn case_task(
        &self,
        case: CaseId,
        by: &OfficerId,
        title: &str,
        owner_side: PartyCode,
        owner: &OfficerId,
        due: Timestamp,
    ) -> Result<String, NodeError> {
        self.case_officer(by)?;
        let event = CustodyEvent {
            case_id: case,
            party: self.party(),
            actor: by.clone(),
            time_ms: now_ms(),
            act: Act::TaskCreated {
                title: title.to_owned(),
                owner_side,
                owner: owner.clone(),
                due_ms: u64::try_from(due.unix_millis()).unwrap_or(0),
            },
        };
        let id = task_id(&event);
        self.act_event(event)?;
        Ok(id)
    }

    /// The owner of a task, or an administrator of the owner's side (ours),
    /// records it done.
    pub fn case_task_done(
        &self,
        case: CaseId,
        by: &OfficerId,
        task: &str,
    ) -> Result<(), NodeError> {
        self.case_officer(by)?;
        self.act(
            by,
            case,
            Act::TaskDone {
                task: task.trim().to_owned(),
            },
        )
        .map(|_| ())
    }

    /// The case's tasks, open first by deadline, then done, for a member of
    /// our side.
    pub fn case_tasks(
        &self,
        case: CaseId,
        viewer: &OfficerId,
    ) -> Result<Vec<TaskState>, NodeError> {
        self.require_reader(case, viewer)?;
        let mut tasks = self.case(case)?.case.tasks;
        tasks.sort_by_key(|t| (!t.is_open(), t.due_ms));
        Ok(tasks)
    }
}
