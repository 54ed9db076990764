//! Backup and restore of a node folder.
//!
//! A backup is a folder: every file of the node folder (configuration,
//! keys, registry, policy, held data) copied as it is, the store as one
//! consistent snapshot taken while the node runs, and `manifest.json`
//! naming each file with its SHA-256, its size and its mode, and the log's
//! size and root at the snapshot. Restoring checks every file against the
//! manifest (a missing, extra, changed or truncated file refuses the whole
//! restore), writes the folder under a staging name and renames it into
//! place, so a restore is never half made, and audits the restored log
//! against the root the manifest recorded.
//!
//! A backup restored onto the other kind of store (SQLite to PostgreSQL or
//! back) is moved table by table into the new store in one transaction,
//! each table's rows counted and the log's size and root recomputed at the
//! destination before it commits ([`restore_moving`]).
//!
//! What a backup cannot protect: whatever the node logged after the
//! snapshot. Its partners hold every envelope that crossed and every
//! checkpoint they cosigned, so a restored node is *behind* what its
//! partners have seen; it must not sign a checkpoint that conflicts with
//! one they hold (their witnesses refuse it as a rollback).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soberana_ledger::audit_storage_rotated;
use soberana_store::{LedgerView, NodeStore, SqliteStore};

use crate::{Node, NodeError};

/// The manifest's file name inside a backup.
pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "soberana-backup/1";
/// A backup of a node on PostgreSQL: its store is an export folder, which a
/// soberana that knows only `/1` must not mistake for a node folder file.
const FORMAT_POSTGRES: &str = "soberana-backup/2";
/// The folder inside a backup that holds a PostgreSQL store's export.
pub const POSTGRES_EXPORT: &str = "store.postgres";

/// Which store a backup holds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackupStore {
    /// One SQLite file, a copy of the node's.
    #[default]
    Sqlite,
    /// A PostgreSQL store exported table by table (see
    /// [`soberana_store::export_postgres`]).
    Postgres,
}

/// One file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupFile {
    /// Its path inside the node folder, with `/` separators.
    pub path: String,
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// Its Unix permission bits (keys stay `0600`).
    pub mode: u32,
}

/// What a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupManifest {
    /// `soberana-backup/1`.
    pub format: String,
    /// The party whose node this is.
    pub party: String,
    /// When the snapshot was taken (RFC 3339).
    pub made_at: String,
    /// Which store the backup holds.
    #[serde(default)]
    pub store_kind: BackupStore,
    /// The store file's path inside the node folder (SQLite), or the
    /// export's index inside the backup (PostgreSQL).
    pub store: String,
    /// The log's size in the snapshot.
    pub log_size: u64,
    /// The log's root in the snapshot, in hex.
    pub log_root: String,
    /// Every file, the store snapshot included, sorted by path.
    pub files: Vec<BackupFile>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_owned(),
        source,
    }
}

