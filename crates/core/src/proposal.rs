//! Proposals: everything one party may ask of, offer to or tell another.
//!
//! A proposal never executes anything on the receiving node: it is a request
//! that the receiver's policy and officers decide. Every proposal carries who
//! asks, why (purpose), under which law (legal basis), what the receiver may
//! do with it (a handling code in the style of Europol SIENA's H0–H3) and by
//! when an answer is wanted. Its body is one of a closed set of kinds; an
//! unknown kind or an unknown field is refused when parsed, never guessed at.
//!
//! Decisions about force and territory rest on structured facts, not on
//! wording: a task says which agency acts, where, whether its personnel are
//! armed and whether the action is kinetic, and all of those are required.
//!
//! This file is long because it is the closed set of proposal kinds: each
//! kind's structure, its validation and its projection onto acts stay side
//! by side, so that a new field cannot skip the red lines' facts.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::{
    AgencyId, DomainError, EvidenceRequest, ExhibitConsent, Location, NamedExhibit, OfficerId,
    PartyCode, Timestamp, check_named_exhibits,
};

/// A proposal's id: a UUID chosen by the proposing node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId(Uuid);

impl ProposalId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses an id from its hyphenated text.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Uuid::try_parse(text)
            .map(Self)
            .map_err(|_| DomainError::ProposalId(text.to_owned()))
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl std::str::FromStr for ProposalId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ProposalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProposalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ProposalId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What the recipient may do with what it receives, after Europol SIENA's
/// handling codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HandlingCode {
    /// May be used to prevent or combat crime.
    H0,
    /// Not to be used as evidence in judicial proceedings without the
    /// provider's permission.
    H1,
    /// Not to be disseminated without the provider's permission.
    H2,
    /// Other restrictions apply, stated with the material.
    H3,
}

impl HandlingCode {
    /// Whether passing the material on needs the provider's permission.
    pub fn restricts_dissemination(&self) -> bool {
        matches!(self, HandlingCode::H2 | HandlingCode::H3)
    }

    /// A plain statement of the code.
    pub fn meaning(&self) -> &'static str {
        match self {
            HandlingCode::H0 => "may be used to prevent or combat crime",
            HandlingCode::H1 => {
                "not to be used as evidence in court without the provider's permission"
            }
            HandlingCode::H2 => "not to be disseminated without the provider's permission",
            HandlingCode::H3 => "other restrictions apply, as stated",
        }
    }
}

impl fmt::Display for HandlingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The kinds of proposal, without their content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// Ask for information the receiver holds.
    InformationRequest,
    /// Check identifiers for hits by private set intersection.
    IdentifierMatch,
    /// Check person records for likely matches by privacy-preserving linkage.
    PersonMatch,
    /// Trace seized firearms to their first sale.
    FirearmTrace,
    /// Continue a financial trace on the receiver's side.
    FinancialIntelligence,
    /// Open a joint investigation.
    JointInvestigation,
    /// Coordinate an operation: tasks, each with an agency and a place.
    CoordinatedOperation,
    /// Offer assistance that would be carried out by the proposer's agencies.
    AssistanceOffer,
    /// Tell the receiver in advance of a unilateral measure.
    AdvanceNotification,
    /// Alert the receiver of something at the border.
    BorderAlert,
    /// Report a seizure.
    SeizureReport,
    /// Ask the contributing side's consent to a use of an exhibit.
    ExhibitConsent,
    /// Ask the sender of a notice or request for the evidence behind it.
    EvidenceRequest,
}

impl ProposalKind {
    /// Every kind, in a stable order.
    pub const ALL: [ProposalKind; 13] = [
        ProposalKind::InformationRequest,
        ProposalKind::IdentifierMatch,
        ProposalKind::PersonMatch,
        ProposalKind::FirearmTrace,
        ProposalKind::FinancialIntelligence,
        ProposalKind::JointInvestigation,
        ProposalKind::CoordinatedOperation,
        ProposalKind::AssistanceOffer,
        ProposalKind::AdvanceNotification,
        ProposalKind::BorderAlert,
        ProposalKind::SeizureReport,
        ProposalKind::ExhibitConsent,
        ProposalKind::EvidenceRequest,
    ];

