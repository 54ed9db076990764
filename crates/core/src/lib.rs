//! soberana's domain model, with no I/O.
//!
//! This crate names the things the rest of soberana talks about: the parties
//! (countries) and their territories, the agencies that act for them, the
//! officers who decide, the proposals one party sends another, and the
//! decisions that answer them. Everything here is plain data with validating
//! constructors, so that a value that exists is a value that is well formed:
//! a [`PartyCode`] is always two upper-case letters, a [`ProposalId`] is always
//! a UUID, a coordinated operation always has at least one task.
//!
//! ```
//! use soberana_core::{PartyCode, HandlingCode};
//! let mx = PartyCode::new("MX").unwrap();
//! assert_eq!(mx.as_str(), "MX");
//! assert!(PartyCode::new("mex").is_err());
//! assert!(HandlingCode::H2.restricts_dissemination());
//! ```

mod agency;
mod agreement;
mod decision;
mod error;
mod evidence;
mod handling;
mod lifecycle;
mod officer;
mod party;
mod proposal;
mod registry;
mod standing;
mod timestamp;
mod visible;

pub use agency::{Agency, AgencyId, AgencyKind};
pub use agreement::{
    Agreement, AgreementAct, AgreementAction, AgreementError, AgreementSide, AgreementStatus,
    AgreementTerms, PendingTerms,
};
pub use decision::{DecidedBy, Decision, Outcome, Reason};
pub use error::DomainError;
pub use evidence::{
    ConsentAsk, EvidenceRequest, ExhibitConsent, ExhibitUse, MAX_CONSENT_ASKS, MAX_NAMED_EXHIBITS,
    NamedExhibit, check_named_exhibits,
};
pub use handling::{Classification, DataClass, HandlingRules};
pub use lifecycle::{Direction, LifecycleEvent, ProposalState, TransitionError};
pub use officer::{Officer, OfficerId, Role};
pub use party::{Domain, Location, NamedPlace, Party, PartyCode, PlaceRef, Territory, is_place_id};
pub use proposal::{
    AccountRef, Act, AdvanceNotification, AgreedMember, BorderAlert, CoordinatedOperation,
    FinancialIntelligence, Firearm, FirearmTrace, FlowDirection, HandlingCode, IdentifierMatch,
    InformationRequest, JointInvestigation, MAX_AGREED_MEMBERS, MatchReveal, MeasureKind,
    Participant, PersonMatch, Proposal, ProposalBody, ProposalDraft, ProposalId, ProposalKind,
    Receipt, STRUCTURED_CONTENT_ONLY, SeizureReport, Task, TaskAction, TracePriority,
};
pub use registry::{PartyFile, Registry};
pub use standing::{
    MAX_ARRANGEMENT_NAME, PERSONS_LIST, StandingAction, StandingArrangement, StandingBudget,
    StandingPeriod, StandingRef, StandingStatus, StandingTerms,
};
pub use timestamp::{Timestamp, deadline_from};
pub use visible::{is_bidi_control, needs_escape, visible};
