//! `soberana recover` as the README's "Backup and restore" runs it: a node
//! restored from a backup older than a checkpoint its partner cosigned
//! takes back the partner's envelopes, is told it still conflicts, declares
//! the log restarted with `--restart-log`, and once running has the restart
//! cosigned, signs checkpoints again, and both logs show the restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana};

use std::time::{Duration, Instant};

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: never");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many cosignatures `soberana log verify` checked on the node's log.
fn cosignatures(node: &str) -> usize {
    let said = ok(&["log", "verify", "--dir", node]);
    said.split(" cosignatures verified")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no cosignature count in {said}"))
}

fn inbox_count(node: &str) -> usize {
    ok(&["inbox", "--all", "--json", "--dir", node])
        .matches("\"id\"")
        .count()
}

#[test]
fn a_restored_node_declares_a_log_restart_and_is_cosigned_again() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-border-alert.toml"
    );
    let mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    ok(&["propose", example, "--dir", &us]);
    wait_for("the first alert reaches MX", || inbox_count(&mx) >= 1);
    let backup = dir.path().join("mx-backup");
    ok(&["backup", "--dir", &mx, "--to", backup.to_str().unwrap()]);

    // After the backup: more traffic, and a checkpoint US cosigns.
    for _ in 0..2 {
        ok(&["propose", example, "--dir", &us]);
    }
    wait_for("the later alerts reach MX", || inbox_count(&mx) >= 3);
    let before = cosignatures(&mx);
    ok(&["log", "cosign", "--dir", &mx]);
    wait_for("US cosigns MX's checkpoint", || cosignatures(&mx) > before);
    drop(mx_run);

    let restored = dir.path().join("mx-restored");
    let restored = restored.to_str().unwrap();
    ok(&["restore", backup.to_str().unwrap(), "--dir", restored]);

    // Recovery alone: the envelopes come back, the conflict stays, and the
    // operator is told how to declare it.
    let said = ok(&["recover", "--from-peer", "US", "--dir", restored]);
    assert!(said.contains("still:"), "{said}");
    assert!(said.contains("--restart-log"), "{said}");
    assert!(inbox_count(restored) >= 3, "the later alerts are back");
    let refused = soberana(&["log", "cosign", "--dir", restored]);
    assert!(
        !refused.status.success(),
        "a conflicting checkpoint was signed"
    );

    // The help says what is lost and what stays provable.
    let help = ok(&["recover", "--help"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("What is lost for good") && help.contains("What stays provable"),
        "{help}"
    );

    // An empty reason is refused, and nothing is declared.
    let empty = soberana(&[
        "recover",
        "--from-peer",
        "US",
        "--restart-log",
        " ",
        "--dir",
        restored,
    ]);
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("say why"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );

    let said = ok(&[
        "recover",
        "--from-peer",
        "US",
        "--restart-log",
        "restored from the backup taken before a disk failure",
        "--dir",
        restored,
    ]);
    assert!(said.contains("log restart declared"), "{said}");

    // Running, the node sends the declaration; once US cosigns it the node
    // signs checkpoints again.
    let _restored_run = run_node(restored);
    wait_for("the restart is acknowledged", || {
        soberana(&["log", "cosign", "--dir", restored])
            .status
            .success()
    });
    let before = cosignatures(restored);
    ok(&["log", "cosign", "--dir", restored]);
    wait_for("US cosigns the new branch", || {
        cosignatures(restored) > before
    });

    // Both logs verify and show the restart.
    for node in [restored, us.as_str()] {
        let verify = ok(&["log", "verify", "--dir", node]);
        assert!(
            verify.contains("restart at entry")
                && verify.contains("soberana/mx/log restarted")
                && verify.contains("disk failure"),
            "{verify}"
        );
        assert!(!verify.contains("ALARM"), "{verify}");
    }
}
