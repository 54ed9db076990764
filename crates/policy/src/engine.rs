//! The policy engine: both layers loaded and checked, and every incoming
//! proposal decided by them — allow (with conditions), review, or refuse.
//!
//! Cedar has no quantifier over a set, so "no task of this proposal puts
//! foreign forces on our territory" cannot be one expression over the
//! proposal. Each task is therefore judged by its own Cedar request (action
//! `task`, principal the acting agency), and the proposal by one more request
//! (action its kind, principal the requesting agency). The proposal is
//! refused if any request meets a `forbid`, if any policy fails to evaluate
//! (Cedar skips such a policy, which for a `forbid` would open a red line),
//! or if the proposal is incomplete; otherwise the operational permits that
//! match decide between allow and review. With no permit, the answer is no.
//!
//! The facts in each request come from the deciding node's own registry,
//! never from the partner's description: an agency we do not know counts as
//! military, and one that claims our party code but is not in our registry is
//! not ours.
//!
//! This file is long because it is the one place that turns a proposal into
//! Cedar requests: the acts each kind implies, the places resolved with our
//! geography, and how each verdict is explained; splitting it would spread
//! one translation over several files.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde::Serialize;
use soberana_core::{
    Act, AgencyId, AgencyKind, DecidedBy, Decision, HandlingCode, Location, Outcome, PartyCode,
    Proposal, ProposalBody, ProposalId, ProposalKind, Reason, Registry, TaskAction, Timestamp,
};
use soberana_territory::{Geography, PlaceError, Resolution};

use crate::digest::set_digest;
use crate::layers::{Disposition, Layer, PolicyFile, PolicyMeta, parse_layer};
use crate::prose::{ProsePassage, ProseScanner};
use crate::tasks::{TaskKey, TaskRequests};
use crate::{PolicyDigest, PolicyError, pin};

/// The schema every policy is validated against, in Cedar's schema syntax.
pub const SCHEMA: &str = include_str!("../schema/soberana.cedarschema");

/// The party code given to an agency that claims our code but is not in our
/// registry: it is not ours, and it belongs to no party we know.
const NOT_OURS: &str = "ZZ";

/// What policy decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Accepted by policy, with any conditions attached.
    Allow,
    /// Sent to an officer.
    Review,
    /// Refused.
    Refuse,
}

impl Verdict {
    /// The verdict's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Review => "review",
            Verdict::Refuse => "refuse",
        }
    }
}

/// One reason for a decision, from a policy's annotations or from the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionReason {
    /// The policy that gave it, if one did.
    pub policy: Option<String>,
    /// That policy's layer.
    pub layer: Option<Layer>,
    /// The reason in plain words.
    pub text: String,
    /// The reason in Spanish, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_es: Option<String>,
    /// The tasks it concerns, described for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
}

impl DecisionReason {
    fn plain(text: impl Into<String>) -> Self {
        Self {
            policy: None,
            layer: None,
            text: text.into(),
            text_es: None,
            tasks: Vec::new(),
        }
    }

    fn from_meta(meta: &PolicyMeta) -> Self {
        Self {
            policy: Some(meta.id.clone()),
            layer: Some(meta.layer),
            text: meta.reason_text(),
            text_es: meta.reason_es.clone(),
            tasks: Vec::new(),
        }
    }

    /// The reason in soberana-core's terms.
    pub fn to_core(&self) -> Reason {
        let text = if self.tasks.is_empty() {
            self.text.clone()
        } else {
            format!("{} ({})", self.text, self.tasks.join("; "))
        };
        let text_es = self.text_es.as_ref().map(|es| {
            if self.tasks.is_empty() {
                es.clone()
            } else {
                format!("{es} ({})", self.tasks.join("; "))
            }
        });
        Reason {
            policy: self.policy.clone(),
            text,
            text_es,
        }
    }
}

impl fmt::Display for DecisionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(policy), Some(layer)) = (&self.policy, self.layer) {
            write!(f, "[{} {policy}] ", layer.as_str())?;
        }
        f.write_str(&self.text)?;
        for task in &self.tasks {
            write!(f, "\n      - {task}")?;
        }
        Ok(())
    }
}

/// Policy's decision on one proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDecision {
    /// Allow, review or refuse.
    pub verdict: Verdict,
    /// Conditions attached to an acceptance (or proposed to the reviewing
    /// officer), each a sentence.
    pub conditions: Vec<String>,
    /// Why: for a refusal, the determining policies first.
    pub reasons: Vec<DecisionReason>,
    /// The digest of the whole policy set (schema and both layers).
    pub policy_digest: PolicyDigest,
}

impl PolicyDecision {
    /// The outcome in soberana-core's terms; `None` for a review, which an
    /// officer decides.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.verdict {
            Verdict::Allow if self.conditions.is_empty() => Some(Outcome::Accepted),
            Verdict::Allow => Some(Outcome::AcceptedWithConditions {
                conditions: self.conditions.clone(),
            }),
            Verdict::Refuse => Some(Outcome::Refused),
            Verdict::Review => None,
        }
    }

    /// The reasons in soberana-core's terms.
    pub fn core_reasons(&self) -> Vec<Reason> {
        self.reasons.iter().map(DecisionReason::to_core).collect()
    }

    /// The decision as soberana-core records it, made by policy alone;
    /// `None` for a review.
    pub fn to_core(
        &self,
        proposal_id: ProposalId,
        decided_by_party: PartyCode,
        decided_at: Timestamp,
    ) -> Option<Decision> {
        Some(Decision {
            proposal_id,
            decided_by_party,
            outcome: self.outcome()?,
            reasons: self.core_reasons(),
            decided_by: DecidedBy::Policy,
            policy_digest: self.policy_digest.to_hex(),
            decided_at,
        })
    }
}

impl fmt::Display for PolicyDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "decision: {}", self.verdict.as_str())?;
        for condition in &self.conditions {
            writeln!(f, "  condition: {condition}")?;
        }
        for reason in &self.reasons {
            writeln!(f, "  because: {reason}")?;
        }
        write!(f, "  policy set: {}", self.policy_digest)
    }
}

/// One place of an act: the sender's wording beside what this node
/// established.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceView {
    /// The sender's own words: its label, domain, description and notation.
    pub said: String,
    /// What this node established (`None`: it could not resolve the place).
    pub fact: Option<Resolution>,
    /// How the label contradicts the fact, if it does.
    pub contradiction: Option<String>,
}

/// One act as policy saw it, for explanations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    /// Which proposal it is from, for people.
    pub origin: String,
    /// The acting agency, as named.
    pub agency: String,
    /// The agency whose task it is, when the act is a participant's.
    pub within: Option<String>,
    /// Every place, as said and as established.
    pub places: Vec<PlaceView>,
    /// Whether some place was not given or not resolvable.
    pub unresolved: bool,
    /// Whether it is accredited, unarmed presence only.
    pub presence: bool,
    /// Its kind in our registry (`military` if unknown).
    pub agency_kind: AgencyKind,
    /// Whether our registry knows the agency.
    pub known_agency: bool,
    /// Its party in our registry.
    pub agency_party: String,
    /// Whether any place or launch point is on our territory.
    pub on_territory: bool,
    /// Whether personnel are armed.
    pub armed: bool,
    /// Whether it uses force, by flag or by nature.
    pub kinetic: bool,
    /// What it does.
    pub action: String,
    /// The policies that forbid it.
    pub forbidden_by: Vec<String>,
}

