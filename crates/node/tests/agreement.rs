//! The bilateral agreement between two live nodes: proposed by one side and
//! accepted by the other, suspended, resumed and terminated only by signed
//! acts that are acknowledged and sit in both logs; a suspended agreement
//! stops new proposals at intake and holds them in the sender's outbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::path::Path;
use std::sync::Arc;

use soberana_core::{AgreementAction, AgreementStatus, ProposalDraft, ProposalState, Timestamp};
use soberana_node::{Node, NodeError, PolicyVerdict, ProposalPolicy, Verdict, read_terms};
use soberana_wire::{Body, SealedEnvelope};

struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &self.digest())
    }
    fn digest(&self) -> String {
        "22".repeat(32)
    }
}

fn example(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(path)
}

fn draft(name: &str) -> ProposalDraft {
    let text = std::fs::read_to_string(example(&format!("proposals/{name}"))).unwrap();
    toml::from_str(&text).unwrap()
}

fn status(node: &Node, peer: &str) -> Option<AgreementStatus> {
    node.agreement(party(peer)).unwrap().map(|a| a.status)
}

/// Every act `node` holds on its agreement with `peer`: (by, action).
fn acts(node: &Node, peer: &str) -> Vec<(String, String)> {
    node.agreement_acts(party(peer))
        .unwrap()
        .into_iter()
        .map(|r| (r.by.to_string(), r.act.action.as_str().to_owned()))
        .collect()
}

