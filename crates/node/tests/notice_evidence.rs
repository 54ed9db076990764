//! The evidence of a notice is named in the notice's own signed body. The
//! sender's node lists each exhibit (digest, size, title) in the notice it
//! signs, and offers in the notice's evidence file only what it named; the
//! receiver takes in from the sender only exhibits the notice named, with
//! the size it named, and shows a named exhibit that never came as missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_case::{Act, CaseId, CustodyEvent, ExhibitDigest, UseConditions};
use soberana_core::{
    AdvanceNotification, AgencyId, HandlingCode, MeasureKind, NamedExhibit, Proposal, ProposalBody,
    ProposalDraft, ProposalId, ProposalState, Role, Timestamp,
};
use soberana_node::{Fetched, NamedEvidenceState, Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_wire::{Body, CaseMessage};
use support::{eventually, state};

struct Allow;

impl ProposalPolicy for Allow {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(
            Verdict::Allow {
                conditions: Vec::new(),
            },
            &"67".repeat(32),
        )
    }
    fn digest(&self) -> String {
        "67".repeat(32)
    }
}

fn notice(named: Vec<NamedExhibit>) -> ProposalDraft {
    ProposalDraft {
        to: support::party("MX"),
        requesting_agency: AgencyId::new("US.FINCEN").unwrap(),
        purpose: "Notice of orders under section 2313a against three institutions".into(),
        legal_basis: "FEND Off Fentanyl Act, section 2313a".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now().plus_seconds(86_400),
        related_to: Vec::new(),
        body: ProposalBody::AdvanceNotification(AdvanceNotification {
            measure: MeasureKind::FinancialOrder,
            title: "Orders against CIBanco, Intercam and Vector".into(),
            summary: "Transmittals of funds with the three institutions are prohibited".into(),
            effective: Timestamp::now().plus_seconds(21 * 86_400),
            targets: vec!["CIBanco".into()],
            assurances: Vec::new(),
            evidence: Vec::new(),
            acts: Vec::new(),
            exhibits: named,
        }),
    }
}

fn named_states(node: &Node, notice: ProposalId) -> Vec<(String, NamedEvidenceState)> {
    node.evidence_named(notice)
        .unwrap()
        .into_iter()
        .map(|n| (n.exhibit.title, n.state))
        .collect()
}