/// A decision with what policy saw: the answer to `soberana policy eval`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The deciding party.
    pub party: PartyCode,
    /// The proposal decided.
    pub proposal_id: ProposalId,
    /// Its kind.
    pub kind: ProposalKind,
    /// Whether it was complete.
    pub complete: bool,
    /// What made it incomplete.
    pub incomplete: Vec<String>,
    /// Every act judged, its own and its related proposals'.
    pub tasks: Vec<TaskView>,
    /// Passages of free text that speak of force.
    pub prose: Vec<ProsePassage>,
    /// The decision.
    pub decision: PolicyDecision,
}

impl EvalReport {
    /// The facts this node established, act by act, beside the sender's own
    /// wording, with every contradiction flagged; and the passages of prose
    /// that speak of force on our territory. One line per fact.
    pub fn facts(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for task in &self.tasks {
            writeln!(
                out,
                "  act: {} — {}{} ({}, {}{}) {}{}{}{}{}",
                task.origin,
                task.agency,
                task.within
                    .as_ref()
                    .map(|w| format!(" inside {w}'s task"))
                    .unwrap_or_default(),
                task.agency_kind,
                task.agency_party,
                if task.known_agency { "" } else { ", unknown" },
                task.action,
                if task.on_territory {
                    " on our territory"
                } else {
                    " outside our territory"
                },
                if task.armed { ", armed" } else { "" },
                if task.kinetic { ", kinetic" } else { "" },
                if task.presence { ", presence only" } else { "" },
            )
            .ok();
            for place in &task.places {
                let fact = place
                    .fact
                    .as_ref()
                    .map_or_else(|| "not resolvable: counted as ours for armed, kinetic, military or foreign acts".to_owned(), |r| r.to_string());
                writeln!(out, "    place: said {} — established: {fact}", place.said).ok();
                if let Some(c) = &place.contradiction {
                    writeln!(out, "    CONTRADICTION: {c}").ok();
                }
            }
            if task.places.is_empty() {
                writeln!(
                    out,
                    "    place: none given — counted as ours for armed, kinetic, military or foreign acts"
                ).ok();
            }
            if !task.forbidden_by.is_empty() {
                writeln!(out, "    forbidden by: {}", task.forbidden_by.join(", ")).ok();
            }
        }
        for p in &self.prose {
            writeln!(
                out,
                "  prose speaks of force on our territory ({}; {}), in `{}`: \"{}\"",
                p.term, p.place, p.field, p.passage
            )
            .ok();
        }
        out
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "proposal {} ({}) decided by {}",
            self.proposal_id,
            self.kind.label(),
            self.party
        )?;
        for missing in &self.incomplete {
            writeln!(f, "  incomplete: {missing}")?;
        }
        f.write_str(&self.facts())?;
        write!(f, "{}", self.decision)
    }
}

/// Entity types and enum members, built once so the hot path only clones.
struct Names {
    agency: EntityTypeName,
    territory: EntityUid,
    task_action: EntityUid,
    proposal_actions: Vec<EntityUid>,
    agency_kinds: Vec<EntityUid>,
    task_actions: Vec<EntityUid>,
    handling: Vec<EntityUid>,
}

fn uid(type_name: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let type_name: EntityTypeName = type_name
        .parse()
        .map_err(|e| PolicyError::BuiltInSchema(format!("entity type `{type_name}`: {e}")))?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

const TASK_ACTIONS: [TaskAction; 15] = TaskAction::ALL;

const HANDLING: [HandlingCode; 4] = [
    HandlingCode::H0,
    HandlingCode::H1,
    HandlingCode::H2,
    HandlingCode::H3,
];

impl Names {
    fn new(party: PartyCode) -> Result<Self, PolicyError> {
        let agency = "Soberana::Agency"
            .parse()
            .map_err(|e| PolicyError::BuiltInSchema(format!("entity type: {e}")))?;
        Ok(Self {
            agency,
            territory: uid("Soberana::Territory", party.as_str())?,
            task_action: uid("Soberana::Action", "task")?,
            proposal_actions: ProposalKind::ALL
                .iter()
                .map(|k| uid("Soberana::Action", k.as_str()))
                .collect::<Result<_, _>>()?,
            agency_kinds: AgencyKind::ALL
                .iter()
                .map(|k| uid("Soberana::AgencyKind", k.as_str()))
                .collect::<Result<_, _>>()?,
            task_actions: TASK_ACTIONS
                .iter()
                .map(|a| uid("Soberana::TaskAction", a.as_str()))
                .collect::<Result<_, _>>()?,
            handling: HANDLING
                .iter()
                .map(|h| uid("Soberana::Handling", &h.to_string()))
                .collect::<Result<_, _>>()?,
        })
    }

    fn agency(&self, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.agency.clone(), EntityId::new(id))
    }

    fn proposal_action(&self, kind: ProposalKind) -> Option<&EntityUid> {
        let i = ProposalKind::ALL.iter().position(|k| *k == kind)?;
        self.proposal_actions.get(i)
    }

    fn kind(&self, kind: AgencyKind) -> Option<&EntityUid> {
        let i = AgencyKind::ALL.iter().position(|k| *k == kind)?;
        self.agency_kinds.get(i)
    }

    fn task_action(&self, action: TaskAction) -> Option<&EntityUid> {
        let i = TASK_ACTIONS.iter().position(|a| *a == action)?;
        self.task_actions.get(i)
    }

    fn handling(&self, code: HandlingCode) -> Option<&EntityUid> {
        let i = HANDLING.iter().position(|h| *h == code)?;
        self.handling.get(i)
    }
}

/// A node's policy: schema, both layers, registry facts, ready to decide.
pub struct PolicyEngine {
    party: PartyCode,
    registry: Registry,
    schema: Schema,
    /// Every policy, for proposal requests.
    all: PolicySet,
    /// The `forbid` policies whose scope can match the `task` action: a
    /// task request is only ever asked whether something forbids it.
    forbids: PolicySet,
    /// For each proposal kind (in `ProposalKind::ALL` order), the policies
    /// whose action scope can match it. Cedar evaluates every policy it is
    /// given; a policy whose scope cannot match the action is never
    /// satisfied and never errors, so leaving it out changes no decision
    /// and saves its evaluation on every request.
    by_kind: Vec<PolicySet>,
    entities: Entities,
    geography: Geography,
    prose: ProseScanner,
    meta: HashMap<PolicyId, PolicyMeta>,
    order: Vec<PolicyId>,
    names: Names,
    /// Each task's request and record, kept by the facts they are built
    /// from.
    task_requests: TaskRequests,
    authorizer: Authorizer,
    digest: PolicyDigest,
    constitutional_digest: PolicyDigest,
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("party", &self.party)
            .field("policies", &self.order.len())
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Parses the built-in schema.
pub fn schema() -> Result<Schema, PolicyError> {
    Schema::from_cedarschema_str(SCHEMA)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| PolicyError::BuiltInSchema(e.to_string()))
}

