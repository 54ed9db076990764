//! A PostgreSQL store written out to files and read back in, for backup.
//!
//! The export runs in one `REPEATABLE READ, READ ONLY` transaction, so
//! every table is copied from the same snapshot while the node goes on
//! writing: the copy holds every transaction committed before it began,
//! whole, and nothing after. Each table becomes one file in PostgreSQL's
//! binary `COPY` format, with an explicit column list; `index.json` names
//! the tables in an order that loads parents before the rows that refer to
//! them, the schema version, each table's row count, and the log's size
//! and root recomputed from its leaves in the same snapshot.
//!
//! The import runs in one transaction too: into a database (or schema)
//! that holds no soberana rows, brought to the export's schema version,
//! every table copied in, the identity counters set past the highest
//! value, then migrated to this soberana's version and committed. A
//! failure anywhere leaves the target as it was.

use std::io::Write;
use std::path::Path;
use std::thread;

use postgres::{Client, Transaction};
use serde::{Deserialize, Serialize};
use soberana_ledger::{Hash, TreeBuilder, hash_leaf};

use super::{Target, WRITER_LOCK, redacted, schema, split_schema, valid_schema};
use crate::StoreError;

/// The index file inside an export folder.
pub const EXPORT_INDEX: &str = "index.json";
const EXPORT_FORMAT: &str = "soberana-postgres-export/1";

/// One table of an export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportedTable {
    /// The table's name.
    pub name: String,
    /// Its columns, in the order of the file's fields.
    pub columns: Vec<String>,
    /// How many rows the file holds.
    pub rows: u64,
    /// The file, inside the export folder.
    pub file: String,
}

/// What an export holds (its `index.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PostgresExport {
    /// `soberana-postgres-export/1`.
    pub format: String,
    /// The store's schema version when it was exported.
    pub schema_version: i64,
    /// Every table, parents before the tables that refer to them.
    pub tables: Vec<ExportedTable>,
    /// The log's size in the snapshot.
    pub log_size: u64,
    /// The log's root in the snapshot, in hex.
    pub log_root: String,
}

pub(super) fn target(url: &str) -> Result<Target, StoreError> {
    let (url, schema) = split_schema(url);
    if let Some(schema) = &schema
        && !valid_schema(schema)
    {
        return Err(StoreError::Location(format!(
            "`{schema}` is not a schema name (lower-case letters, digits and `_`)"
        )));
    }
    let config: postgres::Config = url.parse().map_err(|e| {
        StoreError::Location(format!("`{}` is not a PostgreSQL URL: {e}", redacted(&url)))
    })?;
    Ok(Target { config, schema })
}

/// A table or column name the export writes unquoted into SQL.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn file_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Conflict(format!("`{}`: {e}", path.display()))
}

/// Runs `f` on a connection made on a thread of its own: the driver blocks
/// on its own runtime, which must not start inside the caller's.
fn on_own_thread<T: Send + 'static>(
    target: Target,
    f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    thread::spawn(move || {
        let mut client = target.connect()?;
        f(&mut client)
    })
    .join()
    .map_err(|_| StoreError::Closed)?
}

