//! `soberana desk`: run a node with its officer desk, the web UI.
//!
//! The desk is served over plain HTTP on the address given (loopback by
//! default): put it behind a proxy that terminates HTTPS to reach it from
//! other machines, and pass `--secure-cookies`. The demo starts one desk per
//! node with demo officers.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use clap::Args;
use soberana_core::{AgencyId, Officer, OfficerId, PartyCode, ProposalDraft, Role, Timestamp};
use soberana_desk::{Desk, DeskConfig, HashCost, Lang, NewOfficer, RunningDesk, add_officer};
use soberana_node::Node;

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana desk`.
#[derive(Debug, Args)]
pub struct DeskArgs {
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
    /// Where the desk listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Mark cookies Secure (when an HTTPS proxy is in front of the desk).
    #[arg(long)]
    pub secure_cookies: bool,
    /// The language of the login page: es or en (each officer then gets
    /// their own).
    #[arg(long, default_value = "es")]
    pub language: String,
}

/// Runs the node and its desk until Ctrl-C.
pub async fn run(args: DeskArgs) -> Result<()> {
    let default_language = Lang::parse(&args.language)
        .with_context(|| format!("language `{}` is not offered; use es or en", args.language))?;
    let node = open_node(&args.dir.dir)?;
    let _serving = node.lock_folder()?;
    let running = node.start().await?;
    let operator = super::serve_operator(&node).await?;
    let desk = Desk::open(
        node.clone(),
        DeskConfig {
            secure_cookies: args.secure_cookies,
            default_language,
            ..DeskConfig::default()
        },
    )?;
    let served = soberana_desk::serve(desk, args.listen).await?;
    println!(
        "{} node listening on {}; officer desk on http://{} (add officers with `soberana officer add`); Ctrl-C to stop",
        node.party(),
        running.addr,
        served.addr
    );
    super::stop_requested().await?;
    served.stop();
    if let Some(endpoint) = operator {
        endpoint.stop().await;
    }
    running.stop().await;
    Ok(())
}

/// The demo officers' password (printed by the demo; a demo only).
pub const DEMO_PASSWORD: &str = "soberana-demo";

fn demo_officer(
    desk: &Desk,
    id: &str,
    name: &str,
    agency: &str,
    roles: &[Role],
    lang: Lang,
    offset: i32,
) -> Result<()> {
    add_officer(
        desk.officers().as_ref(),
        NewOfficer {
            officer: Officer {
                id: OfficerId::new(id)?,
                name: name.into(),
                agency: AgencyId::new(agency)?,
                roles: roles.to_vec(),
            },
            password: DEMO_PASSWORD.into(),
            language: lang,
            utc_offset_minutes: offset,
        },
        HashCost::Standard,
        "demo",
    )?;
    Ok(())
}

/// Starts a desk for each demo node with demo officers, leaves one US request
/// in the MX inbox for an officer to decide, and prints where to log in.
pub async fn demo_desks(mx: &Node, us: &Node) -> Result<Vec<RunningDesk>> {
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mx_desk = Desk::open(mx.clone(), DeskConfig::default())?;
    demo_officer(
        &mx_desk,
        "fgr.approver",
        "Lucía Hernández",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
        -360,
    )?;
    demo_officer(
        &mx_desk,
        "uif.approver",
        "Andrés Castillo",
        "MX.UIF",
        &[Role::Approver],
        Lang::Es,
        -360,
    )?;
    demo_officer(
        &mx_desk,
        "mx.oversight",
        "Comisión Bicameral",
        "MX.FGR",
        &[Role::Oversight],
        Lang::Es,
        -360,
    )?;
    let us_desk = Desk::open(
        us.clone(),
        DeskConfig {
            default_language: Lang::En,
            ..DeskConfig::default()
        },
    )?;
    demo_officer(
        &us_desk,
        "dea.liaison",
        "Jordan Miller",
        "US.DEA",
        &[Role::Liaison],
        Lang::En,
        -300,
    )?;
    demo_officer(
        &us_desk,
        "atf.approver",
        "Sam Ortiz",
        "US.ATF",
        &[Role::Approver],
        Lang::En,
        -300,
    )?;

    // Something for an MX officer to decide on the desk.
    let mut draft: ProposalDraft = toml::from_str(include_str!(
        "../../../../examples/proposals/mx-information-request.toml"
    ))?;
    draft.to = PartyCode::new("MX")?;
    draft.requesting_agency = AgencyId::new("US.DEA")?;
    draft.deadline = Timestamp::now().plus_seconds(3 * 86_400);
    us.propose(draft, Some(OfficerId::new("dea.liaison")?))?;

    let mx_run = soberana_desk::serve(mx_desk, loopback).await?;
    let us_run = soberana_desk::serve(us_desk, loopback).await?;
    println!("\nofficer desks (password `{DEMO_PASSWORD}` for every demo officer):");
    println!(
        "   MX desk  http://{}  fgr.approver, uif.approver (four eyes), mx.oversight",
        mx_run.addr
    );
    println!(
        "   US desk  http://{}  dea.liaison, atf.approver",
        us_run.addr
    );
    println!("   a US information request awaits an MX approver in the MX inbox");
    Ok(vec![mx_run, us_run])
}
