//! Standing match arrangements between two live nodes: agreed by signed acts
//! on the agreement with a budget from each side; each run checks a whole
//! list against the other side's holdings with no officer, bounded by the
//! smaller budget, and is logged in both logs; a run over either side's
//! budget, after a suspension, or forged to claim a bigger budget is
//! refused and nothing is compared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::standing::*;
use support::{eventually, party, state};

use soberana_core::{
    AgreementAction, AgreementStatus, DecidedBy, IdentifierMatch, MatchReveal, OfficerId,
    PERSONS_LIST, PersonMatch, Proposal, ProposalBody, ProposalDraft, ProposalState, Role,
    StandingAction, StandingBudget, StandingPeriod, StandingRef, StandingStatus, StandingTerms,
    Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_node::sessions::{MatchError, MatchResult, match_result};
use soberana_node::{Node, NodeError};
use soberana_psi::IdentifierKind;
use soberana_wire::{Body, SealedEnvelope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_an_arrangement_needs_two_different_enabled_approvers_and_a_refusal_writes_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, mx_run, us_run) = agreed(dir.path()).await;
    let [ana, beto] = approvers(&mx);
    let ivan = support::register(&mx, "ivan", "MX.UIF", &[Role::Analyst]);
    let olga = support::register(&mx, "olga", "MX.UIF", &[Role::Approver]);
    mx.officers().disable(&olga, "admin").unwrap();
    let ghost = OfficerId::new("ghost").unwrap();
    propose_phones(&us);
    eventually("MX holds the proposed arrangement", || {
        standing_status(&mx, "US", "phones") == Some(StandingStatus::Proposed)
    })
    .await;
    let log = mx.log_size().unwrap();
    let acts = mx.agreement_acts(party("US")).unwrap().len();
    let audit = mx.officers().audit_trail(1000).unwrap().len();

    let refused = accept_phones(&mx, &[]);
    assert!(
        matches!(&refused, Err(NodeError::BadDecision(t)) if t.contains("two different approvers")),
        "{refused:?}"
    );
    let refused = accept_phones(&mx, std::slice::from_ref(&ana));
    assert!(
        matches!(&refused, Err(NodeError::BadDecision(t))
            if t.contains("two different approvers") && t.contains("--confirmed-by")),
        "one approver: {refused:?}"
    );
    let refused = accept_phones(&mx, &[ana.clone(), ana.clone()]);
    assert!(
        matches!(&refused, Err(NodeError::SameOfficer(who)) if who == "ana"),
        "the same approver twice: {refused:?}"
    );
    let refused = accept_phones(&mx, &[ana.clone(), ivan.clone()]);
    assert!(
        matches!(&refused, Err(NodeError::MissingRole { officer, .. }) if officer == "ivan"),
        "an analyst: {refused:?}"
    );
    let refused = accept_phones(&mx, &[olga.clone(), ana.clone()]);
    assert!(
        matches!(&refused, Err(NodeError::DisabledOfficer(who)) if who == "olga"),
        "a disabled approver: {refused:?}"
    );
    let refused = accept_phones(&mx, &[ana.clone(), ghost.clone()]);
    assert!(
        matches!(&refused, Err(NodeError::UnknownOfficer(who)) if who == "ghost"),
        "an officer not registered here: {refused:?}"
    );
    // Judging without acting applies the same checks to whoever is named.
    let act = StandingAction::Accept {
        name: "phones".into(),
        budget: StandingBudget {
            per_run: 4,
            per_period: 100,
        },
    };
    assert!(matches!(
        mx.check_standing_act(party("US"), &act, "", std::slice::from_ref(&ivan)),
        Err(NodeError::MissingRole { .. })
    ));
    assert!(matches!(
        mx.check_standing_act(party("US"), &act, "", &[ana.clone(), ana.clone()]),
        Err(NodeError::SameOfficer(_))
    ));
    mx.check_standing_act(party("US"), &act, "", std::slice::from_ref(&ana))
        .unwrap();

    // Nothing was written: no log entry, no act, no audit line, and the
    // arrangement still awaits MX's acceptance on both sides.
    assert_eq!(mx.log_size().unwrap(), log);
    assert_eq!(mx.agreement_acts(party("US")).unwrap().len(), acts);
    assert_eq!(mx.officers().audit_trail(1000).unwrap().len(), audit);
    assert_eq!(
        standing_status(&mx, "US", "phones"),
        Some(StandingStatus::Proposed)
    );
    assert_eq!(
        standing_status(&us, "MX", "phones"),
        Some(StandingStatus::Proposed)
    );

    // Two different enabled approvers: in force, and our audit trail names
    // both.
    assert_eq!(
        accept_phones(&mx, &[ana.clone(), beto.clone()]).unwrap(),
        StandingStatus::Active
    );
    let trail = mx.officers().audit_trail(1000).unwrap();
    assert!(
        trail.iter().any(|e| e.action == "standing_accept"
            && e.officer == "ana"
            && e.target == "US/phones"
            && e.detail.contains("ana · beto")),
        "{trail:?}"
    );
    // Suspending needs one approver, and not an analyst.
    let suspend = || StandingAction::Suspend {
        name: "phones".into(),
    };
    assert!(matches!(
        mx.act_on_standing(party("US"), suspend(), "", std::slice::from_ref(&ivan)),
        Err(NodeError::MissingRole { .. })
    ));
    assert!(matches!(
        mx.act_on_standing(party("US"), suspend(), "", &[]),
        Err(NodeError::BadDecision(_))
    ));
    assert_eq!(
        mx.act_on_standing(party("US"), suspend(), "audit", std::slice::from_ref(&beto))
            .unwrap()
            .status,
        StandingStatus::Suspended
    );

    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_act_and_its_audit_line_are_written_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, mx_run, us_run) = agreed(dir.path()).await;
    propose_phones(&us);
    eventually("MX holds the proposed arrangement", || {
        standing_status(&mx, "US", "phones") == Some(StandingStatus::Proposed)
    })
    .await;
    let written = |node: &Node| {
        (
            node.log_size().unwrap(),
            node.agreement_acts(party("US")).unwrap().len(),
            node.officers().audit_trail(1000).unwrap().len(),
        )
    };
    let before = written(&mx);

    // The act refused: no audit line either.
    let refused = mx.act_on_standing(
        party("US"),
        StandingAction::Suspend {
            name: "phones".into(),
        },
        "not yet in force",
        &an_approver(&mx),
    );
    assert!(refused.is_err(), "suspending what is not in force");
    assert_eq!(written(&mx), before, "a refused act wrote something");

    // The audit line refused (a reason no store keeps as text): no act,
    // no log entry, nothing queued, and the arrangement still awaits MX.
    let refused = mx.act_on_standing(
        party("US"),
        StandingAction::Accept {
            name: "phones".into(),
            budget: StandingBudget {
                per_run: 4,
                per_period: 100,
            },
        },
        "agreed\0",
        &both_approvers(&mx),
    );
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("audit line")),
        "{refused:?}"
    );
    assert_eq!(
        written(&mx),
        before,
        "an act was recorded without its audit line"
    );
    assert_eq!(
        standing_status(&mx, "US", "phones"),
        Some(StandingStatus::Proposed)
    );

    // Both written: the act, its envelope's log entry and the audit line.
    assert_eq!(
        accept_phones(&mx, &both_approvers(&mx)).unwrap(),
        StandingStatus::Active
    );
    let (log, acts, audit) = written(&mx);
    assert_eq!((acts, audit), (before.1 + 1, before.2 + 1));
    assert!(log > before.0);
    eventually("the US sees the arrangement in force", || {
        standing_status(&us, "MX", "phones") == Some(StandingStatus::Active)
    })
    .await;
    mx_run.stop().await;
    us_run.stop().await;
}