impl PolicyEngine {
    /// Loads a node's policy: `party`'s constitutional layer, which must be
    /// present, pass strict validation, hold only `forbid` policies and
    /// match the digest `pinned` in configuration; and the operational layer.
    pub fn load(
        party: PartyCode,
        registry: &Registry,
        constitutional: Option<&PolicyFile>,
        pinned: &PolicyDigest,
        operational: &PolicyFile,
    ) -> Result<Self, PolicyError> {
        let constitutional = constitutional.ok_or(PolicyError::ConstitutionalMissing { party })?;
        let actual = pin(constitutional.bytes());
        if actual != *pinned {
            return Err(PolicyError::DigestMismatch {
                file: constitutional.name().to_owned(),
                pinned: pinned.to_hex(),
                actual: actual.to_hex(),
            });
        }
        Self::load_unpinned(party, registry, constitutional, operational)
    }

    /// Loads and checks both layers without comparing the pin: for `check`,
    /// which reports the digest to pin.
    pub(crate) fn load_unpinned(
        party: PartyCode,
        registry: &Registry,
        constitutional: &PolicyFile,
        operational: &PolicyFile,
    ) -> Result<Self, PolicyError> {
        let schema = schema()?;
        let mut all = PolicySet::new();
        let mut forbids = PolicySet::new();
        let mut by_kind = vec![PolicySet::new(); ProposalKind::ALL.len()];
        let mut meta = HashMap::new();
        let mut order = Vec::new();
        let mut texts = HashMap::new();
        for (file, layer) in [
            (constitutional, Layer::Constitutional),
            (operational, Layer::Operational),
        ] {
            texts.insert(
                file.name().to_owned(),
                String::from_utf8_lossy(file.bytes()).into_owned(),
            );
            for (policy, m) in parse_layer(file, layer)? {
                let duplicate = || PolicyError::DuplicateId {
                    file: file.name().to_owned(),
                    policy: m.id.clone(),
                };
                if meta.contains_key(policy.id()) {
                    return Err(duplicate());
                }
                if m.forbids && may_apply(&policy, "task") {
                    forbids.add(policy.clone()).map_err(|_| duplicate())?;
                }
                for (kind, subset) in ProposalKind::ALL.iter().zip(by_kind.iter_mut()) {
                    if may_apply(&policy, kind.as_str()) {
                        subset.add(policy.clone()).map_err(|_| duplicate())?;
                    }
                }
                order.push(policy.id().clone());
                meta.insert(policy.id().clone(), m.clone());
                all.add(policy).map_err(|_| duplicate())?;
            }
        }
        validate(&schema, &all, &meta, &texts)?;

        let names = Names::new(party)?;
        let entities = registry_entities(party, registry, &schema, &names)?;
        let geography =
            Geography::shipped(registry).map_err(|e| PolicyError::Registry(e.to_string()))?;
        let digest = set_digest(
            party.as_str(),
            SCHEMA.as_bytes(),
            constitutional.bytes(),
            operational.bytes(),
        );
        Ok(Self {
            party,
            registry: registry.clone(),
            schema,
            all,
            forbids,
            by_kind,
            entities,
            geography,
            prose: ProseScanner::new(party.as_str(), registry.places().map(|p| p.name.as_str())),
            meta,
            order,
            names,
            task_requests: TaskRequests::default(),
            authorizer: Authorizer::new(),
            digest,
            constitutional_digest: pin(constitutional.bytes()),
        })
    }

    /// The deciding party.
    pub fn party(&self) -> PartyCode {
        self.party
    }

    /// The digest of the whole policy set, carried by every decision.
    pub fn digest(&self) -> PolicyDigest {
        self.digest
    }

    /// The digest of the constitutional layer (what configuration pins).
    pub fn constitutional_digest(&self) -> PolicyDigest {
        self.constitutional_digest
    }

    /// Every policy's metadata, constitutional layer first, in file order.
    pub fn policies(&self) -> impl Iterator<Item = &PolicyMeta> {
        self.order.iter().filter_map(|id| self.meta.get(id))
    }

    /// Decides a proposal. `related` holds the proposals it names in
    /// `related_to` (and any others of the same plan): their tasks are judged
    /// together with its own, so a plan split across proposals is judged
    /// whole. A related proposal it names but that is not supplied makes it
    /// incomplete, and so refused.
    pub fn decide(&self, proposal: &Proposal, related: &[&Proposal]) -> PolicyDecision {
        self.judge(proposal, related, false).decision
    }

    /// Decides a proposal and reports what policy saw, for
    /// `soberana policy eval`.
    pub fn eval(&self, proposal: &Proposal, related: &[&Proposal]) -> EvalReport {
        let judged = self.judge(proposal, related, true);
        EvalReport {
            party: self.party,
            proposal_id: proposal.id,
            kind: proposal.kind(),
            complete: judged.incomplete.is_empty(),
            incomplete: judged.incomplete,
            tasks: judged.views,
            prose: self.prose.scan(proposal),
            decision: judged.decision,
        }
    }

    /// This node's geography.
    pub fn geography(&self) -> &Geography {
        &self.geography
    }

    /// What intake refuses before anything is stored: a place in a notation
    /// this node does not read, an unknown territory code, an unknown
    /// ISO 3166-2 code or named place. One line, naming the field.
    pub fn admit(&self, proposal: &Proposal) -> Result<(), PlaceError> {
        for (field, location) in proposal.body.locations() {
            self.geography.check(&field, location)?;
        }
        Ok(())
    }

    fn judge(&self, proposal: &Proposal, related: &[&Proposal], explain: bool) -> Judged {
        let prepared = self.prepare(proposal, related, explain);
        let mut judged = self.decide_prepared(&prepared);
        judged.views = prepared.views;
        for view in &mut judged.views {
            if let Some(ids) = judged.forbidden.get(&view.origin) {
                view.forbidden_by = ids.clone();
            }
        }
        judged
    }

    /// Builds every Cedar request for a proposal: the hot path's first half.
    pub(crate) fn prepare(
        &self,
        proposal: &Proposal,
        related: &[&Proposal],
        explain: bool,
    ) -> Prepared<'_> {
        let mut incomplete = Vec::new();
        if let Err(e) = proposal.validate() {
            incomplete.push(e.to_string());
        }
        if proposal.to != self.party {
            incomplete.push(format!(
                "it is addressed to `{}`, not to `{}`",
                proposal.to, self.party
            ));
        }
        for id in &proposal.related_to {
            if !related.iter().any(|r| r.id == *id) {
                incomplete.push(format!(
                    "related proposal `{id}` was not supplied: a plan is judged whole"
                ));
            }
        }

