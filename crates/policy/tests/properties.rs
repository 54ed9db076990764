//! Property tests: no generated proposal that puts a foreign agency —
//! military, armed, unknown, or using force — on our territory is ever
//! allowed, whatever the operational layer says (including "permit
//! everything"), whether the plan comes in one proposal or split across
//! related ones. And the converse, so the red lines are not simply "refuse
//! everything": a plan whose every task on our territory is done by our own
//! agencies is allowed by a permissive operational layer.
//!
//! The oracle here is written independently of the engine: "foreign" means
//! "not listed as one of Mexico's agencies in Mexico's registry".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use soberana_core::{
    AgencyId, Domain, Location, PartyCode, Proposal, ProposalBody, Registry, Task, TaskAction,
    Territory,
};
use soberana_policy::{PolicyEngine, Verdict};
use support::*;

const OPERATIONAL_LAYERS: [&str; 4] = [
    "",
    PERMIT_ALL,
    r#"@id("op.review-all")
@decision("review")
permit (principal, action, resource);
"#,
    r#"@id("op.welcome-operations")
@condition("none")
permit (principal, action in Soberana::Action::"proposal", resource)
when { context.tasks_on_territory > 0 || !context.complete };
@id("op.welcome-tasks")
permit (principal, action == Soberana::Action::"task", resource);
"#,
];

fn engines() -> &'static Vec<PolicyEngine> {
    static ENGINES: OnceLock<Vec<PolicyEngine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let mut all: Vec<PolicyEngine> =
            OPERATIONAL_LAYERS.iter().map(|t| engine_with(t)).collect();
        all.push(engine());
        all
    })
}

fn our_registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(registry)
}

const AGENCIES: [&str; 16] = [
    "MX.DEFENSA",
    "MX.GN",
    "MX.SEMAR",
    "MX.SSPC",
    "MX.FGR",
    "MX.UIF",
    "US.DOD",
    "US.SOCOM",
    "US.USCG",
    "US.DEA",
    "US.CBP",
    "US.FINCEN",
    "US.STATE",
    "US.CONTRACTOR",
    "MX.ASESORES",
    "GT.PNC",
];

const ACTIONS: [TaskAction; 12] = [
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
];

fn location() -> impl Strategy<Value = Location> {
    (
        prop_oneof![Just("MX"), Just("US"), Just("GT"), Just("international")],
        prop_oneof![
            Just(Domain::Land),
            Just(Domain::Waters),
            Just(Domain::Airspace)
        ],
    )
        .prop_map(|(t, d)| at(t, d))
}

fn any_task() -> impl Strategy<Value = Task> {
    (
        0..AGENCIES.len(),
        0..ACTIONS.len(),
        proptest::collection::vec(location(), 0..4),
        proptest::option::of(location()),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("MX"), Just("US")]),
    )
        .prop_map(
            |(agency, action, locations, launched_from, armed, kinetic, command)| {
                let mut t = task(AGENCIES[agency], ACTIONS[action], locations);
                t.launched_from = launched_from;
                t.armed = armed;
                t.kinetic = kinetic;
                t.under_command_of = command.map(|c| PartyCode::new(c).unwrap());
                t
            },
        )
}

fn is_ours(agency: &AgencyId) -> bool {
    our_registry()
        .agency(agency)
        .is_some_and(|a| a.id.party() == mx())
}

fn touches_mx(task: &Task) -> bool {
    let mx = Some(Territory::Of(mx()));
    task.locations.is_empty()
        || task.locations.iter().any(|l| l.territory == mx)
        || task
            .launched_from
            .as_ref()
            .is_some_and(|l| l.territory == mx)
}

/// The red line, stated without the engine: a foreign agency, or anyone
/// under foreign command, on our territory. (Military, armed or kinetic are
/// special cases of the first.)
fn crosses_red_line(task: &Task) -> bool {
    let foreign_command = task.under_command_of.is_some_and(|c| c != mx());
    foreign_on_our_territory(task) || (touches_mx(task) && foreign_command)
}

fn foreign_on_our_territory(task: &Task) -> bool {
    !is_ours(&task.agency) && touches_mx(task)
}

fn with_body(tasks: Vec<Task>, offer: bool) -> Proposal {
    let mut p = operation(tasks);
    if offer && let ProposalBody::CoordinatedOperation(op) = p.body {
        p.body = ProposalBody::AssistanceOffer(op);
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn no_foreign_presence_on_our_territory_is_ever_allowed(
        tasks in proptest::collection::vec(any_task(), 1..5),
        offer in any::<bool>(),
        split in 0usize..5,
    ) {
        let forbidden = tasks.iter().any(crosses_red_line);
        let military_armed_or_force = tasks.iter().any(|t| {
            foreign_on_our_territory(t)
                && (t.armed
                    || t.kinetic
                    || matches!(t.action, TaskAction::Strike | TaskAction::Raid)
                    || our_registry().kind_of(&t.agency).is_none_or(|k| k == soberana_core::AgencyKind::Military))
        });
        // One plan, either whole or split in two related proposals.
        let whole = with_body(tasks.clone(), offer);
        let cut = split.min(tasks.len());
        let (first, second) = tasks.split_at(cut);
        for engine in engines() {
            let decision = engine.decide(&whole, &[]);
            if forbidden {
                prop_assert_eq!(decision.verdict, Verdict::Refuse, "{}", decision);
                let constitutional = decision
                    .reasons
                    .iter()
                    .any(|r| r.layer == Some(soberana_policy::Layer::Constitutional));
                prop_assert!(constitutional, "{}", decision);
            }
            if military_armed_or_force {
                let cites = decision.reasons.iter().any(|r| {
                    matches!(r.policy.as_deref(), Some("mx.foreign-forces" | "mx.foreign-force-used"))
                });
                prop_assert!(cites, "{}", decision);
            }
            if !first.is_empty() && !second.is_empty() {
                let earlier = with_body(first.to_vec(), offer);
                let mut later = with_body(second.to_vec(), offer);
                later.related_to = vec![earlier.id];
                let decision = engine.decide(&later, &[&earlier]);
                if forbidden {
                    prop_assert_eq!(decision.verdict, Verdict::Refuse, "{}", decision);
                }
                // Withholding the earlier half never helps.
                prop_assert_eq!(engine.decide(&later, &[]).verdict, Verdict::Refuse);
            }
        }
    }

    #[test]
    fn each_party_acting_on_its_own_territory_is_not_refused(
        tasks in proptest::collection::vec(any_task(), 1..5),
    ) {
        let tasks: Vec<Task> = tasks
            .into_iter()
            .filter(|t| !t.locations.is_empty() && !crosses_red_line(t))
            .collect();
        prop_assume!(!tasks.is_empty());
        let permissive = &engines()[1];
        let decision = permissive.decide(&with_body(tasks, false), &[]);
        prop_assert_eq!(decision.verdict, Verdict::Allow, "{}", decision);
    }
}
