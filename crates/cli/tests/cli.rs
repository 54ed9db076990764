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
    // The firearm trace runs on the US node's records: three of six traced,
    // each failure named, the same figures on both sides.
    assert!(
        out.contains("3 of 6 traced to a first retail sale"),
        "{out}"
    );
    assert!(out.contains("serial obliterated"), "{out}");
    assert!(out.contains("manufacturer unknown to the records"), "{out}");
    assert!(
        out.contains("both sides computed the same trace statistics"),
        "{out}"
    );
    assert!(out.contains("MX log verified"), "{out}");
    assert!(out.contains("US log verified"), "{out}");
    assert!(
        out.contains("US logged a breach: US owed an answer")
            && out.contains("MX logged a breach: US owed an answer"),
        "the missed answer time is not in both logs: {out}"
    );
    assert!(out.contains("contacts with US agencies"), "{out}");
    assert!(
        out.contains("propose --check: WARNING: MX's red lines")
            && out.contains("would REFUSE this draft"),
        "the draft was not checked before it was sent: {out}"
    );
    assert!(out.contains("1 breach(es)"), "{out}");
    assert!(
        out.contains("identical:") && out.contains("exchange digest"),
        "the two transparency reports do not agree: {out}"
    );
    let mx = demo.join("mx");
    ok(&["log", "verify", "--dir", path(&mx)]);
    let receipt = demo.join("receipt-notification.json");
    let receipt = path(&receipt);
    // Checked at the US node: MX's pinned card, the US node's own key.
    let check = ok(&["log", "check", receipt, "--dir", path(&demo.join("us"))]);
    assert!(check.contains("received US → MX"), "{check}");
    assert!(check.starts_with("valid:"), "{check}");
    assert!(
        check.contains("log signature checked with MX, pinned card"),
        "{check}"
    );
    assert!(
        check.contains("cosigned by US, this node's own key"),
        "{check}"
    );
    // Checked by a third party holding the two published cards.
    let mx_card = dir.path().join("MX.card");
    let us_card = dir.path().join("US.card");
    ok(&["card", "export", "--dir", path(&mx), "-o", path(&mx_card)]);
    ok(&[
        "card",
        "export",
        "--dir",
        path(&demo.join("us")),
        "-o",
        path(&us_card),
    ]);
    let check = ok(&[
        "log",
        "check",
        receipt,
        "--card",
        path(&mx_card),
        "--card",
        path(&us_card),
    ]);
    assert!(check.contains("cosigned by US, card"), "{check}");
    // With only MX's card, the US cosignature cannot be checked and is not
    // claimed to be.
    let check = ok(&["log", "check", receipt, "--card", path(&mx_card)]);
    assert!(check.contains("not checked"), "{check}");
    assert!(!check.contains("cosigned by US"), "{check}");
    // Without keys to trust, the check refuses to guess.
    let err = fails(&["log", "check", receipt]);
    assert!(err.contains("--card PARTY.card"), "{err}");
    // Another pair of nodes with the same party codes does not trust it.
    let (_other_mx, other_us) = pair(&dir.path().join("elsewhere"));
    let err = fails(&["log", "check", receipt, "--dir", &other_us]);
    assert!(
        err.contains("is not the pinned key of `soberana/mx/log`"),
        "{err}"
    );

    oversight_finds_its_way(dir.path(), &demo, receipt, &mx_card, &us_card);
    case_report_holds(&out, &demo);

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

/// A proposal whose text carries terminal escape sequences and
/// bidirectional overrides is printed with each shown as its code point:
/// nothing the terminal would obey, and every field on its own line.
#[test]
fn forged_text_cannot_rewrite_what_show_and_the_lists_print() {
    let root = tempfile::tempdir().unwrap();
    let (_mx, us) = pair(root.path());
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-financial-intelligence.toml"
    ))
    .unwrap();
    let forged = example
        .replace(
            "purpose = \"Follow proceeds of structured cash deposits wired to Mexico\"",
            "purpose = \"Deploy troops\\u001b[2K\\rAsk for a phone record\\u009b31m\\nhandling   H0\"",
        )
        .replace(
            "2025-11-20T17:00:00Z",
            "2099-11-20T17:00:00Z",
        )
        .replace(
            "legal_basis = \"",
            "legal_basis = \"\\u202Etnemeerga\\u202C \\u2066x\\u2069 ",
        );
    assert_ne!(forged, example);
    let file = root.path().join("forged.toml");
    std::fs::write(&file, forged).unwrap();
    let id = ok(&["propose", path(&file), "--dir", &us]);
    let id = id.trim();
    let shown = ok(&["show", id, "--dir", &us]);
    // The body as what it is: the account, and the amount with its currency.
    assert!(
        shown.contains("amount     USD 482,500.00")
            && shown.contains("account    clabe 002180700959486210"),
        "{shown}"
    );
    let listed = ok(&["outbox", "--dir", &us]);
    for out in [&shown, &listed] {
        assert!(
            !out.chars()
                .any(|c| (c.is_control() && c != '\n') || soberana_core::is_bidi_control(c)),
            "{out:?}"
        );
    }
    assert!(
        shown.contains("purpose    Deploy troops⟨U+001B⟩[2K⟨U+000D⟩Ask for a phone record⟨U+009B⟩31m⟨U+000A⟩handling   H0"),
        "{shown}"
    );
    assert!(
        shown.contains("⟨U+202E⟩tnemeerga⟨U+202C⟩ ⟨U+2066⟩x⟨U+2069⟩"),
        "{shown}"
    );
    // The forged line did not become a line of its own.
    assert_eq!(
        shown.lines().filter(|l| l.starts_with("handling")).count(),
        1,
        "{shown}"
    );

    // No checkpoint covers a new node's entries yet: the proof signs one
    // at once instead of failing, and says what is still missing.
    let out = soberana(&["log", "proof", "0", "--dir", &us]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("signed one of size"), "{err}");
    assert!(err.contains("cosigned by MX yet"), "{err}");
}

