//! soberana's node: one party's identity, transport, intake and outbox.
//!
//! A [`Node`] is opened from a node directory (made by [`init()`]). It
//! listens for partners over HTTPS with mutual TLS, each partner's
//! certificate pinned from its party card; it takes in signed envelopes
//! through [`Node::intake`], where a partner's message can only ever create a
//! proposal, a receipt, or the answer to one of our own proposals; and it
//! delivers its outbox until partners take it. This is the only crate that
//! opens sockets.

pub mod abuse;
mod agreement;
mod alerts;
mod backup;
mod case;
mod config;
mod constitution;
mod contacts;
mod deadlines;
mod error;
mod evidence;
pub use evidence::{
    NamedEvidence, NamedEvidenceState, ProposedWithEvidence, has_evidence_file, named_exhibits,
};
pub mod finance;
pub mod firearms;
mod identity;
mod init;
mod intake;
mod keys;
mod ledger;
mod lock;
mod node;
mod officers;
mod operator;
mod outbox;
mod oversight;
mod pin;
mod pinned;
mod policy;
mod recovery;
mod report;
mod server;
pub mod sessions;
mod tls;

pub use agreement::read_terms;
pub use alerts::{AlertReview, MAX_VERDICT_REASON, PRECISION_PERIOD_SECS, RankedIncident};
pub use backup::{
    BackupFile, BackupManifest, BackupStore, MANIFEST, POSTGRES_EXPORT, Restored, check_backup,
    restore, restore_moving,
};
pub use case::{
    CaseMemberView, CaseMessageView, CaseProof, CaseView, ConsentGrants, ConsentItem,
    ExhibitUseRecord, Fetched, Housekeeping,
};
pub use config::{NodeConfig, NodeDir, TransportLimits, load_registry};
pub use constitution::{MAX_LAYER_BYTES, PartnerConstitution};
pub use contacts::{
    CONTACT_REPORT_FORMAT, Contact, ContactReport, REPORT_WITHIN_DAYS, SignedContactReport,
    check_contact_report,
};
pub use deadlines::{Breach, default_answer_secs};
pub use error::NodeError;
pub use identity::{TlsIdentity, load_signing_key, read_secret, write_secret};
pub use init::{InitOptions, SHIPPED_PARTIES, init};
pub use intake::{IntakeOutcome, IntakeRefusal};
pub use keys::{DEFAULT_OVERLAP_DAYS, KeyStatus, MAX_OVERLAP_DAYS};
pub use ledger::{card_log_key, card_witness_key, witness_name};
pub use lock::FolderLock;
pub use node::{Node, log_origin};
pub use officers::{
    AwaitingConfirmation, DISABLED_UNTIL, DecisionStep, OfficerVerdict, Officers, is_disabled,
    needs_four_eyes,
};
pub use operator::{OperatorEndpoint, operator_router, render as render_metrics};
pub use outbox::{Delivery, backoff};
pub use pin::{PolicyPinned, constitutional_digest, constitutional_path};
pub use pinned::card_pinned_party;
pub use policy::{ActFacts, PlaceFacts, PolicyVerdict, ProposalPolicy, Verdict};
pub use recovery::{HeldEnvelope, Recovered, RestartProposed, WitnessedLatest};
pub use report::{
    REPORT_FORMAT, Released, ReportDifference, ReportedEnvelope, ReportedRestart,
    TransparencyReport, compare as compare_reports,
};
pub use server::{PeerCertificate, RunningNode, router};
pub use soberana_finance::verdict::{Finding, PeriodPrecision, Verdict as AlertVerdict};
