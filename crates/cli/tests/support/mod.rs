//! What the binary's integration tests share: running `soberana`, making
//! nodes on loopback and pinning them to each other.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub fn soberana(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soberana"))
        .args(args)
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
