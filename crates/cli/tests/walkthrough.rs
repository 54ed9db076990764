//! The README's "From nothing to a node on PostgreSQL, step by step", run
//! as written: the lines between `<!-- walkthrough -->` and
//! `<!-- /walkthrough -->` are read out of README.md and run in order by
//! `sh`, in a fresh folder, with the `soberana` under test first on the
//! `PATH`. So the section cannot drift from what works.
//!
//! What the test supplies, and only that: the database (lines starting
//! with `sudo` set one up; the test's comes from `SOBERANA_TEST_POSTGRES`,
//! and each `export`ed store URL is replaced by one in a new schema of it),
//! free ports for the README's fixed ones, `examples/` linked into the
//! folder, and shell job control: a line ending in `&` starts a background
//! job (the test waits until the node listens), `kill %N` stops job N. A
//! `curl -s URL` line is one HTTP GET made by the test (no `curl` needed).
//!
//! Every `# → TEXT` comment is checked: the command succeeds and says TEXT
//! (a node that is still busy is given up to a minute, as a reader would
//! wait); `# ✗ → TEXT`: the command fails and its error says TEXT.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::port;

fn database() -> String {
    match std::env::var("SOBERANA_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "SOBERANA_TEST_POSTGRES is not set: the README's walkthrough runs a node on \
             PostgreSQL. As root on Debian, `scripts/test` installs and starts a server and \
             sets it; by hand see README (Running the tests)"
        ),
    }
}

/// The walkthrough's lines, in order.
fn walkthrough() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough -->")
        .expect("README has no <!-- walkthrough --> marker");
    let end = readme
        .find("<!-- /walkthrough -->")
        .expect("README has no <!-- /walkthrough --> marker");
    let mut lines = Vec::new();
    let mut in_code = false;
    for line in readme[start..end].lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if in_code {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// What a line expects: nothing, success saying a text, or a refusal
/// saying one.
#[derive(Debug)]
enum Expect {
    Nothing,
    Says(String),
    Refused(String),
}

/// Splits `command   # comment` (a `#` after blanks starts a comment).
fn split_comment(line: &str) -> (String, Expect) {
    let (command, comment) = match line.find(" # ") {
        Some(at) => (&line[..at], line[at + 3..].trim()),
        None => (line, ""),
    };
    let text = |t: &str| t.trim().trim_matches('"').to_owned();
    let expect = if let Some(rest) = comment.strip_prefix("✗ →") {
        Expect::Refused(text(rest))
    } else if let Some(rest) = comment.strip_prefix('→') {
        Expect::Says(text(rest))
    } else {
        Expect::Nothing
    };
    (command.trim().to_owned(), expect)
}

/// A store URL in a new schema of the test database.
fn fresh_store(tag: &str) -> String {
    let base = database();
    let sep = if base.contains('?') { '&' } else { '?' };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{base}{sep}schema=walk_{tag}_{}_{nanos}",
        std::process::id()
    )
}

