//! The case rules as a story: both sides open, administer their own side,
//! contribute, release, receive, open, export and delete; each refusal the
//! rules promise is tried and leaves the case as it was.

use super::*;

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
    ProposalId::from_bytes([4; 16])
}

fn ev(party: PartyCode, actor: &str, act: Act) -> CustodyEvent {
    CustodyEvent {
        case_id: CaseId::for_proposal(&proposal()),
        party,
        actor: who(actor),
        time_ms: 1,
        act,
    }
}

fn opening(party: PartyCode, actor: &str) -> CustodyEvent {
    ev(
        party,
        actor,
        Act::Opened {
            proposal_id: proposal(),
            title: "Operación Frontera".into(),
            parties: [us(), mx()],
            ends_at_ms: 1_000,
            members: None,
        },
    )
}

fn digest() -> ExhibitDigest {
    ExhibitDigest::of(b"ledger photo")
}

fn opened_case() -> Case {
    let mut case = Case::open(&opening(mx(), "ana")).unwrap();
    case.apply(&opening(us(), "bob")).unwrap();
    case
}

/// Applies an event that must be refused; the case must be unchanged.
fn refused(case: &mut Case, e: CustodyEvent) -> CaseError {
    let before = case.clone();
    let err = case.apply(&e).unwrap_err();
    assert_eq!(case, &before, "a refused act changed the case: {err}");
    err
}

#[test]
fn both_sides_open_the_same_case_and_administer_only_their_own_side() {
    let mut case = opened_case();
    assert_eq!(
        case.role_of(mx(), &who("ana")),
        Some(CaseRole::Administrator)
    );
    assert_eq!(
        case.role_of(us(), &who("bob")),
        Some(CaseRole::Administrator)
    );

    case.apply(&ev(
        mx(),
        "ana",
        Act::MemberAdded {
            side: mx(),
            member: who("carla"),
            administrator: false,
        },
    ))
    .unwrap();

    // The other side's administrator tries to administer ours.
    let err = refused(
        &mut case,
        ev(
            us(),
            "bob",
            Act::MemberAdded {
                side: mx(),
                member: who("mallory"),
                administrator: true,
            },
        ),
    );
    assert!(matches!(err, CaseError::OtherSide { .. }), "{err}");
    assert!(
        err.to_string().contains("only MX's administrators"),
        "{err}"
    );

    // A plain member cannot administer either.
    let err = refused(
        &mut case,
        ev(
            mx(),
            "carla",
            Act::MemberRemoved {
                side: mx(),
                member: who("ana"),
            },
        ),
    );
    assert!(matches!(err, CaseError::NotAdministrator { .. }), "{err}");

    // The last administrator stays.
    let err = refused(
        &mut case,
        ev(
            mx(),
            "ana",
            Act::MemberRemoved {
                side: mx(),
                member: who("ana"),
            },
        ),
    );
    assert!(matches!(err, CaseError::LastAdministrator(_)), "{err}");

    case.apply(&ev(
        mx(),
        "ana",
        Act::MemberRemoved {
            side: mx(),
            member: who("carla"),
        },
    ))
    .unwrap();
    assert_eq!(case.role_of(mx(), &who("carla")), None);
}

#[test]
fn a_second_opening_must_match_the_agreement() {
    let mut case = Case::open(&opening(mx(), "ana")).unwrap();
    let mut other = opening(us(), "bob");
    if let Act::Opened { ends_at_ms, .. } = &mut other.act {
        *ends_at_ms = 2_000;
    }
    assert!(matches!(
        refused(&mut case, other),
        CaseError::OpeningMismatch(_)
    ));
    assert!(matches!(
        refused(&mut case, opening(mx(), "ana")),
        CaseError::AlreadyOpened(_)
    ));
    let mut wrong = opening(mx(), "ana");
    wrong.case_id = CaseId::for_proposal(&ProposalId::from_bytes([5; 16]));
    assert!(Case::open(&wrong).is_err());
}

fn offer() -> Act {
    Act::ExhibitOffered {
        exhibit: digest(),
        size: 12,
        label: "ledger.jpg".into(),
        conditions: UseConditions::strict(90),
    }
}

