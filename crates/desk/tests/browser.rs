//! End to end in headless Chromium: an MX officer logs in on the MX desk,
//! moves through it with the keyboard, decides a US proposal, and the
//! decision arrives on the US desk; then officers in Spanish and in English
//! walk every list, every proposal kind and a case page with its forms on
//! a desktop and on a 390 px phone viewport, each page checked with
//! axe-core (WCAG 2.2 A and AA) and, on the phone, for sideways scrolling.
//! No page logs a JavaScript error.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test` installs
//! them; by hand: `apt-get install chromium chromium-driver`). Without them
//! the test fails and says how to install them; it never passes unrun.
//! With `SOBERANA_SCREENSHOTS=DIR` (an absolute path) it saves the inbox,
//! the outcomes and the pages of the walk in both languages and viewports
//! as PNG files in DIR (how `docs/desk-*.png` were made).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use soberana_core::{AgencyId, FlowDirection, PartyCode, ProposalBody, ProposalState, Role};
use soberana_desk::{Desk, Lang, serve};
use support::*;
use webdriver::{Driver, ENTER, Session, TAB};

fn save(name: &str, png: &[u8]) {
    if let Ok(dir) = std::env::var("SOBERANA_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("saved {}", path.display());
    }
}

/// Fails on any console entry at error level.
async fn no_console_errors(session: &Session<'_>, page: &str) {
    let errors: Vec<_> = session
        .console()
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "{page} logged errors: {errors:?}");
}

/// axe-core, vendored from npm (`axe-core`, MPL-2.0; see the licence beside it).
const AXE: &str = include_str!("vendor/axe.min.js");

/// Runs axe-core's WCAG 2.0/2.1/2.2 A and AA rules on the page and fails
/// naming every violation, the elements it found and how to fix them.
async fn accessible(session: &Session<'_>, what: &str) {
    let script = format!(
        "{AXE}\n;const done = arguments[arguments.length - 1];\
         axe.run(document, {{runOnly: {{type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}}, resultTypes: ['violations']}})\
         .then(r => done(r.violations.map(v => ({{rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}}))))\
         .catch(e => done([{{rule: 'axe-failed', help: String(e)}}]));"
    );
    let violations = session.script_async(&script, serde_json::json!([])).await;
    assert!(
        violations.as_array().is_some_and(|v| v.is_empty()),
        "{what} fails WCAG 2.2 AA: {violations:#}"
    );
}

/// On a phone: the page does not scroll sideways, and a list's deadline
/// column is in view.
async fn fits(session: &Session<'_>, what: &str) {
    let widths = session
        .script(
            "const d = document.querySelector('td.deadline');\
             const r = d ? d.getBoundingClientRect() : null;\
             return [document.documentElement.scrollWidth, window.innerWidth, r ? r.right : 0];",
        )
        .await;
    let (scroll, inner, deadline) = (
        widths[0].as_f64().unwrap(),
        widths[1].as_f64().unwrap(),
        widths[2].as_f64().unwrap(),
    );
    assert!(
        scroll <= inner,
        "{what} scrolls sideways: {scroll} px of content in {inner} px"
    );
    assert!(
        deadline <= inner,
        "{what}: the deadline ends at {deadline} px, off a {inner} px screen"
    );
}

