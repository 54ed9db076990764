//! What the joint-investigation tests share: the example agreement with the
//! members a test names.

use soberana_core::{AgreedMember, OfficerId, PartyCode, ProposalBody, ProposalDraft, Timestamp};

/// A member of the agreement: `officer` of `party`, administering or not.
pub fn member(party: &str, officer: &str, administrator: bool) -> AgreedMember {
    AgreedMember {
        party: PartyCode::new(party).unwrap(),
        officer: OfficerId::new(officer).unwrap(),
        administrator,
    }
}

/// The example joint-investigation agreement
/// (`examples/proposals/mx-joint-investigation.toml`) as written, due in
/// three days.
pub fn example_agreement() -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/mx-joint-investigation.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = Timestamp::now().plus_seconds(3 * 86_400);
    draft
}

/// The example agreement with `members` instead of its own.
pub fn agreement(members: Vec<AgreedMember>) -> ProposalDraft {
    let mut draft = example_agreement();
    let ProposalBody::JointInvestigation(joint) = &mut draft.body else {
        panic!("the example is a joint investigation");
    };
    joint.members = members;
    draft
}
