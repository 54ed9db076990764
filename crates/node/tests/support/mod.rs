//! What the node's integration tests share: making nodes on loopback with a
//! test policy (and its verdicts), pinning them to each other, and waiting
//! for a state.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

pub mod case;
pub mod standing;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use soberana_core::{
    AgencyId, Officer, OfficerId, PartyCode, ProposalId, ProposalState, Reason, Role,
};
use soberana_node::{InitOptions, Node, PolicyVerdict, ProposalPolicy, Verdict, init};

/// The constitutional layer test nodes pin (the node checks only its pin;
/// the Cedar engine, not used here, would check its content).
pub const TEST_CONSTITUTIONAL: &str = "// red lines of a test node\n";
/// A test policy's verdict, with its one reason and the policy digest
/// `digest` (which the policy's `digest()` must return too).
pub fn test_verdict(verdict: Verdict, digest: &str) -> PolicyVerdict {
    PolicyVerdict {
        verdict,
        reasons: vec![Reason {
            policy: Some("test".into()),
            text: "test policy".into(),
            text_es: None,
        }],
        policy_digest: digest.to_owned(),
    }
}

/// A free port on loopback.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A party code.
pub fn party(code: &str) -> PartyCode {
    PartyCode::new(code).unwrap()
}

/// Makes the node of `code` in `dir/code`, deciding with `policy`.
pub fn make(dir: &Path, code: &str, policy: Arc<dyn ProposalPolicy>) -> Node {
    init(&InitOptions {
        party: party(code),
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
    Node::open(&dir.join(code), policy).unwrap()
}

/// An MX and a US node that have pinned each other's cards.
pub fn pair(dir: &Path, policy: impl Fn() -> Arc<dyn ProposalPolicy>) -> (Node, Node) {
    let mx = make(dir, "MX", policy());
    let us = make(dir, "US", policy());
    mx.add_peer(&us.card().unwrap().to_text(), Path::new("us.card"))
        .unwrap();
    us.add_peer(&mx.card().unwrap().to_text(), Path::new("mx.card"))
        .unwrap();
    (mx, us)
}

/// Registers officer `id` of `agency` on `node` with `roles` (no usable
/// password: these officers act through the node's API only).
pub fn register(node: &Node, id: &str, agency: &str, roles: &[Role]) -> OfficerId {
    let officer = OfficerId::new(id).unwrap();
    node.officers()
        .put_officer(
            soberana_store::OfficerAccount {
                officer: Officer {
                    id: officer.clone(),
                    name: format!("Officer {id}"),
                    agency: AgencyId::new(agency).unwrap(),
                    roles: roles.to_vec(),
                },
                password_hash: "$argon2id$none".into(),
                language: "es".into(),
                utc_offset_minutes: 0,
                time_zone: String::new(),
                failures: 0,
                locked_until: None,
            },
            "test",
        )
        .unwrap();
    officer
}

/// Waits up to 20 s for `check` to hold.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..800 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Where a proposal stands on `node`, if it holds it.
pub fn state(node: &Node, id: ProposalId) -> Option<ProposalState> {
    node.show(id).ok().map(|d| d.record.state)
}

/// The custody acts a node's log holds for `case`, each by its name and
/// event digest, refusals left out (a refusal is logged by the side that
/// refused, only).
pub fn case_acts_logged(
    node: &Node,
    case: soberana_case::CaseId,
) -> std::collections::BTreeSet<(String, [u8; 32])> {
    case_log(node, case)
        .into_iter()
        .filter(|(act, _)| act != "refused")
        .collect()
}

/// The event digests of [`case_acts_logged`].
pub fn case_digests_logged(
    node: &Node,
    case: soberana_case::CaseId,
) -> std::collections::BTreeSet<[u8; 32]> {
    case_acts_logged(node, case)
        .into_iter()
        .map(|(_, digest)| digest)
        .collect()
}

/// How many refusals of acts on `case` a node's log holds.
pub fn case_refusals_logged(node: &Node, case: soberana_case::CaseId) -> usize {
    case_log(node, case)
        .iter()
        .filter(|(act, _)| act == "refused")
        .count()
}

fn case_log(node: &Node, case: soberana_case::CaseId) -> Vec<(String, [u8; 32])> {
    let size = node.log_size().unwrap();
    let case = case.to_string();
    node.log_leaves(0, size)
        .unwrap()
        .iter()
        .filter_map(
            |leaf| match soberana_ledger::LogEntry::decode(&leaf.entry).unwrap() {
                soberana_ledger::LogEntry::CaseAct {
                    case_id,
                    act,
                    event_digest,
                    ..
                } if case_id == case => Some((act, event_digest)),
                _ => None,
            },
        )
        .collect()
}
