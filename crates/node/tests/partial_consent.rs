//! Partial consent: one consent request asks several uses of several
//! exhibits; the contributing side's officers grant a subset, with a
//! condition of their own, under four eyes. The asking side may then do
//! exactly what was granted and is refused the rest; a use of what was not
//! granted, signed past the asker's own check, is refused at the
//! contributor's intake. Both logs hold the same custody.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_case::{
    Act, CaseId, CustodyEvent, ExhibitDigest, ExhibitStatus, ExhibitUse, UseConditions,
};
use soberana_core::{OfficerId, Outcome, Proposal, ProposalId, ProposalState, Role, Timestamp};
use soberana_node::{
    DecisionStep, Fetched, Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict,
};
use soberana_wire::{AnswerItem, Body, CaseMessage};
use support::case::example_agreement;
use support::{eventually, state};

struct Allow;

impl ProposalPolicy for Allow {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(
            Verdict::Allow {
                conditions: Vec::new(),
            },
            &"68".repeat(32),
        )
    }
    fn digest(&self) -> String {
        "68".repeat(32)
    }
}

fn court(proceedings: &str) -> ExhibitUse {
    ExhibitUse::Court {
        proceedings: proceedings.into(),
    }
}

fn onward(to: &str) -> ExhibitUse {
    ExhibitUse::OnwardTransmission { to: to.into() }
}