/// The US sends a forged offer in the notice's evidence file straight to
/// Mexico's intake; returns the status and reason.
async fn offer_raw(
    us: &Node,
    mx: &Node,
    notice: ProposalId,
    digest: ExhibitDigest,
    size: u64,
    sequence: u64,
) -> (u16, String) {
    let event = CustodyEvent {
        case_id: CaseId::for_proposal(&notice),
        party: us.party(),
        actor: soberana_core::OfficerId::new("bob").unwrap(),
        time_ms: u64::try_from(Timestamp::now().unix_millis()).unwrap(),
        act: Act::ExhibitOffered {
            exhibit: digest,
            size,
            label: "forged".into(),
            conditions: UseConditions::strict(30),
        },
    };
    let bytes = (us.sealer())(
        mx.party(),
        sequence,
        &Body::Case(CaseMessage {
            proposal_id: notice,
            event: String::from_utf8(event.canonical()).unwrap(),
        }),
    )
    .bytes()
    .to_vec();
    let (status, reason) = us.send_raw(mx.party(), bytes).await.unwrap();
    (status, reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_names_its_exhibits_and_the_receiver_takes_in_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Allow));
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let ana = support::register(&mx, "ana", "MX.UIF", &[Role::Approver]);
    let bob = support::register(&us, "bob", "US.FINCEN", &[Role::Approver]);
    let sam = support::register(&us, "sam", "US.FINCEN", &[Role::Approver]);

    let transactions = dir.path().join("transactions.csv");
    std::fs::write(
        &transactions,
        b"date,from,to,amount\n2024-03-01,CIBanco,XX,950000\n",
    )
    .unwrap();
    let reports = dir.path().join("reports.txt");
    std::fs::write(&reports, b"suspicious activity report 1\n").unwrap();
    let sent = us
        .propose_with_evidence(
            notice(Vec::new()),
            &bob,
            &[
                (transactions.clone(), "transactions".into()),
                (reports.clone(), String::new()),
            ],
            UseConditions::strict(180),
        )
        .unwrap();
    let notice_id = sent.proposal.id;
    let case = sent.case;
    let [tx_digest, reports_digest] = sent.exhibits[..] else {
        panic!("two exhibits offered");
    };

    // The notice as Mexico holds it, signed by the US, names both.
    eventually("Mexico acknowledges the notice", || {
        state(&mx, notice_id) == Some(ProposalState::Acknowledged)
    })
    .await;
    let held = mx.show(notice_id).unwrap().record.proposal;
    let named = soberana_node::named_exhibits(&held.body);
    assert_eq!(named.len(), 2);
    assert_eq!(named[0].digest, tx_digest.to_string());
    assert_eq!(named[0].title, "transactions");
    assert_eq!(
        named[0].size,
        std::fs::metadata(&transactions).unwrap().len()
    );
    assert_eq!(named[1].title, "reports.txt");
    assert_eq!(named[1].digest, reports_digest.to_string());

    // Both offers arrive and match what the notice named.
    eventually("Mexico holds both offers", || {
        named_states(&mx, notice_id)
            == [
                ("transactions".into(), NamedEvidenceState::Offered),
                ("reports.txt".into(), NamedEvidenceState::Offered),
            ]
    })
    .await;
    us.exhibit_release(case, tx_digest, &[bob.clone(), sam.clone()])
        .unwrap();
    eventually("the release reaches Mexico", || {
        named_states(&mx, notice_id)[0].1 == NamedEvidenceState::Released
    })
    .await;
    assert_eq!(mx.evidence_file_open(notice_id, &ana).unwrap(), case);
    assert!(matches!(
        mx.exhibit_fetch(case, &ana, tx_digest, None).await.unwrap(),
        Fetched::Received { .. }
    ));
    assert_eq!(
        named_states(&mx, notice_id),
        [
            ("transactions".into(), NamedEvidenceState::Received),
            ("reports.txt".into(), NamedEvidenceState::Offered),
        ]
    );

    // The US cannot offer in this file an exhibit the notice did not name:
    // refused, and the refusal logged, before anything is sent.
    let other = dir.path().join("other.txt");
    std::fs::write(&other, b"not named").unwrap();
    let refusals = support::case_refusals_logged(&us, case);
    let err = us
        .exhibit_add(case, &bob, &other, "other", UseConditions::strict(30))
        .unwrap_err();
    assert!(
        err.to_string().contains("not among the 2 exhibit(s)"),
        "{err}"
    );
    assert_eq!(support::case_refusals_logged(&us, case), refusals + 1);

    // Signed by the US past its own check, Mexico refuses it at intake: an
    // unnamed digest, or a named one with another size.
    let exhibits_before = mx.case(case).unwrap().case.exhibits.len();
    let unnamed = ExhibitDigest::from_bytes([9u8; 32]);
    let (status, reason) = offer_raw(&us, &mx, notice_id, unnamed, 9, 30_001).await;
    assert_eq!(status, 422, "{reason}");
    assert!(
        reason.contains("evidence_not_named") && reason.contains("not among"),
        "{reason}"
    );
    let (status, reason) = offer_raw(&us, &mx, notice_id, reports_digest, 1, 30_002).await;
    assert_eq!(status, 422, "{reason}");
    assert!(reason.contains("named with"), "{reason}");
    assert_eq!(mx.case(case).unwrap().case.exhibits.len(), exhibits_before);

    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_exhibit_never_delivered_is_missing_and_an_unnamed_notice_takes_none_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Allow));
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let bob = support::register(&us, "bob", "US.FINCEN", &[Role::Approver]);

    // A notice naming an exhibit the US never offers.
    let promised = NamedExhibit {
        digest: "ab".repeat(32),
        size: 1_000,
        title: "bank statements".into(),
    };
    let sent = us
        .propose(notice(vec![promised]), Some(bob.clone()))
        .unwrap();
    eventually("Mexico acknowledges the notice", || {
        state(&mx, sent.id) == Some(ProposalState::Acknowledged)
    })
    .await;
    assert_eq!(
        named_states(&mx, sent.id),
        [("bank statements".into(), NamedEvidenceState::Missing)]
    );

    // A notice naming nothing: its evidence file takes no exhibit of the
    // sender's until the receiver asks for it.
    let bare = us.propose(notice(Vec::new()), Some(bob.clone())).unwrap();
    let case = us.evidence_file_open(bare.id, &bob).unwrap();
    let file = dir.path().join("findings.txt");
    std::fs::write(&file, b"findings").unwrap();
    let err = us
        .exhibit_add(case, &bob, &file, "findings", UseConditions::strict(30))
        .unwrap_err();
    assert!(err.to_string().contains("names no exhibit"), "{err}");

    // A badly named exhibit never leaves: its digest is not one.
    let err = us
        .propose(
            notice(vec![NamedExhibit {
                digest: "zz".into(),
                size: 1,
                title: "x".into(),
            }]),
            Some(bob.clone()),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not an exhibit digest"), "{err}");
    for r in running {
        r.stop().await;
    }
}
