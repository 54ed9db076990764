//! What the binary's integration tests share: running `soberana`, making
//! nodes on loopback and pinning them to each other.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub fn soberana(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args(args)
        .env_remove("SOBERANA_OFFICER")
        .output()
        .unwrap()
}

pub fn ok(args: &[&str]) -> String {
    let out = soberana(args);
    assert!(
        out.status.success(),
        "soberana {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn port() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

pub fn init(dir: &Path, party: &str) -> String {
    let path = dir.join(party.to_ascii_lowercase());
    let path = path.to_str().unwrap().to_owned();
    ok(&[
        "init",
        "--party",
        party,
        "--dir",
        &path,
        "--listen",
        &port(),
    ]);
    path
}

pub fn introduce(dir: &Path, a: &str, b: &str) {
    for (from, to) in [(a, b), (b, a)] {
        let name = Path::new(from).file_name().unwrap().to_str().unwrap();
        let card = dir.join(format!("{name}.card"));
        let card = card.to_str().unwrap();
        ok(&["card", "export", "--dir", from, "-o", card]);
        ok(&["peer", "add", card, "--dir", to]);
    }
}

/// A node process (`soberana run`), killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `soberana run` on a node folder.
pub fn run_node(dir: &str) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_soberana"))
            .args(["run", "--dir", dir])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Registers officer `id` of `agency` with `role` on the node in `node`
/// (the password is read from a file next to it).
pub fn officer(node: &str, id: &str, agency: &str, role: &str) {
    let password = Path::new(node).with_extension("password");
    std::fs::write(&password, "a long test password\n").unwrap();
    ok(&[
        "officer",
        "add",
        "--dir",
        node,
        "--id",
        id,
        "--name",
        &format!("Officer {id}"),
        "--agency",
        agency,
        "--role",
        role,
        "--password-file",
        password.to_str().unwrap(),
    ]);
}

/// `soberana show ID --json` on a node, or `null` when it fails.
pub fn shown(node: &str, id: &str) -> serde_json::Value {
    let out = soberana(&["show", id, "--json", "--dir", node]);
    if !out.status.success() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Where a proposal stands on a node (empty when the node does not hold it).
pub fn state(node: &str, id: &str) -> String {
    shown(node, id)["record"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits up to 30 s for a proposal to reach a state on a node.
pub fn wait_state(node: &str, id: &str, wanted: &str) {
    for _ in 0..600 {
        if state(node, id) == wanted {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "proposal {id} never reached {wanted} at {node} (it is {})",
        state(node, id)
    );
}

/// The names under a node's subfolder, sorted (none when it is absent).
pub fn files_in(node: &str, folder: &str) -> Vec<String> {
    match std::fs::read_dir(Path::new(node).join(folder)) {
        Ok(rd) => {
            let mut v: Vec<String> = rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

/// Waits up to 20 s for a proposal in a node's inbox and returns its id.
pub fn first_in_inbox(node: &str) -> String {
    for _ in 0..400 {
        let inbox: serde_json::Value =
            serde_json::from_str(&ok(&["inbox", "--json", "--dir", node])).unwrap();
        if let Some(found) = inbox
            .as_array()
            .and_then(|a| a.first())
            .and_then(|r| r["proposal"]["id"].as_str())
        {
            return found.to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no proposal reached the inbox of {node}");
}

/// Drops the PostgreSQL schemas a test made (`schema=` URLs) when it ends;
/// declare it before the nodes that use them, so they stop first.
pub struct DropSchemas(pub Vec<String>);

impl Drop for DropSchemas {
    fn drop(&mut self) {
        for url in &self.0 {
            let _ = soberana_store::PostgresStore::drop_store(url);
        }
    }
}
