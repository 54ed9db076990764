//! The financial continuation, the node's third exchange beside the
//! matching sessions: follow the money across the border without any
//! ledger crossing it.
//!
//! - **Asking** ([`Node::ask_continuation`]): a trace on our own ledger
//!   finds where the money entered the partner's jurisdiction; one
//!   `FinancialIntelligence` proposal per account carries only the account,
//!   the amount and the window, and the [`Trail`] (our side of the flow,
//!   and what each proposal asks) is stored with those proposals in one
//!   transaction (`NodeStore::propose_trail`), so a crash can leave both or
//!   neither, never proposals without their trail.
//! - **Answering** ([`Node::continuation_answers`],
//!   [`Node::answer_continuation`]): the partner's officer runs the next leg
//!   on the partner's own ledger under its disclosure policy and its
//!   analysts' typology thresholds (`finance/typology.json`), and releases
//!   the disclosure-limited answer as an officer's decision, so roles, four
//!   eyes and the audit line are those of [`Node::decide`]. On a node that
//!   holds a ledger, an acceptance of a financial request that releases
//!   nothing (the desk's plain decision form, `soberana decide`) runs the
//!   continuation the same way: accepting it answers it.
//! - **Stitching** ([`Node::trail`], [`Node::stitch_trail`]): the partner's
//!   answers, parsed strictly, hang from our trail.
//!
//! The ledger itself stays files under `DIR/finance/` ([`ledger`]).

mod exchange;
pub mod ledger;
#[cfg(test)]
mod tests;

pub use exchange::{
    CONTINUATION_LABEL, LegStatus, Trail, TrailLeg, TrailStart, account_of, account_ref,
    answer_summary, continuation_draft, release_items, request_id, requests_of, run_trace,
};

use soberana_core::{AgencyId, OfficerId, Outcome, PartyCode, ProposalBody, ProposalId};
use soberana_finance::continuation::DisclosurePolicy;
use soberana_finance::trace::{Direction, FlowGraph};
use soberana_finance::{ContinuationAnswer, Country, Graph};
use soberana_store::ProposalDetail;

use crate::{DecisionStep, Node, NodeError, OfficerVerdict};

/// Hops run on our side when an acceptance does not say (the disclosure
/// policy caps it at this too).
pub const DEFAULT_ANSWER_HOPS: u8 = 4;

/// What `ask_continuation` asks, and of whom.
#[derive(Debug, Clone)]
pub struct ContinuationAsk {
    /// Where to start, how far, when.
    pub start: TrailStart,
    /// The partner asked.
    pub peer: PartyCode,
    /// Seconds after the last arrival the partner should look.
    pub horizon: i64,
    /// Hops asked for on the partner's side.
    pub partner_hops: u8,
    /// Most accounts asked about, largest amounts first.
    pub max_requests: usize,
    /// The requesting agency.
    pub agency: AgencyId,
    /// The officer making the request.
    pub officer: Option<OfficerId>,
}

/// An officer's release of a continuation answer.
#[derive(Debug, Clone)]
pub struct ContinuationRelease {
    /// The deciding officer (a registered approver).
    pub officer: OfficerId,
    /// Conditions of acceptance.
    pub conditions: Vec<String>,
    /// Why, in plain words: it travels to the partner.
    pub reason: String,
    /// Most hops run on our side.
    pub hops: u8,
}

impl Node {
    /// This node's party as a country of the financial model.
    pub fn country(&self) -> Result<Country, NodeError> {
        Country::new(self.party().as_str()).map_err(|e| NodeError::Finance(e.to_string()))
    }

    /// Traces from `ask.start` on `graph` and asks the partner to continue
    /// the trail from each account reached in its jurisdiction (one
    /// proposal each, largest first). The proposals and the trail are
    /// stored in one transaction.
    pub fn ask_continuation(
        &self,
        graph: &Graph,
        ask: &ContinuationAsk,
    ) -> Result<Trail, NodeError> {
        let home = self.country()?;
        let partner =
            Country::new(ask.peer.as_str()).map_err(|e| NodeError::Finance(e.to_string()))?;
        if partner == home {
            return Err(NodeError::Finance(format!(
                "--peer must be another country than this node's ({home})"
            )));
        }
        let flow = run_trace(graph, home, &ask.start, Direction::Forward)?;
        let mut requests =
            soberana_finance::requests(&flow, partner, ask.horizon, ask.partner_hops, "pending");
        if requests.is_empty() {
            return Err(NodeError::Finance(format!(
                "the trail from `{}` reaches no account held in {partner}: there is nothing to ask {partner}",
                ask.start.from
            )));
        }
        requests.sort_by_key(|r| std::cmp::Reverse(r.value));
        requests.truncate(ask.max_requests.max(1));
        let mut proposals = Vec::with_capacity(requests.len());
        let mut legs = Vec::with_capacity(requests.len());
        for mut request in requests {
            let proposal = self.checked_proposal(
                continuation_draft(&request, ask.peer, &ask.agency),
                ask.officer.clone(),
            )?;
            request.request_id = proposal.id.to_string();
            legs.push(TrailLeg {
                proposal: proposal.id,
                request,
            });
            proposals.push(proposal);
        }
        let trail = Trail {
            from: ask.start.from.clone(),
            flow,
            legs,
        };
        let body = serde_json::to_string(&trail).map_err(|e| NodeError::Finance(e.to_string()))?;
        self.store().propose_trail(proposals, body, self.sealer())?;
        self.wake_outbox();
        Ok(trail)
    }

