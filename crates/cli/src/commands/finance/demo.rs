//! Step 3 of `soberana demo`: follow the money across the border.

use std::path::Path;

use anyhow::{Context, Result, bail};
use soberana_core::{AgencyId, OfficerId, ProposalState};
use soberana_finance::Country;
use soberana_finance::generate::GenerateOptions;
use soberana_finance::svg::{SvgOptions, render};
use soberana_finance::trace::Leg;
use soberana_node::finance::ledger::{self, ColumnMaps, Table};
use soberana_node::finance::{
    ContinuationAsk, ContinuationRelease, LegStatus, TrailStart, answer_summary,
};
use soberana_node::{DecisionStep, Node};

use super::{usd, write_ledger};

/// Step 3 of `soberana demo`: a small two-country ledger, the US trace from
/// the structuring network to the border, the request, the MX officer's
/// computed release, and the stitched flow drawn to `dir/flow.svg`.
pub async fn demo(us: &Node, mx: &Node, dir: &Path) -> Result<()> {
    use crate::commands::demo::wait_for;
    let say = |text: String| println!("   {text}");
    let data = dir.join("finance-data");
    let base = GenerateOptions {
        seed: 1,
        transactions: 5_000,
        ..GenerateOptions::default()
    };
    let mut collector = None;
    for (node, country) in [(us, Country::US), (mx, Country::MX)] {
        let half = data.join(country.as_str().to_ascii_lowercase());
        let summary = write_ledger(
            &GenerateOptions {
                only_country: Some(country),
                ..base.clone()
            },
            &half,
        )?;
        collector = collector.or_else(|| summary.scenario.first().map(|(c, _)| c.clone()));
        let root = node.dir().root();
        if ledger::loaded(root)?.is_empty() {
            let (_, held) = ledger::ingest(
                root,
                &[
                    (Table::Transactions, half.join("transactions.csv")),
                    (Table::Accounts, half.join("accounts.csv")),
                    (Table::Reports, half.join("reports.csv")),
                ],
                &ColumnMaps::default(),
                None,
            )?;
            say(format!(
                "{country} loaded its own half of the ledger: {held} transactions"
            ));
        }
    }
    let collector = collector.context("the generator planted no demo network")?;
    let us_graph = ledger::load_graph(us.dir().root())?;
    let trail = us.ask_continuation(
        &us_graph,
        &ContinuationAsk {
            start: TrailStart {
                from: collector.to_string(),
                ..TrailStart::default()
            },
            peer: mx.party(),
            horizon: 30 * 86_400,
            partner_hops: 4,
            max_requests: 3,
            agency: AgencyId::new("US.FINCEN")?,
            officer: None,
        },
    )?;
    let flow = &trail.flow;
    say(format!(
        "US trace from the collector {collector}: {} of structured cash, {} nodes, {} hop(s)",
        usd(flow.seeded),
        flow.nodes.len(),
        flow.nodes.iter().map(|n| n.hop).max().unwrap_or(0)
    ));
    for leg in &trail.legs {
        say(format!(
            "the trail reaches {} held in MX ({}): US → MX request carries only that account, the amount and the window",
            leg.request.account,
            usd(leg.request.value)
        ));
    }
    for leg in &trail.legs {
        let waiting = wait_for(
            mx,
            leg.proposal,
            &[ProposalState::AwaitingOfficer, ProposalState::Refused],
        )
        .await?;
        if waiting.record.state != ProposalState::AwaitingOfficer {
            bail!("MX policy did not send the continuation request to an officer");
        }
        let (_, step) = mx.answer_continuation(
            leg.proposal,
            ContinuationRelease {
                officer: OfficerId::new("uif.approver")?,
                conditions: vec![
                    "not to be used as evidence without Mexico's permission (H2)".into(),
                    "no onward dissemination to third countries".into(),
                ],
                reason: "the account is held in Mexico; Mexico continued the trail on its own data"
                    .into(),
                hops: 4,
            },
        )?;
        if let DecisionStep::AwaitingSecondApprover(_) = step {
            mx.confirm(leg.proposal, &OfficerId::new("fgr.approver")?)?;
        }
    }
    say("MX policy sent each request to an officer (UIF), who ACCEPTED with conditions;".into());
    say("the release is restricted (H2), so a second MX approver (FGR) confirmed it first;".into());
    say("MX ran the next leg on its own ledger and released totals and pseudonyms only".into());
    for leg in &trail.legs {
        wait_for(us, leg.proposal, &[ProposalState::Answered]).await?;
        if let Ok(detail) = mx.show(leg.proposal) {
            for (digest, bytes) in &detail.disclosures {
                say(format!(
                    "MX recorded the disclosure: {bytes} bytes, sha256 {}…",
                    digest.get(..16).unwrap_or(digest)
                ));
            }
        }
    }
    let (stitched, status) = us.stitch_trail(&trail)?;
    for s in &status {
        match s {
            LegStatus::Stitched(a) => say(format!("MX's leg: {}", answer_summary(a))),
            LegStatus::Waiting(state) => bail!("a continuation was not answered (it is {state})"),
            LegStatus::Unusable(why) => bail!("MX's continuation did not stitch: {why}"),
        }
    }
    let partner = stitched
        .nodes
        .iter()
        .filter(|n| matches!(n.leg, Leg::Partner(_)))
        .count();
    say(format!(
        "the US stitched MX's leg into its flow: {} nodes, {partner} of them on MX's side (pseudonymous)",
        stitched.nodes.len()
    ));
    let svg = dir.join("flow.svg");
    std::fs::write(
        &svg,
        render(
            &stitched,
            &SvgOptions {
                title: format!("Follow the money from {collector}"),
                ..SvgOptions::default()
            },
        ),
    )?;
    std::fs::write(dir.join("flow.json"), stitched.to_json())?;
    say(format!(
        "no ledger crossed the border; the stitched flow is drawn in {}",
        svg.display()
    ));
    Ok(())
}
