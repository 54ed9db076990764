//! Standing arrangements as an officer or operator reads them: each with
//! what its period has used, when its next run is due, and its recent runs
//! with their match counts where our side learns them
//! (`soberana match standing list`, the desk's standing page).

use soberana_core::{
    AgreementStatus, Direction, PERSONS_LIST, PartyCode, ProposalId, ProposalState,
    StandingArrangement, StandingBudget, StandingStatus, Timestamp,
};
use soberana_psi::IdentifierKind;

use super::{next_due, queries};
use crate::{Node, NodeError};

/// One standing arrangement with a partner, as `soberana match standing
/// list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StandingView {
    /// The partner.
    pub partner: PartyCode,
    /// The arrangement.
    pub arrangement: StandingArrangement,
    /// The budget that binds a run, once both sides set one.
    pub effective: Option<StandingBudget>,
    /// Queries used in the period ending now, by runs we asked (asker) or
    /// took in (holder).
    pub used_this_period: u64,
    /// When our last run under it was asked for (asker side).
    pub last_run: Option<Timestamp>,
    /// Whether our side keeps a list for it (asker side).
    pub list_kept: bool,
    /// When its next run is due (asker side, while it and the agreement
    /// are in force): a period after the last run, or now if none ran.
    pub next_run: Option<Timestamp>,
    /// Whether the bilateral agreement it stands on is in force.
    pub agreement_in_force: bool,
    /// Its most recent runs, newest first (at most [`RECENT_RUNS`]).
    pub runs: Vec<StandingRunView>,
}

/// How many of an arrangement's runs [`Node::standing_views`] shows.
pub const RECENT_RUNS: usize = 10;

/// One run under a standing arrangement, as this node holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StandingRunView {
    /// The run's match proposal.
    pub proposal: ProposalId,
    /// When it was asked for.
    pub at: Timestamp,
    /// Where the proposal stands.
    pub state: ProposalState,
    /// Whether we asked it (our list against their holdings).
    pub ours: bool,
    /// Queries it held.
    pub queries: u64,
    /// How many matched, where our side learns it: the asker from the
    /// result it holds; `None` before the result, on a failed run, or on
    /// the holder's side.
    pub matched: Option<u64>,
}

/// The list kinds a standing arrangement can check: every identifier kind
/// and person records.
pub fn standing_list_kinds() -> Vec<&'static str> {
    IdentifierKind::ALL
        .iter()
        .map(|k| k.name())
        .chain(std::iter::once(PERSONS_LIST))
        .collect()
}

impl Node {
    /// Every standing arrangement with every partner, with what it has used,
    /// its recent runs and when the next is due.
    pub fn standing_views(&self, now: Timestamp) -> Result<Vec<StandingView>, NodeError> {
        let mut views = Vec::new();
        for card in self.peers() {
            let partner = card.party;
            let Some(agreement) = self.agreement(partner)? else {
                continue;
            };
            let in_force = agreement.status == AgreementStatus::Active;
            for arrangement in agreement.standing {
                let ours = arrangement.terms.asker == self.party();
                let name = &arrangement.terms.name;
                let used = self
                    .standing_used(partner, &arrangement, now, ours)
                    .map_err(|e| NodeError::Agreement(e.to_string()))?;
                let last_run = if ours {
                    self.last_standing_run(partner, name)?
                } else {
                    None
                };
                let next_run = (ours && in_force && arrangement.status == StandingStatus::Active)
                    .then(|| next_due(last_run, &arrangement, now));
                views.push(StandingView {
                    partner,
                    effective: arrangement.effective_budget(),
                    used_this_period: used,
                    last_run,
                    list_kept: ours && self.standing_list_path(partner, name).exists(),
                    next_run,
                    agreement_in_force: in_force,
                    runs: self.recent_standing_runs(partner, name, ours)?,
                    arrangement,
                });
            }
        }
        Ok(views)
    }

    /// The most recent runs under arrangement `name` with `peer`, newest
    /// first: ours when we ask, the partner's when we hold.
    fn recent_standing_runs(
        &self,
        peer: PartyCode,
        name: &str,
        ours: bool,
    ) -> Result<Vec<StandingRunView>, NodeError> {
        let direction = if ours {
            Direction::Outgoing
        } else {
            Direction::Incoming
        };
        let mut runs = self.runs_in(peer, name, direction, Vec::new())?;
        runs.sort_by_key(|p| std::cmp::Reverse(p.created));
        runs.truncate(RECENT_RUNS);
        runs.into_iter()
            .map(|p| {
                let detail = self.show(p.id)?;
                let matched = if ours {
                    match crate::sessions::match_result(&detail) {
                        Some(crate::sessions::MatchResult::Count { count, .. }) => Some(count),
                        Some(crate::sessions::MatchResult::Hits { hits, .. }) => {
                            Some(hits.len() as u64)
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                Ok(StandingRunView {
                    proposal: p.id,
                    at: p.created,
                    state: detail.record.state,
                    ours,
                    queries: queries(&p),
                    matched,
                })
            })
            .collect()
    }
}