    /// The kind's name as written in files and policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProposalKind::InformationRequest => "information_request",
            ProposalKind::IdentifierMatch => "identifier_match",
            ProposalKind::PersonMatch => "person_match",
            ProposalKind::FirearmTrace => "firearm_trace",
            ProposalKind::FinancialIntelligence => "financial_intelligence",
            ProposalKind::JointInvestigation => "joint_investigation",
            ProposalKind::CoordinatedOperation => "coordinated_operation",
            ProposalKind::AssistanceOffer => "assistance_offer",
            ProposalKind::AdvanceNotification => "advance_notification",
            ProposalKind::BorderAlert => "border_alert",
            ProposalKind::SeizureReport => "seizure_report",
            ProposalKind::ExhibitConsent => "exhibit_consent",
            ProposalKind::EvidenceRequest => "evidence_request",
        }
    }

    /// The kind's name for people.
    pub fn label(&self) -> &'static str {
        match self {
            ProposalKind::InformationRequest => "information request",
            ProposalKind::IdentifierMatch => "identifier match",
            ProposalKind::PersonMatch => "person match",
            ProposalKind::FirearmTrace => "firearm trace",
            ProposalKind::FinancialIntelligence => "financial intelligence",
            ProposalKind::JointInvestigation => "joint investigation",
            ProposalKind::CoordinatedOperation => "coordinated operation",
            ProposalKind::AssistanceOffer => "assistance offer",
            ProposalKind::AdvanceNotification => "advance notification",
            ProposalKind::BorderAlert => "border alert",
            ProposalKind::SeizureReport => "seizure report",
            ProposalKind::ExhibitConsent => "consent to an exhibit's use",
            ProposalKind::EvidenceRequest => "request for evidence",
        }
    }
}

impl fmt::Display for ProposalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationRequest {
    /// Who or what the request is about.
    pub subject: String,
    /// The categories of data asked for (`criminal_records`, `financial`,
    /// `travel`, `communications`, `firearms`, `vehicles`, `identity`).
    pub categories: Vec<String>,
    /// The questions to answer.
    pub questions: Vec<String>,
    /// The exhibits that come with it, each by digest, size and title: its
    /// evidence file holds exactly these from the sender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exhibits: Vec<NamedExhibit>,
}

/// Whether an identifier match reveals the overlap or only its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchReveal {
    /// The requester learns which of its identifiers are held.
    Intersection,
    /// The requester learns only how many are held.
    CountOnly,
}

/// A request to check identifiers for hits by private set intersection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierMatch {
    /// The identifier kind (`phone`, `clabe`, `iban`, `us_account`,
    /// `firearm_serial`, `plate`, `email`).
    pub identifier_kind: String,
    /// How many identifiers the requester will submit.
    pub set_size: u64,
    /// What the requester asks to learn.
    pub reveal: MatchReveal,
    /// The standing arrangement this match runs under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<crate::StandingRef>,
}

/// A request to check person records for likely matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonMatch {
    /// How many records the requester will submit as encodings.
    pub record_count: u64,
    /// The name of the agreed encoding schema.
    pub schema: String,
    /// The standing arrangement this match runs under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<crate::StandingRef>,
}

/// A seized firearm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firearm {
    /// Its manufacturer.
    pub manufacturer: String,
    /// Its model.
    #[serde(default)]
    pub model: String,
    /// Its serial number.
    pub serial: String,
    /// Its calibre.
    #[serde(default)]
    pub caliber: String,
    /// Where it was recovered, when that is more precise than the trace's
    /// `seized_at` (`"Culiacán, Sinaloa"`: place, then state).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recovered_at: String,
    /// When it was recovered, when that differs from the trace's `seized_on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_on: Option<Timestamp>,
    /// The crime it was recovered in, as a code of the trace form (ATF
    /// form 3312.1's list: `weapons_offense`, `homicide`, `drug_trafficking`, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crime_code: String,
}

/// How soon a firearm trace is needed (ATF form 3312.1's urgent box).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TracePriority {
    /// In the ordinary course.
    #[default]
    Routine,
    /// Needed within a day: a person is held, or a life is at risk.
    Urgent,
}

impl TracePriority {
    /// Whether this is the default, which the encoding leaves out.
    pub fn is_routine(&self) -> bool {
        *self == TracePriority::Routine
    }
}

/// A request to trace seized firearms to their first retail sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirearmTrace {
    /// Where the firearms were seized.
    pub seized_at: String,
    /// When they were seized.
    pub seized_on: Timestamp,
    /// The firearms.
    pub firearms: Vec<Firearm>,
    /// How soon the answer is needed.
    #[serde(default, skip_serializing_if = "TracePriority::is_routine")]
    pub priority: TracePriority,
}

/// An account named in a financial request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRef {
    /// The numbering scheme: `clabe`, `iban` or `us_aba`.
    pub scheme: String,
    /// The account number in that scheme.
    pub number: String,
    /// The institution holding it, where known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub institution: String,
}

/// A request to continue a financial trace on the receiver's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinancialIntelligence {
    /// The accounts in question (only those: never a ledger).
    pub accounts: Vec<AccountRef>,
    /// The start of the time window.
    pub window_from: Timestamp,
    /// The end of the time window.
    pub window_to: Timestamp,
    /// The amount that reached the border, in minor units.
    #[serde(default)]
    pub amount_minor: u64,
    /// Its currency (ISO 4217).
    #[serde(default)]
    pub currency: String,
    /// What the requester wants to know.
    pub question: String,
}

