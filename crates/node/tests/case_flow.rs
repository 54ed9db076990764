//! A joint investigation's life between two live nodes, from the
//! acceptance of the agreement to the end: the acceptance opens the case on
//! both sides with the members the agreement names; members write to each
//! other and give each other tasks, all in both logs; the node ends the case
//! at its date and deletes each side's copy of an exhibit at the end of its
//! retention, and the custody and its proofs survive. And the refusals: an
//! acceptance naming an officer disabled here, a message from a
//! non-member, an oversized message, a task for a non-member.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use soberana_case::{Act, CaseId, CaseRole, ExhibitStatus, MAX_MESSAGE_BYTES, UseConditions};
use soberana_core::{AgreedMember, OfficerId, Outcome, ProposalId, ProposalState, Role, Timestamp};
use soberana_node::{Node, OfficerVerdict, PolicyVerdict, ProposalPolicy, Verdict};
use support::case::{agreement, member};
use support::{eventually, state};

/// Sends every proposal to an officer.
struct Review;

impl ProposalPolicy for Review {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Review, &"77".repeat(32))
    }
    fn digest(&self) -> String {
        "77".repeat(32)
    }
}

fn named() -> Vec<AgreedMember> {
    vec![
        member("MX", "ana", true),
        member("MX", "eva", false),
        member("US", "bob", true),
    ]
}

fn id(text: &str) -> OfficerId {
    OfficerId::new(text).unwrap()
}

fn accept(
    node: &Node,
    proposal: ProposalId,
    officer: &str,
) -> Result<(), soberana_node::NodeError> {
    node.decide(
        proposal,
        OfficerVerdict {
            officer: id(officer),
            outcome: Outcome::Accepted,
            reason: "each side on its own territory".into(),
            release: Vec::new(),
        },
    )
    .map(|_| ())
}

struct Open {
    mx: Node,
    us: Node,
    case: CaseId,
}

