//! Our node establishes who our members are. An agreement naming, for our
//! side, an officer not registered or disabled on our node is refused
//! wherever it meets our node: at intake of the partner's proposal, when we
//! propose it, when our officer accepts it and when our side opens. A
//! member added later passes the same check, and a disabled officer loses
//! member access. What the partner names for its own side is its claim
//! about its own people and gives nobody rights on our node.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_case::{CaseId, CaseRole};
use soberana_core::{OfficerId, Outcome, ProposalId, ProposalState, Role};
use soberana_node::{Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict};
use support::case::{agreement, member};
use support::{eventually, state};

/// Sends every proposal to an officer, or accepts it by policy.
struct Policy(Verdict);

impl ProposalPolicy for Policy {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(self.0.clone(), &"78".repeat(32))
    }
    fn digest(&self) -> String {
        "78".repeat(32)
    }
}

fn review() -> Arc<dyn ProposalPolicy> {
    Arc::new(Policy(Verdict::Review))
}

fn id(text: &str) -> OfficerId {
    OfficerId::new(text).unwrap()
}

fn accept(
    node: &Node,
    proposal: ProposalId,
    officer: &str,
) -> Result<(), soberana_node::NodeError> {
    node.decide(
        proposal,
        OfficerVerdict {
            officer: id(officer),
            outcome: Outcome::Accepted,
            reason: "each side on its own territory".into(),
            release: Vec::new(),
        },
    )
    .map(|_| ())
}

/// Registers the officers the tests use: ana, eva, dora (disabled) for
/// Mexico; bob, dora (disabled) and a US officer who happens to be called
/// ana for the US.
fn staff(mx: &Node, us: &Node) {
    for (node, who, agency) in [
        (mx, "ana", "MX.FGR"),
        (mx, "eva", "MX.FGR"),
        (mx, "dora", "MX.FGR"),
        (us, "bob", "US.ATF"),
        (us, "dora", "US.ATF"),
        (us, "ana", "US.ATF"),
    ] {
        support::register(node, who, agency, &[Role::Approver]);
    }
    mx.officers().disable(&id("dora"), "test").unwrap();
    us.officers().disable(&id("dora"), "test").unwrap();
}

