//! A node's directory and configuration.
//!
//! ```text
//! DIR/node.toml              configuration (party, listen address, policy pins)
//! DIR/keys/signing.key       Ed25519 seed, hex, mode 0600
//! DIR/keys/tls.key           TLS private key, PEM, mode 0600
//! DIR/keys/tls.crt           TLS certificate, PEM
//! DIR/parties/XX.toml        the registry: every party and agency this node knows
//! DIR/policy/                the node's policy layers
//! DIR/node.sqlite            the store
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use soberana_core::{HandlingRules, PartyCode, PartyFile, Registry};

use crate::NodeError;

/// The configuration file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The party this node speaks for.
    pub party: PartyCode,
    /// The address to listen on for partner nodes.
    pub listen: SocketAddr,
    /// The address partners reach this node at (`https://host:port`).
    pub endpoint: String,
    /// The store file, relative to the node directory.
    #[serde(default = "default_store")]
    pub store: PathBuf,
    /// The largest envelope accepted, in bytes.
    #[serde(default = "default_max_envelope")]
    pub max_envelope_bytes: usize,
    /// The hex SHA-256 of the constitutional policy file pinned for this node.
    #[serde(default)]
    pub constitutional_digest: String,
    /// How often a running node signs a checkpoint of its log (when it has
    /// grown) and asks its partners to cosign it, in seconds; 0 turns it off.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: u64,
    /// How this node classifies what it releases: the partner's handling
    /// code is a floor, this rule raises it (see `HandlingRules` for the
    /// documented defaults, used when the table is absent; `init` leaves
    /// it out, so keys added at the end of the file stay top-level).
    #[serde(default, skip_serializing_if = "HandlingRules::is_default")]
    pub handling: HandlingRules,
    /// Where the operator endpoint (`/healthz`, `/readyz`, `/metrics`)
    /// listens, apart from the partner port; off when absent. Keep it on
    /// loopback or an operations network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_listen: Option<SocketAddr>,
    /// Agreed answer times in seconds, per proposal kind (e.g.
    /// `border_alert = 28800`); a kind not named keeps its default (see
    /// `deadlines.rs`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub answer_times: std::collections::BTreeMap<String, u64>,
}

fn default_checkpoint_interval() -> u64 {
    300
}

fn default_store() -> PathBuf {
    PathBuf::from("node.sqlite")
}

fn default_max_envelope() -> usize {
    soberana_wire::MAX_ENVELOPE_BYTES
}

/// The paths of a node directory.
#[derive(Debug, Clone)]
pub struct NodeDir {
    root: PathBuf,
}

impl NodeDir {
    /// The node directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The configuration file.
    pub fn config(&self) -> PathBuf {
        self.root.join("node.toml")
    }
    /// The signing key.
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("keys/signing.key")
    }
    /// The TLS private key.
    pub fn tls_key(&self) -> PathBuf {
        self.root.join("keys/tls.key")
    }
    /// The TLS certificate.
    pub fn tls_cert(&self) -> PathBuf {
        self.root.join("keys/tls.crt")
    }
    /// The registry of parties.
    pub fn parties(&self) -> PathBuf {
        self.root.join("parties")
    }
    /// The policy directory.
    pub fn policy(&self) -> PathBuf {
        self.root.join("policy")
    }

    /// Reads and checks the configuration.
    pub fn load_config(&self) -> Result<NodeConfig, NodeError> {
        let path = self.config();
        if !path.exists() {
            return Err(NodeError::NoNode(self.root.clone()));
        }
        let text = std::fs::read_to_string(&path).map_err(NodeError::io(&path))?;
        let config: NodeConfig = toml::from_str(&text).map_err(|e| NodeError::Config {
            path: path.clone(),
            detail: e.message().to_owned(),
        })?;
        for (kind, secs) in &config.answer_times {
            let known = soberana_core::ProposalKind::ALL
                .iter()
                .any(|k| k.as_str() == kind);
            if !known {
                let names: Vec<&str> = soberana_core::ProposalKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect();
                return Err(NodeError::Config {
                    path,
                    detail: format!(
                        "`answer_times.{kind}` names no proposal kind; use one of {}",
                        names.join(", ")
                    ),
                });
            }
            if *secs == 0 {
                return Err(NodeError::Config {
                    path,
                    detail: format!("`answer_times.{kind}` must be at least one second"),
                });
            }
        }
        if config.max_envelope_bytes < 1024 {
            return Err(NodeError::Config {
                path,
                detail: "`max_envelope_bytes` must be at least 1024".into(),
            });
        }
        Ok(config)
    }

    /// The store file.
    pub fn store_path(&self, config: &NodeConfig) -> PathBuf {
        self.root.join(&config.store)
    }

    /// Loads every party file of the registry.
    pub fn load_registry(&self) -> Result<Registry, NodeError> {
        load_registry(&self.parties())
    }
}

/// Loads every `*.toml` party file in `dir`.
pub fn load_registry(dir: &Path) -> Result<Registry, NodeError> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(NodeError::io(dir))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(NodeError::io(&path))?;
        let file: PartyFile = toml::from_str(&text).map_err(|e| NodeError::Config {
            path: path.clone(),
            detail: e.message().to_owned(),
        })?;
        file.validate().map_err(|e| NodeError::Config {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        files.push(file);
    }
    Registry::new(files).map_err(|e| NodeError::Config {
        path: dir.to_owned(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod handling_tests {
    #![allow(clippy::unwrap_used)]

    use soberana_core::{HandlingCode, ProposalKind};

    use super::*;

    /// The handling rule reads from `node.toml`; absent, the documented
    /// defaults apply and `init` does not write them out.
    #[test]
    fn a_handling_rule_in_node_toml_replaces_the_defaults() {
        let base =
            "party = \"MX\"\nlisten = \"127.0.0.1:7443\"\nendpoint = \"https://127.0.0.1:7443\"\n";
        let plain: NodeConfig = toml::from_str(base).unwrap();
        assert!(plain.handling.is_default());
        assert!(!toml::to_string(&plain).unwrap().contains("handling"));
        let custom: NodeConfig = toml::from_str(&format!(
            "{base}[handling.kinds]\nfirearm_trace = \"H3\"\n\n[[handling.data]]\nname = \"vehicle data\"\nat_least = \"H1\"\nterms = [\"plate\"]\n"
        ))
        .unwrap();
        let c = custom
            .handling
            .classify(HandlingCode::H0, ProposalKind::FirearmTrace, ["plate"]);
        assert_eq!(c.code, HandlingCode::H3);
        let c = custom.handling.classify(
            HandlingCode::H0,
            ProposalKind::InformationRequest,
            ["Plate number", "name"],
        );
        assert_eq!(
            c.code,
            HandlingCode::H1,
            "only the node's own classes apply"
        );
        let bad = toml::from_str::<NodeConfig>(&format!(
            "{base}[handling.kinds]\nfirearm_trace = \"H9\"\n"
        ));
        assert!(bad.is_err());
    }
}
