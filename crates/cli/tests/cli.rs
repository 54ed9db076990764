//! The binary as a user runs it: the demo, bad configuration, a node killed
//! with SIGKILL, and a tampered log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn soberana(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args(args)
        .env_remove("SOBERANA_DIR")
        .env_remove("SOBERANA_OFFICER")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(
        out.status.success(),
        "`soberana {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail, and returns its one-line error.
fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(
        !out.status.success(),
        "`soberana {}` succeeded",
        args.join(" ")
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "more than one line: {err}"
    );
    err
}

fn free_port() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pair(root: &Path) -> (String, String) {
    let mx = root.join("mx");
    let us = root.join("us");
    ok(&[
        "init",
        "--party",
        "MX",
        "--dir",
        path(&mx),
        "--listen",
        &free_port(),
    ]);
    ok(&[
        "init",
        "--party",
        "US",
        "--dir",
        path(&us),
        "--listen",
        &free_port(),
    ]);
    let mx_card = root.join("MX.card");
    let us_card = root.join("US.card");
    ok(&["card", "export", "--dir", path(&mx), "-o", path(&mx_card)]);
    ok(&["card", "export", "--dir", path(&us), "-o", path(&us_card)]);
    ok(&["peer", "add", path(&us_card), "--dir", path(&mx)]);
    ok(&["peer", "add", path(&mx_card), "--dir", path(&us)]);
    (path(&mx).to_owned(), path(&us).to_owned())
}

#[test]
fn the_demo_tells_the_story_and_both_logs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = ok(&["demo", "--headless", "--dir", path(&demo)]);
    assert!(out.contains("REFUSED"), "{out}");
    assert!(
        out.contains("mx.foreign-forces"),
        "the refusal names its policy: {out}"
    );
    assert!(
        out.contains("mx.misrepresented-place"),
        "a mislabelled place is refused: {out}"
    );
    assert!(out.contains("signed receipt"), "{out}");
    assert!(out.contains("ACCEPTED"), "{out}");
    assert!(out.contains("MX log verified"), "{out}");
    assert!(out.contains("US log verified"), "{out}");
    let mx = demo.join("mx");
    ok(&["log", "verify", "--dir", path(&mx)]);
    let check = ok(&[
        "log",
        "check",
        path(&demo.join("receipt-notification.json")),
    ]);
    assert!(check.contains("received US → MX"), "{check}");

    // Each way of tampering with the stored log is found and named. These
    // statements play an operator editing the database file behind the
    // node's back; they are the only SQL outside the store crate.
    let cases: Vec<(&str, String, String)> = vec![
        (
            "one byte changed",
            "UPDATE log_leaves SET entry = CAST(entry || X'00' AS BLOB) WHERE idx = 3".into(),
            "entry 3".into(),
        ),
        (
            "one deleted",
            "DELETE FROM log_leaves WHERE idx = 5".into(),
            "entry 5".into(),
        ),
        (
            "two reordered",
            "UPDATE log_leaves SET idx = -7 WHERE idx = 7; \
             UPDATE log_leaves SET idx = 7 WHERE idx = 6; \
             UPDATE log_leaves SET idx = 6 WHERE idx = -7;"
                .into(),
            "entry 6".into(),
        ),
        (
            "truncated",
            // Below the last checkpoint: entries after it are not yet
            // committed to by any signature.
            "DELETE FROM log_leaves WHERE idx >= (SELECT MAX(size) FROM checkpoints) - 2".into(),
            "FAILED".into(),
        ),
    ];
    for (name, sql, named) in cases {
        let copy = dir.path().join(name.replace(' ', "-"));
        copy_dir(&mx, &copy);
        let conn = soberana_store::SqliteStore::raw_connection(&copy.join("node.sqlite")).unwrap();
        conn.execute_batch(&sql).unwrap();
        drop(conn);
        let err = fails(&["log", "verify", "--dir", path(&copy)]);
        assert!(err.contains(&named), "{name}: {err}");
    }

    // A fork: an entry rewritten together with its leaf hash, so that only
    // the tree and the cosigned checkpoints can tell.
    let copy = dir.path().join("forked");
    copy_dir(&mx, &copy);
    let conn = soberana_store::SqliteStore::raw_connection(&copy.join("node.sqlite")).unwrap();
    let mut entry: Vec<u8> = conn
        .query_row("SELECT entry FROM log_leaves WHERE idx = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let last = entry.len() - 1;
    entry[last] ^= 1;
    let hash = soberana_ledger::hash_leaf(&entry);
    conn.execute(
        "UPDATE log_leaves SET entry = ?1, hash = ?2 WHERE idx = 2",
        (&entry, hash.as_bytes().as_slice()),
    )
    .unwrap();
    drop(conn);
    let err = fails(&["log", "verify", "--dir", path(&copy)]);
    assert!(err.contains("FAILED"), "fork: {err}");
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
            let mode = std::fs::metadata(entry.path()).unwrap().permissions();
            std::fs::set_permissions(&target, mode).unwrap();
        }
    }
}

