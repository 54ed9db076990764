//! `soberana policy pin` as an operator runs it: a changed constitutional
//! layer stops the node until it is pinned, and the pin is logged and
//! announced to the partner in one step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, soberana};

#[test]
fn a_changed_layer_stops_the_node_until_it_is_pinned_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let layer = std::path::Path::new(&mx).join("policy/constitutional.cedar");
    let text = std::fs::read_to_string(&layer).unwrap();
    std::fs::write(&layer, format!("{text}\n// reviewed by the legal office\n")).unwrap();

    let out = soberana(&["inbox", "--dir", &mx]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("constitutional") && err.contains("pin"),
        "{err}"
    );

    let pinned = ok(&["policy", "pin", "--dir", &mx]);
    assert!(
        pinned.contains("pinned the constitutional layer"),
        "{pinned}"
    );
    assert!(pinned.contains("announced to US"), "{pinned}");
    ok(&["inbox", "--dir", &mx]);
    let sent: serde_json::Value =
        serde_json::from_str(&ok(&["outbox", "--all", "--json", "--dir", &mx])).unwrap();
    let kinds: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["proposal"]["body"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["advance_notification"], "{sent}");
    let again = ok(&["policy", "pin", "--dir", &mx]);
    assert!(again.contains("already pinned"), "{again}");
}
