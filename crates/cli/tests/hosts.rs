//! The exchange across real hosts: an MX and a US node, each `soberana run`
//! in a network namespace of its own (a veth pair to the root namespace,
//! no route between the two), reach each other only through an impairing
//! TCP relay that this test runs in the root namespace, one per direction,
//! bound to the root side of each pair. The relay delays every chunk, resets
//! connections at random (at once, and mid-stream after a random number of
//! bytes), and for some seconds holds every connection and forwards nothing
//! (a partition), then heals.
//!
//! While both sides send a few hundred proposals through it, the operator
//! rotates MX's signing key (the running node switches once US has the card
//! update; the test then also restarts it with SIGTERM), US suspends the agreement and later
//! resumes it, and US is killed with SIGKILL while its outbox holds
//! envelopes, and started again. Once the link heals and both outboxes are
//! empty: every proposal a `propose` queued is in the partner's inbox
//! exactly once, those that crossed the suspension on the wire included
//! (held, and sent after the resume); `propose` refused only under the
//! suspension (counted apart, not lost); both nodes compute the same
//! transparency report; both logs verify; each node's latest checkpoint,
//! covering everything, is cosigned by the partner.
//!
//! It needs root and `ip netns` (iproute2), and fails, saying so, without
//! them: `sudo -E cargo test -p soberana --test hosts -- --nocapture`
//! prints the figures. `SOBERANA_HOSTS_SEED=N` draws the relay's and the
//! senders' random numbers from seed N (each run prints its own; timing
//! still varies). The namespaces and the node processes are in
//! `hosts/network.rs`, the relay in `hosts/relay.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{ok, soberana};

#[path = "hosts/network.rs"]
mod network;
#[path = "hosts/relay.rs"]
mod relay;

use network::{Host, Network, Plan, require_root_and_netns, sample, tail, wait_until};
use relay::{Impairment, Link, relay};

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

const TERMS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/agreements/mx-us.toml"
);
/// What MX sends US (US accepts information requests under the terms).
const REQUEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/proposals/mx-information-request.toml"
);
/// What US sends MX (MX accepts border alerts under the terms).
const ALERT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/proposals/us-border-alert.toml"
);

/// Proposals each side sends at least.
const PER_SIDE: usize = 150;
/// How long the link is partitioned.
const PARTITION: Duration = Duration::from_secs(8);

fn agreement_shows(node: &str, partner: &str, text: &str) {
    wait_until(&format!("`agreement show` at {node} says `{text}`"), || {
        ok(&["agreement", "show", partner, "--dir", node]).contains(text)
    });
}

