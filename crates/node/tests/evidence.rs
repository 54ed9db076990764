//! Evidence between two live nodes over mutual TLS: a received exhibit's
//! use checked against its conditions, the contributing side's consent
//! asked by a proposal of its own kind and decided by its officers under
//! four eyes, the use let through only by that consent; and the evidence
//! behind a notice asked for and released under conditions. With the
//! refusals: a use without consent, a consent for an exhibit never
//! received, a forged consent, a request for evidence about nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_case::{
    Act, CHUNK_BYTES, CaseId, CustodyEvent, ExhibitDigest, ExhibitStatus, ExhibitUse, UseConditions,
};
use soberana_core::{
    AdvanceNotification, AgencyId, Direction, ExhibitConsent, HandlingCode, MeasureKind, OfficerId,
    Outcome, Proposal, ProposalBody, ProposalDraft, ProposalId, ProposalKind, ProposalState, Role,
    Timestamp,
};
use soberana_node::{
    DecisionStep, Fetched, Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict,
};
use soberana_wire::{Body, CaseMessage};
use support::case::example_agreement;
use support::{eventually, state};

/// Accepts every proposal at once: the node must still send consent and
/// evidence requests to an officer.
struct Allow;

impl ProposalPolicy for Allow {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(
            Verdict::Allow {
                conditions: Vec::new(),
            },
            &"66".repeat(32),
        )
    }
    fn digest(&self) -> String {
        "66".repeat(32)
    }
}

struct Two {
    mx: Node,
    us: Node,
    ana: OfficerId,
    eva: OfficerId,
    bob: OfficerId,
    sam: OfficerId,
}

async fn two(dir: &std::path::Path) -> (Two, Vec<soberana_node::RunningNode>) {
    let (mx, us) = support::pair(dir, || Arc::new(Allow));
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let ana = support::register(&mx, "ana", "MX.UIF", &[Role::Approver, Role::Liaison]);
    let eva = support::register(&mx, "eva", "MX.UIF", &[Role::Approver]);
    let bob = support::register(&us, "bob", "US.FINCEN", &[Role::Approver, Role::Liaison]);
    let sam = support::register(&us, "sam", "US.FINCEN", &[Role::Approver]);
    (
        Two {
            mx,
            us,
            ana,
            eva,
            bob,
            sam,
        },
        running,
    )
}

/// The case open on both sides, with an exhibit of Mexico's under strict
/// conditions released and held by the US. Returns the case and exhibit.
async fn received(t: &Two, dir: &std::path::Path) -> (CaseId, ExhibitDigest) {
    let proposal: ProposalId = t.mx.propose(example_agreement(), None).unwrap().id;
    eventually("the agreement is accepted on both sides", || {
        state(&t.mx, proposal) == Some(ProposalState::Accepted)
            && state(&t.us, proposal) == Some(ProposalState::Accepted)
    })
    .await;
    let case = t.mx.case_take(proposal, &t.ana).unwrap();
    t.us.case_take(proposal, &t.bob).unwrap();
    t.mx.case_member_add(case, &t.ana, &t.eva, false).unwrap();
    let file = dir.join("ledger.bin");
    std::fs::write(&file, vec![7u8; CHUNK_BYTES + 3]).unwrap();
    let digest =
        t.mx.exhibit_add(case, &t.eva, &file, "ledger", UseConditions::strict(90))
            .unwrap();
    t.mx.exhibit_release(case, digest, &[t.ana.clone(), t.eva.clone()])
        .unwrap();
    released_on(&t.us, case, digest).await;
    assert!(matches!(
        t.us.exhibit_fetch(case, &t.bob, digest, None)
            .await
            .unwrap(),
        Fetched::Received { .. }
    ));
    eventually("MX sees the receipt", || {
        t.mx.case(case)
            .is_ok_and(|v| v.case.exhibit(&digest).is_some_and(|x| x.received))
    })
    .await;
    (case, digest)
}

