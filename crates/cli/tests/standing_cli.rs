//! `soberana match standing …` between two running nodes, as operators run
//! it: the US proposes a daily phone check against MX's holdings with its
//! budget and list, MX accepts with its own budget, the US runs it now and
//! learns its hits with no officer on MX's side, a run over the smaller
//! budget is refused, and a suspension by MX stops runs. These are the
//! README's "Standing matches" steps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, officer, ok, run_node, soberana};

use std::time::{Duration, Instant};

const TERMS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/agreements/mx-us.toml"
);

/// Waits up to 30 s for `args`' output to contain `text`.
fn wait_for(args: &[&str], text: &str) -> String {
    let start = Instant::now();
    loop {
        let said = ok(args);
        if said.contains(text) {
            return said;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{args:?} never said `{text}`:\n{said}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn phones(from: u32, to: u32) -> String {
    (from..to).map(|i| format!("+525510{i:06}\n")).collect()
}

#[test]
fn operators_agree_a_standing_check_run_it_and_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    for (node, agency, id, role) in [
        (&mx, "MX.UIF", "uif.ana", "approver"),
        (&mx, "MX.UIF", "uif.beto", "approver"),
        (&mx, "MX.UIF", "uif.ivan", "analyst"),
        (&us, "US.FINCEN", "fbi.lee", "approver"),
        (&us, "US.FINCEN", "fbi.kim", "approver"),
    ] {
        officer(node, id, agency, role);
    }

    let help = ok(&["match", "standing", "--help"]);
    for text in [
        "propose",
        "accept",
        "list",
        "run",
        "suspend",
        "smaller of the",
        "whatever the run claims",
    ] {
        assert!(help.contains(text), "{help}");
    }
    let none = ok(&["match", "standing", "list", "--dir", &us]);
    assert!(none.contains("no standing arrangements"), "{none}");

    let held = dir.path().join("held.txt");
    std::fs::write(&held, phones(0, 50)).unwrap();
    ok(&[
        "match",
        "hold",
        held.to_str().unwrap(),
        "--kind",
        "phone",
        "--dir",
        &mx,
    ]);
    let seized = dir.path().join("seized.txt");
    std::fs::write(&seized, format!("{}{}", phones(48, 50), phones(900, 901))).unwrap();
    let five = dir.path().join("five.txt");
    std::fs::write(&five, phones(0, 5)).unwrap();

    let _mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    ok(&["agreement", "propose", "US", "--terms", TERMS, "--dir", &mx]);
    wait_for(
        &["agreement", "show", "MX", "--dir", &us],
        "awaits acceptance",
    );
    ok(&["agreement", "accept", "MX", "--dir", &us]);
    wait_for(
        &["agreement", "show", "US", "--dir", &mx],
        "active (version 1)",
    );

    // Bad input: refused, nothing proposed.
    let err = fails(&[
        "match",
        "standing",
        "propose",
        "MX",
        "phones",
        "--list-kind",
        "phone",
        "--period",
        "hourly",
        "--per-run",
        "5",
        "--per-period",
        "10",
        "--officer",
        "fbi.lee",
        "--confirmed-by",
        "fbi.kim",
        "--dir",
        &us,
    ]);
    assert!(err.contains("not daily or weekly"), "{err}");
    let err = fails(&[
        "match",
        "standing",
        "propose",
        "MX",
        "phones",
        "--list-kind",
        "phone",
        "--period",
        "daily",
        "--per-run",
        "50",
        "--per-period",
        "10",
        "--officer",
        "fbi.lee",
        "--confirmed-by",
        "fbi.kim",
        "--dir",
        &us,
    ]);
    assert!(err.contains("cannot exceed"), "{err}");
    assert!(ok(&["match", "standing", "list", "--dir", &us]).contains("no standing"));

    let said = ok(&[
        "match",
        "standing",
        "propose",
        "MX",
        "phones",
        "--list-kind",
        "phone",
        "--period",
        "daily",
        "--per-run",
        "5",
        "--per-period",
        "10",
        "--list",
        seized.to_str().unwrap(),
        "--reason",
        "daily check of seized phones",
        "--officer",
        "fbi.lee",
        "--confirmed-by",
        "fbi.kim",
        "--dir",
        &us,
    ]);
    assert!(said.contains("awaits MX's acceptance"), "{said}");
    assert!(said.contains("kept a list of 3"), "{said}");
    wait_for(
        &["match", "standing", "list", "US", "--dir", &mx],
        "`phones`: proposed",
    );
    // Accepting sets the budget under which MX's node answers with no
    // officer: two different enabled approvers, or nothing is written.
    let help = ok(&["match", "standing", "accept", "--help"]);
    assert!(
        help.contains("--confirmed-by") && help.contains("two different approvers"),
        "{help}"
    );
    let accept = |approvers: &[&str]| {
        let mut args = vec![
            "match",
            "standing",
            "accept",
            "US",
            "phones",
            "--per-run",
            "3",
            "--per-period",
            "100",
            "--dir",
            &mx,
        ];
        args.extend_from_slice(approvers);
        fails(&args)
    };
    let err = accept(&["--officer", "uif.ana"]);
    assert!(err.contains("--confirmed-by"), "{err}");
    let err = accept(&["--officer", "uif.ana", "--confirmed-by", "uif.ana"]);
    assert!(
        err.contains("named twice") && err.contains("two different approvers"),
        "{err}"
    );
    let err = accept(&["--officer", "uif.ana", "--confirmed-by", "uif.ivan"]);
    assert!(
        err.contains("`uif.ivan` does not hold the `approver` role"),
        "{err}"
    );
    ok(&["officer", "disable", "uif.beto", "--dir", &mx]);
    let err = accept(&["--officer", "uif.ana", "--confirmed-by", "uif.beto"]);
    assert!(err.contains("officer `uif.beto` is disabled"), "{err}");
    ok(&["officer", "enable", "uif.beto", "--dir", &mx]);
    let err = accept(&["--officer", "uif.ana", "--confirmed-by", "uif.nadie"]);
    assert!(err.contains("no officer `uif.nadie`"), "{err}");
    let listed = ok(&["match", "standing", "list", "US", "--dir", &mx]);
    assert!(listed.contains("`phones`: proposed"), "{listed}");
    assert!(
        !ok(&["agreement", "show", "US", "--dir", &mx]).contains("MX standing_accept"),
        "nothing was signed"
    );

    let said = ok(&[
        "match",
        "standing",
        "accept",
        "US",
        "phones",
        "--per-run",
        "3",
        "--per-period",
        "100",
        "--officer",
        "uif.ana",
        "--confirmed-by",
        "uif.beto",
        "--dir",
        &mx,
    ]);
    assert!(
        said.contains("active, effective budget 3 per run, 10 per period"),
        "{said}"
    );
    let listed = wait_for(
        &["match", "standing", "list", "--dir", &us],
        "`phones`: active",
    );
    assert!(
        listed.contains("MX sets 3 per run, 100 per period")
            && listed.contains("US sets 5 per run, 10 per period"),
        "{listed}"
    );

    // The agreement shows it, and both sides' acts on it.
    let shown = ok(&["agreement", "show", "MX", "--dir", &us]);
    assert!(
        shown.contains("standing arrangement `phones`: active (daily), US checks its phone list; effective budget 3 per run, 10 per period")
            && shown.contains("US standing_propose")
            && shown.contains("MX standing_accept"),
        "{shown}"
    );

    // Run now: MX's node answers with no officer; the US learns its hits.
    let said = ok(&[
        "match", "standing", "run", "MX", "phones", "--wait", "60", "--dir", &us,
    ]);
    assert!(
        said.contains("2 of our 3 identifiers are held by the partner"),
        "{said}"
    );
    assert!(said.contains("phone:+525510000048"), "{said}");
    let listed = ok(&["match", "standing", "list", "MX", "--dir", &us]);
    assert!(listed.contains("used this period: 3"), "{listed}");

    // Over the smaller budget (MX's 3 per run): refused, nothing sent.
    let err = fails(&[
        "match",
        "standing",
        "run",
        "MX",
        "phones",
        "--list",
        five.to_str().unwrap(),
        "--dir",
        &us,
    ]);
    assert!(err.contains("allows 3 per run"), "{err}");

    // MX suspends it: the US's runs stop.
    ok(&[
        "match",
        "standing",
        "suspend",
        "US",
        "phones",
        "--reason",
        "audit",
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    wait_for(
        &["match", "standing", "list", "--dir", &us],
        "`phones`: suspended",
    );
    let err = fails(&["match", "standing", "run", "MX", "phones", "--dir", &us]);
    assert!(err.contains("suspended by `MX`"), "{err}");
    // Only MX resumes it.
    let err = fails(&[
        "match",
        "standing",
        "resume",
        "MX",
        "phones",
        "--officer",
        "fbi.lee",
        "--dir",
        &us,
    ]);
    assert!(err.contains("only that side can resume it"), "{err}");
}
