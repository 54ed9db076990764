//! `soberana bench abuse`: what size attacks by a pinned partner cost a
//! node in memory, measured against the bound its limits promise.
//!
//! A partner node (with its real key and pinned certificate) plays rogue
//! against a running node in this process: it streams an envelope body far
//! over the limit, many such bodies at once, and answers the node's own
//! delivery with a reply far over the reply limit. For each, the process's
//! peak resident memory is reset (`/proc/self/clear_refs`), the attack run,
//! and the growth of the peak (`VmHWM` against `VmRSS` before) compared with
//! the bound the node's `[limits]` imply. The attacker's own buffers are a
//! few 64 KiB chunks, so what grows is the attacked node.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::node::Node;
use crate::{NodeError, tls};

const MIB: u64 = 1024 * 1024;

/// Room for what the attack costs beside the bounded buffers: connection
/// state, TLS records, a refusal's row and log entry, allocator slack.
const SLACK: u64 = 16 * MIB;

/// One attack and what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct AbuseCase {
    /// What the partner did.
    pub attack: String,
    /// Bytes the partner offered.
    pub offered_bytes: u64,
    /// Bytes the partner got to write before the node stopped reading.
    pub written_bytes: u64,
    /// Growth of the process's peak resident memory during the attack.
    pub peak_growth_bytes: u64,
    /// The growth the node's limits allow.
    pub bound_bytes: u64,
    /// What the node answered (or did).
    pub answer: String,
    /// Seconds the attack lasted.
    pub seconds: f64,
}

impl AbuseCase {
    /// Whether memory stayed within the bound.
    pub fn within_bound(&self) -> bool {
        self.peak_growth_bytes <= self.bound_bytes
    }
}

/// Every attack of a run.
#[derive(Debug, Clone, Serialize)]
pub struct AbuseReport {
    /// The attacks, in the order run.
    pub cases: Vec<AbuseCase>,
    /// Whether the peak could be reset before each attack (if not, each
    /// growth is measured against the peak of everything before it, and
    /// can only read low).
    pub peak_reset: bool,
}

impl std::fmt::Display for AbuseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.cases {
            writeln!(
                f,
                "{:<52} offered {:>6} MiB, written {:>7.1} MiB, peak RSS +{:>6.1} MiB (bound {:>5.0} MiB: {}), {:.2} s; {}",
                c.attack,
                c.offered_bytes / MIB,
                c.written_bytes as f64 / MIB as f64,
                c.peak_growth_bytes as f64 / MIB as f64,
                c.bound_bytes as f64 / MIB as f64,
                if c.within_bound() { "held" } else { "EXCEEDED" },
                c.seconds,
                c.answer
            )?;
        }
        if !self.peak_reset {
            writeln!(
                f,
                "note: /proc/self/clear_refs could not reset the peak; growth is against the earlier peak"
            )?;
        }
        Ok(())
    }
}

/// Resident memory now and at its peak, bytes, from `/proc/self/status`.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak to the current resident memory (Linux: writing 5 to
/// `clear_refs`). Returns whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn bench_error(detail: impl std::fmt::Display) -> NodeError {
    NodeError::Tls(format!("abuse benchmark: {detail}"))
}

/// Streams a body of `size` bytes to `target`'s envelope endpoint as
/// `partner`, for as long as the node reads; returns the bytes written and
/// the status line the node answered with.
async fn oversized_body(partner: &Node, target: &Node, size: u64) -> (u64, String) {
    let Ok(stream) = partner.connect_raw(target.party()).await else {
        return (0, "no connection".into());
    };
    let (mut read, mut write) = tokio::io::split(stream);
    let head = format!(
        "POST /v1/envelopes HTTP/1.1\r\nhost: {}\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\n\r\n",
        target.party()
    );
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    let writer = tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        while sent < size {
            let n = chunk.len().min((size - sent) as usize);
            if write
                .write_all(chunk.get(..n).unwrap_or(&chunk))
                .await
                .is_err()
            {
                return;
            }
            sent += n as u64;
            counter.store(sent, Ordering::Relaxed);
        }
    });
    let mut answer = vec![0u8; 512];
    let status = match tokio::time::timeout(Duration::from_secs(60), read.read(&mut answer)).await {
        Ok(Ok(n)) if n > 0 => String::from_utf8_lossy(answer.get(..n).unwrap_or(&[]))
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        _ => "closed without an answer".into(),
    };
    writer.abort();
    (written.load(Ordering::Relaxed), status)
}