fn hold_phones(node: &Node, items: &[String]) {
    let path = node.holdings_path(IdentifierKind::Phone);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, items.join("\n")).unwrap();
}

fn outgoing(node: &Node) -> usize {
    node.list(Some(soberana_core::Direction::Outgoing), vec![])
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_run_checks_a_list_within_both_budgets_and_both_logs_hold_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, mx_run, us_run) = agreed(dir.path()).await;
    phones_arrangement(&mx, &us).await;
    hold_phones(&mx, &phones(0..50));

    // A run of four, two of which MX holds: answered with no officer.
    let list = write_list(dir.path(), "seized.txt", &{
        let mut l = phones(48..50);
        l.extend(phones(900..902));
        l
    });
    let count = us.keep_standing_list(party("MX"), "phones", &list).unwrap();
    assert_eq!(count, 4);
    let run = us
        .run_standing(party("MX"), "phones", None, None, Timestamp::now())
        .unwrap();
    eventually("the run is answered", || {
        state(&us, run.id) == Some(ProposalState::Answered)
    })
    .await;
    let result = match_result(&us.show(run.id).unwrap()).unwrap();
    let MatchResult::Hits { hits, .. } = result else {
        panic!("{result:?}");
    };
    assert_eq!(hits, phones(48..50));
    // MX accepted it by the arrangement, not by an officer.
    let held = mx.show(run.id).unwrap();
    let decision = held.decision.unwrap();
    assert_eq!(decision.decided_by, DecidedBy::Policy);
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.text.contains("covered by standing arrangement `phones`")),
        "{:?}",
        decision.reasons
    );
    assert!(!held.disclosures.is_empty(), "MX recorded what left it");
    // Both logs hold the run.
    eventually("MX logged the run", || {
        run_entry(&mx, &run.id.to_string()).is_some()
    })
    .await;
    assert_eq!(
        run_entry(&us, &run.id.to_string()),
        Some(("asker".into(), 4, Some(2)))
    );
    assert_eq!(
        run_entry(&mx, &run.id.to_string()),
        Some(("holder".into(), 4, None)),
        "the PSI holder does not learn how many matched"
    );

    // Over MX's budget per run (4, below the US's 5): refused whole here,
    // nothing queued.
    let before = outgoing(&us);
    let five = write_list(dir.path(), "five.txt", &phones(0..5));
    let refused = us.run_standing(party("MX"), "phones", Some(&five), None, Timestamp::now());
    assert!(
        matches!(&refused, Err(MatchError::Standing(t)) if t.contains("allows 4 per run")),
        "{refused:?}"
    );
    // Over the US's budget per day (6, below MX's 100): 4 used, 3 more
    // would be 7.
    let three = write_list(dir.path(), "three.txt", &phones(0..3));
    let refused = us.run_standing(party("MX"), "phones", Some(&three), None, Timestamp::now());
    assert!(
        matches!(&refused, Err(MatchError::Standing(t)) if t.contains("4 were used") && t.contains("6 per period")),
        "{refused:?}"
    );
    assert_eq!(outgoing(&us), before, "nothing was queued");

    // Nothing is due within the period; a day on, the kept list is run by
    // the scheduler (two entries fit what MX still allows today).
    assert!(
        us.fire_due_standing(Timestamp::now())
            .unwrap()
            .sent
            .is_empty()
    );
    us.keep_standing_list(
        party("MX"),
        "phones",
        &write_list(dir.path(), "two.txt", &phones(10..12)),
    )
    .unwrap();
    let due = us
        .fire_due_standing(Timestamp::now().plus_seconds(24 * 3600 + 1))
        .unwrap();
    assert_eq!(due.sent.len(), 1, "{due:?}");
    let scheduled = due.sent[0].2;
    eventually("the scheduled run is answered", || {
        state(&us, scheduled) == Some(ProposalState::Answered)
    })
    .await;
    assert!(matches!(
        match_result(&us.show(scheduled).unwrap()),
        Some(MatchResult::Hits { hits, .. }) if hits == phones(10..12)
    ));

    // MX suspends the arrangement: the US's next run is refused before it
    // leaves, and MX's intake refuses one sent past the US's node.
    mx.act_on_standing(
        party("US"),
        StandingAction::Suspend {
            name: "phones".into(),
        },
        "audit",
        &an_approver(&mx),
    )
    .unwrap();
    eventually("the US sees the arrangement suspended", || {
        standing_status(&us, "MX", "phones") == Some(StandingStatus::Suspended)
    })
    .await;
    let one = write_list(dir.path(), "one.txt", &phones(0..1));
    let refused = us.run_standing(party("MX"), "phones", Some(&one), None, Timestamp::now());
    assert!(
        matches!(&refused, Err(MatchError::Standing(t)) if t.contains("suspended by `MX`")),
        "{refused:?}"
    );
    let forged = forged_run(
        1,
        StandingBudget {
            per_run: 4,
            per_period: 6,
        },
    );
    let (code, body) = send(&us, &forged, 20_000).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("standing_not_in_force"), "{body}");
    assert!(state(&mx, forged.id).is_none());

    // Resumed by MX, then the agreement itself is suspended: runs stop too.
    mx.act_on_standing(
        party("US"),
        StandingAction::Resume {
            name: "phones".into(),
        },
        "audit done",
        &an_approver(&mx),
    )
    .unwrap();
    eventually("the US sees the arrangement resumed", || {
        standing_status(&us, "MX", "phones") == Some(StandingStatus::Active)
    })
    .await;
    mx.act_on_agreement(party("US"), AgreementAction::Suspend, "review")
        .unwrap();
    eventually("the US sees the agreement suspended", || {
        us.agreement(party("MX"))
            .unwrap()
            .is_some_and(|a| a.status == AgreementStatus::Suspended)
    })
    .await;
    let refused = us.run_standing(party("MX"), "phones", Some(&one), None, Timestamp::now());
    assert!(
        matches!(&refused, Err(MatchError::Standing(t)) if t.contains("suspended")),
        "{refused:?}"
    );

    mx_run.stop().await;
    us_run.stop().await;
}

