//! A task's Cedar request, built once for each set of facts.
//!
//! A task's request and its record (the `task` of its context, and one of
//! the proposal's `tasks`) are a function of a few facts: the acting
//! agency, what it does and how, what our registry and geography say of
//! it, and the proposal's kind. Building them — the record's fifteen
//! attributes, then Cedar's evaluation of the context — was most of the
//! work of preparing a proposal whose tasks are judged alone; proposals
//! keep naming the same agencies doing the same things, so the engine
//! keeps what it built for the facts it has seen, a bounded number of
//! them, and hands out clones.

use std::collections::HashMap;
use std::sync::Mutex;

use cedar_policy::{Request, RestrictedExpression};
use soberana_core::{AgencyKind, PartyCode, ProposalKind, TaskAction};

/// Everything a task's request and record are built from: equal keys build
/// equal requests (see `PolicyEngine::build_task_request`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TaskKey {
    pub(crate) agency: String,
    pub(crate) within: Option<String>,
    pub(crate) action: TaskAction,
    pub(crate) armed: bool,
    pub(crate) kinetic: bool,
    pub(crate) under_command_of: Option<PartyCode>,
    pub(crate) kind: AgencyKind,
    pub(crate) party: String,
    pub(crate) on_territory: bool,
    pub(crate) maritime_zone: bool,
    pub(crate) misrepresented: bool,
    pub(crate) unresolved: bool,
    pub(crate) presence: bool,
    pub(crate) domain: &'static str,
    pub(crate) related: bool,
    pub(crate) proposal_kind: ProposalKind,
}

/// The most sets of facts kept; past it, what was kept is dropped and
/// built again as it comes.
const KEPT: usize = 1024;

/// The requests built so far, by their facts.
#[derive(Default)]
pub(crate) struct TaskRequests {
    built: Mutex<HashMap<TaskKey, (Request, RestrictedExpression)>>,
}