fn bad_backup(path: &Path, detail: impl Into<String>) -> NodeError {
    NodeError::Backup {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// SHA-256 and length of a file, streamed.
fn digest_file(path: &Path) -> Result<(String, u64), NodeError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Every regular file below `root`, as paths relative to it, sorted.
fn walk(root: &Path) -> Result<Vec<PathBuf>, NodeError> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(&rel);
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let kind = entry.file_type().map_err(io(&dir))?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                todo.push(child);
            } else if kind.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A manifest path must stay inside the folder: relative, no `..`.
fn safe_relative(backup: &Path, path: &str) -> Result<PathBuf, NodeError> {
    let rel = PathBuf::from(path);
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if path.is_empty() || !plain {
        return Err(bad_backup(
            backup,
            format!("the manifest names `{path}`, which is not a plain relative path"),
        ));
    }
    Ok(rel)
}

fn is_store_file(rel: &str, store: &str) -> bool {
    rel == store
        || rel
            .strip_prefix(store)
            .is_some_and(|rest| matches!(rest, "-wal" | "-shm" | "-journal"))
}

impl Node {
    /// Writes a backup of this node into the new folder `dest` while the
    /// node may go on running. Returns its manifest.
    pub fn backup(&self, dest: &Path) -> Result<BackupManifest, NodeError> {
        if dest.exists() {
            return Err(bad_backup(
                dest,
                "exists already; a backup goes into a new folder",
            ));
        }
        let root = self.dir().root().to_owned();
        let inside = |p: &Path| {
            let (Ok(p), Ok(r)) = (p.canonicalize(), root.canonicalize()) else {
                return false;
            };
            p.starts_with(r)
        };
        if dest.parent().is_some_and(|p| {
            inside(if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            })
        }) {
            return Err(bad_backup(
                dest,
                "is inside the node folder; put backups elsewhere",
            ));
        }
        if let soberana_store::StoreLocation::Postgres(url) =
            self.dir().store_location(self.config())
        {
            return self.backup_postgres(&url, dest);
        }
        let store_rel = self.config().store.clone();
        if !store_rel
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(bad_backup(
                dest,
                format!(
                    "the store `{}` is outside the node folder; back it up with its database's own tools",
                    self.config().store.display()
                ),
            ));
        }
        let store = slash_path(&store_rel);
        let staging = staging_name(dest);
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let made = (|| {
            // The store first: files copied after it are at least as new.
            let snapshot = staging.join(&store_rel);
            if let Some(parent) = snapshot.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            soberana_store::snapshot(&root.join(&store_rel), &snapshot)?;
            let (log_size, log_root) = self.audit_snapshot(&snapshot)?;
            copy_node_files(&root, &staging, |name| is_store_file(name, &store))?;
            write_manifest(
                &staging,
                dest,
                self.party().to_string(),
                BackupStore::Sqlite,
                store,
                log_size,
                log_root,
            )
        })();
        finish_staged(made, &staging, dest)
    }

    /// A backup of a node whose store is PostgreSQL: the store exported
    /// from one snapshot (while the node goes on writing), then the node
    /// folder's files.
    fn backup_postgres(&self, url: &str, dest: &Path) -> Result<BackupManifest, NodeError> {
        let root = self.dir().root().to_owned();
        let staging = staging_name(dest);
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let made = (|| {
            let export = soberana_store::export_postgres(url, &staging.join(POSTGRES_EXPORT))
                .map_err(|e| bad_backup(dest, format!("exporting the store: {e}")))?;
            // The log the export holds must be the start of a log that
            // verifies: audit the live one, which only ever grows.
            let (live_size, _) = self.audit_live()?;
            if live_size < export.log_size {
                return Err(bad_backup(
                    dest,
                    format!(
                        "the exported log has {} entries but the live log only {live_size}",
                        export.log_size
                    ),
                ));
            }
            copy_node_files(&root, &staging, |_| false)?;
            write_manifest(
                &staging,
                dest,
                self.party().to_string(),
                BackupStore::Postgres,
                format!("{POSTGRES_EXPORT}/{}", soberana_store::EXPORT_INDEX),
                export.log_size,
                export.log_root,
            )
        })();
        finish_staged(made, &staging, dest)
    }

    /// Audits the node's live log; returns its size and root.
    fn audit_live(&self) -> Result<(u64, String), NodeError> {
        let log_keys = self.own_log_keys()?;
        let witnesses = self.all_partner_witness_keys();
        let store: &dyn NodeStore = self.store().as_ref();
        let report = audit_storage_rotated(&LedgerView(store), &log_keys, &witnesses)
            .map_err(|e| bad_backup(self.dir().root(), format!("the live log: {e}")))?;
        Ok((report.size, report.root.to_hex()))
    }

    /// Audits the log inside a store snapshot against this node's log key
    /// and returns its size and root.
    fn audit_snapshot(&self, snapshot: &Path) -> Result<(u64, String), NodeError> {
        let store = SqliteStore::open(snapshot)?;
        let log_keys = self.own_log_keys()?;
        let witnesses = self.all_partner_witness_keys();
        let store: &dyn NodeStore = &store;
        let report = audit_storage_rotated(&LedgerView(store), &log_keys, &witnesses)
            .map_err(|e| bad_backup(snapshot, format!("the log in the snapshot: {e}")))?;
        Ok((report.size, report.root.to_hex()))
    }
}

