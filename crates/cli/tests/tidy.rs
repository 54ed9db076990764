//! The invariants of ARCHITECTURE.md that a grep can hold, checked on every
//! test run: only `store` knows SQL, only `policy` knows Cedar, only `node`
//! and `desk` open sockets, and a source file over 800 lines says in its
//! header why it is long.
//!
//! Each exception is listed here with its reason; a new one needs a line
//! here and in ARCHITECTURE.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// This test, which names what it looks for.
const THIS_FILE: &str = "crates/cli/tests/tidy.rs";

/// The longest a source file may be without saying why in its header.
const MAX_LINES: usize = 800;

/// Long files that predate this check and are being reworked elsewhere:
/// each may not grow past the length recorded here, and its entry must go
/// once it is split (under the limit) or explains itself in its header.
const LONG_FILES_TO_SPLIT: &[(&str, usize)] = &[
    ("crates/finance/src/trace.rs", 848),
    ("crates/finance/src/continuation.rs", 967),
    ("crates/finance/src/generate.rs", 1226),
];

/// Source files outside `node` and `desk` that may open a socket, and why.
const SOCKET_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "crates/psi/src/bench.rs",
        "the PSI benchmark runs both parties over loopback in one process",
    ),
    (
        "crates/cli/src/commands/demo.rs",
        "the demo asks the OS for two free loopback ports for its nodes",
    ),
];

/// Words in source that mean a socket is opened.
const SOCKET_WORDS: &[&str] = &[
    "TcpListener",
    "TcpStream",
    "UdpSocket",
    "UnixListener",
    "UnixStream",
    "tokio::net",
    "hyper_util::client",
    "reqwest",
];

/// Crates that read bytes from partners and must never index them: their
/// `lib.rs` turns on `clippy::indexing_slicing` (CI denies warnings).
const PEER_INPUT_CRATES: &[&str] = &["wire", "ledger", "case"];

/// Crates that read peer input whose indexing is still to be rewritten
/// (sites found by `cargo clippy -p … -- -W clippy::indexing_slicing`).
const PEER_INPUT_PENDING: &[(&str, &str)] = &[
    ("psi", "65 sites, mostly in the OT extension"),
    ("linkage", "31 sites, mostly in the bit-sliced kernel"),
];

/// Modules of `node` and `desk` that read what a partner sent (envelopes,
/// protocol messages, replies, a partner's constitutional layer, its
/// continuation and trace requests and answers) or an officer's form: each
/// turns on `clippy::indexing_slicing` outside its tests.
const PEER_INPUT_MODULES: &[&str] = &[
    "crates/node/src/intake.rs",
    "crates/node/src/outbox.rs",
    "crates/node/src/constitution.rs",
    "crates/node/src/sessions/mod.rs",
    "crates/node/src/sessions/persons.rs",
    "crates/node/src/sessions/standing.rs",
    "crates/node/src/finance/exchange.rs",
    "crates/node/src/firearms.rs",
    "crates/node/src/evidence.rs",
    "crates/node/src/case/consent.rs",
    "crates/desk/src/decide.rs",
    "crates/desk/src/evidence.rs",
    "crates/desk/src/finance.rs",
    "crates/desk/src/firearms.rs",
    "crates/desk/src/case_work.rs",
];

/// Crates that can only be used to talk over a network.
const NETWORK_CRATES: &[&str] = &[
    "axum",
    "hyper",
    "hyper-util",
    "hyper-rustls",
    "tokio-rustls",
    "reqwest",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The workspace's crates, by directory name.
fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the crates were not found: {names:?}");
    names
}

/// Every `.rs` file under `dir`, as paths relative to the workspace root.
fn rust_files(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root()).unwrap();
            out.push(relative.to_string_lossy().into_owned());
        }
    }
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap()
}

/// A crate's dependencies of one kind (`dependencies`, `dev-dependencies`,
/// `build-dependencies`), including target-specific ones.
fn dependencies(krate: &str, kind: &str) -> Vec<String> {
    let text = read(&format!("crates/{krate}/Cargo.toml"));
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    let mut names = Vec::new();
    let mut take = |table: Option<&toml::Value>| {
        if let Some(table) = table.and_then(|t| t.as_table()) {
            names.extend(table.keys().cloned());
        }
    };
    take(manifest.get(kind));
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            take(target.get(kind));
        }
    }
    names
}

/// Lines of code (not comments) in `text` that hold `word`.
fn code_lines_with<'a>(text: &'a str, word: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("//") && l.contains(word)
        })
        .collect()
}

fn sources(krate: &str, folder: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("crates").join(krate).join(folder), &mut files);
    files
}

