//! The desk through its router, without a socket or a browser: login and
//! lock-out, sessions, form tokens, roles, decisions (with four eyes),
//! uploads, and every refusal leaving the store unchanged.
//!
//! This file is long because every test walks the same signed-in desk of two
//! live nodes through a whole officer's path; split by page, each file would
//! repeat that setting-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use soberana_core::{DecidedBy, ProposalId, ProposalState};
use soberana_desk::{Desk, DeskConfig};
use soberana_node::Node;
use support::client::*;
use support::*;

struct World {
    _dir: tempfile::TempDir,
    mx: Node,
    us: Node,
    desk: Desk,
    runs: Vec<soberana_node::RunningNode>,
}

impl World {
    async fn new(config: DeskConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (mx, us) = pair(dir.path());
        let runs = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
        let desk = Desk::open(mx.clone(), config).unwrap();
        mx_officers(&desk);
        Self {
            _dir: dir,
            mx,
            us,
            desk,
            runs,
        }
    }

    /// A US proposal awaiting an MX officer.
    async fn incoming(&self, example_name: &str) -> ProposalId {
        let p = self.us.propose(example(example_name), None).unwrap();
        wait_state(&self.mx, p.id, ProposalState::AwaitingOfficer).await;
        p.id
    }

    fn state(&self, id: ProposalId) -> ProposalState {
        self.mx.show(id).unwrap().record.state
    }