/// A proposal to open a joint investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointInvestigation {
    /// The case's title.
    pub case_title: String,
    /// What it is about.
    pub summary: String,
    /// The agencies that would take part, from both sides.
    pub agencies: Vec<AgencyId>,
    /// What each agency would do, and where. An agency listed without a
    /// task is taken to act at a place not said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// When the joint investigation ends, as agreed. Without it the case
    /// runs for a year from the proposal, unless ended earlier by either
    /// side's signed act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<Timestamp>,
    /// The members each side brings to the case, and who administers each
    /// side. When a side names none, the officer who proposed (for the
    /// proposing side) or accepted (for the accepting side) administers it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<AgreedMember>,
}

/// A member of one side of a joint investigation, as the agreement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreedMember {
    /// The side.
    pub party: PartyCode,
    /// The officer (as registered on that side's node).
    pub officer: OfficerId,
    /// Whether the officer administers that side's members.
    #[serde(default)]
    pub administrator: bool,
}

/// The most members an agreement may name.
pub const MAX_AGREED_MEMBERS: usize = 100;

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    /// Deploy personnel.
    Deployment,
    /// Patrol an area or route.
    Patrol,
    /// Watch, listen, fly over.
    Surveillance,
    /// Collect or analyse intelligence.
    Intelligence,
    /// Arrest people.
    Arrest,
    /// Enter and search premises by force.
    Raid,
    /// A strike: missile, drone, air or naval fire.
    Strike,
    /// Stop vessels, aircraft or vehicles.
    Interdiction,
    /// Train others.
    Training,
    /// Advise others.
    Advice,
    /// Transport, supply, maintenance.
    Logistics,
    /// Inspect cargo or people at a crossing.
    Inspection,
    /// Pursue people or vehicles (across a border, in hot pursuit).
    Pursuit,
    /// Be present as an accredited liaison officer or attaché, without
    /// acting: no arrests, no searches, no force.
    Liaison,
    /// Act on computer systems; the task's places are where those systems
    /// are, which is where its effects land.
    CyberOperation,
}

impl TaskAction {
    /// Every action, in a stable order.
    pub const ALL: [TaskAction; 15] = [
        TaskAction::Deployment,
        TaskAction::Patrol,
        TaskAction::Surveillance,
        TaskAction::Intelligence,
        TaskAction::Arrest,
        TaskAction::Raid,
        TaskAction::Strike,
        TaskAction::Interdiction,
        TaskAction::Training,
        TaskAction::Advice,
        TaskAction::Logistics,
        TaskAction::Inspection,
        TaskAction::Pursuit,
        TaskAction::Liaison,
        TaskAction::CyberOperation,
    ];

    /// Whether the action is force by its nature, whatever else is said.
    pub fn is_inherently_kinetic(&self) -> bool {
        matches!(self, TaskAction::Strike | TaskAction::Raid)
    }

    /// The action's name as written in files and policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskAction::Deployment => "deployment",
            TaskAction::Patrol => "patrol",
            TaskAction::Surveillance => "surveillance",
            TaskAction::Intelligence => "intelligence",
            TaskAction::Arrest => "arrest",
            TaskAction::Raid => "raid",
            TaskAction::Strike => "strike",
            TaskAction::Interdiction => "interdiction",
            TaskAction::Training => "training",
            TaskAction::Advice => "advice",
            TaskAction::Logistics => "logistics",
            TaskAction::Inspection => "inspection",
            TaskAction::Pursuit => "pursuit",
            TaskAction::Liaison => "liaison",
            TaskAction::CyberOperation => "cyber_operation",
        }
    }
}

/// One task of a coordinated operation or assistance offer.
///
/// Every fact that territory and red lines depend on is required: which
/// agency acts, every place the task touches (a patrol's whole route), where
/// it is launched from when that differs (a drone flown from across the
/// border), whether personnel are armed and whether the action is kinetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The agency that would carry the task out.
    pub agency: AgencyId,
    /// What it would do.
    pub action: TaskAction,
    /// Every place the task takes effect in or passes through.
    pub locations: Vec<Location>,
    /// Where the task is launched from, if not from its locations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_from: Option<Location>,
    /// Whether the personnel carry arms.
    pub armed: bool,
    /// Whether the task uses force (a strike, a raid, fire).
    pub kinetic: bool,
    /// How many people take part.
    #[serde(default)]
    pub personnel: u32,
    /// Under whose command it would be, if stated. Command does not change
    /// whose agency acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_command_of: Option<PartyCode>,
    /// A description for people.
    #[serde(default)]
    pub description: String,
    /// Everyone else who takes part, by agency: personnel of another agency
    /// (or another party) inside this task act with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
}