/// Mexico contributes an exhibit under strict conditions, releases it under
/// four eyes, and the US fetches it.
async fn give(
    mx: &Node,
    us: &Node,
    case: CaseId,
    officers: (&OfficerId, &OfficerId, &OfficerId),
    file: &std::path::Path,
    bytes: &[u8],
) -> ExhibitDigest {
    let (ana, eva, bob) = officers;
    std::fs::write(file, bytes).unwrap();
    let digest = mx
        .exhibit_add(case, ana, file, "exhibit", UseConditions::strict(90))
        .unwrap();
    mx.exhibit_release(case, digest, &[ana.clone(), eva.clone()])
        .unwrap();
    eventually("the release reaches the US", || {
        us.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&digest)
                .is_some_and(|x| x.status == ExhibitStatus::Released)
        })
    })
    .await;
    assert!(matches!(
        us.exhibit_fetch(case, bob, digest, None).await.unwrap(),
        Fetched::Received { .. }
    ));
    eventually("Mexico sees the receipt", || {
        mx.case(case)
            .is_ok_and(|v| v.case.exhibit(&digest).is_some_and(|x| x.received))
    })
    .await;
    digest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contributor_grants_some_uses_and_the_asker_may_do_exactly_those() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Allow));
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let ana = support::register(&mx, "ana", "MX.UIF", &[Role::Approver]);
    let eva = support::register(&mx, "eva", "MX.UIF", &[Role::Approver]);
    let bob = support::register(&us, "bob", "US.FINCEN", &[Role::Approver]);
    let proposal: ProposalId = mx.propose(example_agreement(), None).unwrap().id;
    eventually("the agreement is accepted on both sides", || {
        state(&mx, proposal) == Some(ProposalState::Accepted)
            && state(&us, proposal) == Some(ProposalState::Accepted)
    })
    .await;
    let case = mx.case_take(proposal, &ana).unwrap();
    us.case_take(proposal, &bob).unwrap();
    mx.case_member_add(case, &ana, &eva, false).unwrap();
    let ledger = give(
        &mx,
        &us,
        case,
        (&ana, &eva, &bob),
        &dir.path().join("ledger"),
        b"ledger",
    )
    .await;
    let photos = give(
        &mx,
        &us,
        case,
        (&ana, &eva, &bob),
        &dir.path().join("photos"),
        b"photos",
    )
    .await;

    // One request, three uses of two exhibits.
    let asked = us
        .consent_ask_many(
            case,
            &bob,
            vec![
                (ledger, court("US v. Doe")),
                (ledger, onward("DEA")),
                (photos, court("US v. Doe")),
            ],
            "trial in SDNY, and the DEA's own case",
        )
        .unwrap();
    eventually("the request awaits a Mexican officer", || {
        state(&mx, asked.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;

    // A grant of something not asked, or of a use that is not there, is
    // refused before anything is stored.
    let invented = OfficerVerdict {
        officer: ana.clone(),
        outcome: Outcome::Accepted,
        reason: "everything".into(),
        release: vec![AnswerItem {
            label: "consent".into(),
            value: "MX consents to anything".into(),
        }],
    };
    let err = mx.decide(asked.id, invented).unwrap_err();
    assert!(err.to_string().contains("grants no use"), "{err}");
    assert!(mx.consent_grant_items(asked.id, &[4]).is_err());
    assert!(mx.pending(asked.id).unwrap().is_none());

    // Mexico grants the court use of both, not the onward transmission,
    // with a condition of its own; two approvers.
    let granted = mx.consent_grant_items(asked.id, &[1, 3]).unwrap();
    assert_eq!(granted.len(), 2);
    let step = mx
        .decide(
            asked.id,
            OfficerVerdict {
                officer: ana.clone(),
                outcome: Outcome::AcceptedWithConditions {
                    conditions: vec!["returned after the trial".into()],
                },
                reason: "for the trial only".into(),
                release: granted,
            },
        )
        .unwrap();
    assert!(matches!(step, DecisionStep::AwaitingSecondApprover(_)));
    mx.confirm(asked.id, &eva).unwrap();

    // Both sides read the same grant.
    eventually("the US holds the answer", || {
        state(&us, asked.id) == Some(ProposalState::Answered)
    })
    .await;
    for node in [&mx, &us] {
        let grants = node.consent_grants(asked.id).unwrap();
        let flags: Vec<Option<bool>> = grants.items.iter().map(|i| i.granted).collect();
        assert_eq!(flags, [Some(true), Some(false), Some(true)]);
        assert_eq!(grants.conditions, ["returned after the trial"]);
    }

    // The US may do exactly what was granted.
    let out = dir.path().join("for-court");
    let done = us
        .exhibit_use(case, &bob, ledger, court("US v. Doe"), Some(&out))
        .unwrap();
    assert_eq!(done.consent, Some(asked.id));
    assert_eq!(std::fs::read(&out).unwrap(), b"ledger");
    us.exhibit_use(case, &bob, photos, court("US v. Doe"), None)
        .unwrap();
    let before = support::case_refusals_logged(&us, case);
    let err = us
        .exhibit_use(case, &bob, ledger, onward("DEA"), None)
        .unwrap_err();
    assert!(err.to_string().contains("no accepted consent"), "{err}");
    assert_eq!(support::case_refusals_logged(&us, case), before + 1);
    assert!(
        us.exhibit_use(case, &bob, photos, onward("DEA"), None)
            .is_err()
    );

    // Signed by the US past its own check, the onward transmission naming
    // the consent is refused at Mexico's intake.
    let forged = CustodyEvent {
        case_id: case,
        party: us.party(),
        actor: bob.clone(),
        time_ms: u64::try_from(Timestamp::now().unix_millis()).unwrap(),
        act: Act::ExhibitUsed {
            exhibit: ledger,
            use_: onward("DEA"),
            consent: Some(asked.id),
        },
    };
    let bytes = (us.sealer())(
        mx.party(),
        40_001,
        &Body::Case(CaseMessage {
            proposal_id: proposal,
            event: String::from_utf8(forged.canonical()).unwrap(),
        }),
    )
    .bytes()
    .to_vec();
    let (status, reason) = us.send_raw(mx.party(), bytes).await.unwrap();
    assert_eq!(status, 422, "{reason}");
    assert!(reason.contains("was not granted"), "{reason}");

    // Both logs hold the same custody: both granted uses, no forged one.
    let uses_on = |node: &Node| {
        node.case(case)
            .unwrap()
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.event.act,
                    Act::ExhibitUsed { .. } | Act::ExhibitExported { .. }
                )
            })
            .count()
    };
    eventually("both logs hold the same chain of custody", || {
        support::case_digests_logged(&mx, case) == support::case_digests_logged(&us, case)
            && uses_on(&mx) == 2
    })
    .await;
    assert_eq!(uses_on(&us), 2);
    for r in running {
        r.stop().await;
    }
}