/// Writes the store at `url` into the new folder `dir`, one file per table,
/// from one snapshot, while the node goes on writing.
pub fn export_postgres(url: &str, dir: &Path) -> Result<PostgresExport, StoreError> {
    if dir.exists() {
        return Err(StoreError::Conflict(format!(
            "`{}` exists already; an export never overwrites a folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let target = target(url)?;
    let dir = dir.to_owned();
    on_own_thread(target, move |client| {
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let schema_version: i64 = tx
            .query_one("SELECT version FROM soberana_schema", &[])?
            .try_get(0)?;
        let mut tables = Vec::new();
        for name in load_order(&mut tx)? {
            let columns: Vec<String> = tx
                .query(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    &[&name],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            if let Some(bad) = columns.iter().find(|c| !plain(c)) {
                return Err(StoreError::Corrupt(format!(
                    "table `{name}` has a column `{bad}` this soberana did not make"
                )));
            }
            let rows: i64 = tx
                .query_one(&format!("SELECT count(*) FROM \"{name}\""), &[])?
                .try_get(0)?;
            let file = format!("{name}.copy");
            let path = dir.join(&file);
            let mut out = std::fs::File::create(&path).map_err(|e| file_error(&path, e))?;
            let mut reader = tx.copy_out(&format!(
                "COPY \"{name}\" ({}) TO STDOUT (FORMAT binary)",
                column_list(&columns)
            ))?;
            std::io::copy(&mut reader, &mut out).map_err(|e| file_error(&path, e))?;
            drop(reader);
            out.sync_all().map_err(|e| file_error(&path, e))?;
            tables.push(ExportedTable {
                name,
                columns,
                rows: u64::try_from(rows).unwrap_or(0),
                file,
            });
        }
        let (log_size, log_root) = log_of_snapshot(&mut tx)?;
        tx.commit()?;
        let export = PostgresExport {
            format: EXPORT_FORMAT.into(),
            schema_version,
            tables,
            log_size,
            log_root: log_root.to_hex(),
        };
        let text = serde_json::to_string_pretty(&export)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let path = dir.join(EXPORT_INDEX);
        let mut file = std::fs::File::create(&path).map_err(|e| file_error(&path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| file_error(&path, e))?;
        Ok(export)
    })
}

/// The soberana tables of the current schema, each after every table its
/// foreign keys refer to.
pub(super) fn load_order(tx: &mut Transaction<'_>) -> Result<Vec<String>, StoreError> {
    let mut left: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> 'soberana_schema' ORDER BY table_name",
            &[],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if let Some(bad) = left.iter().find(|t| !plain(t)) {
        return Err(StoreError::Corrupt(format!(
            "the store's schema holds a table `{bad}` this soberana did not make"
        )));
    }
    let refers: Vec<(String, String)> = tx
        .query(
            "SELECT child.relname::text, parent.relname::text FROM pg_constraint c \
             JOIN pg_class child ON child.oid = c.conrelid \
             JOIN pg_class parent ON parent.oid = c.confrelid \
             JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE c.contype = 'f' AND n.nspname = current_schema()",
            &[],
        )?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, postgres::Error>>()?;
    let mut order: Vec<String> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|table| {
            refers
                .iter()
                .filter(|(child, parent)| child == table && parent != table)
                .all(|(_, parent)| order.contains(parent) || !left.contains(parent))
        });
        let Some(next) = ready else {
            return Err(StoreError::Corrupt(format!(
                "the tables {} refer to each other in a cycle",
                left.join(", ")
            )));
        };
        order.push(left.remove(next));
    }
    Ok(order)
}

/// The log's size and root in the transaction's snapshot, recomputed from
/// its leaves: each stored hash must be the hash of its entry, and the
/// indexes must run from 0 without a gap.
pub(super) fn log_of_snapshot(tx: &mut Transaction<'_>) -> Result<(u64, Hash), StoreError> {
    let none: &[&(dyn postgres::types::ToSql + Sync)] = &[];
    let portal = tx.bind("SELECT idx, entry, hash FROM log_leaves ORDER BY idx", none)?;
    let mut tree = TreeBuilder::new();
    loop {
        let rows = tx.query_portal(&portal, 4096)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            push_leaf(
                &mut tree,
                row.try_get(0)?,
                &row.try_get::<_, Vec<u8>>(1)?,
                &row.try_get::<_, Vec<u8>>(2)?,
            )?;
        }
    }
    Ok((tree.size(), tree.root()))
}

/// Adds leaf `idx` of a log being recomputed to `tree`, after checking that
/// it is the next leaf and that `stored` is the hash of its `entry`.
pub(super) fn push_leaf(
    tree: &mut TreeBuilder,
    idx: i64,
    entry: &[u8],
    stored: &[u8],
) -> Result<(), StoreError> {
    if u64::try_from(idx).ok() != Some(tree.size()) {
        return Err(StoreError::Corrupt(format!(
            "the log skips from leaf {} to leaf {idx}",
            tree.size()
        )));
    }
    let hash = hash_leaf(entry);
    if hash.as_bytes().as_slice() != stored {
        return Err(StoreError::Corrupt(format!(
            "leaf {idx} of the log does not hash to its stored hash"
        )));
    }
    tree.push(hash);
    Ok(())
}

/// Reads an export's index and checks that it names only plain tables and
/// columns and files inside the export.
pub fn read_export_index(dir: &Path) -> Result<PostgresExport, StoreError> {
    let path = dir.join(EXPORT_INDEX);
    let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
    let export: PostgresExport = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("`{}` is not valid: {e}", path.display())))?;
    if export.format != EXPORT_FORMAT {
        return Err(StoreError::Corrupt(format!(
            "`{}` has format `{}`, not `{EXPORT_FORMAT}`",
            path.display(),
            export.format
        )));
    }
    for table in &export.tables {
        if !plain(&table.name)
            || table.columns.iter().any(|c| !plain(c))
            || table.file != format!("{}.copy", table.name)
        {
            return Err(StoreError::Corrupt(format!(
                "`{}` names a table `{}` that is not one soberana makes",
                path.display(),
                table.name
            )));
        }
    }
    Ok(export)
}

/// Loads the export in `dir` into the store at `url`, which must hold no
/// soberana rows: all of it in one transaction, or nothing.
pub fn import_postgres(url: &str, dir: &Path) -> Result<PostgresExport, StoreError> {
    let export = read_export_index(dir)?;
    if export.schema_version > schema::SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: dir.display().to_string(),
            found: export.schema_version,
            supported: schema::SCHEMA_VERSION,
        });
    }
    let target = target(url)?;
    let location = redacted(url);
    let dir = dir.to_owned();
    let schema_name = target.schema.clone();
    let loaded = export.clone();
    on_own_thread(target, move |client| {
        let mut tx = client.transaction()?;
        if let Some(schema) = &schema_name {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
        }
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&WRITER_LOCK],
        )?;
        refuse_rows(&mut tx, &location)?;
        let found = schema::migrate_to(&mut tx, &location, export.schema_version)?;
        if found > export.schema_version {
            return Err(StoreError::Conflict(format!(
                "the store at `{location}` has schema version {found}, newer than the backup's {}; \
                 restore into a new database or schema",
                export.schema_version
            )));
        }
        for table in &export.tables {
            let path = dir.join(&table.file);
            let mut file = std::fs::File::open(&path).map_err(|e| file_error(&path, e))?;
            let mut writer = tx.copy_in(&format!(
                "COPY \"{}\" ({}) FROM STDIN (FORMAT binary)",
                table.name,
                column_list(&table.columns)
            ))?;
            std::io::copy(&mut file, &mut writer).map_err(|e| file_error(&path, e))?;
            let rows = writer.finish()?;
            if rows != table.rows {
                return Err(StoreError::Corrupt(format!(
                    "`{}` held {rows} rows of `{}`; the export says {}",
                    path.display(),
                    table.name,
                    table.rows
                )));
            }
        }
        let identities: Vec<(String, String)> = tx
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND is_identity = 'YES'",
                &[],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, postgres::Error>>()?;
        for (table, column) in identities {
            if !plain(&table) || !plain(&column) {
                continue;
            }
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
                     COALESCE(MAX(\"{column}\"), 0) + 1, false) FROM \"{table}\""
                ),
                &[],
            )?;
        }
        schema::migrate_to(&mut tx, &location, schema::SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(loaded)
    })
}

/// Refuses a target whose soberana tables hold any row.
pub(super) fn refuse_rows(tx: &mut Transaction<'_>, location: &str) -> Result<(), StoreError> {
    let tables: Vec<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> 'soberana_schema' ORDER BY table_name",
            &[],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    for table in tables.iter().filter(|t| plain(t)) {
        let any: bool = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")"), &[])?
            .try_get(0)?;
        if any {
            return Err(StoreError::Conflict(format!(
                "the store at `{location}` is not empty (table `{table}` has rows); \
                 restore into an empty database or a new schema (`?schema=NAME`)"
            )));
        }
    }
    Ok(())
}