/// Personnel of an agency taking part in another agency's task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// Their agency (its id names its party).
    pub agency: AgencyId,
    /// Whether they carry arms.
    pub armed: bool,
    /// How many.
    #[serde(default)]
    pub personnel: u32,
}

impl Task {
    /// Whether the task uses force, by its flag or by its nature.
    pub fn is_kinetic(&self) -> bool {
        self.kinetic || self.action.is_inherently_kinetic()
    }
}

/// One act a proposal plans, announces or reports, whatever its kind: who
/// acts, doing what, armed or not, with force or not, and where. Red lines
/// judge acts, so the same act gets the same verdict in any kind of proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Act<'a> {
    /// Where in the proposal it comes from, for people.
    pub origin: String,
    /// The agency whose personnel act.
    pub agency: &'a AgencyId,
    /// The agency whose task this is, when the act is a participant's.
    pub within: Option<&'a AgencyId>,
    /// What is done.
    pub action: TaskAction,
    /// Whether the personnel carry arms.
    pub armed: bool,
    /// Whether force is used, by flag or by the action's nature.
    pub kinetic: bool,
    /// Where it takes place and where its effects land (none: not said).
    pub places: &'a [Location],
    /// Where it is launched from, if elsewhere.
    pub launched_from: Option<&'a Location>,
    /// Under whose command it is said to be.
    pub under_command_of: Option<PartyCode>,
}

impl<'a> Act<'a> {
    fn of_task(origin: String, task: &'a Task, out: &mut Vec<Act<'a>>) {
        let act = Act {
            origin,
            agency: &task.agency,
            within: None,
            action: task.action,
            armed: task.armed,
            kinetic: task.is_kinetic(),
            places: &task.locations,
            launched_from: task.launched_from.as_ref(),
            under_command_of: task.under_command_of,
        };
        for p in &task.participants {
            out.push(Act {
                origin: format!("{}, participant `{}`", act.origin, p.agency),
                agency: &p.agency,
                within: Some(&task.agency),
                armed: p.armed,
                ..act.clone()
            });
        }
        out.push(act);
    }

    /// Whether the act is presence only: an unarmed liaison, using no force.
    pub fn is_presence_only(&self) -> bool {
        self.action == TaskAction::Liaison && !self.armed && !self.kinetic
    }
}

/// A coordinated operation, or an assistance offer: a named set of tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatedOperation {
    /// The operation's name.
    pub name: String,
    /// What it is for.
    pub summary: String,
    /// Its tasks; at least one.
    pub tasks: Vec<Task>,
}

/// The kind of a unilateral measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Designation of organisations (e.g. as terrorist organisations).
    Designation,
    /// An executive order.
    ExecutiveOrder,
    /// Sanctions on people or entities.
    Sanction,
    /// Orders against financial institutions.
    FinancialOrder,
    /// A change to border or trade measures.
    BorderMeasure,
    /// A change to the notifying party's constitutional policy layer.
    ConstitutionalPolicyChange,
    /// A use of force (a strike, a raid, an armed operation).
    UseOfForce,
}

/// Advance notice of a unilateral measure, answered with a signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceNotification {
    /// The kind of measure.
    pub measure: MeasureKind,
    /// Its title.
    pub title: String,
    /// What it does.
    pub summary: String,
    /// When it takes effect.
    pub effective: Timestamp,
    /// Who or what it designates or targets.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Assurances given with it.
    #[serde(default)]
    pub assurances: Vec<String>,
    /// The evidence that supports it: descriptions or digests of documents.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The acts the measure consists of, each with its agency and places.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acts: Vec<Task>,
    /// The exhibits that come with it, each by digest, size and title: its
    /// evidence file holds exactly these from the sender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exhibits: Vec<NamedExhibit>,
}

/// Which way across the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowDirection {
    /// Towards the northern party (e.g. MX to US).
    Northbound,
    /// Towards the southern party (e.g. US to MX).
    Southbound,
}

/// An alert about something at the border.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorderAlert {
    /// The crossing or stretch of border.
    pub crossing: String,
    /// Which way the subject is moving.
    pub direction: FlowDirection,
    /// Who or what to look out for.
    pub subject: String,
    /// Details.
    #[serde(default)]
    pub details: String,
    /// What the alerting party's agencies are doing or will do about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acts: Vec<Task>,
}

