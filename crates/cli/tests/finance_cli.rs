//! `soberana finance` from the command line: an ingest with bad rows is
//! refused with their line numbers and leaves nothing loaded; a column
//! mapping loads a differently named export; and a trail is continued across
//! the border between two nodes in separate processes — the US sends only
//! the account, the amount and the window, MX's shipped policy sends it to an
//! officer, `finance answer` releases the continuation computed on MX's own
//! ledger, and the US stitches it with totals that add up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, soberana};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HEADER: &str =
    "tx_id,time,amount,currency,channel,from_account,to_account,country,branch,border_zone";
const A: &str = "us:021000021:1001";
const B: &str = "us:021000021:1002";
const C: &str = "clabe:032180000118359719";

/// Files and folders under the node's `finance/` folder.
fn finance_files(node: &str) -> Vec<String> {
    support::files_in(node, "finance")
}

#[test]
fn an_ingest_with_bad_rows_is_refused_with_their_lines_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!(
            "{HEADER}\n\
             1,2025-11-03T10:00:00Z,9500.00,USD,cash_deposit,,{A},US,TX-ELP-01,1\n\
             2,2025-11-04T10:00:00Z,9000,USD,domestic_wire,{A},{B},US,,0\n\
             3,2025-11-05T10:00:00Z,8000,USD,cross_border_wire,{B},{C},US,,0\n"
        ),
    )
    .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}\n\
             10,2025-11-03T10:00:00Z,100,USD,cash_deposit,,{A},US,,0\n\
             x,2025-11-03T10:00:00Z,1,USD,card,{A},{B},US,,0\n\
             12,2025-11-03T10:00:00Z,-1,USD,card,{A},{B},US,,0\n\
             13,2025-11-03T10:00:00Z,1,USD,card,{A},clabe:1,US,,0\n\
             14,2025-11-03T10:00:00Z,1\n\
             15,2025-11-03T10:00:00Z,100,USD,card,{A},{B},US,,0\n"
        ),
    )
    .unwrap();

    // A good file beside a bad one: the whole ingest is refused.
    let out = soberana(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        good.to_str().unwrap(),
        "--transactions",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let bad_name = bad.display().to_string();
    for line in [3, 4, 5, 6] {
        assert!(
            err.contains(&format!("{bad_name}:{line}:")),
            "line {line}: {err}"
        );
    }
    for line in [2, 7] {
        assert!(
            !err.contains(&format!("{bad_name}:{line}:")),
            "line {line}: {err}"
        );
    }
    assert!(err.contains("4 bad row(s); nothing was loaded"), "{err}");
    assert!(
        finance_files(&us)
            .iter()
            .all(|f| f != "ledger.json" && !f.ends_with(".csv")),
        "{:?}",
        finance_files(&us)
    );
    assert!(
        finance_files(&us)
            .iter()
            .all(|f| !f.starts_with(".staging")),
        "{:?}",
        finance_files(&us)
    );
    let out = soberana(&["finance", "alerts", "--dir", &us]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no transactions"));

    // The good file alone loads; a later bad ingest leaves it as it was.
    let said = ok(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        good.to_str().unwrap(),
    ]);
    assert!(said.contains("the node now holds 3 transactions"), "{said}");
    let before = std::fs::read(Path::new(&us).join("finance/ledger.json")).unwrap();
    let out = soberana(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(Path::new(&us).join("finance/ledger.json")).unwrap(),
        before
    );

    // The trace sees exactly the good rows: 9,500 deposited, 9,000 moved on,
    // 8,000 of it across the border to a Mexican account.
    let flow: serde_json::Value = serde_json::from_str(&ok(&[
        "finance", "trace", "--dir", &us, "--from", A, "--json",
    ]))
    .unwrap();
    let border = flow["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["key"] == C)
        .expect("the trail reaches the Mexican account");
    assert_eq!(border["kind"], "border");
    assert_eq!(border["inflow"], 800_000);
    let text = ok(&["finance", "trace", "--dir", &us, "--from", A]);
    assert!(text.contains("--peer MX"), "{text}");
}

#[test]
fn a_column_mapping_loads_an_export_with_other_headers() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let export = dir.path().join("export.csv");
    std::fs::write(
        &export,
        format!(
            "id,fecha,importe,moneda,canal,origen,destino,pais,sucursal,frontera\n\
             1,2025-11-03T10:00:00Z,9500.00,USD,cash_deposit,,{A},US,,1\n\
             2,2025-11-04T10:00:00Z,9000,USD,cross_border_wire,{A},{C},US,,0\n"
        ),
    )
    .unwrap();
    // Without the mapping every missing column is named.
    let out = soberana(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        export.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column `tx_id` is missing"), "{err}");

    let mapping = dir.path().join("columns.toml");
    std::fs::write(
        &mapping,
        "[transactions]\ntx_id = \"id\"\ntime = \"fecha\"\namount = \"importe\"\n\
         currency = \"moneda\"\nchannel = \"canal\"\nfrom_account = \"origen\"\n\
         to_account = \"destino\"\ncountry = \"pais\"\nbranch = \"sucursal\"\n\
         border_zone = \"frontera\"\n",
    )
    .unwrap();
    let said = ok(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        export.to_str().unwrap(),
        "--columns",
        mapping.to_str().unwrap(),
    ]);
    assert!(said.contains("the node now holds 2 transactions"), "{said}");
    // The stored copy is read back with the mapping it was loaded with.
    let text = ok(&["finance", "trace", "--dir", &us, "--from", A]);
    assert!(text.contains(C), "{text}");

    // A mapping with an unknown field is refused.
    std::fs::write(&mapping, "[transactions]\namount_usd = \"importe\"\n").unwrap();
    let out = soberana(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        export.to_str().unwrap(),
        "--columns",
        mapping.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
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

/// The proposal's state at `node`, empty while it has not arrived.
fn state(node: &str, id: &str) -> String {
    let out = soberana(&["show", id, "--json", "--dir", node]);
    if !out.status.success() {
        return String::new();
    }
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["record"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn wait_state(node: &str, id: &str, wanted: &str) {
    for _ in 0..600 {
        if state(node, id) == wanted {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "proposal {id} never reached {wanted} at {node} (it is {})",
        state(node, id)
    );
}

#[test]
fn a_trail_is_continued_across_the_border_between_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    let data = dir.path().join("ledger");
    let said = ok(&[
        "finance",
        "generate",
        "--out",
        data.to_str().unwrap(),
        "--transactions",
        "4000",
        "--seed",
        "1",
    ]);
    let collector = said
        .lines()
        .find_map(|l| l.strip_prefix("demo collector (structured cash deposits): "))
        .expect("the generator names the demo collector")
        .to_owned();
    for (node, half) in [(&us, "us"), (&mx, "mx")] {
        let half = data.join(half);
        ok(&[
            "finance",
            "ingest",
            "--dir",
            node,
            "--transactions",
            half.join("transactions.csv").to_str().unwrap(),
            "--reports",
            half.join("reports.csv").to_str().unwrap(),
        ]);
    }
    let mx_ledger = std::fs::read_to_string(data.join("mx/transactions.csv")).unwrap();

    let _us_node = run_node(&us);
    let _mx_node = run_node(&mx);
    let sent = ok(&[
        "finance",
        "continue",
        "--dir",
        &us,
        "--from",
        &collector,
        "--peer",
        "MX",
        "--max-requests",
        "1",
    ]);
    let id = sent
        .lines()
        .find_map(|l| l.split("proposal ").nth(1))
        .expect("a proposal was sent")
        .trim()
        .to_owned();
    wait_state(&mx, &id, "awaiting_officer");

    // What MX received names one account and no ledger row.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["show", &id, "--json", "--dir", &mx])).unwrap();
    let body = &shown["record"]["proposal"]["body"];
    assert_eq!(body["kind"], "financial_intelligence", "{body}");
    assert_eq!(body["accounts"].as_array().unwrap().len(), 1);
    assert!(body["amount_minor"].as_u64().unwrap() > 0);

    // The officer reviews the computed answer, then releases it.
    let review = ok(&["finance", "answer", &id, "--dir", &mx, "--dry-run"]);
    assert!(review.contains("dry run"), "{review}");
    assert_eq!(state(&mx, &id), "awaiting_officer");
    support::officer(&mx, "uif.approver", "MX.UIF", "approver");
    support::officer(&mx, "fgr.approver", "MX.FGR", "approver");
    let answered = ok(&[
        "finance",
        "answer",
        &id,
        "--dir",
        &mx,
        "--officer",
        "uif.approver",
        "--condition",
        "not to be used as evidence without Mexico's permission",
    ]);
    // Releasing under H2 takes a second approver: nothing has left yet.
    assert!(answered.contains("second approver"), "{answered}");
    assert_eq!(state(&mx, &id), "awaiting_officer");
    ok(&["confirm", &id, "--dir", &mx, "--officer", "fgr.approver"]);
    wait_state(&us, &id, "answered");

    // What left MX carries no Mexican account identifier but the one asked
    // about (every onward account is a pseudonym).
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["show", &id, "--json", "--dir", &us])).unwrap();
    let released = shown["answer"].to_string();
    let asked = body["accounts"][0]["number"].as_str().unwrap();
    for row in mx_ledger.lines().skip(1) {
        for field in row.split(',').filter(|f| f.starts_with("clabe:")) {
            let number = &field["clabe:".len()..];
            assert!(
                number == asked || !released.contains(number),
                "MX account {field} left MX"
            );
        }
    }

    let flow: serde_json::Value =
        serde_json::from_str(&ok(&["finance", "stitch", &id, "--dir", &us, "--json"])).unwrap();
    let nodes = flow["nodes"].as_array().unwrap();
    let edges = flow["edges"].as_array().unwrap();
    let border = nodes
        .iter()
        .position(|n| n["key"].as_str() == Some(&format!("clabe:{asked}")))
        .expect("the border node is in the stitched flow");
    let partner_nodes: Vec<_> = nodes
        .iter()
        .filter(|n| n["leg"]["leg"] == "partner")
        .collect();
    assert!(!partner_nodes.is_empty(), "MX's leg was stitched");
    for n in &partner_nodes {
        assert_eq!(n["leg"]["country"], "MX");
        assert!(n["key"].as_str().unwrap().starts_with("partner:MX:"), "{n}");
    }
    // Stitched totals: what MX says moved on from the border account is what
    // its leg's first edges carry, and no more than arrived there.
    let out_of_border: i64 = edges
        .iter()
        .filter(|e| e["from"] == border && e["leg"]["leg"] == "partner")
        .map(|e| e["value"].as_i64().unwrap())
        .sum();
    let b = &nodes[border];
    let first_edges = edges
        .iter()
        .filter(|e| e["from"] == border && e["leg"]["leg"] == "partner")
        .count() as i64;
    // Each released figure is rounded to ten dollars.
    assert!(
        (b["outflow"].as_i64().unwrap() - out_of_border).abs() <= 500 * first_edges.max(1),
        "{b} against {out_of_border}"
    );
    assert!(out_of_border > 0);
    assert!(
        out_of_border <= b["inflow"].as_i64().unwrap() + 1_000,
        "{b}"
    );

    let svg = dir.path().join("flow.svg");
    let text = ok(&[
        "finance",
        "stitch",
        &id,
        "--dir",
        &us,
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(text.contains("MX's leg from"), "{text}");
    assert!(text.contains("[MX's leg]"), "{text}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    // A stitch of a proposal this node did not send is refused.
    let out = soberana(&[
        "finance",
        "stitch",
        "01a20000-0000-7000-8000-000000000000",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
}

#[test]
fn bench_finance_prints_its_figures_as_json_on_the_last_line() {
    let out = ok(&[
        "bench",
        "finance",
        "--n",
        "5000",
        "--independent-n",
        "30000",
        "--json",
    ]);
    let last = out.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_str(last).unwrap();
    assert!(report["transactions"].as_u64().unwrap() > 4000, "{last}");
    assert!(report["trace"]["runs"].as_u64().unwrap() > 0, "{last}");
    let independent = &report["independent"];
    assert!(independent["cases"].as_u64().unwrap() > 0, "{last}");
    assert!(
        independent["baseline"]["alerts"].as_u64().is_some(),
        "{last}"
    );
    assert!(out.contains("baseline (two rules)"), "{out}");
}

#[test]
fn alerts_come_as_ranked_incidents_with_reasons_and_honour_an_exemption_list() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let csv = dir.path().join("cash.csv");
    // Three cash deposits just under USD 10,000 at three branches in three
    // days, then the money wired on.
    std::fs::write(
        &csv,
        format!(
            "{HEADER}\n\
             1,2025-11-03T10:00:00Z,9500.00,USD,cash_deposit,,{A},US,TX-ELP-01,1\n\
             2,2025-11-04T10:00:00Z,9400.00,USD,cash_deposit,,{A},US,TX-ELP-02,1\n\
             3,2025-11-05T10:00:00Z,9300.00,USD,cash_deposit,,{A},US,TX-ELP-03,1\n\
             4,2025-11-06T10:00:00Z,28000,USD,domestic_wire,{A},{B},US,,0\n"
        ),
    )
    .unwrap();
    ok(&[
        "finance",
        "ingest",
        "--dir",
        &us,
        "--transactions",
        csv.to_str().unwrap(),
    ]);
    let text = ok(&["finance", "alerts", "--dir", &us, "--incidents"]);
    assert!(text.contains("riskiest first"), "{text}");
    assert!(text.contains("structuring at us:021000021:1001"), "{text}");
    let key = text
        .split_whitespace()
        .find(|w| w.starts_with("inc-"))
        .expect("an incident key")
        .to_owned();

    let cfg = dir.path().join("typology.json");
    std::fs::write(&cfg, format!(r#"{{"exempt": ["{A}"]}}"#)).unwrap();
    let text = ok(&[
        "finance",
        "alerts",
        "--dir",
        &us,
        "--incidents",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(text.contains("0 incidents"), "{text}");
    // The same file in the node's finance folder is the party's own setting.
    std::fs::copy(&cfg, Path::new(&us).join("finance/typology.json")).unwrap();
    let text = ok(&["finance", "alerts", "--dir", &us, "--incidents"]);
    assert!(text.contains("0 incidents"), "{text}");
    std::fs::remove_file(Path::new(&us).join("finance/typology.json")).unwrap();
    std::fs::write(&cfg, r#"{"exempt": ["not-an-account"]}"#).unwrap();
    let out = soberana(&[
        "finance",
        "alerts",
        "--dir",
        &us,
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("typology configuration"));

    // Verdicts are stored in the node, through its officer rules: an
    // analyst confirms, the incident list shows it and precision is
    // reported; a verdict without a reason, on an unknown incident, or by
    // an officer without the role is refused and stores nothing.
    support::officer(&us, "fin.ana", "US.FINCEN", "analyst");
    support::officer(&us, "fin.lia", "US.FINCEN", "liaison");
    let text = ok(&["finance", "alerts", "--dir", &us, "--incidents"]);
    assert!(text.contains("no verdicts yet"), "{text}");
    let verdict = |key: &str, officer: &str, reason: &str| {
        soberana(&[
            "finance",
            "verdict",
            key,
            "--dir",
            &us,
            "--confirmed",
            "--reason",
            reason,
            "--officer",
            officer,
        ])
    };
    for (key, officer, reason, says) in [
        (key.as_str(), "fin.ana", " ", "needs a reason"),
        (
            "inc-0123456789abcdef",
            "fin.ana",
            "cash",
            "no incident `inc-0123456789abcdef`",
        ),
        (
            key.as_str(),
            "fin.lia",
            "cash",
            "does not hold the `analyst` role",
        ),
    ] {
        let out = verdict(key, officer, reason);
        assert!(!out.status.success(), "{key} {officer}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{says}: {err}");
    }
    let text = ok(&["finance", "alerts", "--dir", &us, "--incidents"]);
    assert!(text.contains("no verdicts yet"), "{text}");
    let out = verdict(&key, "fin.ana", "cash under the line at three branches");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{key} confirmed by fin.ana; stored on the node")),
        "{said}"
    );
    let text = ok(&["finance", "alerts", "--dir", &us, "--incidents"]);
    assert!(
        text.contains("verdict: confirmed by fin.ana on ")
            && text.contains(": cash under the line at three branches"),
        "{text}"
    );
    assert!(
        text.contains("1 confirmed, 0 dismissed, precision 1.00"),
        "{text}"
    );
}