/// Whether the envelope that carried `action` by `by` is in both logs: the
/// sender's as sent, the receiver's as received.
fn in_both_logs(sender: &Node, receiver: &Node, peer_of_sender: &str, action: &str) -> bool {
    let records = sender.agreement_acts(party(peer_of_sender)).unwrap();
    let Some(record) = records
        .iter()
        .rev()
        .find(|r| r.by == sender.party() && r.act.action.as_str() == action)
    else {
        return false;
    };
    let received = receiver
        .store_for_tests()
        .received_log_index(&record.envelope_id)
        .unwrap();
    let sent = sender
        .log_leaves(0, sender.log_size().unwrap())
        .unwrap()
        .iter()
        .any(|leaf| {
            matches!(
                soberana_ledger::LogEntry::decode(&leaf.entry),
                Ok(soberana_ledger::LogEntry::EnvelopeSent(e)) if e.envelope_id == record.envelope_id
            )
        });
    received.is_some() && sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_is_made_suspended_resumed_and_terminated_by_signed_acts() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());

    // MX proposes terms; they are not in force until US accepts them.
    let terms = read_terms(&example("agreements/mx-us.toml")).unwrap();
    let (proposed, _) = mx
        .act_on_agreement(
            party("US"),
            AgreementAction::Propose { terms },
            "first terms",
        )
        .unwrap();
    assert_eq!(proposed.status, AgreementStatus::Proposed);
    eventually("US holds the proposed terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    // MX cannot accept its own terms.
    let own = mx.act_on_agreement(party("US"), AgreementAction::Accept, "");
    assert!(matches!(own, Err(NodeError::Agreement(ref t)) if t.contains("only the other side")));
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "agreed")
        .unwrap();
    eventually("MX sees the terms in force", || {
        status(&mx, "US") == Some(AgreementStatus::Active)
    })
    .await;
    assert_eq!(mx.agreement(party("US")).unwrap().unwrap().version, 1);

    // A kind US does not accept under the agreement is stopped at MX.
    let refused = mx.propose(draft("mx-seizure-report.toml"), None);
    assert!(
        matches!(refused, Err(NodeError::Agreement(ref t)) if t.contains("seizure_report")),
        "{refused:?}"
    );

    // US suspends: MX learns it from the signed act and acknowledges it.
    us.act_on_agreement(
        party("MX"),
        AgreementAction::Suspend,
        "review of the exchange",
    )
    .unwrap();
    eventually("MX sees the agreement suspended", || {
        status(&mx, "US") == Some(AgreementStatus::Suspended)
    })
    .await;
    eventually("US has MX's acknowledgement of the suspension", || {
        acts(&us, "MX").contains(&("MX".into(), "acknowledge".into()))
            && us
                .agreement_acts(party("MX"))
                .unwrap()
                .iter()
                .any(|r| matches!(&r.act.action, AgreementAction::Acknowledge { of, .. } if of == "suspend"))
    })
    .await;
    assert!(in_both_logs(&us, &mx, "MX", "suspend"));

    // No new proposal crosses: MX's node will not queue one…
    let stopped = mx.propose(draft("mx-information-request.toml"), None);
    assert!(
        matches!(stopped, Err(NodeError::Agreement(ref t)) if t.contains("suspended by `US`") && t.contains("review of the exchange")),
        "{stopped:?}"
    );
    // …and US's intake refuses one sent past the outbox, saying why.
    let proposal = soberana_core::Proposal::from_draft(
        draft("mx-information-request.toml"),
        party("MX"),
        None,
        Timestamp::now(),
    )
    .unwrap();
    let bytes = SealedEnvelope::seal(
        &mx.signing_key_for_tests(),
        party("MX"),
        party("US"),
        9_999,
        Timestamp::now(),
        &Body::Proposal(proposal.clone()),
    )
    .bytes()
    .to_vec();
    let (code, body) = mx.send_raw(party("US"), bytes).await.unwrap();
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("agreement_suspended") && body.contains("suspended"),
        "{body}"
    );
    assert!(
        state(&us, proposal.id).is_none(),
        "nothing but the refusal is stored"
    );

    // Only the side that suspended can resume.
    let wrong = mx.act_on_agreement(party("US"), AgreementAction::Resume, "");
    assert!(matches!(wrong, Err(NodeError::Agreement(ref t)) if t.contains("only that side")));
    // …and a resume MX signs and sends past its own node's check is
    // refused at US's intake, the agreement still suspended.
    let version = us.agreement(party("MX")).unwrap().unwrap().version;
    let bytes = SealedEnvelope::seal(
        &mx.signing_key_for_tests(),
        party("MX"),
        party("US"),
        10_000,
        Timestamp::now(),
        &Body::Agreement(soberana_core::AgreementAct {
            version,
            action: AgreementAction::Resume,
            reason: "resumed by the other side".into(),
            at: Timestamp::now(),
        }),
    )
    .bytes()
    .to_vec();
    let (code, body) = mx.send_raw(party("US"), bytes).await.unwrap();
    assert_eq!(code, 409, "{body}");
    assert_eq!(status(&us, "MX"), Some(AgreementStatus::Suspended));
    us.act_on_agreement(party("MX"), AgreementAction::Resume, "review done")
        .unwrap();
    eventually("MX sees the agreement resumed", || {
        status(&mx, "US") == Some(AgreementStatus::Active)
    })
    .await;
    let sent = mx
        .propose(draft("mx-information-request.toml"), None)
        .unwrap();
    eventually("the request crosses again and is accepted", || {
        state(&mx, sent.id) == Some(ProposalState::Accepted)
    })
    .await;

    // Terminated by MX: for good, on both sides.
    mx.act_on_agreement(party("US"), AgreementAction::Terminate, "superseded")
        .unwrap();
    eventually("US sees the agreement terminated", || {
        status(&us, "MX") == Some(AgreementStatus::Terminated)
    })
    .await;
    assert!(in_both_logs(&mx, &us, "US", "terminate"));
    let after = us.propose(draft("us-border-alert.toml"), None);
    assert!(matches!(after, Err(NodeError::Agreement(ref t)) if t.contains("terminated")));
    let resume = mx.act_on_agreement(party("US"), AgreementAction::Resume, "");
    assert!(resume.is_err(), "a terminated agreement cannot be resumed");

    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_queued_before_a_suspension_is_held_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();
    let terms = read_terms(&example("agreements/mx-us.toml")).unwrap();
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "")
        .unwrap();
    eventually("US holds the terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "")
        .unwrap();
    eventually("in force at MX", || {
        status(&mx, "US") == Some(AgreementStatus::Active)
    })
    .await;

    // MX's node stops delivering; a request is queued, then MX suspends.
    mx_run.stop().await;
    let held = mx
        .propose(draft("mx-information-request.toml"), None)
        .unwrap();
    mx.act_on_agreement(party("US"), AgreementAction::Suspend, "maintenance")
        .unwrap();
    let mx_run = mx.start().await.unwrap();
    eventually("US learns of the suspension", || {
        status(&us, "MX") == Some(AgreementStatus::Suspended)
    })
    .await;
    eventually("MX has US's acknowledgement", || {
        acts(&mx, "US").contains(&("US".into(), "acknowledge".into()))
    })
    .await;
    // The request queued before the suspension was held, not sent.
    assert_eq!(state(&mx, held.id), Some(ProposalState::Queued));
    assert!(state(&us, held.id).is_none());

    mx.act_on_agreement(party("US"), AgreementAction::Resume, "")
        .unwrap();
    eventually("the held request goes once resumed", || {
        state(&mx, held.id) == Some(ProposalState::Accepted)
    })
    .await;
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_that_crosses_the_partners_suspension_is_held_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();
    let terms = read_terms(&example("agreements/mx-us.toml")).unwrap();
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "")
        .unwrap();
    eventually("US holds the terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "")
        .unwrap();
    eventually("in force at MX", || {
        status(&mx, "US") == Some(AgreementStatus::Active)
    })
    .await;

    // MX listens where US does not dial for a while: MX's envelopes reach
    // US, US's act does not reach MX. US suspends and MX, not knowing yet,
    // queues a request under the agreement it still sees in force.
    mx_run.stop().await;
    let config = mx.dir().config();
    let listen = format!("listen = \"{}\"", mx.config().listen);
    drop(mx);
    let text = std::fs::read_to_string(&config).unwrap();
    let elsewhere = format!("listen = \"{}\"", support::free_port());
    std::fs::write(&config, text.replace(&listen, &elsewhere)).unwrap();
    let mx = Node::open(&dir.path().join("MX"), Arc::new(AcceptAll)).unwrap();
    us.act_on_agreement(party("MX"), AgreementAction::Suspend, "audit")
        .unwrap();
    let crossing = mx
        .propose(draft("mx-information-request.toml"), None)
        .unwrap();
    let mx_run = mx.start().await.unwrap();

    // US refuses it under the suspension, and MX does not take that as
    // final: the suspension is temporary, the request waits and is tried
    // again.
    let suspended_refusals = || {
        us.refusals(1000)
            .unwrap()
            .iter()
            .filter(|r| r.reason.contains("agreement_suspended"))
            .count()
    };
    eventually("MX tries the request again after US refused it", || {
        suspended_refusals() >= 2
    })
    .await;
    assert!(
        mx.refused_deliveries(10).unwrap().is_empty(),
        "MX gave the request up for good"
    );
    assert_eq!(state(&mx, crossing.id), Some(ProposalState::Queued));

    // Back where US dials: MX learns of the suspension and holds the
    // request; once US resumes, it crosses.
    mx_run.stop().await;
    drop(mx);
    std::fs::write(&config, text).unwrap();
    let mx = Node::open(&dir.path().join("MX"), Arc::new(AcceptAll)).unwrap();
    let mx_run = mx.start().await.unwrap();
    eventually("MX learns of the suspension", || {
        status(&mx, "US") == Some(AgreementStatus::Suspended)
    })
    .await;
    assert!(state(&us, crossing.id).is_none());
    us.act_on_agreement(party("MX"), AgreementAction::Resume, "audit done")
        .unwrap();
    eventually("the request crosses once resumed", || {
        state(&mx, crossing.id) == Some(ProposalState::Accepted)
    })
    .await;
    assert!(mx.refused_deliveries(10).unwrap().is_empty());
    mx_run.stop().await;
    us_run.stop().await;
}

