//! Standing match arrangements: bulk blind cross-matching under the
//! bilateral agreement.
//!
//! A standing arrangement lets one side (the *asker*) check a whole list —
//! identifiers of one kind by private set intersection, or person records by
//! linkage compared at the holder — against the other side's holdings once
//! per period, without an officer accepting each run. It is made by signed
//! acts on the agreement (so it is in both logs and acknowledged like every
//! agreement act): one side proposes the arrangement with the query budget
//! *it* sets, the other accepts it with *its own* budget. The budget that
//! binds a run is the smaller of the two, field by field
//! ([`StandingArrangement::effective_budget`]). Either side suspends it (only
//! that side resumes it) or ends it for good; a suspended or terminated
//! bilateral agreement stops it too.
//!
//! Each run is an ordinary bounded match proposal (`identifier_match` or
//! `person_match`) that names the arrangement ([`StandingRef`]); the holder
//! checks it against the arrangement as *it* holds it, whatever the run
//! claims, and accepts it without an officer only when it fits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{PartyCode, ProposalKind, Timestamp};

/// The list kind of an arrangement that checks person records.
pub const PERSONS_LIST: &str = "persons";

/// The most characters an arrangement's name may have.
pub const MAX_ARRANGEMENT_NAME: usize = 64;

/// How often a standing arrangement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandingPeriod {
    /// Once a day.
    Daily,
    /// Once a week.
    Weekly,
}

impl StandingPeriod {
    /// The period's length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            StandingPeriod::Daily => 24 * 3600,
            StandingPeriod::Weekly => 7 * 24 * 3600,
        }
    }

    /// The period's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StandingPeriod::Daily => "daily",
            StandingPeriod::Weekly => "weekly",
        }
    }

    /// The period called `name` (`daily` or `weekly`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Some(StandingPeriod::Daily),
            "weekly" | "week" => Some(StandingPeriod::Weekly),
            _ => None,
        }
    }
}

/// A query budget one side sets: the most queries (identifiers or person
/// records) one run may hold, and the most all runs in one period may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingBudget {
    /// Queries one run may hold.
    pub per_run: u64,
    /// Queries all runs in one period may hold together.
    pub per_period: u64,
}

impl StandingBudget {
    /// The smaller of two budgets, field by field.
    pub fn min(self, other: StandingBudget) -> StandingBudget {
        StandingBudget {
            per_run: self.per_run.min(other.per_run),
            per_period: self.per_period.min(other.per_period),
        }
    }

    /// Checks the budget allows at least one query and its run fits its
    /// period.
    pub fn check(&self) -> Result<(), String> {
        if self.per_run == 0 || self.per_period == 0 {
            return Err(
                "a standing budget must allow at least one query per run and per period".into(),
            );
        }
        if self.per_run > self.per_period {
            return Err(format!(
                "a budget of {} queries per run cannot exceed its {} per period",
                self.per_run, self.per_period
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for StandingBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} per run, {} per period",
            self.per_run, self.per_period
        )
    }
}

/// What a standing arrangement is: its name, whose list is checked, which
/// list, how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingTerms {
    /// The arrangement's name, unique with this partner (`[a-z0-9_-]`).
    pub name: String,
    /// The side whose list is checked against the other's holdings.
    pub asker: PartyCode,
    /// An identifier kind (`phone`, `iban`, …) or [`PERSONS_LIST`].
    pub list: String,
    /// How often a run is due.
    pub period: StandingPeriod,
}

impl StandingTerms {
    /// The proposal kind each run is.
    pub fn run_kind(&self) -> ProposalKind {
        if self.list == PERSONS_LIST {
            ProposalKind::PersonMatch
        } else {
            ProposalKind::IdentifierMatch
        }
    }