/// Lists every file of a staged backup with its digest and writes the
/// manifest beside them.
fn write_manifest(
    staging: &Path,
    dest: &Path,
    party: String,
    store_kind: BackupStore,
    store: String,
    log_size: u64,
    log_root: String,
) -> Result<BackupManifest, NodeError> {
    let mut files = Vec::new();
    for rel in walk(staging)? {
        let path = staging.join(&rel);
        let (sha256, bytes) = digest_file(&path)?;
        let mode = std::fs::metadata(&path)
            .map_err(io(&path))?
            .permissions()
            .mode()
            & 0o777;
        files.push(BackupFile {
            path: slash_path(&rel),
            sha256,
            bytes,
            mode,
        });
    }
    let manifest = BackupManifest {
        format: match store_kind {
            BackupStore::Sqlite => FORMAT,
            BackupStore::Postgres => FORMAT_POSTGRES,
        }
        .into(),
        party,
        made_at: soberana_core::Timestamp::now().to_string(),
        store_kind,
        store,
        log_size,
        log_root,
        files,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| bad_backup(dest, e.to_string()))?;
    let path = staging.join(MANIFEST);
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(manifest)
}

/// Renames a staged backup into place, or removes it if making it failed.
fn finish_staged(
    made: Result<BackupManifest, NodeError>,
    staging: &Path,
    dest: &Path,
) -> Result<BackupManifest, NodeError> {
    match made {
        Ok(manifest) => {
            std::fs::rename(staging, dest).map_err(io(dest))?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(staging);
            Err(e)
        }
    }
}

fn staging_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Reads and checks a backup's manifest and every file it names; refuses
/// a backup with a missing, extra, changed or truncated file.
pub fn check_backup(backup: &Path) -> Result<BackupManifest, NodeError> {
    let path = backup.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let manifest: BackupManifest = serde_json::from_str(&text)
        .map_err(|e| bad_backup(backup, format!("`{MANIFEST}` is not valid: {e}")))?;
    let expected = match manifest.store_kind {
        BackupStore::Sqlite => FORMAT,
        BackupStore::Postgres => FORMAT_POSTGRES,
    };
    if manifest.format != expected {
        return Err(bad_backup(
            backup,
            format!(
                "format `{}` is not `{expected}`; restore it with the soberana that made it",
                manifest.format
            ),
        ));
    }
    let listed: BTreeMap<&str, &BackupFile> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    if !listed.contains_key(manifest.store.as_str()) {
        return Err(bad_backup(
            backup,
            format!("the store `{}` is not in the manifest", manifest.store),
        ));
    }
    for file in &manifest.files {
        let rel = safe_relative(backup, &file.path)?;
        let on_disk = backup.join(&rel);
        if !on_disk.is_file() {
            return Err(bad_backup(backup, format!("`{}` is missing", file.path)));
        }
        let (sha256, bytes) = digest_file(&on_disk)?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(bad_backup(
                backup,
                format!(
                    "`{}` does not match the manifest ({bytes} bytes, SHA-256 {sha256}; the manifest says {} bytes, {})",
                    file.path, file.bytes, file.sha256
                ),
            ));
        }
    }
    for rel in walk(backup)? {
        let name = slash_path(&rel);
        if name != MANIFEST && !listed.contains_key(name.as_str()) {
            return Err(bad_backup(
                backup,
                format!("`{name}` is not in the manifest"),
            ));
        }
    }
    Ok(manifest)
}

