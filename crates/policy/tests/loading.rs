//! Loading refuses bad policy with an error that says what and where: a
//! missing or unpinned constitutional layer, a permit among the red lines, a
//! syntax error (file, line, column), a schema violation (policy, attribute).
//! And `check` describes what each policy allows and forbids in plain words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use soberana_policy::{
    PolicyEngine, PolicyError, PolicyFile, check, pin, read_constitutional, schema,
    shipped_constitutional, shipped_operational,
};
use support::*;

fn load(constitutional: &str, operational: &str) -> Result<PolicyEngine, PolicyError> {
    let file = PolicyFile::new("constitutional/MX.cedar", constitutional);
    PolicyEngine::load(
        mx(),
        &registry(),
        Some(&file),
        &pin(file.bytes()),
        &PolicyFile::new("operational/site.cedar", operational),
    )
}

fn shipped_mx() -> String {
    String::from_utf8(shipped_constitutional(mx()).unwrap().bytes().to_vec()).unwrap()
}

const FORBID_ONE: &str = r#"
@id("mx.one")
@reason("a reason")
forbid (principal, action == Soberana::Action::"task", resource)
when { context.task.on_territory };
"#;

#[test]
fn shipped_layers_pass_strict_validation() {
    for party in [mx(), us()] {
        let constitutional = shipped_constitutional(party).unwrap();
        let report = check(
            party,
            &registry(),
            Some(&constitutional),
            &shipped_operational(),
            Some(&pin(constitutional.bytes())),
        )
        .unwrap();
        assert_eq!(report.pin_matches, Some(true));
        let forbids = report
            .policies
            .iter()
            .filter(|p| p.effect == "forbid")
            .count();
        assert_eq!(forbids, 6, "{party}");
    }
    assert!(shipped_constitutional(soberana_core::PartyCode::new("CA").unwrap()).is_none());
    schema().unwrap();
}

