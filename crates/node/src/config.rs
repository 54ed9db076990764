//! A node's directory and configuration.
//!
//! ```text
//! DIR/node.toml              configuration (party, listen address, policy pins)
//! DIR/keys/signing.key       Ed25519 seed, hex, mode 0600
//! DIR/keys/tls.key           TLS private key, PEM, mode 0600
//! DIR/keys/tls.crt           TLS certificate, PEM
//! DIR/parties/XX.toml        the registry: every party and agency this node knows
//! DIR/policy/                the node's policy layers
//! DIR/node.sqlite            the store (or a PostgreSQL database named in node.toml)
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
    /// The store: a file relative to the node directory (SQLite, the
    /// default), or a `postgres://user@host/db` URL (PostgreSQL).
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
    /// How old the signing key may grow, in days, before the node warns
    /// that a rotation is due (`soberana key rotate`): a warning in the log
    /// from 30 days before, and `soberana_key_rotation_due` in the metrics.
    #[serde(default = "default_key_max_age_days")]
    pub key_max_age_days: u64,
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
    /// How much of its time, memory and disk a partner may take. Written
    /// only when changed, so that a fresh `node.toml` ends with its
    /// top-level keys and a key added at its end stays top-level.
    #[serde(default, skip_serializing_if = "TransportLimits::is_default")]
    pub limits: TransportLimits,
}

/// Bounds on everything a partner sends or answers, in size and in time.
/// A pinned partner holds real keys, so these hold against it as much as
/// against an outsider. Every field may be left out of `[limits]` in
/// `node.toml`; the defaults suit partners on ordinary links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportLimits {
    /// How long a new connection has to finish its TLS handshake (default
    /// 10 s); a connection that shows no certificate in that time is closed.
    pub handshake_timeout_ms: u64,
    /// How long a request has to send its headers, counted from when the
    /// connection is ready for one, so an idle connection is closed after
    /// it too (default 10 s).
    pub header_timeout_ms: u64,
    /// How long a request has to send its whole body (default 60 s); a
    /// trickled body is answered `408`.
    pub body_timeout_ms: u64,
    /// Connections served at once (default 256); more wait to be accepted.
    pub max_connections: usize,
    /// Connections one partner may hold at once, known by its certificate
    /// (default 64; a node's outbox opens at most 32 to one partner).
    pub max_connections_per_partner: usize,
    /// Connections one network address may hold before showing a
    /// certificate (default 64: a partner's outbox may open 32 at once, and a
    /// burst of honest connections must not be dropped).
    pub max_handshakes_per_address: usize,
    /// The largest reply read from a partner's node (default 64 KiB); a
    /// reply is a short JSON verdict, a receipt at most a few KiB more.
    pub max_reply_bytes: usize,
    /// How long one delivery may take, from connecting to the last byte of
    /// the reply (default 30 s).
    pub delivery_timeout_ms: u64,
    /// Bytes of protocol messages a partner may have stored under one
    /// proposal (default 4 GiB).
    pub max_session_bytes: u64,
    /// Bytes of protocol messages one step may take (default 1 GiB); the
    /// step is put together in memory, so this bounds what one step costs.
    pub max_step_bytes: u64,
    /// How long a match session waits for the partner's next step before
    /// it ends with a reason (default 10 minutes).
    pub session_idle_timeout_ms: u64,
    /// How far ahead of our clock an envelope's header time may be
    /// (default 5 minutes).
    pub max_clock_skew_ms: u64,
    /// How old an envelope's header time may be when it arrives (default 30
    /// days: an outbox retries through an outage of that long).
    pub max_envelope_age_ms: u64,
    /// The most envelopes one batch (`POST /v1/envelopes/batch`) may hold,
    /// taken in and sent (default 64); a larger batch is refused whole.
    pub max_batch_envelopes: usize,
    /// The most bytes one batch may hold, framing included (default 4 MiB,
    /// the largest single envelope: a batch holds no more memory than one
    /// envelope could); a larger batch is refused whole, unread past it.
    pub max_batch_bytes: usize,
}