/// Restores a checked backup into the new node folder `dest`: all of it
/// or nothing. `store` is where the restored node keeps its store: `None`
/// for a SQLite file in the folder, a `postgres://` URL for an empty
/// PostgreSQL database (or new schema), which the restored `node.toml`
/// then names. A backup of a node on the other kind of store is moved
/// into it table by table (see [`restore_moving`]). The caller then opens
/// the node (which checks keys, registry and the policy pin) and audits
/// its log with [`Node::check_restored`].
pub fn restore(
    backup: &Path,
    dest: &Path,
    store: Option<&str>,
) -> Result<BackupManifest, NodeError> {
    restore_moving(backup, dest, store, &mut |_| {}).map(|restored| restored.manifest)
}

/// A restore, and the move between stores it made, if any.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: BackupManifest,
    /// The store the backup held, when it was moved into the other kind:
    /// what was moved, counted and recomputed at the destination.
    pub moved: Option<(BackupStore, soberana_store::StoreMove)>,
}

/// [`restore`], moving the store when the backup holds the other kind
/// than `store` names, and telling `progress` how the move goes.
///
/// A move copies every table of the backup's store into the new store in
/// one transaction (nothing is left in a store that fails midway), counts
/// each table's rows at the destination against the backup (against its
/// export's index for PostgreSQL, its store file for SQLite, both covered
/// by the manifest's digests), and commits only when the log recomputed
/// from the moved leaves has the manifest's size and root. The log's
/// entries, checkpoints, cosignatures and tree nodes move as the bytes
/// they are, so proofs and receipts issued before still verify and the
/// log goes on, for the partners, from where it was.
pub fn restore_moving(
    backup: &Path,
    dest: &Path,
    store: Option<&str>,
    progress: &mut (dyn FnMut(soberana_store::MoveProgress<'_>) + Send),
) -> Result<Restored, NodeError> {
    if dest.exists() {
        return Err(bad_backup(
            dest,
            "exists already; restore into a new folder (a running node's folder is never overwritten)",
        ));
    }
    let manifest = check_backup(backup)?;
    let url = match store {
        None => None,
        Some(url) => {
            if !soberana_store::is_postgres_url(url) || url.contains(['"', '\\', '\n']) {
                return Err(bad_backup(
                    backup,
                    format!(
                        "--store `{}` is not a postgres:// URL (leave it out to restore into a SQLite file in the folder)",
                        soberana_store::redacted(url)
                    ),
                ));
            }
            Some(url)
        }
    };
    let export_prefix = format!("{POSTGRES_EXPORT}/");
    let staging = staging_name(dest);
    let _ = std::fs::remove_dir_all(&staging);
    let mut moved = None;
    let copied = (|| {
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        for file in &manifest.files {
            let rel = safe_relative(backup, &file.path)?;
            if manifest.store_kind == BackupStore::Postgres && file.path.starts_with(&export_prefix)
            {
                // Goes into the database, not the folder.
                continue;
            }
            let to = staging.join(&rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let from = backup.join(&rel);
            std::fs::copy(&from, &to).map_err(io(&from))?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(file.mode & 0o777))
                .map_err(io(&to))?;
            // Copy and check in one pass over what landed.
            let (sha256, _) = digest_file(&to)?;
            if sha256 != file.sha256 {
                return Err(bad_backup(
                    backup,
                    format!("`{}` changed while it was restored", file.path),
                ));
            }
        }
        let expected = (manifest.log_size, manifest.log_root.as_str());
        match (manifest.store_kind, url) {
            (BackupStore::Sqlite, None) => {}
            (BackupStore::Postgres, Some(url)) => {
                point_config_at(&staging, url)?;
                // Last: one transaction into the database, so a failure
                // before it leaves the database untouched and a failure in
                // it leaves nothing behind either.
                soberana_store::import_postgres(url, &backup.join(POSTGRES_EXPORT)).map_err(
                    |e| {
                        bad_backup(
                            backup,
                            format!(
                                "loading the store into `{}`: {e}",
                                soberana_store::redacted(url)
                            ),
                        )
                    },
                )?;
            }
            (BackupStore::Sqlite, Some(url)) => {
                // The store file was copied (and checked) into the staged
                // folder: it is moved from there, then left out.
                let file = staging.join(safe_relative(backup, &manifest.store)?);
                point_config_at(&staging, url)?;
                let done =
                    soberana_store::move_sqlite_into_postgres(&file, url, expected, progress)
                        .map_err(|e| {
                            bad_backup(
                                backup,
                                format!(
                                    "moving the SQLite store into `{}`: {e}",
                                    soberana_store::redacted(url)
                                ),
                            )
                        })?;
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut name = file.as_os_str().to_owned();
                    name.push(suffix);
                    let name = PathBuf::from(name);
                    if name.exists() {
                        std::fs::remove_file(&name).map_err(io(&name))?;
                    }
                }
                moved = Some((BackupStore::Sqlite, done));
            }
            (BackupStore::Postgres, None) => {
                let file = staging.join(SQLITE_STORE);
                point_config_at(&staging, SQLITE_STORE)?;
                let done = soberana_store::move_postgres_export_into_sqlite(
                    &backup.join(POSTGRES_EXPORT),
                    &file,
                    expected,
                    progress,
                )
                .map_err(|e| {
                    bad_backup(
                        backup,
                        format!("moving the PostgreSQL store into `{SQLITE_STORE}`: {e}"),
                    )
                })?;
                moved = Some((BackupStore::Postgres, done));
            }
        }
        std::fs::File::open(&staging)
            .and_then(|d| d.sync_all())
            .map_err(io(&staging))
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::rename(&staging, dest).map_err(io(dest))?;
    Ok(Restored { manifest, moved })
}

/// The SQLite store file a node moved off PostgreSQL keeps, in its folder.
const SQLITE_STORE: &str = "node.sqlite";

/// Makes the restored folder's `node.toml` name the store it was restored
/// into (a URL, or a SQLite file in the folder), keeping everything else.
fn point_config_at(folder: &Path, url: &str) -> Result<(), NodeError> {
    let path = folder.join("node.toml");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| NodeError::Config {
        path: path.clone(),
        detail: e.message().to_owned(),
    })?;
    table.insert("store".into(), toml::Value::String(url.to_owned()));
    let text = toml::to_string_pretty(&table).map_err(|e| NodeError::Config {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(io(&path))
}

impl Node {
    /// Audits this (just restored) node's log and checks that it is the log
    /// the backup recorded: same size, same root.
    pub fn check_restored(&self, manifest: &BackupManifest) -> Result<(), NodeError> {
        let (size, root) = self.audit_live().map_err(|e| match e {
            NodeError::Backup { detail, .. } => bad_backup(
                self.dir().root(),
                detail.replacen("the live log", "the restored log", 1),
            ),
            other => other,
        })?;
        if size != manifest.log_size || root != manifest.log_root {
            return Err(bad_backup(
                self.dir().root(),
                format!(
                    "the restored log has size {size} and root {root}; the backup recorded size {} and root {}",
                    manifest.log_size, manifest.log_root
                ),
            ));
        }
        Ok(())
    }
}

/// Copies the node folder's files under `root` into `staging`, all but the
/// folder's lock and those `skip` names (by their path with `/`).
fn copy_node_files(
    root: &Path,
    staging: &Path,
    skip: impl Fn(&str) -> bool,
) -> Result<(), NodeError> {
    for rel in walk(root)? {
        let name = slash_path(&rel);
        if skip(&name) || name == "node.lock" {
            continue;
        }
        let to = staging.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let from = root.join(&rel);
        std::fs::copy(&from, &to).map_err(io(&from))?;
    }
    Ok(())
}
