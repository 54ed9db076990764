//! Why bytes from a partner were refused.

/// A refusal of an envelope, a card or a key. Each message says what was
/// wrong; none echoes secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// More bytes than any envelope may have.
    #[error("envelope of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes do not have an envelope's shape.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The header is valid JSON but not in canonical form.
    #[error("envelope header is not in canonical form")]
    NonCanonical,
    /// The body does not match the digest or length in the header.
    #[error("envelope body does not match its digest")]
    BodyDigest,
    /// The signature does not verify with the sender's pinned key.
    #[error("signature does not verify with the pinned key of `{0}`")]
    BadSignature(String),
    /// The body cannot be read as its kind.
    #[error("malformed {kind} body: {detail}")]
    Body {
        /// The declared kind.
        kind: String,
        /// What was wrong.
        detail: String,
    },
    /// A key is not valid.
    #[error("invalid key: {0}")]
    Key(String),
    /// A party card is not valid.
    #[error("invalid party card: {0}")]
    Card(String),
}