#[test]
fn a_missing_constitutional_layer_is_refused() {
    let dir = std::env::temp_dir().join(format!("soberana-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = read_constitutional(&dir, mx()).unwrap_err();
    assert_eq!(err, PolicyError::ConstitutionalMissing { party: mx() });
    std::fs::write(dir.join("MX.cedar"), shipped_mx()).unwrap();
    let file = read_constitutional(&dir, mx()).unwrap();
    assert_eq!(pin(file.bytes()), pin(shipped_mx().as_bytes()));
    std::fs::remove_dir_all(&dir).unwrap();

    let err =
        PolicyEngine::load(mx(), &registry(), None, &pin(b""), &shipped_operational()).unwrap_err();
    assert!(
        err.to_string()
            .contains("no constitutional layer for party `MX`"),
        "{err}"
    );
}

#[test]
fn a_changed_constitutional_layer_must_be_pinned() {
    let shipped = shipped_constitutional(mx()).unwrap();
    let pinned = pin(shipped.bytes());
    // Even a comment is a change: the digest is over the exact bytes.
    let edited = PolicyFile::new(
        "constitutional/MX.cedar",
        format!("{}// edited\n", shipped_mx()),
    );
    let err = PolicyEngine::load(
        mx(),
        &registry(),
        Some(&edited),
        &pinned,
        &shipped_operational(),
    )
    .unwrap_err();
    match &err {
        PolicyError::DigestMismatch {
            pinned: p, actual, ..
        } => {
            assert_eq!(p, &pinned.to_hex());
            assert_eq!(actual, &pin(edited.bytes()).to_hex());
        }
        other => panic!("{other:?}"),
    }
    // Check reports the digest to pin instead of refusing.
    let report = check(
        mx(),
        &registry(),
        Some(&edited),
        &shipped_operational(),
        Some(&pinned),
    )
    .unwrap();
    assert_eq!(report.pin_matches, Some(false));
    assert_eq!(report.constitutional_digest, pin(edited.bytes()));
    assert!(report.to_string().contains("DOES NOT match"));
}

#[test]
fn a_permit_among_the_red_lines_is_refused() {
    let text = format!(
        "{FORBID_ONE}\n@id(\"mx.sneaky\")\n@reason(\"r\")\npermit (principal, action, resource);\n"
    );
    let err = load(&text, "").unwrap_err();
    assert_eq!(
        err,
        PolicyError::PermitInConstitution {
            file: "constitutional/MX.cedar".into(),
            policy: "mx.sneaky".into()
        }
    );
    assert!(
        err.to_string()
            .contains("only `forbid` policies belong there"),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let operational = "@id(\"op.a\")\npermit (principal, action, resource)\nwhen { context.complete &&& true };\n";
    let err = load(FORBID_ONE, operational).unwrap_err();
    match &err {
        PolicyError::Syntax {
            file, line, column, ..
        } => {
            assert_eq!(file, "operational/site.cedar");
            assert_eq!(*line, 3, "{err}");
            assert!(*column > 1, "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("syntax error in `operational/site.cedar` at line 3"),
        "{err}"
    );
}

#[test]
fn schema_violations_name_the_policy_and_the_attribute() {
    let operational = "@id(\"op.typo\")\npermit (principal, action == Soberana::Action::\"information_request\", resource)\nwhen { context.purpse == \"x\" };\n";
    let err = load(FORBID_ONE, operational).unwrap_err();
    match &err {
        PolicyError::Schema {
            file,
            policy,
            line,
            message,
            ..
        } => {
            assert_eq!(file, "operational/site.cedar");
            assert_eq!(policy, "op.typo");
            assert_eq!(*line, 3, "{err}");
            assert!(message.contains("purpse"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // A misspelt kind in a red line would make it match nothing: refused.
    let typo = shipped_mx().replace("AgencyKind::\"military\"", "AgencyKind::\"militray\"");
    let err = load(&typo, "").unwrap_err();
    match &err {
        PolicyError::Schema {
            policy, message, ..
        } => {
            assert_eq!(policy, "mx.foreign-forces");
            assert!(message.contains("militray"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // A permit on every action that reads proposal attributes does not fit
    // the task action's context: strict validation refuses it.
    let unscoped =
        "@id(\"op.unscoped\")\npermit (principal, action, resource) when { context.complete };\n";
    match load(FORBID_ONE, unscoped).unwrap_err() {
        PolicyError::Schema { policy, .. } => assert_eq!(policy, "op.unscoped"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_red_line_that_can_never_apply_is_refused() {
    let never = "@id(\"mx.never\")\n@reason(\"r\")\nforbid (principal, action == Soberana::Action::\"task\", resource) when { false };\n";
    match load(never, "").unwrap_err() {
        PolicyError::Schema { policy, .. } => assert_eq!(policy, "mx.never"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_malformed_layers_are_refused() {
    let no_id = "@reason(\"r\")\nforbid (principal, action, resource);\n";
    assert!(matches!(
        load(no_id, "").unwrap_err(),
        PolicyError::MissingAnnotation {
            annotation: "id",
            index: 1,
            ..
        }
    ));
    let no_reason = "@id(\"mx.x\")\nforbid (principal, action, resource);\n";
    assert!(matches!(
        load(no_reason, "").unwrap_err(),
        PolicyError::MissingAnnotation {
            annotation: "reason",
            ..
        }
    ));
    let template = "@id(\"op.t\")\npermit (principal == ?principal, action, resource);\n";
    assert!(matches!(
        load(FORBID_ONE, template).unwrap_err(),
        PolicyError::Template { .. }
    ));
    let duplicate =
        "@id(\"mx.one\")\nforbid (principal, action == Soberana::Action::\"task\", resource);\n";
    assert!(matches!(
        load(FORBID_ONE, duplicate).unwrap_err(),
        PolicyError::DuplicateId { policy, .. } if policy == "mx.one"
    ));
    let decision = "@id(\"op.d\")\n@decision(\"maybe\")\npermit (principal, action == Soberana::Action::\"border_alert\", resource);\n";
    assert!(matches!(
        load(FORBID_ONE, decision).unwrap_err(),
        PolicyError::UnknownDecision { value, .. } if value == "maybe"
    ));
    assert!(matches!(
        load("// all red lines removed\n", "").unwrap_err(),
        PolicyError::EmptyConstitution { .. }
    ));
    let file = PolicyFile::new("constitutional/MX.cedar", vec![0xff, 0xfe, b'x']);
    let err = PolicyEngine::load(
        mx(),
        &registry(),
        Some(&file),
        &pin(file.bytes()),
        &shipped_operational(),
    )
    .unwrap_err();
    assert!(matches!(err, PolicyError::NotText { .. }));
}

#[test]
fn check_says_what_each_policy_does_in_plain_words() {
    let constitutional = shipped_constitutional(mx()).unwrap();
    let report = check(
        mx(),
        &registry(),
        Some(&constitutional),
        &shipped_operational(),
        None,
    )
    .unwrap();
    assert_eq!(report.pin_matches, None);
    let forces = report
        .policies
        .iter()
        .find(|p| p.id == "mx.foreign-forces")
        .unwrap();
    assert_eq!(forces.does, "forbids");
    assert_eq!(forces.applies_to, ["task"]);
    assert!(forces.says.contains("Art. 76, fr. III"), "{}", forces.says);
    let data = report
        .policies
        .iter()
        .find(|p| p.id == "op.data-requests-reviewed")
        .unwrap();
    assert_eq!(data.does, "sends to an officer");
    assert!(data.applies_to.contains(&"information_request".to_owned()));
    let text = report.to_string();
    assert!(text.contains("constitutional layer:"), "{text}");
    assert!(text.contains("operational layer:"), "{text}");
    assert!(
        text.contains(&report.constitutional_digest.to_hex()),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["policies"][0]["layer"], "constitutional");
}