    async fn stop(self) {
        for run in self.runs {
            run.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_login_works() {
    let world = World::new(test_config()).await;
    let mut client = Client::new(&world.desk);
    for path in ["/inbox", "/outbox", "/proof", "/outcomes", "/proposals/x"] {
        let reply = client.get(path).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(reply.body.contains("action=\"/login\""), "{path}");
    }
    let reply = client.login("ana", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location.as_deref(), Some("/inbox"));
    for path in [
        "/inbox",
        "/outbox",
        "/proof",
        "/outcomes",
        "/charts/by-kind",
    ] {
        let reply = client.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let trail = world.desk.officers().audit_trail(10).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "login" && e.officer == "ana")
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_logged_and_lock_the_account() {
    let world = World::new(test_config()).await;
    let mut client = Client::new(&world.desk);
    for _ in 0..3 {
        let reply = client.login("ana", "wrong password!").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            reply.body.contains("contraseña incorrectos"),
            "{}",
            reply.body
        );
        assert!(!client.cookies.contains_key("soberana_desk_mx"));
    }
    // Locked now: even the right password is refused.
    let reply = client.login("ana", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.body.contains("bloqueada"), "{}", reply.body);
    assert!(!client.cookies.contains_key("soberana_desk_mx"));
    // An unknown officer gets the same answer as a wrong password.
    let reply = client.login("nobody", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let trail = world.desk.officers().audit_trail(20).unwrap();
    assert_eq!(
        trail.iter().filter(|e| e.action == "login_failed").count(),
        4
    );
    assert!(trail.iter().any(|e| e.action == "login_refused_locked"));
    // Another officer is unaffected.
    assert_eq!(
        client.login("beto", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    world.stop().await;
}

/// Forty wrong password guesses sent at once: no more than the lock-out
/// threshold are checked, the rest are refused as locked, and so is the right
/// password after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_are_checked_no_more_than_the_lock_out_allows() {
    let world = World::new(test_config()).await;
    let threshold = test_config().lock_after_failures as usize;
    let mut ready = Vec::new();
    for i in 0..40 {
        let mut client = Client::new(&world.desk);
        let form = client.get("/login").await;
        let csrf = csrf_in(&form.body);
        ready.push((client, csrf, format!("guess number {i}")));
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(ready.len()));
    let mut guesses = Vec::new();
    for (mut client, csrf, password) in ready {
        let start = start.clone();
        guesses.push(tokio::spawn(async move {
            start.wait().await;
            client
                .post(
                    "/login",
                    &[("csrf", &csrf), ("officer", "ana"), ("password", &password)],
                )
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= threshold,
        "{checked} of 40 concurrent guesses were checked; the lock-out allows {threshold}: {statuses:?}"
    );
    assert_eq!(checked + locked, 40, "{statuses:?}");
    let trail = world.desk.officers().audit_trail(100).unwrap();
    let failed = trail.iter().filter(|e| e.action == "login_failed").count();
    assert_eq!(failed, checked);
    // The account is locked: the right password, sent next, is refused too.
    let reply = Client::new(&world.desk).login("ana", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_its_form_token_is_refused() {
    let world = World::new(test_config()).await;
    let mut client = Client::new(&world.desk);
    let _ = client.get("/login").await;
    let reply = client
        .post(
            "/login",
            &[
                ("csrf", &"0".repeat(64)),
                ("officer", "ana"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!client.cookies.contains_key("soberana_desk_mx"));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_told_to_log_in_again() {
    let config = DeskConfig {
        session_idle_seconds: -1,
        ..test_config()
    };
    let world = World::new(config).await;
    let mut client = Client::new(&world.desk);
    assert_eq!(
        client.login("ana", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let reply = client.get("/inbox").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("expiró"), "{}", reply.body);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_decides_and_the_partner_receives_it() {
    let world = World::new(test_config()).await;
    // H1: no second officer needed.
    let id = {
        let mut draft = example("mx-information-request.toml");
        draft.to = soberana_core::PartyCode::new("MX").unwrap();
        draft.requesting_agency = soberana_core::AgencyId::new("US.DEA").unwrap();
        let p = world.us.propose(draft, None).unwrap();
        wait_state(&world.mx, p.id, ProposalState::AwaitingOfficer).await;
        p.id
    };
    let mut client = Client::new(&world.desk);
    client.login("ana", PASSWORD).await;
    let inbox = client.get("/inbox").await;
    assert!(inbox.body.contains(&format!("/proposals/{id}")));
    assert!(inbox.body.contains("op.data-requests-reviewed"));
    assert!(inbox.body.contains("left"), "a countdown to the deadline");
    let csrf = client.csrf().await;
    let reply = client
        .post(
            &format!("/proposals/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("conditions", "no onward dissemination"),
                ("reason", "lawful request"),
                ("release", "record: nothing known"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    // Accepted, and answered at once with what was released.
    assert_eq!(world.state(id), ProposalState::Answered);
    let decision = world.mx.show(id).unwrap().decision.unwrap();
    assert_eq!(
        decision.decided_by,
        DecidedBy::Officer {
            officer: soberana_core::OfficerId::new("ana").unwrap(),
            confirmed_by: None
        }
    );
    wait_state(&world.us, id, ProposalState::Answered).await;
    let page = client.get(&format!("/proposals/{id}")).await;
    assert!(page.body.contains("accepted with conditions"));
    assert!(page.body.contains("record"), "what was disclosed is shown");

    // Deciding it again is a conflict, and changes nothing.
    let reply = client
        .post(
            &format!("/proposals/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "refuse"),
                ("reason", "changed my mind"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("cannot be decided"), "{}", reply.body);
    assert_eq!(world.state(id), ProposalState::Answered);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing() {
    let world = World::new(test_config()).await;
    let id = world.incoming("us-financial-intelligence.toml").await;
    let path = format!("/proposals/{id}/decide");

    // A forged form token.
    let mut ana = Client::new(&world.desk);
    ana.login("ana", PASSWORD).await;
    let reply = ana
        .post(
            &path,
            &[
                ("csrf", &"f".repeat(64)),
                ("outcome", "refuse"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("security token"), "{}", reply.body);
    // No token at all.
    let reply = ana
        .post(&path, &[("outcome", "refuse"), ("reason", "r")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // An officer without the approver role.
    let mut carla = Client::new(&world.desk);
    carla.login("carla", PASSWORD).await;
    let csrf = carla.csrf().await;
    let reply = carla
        .post(
            &path,
            &[("csrf", &csrf), ("outcome", "refuse"), ("reason", "r")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("`approver` role"), "{}", reply.body);
    let page = carla.get(&format!("/proposals/{id}")).await;
    assert!(
        !page.body.contains("/decide\""),
        "no decide form for a liaison"
    );

    // A malformed form.
    let csrf = ana.csrf().await;
    let reply = ana
        .post(
            &path,
            &[("csrf", &csrf), ("outcome", "refuse"), ("reason", "  ")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("give a reason"));

    // A form that is not a form, and an upload that is not an upload.
    let reply = ana
        .send(
            Request::post(&path).header(header::CONTENT_TYPE, "application/json"),
            Body::from("{\"outcome\": \"accept\"}"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("form could not be read"),
        "{}",
        reply.body
    );
    let reply = ana
        .send(
            Request::post("/proof/verify").header(header::CONTENT_TYPE, "text/plain"),
            Body::from("hello"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("file upload"), "{}", reply.body);

    // A proposal that does not exist, and an id that is not one.
    let reply = ana
        .post(
            &format!("/proposals/{}/decide", ProposalId::generate()),
            &[("csrf", &csrf), ("outcome", "refuse"), ("reason", "r")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ana.get("/proposals/%3Cscript%3E").await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(world.state(id), ProposalState::AwaitingOfficer);
    assert!(world.mx.show(id).unwrap().decision.is_none());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_under_h2_takes_a_second_approver() {
    let world = World::new(test_config()).await;
    let id = world.incoming("us-financial-intelligence.toml").await;
    let mut ana = Client::new(&world.desk);
    ana.login("ana", PASSWORD).await;
    let csrf = ana.csrf().await;
    let reply = ana
        .post(
            &format!("/proposals/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("conditions", "no onward dissemination"),
                ("reason", "the account is held in Mexico"),
                ("release", "account 0021: received USD 482,500"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    // Nothing has left yet.
    assert_eq!(world.state(id), ProposalState::AwaitingOfficer);
    assert!(world.desk.officers().pending(id).unwrap().is_some());
    let page = ana.get(&format!("/proposals/{id}")).await;
    assert!(
        !page.body.contains("/confirm\""),
        "no confirm button for the same officer"
    );

    // The same officer cannot confirm it.
    let reply = ana
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(world.state(id), ProposalState::AwaitingOfficer);
    // A second decision while one is pending is a conflict.
    let reply = ana
        .post(
            &format!("/proposals/{id}/decide"),
            &[("csrf", &csrf), ("outcome", "refuse"), ("reason", "r")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);

    // A different approver confirms; the decision names both.
    let mut beto = Client::new(&world.desk);
    beto.login("beto", PASSWORD).await;
    let csrf = beto.csrf().await;
    let page = beto.get(&format!("/proposals/{id}")).await;
    assert!(page.body.contains("/confirm\""));
    assert!(page.body.contains("Confirmar"), "beto reads Spanish");
    // The second approver sees exactly what is confirmed.
    assert!(page.body.contains("Condiciones que se confirman"));
    assert!(page.body.contains("<li>no onward dissemination</li>"));
    assert!(page.body.contains("account 0021"));
    assert!(page.body.contains("aceptada con condiciones"));
    assert!(!page.body.contains("lone-approver"), "two approvers here");
    let reply = beto
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let decision = world.mx.show(id).unwrap().decision.unwrap();
    assert_eq!(
        decision.decided_by,
        DecidedBy::Officer {
            officer: soberana_core::OfficerId::new("ana").unwrap(),
            confirmed_by: Some(soberana_core::OfficerId::new("beto").unwrap()),
        }
    );
    assert!(world.desk.officers().pending(id).unwrap().is_none());
    wait_state(&world.us, id, ProposalState::Answered).await;
    let answer = world.us.show(id).unwrap().answer.unwrap();
    assert_eq!(answer.items.len(), 1);
    let trail = world.desk.officers().audit_trail(20).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "decision_pending" && e.officer == "ana")
    );
    assert!(
        trail
            .iter()
            .any(|e| e.action == "decision_confirmed" && e.officer == "beto")
    );
    world.stop().await;
}

/// A partner labels a request for person data H0; our rule classifies the
/// release H2, so one approver cannot release it and the answer goes out
/// labelled H2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_label_of_h0_does_not_lower_our_handling_or_four_eyes() {
    let world = World::new(test_config()).await;
    let mut draft = example("mx-information-request.toml");
    draft.to = soberana_core::PartyCode::new("MX").unwrap();
    draft.requesting_agency = soberana_core::AgencyId::new("US.DEA").unwrap();
    draft.handling = soberana_core::HandlingCode::H0;
    let p = world.us.propose(draft, None).unwrap();
    wait_state(&world.mx, p.id, ProposalState::AwaitingOfficer).await;
    let id = p.id;

    let mut ana = Client::new(&world.desk);
    ana.login("ana", PASSWORD).await;
    let csrf = ana.csrf().await;
    let reply = ana
        .post(
            &format!("/proposals/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "accept"),
                ("reason", "lawful request"),
                (
                    "release",
                    "full name: Juan Pérez Gómez\ndate of birth: 1984-03-02",
                ),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    // One approver is not enough: nothing has left.
    assert_eq!(world.state(id), ProposalState::AwaitingOfficer);
    assert!(world.desk.officers().pending(id).unwrap().is_some());
    let page = ana.get(&format!("/proposals/{id}")).await;
    assert!(
        page.body.contains("Handled as <strong>H2</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("person data"), "{}", page.body);

    let mut beto = Client::new(&world.desk);
    beto.login("beto", PASSWORD).await;
    let csrf = beto.csrf().await;
    let reply = beto
        .post(&format!("/proposals/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    wait_state(&world.us, id, ProposalState::Answered).await;
    let answer = world.us.show(id).unwrap().answer.unwrap();
    assert_eq!(answer.handling, soberana_core::HandlingCode::H2);
    assert_eq!(
        world.us.show(id).unwrap().record.proposal.handling,
        soberana_core::HandlingCode::H0,
        "the request itself keeps the partner's label"
    );
    world.stop().await;
}

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "deskboundary7f3a";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"r.json\"\r\nContent-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_verified_and_oversized_uploads_refused() {
    let world = World::new(test_config()).await;
    let mut olga = Client::new(&world.desk);
    olga.login("olga", PASSWORD).await;
    let csrf = olga.csrf().await;
    let upload = |csrf: &str, file: &[u8]| {
        let (kind, body) = multipart(csrf, file);
        (
            Request::post("/proof/verify").header(header::CONTENT_TYPE, kind),
            Body::from(body),
        )
    };

    // Over the limit (4 KiB in tests).
    let (request, body) = upload(&csrf, &vec![b'x'; 5 * 1024]);
    let reply = olga.send(request, body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        reply.body.contains("over the limit of 4096 bytes"),
        "{}",
        reply.body
    );
    // Far over it (past the router's own body limit too).
    let (request, body) = upload(&csrf, &vec![b'x'; 64 * 1024]);
    assert_eq!(
        olga.send(request, body).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // A forged token on an upload.
    let (request, body) = upload(&"a".repeat(64), b"{}");
    assert_eq!(olga.send(request, body).await.status, StatusCode::FORBIDDEN);

    // Not a receipt.
    let (request, body) = upload(&csrf, b"{\"format\": \"<b>x</b>\"}");
    let reply = olga.send(request, body).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("does not verify"));
    assert!(!reply.body.contains("<b>x</b>"));

    // A real receipt: a US notification in MX's log, cosigned by the US.
    let notice = world
        .us
        .propose(example("us-notify-order.toml"), None)
        .unwrap();
    wait_state(&world.us, notice.id, ProposalState::Acknowledged).await;
    let checkpoint = world.mx.checkpoint_and_request_cosignatures().unwrap();
    for _ in 0..400 {
        if !world
            .mx
            .cosignatures(Some(checkpoint.checkpoint().size()))
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let envelope = world
        .us
        .sent_envelopes(notice.id)
        .unwrap()
        .into_iter()
        .find(|(_, kind)| kind == "proposal")
        .unwrap()
        .0;
    let bundle = world
        .us
        .fetch_receipt(world.mx.party(), &envelope)
        .await
        .unwrap();
    let (request, body) = upload(&csrf, bundle.to_json().as_bytes());
    let reply = olga.send(request, body).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("Receipt verified"), "{}", reply.body);
    // It names the keys it used: MX's card as pinned at the US node is this
    // node's own key; the US cosignature is checked with the pinned card.
    assert!(
        reply.body.contains("MX, this node&#39;s own key"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("Cosigned by US, pinned card"),
        "{}",
        reply.body
    );

    // A receipt made by another pair of nodes with the same party codes
    // verifies against the keys it carries, and is refused against ours.
    let elsewhere = tempfile::tempdir().unwrap();
    let (foreign_mx, _foreign_us) = pair(elsewhere.path());
    let mut foreign_log = foreign_mx.log().unwrap();
    foreign_log.sign_checkpoint().unwrap();
    let foreign = foreign_log.bundle(0, &[]).unwrap();
    soberana_ledger::verify_bundle_pinned(&foreign, &foreign_mx.pinned_parties().unwrap())
        .expect("the foreign receipt is genuine for its own pair of nodes");
    let (request, body) = upload(&csrf, foreign.to_json().as_bytes());
    let reply = olga.send(request, body).await;
    assert!(reply.body.contains("does not verify"), "{}", reply.body);
    assert!(
        reply
            .body
            .contains("is not the pinned key of `soberana/mx/log`"),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("Receipt verified"), "{}", reply.body);

    // A receipt against a checkpoint the US has not cosigned yet verifies
    // for MX's signature and says the US has not cosigned it.
    let mut log = world.mx.log().unwrap();
    let fresh = log.sign_checkpoint().unwrap();
    let last = fresh.checkpoint().size() - 1;
    let uncosigned = log.bundle(last, &[]).unwrap();
    let (request, body) = upload(&csrf, uncosigned.to_json().as_bytes());
    let reply = olga.send(request, body).await;
    assert!(
        reply
            .body
            .contains("Receipt verified for the log's signature only"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("Not cosigned by US"), "{}", reply.body);
    let proof = olga.get("/proof").await;
    assert!(
        proof.body.contains("verified a receipt"),
        "oversight sees the audit trail"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_text_is_escaped_and_outcomes_are_drawn() {
    let world = World::new(test_config()).await;
    let mut draft = example("us-financial-intelligence.toml");
    draft.purpose =
        "<script>alert('x')</script><img src=x onerror=alert(1)> to \u{202E}1234\u{202C}".into();
    let p = world.us.propose(draft, None).unwrap();
    wait_state(&world.mx, p.id, ProposalState::AwaitingOfficer).await;
    let refused = world
        .us
        .propose(example("us-deploy-forces.toml"), None)
        .unwrap();
    wait_state(&world.mx, refused.id, ProposalState::Refused).await;

    let mut ana = Client::new(&world.desk);
    ana.login("ana", PASSWORD).await;
    let page = ana.get(&format!("/proposals/{}", p.id)).await;
    assert!(!page.body.contains("<script>alert"));
    assert!(!page.body.contains("<img src=x"));
    assert!(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)"));
    // The facts our node established stand beside the sender's wording,
    // escaped, with the contradiction flagged.
    assert!(
        page.body.contains("Facts established by MX"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("&lt;b&gt;US.FINCEN&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<li class=\"contradiction\">CONTRADICTION: the sender says"),
        "{}",
        page.body
    );
    // A right-to-left override is shown, not obeyed.
    assert!(!page.body.contains('\u{202E}'));
    assert!(
        page.body.contains("to ⟨U+202E⟩1234⟨U+202C⟩"),
        "{}",
        page.body
    );
    let inbox = ana.get("/inbox").await;
    assert!(!inbox.body.contains('\u{202E}'));
    let outcomes = ana.get("/outcomes").await;
    assert_eq!(outcomes.status, StatusCode::OK);
    assert_eq!(outcomes.body.matches("<svg").count(), 4);
    assert!(
        outcomes.body.contains("mx.foreign-forces"),
        "the red line is counted"
    );
    assert_eq!(ana.get("/charts/nope").await.status, StatusCode::NOT_FOUND);
    // The request still waits for its officer when its agreed answer time
    // passes: the response chart counts the breach.
    let response = ana.get("/charts/response").await.body;
    assert!(!response.contains("breaches 1"), "{response}");
    let due = world.mx.answer_due(p.kind(), p.created);
    assert_eq!(world.mx.record_breaches(due).unwrap().len(), 1);
    let response = ana.get("/charts/response").await.body;
    assert!(response.contains("breaches 1"), "{response}");

    // The language switch needs the form token and a known language.
    let csrf = ana.csrf().await;
    assert_eq!(
        ana.post("/language", &[("csrf", &csrf), ("language", "fr")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        ana.post("/language", &[("csrf", &csrf), ("language", "es")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(ana.get("/inbox").await.body.contains("Bandeja de entrada"));
    // Logging out ends the session.
    assert_eq!(
        ana.post("/logout", &[("csrf", &csrf)]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ana.get("/inbox").await.status, StatusCode::UNAUTHORIZED);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_with_one_approver_warns_that_a_release_would_wait() {
    let world = World::new(test_config()).await;
    let id = world.incoming("us-financial-intelligence.toml").await;
    // Beto, the other approver, is disabled: nobody could confirm.
    world
        .desk
        .officers()
        .disable(&soberana_core::OfficerId::new("beto").unwrap(), "test")
        .unwrap();
    let mut ana = Client::new(&world.desk);
    ana.login("ana", PASSWORD).await;
    let page = ana.get(&format!("/proposals/{id}")).await;
    assert!(page.body.contains("lone-approver"), "{}", page.body);
    assert!(page.body.contains("no other approver"));
    // Enabled again, the warning goes.
    world
        .desk
        .officers()
        .enable(&soberana_core::OfficerId::new("beto").unwrap(), "test")
        .unwrap();
    let page = ana.get(&format!("/proposals/{id}")).await;
    assert!(!page.body.contains("lone-approver"));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_page_shows_members_their_case_and_no_one_else() {
    use soberana_core::{OfficerId, Outcome, Role};
    let world = World::new(test_config()).await;
    // MX proposes the joint investigation; a US approver accepts it.
    let p = world
        .mx
        .propose(example("mx-joint-investigation.toml"), None)
        .unwrap();
    wait_state(&world.us, p.id, ProposalState::AwaitingOfficer).await;
    soberana_desk::add_officer(
        &world.us,
        soberana_desk::NewOfficer {
            officer: soberana_core::Officer {
                id: OfficerId::new("sam").unwrap(),
                name: "Sam".into(),
                agency: soberana_core::AgencyId::new("US.ATF").unwrap(),
                roles: vec![Role::Approver],
            },
            password: PASSWORD.into(),
            language: soberana_desk::Lang::En,
            utc_offset_minutes: 0,
            time_zone: String::new(),
        },
        soberana_desk::HashCost::DangerTestOnly,
        "test",
    )
    .unwrap();
    world
        .us
        .decide(
            p.id,
            soberana_node::OfficerVerdict {
                officer: OfficerId::new("sam").unwrap(),
                outcome: Outcome::Accepted,
                reason: "each side on its own territory".into(),
                release: Vec::new(),
            },
        )
        .unwrap();
    wait_state(&world.mx, p.id, ProposalState::Accepted).await;
    let case = world
        .mx
        .case_take(p.id, &OfficerId::new("ana").unwrap())
        .unwrap();

    let mut member = Client::new(&world.desk);
    member.login("ana", PASSWORD).await;
    let list = member.get("/cases").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Operación Desierto"), "{}", list.body);
    let page = member.get(&format!("/cases/{case}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Chain of custody"), "{}", page.body);
    assert!(page.body.contains("opened"), "{}", page.body);

    // An MX officer who is not a member does not see it.
    let mut other = Client::new(&world.desk);
    other.login("carla", PASSWORD).await;
    assert!(
        !other
            .get("/cases")
            .await
            .body
            .contains("Operación Desierto")
    );
    let hidden = other.get(&format!("/cases/{case}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    world.stop().await;
}
