//! The members' work on a case: messages between the two sides and tasks
//! with owners and deadlines.
//!
//! Both are custody events like any other act, so both logs record them
//! and each side holds exactly the messages and tasks the other side sent
//! it. What is checked here is what the text and the task must be; who may
//! post, give or close is checked by [`crate::Case::apply`].

use serde::{Deserialize, Serialize};
use soberana_core::{OfficerId, PartyCode};

use crate::{CaseError, CustodyEvent};

/// The longest message, in bytes of UTF-8 (about two pages).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// The longest task title, in characters.
pub const MAX_TASK_TITLE: usize = 300;
/// The most tasks a case holds, open or done.
pub const MAX_TASKS: usize = 2000;

/// A task and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// Its id: `task-` and the first 12 hex digits of the digest of the
    /// event that created it, the same on both sides.
    pub id: String,
    /// What is to be done.
    pub title: String,
    /// The side that gave it.
    pub given_by_side: PartyCode,
    /// The member who gave it.
    pub given_by: OfficerId,
    /// The owner's side.
    pub owner_side: PartyCode,
    /// The member who owns it.
    pub owner: OfficerId,
    /// When it was given, unix milliseconds.
    pub created_ms: u64,
    /// When it is due, unix milliseconds.
    pub due_ms: u64,
    /// When it was done and by whom, once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<TaskDone>,
}

/// Who closed a task, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDone {
    /// The member who closed it.
    pub by: OfficerId,
    /// Their side.
    pub side: PartyCode,
    /// When, unix milliseconds.
    pub at_ms: u64,
}

impl TaskState {
    /// Whether it is still open.
    pub fn is_open(&self) -> bool {
        self.done.is_none()
    }

    /// Whether it is open and its deadline has passed at `now_ms`.
    pub fn is_overdue(&self, now_ms: u64) -> bool {
        self.is_open() && now_ms > self.due_ms
    }
}

/// The id of the task `event` creates.
pub fn task_id(event: &CustodyEvent) -> String {
    let digest = event.digest();
    format!(
        "task-{}",
        hex::encode(digest.iter().take(6).copied().collect::<Vec<u8>>())
    )
}

/// Checks a language tag: two or three lower-case letters (ISO 639), an
/// optional region (`es-MX`).
pub fn check_language(tag: &str) -> Result<(), CaseError> {
    let mut parts = tag.splitn(2, '-');
    let lang = parts.next().unwrap_or_default();
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = parts
        .next()
        .is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if lang_ok && region_ok {
        Ok(())
    } else {
        Err(CaseError::Language(tag.chars().take(16).collect()))
    }
}

/// Checks a message's text: not blank, at most [`MAX_MESSAGE_BYTES`].
pub fn check_message(language: &str, text: &str) -> Result<(), CaseError> {
    check_language(language)?;
    if text.trim().is_empty() {
        return Err(CaseError::EmptyMessage);
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(CaseError::MessageTooLong {
            bytes: text.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(())
}

/// Checks a task title.
pub fn check_task_title(title: &str) -> Result<(), CaseError> {
    if title.trim().is_empty() || title.chars().count() > MAX_TASK_TITLE {
        return Err(CaseError::Text {
            field: "task title",
            max: MAX_TASK_TITLE,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_iso_639_with_an_optional_region() {
        for ok in ["es", "en", "pt", "fra", "es-MX"] {
            assert!(check_language(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "ES", "spanish", "es-mx", "es-MEX", "es_MX"] {
            assert!(check_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_message_is_not_blank_and_bounded() {
        assert!(check_message("es", "hola").is_ok());
        assert_eq!(check_message("es", "  "), Err(CaseError::EmptyMessage));
        let long = "a".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(matches!(
            check_message("en", &long),
            Err(CaseError::MessageTooLong { .. })
        ));
        assert!(check_message("en", &long[1..]).is_ok());
    }
}
