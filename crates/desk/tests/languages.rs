//! Every page of the desk in Spanish carries no English from the desk
//! itself, every proposal kind is shown as what it is, and the lists of
//! proposals (inbox, decided by policy, outbox) hold what they should.
//!
//! Partner text is written in Spanish here, so that any English word left on
//! a Spanish page is the desk's own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::StatusCode;
use soberana_core::{AgencyId, Officer, OfficerId};
use soberana_core::{DecidedBy, Outcome, ProposalDraft, ProposalId, ProposalState, Role};
use soberana_desk::{Desk, HashCost, Lang, NewOfficer, add_officer, english_words_in};
use soberana_node::{Node, OfficerVerdict};
use support::client::*;
use support::*;

/// Fields a partner writes in words; everything else is structured.
const WORDED: &[&str] = &[
    "purpose",
    "legal_basis",
    "subject",
    "questions",
    "categories",
    "summary",
    "description",
    "name",
    "case_title",
    "title",
    "targets",
    "assurances",
    "evidence",
    "details",
    "crossing",
    "place",
    "question",
    "commodity",
    "seized_at",
    "recovered_at",
];

fn spanish(value: &mut serde_json::Value, key: &str) {
    match value {
        serde_json::Value::String(s) if WORDED.contains(&key) => {
            *s = format!("texto en español número {}", key.len());
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| spanish(v, key)),
        serde_json::Value::Object(map) => map.iter_mut().for_each(|(k, v)| spanish(v, k)),
        _ => {}
    }
}

/// A shipped example, its words in Spanish, sent by the US to MX.
fn spanish_from_us(name: &str) -> ProposalDraft {
    let draft = from_us(name);
    let mut value = serde_json::to_value(&draft).unwrap();
    spanish(&mut value, "");
    serde_json::from_value(value).unwrap()
}

