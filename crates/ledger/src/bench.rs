//! Ledger benchmarks as library code, so the `soberana bench` command can run
//! them: appends per second in group-commit batches into the in-memory log,
//! inclusion and consistency proof generation and verification (median over
//! many proofs) at each requested size, and a full streaming audit that
//! recomputes every leaf hash and the tree from the stored entries.
//!
//! One log is built up to the largest size and every smaller size is
//! measured on a prefix of it (a tree of the first n entries), so a
//! 10-million-entry run appends 10 million entries once.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::audit::audit_log;
use crate::entry::{EnvelopeRecord, LogEntry};
use crate::hash::sha256;
use crate::log::{Log, LogError};
use crate::note::{NoteSigner, SignatureType};
use crate::storage::{LedgerStorage, MemoryStorage, stream_leaves};
use crate::tree::{verify_consistency, verify_inclusion};

/// What to measure.
#[derive(Debug, Clone, Serialize)]
pub struct BenchOptions {
    /// Tree sizes at which proofs and audits are measured (ascending).
    pub sizes: Vec<u64>,
    /// Entries per append batch (one storage transaction each).
    pub batch: usize,
    /// Proofs generated and verified per size; the median is reported.
    pub proofs: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            sizes: vec![1_000_000, 10_000_000],
            batch: 1000,
            proofs: 10_000,
        }
    }
}

/// Append throughput.
#[derive(Debug, Clone, Serialize)]
pub struct AppendFigures {
    /// Entries appended.
    pub entries: u64,
    /// Entries per batch.
    pub batch: usize,
    /// Time spent inside `Log::append`, seconds.
    pub seconds: f64,
    /// Entries per second.
    pub per_second: f64,
    /// Mean canonical entry size, bytes.
    pub mean_entry_bytes: f64,
}

/// Figures at one tree size.
#[derive(Debug, Clone, Serialize)]
pub struct SizeFigures {
    /// Tree size.
    pub size: u64,
    /// Proofs measured.
    pub proofs: usize,
    /// Median inclusion-proof generation time from stored nodes, µs.
    pub inclusion_generate_median_us: f64,
    /// Median inclusion-proof verification time, µs.
    pub inclusion_verify_median_us: f64,
    /// Largest inclusion proof seen, bytes.
    pub inclusion_proof_max_bytes: usize,
    /// ⌈log2 n⌉ × 32: the bound a proof must not exceed.
    pub inclusion_proof_bound_bytes: usize,
    /// Median consistency-proof generation time (random older size), µs.
    pub consistency_generate_median_us: f64,
    /// Median consistency-proof verification time, µs.
    pub consistency_verify_median_us: f64,
    /// Full audit of the first `size` entries (stream, rehash, rebuild, check the checkpoint), seconds.
    pub audit_seconds: f64,
    /// Entries audited per second.
    pub audit_per_second: f64,
    /// Processor time the audit used, all threads, seconds (Linux only).
    /// Compare with `audit_seconds`: on a busy machine wall time is larger.
    pub audit_cpu_seconds: Option<f64>,
}

/// The whole benchmark report.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The options used.
    pub options: BenchOptions,
    /// Append throughput while building the log.
    pub append: AppendFigures,
    /// Per-size figures.
    pub sizes: Vec<SizeFigures>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.append;
        writeln!(
            f,
            "ledger append: {} entries in batches of {} in {:.2} s = {:.0} entries/s (mean entry {:.0} B)",
            a.entries, a.batch, a.seconds, a.per_second, a.mean_entry_bytes
        )?;
        writeln!(
            f,
            "{:>12} {:>10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10} {:>14}",
            "size",
            "incl gen",
            "incl ver",
            "proof B/max",
            "cons gen",
            "cons ver",
            "audit s",
            "audit cpu",
            "audit/s"
        )?;
        for s in &self.sizes {
            writeln!(
                f,
                "{:>12} {:>8.2}µs {:>8.2}µs {:>5}/{:<6} {:>8.2}µs {:>8.2}µs {:>10.2} {:>10} {:>14.0}",
                s.size,
                s.inclusion_generate_median_us,
                s.inclusion_verify_median_us,
                s.inclusion_proof_max_bytes,
                s.inclusion_proof_bound_bytes,
                s.consistency_generate_median_us,
                s.consistency_verify_median_us,
                s.audit_seconds,
                s.audit_cpu_seconds
                    .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2}")),
                s.audit_per_second
            )?;
        }
        Ok(())
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The audit of an untouched log failed, which means a bug.
    #[error("the audit of the benchmark log failed: {0}")]
    Audit(String),
    /// Options were unusable.
    #[error("benchmark options are not usable: {0}")]
    Options(&'static str),
}

/// A typical entry: an envelope header, about 140 bytes encoded.
fn sample_entry(i: u64) -> LogEntry {
    LogEntry::EnvelopeReceived(EnvelopeRecord {
        envelope_id: format!("0192f3c4-7a1b-7c3d-9e8f-{i:012x}"),
        sender: "US".to_owned(),
        recipient: "MX".to_owned(),
        sequence: i,
        time_ms: 1_763_800_000_000 + i,
        body_digest: sha256(&i.to_be_bytes()),
    })
}

