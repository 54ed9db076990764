//! `soberana key …`: rotating the node's signing key and TLS certificate.
//!
//! `key rotate` announces a new key and certificate to every partner in a
//! card update signed by the current key (recorded in both logs); the node
//! keeps using the current key until every partner has taken the update,
//! then a running node switches within seconds, without a restart (a
//! stopped one when it next starts). Partners keep taking the old key for
//! the overlap. `key status` says where a rotation stands.

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Announce a new signing key and TLS certificate to every partner (the
    /// running node switches to them once every partner has them).
    Rotate(RotateArgs),
    /// Where a rotation stands: the key in use, the one announced, how many
    /// partners have not taken it, and the previous keys.
    Status(DirArg),
}

/// `soberana key rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Days partners keep taking the old key and certificate (1 to 90).
    #[arg(long, default_value_t = soberana_node::DEFAULT_OVERLAP_DAYS)]
    pub overlap_days: u32,
}

/// Runs `soberana key …`.
pub fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Rotate(args) => {
            let node = open_node(&args.dir.dir)?;
            let before = node.card()?.card.fingerprint();
            let after = node.rotate_keys(args.overlap_days)?;
            println!(
                "announced card {after} (replacing {before}) to every partner in an update signed by the current key; \
                 partners take the old key for {} days. A running node switches to it as soon as every partner has the update, without a restart (`soberana key status`).",
                args.overlap_days
            );
        }
        KeyCommand::Status(dir) => {
            let node = open_node(&dir.dir)?;
            let status = node.key_status()?;
            println!("in use: card {}", status.current);
            if let Some(not_after) = status.tls_not_after {
                let days = soberana_core::Timestamp::now().seconds_until(not_after) / 86_400;
                if days < 0 {
                    println!("TLS certificate expired at {not_after}: rotate now");
                } else {
                    println!("TLS certificate valid until {not_after} ({days} days left)");
                }
            }
            for warning in node.key_warnings() {
                println!("warning: {warning}");
            }
            match &status.next {
                Some(next) if status.waiting > 0 => println!(
                    "announced: key {next}; {} card update(s) not yet taken by partners",
                    status.waiting
                ),
                Some(next) => println!(
                    "announced: key {next}; every partner has it: a running node switches to it within seconds, a stopped one at its next start"
                ),
                None => println!("no rotation waiting"),
            }
            for (fingerprint, retired, until) in &status.previous {
                println!(
                    "previous: card {fingerprint}, retired {retired}, taken by partners until {until}"
                );
            }
        }
    }
    Ok(())
}
