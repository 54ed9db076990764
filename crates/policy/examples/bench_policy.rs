//! Runs the policy benchmark, as `soberana bench policy` does:
//! `cargo run --release -p soberana-policy --example bench_policy [-- --json]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let report = soberana_policy::bench::run(&soberana_policy::bench::BenchOptions::default())?;
    if std::env::args().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}
