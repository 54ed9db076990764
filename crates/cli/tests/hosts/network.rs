//! The hosts of `hosts.rs`: two network namespaces joined to the root
//! namespace by veth pairs, named and addressed for one test run and
//! deleted when dropped, and a node run as `soberana run` inside one.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails (generous: the
/// box may be loaded; nothing here measures speed).
pub const PATIENCE: Duration = Duration::from_secs(180);

/// Names and addresses unique to this test process: the namespaces and the
/// root-side links carry the pid; the addresses are a /29 of the
/// benchmarking range 198.18.0.0/15 (RFC 2544) chosen by the pid, split in
/// a /30 per host (root side .1/.5, host side .2/.6).
pub struct Plan {
    pub mx_ns: String,
    pub us_ns: String,
    pub mx_link: String,
    pub us_link: String,
    pub mx_root: Ipv4Addr,
    pub mx_host: Ipv4Addr,
    pub us_root: Ipv4Addr,
    pub us_host: Ipv4Addr,
    /// The nodes' partner port (inside each namespace) and operator port.
    pub port: u16,
}

impl Plan {
    /// The plan of the test process `pid`.
    pub fn for_pid(pid: u32) -> Self {
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (pid % 16_384) * 8;
        let at = |offset: u32| Ipv4Addr::from(base + offset);
        Self {
            mx_ns: format!("soberana-mx-{pid}"),
            us_ns: format!("soberana-us-{pid}"),
            mx_link: format!("sbmx{pid}"),
            us_link: format!("sbus{pid}"),
            mx_root: at(1),
            mx_host: at(2),
            us_root: at(5),
            us_host: at(6),
            port: 20_000 + (pid % 20_000) as u16,
        }
    }
}

/// Runs `ip ARGS`, failing the test with what `ip` said.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (install iproute2): {e}"));
    assert!(
        out.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Runs `ip ARGS` and ignores the outcome (cleaning up).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Fails the test, saying why and how to run it, unless this process is
/// root and `ip netns` works.
pub fn require_root_and_netns() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or("unknown");
    assert!(
        euid == "0",
        "this test runs the two nodes as two hosts in network namespaces and needs root \
         (effective uid here: {euid}); run it as root, e.g. \
         `sudo -E cargo test -p soberana --test hosts` (CI runs as root)"
    );
    match Command::new("ip").args(["netns", "list"]).output() {
        Err(e) => panic!(
            "this test needs `ip netns` from iproute2 and cannot run `ip`: {e} \
             (apt-get install iproute2)"
        ),
        Ok(out) => assert!(
            out.status.success(),
            "this test needs `ip netns`, which fails here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// The namespaces and links of this run, deleted when dropped (a panic
/// included), after killing whatever still runs inside the namespaces.
pub struct Network {
    namespaces: Vec<String>,
    links: Vec<String>,
}

impl Network {
    pub fn build(plan: &Plan) -> Self {
        let mut network = Network {
            namespaces: Vec::new(),
            links: Vec::new(),
        };
        for (ns, link, root, host) in [
            (&plan.mx_ns, &plan.mx_link, plan.mx_root, plan.mx_host),
            (&plan.us_ns, &plan.us_link, plan.us_root, plan.us_host),
        ] {
            // A namespace or link named with our pid is left over from a
            // killed run of a process that had it before us.
            ip_quiet(&["netns", "del", ns]);
            ip_quiet(&["link", "del", link]);
            ip(&["netns", "add", ns]);
            network.namespaces.push(ns.clone());
            let inside = format!("{link}h");
            ip(&[
                "link", "add", link, "type", "veth", "peer", "name", &inside, "netns", ns,
            ]);
            network.links.push(link.clone());
            ip(&["addr", "add", &format!("{root}/30"), "dev", link]);
            ip(&["link", "set", link, "up"]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{host}/30"),
                "dev",
                &inside,
            ]);
            ip(&["-n", ns, "link", "set", &inside, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        network
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            ip_quiet(&["netns", "del", ns]);
        }
        for link in &self.links {
            ip_quiet(&["link", "del", link]);
        }
    }
}

/// One node, run as `soberana run` inside its namespace; killed when
/// dropped.
pub struct Host {
    pub party: &'static str,
    pub ns: String,
    pub dir: String,
    pub log: PathBuf,
    pub operator: SocketAddr,
    pub child: Option<Child>,
}

impl Host {
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_soberana")])
            .args(["run", "--dir", &self.dir])
            .env("SOBERANA_LOG", "info")
            .env_remove("SOBERANA_OFFICER")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        // `ip netns exec` execs the command in place: the child is the node
        // itself, so signals sent to it reach the node.
        let exe = PathBuf::from(format!("/proc/{}/exe", child.id()));
        let pid = child.id();
        self.child = Some(child);
        wait_until(&format!("{} node {pid} runs soberana", self.party), || {
            std::fs::read_link(&exe).is_ok_and(|p| p.ends_with("soberana"))
        });
        wait_until(&format!("{} node answers /healthz", self.party), || {
            get(self.operator, "/healthz").is_some_and(|(status, _)| status == 200)
        });
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the node runs").id()
    }

    /// SIGTERM, and the node's clean exit.
    pub fn stop(&mut self) {
        let pid = self.pid().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{} node did not stop on SIGTERM:\n{}",
                self.party,
                tail(&self.log)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "{} node exited with {status} on SIGTERM:\n{}",
            self.party,
            tail(&self.log)
        );
    }

    /// SIGKILL: no drain, no goodbye.
    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        let _ = child.wait();
    }

    pub fn metrics(&self) -> String {
        get(self.operator, "/metrics")
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One plain HTTP/1.1 GET to a node's operator endpoint (reached over the
/// veth directly, not through the relay): the status and the body.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// The value of the sample named exactly `series`, or 0 when absent.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The last lines of a node's log, for failure messages.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Waits for `check` to hold, failing the test after [`PATIENCE`].
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < PATIENCE, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
