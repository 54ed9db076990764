//! The red lines hold however a proposal is phrased: a table of evasions
//! that must be refused by the constitutional layer, a table of ordinary
//! cooperation it must not refuse, and the proof that no operational layer
//! (not even "permit everything") and no malformed proposal can get past it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use soberana_core::{
    AgencyKind, Domain, Outcome, PartyCode, PartyFile, ProposalBody, SeizureReport, TaskAction,
    Timestamp,
};
use soberana_policy::{Layer, PolicyDecision, Verdict};
use support::*;

const FORCES: &str = "mx.foreign-forces";
const FORCE_USED: &str = "mx.foreign-force-used";
const TERRITORIAL: &str = "mx.territorial";
const COMMAND: &str = "mx.command";

fn constitutional_ids(decision: &PolicyDecision) -> Vec<&str> {
    let mut ids: Vec<&str> = decision
        .reasons
        .iter()
        .filter(|r| r.layer == Some(Layer::Constitutional))
        .filter_map(|r| r.policy.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

struct Evasion {
    name: &'static str,
    tasks: Vec<soberana_core::Task>,
    /// The constitutional policies that must be among the determining ones.
    must_cite: &'static [&'static str],
}

fn evasions() -> Vec<Evasion> {
    let mut advisers = task("US.SOCOM", TaskAction::Advice, vec![land("MX")]);
    advisers.description = "a small team of advisers, unarmed, to train local units".into();

    let mut contractors = task("US.BLACKWATER", TaskAction::Logistics, vec![land("MX")]);
    contractors.armed = true;
    contractors.description = "private security contractors guarding a convoy".into();

    let mut special_forces = task("US.SOCOM", TaskAction::Raid, vec![land("MX")]);
    special_forces.under_command_of = Some(mx());
    special_forces.description = "special forces under Mexican command".into();

    // The flag says "not kinetic"; a strike is force by nature.
    let mut drone_in = task("US.DOD", TaskAction::Strike, vec![at("MX", Domain::Land)]);
    drone_in.launched_from = Some(at("US", Domain::Airspace));
    drone_in.description = "drone launched from Arizona at a lab in Sonora".into();

    let mut drone_out = task(
        "US.DOD",
        TaskAction::Surveillance,
        vec![at("international", Domain::Waters)],
    );
    drone_out.launched_from = Some(at("MX", Domain::Land));
    drone_out.description = "drone flown from a Mexican airstrip over the high seas".into();

    let mut patrol = task("US.CBP", TaskAction::Patrol, vec![land("US"), land("MX")]);
    patrol.armed = true;
    patrol.description = "joint patrol whose route crosses the border".into();

    let cutter = task(
        "US.USCG",
        TaskAction::Interdiction,
        vec![at("MX", Domain::Waters)],
    );

    let mut surveillance = task("US.DEA", TaskAction::Surveillance, vec![land("MX")]);
    surveillance.kinetic = true;

    let mut subordinated = task("MX.GN", TaskAction::Patrol, vec![land("MX")]);
    subordinated.under_command_of = Some(us());
    subordinated.description = "Mexican units under a US joint task force".into();

    let invented = task("MX.ASESORES", TaskAction::Advice, vec![land("MX")]);
    let third_party = task("GT.X", TaskAction::Training, vec![land("MX")]);
    let nowhere = task("US.DEA", TaskAction::Arrest, vec![]);
    let civilian = task("US.FINCEN", TaskAction::Intelligence, vec![land("MX")]);

    vec![
        Evasion {
            name: "advisers who are soldiers",
            tasks: vec![advisers],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "armed contractors, unknown to our registry",
            tasks: vec![contractors],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "special forces under Mexican command on Mexican soil",
            tasks: vec![special_forces],
            must_cite: &[FORCES, FORCE_USED, TERRITORIAL],
        },
        Evasion {
            name: "drone strike launched from outside at a target inside",
            tasks: vec![drone_in],
            must_cite: &[FORCES, FORCE_USED, TERRITORIAL],
        },
        Evasion {
            name: "drone launched from Mexican soil at a target outside",
            tasks: vec![drone_out],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "joint patrol whose route crosses the border",
            tasks: vec![patrol],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "coast guard cutter (an armed service) in Mexican waters",
            tasks: vec![cutter],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "surveillance flagged as using force",
            tasks: vec![surveillance],
            must_cite: &[FORCE_USED, TERRITORIAL],
        },
        Evasion {
            name: "Mexican units under US command on Mexican soil",
            tasks: vec![subordinated],
            must_cite: &[COMMAND],
        },
        Evasion {
            name: "an agency that claims to be Mexican but is not in our registry",
            tasks: vec![invented],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "a third party's unknown agency",
            tasks: vec![third_party],
            must_cite: &[FORCES, TERRITORIAL],
        },
        Evasion {
            name: "a task that does not say where it takes place",
            tasks: vec![nowhere],
            must_cite: &[TERRITORIAL],
        },
        Evasion {
            name: "an unarmed civilian agency acting on Mexican soil",
            tasks: vec![civilian],
            must_cite: &[TERRITORIAL],
        },
        Evasion {
            name: "a forbidden task hidden among allowed ones",
            tasks: vec![
                task("MX.GN", TaskAction::Patrol, vec![land("MX")]),
                task("US.CBP", TaskAction::Patrol, vec![land("US")]),
                task("US.NORTHCOM", TaskAction::Logistics, vec![land("MX")]),
            ],
            must_cite: &[FORCES, TERRITORIAL],
        },
    ]
}

#[test]
fn phrasing_cannot_evade_a_red_line() {
    for operational in [None, Some(PERMIT_ALL)] {
        let engine = match operational {
            None => engine(),
            Some(text) => engine_with(text),
        };
        for evasion in evasions() {
            for kind in ["coordinated_operation", "assistance_offer"] {
                let mut proposal = operation(evasion.tasks.clone());
                if kind == "assistance_offer"
                    && let ProposalBody::CoordinatedOperation(op) = proposal.body
                {
                    proposal.body = ProposalBody::AssistanceOffer(op);
                }
                let decision = engine.decide(&proposal, &[]);
                assert_eq!(
                    decision.verdict,
                    Verdict::Refuse,
                    "{} ({kind}) was not refused: {decision}",
                    evasion.name
                );
                let cited = constitutional_ids(&decision);
                for id in evasion.must_cite {
                    assert!(
                        cited.contains(id),
                        "{} ({kind}) does not cite `{id}`: {decision}",
                        evasion.name
                    );
                }
                // Refusals explain themselves: the reason cites the law and
                // names the offending task.
                let forces = decision
                    .reasons
                    .iter()
                    .find(|r| r.layer == Some(Layer::Constitutional))
                    .unwrap();
                assert!(!forces.tasks.is_empty(), "{}", evasion.name);
                assert_eq!(decision.outcome(), Some(Outcome::Refused));
            }
        }
    }
}

#[test]
fn the_law_is_cited_in_refusals() {
    let decision = engine().decide(
        &operation(vec![task("US.SOCOM", TaskAction::Advice, vec![land("MX")])]),
        &[],
    );
    let core = decision.core_reasons();
    let forces = core
        .iter()
        .find(|r| r.policy.as_deref() == Some(FORCES))
        .unwrap();
    assert!(forces.text.contains("Art. 76, fr. III"), "{}", forces.text);
    assert!(forces.text.contains("US.SOCOM"), "{}", forces.text);
}

#[test]
fn a_plan_split_across_two_proposals_is_judged_whole() {
    let engine = engine();
    let raid = operation(vec![task("US.SOCOM", TaskAction::Raid, vec![land("MX")])]);
    let mut second = notification();
    second.related_to = vec![raid.id];

    // Alone, an advance notification is acknowledged automatically...
    let alone = engine.decide(&notification(), &[]);
    assert_eq!(alone.verdict, Verdict::Allow, "{alone}");

    // ...but one tied to a raid on Mexican soil is refused with it,
    let together = engine.decide(&second, &[&raid]);
    assert_eq!(together.verdict, Verdict::Refuse, "{together}");
    let cited = constitutional_ids(&together);
    assert!(cited.contains(&FORCE_USED), "{together}");
    let reason = together
        .reasons
        .iter()
        .find(|r| r.policy.as_deref() == Some(FORCE_USED))
        .unwrap();
    assert!(
        reason.tasks[0].contains(&raid.id.to_string()),
        "{:?}",
        reason.tasks
    );

    // ...and one whose related proposal is withheld is refused as incomplete.
    let withheld = engine.decide(&second, &[]);
    assert_eq!(withheld.verdict, Verdict::Refuse, "{withheld}");
    assert!(
        withheld.reasons[0].text.contains("was not supplied"),
        "{withheld}"
    );

    // Split the other way: the harmless-looking half goes first, the
    // forbidden half second; each is refused when judged with the other.
    let first = operation(vec![task("MX.GN", TaskAction::Patrol, vec![land("MX")])]);
    let mut rest = operation(vec![task(
        "US.NORTHCOM",
        TaskAction::Logistics,
        vec![land("MX")],
    )]);
    rest.related_to = vec![first.id];
    assert_eq!(engine.decide(&rest, &[&first]).verdict, Verdict::Refuse);
}

#[test]
fn our_registry_wins_over_a_partners_card() {
    // The partner's own card calls its coast guard "customs"; this node never
    // reads it for kinds: only our registry decides what an agency is.
    let partner_card: PartyFile = toml::from_str(
        r#"
        [party]
        code = "US"
        name = "United States of America"
        [[agencies]]
        id = "US.USCG"
        name = "US Coast Guard"
        kind = "customs"
        "#,
    )
    .unwrap();
    assert_eq!(partner_card.agencies[0].kind, AgencyKind::Customs);

    let engine = engine();
    let proposal = operation(vec![task(
        "US.USCG",
        TaskAction::Inspection,
        vec![at("MX", Domain::Waters)],
    )]);
    let report = engine.eval(&proposal, &[]);
    assert_eq!(report.tasks[0].agency_kind, AgencyKind::Military);
    assert!(report.tasks[0].known_agency);
    assert_eq!(report.decision.verdict, Verdict::Refuse);
    assert!(constitutional_ids(&report.decision).contains(&FORCES));
    assert!(report.tasks[0].forbidden_by.contains(&FORCES.to_owned()));
}

#[test]
fn cooperation_that_stays_allowed_is_not_refused() {
    let mut mx_navy = task(
        "MX.SEMAR",
        TaskAction::Interdiction,
        vec![at("MX", Domain::Waters)],
    );
    mx_navy.armed = true;
    mx_navy.kinetic = true;
    mx_navy.under_command_of = Some(mx());
    let mut us_cbp = task("US.CBP", TaskAction::Patrol, vec![land("US")]);
    us_cbp.armed = true;
    let mut high_seas = task(
        "US.DOD",
        TaskAction::Strike,
        vec![at("international", Domain::Waters)],
    );
    high_seas.launched_from = Some(at("international", Domain::Airspace));

    let seizure = proposal(
        "US.CBP",
        ProposalBody::SeizureReport(SeizureReport {
            direction: soberana_core::FlowDirection::Southbound,
            commodity: "firearms".into(),
            quantity: 40,
            unit: "pieces".into(),
            place: "Nogales".into(),
            seized_on: Timestamp::now(),
            agency: soberana_core::AgencyId::new("US.CBP").unwrap(),
            location: Some(land("US")),
        }),
    );

    let cases: Vec<(&str, soberana_core::Proposal, Verdict)> = vec![
        (
            "information request",
            information_request(),
            Verdict::Review,
        ),
        (
            "Mexican agencies on Mexican soil",
            operation(vec![
                task("MX.GN", TaskAction::Patrol, vec![land("MX")]),
                mx_navy,
            ]),
            Verdict::Review,
        ),
        (
            "US agencies on US soil",
            operation(vec![
                us_cbp,
                task("US.DOD", TaskAction::Deployment, vec![land("US")]),
            ]),
            Verdict::Review,
        ),
        (
            "mirror patrols, each side on its own side",
            operation(vec![
                task("MX.GN", TaskAction::Patrol, vec![land("MX")]),
                task("US.CBP", TaskAction::Patrol, vec![land("US")]),
            ]),
            Verdict::Review,
        ),
        (
            "force outside every party's territory",
            operation(vec![high_seas]),
            Verdict::Review,
        ),
        ("advance notification", notification(), Verdict::Allow),
        ("seizure report", seizure, Verdict::Allow),
    ];
    let defaults = engine();
    let permissive = engine_with(PERMIT_ALL);
    for (name, proposal, expected) in cases {
        let decision = defaults.decide(&proposal, &[]);
        assert_eq!(decision.verdict, expected, "{name}: {decision}");
        assert!(
            constitutional_ids(&decision).is_empty(),
            "{name}: {decision}"
        );
        let decision = permissive.decide(&proposal, &[]);
        assert_eq!(decision.verdict, Verdict::Allow, "{name}: {decision}");
    }
}

#[test]
fn forbid_overrides_permit_even_one_written_for_the_case() {
    // An operator writes a permit aimed squarely at the red line.
    let engine = engine_with(
        r#"
        @id("op.welcome-advisers")
        @decision("allow")
        permit (principal, action == Soberana::Action::"coordinated_operation", resource)
        when { context.tasks_on_territory > 0 };
        @id("op.welcome-tasks")
        permit (principal, action == Soberana::Action::"task", resource);
        "#,
    );
    let decision = engine.decide(
        &operation(vec![task("US.SOCOM", TaskAction::Advice, vec![land("MX")])]),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Refuse, "{decision}");
    assert!(constitutional_ids(&decision).contains(&FORCES));
}

#[test]
fn default_operational_layer_routes_each_kind() {
    let engine = engine();
    let notification = engine.decide(&notification(), &[]);
    assert_eq!(notification.verdict, Verdict::Allow);
    assert_eq!(
        notification.reasons[0].policy.as_deref(),
        Some("op.notifications-acknowledged")
    );
    match notification.outcome() {
        Some(Outcome::AcceptedWithConditions { conditions }) => {
            assert!(conditions[0].contains("not consent"), "{conditions:?}")
        }
        other => panic!("{other:?}"),
    }
    let request = engine.decide(&information_request(), &[]);
    assert_eq!(request.verdict, Verdict::Review);
    assert_eq!(request.outcome(), None);
    assert!(
        request
            .to_core(information_request().id, mx(), Timestamp::now())
            .is_none()
    );
}

#[test]
fn with_no_permit_the_answer_is_no() {
    let engine = engine_with("// nothing is permitted\n");
    for proposal in [information_request(), notification()] {
        let decision = engine.decide(&proposal, &[]);
        assert_eq!(decision.verdict, Verdict::Refuse, "{decision}");
        assert!(decision.reasons[0].text.contains("no policy permits"));
    }
}

#[test]
fn malformed_or_partial_proposals_are_refused_even_under_permit_all() {
    let engine = engine_with(PERMIT_ALL);
    let mut no_purpose = information_request();
    no_purpose.purpose = "  ".into();
    let mut not_for_us = information_request();
    not_for_us.to = PartyCode::new("CA").unwrap();
    let mut no_tasks = operation(vec![]);
    no_tasks.legal_basis = "treaty".into();
    let mut wrong_requester = information_request();
    wrong_requester.requesting_agency = soberana_core::AgencyId::new("MX.FGR").unwrap();
    let mut no_place = operation(vec![task("MX.GN", TaskAction::Patrol, vec![])]);
    no_place.purpose = "patrol".into();
    for (name, proposal) in [
        ("no purpose", no_purpose),
        ("addressed to another party", not_for_us),
        ("an operation without tasks", no_tasks),
        ("requesting agency of another party", wrong_requester),
        ("a task without a place", no_place),
    ] {
        let decision = engine.decide(&proposal, &[]);
        assert_eq!(decision.verdict, Verdict::Refuse, "{name}: {decision}");
        assert!(
            decision
                .reasons
                .iter()
                .any(|r| r.text.contains("incomplete")),
            "{name}: {decision}"
        );
    }
}

#[test]
fn a_policy_that_errors_refuses() {
    // Overflows (an evaluation error) as soon as one task is on our
    // territory; Cedar would skip it, soberana refuses.
    let engine = engine_with(&format!(
        "{PERMIT_ALL}\n@id(\"op.overflowing\")\nforbid (principal, action == Soberana::Action::\"coordinated_operation\", resource)\nwhen {{ context.tasks_on_territory + 9223372036854775807 < 0 }};\n"
    ));
    let decision = engine.decide(
        &operation(vec![task("MX.GN", TaskAction::Patrol, vec![land("MX")])]),
        &[],
    );
    assert_eq!(decision.verdict, Verdict::Refuse, "{decision}");
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.policy.as_deref() == Some("op.overflowing")
                && r.text.contains("could not be evaluated")),
        "{decision}"
    );
}

