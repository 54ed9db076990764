//! Messages and tasks on the desk's case page, through its router: the
//! acceptance opened the case, a member posts a message in Spanish that the
//! partner's member reads on the partner's desk marked as Spanish, gives the
//! partner's member a task with a deadline that appears on both pages, and
//! the owner closes it from the partner's desk. Refused: a message too long,
//! a task for an officer who is no member, closing a task of the other side;
//! nothing of them is stored. The Spanish page with the new sections holds
//! no English.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use soberana_case::{Act, CaseId, MAX_MESSAGE_BYTES};
use soberana_core::{OfficerId, Outcome, ProposalState, Role};
use soberana_desk::{Desk, Lang, english_words_in};
use soberana_node::Node;
use support::client::*;
use support::*;

fn id(text: &str) -> OfficerId {
    OfficerId::new(text).unwrap()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

fn count(node: &Node, case: CaseId, name: &str) -> usize {
    node.case(case)
        .unwrap()
        .events
        .iter()
        .filter(|e| e.event.act.name() == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_write_and_give_tasks_across_the_two_desks() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let mx_desk = Desk::open(mx.clone(), test_config()).unwrap();
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    named(
        &mx_desk,
        "beto",
        "Alberto Ruiz",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
    );
    named(
        &mx_desk,
        "olga",
        "Olga Díaz",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
    );
    officer(&us_desk, "sam", "US.ATF", &[Role::Approver], Lang::En);

    // Mexico proposes; sam accepts on the US side. The acceptance opens the
    // case on both sides: sam administers the US side; beto takes Mexico's,
    // which the agreement left without an administrator.
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
    let case = CaseId::for_proposal(&p.id);
    assert!(us.case(case).is_ok(), "the US side opened on acceptance");
    wait_state(&mx, p.id, ProposalState::Accepted).await;
    mx.case_take(p.id, &id("beto")).unwrap();
    until("the US sees beto administer Mexico's side", || {
        us.case(case)
            .is_ok_and(|v| v.case.role_of(mx.party(), &id("beto")).is_some())
    })
    .await;

    // Beto writes in Spanish from the desk.
    let mut beto = Client::new(&mx_desk);
    beto.login("beto", PASSWORD).await;
    let page = beto.get(&format!("/cases/{case}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Mensajes"), "{}", page.body);
    assert!(page.body.contains("Enviar el mensaje"), "{}", page.body);
    let csrf = csrf_in(&page.body);
    let sent = beto
        .post(
            &format!("/cases/{case}/messages"),
            &[
                ("csrf", &csrf),
                ("text", "La libreta cruza con tres compradores de Tucson."),
                ("language", "es"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    // A task for sam on the US side, due soon enough to stay before the
    // case's end.
    let due = soberana_core::Timestamp::now().plus_seconds(10 * 86_400);
    let day = &due.to_string()[..10];
    let given = beto
        .post(
            &format!("/cases/{case}/tasks"),
            &[
                ("csrf", &csrf),
                ("title", "rastrear la serie DX-4471"),
                ("owner", "US:sam"),
                ("due", day),
            ],
        )
        .await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    assert_eq!(mx.case(case).unwrap().case.tasks.len(), 1);
    let task = mx.case(case).unwrap().case.tasks[0].id.clone();
    // Mexico cannot close a US member's task; the page offers no button.
    let page = beto.get(&format!("/cases/{case}")).await;
    assert!(
        page.body.contains("rastrear la serie DX-4471"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Marcar hecha"), "{}", page.body);
    let english = english_words_in(&page.body);
    assert!(
        english.is_empty(),
        "English on the Spanish case page: {english:?}"
    );
    // Too long: refused with the limit named, nothing posted.
    let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
    let refused = beto
        .post(
            &format!("/cases/{case}/messages"),
            &[("csrf", &csrf), ("text", &long), ("language", "es")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(count(&mx, case, "message_posted"), 1);

    // A task for olga, an officer of Mexico but no member: refused.
    let no_member = beto
        .post(
            &format!("/cases/{case}/tasks"),
            &[
                ("csrf", &csrf),
                ("title", "revisar la libreta"),
                ("owner", "MX:olga"),
                ("due", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(
        no_member.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_member.body
    );
    assert!(no_member.body.contains("olga"), "{}", no_member.body);
    // Olga, no member, does not even see the case, nor can she post to it.
    let mut olga = Client::new(&mx_desk);
    olga.login("olga", PASSWORD).await;
    let olga_csrf = olga.csrf().await;
    let hidden = olga
        .post(
            &format!("/cases/{case}/messages"),
            &[("csrf", &olga_csrf), ("text", "hola"), ("language", "es")],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    assert_eq!(count(&mx, case, "message_posted"), 1);

    let not_ours = beto
        .post(
            &format!("/cases/{case}/tasks/{task}/done"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        not_ours.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_ours.body
    );

    // Sam reads the message marked as Spanish and closes the task.
    until("the US holds the message and the task", || {
        us.case(case)
            .is_ok_and(|v| v.case.tasks.len() == 1 && count(&us, case, "message_posted") == 1)
    })
    .await;
    let mut sam = Client::new(&us_desk);
    sam.login("sam", PASSWORD).await;
    let page = sam.get(&format!("/cases/{case}")).await;
    assert!(
        page.body
            .contains("<p lang=\"es\">La libreta cruza con tres compradores de Tucson.</p>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("written in"), "{}", page.body);
    assert!(page.body.contains("Mark done"), "{}", page.body);
    assert!(page.body.contains("open"), "{}", page.body);
    let sam_csrf = csrf_in(&page.body);
    let done = sam
        .post(
            &format!("/cases/{case}/tasks/{task}/done"),
            &[("csrf", &sam_csrf)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    until("Mexico sees the task done", || {
        mx.case(case)
            .is_ok_and(|v| v.case.tasks.iter().all(|t| !t.is_open()))
    })
    .await;
    let page = beto.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains("hecha por sam"), "{}", page.body);

    // A task whose deadline passes is marked overdue on the page and in
    // the case list.
    let soon = soberana_core::Timestamp::now().plus_seconds(1);
    mx.case_task(
        case,
        &id("beto"),
        "cotejar pagos",
        mx.party(),
        &id("beto"),
        soon,
    )
    .unwrap();
    for _ in 0..100 {
        if soberana_core::Timestamp::now() > soon {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = beto.get(&format!("/cases/{case}")).await;
    assert!(page.body.contains("Tareas vencidas: 1"), "{}", page.body);
    assert!(page.body.contains("Marcar hecha"), "{}", page.body);
    let list = beto.get("/cases").await;
    assert!(list.body.contains("1 tarea(s) vencida(s)"), "{}", list.body);
    // Every refusal above left one entry in Mexico's log and nothing else.
    let refusals = mx
        .case(case)
        .unwrap()
        .events
        .iter()
        .filter(|e| matches!(e.event.act, Act::Refused { .. }))
        .count();
    assert_eq!(
        refusals, 3,
        "oversized message, task for a non-member, closing theirs"
    );
    for r in runs {
        r.stop().await;
    }
}