async fn settled(node: &Node, id: ProposalId) {
    for _ in 0..400 {
        if node
            .show(id)
            .is_ok_and(|d| d.record.state != ProposalState::Received)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{id} never left `received` on {}", node.party());
}

/// Fails with the page and the words when a Spanish page holds English.
fn no_english(path: &str, html: &str) {
    let words = english_words_in(html);
    let context: Vec<&str> = words
        .iter()
        .filter_map(|w| {
            let lower = html.to_lowercase();
            let at = lower
                .find(&format!("{w} "))
                .or_else(|| lower.find(w.as_str()))?;
            html.get(at.saturating_sub(80)..(at + 80).min(html.len()))
        })
        .collect();
    assert!(
        words.is_empty(),
        "the Spanish page {path} holds English words {words:?}, e.g. {context:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish_pages_hold_no_english_and_each_kind_is_shown_as_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let desk = Desk::open(mx.clone(), test_config()).unwrap();
    named(
        &desk,
        "beto",
        "Alberto Ruiz",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
    );
    named(
        &desk,
        "olga",
        "Olga Díaz",
        "MX.FGR",
        &[Role::Oversight],
        Lang::Es,
    );
    officer(&desk, "ana", "MX.FGR", &[Role::Approver], Lang::En);

    let mut ids = Vec::new();
    for name in [
        "mx-information-request.toml",
        "us-financial-intelligence.toml",
        "us-identifier-match.toml",
        "us-deploy-forces.toml",
        "us-notify-order.toml",
        "us-border-alert.toml",
        "us-pursuit-mislabelled.toml",
        "mx-firearm-trace.toml",
        "mx-joint-investigation.toml",
        "mx-person-match.toml",
        "mx-seizure-report.toml",
        "mx-coordinated-operation.toml",
    ] {
        let p = us.propose(spanish_from_us(name), None).unwrap();
        ids.push((name, p.id));
    }
    let ours = mx
        .propose(
            {
                let mut d = example("mx-seizure-report.toml");
                let mut v = serde_json::to_value(&d).unwrap();
                spanish(&mut v, "");
                d = serde_json::from_value(v).unwrap();
                d
            },
            None,
        )
        .unwrap();
    for (_, id) in &ids {
        settled(&mx, *id).await;
    }

    let mut beto = Client::new(&desk);
    assert_eq!(
        beto.login("beto", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // Decide the information request with conditions, so the page shows a
    // decision, its reasons and a history of several steps.
    let request = ids[0].1;
    let csrf = beto.csrf().await;
    let reply = beto
        .post(
            &format!("/proposals/{request}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("conditions", "sin difusión a terceros"),
                ("reason", "solicitud fundada"),
                ("release", "registro: sin antecedentes"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    // Every list and every proposal, in Spanish, without the desk's English.
    let mut paths: Vec<String> = [
        "/inbox",
        "/decided",
        "/decided?outcome=refused",
        "/decided?outcome=acknowledged",
        "/decided?outcome=accepted",
        "/decided?kind=assistance_offer",
        "/outbox",
        "/outcomes",
        "/proposals/00000000-0000-0000-0000-000000000000",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    paths.extend(ids.iter().map(|(_, id)| format!("/proposals/{id}")));
    paths.push(format!("/proposals/{}", ours.id));
    for path in &paths {
        let page = beto.get(path).await;
        assert!(
            page.status == StatusCode::OK || page.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            page.status
        );
        no_english(path, &page.body);
        assert!(!page.body.contains("accepted_with_conditions"), "{path}");
    }
    let mut olga = Client::new(&desk);
    olga.login("olga", PASSWORD).await;
    let proof = olga.get("/proof").await;
    assert!(
        proof.body.contains("Bitácora del escritorio"),
        "audit trail"
    );
    no_english("/proof (oversight)", &proof.body);

    // Each kind as what it is.
    let page = |name: &str| {
        let id = ids.iter().find(|(n, _)| *n == name).unwrap().1;
        format!("/proposals/{id}")
    };
    let info = beto.get(&page("mx-information-request.toml")).await.body;
    assert!(
        info.contains("<ol class=\"questions\">"),
        "questions listed"
    );
    assert!(
        info.contains("aceptada con condiciones"),
        "outcome in words"
    );
    assert!(!info.contains("La propuesta completa"), "no raw JSON block");
    assert!(
        info.contains("/document\""),
        "the signed document one click away"
    );
    let money = beto.get(&page("us-financial-intelligence.toml")).await.body;
    assert!(money.contains("USD 482,500.00"), "amount with currency");
    assert!(
        money.contains("Base del tipo de cambio"),
        "exchange-rate basis"
    );
    let forces = beto.get(&page("us-deploy-forces.toml")).await.body;
    assert!(forces.contains("<table class=\"acts\">"), "facts per act");
    assert!(forces.contains("&lt;b&gt;US.SOCOM&lt;/b&gt;"), "escaped");
    assert!(forces.contains("<svg role=\"img\""), "a map of the places");
    assert!(forces.contains("cateo armado"), "the action translated");
    assert!(forces.contains("Contradicción"), "contradictions stand out");
    let trace = beto.get(&page("mx-firearm-trace.toml")).await.body;
    assert!(trace.contains("Armas por rastrear"), "firearms as a table");
    let notice = beto.get(&page("us-notify-order.toml")).await.body;
    assert!(notice.contains("Entra en vigor"), "a notice's effect date");
    let joint = beto.get(&page("mx-joint-investigation.toml")).await.body;
    assert!(
        joint.contains("Autoridades"),
        "a joint investigation's agencies"
    );
    let seizure = beto.get(&page("mx-seizure-report.toml")).await.body;
    assert!(seizure.contains("Mercancía"), "a seizure's commodity");
    let alert = beto.get(&page("us-border-alert.toml")).await.body;
    assert!(alert.contains("Cruce"), "an alert's crossing");

    // The raw document is the proposal as recorded.
    let raw = beto
        .get(&format!("/proposals/{request}/document"))
        .await
        .body;
    let parsed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(parsed["id"], request.to_string());

    // Decided by policy: the counts match what the node holds.
    let (mut refused, mut acknowledged) = (0, 0);
    for (_, id) in &ids {
        let detail = mx.show(*id).unwrap();
        match &detail.decision {
            Some(d) if d.decided_by == DecidedBy::Policy && d.outcome == Outcome::Refused => {
                refused += 1
            }
            _ if detail.record.state == ProposalState::Acknowledged => acknowledged += 1,
            _ => {}
        }
    }
    assert!(
        refused >= 1 && acknowledged >= 1,
        "{refused} {acknowledged}"
    );
    let decided = beto.get("/decided").await.body;
    assert!(
        decided.contains(&format!("<span class=\"count-refused\">{refused}</span>")),
        "{decided}"
    );
    assert!(decided.contains(&format!(
        "<span class=\"count-acknowledged\">{acknowledged}</span>"
    )));
    // The outcomes page counts the same, and links to the list.
    let outcomes = beto.get("/outcomes").await.body;
    for (code, n) in [("refused", refused), ("acknowledged", acknowledged)] {
        let span = format!("<span class=\"count-{code}\">{n}</span>");
        assert!(
            outcomes.contains(&span),
            "outcomes count {code}: {outcomes}"
        );
    }
    let only_refused = beto.get("/decided?outcome=refused").await.body;
    assert_eq!(
        only_refused.matches("<tr class=\"by-refused\">").count(),
        refused
    );
    assert_eq!(
        only_refused
            .matches("<tr class=\"by-acknowledged\">")
            .count(),
        0
    );
    let bad = beto.get("/decided?outcome=maybe").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("no es un filtro"),
        "errors in Spanish too"
    );

    // The US asks for more about one of our requests; an MX liaison
    // replies from the desk with a follow-up naming the original.
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    named(
        &us_desk,
        "sam",
        "Sam Ortiz",
        "US.ATF",
        &[Role::Approver],
        Lang::En,
    );
    named(
        &desk,
        "lia",
        "Lía Campos",
        "MX.FGR",
        &[Role::Liaison],
        Lang::Es,
    );
    let mut asked = example("mx-information-request.toml");
    let mut value = serde_json::to_value(&asked).unwrap();
    spanish(&mut value, "");
    asked = serde_json::from_value(value).unwrap();
    let asked = mx.propose(asked, None).unwrap();
    wait_state(&us, asked.id, ProposalState::AwaitingOfficer).await;
    us.decide(
        asked.id,
        OfficerVerdict {
            officer: OfficerId::new("sam").unwrap(),
            outcome: Outcome::MoreInformationNeeded {
                questions: vec!["¿En qué fecha exacta?".into()],
            },
            reason: "falta la fecha".into(),
            release: vec![],
        },
    )
    .unwrap();
    wait_state(&mx, asked.id, ProposalState::MoreInformationNeeded).await;
    let mut lia = Client::new(&desk);
    lia.login("lia", PASSWORD).await;
    let path = format!("/proposals/{}", asked.id);
    let asked_page = lia.get(&path).await.body;
    assert!(
        asked_page.contains("¿En qué fecha exacta?"),
        "the questions asked"
    );
    assert!(
        asked_page.contains("/reply\""),
        "a reply form for the liaison"
    );
    no_english(&path, &asked_page);
    let csrf = lia.csrf().await;
    let beto_csrf = beto.csrf().await;
    let refused = beto
        .post(
            &format!("{path}/reply"),
            &[("csrf", &beto_csrf), ("reply", "el 3 de marzo")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "an approver is not a liaison"
    );
    let sent = lia
        .post(
            &format!("{path}/reply"),
            &[("csrf", &csrf), ("reply", "el 3 de marzo")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let follow_up = ProposalId::parse(
        sent.location
            .as_deref()
            .unwrap()
            .trim_start_matches("/proposals/"),
    )
    .unwrap();
    let detail = mx.show(follow_up).unwrap();
    assert_eq!(detail.record.proposal.related_to, vec![asked.id]);
    assert!(detail.record.proposal.purpose.ends_with("el 3 de marzo"));
    let again = lia
        .post(&format!("{path}/reply"), &[("csrf", &csrf), ("reply", "")])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.contains("escriba la respuesta"),
        "{}",
        again.body
    );

    // An officer in Tijuana reads times in Tijuana's time, daylight saving
    // included; a zone that does not exist is refused.
    let mut zoned = NewOfficer {
        officer: Officer {
            id: OfficerId::new("tere").unwrap(),
            name: "Teresa Gil".into(),
            agency: AgencyId::new("MX.FGR").unwrap(),
            roles: vec![Role::Approver],
        },
        password: PASSWORD.into(),
        language: Lang::Es,
        utc_offset_minutes: 0,
        time_zone: "America/Nowhere".into(),
    };
    let refused = add_officer(desk.node(), zoned.clone(), HashCost::DangerTestOnly, "test");
    assert!(
        refused.is_err_and(|e| e.to_string().contains("America/Nowhere")),
        "an unknown zone is refused"
    );
    assert!(
        desk.officers()
            .officer(&zoned.officer.id)
            .unwrap()
            .is_none()
    );
    zoned.time_zone = "America/Tijuana".into();
    add_officer(desk.node(), zoned, HashCost::DangerTestOnly, "test").unwrap();
    let mut tere = Client::new(&desk);
    tere.login("tere", PASSWORD).await;
    let inbox = tere.get("/inbox").await.body;
    assert!(inbox.contains(" America/Tijuana</time>"), "{inbox}");
    assert!(
        inbox.contains("UTC−08:00 America/Tijuana") || inbox.contains("UTC−07:00 America/Tijuana")
    );
    assert!(
        tere.get("/outcomes").await.body.contains("laborables"),
        "response times in working time too"
    );

    // The English desk shows the same in English.
    let mut ana = Client::new(&desk);
    ana.login("ana", PASSWORD).await;
    let info = ana.get(&page("mx-information-request.toml")).await.body;
    assert!(info.contains("accepted with conditions"), "{info}");
    assert!(!info.contains("accepted_with_conditions"));
    assert!(ana.get("/decided").await.body.contains("Decided by policy"));

    for run in runs {
        run.stop().await;
    }
}
