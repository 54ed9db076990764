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
    /// documented defaults, used when the table is absent).
    #[serde(default)]
    pub handling: HandlingRules,
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
