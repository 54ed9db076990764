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
use soberana_desk::{Desk, DeskConfig, HashCost, Lang, RunningDesk, hash_password};
use soberana_node::Node;
use soberana_store::OfficerAccount;

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
    let node = if node.switch_rotated_keys()? {
        open_node(&args.dir.dir)?
    } else {
        node
    };
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

/// A demo officer: id, name, agency, roles, language, UTC offset in
/// minutes (standard time), IANA time zone.
type DemoOfficer = (
    &'static str,
    &'static str,
    &'static str,
    &'static [Role],
    Lang,
    i32,
    &'static str,
);

/// The demo's officers on each node. The approvers decide the demo's
/// scripted acts through the node, exactly as they would on the desk.
const MX_DEMO_OFFICERS: &[DemoOfficer] = &[
    (
        "fgr.approver",
        "Lucía Hernández",
        "MX.FGR",
        &[Role::Approver],
        Lang::Es,
        -360,
        "America/Mexico_City",
    ),
    (
        "uif.approver",
        "Andrés Castillo",
        "MX.UIF",
        &[Role::Approver],
        Lang::Es,
        -360,
        "America/Mexico_City",
    ),
    (
        "cni.approver",
        "Rosa Medina",
        "MX.CNI",
        &[Role::Approver],
        Lang::Es,
        -480,
        "America/Tijuana",
    ),
    (
        "mx.oversight",
        "Comisión Bicameral",
        "MX.FGR",
        &[Role::Oversight],
        Lang::Es,
        -360,
        "America/Mexico_City",
    ),
];
const US_DEMO_OFFICERS: &[DemoOfficer] = &[
    (
        "dea.liaison",
        "Jordan Miller",
        "US.DEA",
        &[Role::Liaison],
        Lang::En,
        -420,
        "America/Phoenix",
    ),
    (
        "atf.approver",
        "Sam Ortiz",
        "US.ATF",
        &[Role::Approver],
        Lang::En,
        -420,
        "America/Phoenix",
    ),
    (
        "fbi.approver",
        "Casey Brooks",
        "US.FBI",
        &[Role::Approver],
        Lang::En,
        -300,
        "America/New_York",
    ),
];

/// Registers the demo's officers on both nodes (one password, hashed once).
pub fn demo_officers(mx: &Node, us: &Node) -> Result<()> {
    let hash = hash_password(DEMO_PASSWORD, HashCost::Standard)?;
    for (node, officers) in [(mx, MX_DEMO_OFFICERS), (us, US_DEMO_OFFICERS)] {
        for &(id, name, agency, roles, lang, offset, zone) in officers {
            node.officers().put_officer(
                OfficerAccount {
                    officer: Officer {
                        id: OfficerId::new(id)?,
                        name: name.into(),
                        agency: AgencyId::new(agency)?,
                        roles: roles.to_vec(),
                    },
                    password_hash: hash.clone(),
                    language: lang.code().into(),
                    utc_offset_minutes: offset,
                    time_zone: zone.into(),
                    failures: 0,
                    locked_until: None,
                },
                "demo",
            )?;
        }
    }
    Ok(())
}

/// Starts a desk for each demo node (whose officers [`demo_officers`]
/// registered), leaves one US request in the MX inbox for an officer to
/// decide, and prints where to log in.
pub async fn demo_desks(mx: &Node, us: &Node) -> Result<Vec<RunningDesk>> {
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mx_desk = Desk::open(mx.clone(), DeskConfig::default())?;
    let us_desk = Desk::open(
        us.clone(),
        DeskConfig {
            default_language: Lang::En,
            ..DeskConfig::default()
        },
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
        "   MX desk  http://{}  fgr.approver, uif.approver, cni.approver (four eyes), mx.oversight",
        mx_run.addr
    );
    println!(
        "   US desk  http://{}  dea.liaison, atf.approver, fbi.approver",
        us_run.addr
    );
    println!("   a US information request awaits an MX approver in the MX inbox");
    Ok(vec![mx_run, us_run])
}
