//! The bilateral agreement with each partner, as the node's operator acts
//! on it: show it, propose or amend terms, accept the partner's, suspend,
//! resume, terminate. Each act is a signed envelope queued to the partner
//! in the transaction that records it (so it is in both logs), and the
//! partner's node answers it with a signed acknowledgement. The state
//! machine is `soberana_core::Agreement::apply`; intake refuses new
//! proposals the agreement does not let in, and `Node::propose` refuses
//! to queue them.

use std::path::Path;

use soberana_core::{
    Agreement, AgreementAct, AgreementAction, AgreementStatus, AgreementTerms, PartyCode, Timestamp,
};
use soberana_store::{AgreementActRecord, StoreError};

use crate::{Node, NodeError};

/// Reads agreement terms from a TOML file: `default_handling = "H1"` and
/// one `[[sides]]` table per party (`party`, `accepts`, optional
/// `answer_hours`).
pub fn read_terms(path: &Path) -> Result<AgreementTerms, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        NodeError::Agreement(format!(
            "cannot read agreement terms `{}`: {e}",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| {
        NodeError::Agreement(format!(
            "agreement terms `{}` are not valid: {}",
            path.display(),
            e.message()
        ))
    })
}

fn agreement_error(e: StoreError) -> NodeError {
    match e {
        StoreError::Agreement(text) => NodeError::Agreement(text),
        other => NodeError::Store(other),
    }
}

impl Node {
    /// The agreement with `peer`, if any act on it was recorded.
    pub fn agreement(&self, peer: PartyCode) -> Result<Option<Agreement>, NodeError> {
        Ok(self.store().agreement(peer)?)
    }

    /// Every act on the agreement with `peer`, oldest first.
    pub fn agreement_acts(&self, peer: PartyCode) -> Result<Vec<AgreementActRecord>, NodeError> {
        Ok(self.store().agreement_acts(peer)?)
    }

    /// Makes our act on the agreement with `peer`: checked against where the
    /// agreement stands, recorded, signed and queued to the partner. The
    /// version the act concerns follows from the agreement. Returns the
    /// agreement after it and the id of the envelope that carries it.
    pub fn act_on_agreement(
        &self,
        peer: PartyCode,
        action: AgreementAction,
        reason: &str,
    ) -> Result<(Agreement, String), NodeError> {
        self.act_on_agreement_audited(peer, action, reason, None)
    }

    /// [`Node::act_on_agreement`], with the audit line naming the officers
    /// who approved the act written in the same transaction: the act is
    /// never recorded without it.
    pub(crate) fn act_on_agreement_audited(
        &self,
        peer: PartyCode,
        action: AgreementAction,
        reason: &str,
        audit: Option<soberana_store::AuditEntry>,
    ) -> Result<(Agreement, String), NodeError> {
        let act = self.agreement_act(peer, action, reason)?;
        let (after, envelope) = self
            .store()
            .act_on_agreement(self.party(), peer, act, audit, self.sealer())
            .map_err(agreement_error)?;
        self.wake_outbox();
        Ok((after, envelope.header().id.to_string()))
    }

    /// The agreement as it would stand after our act, judged exactly as
    /// [`Node::act_on_agreement`] judges it, with nothing written, signed
    /// or sent: for an officer's act that waits for a second officer.
    pub fn check_agreement_act(
        &self,
        peer: PartyCode,
        action: AgreementAction,
        reason: &str,
    ) -> Result<Agreement, NodeError> {
        let act = self.agreement_act(peer, action, reason)?;
        let current = self.agreement(peer)?;
        Agreement::apply(current.as_ref(), &act, self.party(), self.party(), peer)
            .map_err(|e| NodeError::Agreement(e.to_string()))
    }

    /// Our act on the agreement with `peer`, with the version it concerns.
    fn agreement_act(
        &self,
        peer: PartyCode,
        action: AgreementAction,
        reason: &str,
    ) -> Result<AgreementAct, NodeError> {
        if self.peer(peer).is_none() {
            return Err(NodeError::UnknownPeer(peer.to_string()));
        }
        if matches!(action, AgreementAction::Acknowledge { .. }) {
            return Err(NodeError::Agreement(
                "acknowledgements are sent by the node when an act arrives, not by hand".into(),
            ));
        }
        let current = self.agreement(peer)?;
        let in_force = current.as_ref().map_or(0, |a| a.version);
        let version = match &action {
            AgreementAction::Propose { .. } => match &current {
                Some(a) if a.status == AgreementStatus::Terminated => in_force + 1,
                Some(a) => a.pending.as_ref().map_or(in_force + 1, |p| p.version),
                None => 1,
            },
            AgreementAction::Amend { .. } => in_force + 1,
            AgreementAction::Accept => current
                .as_ref()
                .and_then(|a| a.pending.as_ref())
                .map_or(in_force + 1, |p| p.version),
            _ => in_force,
        };
        Ok(AgreementAct {
            version,
            action,
            reason: reason.chars().take(1000).collect(),
            at: Timestamp::now(),
        })
    }
}