/// Plays `partner`'s node at its pinned address and certificate and
/// answers the first delivery it gets with a reply of `size` bytes,
/// written for as long as the other side reads. Returns the bytes written.
async fn flood_reply(partner: &Node, size: u64) -> Result<u64, NodeError> {
    let config = tls::server_config(&partner.tls(), partner_pins(partner))?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(partner.config().listen)
        .await
        .map_err(bench_error)?;
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .map_err(|_| bench_error("the node delivered nothing within 30 s"))?
        .map_err(bench_error)?;
    let mut tls = acceptor.accept(tcp).await.map_err(bench_error)?;
    // The request: its headers, then its body by length.
    let mut request = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let (head_end, length) = loop {
        let n = tls.read(&mut buf).await.map_err(bench_error)?;
        if n == 0 {
            return Err(bench_error("the node hung up before its request ended"));
        }
        request.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(request.get(..i).unwrap_or(&[])).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while request.len() < head_end + length {
        let n = tls.read(&mut buf).await.map_err(bench_error)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
    tls.write_all(head.as_bytes()).await.map_err(bench_error)?;
    let chunk = vec![b'x'; 64 * 1024];
    let mut written = 0u64;
    while written < size {
        let n = chunk.len().min((size - written) as usize);
        if tls
            .write_all(chunk.get(..n).unwrap_or(&chunk))
            .await
            .is_err()
        {
            break;
        }
        written += n as u64;
    }
    Ok(written)
}

/// The pins a partner's node accepts: its own partners' certificates.
fn partner_pins(partner: &Node) -> tls::PinSet {
    let pins: std::collections::HashSet<[u8; 32]> = partner
        .peers()
        .iter()
        .map(|c| c.tls_cert_sha256.0)
        .collect();
    Arc::new(std::sync::RwLock::new(pins))
}

/// Runs the attacks of `partner` (not running) against `target` (not yet
/// started; it is started and stopped here): one body of `size` bytes,
/// `concurrent` such bodies at once, and a reply of `size` bytes.
pub async fn run(
    target: &Node,
    partner: &Node,
    size: u64,
    concurrent: usize,
) -> Result<AbuseReport, NodeError> {
    let limits = target.config().limits.clone();
    let envelope = target.config().max_envelope_bytes as u64 + 1;
    // An oversized body is read to the limit and one byte more, and that
    // many zero bytes are hashed for its refusal record: twice the limit.
    let per_body = 2 * envelope;
    let running = target.start().await?;
    let mut cases = Vec::new();
    let mut peak_reset = true;
    let mut measure = |attack: String,
                       offered: u64,
                       bound: u64,
                       started: Instant,
                       before: u64,
                       written: u64,
                       answer: String| {
        let (_, peak) = memory();
        cases.push(AbuseCase {
            attack,
            offered_bytes: offered,
            written_bytes: written,
            peak_growth_bytes: peak.saturating_sub(before),
            bound_bytes: bound,
            answer,
            seconds: started.elapsed().as_secs_f64(),
        });
    };

    peak_reset &= reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let (written, answer) = oversized_body(partner, target, size).await;
    measure(
        "one envelope body far over the limit".into(),
        size,
        per_body + SLACK,
        started,
        before,
        written,
        answer,
    );

    peak_reset &= reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let mut attacks = tokio::task::JoinSet::new();
    for _ in 0..concurrent {
        let (partner, target) = (partner.clone(), target.clone());
        attacks.spawn(async move { oversized_body(&partner, &target, size).await });
    }
    let (mut written, mut answers) = (0u64, std::collections::BTreeMap::new());
    while let Some(Ok((w, answer))) = attacks.join_next().await {
        written += w;
        *answers.entry(answer).or_insert(0usize) += 1;
    }
    let answer = answers
        .iter()
        .map(|(a, n)| format!("{n}× {a}"))
        .collect::<Vec<_>>()
        .join(", ");
    let served = concurrent.min(limits.max_connections_per_partner) as u64;
    measure(
        format!("{concurrent} such bodies at once"),
        size * concurrent as u64,
        served * per_body + SLACK,
        started,
        before,
        written,
        answer,
    );

    peak_reset &= reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    target.checkpoint_and_request_cosignatures()?;
    let written = flood_reply(partner, size).await?;
    // The delivery is marked failed once the node has hung up.
    let mut failed = false;
    for _ in 0..100 {
        failed = target
            .store()
            .due_deliveries(soberana_core::Timestamp::from_unix_millis(i64::MAX), 10)?
            .iter()
            .any(|d| d.attempts > 0);
        if failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    measure(
        "a reply far over the reply limit".into(),
        size,
        limits.max_reply_bytes as u64 + SLACK,
        started,
        before,
        written,
        if failed {
            "delivery failed, to be retried".into()
        } else {
            "delivery not yet marked".into()
        },
    );
    running.stop().await;
    Ok(AbuseReport { cases, peak_reset })
}