    /// Checks the name and list are well formed.
    pub fn check(&self) -> Result<(), String> {
        let ok_name = !self.name.is_empty()
            && self.name.len() <= MAX_ARRANGEMENT_NAME
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok_name {
            return Err(format!(
                "arrangement name `{}` must be 1 to {MAX_ARRANGEMENT_NAME} characters of a-z, 0-9, `-` and `_`",
                self.name
            ));
        }
        let ok_list = !self.list.is_empty()
            && self.list.len() <= 32
            && self
                .list
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok_list {
            return Err(format!(
                "list `{}` must be an identifier kind or `{PERSONS_LIST}`",
                self.list
            ));
        }
        Ok(())
    }
}

/// Where a standing arrangement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandingStatus {
    /// Proposed by one side, not yet accepted by the other.
    Proposed,
    /// In force: runs are due each period.
    Active,
    /// Suspended by one side: no runs until that side resumes it.
    Suspended,
    /// Ended for good.
    Terminated,
}

impl StandingStatus {
    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StandingStatus::Proposed => "proposed",
            StandingStatus::Active => "active",
            StandingStatus::Suspended => "suspended",
            StandingStatus::Terminated => "terminated",
        }
    }
}

/// A standing arrangement as both nodes hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingArrangement {
    /// What it is.
    pub terms: StandingTerms,
    /// The side that proposed it.
    pub proposed_by: PartyCode,
    /// The budget each side set (the proposer's from the proposal, the
    /// other's from its acceptance).
    pub budgets: BTreeMap<PartyCode, StandingBudget>,
    /// Where it stands.
    pub status: StandingStatus,
    /// Who suspended or terminated it, when it is.
    pub stopped_by: Option<PartyCode>,
    /// The reason given by the last act on it.
    pub reason: String,
    /// When the last act on it was made.
    pub since: Timestamp,
}

impl StandingArrangement {
    /// The budget that binds a run: the smaller of the two sides', field by
    /// field; `None` until both sides have set one.
    pub fn effective_budget(&self) -> Option<StandingBudget> {
        if self.budgets.len() < 2 {
            return None;
        }
        self.budgets.values().copied().reduce(StandingBudget::min)
    }

    /// The side whose holdings are checked.
    pub fn holder(&self, a: PartyCode, b: PartyCode) -> PartyCode {
        if self.terms.asker == a { b } else { a }
    }
}

/// An act on a standing arrangement, carried as an act on the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "snake_case", deny_unknown_fields)]
pub enum StandingAction {
    /// Proposes an arrangement with the proposer's budget.
    Propose {
        /// The arrangement.
        terms: StandingTerms,
        /// The budget the proposing side sets.
        budget: StandingBudget,
    },
    /// Accepts the other side's proposed arrangement with our budget.
    Accept {
        /// The arrangement's name.
        name: String,
        /// The budget the accepting side sets.
        budget: StandingBudget,
    },
    /// Suspends runs under it.
    Suspend {
        /// The arrangement's name.
        name: String,
    },
    /// Ends a suspension the same side began.
    Resume {
        /// The arrangement's name.
        name: String,
    },
    /// Ends it for good.
    Terminate {
        /// The arrangement's name.
        name: String,
    },
}

