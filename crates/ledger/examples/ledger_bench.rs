//! Runs the ledger benchmark from the command line until the `soberana bench`
//! command exposes it: `cargo run --release -p soberana-ledger --example
//! ledger_bench -- [size ...]` (default 1,000,000 and 10,000,000 entries).
//! Prints the human table, then the JSON report.

fn main() -> std::process::ExitCode {
    let mut options = soberana_ledger::bench::BenchOptions::default();
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    if !sizes.is_empty() {
        options.sizes = sizes;
    }
    match soberana_ledger::bench::run(&options) {
        Ok(report) => {
            println!("{report}");
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ledger benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