/// One plain HTTP/1.1 GET; returns the status code and the body.
fn get(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let status = reply.split(' ').nth(1)?.parse().ok()?;
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// The folder named by `--dir` in a command line.
fn dir_of(command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    while let Some(word) = words.next() {
        if word == "--dir" {
            return words.next().map(str::to_owned);
        }
    }
    None
}

/// Reads commands that only look: they may be asked again until a busy
/// node has caught up.
fn only_looks(command: &str) -> bool {
    [
        " show ",
        " status ",
        " verify ",
        "soberana inbox ",
        "--check ",
    ]
    .iter()
    .any(|verb| format!("{command} ").contains(verb))
}

struct Jobs(Vec<Option<Child>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Walk {
    folder: std::path::PathBuf,
    env: BTreeMap<String, String>,
    ports: Vec<(String, String)>,
    jobs: Jobs,
}

impl Walk {
    fn sh(&self, command: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(&self.folder)
            .env_remove("SOBERANA_OFFICER")
            .envs(&self.env);
        cmd
    }

    fn localise(&self, line: &str) -> String {
        let mut line = line.to_owned();
        for (from, to) in &self.ports {
            line = line.replace(from.as_str(), to);
        }
        line
    }

    fn run(&self, command: &str) -> Output {
        self.sh(command).output().unwrap()
    }

    /// Starts a background job and waits until its node listens.
    fn start(&mut self, command: &str) {
        let child = self
            .sh(&format!("exec {command}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.jobs.0.push(Some(child));
        let dir = dir_of(command).unwrap_or_else(|| panic!("no --dir in `{command}`"));
        let config = std::fs::read_to_string(self.folder.join(&dir).join("node.toml")).unwrap();
        let listen = config
            .lines()
            .find_map(|l| l.strip_prefix("listen = "))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no listen address in {dir}/node.toml"));
        let start = Instant::now();
        while TcpStream::connect(&listen).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "`{command}` never listened on {listen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self, job: &str) {
        let n: usize = job.parse().unwrap_or_else(|_| panic!("`kill %{job}`"));
        let mut child = self
            .jobs
            .0
            .get_mut(n - 1)
            .and_then(Option::take)
            .unwrap_or_else(|| panic!("there is no job %{n}"));
        // SIGTERM, as `kill` sends: the node stops cleanly.
        let done = Command::new("kill")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(done.success());
        child.wait().unwrap();
    }
}

/// Runs `once` until it gives what `wanted` accepts, for up to a minute
/// when `again` allows asking again.
fn until(
    line: &str,
    again: bool,
    mut once: impl FnMut() -> (bool, String, String),
    mut wanted: impl FnMut(bool, &str, &str) -> bool,
) {
    let start = Instant::now();
    loop {
        let (success, out, err) = once();
        if wanted(success, &out, &err) {
            return;
        }
        assert!(
            again && start.elapsed() < Duration::from_secs(60),
            "README line `{line}`: exit {}, said:\n{out}\n{err}",
            if success { "0" } else { "non-zero" }
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_readme_walkthrough_runs_as_written_on_postgres() {
    let folder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"),
        folder.path().join("examples"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_soberana")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), path);
    // The stores the README exports, each in a schema of its own here.
    let stores: BTreeMap<&str, String> = [
        ("MX_STORE", fresh_store("mx")),
        ("MX_RESTORED", fresh_store("restored")),
        ("US_STORE", fresh_store("us")),
    ]
    .into_iter()
    .collect();
    let _drop = support::DropSchemas(stores.values().cloned().collect());
    let mut walk = Walk {
        folder: folder.path().to_owned(),
        env,
        ports: ["127.0.0.1:7443", "127.0.0.1:7444", "127.0.0.1:9464"]
            .into_iter()
            .map(|p| (p.to_owned(), port()))
            .collect(),
        jobs: Jobs(Vec::new()),
    };

    let mut ran = Vec::new();
    for line in walkthrough() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (command, expect) = split_comment(trimmed);
        let command = walk.localise(&command);
        if command.starts_with("sudo ") {
            // The database: the test's is SOBERANA_TEST_POSTGRES.
            continue;
        }
        if let Some(assignment) = command.strip_prefix("export ") {
            let name = assignment.split('=').next().unwrap();
            let store = stores
                .get(name)
                .unwrap_or_else(|| panic!("README exports `{name}`, which the test does not know"));
            walk.env.insert(name.to_owned(), store.clone());
            continue;
        }
        ran.push(command.clone());
        if let Some(job) = command.strip_prefix("kill %") {
            walk.kill(job);
            continue;
        }
        if let Some(background) = command.strip_suffix('&') {
            walk.start(background.trim());
            continue;
        }
        if let Some(url) = command.strip_prefix("curl -s ") {
            let Expect::Says(text) = &expect else {
                panic!("`{command}` checks nothing");
            };
            until(
                &command,
                true,
                || match get(url.trim()) {
                    Some((status, body)) => (status == 200, body, String::new()),
                    None => (false, String::new(), "no answer".into()),
                },
                |success, body, _| success && body.contains(text.as_str()),
            );
            continue;
        }
        let once = || {
            let out = walk.run(&command);
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        match &expect {
            Expect::Nothing => until(&command, true, once, |success, _, _| success),
            Expect::Says(text) => {
                // A command that acts is asked again only while it fails
                // (it then did nothing); one that only looks also while it
                // does not say the text yet.
                let looks = only_looks(&command);
                let mut first = true;
                until(&command, true, once, |success, out: &str, err: &str| {
                    let said = out.contains(text.as_str()) || err.contains(text.as_str());
                    if success && !said && !looks {
                        assert!(
                            !first,
                            "README line `{command}` succeeded without saying `{text}`:\n{out}"
                        );
                    }
                    first = false;
                    success && said
                });
            }
            Expect::Refused(text) => until(&command, false, once, |success, _, err| {
                !success && err.contains(text.as_str())
            }),
        }
    }

    // Every step ran, and left what it says.
    assert!(ran.len() >= 30, "only {} README lines ran", ran.len());
    let root = folder.path();
    assert!(
        root.join("backups/mx-1/store.postgres/index.json")
            .is_file()
    );
    let restored = std::fs::read_to_string(root.join("mx-restored/node.toml")).unwrap();
    assert!(restored.contains(&stores["MX_RESTORED"]), "{restored}");
    assert!(
        !root.join("mx-again").exists(),
        "a refused restore left a folder"
    );
    // The running node retires the old key on its own once US has the
    // card update (it looks every 2 s), so the steps after the rotation
    // may end before it has.
    let retired = root.join("mx/keys/retired");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !retired.is_dir() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(retired.is_dir(), "the old key was not retired within 60 s");
    // US moved onto PostgreSQL: its folder names the new store and holds
    // no SQLite file.
    let moved = std::fs::read_to_string(root.join("us-on-pg/node.toml")).unwrap();
    assert!(moved.contains(&stores["US_STORE"]), "{moved}");
    assert!(!root.join("us-on-pg/node.sqlite").exists());
    let shown = walk.run("soberana agreement show US --dir mx");
    assert!(String::from_utf8_lossy(&shown.stdout).contains("active (version 1)"));
}
