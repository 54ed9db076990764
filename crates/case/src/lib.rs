//! Joint investigations without a hub: the case two parties share, its
//! members per side, the exhibits each side contributes under its own use
//! conditions, and the chain of custody both logs record.
//!
//! This crate does no I/O. The node drives it: it builds a [`CustodyEvent`]
//! for every act, checks it against the [`Case`] with [`Case::apply`], and
//! stores the case and the event's digest (a log entry) in one transaction.
//! Exhibit bytes pass through [`Upload`] (streamed SHA-256 against the
//! announced digest and size, never more than one chunk in memory) and are
//! sealed at rest chunk by chunk with the case's [`CaseKey`].
//!
//! ```
//! use soberana_case::{CaseId, Upload, ExhibitDigest, CHUNK_BYTES};
//! use soberana_core::ProposalId;
//!
//! let proposal = ProposalId::from_bytes([7; 16]);
//! // Both nodes derive the same case id from the accepted agreement.
//! assert_eq!(CaseId::for_proposal(&proposal), CaseId::for_proposal(&proposal));
//!
//! let bytes = b"photo of the seized ledger";
//! let digest = ExhibitDigest::of(bytes);
//! let mut upload = Upload::new(digest, bytes.len() as u64);
//! upload.push(bytes).unwrap();
//! assert_eq!(upload.finish().unwrap(), digest);
//! assert!(CHUNK_BYTES >= 64 * 1024);
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

mod conditions;
mod custody;
mod error;
mod id;
mod model;
mod seal;
mod upload;
mod work;

pub use conditions::{ExhibitUse, UseConditions};
pub use custody::{Act, CustodyEvent, NODE_ACTOR, OpeningMember};
pub use error::CaseError;
pub use id::{CaseId, ExhibitDigest};
pub use model::{Case, CaseRole, ExhibitState, ExhibitStatus, Member};
pub use seal::{AtRest, CaseKey, EXHIBIT_HEADER, EXHIBIT_HEADER_LEN, ExhibitSeal, SEAL_OVERHEAD};
pub use upload::{CHUNK_BYTES, Upload, chunk_count, chunk_range};
pub use work::{
    MAX_MESSAGE_BYTES, MAX_TASK_TITLE, MAX_TASKS, TaskDone, TaskState, check_language,
    check_message, check_task_title, task_id,
};
