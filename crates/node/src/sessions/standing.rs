//! Standing match arrangements as the node runs them: bulk blind
//! cross-matching of a whole list against a partner's holdings, once per
//! period, within a query budget each side sets.
//!
//! The arrangement itself lives in the bilateral agreement
//! ([`soberana_core::StandingArrangement`]): it is proposed and accepted by
//! signed acts on the agreement, which are in both logs and acknowledged.
//! Here are the three things a node does with it:
//!
//! - **asking** ([`Node::run_standing`]): our side's list (kept in
//!   `DIR/data/standing/<PARTNER>-<name>.list`: identifier lines, or a person
//!   CSV with soberana's header) is checked against the effective budget
//!   (the smaller of both sides', per run and per period) and, when it fits,
//!   sent as an ordinary `identifier_match` or `person_match` proposal naming
//!   the arrangement. A run over budget is refused before anything is
//!   queued. The node's scheduler ([`standing_loop`]) fires a run when one
//!   is due; `soberana match standing run` fires one now.
//! - **holding** ([`Node::admit_standing_run`], at intake): a proposal that
//!   names an arrangement is checked against the arrangement as *we* hold
//!   it — in force, asked by its sender, of its list kind, within our
//!   budget and the effective one for the run and for the period — and
//!   accepted without an officer when it fits (a policy refusal still
//!   stands). Anything else is refused at intake with the reason: the
//!   budget the run claims decides nothing.
//! - **logging**: each run completed is a `StandingRun` entry in both logs
//!   (run id, arrangement, queries asked, matches where the side learns
//!   them), beside the match session and disclosure entries.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use soberana_core::{
    AgreementAction, AgreementStatus, Direction, OfficerId, PERSONS_LIST, PartyCode, Proposal,
    ProposalBody, ProposalKind, ProposalState, StandingAction, StandingArrangement, StandingBudget,
    StandingRef, StandingStatus, Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_psi::{IdentifierKind, Protocol};
use soberana_store::{AuditEntry, ProposalFilter};

use super::{IdentifierRequest, MatchError, RequestContext, persons};

mod admit;
mod view;

use crate::{Node, NodeError};
pub use view::{RECENT_RUNS, StandingRunView, StandingView, standing_list_kinds};

/// The arrangement a match proposal runs under, if it names one.
pub fn standing_ref(proposal: &Proposal) -> Option<&StandingRef> {
    match &proposal.body {
        ProposalBody::IdentifierMatch(m) => m.standing.as_ref(),
        ProposalBody::PersonMatch(m) => m.standing.as_ref(),
        _ => None,
    }
}

/// How many queries a match proposal holds.
fn queries(proposal: &Proposal) -> u64 {
    match &proposal.body {
        ProposalBody::IdentifierMatch(m) => m.set_size,
        ProposalBody::PersonMatch(m) => m.record_count,
        _ => 0,
    }
}

/// Why a standing run cannot be asked for or taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingRefusal {
    /// A short machine-readable code.
    pub code: &'static str,
    /// The reason, for people.
    pub reason: String,
}

impl StandingRefusal {
    fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// When the next run of an arrangement is due, given when the last one was
/// asked for: a period later, or now if none ran yet.
fn next_due(
    last: Option<Timestamp>,
    arrangement: &StandingArrangement,
    now: Timestamp,
) -> Timestamp {
    last.map_or(now, |l| l.plus_seconds(arrangement.terms.period.seconds()))
}

/// How many different approvers our act on a standing arrangement needs:
/// two to propose or accept one (the budget it sets lets our node answer
/// runs without an officer), one to suspend, resume or terminate it.
pub fn standing_approvers_needed(act: &StandingAction) -> usize {
    match act {
        StandingAction::Propose { .. } | StandingAction::Accept { .. } => 2,
        StandingAction::Suspend { .. }
        | StandingAction::Resume { .. }
        | StandingAction::Terminate { .. } => 1,
    }
}

fn approvers_rule(needed: usize) -> &'static str {
    if needed > 1 {
        "two different approvers"
    } else {
        "one approver"
    }
}

fn checked_list(list: &str) -> Result<(), NodeError> {
    if list == PERSONS_LIST {
        return Ok(());
    }
    IdentifierKind::from_name(list)
        .map(|_| ())
        .map_err(|e| NodeError::Agreement(format!("{e}; or `{PERSONS_LIST}` for person records")))
}

