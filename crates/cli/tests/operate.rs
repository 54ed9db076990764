//! Operating a node from the command line: a backup taken while the node
//! runs and takes proposals restores into a node whose log verifies, and a
//! damaged, incomplete or padded backup is refused whole; a node asked for
//! JSON logs writes one JSON object a line, without colour codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// `soberana report KIND` over the whole century, with `extra` arguments.
fn report_args<'a>(kind: &'a str, node: &'a str, peer: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "report",
        kind,
        "--peer",
        peer,
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--dir",
        node,
    ];
    args.extend_from_slice(extra);
    args
}

/// An MX and a US node in a fresh folder, each pinning the other.
fn two_nodes() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    (dir, mx, us)
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
    let (dir, mx, us) = two_nodes();
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

/// One plain HTTP/1.1 GET; returns the status code and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the one sample named exactly `series` (name and labels).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample `{series}` in:\n{metrics}"))
}

#[test]
fn the_operator_endpoint_reports_health_readiness_and_a_backlog() {
    let (_dir, mx, _us) = two_nodes();
    let operator = support::port();
    let config = Path::new(&mx).join("node.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("operator_listen = \"{operator}\"\n"));
    std::fs::write(&config, text).unwrap();

    // The US node is down: what MX proposes waits in its outbox.
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/mx-information-request.toml"
    );
    ok(&["propose", example, "--dir", &mx]);
    ok(&["propose", example, "--dir", &mx]);
    let _mx_run = run_node(&mx);
    let start = Instant::now();
    while std::net::TcpStream::connect(&operator).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no operator endpoint"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(&operator, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(&operator, "/readyz").0, 200);
    // The node tries to deliver, fails, and records the failure: a commit
    // of its own, counted in the latency histogram.
    let metrics = loop {
        let (status, metrics) = get(&operator, "/metrics");
        assert_eq!(status, 200);
        // The histogram counts a commit just after it is visible to readers.
        if sample(&metrics, "soberana_delivery_failures_total{partner=\"US\"}") >= 1.0
            && sample(&metrics, "soberana_store_commit_seconds_count") >= 1.0
        {
            break metrics;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(sample(&metrics, "soberana_up"), 1.0);
    // A fresh key is not due; the log is not behind any partner.
    assert!(sample(&metrics, "soberana_signing_key_age_seconds") >= 0.0);
    assert_eq!(sample(&metrics, "soberana_key_rotation_due"), 0.0);
    let expiry = sample(&metrics, "soberana_tls_cert_expiry_seconds");
    assert!(
        expiry > 364.0 * 86_400.0 && expiry <= 365.0 * 86_400.0,
        "{expiry}"
    );
    assert_eq!(sample(&metrics, "soberana_log_behind_partner"), 0.0);
    assert_eq!(
        sample(&metrics, "soberana_outbox_queued{partner=\"US\"}"),
        2.0
    );
    assert_eq!(
        sample(&metrics, "soberana_deliveries_total{partner=\"US\"}"),
        0.0
    );
    assert!(sample(&metrics, "soberana_log_size") >= 2.0, "{metrics}");
    assert!(sample(&metrics, "soberana_store_commit_seconds_count") >= 1.0);
    assert_eq!(
        sample(&metrics, "soberana_store_commit_seconds_count"),
        sample(
            &metrics,
            "soberana_store_commit_seconds_bucket{le=\"+Inf\"}"
        )
    );
    // Every sample belongs to a family declared before it.
    let mut declared = Vec::new();
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name
                .strip_suffix("_bucket")
                .or_else(|| name.strip_suffix("_sum"))
                .or_else(|| name.strip_suffix("_count"))
                .filter(|f| declared.iter().any(|d| d == f))
                .unwrap_or(name);
            assert!(declared.iter().any(|d| d == family), "undeclared `{line}`");
        }
    }
    assert_eq!(get(&operator, "/nothing").0, 404);
}

