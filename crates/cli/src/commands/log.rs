//! `soberana log …`: verify, prove and check the bilateral ledger.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use soberana_core::Timestamp;
use soberana_ledger::{
    LogEntry, PinnedParty, ProofBundle, verify_bundle_pinned, verify_checkpoint_text,
};

use crate::cli::LogCommand;
use crate::policy::open_node;

/// Runs a log command.
pub fn run(cmd: LogCommand) -> Result<()> {
    match cmd {
        LogCommand::Verify(dir) => verify(&dir.dir),
        LogCommand::Proof { target, dir, out } => proof(&dir.dir, &target, out.as_deref()),
        LogCommand::Check { bundle, cards, dir } => check(&bundle, &cards, dir.as_deref()),
        LogCommand::Checkpoint {
            key,
            file,
            cards,
            dir,
        } => checkpoint(&file, key.as_deref(), &cards, dir.as_deref()),
        LogCommand::Consistency {
            old,
            new,
            proof,
            cards,
            dir,
        } => consistency(&old, &new, proof.as_deref(), &cards, dir.as_deref()),
        LogCommand::ConsistencyProof { old, new, dir, out } => {
            consistency_proof(&dir.dir, old, new, &out)
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
        LogEntry::CaseAct {
            case_id,
            act,
            party,
            actor,
            exhibit,
            ..
        } => {
            let on = if *exhibit == [0; 32] {
                String::new()
            } else {
                format!(" exhibit {}", hex_of(exhibit))
            };
            format!("{case_id}: {act}{on} by {actor} of {party}")
        }
        LogEntry::StandingRun {
            run_id,
            arrangement,
            peer,
            side,
            asked,
            matched,
            ..
        } => {
            let matched = matched.map_or("not learned by this side".to_owned(), |n| n.to_string());
            format!(
                "standing run {run_id} under `{arrangement}` with {peer} ({side}): {asked} asked, matched {matched}"
            )
        }
        LogEntry::LogRestart {
            origin,
            abandoned_size,
            restored_size,
            kept_size,
            reason,
            ..
        } => format!(
            "log {origin} restarted after {restored_size} entries, abandoning its cosigned checkpoint of size {abandoned_size} (unchanged up to size {kept_size}): {reason}"
        ),
    }
}

fn hex_of(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Audits a node's log and the partner checkpoints it holds.
pub fn verify(dir: &Path) -> Result<()> {
    let node = open_node(dir)?;
    match node.audit_log()? {
        Ok(report) => {
            println!("{} log verified: {report}", node.party());
            for (index, entry) in node.log_restarts()? {
                println!("restart at entry {index}: {}", describe(&entry));
            }
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
        // The partner's log key of each checkpoint's time: its card's, or
        // one it rotated out.
        let keys = node.partner_log_keys(card.party);
        if keys.is_empty() {
            continue;
        }
        let held = node.partner_checkpoints(card.party)?;
        for c in &held {
            let verified = keys
                .iter()
                .map(|key| soberana_ledger::SignedCheckpoint::verify(&c.note, key))
                .reduce(|a, b| a.or(b));
            if let Some(Err(e)) = verified {
                bail!(
                    "a stored checkpoint of {}'s log (size {}) does not verify: {e}",
                    card.party,
                    c.size
                );
            }
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

/// The log entry `target` names: an index, a proposal id (its decision if
/// decided, else its first entry) or an envelope id.
fn resolve_entry(node: &soberana_node::Node, target: &str) -> Result<u64> {
    let target = target.trim();
    if let Ok(index) = target.parse::<u64>() {
        return Ok(index);
    }
    if let Ok(id) = soberana_core::ProposalId::parse(target) {
        let entries = node.proposal_log_entries(id)?;
        let chosen = entries
            .iter()
            .find(|(_, e)| matches!(e, LogEntry::Decision { .. }))
            .or_else(|| entries.first());
        if let Some((index, entry)) = chosen {
            let all: Vec<String> = entries.iter().map(|(i, _)| i.to_string()).collect();
            eprintln!(
                "proposal {id} is in entries {}; proving entry {index} ({}); for another, \
                 soberana log proof N",
                all.join(", "),
                describe(entry)
            );
            return Ok(*index);
        }
    }
    if let Some(index) = node.envelope_log_index(target)? {
        return Ok(index);
    }
    bail!(
        "`{}` is neither an entry index, nor a proposal or envelope this node's log holds",
        target.chars().take(80).collect::<String>()
    )
}

fn proof(dir: &Path, target: &str, out: Option<&Path>) -> Result<()> {
    let node = open_node(dir)?;
    let entry = resolve_entry(&node, target)?;
    let size = node.log_size()?;
    if entry >= size {
        bail!("entry {entry} is beyond the log's {size} entries");
    }
    let covered = node.checkpoints()?.last().map_or(0, |c| c.size);
    if covered <= entry {
        // No checkpoint covers the entry yet (a running node signs one every
        // few minutes): sign one now and ask the partners to cosign it.
        let signed = node.checkpoint_and_request_cosignatures()?;
        eprintln!(
            "no checkpoint covered entry {entry} yet: signed one of size {} and queued it to the \
             partners for cosigning (a running node delivers it)",
            signed.checkpoint().size()
        );
    }
    let log = node.log()?;
    let witnesses = node.partner_witness_keys();
    let bundle = match log.bundle(entry, &witnesses) {
        Ok(bundle) => bundle,
        Err(_) => {
            let parties: Vec<String> = node.peers().iter().map(|c| c.party.to_string()).collect();
            eprintln!(
                "no checkpoint covering entry {entry} is cosigned by {} yet: this proof verifies \
                 for this node's signature only; once the partner has cosigned (see `soberana log \
                 verify`), ask again for a cosigned proof",
                parties.join(", ")
            );
            log.bundle(entry, &[])
                .map_err(|e| anyhow::anyhow!("no proof for entry {entry}: {e}"))?
        }
    };
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

/// A checkpoint note from a file: the note itself, or the checkpoint inside
/// a receipt bundle.
fn read_checkpoint(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if text.trim_start().starts_with('{') {
        let bundle: ProofBundle = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "`{}` is neither a checkpoint nor a receipt: {e}",
                path.display()
            )
        })?;
        return Ok(bundle.checkpoint);
    }
    Ok(text)
}

fn print_pinned_checkpoint(checked: &soberana_ledger::PinnedCheckpoint) {
    let cp = checked.checkpoint.checkpoint();
    println!(
        "valid checkpoint of `{}`: size {}, root {}",
        cp.origin(),
        cp.size(),
        cp.root()
    );
    println!(
        "  signed with {} (`{}`)",
        checked.log_owner, checked.log_key
    );
    for (owner, at) in &checked.cosigned_by {
        println!("  cosigned by {owner} at {}", seconds_rfc3339(Some(*at)));
    }
    for owner in &checked.not_cosigned_by {
        println!("  not cosigned by {owner}");
    }
}

fn checkpoint(file: &Path, key: Option<&str>, cards: &[PathBuf], dir: Option<&Path>) -> Result<()> {
    let text = read_checkpoint(file)?;
    if let Some(key) = key {
        let checkpoint = verify_checkpoint_text(&text, key)
            .map_err(|e| anyhow::anyhow!("checkpoint `{}`: {e}", file.display()))?;
        println!(
            "valid checkpoint of `{}`: size {}, root {}",
            checkpoint.origin(),
            checkpoint.size(),
            checkpoint.root()
        );
        return Ok(());
    }
    let pinned = pinned_parties(cards, dir)?;
    let checked = soberana_ledger::verify_checkpoint_pinned(&text, &pinned)
        .map_err(|e| anyhow::anyhow!("checkpoint `{}` does NOT verify: {e}", file.display()))?;
    print_pinned_checkpoint(&checked);
    Ok(())
}

fn consistency(
    old: &Path,
    new: &Path,
    proof: Option<&Path>,
    cards: &[PathBuf],
    dir: Option<&Path>,
) -> Result<()> {
    let (old_text, new_text) = (read_checkpoint(old)?, read_checkpoint(new)?);
    let proof = match proof {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            soberana_ledger::parse_proof_lines(&text)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let pinned = pinned_parties(cards, dir)?;
    let (a, b) = soberana_ledger::verify_consistency_pinned(&old_text, &new_text, &proof, &pinned)
        .map_err(|e| {
            let hint = if proof.is_empty() {
                "; give the proof with --proof (from `soberana log consistency-proof`)"
            } else {
                ""
            };
            anyhow::anyhow!("{e}{hint}")
        })?;
    println!(
        "consistent: `{}` at size {} extends its log at size {}",
        b.checkpoint.checkpoint().origin(),
        b.checkpoint.checkpoint().size(),
        a.checkpoint.checkpoint().size()
    );
    print_pinned_checkpoint(&a);
    print_pinned_checkpoint(&b);
    Ok(())
}

fn consistency_proof(dir: &Path, old: u64, new: u64, out: &Path) -> Result<()> {
    if old > new {
        bail!("the older size ({old}) must not be larger than the newer ({new})");
    }
    let node = open_node(dir)?;
    let log = node.log()?;
    let sizes: Vec<u64> = node.checkpoints()?.iter().map(|c| c.size).collect();
    for size in [old, new] {
        if !sizes.contains(&size) {
            bail!(
                "this node signed no checkpoint of size {size}; its checkpoints are of sizes {}",
                sizes
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let proof = if old == 0 || old == new {
        Vec::new()
    } else {
        log.consistency_proof(old, new)?
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot make `{}`", out.display()))?;
    let files = [
        (
            format!("checkpoint-{old}.txt"),
            log.signed_checkpoint(old)?.to_text(),
        ),
        (
            format!("checkpoint-{new}.txt"),
            log.signed_checkpoint(new)?.to_text(),
        ),
        (
            format!("consistency-{old}-{new}.txt"),
            proof.iter().map(|h| h.to_base64() + "\n").collect(),
        ),
    ];
    for (name, text) in files {
        let path = out.join(&name);
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    eprintln!(
        "wrote checkpoints {old} and {new} and the proof between them to {}; check with \
         soberana log consistency {0}/checkpoint-{old}.txt {0}/checkpoint-{new}.txt --proof {0}/consistency-{old}-{new}.txt --card PARTY.card",
        out.display()
    );
    Ok(())
}

/// The keys a check trusts: the cards named, and the node at `dir` (its own
/// key and pinned cards) when one is named or no card is.
pub fn pinned_parties(cards: &[PathBuf], dir: Option<&Path>) -> Result<Vec<PinnedParty>> {
    let mut parties = Vec::new();
    for path in cards {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the card `{}`", path.display()))?;
        let card = soberana_wire::SignedCard::parse(&text)
            .map_err(|e| anyhow::anyhow!("`{}` is not a valid party card: {e}", path.display()))?;
        let source = format!("card {} fingerprint", path.display());
        parties.push(
            soberana_node::card_pinned_party(&card, &source)
                .with_context(|| format!("the card `{}` has no usable log key", path.display()))?,
        );
    }
    if cards.is_empty() || dir.is_some() {
        let dir = dir.unwrap_or(Path::new("."));
        let node = open_node(dir).with_context(|| {
            format!(
                "no keys to check against: name the parties' cards with `--card PARTY.card`, \
                 or run in a node directory (`--dir NODE`) to use its own key and pinned cards; \
                 `{}` is not a usable node",
                dir.display()
            )
        })?;
        parties.extend(node.pinned_parties()?);
    }
    Ok(parties)
}

fn seconds_rfc3339(secs: Option<u64>) -> String {
    secs.and_then(|s| i64::try_from(s).ok())
        .map(|s| Timestamp::from_unix_millis(s.saturating_mul(1000)).to_string())
        .unwrap_or_else(|| "an unstated time".into())
}

fn check(path: &Path, cards: &[PathBuf], dir: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let bundle: ProofBundle = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("`{}` is not a proof bundle: {e}", path.display()))?;
    let pinned = pinned_parties(cards, dir)?;
    let verified = verify_bundle_pinned(&bundle, &pinned)
        .map_err(|e| anyhow::anyhow!("the proof in `{}` does NOT verify: {e}", path.display()))?;
    let receipt = &verified.receipt;
    let status = if verified.is_cosigned() {
        "valid"
    } else {
        "valid for the log's signature only"
    };
    println!(
        "{status}: entry {} is in `{}` at size {} (root {})",
        receipt.index,
        receipt.checkpoint.origin(),
        receipt.checkpoint.size(),
        receipt.checkpoint.root()
    );
    println!("  entry: {}", describe(&receipt.entry));
    println!(
        "  log signature checked with {} (`{}`)",
        verified.log_owner, verified.log_key
    );
    for ((owner, key), sig) in verified.cosigned_by.iter().zip(&receipt.cosignatures) {
        println!(
            "  cosigned by {owner} (`{key}`) at {}",
            seconds_rfc3339(sig.timestamp)
        );
    }
    for (owner, _) in &verified.not_cosigned_by {
        println!(
            "  not cosigned by {owner}: the checkpoint carries no cosignature of that partner; \
             ask for a proof once it has cosigned a checkpoint covering the entry"
        );
    }
    for key in &verified.unchecked_witnesses {
        println!("  not checked: the bundle lists the witness `{key}`, which is not pinned here");
    }
    Ok(())
}