impl Node {
    /// Every standing arrangement with `peer`, as the agreement holds them.
    pub fn standing_arrangements(
        &self,
        peer: PartyCode,
    ) -> Result<Vec<StandingArrangement>, NodeError> {
        Ok(self
            .agreement(peer)?
            .map(|a| a.standing)
            .unwrap_or_default())
    }

    /// Judges our act on a standing arrangement with `peer`, approved by
    /// `approvers`, exactly as [`Node::act_on_standing`] would, writing and
    /// sending nothing; returns the arrangement as it would stand after it.
    /// For an act that waits for a second approver: every officer named
    /// must be a registered, enabled approver and no two the same, but the
    /// second of an act that needs two may still be missing.
    pub fn check_standing_act(
        &self,
        peer: PartyCode,
        act: &StandingAction,
        reason: &str,
        approvers: &[OfficerId],
    ) -> Result<StandingArrangement, NodeError> {
        self.standing_approvers(act, approvers, false)?;
        if let StandingAction::Propose { terms, .. } = act {
            checked_list(&terms.list)?;
        }
        let name = act.name().to_owned();
        self.check_agreement_act(peer, AgreementAction::Standing { act: act.clone() }, reason)?
            .standing
            .into_iter()
            .find(|a| a.terms.name == name)
            .ok_or_else(|| {
                NodeError::Agreement(format!("there is no standing arrangement `{name}`"))
            })
    }

    /// Checks the officers approving an act on a standing arrangement:
    /// each a registered, enabled approver, no one named twice, and, when
    /// `whole`, as many as the act needs ([`standing_approvers_needed`]).
    fn standing_approvers(
        &self,
        act: &StandingAction,
        approvers: &[OfficerId],
        whole: bool,
    ) -> Result<(), NodeError> {
        let needed = standing_approvers_needed(act);
        let Some(first) = approvers.first() else {
            return Err(NodeError::BadDecision(format!(
                "{} needs {}; name the approving officer (--officer)",
                act.as_str(),
                approvers_rule(needed)
            )));
        };
        for officer in approvers {
            self.approver(officer)?;
        }
        for (i, officer) in approvers.iter().enumerate() {
            if approvers.iter().skip(i + 1).any(|o| o == officer) {
                return Err(NodeError::SameOfficer(officer.to_string()));
            }
        }
        if approvers.len() > needed {
            return Err(NodeError::BadDecision(format!(
                "{} needs {}; {} were named",
                act.as_str(),
                approvers_rule(needed),
                approvers.len()
            )));
        }
        if whole && approvers.len() < needed {
            return Err(NodeError::BadDecision(format!(
                "{} sets the budget under which our node answers runs without an officer, so it needs {}: `{first}` must be confirmed by a different approver (--confirmed-by)",
                act.as_str(),
                approvers_rule(needed)
            )));
        }
        Ok(())
    }

    /// Reads `file` whole as a list of kind `list` (identifier lines, or
    /// person records with soberana's header), as a run would read it;
    /// returns how many entries it holds. A bad line refuses the list.
    pub fn check_standing_list(list: &str, file: &Path) -> Result<usize, MatchError> {
        Ok(read_list(list.trim().to_ascii_lowercase().as_str(), file)?.len())
    }

    /// Makes our act on a standing arrangement with `peer`, approved by
    /// `approvers`: a signed act on the agreement, recorded in our log,
    /// queued to the partner, and acknowledged by its node; who approved it
    /// is in our audit trail (not in the signed act: the partner learns
    /// which side acted, not which of its officers).
    ///
    /// Proposing or accepting sets the budget under which our node answers
    /// runs without an officer, so it needs two different registered,
    /// enabled approvers; suspending, resuming or terminating needs one.
    /// Any other count, an unknown, disabled or non-approver officer, or
    /// the same officer twice is refused before anything is written.
    pub fn act_on_standing(
        &self,
        peer: PartyCode,
        act: StandingAction,
        reason: &str,
        approvers: &[OfficerId],
    ) -> Result<StandingArrangement, NodeError> {
        self.standing_approvers(&act, approvers, true)?;
        if let StandingAction::Propose { terms, .. } = &act {
            checked_list(&terms.list)?;
        }
        let name = act.name().to_owned();
        let what = act.as_str();
        let names: Vec<&str> = approvers.iter().map(OfficerId::as_str).collect();
        // The act and who approved it commit together, or neither does.
        let audit = AuditEntry {
            at: Timestamp::now(),
            officer: names.first().copied().unwrap_or_default().to_owned(),
            action: what.to_owned(),
            target: format!("{peer}/{name}"),
            detail: format!("approved by {}; reason: {reason}", names.join(" · ")),
        };
        let (after, _) = self.act_on_agreement_audited(
            peer,
            AgreementAction::Standing { act },
            reason,
            Some(audit),
        )?;
        after
            .standing
            .into_iter()
            .find(|a| a.terms.name == name)
            .ok_or_else(|| NodeError::Agreement(format!("standing arrangement `{name}` vanished")))
    }