/// A report of a seizure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeizureReport {
    /// Which way the goods were moving.
    pub direction: FlowDirection,
    /// What was seized (`fentanyl`, `firearms`, `cash`, …).
    pub commodity: String,
    /// How much, in `unit`.
    pub quantity: u64,
    /// The unit (`kg`, `pieces`, `USD`).
    pub unit: String,
    /// Where.
    pub place: String,
    /// When.
    pub seized_on: Timestamp,
    /// Who seized it.
    pub agency: AgencyId,
    /// Where, in a notation the receiver resolves. A seizure whose place is
    /// not given is taken to be at a place not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// The content of a proposal, one of a closed set of kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProposalBody {
    /// See [`InformationRequest`].
    InformationRequest(InformationRequest),
    /// See [`IdentifierMatch`].
    IdentifierMatch(IdentifierMatch),
    /// See [`PersonMatch`].
    PersonMatch(PersonMatch),
    /// See [`FirearmTrace`].
    FirearmTrace(FirearmTrace),
    /// See [`FinancialIntelligence`].
    FinancialIntelligence(FinancialIntelligence),
    /// See [`JointInvestigation`].
    JointInvestigation(JointInvestigation),
    /// See [`CoordinatedOperation`].
    CoordinatedOperation(CoordinatedOperation),
    /// An offer of assistance, with the tasks the proposer's agencies would do.
    AssistanceOffer(CoordinatedOperation),
    /// See [`AdvanceNotification`].
    AdvanceNotification(AdvanceNotification),
    /// See [`BorderAlert`].
    BorderAlert(BorderAlert),
    /// See [`SeizureReport`].
    SeizureReport(SeizureReport),
    /// Consent to a use of an exhibit.
    ExhibitConsent(ExhibitConsent),
    /// A request for the evidence behind a notice or request.
    EvidenceRequest(EvidenceRequest),
}

impl ProposalBody {
    /// The body's kind.
    pub fn kind(&self) -> ProposalKind {
        match self {
            ProposalBody::InformationRequest(_) => ProposalKind::InformationRequest,
            ProposalBody::IdentifierMatch(_) => ProposalKind::IdentifierMatch,
            ProposalBody::PersonMatch(_) => ProposalKind::PersonMatch,
            ProposalBody::FirearmTrace(_) => ProposalKind::FirearmTrace,
            ProposalBody::FinancialIntelligence(_) => ProposalKind::FinancialIntelligence,
            ProposalBody::JointInvestigation(_) => ProposalKind::JointInvestigation,
            ProposalBody::CoordinatedOperation(_) => ProposalKind::CoordinatedOperation,
            ProposalBody::AssistanceOffer(_) => ProposalKind::AssistanceOffer,
            ProposalBody::AdvanceNotification(_) => ProposalKind::AdvanceNotification,
            ProposalBody::BorderAlert(_) => ProposalKind::BorderAlert,
            ProposalBody::SeizureReport(_) => ProposalKind::SeizureReport,
            ProposalBody::ExhibitConsent(_) => ProposalKind::ExhibitConsent,
            ProposalBody::EvidenceRequest(_) => ProposalKind::EvidenceRequest,
        }
    }

    /// The tasks of an operation or offer; empty for every other kind.
    pub fn tasks(&self) -> &[Task] {
        match self {
            ProposalBody::CoordinatedOperation(op) | ProposalBody::AssistanceOffer(op) => &op.tasks,
            _ => &[],
        }
    }

    /// The structured task lists of the body, with their field names.
    fn task_lists(&self) -> Vec<(&'static str, &[Task])> {
        match self {
            ProposalBody::CoordinatedOperation(op) | ProposalBody::AssistanceOffer(op) => {
                vec![("tasks", &op.tasks)]
            }
            ProposalBody::JointInvestigation(j) => vec![("tasks", &j.tasks)],
            ProposalBody::AdvanceNotification(n) => vec![("acts", &n.acts)],
            ProposalBody::BorderAlert(a) => vec![("acts", &a.acts)],
            _ => Vec::new(),
        }
    }

    /// Every place the body names, with the field it is in
    /// (`body.tasks[0].locations[1]`).
    pub fn locations(&self) -> Vec<(String, &Location)> {
        let mut out = Vec::new();
        for (field, tasks) in self.task_lists() {
            for (i, task) in tasks.iter().enumerate() {
                for (j, l) in task.locations.iter().enumerate() {
                    out.push((format!("body.{field}[{i}].locations[{j}]"), l));
                }
                if let Some(l) = &task.launched_from {
                    out.push((format!("body.{field}[{i}].launched_from"), l));
                }
            }
        }
        if let ProposalBody::SeizureReport(s) = self
            && let Some(l) = &s.location
        {
            out.push(("body.location".to_owned(), l));
        }
        out
    }