/// A run the US's node did not make: signed with its key and sent past its
/// own checks.
fn forged_run(set_size: u64, claimed: StandingBudget) -> Proposal {
    let draft = ProposalDraft {
        to: party("MX"),
        requesting_agency: soberana_core::AgencyId::new("US.CBP").unwrap(),
        purpose: "standing run".into(),
        legal_basis: "standing arrangement `phones`".into(),
        handling: soberana_core::HandlingCode::H2,
        deadline: Timestamp::now().plus_seconds(3600),
        related_to: Vec::new(),
        body: ProposalBody::IdentifierMatch(IdentifierMatch {
            identifier_kind: "phone".into(),
            set_size,
            reveal: MatchReveal::Intersection,
            standing: Some(StandingRef {
                arrangement: "phones".into(),
                budget: claimed,
            }),
        }),
    };
    Proposal::from_draft(draft, party("US"), None, Timestamp::now()).unwrap()
}

async fn send(from: &Node, proposal: &Proposal, sequence: u64) -> (u16, String) {
    let bytes = SealedEnvelope::seal(
        &from.signing_key_for_tests(),
        from.party(),
        proposal.to,
        sequence,
        Timestamp::now(),
        &Body::Proposal(proposal.clone()),
    )
    .bytes()
    .to_vec();
    from.send_raw(proposal.to, bytes).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_run_claiming_a_bigger_budget_is_refused_at_intake() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, mx_run, us_run) = agreed(dir.path()).await;
    phones_arrangement(&mx, &us).await;
    hold_phones(&mx, &phones(0..50));

    // Fifty queries, claiming a budget of fifty: MX's own budget decides.
    let big = forged_run(
        50,
        StandingBudget {
            per_run: 50,
            per_period: 50,
        },
    );
    let (code, body) = send(&us, &big, 20_000).await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("standing_over_budget") && body.contains("allows 4 per run"),
        "{body}"
    );
    // Within the budget, but claiming a bigger one than was agreed.
    let claim = forged_run(
        2,
        StandingBudget {
            per_run: 40,
            per_period: 60,
        },
    );
    let (code, body) = send(&us, &claim, 20_001).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("standing_budget_claim"), "{body}");
    // An arrangement MX never agreed to.
    let mut unknown = forged_run(
        1,
        StandingBudget {
            per_run: 4,
            per_period: 6,
        },
    );
    if let ProposalBody::IdentifierMatch(m) = &mut unknown.body {
        m.standing.as_mut().unwrap().arrangement = "everything".into();
    }
    let (code, body) = send(&us, &unknown, 20_002).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("standing_unknown"), "{body}");
    // Nothing was stored or compared, and nothing left MX.
    for p in [&big, &claim, &unknown] {
        assert!(state(&mx, p.id).is_none());
    }
    assert!(
        !log_entries(&mx).iter().any(|e| matches!(
            e,
            LogEntry::Disclosure { .. } | LogEntry::StandingRun { .. }
        )),
        "MX disclosed nothing"
    );

    mx_run.stop().await;
    us_run.stop().await;
}

