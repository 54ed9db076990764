//! Why a case act, an exhibit's bytes or a use of an exhibit was refused.
//!
//! Every message names what was wrong and, where there is one, what to do.

use thiserror::Error;

/// A refusal. The node records it once in its log and changes nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaseError {
    /// Text that should be a case id is not one.
    #[error("`{0}` is not a case id (expected `case-` and 32 hex digits)")]
    BadCaseId(String),
    /// Text that should be an exhibit digest is not one.
    #[error("`{0}` is not an exhibit digest (expected 64 hex digits of SHA-256)")]
    BadDigest(String),
    /// The event belongs to another case.
    #[error("the act is for case `{event}`, not `{case}`")]
    WrongCase {
        /// The case the act names.
        event: String,
        /// This case.
        case: String,
    },
    /// The acting party is not one of the case's two parties.
    #[error("`{0}` is not a party to this case")]
    NotAParty(String),
    /// Someone tried to administer the other side's members.
    #[error(
        "`{actor}` of {acting} cannot administer {side}'s members: only {side}'s administrators can"
    )]
    OtherSide {
        /// Who tried.
        actor: String,
        /// Their side.
        acting: String,
        /// The side whose members they tried to change.
        side: String,
    },
    /// The actor is not an administrator of its side of the case.
    #[error("`{actor}` is not an administrator of {side}'s side of this case")]
    NotAdministrator {
        /// Who tried.
        actor: String,
        /// Their side.
        side: String,
    },
    /// The actor is not a member of its side of the case.
    #[error("`{actor}` is not a member of {side}'s side of this case")]
    NotMember {
        /// Who tried.
        actor: String,
        /// Their side.
        side: String,
    },
    /// The side already opened its copy of the case.
    #[error("{0} has already opened this case")]
    AlreadyOpened(String),
    /// The two sides' openings disagree on the agreement.
    #[error("the opening does not match the agreement this case was opened from: {0}")]
    OpeningMismatch(&'static str),
    /// The member is already on the case.
    #[error("`{0}` is already a member of this case")]
    AlreadyMember(String),
    /// The last administrator of a side cannot be removed.
    #[error("`{0}` is the last administrator of its side; add another administrator first")]
    LastAdministrator(String),
    /// The case has ended.
    #[error(
        "the case has ended (by a signed act or at its agreed date); only deletions of exhibits are still recorded"
    )]
    Ended,
    /// The exhibit is already known.
    #[error("exhibit {0} is already in this case")]
    DuplicateExhibit(String),
    /// The exhibit is not known.
    #[error("exhibit {0} is not in this case")]
    UnknownExhibit(String),
    /// The act does not fit the exhibit's state.
    #[error("exhibit {exhibit} is {status}; it cannot be {act}")]
    ExhibitState {
        /// The exhibit.
        exhibit: String,
        /// Its status.
        status: &'static str,
        /// The act tried.
        act: &'static str,
    },
    /// A release must be decided by the contributing side.
    #[error("only the contributing side ({0}) can release or delete its exhibit at source")]
    NotContributor(String),
    /// A release needs at least one approver, all distinct.
    #[error("a release must name its approvers, each once")]
    Approvers,
    /// Conditions that cannot hold.
    #[error("use conditions: {0}")]
    BadConditions(&'static str),
    /// A use of an exhibit breaks one of its conditions.
    #[error("{use_} of exhibit {exhibit} breaks its condition: {condition}")]
    ConditionBroken {
        /// The exhibit.
        exhibit: String,
        /// The use tried.
        use_: String,
        /// The condition it breaks.
        condition: &'static str,
    },
    /// A use names a consent that is not the contributing side's accepted
    /// consent to exactly that use of that exhibit.
    #[error("{use_} of exhibit {exhibit} names consent `{consent}`, which {why}")]
    NoConsent {
        /// The exhibit, shortened.
        exhibit: String,
        /// The use.
        use_: String,
        /// The consent proposal named.
        consent: String,
        /// What is wrong with it.
        why: String,
    },
    /// More bytes came than the exhibit was announced with.
    #[error("the exhibit was announced with {expected} bytes; {got} or more arrived")]
    TooLong {
        /// Announced size.
        expected: u64,
        /// Bytes seen.
        got: u64,
    },
    /// Fewer bytes came than announced.
    #[error("the upload is truncated: {got} of {expected} bytes; resume from byte {got}")]
    Truncated {
        /// Announced size.
        expected: u64,
        /// Bytes seen.
        got: u64,
    },
    /// The bytes do not hash to the announced digest.
    #[error("the bytes do not match the exhibit's digest: announced {expected}, got {got}")]
    DigestMismatch {
        /// The announced digest.
        expected: String,
        /// The digest of the bytes.
        got: String,
    },
    /// A sealed chunk did not open with the case key.
    #[error(
        "chunk {0} of the exhibit does not open with the case key: the stored bytes are damaged or not this case's"
    )]
    Unseal(u64),
    /// An exhibit file in an at-rest format this node does not read.
    #[error(
        "the exhibit file is in at-rest format {0}, which this version of soberana does not read; open it with the version that wrote it"
    )]
    AtRestFormat(u8),
    /// Text too long or empty.
    #[error("`{field}` must be 1 to {max} characters")]
    Text {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A language tag that is not one.
    #[error(
        "`{0}` is not a language tag: say `es`, `en` or another ISO 639 code (optionally with a region, `es-MX`)"
    )]
    Language(String),
    /// A blank message.
    #[error("the message is empty; write something to send")]
    EmptyMessage,
    /// A message over the limit.
    #[error(
        "the message is {bytes} bytes; a case message is at most {max} bytes (send a longer text as an exhibit)"
    )]
    MessageTooLong {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A task for someone who is not a member of the side named.
    #[error("`{owner}` is not a member of {side}'s side of this case; a task goes to a member")]
    TaskOwner {
        /// The owner named.
        owner: String,
        /// The side named.
        side: String,
    },
    /// A deadline that cannot be kept.
    #[error("a task's deadline must be after it is given and no later than the case's end")]
    TaskDeadline,
    /// Too many tasks.
    #[error("the case holds {0} tasks, the most it may")]
    TooManyTasks(usize),
    /// The task is not known.
    #[error("task `{0}` is not in this case")]
    UnknownTask(String),
    /// The task is done already.
    #[error("task `{0}` is already done")]
    TaskClosed(String),
    /// Only the owner or an administrator of the owner's side closes a task.
    #[error(
        "`{actor}` cannot close task `{task}`: only its owner or an administrator of {side}'s side can"
    )]
    NotTaskOwner {
        /// Who tried.
        actor: String,
        /// The task.
        task: String,
        /// The owner's side.
        side: String,
    },
    /// An act only the node itself takes, at its time.
    #[error("{0}")]
    NodeAct(&'static str),
}