/// Waits for Mexico to record the US's final refusal of `proposal`, and
/// returns its reason.
async fn refused_by_us(mx: &Node, proposal: ProposalId) -> String {
    let mut reason = String::new();
    eventually("the US refuses the envelope", || {
        match mx
            .refused_deliveries(50)
            .unwrap()
            .into_iter()
            .find(|r| r.proposal_id == proposal.to_string())
        {
            Some(r) => {
                reason = r.reason;
                true
            }
            None => false,
        }
    })
    .await;
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_naming_officers_we_do_not_have_is_refused_wherever_it_meets_our_node() {
    let dir = tempfile::tempdir().unwrap();
    // The US would accept by policy alone: the registry check comes first.
    let (mx, us) = support::pair(dir.path(), || {
        Arc::new(Policy(Verdict::Allow { conditions: vec![] }))
    });
    staff(&mx, &us);
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];

    // Mexico names, for the US side, an officer the US never registered.
    let ghost = mx
        .propose(
            agreement(vec![
                member("MX", "ana", true),
                member("US", "bob", true),
                member("US", "ghost", false),
            ]),
            None,
        )
        .unwrap()
        .id;
    let reason = refused_by_us(&mx, ghost).await;
    assert!(reason.contains("`ghost`"), "{reason}");
    assert!(reason.contains("not registered"), "{reason}");
    assert!(state(&us, ghost).is_none(), "the US stored nothing of it");
    assert!(us.case(CaseId::for_proposal(&ghost)).is_err());

    // ... or as the US administrator, an officer disabled on the US node.
    let disabled = mx
        .propose(
            agreement(vec![member("MX", "ana", true), member("US", "dora", true)]),
            None,
        )
        .unwrap()
        .id;
    let reason = refused_by_us(&mx, disabled).await;
    assert!(
        reason.contains("`dora`") && reason.contains("disabled"),
        "{reason}"
    );
    assert!(state(&us, disabled).is_none());

    // Our own agreement naming, for our side, an officer we do not have or
    // one disabled here never leaves.
    for nobody in ["nobody", "dora"] {
        let err = mx
            .propose(
                agreement(vec![member("MX", nobody, true), member("US", "bob", true)]),
                None,
            )
            .unwrap_err();
        assert!(err.to_string().contains(&format!("`{nobody}`")), "{err}");
    }

    // Naming only registered, enabled officers, it is accepted by policy
    // and opens on both sides.
    let fine = mx
        .propose(
            agreement(vec![member("MX", "ana", true), member("US", "bob", true)]),
            None,
        )
        .unwrap()
        .id;
    let case = CaseId::for_proposal(&fine);
    eventually("both sides open the agreed case", || {
        [&mx, &us]
            .iter()
            .all(|n| n.case(case).is_ok_and(|v| v.case.opened_by.len() == 2))
    })
    .await;
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_an_enabled_officer_of_ours_and_the_partners_claims_give_no_rights_here() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), review);
    staff(&mx, &us);
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let proposal = mx
        .propose(
            agreement(vec![
                member("MX", "ana", true),
                member("MX", "eva", false),
                member("US", "bob", true),
            ]),
            None,
        )
        .unwrap()
        .id;
    eventually("the US holds it for an officer", || {
        state(&us, proposal) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    // Eva is disabled on Mexico's node after Mexico proposed: Mexico's
    // side opens without her, since our node no longer knows her as one
    // who can act.
    mx.officers().disable(&id("eva"), "test").unwrap();
    accept(&us, proposal, "bob").unwrap();
    let case = CaseId::for_proposal(&proposal);
    eventually("both sides hold both openings", || {
        [&mx, &us]
            .iter()
            .all(|n| n.case(case).is_ok_and(|v| v.case.opened_by.len() == 2))
    })
    .await;
    let c = mx.case(case).unwrap().case;
    assert_eq!(
        c.role_of(mx.party(), &id("ana")),
        Some(CaseRole::Administrator)
    );
    assert_eq!(c.role_of(mx.party(), &id("eva")), None, "{:?}", c.members);

    // Adding a member later: only a registered, enabled officer of ours.
    let err = mx
        .case_member_add(case, &id("ana"), &id("ghost"), false)
        .unwrap_err();
    assert!(err.to_string().contains("`ghost`"), "{err}");
    let err = mx
        .case_member_add(case, &id("ana"), &id("dora"), false)
        .unwrap_err();
    assert!(
        err.to_string().contains("`dora`") && err.to_string().contains("disabled"),
        "{err}"
    );

    // Eva enabled again and added; once disabled she can neither act nor
    // read the case.
    mx.officers().enable(&id("eva"), "test").unwrap();
    mx.case_member_add(case, &id("ana"), &id("eva"), false)
        .unwrap();
    mx.case_message(case, &id("eva"), "es", "hola").unwrap();
    assert_eq!(mx.case_messages(case, &id("eva")).unwrap().len(), 1);
    mx.officers().disable(&id("eva"), "test").unwrap();
    let err = mx.case_message(case, &id("eva"), "es", "otra").unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
    let err = mx.case_messages(case, &id("eva")).unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
    assert!(mx.case_tasks(case, &id("eva")).is_err());

    // Mexico's members are Mexico's claim: the US officer who shares the
    // name `ana` is no member on the US node and cannot act or read there.
    eventually("the US holds Mexico's opening", || {
        us.case(case)
            .is_ok_and(|v| v.case.role_of(mx.party(), &id("ana")).is_some())
    })
    .await;
    assert!(us.case_message(case, &id("ana"), "en", "hi").is_err());
    assert!(us.case_messages(case, &id("ana")).is_err());
    let view = us.case_members(case).unwrap();
    let ana = view
        .iter()
        .find(|m| m.party == mx.party() && m.officer == id("ana"))
        .unwrap();
    assert!(!ana.established_here, "a partner's member is its claim");
    let bob = view
        .iter()
        .find(|m| m.party == us.party() && m.officer == id("bob"))
        .unwrap();
    assert!(bob.established_here && bob.enabled);
    for r in running {
        r.stop().await;
    }
}