fn set_secret(node: &Node, byte: u8) {
    use std::os::unix::fs::PermissionsExt as _;
    let path = node.linkage_key_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, hex::encode([byte; 32])).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const HEADER: &str = "id,given_names,paternal_surname,maternal_surname,date_of_birth,sex\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_person_run_is_linked_at_the_holder_and_logged_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us, mx_run, us_run) = agreed(dir.path()).await;
    set_secret(&mx, 9);
    set_secret(&us, 9);
    std::fs::write(
        us.persons_path(),
        format!(
            "{HEADER}u1,Maria,Hernandez,Lopez,1971-03-09,F\nu2,Jose,Garcia,Cruz,1980-11-02,M\nu3,Rosa,Flores,Gomez,1965-07-21,F\n"
        ),
    )
    .unwrap();
    // MX checks its persons of interest weekly against the US's records.
    mx.act_on_standing(
        party("US"),
        StandingAction::Propose {
            terms: StandingTerms {
                name: "persons-weekly".into(),
                asker: party("MX"),
                list: PERSONS_LIST.into(),
                period: StandingPeriod::Weekly,
            },
            budget: StandingBudget {
                per_run: 10,
                per_period: 10,
            },
        },
        "",
        &both_approvers(&mx),
    )
    .unwrap();
    eventually("the US holds the proposed arrangement", || {
        standing_status(&us, "MX", "persons-weekly") == Some(StandingStatus::Proposed)
    })
    .await;
    us.act_on_standing(
        party("MX"),
        StandingAction::Accept {
            name: "persons-weekly".into(),
            budget: StandingBudget {
                per_run: 3,
                per_period: 3,
            },
        },
        "",
        &both_approvers(&us),
    )
    .unwrap();
    eventually("MX sees it in force", || {
        standing_status(&mx, "US", "persons-weekly") == Some(StandingStatus::Active)
    })
    .await;
    let list = dir.path().join("interest.csv");
    std::fs::write(
        &list,
        format!("{HEADER}m1,María,Hernández,López,1971-03-09,F\nm2,Pedro,Ruiz,Soto,1990-01-01,M\n"),
    )
    .unwrap();
    mx.keep_standing_list(party("US"), "persons-weekly", &list)
        .unwrap();
    let run = mx
        .run_standing(party("US"), "persons-weekly", None, None, Timestamp::now())
        .unwrap();
    assert!(matches!(
        &run.body,
        ProposalBody::PersonMatch(PersonMatch {
            record_count: 2,
            standing: Some(_),
            ..
        })
    ));
    eventually("the person run is answered", || {
        state(&mx, run.id) == Some(ProposalState::Answered)
    })
    .await;
    let result = match_result(&mx.show(run.id).unwrap()).unwrap();
    let MatchResult::Hits { hits, .. } = &result else {
        panic!("{result:?}");
    };
    assert_eq!(hits.len(), 1, "{result:?}");
    assert!(hits[0].starts_with("m1: partner record"), "{result:?}");
    eventually("the US logged the run", || {
        run_entry(&us, &run.id.to_string()).is_some()
    })
    .await;
    assert_eq!(
        run_entry(&us, &run.id.to_string()),
        Some(("holder".into(), 2, Some(1))),
        "the linkage holder knows how many verdicts it returned"
    );
    assert_eq!(
        run_entry(&mx, &run.id.to_string()),
        Some(("asker".into(), 2, Some(1)))
    );
    // The US's budget of 3 a week leaves 1: a second run of 2 is refused.
    let refused = mx.run_standing(party("US"), "persons-weekly", None, None, Timestamp::now());
    assert!(
        matches!(&refused, Err(MatchError::Standing(t)) if t.contains("3 per period")),
        "{refused:?}"
    );

    mx_run.stop().await;
    us_run.stop().await;
}
