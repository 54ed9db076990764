//! `soberana officer …`: officer accounts on a node's desk.
//!
//! Accounts live in the node's store and are reached through the node. The password is read from a
//! file or typed at a prompt (never from the command line, where other users
//! could read it in the process list), hashed with Argon2id, and only the
//! hash is stored.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use soberana_core::{AgencyId, Officer, OfficerId, Role};
use soberana_desk::{HashCost, Lang, NewOfficer, add_officer};

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana officer …`.
#[derive(Debug, Subcommand)]
pub enum OfficerCommand {
    /// Add an officer (or replace one with the same id) on a node's desk.
    Add(OfficerAddArgs),
    /// List the node's officers and their roles.
    List(DirArg),
    /// Disable an officer's account: no desk login and no decision through
    /// the node until it is enabled again (audited). Replace a forgotten
    /// password with `officer add` and the same id.
    Disable(OfficerIdArgs),
    /// Enable a disabled account, or unlock one locked after failed logins
    /// (audited).
    Enable(OfficerIdArgs),
}

/// `soberana officer disable|enable`.
#[derive(Debug, Args)]
pub struct OfficerIdArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The officer's login id.
    pub id: String,
}

/// `soberana officer add`.
#[derive(Debug, Args)]
pub struct OfficerAddArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// The officer's login id (letters, digits, `.`, `-`, `_`).
    #[arg(long)]
    pub id: String,
    /// The officer's full name.
    #[arg(long)]
    pub name: String,
    /// The agency the officer works for (e.g. MX.FGR).
    #[arg(long)]
    pub agency: String,
    /// A role: liaison, analyst, approver, operator or oversight (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// Read the password from this file's first line (otherwise it is asked
    /// for at a prompt).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// The desk's language for this officer: es or en.
    #[arg(long, default_value = "es")]
    pub language: String,
    /// The officer's offset from UTC for showing times, as ±HH:MM (used
    /// when no time zone is given).
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    pub utc_offset: String,
    /// The officer's IANA time zone (`America/Mexico_City`,
    /// `America/Tijuana`, `America/Phoenix`), followed with daylight saving.
    #[arg(long, default_value = "")]
    pub time_zone: String,
}

fn parse_role(name: &str) -> Result<Role> {
    Ok(match name {
        "liaison" => Role::Liaison,
        "analyst" => Role::Analyst,
        "approver" => Role::Approver,
        "operator" => Role::Operator,
        "oversight" => Role::Oversight,
        other => bail!(
            "role `{other}` is not known; use liaison, analyst, approver, operator or oversight"
        ),
    })
}

/// Parses `±HH:MM` into minutes.
fn parse_offset(text: &str) -> Result<i32> {
    let bad =
        || anyhow::anyhow!("offset `{text}` is not ±HH:MM (for example -06:00 for Mexico City)");
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) | Some(("−", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 || h < 0 || m < 0 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

fn read_password(file: Option<&PathBuf>) -> Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file `{}`", path.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_owned());
    }
    eprint!("password (not shown): ");
    std::io::stderr().flush()?;
    // Turn echo off where there is a terminal; where there is none (a pipe),
    // the password is simply read.
    let quiet = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if quiet {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(std::process::Stdio::inherit())
            .status();
        eprintln!();
    }
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs `soberana officer …`.
pub fn run(cmd: OfficerCommand) -> Result<()> {
    match cmd {
        OfficerCommand::Add(args) => {
            let roles = args
                .roles
                .iter()
                .map(|r| parse_role(r))
                .collect::<Result<Vec<_>>>()?;
            let language = Lang::parse(&args.language).with_context(|| {
                format!("language `{}` is not offered; use es or en", args.language)
            })?;
            let officer = Officer {
                id: OfficerId::new(&args.id)?,
                name: args.name.clone(),
                agency: AgencyId::new(&args.agency)?,
                roles,
            };
            let utc_offset_minutes = parse_offset(&args.utc_offset)?;
            let password = read_password(args.password_file.as_ref())?;
            let node = open_node(&args.dir.dir)?;
            let by = std::env::var("USER").unwrap_or_else(|_| "operator".into());
            add_officer(
                &node,
                NewOfficer {
                    officer,
                    password,
                    language,
                    utc_offset_minutes,
                    time_zone: args.time_zone.clone(),
                },
                HashCost::Standard,
                &format!("cli:{by}"),
            )?;
            println!("officer `{}` can now log in to the desk", args.id);
            Ok(())
        }
        OfficerCommand::List(dir) => {
            let node = open_node(&dir.dir)?;
            for account in node.officers().officers()? {
                let roles: Vec<&str> = account.officer.roles.iter().map(Role::as_str).collect();
                println!(
                    "{:<20} {:<28} {:<10} {:<24} {}{}",
                    account.officer.id.as_str(),
                    account.officer.name,
                    account.officer.agency.to_string(),
                    roles.join(","),
                    account.language,
                    if soberana_node::is_disabled(&account) {
                        "  (disabled)"
                    } else if account.locked_until.is_some() {
                        "  (locked)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        OfficerCommand::Disable(args) => {
            let node = open_node(&args.dir.dir)?;
            let id = OfficerId::new(&args.id)?;
            node.officers().disable(&id, &operator())?;
            println!("officer `{id}` is disabled: no desk login, no decisions");
            Ok(())
        }
        OfficerCommand::Enable(args) => {
            let node = open_node(&args.dir.dir)?;
            let id = OfficerId::new(&args.id)?;
            node.officers().enable(&id, &operator())?;
            println!("officer `{id}` is enabled and unlocked");
            Ok(())
        }
    }
}

/// The operator's identity on this machine, as the audit trail names it.
fn operator() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_roles_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_offset("-06:00").unwrap(), -360);
        assert_eq!(parse_offset("+05:30").unwrap(), 330);
        assert_eq!(parse_offset("+00:00").unwrap(), 0);
        for bad in ["", "6", "06:00", "+15:00", "-06:60", "+x:00", "+06"] {
            assert!(parse_offset(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_role("approver").unwrap(), Role::Approver);
        assert!(parse_role("admin").is_err());
    }
}
