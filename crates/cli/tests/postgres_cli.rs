//! A node on PostgreSQL from the command line: `init --store` refuses a
//! store it cannot use before writing anything; a node made on PostgreSQL
//! takes border alerts from a partner on SQLite with both running as
//! processes, is backed up while proposals keep arriving, and restores
//! into an empty store (never a non-empty one, never from a damaged
//! backup) as a node whose log verifies and that takes new work.
//!
//! The database comes from `SOBERANA_TEST_POSTGRES`; without it the test
//! that needs one fails and says how to start one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{introduce, ok, port, run_node, soberana, wait_state};

use std::os::unix::fs::PermissionsExt;
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

/// A store URL in a schema of its own, new for each call.
fn fresh_store(tag: &str) -> String {
    let base = database();
    let sep = if base.contains('?') { '&' } else { '?' };
    let schema = format!(
        "cli_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    format!("{base}{sep}schema={schema}")
}

fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(!out.status.success(), "`soberana {args:?}` succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn log_size(verify: &str) -> u64 {
    verify
        .split("verified: ")
        .nth(1)
        .and_then(|after| after.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {verify}"))
}

fn inbox_count(node: &str) -> usize {
    ok(&["inbox", "--all", "--json", "--dir", node])
        .matches("\"id\"")
        .count()
}

#[test]
fn a_node_on_postgres_is_backed_up_while_it_runs_and_restores_into_an_empty_store() {
    let store = fresh_store("mx");
    let target = fresh_store("restored");
    let _drop = support::DropSchemas(vec![store.clone(), target.clone()]);
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
    assert!(config.contains(&store), "{config}");
    assert!(!Path::new(&mx).join("node.sqlite").exists());
    let us = support::init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);

    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );
    let first = ok(&["propose", example, "--dir", &us]).trim().to_owned();
    let (_mx_run, _us_run) = (run_node(&mx), run_node(&us));
    wait_state(&mx, &first, "accepted");
    wait_state(&us, &first, "accepted");

    // More proposals keep arriving while the backup is taken.
    for _ in 0..4 {
        ok(&["propose", example, "--dir", &us]);
    }
    let backup = dir.path().join("mx-backup");
    let backup_s = backup.to_str().unwrap();
    let said = ok(&["backup", "--dir", &mx, "--to", backup_s]);
    assert!(said.contains("backed up the MX node"), "{said}");
    assert!(backup.join("store.postgres/index.json").is_file());
    assert!(backup.join("store.postgres/log_leaves.copy").is_file());
    let key = backup.join("keys/signing.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600,
        "the key lost its mode in the backup"
    );
    let checked = ok(&["restore", "--check", backup_s]);
    assert!(checked.contains("PostgreSQL store"), "{checked}");
    drop((_mx_run, _us_run));

    // Without --store it is moved onto SQLite; onto PostgreSQL it needs
    // an empty store.
    let on_sqlite = dir.path().join("mx-on-sqlite");
    let on_sqlite_s = on_sqlite.to_str().unwrap();
    let said = ok(&["restore", backup_s, "--dir", on_sqlite_s]);
    assert!(
        said.contains("moved the store from PostgreSQL to SQLite"),
        "{said}"
    );
    assert!(on_sqlite.join("node.sqlite").is_file());
    assert!(!on_sqlite.join("store.postgres").exists());
    let verify = ok(&["log", "verify", "--dir", on_sqlite_s]);
    assert!(log_size(&verify) >= 1, "{verify}");
    let restored = dir.path().join("mx-restored");
    let restored_s = restored.to_str().unwrap();
    let err = fails(&["restore", backup_s, "--dir", restored_s, "--store", &store]);
    assert!(err.contains("is not empty"), "{err}");
    assert!(!restored.exists(), "a refused restore left a folder");

    // A damaged table file is refused before anything is written.
    let copy = dir.path().join("damaged");
    copy_dir(&backup, &copy);
    let table = copy.join("store.postgres/proposals.copy");
    let mut bytes = std::fs::read(&table).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    std::fs::write(&table, bytes).unwrap();
    let err = fails(&[
        "restore",
        copy.to_str().unwrap(),
        "--dir",
        restored_s,
        "--store",
        &target,
    ]);
    assert!(
        err.contains("`store.postgres/proposals.copy` does not match the manifest"),
        "{err}"
    );
    assert!(!restored.exists());
    // A truncated table whose manifest was made to match fails inside the
    // load, which is one transaction: the target stays empty.
    let forged = dir.path().join("forged");
    copy_dir(&backup, &forged);
    let table = forged.join("store.postgres/log_leaves.copy");
    let mut bytes = std::fs::read(&table).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&table, &bytes).unwrap();
    let manifest_path = forged.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    for file in manifest["files"].as_array_mut().unwrap() {
        if file["path"] == "store.postgres/log_leaves.copy" {
            file["sha256"] = serde_json::Value::String(sha256_hex(&bytes));
            file["bytes"] = serde_json::Value::from(bytes.len());
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    ok(&["restore", "--check", forged.to_str().unwrap()]);
    let err = fails(&[
        "restore",
        forged.to_str().unwrap(),
        "--dir",
        restored_s,
        "--store",
        &target,
    ]);
    assert!(err.contains("loading the store"), "{err}");
    assert!(!restored.exists());

    // The whole backup restores into the (still) empty store.
    let said = ok(&["restore", backup_s, "--dir", restored_s, "--store", &target]);
    assert!(said.contains("log verified"), "{said}");
    let config = std::fs::read_to_string(restored.join("node.toml")).unwrap();
    assert!(config.contains(&target), "{config}");
    assert!(!restored.join("store.postgres").exists());
    let verify = ok(&["log", "verify", "--dir", restored_s]);
    let live = ok(&["log", "verify", "--dir", &mx]);
    assert!(log_size(&verify) >= 1, "{verify}");
    assert!(log_size(&live) >= log_size(&verify), "{live} / {verify}");
    assert!(inbox_count(restored_s) >= 1);
    assert!(inbox_count(restored_s) <= inbox_count(&mx));
    assert_eq!(support::state(restored_s, &first), "accepted");

    // The restored node runs on its store and takes new work.
    let _restored_run = run_node(restored_s);
    let _us_run = run_node(&us);
    let next = ok(&["propose", example, "--dir", &us]).trim().to_owned();
    wait_state(restored_s, &next, "accepted");
}

#[test]
fn a_node_on_sqlite_moves_onto_postgres_and_goes_on_with_its_partner() {
    let store = fresh_store("moved");
    let _drop = support::DropSchemas(vec![store.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let mx = support::init(dir.path(), "MX");
    let us = support::init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );
    let first = ok(&["propose", example, "--dir", &us]).trim().to_owned();
    let us_run = run_node(&us);
    let mx_run = run_node(&mx);
    wait_state(&mx, &first, "accepted");
    wait_state(&us, &first, "accepted");
    drop(mx_run);

    let backup = dir.path().join("mx-backup");
    let backup_s = backup.to_str().unwrap();
    ok(&["backup", "--dir", &mx, "--to", backup_s]);
    let moved = dir.path().join("mx-on-pg");
    let moved_s = moved.to_str().unwrap();
    let out = soberana(&["restore", backup_s, "--dir", moved_s, "--store", &store]);
    let (said, progress) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{progress}");
    assert!(
        said.contains("moved the store from SQLite to PostgreSQL") && said.contains("log verified"),
        "{said}"
    );
    assert!(
        progress.contains("moving table") && progress.contains("`log_leaves`"),
        "{progress}"
    );
    let config = std::fs::read_to_string(moved.join("node.toml")).unwrap();
    assert!(config.contains(&store), "{config}");
    assert!(!moved.join("node.sqlite").exists());
    let before = log_size(&ok(&["log", "verify", "--dir", &mx]));
    assert_eq!(log_size(&ok(&["log", "verify", "--dir", moved_s])), before);
    // Into the same store again: refused, it holds rows now.
    let err = fails(&[
        "restore",
        backup_s,
        "--dir",
        dir.path().join("again").to_str().unwrap(),
        "--store",
        &store,
    ]);
    assert!(err.contains("is not empty"), "{err}");

    // The moved node runs and takes new work from US.
    let _moved_run = run_node(moved_s);
    let next = ok(&["propose", example, "--dir", &us]).trim().to_owned();
    wait_state(moved_s, &next, "accepted");
    assert_eq!(support::state(moved_s, &first), "accepted");
    assert!(log_size(&ok(&["log", "verify", "--dir", moved_s])) > before);
    drop(us_run);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