    /// Where our side keeps the list checked under arrangement `name` with
    /// `peer`.
    pub fn standing_list_path(&self, peer: PartyCode, name: &str) -> PathBuf {
        self.dir()
            .root()
            .join("data/standing")
            .join(format!("{peer}-{name}.list"))
    }

    /// Keeps `file` as the list checked under arrangement `name` with
    /// `peer`, after reading it whole as the arrangement's list kind;
    /// returns how many entries it holds. A list with a bad line is refused
    /// and the list kept before stays.
    pub fn keep_standing_list(
        &self,
        peer: PartyCode,
        name: &str,
        file: &Path,
    ) -> Result<usize, MatchError> {
        let arrangement = self.our_arrangement(peer, name)?;
        let count = read_list(&arrangement.terms.list, file)?.len();
        let target = self.standing_list_path(peer, name);
        let dir = target.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(super::file_error(dir))?;
        let tmp = target.with_extension("list.tmp");
        std::fs::copy(file, &tmp).map_err(super::file_error(&tmp))?;
        std::fs::rename(&tmp, &target).map_err(super::file_error(&target))?;
        Ok(count)
    }

    fn our_arrangement(
        &self,
        peer: PartyCode,
        name: &str,
    ) -> Result<StandingArrangement, MatchError> {
        if self.peer(peer).is_none() {
            return Err(NodeError::UnknownPeer(peer.to_string()).into());
        }
        let arrangement = self
            .standing_arrangements(peer)?
            .into_iter()
            .find(|a| a.terms.name == name)
            .ok_or_else(|| {
                MatchError::Standing(format!(
                    "there is no standing arrangement `{name}` with {peer}"
                ))
            })?;
        if arrangement.terms.asker != self.party() {
            return Err(MatchError::Standing(format!(
                "under standing arrangement `{name}` {} checks its list against ours; our side runs nothing",
                arrangement.terms.asker
            )));
        }
        Ok(arrangement)
    }

    /// Runs arrangement `name` with `peer` now: reads the list (`list`, or
    /// the one kept for it), checks it against the effective budget for the
    /// run and for the period, and sends it as a bounded match proposal
    /// naming the arrangement. A run that does not fit is refused whole
    /// before anything is queued.
    pub fn run_standing(
        &self,
        peer: PartyCode,
        name: &str,
        list: Option<&Path>,
        officer: Option<OfficerId>,
        now: Timestamp,
    ) -> Result<Proposal, MatchError> {
        let arrangement = self.our_arrangement(peer, name)?;
        let agreement = self
            .agreement(peer)?
            .ok_or_else(|| MatchError::Standing(format!("there is no agreement with {peer}")))?;
        if agreement.status != AgreementStatus::Active {
            return Err(MatchError::Standing(format!(
                "the agreement with {peer} is {}; no standing run crosses until it is in force",
                agreement.status.as_str()
            )));
        }
        if arrangement.status != StandingStatus::Active {
            return Err(MatchError::Standing(format!(
                "standing arrangement `{name}` is {}{}; nothing was sent",
                arrangement.status.as_str(),
                arrangement
                    .stopped_by
                    .map(|p| format!(" by `{p}`"))
                    .unwrap_or_default()
            )));
        }
        let budget = arrangement.effective_budget().ok_or_else(|| {
            MatchError::Standing(format!(
                "standing arrangement `{name}` has no agreed budget"
            ))
        })?;
        let kept = self.standing_list_path(peer, name);
        let path = list.unwrap_or(&kept);
        if !path.exists() {
            return Err(MatchError::Standing(format!(
                "no list for standing arrangement `{name}`: give one with --list FILE (kept at `{}`)",
                kept.display()
            )));
        }
        let entries = read_list(&arrangement.terms.list, path)?;
        let count = entries.len() as u64;
        let used = self.standing_used(peer, &arrangement, now, true)?;
        check_budget(name, count, used, budget, &arrangement)
            .map_err(|r| MatchError::Standing(r.reason))?;
        let standing = Some(StandingRef {
            arrangement: name.to_owned(),
            budget,
        });
        let context = RequestContext {
            purpose: format!(
                "standing arrangement `{name}` ({} run): check our {} list against the partner's holdings",
                arrangement.terms.period.as_str(),
                arrangement.terms.list
            ),
            legal_basis: format!(
                "standing arrangement `{name}` under bilateral agreement version {}",
                agreement.version
            ),
            officer,
            deadline_seconds: arrangement.terms.period.seconds(),
            ..RequestContext::default()
        };
        match entries {
            ListEntries::Identifiers(kind, items) => self.request_identifier_match_under(
                IdentifierRequest {
                    peer,
                    kind,
                    items,
                    protocol: Protocol::Dh,
                    count_only: false,
                    context,
                },
                standing,
            ),
            ListEntries::Persons(records) => {
                self.request_person_match_under(peer, &records, &context, standing)
            }
        }
    }