async fn log_in(session: &Session<'_>, base: &str, officer: &str) {
    session.goto(&format!("{base}/login")).await;
    session.type_into("#officer", officer).await;
    session.type_into("#password", PASSWORD).await;
    session.click("form.login button").await;
    let url = session.url_when(|u| u.ends_with("/inbox")).await;
    assert!(url.ends_with("/inbox"), "{officer} is in: {url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_decides_in_the_browser_and_the_partner_sees_it() {
    let Some((driver_path, browser_path)) = webdriver::installed() else {
        panic!(
            "chromium and chromedriver are required for the desk's browser test: \
             run `apt-get install chromium chromium-driver` as root (scripts/test does it)"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let runs = [mx.start().await.unwrap(), us.start().await.unwrap()];
    let mx_desk = Desk::open(mx.clone(), test_config()).unwrap();
    let us_desk = Desk::open(us.clone(), test_config()).unwrap();
    named(
        &mx_desk,
        "fgr.lucia",
        "Lucía Hernández",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
    );
    named(
        &mx_desk,
        "fgr.ana",
        "Ana Torres",
        "MX.FGR",
        &[Role::Approver],
        Lang::En,
    );
    // Two US approvers, who propose the standing arrangement below.
    for (id, name) in [("fbi.lee", "Lee Park"), ("fbi.kim", "Kim Ortiz")] {
        named(&us_desk, id, name, "US.DEA", &[Role::Approver], Lang::En);
    }
    named(
        &us_desk,
        "dea.jordan",
        "Jordan Miller",
        "US.DEA",
        &[Role::Liaison],
        Lang::En,
    );

    // What the US asks: one request to decide here, others to fill the desk.
    let mut request = example("mx-information-request.toml");
    request.to = PartyCode::new("MX").unwrap();
    request.requesting_agency = AgencyId::new("US.DEA").unwrap();
    let request = us.propose(request, None).unwrap();
    let financial = us
        .propose(example("us-financial-intelligence.toml"), None)
        .unwrap();
    let matching = us
        .propose(example("us-identifier-match.toml"), None)
        .unwrap();
    let forces = us.propose(example("us-deploy-forces.toml"), None).unwrap();
    let notice = us.propose(example("us-notify-order.toml"), None).unwrap();
    let seized = mx.propose(example("mx-seizure-report.toml"), None).unwrap();
    let mut southbound = example("mx-seizure-report.toml");
    southbound.to = PartyCode::new("MX").unwrap();
    southbound.requesting_agency = AgencyId::new("US.ATF").unwrap();
    if let ProposalBody::SeizureReport(report) = &mut southbound.body {
        report.direction = FlowDirection::Southbound;
        report.agency = AgencyId::new("US.ATF").unwrap();
    }
    let southbound = us.propose(southbound, None).unwrap();
    for id in [request.id, financial.id, matching.id] {
        wait_state(&mx, id, ProposalState::AwaitingOfficer).await;
    }
    wait_state(&mx, forces.id, ProposalState::Refused).await;
    wait_state(&us, notice.id, ProposalState::Acknowledged).await;
    for id in [seized.id, southbound.id] {
        for _ in 0..400 {
            if us.show(id).is_ok()
                || mx
                    .show(id)
                    .map(|d| d.record.state.is_final())
                    .unwrap_or(false)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    let mx_web = serve(mx_desk, ([127, 0, 0, 1], 0).into()).await.unwrap();
    let us_web = serve(us_desk, ([127, 0, 0, 1], 0).into()).await.unwrap();
    let (mx_base, us_base) = (
        format!("http://{}", mx_web.addr),
        format!("http://{}", us_web.addr),
    );

    let driver = Driver::start(&driver_path).await;
    let profile = tempfile::tempdir().unwrap();
    let session = driver.session(&browser_path, profile.path()).await;

    // Log in on the MX desk; the inbox lists what awaits a decision.
    log_in(&session, &mx_base, "fgr.lucia").await;
    assert_eq!(session.count("main table tbody tr").await, 3);
    let text = session.text().await;
    assert!(
        text.contains("Bandeja de entrada"),
        "Spanish for this officer"
    );
    assert!(
        text.contains("op.data-requests-reviewed"),
        "policy's reasons"
    );
    assert!(text.contains("UTC−06:00"), "times carry their zone");
    save("desk-inbox.png", &session.screenshot().await);
    no_console_errors(&session, "inbox").await;

    // Keyboard: the first Tab reaches the skip link, Enter moves to the
    // content, and the next Tabs reach the first proposal link.
    session.press(TAB).await;
    let focused = session
        .script("return document.activeElement.className;")
        .await;
    assert_eq!(focused, "skip");
    session.press(ENTER).await;
    let mut reached = false;
    for _ in 0..6 {
        session.press(TAB).await;
        let href = session
            .script("return document.activeElement.getAttribute('href') || '';")
            .await;
        if href.as_str().unwrap_or("").starts_with("/proposals/") {
            reached = true;
            break;
        }
    }
    assert!(
        reached,
        "a proposal link is reachable by Tab from the content"
    );
    session.press(ENTER).await;
    let url = session.url_when(|u| u.contains("/proposals/")).await;
    assert!(url.contains("/proposals/"), "Enter follows the link: {url}");
    no_console_errors(&session, "a proposal").await;

    // Decide the information request.
    session
        .goto(&format!("{mx_base}/proposals/{}", request.id))
        .await;
    session.click("input[value=accept]").await;
    session
        .type_into("#conditions", "sin difusión a terceros países")
        .await;
    session
        .type_into("#reason", "solicitud fundada; información disponible")
        .await;
    session
        .type_into("#release", "registro: sin antecedentes en México")
        .await;
    session.click("form.decide button").await;
    // The form posts back to the proposal's own page.
    let text = session
        .text_when(|t| t.contains("aceptada con condiciones"))
        .await;
    assert!(text.contains("aceptada con condiciones"), "{text}");
    let back = format!("/proposals/{}", request.id);
    assert!(session.url().await.ends_with(&back), "back on the proposal");
    assert_eq!(
        mx.show(request.id).unwrap().record.state,
        ProposalState::Answered
    );
    no_console_errors(&session, "the decided proposal").await;

    // The outcome charts.
    session.resize(1280, 1080).await;
    session.goto(&format!("{mx_base}/outcomes")).await;
    assert_eq!(session.count("svg.chart").await, 4);
    save("desk-outcomes.png", &session.screenshot().await);
    no_console_errors(&session, "outcomes").await;
    session.resize(1280, 900).await;

    // The decision arrives on the US desk.
    log_in(&session, &us_base, "dea.jordan").await;
    let row = format!("a[href=\"/proposals/{}\"]", request.id);
    let mut arrived = false;
    for _ in 0..100 {
        session.goto(&format!("{us_base}/outbox")).await;
        if session.count(&row).await == 1
            && session
                .script(&format!(
                    "return document.querySelector('{}').closest('tr').querySelector('.state-answered') !== null;",
                    row.replace('\'', "\\'")
                ))
                .await
                == serde_json::json!(true)
        {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(arrived, "the US desk shows the request answered");
    session.click(&row).await;
    let text = session.text().await;
    assert!(
        text.contains("sin antecedentes en México"),
        "what MX released"
    );
    assert!(text.contains("fgr.lucia"), "who decided");
    no_console_errors(&session, "the US proposal").await;

    // Every kind, in Spanish and in English, on a desktop and on a phone:
    // each page passes axe-core's WCAG 2.2 A and AA rules, and on the phone
    // nothing scrolls sideways and the inbox's deadlines are in view.
    let mut kinds = vec![
        ("information-request", request.id),
        ("financial-intelligence", financial.id),
        ("identifier-match", matching.id),
        ("assistance-offer", forces.id),
        ("seizure-report", southbound.id),
        ("our-seizure-report", seized.id),
    ];
    for name in [
        "us-border-alert.toml",
        "mx-firearm-trace.toml",
        "mx-joint-investigation.toml",
        "mx-person-match.toml",
        "mx-coordinated-operation.toml",
        "us-notify-order.toml",
    ] {
        let p = us.propose(from_us(name), None).unwrap();
        let short = name.trim_end_matches(".toml").split_once('-').unwrap().1;
        kinds.push((short, p.id));
    }
    for (_, id) in &kinds {
        for _ in 0..400 {
            if mx
                .show(*id)
                .is_ok_and(|d| d.record.state != ProposalState::Received)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    // A joint investigation the US asks and fgr.ana accepts: MX opens its
    // side, both officers administer it, and an exhibit of ours is offered,
    // so the case page carries every form it has.
    let joint = us
        .propose(from_us("mx-joint-investigation.toml"), None)
        .unwrap();
    wait_state(&mx, joint.id, ProposalState::AwaitingOfficer).await;
    let (lucia, ana) = (
        soberana_core::OfficerId::new("fgr.lucia").unwrap(),
        soberana_core::OfficerId::new("fgr.ana").unwrap(),
    );
    mx.decide(
        joint.id,
        soberana_node::OfficerVerdict {
            officer: ana.clone(),
            outcome: soberana_core::Outcome::Accepted,
            reason: "cada parte en su territorio".into(),
            release: Vec::new(),
        },
    )
    .unwrap();
    // Ana accepted it, so she administers MX's side from the opening.
    let case = mx.case_take(joint.id, &ana).unwrap();
    mx.case_member_add(case, &ana, &lucia, true).unwrap();
    let ledger = dir.path().join("libreta.txt");
    std::fs::write(&ledger, "pagos en Tucson\n").unwrap();
    mx.exhibit_add(
        case,
        &ana,
        &ledger,
        "libreta incautada",
        soberana_case::UseConditions::strict(180),
    )
    .unwrap();

    // The example agreement in force, and a standing arrangement the US
    // proposes, so the standing page carries an arrangement with its
    // acceptance form beside the proposal form.
    let terms = soberana_node::read_terms(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/agreements/mx-us.toml"),
    )
    .unwrap();
    let mx_code = PartyCode::new("MX").unwrap();
    let us_code = PartyCode::new("US").unwrap();
    mx.act_on_agreement(
        us_code,
        soberana_core::AgreementAction::Propose { terms },
        "términos",
    )
    .unwrap();
    for _ in 0..400 {
        if us
            .agreement(mx_code)
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    us.act_on_agreement(
        mx_code,
        soberana_core::AgreementAction::Accept,
        "de acuerdo",
    )
    .unwrap();
    for _ in 0..400 {
        if mx
            .agreement(us_code)
            .unwrap()
            .is_some_and(|a| a.status == soberana_core::AgreementStatus::Active)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    us.act_on_standing(
        mx_code,
        soberana_core::StandingAction::Propose {
            terms: soberana_core::StandingTerms {
                name: "telefonos".into(),
                asker: us_code,
                list: "phone".into(),
                period: soberana_core::StandingPeriod::Daily,
            },
            budget: soberana_core::StandingBudget {
                per_run: 500,
                per_period: 2000,
            },
        },
        "cotejo diario",
        &[
            soberana_core::OfficerId::new("fbi.lee").unwrap(),
            soberana_core::OfficerId::new("fbi.kim").unwrap(),
        ],
    )
    .unwrap();
    for _ in 0..400 {
        if !mx.standing_arrangements(us_code).unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let mut pages: Vec<(String, String)> = [
        "inbox", "decided", "outbox", "outcomes", "proof", "standing",
    ]
    .iter()
    .map(|p| ((*p).to_owned(), format!("/{p}")))
    .collect();
    pages.extend(
        kinds
            .iter()
            .map(|(name, id)| ((*name).to_owned(), format!("/proposals/{id}"))),
    );
    pages.push(("cases".into(), "/cases".into()));
    pages.push(("case".into(), format!("/cases/{case}")));
    for (officer, lang) in [("fgr.lucia", "es"), ("fgr.ana", "en")] {
        for (viewport, width, height, mobile) in
            [("desktop", 1280, 900, false), ("phone", 390, 844, true)]
        {
            session.viewport(width, height, mobile).await;
            log_in(&session, &mx_base, officer).await;
            for (name, path) in &pages {
                session.goto(&format!("{mx_base}{path}")).await;
                let what = format!("{path} ({name}) in {lang} on a {viewport}");
                let html_lang = session
                    .script("return document.documentElement.lang;")
                    .await;
                assert_eq!(html_lang, serde_json::json!(lang), "{what}");
                if name == "case" {
                    assert_eq!(
                        session
                            .count("form[action$='/release'], form[action$='/members']")
                            .await,
                        2,
                        "{what}: the release and member forms"
                    );
                }
                if name == "standing" {
                    assert_eq!(
                        session
                            .count("form[action$='/accept'], form[action='/standing/propose']")
                            .await,
                        2,
                        "{what}: the acceptance and proposal forms, for an approver"
                    );
                }
                accessible(&session, &what).await;
                if mobile {
                    fits(&session, &what).await;
                }
                no_console_errors(&session, &what).await;
                if [
                    "inbox",
                    "decided",
                    "assistance-offer",
                    "information-request",
                ]
                .contains(&name.as_str())
                {
                    save(
                        &format!("desk-{name}-{lang}-{viewport}.png"),
                        &session.screenshot().await,
                    );
                }
            }
        }
    }

    session.quit().await;
    mx_web.stop();
    us_web.stop();
    for run in runs {
        run.stop().await;
    }
}
