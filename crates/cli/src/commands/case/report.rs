//! The case report for a court: writing it from the two nodes' proofs, and
//! checking it offline against the parties' cards.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use soberana_case::Case;
use soberana_node::{CaseProof, Node};

use super::{ReportArgs, case_id};
use crate::policy::open_node;

pub(crate) async fn report(a: &ReportArgs) -> Result<()> {
    if a.out.exists() {
        bail!("`{}` exists; name a new folder", a.out.display());
    }
    let node = open_node(&a.dir.dir)?;
    let case = case_id(&a.case)?;
    let view = node.case(case)?;
    let ours = node.case_proofs(case)?;
    let theirs = if a.ours_only {
        Vec::new()
    } else {
        let partner = view.case.partner_of(node.party());
        node.fetch_partner_case_proofs(case, partner).await?
    };
    write_report(&node, &a.out, &view.case, &ours, &theirs)?;
    println!(
        "wrote the report of {case} to {}: {} proof(s) in {}'s log, {} in the partner's; check with `soberana case verify {}`",
        a.out.display(),
        ours.len(),
        node.party(),
        theirs.len(),
        a.out.display()
    );
    Ok(())
}

fn write_report(
    node: &Node,
    out: &Path,
    case: &Case,
    ours: &[CaseProof],
    theirs: &[CaseProof],
) -> Result<()> {
    let staging = out.with_extension("writing");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot make `{}`", staging.display()))?;
    let write = |name: String, text: String| -> Result<()> {
        let path = staging.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))
    };
    write("case.json".into(), serde_json::to_string_pretty(case)?)?;
    for proof in ours.iter().chain(theirs) {
        write(
            format!("{}-log/entry-{}.json", proof.log_of, proof.bundle.index),
            serde_json::to_string_pretty(proof)?,
        )?;
        write(
            format!(
                "{}-log/entry-{}.bundle.json",
                proof.log_of, proof.bundle.index
            ),
            proof.bundle.to_json(),
        )?;
    }
    let mut cards = String::new();
    if let Ok(card) = node.card() {
        write(format!("{}.card", node.party()), card.to_text())?;
        cards.push_str(&format!(" --card {}.card", node.party()));
    }
    for peer in node
        .peers()
        .iter()
        .filter(|p| case.parties.contains(&p.party))
    {
        if let Some(text) = node.peer_card_text(peer.party)? {
            write(format!("{}.card", peer.party), text)?;
            cards.push_str(&format!(" --card {}.card", peer.party));
        }
    }
    write(
        "README.txt".into(),
        format!(
            "Case report of {id}: {title}\n\n\
             case.json holds the case: parties, members, exhibits (SHA-256 digests, conditions).\n\
             PARTY-log/entry-N.json is one custody event with the proof that PARTY's log holds it;\n\
             PARTY-log/entry-N.bundle.json is the same proof alone, for `soberana log check`.\n\n\
             Check everything offline, in this folder:\n  soberana case verify .{cards}\n\
             Check one proof:\n  soberana log check MX-log/entry-N.bundle.json{cards}\n\n\
             The cards are those this node pinned; compare their fingerprints with the ones\n\
             each party published before trusting them.\n",
            id = case.id,
            title = case.title,
        ),
    )?;
    std::fs::rename(&staging, out).with_context(|| format!("cannot make `{}`", out.display()))?;
    Ok(())
}

/// Checks a report folder; returns the number of acts found in both logs.
pub fn verify(folder: &Path, cards: &[PathBuf], dir: Option<&Path>) -> Result<usize> {
    let text = std::fs::read_to_string(folder.join("case.json")).with_context(|| {
        format!(
            "`{}` holds no case.json: not a case report",
            folder.display()
        )
    })?;
    let case: Case = serde_json::from_str(&text).context("case.json is not a case")?;
    let mut cards = cards.to_vec();
    if cards.is_empty() && dir.is_none() {
        for party in case.parties {
            let path = folder.join(format!("{party}.card"));
            if path.exists() {
                cards.push(path);
            }
        }
    }
    let pinned = crate::commands::log::pinned_parties(&cards, dir)?;
    let mut in_log: std::collections::BTreeMap<[u8; 32], Vec<String>> = Default::default();
    let mut checked = 0;
    for party in case.parties {
        let sub = folder.join(format!("{party}-log"));
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".json") || name.ends_with(".bundle.json") {
                continue;
            }
            let proof: CaseProof = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| format!("`{}` is not a case proof", path.display()))?;
            let verified = soberana_ledger::verify_bundle_pinned(&proof.bundle, &pinned)
                .map_err(|e| anyhow::anyhow!("`{}` does NOT verify: {e}", path.display()))?;
            let owner: String = verified
                .log_owner
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            if owner != proof.log_of.to_string() {
                bail!(
                    "`{}` claims {}'s log but is signed by {}",
                    path.display(),
                    proof.log_of,
                    verified.log_owner
                );
            }
            let event = proof
                .entry_matches_event()
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
            if event.case_id != case.id {
                bail!(
                    "`{}` is an act of another case ({})",
                    path.display(),
                    event.case_id
                );
            }
            checked += 1;
            if !matches!(event.act, soberana_case::Act::Refused { .. }) {
                in_log
                    .entry(event.digest())
                    .or_default()
                    .push(proof.log_of.to_string());
            }
        }
    }
    if checked == 0 {
        bail!("`{}` holds no proofs", folder.display());
    }
    let both = in_log.values().filter(|logs| logs.len() >= 2).count();
    let one: Vec<String> = in_log
        .iter()
        .filter(|(_, logs)| logs.len() < 2)
        .map(|(d, logs)| {
            format!(
                "{} (only in {})",
                hex_of(d).chars().take(12).collect::<String>(),
                logs.join(", ")
            )
        })
        .collect();
    println!(
        "{}: {checked} proof(s) verified; {both} act(s) in both logs",
        case.id
    );
    if !one.is_empty() {
        bail!(
            "{} act(s) are in one log only: {}; a report made with --ours-only, or the partner has not yet taken them in",
            one.len(),
            one.join(", ")
        );
    }
    Ok(both)
}

pub(super) fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
