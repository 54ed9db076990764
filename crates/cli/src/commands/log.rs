//! `soberana log …`: verify, prove and check the bilateral ledger.

use std::path::Path;

use anyhow::{Context, Result, bail};
use soberana_ledger::{
    LogEntry, ProofBundle, audit_storage, verify_bundle, verify_checkpoint_text,
};
use soberana_store::LedgerView;

use crate::cli::LogCommand;
use crate::policy::open_node;

/// Runs a log command.
pub fn run(cmd: LogCommand) -> Result<()> {
    match cmd {
        LogCommand::Verify(dir) => verify(&dir.dir),
        LogCommand::Proof { entry, dir, out } => proof(&dir.dir, entry, out.as_deref()),
        LogCommand::Check { bundle } => check(&bundle),
        LogCommand::Checkpoint { key, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let checkpoint = verify_checkpoint_text(&text, &key)
                .map_err(|e| anyhow::anyhow!("checkpoint `{}`: {e}", file.display()))?;
            println!(
                "valid checkpoint of `{}`: size {}, root {}",
                checkpoint.origin(),
                checkpoint.size(),
                checkpoint.root()
            );
            Ok(())
        }
        LogCommand::Cosign(dir) => {
            let node = open_node(&dir.dir)?;
            let signed = node.checkpoint_and_request_cosignatures()?;
            println!(
                "signed checkpoint of size {} and queued it to {} partner(s) for cosigning; a running node delivers it",
                signed.checkpoint().size(),
                node.peers().len()
            );
            Ok(())
        }
    }
}

/// Describes an entry in one line.
pub fn describe(entry: &LogEntry) -> String {
    match entry {
        LogEntry::EnvelopeSent(r) => format!(
            "envelope {} sent {} → {} (#{})",
            r.envelope_id, r.sender, r.recipient, r.sequence
        ),
        LogEntry::EnvelopeReceived(r) => format!(
            "envelope {} received {} → {} (#{})",
            r.envelope_id, r.sender, r.recipient, r.sequence
        ),
        LogEntry::Decision {
            proposal_id,
            outcome,
            decided_by,
            ..
        } => format!("decision on {proposal_id}: {outcome} by {decided_by}"),
        LogEntry::Disclosure {
            proposal_id,
            byte_count,
            ..
        } => format!("disclosure under {proposal_id}: {byte_count} bytes"),
        LogEntry::IntakeRefusal {
            reason,
            claimed_sender,
            ..
        } => format!("refused input claiming to be from {claimed_sender}: {reason}"),
        LogEntry::PolicyPin { layer, digest, .. } => {
            format!("{layer} policy pinned at {}", hex_of(digest))
        }
        LogEntry::PeerChange { party, change, .. } => format!("partner {party} {change:?}"),
        LogEntry::CosignatureIssued { origin, size, .. } => {
            format!("cosigned {origin} at size {size}")
        }
        LogEntry::CosignatureReceived { witness, size, .. } => {
            format!("{witness} cosigned our checkpoint of size {size}")
        }
        LogEntry::MatchSession {
            protocol,
            peer,
            our_size,
            their_size,
            ..
        } => format!("{protocol} match with {peer}: {our_size} × {their_size}"),
        LogEntry::DeadlineBreach {
            proposal_id,
            party,
            due_ms,
            ..
        } => format!(
            "deadline breached: {party} did not answer {proposal_id} by {}",
            soberana_core::Timestamp::from_unix_millis(i64::try_from(*due_ms).unwrap_or(i64::MAX))
        ),
    }
}

fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Audits a node's log and the partner checkpoints it holds.
pub fn verify(dir: &Path) -> Result<()> {
    let node = open_node(dir)?;
    let log_key = node.log_key()?;
    let witnesses = node.partner_witness_keys();
    let view = LedgerView(node.store().as_ref());
    match audit_storage(&view, &log_key, &witnesses) {
        Ok(report) => {
            println!("{} log verified: {report}", node.party());
        }
        Err(soberana_ledger::AuditError::Tampered(finding)) => {
            let at = finding.first_bad_index();
            bail!(
                "the {} log FAILED verification at entry {at}: {finding}",
                node.party()
            );
        }
        Err(e) => bail!("the {} log could not be read: {e}", node.party()),
    }
    // The partners' checkpoints we hold: every one must carry a valid
    // signature of the partner's log; alarms are reported.
    let mut alarms = 0;
    for card in node.peers() {
        let Some(key) = soberana_node::card_log_key(&card) else {
            continue;
        };
        let held = node.store().partner_checkpoints(card.party)?;
        for c in &held {
            soberana_ledger::SignedCheckpoint::verify(&c.note, &key).map_err(|e| {
                anyhow::anyhow!(
                    "a stored checkpoint of {}'s log (size {}) does not verify: {e}",
                    card.party,
                    c.size
                )
            })?;
            if c.status == "alarm" {
                alarms += 1;
                println!(
                    "ALARM: {}'s log at size {} conflicts with a checkpoint we cosigned; evidence kept",
                    card.party, c.size
                );
            }
        }
        println!(
            "{} checkpoint(s) of {}'s log held and valid",
            held.len(),
            card.party
        );
    }
    if alarms > 0 {
        bail!("{alarms} witness alarm(s): a partner's log was forked or rolled back");
    }
    Ok(())
}

fn proof(dir: &Path, entry: u64, out: Option<&Path>) -> Result<()> {
    let node = open_node(dir)?;
    let log = node.log()?;
    let witnesses = node.partner_witness_keys();
    let bundle = log
        .bundle(entry, &witnesses)
        .or_else(|_| log.bundle(entry, &[]))
        .map_err(|e| anyhow::anyhow!("no proof for entry {entry}: {e}"))?;
    let text = bundle.to_json();
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!("wrote the proof of entry {entry} to {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn check(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let bundle: ProofBundle = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("`{}` is not a proof bundle: {e}", path.display()))?;
    let receipt = verify_bundle(&bundle)
        .map_err(|e| anyhow::anyhow!("the proof in `{}` does NOT verify: {e}", path.display()))?;
    println!(
        "valid: entry {} is in `{}` at size {} (root {})",
        receipt.index,
        receipt.checkpoint.origin(),
        receipt.checkpoint.size(),
        receipt.checkpoint.root()
    );
    println!("  entry: {}", describe(&receipt.entry));
    println!("  signed by the log key {}", bundle.log_key);
    for w in &bundle.witness_keys {
        println!("  cosigned by the witness {w}");
    }
    Ok(())
}