        let own = proposal
            .acts()
            .into_iter()
            .map(|a| (None, a))
            .collect::<Vec<_>>();
        let others = related
            .iter()
            .flat_map(|r| r.acts().into_iter().map(move |a| (Some(r.id), a)));
        let mut tasks = Vec::new();
        let mut unknown: Vec<(String, String)> = Vec::new();
        let mut views = Vec::new();
        let mut failures = Vec::new();
        let mut records = Vec::new();
        let mut on_territory = 0i64;
        let mut presence = Vec::new();
        for (origin, act) in own.into_iter().chain(others) {
            let facts = self.act_facts(&act, origin.is_some());
            if facts.on_territory {
                on_territory += 1;
            }
            if !facts.known {
                unknown.push((act.agency.as_str().to_owned(), facts.party.clone()));
            }
            let label = describe_act(origin, &act);
            for e in &facts.errors {
                incomplete.push(format!("{label}: {e}"));
            }
            if facts.presence && facts.on_territory && facts.party != self.party.as_str() {
                presence.push(label.clone());
            }
            match self.task_request(&facts, &act, proposal.kind()) {
                Ok((request, record)) => {
                    records.push(record);
                    tasks.push((request, label.clone()));
                }
                Err(e) => failures.push(format!("{label}: {e}")),
            }
            if explain {
                views.push(TaskView {
                    origin: label,
                    agency: act.agency.as_str().to_owned(),
                    within: act.within.map(|w| w.as_str().to_owned()),
                    places: facts.places,
                    unresolved: facts.unresolved,
                    presence: facts.presence,
                    agency_kind: facts.kind,
                    known_agency: facts.known,
                    agency_party: facts.party.clone(),
                    on_territory: facts.on_territory,
                    armed: act.armed,
                    kinetic: act.kinetic,
                    action: act.action.as_str().to_owned(),
                    forbidden_by: Vec::new(),
                });
            }
        }

