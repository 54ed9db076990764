//! `soberana bench case`: a large exhibit between two nodes on loopback.
//!
//! Two nodes, an accepted joint investigation, one case. MX contributes an
//! exhibit of `--size` bytes (generated; 1 GB by default; memory does not
//! grow with the size, so 10 GB runs in the same memory given ~20 GB of free
//! disk for the two sealed copies), releases it under four eyes, and the US
//! fetches it over the partners' mutual TLS: the first attempt is cut a
//! third of the way, the second resumes from the last whole chunk. The US
//! custody record must then show the receipt. Printed: the contribution's
//! and the transfer's rates in wall time and in CPU seconds per GB (the CPU
//! figure holds when other work shares the machine), where the cut attempt
//! stopped and what the resumed one sent again, the process's peak resident
//! memory (both nodes), the CPU cost per GB of each stage of a chunk's path
//! measured alone, and the load average. Every file goes under one folder in
//! the temporary directory, removed at the end, on error and on Ctrl-C.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;
use soberana_case::{
    Act, AtRest, CHUNK_BYTES, CaseId, CaseKey, ExhibitDigest, SEAL_OVERHEAD, UseConditions,
};
use soberana_core::{OfficerId, Outcome, ProposalState, Timestamp};
use soberana_node::{Fetched, OfficerVerdict};

use crate::commands::demo::{introduce, make_node, wait_for};

/// `soberana bench case`.
#[derive(Debug, Args)]
pub struct BenchCaseArgs {
    /// The exhibit's size: bytes, or with a unit (`500MB`, `2GB`, `10GB`,
    /// `1GiB`). Memory does not grow with it; 10 GB needs about 20 GB of
    /// free disk for the two sealed copies.
    #[arg(long, default_value = "1GB", value_parser = parse_size)]
    pub size: u64,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// A size in bytes: a number, optionally followed by KB, MB, GB, TB
/// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 2GB or 500000000"))?;
    let bytes = value * unit_bytes as f64;
    if !(1.0..=1e15).contains(&bytes) {
        return Err(format!("`{text}`: a size is from 1 byte to 1 PB"));
    }
    Ok(bytes as u64)
}

#[derive(Debug, Serialize)]
struct CaseBench {
    bytes: u64,
    contribute_mb_s: f64,
    contribute_cpu_s_per_gb: Option<f64>,
    cut_at: u64,
    resumed_from: u64,
    resent_bytes: u64,
    transfer_mb_s: f64,
    transfer_s: f64,
    transfer_cpu_s_per_gb: Option<f64>,
    peak_memory_mib: Option<f64>,
    stages: Vec<Stage>,
    load_average: Option<String>,
}

/// The CPU cost of one stage of a chunk's path, measured alone on one
/// thread.
#[derive(Debug, Serialize)]
struct Stage {
    stage: &'static str,
    cpu_s_per_gb: f64,
}

const MB: f64 = 1_000_000.0;
const GB: f64 = 1_000_000_000.0;

