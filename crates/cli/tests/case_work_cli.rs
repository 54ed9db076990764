//! A joint investigation from the command line, from the agreement to the
//! members' work: `soberana decide --accept` opens the case on both nodes
//! with the members the agreement names; `case message`, `case messages`,
//! `case task` and `case tasks` carry the members' work to the partner; a
//! bad message or task exits non-zero with the reason and stores nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{init, introduce, ok, run_node, soberana, wait_state};

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

fn wait_until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never: {what}");
}

#[test]
fn an_accepted_agreement_opens_the_case_and_members_message_and_task_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    for (node, who, agency) in [
        (&mx, "ana", "MX.FGR"),
        (&mx, "zoe", "MX.FGR"),
        (&us, "bob", "US.ATF"),
    ] {
        support::officer(node, who, agency, "approver");
    }
    // The example agreement, naming each side's administrator.
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/mx-joint-investigation.toml"
    ))
    .unwrap();
    let agreement = dir.path().join("agreement.toml");
    std::fs::write(
        &agreement,
        format!(
            "{example}\n[[body.members]]\nparty = \"MX\"\nofficer = \"ana\"\nadministrator = true\n\n\
             [[body.members]]\nparty = \"US\"\nofficer = \"bob\"\nadministrator = true\n"
        ),
    )
    .unwrap();
    let _mx_node = run_node(&mx);
    let _us_node = run_node(&us);
    let id = ok(&["propose", agreement.to_str().unwrap(), "--dir", &mx])
        .trim()
        .to_owned();
    wait_state(&us, &id, "awaiting_officer");
    let decided = ok(&[
        "decide",
        &id,
        "--accept",
        "--reason",
        "each side on its own territory",
        "--officer",
        "bob",
        "--dir",
        &us,
    ]);
    assert!(
        decided.contains("opened on US's side by the acceptance, with 1 member(s) of ours"),
        "{decided}"
    );
    // No `case open`: the acceptance opened it on both sides.
    let listed = ok(&["case", "list", "--dir", &us]);
    let case = listed.split_whitespace().next().unwrap().to_owned();
    assert!(case.starts_with("case-"), "{listed}");
    wait_until("Mexico's node opens its side", || {
        let out = soberana(&["case", "show", &case, "--json", "--dir", &mx]);
        out.status.success() && {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            json["case"]["opened_by"].as_array().unwrap().len() == 2
        }
    });
    let shown = ok(&["case", "show", &case, "--dir", &mx]);
    assert!(
        shown.contains("member ana of MX (Administrator)"),
        "{shown}"
    );
    assert!(
        shown.contains("member bob of US (Administrator, as US claims)"),
        "{shown}"
    );

    // Ana writes in Spanish; bob reads it on the US node.
    let sent = ok(&[
        "case",
        "message",
        &case,
        "La libreta cruza con tres compradores.",
        "--lang",
        "es",
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]);
    assert!(sent.contains("recorded"), "{sent}");
    wait_until("the US holds the message", || {
        let out = soberana(&["case", "messages", &case, "--officer", "bob", "--dir", &us]);
        String::from_utf8_lossy(&out.stdout).contains("[es]: La libreta cruza")
    });

    // Refused, with the reason and a non-zero exit: an oversized message,
    // a reader who is no member, a task for a non-member.
    let long = "x".repeat(9000);
    let err = fails(&[
        "case",
        "message",
        &case,
        &long,
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("at most 8192 bytes"), "{err}");
    let err = fails(&["case", "messages", &case, "--officer", "zoe", "--dir", &mx]);
    assert!(err.contains("not a member"), "{err}");
    let err = fails(&[
        "case",
        "task",
        &case,
        "revisar",
        "--owner",
        "US:zoe",
        "--due",
        "P7D",
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("not a member of US's side"), "{err}");
    let err = fails(&[
        "case",
        "task",
        &case,
        "revisar",
        "--owner",
        "bob",
        "--due",
        "P7D",
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("SIDE:OFFICER"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "case",
        "messages",
        &case,
        "--json",
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "nothing else stored");

    // A task for bob; he closes it on the US node; Mexico sees it done.
    let given = ok(&[
        "case",
        "task",
        &case,
        "trace serial DX-4471",
        "--owner",
        "US:bob",
        "--due",
        "P7D",
        "--officer",
        "ana",
        "--dir",
        &mx,
    ]);
    let task = given
        .split_whitespace()
        .find(|w| w.starts_with("task-"))
        .unwrap()
        .to_owned();
    wait_until("the US holds the task", || {
        let out = soberana(&["case", "tasks", &case, "--officer", "bob", "--dir", &us]);
        String::from_utf8_lossy(&out.stdout).contains(&format!("{task}  open"))
    });
    ok(&[
        "case",
        "task",
        &case,
        "--done",
        &task,
        "--officer",
        "bob",
        "--dir",
        &us,
    ]);
    wait_until("Mexico sees it done", || {
        let out = soberana(&["case", "tasks", &case, "--officer", "ana", "--dir", &mx]);
        String::from_utf8_lossy(&out.stdout).contains("done")
    });

    let help = ok(&["case", "message", "--help"]);
    assert!(help.contains("--lang"), "{help}");
    assert!(help.contains("8 KiB"), "{help}");
}
