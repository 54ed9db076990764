//! The alerts page through the desk's router: the node's own ledger scanned
//! into incidents ranked by risk score with the reasons behind them; an
//! analyst's verdict (confirmed or dismissed, with a reason) taken through
//! the node, stored in the node's store with an audit line, shown on the
//! page with the precision it gives, and still there when the node is
//! opened again. Refusals (no form token, no reason, an unknown incident, an
//! officer without the role) store nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use soberana_core::Role;
use soberana_desk::{Desk, Lang, router};
use soberana_node::Node;
use soberana_node::finance::ledger::{ColumnMaps, Table, ingest};
use support::*;
use tower::ServiceExt;

const HEADER: &str =
    "tx_id,time,amount,currency,channel,from_account,to_account,country,branch,border_zone";
/// Structures three deposits, then wires the money on.
const A: &str = "us:021000021:1001";
/// Structures five larger deposits: the riskier incident.
const D: &str = "us:021000021:2002";
const B: &str = "us:021000021:1002";

struct Client {
    app: Router,
    cookies: BTreeMap<String, String>,
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Client {
    fn new(desk: &Desk) -> Self {
        Self {
            app: router(desk.clone()),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = request
            .header(header::COOKIE, cookie.join("; "))
            .body(body)
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let (pair, _) = value.to_str().unwrap().split_once(';').unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.into(), v.into());
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            location,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| {
                let mut out = String::new();
                for b in v.bytes() {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        out.push(b as char);
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
                format!("{k}={out}")
            })
            .collect();
        self.send(
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(body.join("&")),
        )
        .await
    }

    async fn login(&mut self, id: &str) -> String {
        let form = self.get("/login").await;
        let csrf = csrf_in(&form.body);
        let reply = self
            .post(
                "/login",
                &[("csrf", &csrf), ("officer", id), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        csrf_in(&self.get("/inbox").await.body)
    }
}

fn csrf_in(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no form token in {html}"))
        + 19;
    html[start..start + 64].to_owned()
}

/// Loads a small ledger into the node the way an ingest leaves it: the
/// file in `finance/` and the manifest naming it.
fn load_ledger(root: &Path) {
    let mut rows = vec![HEADER.to_owned()];
    let mut id = 0;
    let mut row = |day: u32, amount: &str, channel: &str, from: &str, to: &str, branch: &str| {
        id += 1;
        rows.push(format!(
            "{id},2025-11-{day:02}T10:00:00Z,{amount},USD,{channel},{from},{to},US,{branch},1"
        ));
    };
    for (day, amount) in [(3, "9500.00"), (4, "9400.00"), (5, "9300.00")] {
        row(
            day,
            amount,
            "cash_deposit",
            "",
            A,
            &format!("TX-ELP-0{day}"),
        );
    }
    row(6, "28000", "domestic_wire", A, B, "");
    for day in 10..15 {
        row(
            day,
            "9900.00",
            "cash_deposit",
            "",
            D,
            &format!("TX-LRD-{day}"),
        );
    }
    let csv = root.join("transactions-to-load.csv");
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    ingest(
        root,
        &[(Table::Transactions, csv)],
        &ColumnMaps::default(),
        None,
    )
    .unwrap();
}

/// The incident keys on the page, in the order shown.
fn keys_in(html: &str) -> Vec<String> {
    html.match_indices("<section class=\"incident\" id=\"")
        .map(|(i, m)| html[i + m.len()..i + m.len() + 20].to_owned())
        .collect()
}

fn desk_for(node: Node) -> Desk {
    let desk = Desk::open(node, test_config()).unwrap();
    officer(&desk, "ana", "MX.UIF", &[Role::Approver], Lang::En);
    officer(&desk, "beto", "MX.UIF", &[Role::Analyst], Lang::Es);
    officer(&desk, "carla", "MX.UIF", &[Role::Liaison], Lang::En);
    desk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranked_alerts_show_their_reason_and_a_verdict_is_stored_in_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = make(dir.path(), "MX");
    let root = node.dir().root().to_path_buf();
    let desk = desk_for(node.clone());
    let mut ana = Client::new(&desk);
    let csrf = ana.login("ana").await;

    // No ledger yet: the page says how one is loaded.
    let page = ana.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("holds no transactions"), "{}", page.body);
    assert!(page.body.contains("href=\"/alerts\""), "nav link");

    load_ledger(&root);
    let page = ana.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let keys = keys_in(&page.body);
    assert_eq!(keys.len(), 2, "{}", page.body);
    // Ranked: the larger structuring comes first, each with its reason.
    let (first, second) = (keys[0].clone(), keys[1].clone());
    let at = |needle: &str| page.body.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at(&format!("structuring at {D}")) < at(&format!("structuring at {A}")));
    assert!(at(&first) < at(&format!("structuring at {D}")));
    assert!(at(&second) < at(&format!("structuring at {A}")));
    assert!(page.body.contains("risk score"), "{}", page.body);
    assert!(page.body.contains("No verdicts yet"), "{}", page.body);
    // The page and the command line rank from the same node function.
    let review = node.alert_review(None).unwrap();
    let node_keys: Vec<&str> = review.incidents.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(node_keys, keys);

    // Refusals store nothing.
    let refused = [
        (
            vec![
                ("incident", first.as_str()),
                ("finding", "confirmed"),
                ("reason", "x"),
            ],
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("incident", first.as_str()),
                ("finding", "confirmed"),
                ("reason", "  "),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "needs a reason",
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("incident", "inc-0123456789abcdef"),
                ("finding", "dismissed"),
                ("reason", "payroll"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "no incident `inc-0123456789abcdef`",
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("incident", first.as_str()),
                ("finding", "maybe"),
                ("reason", "unsure"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose confirmed or dismissed",
        ),
    ];
    for (form, status, says) in refused {
        let reply = ana.post("/alerts/verdict", &form).await;
        assert_eq!(reply.status, status, "{form:?}: {}", reply.body);
        assert!(reply.body.contains(says), "{says}: {}", reply.body);
    }
    let mut carla = Client::new(&desk);
    let carla_csrf = carla.login("carla").await;
    assert_eq!(carla.get("/alerts").await.status, StatusCode::FORBIDDEN);
    let reply = carla
        .post(
            "/alerts/verdict",
            &[
                ("csrf", &carla_csrf),
                ("incident", &first),
                ("finding", "dismissed"),
                ("reason", "not mine to judge"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(node.alert_verdicts().unwrap().is_empty());

    // An approver confirms the riskiest.
    let reply = ana
        .post(
            "/alerts/verdict",
            &[
                ("csrf", &csrf),
                ("incident", &first),
                ("finding", "confirmed"),
                ("reason", "five deposits under the line at five branches"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location, Some(format!("/alerts#{first}")));
    let stored = node.alert_verdicts().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].incident.as_str(),
            stored[0].officer.as_str(),
            stored[0].finding
        ),
        (first.as_str(), "ana", soberana_node::Finding::Confirmed)
    );
    let trail = desk.officers().audit_trail(1).unwrap();
    assert_eq!(
        (trail[0].action.as_str(), trail[0].target.as_str()),
        ("alert_verdict", first.as_str())
    );
    let page = ana.get("/alerts").await;
    assert!(
        page.body.contains("<strong>confirmed</strong> · ana"),
        "{}",
        page.body
    );
    assert!(page.body.contains("five deposits under the line"));
    assert!(
        page.body.contains("<td>1</td><td>0</td><td>1.00</td>"),
        "{}",
        page.body
    );

    // The verdict is the node's: a fresh node on the same folder has it, and
    // an analyst working in Spanish dismisses the other incident.
    drop((ana, carla, desk, node));
    let node = Node::open(&root, Arc::new(TestPolicy)).unwrap();
    assert_eq!(node.alert_verdicts().unwrap().len(), 1);
    let desk = desk_for(node.clone());
    let mut beto = Client::new(&desk);
    let csrf = beto.login("beto").await;
    let reply = beto
        .post(
            "/alerts/verdict",
            &[
                ("csrf", &csrf),
                ("incident", &second),
                ("finding", "dismissed"),
                ("reason", "depósitos de la nómina de la tienda"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = beto.get("/alerts").await;
    assert!(page.body.contains("Alertas"), "{}", page.body);
    assert!(page.body.contains("<strong>confirmada</strong> · ana"));
    assert!(page.body.contains("<strong>descartada</strong> · beto"));
    assert!(
        page.body.contains("<td>1</td><td>1</td><td>0.50</td>"),
        "{}",
        page.body
    );
}