async fn released_on(node: &Node, case: CaseId, digest: ExhibitDigest) {
    eventually("the release reaches the other side", || {
        node.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&digest)
                .is_some_and(|x| x.status == ExhibitStatus::Released)
        })
    })
    .await;
}

fn court(proceedings: &str) -> ExhibitUse {
    ExhibitUse::Court {
        proceedings: proceedings.into(),
    }
}

fn verdict(officer: &OfficerId, outcome: Outcome, reason: &str) -> OfficerVerdict {
    OfficerVerdict {
        officer: officer.clone(),
        outcome,
        reason: reason.into(),
        release: Vec::new(),
    }
}

fn outgoing_of_kind(node: &Node, kind: ProposalKind) -> usize {
    node.list(Some(Direction::Outgoing), Vec::new())
        .unwrap()
        .iter()
        .filter(|r| r.proposal.kind() == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn court_use_waits_for_the_contributors_consent_given_by_two_officers() {
    let dir = tempfile::tempdir().unwrap();
    let (t, running) = two(dir.path()).await;
    let (case, digest) = received(&t, dir.path()).await;
    let (mx, us) = (&t.mx, &t.us);

    // Without consent the court use is refused, recorded once, nothing written.
    let out = dir.path().join("for-court.bin");
    let before = support::case_refusals_logged(us, case);
    let err = us
        .exhibit_use(case, &t.bob, digest, court("US v. Doe"), Some(&out))
        .unwrap_err();
    assert!(err.to_string().contains("no accepted consent"), "{err}");
    assert!(!out.exists());
    assert_eq!(support::case_refusals_logged(us, case), before + 1);

    // The US asks; Mexico's policy accepts everything, but consent goes to
    // an officer all the same.
    let asked = us
        .consent_ask(case, &t.bob, digest, court("US v. Doe"), "trial in SDNY")
        .unwrap();
    assert_eq!(asked.kind(), ProposalKind::ExhibitConsent);
    eventually("the consent request awaits a Mexican officer", || {
        state(mx, asked.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    // The asking side cannot answer its own request.
    assert!(
        us.decide(asked.id, verdict(&t.bob, Outcome::Accepted, "yes"))
            .is_err()
    );
    // Consent takes two Mexican approvers.
    let first = mx
        .decide(
            asked.id,
            verdict(&t.ana, Outcome::Accepted, "for this trial"),
        )
        .unwrap();
    assert!(matches!(first, DecisionStep::AwaitingSecondApprover(_)));
    assert!(mx.confirm(asked.id, &t.ana).is_err(), "not by the same one");
    mx.confirm(asked.id, &t.eva).unwrap();
    eventually(
        "the US holds the acceptance and the consent it releases",
        || state(us, asked.id) == Some(ProposalState::Answered),
    )
    .await;
    assert_eq!(
        us.consent_for(case, &digest, &court("US v. Doe")).unwrap(),
        Some(asked.id)
    );

    // The consent covers that use only.
    assert!(
        us.exhibit_use(case, &t.bob, digest, court("another trial"), None)
            .is_err()
    );
    let onward = ExhibitUse::OnwardTransmission { to: "DEA".into() };
    assert!(us.exhibit_use(case, &t.bob, digest, onward, None).is_err());

    let done = us
        .exhibit_use(case, &t.bob, digest, court("US v. Doe"), Some(&out))
        .unwrap();
    assert_eq!(done.consent, Some(asked.id));
    assert_eq!(std::fs::read(&out).unwrap(), vec![7u8; CHUNK_BYTES + 3]);
    // A use recorded without a copy: the filing itself.
    us.exhibit_use(case, &t.bob, digest, court("US v. Doe"), None)
        .unwrap();

    // Both logs hold the same custody, and Mexico's copy of the export
    // names who exported it and the consent it rests on.
    eventually("both logs hold the same chain of custody", || {
        let (a, b) = (
            support::case_digests_logged(mx, case),
            support::case_digests_logged(us, case),
        );
        a == b
            && mx.case(case).is_ok_and(|v| {
                v.events
                    .iter()
                    .any(|e| matches!(e.event.act, Act::ExhibitUsed { .. }))
            })
    })
    .await;
    let view = mx.case(case).unwrap();
    let export = view
        .events
        .iter()
        .find(|e| matches!(e.event.act, Act::ExhibitExported { .. }))
        .expect("MX holds the export");
    assert!(!export.ours);
    assert_eq!(export.event.actor, t.bob);
    assert!(matches!(
        export.event.act,
        Act::ExhibitExported { consent: Some(c), .. } if c == asked.id
    ));
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_with_no_condition_against_it_proceeds_and_both_logs_say_who() {
    let dir = tempfile::tempdir().unwrap();
    let (t, running) = two(dir.path()).await;
    let (case, digest) = received(&t, dir.path()).await;
    let out = dir.path().join("analyst-copy.bin");
    let done =
        t.us.exhibit_use(case, &t.bob, digest, ExhibitUse::Investigation, Some(&out))
            .unwrap();
    assert_eq!(done.consent, None);
    assert!(out.exists());
    eventually("MX records the export by bob", || {
        t.mx.case(case).is_ok_and(|v| {
            v.events.iter().any(|e| {
                e.event.actor == t.bob && matches!(e.event.act, Act::ExhibitExported { .. })
            })
        })
    })
    .await;
    assert_eq!(
        support::case_digests_logged(&t.mx, case),
        support::case_digests_logged(&t.us, case)
    );
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_consent_a_consent_for_what_was_never_received_and_a_forged_one_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (t, running) = two(dir.path()).await;
    let (case, digest) = received(&t, dir.path()).await;
    let (mx, us) = (&t.mx, &t.us);

    // An exhibit Mexico offered but never released: the US holds nothing
    // to ask consent for. Refused here, nothing queued.
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"not released").unwrap();
    let unreleased = mx
        .exhibit_add(case, &t.eva, &other, "memo", UseConditions::strict(30))
        .unwrap();
    eventually("the US sees the offer", || {
        us.case(case)
            .is_ok_and(|v| v.case.exhibit(&unreleased).is_some())
    })
    .await;
    let queued = outgoing_of_kind(us, ProposalKind::ExhibitConsent);
    let err = us
        .consent_ask(case, &t.bob, unreleased, court("US v. Doe"), "trial")
        .unwrap_err();
    assert!(err.to_string().contains("never received"), "{err}");
    // The same request written by hand is refused by `propose` too.
    let draft = ProposalDraft {
        to: mx.party(),
        requesting_agency: AgencyId::new("US.FINCEN").unwrap(),
        purpose: "consent".into(),
        legal_basis: "MLAT".into(),
        handling: HandlingCode::H2,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: Vec::new(),
        body: ProposalBody::ExhibitConsent(ExhibitConsent {
            case_id: case.to_string(),
            exhibit: unreleased.to_string(),
            use_: court("US v. Doe"),
            reason: "trial".into(),
            also: Vec::new(),
        }),
    };
    assert!(us.propose(draft.clone(), Some(t.bob.clone())).is_err());
    assert_eq!(outgoing_of_kind(us, ProposalKind::ExhibitConsent), queued);

    // Mexico refuses a consent with its reason; the use stays refused.
    let asked = us
        .consent_ask(case, &t.bob, digest, court("US v. Doe"), "trial")
        .unwrap();
    eventually("the request awaits a Mexican officer", || {
        state(mx, asked.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    mx.decide(
        asked.id,
        verdict(
            &t.ana,
            Outcome::Refused,
            "not before the extradition hearing",
        ),
    )
    .unwrap();
    eventually("the US holds the refusal", || {
        state(us, asked.id) == Some(ProposalState::Refused)
    })
    .await;
    let before = support::case_refusals_logged(us, case);
    let err = us
        .exhibit_use(case, &t.bob, digest, court("US v. Doe"), None)
        .unwrap_err();
    assert!(err.to_string().contains("consent"), "{err}");
    assert_eq!(support::case_refusals_logged(us, case), before + 1);

    // A forged consent: the US node signs a court use naming its refused
    // request as consent. Mexico refuses the act and keeps nothing of it.
    let events_before = mx.case(case).unwrap().events.len();
    let refusals_before = mx.refusals(100).unwrap().len();
    let forged = CustodyEvent {
        case_id: case,
        party: us.party(),
        actor: t.bob.clone(),
        time_ms: u64::try_from(Timestamp::now().unix_millis()).unwrap(),
        act: Act::ExhibitUsed {
            exhibit: digest,
            use_: court("US v. Doe"),
            consent: Some(asked.id),
        },
    };
    let agreement_id = mx.case(case).unwrap().case.proposal_id;
    let bytes = (us.sealer())(
        mx.party(),
        10_000,
        &Body::Case(CaseMessage {
            proposal_id: agreement_id,
            event: String::from_utf8(forged.canonical()).unwrap(),
        }),
    )
    .bytes()
    .to_vec();
    let (status, reason) = us.send_raw(mx.party(), bytes).await.unwrap();
    assert_eq!(status, 422, "{reason}");
    assert!(reason.contains("not accepted"), "{reason}");
    assert_eq!(mx.case(case).unwrap().events.len(), events_before);
    assert_eq!(mx.refusals(100).unwrap().len(), refusals_before + 1);

    // A consent request for an exhibit the US never received, signed by
    // the US node past its own check: Mexico refuses it at intake.
    let mut proposal =
        Proposal::from_draft(draft, us.party(), Some(t.bob.clone()), Timestamp::now()).unwrap();
    proposal.id = ProposalId::generate();
    let bytes = (us.sealer())(mx.party(), 10_001, &Body::Proposal(proposal.clone()))
        .bytes()
        .to_vec();
    let (status, reason) = us.send_raw(mx.party(), bytes).await.unwrap();
    assert_eq!(status, 422, "{reason}");
    assert!(reason.contains("never received"), "{reason}");
    assert!(mx.show(proposal.id).is_err(), "nothing stored");
    for r in running {
        r.stop().await;
    }
}

fn fincen_notice() -> ProposalDraft {
    ProposalDraft {
        to: support::party("MX"),
        requesting_agency: AgencyId::new("US.FINCEN").unwrap(),
        purpose:
            "Notice of orders under section 2313a against three Mexican financial institutions"
                .into(),
        legal_basis: "FEND Off Fentanyl Act, section 2313a".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: Vec::new(),
        body: ProposalBody::AdvanceNotification(AdvanceNotification {
            measure: MeasureKind::FinancialOrder,
            title: "Orders against CIBanco, Intercam and Vector".into(),
            summary: "Transmittals of funds with the three institutions are prohibited".into(),
            effective: Timestamp::now().plus_seconds(21 * 86_400),
            targets: vec!["CIBanco".into(), "Intercam".into(), "Vector".into()],
            assurances: Vec::new(),
            evidence: Vec::new(),
            acts: Vec::new(),
            exhibits: Vec::new(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mexico_asks_for_the_evidence_behind_a_notice_and_receives_it_under_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let (t, running) = two(dir.path()).await;
    let (mx, us) = (&t.mx, &t.us);
    let notice = us.propose(fincen_notice(), Some(t.bob.clone())).unwrap();
    eventually("Mexico acknowledges the notice", || {
        state(mx, notice.id) == Some(ProposalState::Acknowledged)
    })
    .await;

    // The UIF asks for the evidence the notice came without.
    let asked = mx
        .evidence_request(
            notice.id,
            &t.ana,
            "the transactions and reports the orders rest on",
        )
        .unwrap();
    assert_eq!(asked.related_to, vec![notice.id]);
    eventually("the request awaits a US officer", || {
        state(us, asked.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;

    // Accepting before any exhibit is released is refused, nothing stored.
    let err = us
        .decide(asked.id, verdict(&t.bob, Outcome::Accepted, "here it is"))
        .unwrap_err();
    assert!(err.to_string().contains("no exhibit of ours"), "{err}");
    assert_eq!(state(us, asked.id), Some(ProposalState::AwaitingOfficer));

    // FinCEN puts the evidence in the notice's evidence file and releases
    // it under four eyes, then accepts the request, under four eyes too.
    let case = us.evidence_file_open(notice.id, &t.bob).unwrap();
    assert_eq!(case, CaseId::for_proposal(&notice.id));
    let file = dir.path().join("transactions.csv");
    let bytes = b"date,from,to,amount\n2024-03-01,CIBanco,XX,950000\n".to_vec();
    std::fs::write(&file, &bytes).unwrap();
    let digest = us
        .exhibit_add(
            case,
            &t.bob,
            &file,
            "transactions",
            UseConditions::strict(180),
        )
        .unwrap();
    us.exhibit_release(case, digest, &[t.bob.clone(), t.sam.clone()])
        .unwrap();
    let step = us
        .decide(
            asked.id,
            verdict(&t.bob, Outcome::Accepted, "the transactions"),
        )
        .unwrap();
    assert!(matches!(step, DecisionStep::AwaitingSecondApprover(_)));
    us.confirm(asked.id, &t.sam).unwrap();

    // Mexico holds the acceptance naming the exhibit, opens its side of the
    // evidence file and fetches the bytes.
    eventually("Mexico holds the answer naming the exhibit", || {
        mx.show(asked.id).is_ok_and(|d| {
            d.answer.as_ref().is_some_and(|a| {
                a.items
                    .iter()
                    .any(|i| i.value.contains(&digest.to_string()))
            })
        })
    })
    .await;
    assert_eq!(mx.evidence_file_open(notice.id, &t.ana).unwrap(), case);
    released_on(mx, case, digest).await;
    mx.exhibit_fetch(case, &t.ana, digest, None).await.unwrap();
    let mut opened = Vec::new();
    mx.exhibit_open(case, &t.ana, digest, &mut opened).unwrap();
    assert_eq!(opened, bytes);
    // Its conditions hold on the Mexican side: no court use without consent.
    assert!(
        mx.exhibit_use(case, &t.ana, digest, court("Juzgado 1"), None)
            .is_err()
    );
    eventually("both logs hold the same custody", || {
        let (a, b) = (
            support::case_digests_logged(mx, case),
            support::case_digests_logged(us, case),
        );
        a.len() >= 6 && a == b
    })
    .await;

    // A request for evidence about a proposal that does not exist, or
    // about one of our own, is refused before anything is queued.
    let queued = outgoing_of_kind(mx, ProposalKind::EvidenceRequest);
    let err = mx
        .evidence_request(ProposalId::generate(), &t.ana, "anything")
        .unwrap_err();
    assert!(err.to_string().contains("no proposal"), "{err}");
    let ours = mx.propose(example_agreement(), None).unwrap();
    assert!(mx.evidence_request(ours.id, &t.ana, "anything").is_err());
    assert_eq!(outgoing_of_kind(mx, ProposalKind::EvidenceRequest), queued);

    // Signed by Mexico past its own check, such a request is refused by
    // the US at intake and nothing is stored.
    let mut forged = asked.clone();
    forged.id = ProposalId::generate();
    let missing = ProposalId::generate();
    forged.related_to = vec![missing];
    if let ProposalBody::EvidenceRequest(r) = &mut forged.body {
        r.about = missing;
    }
    let bytes = (mx.sealer())(us.party(), 10_000, &Body::Proposal(forged.clone()))
        .bytes()
        .to_vec();
    let (status, reason) = mx.send_raw(us.party(), bytes).await.unwrap();
    assert_eq!(status, 422, "{reason}");
    assert!(
        reason.contains("no notice or information request"),
        "{reason}"
    );
    assert!(us.show(forged.id).is_err());
    for r in running {
        r.stop().await;
    }
}