    /// The acts the body plans, announces or reports, whatever its kind:
    /// an operation's or offer's tasks and everyone taking part in them, a
    /// joint investigation's agencies, a notification's or alert's acts (a
    /// use of force notified without them is an act at a place not said),
    /// and a seizure. Requests for data, matches and traces plan no act.
    pub fn acts<'a>(&'a self, requester: &'a AgencyId) -> Vec<Act<'a>> {
        let mut out = Vec::new();
        for (field, tasks) in self.task_lists() {
            let name = if field == "acts" { "act" } else { "task" };
            for (i, task) in tasks.iter().enumerate() {
                Act::of_task(format!("{name} {}", i + 1), task, &mut out);
            }
        }
        match self {
            ProposalBody::JointInvestigation(j) => {
                for agency in &j.agencies {
                    let has_task = j.tasks.iter().any(|t| {
                        t.agency == *agency || t.participants.iter().any(|p| p.agency == *agency)
                    });
                    if !has_task {
                        out.push(Act {
                            origin: format!("investigating agency `{agency}` (no task given)"),
                            agency,
                            within: None,
                            action: TaskAction::Intelligence,
                            armed: false,
                            kinetic: false,
                            places: &[],
                            launched_from: None,
                            under_command_of: None,
                        });
                    }
                }
            }
            ProposalBody::AdvanceNotification(n)
                if n.measure == MeasureKind::UseOfForce && n.acts.is_empty() =>
            {
                out.push(Act {
                    origin: "the notified use of force (no act given)".to_owned(),
                    agency: requester,
                    within: None,
                    action: TaskAction::Strike,
                    armed: true,
                    kinetic: true,
                    places: &[],
                    launched_from: None,
                    under_command_of: None,
                });
            }
            ProposalBody::SeizureReport(s) => out.push(Act {
                origin: "the seizure".to_owned(),
                agency: &s.agency,
                within: None,
                action: TaskAction::Interdiction,
                armed: false,
                kinetic: false,
                places: s.location.as_slice(),
                launched_from: None,
                under_command_of: None,
            }),
            _ => {}
        }
        out
    }

    /// The free text of the body, each with its field name: what a partner
    /// can write that carries no consent and is never judged as fact.
    pub fn prose(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        for (field, tasks) in self.task_lists() {
            for (i, task) in tasks.iter().enumerate() {
                out.push((format!("body.{field}[{i}].description"), &task.description));
                for (j, l) in task.locations.iter().enumerate() {
                    out.push((format!("body.{field}[{i}].locations[{j}].place"), &l.place));
                }
            }
        }
        match self {
            ProposalBody::InformationRequest(r) => {
                out.push(("body.subject".into(), &r.subject));
                for (i, q) in r.questions.iter().enumerate() {
                    out.push((format!("body.questions[{i}]"), q));
                }
            }
            ProposalBody::FirearmTrace(t) => out.push(("body.seized_at".into(), &t.seized_at)),
            ProposalBody::FinancialIntelligence(f) => {
                out.push(("body.question".into(), &f.question));
            }
            ProposalBody::JointInvestigation(j) => {
                out.push(("body.case_title".into(), &j.case_title));
                out.push(("body.summary".into(), &j.summary));
            }
            ProposalBody::CoordinatedOperation(op) | ProposalBody::AssistanceOffer(op) => {
                out.push(("body.name".into(), &op.name));
                out.push(("body.summary".into(), &op.summary));
            }
            ProposalBody::AdvanceNotification(n) => {
                out.push(("body.title".into(), &n.title));
                out.push(("body.summary".into(), &n.summary));
                for (i, t) in n.targets.iter().enumerate() {
                    out.push((format!("body.targets[{i}]"), t));
                }
                for (i, t) in n.assurances.iter().enumerate() {
                    out.push((format!("body.assurances[{i}]"), t));
                }
            }
            ProposalBody::BorderAlert(a) => {
                out.push(("body.crossing".into(), &a.crossing));
                out.push(("body.subject".into(), &a.subject));
                out.push(("body.details".into(), &a.details));
            }
            ProposalBody::SeizureReport(s) => out.push(("body.place".into(), &s.place)),
            ProposalBody::ExhibitConsent(c) => out.push(("body.reason".into(), &c.reason)),
            ProposalBody::EvidenceRequest(r) => out.push(("body.asked".into(), &r.asked)),
            ProposalBody::IdentifierMatch(_) | ProposalBody::PersonMatch(_) => {}
        }
        out.retain(|(_, text)| !text.trim().is_empty());
        out
    }