#[test]
fn both_nodes_compute_the_same_transparency_report_and_a_gap_is_listed() {
    let (dir, mx, us) = two_nodes();
    let _mx_run = run_node(&mx);
    let _us_run = run_node(&us);
    let example = |name: &str| {
        format!(
            "{}/../../examples/proposals/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    ok(&["propose", &example("us-deploy-forces"), "--dir", &us]);
    ok(&["propose", &example("us-border-alert"), "--dir", &us]);
    ok(&["propose", &example("mx-information-request"), "--dir", &mx]);

    let report = |node: &str, out: &Path| {
        let peer = if node == mx { "US" } else { "MX" };
        ok(&report_args(
            "transparency",
            node,
            peer,
            &["-o", out.to_str().unwrap()],
        ));
        std::fs::read_to_string(out).unwrap()
    };
    let mx_file = dir.path().join("mx-report.json");
    let us_file = dir.path().join("us-report.json");
    // Three proposals and the two decisions policy takes at once must cross
    // (and each side must learn its envelopes were taken) before the two
    // records agree.
    let start = Instant::now();
    let (mx_text, us_text) = loop {
        let mx_text = report(&mx, &mx_file);
        let us_text = report(&us, &us_file);
        let parsed: serde_json::Value = serde_json::from_str(&mx_text).unwrap();
        let crossed = parsed["exchange"].as_array().unwrap().len();
        if mx_text == us_text && crossed >= 5 {
            break (mx_text, us_text);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the reports never agreed:\n{mx_text}\n{us_text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(mx_text, us_text);
    let parsed: serde_json::Value = serde_json::from_str(&mx_text).unwrap();
    assert_eq!(parsed["parties"], serde_json::json!(["MX", "US"]));
    assert_eq!(parsed["proposals"]["US assistance_offer"], 1);
    assert_eq!(parsed["proposals"]["US border_alert"], 1);
    assert_eq!(parsed["proposals"]["MX information_request"], 1);
    assert_eq!(parsed["decisions"]["MX refused by policy"], 1, "{mx_text}");
    let red_lines: u64 = parsed["refused_by_policy"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("MX mx."))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert!(red_lines >= 1, "no MX red line named: {mx_text}");
    let said = ok(&report_args(
        "transparency",
        &mx,
        "US",
        &["--compare", us_file.to_str().unwrap()],
    ));
    assert!(said.contains("byte-identical"), "{said}");

    // A partner report that leaves out an envelope MX received is caught,
    // with the MX log entry that recorded it.
    let mut forged: serde_json::Value = serde_json::from_str(&us_text).unwrap();
    let exchange = forged["exchange"].as_array_mut().unwrap();
    let dropped = exchange
        .iter()
        .position(|e| e["sender"] == "US" && e["kind"] == "proposal")
        .unwrap();
    let gone = exchange.remove(dropped);
    let forged_file = dir.path().join("forged.json");
    std::fs::write(&forged_file, serde_json::to_string_pretty(&forged).unwrap()).unwrap();
    let out = soberana(&report_args(
        "transparency",
        &mx,
        "US",
        &["--compare", forged_file.to_str().unwrap()],
    ));
    assert!(!out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    let line = listed
        .lines()
        .find(|l| l.contains(gone["envelope"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("the gap is not listed: {listed}"));
    assert!(
        line.starts_with("only ours:") && line.contains("our log entry"),
        "{line}"
    );

    // MX's signed report of its contacts with US agencies: one per
    // proposal, checked against MX's card; any change after signing, or
    // another party's card, is refused.
    let contacts_file = dir.path().join("contacts.json");
    ok(&report_args(
        "contacts",
        &mx,
        "US",
        &["-o", contacts_file.to_str().unwrap()],
    ));
    let signed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&contacts_file).unwrap()).unwrap();
    let contacts = signed["report"]["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 3, "{signed}");
    let offer = contacts
        .iter()
        .find(|c| c["kind"] == "assistance_offer")
        .unwrap();
    assert_eq!(offer["foreign_agency"], "US.DOD");
    assert_eq!(offer["initiated_by"], "them");
    assert!(
        offer["exchanged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "decision sent: refused by policy")
    );
    let mx_card = dir.path().join("mx.card");
    let us_card = dir.path().join("us.card");
    let check = |report: &Path, card: &Path| {
        vec![
            "report".to_owned(),
            "check".to_owned(),
            report.to_str().unwrap().to_owned(),
            "--card".to_owned(),
            card.to_str().unwrap().to_owned(),
        ]
    };
    let args = check(&contacts_file, &mx_card);
    let said = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(said.starts_with("valid: MX's contact report"), "{said}");
    let args = check(&contacts_file, &us_card);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("the card is US's"), "{err}");
    let text = std::fs::read_to_string(&contacts_file).unwrap();
    let changed = dir.path().join("contacts-changed.json");
    std::fs::write(&changed, text.replacen("US.DOD", "US.DHS", 1)).unwrap();
    let args = check(&changed, &mx_card);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("changed after it was signed"), "{err}");

    // Bad periods are refused with the flag named.
    let err = fails(&[
        "report",
        "transparency",
        "--peer",
        "US",
        "--from",
        "2026-13-01",
        "--to",
        "2027-01-01",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("--from `2026-13-01`"), "{err}");
}

#[test]
fn a_draft_is_checked_against_the_partners_red_lines_before_it_is_sent() {
    let (_dir, mx, us) = two_nodes();
    let example = |name: &str| {
        format!(
            "{}/../../examples/proposals/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    // MX is down: the check cannot be made, and says so.
    let out = soberana(&[
        "propose",
        &example("us-deploy-forces"),
        "--check",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MX's constitutional layer") && err.contains("cannot reach"),
        "{err}"
    );

    let _mx_run = run_node(&mx);
    let start = Instant::now();
    let out = loop {
        let out = soberana(&[
            "propose",
            &example("us-deploy-forces"),
            "--check",
            "--dir",
            &us,
        ]);
        if !String::from_utf8_lossy(&out.stderr).contains("cannot reach") {
            break out;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "MX never answered"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let said = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("WARNING: MX's red lines"), "{said}");
    assert!(said.contains("mx.foreign-forces"), "{said}");
    assert!(err.contains("nothing was sent"), "{err}");

    let said = ok(&[
        "propose",
        &example("us-border-alert"),
        "--check",
        "--dir",
        &us,
    ]);
    assert!(said.contains("do not refuse this draft"), "{said}");
    // Checking sent nothing: the US outbox is empty.
    let outbox = ok(&["outbox", "--all", "--json", "--dir", &us]);
    assert_eq!(outbox.trim(), "[]", "{outbox}");
}

#[test]
fn a_node_writes_json_log_lines_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let log = dir.path().join("node.json.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args(["run", "--log-format", "json", "--dir", &mx])
        .env("SOBERANA_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains('\n')) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the node logged nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in JSON logs: {text:?}"
    );
    for line in text.lines().filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(
            value["level"].is_string() && value["time"].is_string(),
            "{line}"
        );
        assert!(value["fields"].is_object(), "{line}");
    }
    let bad = soberana(&["run", "--log-format", "xml", "--dir", &mx]);
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("'xml'") && said.contains("json"), "{said}");
}
