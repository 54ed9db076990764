//! Typed errors of the linkage crate.
//!
//! Errors that come from a partner's bytes ([`MessageError`]) are precise
//! enough to send back to that partner; none of them carries key material.

use thiserror::Error;

/// Reading a CSV file failed as a whole (row-level problems are not errors:
/// they are reported in [`crate::record::ReadOutcome`]).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReadError {
    /// The header row could not be read.
    #[error("cannot read the csv header row: {0}; check the file is csv with a header")]
    Header(String),
    /// The mapping names a column the file does not have.
    #[error(
        "column `{column}` mapped to field `{field}` is not in the csv header; fix the column mapping"
    )]
    MissingColumn {
        /// Our field name.
        field: &'static str,
        /// The header the mapping expected.
        column: String,
    },
}

/// An encoding schema or linkage secret is unusable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SchemaError {
    /// The bit length is zero, not a multiple of 64 or too large.
    #[error("encoding length `{0}` bits must be a positive multiple of 64 up to 8192")]
    BadLength(u32),
    /// A field's q is zero or too large.
    #[error("q-gram size `{q}` for field `{field}` must be between 1 and 8")]
    BadQ {
        /// Field name.
        field: String,
        /// The q given.
        q: u32,
    },
    /// A field would set no bits or an absurd number of bits.
    #[error("bits for field `{field}` must be between 1 and 4096, got `{bits}`")]
    BadBits {
        /// Field name.
        field: String,
        /// The bit count given.
        bits: u32,
    },
    /// The schema has no fields.
    #[error("encoding schema has no fields; add at least one")]
    Empty,
    /// The linkage secret is too short to be a key.
    #[error("linkage secret must be at least 16 bytes, got {0}; agree a 32-byte random secret")]
    ShortSecret(usize),
}

/// A batch of encodings or a result received from a partner is malformed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MessageError {
    /// The message is shorter than its fixed header.
    #[error("message is {0} bytes, shorter than the {1}-byte header")]
    TooShort(usize, usize),
    /// The message does not start with the expected magic bytes.
    #[error("message does not start with the encoding-batch magic; it is not an encoding batch")]
    BadMagic,
    /// The format version is not supported.
    #[error("encoding batch version `{0}` is not supported; this node reads version 1")]
    BadVersion(u8),
    /// Reserved flag bits are set.
    #[error("encoding batch flags `{0}` are not zero; this node reads version 1 without flags")]
    BadFlags(u8),
    /// Bytes follow the last declared encoding.
    #[error(
        "encoding batch has {0} bytes after the declared encodings; the count or the body is wrong"
    )]
    TrailingBytes(u64),
    /// The declared bit length is not usable.
    #[error("encoding length `{0}` bits must be a positive multiple of 64 up to 8192")]
    BadLength(u32),
    /// The partner's encodings use another schema than ours.
    #[error(
        "encoding batch was made with another schema (digest mismatch); agree the schema first"
    )]
    SchemaMismatch,
    /// More encodings than the receiver accepts.
    #[error("encoding batch declares {0} encodings, more than the limit of {1}")]
    TooMany(u64, u64),
    /// The body length does not match the declared count.
    #[error("encoding batch body is {actual} bytes but {expected} were declared")]
    WrongLength {
        /// Bytes implied by the header.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A batch was given a different number of ids and encodings.
    #[error("{ids} pseudonymous ids for {encodings} encodings; give one id per encoding")]
    IdCountMismatch {
        /// Ids given.
        ids: u64,
        /// Encodings given.
        encodings: u64,
    },
    /// Two entries carry the same pseudonymous id.
    #[error("pseudonymous id `{0}` appears twice in the batch")]
    DuplicateId(String),
    /// A JSON message failed strict parsing.
    #[error("malformed json message: {0}")]
    Json(String),
}