        let requester = proposal.requesting_agency.as_str();
        if self.registry.agency(&proposal.requesting_agency).is_none() {
            let (_, party, _) = self.agency_facts(&proposal.requesting_agency);
            unknown.push((requester.to_owned(), party));
        }
        let proposal_request = self
            .proposal_context(proposal, records, on_territory, incomplete.is_empty())
            .and_then(|context| {
                let action = self
                    .names
                    .proposal_action(proposal.kind())
                    .ok_or_else(|| format!("no action for `{}`", proposal.kind()))?;
                Request::new(
                    self.names.agency(requester),
                    action.clone(),
                    self.names.territory.clone(),
                    context,
                    None,
                )
                .map_err(|e| e.to_string())
            });
        let proposal_request = match proposal_request {
            Ok(r) => Some(r),
            Err(e) => {
                failures.push(format!("the proposal: {e}"));
                None
            }
        };
        let entities = if unknown.is_empty() {
            Cow::Borrowed(&self.entities)
        } else {
            match self.with_unknown_agencies(&unknown) {
                Ok(e) => Cow::Owned(e),
                Err(e) => {
                    failures.push(e);
                    Cow::Borrowed(&self.entities)
                }
            }
        };
        Prepared {
            kind_set: ProposalKind::ALL.iter().position(|k| *k == proposal.kind()),
            proposal: proposal_request,
            tasks,
            entities,
            incomplete,
            failures,
            views,
            presence,
            prose: self.prose.scan(proposal),
        }
    }

    /// Judges prepared requests: the hot path's second half.
    pub(crate) fn decide_prepared(&self, prepared: &Prepared<'_>) -> Judged {
        let mut refusals: Vec<DecisionReason> = Vec::new();
        let mut forbidden: HashMap<String, Vec<String>> = HashMap::new();
        let mut add_refusal = |policy: &PolicyId, task: Option<&str>| {
            let Some(meta) = self.meta.get(policy) else {
                return;
            };
            let at = match refusals
                .iter()
                .position(|r| r.policy.as_deref() == Some(meta.id.as_str()))
            {
                Some(at) => at,
                None => {
                    refusals.push(DecisionReason::from_meta(meta));
                    refusals.len() - 1
                }
            };
            if let (Some(task), Some(reason)) = (task, refusals.get_mut(at)) {
                reason.tasks.push(task.to_owned());
            }
        };
        let mut errors = Vec::new();
        for failure in &prepared.failures {
            errors.push(DecisionReason::plain(format!(
                "policy could not be asked about {failure}; refused because a proposal policy cannot judge is never allowed"
            )));
        }
        for (request, label) in &prepared.tasks {
            let response =
                self.authorizer
                    .is_authorized(request, &self.forbids, &prepared.entities);
            for error in response.diagnostics().errors() {
                errors.push(self.evaluation_error(error, Some(label)));
            }
            if response.decision() == CedarDecision::Deny {
                for policy in response.diagnostics().reason() {
                    add_refusal(policy, Some(label));
                    if let Some(meta) = self.meta.get(policy) {
                        forbidden
                            .entry(label.clone())
                            .or_default()
                            .push(meta.id.clone());
                    }
                }
            }
        }
        let mut permits = Vec::new();
        if let Some(request) = &prepared.proposal {
            let response =
                self.authorizer
                    .is_authorized(request, self.kind_set(prepared), &prepared.entities);
            for error in response.diagnostics().errors() {
                errors.push(self.evaluation_error(error, None));
            }
            match response.decision() {
                CedarDecision::Deny => {
                    for policy in response.diagnostics().reason() {
                        add_refusal(policy, None);
                    }
                }
                CedarDecision::Allow => permits.extend(response.diagnostics().reason().cloned()),
            }
        }

        // Cedar reports determining policies in no fixed order; report them
        // in file order (constitutional first) so a decision reads the same
        // way every time.
        refusals.sort_by_key(|r| {
            self.order
                .iter()
                .position(|id| Some(AsRef::<str>::as_ref(id)) == r.policy.as_deref())
        });
        let mut reasons = refusals;
        reasons.extend(errors);
        reasons.extend(prepared.incomplete.iter().map(|m| {
            DecisionReason::plain(format!(
                "the proposal is incomplete: {m}; an incomplete proposal is never allowed"
            ))
        }));
        let decision = if !reasons.is_empty() || permits.is_empty() {
            if reasons.is_empty() {
                reasons.push(DecisionReason::plain(
                    "no policy permits this proposal; with no permit, the answer is no",
                ));
            }
            PolicyDecision {
                verdict: Verdict::Refuse,
                conditions: Vec::new(),
                reasons,
                policy_digest: self.digest,
            }
        } else {
            let mut verdict = Verdict::Allow;
            let mut conditions: Vec<String> = Vec::new();
            // Report permits in file order so decisions read the same way
            // every time.
            for id in self.order.iter().filter(|id| permits.contains(id)) {
                let Some(meta) = self.meta.get(id) else {
                    continue;
                };
                if meta.disposition == Disposition::Review {
                    verdict = Verdict::Review;
                }
                if let Some(c) = &meta.condition
                    && !conditions.contains(c)
                {
                    conditions.push(c.clone());
                }
                reasons.push(DecisionReason::from_meta(meta));
            }
            // Two things policy never lets through on the automatic path,
            // whatever the operational layer says: accredited foreign
            // presence on our territory, and prose that speaks of force
            // (free text never carries consent).
            let mut guards = Vec::new();
            if !prepared.presence.is_empty() {
                guards.push(DecisionReason {
                    policy: None,
                    layer: None,
                    text: "accredited, unarmed foreign presence on our territory (a liaison officer, an attaché) is decided by an officer, never automatically (Ley de Seguridad Nacional, 2020 reform)".to_owned(),
                    text_es: Some("la presencia extranjera acreditada y sin armas en nuestro territorio (un oficial de enlace, un agregado) la decide un oficial, nunca de forma automática (Ley de Seguridad Nacional, reforma de 2020)".to_owned()),
                    tasks: prepared.presence.clone(),
                });
            }
            if !prepared.prose.is_empty() {
                guards.push(DecisionReason {
                    policy: None,
                    layer: None,
                    text: "free text speaks of force on our territory; only structured content can be accepted, so an officer reads it".to_owned(),
                    text_es: Some("el texto libre habla de uso de la fuerza en nuestro territorio; solo el contenido estructurado puede aceptarse, así que lo lee un oficial".to_owned()),
                    tasks: prepared
                        .prose
                        .iter()
                        .map(|p| format!("`{}`: \"{}\"", p.field, p.passage))
                        .collect(),
                });
            }
            if !guards.is_empty() {
                verdict = Verdict::Review;
                reasons.splice(0..0, guards);
            }
            PolicyDecision {
                verdict,
                conditions,
                reasons,
                policy_digest: self.digest,
            }
        };
        Judged {
            decision,
            incomplete: prepared.incomplete.clone(),
            views: Vec::new(),
            forbidden,
        }
    }

    fn evaluation_error(
        &self,
        error: &cedar_policy::AuthorizationError,
        task: Option<&str>,
    ) -> DecisionReason {
        let cedar_policy::AuthorizationError::PolicyEvaluationError(error) = error;
        let policy = error.policy_id();
        let (id, layer) = match self.meta.get(policy) {
            Some(m) => (m.id.clone(), Some(m.layer)),
            None => (policy.to_string(), None),
        };
        let layer_name = layer.map_or("a", |l| l.as_str());
        DecisionReason {
            policy: Some(id.clone()),
            layer,
            text: format!(
                "{layer_name} policy `{id}` could not be evaluated ({}); refused because a policy that errors cannot be relied on",
                error.inner()
            ),
            text_es: None,
            tasks: task.map(|t| vec![t.to_owned()]).unwrap_or_default(),
        }
    }

    /// An agency's kind, party and whether we know it, from our registry.
    fn agency_facts(&self, agency: &AgencyId) -> (AgencyKind, String, bool) {
        match self.registry.agency(agency) {
            Some(known) => (known.kind, known.id.party().to_string(), true),
            // Only the party code is taken from an id we do not know, and
            // if it claims to be ours it is not: our registry lists all of
            // ours. Its kind is military, whatever the partner calls it.
            None if agency.party() == self.party => {
                (AgencyKind::Military, NOT_OURS.to_owned(), false)
            }
            None => (AgencyKind::Military, agency.party().to_string(), false),
        }
    }

    /// The facts of one act, established by this node: the agency's kind
    /// and party from our registry, each place resolved with our geography.
    fn act_facts(&self, act: &Act<'_>, related: bool) -> ActFacts {
        let (kind, party, known) = self.agency_facts(act.agency);
        let mut places = Vec::new();
        let mut errors = Vec::new();
        let mut ours = false;
        let mut maritime = false;
        let mut misrepresented = false;
        let mut unresolved = act.places.is_empty();
        let launch = act.launched_from.map(|l| ("launched from", l));
        for (i, (role, location)) in act
            .places
            .iter()
            .map(|l| ("at", l))
            .chain(launch)
            .enumerate()
        {
            let fact = match self
                .geography
                .resolve(&format!("place {}", i + 1), location)
            {
                Ok(fact) => fact,
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            };
            let contradiction = fact
                .as_ref()
                .and_then(|f| self.geography.contradiction(location.territory, f));
            match &fact {
                Some(f) => {
                    ours |= f.is_territory_of(self.party);
                    maritime |= f.is_maritime_zone_of(self.party);
                }
                None => unresolved = true,
            }
            misrepresented |= contradiction.is_some();
            places.push(PlaceView {
                said: describe_location(role, location),
                fact,
                contradiction,
            });
        }
        let foreign = party != self.party.as_str();
        // A place this node cannot resolve counts as ours for any act that
        // is armed, kinetic, military, by foreign personnel or under foreign
        // command: what a
        // proposal does not establish cannot be assumed to be elsewhere.
        let foreign_command = act.under_command_of.is_some_and(|c| c != self.party);
        let doubtful =
            act.armed || act.kinetic || kind == AgencyKind::Military || foreign || foreign_command;
        ActFacts {
            kind,
            party,
            known,
            on_territory: ours || (unresolved && doubtful),
            maritime_zone: maritime,
            misrepresented,
            unresolved,
            presence: act.is_presence_only(),
            domain: act.places.first().map_or("land", |l| l.domain.as_str()),
            related,
            places,
            errors,
        }
    }

    /// The Cedar request judging one task, and the task's record for the
    /// proposal's context: built from the facts the key holds, or a clone
    /// of what those facts built before.
    fn task_request(
        &self,
        facts: &ActFacts,
        task: &Act<'_>,
        kind: ProposalKind,
    ) -> Result<(Request, RestrictedExpression), String> {
        let key = TaskKey {
            agency: task.agency.as_str().to_owned(),
            within: task.within.map(|w| w.as_str().to_owned()),
            action: task.action,
            armed: task.armed,
            kinetic: task.kinetic,
            under_command_of: task.under_command_of,
            kind: facts.kind,
            party: facts.party.clone(),
            on_territory: facts.on_territory,
            maritime_zone: facts.maritime_zone,
            misrepresented: facts.misrepresented,
            unresolved: facts.unresolved,
            presence: facts.presence,
            domain: facts.domain,
            related: facts.related,
            proposal_kind: kind,
        };
        self.task_requests
            .get_or_build(key, |key| self.build_task_request(key))
    }

    /// Builds a task's request and record from `key` alone.
    fn build_task_request(&self, key: &TaskKey) -> Result<(Request, RestrictedExpression), String> {
        let record = self.task_record(key)?;
        let context = Context::from_pairs([
            ("task".to_owned(), record.clone()),
            (
                "proposal_kind".to_owned(),
                RestrictedExpression::new_string(key.proposal_kind.as_str().to_owned()),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let request = Request::new(
            self.names.agency(&key.agency),
            self.names.task_action.clone(),
            self.names.territory.clone(),
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok((request, record))
    }

    fn task_record(&self, key: &TaskKey) -> Result<RestrictedExpression, String> {
        let kind = self
            .names
            .kind(key.kind)
            .ok_or_else(|| format!("no kind `{}`", key.kind))?;
        let action = self
            .names
            .task_action(key.action)
            .ok_or_else(|| format!("no action `{}`", key.action.as_str()))?;
        RestrictedExpression::new_record([
            (
                "agency".to_owned(),
                RestrictedExpression::new_string(key.agency.clone()),
            ),
            (
                "agency_kind".to_owned(),
                RestrictedExpression::new_entity_uid(kind.clone()),
            ),
            (
                "agency_party".to_owned(),
                RestrictedExpression::new_string(key.party.clone()),
            ),
            (
                "on_territory".to_owned(),
                RestrictedExpression::new_bool(key.on_territory),
            ),
            (
                "armed".to_owned(),
                RestrictedExpression::new_bool(key.armed),
            ),
            (
                "kinetic".to_owned(),
                RestrictedExpression::new_bool(key.kinetic),
            ),
            (
                "presence".to_owned(),
                RestrictedExpression::new_bool(key.presence),
            ),
            (
                "maritime_zone".to_owned(),
                RestrictedExpression::new_bool(key.maritime_zone),
            ),
            (
                "misrepresented".to_owned(),
                RestrictedExpression::new_bool(key.misrepresented),
            ),
            (
                "unresolved".to_owned(),
                RestrictedExpression::new_bool(key.unresolved),
            ),
            (
                "domain".to_owned(),
                RestrictedExpression::new_string(key.domain.to_owned()),
            ),
            (
                "within".to_owned(),
                RestrictedExpression::new_string(key.within.clone().unwrap_or_default()),
            ),
            (
                "action".to_owned(),
                RestrictedExpression::new_entity_uid(action.clone()),
            ),
            (
                "under_command_of".to_owned(),
                RestrictedExpression::new_string(
                    key.under_command_of
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                ),
            ),
            (
                "related".to_owned(),
                RestrictedExpression::new_bool(key.related),
            ),
        ])
        .map_err(|e| e.to_string())
    }

    fn proposal_context(
        &self,
        proposal: &Proposal,
        tasks: Vec<RestrictedExpression>,
        on_territory: i64,
        complete: bool,
    ) -> Result<Context, String> {
        let handling = self
            .names
            .handling(proposal.handling)
            .ok_or_else(|| format!("no handling code `{}`", proposal.handling))?;
        let categories = data_categories(&proposal.body)
            .into_iter()
            .map(RestrictedExpression::new_string);
        Context::from_pairs([
            (
                "from_party".to_owned(),
                RestrictedExpression::new_string(proposal.from.to_string()),
            ),
            ("tasks".to_owned(), RestrictedExpression::new_set(tasks)),
            (
                "tasks_on_territory".to_owned(),
                RestrictedExpression::new_long(on_territory),
            ),
            (
                "data_categories".to_owned(),
                RestrictedExpression::new_set(categories),
            ),
            (
                "purpose".to_owned(),
                RestrictedExpression::new_string(proposal.purpose.clone()),
            ),
            (
                "legal_basis".to_owned(),
                RestrictedExpression::new_string(proposal.legal_basis.clone()),
            ),
            (
                "handling".to_owned(),
                RestrictedExpression::new_entity_uid(handling.clone()),
            ),
            (
                "complete".to_owned(),
                RestrictedExpression::new_bool(complete),
            ),
            (
                "related_count".to_owned(),
                RestrictedExpression::new_long(
                    i64::try_from(proposal.related_to.len()).unwrap_or(i64::MAX),
                ),
            ),
        ])
        .map_err(|e| e.to_string())
    }

    /// Our entities plus agencies we do not know, each as military.
    fn with_unknown_agencies(&self, unknown: &[(String, String)]) -> Result<Entities, String> {
        let mut seen = HashSet::new();
        let mut extra = Vec::new();
        for (id, party) in unknown {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let kind = self
                .names
                .kind(AgencyKind::Military)
                .ok_or("no kind `military`")?;
            extra.push(agency_entity(&self.names, id, kind, party)?);
        }
        self.entities
            .clone()
            .add_entities(extra, Some(&self.schema))
            .map_err(|e| format!("agencies unknown to our registry: {e}"))
    }

    /// The schema the policies were validated against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The `forbid` policies of both layers that judge each task.
    pub fn forbid_set(&self) -> &PolicySet {
        &self.forbids
    }

    /// The policies that judge a prepared proposal request: those whose
    /// scope can match its kind.
    pub(crate) fn kind_set(&self, prepared: &Prepared<'_>) -> &PolicySet {
        prepared
            .kind_set
            .and_then(|i| self.by_kind.get(i))
            .unwrap_or(&self.all)
    }

    /// The full policy set (both layers).
    pub fn policy_set(&self) -> &PolicySet {
        &self.all
    }
}

struct ActFacts {
    kind: AgencyKind,
    party: String,
    known: bool,
    on_territory: bool,
    maritime_zone: bool,
    misrepresented: bool,
    unresolved: bool,
    presence: bool,
    domain: &'static str,
    related: bool,
    places: Vec<PlaceView>,
    errors: Vec<String>,
}

/// Every Cedar request for one proposal, built and ready to authorise.
pub(crate) struct Prepared<'a> {
    /// Which of the per-kind policy sets judges the proposal request.
    pub(crate) kind_set: Option<usize>,
    pub(crate) proposal: Option<Request>,
    pub(crate) tasks: Vec<(Request, String)>,
    pub(crate) entities: Cow<'a, Entities>,
    pub(crate) incomplete: Vec<String>,
    pub(crate) failures: Vec<String>,
    pub(crate) views: Vec<TaskView>,
    /// Acts that are foreign presence on our territory.
    pub(crate) presence: Vec<String>,
    /// Passages of free text that speak of force.
    pub(crate) prose: Vec<ProsePassage>,
}

/// A decision with what policy saw.
pub(crate) struct Judged {
    pub(crate) decision: PolicyDecision,
    pub(crate) incomplete: Vec<String>,
    pub(crate) views: Vec<TaskView>,
    pub(crate) forbidden: HashMap<String, Vec<String>>,
}

fn describe_act(origin: Option<ProposalId>, act: &Act<'_>) -> String {
    match origin {
        None => format!(
            "{} of this proposal (`{}`, {})",
            act.origin,
            act.agency,
            act.action.as_str()
        ),
        Some(id) => format!(
            "{} of related proposal `{id}` (`{}`, {})",
            act.origin,
            act.agency,
            act.action.as_str()
        ),
    }
}

fn describe_location(role: &str, location: &Location) -> String {
    let mut out = if role == "at" {
        String::new()
    } else {
        format!("{role} ")
    };
    match location.territory {
        Some(t) => out.push_str(&format!("`{t}`")),
        None => out.push_str("(no label)"),
    }
    out.push_str(&format!(" {}", location.domain.as_str()));
    if !location.place.is_empty() {
        out.push_str(&format!(" \"{}\"", location.place));
    }
    if let Some(at) = &location.at {
        out.push_str(&format!(" at `{at}`"));
    }
    out
}

/// The categories of our data a proposal asks for or touches.
fn data_categories(body: &ProposalBody) -> Vec<String> {
    match body {
        ProposalBody::InformationRequest(r) => r.categories.clone(),
        ProposalBody::IdentifierMatch(m) => vec![format!("identifiers:{}", m.identifier_kind)],
        ProposalBody::PersonMatch(_) => vec!["identity".to_owned()],
        ProposalBody::FirearmTrace(_) => vec!["firearms".to_owned()],
        ProposalBody::FinancialIntelligence(_) => vec!["financial".to_owned()],
        _ => Vec::new(),
    }
}

fn agency_entity(names: &Names, id: &str, kind: &EntityUid, party: &str) -> Result<Entity, String> {
    let mut parents = HashSet::new();
    if let Ok(p) = uid("Soberana::Party", party) {
        parents.insert(p);
    }
    Entity::new(
        names.agency(id),
        HashMap::from([
            (
                "kind".to_owned(),
                RestrictedExpression::new_entity_uid(kind.clone()),
            ),
            (
                "party".to_owned(),
                RestrictedExpression::new_string(party.to_owned()),
            ),
        ]),
        parents,
    )
    .map_err(|e| e.to_string())
}

/// Whether a policy's action scope can match `action` (an action of the
/// `Soberana` namespace). Every proposal kind is a member of the group
/// `proposal`, and `task` of none, as the schema declares.
fn may_apply(policy: &cedar_policy::Policy, action: &str) -> bool {
    let is_kind = action != "task";
    let matches = |uid: &EntityUid, with_groups: bool| {
        let id = uid.id().unescaped();
        id == action || (with_groups && is_kind && id == "proposal")
    };
    match policy.action_constraint() {
        cedar_policy::ActionConstraint::Any => true,
        cedar_policy::ActionConstraint::Eq(uid) => matches(&uid, false),
        cedar_policy::ActionConstraint::In(uids) => uids.iter().any(|u| matches(u, true)),
    }
}

/// The entities of our registry: parties, agencies with their kinds, and our
/// territory.
fn registry_entities(
    party: PartyCode,
    registry: &Registry,
    schema: &Schema,
    names: &Names,
) -> Result<Entities, PolicyError> {
    let bad = |e: &dyn fmt::Display| PolicyError::Registry(e.to_string());
    let mut entities = Vec::new();
    let mut codes: Vec<PartyCode> = registry.parties().map(|p| p.code).collect();
    if !codes.contains(&party) {
        codes.push(party);
    }
    for code in &codes {
        entities.push(
            Entity::new(
                uid("Soberana::Party", code.as_str())?,
                HashMap::from([(
                    "code".to_owned(),
                    RestrictedExpression::new_string(code.to_string()),
                )]),
                HashSet::new(),
            )
            .map_err(|e| bad(&e))?,
        );
    }
    for agency in registry.agencies() {
        let kind = names
            .kind(agency.kind)
            .ok_or_else(|| PolicyError::Registry(format!("no kind `{}`", agency.kind)))?;
        entities.push(
            agency_entity(names, agency.id.as_str(), kind, agency.id.party().as_str())
                .map_err(|e| bad(&e))?,
        );
    }
    entities.push(
        Entity::new(
            names.territory.clone(),
            HashMap::from([(
                "party".to_owned(),
                RestrictedExpression::new_string(party.to_string()),
            )]),
            HashSet::new(),
        )
        .map_err(|e| bad(&e))?,
    );
    Entities::from_entities(entities, Some(schema)).map_err(|e| bad(&e))
}

/// Strict validation of both layers together: every policy must typecheck
/// for every action it can apply to. A constitutional policy that can never
/// apply is refused too: a red line that matches nothing protects nothing.
fn validate(
    schema: &Schema,
    set: &PolicySet,
    meta: &HashMap<PolicyId, PolicyMeta>,
    texts: &HashMap<String, String>,
) -> Result<(), PolicyError> {
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    let locate = |policy: &PolicyId, diagnostic: &dyn miette::Diagnostic| {
        let m = meta.get(policy);
        let file = m.map(|m| m.file.clone()).unwrap_or_default();
        let (line, column) = crate::layers::first_offset(diagnostic)
            .and_then(|offset| {
                texts
                    .get(&file)
                    .map(|t| crate::layers::line_column(t, offset))
            })
            .unwrap_or((0, 0));
        (file, line, column)
    };
    if let Some(error) = result.validation_errors().next() {
        let (file, line, column) = locate(error.policy_id(), error);
        return Err(PolicyError::Schema {
            file,
            policy: error.policy_id().to_string(),
            line,
            column,
            message: error.to_string(),
        });
    }
    for warning in result.validation_warnings() {
        let constitutional = meta
            .get(warning.policy_id())
            .is_some_and(|m| m.layer == Layer::Constitutional);
        if constitutional {
            let (file, line, column) = locate(warning.policy_id(), warning);
            return Err(PolicyError::Schema {
                file,
                policy: warning.policy_id().to_string(),
                line,
                column,
                message: warning.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{shipped_constitutional, shipped_operational, shipped_registry};

    /// MX's engine from the shipped policies, for tests.
    pub(crate) fn engine() -> PolicyEngine {
        let mx = PartyCode::new("MX").unwrap();
        let constitutional = shipped_constitutional(mx).unwrap();
        PolicyEngine::load(
            mx,
            &shipped_registry().unwrap(),
            Some(&constitutional),
            &pin(constitutional.bytes()),
            &shipped_operational(),
        )
        .unwrap()
    }

    fn task_request(engine: &PolicyEngine, pairs: Vec<(String, RestrictedExpression)>) -> Request {
        Request::new(
            engine.names.agency("US.SOCOM"),
            engine.names.task_action.clone(),
            engine.names.territory.clone(),
            Context::from_pairs(pairs).unwrap(),
            None,
        )
        .unwrap()
    }

    fn prepared(request: Request, entities: Entities) -> Prepared<'static> {
        Prepared {
            kind_set: None,
            proposal: None,
            tasks: vec![(request, "task 1".to_owned())],
            entities: Cow::Owned(entities),
            incomplete: Vec::new(),
            failures: Vec::new(),
            views: Vec::new(),
            presence: Vec::new(),
            prose: Vec::new(),
        }
    }

    /// Requests that do not fit the schema make the constitutional policies
    /// error, which Cedar would skip; soberana refuses instead.
    #[test]
    fn requests_that_do_not_fit_the_schema_are_refused() {
        let engine = engine();
        let empty = task_request(&engine, Vec::new());
        let partial_record = task_request(
            &engine,
            vec![(
                "task".to_owned(),
                RestrictedExpression::new_record([(
                    "on_territory".to_owned(),
                    RestrictedExpression::new_bool(true),
                )])
                .unwrap(),
            )],
        );
        let wrong_type = task_request(
            &engine,
            vec![(
                "task".to_owned(),
                RestrictedExpression::new_string("a raid".to_owned()),
            )],
        );
        for request in [empty, partial_record, wrong_type] {
            let judged = engine.decide_prepared(&prepared(request, engine.entities.clone()));
            assert_eq!(judged.decision.verdict, Verdict::Refuse);
            assert!(
                judged
                    .decision
                    .reasons
                    .iter()
                    .any(|r| r.layer == Some(Layer::Constitutional)
                        && r.text.contains("could not be evaluated")),
                "{}",
                judged.decision
            );
        }
    }

    /// Entities missing our territory make `resource.party` fail: refused.
    #[test]
    fn missing_entities_are_refused() {
        let engine = engine();
        let mx = PartyCode::new("MX").unwrap();
        let task = soberana_core::Task {
            agency: AgencyId::new("MX.GN").unwrap(),
            action: TaskAction::Patrol,
            locations: vec![soberana_core::Location {
                territory: Some(soberana_core::Territory::Of(mx)),
                domain: soberana_core::Domain::Land,
                place: String::new(),
                at: Some("MX-SIN".to_owned()),
            }],
            launched_from: None,
            armed: true,
            kinetic: false,
            personnel: 1,
            under_command_of: None,
            description: String::new(),
            participants: Vec::new(),
        };
        let body = ProposalBody::AssistanceOffer(soberana_core::CoordinatedOperation {
            name: String::new(),
            summary: String::new(),
            tasks: vec![task],
        });
        let requester = AgencyId::new("US.DOD").unwrap();
        let acts = body.acts(&requester);
        let act = &acts[0];
        let facts = engine.act_facts(act, false);
        let (request, _) = engine
            .task_request(&facts, act, ProposalKind::CoordinatedOperation)
            .unwrap();
        let ok = engine.decide_prepared(&prepared(request.clone(), engine.entities.clone()));
        let errored = |d: &PolicyDecision| {
            d.reasons
                .iter()
                .any(|r| r.text.contains("could not be evaluated"))
        };
        assert!(!errored(&ok.decision), "{}", ok.decision);
        let judged = engine.decide_prepared(&prepared(request, Entities::empty()));
        assert_eq!(
            judged.decision.verdict,
            Verdict::Refuse,
            "{}",
            judged.decision
        );
        assert!(errored(&judged.decision), "{}", judged.decision);
    }

    #[test]
    fn unknown_agencies_count_as_military_and_never_as_ours() {
        let engine = engine();
        let ours = engine.agency_facts(&AgencyId::new("MX.GN").unwrap());
        assert_eq!(ours, (AgencyKind::Military, "MX".to_owned(), true));
        let fake = engine.agency_facts(&AgencyId::new("MX.ASESORES").unwrap());
        assert_eq!(fake, (AgencyKind::Military, NOT_OURS.to_owned(), false));
        let contractor = engine.agency_facts(&AgencyId::new("US.CONTRACTOR").unwrap());
        assert_eq!(contractor, (AgencyKind::Military, "US".to_owned(), false));
        let dea = engine.agency_facts(&AgencyId::new("US.DEA").unwrap());
        assert_eq!(
            dea,
            (AgencyKind::ArmedLawEnforcement, "US".to_owned(), true)
        );
    }

    /// Judging a proposal with only the policies whose scope can match its
    /// kind gives the same answer as judging it with the whole set.
    #[test]
    fn per_kind_policy_sets_decide_as_the_whole_set_does() {
        let mx = PartyCode::new("MX").unwrap();
        let constitutional = shipped_constitutional(mx).unwrap();
        let mut operational = crate::bench::generated_operational(60);
        operational.push_str(
            "@id(\"t.all\") permit (principal, action in Soberana::Action::\"proposal\", resource);\n\
             @id(\"t.no-h3\") forbid (principal, action in [Soberana::Action::\"border_alert\", Soberana::Action::\"proposal\"], resource) when { context.handling == Soberana::Handling::\"H3\" };\n\
             @id(\"t.group-eq\") forbid (principal, action == Soberana::Action::\"proposal\", resource);\n\
             @id(\"t.tasks\") forbid (principal, action == Soberana::Action::\"task\", resource) when { context.task.agency == \"US.CIA\" };\n",
        );
        let engine = PolicyEngine::load(
            mx,
            &shipped_registry().unwrap(),
            Some(&constitutional),
            &pin(constitutional.bytes()),
            &crate::PolicyFile::new("operational.cedar", operational),
        )
        .unwrap();
        let summary = |r: &cedar_policy::Response| {
            let mut ids: Vec<String> = r.diagnostics().reason().map(|p| p.to_string()).collect();
            ids.sort();
            (r.decision(), ids, r.diagnostics().errors().count())
        };
        let proposal = |handling| Proposal {
            id: ProposalId::generate(),
            from: PartyCode::new("US").unwrap(),
            to: mx,
            created: Timestamp::now(),
            author: None,
            requesting_agency: AgencyId::new("US.DEA").unwrap(),
            purpose: "generated purpose 3".into(),
            legal_basis: "treaty".into(),
            handling,
            deadline: Timestamp::now(),
            related_to: Vec::new(),
            body: ProposalBody::InformationRequest(soberana_core::InformationRequest {
                subject: "s".into(),
                categories: vec![],
                questions: vec![],
                exhibits: Vec::new(),
            }),
        };
        for handling in [HandlingCode::H1, HandlingCode::H3] {
            let context = engine
                .proposal_context(&proposal(handling), Vec::new(), 0, true)
                .unwrap();
            for (i, kind) in ProposalKind::ALL.iter().enumerate() {
                let request = Request::new(
                    engine.names.agency("US.DEA"),
                    engine.names.proposal_action(*kind).unwrap().clone(),
                    engine.names.territory.clone(),
                    context.clone(),
                    None,
                )
                .unwrap();
                let whole =
                    engine
                        .authorizer
                        .is_authorized(&request, &engine.all, &engine.entities);
                let subset =
                    engine
                        .authorizer
                        .is_authorized(&request, &engine.by_kind[i], &engine.entities);
                assert_eq!(summary(&whole), summary(&subset), "{kind} {handling}");
                assert!(engine.by_kind[i].policies().count() < engine.all.policies().count());
            }
        }
        for agency in ["US.CIA", "US.DEA", "MX.GN"] {
            let task = soberana_core::Task {
                agency: AgencyId::new(agency).unwrap(),
                action: TaskAction::Intelligence,
                locations: vec![soberana_core::Location {
                    territory: Some(soberana_core::Territory::Of(mx)),
                    domain: soberana_core::Domain::Land,
                    place: String::new(),
                    at: Some("MX-SIN".to_owned()),
                }],
                launched_from: None,
                armed: false,
                kinetic: false,
                personnel: 1,
                under_command_of: None,
                description: String::new(),
                participants: Vec::new(),
            };
            let body = ProposalBody::AssistanceOffer(soberana_core::CoordinatedOperation {
                name: String::new(),
                summary: String::new(),
                tasks: vec![task],
            });
            let requester = AgencyId::new("US.DOD").unwrap();
            let acts = body.acts(&requester);
            let act = &acts[0];
            let facts = engine.act_facts(act, false);
            let (request, _) = engine
                .task_request(&facts, act, ProposalKind::CoordinatedOperation)
                .unwrap();
            let whole = engine
                .authorizer
                .is_authorized(&request, &engine.all, &engine.entities);
            let forbids =
                engine
                    .authorizer
                    .is_authorized(&request, &engine.forbids, &engine.entities);
            // Only forbids matter for a task; the whole set may also hold
            // permits, which change the decision but not the forbids met.
            assert_eq!(summary(&whole).1, summary(&forbids).1, "{agency}");
            assert_eq!(summary(&whole).2, summary(&forbids).2, "{agency}");
            assert_eq!(forbids.decision(), CedarDecision::Deny);
        }
    }
}