#[test]
fn only_store_knows_sql_and_only_policy_knows_cedar() {
    let mut wrong = Vec::new();
    for krate in crates() {
        for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for dep in dependencies(&krate, kind) {
                if (dep.starts_with("rusqlite")
                    || dep.starts_with("libsqlite")
                    || dep.starts_with("postgres")
                    || dep.starts_with("tokio-postgres"))
                    && krate != "store"
                {
                    wrong.push(format!("crates/{krate}/Cargo.toml: {kind} `{dep}`"));
                }
                if dep.starts_with("cedar") && krate != "policy" {
                    wrong.push(format!("crates/{krate}/Cargo.toml: {kind} `{dep}`"));
                }
            }
        }
        for folder in ["src", "tests", "benches", "examples"] {
            for file in sources(&krate, folder) {
                if file == THIS_FILE {
                    continue;
                }
                let text = read(&file);
                if krate != "store" {
                    for line in code_lines_with(&text, "rusqlite")
                        .into_iter()
                        .chain(code_lines_with(&text, "postgres::"))
                    {
                        wrong.push(format!("{file}: `{}`", line.trim()));
                    }
                }
                if krate != "policy" {
                    for line in code_lines_with(&text, "cedar_policy") {
                        wrong.push(format!("{file}: `{}`", line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL belongs to `store` and Cedar to `policy` (ARCHITECTURE.md, Invariants):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_node_and_desk_open_sockets() {
    let mut wrong = Vec::new();
    for krate in crates() {
        if krate == "node" || krate == "desk" {
            continue;
        }
        for dep in dependencies(&krate, "dependencies") {
            if NETWORK_CRATES.contains(&dep.as_str()) {
                wrong.push(format!("crates/{krate}/Cargo.toml: dependency `{dep}`"));
            }
        }
        for file in sources(&krate, "src") {
            if SOCKET_EXCEPTIONS.iter().any(|(path, _)| *path == file) {
                continue;
            }
            let text = read(&file);
            for word in SOCKET_WORDS {
                for line in code_lines_with(&text, word) {
                    wrong.push(format!("{file}: `{}`", line.trim()));
                }
            }
        }
    }
    for (path, why) in SOCKET_EXCEPTIONS {
        let text = read(path);
        assert!(
            SOCKET_WORDS
                .iter()
                .any(|w| !code_lines_with(&text, w).is_empty()),
            "{path} opens no socket any more ({why}): remove its exception"
        );
    }
    assert!(
        wrong.is_empty(),
        "only `node` and `desk` open sockets (ARCHITECTURE.md, Invariants):\n{}",
        wrong.join("\n")
    );
}

/// Whether the file's leading `//!` block says why it is long.
fn says_why_it_is_long(text: &str) -> bool {
    text.lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
        .any(|l| l.to_lowercase().contains("long because"))
}

#[test]
fn a_file_over_800_lines_says_why_in_its_header() {
    let mut wrong = Vec::new();
    let mut files = Vec::new();
    for krate in crates() {
        for folder in ["src", "tests", "benches", "examples"] {
            files.extend(sources(&krate, folder));
        }
    }
    assert!(files.len() > 100, "the sources were not found");
    for file in &files {
        let text = read(file);
        let lines = text.lines().count();
        let listed = LONG_FILES_TO_SPLIT.iter().find(|(path, _)| path == file);
        match listed {
            Some((_, max)) if lines > *max => wrong.push(format!(
                "{file}: {lines} lines, over the {max} it may have until it is split"
            )),
            Some(_) if lines <= MAX_LINES || says_why_it_is_long(&text) => wrong.push(format!(
                "{file}: is under {MAX_LINES} lines or explains itself now; remove it from LONG_FILES_TO_SPLIT"
            )),
            Some(_) => {}
            None if lines > MAX_LINES && !says_why_it_is_long(&text) => wrong.push(format!(
                "{file}: {lines} lines; split it, or say in its header comment why it is long (\"This file is long because …\")"
            )),
            None => {}
        }
    }
    for (path, _) in LONG_FILES_TO_SPLIT {
        assert!(
            files.iter().any(|f| f == path),
            "{path} is gone: remove it from LONG_FILES_TO_SPLIT"
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn crates_reading_peer_input_forbid_indexing() {
    let lints = |krate: &str| read(&format!("crates/{krate}/src/lib.rs"));
    for krate in PEER_INPUT_CRATES {
        let text = lints(krate);
        assert!(
            text.contains("warn(clippy::indexing_slicing)")
                || text.contains("deny(clippy::indexing_slicing)"),
            "crates/{krate}/src/lib.rs must turn on clippy::indexing_slicing (ARCHITECTURE.md, Invariants)"
        );
    }
    for (krate, why) in PEER_INPUT_PENDING {
        assert!(
            !lints(krate).contains("clippy::indexing_slicing"),
            "{krate} forbids indexing now ({why} were pending): move it to PEER_INPUT_CRATES"
        );
    }
}

#[test]
fn modules_reading_peer_input_forbid_indexing() {
    for module in PEER_INPUT_MODULES {
        assert!(
            read(module).contains("warn(clippy::indexing_slicing)"),
            "{module} reads partner input and must turn on clippy::indexing_slicing (ARCHITECTURE.md, Invariants)"
        );
    }
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanners themselves: a comment is not code, a header reason is
    // found only in the header.
    assert!(code_lines_with("// uses rusqlite here", "rusqlite").is_empty());
    assert_eq!(
        code_lines_with("use rusqlite::params;", "rusqlite").len(),
        1
    );
    assert!(says_why_it_is_long(
        "//! Title.\n//!\n//! This file is long because of X.\n\nuse a;"
    ));
    assert!(!says_why_it_is_long(
        "//! Title.\n\nuse a;\n// This file is long because of X.\n"
    ));
    assert!(dependencies("store", "dependencies").contains(&"rusqlite".to_owned()));
    assert!(dependencies("store", "dependencies").contains(&"postgres".to_owned()));
    assert!(dependencies("policy", "dependencies").contains(&"cedar-policy".to_owned()));
}
