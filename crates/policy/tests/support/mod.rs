//! Builders shared by the integration tests: the shipped registry, engines
//! over chosen operational layers, and proposals and tasks in a few words.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use soberana_core::{
    AdvanceNotification, AgencyId, CoordinatedOperation, Domain, HandlingCode, InformationRequest,
    Location, MeasureKind, PartyCode, Proposal, ProposalBody, ProposalId, Registry, Task,
    TaskAction, Territory, Timestamp,
};
use soberana_policy::{
    PolicyEngine, PolicyFile, pin, shipped_constitutional, shipped_operational, shipped_registry,
};

pub fn mx() -> PartyCode {
    PartyCode::new("MX").unwrap()
}

pub fn us() -> PartyCode {
    PartyCode::new("US").unwrap()
}

pub fn registry() -> Registry {
    shipped_registry().unwrap()
}

/// An operational layer that permits everything, automatically.
pub const PERMIT_ALL: &str = "@id(\"op.permit-all\")\npermit (principal, action, resource);\n";

/// A Mexican node's engine with the given operational layer text.
pub fn engine_with(operational: &str) -> PolicyEngine {
    let constitutional = shipped_constitutional(mx()).unwrap();
    PolicyEngine::load(
        mx(),
        &registry(),
        Some(&constitutional),
        &pin(constitutional.bytes()),
        &PolicyFile::new("operational.cedar", operational),
    )
    .unwrap()
}

/// A Mexican node's engine with the shipped default operational layer.
pub fn engine() -> PolicyEngine {
    let constitutional = shipped_constitutional(mx()).unwrap();
    PolicyEngine::load(
        mx(),
        &registry(),
        Some(&constitutional),
        &pin(constitutional.bytes()),
        &shipped_operational(),
    )
    .unwrap()
}

/// A representative point, in a notation the node resolves, for a party's
/// land, its territorial sea, or the high seas.
pub fn notation(territory: &str, domain: Domain) -> &'static str {
    match (territory, domain) {
        ("MX", Domain::Waters) => "23.20,-106.50",
        ("US", Domain::Waters) => "29.15,-94.75",
        ("MX", _) => "MX-SON",
        ("US", _) => "US-AZ",
        ("GT", _) => "14.6349,-90.5069",
        ("international", _) => "10,-130",
        (other, _) => panic!("no representative place for `{other}`"),
    }
}

/// A place labelled honestly with its territory, at a representative point.
pub fn at(territory: &str, domain: Domain) -> Location {
    labelled(territory, domain, notation(territory, domain))
}

/// A place with the given label and notation.
pub fn labelled(territory: &str, domain: Domain, notation: &str) -> Location {
    Location {
        territory: Some(if territory == "international" {
            Territory::International
        } else {
            Territory::Of(PartyCode::new(territory).unwrap())
        }),
        domain,
        place: String::new(),
        at: Some(notation.to_owned()),
    }
}

pub fn land(territory: &str) -> Location {
    at(territory, Domain::Land)
}

/// A task: unarmed, non-kinetic, at the given places.
pub fn task(agency: &str, action: TaskAction, locations: Vec<Location>) -> Task {
    Task {
        agency: AgencyId::new(agency).unwrap(),
        action,
        locations,
        launched_from: None,
        armed: false,
        kinetic: false,
        personnel: 4,
        under_command_of: None,
        description: String::new(),
        participants: Vec::new(),
    }
}

/// A proposal from `from` (by `agency`) to MX with the given body.
pub fn proposal(agency: &str, body: ProposalBody) -> Proposal {
    let agency = AgencyId::new(agency).unwrap();
    let from = agency.party();
    let to = if from == mx() { us() } else { mx() };
    Proposal {
        id: ProposalId::generate(),
        from,
        to,
        created: Timestamp::now(),
        author: None,
        requesting_agency: agency,
        purpose: "dismantle a trafficking network".into(),
        legal_basis: "Bicentennial Framework for Security".into(),
        handling: HandlingCode::H1,
        deadline: Timestamp::now(),
        related_to: Vec::new(),
        body,
    }
}

/// A coordinated operation proposed by the US to MX.
pub fn operation(tasks: Vec<Task>) -> Proposal {
    proposal(
        "US.DOD",
        ProposalBody::CoordinatedOperation(CoordinatedOperation {
            name: "operation".into(),
            summary: "a plan".into(),
            tasks,
        }),
    )
}

/// An advance notification from the US to MX.
pub fn notification() -> Proposal {
    proposal(
        "US.STATE",
        ProposalBody::AdvanceNotification(AdvanceNotification {
            measure: MeasureKind::ExecutiveOrder,
            title: "order on designated organisations".into(),
            summary: "designates organisations and freezes their assets".into(),
            effective: Timestamp::now(),
            targets: vec!["Cártel de Sinaloa".into()],
            assurances: vec!["no foreign personnel in Mexico".into()],
            evidence: Vec::new(),
            acts: Vec::new(),
            exhibits: Vec::new(),
        }),
    )
}

/// An information request from the US to MX.
pub fn information_request() -> Proposal {
    proposal(
        "US.DEA",
        ProposalBody::InformationRequest(InformationRequest {
            subject: "a shipping company".into(),
            categories: vec!["criminal_records".into()],
            questions: vec!["who owns it".into()],
            exhibits: Vec::new(),
        }),
    )
}
