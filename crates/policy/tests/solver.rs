//! Solver-backed proof of the red lines, over the schema rather than over
//! samples: Cedar's symbolic compiler (`cedar-policy-symcc`) turns the
//! policies into SMT and the cvc5 solver checks the statements for every
//! well-typed task request and entity store.
//!
//! Statement proved, for each shipped constitutional layer: for every
//! request of the `task` action (one per act, of every kind of proposal) in
//! which a foreign agency acts — not merely is present as an unarmed
//! liaison — on our territory as our own geography establishes it, some
//! constitutional `forbid` is satisfied (and none errors); and each specific
//! rule (foreign forces, foreign force, foreign command, a misrepresented
//! place, foreign force in our contiguous zone or EEZ) holds on its own.
//! What the facts are (places resolved, labels compared) is computed before
//! Cedar and tested by the evasion table and the invariance property; the
//! proof covers every combination of those facts.
//! Because in Cedar a satisfied forbid denies whatever else the set holds,
//! no operational layer can allow such a request. The proof is made by
//! adding the strongest possible permit — one that permits exactly those
//! requests — and checking that the set still always denies.
//!
//! Needs the `solver` feature and a cvc5 binary (`apt-get install cvc5`, or
//! the `CVC5` environment variable naming one):
//! `cargo test -p soberana-policy --features solver --test solver`.

#![cfg(feature = "solver")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use cedar_policy::{Policy, PolicyId, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::{
    CedarSymCompiler, CompiledPolicy, CompiledPolicySet, solver::LocalSolver,
};
use soberana_core::PartyCode;
use soberana_policy::{schema, shipped_constitutional};

const FOREIGN_ON_TERRITORY: &str =
    "context.task.on_territory && context.task.agency_party != resource.party";
const ACTING: &str = "!context.task.presence";

fn task_env(schema: &Schema) -> RequestEnv {
    schema
        .request_envs()
        .find(|env| env.action().id().unescaped() == "task")
        .expect("the schema has a `task` action")
}

/// The constitutional layer of `party`, each policy under its `@id`.
fn constitution(party: &str) -> Vec<Policy> {
    let file = shipped_constitutional(PartyCode::new(party).unwrap()).unwrap();
    let set = PolicySet::from_str(std::str::from_utf8(file.bytes()).unwrap()).unwrap();
    set.policies()
        .map(|p| p.new_id(PolicyId::new(p.annotation("id").unwrap())))
        .collect()
}

fn permit_when(condition: &str) -> Policy {
    Policy::parse(
        Some(PolicyId::new("probe")),
        format!(
            "permit (principal, action == Soberana::Action::\"task\", resource is Soberana::Territory) when {{ {condition} }};"
        ),
    )
    .unwrap()
}

fn set(policies: impl IntoIterator<Item = Policy>) -> PolicySet {
    PolicySet::from_policies(policies).unwrap()
}

struct Prover {
    schema: Schema,
    env: RequestEnv,
    compiler: CedarSymCompiler<LocalSolver>,
}

impl Prover {
    fn new() -> Self {
        let schema = schema().unwrap();
        let env = task_env(&schema);
        let solver = LocalSolver::cvc5().expect("cvc5 is installed (apt-get install cvc5)");
        Self {
            schema,
            env,
            compiler: CedarSymCompiler::new(solver).unwrap(),
        }
    }

    async fn always_denies(&mut self, policies: &PolicySet) -> bool {
        let compiled = CompiledPolicySet::compile(policies, &self.env, &self.schema).unwrap();
        self.compiler
            .check_always_denies_opt(&compiled)
            .await
            .unwrap()
    }

    async fn never_errors(&mut self, policy: &Policy) -> bool {
        let compiled = CompiledPolicy::compile(policy, &self.env, &self.schema).unwrap();
        self.compiler
            .check_never_errors_opt(&compiled)
            .await
            .unwrap()
    }
}

fn by_suffix(policies: &[Policy], suffix: &str) -> Policy {
    policies
        .iter()
        .find(|p| p.id().to_string().ends_with(suffix))
        .unwrap()
        .clone()
}

