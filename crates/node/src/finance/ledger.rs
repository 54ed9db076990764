//! The node's financial ledger: CSV exports under `DIR/finance/`, named in
//! `finance/ledger.json`, plus the party's typology thresholds
//! (`finance/typology.json`) and the pseudonym key its answers use
//! (`finance/pseudonym.key`).
//!
//! # Why files and not rows of the store
//!
//! At a hundred million transactions a SQLite table costs about ten times
//! the graph's 44 bytes a transaction on disk, inserts at a fraction of the
//! CSV parse rate, and every trace would still have to read all of it back
//! to build the in-memory graph; the store also holds the log and the
//! proposals, which should not grow by gigabytes or wait behind a bulk load.
//! An ingest therefore validates each file completely while copying it into
//! a staging folder, and only a fully valid set is moved in and named in
//! `finance/ledger.json`, which is replaced atomically: that manifest is the
//! commit point, so a rejected or interrupted ingest leaves nothing loaded.
//! What crosses the border about this ledger (trails, answers) lives in the
//! store, with the proposals.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use soberana_core::Timestamp;
use soberana_finance::continuation::PseudonymKey;
use soberana_finance::ingest::{
    AccountColumns, HolderColumns, ReportColumns, TransactionColumns, parse_accounts,
    parse_holders, parse_reports, read_transactions,
};
use soberana_finance::typology::TypologyConfig;
use soberana_finance::{Graph, GraphBuilder, IngestError};

use crate::NodeError;

/// The column maps of one export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMaps {
    /// Header names of the transaction table.
    pub transactions: TransactionColumns,
    /// Header names of the account table.
    pub accounts: AccountColumns,
    /// Header names of the holder table.
    pub holders: HolderColumns,
    /// Header names of the report table.
    pub reports: ReportColumns,
}

/// Which table a loaded file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Transactions.
    Transactions,
    /// Accounts.
    Accounts,
    /// Holders.
    Holders,
    /// Suspicious-transaction reports.
    Reports,
}

impl Table {
    /// The table's name, as files and messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Table::Transactions => "transactions",
            Table::Accounts => "accounts",
            Table::Holders => "holders",
            Table::Reports => "reports",
        }
    }
}

/// One loaded file, as `ingest` reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The table.
    pub table: Table,
    /// File name inside `finance/`.
    pub file: String,
    /// The file it was loaded from.
    pub source: String,
    /// Valid rows.
    pub rows: u64,
    /// When.
    pub loaded: Timestamp,
    /// Its columns.
    pub columns: ColumnMaps,
}

/// `finance/ledger.json`: what is loaded. Replaced atomically; files not
/// named here are not loaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    batches: Vec<Batch>,
}

/// How far an ingest has come, for a progress line.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Reading a file.
    Reading {
        /// The table and file.
        label: &'a str,
        /// Rows read so far.
        rows: u64,
        /// Share of the file read, in percent.
        percent: f64,
        /// Rows a second.
        rate: f64,
    },
    /// A file was read whole and is valid.
    Valid {
        /// The table and file.
        label: &'a str,
        /// Its rows.
        rows: u64,
        /// Seconds it took.
        secs: f64,
    },
    /// A file was read whole and has bad rows.
    Rejected,
}

/// The node folder's financial folder.
pub fn finance_dir(node: &Path) -> PathBuf {
    node.join("finance")
}

fn require_node(node: &Path) -> Result<(), NodeError> {
    if !node.join("node.toml").exists() {
        return Err(NodeError::NoNode(node.to_path_buf()));
    }
    Ok(())
}

fn finance_err(text: String) -> NodeError {
    NodeError::Finance(text)
}

impl Manifest {
    fn load(node: &Path) -> Result<Self, NodeError> {
        let path = finance_dir(node).join("ledger.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| finance_err(format!("`{}` is damaged: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(NodeError::io(path)(e)),
        }
    }

    fn save(&self, node: &Path) -> Result<(), NodeError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| finance_err(e.to_string()))?;
        write_atomically(&finance_dir(node).join("ledger.json"), &bytes)
    }
}

