//! Invariance: the same act gets the same verdict however it is expressed —
//! through any kind of proposal that can carry it, with an honest label or
//! none, in any accepted place notation — and a dishonest label is always
//! refused as a misrepresentation, on top of whatever the act itself meets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use soberana_core::{
    AdvanceNotification, AgencyId, BorderAlert, CoordinatedOperation, Domain, FlowDirection,
    JointInvestigation, Location, MeasureKind, Participant, Proposal, ProposalBody, SeizureReport,
    Task, TaskAction, Territory, Timestamp,
};
use soberana_policy::{Layer, PolicyDecision, PolicyEngine, Verdict};
use support::*;

/// A place, its notations (all resolving to the same fact), the honest
/// label and dishonest ones.
struct Place {
    domain: Domain,
    notations: &'static [&'static str],
    honest: &'static str,
    dishonest: &'static [&'static str],
}

const PLACES: &[Place] = &[
    Place {
        domain: Domain::Land,
        notations: &[
            "24.8091,-107.3940",
            "geo:24.8091,-107.394",
            "culiacan",
            "MX-SIN",
        ],
        honest: "MX",
        dishonest: &["US", "international", "GT"],
    },
    Place {
        domain: Domain::Land,
        notations: &["31.7900,-106.4400", "geo:31.79,-106.44", "el-paso", "US-TX"],
        honest: "US",
        dishonest: &["MX", "international"],
    },
    Place {
        domain: Domain::Waters,
        notations: &["23.20,-106.50", "geo:23.2,-106.5"],
        honest: "MX",
        dishonest: &["international", "US"],
    },
    Place {
        domain: Domain::Waters,
        notations: &["22.30,-107.60", "geo:22.3,-107.6"],
        honest: "international",
        dishonest: &["MX", "US"],
    },
    Place {
        domain: Domain::Airspace,
        notations: &["10,-130", "geo:10.0,-130.0"],
        honest: "international",
        dishonest: &["MX"],
    },
];

const AGENCIES: [&str; 8] = [
    "US.DOD",
    "US.DEA",
    "US.CBP",
    "US.FINCEN",
    "US.STATE",
    "US.CONTRACTOR",
    "MX.SEMAR",
    "MX.FGR",
];

fn permissive() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| engine_with(PERMIT_ALL))
}

fn label(text: Option<&str>) -> Option<Territory> {
    text.map(|l| serde_json::from_value(serde_json::json!(l)).unwrap())
}

/// Every way of carrying `act` in a proposal from the US to Mexico.
fn expressions(act: &Task) -> Vec<(&'static str, Proposal)> {
    let op = CoordinatedOperation {
        name: "n".into(),
        summary: "s".into(),
        tasks: vec![act.clone()],
    };
    let mut out = vec![
        (
            "operation",
            proposal("US.DOD", ProposalBody::CoordinatedOperation(op.clone())),
        ),
        (
            "assistance offer",
            proposal("US.DOD", ProposalBody::AssistanceOffer(op)),
        ),
        (
            "joint investigation",
            proposal(
                "US.FBI",
                ProposalBody::JointInvestigation(JointInvestigation {
                    case_title: "c".into(),
                    summary: "s".into(),
                    agencies: vec![act.agency.clone()],
                    tasks: vec![act.clone()],
                    ends: None,
                    members: Vec::new(),
                }),
            ),
        ),
        (
            "border alert",
            proposal(
                "US.CBP",
                ProposalBody::BorderAlert(BorderAlert {
                    crossing: "c".into(),
                    direction: FlowDirection::Southbound,
                    subject: "s".into(),
                    details: String::new(),
                    acts: vec![act.clone()],
                }),
            ),
        ),
        (
            "advance notification",
            proposal(
                "US.STATE",
                ProposalBody::AdvanceNotification(AdvanceNotification {
                    measure: MeasureKind::UseOfForce,
                    title: "t".into(),
                    summary: "s".into(),
                    effective: Timestamp::now(),
                    targets: Vec::new(),
                    assurances: Vec::new(),
                    evidence: Vec::new(),
                    acts: vec![act.clone()],
                    exhibits: Vec::new(),
                }),
            ),
        ),
    ];
    // As personnel inside a Mexican civilian agency's task.
    let mut host = task("MX.SSPC", act.action, act.locations.clone());
    host.kinetic = act.kinetic;
    host.participants.push(Participant {
        agency: act.agency.clone(),
        armed: act.armed,
        personnel: 3,
    });
    out.push((
        "participant",
        proposal(
            "US.DOD",
            ProposalBody::CoordinatedOperation(CoordinatedOperation {
                name: "n".into(),
                summary: "s".into(),
                tasks: vec![host],
            }),
        ),
    ));
    // A seizure is an unarmed interdiction without force.
    if act.action == TaskAction::Interdiction && !act.armed && !act.kinetic {
        out.push((
            "seizure report",
            proposal(
                "US.CBP",
                ProposalBody::SeizureReport(SeizureReport {
                    direction: FlowDirection::Southbound,
                    commodity: "c".into(),
                    quantity: 1,
                    unit: "kg".into(),
                    place: String::new(),
                    seized_on: Timestamp::now(),
                    agency: act.agency.clone(),
                    location: act.locations.first().cloned(),
                }),
            ),
        ));
    }
    out
}

