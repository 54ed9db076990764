//! Errors of the finance engine, one enum per concern so that a caller can
//! tell bad data (a row, a field) from a bad request or a bad partner answer.

use thiserror::Error;

/// A field that does not hold a valid value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// Not a two-letter country code.
    #[error(
        "country `{0}` is not an ISO 3166-1 alpha-2 code; use two upper-case letters such as `MX`"
    )]
    Country(String),
    /// Not a known currency.
    #[error("currency `{0}` is not supported; use one of USD, MXN, EUR, CAD")]
    Currency(String),
    /// Not a valid amount.
    #[error("amount `{0}` is not a non-negative decimal with at most two decimals")]
    Amount(String),
    /// Not a known channel.
    #[error(
        "channel `{0}` is unknown; use cash_deposit, cash_withdrawal, domestic_wire, cross_border_wire, remittance, card or crypto_off_ramp"
    )]
    Channel(String),
    /// Not a valid account identifier.
    #[error("account `{text}` is not valid: {why}")]
    Account {
        /// The text given.
        text: String,
        /// What was wrong.
        why: &'static str,
    },
    /// Not a valid time.
    #[error("time `{0}` is not a UTC time of the form `2025-11-03T14:05:09Z`")]
    Time(String),
    /// A field required by the row's channel is missing, or one it forbids is present.
    #[error("{0}")]
    Shape(&'static str),
}

/// One rejected CSV row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadRow {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// A CSV file that was rejected as a whole because some rows were bad.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{total_bad} bad row(s), none inserted; first at line {first_line}: {first_reason}; fix the rows and load the file again", first_line = .rows.first().map_or(0, |r| r.line), first_reason = .rows.first().map_or("", |r| r.reason.as_str()))]
pub struct IngestError {
    /// The bad rows, in file order, up to [`crate::ingest::MAX_REPORTED_BAD_ROWS`].
    pub rows: Vec<BadRow>,
    /// How many rows were bad in all.
    pub total_bad: u64,
}

/// A trace that cannot be run as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TraceError {
    /// A seed account is not in the graph.
    #[error("account `{0}` has no transactions in this ledger; check the identifier")]
    UnknownAccount(String),
    /// Nothing to trace from.
    #[error("no seed accounts given; name at least one account to trace from")]
    NoSeeds,
    /// A seed with a negative or absurdly large amount.
    #[error(
        "a seed amount is negative or above USD 10 trillion; give a sensible amount, or none to trace all flows"
    )]
    NegativeAmount,
    /// A bad window.
    #[error("time window ends before it starts; give `from` ≤ `to`")]
    Window,
}

/// A continuation request or answer that is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContinuationError {
    /// The requested account is not held in the answering country.
    #[error(
        "account `{0}` is not held in this jurisdiction; the request went to the wrong partner"
    )]
    NotOurs(String),
    /// The request is malformed.
    #[error("request refused: {0}")]
    BadRequest(&'static str),
    /// The answer does not belong to any open request.
    #[error(
        "answer `{0}` does not match a request for that account in this flow; it cannot be stitched"
    )]
    NoMatchingRequest(String),
    /// The answer is malformed or claims more than was sent.
    #[error("answer refused: {0}")]
    BadAnswer(&'static str),
}
