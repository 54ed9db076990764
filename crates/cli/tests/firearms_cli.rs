//! `soberana firearms` from the command line: a file of records with bad
//! rows is refused naming each row and field, and nothing is held; and a
//! batch trace crosses between two nodes in separate processes — MX sends a
//! trace of generated firearms, US policy sends it to an officer, `firearms
//! answer` traces it on the US node's own records and releases the answer
//! (recorded as a disclosure), and both sides compute the same statistics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana, state, wait_state};

use std::path::Path;

const HEADER: &str = "manufacturer,model,caliber,serial,event,date,from,to,city,state";

fn held(node: &str) -> Vec<String> {
    support::files_in(node, "firearms")
}

#[test]
fn a_file_with_bad_rows_is_refused_naming_row_and_field_and_nothing_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}\n\
             Colt,AR-15,5.56,LGC1,retail_sale,2024-01-09,Border Guns,\"Doe, John\",Nogales,AZ\n\
             Colt,AR-15,5.56,LGC2,retail_sale,2024-02-30,Border Guns,\"Doe, John\",Nogales,AZ\n\
             Colt,AR-15,5.56,OBLITERATED,retail_sale,2024-01-09,Border Guns,\"Doe, John\",Nogales,AZ\n\
             Colt,AR-15,5.56,LGC3,retail_sale,2024-01-09,Border Guns,\"Doe, John\",Nogales,Arizona\n"
        ),
    )
    .unwrap();
    let out = soberana(&["firearms", "hold", bad.to_str().unwrap(), "--dir", &us]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3, field `date`"), "{err}");
    assert!(err.contains("line 4, field `serial`"), "{err}");
    assert!(err.contains("line 5, field `state`"), "{err}");
    assert!(err.contains("3 bad row(s); nothing was loaded"), "{err}");
    assert!(
        held(&us)
            .iter()
            .all(|f| !f.ends_with(".csv") && f != "holdings.json"),
        "{:?}",
        held(&us)
    );

    // Nothing held: an answer cannot be computed and says what to do.
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!("{HEADER}\nColt,AR-15,5.56,LGC1,retail_sale,2024-01-09,Border Guns,\"Doe, John\",Nogales,AZ\n"),
    )
    .unwrap();
    let said = ok(&["firearms", "hold", good.to_str().unwrap(), "--dir", &us]);
    assert!(
        said.contains("now holds 1 acquisition and disposition records"),
        "{said}"
    );
    assert_eq!(held(&us), ["000001-records.csv", "holdings.json"]);

    // While another load holds the lock, a second one is refused and holds nothing.
    std::fs::write(Path::new(&us).join("firearms/.hold.lock"), "").unwrap();
    let busy = soberana(&["firearms", "hold", good.to_str().unwrap(), "--dir", &us]);
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another `firearms hold`"));
    std::fs::remove_file(Path::new(&us).join("firearms/.hold.lock")).unwrap();
    let said = ok(&["firearms", "hold", good.to_str().unwrap(), "--dir", &us]);
    assert!(said.contains("now holds 2 acquisition"), "{said}");
    assert_eq!(
        held(&us),
        ["000001-records.csv", "000002-records.csv", "holdings.json"]
    );
}

#[test]
fn a_check_with_no_serial_to_check_is_refused_naming_each_firearm() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let us = init(dir.path(), "US");
    introduce(dir.path(), &mx, &us);
    let draft = dir.path().join("trace.toml");
    std::fs::write(
        &draft,
        "to = \"US\"\nrequesting_agency = \"MX.FGR\"\npurpose = \"trace\"\nlegal_basis = \"eTrace\"\n\
         handling = \"H1\"\ndeadline = \"2025-11-25T17:00:00Z\"\n[body]\nkind = \"firearm_trace\"\n\
         seized_at = \"Nogales, Sonora\"\nseized_on = \"2025-10-28T14:30:00-07:00\"\n\
         firearms = [ { manufacturer = \"Colt\", serial = \"LGC-12??\" }, { manufacturer = \"unknown\", serial = \"A1\" } ]\n",
    )
    .unwrap();
    let out = soberana(&[
        "firearms",
        "check",
        draft.to_str().unwrap(),
        "--peer",
        "US",
        "--dir",
        &mx,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not checked: 1. Colt LGC-12??: serial obliterated"),
        "{err}"
    );
    assert!(
        err.contains("not checked: 2. unknown A1: manufacturer unknown"),
        "{err}"
    );
    assert!(err.contains("none of the 2 firearms"), "{err}");
    assert!(
        ok(&["outbox", "--all", "--dir", &mx])
            .trim()
            .lines()
            .count()
            <= 1
    );
}

