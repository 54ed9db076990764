//! `soberana init`: making a node directory, whole or not at all.
//!
//! Everything is written into a temporary sibling directory first and moved
//! into place with one rename, so an interrupted `init` leaves no half-made
//! node behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use soberana_core::PartyCode;
use soberana_wire::NodeKey;

use crate::NodeError;
use crate::config::{NodeConfig, NodeDir, load_registry};
use crate::identity::{TlsIdentity, write_secret};

/// The party files shipped with soberana, as (file name, text).
pub const SHIPPED_PARTIES: &[(&str, &str)] = &[
    ("MX.toml", include_str!("../../../parties/MX.toml")),
    ("US.toml", include_str!("../../../parties/US.toml")),
];

/// How long a new node's keys are meant to serve: its certificate's
/// validity and `key_max_age_days`.
const KEY_MAX_AGE_DAYS: u64 = 365;

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The party the node speaks for.
    pub party: PartyCode,
    /// The node directory to create.
    pub dir: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The address partners reach the node at; defaults to `https://LISTEN`.
    pub endpoint: Option<String>,
    /// Extra files to write, relative to the node directory (policy layers).
    pub files: Vec<(PathBuf, String)>,
    /// The digest of the constitutional layer to pin.
    pub constitutional_digest: String,
    /// Where the store lives: a file in the node directory (SQLite, the
    /// default `node.sqlite`) or a `postgres://` URL.
    pub store: Option<String>,
}

/// Checks a store named on the command line: a plain relative path inside
/// the node folder, or a PostgreSQL URL whose database answers now (its
/// schema is made, so the node's first start finds it ready).
fn check_store(store: &str) -> Result<PathBuf, NodeError> {
    let bad = |detail: String| NodeError::BadStore(soberana_store::redacted(store), detail);
    if soberana_store::is_postgres_url(store) {
        soberana_store::StoreLocation::Postgres(store.to_owned())
            .open()
            .map_err(|e| bad(e.to_string()))?;
        return Ok(PathBuf::from(store));
    }
    if store.contains("://") {
        return Err(bad(
            "is neither a file path nor a postgres:// URL (the stores are SQLite and PostgreSQL)"
                .into(),
        ));
    }
    let path = PathBuf::from(store);
    if store.is_empty()
        || !path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return Err(bad(
            "a SQLite store is a relative path inside the node folder (e.g. `node.sqlite`)".into(),
        ));
    }
    Ok(path)
}

fn write(path: &Path, text: &str) -> Result<(), NodeError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(NodeError::io(parent))?;
    }
    std::fs::write(path, text).map_err(NodeError::io(path))
}

/// Creates a node directory.
pub fn init(options: &InitOptions) -> Result<NodeConfig, NodeError> {
    let target = &options.dir;
    if target.exists()
        && std::fs::read_dir(target)
            .map_err(NodeError::io(target))?
            .next()
            .is_some()
    {
        return Err(NodeError::AlreadyExists(target.clone()));
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(NodeError::io(parent))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node".into());
    let staging = parent.join(format!(".{name}.init-{}", std::process::id()));
    let result = stage(options, &staging);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        return result;
    }
    if target.exists() {
        std::fs::remove_dir(target).map_err(NodeError::io(target))?;
    }
    if let Err(e) = std::fs::rename(&staging, target) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(NodeError::io(target)(e));
    }
    result
}

fn stage(options: &InitOptions, staging: &Path) -> Result<NodeConfig, NodeError> {
    let store = match &options.store {
        Some(store) => check_store(store)?,
        None => PathBuf::from("node.sqlite"),
    };
    let dir = NodeDir::new(staging);
    std::fs::create_dir_all(staging.join("keys")).map_err(NodeError::io(staging))?;
    for (file, text) in SHIPPED_PARTIES {
        write(&dir.parties().join(file), text)?;
    }
    let registry = load_registry(&dir.parties())?;
    if registry.party(options.party).is_none() {
        let known: Vec<String> = registry.parties().map(|p| p.code.to_string()).collect();
        return Err(NodeError::UnknownParty(
            options.party.to_string(),
            known.join(", "),
        ));
    }
    let key = NodeKey::generate().map_err(|e| NodeError::Tls(e.to_string()))?;
    write_secret(&dir.signing_key(), &key.to_hex_secret())?;
    let host = options.listen.ip().to_string();
    let tls = TlsIdentity::generate(
        vec![
            host.clone(),
            "localhost".into(),
            format!("{}.soberana", options.party.as_str().to_ascii_lowercase()),
        ],
        KEY_MAX_AGE_DAYS,
    )?;
    write_secret(&dir.tls_key(), tls.key_pem())?;
    write(&dir.tls_cert(), &tls.cert_pem)?;
    for (path, text) in &options.files {
        write(&staging.join(path), text)?;
    }
    let config = NodeConfig {
        party: options.party,
        listen: options.listen,
        endpoint: options
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{}", options.listen)),
        store,
        max_envelope_bytes: soberana_wire::MAX_ENVELOPE_BYTES,
        constitutional_digest: options.constitutional_digest.clone(),
        checkpoint_interval_secs: 300,
        key_max_age_days: KEY_MAX_AGE_DAYS,
        handling: soberana_core::HandlingRules::default(),
        operator_listen: None,
        answer_times: Default::default(),
        limits: crate::TransportLimits::default(),
    };
    let text = toml::to_string_pretty(&config).map_err(|e| NodeError::Config {
        path: dir.config(),
        detail: e.to_string(),
    })?;
    let header = format!(
        "# soberana node for {}. Edit with care: the constitutional digest is changed only\n# by `soberana policy pin`, which records and announces the change.\n\n",
        options.party
    );
    write(&dir.config(), &(header + &text))?;
    Ok(config)
}
