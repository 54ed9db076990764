//! The red lines end to end between two live nodes over mutual TLS: a US
//! node, with its real key, sends Mexico's node each class of proposal that
//! used to slip past them; Mexico's node, deciding with its shipped Cedar
//! policy, its own registry and its own geography, refuses each one (or,
//! for unarmed liaison presence and prose, sends it to an officer), and a
//! place it cannot read is refused at intake with only the refusal stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_core::{Direction, Outcome, Proposal, ProposalDraft, ProposalState, Timestamp};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_policy::{
    PolicyEngine, pin, shipped_constitutional, shipped_operational, shipped_registry,
};
use soberana_wire::{Body, SealedEnvelope};
use support::{eventually, party, state};

/// Mexico's shipped policy behind the node's seam.
struct Cedar(PolicyEngine);

impl ProposalPolicy for Cedar {
    fn evaluate(&self, proposal: &Proposal, related: &[Proposal]) -> PolicyVerdict {
        let related: Vec<&Proposal> = related.iter().collect();
        let d = self.0.decide(proposal, &related);
        let verdict = match d.verdict {
            soberana_policy::Verdict::Allow => Verdict::Allow {
                conditions: d.conditions.clone(),
            },
            soberana_policy::Verdict::Review => Verdict::Review,
            soberana_policy::Verdict::Refuse => Verdict::Refuse,
        };
        PolicyVerdict {
            verdict,
            reasons: d.core_reasons(),
            policy_digest: d.policy_digest.to_hex(),
        }
    }
    fn digest(&self) -> String {
        self.0.digest().to_hex()
    }
    fn admit(&self, proposal: &Proposal) -> Result<(), String> {
        self.0.admit(proposal).map_err(|e| e.to_string())
    }
}

/// The US node's own policy does not matter here: it accepts.
struct Accept;

impl ProposalPolicy for Accept {
    fn evaluate(&self, _: &Proposal, _: &[Proposal]) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &"22".repeat(32))
    }
    fn digest(&self) -> String {
        "22".repeat(32)
    }
}

fn mexico() -> Arc<dyn ProposalPolicy> {
    let mx = party("MX");
    let constitutional = shipped_constitutional(mx).unwrap();
    Arc::new(Cedar(
        PolicyEngine::load(
            mx,
            &shipped_registry().unwrap(),
            Some(&constitutional),
            &pin(constitutional.bytes()),
            &shipped_operational(),
        )
        .unwrap(),
    ))
}

const HEAD: &str = r#"to = "MX"
purpose = "Stop a trafficking network"
legal_basis = "Bilateral security cooperation"
handling = "H2"
deadline = "2026-12-31T17:00:00Z"
"#;

