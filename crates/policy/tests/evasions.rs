//! The evasion table: a hostile partner, with its real key, describing acts
//! that cross Mexico's red lines in every way the format allows — through a
//! kind of proposal without a task list, a false territory label, a place the
//! node cannot resolve, foreign personnel inside a Mexican agency's task, a
//! cyber operation aimed at servers in Mexico, prose — and the converse:
//! ordinary cooperation that must not be refused, and accredited presence
//! that goes to an officer. Every row is judged by a Mexican node with the
//! shipped operational layer and with one that permits everything.
//!
//! This file is long because it is a table: seventy rows of evasions and of
//! legitimate cooperation, each judged against the shipped layers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use soberana_core::{
    AdvanceNotification, AgencyId, BorderAlert, Domain, FlowDirection, JointInvestigation,
    Location, MeasureKind, Participant, Proposal, ProposalBody, SeizureReport, Task, TaskAction,
    Timestamp,
};
use soberana_policy::{Layer, PolicyDecision, Verdict};
use support::*;

const FORCES: &str = "mx.foreign-forces";
const FORCE_USED: &str = "mx.foreign-force-used";
const TERRITORIAL: &str = "mx.territorial";
const MISREPRESENTED: &str = "mx.misrepresented-place";
const MARITIME: &str = "mx.maritime-force";

/// Points inside Mexico that a hostile sender might label otherwise.
const SONORA_40KM: &str = "30.95,-110.95";
const CULIACAN: &str = "24.8091,-107.3940";
const TIJUANA: &str = "32.4850,-116.9800";
const MONTERREY: &str = "25.6866,-100.3161";
const MX_SEA: &str = "23.20,-106.50";
const MX_CONTIGUOUS: &str = "23.05,-106.78";
const MX_EEZ: &str = "22.30,-107.60";
const HIGH_SEAS: &str = "10,-130";
const GUATEMALA: &str = "14.6349,-90.5069";

enum Expect {
    /// Refused by both engines, citing at least these red lines.
    Refused(&'static [&'static str]),
    /// Sent to an officer by both engines, even the one that permits all.
    Officer,
    /// Not refused; the shipped layer gives this verdict.
    Stands(Verdict),
}

struct Row {
    name: &'static str,
    proposal: Proposal,
    expect: Expect,
}

fn place(label: Option<&str>, domain: Domain, at: Option<&str>) -> Location {
    Location {
        territory: label.map(|l| serde_json::from_value(serde_json::json!(l)).unwrap()),
        domain,
        place: String::new(),
        at: at.map(str::to_owned),
    }
}

fn act(agency: &str, action: TaskAction, armed: bool, places: Vec<Location>) -> Task {
    let mut t = task(agency, action, places);
    t.armed = armed;
    t
}

fn alert(acts: Vec<Task>, details: &str) -> Proposal {
    proposal(
        "US.CBP",
        ProposalBody::BorderAlert(BorderAlert {
            crossing: "DeConcini port of entry".into(),
            direction: FlowDirection::Southbound,
            subject: "a white pickup".into(),
            details: details.into(),
            acts,
        }),
    )
}

fn notify(measure: MeasureKind, acts: Vec<Task>, summary: &str) -> Proposal {
    proposal(
        "US.STATE",
        ProposalBody::AdvanceNotification(AdvanceNotification {
            measure,
            title: "a measure".into(),
            summary: summary.into(),
            effective: Timestamp::now(),
            targets: Vec::new(),
            assurances: Vec::new(),
            evidence: Vec::new(),
            acts,
            exhibits: Vec::new(),
        }),
    )
}

fn seizure(agency: &str, location: Option<Location>, place_text: &str) -> Proposal {
    proposal(
        "US.CBP",
        ProposalBody::SeizureReport(SeizureReport {
            direction: FlowDirection::Southbound,
            commodity: "firearms".into(),
            quantity: 40,
            unit: "pieces".into(),
            place: place_text.into(),
            seized_on: Timestamp::now(),
            agency: AgencyId::new(agency).unwrap(),
            location,
        }),
    )
}