#[test]
fn an_exhibit_goes_from_offer_to_deletion_and_its_conditions_hold() {
    let mut case = opened_case();
    case.apply(&ev(mx(), "ana", offer())).unwrap();
    assert!(matches!(
        refused(&mut case, ev(mx(), "ana", offer())),
        CaseError::DuplicateExhibit(_)
    ));
    // Not received, not opened before release.
    refused(
        &mut case,
        ev(us(), "bob", Act::ExhibitReceived { exhibit: digest() }),
    );
    refused(
        &mut case,
        ev(us(), "bob", Act::ExhibitOpened { exhibit: digest() }),
    );
    // Only the contributor releases, naming distinct approvers.
    let err = refused(
        &mut case,
        ev(
            us(),
            "bob",
            Act::ExhibitReleased {
                exhibit: digest(),
                approved_by: vec![who("bob")],
            },
        ),
    );
    assert!(matches!(err, CaseError::NotContributor(_)), "{err}");
    refused(
        &mut case,
        ev(
            mx(),
            "ana",
            Act::ExhibitReleased {
                exhibit: digest(),
                approved_by: vec![who("ana"), who("ana")],
            },
        ),
    );
    case.apply(&ev(
        mx(),
        "ana",
        Act::ExhibitReleased {
            exhibit: digest(),
            approved_by: vec![who("ana"), who("eva")],
        },
    ))
    .unwrap();
    case.apply(&ev(us(), "bob", Act::ExhibitReceived { exhibit: digest() }))
        .unwrap();
    case.apply(&ev(us(), "bob", Act::ExhibitOpened { exhibit: digest() }))
        .unwrap();

    let court = ExhibitUse::Court {
        proceedings: "US v. Doe".into(),
    };
    let err = refused(
        &mut case,
        ev(
            us(),
            "bob",
            Act::ExhibitExported {
                exhibit: digest(),
                use_: court.clone(),
                consent: None,
            },
        ),
    );
    assert!(matches!(err, CaseError::ConditionBroken { .. }), "{err}");
    case.apply(&ev(
        us(),
        "bob",
        Act::ExhibitExported {
            exhibit: digest(),
            use_: ExhibitUse::Investigation,
            consent: None,
        },
    ))
    .unwrap();
    // The contributor's own use is not restricted by its conditions.
    assert!(case.check_use(mx(), &digest(), &court, false).is_ok());

    case.apply(&ev(
        us(),
        "bob",
        Act::ExhibitDeleted {
            exhibit: digest(),
            reason: "end of retention".into(),
        },
    ))
    .unwrap();
    assert!(!case.holds(us(), &digest()));
    assert!(case.holds(mx(), &digest()));
    refused(
        &mut case,
        ev(us(), "bob", Act::ExhibitOpened { exhibit: digest() }),
    );
}

#[test]
fn an_outsider_or_a_third_party_cannot_act() {
    let mut case = opened_case();
    assert!(matches!(
        refused(&mut case, ev(mx(), "zoe", offer())),
        CaseError::NotMember { .. }
    ));
    let ca = PartyCode::new("CA").unwrap();
    assert!(matches!(
        refused(&mut case, ev(ca, "ana", offer())),
        CaseError::NotAParty(_)
    ));
}

#[test]
fn an_ended_case_takes_only_deletions() {
    let mut case = opened_case();
    case.apply(&ev(mx(), "ana", offer())).unwrap();
    refused(
        &mut case,
        ev(mx(), "eve", Act::Ended { reason: "x".into() }),
    );
    case.apply(&ev(
        mx(),
        "ana",
        Act::Ended {
            reason: "agreed end".into(),
        },
    ))
    .unwrap();
    assert_eq!(
        refused(&mut case, ev(us(), "bob", offer())),
        CaseError::Ended
    );
    case.apply(&ev(
        mx(),
        "ana",
        Act::ExhibitDeleted {
            exhibit: digest(),
            reason: "case ended".into(),
        },
    ))
    .unwrap();
}

#[test]
fn after_the_agreed_date_only_deletions_are_recorded() {
    let mut case = opened_case();
    case.apply(&ev(mx(), "ana", offer())).unwrap();
    let mut late = ev(us(), "bob", offer());
    late.time_ms = 1_001;
    assert_eq!(refused(&mut case, late), CaseError::Ended);
    let mut deletion = ev(
        mx(),
        "ana",
        Act::ExhibitDeleted {
            exhibit: digest(),
            reason: "case ended at its agreed date".into(),
        },
    );
    deletion.time_ms = 1_001;
    case.apply(&deletion).unwrap();
}
