//! Storage errors.

use soberana_core::TransitionError;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The PostgreSQL database could not be reached, read or written.
    #[error("database: {}", crate::pg::detail(.0))]
    Postgres(#[from] postgres::Error),
    /// The store's location (a path or a database URL) cannot be used.
    #[error("store: {0}")]
    Location(String),
    /// The database file was written by a newer soberana.
    #[error(
        "the store at `{path}` has schema version {found}, newer than this soberana ({supported}); upgrade soberana"
    )]
    TooNew {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// An envelope with this id was received before.
    #[error("envelope `{0}` was already received")]
    Duplicate(String),
    /// A proposal with this id exists already.
    #[error("proposal `{0}` exists already")]
    ProposalExists(String),
    /// No such proposal.
    #[error("no proposal `{0}`")]
    NoSuchProposal(String),
    /// The proposal belongs to another party than the message that refers to it.
    #[error("proposal `{0}` is not one exchanged with `{1}`")]
    WrongParty(String, String),
    /// A protocol message for a proposal that is not accepted.
    #[error("proposal `{0}` is {1}; protocol messages are taken only under an accepted proposal")]
    NotAccepted(String, String),
    /// A protocol message under a proposal of a kind that runs no session.
    #[error(
        "proposal `{0}` is a {1}, which runs no protocol session; protocol messages are taken only under a match"
    )]
    NoSession(String, String),
    /// A protocol message part that is stored already.
    #[error("part {part} of step {step} under proposal `{proposal}` was received already")]
    RepeatedPart {
        /// The proposal.
        proposal: String,
        /// The step.
        step: u32,
        /// The part.
        part: u32,
    },
    /// Protocol messages over the quota of their proposal or step.
    #[error("{0}")]
    OverQuota(String),
    /// A sequence number the sender used for another envelope already.
    #[error("sequence number {sequence} from `{sender}` was used by envelope `{earlier}` already")]
    SequenceReused {
        /// The sender.
        sender: String,
        /// The number.
        sequence: u64,
        /// The envelope that used it first.
        earlier: String,
    },
    /// An act on the bilateral agreement that does not fit where it stands.
    #[error("agreement: {0}")]
    Agreement(String),
    /// A write conflicts with what is stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The lifecycle does not allow this change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A stored value could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A log entry could not be encoded.
    #[error("log entry: {0}")]
    Entry(String),
    /// A partner's checkpoint could not be witnessed (malformed, not signed
    /// by its log, or naming another old size than the one we cosigned).
    #[error("witness: {0}")]
    Witness(#[from] soberana_ledger::WitnessError),
    /// A case act broke one of the case's rules; nothing was stored.
    #[error(transparent)]
    Case(#[from] soberana_case::CaseError),
    /// The writer thread is gone (the node is shutting down).
    #[error("the store is closed")]
    Closed,
}