impl StandingAction {
    /// The action's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StandingAction::Propose { .. } => "standing_propose",
            StandingAction::Accept { .. } => "standing_accept",
            StandingAction::Suspend { .. } => "standing_suspend",
            StandingAction::Resume { .. } => "standing_resume",
            StandingAction::Terminate { .. } => "standing_terminate",
        }
    }

    /// The arrangement it concerns.
    pub fn name(&self) -> &str {
        match self {
            StandingAction::Propose { terms, .. } => &terms.name,
            StandingAction::Accept { name, .. }
            | StandingAction::Suspend { name }
            | StandingAction::Resume { name }
            | StandingAction::Terminate { name } => name,
        }
    }

    /// The arrangements after this act by `by`, where `holder_accepts`
    /// tells whether the agreement in force lets the holder take a run's
    /// kind from the asker.
    pub(crate) fn apply(
        &self,
        list: &mut Vec<StandingArrangement>,
        by: PartyCode,
        parties: (PartyCode, PartyCode),
        holder_accepts: impl Fn(PartyCode, ProposalKind) -> bool,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), String> {
        let name = self.name().to_owned();
        let position = list.iter().position(|a| a.terms.name == name);
        if let StandingAction::Propose { terms, budget } = self {
            terms.check()?;
            budget.check()?;
            if terms.asker != parties.0 && terms.asker != parties.1 {
                return Err(format!(
                    "the asker `{}` is neither side of the agreement",
                    terms.asker
                ));
            }
            let holder = if terms.asker == parties.0 {
                parties.1
            } else {
                parties.0
            };
            if !holder_accepts(holder, terms.run_kind()) {
                return Err(format!(
                    "under the agreement in force {holder} does not accept `{}` from {}; amend the agreement first",
                    terms.run_kind().as_str(),
                    terms.asker
                ));
            }
            let arrangement = StandingArrangement {
                terms: terms.clone(),
                proposed_by: by,
                budgets: BTreeMap::from([(by, *budget)]),
                status: StandingStatus::Proposed,
                stopped_by: None,
                reason: reason.to_owned(),
                since: at,
            };
            match position {
                Some(i) => {
                    let slot = list.get_mut(i).ok_or("arrangement vanished")?;
                    if slot.status != StandingStatus::Terminated {
                        return Err(format!(
                            "a standing arrangement `{name}` exists ({}); terminate it or choose another name",
                            slot.status.as_str()
                        ));
                    }
                    *slot = arrangement;
                }
                None => list.push(arrangement),
            }
            return Ok(());
        }
        let Some(arrangement) = position.and_then(|i| list.get_mut(i)) else {
            return Err(format!("there is no standing arrangement `{name}`"));
        };
        let status = arrangement.status;
        match self {
            StandingAction::Propose { .. } => {}
            StandingAction::Accept { budget, .. } => {
                budget.check()?;
                if status != StandingStatus::Proposed {
                    return Err(format!(
                        "standing arrangement `{name}` is {}, not awaiting acceptance",
                        status.as_str()
                    ));
                }
                if arrangement.proposed_by == by {
                    return Err(format!(
                        "standing arrangement `{name}` was proposed by `{by}`; only the other side can accept it"
                    ));
                }
                arrangement.budgets.insert(by, *budget);
                arrangement.status = StandingStatus::Active;
            }
            StandingAction::Suspend { .. } => {
                if status != StandingStatus::Active {
                    return Err(format!(
                        "only an arrangement in force can be suspended; `{name}` is {}",
                        status.as_str()
                    ));
                }
                arrangement.status = StandingStatus::Suspended;
                arrangement.stopped_by = Some(by);
            }
            StandingAction::Resume { .. } => {
                if status != StandingStatus::Suspended {
                    return Err(format!(
                        "standing arrangement `{name}` is not suspended ({})",
                        status.as_str()
                    ));
                }
                if arrangement.stopped_by != Some(by) {
                    return Err(format!(
                        "standing arrangement `{name}` was suspended by `{}`; only that side can resume it",
                        arrangement
                            .stopped_by
                            .map_or("?".to_owned(), |p| p.to_string())
                    ));
                }
                arrangement.status = StandingStatus::Active;
                arrangement.stopped_by = None;
            }
            StandingAction::Terminate { .. } => {
                if status == StandingStatus::Terminated {
                    return Err(format!(
                        "standing arrangement `{name}` is already terminated"
                    ));
                }
                arrangement.status = StandingStatus::Terminated;
                arrangement.stopped_by = Some(by);
            }
        }
        arrangement.reason = reason.to_owned();
        arrangement.since = at;
        Ok(())
    }
}

/// What a run's proposal says about the arrangement it runs under. The
/// budget is the asker's claim, for the holder's officer to read; the
/// holder decides by the arrangement as it holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingRef {
    /// The arrangement's name.
    pub arrangement: String,
    /// The budget the asker says binds the run.
    pub budget: StandingBudget,
}
