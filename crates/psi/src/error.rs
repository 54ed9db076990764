//! Error types of the crate: one for identifiers typed by people, one for protocol messages
//! received from a partner.
//!
//! They are separate because they go to different places: identifier errors are shown to the
//! officer who wrote the list, protocol errors end an exchange with a partner node and are
//! logged. Neither ever carries secret values (keys, blinded points) in its message.

use thiserror::Error;

use crate::ident::IdentifierKind;

/// Why an identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentifierError {
    /// The value was empty.
    #[error("empty identifier; write a value or remove the line")]
    Empty,
    /// The kind name is not one soberana knows.
    #[error(
        "unknown identifier kind `{0}`; use one of phone, clabe, iban, aba, firearm, plate, email"
    )]
    UnknownKind(String),
    /// A tagged line had no `kind:` prefix.
    #[error(
        "missing identifier kind in `{0}`; write it as `kind:value`, e.g. `phone:+52 55 1234 5678`"
    )]
    MissingKind(String),
    /// The value does not follow the rules of its kind.
    #[error("invalid {kind} `{input}`: {reason}")]
    Invalid {
        /// The kind it was parsed as.
        kind: IdentifierKind,
        /// The value as written.
        input: String,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// The line is not valid UTF-8.
    #[error("the line is not valid UTF-8; save the file as UTF-8")]
    NotUtf8,
}

/// Why a protocol message was refused, or a party could not be started.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PsiError {
    /// The message was shorter than its fields say.
    #[error("truncated {message} message: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Which message.
        message: &'static str,
        /// Where reading stopped.
        offset: usize,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// Bytes were left after the last field.
    #[error("{message} message has {extra} trailing bytes after its last field")]
    TrailingBytes {
        /// Which message.
        message: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// The first byte does not name the expected message.
    #[error("expected a {expected} message but got message type `{found:#04x}`")]
    UnexpectedMessage {
        /// What the state machine was waiting for.
        expected: &'static str,
        /// The type byte received.
        found: u8,
    },
    /// The protocol version is not one this build speaks.
    #[error("unsupported protocol version `{0}`; both nodes must run a compatible soberana")]
    UnsupportedVersion(u8),
    /// A count field is out of range or disagrees with the rest of the message.
    #[error("bad count in {message} message: {reason}")]
    BadCount {
        /// Which message.
        message: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A group element did not decode to a valid ristretto255 point, or was the identity.
    #[error("malformed group element at index {index} in {message} message")]
    MalformedPoint {
        /// Which message.
        message: &'static str,
        /// The element's position.
        index: usize,
    },
    /// A field holds a value outside its allowed range.
    #[error("bad field `{field}` in {message} message: {reason}")]
    BadField {
        /// Which message.
        message: &'static str,
        /// The field name.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The responder's policy allows only the count of matches, which this protocol cannot
    /// provide.
    #[error(
        "the responder discloses only the number of matches, which only the `dh` protocol supports; ask again with `dh`"
    )]
    CountOnlyNeedsDh,
    /// The requester asks about more identifiers than the responder accepted.
    #[error(
        "the request holds {asked} items where {accepted} were accepted; nothing was evaluated"
    )]
    MoreThanAccepted {
        /// The count the request states.
        asked: usize,
        /// The count the responder accepted.
        accepted: usize,
    },
    /// A set was larger than the protocol accepts.
    #[error("set of {0} items is too large; at most {max} are accepted", max = crate::MAX_SET_SIZE)]
    SetTooLarge(usize),
    /// Cuckoo hashing of the requester's set failed repeatedly (probability far below 2^-40 per
    /// attempt for sets that fit).
    #[error("could not place {0} items in the hash table; retry the request")]
    CuckooFailed(usize),
}