#[test]
fn every_decision_carries_the_digest_of_both_layers() {
    let a = engine();
    let b = engine_with(PERMIT_ALL);
    let da = a.decide(&information_request(), &[]);
    let db = b.decide(&information_request(), &[]);
    assert_eq!(da.policy_digest, a.digest());
    assert_eq!(db.policy_digest, b.digest());
    assert_ne!(a.digest(), b.digest());
    assert_eq!(a.constitutional_digest(), b.constitutional_digest());
    let core = db
        .to_core(information_request().id, mx(), Timestamp::now())
        .unwrap();
    assert_eq!(core.policy_digest, b.digest().to_hex());
    assert_eq!(core.outcome, Outcome::Accepted);
}

#[test]
fn eval_reports_serialise_for_json_output() {
    let report = engine().eval(
        &operation(vec![task("US.SOCOM", TaskAction::Raid, vec![land("MX")])]),
        &[],
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["decision"]["verdict"], "refuse");
    assert_eq!(json["tasks"][0]["agency_kind"], "military");
    assert_eq!(
        json["decision"]["policy_digest"].as_str().unwrap().len(),
        64
    );
    let text = report.to_string();
    assert!(text.contains("decision: refuse"), "{text}");
    assert!(text.contains("mx.foreign-forces"), "{text}");
}

#[test]
fn a_us_node_mirrors_the_red_lines() {
    use soberana_policy::{PolicyEngine, pin, shipped_constitutional, shipped_operational};
    let constitutional = shipped_constitutional(us()).unwrap();
    let engine = PolicyEngine::load(
        us(),
        &registry(),
        Some(&constitutional),
        &pin(constitutional.bytes()),
        &shipped_operational(),
    )
    .unwrap();
    let mut semar = task(
        "MX.SEMAR",
        TaskAction::Patrol,
        vec![at("US", Domain::Waters)],
    );
    semar.armed = true;
    let mut into_us = proposal(
        "MX.SEMAR",
        ProposalBody::CoordinatedOperation(soberana_core::CoordinatedOperation {
            name: "patrol".into(),
            summary: "patrol".into(),
            tasks: vec![semar],
        }),
    );
    into_us.to = us();
    let decision = engine.decide(&into_us, &[]);
    assert_eq!(decision.verdict, Verdict::Refuse, "{decision}");
    assert!(constitutional_ids(&decision).contains(&"us.foreign-forces"));
}