/// The bench's folder, removed when it goes out of scope (an error, a
/// panic, or the end of the run).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the benchmark.
pub async fn run(args: BenchCaseArgs) -> Result<()> {
    if args.size == 0 {
        bail!("--size must be at least 1 byte");
    }
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "soberana-bench-case-{}-{}",
        std::process::id(),
        Timestamp::now().unix_millis()
    )));
    let result = tokio::select! {
        r = measure(&scratch.0, args.size) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; the bench's files are removed")),
    };
    drop(scratch);
    let report = result?;
    let cpu =
        |c: Option<f64>| c.map_or_else(|| "CPU unknown".to_owned(), |c| format!("{c:.2} CPU s/GB"));
    println!(
        "exhibit of {} bytes: contributed (SHA-256, sealed at rest) at {:.0} MB/s, {}",
        report.bytes,
        report.contribute_mb_s,
        cpu(report.contribute_cpu_s_per_gb)
    );
    println!(
        "transfer MX → US over mutual TLS, cut at byte {} and resumed from byte {} ({} bytes sent again): {:.0} MB/s ({:.2} s, {}; both attempts, from the request to the receipt: digest checked, sealed at rest on arrival and synced to disk, receipt in US custody)",
        report.cut_at,
        report.resumed_from,
        report.resent_bytes,
        report.transfer_mb_s,
        report.transfer_s,
        cpu(report.transfer_cpu_s_per_gb)
    );
    match report.peak_memory_mib {
        Some(mib) => println!("peak resident memory of the process (both nodes): {mib:.0} MiB"),
        None => println!("peak memory: not measurable on this system"),
    }
    let stages: Vec<String> = report
        .stages
        .iter()
        .map(|s| format!("{} {:.2}", s.stage, s.cpu_s_per_gb))
        .collect();
    println!("CPU s/GB of each stage alone: {}", stages.join(", "));
    if let Some(load) = &report.load_average {
        println!("load average (1, 5, 15 min) at the end: {load}");
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// CPU seconds (user + system) of this process, or of the calling thread.
fn cpu_seconds(of: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(of).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn process_cpu() -> Option<f64> {
    cpu_seconds("/proc/self/stat")
}

fn per_gb(cpu: Option<(f64, f64)>, bytes: u64) -> Option<f64> {
    cpu.map(|(before, after)| (after - before) / (bytes as f64 / GB))
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Each stage of a chunk's path alone on this thread, over 256 MiB: the
/// digest, sealing and opening at rest. What the whole transfer costs
/// beyond their sum is TLS, the copies and the file system.
fn stage_costs() -> Vec<Stage> {
    const ROUNDS: u64 = 256;
    let key = CaseKey::from_bytes([7; 32]);
    let case = CaseId::for_proposal(&soberana_core::ProposalId::from_bytes([3; 16]));
    let exhibit = ExhibitDigest::of(b"stage costs");
    let chunk: Vec<u8> = (0..CHUNK_BYTES).map(|i| (i % 251) as u8).collect();
    let bytes = ROUNDS * CHUNK_BYTES as u64;
    let mut stages = Vec::new();
    let mut time = |stage: &'static str, work: &mut dyn FnMut(u64)| {
        let before = cpu_seconds("/proc/thread-self/stat");
        for i in 0..ROUNDS {
            work(i);
        }
        let after = cpu_seconds("/proc/thread-self/stat");
        if let Some(cpu) = per_gb(before.zip(after), bytes) {
            stages.push(Stage {
                stage,
                cpu_s_per_gb: cpu,
            });
        }
    };
    let mut upload = soberana_case::Upload::new(exhibit, u64::MAX);
    time("SHA-256", &mut |_| {
        let _ = upload.push(&chunk);
    });
    let seal = key.exhibit(&case, &exhibit, AtRest::V2);
    let mut sealed = chunk.clone();
    let _ = seal.seal(0, &mut sealed);
    let mut buf = Vec::with_capacity(CHUNK_BYTES + SEAL_OVERHEAD);
    time("seal at rest", &mut |i| {
        buf.clear();
        buf.extend_from_slice(&chunk);
        let _ = std::hint::black_box(seal.seal(i, &mut buf));
    });
    time("open at rest", &mut |_| {
        buf.clear();
        buf.extend_from_slice(&sealed);
        let _ = std::hint::black_box(seal.open(0, &mut buf));
    });
    stages
}

async fn measure(dir: &Path, size: u64) -> Result<CaseBench> {
    std::fs::create_dir_all(dir)?;
    let mx = make_node(dir, "MX")?;
    let us = make_node(dir, "US")?;
    introduce(&mx, &us)?;
    crate::commands::desk::demo_officers(&mx, &us)?;
    let mx_run = mx.start().await?;
    let us_run = us.start().await?;
    let mut draft = toml::from_str(include_str!(
        "../../../../../examples/proposals/mx-joint-investigation.toml"
    ))?;
    crate::commands::demo::name_case_members(&mut draft)?;
    let jit = mx.propose(draft, None)?;
    let held = wait_for(
        &us,
        jit.id,
        &[ProposalState::AwaitingOfficer, ProposalState::Accepted],
    )
    .await?;
    let atf = OfficerId::new("atf.approver")?;
    if held.record.state == ProposalState::AwaitingOfficer {
        us.decide(
            jit.id,
            OfficerVerdict {
                officer: atf.clone(),
                outcome: Outcome::Accepted,
                reason: "benchmark".into(),
                release: Vec::new(),
            },
        )?;
    }
    wait_for(&mx, jit.id, &[ProposalState::Accepted]).await?;
    let (fgr, uif, fbi) = (
        OfficerId::new("fgr.approver")?,
        OfficerId::new("uif.approver")?,
        OfficerId::new("fbi.approver")?,
    );
    // The acceptance opens the case on both sides, with the named members.
    let case = mx.case_take(jit.id, &fgr)?;
    us.case_take(jit.id, &atf)?;

    // The exhibit: a pattern that does not repeat within a chunk, written
    // a chunk at a time.
    let file = dir.join("exhibit.bin");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let mut block = vec![0u8; 1 << 20];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut left = size;
        while left > 0 {
            for b in block.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            let n = left.min(block.len() as u64) as usize;
            out.write_all(&block[..n])?;
            left -= n as u64;
        }
        out.flush()?;
        // On disk before the clock starts, as an officer's file would be:
        // its writeback does not run into the contribution's.
        out.get_ref().sync_all()?;
    }
    let cpu_before = process_cpu();
    let started = Instant::now();
    let digest = mx.exhibit_add(
        case,
        &uif,
        &file,
        "forensic image",
        UseConditions::strict(30),
    )?;
    let contribute = started.elapsed().as_secs_f64();
    let contribute_cpu = per_gb(cpu_before.zip(process_cpu()), size);
    std::fs::remove_file(&file)?;
    mx.exhibit_release(case, digest, &[fgr.clone(), uif.clone()])?;
    for _ in 0..400 {
        let released = us.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&digest)
                .is_some_and(|x| x.status == soberana_case::ExhibitStatus::Released)
        });
        if released {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    let cpu_before = process_cpu();
    let started = Instant::now();
    let cut_at = match us.exhibit_fetch(case, &fbi, digest, Some(size / 3)).await? {
        Fetched::Cut { at, .. } => at,
        Fetched::Received { .. } => size,
    };
    let mut resumed_from = cut_at;
    let mut rounds = 0;
    loop {
        rounds += 1;
        match us.exhibit_fetch(case, &fbi, digest, None).await {
            Ok(Fetched::Received {
                resumed_from: from, ..
            }) => {
                if rounds == 1 {
                    resumed_from = from;
                }
                break;
            }
            Err(e) if e.to_string().contains("already held") => break,
            Ok(Fetched::Cut { .. }) if rounds < 5 => continue,
            Ok(Fetched::Cut { at, of }) => bail!("the transfer kept stopping: {at} of {of} bytes"),
            Err(e) => return Err(e.into()),
        }
    }
    let transfer = started.elapsed().as_secs_f64();
    let transfer_cpu = per_gb(cpu_before.zip(process_cpu()), size);
    let received = us.case(case)?.events.iter().any(|e| {
        e.ours && matches!(&e.event.act, Act::ExhibitReceived { exhibit } if *exhibit == digest)
    });
    if !received {
        bail!("the US custody record does not show the exhibit received");
    }
    mx_run.stop().await;
    us_run.stop().await;
    let stages = tokio::task::spawn_blocking(stage_costs).await?;
    Ok(CaseBench {
        bytes: size,
        contribute_mb_s: size as f64 / MB / contribute,
        contribute_cpu_s_per_gb: contribute_cpu,
        cut_at,
        resumed_from,
        resent_bytes: cut_at.saturating_sub(resumed_from),
        transfer_mb_s: size as f64 / MB / transfer,
        transfer_s: transfer,
        transfer_cpu_s_per_gb: transfer_cpu,
        peak_memory_mib: soberana_psi::bench::peak_memory().map(|b| b as f64 / (1 << 20) as f64),
        stages,
        load_average: load_average(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_and_without_units() {
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5gb"), Ok(1_500_000_000));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("10XB").is_err());
        assert!(parse_size("GB").is_err());
        assert!(parse_size("0").is_err());
    }
}
