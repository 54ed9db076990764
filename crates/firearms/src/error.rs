//! Errors: a bad field of a record, a rejected file, a partner's answer
//! that does not hold together.

use thiserror::Error;

/// A field of an acquisition or disposition record that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field `{field}`: {reason}")]
pub struct FieldError {
    /// The column.
    pub field: &'static str,
    /// What is wrong and what to write instead.
    pub reason: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }
}

/// One rejected CSV row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadRow {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The column at fault, when one is.
    pub field: Option<&'static str>,
    /// Why it was rejected.
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            Some(field) => write!(f, "line {}, field `{field}`: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// A CSV file rejected as a whole: nothing of it is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{total_bad} bad row(s), nothing loaded; first: {first}; fix the rows and load the file again", first = .rows.first().map(ToString::to_string).unwrap_or_default())]
pub struct IngestError {
    /// The bad rows in file order, up to [`crate::ingest::MAX_REPORTED_BAD_ROWS`].
    pub rows: Vec<BadRow>,
    /// How many rows were bad in all.
    pub total_bad: u64,
}

impl IngestError {
    pub(crate) fn one(line: u64, field: Option<&'static str>, reason: impl Into<String>) -> Self {
        IngestError {
            rows: vec![BadRow {
                line,
                field,
                reason: reason.into(),
            }],
            total_bad: 1,
        }
    }
}

/// A partner's trace answer that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnswerError {
    /// Not the answer format.
    #[error("the trace answer does not parse: {0}")]
    Parse(String),
    /// It does not answer the firearms asked about.
    #[error("the trace answer does not match the request: {0}")]
    Mismatch(String),
}