async fn prove(party: &str) {
    let mut prover = Prover::new();
    let constitution = constitution(party);
    assert_eq!(constitution.len(), 6, "{party}");

    for policy in &constitution {
        assert!(
            prover.never_errors(policy).await,
            "{party}: {} can error",
            policy.id()
        );
    }

    // The whole layer: no foreign agency acts on our territory.
    let mut whole = constitution.clone();
    whole.push(permit_when(&format!("{FOREIGN_ON_TERRITORY} && {ACTING}")));
    assert!(
        prover.always_denies(&set(whole)).await,
        "{party}: territorial"
    );

    // Each specific rule holds on its own, so no other rule's wording is
    // needed for it: foreign military or armed personnel...
    let forces = vec![
        by_suffix(&constitution, ".foreign-forces"),
        permit_when(&format!(
            "{FOREIGN_ON_TERRITORY} && ((context.task.agency_kind == Soberana::AgencyKind::\"military\" && {ACTING}) || context.task.armed)"
        )),
    ];
    assert!(prover.always_denies(&set(forces)).await, "{party}: forces");
    // ...and a place whose label our geography contradicts...
    let misrepresented = vec![
        by_suffix(&constitution, ".misrepresented-place"),
        permit_when("context.task.misrepresented"),
    ];
    assert!(
        prover.always_denies(&set(misrepresented)).await,
        "{party}: misrepresented"
    );
    // ...and foreign force in our contiguous zone or EEZ...
    let maritime = vec![
        by_suffix(&constitution, ".maritime-force"),
        permit_when(
            "context.task.maritime_zone && context.task.agency_party != resource.party && context.task.kinetic",
        ),
    ];
    assert!(
        prover.always_denies(&set(maritime)).await,
        "{party}: maritime"
    );
    // ...and foreign force, wherever it is launched from.
    let force = vec![
        by_suffix(&constitution, ".foreign-force-used"),
        permit_when(&format!("{FOREIGN_ON_TERRITORY} && context.task.kinetic")),
    ];
    assert!(prover.always_denies(&set(force)).await, "{party}: force");
    // ...and nothing on our territory under another party's command.
    let command = vec![
        by_suffix(&constitution, ".command"),
        permit_when(
            "context.task.on_territory && context.task.under_command_of != \"\" && context.task.under_command_of != resource.party",
        ),
    ];
    assert!(
        prover.always_denies(&set(command)).await,
        "{party}: command"
    );

    // And the layer is not vacuous: each party acting on its own territory,
    // and anyone acting off our territory, can still be permitted.
    for allowed in [
        "context.task.agency_party == resource.party && !context.task.misrepresented",
        "!context.task.on_territory && !context.task.maritime_zone && !context.task.misrepresented",
        // Accredited, unarmed presence is for an officer, not refused.
        "context.task.presence && !context.task.armed && !context.task.kinetic && !context.task.misrepresented && context.task.under_command_of == \"\"",
    ] {
        let mut probe = constitution.clone();
        probe.push(permit_when(allowed));
        assert!(
            !prover.always_denies(&set(probe)).await,
            "{party}: `{allowed}` is forbidden too"
        );
    }
}

/// The prover is not vacuous: a red line weakened by one clause (armed
/// personnel left out) is caught, with a counterexample behind the answer.
async fn weakened_rule_is_caught() {
    let mut prover = Prover::new();
    let file = shipped_constitutional(PartyCode::new("MX").unwrap()).unwrap();
    let text = std::str::from_utf8(file.bytes())
        .unwrap()
        .replace(" ||\n   context.task.armed)", ")");
    assert_ne!(text, std::str::from_utf8(file.bytes()).unwrap());
    let weakened: Vec<Policy> = PolicySet::from_str(&text)
        .unwrap()
        .policies()
        .map(|p| p.new_id(PolicyId::new(p.annotation("id").unwrap())))
        .collect();
    let forces = vec![
        by_suffix(&weakened, ".foreign-forces"),
        permit_when(&format!(
            "{FOREIGN_ON_TERRITORY} && ((context.task.agency_kind == Soberana::AgencyKind::\"military\" && {ACTING}) || context.task.armed)"
        )),
    ];
    assert!(!prover.always_denies(&set(forces)).await);
}

#[test]
fn red_lines_hold_for_every_well_typed_task_request() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        prove("MX").await;
        prove("US").await;
        weakened_rule_is_caught().await;
    });
}
