//! Operating a node from the command line: a backup taken while the node
//! runs and takes proposals restores into a node whose log verifies, and a
//! damaged, incomplete or padded backup is refused whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, soberana};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs a command that must fail and returns its error text.
fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(!out.status.success(), "`soberana {args:?}` succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn log_size(verify: &str) -> u64 {
    // "MX log verified: N entries, …"
    let after = verify
        .split("verified: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{verify}"));
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {verify}"))
}

#[test]
fn a_backup_of_a_running_node_restores_whole_and_a_damaged_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );

    let _mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    for _ in 0..3 {
        ok(&["propose", example, "--dir", &us]);
    }
    let start = Instant::now();
    while ok(&["inbox", "--all", "--json", "--dir", &mx])
        .matches("\"id\"")
        .count()
        < 3
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "proposals never arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // More proposals keep arriving while the backup is taken.
    for _ in 0..3 {
        ok(&["propose", example, "--dir", &us]);
    }
    let backup = dir.path().join("mx-backup");
    let backup_s = backup.to_str().unwrap();
    let said = ok(&["backup", "--dir", &mx, "--to", backup_s]);
    assert!(said.contains("backed up the MX node"), "{said}");
    let key = backup.join("keys/signing.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600,
        "the key lost its mode in the backup"
    );
    ok(&["restore", "--check", backup_s]);

    // Refused: a backup inside the node folder, over an existing folder.
    let inside = Path::new(&mx).join("backup");
    let err = fails(&["backup", "--dir", &mx, "--to", inside.to_str().unwrap()]);
    assert!(err.contains("inside the node folder"), "{err}");
    let err = fails(&["restore", backup_s, "--dir", &us]);
    assert!(err.contains("exists already"), "{err}");

    let restored = dir.path().join("mx-restored");
    let restored_s = restored.to_str().unwrap();
    let said = ok(&["restore", backup_s, "--dir", restored_s]);
    assert!(said.contains("log verified"), "{said}");
    let verify = ok(&["log", "verify", "--dir", restored_s]);
    assert!(log_size(&verify) >= 3, "{verify}");
    let live = ok(&["log", "verify", "--dir", &mx]);
    assert!(log_size(&live) >= log_size(&verify), "{live} / {verify}");
    assert!(
        ok(&["inbox", "--all", "--json", "--dir", restored_s])
            .matches("\"id\"")
            .count()
            >= 3
    );

    // Damaged copies are refused whole and restore nothing.
    let damaged = |name: &str, harm: &dyn Fn(&Path)| {
        let copy = dir.path().join(name);
        copy_dir(&backup, &copy);
        harm(&copy);
        let to = dir.path().join(format!("{name}-restored"));
        let err = fails(&[
            "restore",
            copy.to_str().unwrap(),
            "--dir",
            to.to_str().unwrap(),
        ]);
        assert!(!to.exists(), "a refused restore left {}", to.display());
        err
    };
    let err = damaged("flipped", &|b| {
        let path = b.join("node.toml");
        let mut text = std::fs::read(&path).unwrap();
        text.push(b'\n');
        std::fs::write(path, text).unwrap();
    });
    assert!(
        err.contains("`node.toml` does not match the manifest"),
        "{err}"
    );
    let err = damaged("missing", &|b| {
        std::fs::remove_file(b.join("keys/tls.crt")).unwrap()
    });
    assert!(err.contains("`keys/tls.crt` is missing"), "{err}");
    let err = damaged("padded", &|b| {
        std::fs::write(b.join("extra.txt"), "x").unwrap()
    });
    assert!(err.contains("`extra.txt` is not in the manifest"), "{err}");
    let err = damaged("escaping", &|b| {
        let path = b.join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(path, text.replacen("\"node.toml\"", "\"../node.toml\"", 1)).unwrap();
    });
    assert!(err.contains("not a plain relative path"), "{err}");
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