/// Two running nodes; Mexico proposes the agreement naming members, a US
/// approver accepts it with `decide`; nobody opens anything.
async fn accepted(dir: &std::path::Path) -> (Open, Vec<soberana_node::RunningNode>) {
    let (mx, us) = support::pair(dir, || Arc::new(Review));
    for (node, who, agency) in [
        (&mx, "ana", "MX.FGR"),
        (&mx, "eva", "MX.FGR"),
        (&mx, "zoe", "MX.FGR"),
        (&us, "bob", "US.ATF"),
    ] {
        support::register(node, who, agency, &[Role::Approver]);
    }
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let proposal = mx.propose(agreement(named()), None).unwrap().id;
    eventually("the US holds the agreement for an officer", || {
        state(&us, proposal) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    accept(&us, proposal, "bob").unwrap();
    let case = CaseId::for_proposal(&proposal);
    // The accepting node opened its side in the same call.
    let us_side = us.case(case).unwrap().case;
    assert!(us_side.opened_by.contains(&us.party()));
    eventually("both sides hold both openings", || {
        [&mx, &us]
            .iter()
            .all(|n| n.case(case).is_ok_and(|v| v.case.opened_by.len() == 2))
    })
    .await;
    (Open { mx, us, case }, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_opens_one_case_on_both_sides_with_the_agreed_members() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = accepted(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    for node in [mx, us] {
        let c = node.case(case).unwrap().case;
        assert_eq!(c.title, "Operación Desierto");
        assert_eq!(
            c.role_of(mx.party(), &id("ana")),
            Some(CaseRole::Administrator)
        );
        assert_eq!(c.role_of(mx.party(), &id("eva")), Some(CaseRole::Member));
        assert_eq!(
            c.role_of(us.party(), &id("bob")),
            Some(CaseRole::Administrator)
        );
        assert_eq!(c.members.len(), 3, "{:?}", c.members);
        let openings: Vec<_> = node
            .case(case)
            .unwrap()
            .events
            .iter()
            .filter(|e| matches!(e.event.act, Act::Opened { .. }))
            .map(|e| e.event.actor.to_string())
            .collect();
        assert_eq!(
            openings,
            ["node", "node"],
            "each side's node opened its own"
        );
    }
    eventually("both logs hold both openings", || {
        let a = support::case_acts_logged(mx, case);
        a.len() == 2 && a == support::case_acts_logged(us, case)
    })
    .await;

    // Nobody takes a side that has an administrator.
    let err = mx
        .case_take(mx.case(case).unwrap().case.proposal_id, &id("zoe"))
        .unwrap_err();
    assert!(err.to_string().contains("administered by `ana`"), "{err}");
    // A member who does not administer cannot add to our side: one refusal.
    let before = support::case_refusals_logged(mx, case);
    assert!(
        mx.case_member_add(case, &id("eva"), &id("zoe"), false)
            .is_err()
    );
    assert_eq!(support::case_refusals_logged(mx, case), before + 1);
    mx.case_member_add(case, &id("ana"), &id("zoe"), false)
        .unwrap();
    eventually("the US sees Mexico's new member", || {
        us.case(case)
            .is_ok_and(|v| v.case.role_of(mx.party(), &id("zoe")) == Some(CaseRole::Member))
    })
    .await;
    mx.case_member_remove(case, &id("ana"), &id("zoe")).unwrap();
    eventually("and its removal", || {
        us.case(case)
            .is_ok_and(|v| v.case.role_of(mx.party(), &id("zoe")).is_none())
    })
    .await;
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acceptance_naming_an_officer_disabled_here_is_refused_and_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(Review));
    support::register(&us, "bob", "US.ATF", &[Role::Approver]);
    support::register(&us, "gil", "US.ATF", &[Role::Analyst]);
    for who in ["ana", "eva"] {
        support::register(&mx, who, "MX.FGR", &[Role::Approver]);
    }
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let mut members = named();
    members.push(member("US", "gil", false));
    let proposal = mx.propose(agreement(members), None).unwrap().id;
    eventually("the US holds it for an officer", || {
        state(&us, proposal) == Some(ProposalState::AwaitingOfficer)
    })
    .await;
    // Gil was registered when the agreement arrived, and is disabled
    // before it is accepted.
    us.officers().disable(&id("gil"), "test").unwrap();
    let log = us.log_size().unwrap();
    let err = accept(&us, proposal, "bob").unwrap_err();
    assert!(err.to_string().contains("`gil`"), "{err}");
    assert_eq!(state(&us, proposal), Some(ProposalState::AwaitingOfficer));
    assert!(us.case(CaseId::for_proposal(&proposal)).is_err(), "no case");
    assert_eq!(us.log_size().unwrap(), log, "nothing written");

    // An agreement whose side names members but no administrator never
    // leaves the proposing node.
    let err = mx
        .propose(agreement(vec![member("MX", "ana", false)]), None)
        .unwrap_err();
    assert!(err.to_string().contains("administer"), "{err}");

    // `node` names the node in case records: no officer may take it.
    let err = us
        .officers()
        .put_officer(
            soberana_store::OfficerAccount {
                officer: soberana_core::Officer {
                    id: id("node"),
                    name: "Node".into(),
                    agency: soberana_core::AgencyId::new("US.ATF").unwrap(),
                    roles: vec![Role::Approver],
                },
                password_hash: "$argon2id$none".into(),
                language: "en".into(),
                utc_offset_minutes: 0,
                time_zone: String::new(),
                failures: 0,
                locked_until: None,
            },
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("names the node itself"), "{err}");
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_tasks_cross_to_the_partner_and_bad_ones_are_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = accepted(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);

    mx.case_message(
        case,
        &id("eva"),
        "es",
        "La libreta cruza con tres compradores de Tucson.",
    )
    .unwrap();
    us.case_message(case, &id("bob"), "en", "Serials traced; see our exhibit.")
        .unwrap();
    eventually("each side reads both messages", || {
        [(mx, "ana"), (us, "bob")]
            .iter()
            .all(|(n, who)| n.case_messages(case, &id(who)).is_ok_and(|m| m.len() == 2))
    })
    .await;
    let on_us = us.case_messages(case, &id("bob")).unwrap();
    let from_mx = on_us.iter().find(|m| m.party == mx.party()).unwrap();
    assert_eq!(from_mx.language, "es");
    assert_eq!(from_mx.author, id("eva"));
    assert!(from_mx.text.contains("Tucson"));
    assert!(!from_mx.ours);

    // zoe is an officer of Mexico but no member: she reads nothing and
    // posts nothing; her try is one refusal in our log and is not sent.
    let before = support::case_refusals_logged(mx, case);
    assert!(mx.case_messages(case, &id("zoe")).is_err());
    let err = mx.case_message(case, &id("zoe"), "es", "hola").unwrap_err();
    assert!(err.to_string().contains("not a member"), "{err}");
    assert_eq!(support::case_refusals_logged(mx, case), before + 1);
    // An oversized message: refused, one entry, nothing stored.
    let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
    let err = mx.case_message(case, &id("ana"), "es", &long).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    assert_eq!(support::case_refusals_logged(mx, case), before + 2);
    assert!(
        mx.case(case)
            .unwrap()
            .events
            .iter()
            .all(|e| match &e.event.act {
                Act::MessagePosted { text, .. } => text.len() <= MAX_MESSAGE_BYTES,
                Act::Refused { reason, .. } => !reason.contains("xxxx"),
                _ => true,
            })
    );
    // A language that is none.
    assert!(
        mx.case_message(case, &id("ana"), "Spanish", "hola")
            .is_err()
    );
    assert_eq!(support::case_refusals_logged(mx, case), before + 3);

    // A task for someone who is not a member of the US side is refused.
    let due = Timestamp::now().plus_seconds(3 * 86_400);
    let err = mx
        .case_task(
            case,
            &id("ana"),
            "trace serial DX-4471",
            us.party(),
            &id("eva"),
            due,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not a member"), "{err}");
    assert_eq!(support::case_refusals_logged(mx, case), before + 4);
    assert!(mx.case(case).unwrap().case.tasks.is_empty());

    let task = mx
        .case_task(
            case,
            &id("ana"),
            "trace serial DX-4471",
            us.party(),
            &id("bob"),
            due,
        )
        .unwrap();
    eventually("the US holds the task", || {
        us.case_tasks(case, &id("bob")).is_ok_and(|t| t.len() == 1)
    })
    .await;
    let held = &us.case_tasks(case, &id("bob")).unwrap()[0];
    assert_eq!(held.id, task, "one task id on both sides");
    assert!(held.is_open());
    let past_due = u64::try_from(due.unix_millis()).unwrap() + 1;
    assert!(
        held.is_overdue(past_due),
        "overdue once its deadline passes"
    );
    // Mexico gave it but cannot close it: it is bob's.
    assert!(mx.case_task_done(case, &id("ana"), &task).is_err());
    us.case_task_done(case, &id("bob"), &task).unwrap();
    eventually("Mexico sees it done", || {
        mx.case_tasks(case, &id("eva")).is_ok_and(|t| {
            t.first()
                .is_some_and(|t| t.done.as_ref().is_some_and(|d| d.by == id("bob")))
        })
    })
    .await;

    eventually("both logs hold the same messages and tasks", || {
        let (a, b) = (
            support::case_acts_logged(mx, case),
            support::case_acts_logged(us, case),
        );
        let acts: BTreeSet<&str> = a.iter().map(|(act, _)| act.as_str()).collect();
        a == b
            && ["message_posted", "task_created", "task_done"]
                .iter()
                .all(|x| acts.contains(x))
    })
    .await;
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_ends_each_copy_and_the_custody_and_its_proofs_survive() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = accepted(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let bytes = b"scan of the Hermosillo ledger".repeat(100);
    let file = dir.path().join("ledger.txt");
    std::fs::write(&file, &bytes).unwrap();
    let x = mx
        .exhibit_add(case, &id("eva"), &file, "ledger", UseConditions::strict(1))
        .unwrap();
    mx.exhibit_release(case, x, &[id("ana"), id("eva")])
        .unwrap();
    eventually("the US sees the release", || {
        us.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&x)
                .is_some_and(|e| e.status == ExhibitStatus::Released)
        })
    })
    .await;
    us.exhibit_fetch(case, &id("bob"), x, None).await.unwrap();
    let copy = |side: &str| {
        dir.path()
            .join(side)
            .join("cases")
            .join(case.to_string())
            .join("exhibits")
            .join(x.to_string())
    };
    assert!(copy("MX").exists() && copy("US").exists());

    // Before the retention ends, the loop deletes nothing.
    let soon = Timestamp::now().plus_seconds(3600);
    assert!(mx.case_housekeeping(soon).unwrap().deleted.is_empty());
    assert!(copy("MX").exists());

    // A day later each node deletes its own copy by itself.
    let later = Timestamp::now().plus_seconds(86_400 + 60);
    assert_eq!(mx.case_housekeeping(later).unwrap().deleted, [(case, x)]);
    assert_eq!(us.case_housekeeping(later).unwrap().deleted, [(case, x)]);
    assert!(!copy("MX").exists() && !copy("US").exists());
    let mut out = Vec::new();
    assert!(us.exhibit_open(case, &id("bob"), x, &mut out).is_err());
    // A second pass has nothing left to do.
    assert!(mx.case_housekeeping(later).unwrap().deleted.is_empty());

    eventually("both logs hold both deletions", || {
        let deletions = |n: &Node| {
            n.case(case).is_ok_and(|v| {
                v.events
                    .iter()
                    .filter(|e| {
                        matches!(&e.event.act, Act::ExhibitDeleted { reason, .. } if reason == "deleted at end of retention")
                            && e.event.actor.as_str() == "node"
                    })
                    .count()
                    == 2
            })
        };
        deletions(mx) && deletions(us) && support::case_acts_logged(mx, case) == support::case_acts_logged(us, case)
    })
    .await;
    for node in [mx, us] {
        let c = node.case(case).unwrap().case;
        let held = c.exhibit(&x).unwrap();
        assert_eq!(held.deleted_by.len(), 2);
        assert_eq!(held.label, "ledger", "the exhibit's record stays");
    }

    // The custody and its proofs survive: every event of the case has a
    // proof of its entry, and every entry records exactly its event.
    // Checked as `case verify` checks a report: each proof against the
    // two parties' pinned keys, each entry against the event beside it,
    // each act in both logs.
    let ours = mx.case_proofs(case).unwrap();
    assert_eq!(ours.len(), mx.case(case).unwrap().events.len());
    let theirs = mx
        .fetch_partner_case_proofs(case, us.party())
        .await
        .unwrap();
    let pinned = mx.pinned_parties().unwrap();
    let mut in_logs = std::collections::BTreeMap::<[u8; 32], usize>::new();
    for p in ours.iter().chain(&theirs) {
        soberana_ledger::verify_bundle_pinned(&p.bundle, &pinned).unwrap();
        let event = p.entry_matches_event().unwrap();
        if !matches!(event.act, Act::Refused { .. }) {
            *in_logs.entry(event.digest()).or_default() += 1;
        }
    }
    assert!(in_logs.values().all(|n| *n == 2), "every act in both logs");
    assert!(
        ours.iter()
            .chain(&theirs)
            .filter(|p| p.event.contains("deleted at end of retention"))
            .count()
            == 4,
        "both deletions, proven in both logs"
    );
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_ends_at_its_agreed_date_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = accepted(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let ends = mx.case(case).unwrap().case.ends_at_ms;
    let before = Timestamp::from_unix_millis(i64::try_from(ends).unwrap() - 1);
    assert!(mx.case_housekeeping(before).unwrap().ended.is_empty());
    let after = Timestamp::from_unix_millis(i64::try_from(ends).unwrap() + 1);
    assert_eq!(mx.case_housekeeping(after).unwrap().ended, [case]);
    eventually("the US sees the end", || {
        us.case(case).is_ok_and(|v| v.case.ended.is_some())
    })
    .await;
    // The US node has nothing left to end; Mexico's second pass neither.
    assert!(us.case_housekeeping(after).unwrap().ended.is_empty());
    assert!(mx.case_housekeeping(after).unwrap().ended.is_empty());
    let err = mx
        .case_message(case, &id("ana"), "es", "¿seguimos?")
        .unwrap_err();
    assert!(err.to_string().contains("ended"), "{err}");
    let ended: Vec<_> = us
        .case(case)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| matches!(e.event.act, Act::Ended { .. }))
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].event.actor.as_str(), "node");
    assert_eq!(ended[0].event.party, mx.party());
    for r in running {
        r.stop().await;
    }
}