impl Default for TransportLimits {
    fn default() -> Self {
        const GIB: u64 = 1024 * 1024 * 1024;
        Self {
            handshake_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            body_timeout_ms: 60_000,
            max_connections: 256,
            max_connections_per_partner: 64,
            max_handshakes_per_address: 64,
            max_reply_bytes: 64 * 1024,
            delivery_timeout_ms: 30_000,
            max_session_bytes: 4 * GIB,
            max_step_bytes: GIB,
            session_idle_timeout_ms: 10 * 60 * 1000,
            max_clock_skew_ms: 5 * 60 * 1000,
            max_envelope_age_ms: 30 * 24 * 3600 * 1000,
            max_batch_envelopes: 64,
            max_batch_bytes: 4 * 1024 * 1024,
        }
    }
}

impl TransportLimits {
    /// Whether every limit is at its default.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks that the limits make sense together; names the first that does not.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_partner",
                self.max_connections_per_partner as u64,
            ),
            (
                "max_handshakes_per_address",
                self.max_handshakes_per_address as u64,
            ),
            ("max_reply_bytes", self.max_reply_bytes as u64),
            ("delivery_timeout_ms", self.delivery_timeout_ms),
            ("max_session_bytes", self.max_session_bytes),
            ("max_step_bytes", self.max_step_bytes),
            ("max_envelope_age_ms", self.max_envelope_age_ms),
            ("session_idle_timeout_ms", self.session_idle_timeout_ms),
            ("max_batch_envelopes", self.max_batch_envelopes as u64),
            ("max_batch_bytes", self.max_batch_bytes as u64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("`limits.{name}` must be more than 0"));
        }
        if self.max_reply_bytes < 1024 {
            return Err("`limits.max_reply_bytes` must be at least 1024".into());
        }
        if self.max_batch_envelopes > 1024 {
            return Err("`limits.max_batch_envelopes` cannot be more than 1024".into());
        }
        if self.max_step_bytes > self.max_session_bytes {
            return Err(
                "`limits.max_step_bytes` cannot be more than `limits.max_session_bytes`".into(),
            );
        }
        Ok(())
    }
}

fn default_checkpoint_interval() -> u64 {
    300
}

fn default_key_max_age_days() -> u64 {
    365
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

    /// `witnessed.json`: the latest checkpoint of our log each partner said
    /// it cosigned, kept so that a log found behind one stays refused
    /// across restarts.
    pub fn witnessed(&self) -> PathBuf {
        self.root.join("witnessed.json")
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
        config.limits.check().map_err(|detail| NodeError::Config {
            path: path.clone(),
            detail,
        })?;
        Ok(config)
    }

    /// The store file (of a SQLite store).
    pub fn store_path(&self, config: &NodeConfig) -> PathBuf {
        self.root.join(&config.store)
    }

    /// Where the store lives: a SQLite file in the folder or a PostgreSQL
    /// database.
    pub fn store_location(&self, config: &NodeConfig) -> soberana_store::StoreLocation {
        soberana_store::StoreLocation::parse(&config.store.to_string_lossy(), &self.root)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const BASE: &str =
        "party = \"MX\"\nlisten = \"127.0.0.1:7443\"\nendpoint = \"https://127.0.0.1:7443\"\n";

    fn load(text: &str) -> Result<NodeConfig, NodeError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), text).unwrap();
        NodeDir::new(dir.path()).load_config()
    }

    #[test]
    fn limits_default_when_absent_and_are_not_written_unless_changed() {
        let config = load(BASE).unwrap();
        assert_eq!(config.limits, TransportLimits::default());
        assert!(!toml::to_string(&config).unwrap().contains("[limits]"));
        let config = load(&format!("{BASE}[limits]\nbody_timeout_ms = 500\n")).unwrap();
        assert_eq!(config.limits.body_timeout_ms, 500);
        assert_eq!(config.limits.header_timeout_ms, 10_000);
        assert!(
            toml::to_string(&config)
                .unwrap()
                .contains("body_timeout_ms = 500")
        );
    }

    #[test]
    fn a_limit_that_makes_no_sense_is_named() {
        let cases = [
            ("body_timeout_ms = 0", "limits.body_timeout_ms"),
            ("max_connections = 0", "limits.max_connections"),
            ("max_reply_bytes = 10", "limits.max_reply_bytes"),
            (
                "max_step_bytes = 10\nmax_session_bytes = 5",
                "limits.max_step_bytes",
            ),
            ("max_body_bytes = 10", "max_body_bytes"),
        ];
        for (line, named) in cases {
            let err = load(&format!("{BASE}[limits]\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named), "{line}: {err}");
        }
    }
}