fn digest(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("figures sha256 "))
        .expect("stats print a digest")
        .to_owned()
}

#[test]
fn a_batch_trace_is_answered_on_the_holders_records_between_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    support::officer(&us, "atf.tracer", "US.ATF", "approver");
    support::officer(&us, "atf.chief", "US.ATF", "approver");
    let records = dir.path().join("records.csv");
    let request = dir.path().join("request.json");
    ok(&[
        "firearms",
        "generate",
        "--out",
        records.to_str().unwrap(),
        "--records",
        "20000",
        "--request",
        request.to_str().unwrap(),
        "--serials",
        "300",
    ]);
    ok(&["firearms", "hold", records.to_str().unwrap(), "--dir", &us]);

    let _us_node = run_node(&us);
    let _mx_node = run_node(&mx);
    let id = ok(&["propose", request.to_str().unwrap(), "--dir", &mx])
        .trim()
        .to_owned();
    wait_state(&us, &id, "awaiting_officer");

    // The asker cannot answer its own proposal, and nothing is answered before release.
    let own = soberana(&[
        "firearms",
        "answer",
        &id,
        "--dir",
        &mx,
        "--officer",
        "fgr.tracer",
    ]);
    assert!(!own.status.success());
    assert!(
        soberana(&["firearms", "show", &id, "--dir", &mx])
            .status
            .code()
            != Some(0)
    );

    let review = ok(&[
        "firearms",
        "answer",
        &id,
        "--dir",
        &us,
        "--officer",
        "atf.tracer",
        "--dry-run",
    ]);
    assert!(review.contains("dry run"), "{review}");
    assert_eq!(state(&us, &id), "awaiting_officer");
    let released = ok(&[
        "firearms",
        "answer",
        &id,
        "--dir",
        &us,
        "--officer",
        "atf.tracer",
    ]);
    // A trace answer names purchasers: our rule handles it as H2, so one
    // approver is not enough and nothing has left yet.
    assert!(released.contains("awaits a second approver"), "{released}");
    assert_eq!(state(&us, &id), "awaiting_officer");
    let confirmed = ok(&["confirm", &id, "--dir", &us, "--officer", "atf.chief"]);
    assert!(confirmed.contains("confirmed by atf.chief"), "{confirmed}");
    wait_state(&mx, &id, "answered");

    // The US recorded exactly what left as a disclosure.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["show", &id, "--json", "--dir", &us])).unwrap();
    assert_eq!(
        shown["disclosures"].as_array().unwrap().len(),
        1,
        "{}",
        shown["disclosures"]
    );

    // MX reads 300 results, most traced, some not, each with its reason.
    let results = ok(&["firearms", "show", &id, "--dir", &mx]);
    let lines: Vec<&str> = results
        .lines()
        .filter(|l| !l.starts_with("     "))
        .collect();
    assert_eq!(lines.len(), 300, "{results}");
    assert!(lines.iter().any(|l| l.contains("first retail sale")));
    assert!(lines.iter().any(|l| l.contains("serial obliterated")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no record of this manufacturer and serial"))
    );

    // Both sides compute the same figures from the same answer.
    let at_mx = ok(&["firearms", "stats", &id, "--dir", &mx, "--json"]);
    let at_us = ok(&["firearms", "stats", &id, "--dir", &us, "--json"]);
    assert_eq!(digest(&at_mx), digest(&at_us));
    assert_eq!(at_mx.lines().last(), at_us.lines().last());
    let figures: serde_json::Value = serde_json::from_str(at_mx.lines().last().unwrap()).unwrap();
    assert_eq!(figures["all"]["traces"], 300);
    assert!(
        figures["by_source_state"]["TX"].as_u64().unwrap() > 0,
        "{figures}"
    );
    assert!(
        figures["time_to_crime"]["median_days"].as_u64().is_some(),
        "{figures}"
    );

    // Answering twice is refused: the proposal is no longer awaiting an officer.
    let again = soberana(&[
        "firearms",
        "answer",
        &id,
        "--dir",
        &us,
        "--officer",
        "atf.tracer",
    ]);
    assert!(!again.status.success());
}