    /// A one-line summary for people.
    pub fn summary(&self) -> String {
        match self {
            ProposalBody::InformationRequest(r) => format!("information on {}", r.subject),
            ProposalBody::IdentifierMatch(m) => {
                format!(
                    "hit/no-hit check of {} {} identifiers",
                    m.set_size, m.identifier_kind
                )
            }
            ProposalBody::PersonMatch(m) => {
                format!("likely-match check of {} person records", m.record_count)
            }
            ProposalBody::FirearmTrace(t) => {
                format!(
                    "trace {} firearms seized at {}",
                    t.firearms.len(),
                    t.seized_at
                )
            }
            ProposalBody::FinancialIntelligence(f) => {
                format!(
                    "continue a financial trace from {} account(s)",
                    f.accounts.len()
                )
            }
            ProposalBody::JointInvestigation(j) => format!("joint investigation: {}", j.case_title),
            ProposalBody::CoordinatedOperation(op) => {
                format!(
                    "coordinated operation {} ({} tasks)",
                    op.name,
                    op.tasks.len()
                )
            }
            ProposalBody::AssistanceOffer(op) => {
                format!("assistance offer {} ({} tasks)", op.name, op.tasks.len())
            }
            ProposalBody::AdvanceNotification(n) => format!("advance notification: {}", n.title),
            ProposalBody::BorderAlert(a) => {
                format!("border alert at {}: {}", a.crossing, a.subject)
            }
            ProposalBody::SeizureReport(s) => {
                format!(
                    "seizure of {} {} {} at {}",
                    s.quantity, s.unit, s.commodity, s.place
                )
            }
            ProposalBody::ExhibitConsent(c) => format!(
                "consent to {} of exhibit {}",
                c.use_.describe(),
                c.exhibit.get(..12).unwrap_or(&c.exhibit)
            ),
            ProposalBody::EvidenceRequest(r) => format!("evidence behind proposal {}", r.about),
        }
    }
}

/// What an officer writes to make a proposal; the node adds id, sender and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalDraft {
    /// The party asked.
    pub to: PartyCode,
    /// The agency on whose behalf the proposal is made.
    pub requesting_agency: AgencyId,
    /// Why.
    pub purpose: String,
    /// Under which law or agreement.
    pub legal_basis: String,
    /// What the receiver may do with it.
    pub handling: HandlingCode,
    /// When an answer is wanted by: an RFC 3339 instant, or a span from
    /// when the draft is read (`P7D`, `PT8H`).
    #[serde(deserialize_with = "crate::timestamp::deserialize_deadline")]
    pub deadline: Timestamp,
    /// Earlier proposals this one belongs with (one plan split across several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_to: Vec<ProposalId>,
    /// What is proposed.
    pub body: ProposalBody,
}

/// A proposal as it travels: a draft with its id, sender, author and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// The proposing party.
    pub from: PartyCode,
    /// The party asked.
    pub to: PartyCode,
    /// When it was made.
    pub created: Timestamp,
    /// The officer who made it, if made by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<OfficerId>,
    /// The agency on whose behalf it is made.
    pub requesting_agency: AgencyId,
    /// Why.
    pub purpose: String,
    /// Under which law or agreement.
    pub legal_basis: String,
    /// What the receiver may do with it.
    pub handling: HandlingCode,
    /// When an answer is wanted by.
    pub deadline: Timestamp,
    /// Earlier proposals this one belongs with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_to: Vec<ProposalId>,
    /// What is proposed.
    pub body: ProposalBody,
}

impl Proposal {
    /// Makes a proposal from a draft, checking what the types alone cannot.
    pub fn from_draft(
        draft: ProposalDraft,
        from: PartyCode,
        author: Option<OfficerId>,
        created: Timestamp,
    ) -> Result<Self, DomainError> {
        let proposal = Proposal {
            id: ProposalId::generate(),
            from,
            to: draft.to,
            created,
            author,
            requesting_agency: draft.requesting_agency,
            purpose: draft.purpose,
            legal_basis: draft.legal_basis,
            handling: draft.handling,
            deadline: draft.deadline,
            related_to: draft.related_to,
            body: draft.body,
        };
        proposal.validate()?;
        Ok(proposal)
    }

    /// The proposal's kind.
    pub fn kind(&self) -> ProposalKind {
        self.body.kind()
    }