/// The files loaded into the node's ledger, oldest first.
pub fn loaded(node: &Path) -> Result<Vec<Batch>, NodeError> {
    Ok(Manifest::load(node)?.batches)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename,
/// so that readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp).map_err(NodeError::io(&tmp))?;
        f.write_all(bytes).map_err(NodeError::io(&tmp))?;
        f.sync_all().map_err(NodeError::io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(NodeError::io(path))
}

/// Reads a source file while copying it into the staging folder, counting
/// lines and reporting progress now and then.
struct Tee<'a, 'p> {
    inner: File,
    copy: BufWriter<File>,
    copy_error: Option<io::Error>,
    label: &'a str,
    total: u64,
    bytes: u64,
    lines: u64,
    started: Instant,
    shown: Instant,
    progress: Option<&'p mut dyn FnMut(Progress<'_>)>,
}

impl Read for Tee<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        if let Err(e) = self.copy.write_all(chunk) {
            let again = io::Error::new(e.kind(), e.to_string());
            self.copy_error = Some(e);
            return Err(again);
        }
        self.bytes += n as u64;
        self.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if let Some(progress) = self.progress.as_mut()
            && self.shown.elapsed() >= Duration::from_millis(500)
        {
            self.shown = Instant::now();
            progress(Progress::Reading {
                label: self.label,
                rows: self.lines.saturating_sub(1),
                percent: if self.total == 0 {
                    100.0
                } else {
                    self.bytes as f64 * 100.0 / self.total as f64
                },
                rate: self.lines as f64 / self.started.elapsed().as_secs_f64().max(1e-9),
            });
        }
        Ok(n)
    }
}

fn rejected(source: &Path, error: IngestError) -> NodeError {
    NodeError::Ingest {
        file: source.to_path_buf(),
        error,
    }
}