/// Sends every proposal to an officer: nothing is answered at once.
struct ReviewAll;

impl ProposalPolicy for ReviewAll {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &self.digest())
    }
    fn digest(&self) -> String {
        "23".repeat(32)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agreements_answer_hours_set_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(ReviewAll));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    // US agrees to answer information requests at once (0 hours).
    let mut terms = read_terms(&example("agreements/mx-us.toml")).unwrap();
    for side in &mut terms.sides {
        if side.party == party("US") {
            side.answer_hours
                .insert(soberana_core::ProposalKind::InformationRequest, 0);
        }
    }
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "")
        .unwrap();
    eventually("US holds the terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "")
        .unwrap();
    eventually("in force at MX", || {
        status(&mx, "US") == Some(AgreementStatus::Active)
    })
    .await;

    let sent = mx
        .propose(draft("mx-information-request.toml"), None)
        .unwrap();
    eventually("US's officer has it", || {
        state(&us, sent.id) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    // The default for a request is 7 days; the agreement says 0 hours.
    assert!(
        mx.answer_time(soberana_core::ProposalKind::InformationRequest)
            .as_secs()
            > 86_400
    );
    let now = Timestamp::now().plus_seconds(1);
    let breaches = us.record_breaches(now).unwrap();
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].party, party("US"));
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agreements_default_handling_is_a_floor_for_what_we_release() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(ReviewAll));
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let request = soberana_core::Proposal::from_draft(
        draft("mx-information-request.toml"),
        party("MX"),
        None,
        Timestamp::now(),
    )
    .unwrap();
    let before = us.classify_release(&request, &[]).code;
    let mut terms = read_terms(&example("agreements/mx-us.toml")).unwrap();
    terms.default_handling = soberana_core::HandlingCode::H3;
    mx.act_on_agreement(party("US"), AgreementAction::Propose { terms }, "")
        .unwrap();
    eventually("US holds the terms", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.pending.is_some())
    })
    .await;
    us.act_on_agreement(party("MX"), AgreementAction::Accept, "")
        .unwrap();
    let after = us.classify_release(&request, &[]);
    assert!(before < soberana_core::HandlingCode::H3, "{before:?}");
    assert_eq!(after.code, soberana_core::HandlingCode::H3);
    assert!(
        after.grounds.iter().any(|g| g.contains("agreement")),
        "{:?}",
        after.grounds
    );
    mx_run.stop().await;
    us_run.stop().await;
}