/// Oversight with public material: from a proposal to its log entries and
/// their proofs, a checkpoint's cosignatures, and consistency between two
/// checkpoints of MX's log (the receipt's and a fresh one).
fn oversight_finds_its_way(
    root: &Path,
    demo: &Path,
    receipt: &str,
    mx_card: &Path,
    us_card: &Path,
) {
    let us = demo.join("us");
    let mx = demo.join("mx");
    let cards = ["--card", path(mx_card), "--card", path(us_card)];
    // `show` names the log entry of each event of a proposal.
    let outbox = ok(&["outbox", "--all", "--dir", path(&us)]);
    let id = outbox.split_whitespace().next().unwrap().to_owned();
    let shown = ok(&["show", &id, "--dir", path(&us)]);
    let entries = shown.split("log entries").nth(1).unwrap_or_default();
    assert!(entries.contains("  #"), "{shown}");
    // `log proof` takes the proposal id, and the proof checks.
    let by_proposal = root.join("by-proposal.json");
    ok(&[
        "log",
        "proof",
        &id,
        "--dir",
        path(&us),
        "-o",
        path(&by_proposal),
    ]);
    let check = ok(&["log", "check", path(&by_proposal), "--dir", path(&us)]);
    assert!(check.contains("log signature checked with US"), "{check}");
    let err = fails(&["log", "proof", "no-such-thing", "--dir", path(&us)]);
    assert!(err.contains("neither an entry index"), "{err}");

    // A proof asked for right after new entries works at once: a fresh
    // checkpoint is signed, and the proof says the partner has not cosigned.
    let size = ok(&["log", "verify", "--dir", path(&mx)]);
    assert!(size.contains("log verified"), "{size}");
    let out = soberana(&["log", "cosign", "--dir", path(&mx)]);
    assert!(out.status.success());
    let cosign = String::from_utf8_lossy(&out.stdout).into_owned();
    let new_size: u64 = cosign
        .split("of size ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let last = root.join("last.json");
    ok(&[
        "log",
        "proof",
        &(new_size - 1).to_string(),
        "--dir",
        path(&mx),
        "-o",
        path(&last),
    ]);
    let mut args = vec!["log", "check", path(&last)];
    args.extend(cards);
    let check = ok(&args);
    assert!(
        check.starts_with("valid for the log's signature only"),
        "{check}"
    );
    assert!(check.contains("not cosigned by US"), "{check}");

    // The receipt's checkpoint, checked on its own: cosigned by the US.
    let mut args = vec!["log", "checkpoint", receipt];
    args.extend(cards);
    let checked = ok(&args);
    assert!(checked.contains("cosigned by US, card"), "{checked}");
    let old_size: u64 = checked
        .split("size ")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(old_size < new_size, "{checked} / {cosign}");

    // Consistency from the receipt's checkpoint to the fresh one.
    let out_dir = root.join("consistency");
    ok(&[
        "log",
        "consistency-proof",
        &old_size.to_string(),
        &new_size.to_string(),
        "--dir",
        path(&mx),
        "-o",
        path(&out_dir),
    ]);
    let proof = out_dir.join(format!("consistency-{old_size}-{new_size}.txt"));
    let new_cp = out_dir.join(format!("checkpoint-{new_size}.txt"));
    let mut args = vec![
        "log",
        "consistency",
        receipt,
        path(&new_cp),
        "--proof",
        path(&proof),
    ];
    args.extend(cards);
    let consistent = ok(&args);
    assert!(consistent.starts_with("consistent:"), "{consistent}");
    // A proof with one hash changed does not verify.
    let text = std::fs::read_to_string(&proof).unwrap();
    let first = text.lines().next().unwrap().to_owned();
    let flipped = if first.starts_with('A') {
        first.replacen('A', "B", 1)
    } else {
        format!("A{}", &first[1..])
    };
    let forged = root.join("forged-proof.txt");
    std::fs::write(&forged, text.replacen(&first, &flipped, 1)).unwrap();
    let mut args = vec![
        "log",
        "consistency",
        receipt,
        path(&new_cp),
        "--proof",
        path(&forged),
    ];
    args.extend(cards);
    let err = fails(&args);
    assert!(err.contains("NOT consistent"), "{err}");
}

#[test]
fn a_pinned_partner_is_replaced_only_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = pair(dir.path());
    let us_card = dir.path().join("US.card");
    // The same card again changes nothing.
    ok(&["peer", "add", path(&us_card), "--dir", &mx]);

    // A second US node with other keys: its card must not silently replace
    // the pinned one.
    let other = dir.path().join("us-other");
    ok(&[
        "init",
        "--party",
        "US",
        "--dir",
        path(&other),
        "--listen",
        &free_port(),
    ]);
    let other_card = dir.path().join("US-other.card");
    ok(&[
        "card",
        "export",
        "--dir",
        path(&other),
        "-o",
        path(&other_card),
    ]);
    let before = ok(&["peer", "list", "--dir", &mx]);
    let err = fails(&["peer", "add", path(&other_card), "--dir", &mx]);
    assert!(err.contains("already pinned"), "{err}");
    assert!(err.contains("--replace"), "{err}");
    let old_fp = before.split("fingerprint ").nth(1).unwrap().trim();
    assert!(
        err.contains(old_fp),
        "the old fingerprint is not shown: {err}"
    );
    assert_eq!(
        ok(&["peer", "list", "--dir", &mx]),
        before,
        "the pin changed"
    );

    let replaced = ok(&["peer", "add", path(&other_card), "--replace", "--dir", &mx]);
    let new_fp = replaced.split("fingerprint ").nth(1).unwrap().trim();
    assert_ne!(new_fp, old_fp);
    assert!(ok(&["peer", "list", "--dir", &mx]).contains(new_fp));
}

