//! Officers' decisions from the command line follow the node's rules, the
//! same the desk follows: only a registered approver decides, and a release
//! under a restrictive handling code waits for a second, different approver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, shown, soberana, state, wait_state};

use std::time::Duration;

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs a command that must fail; returns its standard error.
fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(
        !out.status.success(),
        "`soberana {}` succeeded",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_release_under_h2_decided_from_the_cli_waits_for_a_second_approver() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    support::officer(&mx, "uif.ana", "MX.UIF", "approver");
    support::officer(&mx, "uif.beto", "MX.UIF", "approver");
    support::officer(&mx, "uif.eva", "MX.UIF", "analyst");

    let request = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-financial-intelligence.toml"
    );
    let id = ok(&["propose", request, "--dir", &us]).trim().to_owned();
    let _mx_node = run_node(&mx);
    let _us_node = run_node(&us);
    wait_state(&mx, &id, "awaiting_officer");
    assert_eq!(
        shown(&mx, &id)["record"]["proposal"]["handling"],
        "H2",
        "the example is restricted"
    );

    let decide = |officer: Option<&str>| {
        let mut args = vec![
            "decide",
            id.as_str(),
            "--dir",
            mx.as_str(),
            "--accept",
            "--reason",
            "the account is held in Mexico",
            "--release",
            "account 0021=received USD 482,500",
        ];
        if let Some(officer) = officer {
            args.extend(["--officer", officer]);
        }
        args.iter()
            .map(|a| (*a).to_owned())
            .collect::<Vec<String>>()
    };

    // Nobody, a name nobody registered, and a registered non-approver are
    // refused, and nothing changes.
    let err = fails(&strs(&decide(None)));
    assert!(err.contains("--officer"), "{err}");
    let err = fails(&strs(&decide(Some("approver"))));
    assert!(err.contains("no officer `approver` is registered"), "{err}");
    let err = fails(&strs(&decide(Some("uif.eva"))));
    assert!(err.contains("`approver` role"), "{err}");
    assert_eq!(state(&mx, &id), "awaiting_officer");

    // A disabled approver cannot act until enabled again; both acts are
    // named in the list and refused for an unknown id.
    ok(&["officer", "disable", "uif.ana", "--dir", &mx]);
    assert!(
        ok(&["officer", "list", "--dir", &mx])
            .lines()
            .any(|l| l.starts_with("uif.ana") && l.ends_with("(disabled)"))
    );
    let err = fails(&strs(&decide(Some("uif.ana"))));
    assert!(err.contains("officer `uif.ana` is disabled"), "{err}");
    assert_eq!(state(&mx, &id), "awaiting_officer");
    let err = fails(&["officer", "disable", "nobody", "--dir", &mx]);
    assert!(err.contains("no officer `nobody` is registered"), "{err}");
    ok(&["officer", "enable", "uif.ana", "--dir", &mx]);
    assert!(
        !ok(&["officer", "list", "--dir", &mx]).contains("(disabled)"),
        "still disabled after enable"
    );

    // One approver's acceptance waits; nothing has left MX.
    let out = ok(&strs(&decide(Some("uif.ana"))));
    assert!(out.contains("awaits a second approver"), "{out}");
    assert!(
        out.contains("soberana confirm"),
        "the next step is named: {out}"
    );
    let held = shown(&mx, &id);
    assert_eq!(held["record"]["state"], "awaiting_officer");
    assert!(held["decision"].is_null(), "{held}");
    assert!(held["disclosures"].as_array().unwrap().is_empty());
    // The second approver sees what they are asked to confirm.
    let shown_text = ok(&["show", &id, "--dir", &mx]);
    assert!(
        shown_text.contains("a second approver: accepted by uif.ana"),
        "{shown_text}"
    );
    assert!(
        shown_text.contains("releases account 0021: received USD 482,500"),
        "{shown_text}"
    );

    // Another decision is refused while one waits, and the same approver
    // cannot confirm their own.
    let err = fails(&[
        "decide",
        &id,
        "--dir",
        &mx,
        "--refuse",
        "--reason",
        "no",
        "--officer",
        "uif.beto",
    ]);
    assert!(err.contains("awaits a second approver"), "{err}");
    let err = fails(&["confirm", &id, "--dir", &mx, "--officer", "uif.ana"]);
    assert!(err.contains("different approver"), "{err}");
    let err = fails(&["confirm", &id, "--dir", &mx, "--officer", "uif.eva"]);
    assert!(err.contains("`approver` role"), "{err}");
    assert_eq!(state(&mx, &id), "awaiting_officer");

    // A second approver confirms: the decision names both and the answer
    // reaches the US.
    let out = ok(&["confirm", &id, "--dir", &mx, "--officer", "uif.beto"]);
    assert!(out.contains("confirmed by uif.beto"), "{out}");
    wait_state(&us, &id, "answered");
    let at_us = shown(&us, &id);
    assert_eq!(
        at_us["decision"]["decided_by"]["officer"], "uif.ana",
        "{at_us}"
    );
    assert_eq!(
        at_us["decision"]["decided_by"]["confirmed_by"], "uif.beto",
        "{at_us}"
    );
    assert_eq!(at_us["answer"]["items"].as_array().unwrap().len(), 1);
}

#[test]
fn a_release_under_h1_from_the_cli_takes_one_approver() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    support::officer(&us, "atf.ana", "US.ATF", "approver");
    // An information request labelled H1 whose release names no person or
    // financial data: our rule keeps it at H1, so one approver releases it.
    let request = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/mx-information-request.toml"
    );
    let id = ok(&["propose", request, "--dir", &mx]).trim().to_owned();
    let _mx_node = run_node(&mx);
    let _us_node = run_node(&us);
    for _ in 0..600 {
        if matches!(
            state(&us, &id).as_str(),
            "awaiting_officer" | "accepted" | "refused"
        ) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        state(&us, &id),
        "awaiting_officer",
        "US policy sends a request to an officer"
    );
    let out = ok(&[
        "decide",
        &id,
        "--dir",
        &us,
        "--accept",
        "--reason",
        "traced",
        "--release",
        "port of entry=Nogales, AZ",
        "--officer",
        "atf.ana",
    ]);
    assert!(out.contains("queued for the partner"), "{out}");
    wait_state(&mx, &id, "answered");
}