fn joint(agencies: &[&str], tasks: Vec<Task>) -> Proposal {
    proposal(
        "US.FBI",
        ProposalBody::JointInvestigation(JointInvestigation {
            case_title: "a case".into(),
            summary: "a shared case".into(),
            agencies: agencies.iter().map(|a| AgencyId::new(a).unwrap()).collect(),
            tasks,
            ends: None,
            members: Vec::new(),
        }),
    )
}

fn with_participant(mut t: Task, agency: &str, armed: bool) -> Task {
    t.participants.push(Participant {
        agency: AgencyId::new(agency).unwrap(),
        armed,
        personnel: 6,
    });
    t
}

fn launched(mut t: Task, from: Location) -> Task {
    t.launched_from = Some(from);
    t
}

fn described(mut t: Task, text: &str) -> Task {
    t.description = text.into();
    t
}

fn kinetic(mut t: Task) -> Task {
    t.kinetic = true;
    t
}

fn rows() -> Vec<Row> {
    use Domain::{Airspace, Cyber, Land, Waters};
    use Expect::{Officer, Refused, Stands};
    use TaskAction::*;
    let mx_at = |at: &str| place(None, Land, Some(at));
    let row = |name, proposal, expect| Row {
        name,
        proposal,
        expect,
    };
    vec![
        // Kinds without a task list.
        row(
            "alert: armed CBP pursuit 40 km into Sonora",
            alert(
                vec![act("US.CBP", Pursuit, true, vec![mx_at(SONORA_40KM)])],
                "",
            ),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "alert: military helicopter over Sonora",
            alert(
                vec![act(
                    "US.DOD",
                    Surveillance,
                    false,
                    vec![place(None, Airspace, Some("MX-SON"))],
                )],
                "",
            ),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "alert: armed HSI agents arresting in Chihuahua",
            alert(vec![act("US.HSI", Arrest, true, vec![mx_at("MX-CHH")])], ""),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "alert: pursuit labelled US at a point in Sonora",
            alert(
                vec![act(
                    "US.CBP",
                    Pursuit,
                    true,
                    vec![place(Some("US"), Land, Some(SONORA_40KM))],
                )],
                "",
            ),
            Refused(&[MISREPRESENTED, FORCES, TERRITORIAL]),
        ),
        row(
            "alert: pursuit with no place given",
            alert(
                vec![act(
                    "US.CBP",
                    Pursuit,
                    true,
                    vec![place(Some("US"), Land, None)],
                )],
                "",
            ),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "alert: the pursuit told only in prose",
            alert(
                vec![],
                "A CBP helicopter is pursuing the suspects 40 km into Mexico",
            ),
            Officer,
        ),
        row(
            "alert: the pursuit told only in Spanish prose",
            alert(
                vec![],
                "persecución en caliente hasta Sonora con agentes armados",
            ),
            Officer,
        ),
        row(
            "notification: a use of force with no act given",
            notify(MeasureKind::UseOfForce, vec![], "a measure"),
            Refused(&[FORCES, FORCE_USED, TERRITORIAL]),
        ),
        row(
            "notification: a drone strike on Culiacán",
            notify(
                MeasureKind::UseOfForce,
                vec![act("US.DOD", Strike, false, vec![mx_at("culiacan")])],
                "",
            ),
            Refused(&[FORCES, FORCE_USED, TERRITORIAL]),
        ),
        row(
            "notification: a strike on Culiacán labelled international",
            notify(
                MeasureKind::ExecutiveOrder,
                vec![act(
                    "US.DOD",
                    Strike,
                    false,
                    vec![place(Some("international"), Land, Some(CULIACAN))],
                )],
                "",
            ),
            Refused(&[MISREPRESENTED, FORCE_USED]),
        ),
        row(
            "notification: a strike launched from Arizona at Sonora",
            notify(
                MeasureKind::ExecutiveOrder,
                vec![launched(
                    act("US.DOD", Strike, false, vec![mx_at("MX-SON")]),
                    place(Some("US"), Airspace, Some("US-AZ")),
                )],
                "",
            ),
            Refused(&[FORCE_USED]),
        ),
        row(
            "notification: an executive order whose summary announces strikes in Sinaloa",
            notify(
                MeasureKind::ExecutiveOrder,
                vec![],
                "authorises drone strikes on laboratories in Sinaloa",
            ),
            Officer,
        ),
        row(
            "notification: a drone strike from orbit, effect in Culiacán",
            notify(
                MeasureKind::UseOfForce,
                vec![launched(
                    act("US.DOD", Strike, false, vec![mx_at("culiacan")]),
                    place(None, Domain::Space, Some(CULIACAN)),
                )],
                "",
            ),
            Refused(&[FORCE_USED]),
        ),
        row(
            "seizure by special operations in Sinaloa",
            seizure("US.SOCOM", Some(mx_at("MX-SIN")), "Culiacán"),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "seizure by CBP with no place given",
            seizure("US.CBP", None, "somewhere"),
            Refused(&[TERRITORIAL]),
        ),
        row(
            "seizure by CBP labelled US at Tijuana",
            seizure(
                "US.CBP",
                Some(place(Some("US"), Land, Some(TIJUANA))),
                "San Diego",
            ),
            Refused(&[MISREPRESENTED, TERRITORIAL]),
        ),
        row(
            "seizure by CBP in Mexico's territorial sea labelled international",
            seizure(
                "US.CBP",
                Some(place(Some("international"), Waters, Some(MX_SEA))),
                "at sea",
            ),
            Refused(&[MISREPRESENTED, TERRITORIAL]),
        ),
        row(
            "joint investigation listing special operations, no task",
            joint(
                &["US.FBI", "US.SOCOM"],
                vec![act("US.FBI", Intelligence, false, vec![mx_at("US-TX")])],
            ),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "joint investigation with raids in Sinaloa",
            joint(
                &["US.DOD"],
                vec![act("US.DOD", Raid, true, vec![mx_at("MX-SIN")])],
            ),
            Refused(&[FORCES, FORCE_USED, TERRITORIAL]),
        ),
        row(
            "joint investigation with FBI agents investigating in Sonora",
            joint(
                &["US.FBI", "MX.FGR"],
                vec![
                    act("US.FBI", Intelligence, false, vec![mx_at("MX-SON")]),
                    act("MX.FGR", Intelligence, false, vec![mx_at("MX-SON")]),
                ],
            ),
            Refused(&[TERRITORIAL]),
        ),
        // The territory is what the node establishes.
        row(
            "operation: strike on Culiacán labelled international",
            operation(vec![act(
                "US.DOD",
                Strike,
                false,
                vec![place(Some("international"), Land, Some(CULIACAN))],
            )]),
            Refused(&[MISREPRESENTED, FORCE_USED]),
        ),
        row(
            "operation: interdiction in Mexico's 12 nm sea labelled international",
            operation(vec![act(
                "US.USCG",
                Interdiction,
                true,
                vec![place(Some("international"), Waters, Some(MX_SEA))],
            )]),
            Refused(&[MISREPRESENTED, FORCES]),
        ),
        row(
            "operation: flight over Mexico's 12 nm sea labelled international airspace",
            operation(vec![act(
                "US.DOD",
                Surveillance,
                false,
                vec![place(Some("international"), Airspace, Some(MX_SEA))],
            )]),
            Refused(&[MISREPRESENTED, FORCES]),
        ),
        row(
            "operation: a point in Sonora labelled Guatemala",
            operation(vec![act(
                "US.DEA",
                Arrest,
                true,
                vec![place(Some("GT"), Land, Some(SONORA_40KM))],
            )]),
            Refused(&[MISREPRESENTED, FORCES]),
        ),
        row(
            "operation: MX-SIN labelled US",
            operation(vec![act(
                "US.DEA",
                Surveillance,
                false,
                vec![place(Some("US"), Land, Some("MX-SIN"))],
            )]),
            Refused(&[MISREPRESENTED, TERRITORIAL]),
        ),
        row(
            "operation: Mexican waters labelled Cuba",
            operation(vec![act(
                "US.USCG",
                Interdiction,
                false,
                vec![place(Some("CU"), Waters, Some(MX_SEA))],
            )]),
            Refused(&[MISREPRESENTED]),
        ),
        row(
            "operation: the named place culiacan labelled US",
            operation(vec![act(
                "US.DEA",
                Arrest,
                true,
                vec![place(Some("US"), Land, Some("culiacan"))],
            )]),
            Refused(&[MISREPRESENTED, FORCES]),
        ),
        row(
            "operation: geo: notation of Monterrey labelled US",
            operation(vec![act(
                "US.FBI",
                Arrest,
                true,
                vec![place(Some("US"), Land, Some("geo:25.6866,-100.3161"))],
            )]),
            Refused(&[MISREPRESENTED, FORCES]),
        ),
        row(
            "operation: no label, coordinates in Mexico",
            operation(vec![act("US.DEA", Arrest, false, vec![mx_at(MONTERREY)])]),
            Refused(&[TERRITORIAL]),
        ),
        row(
            "operation: a US-labelled strike with no notation",
            operation(vec![act(
                "US.DOD",
                Strike,
                false,
                vec![place(Some("US"), Land, None)],
            )]),
            Refused(&[FORCE_USED]),
        ),
        row(
            "operation: an armed patrol labelled US with no notation",
            operation(vec![act(
                "US.CBP",
                Patrol,
                true,
                vec![place(Some("US"), Land, None)],
            )]),
            Refused(&[FORCES]),
        ),
        row(
            "operation: strike on a vessel in Mexico's EEZ",
            operation(vec![act(
                "US.DOD",
                Strike,
                false,
                vec![place(Some("international"), Waters, Some(MX_EEZ))],
            )]),
            Refused(&[MARITIME]),
        ),
        row(
            "operation: strike on a vessel in Mexico's contiguous zone",
            operation(vec![act(
                "US.DOD",
                Strike,
                false,
                vec![place(Some("international"), Waters, Some(MX_CONTIGUOUS))],
            )]),
            Refused(&[MARITIME]),
        ),
        // Foreign personnel inside a Mexican agency's task.
        row(
            "SEMAR task with armed US special forces inside",
            operation(vec![with_participant(
                act("MX.SEMAR", Interdiction, true, vec![mx_at(MX_SEA)]),
                "US.SOCOM",
                true,
            )]),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "Defensa raid with unarmed DEA agents inside",
            operation(vec![with_participant(
                act("MX.DEFENSA", Raid, true, vec![mx_at("MX-SIN")]),
                "US.DEA",
                false,
            )]),
            Refused(&[FORCE_USED, TERRITORIAL]),
        ),
        row(
            "Guardia Nacional patrol with unarmed CBP officers inside",
            operation(vec![with_participant(
                act("MX.GN", Patrol, true, vec![mx_at("MX-SON")]),
                "US.CBP",
                false,
            )]),
            Refused(&[TERRITORIAL]),
        ),
        row(
            "FGR arrest with armed FBI agents inside",
            operation(vec![with_participant(
                act("MX.FGR", Arrest, false, vec![mx_at("MX-CMX")]),
                "US.FBI",
                true,
            )]),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "SEMAR task with contractors unknown to our registry",
            operation(vec![with_participant(
                act("MX.SEMAR", Patrol, true, vec![mx_at(MX_SEA)]),
                "US.CONTRACTOR",
                false,
            )]),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "seizure reported inside an alert, by SEMAR with US marines",
            alert(
                vec![with_participant(
                    act("MX.SEMAR", Interdiction, true, vec![mx_at(MX_SEA)]),
                    "US.DOD",
                    true,
                )],
                "",
            ),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        // Cyber acts are judged where their effects land.
        row(
            "cyber operation from Arizona against servers in Mexico City",
            operation(vec![launched(
                act(
                    "US.DOD",
                    CyberOperation,
                    false,
                    vec![place(Some("MX"), Cyber, Some("MX-CMX"))],
                ),
                place(Some("US"), Land, Some("US-AZ")),
            )]),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "cyber operation against Monterrey servers labelled US",
            operation(vec![act(
                "US.FBI",
                CyberOperation,
                false,
                vec![place(Some("US"), Cyber, Some(MONTERREY))],
            )]),
            Refused(&[MISREPRESENTED, TERRITORIAL]),
        ),
        row(
            "cyber operation by an agency unknown to us, target not said",
            operation(vec![act(
                "US.NSA",
                CyberOperation,
                false,
                vec![place(None, Cyber, None)],
            )]),
            Refused(&[FORCES, TERRITORIAL]),
        ),
        row(
            "cyber operation announced in a notification, effects in Sinaloa",
            notify(
                MeasureKind::ExecutiveOrder,
                vec![act(
                    "US.CIA",
                    CyberOperation,
                    false,
                    vec![place(None, Cyber, Some("MX-SIN"))],
                )],
                "",
            ),
            Refused(&[TERRITORIAL]),
        ),
        // Presence is not acting; acting is refused.
        row(
            "an unarmed DEA liaison at the embassy",
            operation(vec![act("US.DEA", Liaison, false, vec![mx_at("cdmx")])]),
            Officer,
        ),
        row(
            "an unarmed defence attaché",
            operation(vec![act("US.DOD", Liaison, false, vec![mx_at("cdmx")])]),
            Officer,
        ),
        row(
            "an unarmed State Department liaison, in a notification",
            notify(
                MeasureKind::ExecutiveOrder,
                vec![act("US.STATE", Liaison, false, vec![mx_at("cdmx")])],
                "",
            ),
            Officer,
        ),
        row(
            "an unarmed liaison inside an FGR task",
            operation(vec![with_participant(
                act("MX.FGR", Intelligence, false, vec![mx_at("cdmx")]),
                "US.FBI",
                false,
            )]),
            Refused(&[TERRITORIAL]),
        ),
        row(
            "an armed liaison",
            operation(vec![act("US.DEA", Liaison, true, vec![mx_at("cdmx")])]),
            Refused(&[FORCES]),
        ),
        row(
            "a liaison flagged as using force",
            operation(vec![kinetic(act(
                "US.DEA",
                Liaison,
                false,
                vec![mx_at("cdmx")],
            ))]),
            Refused(&[FORCE_USED, TERRITORIAL]),
        ),
        row(
            "a 'liaison' who arrests",
            operation(vec![act("US.DEA", Arrest, false, vec![mx_at("cdmx")])]),
            Refused(&[TERRITORIAL]),
        ),
        // Free text never carries consent.
        row(
            "an honest operation whose description announces troops crossing",
            operation(vec![described(
                act("US.CBP", Patrol, true, vec![mx_at("US-AZ")]),
                "then our troops cross the border into Sonora",
            )]),
            Officer,
        ),
        row(
            "an information request that speaks of raids in Sinaloa",
            {
                let mut p = information_request();
                if let ProposalBody::InformationRequest(r) = &mut p.body {
                    r.questions.push("which houses in Culiacán to raid".into());
                }
                p
            },
            Officer,
        ),
        row(
            "an honest seizure whose place text speaks of a raid in Tijuana",
            seizure(
                "US.CBP",
                Some(place(Some("US"), Land, Some("san-diego"))),
                "after marines raided a house in Tijuana",
            ),
            Officer,
        ),
        row(
            "an honest alert whose details speak of crossing into Mexico with agents armados",
            alert(
                vec![act("US.CBP", Inspection, true, vec![mx_at("US-AZ")])],
                "agentes armados cruzarán la frontera",
            ),
            Officer,
        ),
        // Legitimate cooperation that must not be refused.
        row(
            "alert: CBP inspects at its own port",
            alert(
                vec![act(
                    "US.CBP",
                    Inspection,
                    true,
                    vec![place(Some("US"), Land, Some("US-AZ"))],
                )],
                "40 rifles in a false floor",
            ),
            Stands(Verdict::Allow),
        ),
        row(
            "alert: plain details, no acts",
            alert(
                vec![],
                "Believed to carry 40 rifles concealed in a false floor",
            ),
            Stands(Verdict::Allow),
        ),
        row(
            "notification: an executive order with no acts",
            notification(),
            Stands(Verdict::Allow),
        ),
        row(
            "notification: a strike on the high seas",
            notify(
                MeasureKind::UseOfForce,
                vec![act(
                    "US.DOD",
                    Strike,
                    false,
                    vec![place(Some("international"), Waters, Some(HIGH_SEAS))],
                )],
                "",
            ),
            Stands(Verdict::Allow),
        ),
        row(
            "seizure by CBP in Arizona",
            seizure(
                "US.CBP",
                Some(place(Some("US"), Land, Some("US-AZ"))),
                "Nogales, Arizona",
            ),
            Stands(Verdict::Allow),
        ),
        row(
            "seizure by CBP at El Paso, as a named place",
            seizure(
                "US.CBP",
                Some(place(None, Land, Some("el-paso"))),
                "El Paso",
            ),
            Stands(Verdict::Allow),
        ),
        row(
            "joint investigation, each side on its own side",
            joint(
                &["US.FBI", "MX.FGR"],
                vec![
                    act("US.FBI", Intelligence, true, vec![mx_at("US-TX")]),
                    act("MX.FGR", Intelligence, false, vec![mx_at("MX-SON")]),
                ],
            ),
            Stands(Verdict::Review),
        ),
        row(
            "mirror patrols",
            operation(vec![
                act("MX.GN", Patrol, true, vec![mx_at("MX-SON")]),
                act("US.CBP", Patrol, true, vec![mx_at("US-AZ")]),
            ]),
            Stands(Verdict::Review),
        ),
        row(
            "SEMAR interdiction, armed, in Mexican waters",
            operation(vec![kinetic(act(
                "MX.SEMAR",
                Interdiction,
                true,
                vec![mx_at(MX_SEA)],
            ))]),
            Stands(Verdict::Review),
        ),
        row(
            "US surveillance flight in international airspace over Mexico's EEZ",
            operation(vec![act(
                "US.DOD",
                Surveillance,
                false,
                vec![place(Some("international"), Airspace, Some(MX_EEZ))],
            )]),
            Stands(Verdict::Review),
        ),
        row(
            "US Coast Guard boarding (no force) in Mexico's EEZ",
            operation(vec![act(
                "US.USCG",
                Interdiction,
                true,
                vec![place(Some("international"), Waters, Some(MX_EEZ))],
            )]),
            Stands(Verdict::Review),
        ),
        row(
            "FBI cyber operation against servers in Texas",
            operation(vec![act(
                "US.FBI",
                CyberOperation,
                false,
                vec![place(Some("US"), Cyber, Some("houston"))],
            )]),
            Stands(Verdict::Review),
        ),
        row(
            "SSPC task with Guardia Nacional inside",
            operation(vec![with_participant(
                act("MX.SSPC", Arrest, true, vec![mx_at("MX-JAL")]),
                "MX.GN",
                true,
            )]),
            Stands(Verdict::Review),
        ),
        row(
            "an information request",
            information_request(),
            Stands(Verdict::Review),
        ),
        row(
            "DEA arrests in Guatemala, labelled Guatemala",
            operation(vec![act(
                "US.DEA",
                Arrest,
                true,
                vec![place(Some("GT"), Land, Some(GUATEMALA))],
            )]),
            Stands(Verdict::Review),
        ),
        row(
            "CBP patrol in US waters off Texas",
            operation(vec![act(
                "US.CBP",
                Patrol,
                true,
                vec![place(Some("US"), Waters, Some("29.15,-94.75"))],
            )]),
            Stands(Verdict::Review),
        ),
    ]
}

fn cited(decision: &PolicyDecision) -> Vec<&str> {
    decision
        .reasons
        .iter()
        .filter(|r| r.layer == Some(Layer::Constitutional))
        .filter_map(|r| r.policy.as_deref())
        .collect()
}

#[test]
fn the_evasion_table_holds() {
    let rows = rows();
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    let shipped = engine();
    let permissive = engine_with(PERMIT_ALL);
    let mut failures = Vec::new();
    for row in &rows {
        let ours = shipped.decide(&row.proposal, &[]);
        let open = permissive.decide(&row.proposal, &[]);
        let problem = match &row.expect {
            Expect::Refused(ids) => {
                let missing: Vec<_> = ids
                    .iter()
                    .filter(|id| !cited(&ours).contains(id) || !cited(&open).contains(id))
                    .collect();
                (ours.verdict != Verdict::Refuse
                    || open.verdict != Verdict::Refuse
                    || !missing.is_empty())
                .then(|| format!("expected refusal citing {ids:?}, missing {missing:?}"))
            }
            Expect::Officer => (ours.verdict != Verdict::Review || open.verdict != Verdict::Review)
                .then(|| "expected an officer under both layers".to_owned()),
            Expect::Stands(v) => (ours.verdict != *v || open.verdict == Verdict::Refuse)
                .then(|| format!("expected {v:?}, never refused")),
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "{}: {problem}\n  shipped: {ours}\n  permit-all: {open}",
                row.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_misrepresentation_is_refused_with_its_reason() {
    let proposal = operation(vec![act(
        "US.DOD",
        TaskAction::Strike,
        false,
        vec![place(Some("international"), Domain::Land, Some(CULIACAN))],
    )]);
    let report = engine().eval(&proposal, &[]);
    let text = report.to_string();
    assert!(text.contains("CONTRADICTION"), "{text}");
    assert!(
        text.contains("labelled `international` but this node resolves it to MX land"),
        "{text}"
    );
    let reason = report
        .decision
        .reasons
        .iter()
        .find(|r| r.policy.as_deref() == Some(MISREPRESENTED))
        .unwrap();
    assert!(reason.text.contains("misrepresentation"), "{reason}");
}

#[test]
fn officers_see_the_passage_and_the_presence() {
    let report = engine().eval(
        &alert(
            vec![],
            "A CBP helicopter is pursuing the suspects 40 km into Mexico",
        ),
        &[],
    );
    assert_eq!(report.decision.verdict, Verdict::Review);
    let text = report.to_string();
    assert!(text.contains("`body.details`"), "{text}");
    assert!(
        text.contains("pursuing the suspects 40 km into Mexico"),
        "{text}"
    );
    let report = engine_with(PERMIT_ALL).eval(
        &operation(vec![act(
            "US.DEA",
            TaskAction::Liaison,
            false,
            vec![place(None, Domain::Land, Some("cdmx"))],
        )]),
        &[],
    );
    assert_eq!(report.decision.verdict, Verdict::Review);
    assert!(report.to_string().contains("presence only"), "{report}");
}

#[test]
fn intake_refuses_what_the_node_cannot_read_naming_the_field() {
    let engine = engine();
    let cases = [
        (
            place(Some("MX"), Domain::Land, Some("Culiacán, Sinaloa")),
            "body.tasks[0].locations[0].at",
        ),
        (
            place(Some("QQ"), Domain::Land, Some("MX-SIN")),
            "body.tasks[0].locations[0].territory",
        ),
        (
            place(Some("MX"), Domain::Land, Some("MX-ZZZ")),
            "body.tasks[0].locations[0].at",
        ),
        (
            place(None, Domain::Land, Some("atlantis")),
            "body.tasks[0].locations[0].at",
        ),
    ];
    for (location, field) in cases {
        let proposal = operation(vec![act(
            "US.DEA",
            TaskAction::Arrest,
            false,
            vec![location],
        )]);
        let e = engine.admit(&proposal).unwrap_err().to_string();
        assert!(e.starts_with(&format!("`{field}`")), "{e}");
        assert!(!e.contains('\n'), "{e}");
        // Never allowed even if it reached policy.
        assert_eq!(engine.decide(&proposal, &[]).verdict, Verdict::Refuse);
    }
    assert!(
        engine
            .admit(&operation(vec![act(
                "US.DEA",
                TaskAction::Arrest,
                false,
                vec![place(None, Domain::Land, Some("US-TX"))]
            )]))
            .is_ok()
    );
}
