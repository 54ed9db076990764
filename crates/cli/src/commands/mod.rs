//! One function per command; `run` picks it.

use anyhow::Result;

use crate::cli::{BenchCommand, Cli, Command, MatchCommand};

mod bench;
mod demo;
pub(crate) mod desk;
pub mod finance;
pub mod firearms;
mod log;
mod matching;
mod node;
pub(crate) mod officer;
mod policy;

/// Logs go to standard error; `-v` raises the level. Key material is never
/// logged anywhere in soberana, whatever the level.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOBERANA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
        Command::Init(args) => node::init(args),
        Command::Run(dir) => runtime()?.block_on(node::serve(dir)),
        Command::Card(cmd) => node::card(cmd),
        Command::Peer(cmd) => node::peer(cmd),
        Command::Propose(args) => node::propose(args),
        Command::Inbox(args) => node::inbox(args),
        Command::Outbox(args) => node::outbox(args),
        Command::Show(args) => node::show(args),
        Command::Decide(args) => node::decide(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Log(cmd) => log::run(cmd),
        Command::Bench(BenchCommand::Exchange(args)) => runtime()?.block_on(bench::exchange(args)),
        Command::Bench(BenchCommand::Policy(args)) => bench::policy(args),
        Command::Bench(BenchCommand::Psi(args)) => bench::psi(args),
        Command::Bench(BenchCommand::Ledger(args)) => bench::ledger(args),
        Command::Bench(BenchCommand::Pprl(args)) => bench::pprl(args),
        Command::Desk(args) => runtime()?.block_on(desk::run(args)),
        Command::Officer(cmd) => officer::run(cmd),
        Command::Bench(BenchCommand::Finance(args)) => finance::bench(args),
        Command::Finance(cmd) => finance::run(cmd),
        Command::Firearms(cmd) => firearms::run(cmd),
        Command::Bench(BenchCommand::Trace(args)) => firearms::bench(args),
        Command::Match(MatchCommand::Ids(args)) => matching::ids(args),
        Command::Match(MatchCommand::Persons(args)) => matching::persons(args),
        Command::Match(MatchCommand::Hold(args)) => matching::hold(args),
    }
}
