//! Runs the record-linkage benchmark without the CLI:
//! `cargo run --release -p soberana-linkage --example pprl_bench -- [--json] [--febrl DIR] [--exhaustive N] [--blocked N]`.

use soberana_linkage::bench::{BenchOptions, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = BenchOptions::default();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--febrl" => options.febrl_dir = args.next().map(Into::into),
            "--exhaustive" => options.exhaustive_n = args.next().unwrap_or_default().parse()?,
            "--blocked" => options.blocked_n = args.next().unwrap_or_default().parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let report = run(&options)?;
    print!("{report}");
    if json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
