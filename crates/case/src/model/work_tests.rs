//! The rules of an opening from the agreement, of messages and tasks, and
//! of the acts the node takes by itself; each refusal leaves the case as it
//! was.

use super::*;
use crate::{MAX_MESSAGE_BYTES, OpeningMember};

fn mx() -> PartyCode {
    PartyCode::new("MX").unwrap()
}
fn us() -> PartyCode {
    PartyCode::new("US").unwrap()
}
fn who(id: &str) -> OfficerId {
    OfficerId::new(id).unwrap()
}
fn proposal() -> ProposalId {
    ProposalId::from_bytes([5; 16])
}

const END: u64 = 10_000;

fn ev(party: PartyCode, actor: &str, time_ms: u64, act: Act) -> CustodyEvent {
    CustodyEvent {
        case_id: CaseId::for_proposal(&proposal()),
        party,
        actor: who(actor),
        time_ms,
        act,
    }
}

fn opening(party: PartyCode, members: &[(&str, bool)]) -> CustodyEvent {
    ev(
        party,
        NODE_ACTOR,
        1,
        Act::Opened {
            proposal_id: proposal(),
            title: "Operación Desierto".into(),
            parties: [mx(), us()],
            ends_at_ms: END,
            members: Some(
                members
                    .iter()
                    .map(|(o, a)| OpeningMember {
                        officer: who(o),
                        administrator: *a,
                    })
                    .collect(),
            ),
        },
    )
}

/// MX names ana (administrator) and eva; US names nobody.
fn case() -> Case {
    let mut c = Case::open(&opening(mx(), &[("ana", true), ("eva", false)])).unwrap();
    c.apply(&opening(us(), &[])).unwrap();
    c
}

fn refused(case: &mut Case, e: CustodyEvent) -> CaseError {
    let before = case.clone();
    let err = case.apply(&e).unwrap_err();
    assert_eq!(case, &before, "a refused act changed the case: {err}");
    err
}

#[test]
fn an_opening_from_the_agreement_makes_its_named_members_and_the_node_none() {
    let mut c = case();
    assert_eq!(c.role_of(mx(), &who("ana")), Some(CaseRole::Administrator));
    assert_eq!(c.role_of(mx(), &who("eva")), Some(CaseRole::Member));
    assert_eq!(c.role_of(mx(), &who(NODE_ACTOR)), None);
    assert!(c.members.iter().all(|m| m.party == mx()));

    // The node itself cannot administer: no member added by `node`.
    let e = refused(
        &mut c,
        ev(
            mx(),
            NODE_ACTOR,
            2,
            Act::MemberAdded {
                side: mx(),
                member: who("zoe"),
                administrator: false,
            },
        ),
    );
    assert!(matches!(e, CaseError::NodeAct(_)), "{e}");

    // The US side has no administrator: one of its officers takes it, once.
    c.apply(&ev(
        us(),
        "bob",
        2,
        Act::MemberAdded {
            side: us(),
            member: who("bob"),
            administrator: true,
        },
    ))
    .unwrap();
    let e = refused(
        &mut c,
        ev(
            us(),
            "mallory",
            3,
            Act::MemberAdded {
                side: us(),
                member: who("mallory"),
                administrator: true,
            },
        ),
    );
    assert!(matches!(e, CaseError::NotAdministrator { .. }), "{e}");
    // And nobody of the other side takes ours.
    let e = refused(
        &mut c,
        ev(
            us(),
            "bob",
            3,
            Act::MemberAdded {
                side: mx(),
                member: who("bob"),
                administrator: true,
            },
        ),
    );
    assert!(matches!(e, CaseError::OtherSide { .. }), "{e}");
}

#[test]
fn an_opening_by_the_node_must_name_members_and_never_the_node() {
    let mut bare = opening(mx(), &[]);
    if let Act::Opened { members, .. } = &mut bare.act {
        *members = None;
    }
    assert!(Case::open(&bare).is_err());
    assert!(Case::open(&opening(mx(), &[("node", true)])).is_err());
    assert!(Case::open(&opening(mx(), &[("ana", true), ("ana", false)])).is_err());
}

#[test]
fn messages_come_from_members_and_are_bounded() {
    let mut c = case();
    let post = |actor: &str, party, text: &str| {
        ev(
            party,
            actor,
            5,
            Act::MessagePosted {
                language: "es".into(),
                text: text.into(),
            },
        )
    };
    c.apply(&post("eva", mx(), "Revisen la libreta, página 4"))
        .unwrap();
    let e = refused(&mut c, post("zoe", mx(), "hola"));
    assert!(matches!(e, CaseError::NotMember { .. }), "{e}");
    let e = refused(
        &mut c,
        post("ana", mx(), &"x".repeat(MAX_MESSAGE_BYTES + 1)),
    );
    assert!(e.to_string().contains("at most"), "{e}");
    let e = refused(&mut c, post("ana", mx(), " \n"));
    assert_eq!(e, CaseError::EmptyMessage);
    let mut bad_lang = post("ana", mx(), "hello");
    bad_lang.act = Act::MessagePosted {
        language: "Spanish".into(),
        text: "hola".into(),
    };
    assert!(matches!(refused(&mut c, bad_lang), CaseError::Language(_)));
}

