//! What the running node does by itself on its cases, once a minute (as
//! `deadlines.rs` does for answer times): open the case of an agreement it
//! accepted or saw accepted and has not opened yet, record the end of a
//! case at its agreed date, and delete its own copy of an exhibit whose
//! retention has ended.
//!
//! Retention counts from the exhibit's offer, a time both sides hold in
//! the same custody event, so each side deletes its own copy at the same
//! moment by its own clock. Each deletion is an `exhibit_deleted` act by
//! the node ("deleted at end of retention") in both logs; the custody
//! events name the exhibit by digest and hold none of its bytes, so the
//! chain and the case report survive the deletion and still verify offline.
//! The end at the agreed date is an `ended` act by each side's node.

use std::fs;
use std::time::Duration;

use soberana_case::{Act, CaseId, CustodyEvent, ExhibitDigest};
use soberana_core::{ProposalKind, ProposalState, Timestamp};
use soberana_store::ProposalFilter;

use super::agreed::node_actor;
use crate::{Node, NodeError};

/// Why the node deletes an exhibit by itself.
pub const END_OF_RETENTION: &str = "deleted at end of retention";
/// Why the node ends a case by itself.
pub const END_DATE: &str = "the agreed end date came";

/// What one pass of the case loop did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Housekeeping {
    /// Cases opened from accepted agreements.
    pub opened: Vec<CaseId>,
    /// Cases ended at their agreed date.
    pub ended: Vec<CaseId>,
    /// Exhibits whose bytes were deleted at the end of their retention.
    pub deleted: Vec<(CaseId, ExhibitDigest)>,
}

impl Node {
    /// One pass of the case loop at `now`: opens owed cases, ends the ones
    /// past their date, deletes our copies of exhibits past their
    /// retention. A failure on one case does not stop the others; the
    /// first is returned after the pass.
    pub fn case_housekeeping(&self, now: Timestamp) -> Result<Housekeeping, NodeError> {
        let mut done = Housekeeping::default();
        let mut first_error = None;
        let mut keep = |r: Result<(), NodeError>| {
            if let Err(e) = r {
                tracing::warn!(error = %e, "case housekeeping");
                first_error.get_or_insert(e);
            }
        };
        let accepted = self.store().proposals(&ProposalFilter {
            direction: None,
            states: vec![ProposalState::Accepted, ProposalState::Answered],
            kinds: vec![ProposalKind::JointInvestigation],
            limit: 0,
        })?;
        for record in accepted
            .iter()
            .filter(|r| r.kind() == ProposalKind::JointInvestigation)
        {
            let case = CaseId::for_proposal(&record.id());
            let opened = self
                .store()
                .case(case)?
                .is_some_and(|c| c.opened_by.contains(&self.party()));
            if !opened {
                keep(
                    self.open_agreed_case(record.id())
                        .map(|c| done.opened.extend(c)),
                );
            }
        }
        let now_ms = u64::try_from(now.unix_millis()).unwrap_or(0);
        let us = self.party();
        for case in self.store().cases()? {
            for x in &case.exhibits {
                if case.holds(us, &x.digest) {
                    let ends = if x.offered_at_ms > 0 {
                        x.retention_ends_ms()
                    } else {
                        self.offered_at(case.id, &x.digest)?
                            .saturating_add(x.retention_ends_ms())
                    };
                    if now_ms >= ends {
                        keep(
                            self.delete_at_retention(case.id, x.digest, now_ms)
                                .map(|()| done.deleted.push((case.id, x.digest))),
                        );
                    }
                } else if x.deleted_by.contains(&us) {
                    // A deletion recorded whose file removal failed: try again.
                    let path = self.exhibit_path(case.id, &x.digest);
                    if path.exists() {
                        keep(fs::remove_file(&path).map_err(NodeError::io(&path)));
                    }
                }
            }
            if !case.ended_by.contains(&us) && case.ended.is_none() && now_ms >= case.ends_at_ms {
                let event = CustodyEvent {
                    case_id: case.id,
                    party: us,
                    actor: node_actor()?,
                    time_ms: now_ms,
                    act: Act::Ended {
                        reason: END_DATE.to_owned(),
                    },
                };
                keep(self.act_event(event).map(|_| done.ended.push(case.id)));
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// When the exhibit was offered, by its custody event.
    fn offered_at(&self, case: CaseId, exhibit: &ExhibitDigest) -> Result<u64, NodeError> {
        Ok(self
            .store()
            .case_events(case)?
            .iter()
            .find(
                |e| matches!(&e.event.act, Act::ExhibitOffered { exhibit: x, .. } if x == exhibit),
            )
            .map_or(0, |e| e.event.time_ms))
    }

    /// Records the deletion (both logs), then removes our sealed copy.
    fn delete_at_retention(
        &self,
        case: CaseId,
        exhibit: ExhibitDigest,
        now_ms: u64,
    ) -> Result<(), NodeError> {
        self.act_event(CustodyEvent {
            case_id: case,
            party: self.party(),
            actor: node_actor()?,
            time_ms: now_ms,
            act: Act::ExhibitDeleted {
                exhibit,
                reason: END_OF_RETENTION.to_owned(),
            },
        })?;
        let path = self.exhibit_path(case, &exhibit);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NodeError::io(&path)(e)),
        }
    }
}

/// Runs [`Node::case_housekeeping`] once a minute while the node runs.
pub(crate) async fn case_loop(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let worker = node.clone();
        match tokio::task::spawn_blocking(move || worker.case_housekeeping(Timestamp::now())).await
        {
            Ok(Ok(_)) | Ok(Err(_)) => {}
            Err(_) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
