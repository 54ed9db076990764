//! One function per command; `run` picks it.

use anyhow::Result;

use crate::cli::{BenchCommand, Cli, Command, MatchCommand};

pub(crate) mod agreement;
pub(crate) mod backup;
mod bench;
mod body;
pub mod case;
mod demo;
pub(crate) mod desk;
pub mod finance;
pub mod firearms;
pub(crate) mod key;
mod log;
mod matching;
mod node;
pub(crate) mod officer;
mod policy;
pub(crate) mod report;
pub(crate) mod standing;

/// Logs go to standard error; `-v` raises the level. Key material is never
/// logged anywhere in soberana, whatever the level.
pub fn init_logging(verbose: u8, format: crate::logformat::LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOBERANA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour codes only on a terminal: a service manager's log file or a
    // pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        crate::logformat::LogFormat::Text => builder.try_init(),
        crate::logformat::LogFormat::Json => builder
            .with_ansi(false)
            .event_format(crate::logformat::JsonLines)
            .try_init(),
    };
}

/// Serves the operator endpoint when the node's configuration names an
/// address for it, and says where.
pub async fn serve_operator(
    node: &soberana_node::Node,
) -> Result<Option<soberana_node::OperatorEndpoint>> {
    let Some(addr) = node.config().operator_listen else {
        return Ok(None);
    };
    let endpoint = node.serve_operator(addr).await?;
    println!(
        "operator endpoint on http://{} (/healthz, /readyz, /metrics)",
        endpoint.addr
    );
    Ok(Some(endpoint))
}

/// Waits until the process is asked to stop: Ctrl-C at a terminal, or
/// SIGTERM from a service manager. Either way the caller stops its node
/// cleanly (in-flight deliveries finish or stay queued, nothing is lost).
pub async fn stop_requested() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
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
        Command::Backup(args) => backup::backup(args),
        Command::Report(cmd) => report::run(cmd),
        Command::Restore(args) => backup::restore(args),
        Command::Propose(args) => node::propose(args),
        Command::Inbox(args) => node::inbox(args),
        Command::Outbox(args) => node::outbox(args),
        Command::Show(args) => node::show(args),
        Command::Decide(args) => node::decide(args),
        Command::Confirm(args) => node::confirm(args),
        Command::Withdraw(args) => node::withdraw(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Log(cmd) => log::run(cmd),
        Command::Bench(BenchCommand::Exchange(args)) => runtime()?.block_on(bench::exchange(args)),
        Command::Bench(BenchCommand::Policy(args)) => bench::policy(args),
        Command::Bench(BenchCommand::Psi(args)) => bench::psi(args),
        Command::Bench(BenchCommand::Ledger(args)) => bench::ledger(args),
        Command::Bench(BenchCommand::Pprl(args)) => bench::pprl(args),
        Command::Bench(BenchCommand::Abuse(args)) => runtime()?.block_on(bench::abuse(args)),
        Command::Desk(args) => runtime()?.block_on(desk::run(args)),
        Command::Officer(cmd) => officer::run(cmd),
        Command::Agreement(cmd) => agreement::run(cmd),
        Command::Key(cmd) => key::run(cmd),
        Command::Recover(args) => runtime()?.block_on(backup::recover(args)),
        Command::Bench(BenchCommand::Finance(args)) => finance::bench(args),
        Command::Finance(cmd) => finance::run(cmd),
        Command::Firearms(cmd) => firearms::run(cmd),
        Command::Case(cmd) => case::run(cmd),
        Command::Bench(BenchCommand::Trace(args)) => firearms::bench(args),
        Command::Bench(BenchCommand::Case(args)) => runtime()?.block_on(case::bench::run(args)),
        Command::Match(MatchCommand::Ids(args)) => matching::ids(args),
        Command::Match(MatchCommand::Persons(args)) => matching::persons(args),
        Command::Match(MatchCommand::Hold(args)) => matching::hold(args),
        Command::Match(MatchCommand::Key(cmd)) => matching::key(cmd),
        Command::Match(MatchCommand::Standing(cmd)) => standing::run(cmd),
    }
}
