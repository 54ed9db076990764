//! Joint-investigation acts from the desk, through its router: an exhibit of
//! ours released under four eyes lands in our chain of custody and the
//! partner's; the partner's desk opens it once received, and the opening is
//! custody; an administrator adds and removes members; a non-member or a
//! member who is not an administrator is refused and nothing is written;
//! the Spanish case page with its forms holds no English.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use soberana_case::{Act, CaseId, CaseRole, ExhibitDigest, UseConditions};
use soberana_core::{OfficerId, Outcome, ProposalState, Role};
use soberana_desk::{Desk, Lang, english_words_in};
use soberana_node::Node;
use support::client::*;
use support::*;

fn id(text: &str) -> OfficerId {
    OfficerId::new(text).unwrap()
}

fn acts(node: &Node, case: CaseId) -> Vec<String> {
    node.case(case)
        .unwrap()
        .events
        .iter()
        .map(|e| e.event.act.name().to_owned())
        .collect()
}

async fn wait_for(
    node: &Node,
    case: CaseId,
    what: impl Fn(&[soberana_store::StoredCaseEvent]) -> bool,
) {
    for _ in 0..400 {
        if node.case(case).is_ok_and(|v| what(&v.events)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{} never recorded the awaited act: {:?}",
        node.party(),
        node.case(case).map(|v| v.events.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_from_the_desk_needs_two_approvers_and_lands_in_both_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let mx_desk = Desk::open(mx.clone(), test_config()).unwrap();
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    // Named in Spanish, so that any English on beto's Spanish page is the
    // desk's own.
    for (who, name, role, lang) in [
        ("ana", "Ana Torres", Role::Approver, Lang::En),
        ("beto", "Alberto Ruiz", Role::Approver, Lang::Es),
        ("carla", "Carla Núñez", Role::Liaison, Lang::En),
        ("olga", "Olga Díaz", Role::Oversight, Lang::En),
    ] {
        named(&mx_desk, who, name, "MX.FGR", &[role], lang);
    }
    officer(&us_desk, "sam", "US.ATF", &[Role::Approver], Lang::En);
    officer(&us_desk, "lee", "US.ATF", &[Role::Approver], Lang::Es);

    // MX proposes the joint investigation; a US approver accepts it; each
    // side opens its own.
    let p = mx
        .propose(example("mx-joint-investigation.toml"), None)
        .unwrap();
    wait_state(&us, p.id, ProposalState::AwaitingOfficer).await;
    us.decide(
        p.id,
        soberana_node::OfficerVerdict {
            officer: id("sam"),
            outcome: Outcome::Accepted,
            reason: "each side on its own territory".into(),
            release: Vec::new(),
        },
    )
    .unwrap();
    wait_state(&mx, p.id, ProposalState::Accepted).await;
    let case = mx.case_take(p.id, &id("ana")).unwrap();
    us.case_take(p.id, &id("sam")).unwrap();
    us.case_member_add(case, &id("sam"), &id("lee"), false)
        .unwrap();

    // Ana (administrator) adds beto from the desk and carla as a plain
    // member, then removes carla.
    let mut ana = Client::new(&mx_desk);
    ana.login("ana", PASSWORD).await;
    let page = ana.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains("Add the member"), "{}", page.body);
    let csrf = csrf_in(&page.body);
    for (who, admin) in [("beto", "on"), ("carla", "")] {
        let added = ana
            .post(
                &format!("/cases/{case}/members"),
                &[("csrf", &csrf), ("officer", who), ("administrator", admin)],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    }
    let unknown = ana
        .post(
            &format!("/cases/{case}/members"),
            &[("csrf", &csrf), ("officer", "nobody")],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("nobody"), "{}", unknown.body);
    let c = mx.case(case).unwrap().case;
    assert_eq!(
        c.role_of(mx.party(), &id("beto")),
        Some(CaseRole::Administrator)
    );
    assert_eq!(c.role_of(mx.party(), &id("carla")), Some(CaseRole::Member));

    // Carla, a member but no administrator, cannot add or remove; olga, no
    // member, does not even see the case. Nothing is written.
    let before = acts(&mx, case);
    let mut carla = Client::new(&mx_desk);
    carla.login("carla", PASSWORD).await;
    let carla_csrf = carla.csrf().await;
    let refused = carla
        .post(
            &format!("/cases/{case}/members"),
            &[("csrf", &carla_csrf), ("officer", "olga")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("administrator"), "{}", refused.body);
    let refused = carla
        .post(
            &format!("/cases/{case}/members/remove"),
            &[("csrf", &carla_csrf), ("officer", "beto")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let mut olga = Client::new(&mx_desk);
    olga.login("olga", PASSWORD).await;
    let olga_csrf = olga.csrf().await;
    let hidden = olga
        .post(
            &format!("/cases/{case}/members"),
            &[("csrf", &olga_csrf), ("officer", "olga")],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    // A form without its token is refused too.
    let forged = ana
        .post(
            &format!("/cases/{case}/members"),
            &[("csrf", "0"), ("officer", "olga")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(acts(&mx, case), before, "refusals wrote nothing");

    let removed = ana
        .post(
            &format!("/cases/{case}/members/remove"),
            &[("csrf", &csrf), ("officer", "carla")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(
        mx.case(case)
            .unwrap()
            .case
            .role_of(mx.party(), &id("carla"))
            .is_none()
    );

    // Beto contributes an exhibit on the node.
    let file = dir.path().join("ledger.txt");
    std::fs::write(&file, "libreta incautada: pagos en Tucson\n".repeat(50)).unwrap();
    let exhibit: ExhibitDigest = mx
        .exhibit_add(
            case,
            &id("beto"),
            &file,
            "libreta incautada",
            UseConditions::strict(180),
        )
        .unwrap();
    let base = format!("/cases/{case}/exhibits/{exhibit}");

    // Olga (not a member) cannot release it; nothing written.
    let before = acts(&mx, case);
    let hidden = olga
        .post(&format!("{base}/release"), &[("csrf", &olga_csrf)])
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);

    // Ana asks for the release: it waits for a second approver, nothing is
    // written or sent yet, and Ana cannot confirm her own.
    let page = ana.get(&format!("/cases/{case}")).await;
    assert!(
        page.body.contains(&format!("{base}/release")),
        "{}",
        page.body
    );
    let asked = ana
        .post(&format!("{base}/release"), &[("csrf", &csrf)])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let page = ana.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains("awaiting confirmation"), "{}", page.body);
    assert!(
        !page.body.contains(&format!("{base}/confirm")),
        "{}",
        page.body
    );
    let own = ana
        .post(&format!("{base}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert_eq!(
        acts(&mx, case),
        before,
        "a release awaiting confirmation writes nothing"
    );

    // Beto, a second approver and member, confirms it (in Spanish): the
    // node releases it naming both.
    let mut beto = Client::new(&mx_desk);
    beto.login("beto", PASSWORD).await;
    let page = beto.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains("Confirmar la entrega"), "{}", page.body);
    assert!(page.body.contains("Agregar al miembro"), "{}", page.body);
    // The US members are the US node's claim about its own people.
    assert!(page.body.contains("según US"), "{}", page.body);
    let english = english_words_in(&page.body);
    assert!(
        english.is_empty(),
        "English on the Spanish case page: {english:?}"
    );
    let beto_csrf = csrf_in(&page.body);
    let confirmed = beto
        .post(&format!("{base}/confirm"), &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let view = mx.case(case).unwrap();
    let released = view
        .events
        .iter()
        .find(|e| matches!(e.event.act, Act::ExhibitReleased { .. }))
        .expect("the release is in our chain of custody");
    let Act::ExhibitReleased { approved_by, .. } = &released.event.act else {
        unreachable!()
    };
    assert_eq!(approved_by, &vec![id("ana"), id("beto")]);
    let again = beto
        .post(&format!("{base}/release"), &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("ya fue entregada"), "{}", again.body);

    // The partner records the offer and the release in its own log.
    wait_for(&us, case, |events| {
        events
            .iter()
            .any(|e| !e.ours && matches!(e.event.act, Act::ExhibitReleased { .. }))
    })
    .await;
    let theirs = acts(&us, case);
    assert!(theirs.contains(&"exhibit_offered".to_owned()), "{theirs:?}");

    // The US fetches it; Lee opens it from the US desk, and the opening is
    // custody in the US log.
    us.exhibit_fetch(case, &id("lee"), exhibit, None)
        .await
        .unwrap();
    let mut lee = Client::new(&us_desk);
    lee.login("lee", PASSWORD).await;
    let page = lee.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains(&format!("{base}/open")), "{}", page.body);
    assert!(
        page.body.contains("ana · MX · administrador · según MX"),
        "{}",
        page.body
    );
    let lee_csrf = csrf_in(&page.body);
    let opened = lee
        .post(&format!("{base}/open"), &[("csrf", &lee_csrf)])
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert_eq!(opened.body, std::fs::read_to_string(&file).unwrap());
    let opening = us
        .case(case)
        .unwrap()
        .events
        .into_iter()
        .find(|e| e.ours && matches!(e.event.act, Act::ExhibitOpened { .. }))
        .expect("the opening is in the US chain of custody");
    assert_eq!(opening.event.actor, id("lee"));

    for run in runs {
        run.stop().await;
    }
}
