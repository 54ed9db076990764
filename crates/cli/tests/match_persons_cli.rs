//! Person matching from the command line: `soberana match hold persons`
//! reads a file all or nothing with a layout, date format and sex codes,
//! prints its data quality and keeps it where the node links against it;
//! `soberana match key` installs the linkage secret readable by the node's
//! user alone; and a Mexican register held with one option links with a
//! partner's request between two processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{init, introduce, ok, soberana};

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use soberana_linkage::record::Sex;
use soberana_node::sessions::persons::read_person_file;

fn persons_path(node: &str) -> PathBuf {
    Path::new(node).join("data/persons.csv")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn hold(file: &Path, node: &str, options: &[&str]) -> std::process::Output {
    let mut args = vec!["match", "hold", "persons", file.to_str().unwrap()];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--dir", node]);
    soberana(&args)
}

const MEXICAN: &str = "folio,nombre,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,curp,telefono\n\
    A1,José Luis,Hernández,García,09/03/1980,H,HEGL800309HDFRRS09,5512345678\n\
    A2,María Guadalupe,López,,25/12/1975,M,,\n\
    A3,Ana,de la Cruz,Soto,31/02/1990,M,,\n";

#[test]
fn a_mexican_register_is_held_with_one_option_and_its_quality_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let file = dir.path().join("padron.csv");
    std::fs::write(&file, MEXICAN).unwrap();
    let out = hold(&file, &mx, &["--layout", "mexican"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 row(s)"), "{stdout}");
    assert!(stdout.contains("day-first"), "{stdout}");
    assert!(stdout.contains("es (H = hombre, M = mujer)"), "{stdout}");
    assert!(stdout.contains("columns not read: telefono"), "{stdout}");
    // One empty maternal surname, two empty CURPs, one impossible date kept.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("maternal_surname") && l.trim_end().ends_with(" 1")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("curp") && l.trim_end().ends_with(" 2")),
        "{stdout}"
    );
    assert!(
        stdout.contains("dates not in the calendar (kept): 1"),
        "{stdout}"
    );
    assert!(stdout.contains("holds 3 person records"), "{stdout}");

    // What the node links against: Spanish M is mujer, dates day-first.
    let stored = persons_path(&mx);
    assert_eq!(mode(&stored), 0o600);
    let held = read_person_file(&stored).unwrap();
    assert!(held.rejected.is_empty(), "{:?}", held.rejected);
    let by_id = |id: &str| {
        held.records
            .iter()
            .find(|(label, _)| label == id)
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    let jose = by_id("A1");
    assert_eq!(jose.sex, Some(Sex::Male));
    assert_eq!(jose.date_of_birth.unwrap().compact(), "19800309");
    assert_eq!(jose.curp, "HEGL800309HDFRRS09");
    let maria = by_id("A2");
    assert_eq!(maria.sex, Some(Sex::Female));
    assert_eq!(maria.date_of_birth.unwrap().compact(), "19751225");
    assert_eq!(by_id("A3").paternal_surname, "cruz");
}

#[test]
fn a_bad_value_refuses_the_whole_file_naming_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let file = dir.path().join("padron.csv");
    std::fs::write(&file, MEXICAN).unwrap();
    ok(&[
        "match",
        "hold",
        "persons",
        file.to_str().unwrap(),
        "--layout",
        "mexican",
        "--dir",
        &mx,
    ]);
    let before = std::fs::read(persons_path(&mx)).unwrap();
    for (what, text, options, expected) in [
        (
            "a date in another format",
            MEXICAN.replace("25/12/1975", "1975-12-25"),
            vec!["--layout", "mexican"],
            "line 3, date_of_birth",
        ),
        (
            "a malformed CURP",
            MEXICAN.replace("HEGL800309HDFRRS09", "HEGL8003"),
            vec!["--layout", "mexican"],
            "line 2, curp",
        ),
        (
            "a row of the wrong width",
            format!("{MEXICAN}A4,Luis\n"),
            vec!["--layout", "mexican"],
            "line 5:",
        ),
        (
            "a duplicate id",
            MEXICAN.replace("A3,", "A1,"),
            vec!["--layout", "mexican"],
            "line 4, id: `A1` is also the id on line 2",
        ),
        (
            "Spanish sex codes read as English",
            MEXICAN.to_owned(),
            vec!["--layout", "mexican", "--sex-codes", "en"],
            "say `--sex-codes es`",
        ),
        (
            // Renamed columns without converting dates: every date refused,
            // none blanked silently.
            "day-first dates read as ISO",
            MEXICAN.to_owned(),
            vec!["--layout", "mexican", "--dates", "iso"],
            "3 problem(s)",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = hold(&file, &mx, &options);
        assert!(!out.status.success(), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{what}: {err}");
        assert!(err.contains("nothing was kept"), "{what}: {err}");
        assert_eq!(
            std::fs::read(persons_path(&mx)).unwrap(),
            before,
            "{what}: the held records are unchanged"
        );
    }
    // Nothing half-written is left beside the holdings.
    let leftovers: Vec<_> = std::fs::read_dir(Path::new(&mx).join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_ambiguous_date_is_refused_unless_the_format_is_stated() {
    let dir = tempfile::tempdir().unwrap();
    let mx = init(dir.path(), "MX");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "ref,first_name,last_name,dob,gender\nR1,Ana,Lopez,1990-01-13,F\nR2,Juan,Perez,03/04/1990,M\n",
    )
    .unwrap();
    let columns = [
        "--column",
        "id=ref",
        "--column",
        "given_names=first_name",
        "--column",
        "paternal_surname=last_name",
        "--column",
        "date_of_birth=dob",
        "--column",
        "sex=gender",
    ];
    let out = hold(&file, &mx, &columns);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3, date_of_birth: `03/04/1990` could be day-first or month-first"),
        "{err}"
    );
    assert!(!persons_path(&mx).exists(), "nothing was kept");

    std::fs::write(
        &file,
        "ref,first_name,last_name,dob,gender\nR1,Ana,Lopez,01/13/1990,F\nR2,Juan,Perez,03/04/1990,M\n",
    )
    .unwrap();
    let mut stated = columns.to_vec();
    stated.extend(["--dates", "month-first"]);
    let out = hold(&file, &mx, &stated);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let held = read_person_file(&persons_path(&mx)).unwrap();
    let juan = &held.records[1].1;
    assert_eq!(juan.date_of_birth.unwrap().compact(), "19900304");
    assert_eq!(juan.sex, Some(Sex::Male));

    // The same mapping from a file, with the date format stated.
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "id = \"ref\"\ngiven_names = \"first_name\"\npaternal_surname = \"last_name\"\ndate_of_birth = \"dob\"\nsex = \"gender\"\n",
    )
    .unwrap();
    let said = ok(&[
        "match",
        "hold",
        "persons",
        file.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--dates",
        "month-first",
        "--dir",
        &mx,
    ]);
    assert!(said.contains("holds 2 person records"), "{said}");
    std::fs::write(&mapping, "given_names = 3\n").unwrap();
    let out = hold(&file, &mx, &["--mapping", mapping.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a mapping of FIELD"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A column that is not in the file, or a field that does not exist.
    for (option, expected) in [
        ("given_names=nombre", "has no column `nombre`"),
        ("surname=last_name", "`surname` is not a field"),
    ] {
        let out = hold(&file, &mx, &["--column", option]);
        assert!(!out.status.success(), "{option}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{option}: {err}");
    }
}

#[test]
fn the_linkage_secret_is_installed_private_and_a_readable_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    let carried = dir.path().join("agreed.key");
    let made = ok(&[
        "match",
        "key",
        "new",
        "-o",
        carried.to_str().unwrap(),
        "--dir",
        &mx,
    ]);
    assert_eq!(mode(&carried), 0o600);
    let installed = ok(&[
        "match",
        "key",
        "install",
        carried.to_str().unwrap(),
        "--dir",
        &us,
    ]);
    let check = |said: &str| {
        said.split("key check ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap()
            .to_owned()
    };
    assert_eq!(check(&made), check(&installed), "{made}\n{installed}");
    assert_eq!(
        check(&ok(&["match", "key", "check", "--dir", &us])),
        check(&made)
    );
    let key_path = Path::new(&us).join("data/linkage.key");
    assert_eq!(mode(&key_path), 0o600);

    // Another secret is not installed over it by accident; a malformed one never.
    let other = dir.path().join("other.key");
    std::fs::write(&other, "ab".repeat(32)).unwrap();
    let out = soberana(&[
        "match",
        "key",
        "install",
        other.to_str().unwrap(),
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replace"));
    std::fs::write(&other, "abcd").unwrap();
    let out = soberana(&[
        "match",
        "key",
        "install",
        other.to_str().unwrap(),
        "--replace",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    assert_eq!(
        check(&ok(&["match", "key", "check", "--dir", &us])),
        check(&made)
    );

    // A key file others can read is refused before anything is sent.
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = dir.path().join("asked.csv");
    std::fs::write(&file, "id,given_names,paternal_surname\nq1,Ana,Lopez\n").unwrap();
    let out = soberana(&[
        "match",
        "persons",
        file.to_str().unwrap(),
        "--peer",
        "MX",
        "--dir",
        &us,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    // The node does not open with it, as with a readable signing key.
    for command in [["match", "key", "check"], ["inbox", "--all", "--json"]] {
        let mut args = command.to_vec();
        args.extend(["--dir", &us]);
        let out = soberana(&args);
        assert!(!out.status.success(), "{command:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("linkage.key` is readable by other users"),
            "{err}"
        );
    }
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&["inbox", "--dir", &us]);
}

#[test]
fn help_explains_layouts_dates_sex_codes_and_the_key() {
    let help = ok(&["match", "hold", "persons", "--help"]);
    for needle in [
        "mexican",
        "febrl",
        "apellido_paterno",
        "day-first",
        "month-first",
        "03/04/1990",
        "H = hombre",
        "FIELD=HEADER",
        "DIR/data/persons.csv",
    ] {
        assert!(help.contains(needle), "`{needle}` in:\n{help}");
    }
    let help = ok(&["match", "key", "--help"]);
    assert!(help.contains("DIR/data/linkage.key"), "{help}");
    assert!(help.contains("64 hex digits"), "{help}");
    let help = ok(&["match", "persons", "--help"]);
    assert!(
        help.contains("--layout") && help.contains("--sex-codes"),
        "{help}"
    );
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_mexican_register_links_with_a_partner_request_between_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let us = init(dir.path(), "US");
    let mx = init(dir.path(), "MX");
    introduce(dir.path(), &us, &mx);
    support::officer(&mx, "cni.approver", "MX.CNI", "approver");
    let carried = dir.path().join("agreed.key");
    ok(&[
        "match",
        "key",
        "new",
        "-o",
        carried.to_str().unwrap(),
        "--dir",
        &mx,
    ]);
    ok(&[
        "match",
        "key",
        "install",
        carried.to_str().unwrap(),
        "--dir",
        &us,
    ]);
    let register = dir.path().join("padron.csv");
    std::fs::write(&register, MEXICAN).unwrap();
    ok(&[
        "match",
        "hold",
        "persons",
        register.to_str().unwrap(),
        "--layout",
        "mexican",
        "--dir",
        &mx,
    ]);
    let _mx_node = Running(
        Command::new(env!("CARGO_BIN_EXE_soberana"))
            .args(["run", "--dir", &mx])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The US writes dates month first and sex in English, and has no
    // maternal surnames: José Luis and María Guadalupe are the two held.
    let asked = dir.path().join("asked.csv");
    std::fs::write(
        &asked,
        "id,given_names,paternal_surname,date_of_birth,sex\n\
         us-1,Jose Luis,Hernandez,03/09/1980,M\n\
         us-2,Maria Guadalupe,Lopez,12/25/1975,F\n\
         us-3,Robert,Smith,07/04/1961,M\n",
    )
    .unwrap();
    let asking = Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args([
            "match",
            "persons",
            asked.to_str().unwrap(),
            "--dates",
            "month-first",
            "--peer",
            "MX",
            "--wait",
            "60",
            "--dir",
            &us,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = support::first_in_inbox(&mx);
    ok(&[
        "decide",
        &id,
        "--accept",
        "--reason",
        "likely matches only",
        "--officer",
        "cni.approver",
        "--dir",
        &mx,
    ]);
    let out = asking.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dates read as month-first"), "{stdout}");
    assert!(
        stdout.contains("2 of our 3 records likely match"),
        "{stdout}"
    );
    let hits: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": partner record"))
        .collect();
    assert_eq!(hits.len(), 2, "{stdout}");
    assert!(hits.iter().any(|l| l.contains("us-1")), "{stdout}");
    assert!(hits.iter().any(|l| l.contains("us-2")), "{stdout}");
}
