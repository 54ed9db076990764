//! The errors of loading a policy set: each names what was wrong, where, and
//! what to do, because an operator reads them when a node refuses to start.

use soberana_core::PartyCode;

/// Why a policy set could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// No constitutional layer was supplied for the party.
    #[error(
        "no constitutional layer for party `{party}`: supply `{party}.cedar` in the constitutional policy directory; a node never runs without its red lines"
    )]
    ConstitutionalMissing {
        /// The party.
        party: PartyCode,
    },
    /// The constitutional layer holds no policy at all.
    #[error(
        "constitutional layer `{file}` holds no policy: a node never runs without its red lines; restore the file shipped for its party"
    )]
    EmptyConstitution {
        /// The file.
        file: String,
    },
    /// A policy file could not be read.
    #[error("cannot read policy file `{file}`: {message}")]
    Read {
        /// The file.
        file: String,
        /// What the system said.
        message: String,
    },
    /// A policy file is not UTF-8 text.
    #[error("policy file `{file}` is not UTF-8 text: save it as UTF-8")]
    NotText {
        /// The file.
        file: String,
    },
    /// A policy file has a syntax error.
    #[error("syntax error in `{file}` at line {line}, column {column}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The line (from 1).
        line: usize,
        /// The column (from 1).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A policy does not fit the schema (strict validation).
    #[error(
        "policy `{policy}` in `{file}` does not fit the schema (line {line}, column {column}): {message}"
    )]
    Schema {
        /// The file.
        file: String,
        /// The policy's id.
        policy: String,
        /// The line of the offending expression (from 1; 0 if unknown).
        line: usize,
        /// Its column (from 1; 0 if unknown).
        column: usize,
        /// What the validator said, naming the attribute or type at fault.
        message: String,
    },
    /// The constitutional layer holds something other than a `forbid`.
    #[error(
        "constitutional layer `{file}` holds a `permit` (policy `{policy}`): only `forbid` policies belong there; move permits to the operational layer"
    )]
    PermitInConstitution {
        /// The file.
        file: String,
        /// The policy's id.
        policy: String,
    },
    /// A policy file holds a template, which soberana does not link.
    #[error(
        "policy `{policy}` in `{file}` is a template (it uses `?principal` or `?resource`): write a complete policy instead"
    )]
    Template {
        /// The file.
        file: String,
        /// The template's id.
        policy: String,
    },
    /// A policy lacks an annotation its layer requires.
    #[error(
        "policy number {index} in `{file}` has no `@{annotation}(\"...\")` annotation: constitutional policies must carry `@id` and `@reason`"
    )]
    MissingAnnotation {
        /// The file.
        file: String,
        /// The policy's position in the file (from 1).
        index: usize,
        /// The missing annotation.
        annotation: &'static str,
    },
    /// Two policies share an id.
    #[error("policy id `{policy}` is used twice (in `{file}`): give every policy its own `@id`")]
    DuplicateId {
        /// The file where the second use is.
        file: String,
        /// The id.
        policy: String,
    },
    /// A `@decision` annotation has a value soberana does not know.
    #[error("policy `{policy}` in `{file}` has `@decision(\"{value}\")`: use `allow` or `review`")]
    UnknownDecision {
        /// The file.
        file: String,
        /// The policy's id.
        policy: String,
        /// The value found.
        value: String,
    },
    /// The constitutional layer differs from the one pinned in configuration.
    #[error(
        "constitutional layer `{file}` has digest `{actual}` but configuration pins `{pinned}`: a change to the red lines must be pinned (and announced) before the node uses it"
    )]
    DigestMismatch {
        /// The file.
        file: String,
        /// The digest configuration pins.
        pinned: String,
        /// The digest of the file as read.
        actual: String,
    },
    /// A digest is not 64 hexadecimal characters.
    #[error("policy digest `{0}` is not 64 hexadecimal characters (a SHA-256 digest)")]
    BadDigest(String),
    /// The registry could not be turned into policy entities.
    #[error("registry cannot be given to policy: {0}")]
    Registry(String),
    /// The built-in schema failed to load (a build defect, not a user error).
    #[error("built-in policy schema is invalid: {0}")]
    BuiltInSchema(String),
}
