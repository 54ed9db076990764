//! Evidence from the command line, over two running nodes: Mexico asks
//! for the evidence behind a US notice, US officers release it under
//! conditions and accept the request under four eyes; Mexico fetches it,
//! is refused a court use, asks consent to it and to an onward
//! transmission, and exports once the US officers grant the court use
//! alone; the onward transmission stays refused. Each command's refusal of bad input is a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, run_node, soberana, state, wait_state};

/// Runs a command that must fail; returns its standard error.
fn fails(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(
        !out.status.success(),
        "`soberana {}` succeeded",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The proposal id a command printed after `as proposal `.
fn proposal_in(out: &str) -> String {
    out.split("as proposal ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == ';').next())
        .unwrap_or_else(|| panic!("no proposal id in: {out}"))
        .to_owned()
}

fn wait_accepted(node: &str, id: &str) {
    for _ in 0..600 {
        if matches!(state(node, id).as_str(), "accepted" | "answered") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{id} never accepted on {node}: {}", state(node, id));
}

fn exhibit_of(node: &str, case: &str) -> String {
    for _ in 0..600 {
        let out = ok(&["case", "show", case, "--json", "--dir", node]);
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        if let Some(x) = json["case"]["exhibits"].as_array().and_then(|a| a.first())
            && x["status"] == "released"
        {
            return x["digest"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no released exhibit in {case} on {node}");
}

#[test]
fn evidence_is_asked_released_and_used_only_with_consent_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    support::officer(&mx, "uif.ana", "MX.UIF", "approver");
    support::officer(&us, "fincen.bob", "US.FINCEN", "approver");
    support::officer(&us, "fincen.sam", "US.FINCEN", "approver");
    let _mx_node = run_node(&mx);
    let _us_node = run_node(&us);

    let help = ok(&["case", "exhibit", "consent", "--help"]);
    assert!(help.contains("accepted consent"), "{help}");
    let help = ok(&["case", "request-evidence", "--help"]);
    assert!(help.contains("evidence file"), "{help}");

    let notice = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/proposals/us-notify-order.toml"
    );
    let notice = ok(&["propose", notice, "--dir", &us]).trim().to_owned();
    wait_state(&mx, &notice, "acknowledged");

    // A request for evidence about a proposal Mexico never received.
    let err = fails(&[
        "case",
        "request-evidence",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "--asked",
        "everything",
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("no proposal"), "{err}");

    let out = ok(&[
        "case",
        "request-evidence",
        &notice,
        "--asked",
        "the findings the order rests on",
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    let asked = proposal_in(&out);
    wait_state(&us, &asked, "awaiting_officer");

    // The US puts the evidence in the notice's evidence file.
    let out = ok(&[
        "case",
        "open-evidence",
        &notice,
        "--officer",
        "fincen.bob",
        "--dir",
        &us,
    ]);
    let case = out.split(':').next().unwrap().trim().to_owned();
    assert!(case.starts_with("case-"), "{out}");
    let file = dir.path().join("findings.txt");
    std::fs::write(&file, "findings of the investigation\n").unwrap();
    ok(&[
        "case",
        "exhibit",
        "add",
        &case,
        file.to_str().unwrap(),
        "--label",
        "findings",
        "--officer",
        "fincen.bob",
        "--dir",
        &us,
    ]);
    let out = ok(&["case", "show", &case, "--json", "--dir", &us]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let digest = json["case"]["exhibits"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&[
        "case",
        "exhibit",
        "release",
        &case,
        &digest,
        "--officer",
        "fincen.bob",
        "--confirmed-by",
        "fincen.sam",
        "--dir",
        &us,
    ]);
    let decide = |id: &str, reason: &str, grants: &[&str]| {
        let mut args = vec![
            "decide",
            id,
            "--accept",
            "--reason",
            reason,
            "--officer",
            "fincen.bob",
            "--dir",
            &us,
        ];
        for n in grants {
            args.extend(["--grant", n]);
        }
        let out = ok(&args);
        assert!(out.contains("second"), "four eyes: {out}");
        ok(&["confirm", id, "--officer", "fincen.sam", "--dir", &us]);
    };
    decide(&asked, "the findings are in the evidence file", &[]);
    wait_accepted(&mx, &asked);

    // Mexico fetches the exhibit.
    ok(&[
        "case",
        "open-evidence",
        &notice,
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    assert_eq!(exhibit_of(&mx, &case), digest);
    ok(&[
        "case",
        "exhibit",
        "fetch",
        &case,
        &digest,
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);

    // Court use without consent is refused; nothing is written.
    let copy = dir.path().join("court-copy.txt");
    // The consent request asks two uses: the court use, and passing the
    // exhibit on to the SAT.
    let also = format!("{}=onward:SAT", &digest[..12]);
    let court = |verb: &str| {
        let mut args = vec![
            "case",
            "exhibit",
            verb,
            case.as_str(),
            digest.as_str(),
            "--for",
            "court",
            "--detail",
            "Juzgado Primero de Distrito",
            "--officer",
            "uif.ana",
            "--dir",
            mx.as_str(),
        ];
        if verb == "export" {
            args.extend(["--to", copy.to_str().unwrap()]);
        }
        if verb == "consent" {
            args.extend(["--reason", "criminal proceedings in Mexico"]);
            args.extend(["--also", also.as_str()]);
        }
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()
    };
    let strs = |v: &[String]| v.iter().map(String::clone).collect::<Vec<_>>();
    let args = strs(&court("export"));
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("consent"), "{err}");
    assert!(!copy.exists());
    // Consent for a use the conditions allow anyway is refused.
    let err = fails(&[
        "case",
        "exhibit",
        "consent",
        &case,
        &digest,
        "--reason",
        "analysis",
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("without consent"), "{err}");

    let args = court("consent");
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let consent = proposal_in(&out);
    wait_state(&us, &consent, "awaiting_officer");
    // The US decides once Mexico's receipt of the exhibit has reached it.
    for _ in 0..600 {
        let out = ok(&["case", "show", &case, "--json", "--dir", &us]);
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        if json["case"]["exhibits"][0]["received"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The US grants the court use only (use 1 of the two asked).
    let shown = ok(&["show", &consent, "--dir", &us]);
    assert!(
        shown.contains("1. court use") && shown.contains("2. onward transmission to `SAT`"),
        "{shown}"
    );
    let err = fails(&[
        "decide",
        &consent,
        "--accept",
        "--grant",
        "3",
        "--reason",
        "x",
        "--officer",
        "fincen.bob",
        "--dir",
        &us,
    ]);
    assert!(err.contains("no use 3"), "{err}");
    decide(&consent, "for these proceedings only", &["1"]);
    wait_state(&mx, &consent, "answered");
    let shown = ok(&["show", &consent, "--dir", &mx]);
    assert!(
        shown.contains(": granted") && shown.contains(": not granted"),
        "{shown}"
    );
    // What was not granted stays refused.
    let err = fails(&[
        "case",
        "exhibit",
        "use",
        &case,
        &digest,
        "--for",
        "onward",
        "--detail",
        "SAT",
        "--officer",
        "uif.ana",
        "--dir",
        &mx,
    ]);
    assert!(err.contains("no accepted consent"), "{err}");
    let args = court("export");
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains(&format!("under consent {consent}")), "{out}");
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        "findings of the investigation\n"
    );
}
