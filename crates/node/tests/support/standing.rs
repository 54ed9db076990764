//! Two nodes with standing match arrangements: the example agreement, the
//! approvers on each side, and the phone-list arrangement the tests agree.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use soberana_core::{
    AgreementAction, AgreementStatus, OfficerId, Proposal, ProposalKind, Role, StandingAction,
    StandingBudget, StandingPeriod, StandingStatus, StandingTerms,
};
use soberana_ledger::LogEntry;
use soberana_node::{Node, NodeError, PolicyVerdict, ProposalPolicy, Verdict, read_terms};

use super::{eventually, party};

/// Sends every match to an officer: a standing run that is answered was
/// answered because the arrangement covered it, not because policy did.
pub struct MatchesToOfficer;

impl ProposalPolicy for MatchesToOfficer {
    fn evaluate(&self, proposal: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        let verdict = match proposal.kind() {
            ProposalKind::IdentifierMatch | ProposalKind::PersonMatch => Verdict::Review,
            _ => Verdict::Allow { conditions: vec![] },
        };
        super::test_verdict(verdict, &self.digest())
    }
    fn digest(&self) -> String {
        "44".repeat(32)
    }
}

pub fn phones(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("phone:+525510{i:06}")).collect()
}

pub fn write_list(dir: &Path, name: &str, items: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, items.join("\n")).unwrap();
    path
}

pub fn log_entries(node: &Node) -> Vec<LogEntry> {
    let size = node.log_size().unwrap();
    node.log_leaves(0, size)
        .unwrap()
        .into_iter()
        .map(|leaf| LogEntry::decode(&leaf.entry).unwrap())
        .collect()
}

/// The standing-run entry `node` logged for run `id`: (side, asked, matched).
pub fn run_entry(node: &Node, id: &str) -> Option<(String, u64, Option<u64>)> {
    log_entries(node).into_iter().find_map(|e| match e {
        LogEntry::StandingRun {
            run_id,
            arrangement,
            side,
            asked,
            matched,
            ..
        } if run_id == id => {
            assert!(!arrangement.is_empty());
            Some((side, asked, matched))
        }
        _ => None,
    })
}

pub fn standing_status(node: &Node, peer: &str, name: &str) -> Option<StandingStatus> {
    node.standing_arrangements(party(peer))
        .unwrap()
        .into_iter()
        .find(|a| a.terms.name == name)
        .map(|a| a.status)
}

/// The approvers registered on each node.
pub const MX_APPROVERS: [&str; 2] = ["ana", "beto"];
pub const US_APPROVERS: [&str; 2] = ["lee", "kim"];

pub fn approvers(node: &Node) -> [OfficerId; 2] {
    let ids = if node.party() == party("MX") {
        MX_APPROVERS
    } else {
        US_APPROVERS
    };
    ids.map(|id| OfficerId::new(id).unwrap())
}

/// Two different approvers of `node`: what proposing or accepting needs.
pub fn both_approvers(node: &Node) -> Vec<OfficerId> {
    approvers(node).to_vec()
}

/// One approver of `node`: what suspending, resuming or terminating needs.
pub fn an_approver(node: &Node) -> Vec<OfficerId> {
    approvers(node)[..1].to_vec()
}

/// Two running nodes with the example agreement in force (MX takes
/// identifier matches from the US; the US takes person matches from MX).
pub async fn agreed(
    dir: &Path,
) -> (
    Node,
    Node,
    soberana_node::RunningNode,
    soberana_node::RunningNode,
) {
    let (mx, us) = super::pair(dir, || Arc::new(MatchesToOfficer));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    for (node, agency, ids) in [
        (&mx, "MX.UIF", MX_APPROVERS),
        (&us, "US.FINCEN", US_APPROVERS),
    ] {
        for id in ids {
            super::register(node, id, agency, &[Role::Approver]);
        }
    }
    let terms = read_terms(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/agreements/mx-us.toml"),
    )
    .unwrap();
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "terms")
        .unwrap();
    eventually("US holds the proposed terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "agreed")
        .unwrap();
    eventually("MX sees the agreement in force", || {
        mx.agreement(party("US"))
            .unwrap()
            .is_some_and(|a| a.status == AgreementStatus::Active)
    })
    .await;
    (mx, us, mx_run, us_run)
}

/// The US proposes a daily phone check against MX's holdings, with its
/// budget of 5 per run and 6 per day, under both its approvers.
pub fn propose_phones(us: &Node) {
    us.act_on_standing(
        party("MX"),
        StandingAction::Propose {
            terms: StandingTerms {
                name: "phones".into(),
                asker: party("US"),
                list: "phone".into(),
                period: StandingPeriod::Daily,
            },
            budget: StandingBudget {
                per_run: 5,
                per_period: 6,
            },
        },
        "daily check of seized phones",
        &both_approvers(us),
    )
    .unwrap();
}

/// The US proposes a daily phone check against MX's holdings (its budget:
/// 5 per run, 6 per day); MX accepts with 4 per run and 100 per day.
pub async fn phones_arrangement(mx: &Node, us: &Node) {
    propose_phones(us);
    eventually("MX holds the proposed arrangement", || {
        standing_status(mx, "US", "phones") == Some(StandingStatus::Proposed)
    })
    .await;
    let accepted = mx
        .act_on_standing(
            party("US"),
            StandingAction::Accept {
                name: "phones".into(),
                budget: StandingBudget {
                    per_run: 4,
                    per_period: 100,
                },
            },
            "agreed",
            &both_approvers(mx),
        )
        .unwrap();
    assert_eq!(
        accepted.effective_budget(),
        Some(StandingBudget {
            per_run: 4,
            per_period: 6
        }),
        "the smaller of both sides' budgets, field by field"
    );
    eventually("the US sees the arrangement in force", || {
        standing_status(us, "MX", "phones") == Some(StandingStatus::Active)
    })
    .await;
    // The acts are in both logs' agreement trails, acknowledged.
    eventually("MX has the US's acknowledgement of its acceptance", || {
        mx.agreement_acts(party("US")).unwrap().iter().any(|r| {
            matches!(&r.act.action, AgreementAction::Acknowledge { of, .. } if of == "standing_accept")
        })
    })
    .await;
}

/// MX's acceptance of the US's proposed phone check, with `approvers`.
pub fn accept_phones(mx: &Node, approvers: &[OfficerId]) -> Result<StandingStatus, NodeError> {
    mx.act_on_standing(
        party("US"),
        StandingAction::Accept {
            name: "phones".into(),
            budget: StandingBudget {
                per_run: 4,
                per_period: 100,
            },
        },
        "agreed",
        approvers,
    )
    .map(|a| a.status)
}
