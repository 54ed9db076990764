//! The one error type of the domain model: a value that does not describe a
//! well-formed party, agency, officer or proposal.

/// Why a domain value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A party code is not an ISO 3166-1 alpha-2 code.
    #[error("party code `{0}` is not two upper-case letters (ISO 3166-1 alpha-2, e.g. `MX`)")]
    PartyCode(String),
    /// An agency id is not of the form `PARTY.NAME`.
    #[error(
        "agency id `{0}` must be the party code, a dot and a short name of letters, digits, `-` or `_` (e.g. `MX.FGR`)"
    )]
    AgencyId(String),
    /// An officer id is empty or has characters outside the allowed set.
    #[error("officer id `{0}` must be 1 to 64 letters, digits, `.`, `-` or `_`")]
    OfficerId(String),
    /// A proposal id is not a UUID.
    #[error("proposal id `{0}` is not a UUID")]
    ProposalId(String),
    /// A timestamp is not RFC 3339 with an explicit offset.
    #[error("time `{0}` is not RFC 3339 with an explicit offset (e.g. `2025-11-04T16:00:00Z`)")]
    Timestamp(String),
    /// A deadline is neither an instant nor a span.
    #[error(
        "deadline `{0}` is neither an RFC 3339 time with an offset (`2026-12-08T17:00:00Z`) nor a span from now in days, hours and minutes (`P7D`, `PT8H`, `P1DT12H`)"
    )]
    Deadline(String),
    /// A required text field is empty.
    #[error("`{0}` must not be empty")]
    Empty(&'static str),
    /// A field is longer than allowed.
    #[error("`{field}` is longer than {max} characters")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A place is in a notation the node does not understand.
    #[error(
        "place `{0}` is not in a notation this node understands: `lat,lon` in decimal degrees, an ISO 3166-2 code such as `MX-SIN`, or a named place id such as `culiacan`"
    )]
    Place(String),
    /// A proposal is inconsistent in a way its fields alone cannot show.
    #[error("proposal is incomplete: {0}")]
    Incomplete(String),
}