impl TaskRequests {
    /// The request and record for `key`, built by `build` if not kept.
    /// What fails to build is not kept.
    pub(crate) fn get_or_build(
        &self,
        key: TaskKey,
        build: impl FnOnce(&TaskKey) -> Result<(Request, RestrictedExpression), String>,
    ) -> Result<(Request, RestrictedExpression), String> {
        if let Ok(built) = self.built.lock()
            && let Some(found) = built.get(&key)
        {
            return Ok(found.clone());
        }
        let made = build(&key)?;
        if let Ok(mut built) = self.built.lock() {
            if built.len() >= KEPT {
                built.clear();
            }
            built.insert(key, made.clone());
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use soberana_core::{
        AgencyId, BorderAlert, CoordinatedOperation, Domain, FlowDirection, HandlingCode, Location,
        Participant, Proposal, ProposalBody, ProposalId, Task, Territory, Timestamp,
    };

    use super::*;
    use crate::PolicyEngine;
    use crate::engine::tests::engine;

    fn place(party: &str, domain: Domain, at: &str) -> Location {
        Location {
            territory: Some(Territory::Of(PartyCode::new(party).unwrap())),
            domain,
            place: String::new(),
            at: Some(at.to_owned()),
        }
    }

    fn proposal(body: ProposalBody, related_to: Vec<ProposalId>) -> Proposal {
        Proposal {
            id: ProposalId::generate(),
            from: PartyCode::new("US").unwrap(),
            to: PartyCode::new("MX").unwrap(),
            created: Timestamp::now(),
            author: None,
            requesting_agency: AgencyId::new("US.DEA").unwrap(),
            purpose: "dismantle a supply network".into(),
            legal_basis: "mutual legal assistance treaty".into(),
            handling: HandlingCode::H1,
            deadline: Timestamp::now(),
            related_to,
            body,
        }
    }

    fn operation(task: Task) -> ProposalBody {
        ProposalBody::CoordinatedOperation(CoordinatedOperation {
            name: "an operation".into(),
            summary: "one task".into(),
            tasks: vec![task],
        })
    }

    /// Tasks that differ from the first in one fact each.
    fn tasks() -> Vec<Task> {
        let base = Task {
            agency: AgencyId::new("US.DEA").unwrap(),
            action: TaskAction::Patrol,
            locations: vec![place("MX", Domain::Land, "29.07,-110.96")],
            launched_from: None,
            armed: false,
            kinetic: false,
            personnel: 4,
            under_command_of: None,
            description: String::new(),
            participants: Vec::new(),
        };
        let with = |change: fn(&mut Task)| {
            let mut t = base.clone();
            change(&mut t);
            t
        };
        vec![
            base.clone(),
            with(|t| t.armed = true),
            with(|t| t.kinetic = true),
            with(|t| t.action = TaskAction::Surveillance),
            with(|t| t.agency = AgencyId::new("US.CBP").unwrap()),
            with(|t| t.agency = AgencyId::new("US.NOSUCH").unwrap()),
            with(|t| t.under_command_of = Some(PartyCode::new("MX").unwrap())),
            with(|t| t.locations = vec![place("US", Domain::Land, "29.15,-94.75")]),
            with(|t| t.locations = vec![place("MX", Domain::Land, "29.15,-94.75")]),
            with(|t| t.locations = vec![place("MX", Domain::Waters, "23.05,-106.78")]),
            with(|t| t.locations = Vec::new()),
            with(|t| t.locations = vec![place("MX", Domain::Waters, "22.30,-107.60")]),
            with(|t| t.locations = vec![place("US", Domain::Waters, "10,-130")]),
            with(|t| t.locations = vec![place("MX", Domain::Waters, "10,-130")]),
            with(|t| t.agency = AgencyId::new("MX.GN").unwrap()),
            with(|t| {
                t.participants.push(Participant {
                    agency: AgencyId::new("MX.GN").unwrap(),
                    armed: false,
                    personnel: 2,
                })
            }),
        ]
    }

    /// Each proposal with what it relates to.
    fn proposals() -> Vec<(Proposal, Vec<Proposal>)> {
        let mut all = Vec::new();
        for task in tasks() {
            all.push((proposal(operation(task.clone()), vec![]), vec![]));
            let alert = ProposalBody::BorderAlert(BorderAlert {
                crossing: "a port of entry".into(),
                direction: FlowDirection::Southbound,
                subject: "a pickup".into(),
                details: String::new(),
                acts: vec![task.clone()],
            });
            all.push((proposal(alert, vec![]), vec![]));
            let earlier = proposal(operation(task), vec![]);
            let later = proposal(operation(tasks().swap_remove(0)), vec![earlier.id]);
            all.push((later, vec![earlier]));
        }
        all
    }

    fn prepared(engine: &PolicyEngine, p: &Proposal, related: &[Proposal]) -> String {
        let related: Vec<&Proposal> = related.iter().collect();
        let prepared = engine.prepare(p, &related, false);
        format!("{:?} {:?}", prepared.tasks, prepared.proposal)
    }

    /// An engine that has prepared every proposal (and prepares them again,
    /// in the other order) builds each one's requests exactly as an engine
    /// that has prepared nothing else.
    #[test]
    fn a_kept_request_is_the_one_its_facts_build() {
        let proposals = proposals();
        let warm = engine();
        let once: Vec<String> = proposals
            .iter()
            .map(|(p, r)| prepared(&warm, p, r))
            .collect();
        let mut again: Vec<String> = proposals
            .iter()
            .rev()
            .map(|(p, r)| prepared(&warm, p, r))
            .collect();
        again.reverse();
        for (((p, r), once), again) in proposals.iter().zip(&once).zip(&again) {
            let alone = prepared(&engine(), p, r);
            assert_eq!(once, &alone, "{:?}", p.body);
            assert_eq!(again, &alone, "{:?}", p.body);
        }
        assert!(
            once.iter().collect::<std::collections::HashSet<_>>().len() > tasks().len(),
            "the tasks' requests differ"
        );
    }
}