    /// Our match proposals (outgoing) or the partner's (incoming) that ran
    /// under arrangement `name` with `peer`.
    fn standing_runs(
        &self,
        peer: PartyCode,
        name: &str,
        direction: Direction,
    ) -> Result<Vec<Proposal>, NodeError> {
        let states = run_states(direction);
        self.runs_in(peer, name, direction, states)
    }

    /// When our last run under arrangement `name` with `peer` was asked
    /// for, whatever became of it (a run the partner refused still waits
    /// its period before the next).
    fn last_standing_run(
        &self,
        peer: PartyCode,
        name: &str,
    ) -> Result<Option<Timestamp>, NodeError> {
        Ok(self
            .runs_in(peer, name, Direction::Outgoing, Vec::new())?
            .iter()
            .map(|p| p.created)
            .max())
    }

    fn runs_in(
        &self,
        peer: PartyCode,
        name: &str,
        direction: Direction,
        states: Vec<ProposalState>,
    ) -> Result<Vec<Proposal>, NodeError> {
        Ok(self
            .store()
            .proposals(&ProposalFilter {
                direction: Some(direction),
                states,
                kinds: vec![ProposalKind::IdentifierMatch, ProposalKind::PersonMatch],
                limit: 0,
            })?
            .into_iter()
            .filter(|r| r.peer == peer)
            .map(|r| r.proposal)
            .filter(|p| standing_ref(p).is_some_and(|s| s.arrangement == name))
            .collect())
    }

    /// Queries used under an arrangement in the period ending at `now`.
    fn standing_used(
        &self,
        peer: PartyCode,
        arrangement: &StandingArrangement,
        now: Timestamp,
        asking: bool,
    ) -> Result<u64, MatchError> {
        let direction = if asking {
            Direction::Outgoing
        } else {
            Direction::Incoming
        };
        let since = now.plus_seconds(-arrangement.terms.period.seconds());
        Ok(self
            .standing_runs(peer, &arrangement.terms.name, direction)?
            .iter()
            .filter(|p| p.created > since)
            .map(queries)
            .sum())
    }

    /// The log entry of a standing run, when `proposal` is one.
    pub(crate) fn standing_entry(
        &self,
        proposal: &Proposal,
        peer: PartyCode,
        side: &str,
        asked: u64,
        matched: Option<u64>,
    ) -> Option<LogEntry> {
        let claim = standing_ref(proposal)?;
        Some(LogEntry::StandingRun {
            run_id: proposal.id.to_string(),
            arrangement: claim.arrangement.clone(),
            peer: peer.to_string(),
            side: side.to_owned(),
            asked,
            matched,
            time_ms: super::now_ms(),
        })
    }

    /// Fires every run that is due by `now`: each arrangement in force where
    /// we ask, under an agreement in force, with a list kept, whose last run
    /// is a period old or more. Returns the runs sent and the arrangements
    /// that were due but could not run, with why.
    pub fn fire_due_standing(&self, now: Timestamp) -> Result<DueRuns, NodeError> {
        let mut due = DueRuns::default();
        for card in self.peers() {
            let partner = card.party;
            let Some(agreement) = self.agreement(partner)? else {
                continue;
            };
            if agreement.status != AgreementStatus::Active {
                continue;
            }
            for arrangement in &agreement.standing {
                let name = &arrangement.terms.name;
                if arrangement.terms.asker != self.party()
                    || arrangement.status != StandingStatus::Active
                    || !self.standing_list_path(partner, name).exists()
                {
                    continue;
                }
                let last = self.last_standing_run(partner, name)?;
                if next_due(last, arrangement, now) > now {
                    continue;
                }
                match self.run_standing(partner, name, None, None, now) {
                    Ok(p) => due.sent.push((partner, name.clone(), p.id)),
                    Err(e) => due.refused.push((partner, name.clone(), e.to_string())),
                }
            }
        }
        Ok(due)
    }
}

