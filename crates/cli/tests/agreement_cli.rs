//! `soberana agreement …` between two running nodes, as an operator runs it:
//! MX proposes the terms, US accepts them, US suspends the agreement (MX can
//! then send no new proposal), US resumes it, and bad terms are refused
//! with nothing written. These are the README's "Suspending the partner"
//! steps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana};

use std::time::{Duration, Instant};

const TERMS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/agreements/mx-us.toml"
);
const REQUEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/proposals/mx-information-request.toml"
);

/// Waits up to 30 s for `agreement show` on `node` to contain `text`.
fn wait_show(node: &str, partner: &str, text: &str) -> String {
    let start = Instant::now();
    loop {
        let shown = ok(&["agreement", "show", partner, "--dir", node]);
        if shown.contains(text) {
            return shown;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "`agreement show` never said `{text}`:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_operator_makes_suspends_and_resumes_the_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);

    let help = ok(&["agreement", "--help"]);
    for command in [
        "show",
        "propose",
        "amend",
        "accept",
        "suspend",
        "resume",
        "terminate",
    ] {
        assert!(help.contains(command), "{help}");
    }
    let none = ok(&["agreement", "show", "US", "--dir", &mx]);
    assert!(none.contains("no agreement with US"), "{none}");

    // Bad terms: refused naming the file, nothing recorded.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "default_handling = \"H9\"\n").unwrap();
    let out = soberana(&[
        "agreement",
        "propose",
        "US",
        "--terms",
        bad.to_str().unwrap(),
        "--dir",
        &mx,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("not valid"),
        "{err}"
    );
    assert!(ok(&["agreement", "show", "US", "--dir", &mx]).contains("no agreement"));

    let _mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    let said = ok(&[
        "agreement",
        "propose",
        "US",
        "--terms",
        TERMS,
        "--reason",
        "first terms",
        "--dir",
        &mx,
    ]);
    assert!(
        said.contains("version 1 awaits the partner's acceptance"),
        "{said}"
    );
    wait_show(&us, "MX", "version 1 proposed by MX awaits acceptance");
    ok(&["agreement", "accept", "MX", "--dir", &us]);
    let shown = wait_show(&mx, "US", "active (version 1)");
    assert!(shown.contains("US accepts: information_request"), "{shown}");
    assert!(shown.contains("US acknowledge"), "{shown}");

    ok(&[
        "agreement",
        "suspend",
        "MX",
        "--reason",
        "audit of the exchange",
        "--dir",
        &us,
    ]);
    wait_show(&mx, "US", "suspended (version 1)");
    let out = soberana(&["propose", REQUEST, "--dir", &mx]);
    assert!(
        !out.status.success(),
        "a proposal went out under a suspension"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("suspended by `US`") && err.contains("audit of the exchange"),
        "{err}"
    );

    ok(&["agreement", "resume", "MX", "--dir", &us]);
    wait_show(&mx, "US", "active (version 1)");
    ok(&["propose", REQUEST, "--dir", &mx]);
}