fn draft(agency: &str, body: &str) -> ProposalDraft {
    let text = format!("{HEAD}requesting_agency = \"{agency}\"\n{body}");
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn cases() -> Vec<(&'static str, ProposalDraft, ProposalState, &'static str)> {
    use ProposalState::{Accepted, AwaitingOfficer, Refused};
    vec![
        (
            "alert: armed pursuit 40 km into Sonora",
            draft(
                "US.CBP",
                r#"[body]
kind = "border_alert"
crossing = "Nogales"
direction = "southbound"
subject = "a pickup"
[[body.acts]]
agency = "US.CBP"
action = "pursuit"
armed = true
kinetic = false
locations = [{ domain = "airspace", at = "30.95,-110.95" }]
"#,
            ),
            Refused,
            "mx.foreign-forces",
        ),
        (
            "notification: drone strike on Culiacán",
            draft(
                "US.STATE",
                r#"[body]
kind = "advance_notification"
measure = "use_of_force"
title = "Strike"
summary = "A strike on a laboratory"
effective = "2026-01-01T00:00:00Z"
[[body.acts]]
agency = "US.DOD"
action = "strike"
armed = false
kinetic = false
locations = [{ territory = "international", domain = "land", at = "culiacan" }]
"#,
            ),
            Refused,
            "mx.foreign-force-used",
        ),
        (
            "seizure by special operations in Sinaloa",
            draft(
                "US.CBP",
                r#"[body]
kind = "seizure_report"
direction = "southbound"
commodity = "firearms"
quantity = 40
unit = "pieces"
place = "Culiacán"
seized_on = "2026-01-01T00:00:00Z"
agency = "US.SOCOM"
location = { domain = "land", at = "MX-SIN" }
"#,
            ),
            Refused,
            "mx.foreign-forces",
        ),
        (
            "joint investigation listing special operations",
            draft(
                "US.FBI",
                r#"[body]
kind = "joint_investigation"
case_title = "Raids"
summary = "A case"
agencies = ["US.SOCOM"]
"#,
            ),
            Refused,
            "mx.territorial",
        ),
        (
            "US special forces inside a SEMAR task",
            draft(
                "US.DOD",
                r#"[body]
kind = "coordinated_operation"
name = "Mar"
summary = "An interdiction"
[[body.tasks]]
agency = "MX.SEMAR"
action = "interdiction"
armed = true
kinetic = false
locations = [{ territory = "MX", domain = "waters", at = "23.20,-106.50" }]
participants = [{ agency = "US.SOCOM", armed = true }]
"#,
            ),
            Refused,
            "mx.foreign-forces",
        ),
        (
            "cyber operation from Arizona against servers in Mexico City",
            draft(
                "US.DOD",
                r#"[body]
kind = "coordinated_operation"
name = "Red"
summary = "Take servers down"
[[body.tasks]]
agency = "US.DOD"
action = "cyber_operation"
armed = false
kinetic = false
locations = [{ territory = "US", domain = "cyber", at = "MX-CMX" }]
launched_from = { territory = "US", domain = "land", at = "US-AZ" }
"#,
            ),
            Refused,
            "mx.misrepresented-place",
        ),
        (
            "an unarmed liaison at the embassy",
            draft(
                "US.DEA",
                r#"[body]
kind = "coordinated_operation"
name = "Enlace"
summary = "A liaison officer"
[[body.tasks]]
agency = "US.DEA"
action = "liaison"
armed = false
kinetic = false
locations = [{ territory = "MX", domain = "land", at = "cdmx" }]
"#,
            ),
            AwaitingOfficer,
            "",
        ),
        (
            "an alert that tells the pursuit only in prose",
            draft(
                "US.CBP",
                r#"[body]
kind = "border_alert"
crossing = "Nogales"
direction = "southbound"
subject = "a pickup"
details = "Our helicopter will pursue it 40 km into Sonora"
"#,
            ),
            AwaitingOfficer,
            "",
        ),
        (
            "an honest alert",
            draft(
                "US.CBP",
                r#"[body]
kind = "border_alert"
crossing = "Nogales"
direction = "southbound"
subject = "a pickup"
details = "40 rifles in a false floor"
"#,
            ),
            Accepted,
            "",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_class_is_refused_or_sent_to_an_officer_between_live_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let mx: Node = support::make(dir.path(), "MX", mexico());
    let us: Node = support::make(dir.path(), "US", Arc::new(Accept));
    mx.add_peer(
        &us.card().unwrap().to_text(),
        std::path::Path::new("us.card"),
    )
    .unwrap();
    us.add_peer(
        &mx.card().unwrap().to_text(),
        std::path::Path::new("mx.card"),
    )
    .unwrap();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    let mut sent = Vec::new();
    for (name, draft, expected, cites) in cases() {
        let p = us.propose(draft, None).unwrap();
        sent.push((name, p.id, expected, cites));
    }
    for (name, id, expected, cites) in &sent {
        eventually(name, || state(&mx, *id) == Some(*expected)).await;
        if *expected == ProposalState::AwaitingOfficer {
            continue;
        }
        eventually(name, || state(&us, *id) == Some(*expected)).await;
        let decision = us.show(*id).unwrap().decision.unwrap();
        let text: Vec<String> = decision
            .reasons
            .iter()
            .map(|r| format!("{:?} {}", r.policy, r.text))
            .collect();
        if !cites.is_empty() {
            assert!(
                decision
                    .reasons
                    .iter()
                    .any(|r| r.policy.as_deref() == Some(*cites)),
                "{name}: {text:?}"
            );
        }
        if *expected == ProposalState::Accepted {
            assert!(matches!(
                decision.outcome,
                Outcome::Accepted | Outcome::AcceptedWithConditions { .. }
            ));
            assert!(
                decision
                    .reasons
                    .iter()
                    .any(|r| r.text == soberana_core::STRUCTURED_CONTENT_ONLY),
                "{name}: {text:?}"
            );
        }
        if name.starts_with("notification") {
            assert!(
                decision.reasons.iter().any(|r| r
                    .text
                    .starts_with("objection: notice of this measure was received")),
                "{name}: {text:?}"
            );
        }
    }

    // A place the node cannot read is refused at intake, naming the field;
    // only the refusal is stored.
    let us_key = soberana_node::load_signing_key(&dir.path().join("US/keys/signing.key")).unwrap();
    let before = mx.list(Some(Direction::Incoming), vec![]).unwrap().len();
    let refusals = mx.refusals(100).unwrap().len();
    let unreadable = draft(
        "US.DEA",
        r#"[body]
kind = "coordinated_operation"
name = "X"
summary = "X"
[[body.tasks]]
agency = "US.DEA"
action = "arrest"
armed = false
kinetic = false
locations = [{ territory = "US", domain = "land", at = "atlantis" }]
"#,
    );
    let proposal = Proposal::from_draft(unreadable, party("US"), None, Timestamp::now()).unwrap();
    let bytes = SealedEnvelope::seal(
        &us_key,
        party("US"),
        party("MX"),
        99,
        Timestamp::now(),
        &Body::Proposal(proposal),
    )
    .bytes()
    .to_vec();
    let (status, body) = us.send_raw(party("MX"), bytes).await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("body.tasks[0].locations[0].at"), "{body}");
    assert!(body.contains("atlantis"), "{body}");
    assert_eq!(mx.refusals(100).unwrap().len(), refusals + 1);
    assert_eq!(
        mx.list(Some(Direction::Incoming), vec![]).unwrap().len(),
        before
    );
    mx_run.stop().await;
    us_run.stop().await;
}
