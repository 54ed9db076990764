//! A stand-in command line for the finance engine until the `soberana`
//! binary wires it: generate ledgers as CSV, run the benchmark, and play
//! the cross-border demo (trace in the US, continuation in Mexico, stitched
//! flow drawn as SVG and JSON).
//!
//! ```text
//! cargo run --release -p soberana-finance --example finance -- generate --n 1000000 --out DIR [--seed S] [--country MX]
//! cargo run --release -p soberana-finance --example finance -- bench [--n N] [--threads T] [--independent-n N] [--independent-seed S] [--json]
//! cargo run --release -p soberana-finance --example finance -- demo --out DIR [--n N]
//! ```

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use soberana_finance::bench::{BenchOptions, run};
use soberana_finance::continuation::{DisclosurePolicy, PseudonymKey, answer, requests, stitch};
use soberana_finance::generate::{self, GenerateOptions};
use soberana_finance::svg::{SvgOptions, render};
use soberana_finance::typology::TypologyConfig;
use soberana_finance::{Country, Seed, TraceOptions, trace};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = arg(&args, "--n").map_or(Ok(1_000_000), |v| v.parse())?;
    let seed: u64 = arg(&args, "--seed").map_or(Ok(1), |v| v.parse())?;
    let out = PathBuf::from(arg(&args, "--out").unwrap_or_else(|| "finance-out".into()));
    match args.first().map(String::as_str) {
        Some("generate") => {
            std::fs::create_dir_all(&out)?;
            let country = arg(&args, "--country")
                .map(|c| Country::new(&c))
                .transpose()?;
            let opts = GenerateOptions {
                seed,
                transactions: n,
                only_country: country,
                ..GenerateOptions::default()
            };
            let w = |name: &str| -> std::io::Result<BufWriter<File>> {
                Ok(BufWriter::with_capacity(
                    1 << 20,
                    File::create(out.join(name))?,
                ))
            };
            let summary = generate::write(&opts, w("transactions.csv")?)?;
            generate::write_accounts(&opts, w("accounts.csv")?, w("holders.csv")?)?;
            generate::write_reports(&opts, w("reports.csv")?)?;
            serde_json::to_writer_pretty(w("summary.json")?, &summary)?;
            println!(
                "{} transactions, {} accounts, {} planted patterns → {}",
                summary.transactions,
                summary.accounts,
                summary.planted.len(),
                out.display()
            );
            if let Some((c, _)) = summary.scenario.first() {
                println!("demo collector: {c}");
            }
        }
        Some("bench") => {
            let scan_threads: usize = arg(&args, "--threads").map_or(Ok(1), |v| v.parse())?;
            let independent_transactions: u64 =
                arg(&args, "--independent-n").map_or(Ok(2_000_000), |v| v.parse())?;
            let independent_seed: u64 =
                arg(&args, "--independent-seed").map_or(Ok(2), |v| v.parse())?;
            let report = run(&BenchOptions {
                transactions: n,
                seed,
                scan_threads,
                independent_transactions,
                independent_seed,
                ..BenchOptions::default()
            })?;
            if args.iter().any(|a| a == "--json") {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{report}");
            }
        }
        Some("demo") => {
            std::fs::create_dir_all(&out)?;
            let base = GenerateOptions {
                seed,
                transactions: n,
                ..GenerateOptions::default()
            };
            let (us, summary) = generate::build_graph(&GenerateOptions {
                only_country: Some(Country::US),
                ..base.clone()
            })?;
            let (mx, _) = generate::build_graph(&GenerateOptions {
                only_country: Some(Country::MX),
                ..base
            })?;
            let (collector, _) = summary.scenario.first().cloned().ok_or("no demo network")?;
            let flow0 = trace(
                &us,
                &[Seed {
                    account: collector.clone(),
                    amount: None,
                }],
                &TraceOptions::forward(Country::US),
            )?;
            let mut flow = flow0.clone();
            let key = PseudonymKey::new([42u8; 32]);
            for req in requests(&flow0, Country::MX, 30 * 86_400, 4, "US-FINCEN-1") {
                let ans = answer(
                    &mx,
                    &req,
                    Country::MX,
                    &key,
                    &DisclosurePolicy::default(),
                    &TypologyConfig::default(),
                )?;
                println!("request:\n{}", serde_json::to_string_pretty(&req)?);
                println!("answer:\n{}", serde_json::to_string_pretty(&ans)?);
                stitch(&mut flow, &req, &ans)?;
            }
            let svg = render(
                &flow,
                &SvgOptions {
                    title: format!("Follow the money from {collector}"),
                    ..SvgOptions::default()
                },
            );
            std::fs::write(out.join("flow.svg"), svg)?;
            std::fs::write(out.join("flow.json"), flow.to_json())?;
            println!("flow drawn to {}", out.join("flow.svg").display());
        }
        _ => {
            eprintln!(
                "usage: finance generate|bench|demo [--n N] [--seed S] [--out DIR] [--country CC] [--json]"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
