//! The `soberana` binary: thin glue over the library crates.
//!
//! `main` parses the command line, runs one command and turns any error
//! into a single line on standard error and a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod logformat;
mod policy;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::init_logging(cli.verbose, cli.log_format);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