/// The constitutional verdict: refused or not, the red lines met (other
/// than misrepresentation), and whether a misrepresentation was found.
fn verdict(d: &PolicyDecision) -> (Verdict, BTreeSet<String>, bool) {
    let mut lines: BTreeSet<String> = d
        .reasons
        .iter()
        .filter(|r| r.layer == Some(Layer::Constitutional))
        .filter_map(|r| r.policy.clone())
        .collect();
    let misrepresented = lines.remove("mx.misrepresented-place");
    (d.verdict, lines, misrepresented)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_same_act_gets_the_same_verdict_however_expressed(
        agency in 0..AGENCIES.len(),
        action in 0..TaskAction::ALL.len(),
        armed in any::<bool>(),
        kinetic in any::<bool>(),
        place in 0..PLACES.len(),
    ) {
        let place = &PLACES[place];
        let act_at = |notation: &str, territory: Option<&str>| {
            let mut t = task(
                AGENCIES[agency],
                TaskAction::ALL[action],
                vec![Location {
                    territory: label(territory),
                    domain: place.domain,
                    place: String::new(),
                    at: Some(notation.to_owned()),
                }],
            );
            t.armed = armed;
            t.kinetic = kinetic;
            t
        };
        let reference = permissive().decide(&operation(vec![act_at(place.notations[0], None)]), &[]);
        let (expected, lines, misrepresented) = verdict(&reference);
        prop_assert!(!misrepresented, "{}", reference);
        for notation in place.notations {
            for territory in [None, Some(place.honest)] {
                for (kind, proposal) in expressions(&act_at(notation, territory)) {
                    let d = permissive().decide(&proposal, &[]);
                    prop_assert_eq!(
                        verdict(&d),
                        (expected, lines.clone(), false),
                        "{} at `{}` labelled {:?}: {}\nreference: {}",
                        kind, notation, territory, d, reference
                    );
                }
            }
            for territory in place.dishonest {
                for (kind, proposal) in expressions(&act_at(notation, Some(territory))) {
                    let d = permissive().decide(&proposal, &[]);
                    prop_assert_eq!(
                        verdict(&d),
                        (Verdict::Refuse, lines.clone(), true),
                        "{} at `{}` labelled {}: {}",
                        kind, notation, territory, d
                    );
                }
            }
        }
    }
}

#[test]
fn every_agency_in_the_table_is_a_valid_id() {
    for a in AGENCIES {
        AgencyId::new(a).unwrap();
    }
    assert!(PLACES.iter().all(|p| p.notations.len() >= 2));
}
