//! `soberana bench case`: a large exhibit between two nodes on loopback.
//!
//! Two nodes, an accepted joint investigation, one case. MX contributes an
//! exhibit of `--size` bytes (generated; 1 GB by default; memory does not
//! grow with the size, so 10 GB runs in the same memory given ~20 GB of free
//! disk for the two sealed copies), releases it under four eyes, and the US
//! fetches it over the partners' mutual TLS: the first attempt is cut a
//! third of the way, the second resumes from the last whole chunk. Printed:
//! the contribution's rate (hash and seal at rest), the transfer's rate
//! (serve, TLS, hash, seal at rest on the receiver), and the process's peak
//! memory, which holds both nodes.

use std::io::Write;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;
use soberana_case::UseConditions;
use soberana_core::{OfficerId, Outcome, ProposalState, Timestamp};
use soberana_node::{Fetched, OfficerVerdict};

use crate::commands::demo::{introduce, make_node, wait_for};

/// `soberana bench case`.
#[derive(Debug, Args)]
pub struct BenchCaseArgs {
    /// The exhibit's size in bytes (default 1 GB). Memory does not grow with
    /// it; 10000000000 (10 GB) needs about 20 GB of free disk for the two
    /// sealed copies.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub size: u64,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct CaseBench {
    bytes: u64,
    contribute_mb_s: f64,
    cut_at: u64,
    transfer_mb_s: f64,
    transfer_s: f64,
    peak_memory_mib: Option<f64>,
}

const MB: f64 = 1_000_000.0;

/// Runs the benchmark.
pub async fn run(args: BenchCaseArgs) -> Result<()> {
    if args.size == 0 {
        bail!("--size must be at least 1 byte");
    }
    let dir = std::env::temp_dir().join(format!(
        "soberana-bench-case-{}",
        Timestamp::now().unix_millis()
    ));
    let result = measure(&dir, args.size).await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    println!(
        "exhibit of {} bytes: contributed (SHA-256, sealed at rest) at {:.0} MB/s",
        report.bytes, report.contribute_mb_s
    );
    println!(
        "transfer MX → US over mutual TLS, cut at byte {} and resumed: {:.0} MB/s ({:.2} s, digest checked, sealed at rest on arrival)",
        report.cut_at, report.transfer_mb_s, report.transfer_s
    );
    match report.peak_memory_mib {
        Some(mib) => println!("peak memory of the process (both nodes): {mib:.0} MiB"),
        None => println!("peak memory: not measurable on this system"),
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

async fn measure(dir: &std::path::Path, size: u64) -> Result<CaseBench> {
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
    }
    let started = Instant::now();
    let digest = mx.exhibit_add(
        case,
        &uif,
        &file,
        "forensic image",
        UseConditions::strict(30),
    )?;
    let contribute = started.elapsed().as_secs_f64();
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

    let started = Instant::now();
    let cut_at = match us.exhibit_fetch(case, &fbi, digest, Some(size / 3)).await? {
        Fetched::Cut { at, .. } => at,
        Fetched::Received { .. } => size,
    };
    let mut rounds = 0;
    loop {
        rounds += 1;
        match us.exhibit_fetch(case, &fbi, digest, None).await {
            Ok(Fetched::Received { .. }) => break,
            Err(e) if e.to_string().contains("already held") => break,
            Ok(Fetched::Cut { .. }) if rounds < 5 => continue,
            Ok(Fetched::Cut { at, of }) => bail!("the transfer kept stopping: {at} of {of} bytes"),
            Err(e) => return Err(e.into()),
        }
    }
    let transfer = started.elapsed().as_secs_f64();
    mx_run.stop().await;
    us_run.stop().await;
    Ok(CaseBench {
        bytes: size,
        contribute_mb_s: size as f64 / MB / contribute,
        cut_at,
        transfer_mb_s: size as f64 / MB / transfer,
        transfer_s: transfer,
        peak_memory_mib: soberana_psi::bench::peak_memory().map(|b| b as f64 / (1 << 20) as f64),
    })
}
