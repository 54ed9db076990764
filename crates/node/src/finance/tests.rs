//! Unit tests of the continuation's wire contract.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use soberana_core::{
    AccountRef, AgencyId, FinancialIntelligence, HandlingCode, PartyCode, Proposal, ProposalBody,
    ProposalDraft, ProposalId, Timestamp,
};
use soberana_finance::{AccountId, ContinuationRequest, Country};

use super::exchange::*;

const CLABE: &str = "clabe:032180000118359719";
const US: &str = "us:021000021:1001";

#[test]
fn account_references_round_trip_and_forged_ones_are_refused() {
    for text in [CLABE, US] {
        let id = AccountId::new(text).unwrap();
        assert_eq!(account_of(&account_ref(&id)).unwrap(), id);
    }
    assert_eq!(account_ref(&AccountId::new(US).unwrap()).scheme, "us_aba");
    for (scheme, number) in [
        ("clabe", "032180000118359710"), // wrong check digit
        ("clabe", "1"),
        ("swift", "BNMXMXMM"),
        ("us_aba", "021000021"),
        ("", CLABE),
    ] {
        let r = AccountRef {
            scheme: scheme.into(),
            number: number.into(),
            institution: String::new(),
        };
        assert!(account_of(&r).is_err(), "{scheme}:{number}");
    }
}

fn proposal(body: ProposalBody) -> Proposal {
    Proposal::from_draft(
        ProposalDraft {
            to: PartyCode::new("MX").unwrap(),
            requesting_agency: AgencyId::new("US.FINCEN").unwrap(),
            purpose: "continue a trail".into(),
            legal_basis: "Egmont".into(),
            handling: HandlingCode::H2,
            deadline: Timestamp::from_unix_millis(1_800_000_000_000),
            related_to: vec![],
            body,
        },
        PartyCode::new("US").unwrap(),
        None,
        Timestamp::from_unix_millis(1_700_000_000_000),
    )
    .unwrap()
}

fn request() -> ContinuationRequest {
    ContinuationRequest {
        request_id: "pending-1".into(),
        requester: Country::US,
        account: AccountId::new(CLABE).unwrap(),
        value: 4_825_000,
        tx_count: 23,
        from: 1_756_771_200,
        to: 1_761_955_199,
        max_hops: 4,
    }
}

#[test]
fn the_partner_rebuilds_the_request_the_requester_sent() {
    let sent = request();
    let draft = continuation_draft(
        &sent,
        PartyCode::new("MX").unwrap(),
        &AgencyId::new("US.FINCEN").unwrap(),
    );
    let p = proposal(draft.body);
    let rebuilt = requests_of(&p, 4).unwrap();
    assert_eq!(rebuilt.len(), 1);
    let r = &rebuilt[0];
    assert_eq!(r.request_id, p.id.to_string());
    assert_eq!(
        (&r.account, r.value, r.from, r.to, r.requester),
        (
            &sent.account,
            sent.value,
            sent.from,
            sent.to,
            sent.requester
        )
    );
    // Only the account, the amount and the window travel.
    let ProposalBody::FinancialIntelligence(f) = &p.body else {
        panic!("not a financial request");
    };
    assert_eq!(f.accounts.len(), 1);
    assert_eq!(f.amount_minor, 4_825_000);
    assert_eq!(f.currency, "USD");
}

#[test]
fn requests_in_other_currencies_or_of_other_kinds_are_refused() {
    let sent = request();
    let mut draft = continuation_draft(
        &sent,
        PartyCode::new("MX").unwrap(),
        &AgencyId::new("US.FINCEN").unwrap(),
    );
    if let ProposalBody::FinancialIntelligence(f) = &mut draft.body {
        f.currency = "MXN".into();
    }
    let err = requests_of(&proposal(draft.body), 4).unwrap_err();
    assert!(err.to_string().contains("`MXN`"), "{err}");

    let other = toml::from_str::<ProposalDraft>(include_str!(
        "../../../../examples/proposals/mx-firearm-trace.toml"
    ))
    .unwrap();
    let mut p = proposal(ProposalBody::FinancialIntelligence(FinancialIntelligence {
        accounts: vec![account_ref(&sent.account)],
        window_from: Timestamp::from_unix_millis(0),
        window_to: Timestamp::from_unix_millis(0),
        amount_minor: 1,
        currency: String::new(),
        question: String::new(),
    }));
    p.body = other.body;
    assert!(requests_of(&p, 4).is_err());
}

#[test]
fn several_accounts_get_numbered_request_ids() {
    let id = ProposalId::generate();
    assert_eq!(request_id(id, 0, 1), id.to_string());
    assert_eq!(request_id(id, 1, 3), format!("{id}.2"));
}
