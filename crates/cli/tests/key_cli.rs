//! `soberana key rotate` between two running nodes, as the README's "Rotating
//! the node's keys" runs it: a receipt written before the rotation still
//! checks against both nodes' keys after the switch, the log verifies, and
//! proposals keep crossing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana};

use std::path::Path;
use std::time::{Duration, Instant};

const ALERT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/proposals/us-border-alert.toml"
);

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn inbox_count(node: &str) -> usize {
    ok(&["inbox", "--all", "--json", "--dir", node])
        .matches("\"id\"")
        .count()
}

#[test]
fn an_operator_rotates_keys_and_old_receipts_still_check() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let help = ok(&["key", "--help"]);
    assert!(help.contains("rotate") && help.contains("status"), "{help}");
    let bad = soberana(&["key", "rotate", "--overlap-days", "0", "--dir", &mx]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("overlap"));
    let status = ok(&["key", "status", "--dir", &mx]);
    assert!(status.contains("no rotation waiting"), "{status}");
    // From the certificate's notAfter: a new one serves a year.
    assert!(
        status.contains("TLS certificate valid until") && status.contains("(364 days left)"),
        "{status}"
    );

    let _mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    ok(&["propose", ALERT, "--dir", &us]);
    wait_for("MX receives the alert", || inbox_count(&mx) == 1);
    let receipt = dir.path().join("before.json");
    let receipt = receipt.to_str().unwrap();
    ok(&["log", "proof", "0", "--dir", &mx, "-o", receipt]);
    assert!(ok(&["log", "check", receipt, "--dir", &mx]).starts_with("valid"));

    let said = ok(&["key", "rotate", "--dir", &mx]);
    assert!(said.contains("announced card"), "{said}");
    // The running node switches as soon as US has the update: no restart.
    wait_for("MX switches keys while running", || {
        ok(&["key", "status", "--dir", &mx]).contains("no rotation waiting")
    });
    assert!(Path::new(&mx).join("keys/retired").is_dir());
    let status = ok(&["key", "status", "--dir", &mx]);
    assert!(status.contains("previous: card"), "{status}");

    // What the old key signed still checks, at either node.
    for node in [&mx, &us] {
        let checked = ok(&["log", "check", receipt, "--dir", node]);
        assert!(checked.starts_with("valid"), "{node}: {checked}");
    }
    ok(&["log", "verify", "--dir", &mx]);
    ok(&["log", "verify", "--dir", &us]);
    // And proposals keep crossing under the new keys.
    ok(&["propose", ALERT, "--dir", &us]);
    wait_for("MX receives the next alert", || inbox_count(&mx) == 2);
}
