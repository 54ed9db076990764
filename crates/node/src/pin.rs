//! The constitutional layer's pin: checked whenever a node opens, and
//! changed only by one node operation that logs and announces it.
//!
//! `node.toml` holds the hex SHA-256 of `policy/constitutional.cedar`.
//! [`Node::open`] refuses a node whose layer is missing or differs from the
//! pin, whatever opens it (the binary, the desk, a test); that the layer is
//! valid Cedar holding only `forbid` is the policy engine's check, made when
//! the binary loads it. [`Node::pin_constitutional`] records the new pin in
//! the log and queues its announcement to every partner in one store
//! transaction, and only then rewrites `node.toml`: a crash in between
//! leaves a node that refuses to open until the pin is run again, never a
//! silent change of red lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use soberana_core::{
    AdvanceNotification, AgencyKind, HandlingCode, MeasureKind, Proposal, ProposalBody,
    ProposalDraft, Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_store::AuditEntry;

use crate::config::NodeDir;
use crate::policy::ProposalPolicy;
use crate::{Node, NodeError};

/// The digest a pin records for a constitutional layer: the hex SHA-256 of
/// its bytes.
pub fn constitutional_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The constitutional layer's file in a node directory.
pub fn constitutional_path(dir: &NodeDir) -> PathBuf {
    dir.policy().join("constitutional.cedar")
}

/// The digest of the constitutional layer in `dir`, refusing a missing one.
fn layer_digest(dir: &NodeDir) -> Result<String, NodeError> {
    let path = constitutional_path(dir);
    let bytes = std::fs::read(&path).map_err(|e| {
        NodeError::Constitutional(if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "the constitutional layer `{}` is missing: restore it from backup; a node does not run without its red lines",
                path.display()
            )
        } else {
            format!("cannot read `{}`: {e}", path.display())
        })
    })?;
    Ok(constitutional_digest(&bytes))
}

/// Refuses a constitutional layer that is missing or differs from `pinned`.
pub(crate) fn check_pin(dir: &NodeDir, pinned: &str) -> Result<(), NodeError> {
    if pinned.is_empty() {
        return Err(NodeError::Constitutional(format!(
            "no constitutional digest is pinned in `{}`: run `soberana policy pin --dir {}`",
            dir.config().display(),
            dir.root().display()
        )));
    }
    let found = layer_digest(dir)?;
    if !found.eq_ignore_ascii_case(pinned) {
        return Err(NodeError::Constitutional(format!(
            "the constitutional layer `{}` (sha256 {found}) differs from the digest pinned in `{}` ({pinned}): review the change, then `soberana policy pin --dir {}`",
            constitutional_path(dir).display(),
            dir.config().display(),
            dir.root().display()
        )));
    }
    Ok(())
}

/// A new pin, logged and announced.
#[derive(Debug, Clone)]
pub struct PolicyPinned {
    /// The digest pinned before (empty if none was).
    pub previous: String,
    /// The digest pinned now.
    pub digest: String,
    /// The notification sent to each partner.
    pub announced: Vec<Proposal>,
}

impl Node {
    /// Pins the constitutional layer now in `dir` (which `policy` was
    /// loaded from and validated against), in one node operation: the
    /// `PolicyPin` log entry, an advance notification to every partner from
    /// our diplomatic agency and the audit line naming `by` commit together,
    /// then `node.toml` takes the new digest. Returns `None` when the layer
    /// is already pinned (nothing is written).
    pub fn pin_constitutional(
        dir: &Path,
        policy: Arc<dyn ProposalPolicy>,
        by: &str,
    ) -> Result<Option<PolicyPinned>, NodeError> {
        let node_dir = NodeDir::new(dir);
        let config = node_dir.load_config()?;
        let digest = layer_digest(&node_dir)?;
        if config.constitutional_digest.eq_ignore_ascii_case(&digest) {
            return Ok(None);
        }
        let node = Node::open_expecting(dir, policy, Some(&digest))?;
        let agency = node
            .registry()
            .agencies()
            .find(|a| a.id.party() == node.party() && a.kind == AgencyKind::Diplomatic)
            .map(|a| a.id.clone())
            .ok_or_else(|| {
                NodeError::Constitutional(format!(
                    "the registry lists no diplomatic agency of `{}` to announce the change from; nothing was pinned",
                    node.party()
                ))
            })?;
        let previous = config.constitutional_digest.clone();
        let now = Timestamp::now();
        let mut announced = Vec::new();
        for peer in node.peers() {
            let draft = ProposalDraft {
                to: peer.party,
                requesting_agency: agency.clone(),
                purpose: "Notice of a change to our constitutional policy layer".into(),
                legal_basis: "Bilateral commitment to announce changes of red lines".into(),
                handling: HandlingCode::H0,
                deadline: now.plus_seconds(7 * 86_400),
                related_to: vec![],
                body: ProposalBody::AdvanceNotification(AdvanceNotification {
                    measure: MeasureKind::ConstitutionalPolicyChange,
                    title: "Constitutional policy layer pinned".into(),
                    summary: format!(
                        "digest {digest} replaces {}",
                        if previous.is_empty() {
                            "no pin"
                        } else {
                            &previous
                        }
                    ),
                    effective: now,
                    targets: vec![],
                    acts: vec![],
                    exhibits: Vec::new(),
                    assurances: vec![],
                    evidence: vec![format!("sha256:{digest}")],
                }),
            };
            let proposal = Proposal::from_draft(draft, node.party(), None, now).map_err(|e| {
                NodeError::Proposal {
                    path: "announcement".into(),
                    detail: e.to_string(),
                }
            })?;
            announced.push(proposal);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digest, &mut bytes)
            .map_err(|e| NodeError::Constitutional(e.to_string()))?;
        node.store().log_and_propose(
            vec![LogEntry::PolicyPin {
                layer: "constitutional".into(),
                digest: bytes,
                time_ms: now.unix_millis().max(0) as u64,
            }],
            announced.clone(),
            Some(AuditEntry {
                at: now,
                officer: by.to_owned(),
                action: "policy_pin".into(),
                target: "constitutional".into(),
                detail: format!(
                    "{digest} replaces {} · announced to {} partner(s)",
                    if previous.is_empty() { "-" } else { &previous },
                    announced.len()
                ),
            }),
            node.sealer(),
        )?;
        write_pin(&node_dir, &digest)?;
        node.wake_outbox();
        Ok(Some(PolicyPinned {
            previous,
            digest,
            announced,
        }))
    }
}

/// Sets `constitutional_digest` in `node.toml`, keeping everything else
/// (written beside it and renamed, so never half-written).
fn write_pin(dir: &NodeDir, digest: &str) -> Result<(), NodeError> {
    let path = dir.config();
    let text = std::fs::read_to_string(&path).map_err(NodeError::io(&path))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| NodeError::Config {
        path: path.clone(),
        detail: e.message().to_owned(),
    })?;
    table.insert(
        "constitutional_digest".into(),
        toml::Value::String(digest.to_owned()),
    );
    let text = toml::to_string_pretty(&table).map_err(|e| NodeError::Config {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let staged = path.with_extension("toml.new");
    std::fs::write(&staged, text).map_err(NodeError::io(&staged))?;
    std::fs::rename(&staged, &path).map_err(NodeError::io(&path))?;
    Ok(())
}
