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

use soberana_case::{Case, CaseError, CaseId, CustodyEvent};
use soberana_core::{
    Direction, PartyCode, Proposal, ProposalBody, ProposalId, ProposalKind, ProposalState,
};

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

/// What a case act is checked against when it names a proposal: an opening
/// names the proposal the case is opened from, a use names the consent it
/// rests on. Each store reads these columns of the proposal in the act's
/// transaction and runs the same checks below.
pub(crate) struct NamedProposal {
    /// Ours (outgoing) or the partner's (incoming).
    pub direction: Direction,
    /// The other party.
    pub peer: PartyCode,
    /// Where it stands.
    pub state: ProposalState,
    /// Its kind's name.
    pub kind: String,
    /// The proposal as stored (JSON).
    pub body: String,
}

/// The kinds a case can be opened from: an accepted joint investigation,
/// or, as the evidence file of a proposal, a notice or information request.
pub(crate) fn check_opening(
    id: &str,
    named: &NamedProposal,
    parties: &[PartyCode; 2],
    us: PartyCode,
) -> Result<(), StoreError> {
    let evidence_file = [
        ProposalKind::AdvanceNotification.as_str(),
        ProposalKind::InformationRequest.as_str(),
    ]
    .contains(&named.kind.as_str());
    if named.kind != ProposalKind::JointInvestigation.as_str() && !evidence_file {
        return Err(StoreError::Conflict(format!(
            "proposal `{id}` is a {}; only an accepted joint investigation opens a case, and only a notice or information request an evidence file",
            named.kind.replace('_', " ")
        )));
    }
    if !evidence_file
        && !matches!(
            named.state,
            ProposalState::Accepted | ProposalState::Answered
        )
    {
        return Err(StoreError::NotAccepted(
            id.to_owned(),
            named.state.to_string(),
        ));
    }
    if !parties.contains(&us) || !parties.contains(&named.peer) {
        return Err(StoreError::WrongParty(
            id.to_owned(),
            named.peer.to_string(),
        ));
    }
    Ok(())
}

/// A use of an exhibit that names a consent: the consent must be a
/// consent proposal exchanged with the other party, asked by the side that
/// uses the exhibit (ours when `ours`, the partner's otherwise), accepted,
/// and naming exactly this case, exhibit and use. Anything else is a
/// [`CaseError::NoConsent`], and the act is refused whole.
pub(crate) fn check_consent(
    event: &CustodyEvent,
    ours: bool,
    consent: ProposalId,
    named: Option<NamedProposal>,
) -> Result<(), StoreError> {
    let Some((use_, _)) = event.act.use_of() else {
        return Ok(());
    };
    let exhibit = event
        .act
        .exhibit()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let refuse = |why: &str| {
        StoreError::Case(CaseError::NoConsent {
            exhibit: exhibit.get(..12).unwrap_or_default().to_owned(),
            use_: use_.describe(),
            consent: consent.to_string(),
            why: why.to_owned(),
        })
    };
    let Some(named) = named else {
        return Err(refuse("this node does not hold"));
    };
    let asked_by_user = if ours {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    if named.kind != ProposalKind::ExhibitConsent.as_str() || named.direction != asked_by_user {
        return Err(refuse(
            "is not a consent request the using side sent the contributing side",
        ));
    }
    if !matches!(
        named.state,
        ProposalState::Accepted | ProposalState::Answered
    ) {
        return Err(refuse(&format!("is {}, not accepted", named.state)));
    }
    let proposal: Proposal = serde_json::from_str(&named.body)
        .map_err(|e| StoreError::Corrupt(format!("consent proposal: {e}")))?;
    let ProposalBody::ExhibitConsent(asked) = &proposal.body else {
        return Err(refuse("is not a consent request"));
    };
    let asks = asked.asks();
    let of_exhibit: Vec<_> = asks.iter().filter(|a| a.exhibit == exhibit).collect();
    if asked.case_id != event.case_id.to_string() || of_exhibit.is_empty() {
        return Err(refuse("is consent for another exhibit"));
    }
    if !of_exhibit.iter().any(|a| &a.use_ == use_) {
        let uses: Vec<String> = of_exhibit.iter().map(|a| a.use_.describe()).collect();
        return Err(refuse(&format!(
            "is consent to {}, another use",
            uses.join(", ")
        )));
    }
    Ok(())
}
