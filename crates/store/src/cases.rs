//! The storage seam of joint investigations: a few methods any store
//! implements beside [`crate::NodeStore`].
//!
//! A case act is one transaction: the act is checked against the case as
//! stored (`Case::apply` from the `case` crate, which changes nothing when
//! it refuses), the new case state, the custody event and its log entry
//! (`LogEntry::CaseAct`) are written, and the event is queued to the other
//! side, which records the same event digest in its log when it takes it
//! in. A refused act is recorded on its own as a `refused` event: one log
//! entry, nothing else. Exhibit bytes are not in the store (the node keeps
//! them sealed in files); only their digests are.

use soberana_case::{Case, CaseId, CustodyEvent};

use crate::{Sealer, StoreError};

/// One custody event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCaseEvent {
    /// The event.
    pub event: CustodyEvent,
    /// Whether our side did it (otherwise it came from the partner).
    pub ours: bool,
    /// The index of the log entry that records it.
    pub log_index: u64,
}

/// What a store keeps of joint investigations.
pub trait CaseStore {
    /// Records one of our acts on a case, in one transaction: checks it
    /// against the stored case (an `opened` act on an unknown case creates
    /// it, under a joint-investigation proposal that is accepted here),
    /// stores the case and the event, appends its log entry and, unless the
    /// act is a refusal, queues it to the other side. Returns the log index.
    /// A refused act returns [`StoreError::Case`] and writes nothing.
    fn case_act(&self, event: CustodyEvent, sealer: Sealer) -> Result<u64, StoreError>;

    /// The case, if this node holds it.
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError>;

    /// Every case this node holds, newest first.
    fn cases(&self) -> Result<Vec<Case>, StoreError>;

    /// A case's custody events, ours and the partner's, in the order this
    /// node recorded them.
    fn case_events(&self, id: CaseId) -> Result<Vec<StoredCaseEvent>, StoreError>;
}
