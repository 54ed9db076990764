//! Answers computed on our own data, released from the desk. A partner's
//! request to continue a financial trace: the plain decision form's
//! acceptance and the continuation form both run the next leg on our ledger
//! and release it once a second approver confirms (H2), and the partner
//! receives the answer and stitches it. A partner's firearm trace: the trace
//! form traces on our records and releases the answer the same way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use soberana_core::{AgencyId, DecidedBy, ProposalId, ProposalState};
use soberana_desk::{Desk, router};
use soberana_finance::Country;
use soberana_finance::generate::{self, GenerateOptions};
use soberana_node::Node;
use soberana_node::finance::ledger::{self, ColumnMaps, Table};
use soberana_node::finance::{ContinuationAsk, LegStatus, TrailStart};
use support::*;
use tower::ServiceExt;

/// A cookie-keeping client over the router.
struct Client {
    app: Router,
    cookies: BTreeMap<String, String>,
}

impl Client {
    fn new(desk: &Desk) -> Self {
        Self {
            app: router(desk.clone()),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: Request<Body>) -> (StatusCode, String) {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let (mut parts, body) = request.into_parts();
        parts
            .headers
            .insert(header::COOKIE, cookie.join("; ").parse().unwrap());
        let response = self
            .app
            .clone()
            .oneshot(Request::from_parts(parts, body))
            .await
            .unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let (pair, _) = value.to_str().unwrap().split_once(';').unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.into(), v.into());
        }
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap(),
        )
        .await
    }

    async fn login(desk: &Desk, id: &str) -> Self {
        let mut client = Self::new(desk);
        let (_, form) = client.get("/login").await;
        let csrf = csrf_in(&form);
        let (status, _) = client
            .post(
                "/login",
                &[("csrf", &csrf), ("officer", id), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        client
    }

    async fn csrf(&mut self) -> String {
        csrf_in(&self.get("/inbox").await.1)
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn csrf_in(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no form token in {html}"))
        + 19;
    html[start..start + 64].to_owned()
}

/// Loads each node's half of a small generated ledger; returns the US
/// collector the demo's trail starts from.
fn ledgers(dir: &Path, nodes: &[(&Node, Country)]) -> String {
    let mut collector = None;
    for (node, country) in nodes {
        let opts = GenerateOptions {
            seed: 1,
            transactions: 5_000,
            only_country: Some(*country),
            ..GenerateOptions::default()
        };
        let file = dir.join(format!("{country}-transactions.csv"));
        let summary = generate::write(&opts, std::fs::File::create(&file).unwrap()).unwrap();
        collector = collector.or_else(|| summary.scenario.first().map(|(c, _)| c.to_string()));
        ledger::ingest(
            node.dir().root(),
            &[(Table::Transactions, file)],
            &ColumnMaps::default(),
            None,
        )
        .unwrap();
    }
    collector.unwrap()
}

/// Two live nodes with ledgers, the MX desk with its officers, and one US
/// continuation request awaiting an MX officer.
async fn world(
    dir: &Path,
) -> (
    Node,
    Node,
    Desk,
    Vec<soberana_node::RunningNode>,
    ProposalId,
) {
    let (mx, us) = pair(dir);
    let from = ledgers(dir, &[(&us, Country::US), (&mx, Country::MX)]);
    let runs = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let desk = Desk::open(mx.clone(), test_config()).unwrap();
    mx_officers(&desk);
    let graph = ledger::load_graph(us.dir().root()).unwrap();
    let trail = us
        .ask_continuation(
            &graph,
            &ContinuationAsk {
                start: TrailStart {
                    from,
                    ..TrailStart::default()
                },
                peer: mx.party(),
                horizon: 30 * 86_400,
                partner_hops: 4,
                max_requests: 1,
                agency: AgencyId::new("US.FINCEN").unwrap(),
                officer: None,
            },
        )
        .unwrap();
    let id = trail.legs.first().unwrap().proposal;
    wait_state(&mx, id, ProposalState::AwaitingOfficer).await;
    (mx, us, desk, runs, id)
}

/// The second approver confirms; the partner receives the answer and
/// stitches MX's leg into its trail.
async fn confirmed_and_stitched(desk: &Desk, mx: &Node, us: &Node, id: ProposalId) {
    assert_eq!(
        mx.show(id).unwrap().record.state,
        ProposalState::AwaitingOfficer,
        "nothing left before the second approver"
    );
    let mut beto = Client::login(desk, "beto").await;
    let csrf = beto.csrf().await;
    let (status, body) = beto
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    wait_state(us, id, ProposalState::Answered).await;
    let detail = us.show(id).unwrap();
    assert!(matches!(
        detail.decision.as_ref().map(|d| &d.decided_by),
        Some(DecidedBy::Officer {
            confirmed_by: Some(_),
            ..
        })
    ));
    let (_, status) = us.stitch_trail(&us.trail(id).unwrap()).unwrap();
    assert!(
        matches!(status.first(), Some(LegStatus::Stitched(_))),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_accepted_in_the_desk_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, desk, runs, id) = world(dir.path()).await;
    // The plain decision form: accept, release nothing.
    let mut ana = Client::login(&desk, "ana").await;
    let csrf = ana.csrf().await;
    let (status, body) = ana
        .post(
            &format!("/proposals/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("reason", "held in Mexico"),
                ("release", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let pending = mx.pending(id).unwrap().expect("awaits a second approver");
    assert!(
        pending.release.iter().any(|i| i.label == "continuation"),
        "{:?}",
        pending.release
    );
    confirmed_and_stitched(&desk, &mx, &us, id).await;
    for run in runs {
        run.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_continuation_form_shows_the_answer_and_releases_it_with_four_eyes() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, desk, runs, id) = world(dir.path()).await;
    let mut ana = Client::login(&desk, "ana").await;
    let (status, page) = ana.get(&format!("/proposals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("moved on through"), "the preview: {page}");
    assert!(page.contains(&format!("/proposals/{id}/continuation")));

    // A liaison sees no form and may not post one.
    let mut carla = Client::login(&desk, "carla").await;
    let (_, page) = carla.get(&format!("/proposals/{id}")).await;
    assert!(!page.contains("/continuation\""));
    let csrf = carla.csrf().await;
    let (status, _) = carla
        .post(
            &format!("/proposals/{id}/continuation"),
            &[("csrf", &csrf), ("reason", "r")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad hops are refused and change nothing.
    let csrf = ana.csrf().await;
    let (status, body) = ana
        .post(
            &format!("/proposals/{id}/continuation"),
            &[("csrf", &csrf), ("reason", "r"), ("hops", "99")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(mx.pending(id).unwrap().is_none());

    let (status, body) = ana
        .post(
            &format!("/proposals/{id}/continuation"),
            &[
                ("csrf", &csrf),
                ("conditions", "no onward dissemination"),
                ("reason", "continued on our own data"),
                ("hops", "3"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(mx.pending(id).unwrap().is_some());
    // Its maker cannot confirm it.
    let (status, _) = ana
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    confirmed_and_stitched(&desk, &mx, &us, id).await;
    let audit = mx.officers().audit_trail(20).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "decision_pending" && e.officer == "ana")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "decision_confirmed" && e.officer == "beto")
    );
    for run in runs {
        run.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_request_is_traced_on_our_records_and_released_with_four_eyes() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let records = dir.path().join("records.csv");
    soberana_firearms::synthetic::write_csv(
        &soberana_firearms::synthetic::SyntheticOptions {
            records: 2_000,
            ..Default::default()
        },
        std::fs::File::create(&records).unwrap(),
    )
    .unwrap();
    soberana_node::firearms::hold(us.dir().root(), &records).unwrap();
    let runs = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let desk = Desk::open(us.clone(), test_config()).unwrap();
    officer(
        &desk,
        "atf",
        "US.ATF",
        &[soberana_core::Role::Approver],
        soberana_desk::Lang::En,
    );
    officer(
        &desk,
        "fbi",
        "US.FBI",
        &[soberana_core::Role::Approver],
        soberana_desk::Lang::En,
    );
    let id = mx
        .propose(example("mx-firearm-trace.toml"), None)
        .unwrap()
        .id;
    wait_state(&us, id, ProposalState::AwaitingOfficer).await;

    let mut atf = Client::login(&desk, "atf").await;
    let (status, page) = atf.get(&format!("/proposals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("firearms traced"), "the preview: {page}");
    assert!(page.contains(&format!("/proposals/{id}/trace")));
    let csrf = atf.csrf().await;
    let (status, body) = atf
        .post(
            &format!("/proposals/{id}/trace"),
            &[("csrf", &csrf), ("reason", "traced on US records")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let pending = us.pending(id).unwrap().expect("a trace answer is H2");
    assert!(
        pending
            .release
            .iter()
            .any(|i| i.label == soberana_firearms::ANSWER_LABEL)
    );
    assert_ne!(
        mx.show(id).unwrap().record.state,
        ProposalState::Answered,
        "nothing left before the second approver"
    );

    let mut fbi = Client::login(&desk, "fbi").await;
    let csrf = fbi.csrf().await;
    let (status, body) = fbi
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    wait_state(&mx, id, ProposalState::Answered).await;
    let answer = mx.show(id).unwrap().answer.unwrap();
    assert!(
        answer
            .items
            .iter()
            .any(|i| i.label == soberana_firearms::ANSWER_LABEL)
    );
    for run in runs {
        run.stop().await;
    }
}
