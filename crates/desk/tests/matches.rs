//! A partner's private match accepted through the desk's decide form runs
//! exactly as `soberana decide` would have it: both call `Node::decide`, so
//! once the acceptance reaches the asker, the protocol runs between the nodes
//! by itself, the asker learns exactly the common identifiers and our node
//! records what it disclosed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use soberana_core::{DecidedBy, ProposalState};
use soberana_desk::Desk;
use soberana_node::sessions::{IdentifierRequest, MatchResult, RequestContext, match_result};
use soberana_psi::{IdentifierKind, Protocol};
use support::client::*;
use support::*;

fn phones(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("phone:+525510{i:06}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_match_accepted_on_the_desk_runs_and_answers_the_partner() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    // MX holds phones 0..30; the US asks about 20..40: ten in common.
    let path = mx.holdings_path(IdentifierKind::Phone);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let held: Vec<String> = phones(0..30)
        .iter()
        .map(|p| p.trim_start_matches("phone:").to_owned())
        .collect();
    std::fs::write(&path, held.join("\n") + "\n").unwrap();
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let desk = Desk::open(mx.clone(), test_config()).unwrap();
    mx_officers(&desk);

    let proposal = us
        .request_identifier_match(IdentifierRequest {
            peer: soberana_core::PartyCode::new("MX").unwrap(),
            kind: IdentifierKind::Phone,
            items: phones(20..40),
            protocol: Protocol::Dh,
            count_only: false,
            context: RequestContext::default(),
        })
        .unwrap();
    wait_state(&mx, proposal.id, ProposalState::AwaitingOfficer).await;
    assert!(
        mx.show(proposal.id).unwrap().disclosures.is_empty(),
        "nothing is computed before an officer accepts"
    );

    // Ana accepts on the desk.
    let mut ana = Client::new(&desk);
    ana.login("ana", PASSWORD).await;
    let page = ana.get(&format!("/proposals/{}", proposal.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = csrf_in(&page.body);
    let decided = ana
        .post(
            &format!("/proposals/{}/decide", proposal.id),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("reason", "the numbers are in our case file"),
            ],
        )
        .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    // Accepting a match releases no written item, so, as with `soberana
    // decide`, it takes effect at once under the deciding approver.
    assert!(mx.pending(proposal.id).unwrap().is_none());
    let decided = mx.show(proposal.id).unwrap();
    assert!(
        matches!(
            decided.decision.as_ref().map(|d| &d.decided_by),
            Some(DecidedBy::Officer { officer, .. }) if officer.as_str() == "ana"
        ),
        "{:?}",
        decided.decision
    );

    // The protocol runs between the nodes; the US learns exactly the
    // common ten, and MX records its disclosure.
    for _ in 0..800 {
        let answered = us.show(proposal.id).unwrap().record.state == ProposalState::Answered;
        let disclosed = !mx.show(proposal.id).unwrap().disclosures.is_empty();
        if answered && disclosed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let detail = us.show(proposal.id).unwrap();
    assert_eq!(detail.record.state, ProposalState::Answered);
    let Some(MatchResult::Hits { mut hits, .. }) = match_result(&detail) else {
        panic!("no hits: {:?}", match_result(&detail));
    };
    hits.sort();
    assert_eq!(hits, phones(20..30));
    assert!(!mx.show(proposal.id).unwrap().disclosures.is_empty());
    for run in runs {
        run.stop().await;
    }
}