#[test]
fn bad_configuration_gets_a_one_line_error_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = pair(dir.path());
    let mx = Path::new(&mx);

    let err = fails(&[
        "init",
        "--party",
        "XX",
        "--dir",
        path(&dir.path().join("xx")),
    ]);
    assert!(err.contains("`XX`"), "{err}");
    assert!(!dir.path().join("xx").exists(), "nothing half-written");

    let err = fails(&["init", "--party", "MX", "--dir", path(mx)]);
    assert!(err.contains("already holds a node"), "{err}");

    let key = mx.join("keys/signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = fails(&["inbox", "--dir", path(mx)]);
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let tls = mx.join("keys/tls.key");
    std::fs::rename(&tls, mx.join("keys/tls.key.bak")).unwrap();
    let err = fails(&["inbox", "--dir", path(mx)]);
    assert!(err.contains("tls.key") && err.contains("missing"), "{err}");
    std::fs::rename(mx.join("keys/tls.key.bak"), &tls).unwrap();

    let config = std::fs::read_to_string(mx.join("node.toml")).unwrap();
    std::fs::write(
        mx.join("node.toml"),
        config.replace("listen =", "listen_on ="),
    )
    .unwrap();
    let err = fails(&["inbox", "--dir", path(mx)]);
    assert!(err.contains("node.toml"), "{err}");
    std::fs::write(mx.join("node.toml"), &config).unwrap();

    let policy = mx.join("policy/constitutional.cedar");
    let red_lines = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, red_lines.replacen("forbid", "permit", 1)).unwrap();
    let err = fails(&["inbox", "--dir", path(mx)]);
    assert!(err.contains("constitutional"), "{err}");
    std::fs::write(&policy, &red_lines).unwrap();

    let listen = config
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let _taken = TcpListener::bind(&listen).unwrap();
    let err = fails(&["run", "--dir", path(mx)]);
    assert!(
        err.contains("cannot listen") && err.contains(&listen),
        "{err}"
    );

    let draft = dir.path().join("bad.toml");
    std::fs::write(&draft, "to = \"US\"\nsmuggled = true\n").unwrap();
    let err = fails(&["propose", path(&draft), "--dir", path(mx)]);
    assert!(err.contains("bad.toml"), "{err}");

    let err = fails(&["show", "not-an-id", "--dir", path(mx)]);
    assert!(err.contains("not-an-id"), "{err}");
    ok(&["inbox", "--dir", path(mx)]);
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_node(dir: &str) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_soberana"))
            .args(["run", "--dir", dir])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn a_node_killed_before_delivering_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );
    let id = ok(&["propose", example, "--dir", &us]).trim().to_owned();

    // The US node starts with MX down, tries to deliver, and is killed.
    let mut sender = run_node(&us);
    std::thread::sleep(Duration::from_millis(800));
    sender.0.kill().unwrap(); // SIGKILL
    sender.0.wait().unwrap();
    let show = ok(&["show", &id, "--dir", &us]);
    assert!(show.contains("queued"), "{show}");

    let _receiver = run_node(&mx);
    let _sender = run_node(&us);
    wait_until("MX holds the alert and US learns the decision", || {
        let mx_view = soberana(&["show", &id, "--dir", &mx]);
        let us_view = soberana(&["show", &id, "--dir", &us]);
        mx_view.status.success()
            && String::from_utf8_lossy(&us_view.stdout).contains("state      accepted")
    });
    let inbox = ok(&["inbox", "--all", "--json", "--dir", &mx]);
    let listed: serde_json::Value = serde_json::from_str(&inbox).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "delivered exactly once"
    );
}
