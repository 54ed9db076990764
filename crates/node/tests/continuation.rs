//! The financial continuation as the node's exchange: a trail is stored
//! with the proposals that carry it (one transaction, so a crash cannot
//! part them), accepting a continuation request answers it under four eyes,
//! and the answer honours the answering party's typology thresholds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::path::Path;
use std::sync::Arc;

use soberana_core::{AgencyId, Outcome, ProposalId, ProposalState, Role};
use soberana_finance::generate::{self, GenerateOptions};
use soberana_finance::{AccountId, Country};
use soberana_node::finance::ledger::{self, ColumnMaps, Table};
use soberana_node::finance::{CONTINUATION_LABEL, ContinuationAsk, LegStatus, TrailStart};
use soberana_node::{DecisionStep, Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict};

/// Sends every request to an officer.
struct Review;

impl ProposalPolicy for Review {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &"66".repeat(32))
    }
    fn digest(&self) -> String {
        "66".repeat(32)
    }
}

/// Loads each node's half of a small generated two-country ledger; returns
/// the account that starts the demo's trail (a US cash collector).
fn ledgers(dir: &Path, nodes: &[(&Node, Country)]) -> AccountId {
    let mut collector = None;
    for (node, country) in nodes {
        let opts = GenerateOptions {
            seed: 1,
            transactions: 5_000,
            only_country: Some(*country),
            ..GenerateOptions::default()
        };
        let file = dir.join(format!("{country}-transactions.csv"));
        let summary = generate::write(&opts, std::fs::File::create(&file).unwrap()).unwrap();
        collector = collector.or_else(|| summary.scenario.first().map(|(c, _)| c.clone()));
        ledger::ingest(
            node.dir().root(),
            &[(Table::Transactions, file)],
            &ColumnMaps::default(),
            None,
        )
        .unwrap();
    }
    collector.expect("the generator plants the demo network")
}

fn ask(mx: &Node, from: &AccountId) -> ContinuationAsk {
    ContinuationAsk {
        start: TrailStart {
            from: from.to_string(),
            ..TrailStart::default()
        },
        peer: mx.party(),
        horizon: 30 * 86_400,
        partner_hops: 4,
        max_requests: 3,
        agency: AgencyId::new("US.FINCEN").unwrap(),
        officer: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_is_stored_with_its_proposals_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let from = ledgers(dir.path(), &[(&us, Country::US), (&mx, Country::MX)]);
    let us_dir = us.dir().root().to_path_buf();
    let graph = ledger::load_graph(&us_dir).unwrap();
    let trail = us.ask_continuation(&graph, &ask(&mx, &from)).unwrap();
    assert!(!trail.legs.is_empty());
    let ids: Vec<ProposalId> = trail.legs.iter().map(|l| l.proposal).collect();
    // Nothing happens after the commit that holds the proposals: the trail
    // was in it. No file beside the ledger holds it any more.
    assert!(!us_dir.join("finance/trails").exists());
    drop(us);
    let us = Node::open(&us_dir, Arc::new(Review)).unwrap();
    for id in &ids {
        assert_eq!(state(&us, *id), Some(ProposalState::Queued));
        let found = us.trail(*id).unwrap();
        assert_eq!(found.from, trail.from);
        assert_eq!(
            found.legs.iter().map(|l| l.proposal).collect::<Vec<_>>(),
            ids
        );
        assert_eq!(
            found
                .legs
                .iter()
                .map(|l| l.request.request_id.clone())
                .collect::<Vec<_>>(),
            ids.iter().map(ProposalId::to_string).collect::<Vec<_>>(),
            "each request is named by the proposal that carries it"
        );
    }
    let other = ProposalId::generate();
    let err = us.trail(other).unwrap_err().to_string();
    assert!(err.contains("not a continuation request"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_a_continuation_without_a_release_answers_it_after_a_second_approver() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let from = ledgers(dir.path(), &[(&us, Country::US), (&mx, Country::MX)]);
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let graph = ledger::load_graph(us.dir().root()).unwrap();
    let mut ask = ask(&mx, &from);
    ask.max_requests = 1;
    let trail = us.ask_continuation(&graph, &ask).unwrap();
    let id = trail.legs.first().unwrap().proposal;
    eventually("MX sends the request to an officer", || {
        state(&mx, id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    let ana = support::register(&mx, "ana", "MX.UIF", &[Role::Approver]);
    let beto = support::register(&mx, "beto", "MX.FGR", &[Role::Approver]);
    // The plain decision form: accept, release nothing.
    let step = mx
        .decide(
            id,
            OfficerVerdict {
                officer: ana,
                outcome: Outcome::Accepted,
                reason: "held in Mexico".into(),
                release: vec![],
            },
        )
        .unwrap();
    let DecisionStep::AwaitingSecondApprover(pending) = step else {
        panic!("a financial release is H2 and takes a second approver");
    };
    assert!(
        pending
            .release
            .iter()
            .any(|i| i.label == CONTINUATION_LABEL),
        "the acceptance carries the computed continuation: {:?}",
        pending.release
    );
    assert_eq!(state(&mx, id), Some(ProposalState::AwaitingOfficer));
    mx.confirm(id, &beto).unwrap();
    eventually("the US receives the answer", || {
        state(&us, id) == Some(ProposalState::Answered)
    })
    .await;
    let (_, status) = us.stitch_trail(&us.trail(id).unwrap()).unwrap();
    assert!(
        matches!(status.first(), Some(LegStatus::Stitched(_))),
        "{status:?}"
    );
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_answer_honours_the_partys_typology_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    let from = ledgers(dir.path(), &[(&us, Country::US), (&mx, Country::MX)]);
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let graph = ledger::load_graph(us.dir().root()).unwrap();
    let trail = us.ask_continuation(&graph, &ask(&mx, &from)).unwrap();
    for leg in &trail.legs {
        eventually("MX receives the request", || {
            state(&mx, leg.proposal) == Some(ProposalState::AwaitingOfficer)
        })
        .await;
    }
    let typologies = |mx: &Node| -> Vec<String> {
        trail
            .legs
            .iter()
            .flat_map(|l| mx.continuation_answers(l.proposal, 4).unwrap())
            .flat_map(|a| a.typologies)
            .map(|(t, n)| format!("{t:?}×{n}"))
            .collect()
    };
    let defaults = typologies(&mx);
    assert!(
        !defaults.is_empty(),
        "the demo network's MX leg shows typologies under the defaults"
    );
    // MX's analysts exempt every account of its ledger (payroll processors,
    // say): the answer now reports no typology on them.
    let mx_dir = mx.dir().root().to_path_buf();
    let graph = ledger::load_graph(&mx_dir).unwrap();
    let exempt: Vec<String> = (0..graph.account_count())
        .filter_map(|i| graph.account_id(i as u32).map(ToString::to_string))
        .collect();
    std::fs::write(
        mx_dir.join("finance/typology.json"),
        serde_json::json!({ "exempt": exempt }).to_string(),
    )
    .unwrap();
    assert_eq!(
        typologies(&mx),
        Vec::<String>::new(),
        "under MX's exemptions"
    );
    mx_run.stop().await;
    us_run.stop().await;
}