    /// Every act the proposal plans, announces or reports (see
    /// [`ProposalBody::acts`]).
    pub fn acts(&self) -> Vec<Act<'_>> {
        self.body.acts(&self.requesting_agency)
    }

    /// Checks what the types alone cannot: required text is present, an
    /// operation has tasks and every task has a place, the proposer's
    /// agency belongs to the proposer, and the parties differ.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.purpose.trim().is_empty() {
            return Err(DomainError::Empty("purpose"));
        }
        if self.legal_basis.trim().is_empty() {
            return Err(DomainError::Empty("legal_basis"));
        }
        if self.from == self.to {
            return Err(DomainError::Incomplete(format!(
                "a proposal from `{}` cannot be addressed to `{}` itself",
                self.from, self.to
            )));
        }
        if self.requesting_agency.party() != self.from {
            return Err(DomainError::Incomplete(format!(
                "the requesting agency `{}` does not belong to the proposing party `{}`",
                self.requesting_agency, self.from
            )));
        }
        for (field, text) in [
            ("purpose", &self.purpose),
            ("legal_basis", &self.legal_basis),
        ] {
            if text.chars().count() > 4000 {
                return Err(DomainError::TooLong { field, max: 4000 });
            }
        }
        for (field, location) in self.body.locations() {
            if let Some(Err(e)) = location.place_ref() {
                return Err(DomainError::Incomplete(format!("`{field}.at`: {e}")));
            }
        }
        for (field, tasks) in self.body.task_lists() {
            for (i, task) in tasks.iter().enumerate() {
                if task.locations.is_empty() {
                    return Err(DomainError::Incomplete(format!(
                        "`body.{field}[{i}]` (`{}`) does not say where it takes place",
                        task.agency
                    )));
                }
            }
        }
        match &self.body {
            ProposalBody::CoordinatedOperation(op) | ProposalBody::AssistanceOffer(op)
                if op.tasks.is_empty() =>
            {
                return Err(DomainError::Incomplete(
                    "an operation or assistance offer must list its tasks".into(),
                ));
            }
            ProposalBody::JointInvestigation(j) => self.check_members(j)?,
            ProposalBody::FirearmTrace(t) if t.firearms.is_empty() => {
                return Err(DomainError::Incomplete(
                    "a firearm trace must list firearms".into(),
                ));
            }
            ProposalBody::ExhibitConsent(c) => c.validate()?,
            ProposalBody::AdvanceNotification(n) => check_named_exhibits(&n.exhibits)?,
            ProposalBody::InformationRequest(r) => check_named_exhibits(&r.exhibits)?,
            ProposalBody::EvidenceRequest(r) => {
                r.validate()?;
                if !self.related_to.contains(&r.about) {
                    return Err(DomainError::Incomplete(format!(
                        "a request for evidence names the proposal it is about (`{}`) in `related_to`",
                        r.about
                    )));
                }
            }
            ProposalBody::FinancialIntelligence(f) => {
                if f.accounts.is_empty() {
                    return Err(DomainError::Incomplete(
                        "a financial request must name the account in question".into(),
                    ));
                }
                if f.window_to < f.window_from {
                    return Err(DomainError::Incomplete(
                        "the time window ends before it starts".into(),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The members a joint investigation names: of its two parties, each
    /// once, at most [`MAX_AGREED_MEMBERS`], and a side that names members
    /// names at least one administrator.
    fn check_members(&self, j: &JointInvestigation) -> Result<(), DomainError> {
        if j.members.len() > MAX_AGREED_MEMBERS {
            return Err(DomainError::Incomplete(format!(
                "`body.members` names {} members; at most {MAX_AGREED_MEMBERS}",
                j.members.len()
            )));
        }
        for (i, m) in j.members.iter().enumerate() {
            if m.party != self.from && m.party != self.to {
                return Err(DomainError::Incomplete(format!(
                    "`body.members[{i}]` is of `{}`, not of `{}` or `{}`",
                    m.party, self.from, self.to
                )));
            }
            if j.members
                .iter()
                .take(i)
                .any(|o| o.party == m.party && o.officer == m.officer)
            {
                return Err(DomainError::Incomplete(format!(
                    "`body.members[{i}]`: `{}` of `{}` is named twice",
                    m.officer, m.party
                )));
            }
        }
        for side in [self.from, self.to] {
            let named = j.members.iter().filter(|m| m.party == side);
            let (count, admins) = named.fold((0, 0), |(c, a), m| {
                (c + 1, a + usize::from(m.administrator))
            });
            if count > 0 && admins == 0 {
                return Err(DomainError::Incomplete(format!(
                    "`body.members` names members of `{side}` but none administers its side; mark one `administrator = true`"
                )));
            }
        }
        Ok(())
    }
}

/// A signed acknowledgement that a proposal (typically an advance
/// notification) was received, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The proposal received.
    pub proposal_id: ProposalId,
    /// The party that received it.
    pub received_by: PartyCode,
    /// When it was received.
    pub received_at: Timestamp,
    /// The hex SHA-256 digest of the envelope as received.
    pub envelope_digest: String,
    /// A note, such as the receiving party's position.
    #[serde(default)]
    pub note: String,
}

/// Said in the signed text of every acceptance and receipt: what a node
/// accepts or acknowledges is the structured content of a proposal alone.
pub const STRUCTURED_CONTENT_ONLY: &str = "only the structured content of the proposal (its acts, agencies, places and fields) is accepted or acknowledged; its free text carries no consent";
