//! `soberana match` from the command line: a bad list is refused with its
//! line numbers and nothing is sent; a count only with `ot` is refused; and a
//! whole match between two nodes in separate processes — MX running
//! `soberana run` with its shipped Cedar policy, an MX officer accepting with
//! `soberana decide`, the US asking with `soberana match ids` — finds exactly
//! the identifiers both hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, soberana};

use std::process::{Child, Command, Stdio};

/// Rows in a node's outbox, read through the store crate.
fn outbox_rows(node: &str) -> i64 {
    let dir = soberana_node::NodeDir::new(node);
    let config = dir.load_config().unwrap();
    let conn = soberana_store::SqliteStore::raw_connection(&dir.store_path(&config)).unwrap();
    conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_list_with_bad_lines_is_refused_with_their_numbers_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    let before = outbox_rows(&us);
    let list = dir.path().join("phones.txt");
    std::fs::write(
        &list,
        "# phones\n+52 55 1234 5678\n12\n+1 202 555 0143\nfax:1\n",
    )
    .unwrap();
    let out = soberana(&[
        "match",
        "ids",
        list.to_str().unwrap(),
        "--kind",
        "phone",
        "--peer",
        "MX",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 bad line(s)"), "{err}");
    assert!(err.contains("line 3:"), "{err}");
    assert!(err.contains("line 5:"), "{err}");
    assert_eq!(outbox_rows(&us), before, "nothing was queued");

    // A count only cannot be had with ot, and says what to do instead.
    std::fs::write(&list, "+52 55 1234 5678\n").unwrap();
    let out = soberana(&[
        "match",
        "ids",
        list.to_str().unwrap(),
        "--kind",
        "phone",
        "--peer",
        "MX",
        "--count-only",
        "--protocol",
        "ot",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`--protocol dh`"), "{err}");
    assert_eq!(outbox_rows(&us), before, "nothing was queued");
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_match_between_two_processes_finds_exactly_the_shared_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);

    let held = dir.path().join("held.txt");
    std::fs::write(
        &held,
        "55 1000 0001\n55 1000 0002\n55 1000 0003\n+1 202 555 0143\n",
    )
    .unwrap();
    let said = ok(&[
        "match",
        "hold",
        held.to_str().unwrap(),
        "--kind",
        "phone",
        "--dir",
        &mx,
    ]);
    assert!(said.contains("holds 4 phone identifiers"), "{said}");
    let _mx_node = Running(
        Command::new(env!("CARGO_BIN_EXE_soberana"))
            .args(["run", "--dir", &mx])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let asked = dir.path().join("asked.txt");
    std::fs::write(
        &asked,
        "+52 55 1000 0002\n+52 55 9999 0000\n+1 (202) 555-0143\n",
    )
    .unwrap();
    let asking = Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args([
            "match",
            "ids",
            asked.to_str().unwrap(),
            "--kind",
            "phone",
            "--peer",
            "MX",
            "--protocol",
            "dh",
            "--wait",
            "60",
            "--dir",
            &us,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The shipped policy sends a match to an officer, who accepts it.
    let id = support::first_in_inbox(&mx);
    support::officer(&mx, "cni.approver", "MX.CNI", "approver");
    ok(&[
        "decide",
        &id,
        "--accept",
        "--reason",
        "hit/no-hit check",
        "--dir",
        &mx,
        "--officer",
        "cni.approver",
    ]);
    let out = asking.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 of our 3 identifiers"), "{stdout}");
    assert!(stdout.contains("phone:+525510000002"), "{stdout}");
    assert!(stdout.contains("phone:+12025550143"), "{stdout}");
    assert!(!stdout.contains("+525599990000"), "{stdout}");
}

#[test]
fn a_person_file_without_names_or_with_bad_rows_is_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    let before = outbox_rows(&mx);
    let file = dir.path().join("people.csv");
    for (what, text, expected) in [
        (
            "no name column",
            "id,date_of_birth\nA1,1980-01-02\n",
            "no column read as given_names or paternal_surname",
        ),
        (
            "a row of the wrong width",
            "id,given_names,paternal_surname\nA1,Maria,Lopez\nA2,Jose\n",
            "line 3:",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = soberana(&[
            "match",
            "persons",
            file.to_str().unwrap(),
            "--peer",
            "US",
            "--dir",
            &mx,
        ]);
        assert!(!out.status.success(), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{what}: {err}");
        assert_eq!(outbox_rows(&mx), before, "{what}: nothing was queued");
    }
}
