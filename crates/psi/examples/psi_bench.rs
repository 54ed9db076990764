//! Runs the PSI benchmark from the command line until `soberana bench psi` wires it:
//! `cargo run --release -p soberana-psi --example psi_bench -- N [dh|ot]`. Prints the
//! human-readable line, then the report as one JSON line (the last line).

use std::io::Write;
use std::process::ExitCode;

use soberana_psi::Protocol;
use soberana_psi::bench;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let n: usize = match args.next().map(|a| a.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: psi_bench N [dh|ot]");
            return ExitCode::from(2);
        }
    };
    let protocol = match args.next() {
        None => Protocol::Ot,
        Some(name) => match Protocol::from_name(&name) {
            Some(p) => p,
            None => {
                eprintln!("unknown protocol `{name}`; use `dh` or `ot`");
                return ExitCode::from(2);
            }
        },
    };
    match bench::run(n, protocol) {
        Ok(report) => {
            // Written without `println!`, so a closed pipe (`| head`) ends quietly.
            let mut out = std::io::stdout().lock();
            let json = serde_json::to_string(&report).unwrap_or_default();
            let _ = writeln!(out, "{report}").and_then(|()| writeln!(out, "{json}"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
