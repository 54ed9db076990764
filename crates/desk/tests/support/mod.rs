//! Shared fixtures for the desk's tests: two real nodes on loopback (MX and
//! US) with a small policy that sends every request to an officer, desks
//! with test officers, and a way to get an incoming proposal awaiting one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

pub mod client;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use soberana_core::{
    AgencyId, AgencyKind, Officer, OfficerId, PartyCode, ProposalDraft, ProposalId, ProposalKind,
    ProposalState, Reason, Role, Timestamp,
};
use soberana_desk::{Desk, DeskConfig, HashCost, Lang, NewOfficer, add_officer};
use soberana_node::{
    ActFacts, InitOptions, Node, PlaceFacts, PolicyVerdict, ProposalPolicy, Verdict, init,
};

/// The constitutional layer test nodes pin (the node checks only its pin;
/// the Cedar engine, not used here, would check its content).
pub const TEST_CONSTITUTIONAL: &str = "// red lines of a test node\n";
/// The password every test officer has.
pub const PASSWORD: &str = "correct horse battery";

/// Refuses assistance offers as a red line would, acknowledges
/// notifications, sends everything else to an officer.
pub struct TestPolicy;

impl ProposalPolicy for TestPolicy {
    fn evaluate(
        &self,
        proposal: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        let (verdict, policy, text, text_es) = match proposal.kind() {
            ProposalKind::AssistanceOffer => (
                Verdict::Refuse,
                "mx.foreign-forces",
                "no foreign armed forces on national territory",
                "ninguna fuerza armada extranjera en territorio nacional",
            ),
            ProposalKind::AdvanceNotification | ProposalKind::SeizureReport => (
                Verdict::Allow { conditions: vec![] },
                "op.notifications-acknowledged",
                "notifications are acknowledged",
                "las notificaciones se acusan de recibo",
            ),
            _ => (
                Verdict::Review,
                "op.data-requests-reviewed",
                "requests for data go to an officer",
                "las solicitudes de datos las decide un oficial",
            ),
        };
        PolicyVerdict {
            verdict,
            reasons: vec![Reason {
                policy: Some(policy.into()),
                text: text.into(),
                text_es: Some(text_es.into()),
            }],
            policy_digest: "22".repeat(32),
        }
    }

    /// Facts as a geography-aware policy would give them, with a
    /// contradiction and markup to be escaped.
    fn facts(&self, proposal: &soberana_core::Proposal) -> Vec<String> {
        vec![
            format!(
                "act: {} — <b>{}</b> on our territory, armed",
                proposal.kind().as_str(),
                proposal.requesting_agency
            ),
            "CONTRADICTION: the sender says `US`; the place is in MX-SON".into(),
        ]
    }

    /// One act per task, every place resolved to Culiacán, on MX land,
    /// with markup in the agency's name to be escaped.
    fn acts(&self, proposal: &soberana_core::Proposal) -> Vec<ActFacts> {
        proposal
            .body
            .tasks()
            .iter()
            .enumerate()
            .map(|(i, task)| ActFacts {
                origin: format!("task {}", i + 1),
                agency: format!("<b>{}</b>", task.agency),
                agency_kind: AgencyKind::Military,
                agency_party: task.agency.party().to_string(),
                known_agency: true,
                action: task.action.as_str().to_owned(),
                on_territory: true,
                armed: task.armed,
                kinetic: task.is_kinetic(),
                presence: false,
                places: vec![PlaceFacts {
                    said: "Culiacán, Sinaloa".into(),
                    sovereign: Some(PartyCode::new("MX").unwrap()),
                    established: Some("MX land (by named place culiacan)".into()),
                    point: Some((24.8, -107.39)),
                    contradiction: Some("the sender says `US`; the place is in MX-SIN".into()),
                }],
                forbidden_by: vec!["mx.foreign-forces".into()],
            })
            .collect()
    }

    fn digest(&self) -> String {
        "22".repeat(32)
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A node for `code` under `dir`.
pub fn make(dir: &Path, code: &str) -> Node {
    init(&InitOptions {
        party: soberana_core::PartyCode::new(code).unwrap(),
        dir: dir.join(code),
        listen: free_port(),
        endpoint: None,
        files: vec![(
            "policy/constitutional.cedar".into(),
            TEST_CONSTITUTIONAL.into(),
        )],
        constitutional_digest: soberana_node::constitutional_digest(TEST_CONSTITUTIONAL.as_bytes()),
        store: None,
    })
    .unwrap();
    Node::open(&dir.join(code), Arc::new(TestPolicy)).unwrap()
}

/// MX and US, each pinning the other.
pub fn pair(dir: &Path) -> (Node, Node) {
    let mx = make(dir, "MX");
    let us = make(dir, "US");
    mx.add_peer(&us.card().unwrap().to_text(), Path::new("us.card"))
        .unwrap();
    us.add_peer(&mx.card().unwrap().to_text(), Path::new("mx.card"))
        .unwrap();
    (mx, us)
}

/// A shipped example proposal, with a deadline three days from now.
pub fn example(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = Timestamp::now().plus_seconds(3 * 86_400 + 4 * 3_600);
    draft
}

/// A shipped example as the US would send it to MX (examples written for
/// MX are retargeted, their agency made a US one).
pub fn from_us(name: &str) -> ProposalDraft {
    let mut draft = example(name);
    draft.to = soberana_core::PartyCode::new("MX").unwrap();
    if draft.requesting_agency.party().as_str() != "US" {
        draft.requesting_agency = AgencyId::new("US.DEA").unwrap();
    }
    draft
}

/// Waits until `node` holds `id` in `state`.
pub async fn wait_state(node: &Node, id: ProposalId, state: ProposalState) {
    for _ in 0..400 {
        if node.show(id).map(|d| d.record.state).ok() == Some(state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let now = node.show(id).map(|d| d.record.state.to_string());
    panic!(
        "{} never saw {id} reach {state} (it is {now:?})",
        node.party()
    );
}

/// Desk settings for tests: cheap hashes, a short lock-out threshold.
pub fn test_config() -> DeskConfig {
    DeskConfig {
        lock_after_failures: 3,
        max_upload_bytes: 4 * 1024,
        hash_cost: HashCost::DangerTestOnly,
        ..DeskConfig::default()
    }
}

/// Adds an officer with [`PASSWORD`].
pub fn officer(desk: &Desk, id: &str, agency: &str, roles: &[Role], lang: Lang) {
    named(desk, id, &format!("Officer {id}"), agency, roles, lang);
}

/// Adds an officer with a name and [`PASSWORD`].
pub fn named(desk: &Desk, id: &str, name: &str, agency: &str, roles: &[Role], lang: Lang) {
    add_officer(
        desk.node(),
        NewOfficer {
            officer: Officer {
                id: OfficerId::new(id).unwrap(),
                name: name.to_owned(),
                agency: AgencyId::new(agency).unwrap(),
                roles: roles.to_vec(),
            },
            password: PASSWORD.into(),
            language: lang,
            utc_offset_minutes: -360,
            time_zone: String::new(),
        },
        HashCost::DangerTestOnly,
        "test",
    )
    .unwrap();
}

/// The MX desk's officers: two approvers, a liaison, an oversight officer.
pub fn mx_officers(desk: &Desk) {
    officer(desk, "ana", "MX.FGR", &[Role::Approver], Lang::En);
    officer(desk, "beto", "MX.FGR", &[Role::Approver], Lang::Es);
    officer(desk, "carla", "MX.FGR", &[Role::Liaison], Lang::En);
    officer(desk, "olga", "MX.FGR", &[Role::Oversight], Lang::En);
}
