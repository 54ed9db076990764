//! A node on PostgreSQL from the command line: `init --store` refuses a
//! store it cannot use before writing anything; a node made on PostgreSQL
//! takes a border alert from a partner on SQLite with both running as
//! processes, verifies its log, and `backup` names the way to back it up.
//!
//! The database comes from `SOBERANA_TEST_POSTGRES`; without it the test
//! that needs one fails and says how to start one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{introduce, ok, port, run_node, soberana, wait_state};

use std::path::Path;

fn database() -> String {
    match std::env::var("SOBERANA_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "SOBERANA_TEST_POSTGRES is not set: this test runs a node on PostgreSQL. \
             As root on Debian, `scripts/test` installs and starts a server and sets it; \
             by hand see README (Running the tests)"
        ),
    }
}

fn init_with(dir: &Path, party: &str, store: &str) -> std::process::Output {
    let path = dir.join(party.to_ascii_lowercase());
    soberana(&[
        "init",
        "--party",
        party,
        "--dir",
        path.to_str().unwrap(),
        "--listen",
        &port(),
        "--store",
        store,
    ])
}

#[test]
fn init_refuses_a_store_it_cannot_use_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (store, says) in [
        ("mysql://db/mx", "neither a file path nor a postgres:// URL"),
        (
            "postgres://mx:secret@127.0.0.1:1/mx",
            "cannot connect to the store at `postgres://mx:***@127.0.0.1:1/mx`",
        ),
        ("../outside.sqlite", "relative path inside the node folder"),
    ] {
        let out = init_with(dir.path(), "MX", store);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{store} was taken");
        assert!(err.contains(says), "{store}: {err}");
        assert!(!err.contains("secret"), "the password is shown: {err}");
        assert!(
            !dir.path().join("mx").exists(),
            "{store}: a folder was made"
        );
    }
}

#[test]
fn a_node_on_postgres_exchanges_verifies_and_says_how_to_back_it_up() {
    let base = database();
    let sep = if base.contains('?') { '&' } else { '?' };
    let schema = format!(
        "cli_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let store = format!("{base}{sep}schema={schema}");
    let dir = tempfile::tempdir().unwrap();
    let out = init_with(dir.path(), "MX", &store);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = String::from_utf8_lossy(&out.stdout);
    assert!(made.contains("store           postgres://"), "{made}");
    let mx = dir.path().join("mx").to_str().unwrap().to_owned();
    let config = std::fs::read_to_string(Path::new(&mx).join("node.toml")).unwrap();
    assert!(config.contains(&format!("schema={schema}")), "{config}");
    assert!(!Path::new(&mx).join("node.sqlite").exists());
    let us = support::init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);

    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );
    let id = ok(&["propose", example, "--dir", &us]).trim().to_owned();
    let (_mx_run, _us_run) = (run_node(&mx), run_node(&us));
    wait_state(&mx, &id, "accepted");
    wait_state(&us, &id, "accepted");
    drop((_mx_run, _us_run));

    let verified = ok(&["log", "verify", "--dir", &mx]);
    assert!(verified.contains("MX log verified"), "{verified}");
    let out = soberana(&[
        "backup",
        "--dir",
        &mx,
        "--to",
        dir.path().join("backup").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!dir.path().join("backup").exists());
}