    /// Runs the next leg of every account an incoming continuation request
    /// names, on this node's own ledger, with its disclosure policy and its
    /// typology thresholds (`finance/typology.json`, else the defaults).
    /// Nothing is decided or sent.
    pub fn continuation_answers(
        &self,
        id: ProposalId,
        hops: u8,
    ) -> Result<Vec<ContinuationAnswer>, NodeError> {
        let detail = self.show(id)?;
        self.compute_answers(&detail, hops)
    }

    fn compute_answers(
        &self,
        detail: &ProposalDetail,
        hops: u8,
    ) -> Result<Vec<ContinuationAnswer>, NodeError> {
        let requests = requests_of(&detail.record.proposal, hops)?;
        let root = self.dir().root();
        let graph = ledger::load_graph(root)?;
        let typologies = ledger::typology_config(root, None)?;
        let key = ledger::pseudonym_key(root)?;
        let home = self.country()?;
        requests
            .iter()
            .map(|request| {
                soberana_finance::answer(
                    &graph,
                    request,
                    home,
                    &key,
                    &DisclosurePolicy::default(),
                    &typologies,
                )
                .map_err(|e| NodeError::Finance(e.to_string()))
            })
            .collect()
    }

    /// An officer runs the next leg of an incoming continuation request
    /// awaiting a decision and releases the answer: an acceptance through
    /// [`Node::decide`], so under H2/H3 it waits for a second approver.
    pub fn answer_continuation(
        &self,
        id: ProposalId,
        release: ContinuationRelease,
    ) -> Result<(Vec<ContinuationAnswer>, DecisionStep), NodeError> {
        let detail = self.decidable(id)?;
        let answers = self.compute_answers(&detail, release.hops)?;
        let outcome = if release.conditions.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::AcceptedWithConditions {
                conditions: release.conditions,
            }
        };
        let step = self.decide(
            id,
            OfficerVerdict {
                officer: release.officer,
                outcome,
                reason: release.reason,
                release: release_items(&answers)?,
            },
        )?;
        Ok((answers, step))
    }

    /// An acceptance that releases nothing, of a financial request, on a
    /// node that holds a financial ledger, answers the request: the
    /// continuation is computed on our ledger with the default hops and
    /// becomes what the acceptance releases. An officer who writes what to
    /// release, or a node without a ledger, decides as for any other kind.
    pub(crate) fn with_continuation(
        &self,
        detail: &ProposalDetail,
        mut verdict: OfficerVerdict,
    ) -> Result<OfficerVerdict, NodeError> {
        let financial = matches!(
            detail.record.proposal.body,
            ProposalBody::FinancialIntelligence(_)
        );
        if !financial
            || !verdict.outcome.is_acceptance()
            || !verdict.release.is_empty()
            || ledger::loaded(self.dir().root())?.is_empty()
        {
            return Ok(verdict);
        }
        let answers = self.compute_answers(detail, DEFAULT_ANSWER_HOPS)?;
        verdict.release = release_items(&answers)?;
        Ok(verdict)
    }

    /// The trail that sent proposal `id`.
    pub fn trail(&self, id: ProposalId) -> Result<Trail, NodeError> {
        if let Some(body) = self.store().trail(id)? {
            return serde_json::from_str(&body).map_err(|e| {
                NodeError::Finance(format!("the trail of proposal {id} is damaged: {e}"))
            });
        }
        legacy_trail(self.dir().root(), id)?.ok_or_else(|| {
            NodeError::Finance(format!(
                "proposal {id} is not a continuation request this node sent"
            ))
        })
    }

    /// Stitches every answered leg of `trail` into its flow.
    pub fn stitch_trail(&self, trail: &Trail) -> Result<(FlowGraph, Vec<LegStatus>), NodeError> {
        let mut flow = trail.flow.clone();
        let mut status = Vec::with_capacity(trail.legs.len());
        for leg in &trail.legs {
            let detail = self.show(leg.proposal)?;
            match detail
                .answer
                .filter(|_| detail.record.state == soberana_core::ProposalState::Answered)
            {
                Some(answer) => status.push(exchange::stitch_leg(&mut flow, leg, &answer.items)),
                None => status.push(LegStatus::Waiting(detail.record.state)),
            }
        }
        Ok((flow, status))
    }
}

/// A trail saved by an earlier version beside the ledger, in
/// `finance/trails/`, before trails moved into the store.
fn legacy_trail(root: &std::path::Path, id: ProposalId) -> Result<Option<Trail>, NodeError> {
    let dir = ledger::finance_dir(root).join("trails");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(NodeError::io(&path))?;
        let trail: Trail = serde_json::from_slice(&bytes)
            .map_err(|e| NodeError::Finance(format!("`{}` is damaged: {e}", path.display())))?;
        if trail.legs.iter().any(|l| l.proposal == id) {
            return Ok(Some(trail));
        }
    }
    Ok(None)
}
