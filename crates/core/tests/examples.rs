//! The proposal examples shipped under `examples/proposals` parse, validate,
//! and between them cover every kind of proposal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use soberana_core::{PartyCode, Proposal, ProposalDraft, ProposalKind, Timestamp};

fn examples() -> Vec<(String, ProposalDraft)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/proposals");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let draft: ProposalDraft =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.display().to_string(), draft));
        }
    }
    out
}

#[test]
fn every_example_parses_and_validates() {
    let mut kinds = BTreeSet::new();
    for (path, draft) in examples() {
        let from = draft.requesting_agency.party();
        kinds.insert(draft.body.kind());
        let proposal = Proposal::from_draft(draft, from, None, Timestamp::now())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let json = serde_json::to_string(&proposal).unwrap();
        let back: Proposal = serde_json::from_str(&json).unwrap();
        assert_eq!(back, proposal, "{path}");
    }
    let missing: Vec<_> = ProposalKind::ALL
        .iter()
        .filter(|k| !kinds.contains(k))
        .collect();
    assert!(missing.is_empty(), "kinds without an example: {missing:?}");
}

#[test]
fn unknown_fields_and_kinds_are_refused() {
    let (_, draft) = examples().into_iter().next().unwrap();
    let mut value = serde_json::to_value(&draft).unwrap();
    value["body"]["smuggled"] = serde_json::json!(true);
    assert!(serde_json::from_value::<ProposalDraft>(value.clone()).is_err());
    value["body"]["kind"] = serde_json::json!("remote_command");
    assert!(serde_json::from_value::<ProposalDraft>(value).is_err());
    let mut value = serde_json::to_value(&draft).unwrap();
    value["priority"] = serde_json::json!("urgent");
    assert!(serde_json::from_value::<ProposalDraft>(value).is_err());
}

#[test]
fn tasks_must_state_the_facts_red_lines_depend_on() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-deploy-forces.toml"
    ))
    .unwrap();
    for field in ["armed", "kinetic", "agency", "action"] {
        let stripped: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{field} =")))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            toml::from_str::<ProposalDraft>(&stripped).is_err(),
            "a task without `{field}` was accepted"
        );
    }
    let located = "locations = [{ territory = \"MX\", domain = \"land\", place = \"Culiacán, Sinaloa\", at = \"culiacan\" }]";
    assert!(text.contains(located));
    let no_place = text.replace(located, "locations = []");
    let draft: ProposalDraft = toml::from_str(&no_place).unwrap();
    let us = PartyCode::new("US").unwrap();
    assert!(Proposal::from_draft(draft, us, None, Timestamp::now()).is_err());
    // A place in a notation no node reads is refused, naming the field.
    let garbled = text.replace("at = \"culiacan\"", "at = \"Culiacán, Sinaloa\"");
    let draft: ProposalDraft = toml::from_str(&garbled).unwrap();
    let e = Proposal::from_draft(draft, us, None, Timestamp::now()).unwrap_err();
    assert!(
        e.to_string().contains("`body.tasks[0].locations[0].at`"),
        "{e}"
    );
    // A participant must name its agency.
    let participant = text.replace(
        "description = \"Raids on fentanyl laboratories\"",
        "description = \"Raids\"\nparticipants = [{ armed = true }]",
    );
    let e = toml::from_str::<ProposalDraft>(&participant).unwrap_err();
    assert!(e.to_string().contains("missing field `agency`"), "{e}");
}

#[test]
fn a_proposal_cannot_speak_for_another_party() {
    let (_, draft) = examples()
        .into_iter()
        .find(|(p, _)| p.ends_with("us-border-alert.toml"))
        .unwrap();
    let mx = PartyCode::new("MX").unwrap();
    // A US agency's proposal claimed by MX, and addressed to MX itself.
    assert!(Proposal::from_draft(draft, mx, None, Timestamp::now()).is_err());
}