#[test]
fn a_node_folder_serves_once_and_stops_cleanly_on_sigterm_without_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = pair(dir.path());
    let log = dir.path().join("node.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args(["run", "--dir", &mx])
        .env("SOBERANA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until("the node logs that it listens", || {
        std::fs::read_to_string(&log).is_ok_and(|t| !t.is_empty())
    });
    // A second process serving the same folder is refused while the first
    // runs.
    let err = fails(&["run", "--dir", &mx]);
    assert!(err.contains("already running"), "{err}");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the node did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "stopped with {status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file: {text:?}"
    );
}

/// The demo's joint investigation: the case report verifies offline, and
/// a report with an act swapped or one log's proof missing does not; a
/// court use the contributor's conditions forbid is refused until the
/// contributor consents, and by the command for a use it did not consent to.
fn case_report_holds(out: &str, demo: &Path) {
    assert!(out.contains("acts proven in both logs"), "{out}");
    assert!(out.contains("court use of MX's exhibit REFUSED"), "{out}");
    assert!(out.contains("the court use goes through under it"), "{out}");
    let report = demo.join("case-report");
    let checked = ok(&["case", "verify", path(&report)]);
    assert!(checked.contains("act(s) in both logs"), "{checked}");

    // An event beside a proof, changed: its entry no longer records it.
    let copy = demo.join("tampered-report");
    std::fs::create_dir_all(copy.join("MX-log")).unwrap();
    std::fs::create_dir_all(copy.join("US-log")).unwrap();
    for name in ["case.json", "MX.card", "US.card"] {
        std::fs::copy(report.join(name), copy.join(name)).unwrap();
    }
    for side in ["MX-log", "US-log"] {
        for entry in std::fs::read_dir(report.join(side)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(side).join(entry.file_name())).unwrap();
        }
    }
    let victim = std::fs::read_dir(copy.join("US-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !p.to_string_lossy().ends_with(".bundle.json") && text.contains("exhibit_received")
        })
        .unwrap();
    let text = std::fs::read_to_string(&victim).unwrap();
    std::fs::write(&victim, text.replace("exhibit_received", "exhibit_opened")).unwrap();
    let err = fails(&["case", "verify", path(&copy)]);
    assert!(err.contains("does not record the event beside it"), "{err}");

    // A proof missing from one log: the act is in one log only.
    std::fs::remove_file(&victim).unwrap();
    let err = fails(&["case", "verify", path(&copy)]);
    assert!(err.contains("in one log only"), "{err}");

    // The command refuses a court use without consent, and writes nothing.
    let us = demo.join("us");
    let shown = ok(&["case", "list", "--dir", path(&us)]);
    let case = shown.split_whitespace().next().unwrap().to_owned();
    let details = ok(&["case", "show", &case, "--json", "--dir", path(&us)]);
    let json: serde_json::Value = serde_json::from_str(&details).unwrap();
    let mx_exhibit = json["case"]["exhibits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["contributor"] == "MX")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = demo.join("court-copy.bin");
    let err = fails(&[
        "case",
        "exhibit",
        "export",
        &case,
        &mx_exhibit,
        "--to",
        path(&to),
        "--for",
        "court",
        "--detail",
        "US v. Doe",
        "--officer",
        "fbi.approver",
        "--dir",
        path(&us),
    ]);
    assert!(err.contains("consent"), "{err}");
    assert!(!to.exists());
}
