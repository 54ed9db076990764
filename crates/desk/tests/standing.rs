//! Standing match arrangements from the desk, through its router, between
//! two live nodes under the example agreement: MX proposes one from its
//! desk and the US accepts it from its own, each under four eyes (the first
//! approver's act waits, unwritten, until a different approver confirms);
//! the page shows both budgets and the binding one; a US analyst runs it now
//! and the page shows the run with its matches; MX suspends and resumes it
//! while the US cannot resume MX's suspension. Refusals (wrong role, bad
//! budget, missing form token, unknown arrangement, an act the arrangement
//! does not allow now) are 4xx and write nothing; the Spanish page holds
//! no English.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use soberana_core::{
    AgreementAction, AgreementStatus, PartyCode, ProposalState, Role, StandingBudget,
    StandingStatus,
};
use soberana_desk::{Desk, Lang, english_words_in};
use soberana_node::{Node, RunningNode, read_terms};
use soberana_psi::IdentifierKind;
use support::client::*;
use support::*;

fn party(code: &str) -> PartyCode {
    PartyCode::new(code).unwrap()
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

fn status(node: &Node, peer: &str, name: &str) -> Option<StandingStatus> {
    node.standing_arrangements(party(peer))
        .unwrap()
        .into_iter()
        .find(|a| a.terms.name == name)
        .map(|a| a.status)
}

/// Two running nodes with the example agreement in force (MX takes
/// identifier matches from the US), each with a desk and its officers.
async fn agreed(dir: &Path) -> (Node, Node, [RunningNode; 2], Desk, Desk) {
    let (mx, us) = pair(dir);
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let terms = read_terms(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/agreements/mx-us.toml"),
    )
    .unwrap();
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "terms")
        .unwrap();
    eventually("the US holds the proposed terms", || {
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
    let mx_desk = Desk::open(mx.clone(), test_config()).unwrap();
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    // Named in Spanish, so that any English on a Spanish page is the desk's.
    for (who, name, role, lang) in [
        ("ana", "Ana Torres", Role::Approver, Lang::En),
        ("beto", "Alberto Ruiz", Role::Approver, Lang::Es),
        ("carla", "Carla Núñez", Role::Liaison, Lang::En),
        ("olga", "Olga Díaz", Role::Oversight, Lang::Es),
    ] {
        named(&mx_desk, who, name, "MX.FGR", &[role], lang);
    }
    for (who, name, role, lang) in [
        ("sam", "Sam Reyes", Role::Approver, Lang::En),
        ("lee", "Lía Gómez", Role::Approver, Lang::Es),
        ("ivy", "Ivy Soto", Role::Analyst, Lang::En),
    ] {
        named(&us_desk, who, name, "US.ATF", &[role], lang);
    }
    (mx, us, runs, mx_desk, us_desk)
}

async fn signed_in(desk: &Desk, who: &str) -> (Client, String) {
    let mut client = Client::new(desk);
    assert_eq!(
        client.login(who, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let csrf = client.csrf().await;
    (client, csrf)
}

/// The form MX's approvers use: the US checks its phone list against MX's
/// holdings once a day, MX allowing 5 queries a run and 6 a day.
fn proposal<'a>(csrf: &'a str, per_run: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("partner", "US"),
        ("name", "phones"),
        ("asker", "partner"),
        ("list_kind", "phone"),
        ("period", "daily"),
        ("per_run", per_run),
        ("per_period", "6"),
        ("reason", "cotejo diario de teléfonos incautados"),
    ]
}

fn no_english(path: &str, html: &str) {
    let words = english_words_in(html);
    assert!(
        words.is_empty(),
        "the Spanish page {path} holds English words {words:?}: {html}"
    );
}

/// MX proposes `phones` (four eyes on the MX desk) and the US accepts it
/// with 4 a run and 100 a day (four eyes on the US desk).
async fn in_force(mx: &Node, us: &Node, mx_desk: &Desk, us_desk: &Desk) {
    let (mut ana, ana_csrf) = signed_in(mx_desk, "ana").await;
    let (mut beto, beto_csrf) = signed_in(mx_desk, "beto").await;
    let r = ana
        .post("/standing/propose", &proposal(&ana_csrf, "5"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/standing"));
    assert_eq!(status(mx, "US", "phones"), None, "nothing is made yet");
    let page = ana.get("/standing").await.body;
    assert!(page.contains("Awaiting a second approver"), "{page}");
    assert!(
        !page.contains("/standing/US/phones/confirm"),
        "the first approver cannot confirm their own act"
    );
    let r = ana
        .post("/standing/US/phones/confirm", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(status(mx, "US", "phones"), None);
    let page = beto.get("/standing").await.body;
    assert!(page.contains("/standing/US/phones/confirm"), "{page}");
    no_english("/standing (awaiting a second approver)", &page);
    let r = beto
        .post("/standing/US/phones/confirm", &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(mx, "US", "phones"), Some(StandingStatus::Proposed));
    eventually("the US holds the proposed arrangement", || {
        status(us, "MX", "phones") == Some(StandingStatus::Proposed)
    })
    .await;

    let (mut sam, sam_csrf) = signed_in(us_desk, "sam").await;
    let (mut lee, lee_csrf) = signed_in(us_desk, "lee").await;
    assert!(
        sam.get("/standing")
            .await
            .body
            .contains("/standing/MX/phones/accept")
    );
    let accept = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("per_run", "4".to_owned()),
            ("per_period", "100".to_owned()),
            ("reason", "de acuerdo".to_owned()),
        ]
    };
    let form = accept(&sam_csrf);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = sam.post("/standing/MX/phones/accept", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(us, "MX", "phones"), Some(StandingStatus::Proposed));
    let r = lee
        .post("/standing/MX/phones/confirm", &[("csrf", &lee_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let accepted = us
        .standing_arrangements(party("MX"))
        .unwrap()
        .into_iter()
        .find(|a| a.terms.name == "phones")
        .unwrap();
    assert_eq!(accepted.status, StandingStatus::Active);
    assert_eq!(
        accepted.effective_budget(),
        Some(StandingBudget {
            per_run: 4,
            per_period: 6
        })
    );
    eventually("MX sees the arrangement in force", || {
        status(mx, "US", "phones") == Some(StandingStatus::Active)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arrangement_is_agreed_run_suspended_and_resumed_from_both_desks() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, _runs, mx_desk, us_desk) = agreed(dir.path()).await;
    let (mut ana, ana_csrf) = signed_in(&mx_desk, "ana").await;
    let page = ana.get("/standing").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("No standing arrangement with any partner."),
        "{}",
        page.body
    );
    in_force(&mx, &us, &mx_desk, &us_desk).await;

    // MX's page: both budgets, the binding one, nothing used yet.
    let page = ana.get("/standing").await.body;
    assert!(page.contains("in force"), "{page}");
    assert!(page.contains("5 per run · 6 per period"), "ours: {page}");
    assert!(
        page.contains("4 per run · 100 per period"),
        "theirs: {page}"
    );
    assert!(page.contains("4 per run · 6 per period"), "binding: {page}");
    assert!(page.contains("/standing/US/phones/suspend"));
    assert!(
        !page.contains("/standing/US/phones/run"),
        "MX holds under this arrangement; it runs nothing"
    );

    // The US keeps its list; MX holds two of its three phones; a US analyst
    // runs it now, and MX's node answers without an officer.
    let list = dir.path().join("phones.list");
    std::fs::write(
        &list,
        "phone:+525510000001\nphone:+525510000002\nphone:+525510000003\n",
    )
    .unwrap();
    assert_eq!(
        us.keep_standing_list(party("MX"), "phones", &list).unwrap(),
        3
    );
    let holdings = mx.holdings_path(IdentifierKind::Phone);
    std::fs::create_dir_all(holdings.parent().unwrap()).unwrap();
    std::fs::write(
        &holdings,
        "phone:+525510000002\nphone:+525510000003\nphone:+525510000009\n",
    )
    .unwrap();
    let (mut ivy, ivy_csrf) = signed_in(&us_desk, "ivy").await;
    let page = ivy.get("/standing").await.body;
    assert!(page.contains("/standing/MX/phones/run"), "{page}");
    assert!(page.contains("Next run due"), "{page}");
    let r = ivy
        .post("/standing/MX/phones/run", &[("csrf", &ivy_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let run = r
        .location
        .unwrap()
        .trim_start_matches("/proposals/")
        .parse()
        .unwrap();
    wait_state(&us, run, ProposalState::Answered).await;
    let page = ivy.get("/standing").await.body;
    assert!(
        page.contains(&format!("/proposals/{run}")),
        "the run is listed: {page}"
    );
    assert!(
        page.contains("<td>answered</td><td>3</td><td>2</td>"),
        "3 queries, 2 matches: {page}"
    );
    let view = us
        .standing_views(soberana_core::Timestamp::now())
        .unwrap()
        .into_iter()
        .find(|v| v.arrangement.terms.name == "phones")
        .unwrap();
    assert_eq!(view.used_this_period, 3);
    assert_eq!(view.last_run.map(|_| ()), Some(()));
    assert!(view.next_run.unwrap() > soberana_core::Timestamp::now());
    // MX's page lists the run it held, without a match count it does not learn.
    let page = ana.get("/standing").await.body;
    assert!(page.contains(&format!("/proposals/{run}")), "{page}");
    assert!(page.contains("not learned on our side"), "{page}");

    // Spanish pages on both sides, with an arrangement, runs and forms.
    let (mut beto, beto_csrf) = signed_in(&mx_desk, "beto").await;
    no_english("/standing (MX)", &beto.get("/standing").await.body);
    let (mut lee, lee_csrf) = signed_in(&us_desk, "lee").await;
    let lee_page = lee.get("/standing").await.body;
    assert!(lee_page.contains("Cotejos permanentes"));
    assert!(lee_page.contains("en vigor"));
    no_english("/standing (US)", &lee_page);

    // MX suspends; the US cannot resume MX's suspension; MX resumes.
    let r = ana
        .post(
            "/standing/US/phones/suspend",
            &[("csrf", &ana_csrf), ("reason", "revisión")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&mx, "US", "phones"), Some(StandingStatus::Suspended));
    eventually("the US sees the suspension", || {
        status(&us, "MX", "phones") == Some(StandingStatus::Suspended)
    })
    .await;
    let r = ivy
        .post("/standing/MX/phones/run", &[("csrf", &ivy_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no run while suspended");
    let r = lee
        .post("/standing/MX/phones/resume", &[("csrf", &lee_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("el nodo lo rechazó") || r.body.contains("solo esa parte puede reanudarlo"),
        "{}",
        r.body
    );
    assert_eq!(status(&us, "MX", "phones"), Some(StandingStatus::Suspended));
    let page = beto.get("/standing").await.body;
    assert!(page.contains("/standing/US/phones/resume"), "{page}");
    let r = beto
        .post("/standing/US/phones/resume", &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&mx, "US", "phones"), Some(StandingStatus::Active));
    eventually("the US sees it in force again", || {
        status(&us, "MX", "phones") == Some(StandingStatus::Active)
    })
    .await;
    // The acts are in MX's audit trail, each once, with who approved it:
    // the wait on the desk, then the act the node made naming both.
    let audit = mx_desk.officers().audit_trail(100).unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for wanted in [
        "standing_pending",
        "standing_propose",
        "standing_suspend",
        "standing_resume",
    ] {
        assert_eq!(
            actions.iter().filter(|a| **a == wanted).count(),
            1,
            "{wanted} once in {actions:?}"
        );
    }
    assert!(
        audit.iter().any(|e| e.action == "standing_propose"
            && e.target == "US/phones"
            && e.detail.contains("approved by ana · beto")),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_acts_are_4xx_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us, _runs, mx_desk, _us_desk) = agreed(dir.path()).await;
    let (mut ana, ana_csrf) = signed_in(&mx_desk, "ana").await;
    let (mut beto, beto_csrf) = signed_in(&mx_desk, "beto").await;
    let (mut carla, carla_csrf) = signed_in(&mx_desk, "carla").await;
    let (mut olga, _) = signed_in(&mx_desk, "olga").await;
    let nothing_waits = |html: &str| !html.contains("/confirm\"");
    let acts = || mx.agreement_acts(party("US")).unwrap().len();
    let acts_before = acts();

    // Wrong role: a liaison officer cannot propose; oversight only reads.
    let r = carla
        .post("/standing/propose", &proposal(&carla_csrf, "5"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("approver"), "{}", r.body);
    let page = olga.get("/standing").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("action=\"/standing/propose\""),
        "no form for a role that cannot use it"
    );
    no_english("/standing (oversight)", &page.body);

    // No form token.
    let mut form = proposal(&ana_csrf, "5");
    form.retain(|(k, _)| *k != "csrf");
    let r = ana.post("/standing/propose", &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token"), "{}", r.body);

    // Bad budgets, in both languages.
    let r = ana
        .post("/standing/propose", &proposal(&ana_csrf, "five"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("the budget per run `five` is not a whole number of queries"),
        "{}",
        r.body
    );
    let r = beto
        .post("/standing/propose", &proposal(&beto_csrf, "-3"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("el presupuesto por ejecución `-3` no es un número entero de consultas"),
        "{}",
        r.body
    );
    no_english("a refused budget", &r.body);
    let r = ana
        .post("/standing/propose", &proposal(&ana_csrf, "7"))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "7 a run over 6 a day"
    );
    let mut form = proposal(&ana_csrf, "5");
    form.retain(|(k, _)| *k != "name");
    form.push(("name", "Phones!"));
    let r = ana.post("/standing/propose", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut form = proposal(&ana_csrf, "5");
    form.retain(|(k, _)| *k != "partner");
    form.push(("partner", "GT"));
    let r = ana.post("/standing/propose", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut form = proposal(&ana_csrf, "5");
    form.retain(|(k, _)| *k != "period");
    form.push(("period", "hourly"));
    let r = ana.post("/standing/propose", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The agreement does not let MX ask the US for identifier matches: the
    // node says so when the first approver asks, and nothing waits.
    let mut form = proposal(&ana_csrf, "5");
    form.retain(|(k, _)| *k != "asker");
    form.push(("asker", "us"));
    let r = ana.post("/standing/propose", &form).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("does not accept"), "{}", r.body);
    assert!(nothing_waits(&beto.get("/standing").await.body));
    assert_eq!(status(&mx, "US", "phones"), None);

    // Unknown arrangement, unknown act, nothing awaiting confirmation.
    let r = ana
        .post("/standing/US/nothing/suspend", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ana
        .post("/standing/GT/phones/suspend", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = beto
        .post("/standing/US/phones/confirm", &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    no_english("nothing to confirm", &r.body);

    // Nothing above signed, recorded or queued an act on the agreement.
    assert_eq!(acts(), acts_before);

    // The node judges the pair at confirmation: an act held for an
    // approver who is disabled before a second confirms it is refused,
    // nothing is made, and it waits until withdrawn.
    support::officer(&mx_desk, "eva", "MX.FGR", &[Role::Approver], Lang::En);
    let (mut eva, eva_csrf) = signed_in(&mx_desk, "eva").await;
    let r = eva
        .post("/standing/propose", &proposal(&eva_csrf, "5"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    mx_desk
        .node()
        .officers()
        .disable(&soberana_core::OfficerId::new("eva").unwrap(), "test")
        .unwrap();
    let r = beto
        .post("/standing/US/phones/confirm", &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(acts(), acts_before);
    assert_eq!(status(&mx, "US", "phones"), None);
    assert!(!nothing_waits(&beto.get("/standing").await.body));
    let r = ana
        .post("/standing/US/phones/withdraw", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(nothing_waits(&beto.get("/standing").await.body));

    // A proposed arrangement: MX cannot accept its own proposal, nor
    // suspend or resume what is not in force; the state stays.
    let r = ana
        .post("/standing/propose", &proposal(&ana_csrf, "5"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(acts(), acts_before, "a held act is not made");
    let r = ana
        .post("/standing/propose", &proposal(&ana_csrf, "5"))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "one act at a time awaits its second approver"
    );
    let r = beto
        .post("/standing/US/phones/confirm", &[("csrf", &beto_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = ana
        .post("/standing/US/phones/explode", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let accept = [
        ("csrf", ana_csrf.as_str()),
        ("per_run", "1"),
        ("per_period", "1"),
    ];
    let r = ana.post("/standing/US/phones/accept", &accept).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("only the other side can accept it"),
        "{}",
        r.body
    );
    for act in ["suspend", "resume"] {
        let r = beto
            .post(
                &format!("/standing/US/phones/{act}"),
                &[("csrf", &beto_csrf)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{act}: {}", r.body);
        assert!(
            !r.body.contains("detalle en inglés"),
            "translated: {}",
            r.body
        );
        assert!(r.body.contains("propuesto"), "{act}: {}", r.body);
        no_english(act, &r.body);
    }
    assert_eq!(status(&mx, "US", "phones"), Some(StandingStatus::Proposed));
    // Running needs an analyst or a liaison officer.
    let r = ana
        .post("/standing/US/phones/run", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Withdrawing a waiting act writes nothing; a terminated one is gone.
    let r = ana
        .post(
            "/standing/US/phones/terminate",
            &[("csrf", &ana_csrf), ("reason", "ya no")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        status(&mx, "US", "phones"),
        Some(StandingStatus::Terminated)
    );
    let r = ana
        .post("/standing/US/phones/terminate", &[("csrf", &ana_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Acts awaiting a second approver are held in memory, so their number
    // is bounded.
    let names: Vec<String> = (0..65).map(|i| format!("lista-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let mut form = proposal(&ana_csrf, "5");
        form.retain(|(k, _)| *k != "name");
        form.push(("name", name));
        let r = ana.post("/standing/propose", &form).await;
        let expected = if i < 64 {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(r.status, expected, "{name}: {}", r.body);
    }
    assert_eq!(
        mx.standing_arrangements(party("US")).unwrap().len(),
        1,
        "none of them was made"
    );
}