/// Validates `source` as a `table` while copying it to `staged`.
fn stage(
    source: &Path,
    table: Table,
    maps: &ColumnMaps,
    staged: &Path,
    mut progress: Option<&mut dyn FnMut(Progress<'_>)>,
) -> Result<u64, NodeError> {
    let inner = File::open(source).map_err(NodeError::io(source))?;
    let total = inner.metadata().map(|m| m.len()).unwrap_or(0);
    let label = format!("{} {}", table.name(), source.display());
    let now = Instant::now();
    let copy = File::create(staged).map_err(NodeError::io(staged))?;
    let mut tee = Tee {
        inner,
        copy: BufWriter::with_capacity(1 << 20, copy),
        copy_error: None,
        label: &label,
        total,
        bytes: 0,
        lines: 0,
        started: now,
        shown: now,
        progress: progress
            .as_mut()
            .map(|p| &mut **p as &mut dyn FnMut(Progress<'_>)),
    };
    let reader = BufReader::with_capacity(1 << 16, &mut tee);
    let result: Result<u64, IngestError> = match table {
        Table::Transactions => {
            read_transactions(reader, &maps.transactions, &mut GraphBuilder::new())
        }
        Table::Accounts => parse_accounts(reader, &maps.accounts).map(|v| v.len() as u64),
        Table::Holders => parse_holders(reader, &maps.holders).map(|v| v.len() as u64),
        Table::Reports => parse_reports(reader, &maps.reports).map(|v| v.len() as u64),
    };
    if let Some(e) = tee.copy_error.take() {
        return Err(NodeError::io(staged)(e));
    }
    let secs = tee.started.elapsed().as_secs_f64();
    let copy = tee.copy;
    match result {
        Ok(rows) => {
            let copy = copy
                .into_inner()
                .map_err(|e| NodeError::io(staged)(e.into_error()))?;
            copy.sync_all().map_err(NodeError::io(staged))?;
            if let Some(p) = progress {
                p(Progress::Valid {
                    label: &label,
                    rows,
                    secs,
                });
            }
            Ok(rows)
        }
        Err(e) => {
            if let Some(p) = progress {
                p(Progress::Rejected);
            }
            Err(rejected(source, e))
        }
    }
}

/// Loads `inputs` into the node at `node`, all or nothing: every file is
/// validated in full before any is named in the manifest. Returns the
/// batches loaded and the transactions the node holds afterwards.
/// `progress`, when given, hears how each file is coming along.
pub fn ingest(
    node: &Path,
    inputs: &[(Table, PathBuf)],
    maps: &ColumnMaps,
    mut progress: Option<&mut dyn FnMut(Progress<'_>)>,
) -> Result<(Vec<Batch>, u64), NodeError> {
    require_node(node)?;
    if inputs.is_empty() {
        return Err(finance_err(
            "nothing to ingest: give --transactions, --accounts, --holders or --reports".into(),
        ));
    }
    let fin = finance_dir(node);
    std::fs::create_dir_all(&fin).map_err(NodeError::io(&fin))?;
    // Staging folders of an interrupted ingest were never committed.
    for entry in std::fs::read_dir(&fin)
        .map_err(NodeError::io(&fin))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(".staging-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let staging = fin.join(format!(
        ".staging-{}-{}",
        std::process::id(),
        Timestamp::now().unix_millis()
    ));
    std::fs::create_dir_all(&staging).map_err(NodeError::io(&staging))?;
    let mut manifest = Manifest::load(node)?;
    let first = manifest.batches.len() + 1;
    let mut batches = Vec::with_capacity(inputs.len());
    for (i, (table, source)) in inputs.iter().enumerate() {
        let file = format!("{:06}-{}.csv", first + i, table.name());
        let staged = stage(
            source,
            *table,
            maps,
            &staging.join(&file),
            progress
                .as_mut()
                .map(|p| &mut **p as &mut dyn FnMut(Progress<'_>)),
        );
        let rows = match staged {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        batches.push(Batch {
            table: *table,
            file,
            source: source.display().to_string(),
            rows,
            loaded: Timestamp::now(),
            columns: maps.clone(),
        });
    }
    for b in &batches {
        let to = fin.join(&b.file);
        std::fs::rename(staging.join(&b.file), &to).map_err(NodeError::io(&to))?;
    }
    let _ = std::fs::remove_dir_all(&staging);
    manifest.batches.extend(batches.iter().cloned());
    manifest.save(node)?;
    let held = manifest
        .batches
        .iter()
        .filter(|b| b.table == Table::Transactions)
        .map(|b| b.rows)
        .sum();
    Ok((batches, held))
}

/// Builds the node's graph from everything loaded, reports applied.
pub fn load_graph(node: &Path) -> Result<Graph, NodeError> {
    require_node(node)?;
    let manifest = Manifest::load(node)?;
    let fin = finance_dir(node);
    let mut builder = GraphBuilder::new();
    let mut reports = Vec::new();
    for b in &manifest.batches {
        let path = fin.join(&b.file);
        let open = || -> Result<BufReader<File>, NodeError> {
            Ok(BufReader::with_capacity(
                1 << 16,
                File::open(&path).map_err(NodeError::io(&path))?,
            ))
        };
        match b.table {
            Table::Transactions => {
                read_transactions(open()?, &b.columns.transactions, &mut builder)
                    .map_err(|e| rejected(&path, e))?;
            }
            Table::Reports => reports.extend(
                parse_reports(open()?, &b.columns.reports).map_err(|e| rejected(&path, e))?,
            ),
            Table::Accounts | Table::Holders => {}
        }
    }
    if builder.is_empty() {
        return Err(NodeError::NoFinanceLedger(node.to_path_buf()));
    }
    let mut graph = builder.finish();
    graph.add_reports(&reports);
    Ok(graph)
}

/// The party's typology thresholds: the file given, else
/// `DIR/finance/typology.json` when the node has one, else the defaults.
/// Fields left out of a file keep their defaults.
pub fn typology_config(node: &Path, explicit: Option<&Path>) -> Result<TypologyConfig, NodeError> {
    let own = finance_dir(node).join("typology.json");
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if own.exists() => own,
        None => return Ok(TypologyConfig::default()),
    };
    let text = std::fs::read_to_string(&path).map_err(NodeError::io(&path))?;
    serde_json::from_str(&text).map_err(|e| {
        finance_err(format!(
            "`{}` is not a typology configuration: {e}",
            path.display()
        ))
    })
}

/// The pseudonym key this node's answers use, made on first use (0600).
pub(crate) fn pseudonym_key(node: &Path) -> Result<PseudonymKey, NodeError> {
    let path = finance_dir(node).join("pseudonym.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                finance_err(format!(
                    "`{}` is not a 32-byte key; remove it to make a new one (pseudonyms will change)",
                    path.display()
                ))
            })?;
            Ok(PseudonymKey::new(key))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::getrandom(&mut key)
                .map_err(|e| finance_err(format!("no randomness for the pseudonym key: {e}")))?;
            let dir = finance_dir(node);
            std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&path).map_err(NodeError::io(&path))?;
            f.write_all(&key).map_err(NodeError::io(&path))?;
            f.sync_all().map_err(NodeError::io(&path))?;
            Ok(PseudonymKey::new(key))
        }
        Err(e) => Err(NodeError::io(path)(e)),
    }
}
