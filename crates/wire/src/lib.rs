//! soberana's wire format: what crosses between two nodes, and nothing else.
//!
//! Every message between nodes is a signed [`Envelope`]: a header (id,
//! sender, recipient, per-sender sequence, time, body kind, body length and
//! digest) in one canonical JSON encoding, the body bytes, and an Ed25519
//! signature over exactly those bytes. The receiver checks the signature on
//! the bytes it received — nothing is re-serialised before checking — and
//! refuses a header that is not in canonical form, so one message has one
//! encoding.
//!
//! The body is one of a closed set of [`Body`] kinds: a proposal, a
//! decision, a receipt, an answer. There is no kind that asks a node to *do*
//! something: a partner can only propose.
//!
//! Several envelopes to one partner may travel together in a batch
//! ([`encode_batch`], [`decode_batch`]): a framing of length-prefixed
//! entries with no signature of its own, each entry an envelope verified
//! and judged on its own.
//!
//! This crate does no I/O and never panics on bytes from a partner.

// Peer input is never indexed: a slice or index that could be out of range
// is a panic a partner could trigger. Tests index freely.
#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

mod batch;
mod body;
mod card;
mod digest;
mod envelope;
mod error;
mod key;

pub use batch::{BATCH_OVERHEAD, ENTRY_OVERHEAD, decode_batch, encode_batch};
pub use body::{
    Answer, AnswerItem, Body, BodyKind, CardUpdate, CaseMessage, CheckpointRequest,
    CosignatureReply, LogRestart, SessionMessage,
};
pub use card::{CARD_VERSION, PartyCard, SignedCard};
pub use digest::Digest;
pub use envelope::{
    EnvelopeHeader, MAX_ENVELOPE_BYTES, SealedEnvelope, UnverifiedEnvelope, VerifiedEnvelope,
    WIRE_VERSION,
};
pub use error::WireError;
pub use key::{NodeKey, PublicKey};