/// What [`Node::fire_due_standing`] did.
#[derive(Debug, Default)]
pub struct DueRuns {
    /// Runs sent: partner, arrangement, proposal.
    pub sent: Vec<(PartyCode, String, soberana_core::ProposalId)>,
    /// Runs due that could not run: partner, arrangement, why.
    pub refused: Vec<(PartyCode, String, String)>,
}

/// The states a run counts in: ours the partner took or may still take,
/// theirs we accepted.
fn run_states(direction: Direction) -> Vec<ProposalState> {
    match direction {
        // Every run we sent but those the partner refused: one its
        // intake refused stays `queued`, and counts until its period
        // ends (the partner's node keeps its own count).
        Direction::Outgoing => vec![
            ProposalState::Queued,
            ProposalState::Delivered,
            ProposalState::Accepted,
            ProposalState::Answered,
            ProposalState::MoreInformationNeeded,
        ],
        // What we accepted.
        Direction::Incoming => vec![ProposalState::Accepted, ProposalState::Answered],
    }
}

fn check_budget(
    name: &str,
    count: u64,
    used: u64,
    budget: StandingBudget,
    arrangement: &StandingArrangement,
) -> Result<(), StandingRefusal> {
    if count > budget.per_run {
        return Err(StandingRefusal::new(
            "standing_over_budget",
            format!(
                "the run holds {count} queries; standing arrangement `{name}` allows {} per run (the smaller of both sides' budgets); nothing was sent or compared",
                budget.per_run
            ),
        ));
    }
    if used.saturating_add(count) > budget.per_period {
        return Err(StandingRefusal::new(
            "standing_over_budget",
            format!(
                "the run holds {count} queries and {used} were used in this {} period; standing arrangement `{name}` allows {} per period; nothing was sent or compared",
                arrangement.terms.period.as_str(),
                budget.per_period
            ),
        ));
    }
    Ok(())
}

enum ListEntries {
    Identifiers(IdentifierKind, Vec<String>),
    Persons(Vec<(String, soberana_linkage::PersonRecord)>),
}

impl ListEntries {
    fn len(&self) -> usize {
        match self {
            ListEntries::Identifiers(_, items) => items.len(),
            ListEntries::Persons(records) => records.len(),
        }
    }
}

/// Reads a standing list whole: identifier lines of the arrangement's kind,
/// or person records with soberana's header; a bad line refuses the list.
fn read_list(list: &str, path: &Path) -> Result<ListEntries, MatchError> {
    let entries = if list == PERSONS_LIST {
        let file = persons::read_person_file(path)?;
        if !file.rejected.is_empty() {
            return Err(MatchError::Persons(format!(
                "`{}` has unusable rows ({}); fix them so the whole list runs",
                path.display(),
                file.rejected.join("; ")
            )));
        }
        ListEntries::Persons(file.records)
    } else {
        let kind = IdentifierKind::from_name(list)?;
        ListEntries::Identifiers(kind, super::read_identifier_file(path, kind)?)
    };
    if entries.len() == 0 {
        return Err(MatchError::Empty(path.to_owned()));
    }
    Ok(entries)
}

/// Fires due standing runs once a minute while the node runs.
pub(crate) async fn standing_loop(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    // A due run that could not run is said once per period, not each minute.
    let mut told: HashMap<(PartyCode, String), String> = HashMap::new();
    loop {
        let worker = node.clone();
        match tokio::task::spawn_blocking(move || worker.fire_due_standing(Timestamp::now())).await
        {
            Ok(Ok(due)) => {
                for (partner, name, id) in due.sent {
                    tracing::info!(%partner, arrangement = %name, proposal = %id, "standing run sent");
                    told.remove(&(partner, name));
                }
                for (partner, name, reason) in due.refused {
                    if told.get(&(partner, name.clone())) != Some(&reason) {
                        tracing::warn!(%partner, arrangement = %name, %reason, "standing run due but not run");
                        told.insert((partner, name), reason);
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not check standing runs"),
            Err(_) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