/// The ids of the proposals a node received, in its inbox (every state).
fn received(node: &str) -> Vec<String> {
    let inbox: serde_json::Value =
        serde_json::from_str(&ok(&["inbox", "--all", "--json", "--dir", node])).unwrap();
    inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["proposal"]["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------
// The traffic: one thread per side proposing as an officer would.
// ---------------------------------------------------------------------

/// What the scenario and the senders share.
#[derive(Default)]
struct Traffic {
    /// `propose` runs so far, both sides.
    attempts: AtomicUsize,
    /// Every step of the scenario is done: senders stop once they have
    /// sent their share.
    scenario_done: AtomicBool,
    /// Stop at once (the test is failing).
    abort: AtomicBool,
}

/// Stops the senders when dropped, a panic included.
struct StopTraffic(Arc<Traffic>);

impl Drop for StopTraffic {
    fn drop(&mut self) {
        self.0.abort.store(true, Ordering::SeqCst);
    }
}

/// One side's figures at the end.
struct Figures {
    attempted: usize,
    queued: usize,
    arrived: usize,
    refused_at_source: usize,
    /// Refusals `403 agreement_suspended` at the partner's intake.
    crossed_suspension: f64,
}

/// What one side's sender did.
#[derive(Default)]
struct Sent {
    /// Ids `propose` queued.
    queued: Vec<String>,
    /// `propose` refused at the source: the agreement is suspended.
    refused_at_source: usize,
    /// Anything else `propose` said when it failed.
    errors: Vec<String>,
}

fn send(node: String, file: &'static str, traffic: Arc<Traffic>, seed: u64) -> Sent {
    let mut sent = Sent::default();
    let mut rng = seed | 1;
    let mut attempts = 0;
    loop {
        let done = attempts >= PER_SIDE && traffic.scenario_done.load(Ordering::SeqCst);
        if done || traffic.abort.load(Ordering::SeqCst) {
            break;
        }
        let out = soberana(&["propose", file, "--dir", &node]);
        attempts += 1;
        traffic.attempts.fetch_add(1, Ordering::SeqCst);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            sent.queued
                .push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        } else if err.contains("suspended by") && err.contains("nothing was queued") {
            sent.refused_at_source += 1;
        } else {
            sent.errors.push(err.trim().to_owned());
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(rng % 80));
    }
    sent
}

/// Waits until both senders together have run `propose` `n` times.
fn after_attempts(traffic: &Traffic, n: usize) {
    wait_until(&format!("{n} proposals attempted"), || {
        traffic.attempts.load(Ordering::SeqCst) >= n
    });
}

// ---------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------

#[test]
fn two_hosts_exchange_every_proposal_once_through_an_impaired_link_and_restarts() {
    require_root_and_netns();
    let began = Instant::now();
    let seed = std::env::var("SOBERANA_HOSTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            getrandom::getrandom(&mut bytes).unwrap();
            u64::from_le_bytes(bytes)
        });
    println!("SOBERANA_HOSTS_SEED={seed}");

    let plan = Plan::for_pid(std::process::id());
    let network = Network::build(&plan);
    let dir = tempfile::tempdir().unwrap();

    // The relay, one listener per direction on the root side of the
    // link the sending node sits on (the only address it can reach).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let link = Link {
        to_mx: Arc::new(Impairment::new(seed)),
        to_us: Arc::new(Impairment::new(seed.rotate_left(32))),
    };
    let (to_mx, to_us) = runtime.block_on(async {
        (
            TcpListener::bind((plan.us_root, 0)).await.unwrap(),
            TcpListener::bind((plan.mx_root, 0)).await.unwrap(),
        )
    });
    let to_mx_addr = to_mx.local_addr().unwrap();
    let to_us_addr = to_us.local_addr().unwrap();
    runtime.spawn(relay(
        to_mx,
        SocketAddr::from((plan.mx_host, plan.port)),
        Arc::clone(&link.to_mx),
    ));
    runtime.spawn(relay(
        to_us,
        SocketAddr::from((plan.us_host, plan.port)),
        Arc::clone(&link.to_us),
    ));

    // Each node listens on its host's address; its card tells the partner
    // to reach it through the relay. A checkpoint every few seconds, so
    // checkpoints and cosignatures cross during everything below.
    let make = |party: &'static str, ns: &str, host: Ipv4Addr, reached_at: SocketAddr| {
        let path = dir.path().join(party.to_ascii_lowercase());
        let path_s = path.to_str().unwrap().to_owned();
        ok(&[
            "init",
            "--party",
            party,
            "--dir",
            &path_s,
            "--listen",
            &SocketAddr::from((host, plan.port)).to_string(),
            "--endpoint",
            &format!("https://{reached_at}"),
        ]);
        let operator = SocketAddr::from((host, plan.port + 1));
        let config = path.join("node.toml");
        let text = std::fs::read_to_string(&config).unwrap().replace(
            "checkpoint_interval_secs = 300",
            "checkpoint_interval_secs = 5",
        );
        assert!(text.contains("checkpoint_interval_secs = 5"), "{text}");
        std::fs::write(&config, format!("{text}operator_listen = \"{operator}\"\n")).unwrap();
        Host {
            party,
            ns: ns.to_owned(),
            dir: path_s,
            log: dir.path().join(format!("{party}.log")),
            operator,
            child: None,
        }
    };
    let mut mx = make("MX", &plan.mx_ns, plan.mx_host, to_mx_addr);
    let mut us = make("US", &plan.us_ns, plan.us_host, to_us_addr);
    support::introduce(dir.path(), &mx.dir, &us.dir);
    mx.start();
    us.start();

    // The agreement in force, over a slow but whole link.
    link.set(20, 0, 0);
    ok(&[
        "agreement",
        "propose",
        "US",
        "--terms",
        TERMS,
        "--reason",
        "terms for the exchange",
        "--dir",
        &mx.dir,
    ]);
    agreement_shows(&us.dir, "MX", "awaits acceptance");
    ok(&["agreement", "accept", "MX", "--dir", &us.dir]);
    agreement_shows(&mx.dir, "US", "active (version 1)");

    // Traffic from both sides, over a link that drops and cuts.
    link.set(20, 10, 20);
    let traffic = Arc::new(Traffic::default());
    let _stop = StopTraffic(Arc::clone(&traffic));
    let senders = [(&mx.dir, REQUEST), (&us.dir, ALERT)].map(|(node, file)| {
        let (node, traffic) = (node.clone(), Arc::clone(&traffic));
        let seed = seed.rotate_left(17) ^ file.len() as u64;
        std::thread::spawn(move || send(node, file, traffic, seed))
    });
    // What happened when, for the figures printed at the end.
    let mut steps: Vec<String> = Vec::new();
    let mut note = |what: &str| {
        steps.push(format!(
            "{:>5.1} s  after {:>3} proposals  {what}",
            began.elapsed().as_secs_f64(),
            traffic.attempts.load(Ordering::SeqCst)
        ));
    };

    // 1. MX rotates its key. The running node switches to the new one in
    //    place once US took the card update; then MX is also restarted
    //    (SIGTERM, which drains, then `run`) and must keep the new key.
    after_attempts(&traffic, 30);
    let said = ok(&["key", "rotate", "--dir", &mx.dir]);
    assert!(said.contains("announced card"), "{said}");
    note("MX rotates its key");
    wait_until("US takes MX's card update", || {
        ok(&["key", "status", "--dir", &mx.dir]).contains("every partner has it")
    });
    wait_until("the running MX switches to its new key", || {
        ok(&["key", "status", "--dir", &mx.dir]).contains("no rotation waiting")
    });
    note("US has MX's card update and MX switched; MX stops (SIGTERM)");
    mx.stop();
    mx.start();
    note("MX runs again");
    assert!(
        ok(&["key", "status", "--dir", &mx.dir]).contains("no rotation waiting"),
        "MX must keep its new key across the restart"
    );

    // 2. A partition: nothing crosses for a while, then it heals.
    after_attempts(&traffic, 80);
    link.partition(true);
    let cut_at = Instant::now();
    note("partition");
    std::thread::sleep(PARTITION);
    link.partition(false);
    let partition_secs = cut_at.elapsed().as_secs_f64();
    note("healed");

    // 3. US suspends the agreement while nothing it sends reaches MX, so
    //    MX's proposals cross the suspension on the wire: US refuses them,
    //    MX tries them again, and holds them once the act arrives. Both
    //    sides keep trying to propose (refused at the source once each
    //    knows) until US resumes it.
    after_attempts(&traffic, 130);
    link.to_mx.partition.send_replace(true);
    ok(&[
        "agreement",
        "suspend",
        "MX",
        "--reason",
        "audit of the exchange",
        "--dir",
        &us.dir,
    ]);
    note("US suspends the agreement; what US sends does not reach MX");
    wait_until("US refuses MX's proposals crossing the suspension", || {
        sample(
            &us.metrics(),
            "soberana_intake_refusals_total{code=\"agreement_suspended\"}",
        ) >= 3.0
    });
    link.to_mx.partition.send_replace(false);
    note("US's way to MX heals");
    agreement_shows(&mx.dir, "US", "suspended (version 1)");
    note("MX knows it is suspended");
    let suspended_at = traffic.attempts.load(Ordering::SeqCst);
    after_attempts(&traffic, suspended_at + 20);
    ok(&["agreement", "resume", "MX", "--dir", &us.dir]);
    note("US resumes it");
    agreement_shows(&mx.dir, "US", "active (version 1)");
    note("MX knows it is resumed");

    // 4. US is killed while its outbox holds envelopes, and started again.
    let kill_from = traffic.attempts.load(Ordering::SeqCst).max(200);
    after_attempts(&traffic, kill_from);
    let start = Instant::now();
    let mut queued_at_kill = 0.0;
    while start.elapsed() < Duration::from_secs(20) {
        queued_at_kill = sample(&us.metrics(), "soberana_outbox_queued{partner=\"MX\"}");
        if queued_at_kill > 0.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    us.kill();
    note(&format!(
        "US killed (SIGKILL) with {queued_at_kill} envelope(s) in its outbox"
    ));
    std::thread::sleep(Duration::from_secs(2));
    us.start();
    note("US runs again");
    traffic.scenario_done.store(true, Ordering::SeqCst);
    let [mx_sent, us_sent] = senders.map(|s| s.join().unwrap());
    note("traffic ends; the link heals for good");

    // The link heals for good; both outboxes drain.
    link.set(0, 0, 0);
    let drained = |host: &Host, partner: &str| {
        let metrics = host.metrics();
        !metrics.is_empty()
            && sample(
                &metrics,
                &format!("soberana_outbox_queued{{partner=\"{partner}\"}}"),
            ) == 0.0
    };
    wait_until("both outboxes drain", || {
        drained(&mx, "US") && drained(&us, "MX")
    });
    let traffic_secs = began.elapsed().as_secs_f64();

    // Every proposal queued is in the partner's inbox once (one that
    // crossed the suspension on the wire was tried again and held until the
    // resume); nothing else arrived. `propose` failed only under the
    // suspension.
    let mut figures = BTreeMap::new();
    for (sent, from, to) in [(&mx_sent, &mx, &us), (&us_sent, &us, &mx)] {
        assert!(
            sent.errors.is_empty(),
            "`propose` at {} failed otherwise than under the suspension: {:?}",
            from.party,
            sent.errors
        );
        let arrived = received(&to.dir);
        let unique: BTreeSet<&String> = arrived.iter().collect();
        assert_eq!(
            arrived.len(),
            unique.len(),
            "{} holds a proposal twice",
            to.party
        );
        let queued: BTreeSet<&String> = sent.queued.iter().collect();
        assert_eq!(queued.len(), sent.queued.len(), "an id was queued twice");
        let strangers: Vec<_> = unique.difference(&queued).collect();
        assert!(
            strangers.is_empty(),
            "{} holds proposals {} never sent: {strangers:?}",
            to.party,
            from.party
        );
        let lost: Vec<_> = queued.difference(&unique).collect();
        if let Some(first) = lost.first() {
            panic!(
                "{} of {}'s proposals never reached {}: {lost:?}\nthe first at {}:\n{}\n{} log:\n{}\n{} log:\n{}",
                lost.len(),
                from.party,
                to.party,
                from.party,
                ok(&["show", first, "--dir", &from.dir]),
                from.party,
                tail(&from.log),
                to.party,
                tail(&to.log)
            );
        }
        figures.insert(
            from.party,
            Figures {
                attempted: sent.queued.len() + sent.refused_at_source,
                queued: sent.queued.len(),
                arrived: arrived.len(),
                refused_at_source: sent.refused_at_source,
                crossed_suspension: sample(
                    &to.metrics(),
                    "soberana_intake_refusals_total{code=\"agreement_suspended\"}",
                ),
            },
        );
    }

    // Both nodes hold the same exchange, envelope for envelope.
    let report = |host: &Host, peer: &str| {
        let out = dir.path().join(format!("{}-report.json", host.party));
        ok(&[
            "report",
            "transparency",
            "--peer",
            peer,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--dir",
            &host.dir,
            "-o",
            out.to_str().unwrap(),
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    // Checkpoints and cosignatures keep crossing every few seconds, and an
    // envelope counts for its sender only once its delivery is recorded, a
    // moment after the receiver took it: read both until they agree.
    let start = Instant::now();
    let mut reads = 0;
    let (mx_report, us_report) = loop {
        let mx_report = report(&mx, "US");
        let us_report = report(&us, "MX");
        reads += 1;
        if mx_report == us_report || start.elapsed() > Duration::from_secs(60) {
            break (mx_report, us_report);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if mx_report != us_report {
        let us_file = dir.path().join("US-report.json");
        let compared = soberana(&[
            "report",
            "transparency",
            "--peer",
            "US",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--dir",
            &mx.dir,
            "--compare",
            us_file.to_str().unwrap(),
        ]);
        panic!(
            "the two nodes' transparency reports never agreed ({reads} reads):\n{}{}",
            String::from_utf8_lossy(&compared.stdout),
            String::from_utf8_lossy(&compared.stderr)
        );
    }
    println!("the transparency reports agreed at read {reads}");
    let parsed: serde_json::Value = serde_json::from_str(&mx_report).unwrap();
    assert_eq!(
        parsed["proposals"]["MX information_request"].as_u64(),
        Some(figures["MX"].arrived as u64),
        "{mx_report}"
    );
    assert_eq!(
        parsed["proposals"]["US border_alert"].as_u64(),
        Some(figures["US"].arrived as u64),
        "{mx_report}"
    );

    // Each node signs a checkpoint of everything now; the partner cosigns
    // it (the cosignature lag falls to zero with a checkpoint at least that
    // large), and both logs verify, every checkpoint and cosignature in
    // them included.
    for (host, partner) in [(&mx, "US"), (&us, "MX")] {
        let size = sample(&host.metrics(), "soberana_log_size");
        ok(&["log", "cosign", "--dir", &host.dir]);
        wait_until(
            &format!("{partner} cosigns {}'s checkpoint", host.party),
            || {
                let metrics = host.metrics();
                sample(&metrics, "soberana_checkpoint_size") >= size
                    && sample(
                        &metrics,
                        &format!("soberana_cosignature_lag_entries{{partner=\"{partner}\"}}"),
                    ) == 0.0
                    && metrics.contains("soberana_cosignature_lag_entries")
            },
        );
    }
    let mut verified = Vec::new();
    for host in [&mx, &us] {
        let said = ok(&["log", "verify", "--dir", &host.dir]);
        assert!(said.contains("log verified"), "{said}");
        verified.push(said.lines().next().unwrap_or_default().to_owned());
    }

    // The link did what it was asked to.
    assert!(
        link.total(|w| &w.dropped) > 0 && link.total(|w| &w.resets) > 0,
        "the relay reset no connection"
    );
    assert!(link.total(|w| &w.held) + link.total(|w| &w.partition_cuts) > 0);

    // The figures.
    let redeliveries = |host: &Host| {
        sample(
            &host.metrics(),
            "soberana_intake_refusals_total{code=\"duplicate\"}",
        )
    };
    let failures = |host: &Host, partner: &str| {
        sample(
            &host.metrics(),
            &format!("soberana_delivery_failures_total{{partner=\"{partner}\"}}"),
        )
    };
    println!("seed {seed}; hosts {} and {}", plan.mx_ns, plan.us_ns);
    for (party, f) in &figures {
        println!(
            "{party}: {} proposed, {} queued, {} arrived once (0 duplicates, 0 lost), \
             {} refused at the source under the suspension, \
             {} answers `403 agreement_suspended` from the partner to proposals crossing it \
             (tried again, held, delivered after the resume)",
            f.attempted, f.queued, f.arrived, f.refused_at_source, f.crossed_suspension
        );
    }
    println!(
        "relay: {} connections, {} reset as they arrived, {} reset mid-stream, \
         {} cut by the partition, {} held through it; partition {partition_secs:.1} s",
        link.total(|w| &w.connections),
        link.total(|w| &w.dropped),
        link.total(|w| &w.resets),
        link.total(|w| &w.partition_cuts),
        link.total(|w| &w.held),
    );
    println!(
        "delivery attempts retried: MX→US {}, US→MX {}; redeliveries taken as duplicates: at MX {}, at US {}",
        failures(&mx, "US"),
        failures(&us, "MX"),
        redeliveries(&mx),
        redeliveries(&us)
    );
    for step in &steps {
        println!("{step}");
    }
    for line in &verified {
        println!("{line}");
    }
    println!(
        "traffic drained after {traffic_secs:.0} s; whole run {:.0} s",
        began.elapsed().as_secs_f64()
    );
    drop(mx);
    drop(us);
    drop(network);
}