/// A small deterministic generator (xorshift64*) so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort_unstable();
    samples
        .get(samples.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Processor time of this process so far (user + system, all threads),
/// from `/proc/self/stat` in clock ticks of 1/100 s; `None` off Linux.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: fields are
    // counted after the last `)`, where field 3 (state) comes first.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

fn ceil_log2(n: u64) -> usize {
    if n <= 1 {
        0
    } else {
        (64 - (n - 1).leading_zeros()) as usize
    }
}

/// Runs the benchmark. Memory use is about 200 bytes per entry of the
/// largest size (entries and stored nodes), so 10 million entries need ~2 GB.
pub fn run(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    let mut sizes = options.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.first().is_none_or(|s| *s == 0) || options.batch == 0 || options.proofs == 0 {
        return Err(BenchError::Options(
            "sizes, batch and proofs must all be positive",
        ));
    }
    let signer = NoteSigner::from_seed("bench.example/ledger", SignatureType::Ed25519, &[42; 32])
        .map_err(|_| BenchError::Options("benchmark key name"))?;
    let verifier = signer.verifier();
    let mut log = Log::open(MemoryStorage::new(), signer)?;

    let mut appending = Duration::ZERO;
    let mut bytes = 0u64;
    for &target in &sizes {
        while log.size() < target {
            let start = log.size();
            let n = (target - start).min(options.batch as u64);
            let batch: Vec<LogEntry> = (start..start + n).map(sample_entry).collect();
            let t = Instant::now();
            log.append(&batch)?;
            appending += t.elapsed();
            bytes += batch
                .iter()
                .map(|e| e.encode().map_or(0, |b| b.len() as u64))
                .sum::<u64>();
        }
        log.sign_checkpoint()?;
    }
    let total = log.size();
    let append = AppendFigures {
        entries: total,
        batch: options.batch,
        seconds: appending.as_secs_f64(),
        per_second: total as f64 / appending.as_secs_f64().max(1e-9),
        mean_entry_bytes: bytes as f64 / total.max(1) as f64,
    };

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut figures = Vec::new();
    for &size in &sizes {
        let root = log.root_at(size)?;
        let (mut gen_t, mut ver_t, mut cgen_t, mut cver_t) = (vec![], vec![], vec![], vec![]);
        let mut max_bytes = 0;
        for _ in 0..options.proofs {
            let index = rng.below(size);
            let leaf = log.leaf(index)?.leaf_hash;
            let t = Instant::now();
            let proof = log.inclusion_proof(index, size)?;
            gen_t.push(t.elapsed());
            max_bytes = max_bytes.max(proof.len() * 32);
            let t = Instant::now();
            let ok = verify_inclusion(index, size, &leaf, &proof, &root);
            ver_t.push(t.elapsed());
            ok.map_err(LogError::from)?;

            let older = 1 + rng.below(size);
            let older_root = log.root_at(older)?;
            let t = Instant::now();
            let proof = log.consistency_proof(older, size)?;
            cgen_t.push(t.elapsed());
            let t = Instant::now();
            let ok = verify_consistency(older, size, &proof, &older_root, &root);
            cver_t.push(t.elapsed());
            ok.map_err(LogError::from)?;
        }

        let checkpoints: Vec<_> = log
            .storage()
            .checkpoints()
            .map_err(LogError::from)?
            .into_iter()
            .filter(|c| c.size <= size)
            .collect();
        let cpu = process_cpu_seconds();
        let t = Instant::now();
        let leaves = stream_leaves(log.storage(), 1 << 16)
            .take_while(|l| l.as_ref().map_or(true, |l| l.index < size));
        let report = audit_log(leaves, &checkpoints, &[], &verifier, &[])
            .map_err(|e| BenchError::Audit(e.to_string()))?;
        let audit_seconds = t.elapsed().as_secs_f64();
        let audit_cpu_seconds = cpu.zip(process_cpu_seconds()).map(|(a, b)| b - a);
        if report.size != size || report.root != root {
            return Err(BenchError::Audit(format!(
                "audited {} entries, expected {size}",
                report.size
            )));
        }
        figures.push(SizeFigures {
            size,
            proofs: options.proofs,
            inclusion_generate_median_us: median_us(gen_t),
            inclusion_verify_median_us: median_us(ver_t),
            inclusion_proof_max_bytes: max_bytes,
            inclusion_proof_bound_bytes: ceil_log2(size) * 32,
            consistency_generate_median_us: median_us(cgen_t),
            consistency_verify_median_us: median_us(cver_t),
            audit_seconds,
            audit_per_second: size as f64 / audit_seconds.max(1e-9),
            audit_cpu_seconds,
        });
    }
    Ok(BenchReport {
        options: options.clone(),
        append,
        sizes: figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_run_reports_consistent_figures() {
        let report = run(&BenchOptions {
            sizes: vec![1000, 100, 1000],
            batch: 64,
            proofs: 50,
        })
        .unwrap();
        assert_eq!(report.append.entries, 1000);
        assert_eq!(report.sizes.len(), 2);
        for s in &report.sizes {
            assert!(s.inclusion_proof_max_bytes <= s.inclusion_proof_bound_bytes);
        }
        assert_eq!(report.sizes[1].inclusion_proof_bound_bytes, 320);
        let text = report.to_string();
        assert!(text.contains("entries/s"), "{text}");
        assert!(
            serde_json::to_string(&report)
                .unwrap()
                .contains("audit_seconds")
        );
    }

    #[test]
    fn unusable_options_are_refused() {
        for o in [
            BenchOptions {
                sizes: vec![],
                ..BenchOptions::default()
            },
            BenchOptions {
                sizes: vec![0],
                ..BenchOptions::default()
            },
            BenchOptions {
                batch: 0,
                ..BenchOptions::default()
            },
        ] {
            assert!(matches!(run(&o), Err(BenchError::Options(_))));
        }
    }
}
