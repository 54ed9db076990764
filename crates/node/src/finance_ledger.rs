//! Where a node keeps its financial ledger, and how it is read back.
//!
//! Ingested tables stay CSV files in the node directory (`finance/`), not
//! rows of the node's SQLite file: at a hundred million transactions a
//! SQLite table costs about ten times the graph's 44 bytes a transaction,
//! and every trace would still read all of it back to build the in-memory
//! graph. `finance/ledger.json` (the [`LedgerManifest`]) names the files
//! loaded and is replaced atomically by an ingest, so it is the commit
//! point: files it does not name are not loaded. The party's typology
//! thresholds and exemptions live beside it in `finance/typology.json`.
//!
//! The command line (`soberana finance …`) and the desk both read the
//! ledger through [`load_graph`] and the thresholds through
//! [`typology_config`], so they see the same alerts.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use soberana_core::Timestamp;
use soberana_finance::ingest::{
    AccountColumns, HolderColumns, ReportColumns, TransactionColumns, parse_reports,
    read_transactions,
};
use soberana_finance::typology::TypologyConfig;
use soberana_finance::{Graph, GraphBuilder, IngestError};

use crate::NodeError;

/// The column maps of one export, as read from `--columns`.
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
    /// The table's name, as in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Table::Transactions => "transactions",
            Table::Accounts => "accounts",
            Table::Holders => "holders",
            Table::Reports => "reports",
        }
    }
}

/// One loaded file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The table it holds.
    pub table: Table,
    /// File name inside `finance/`.
    pub file: String,
    /// The file it was loaded from.
    pub source: String,
    /// Rows in it.
    pub rows: u64,
    /// When it was loaded.
    pub loaded: Timestamp,
    /// The column names it was read with.
    pub columns: ColumnMaps,
}

/// `finance/ledger.json`: what is loaded. Replaced atomically; files not
/// named here are not loaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerManifest {
    /// The files loaded, in order.
    pub batches: Vec<Batch>,
}

/// The node's `finance/` folder.
pub fn finance_dir(root: &Path) -> PathBuf {
    root.join("finance")
}

fn require_node(root: &Path) -> Result<(), NodeError> {
    if root.join("node.toml").exists() {
        Ok(())
    } else {
        Err(NodeError::NoNode(root.to_path_buf()))
    }
}

impl LedgerManifest {
    /// The manifest of the node at `root` (empty when nothing was loaded).
    pub fn load(root: &Path) -> Result<Self, NodeError> {
        let path = finance_dir(root).join("ledger.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                NodeError::FinanceLedger(format!("`{}` is damaged: {e}", path.display()))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(NodeError::io(path)(e)),
        }
    }

    /// Replaces the manifest of the node at `root` through a synced
    /// temporary file and a rename, so readers see the old one or the new.
    pub fn save(&self, root: &Path) -> Result<(), NodeError> {
        let path = finance_dir(root).join("ledger.json");
        let tmp = path.with_extension("tmp");
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| NodeError::FinanceLedger(e.to_string()))?;
        {
            let mut f = File::create(&tmp).map_err(NodeError::io(&tmp))?;
            f.write_all(&bytes).map_err(NodeError::io(&tmp))?;
            f.sync_all().map_err(NodeError::io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(NodeError::io(&path))
    }

    /// Transactions loaded.
    pub fn transactions(&self) -> u64 {
        self.batches
            .iter()
            .filter(|b| b.table == Table::Transactions)
            .map(|b| b.rows)
            .sum()
    }
}

/// A loaded file that no longer reads as it did at ingest, with its first
/// bad rows.
fn damaged(path: &Path, e: &IngestError) -> NodeError {
    let rows: Vec<String> = e
        .rows
        .iter()
        .take(3)
        .map(|r| format!("line {}: {}", r.line, r.reason))
        .collect();
    NodeError::FinanceLedger(format!(
        "`{}` has {} bad row(s) ({}); it changed after it was loaded: restore it or load the ledger again",
        path.display(),
        e.total_bad,
        rows.join("; ")
    ))
}

/// Builds the graph of everything the node at `root` has loaded, reports
/// applied. A node with no transactions is [`NodeError::NoFinanceLedger`].
pub fn load_graph(root: &Path) -> Result<Graph, NodeError> {
    require_node(root)?;
    let manifest = LedgerManifest::load(root)?;
    let fin = finance_dir(root);
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
                    .map_err(|e| damaged(&path, &e))?;
            }
            Table::Reports => reports.extend(
                parse_reports(open()?, &b.columns.reports).map_err(|e| damaged(&path, &e))?,
            ),
            Table::Accounts | Table::Holders => {}
        }
    }
    if builder.is_empty() {
        return Err(NodeError::NoFinanceLedger(root.to_path_buf()));
    }
    let mut graph = builder.finish();
    graph.add_reports(&reports);
    Ok(graph)
}

/// The party's typology thresholds: the file given, else
/// `finance/typology.json` when the node has one, else the defaults.
/// Fields left out of a file keep their defaults.
pub fn typology_config(root: &Path, explicit: Option<&Path>) -> Result<TypologyConfig, NodeError> {
    let own = finance_dir(root).join("typology.json");
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if own.exists() => own,
        None => return Ok(TypologyConfig::default()),
    };
    let text = std::fs::read_to_string(&path).map_err(NodeError::io(&path))?;
    serde_json::from_str(&text).map_err(|e| {
        NodeError::FinanceLedger(format!(
            "`{}` is not a typology configuration: {e}",
            path.display()
        ))
    })
}