#[test]
fn tasks_go_to_members_and_are_closed_by_their_owners_side() {
    let mut c = case();
    c.apply(&ev(
        us(),
        "bob",
        2,
        Act::MemberAdded {
            side: us(),
            member: who("bob"),
            administrator: true,
        },
    ))
    .unwrap();
    let give = |owner_side, owner: &str, due_ms| {
        ev(
            mx(),
            "ana",
            3,
            Act::TaskCreated {
                title: "trace serial DX-4471".into(),
                owner_side,
                owner: who(owner),
                due_ms,
            },
        )
    };
    let e = refused(&mut c, give(us(), "nobody", 100));
    assert!(matches!(e, CaseError::TaskOwner { .. }), "{e}");
    // eva is a member of MX, not of the US side.
    let e = refused(&mut c, give(us(), "eva", 100));
    assert!(matches!(e, CaseError::TaskOwner { .. }), "{e}");
    assert_eq!(
        refused(&mut c, give(us(), "bob", 2)),
        CaseError::TaskDeadline
    );
    assert_eq!(
        refused(&mut c, give(us(), "bob", END + 1)),
        CaseError::TaskDeadline
    );
    let created = give(us(), "bob", 100);
    c.apply(&created).unwrap();
    let id = task_id(&created);
    assert_eq!(c.tasks.len(), 1);
    assert!(c.tasks[0].is_open());
    assert!(!c.tasks[0].is_overdue(100));
    assert_eq!(c.overdue_tasks(101).count(), 1);

    let done = |party, actor: &str| ev(party, actor, 50, Act::TaskDone { task: id.clone() });
    // Ana gave it but it is bob's: MX cannot close it.
    let e = refused(&mut c, done(mx(), "ana"));
    assert!(matches!(e, CaseError::NotTaskOwner { .. }), "{e}");
    c.apply(&done(us(), "bob")).unwrap();
    assert!(!c.tasks[0].is_open());
    assert_eq!(c.overdue_tasks(1_000).count(), 0);
    assert!(matches!(
        refused(&mut c, done(us(), "bob")),
        CaseError::TaskClosed(_)
    ));
    let mut unknown = done(us(), "bob");
    unknown.act = Act::TaskDone {
        task: "task-000000000000".into(),
    };
    assert!(matches!(
        refused(&mut c, unknown),
        CaseError::UnknownTask(_)
    ));
}

#[test]
fn the_node_ends_the_case_at_its_date_and_deletes_at_the_end_of_retention() {
    let mut c = case();
    let offer = ev(
        mx(),
        "eva",
        1_000,
        Act::ExhibitOffered {
            exhibit: ExhibitDigest::of(b"scan"),
            size: 4,
            label: "scan".into(),
            conditions: UseConditions::strict(1),
        },
    );
    c.apply(&offer).unwrap();
    let x = ExhibitDigest::of(b"scan");
    assert_eq!(c.exhibit(&x).unwrap().retention_ends_ms(), 1_000 + DAY_MS);
    let delete = |t| {
        ev(
            mx(),
            NODE_ACTOR,
            t,
            Act::ExhibitDeleted {
                exhibit: x,
                reason: "end of retention".into(),
            },
        )
    };
    assert!(matches!(
        refused(&mut c, delete(1_000 + DAY_MS - 1)),
        CaseError::NodeAct(_)
    ));
    let end = |party, t| {
        ev(
            party,
            NODE_ACTOR,
            t,
            Act::Ended {
                reason: "the agreed end date came".into(),
            },
        )
    };
    // Before the date the node cannot end it.
    assert!(
        refused(&mut c, end(mx(), END - 1))
            .to_string()
            .contains("administrator")
    );
    c.apply(&end(mx(), END)).unwrap();
    assert!(c.ended.is_some());
    // The other side records its own end once; nothing else is taken.
    c.apply(&end(us(), END + 5)).unwrap();
    assert_eq!(refused(&mut c, end(us(), END + 6)), CaseError::Ended);
    let post = ev(
        mx(),
        "ana",
        END + 7,
        Act::MessagePosted {
            language: "es".into(),
            text: "tarde".into(),
        },
    );
    assert_eq!(refused(&mut c, post), CaseError::Ended);
    // Deletion at the end of retention is still recorded after the end.
    c.apply(&delete(1_000 + DAY_MS)).unwrap();
    assert!(!c.holds(mx(), &x));
}
