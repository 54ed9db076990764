//! Evidence on the desk, through its router and the node's rules: a
//! Mexican officer asks for the evidence behind a US notice from the
//! notice's page; US officers see the request where they decide, in
//! English and Spanish, and accept it under four eyes once the exhibit is
//! released; a consent proposal for a court use, asked from the case page,
//! shows the exhibit and the use in both languages and is refused with a
//! reason on the decide form; asked again for two uses, the court use alone
//! is granted by unticking the other.
//! Bad forms are refused and nothing is sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use soberana_case::{ExhibitUse, UseConditions};
use soberana_core::{Direction, OfficerId, ProposalId, ProposalKind, ProposalState, Role};
use soberana_desk::{Desk, Lang};
use soberana_node::Node;
use support::client::*;
use support::*;

fn id(text: &str) -> OfficerId {
    OfficerId::new(text).unwrap()
}

fn outgoing(node: &Node, kind: ProposalKind) -> Vec<ProposalId> {
    node.list(Some(Direction::Outgoing), Vec::new())
        .unwrap()
        .iter()
        .filter(|r| r.proposal.kind() == kind)
        .map(|r| r.id())
        .collect()
}

async fn accepted(node: &Node, id: ProposalId) {
    for _ in 0..400 {
        if node.show(id).is_ok_and(|d| {
            matches!(
                d.record.state,
                ProposalState::Accepted | ProposalState::Answered
            )
        }) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{id} never accepted on {}", node.party());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_asked_and_consent_decided_where_officers_decide_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let mx_desk = Desk::open(mx.clone(), test_config()).unwrap();
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    officer(&mx_desk, "ana", "MX.UIF", &[Role::Liaison], Lang::En);
    officer(&mx_desk, "beto", "MX.UIF", &[Role::Approver], Lang::Es);
    officer(&mx_desk, "olga", "MX.UIF", &[Role::Oversight], Lang::En);
    officer(&us_desk, "sam", "US.FINCEN", &[Role::Approver], Lang::En);
    officer(&us_desk, "lee", "US.FINCEN", &[Role::Approver], Lang::Es);

    let notice = us
        .propose(example("us-notify-order.toml"), Some(id("sam")))
        .unwrap();
    wait_state(&mx, notice.id, ProposalState::Acknowledged).await;

    // The notice's page offers the request, in both languages; an
    // oversight officer may not send it.
    let mut ana = Client::new(&mx_desk);
    ana.login("ana", PASSWORD).await;
    let page = ana.get(&format!("/proposals/{}", notice.id)).await;
    assert!(page.body.contains("Ask for the evidence"), "{}", page.body);
    let csrf = csrf_in(&page.body);
    let mut beto = Client::new(&mx_desk);
    beto.login("beto", PASSWORD).await;
    let page = beto.get(&format!("/proposals/{}", notice.id)).await;
    assert!(page.body.contains("Solicitar las pruebas"), "{}", page.body);
    let mut olga = Client::new(&mx_desk);
    olga.login("olga", PASSWORD).await;
    let olga_csrf = olga.csrf().await;
    let refused = olga
        .post(
            &format!("/proposals/{}/evidence", notice.id),
            &[("csrf", &olga_csrf), ("asked", "everything")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // An empty request, or one about a proposal that does not exist, is
    // refused and nothing is sent.
    let empty = ana
        .post(
            &format!("/proposals/{}/evidence", notice.id),
            &[("csrf", &csrf), ("asked", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let nowhere = ana
        .post(
            &format!("/proposals/{}/evidence", ProposalId::generate()),
            &[("csrf", &csrf), ("asked", "the findings")],
        )
        .await;
    assert_eq!(
        nowhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nowhere.body
    );
    assert!(nowhere.body.contains("no proposal"), "{}", nowhere.body);
    assert!(outgoing(&mx, ProposalKind::EvidenceRequest).is_empty());

    let sent = ana
        .post(
            &format!("/proposals/{}/evidence", notice.id),
            &[
                ("csrf", &csrf),
                ("asked", "the findings the order rests on"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let [asked] = outgoing(&mx, ProposalKind::EvidenceRequest)[..] else {
        panic!("one request for evidence");
    };
    wait_state(&us, asked, ProposalState::AwaitingOfficer).await;

    // The US officers see it where they decide, in English and Spanish.
    let mut sam = Client::new(&us_desk);
    sam.login("sam", PASSWORD).await;
    let page = sam.get(&format!("/proposals/{asked}")).await;
    assert!(page.body.contains("Evidence asked for"), "{}", page.body);
    assert!(
        page.body.contains("the findings the order rests on"),
        "{}",
        page.body
    );
    let sam_csrf = csrf_in(&page.body);
    let mut lee = Client::new(&us_desk);
    lee.login("lee", PASSWORD).await;
    let page = lee.get(&format!("/proposals/{asked}")).await;
    assert!(
        page.body.contains("Pruebas solicitadas de"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Qué significa aceptar"), "{}", page.body);
    let lee_csrf = csrf_in(&page.body);

    // Accepting before an exhibit is released is refused, nothing changes.
    let decide = |reason: &'static str, outcome: &'static str| {
        vec![
            ("outcome", outcome),
            ("reason", reason),
            ("conditions", ""),
            ("release", ""),
        ]
    };
    let mut form = decide("the findings", "accept");
    form.push(("csrf", &sam_csrf));
    let early = sam.post(&format!("/proposals/{asked}/decide"), &form).await;
    assert_ne!(early.status, StatusCode::SEE_OTHER, "{}", early.body);
    assert!(early.body.contains("no exhibit of ours"), "{}", early.body);
    assert_eq!(
        us.show(asked).unwrap().record.state,
        ProposalState::AwaitingOfficer
    );

    // Released in the notice's evidence file, then accepted by two.
    let case = us.evidence_file_open(notice.id, &id("sam")).unwrap();
    let file = dir.path().join("findings.txt");
    std::fs::write(&file, "findings\n").unwrap();
    let digest = us
        .exhibit_add(
            case,
            &id("sam"),
            &file,
            "findings",
            UseConditions::strict(90),
        )
        .unwrap();
    us.exhibit_release(case, digest, &[id("sam"), id("lee")])
        .unwrap();
    let decided = sam.post(&format!("/proposals/{asked}/decide"), &form).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    assert_eq!(
        us.show(asked).unwrap().record.state,
        ProposalState::AwaitingOfficer,
        "four eyes"
    );
    let confirmed = lee
        .post(
            &format!("/proposals/{asked}/confirm"),
            &[("csrf", &lee_csrf)],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    accepted(&mx, asked).await;

    // Mexico holds the exhibit and asks consent to use it in court.
    mx.evidence_file_open(notice.id, &id("beto")).unwrap();
    for _ in 0..400 {
        if mx.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&digest)
                .is_some_and(|x| x.status == soberana_case::ExhibitStatus::Released)
        }) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    mx.exhibit_fetch(case, &id("beto"), digest, None)
        .await
        .unwrap();
    // Beto asks it from the case page, in Spanish; a form without the
    // proceedings is refused and nothing is sent.
    let page = beto.get(&format!("/cases/{case}")).await;
    assert!(
        page.body.contains("Pedir su consentimiento"),
        "{}",
        page.body
    );
    let beto_csrf = csrf_in(&page.body);
    let path = format!("/cases/{case}/exhibits/{digest}/consent");
    let empty = beto
        .post(
            &path,
            &[
                ("csrf", &beto_csrf),
                ("use", "court"),
                ("detail", ""),
                ("reason", "proceso penal"),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(outgoing(&mx, ProposalKind::ExhibitConsent).is_empty());
    let asked = beto
        .post(
            &path,
            &[
                ("csrf", &beto_csrf),
                ("use", "court"),
                ("detail", "Juzgado Primero"),
                ("reason", "proceso penal"),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let [consent_id] = outgoing(&mx, ProposalKind::ExhibitConsent)[..] else {
        panic!("one consent request");
    };
    let consent = mx.show(consent_id).unwrap().record.proposal;
    wait_state(&us, consent.id, ProposalState::AwaitingOfficer).await;
    let page = sam.get(&format!("/proposals/{}", consent.id)).await;
    assert!(page.body.contains("Uses asked for"), "{}", page.body);
    assert!(
        page.body.contains("court use in `Juzgado Primero`"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&digest.to_string()), "{}", page.body);
    let page = lee.get(&format!("/proposals/{}", consent.id)).await;
    assert!(page.body.contains("Usos solicitados"), "{}", page.body);
    assert!(page.body.contains("uso ante el tribunal"), "{}", page.body);

    let mut form = decide("not before the hearing", "refuse");
    form.push(("csrf", &sam_csrf));
    let refused = sam
        .post(&format!("/proposals/{}/decide", consent.id), &form)
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    wait_state(&mx, consent.id, ProposalState::Refused).await;
    assert!(
        mx.exhibit_use(
            case,
            &id("beto"),
            digest,
            ExhibitUse::Court {
                proceedings: "Juzgado Primero".into()
            },
            None
        )
        .is_err()
    );

    // Asked again for two uses, court and onward to the SAT, the US grants
    // the court use alone: Sam unticks the other, Lee confirms. Mexico may
    // then use it in court and not pass it on.
    let two = beto
        .post(
            &path,
            &[
                ("csrf", &beto_csrf),
                ("use", "court"),
                ("detail", "Juzgado Primero"),
                ("also_use", "onward"),
                ("also_detail", "SAT"),
                ("reason", "proceso penal y la investigación del SAT"),
            ],
        )
        .await;
    assert_eq!(two.status, StatusCode::SEE_OTHER, "{}", two.body);
    let consent_id = *outgoing(&mx, ProposalKind::ExhibitConsent)
        .iter()
        .find(|c| **c != consent.id)
        .unwrap();
    wait_state(&us, consent_id, ProposalState::AwaitingOfficer).await;
    let page = sam.get(&format!("/proposals/{consent_id}")).await;
    assert!(
        page.body.contains("Uses to grant if you accept"),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"grant_2\""), "{}", page.body);
    let page = lee.get(&format!("/proposals/{consent_id}")).await;
    assert!(
        page.body.contains("Usos que se conceden si acepta"),
        "{}",
        page.body
    );
    let path = format!("/proposals/{consent_id}/decide");
    let mut none = decide("nothing", "accept");
    none.extend([("csrf", sam_csrf.as_str()), ("grants_offered", "1")]);
    let refused = sam.post(&path, &none).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let mut form = decide("for the trial only", "accept");
    form.extend([
        ("csrf", sam_csrf.as_str()),
        ("grants_offered", "1"),
        ("grant_1", "1"),
    ]);
    let decided = sam.post(&path, &form).await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let confirmed = lee
        .post(
            &format!("/proposals/{consent_id}/confirm"),
            &[("csrf", &lee_csrf)],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    wait_state(&mx, consent_id, ProposalState::Answered).await;
    let court = ExhibitUse::Court {
        proceedings: "Juzgado Primero".into(),
    };
    let used = mx
        .exhibit_use(case, &id("beto"), digest, court, None)
        .unwrap();
    assert_eq!(used.consent, Some(consent_id));
    let onward = ExhibitUse::OnwardTransmission { to: "SAT".into() };
    assert!(
        mx.exhibit_use(case, &id("beto"), digest, onward, None)
            .is_err()
    );
    for r in runs {
        r.stop().await;
    }
}
