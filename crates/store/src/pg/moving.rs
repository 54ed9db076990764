//! Moving a node's store between SQLite and PostgreSQL, table by table.
//!
//! The two schemas hold the same tables with the same columns; only the
//! types differ: SQLite's `INTEGER` is PostgreSQL's `BIGINT` (or `BOOLEAN`
//! for the two yes/no columns, `alert_verdicts.confirmed` and
//! `case_events.ours`), `BLOB` is `BYTEA`, `TEXT` is `TEXT`; times are
//! milliseconds in integer columns in both. The one difference in shape is
//! the outbox's delivery claim (`claimed_by`, `claimed_until`), which only
//! PostgreSQL keeps because several processes may deliver from one
//! database: moved to PostgreSQL it starts empty, moved to SQLite it is
//! left behind (a claim is a process's lease, not the node's state).
//! Everything else is copied row by row by a loop that knows no table:
//! which tables and columns exist is read from both databases, and a table
//! or column that one side has and the other has not refuses the move.
//!
//! Each move writes its destination in one transaction: it refuses a
//! destination that holds any row, copies every table (parents before the
//! tables that refer to them), counts each table's rows at the destination
//! against the source, recomputes the log's size and root from the leaves
//! it wrote, and commits only when all of that agrees. A failure anywhere
//! leaves the destination as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::Path;
use std::thread;

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;
use soberana_ledger::TreeBuilder;

use super::copy_file::{CopyReader, to_sqlite};
use super::export::{
    column_list, file_error, load_order, log_of_snapshot, push_leaf, refuse_rows, target,
};
use super::{WRITER_LOCK, redacted, schema as pg_schema};
use crate::{StoreError, schema as sqlite_schema};

/// Where a move stands; handed to the caller's progress function at the
/// start of each table, every [`PROGRESS_EVERY`] rows, and at its end.
#[derive(Debug, Clone, Copy)]
pub struct MoveProgress<'a> {
    /// The table being copied.
    pub table: &'a str,
    /// Its place among the tables, from 1.
    pub number: usize,
    /// How many tables there are.
    pub tables: usize,
    /// Rows of it copied so far.
    pub done: u64,
    /// Rows it holds at the source.
    pub rows: u64,
}

/// How often a long table reports progress, in rows.
pub const PROGRESS_EVERY: u64 = 50_000;

/// One table moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTable {
    /// Its name.
    pub name: String,
    /// Rows at the source, and (checked) at the destination.
    pub rows: u64,
}

/// What a move wrote, as counted and recomputed at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreMove {
    /// Every table, in the order copied.
    pub tables: Vec<MovedTable>,
    /// The log's size at the destination.
    pub log_size: u64,
    /// The log's root at the destination, in hex.
    pub log_root: String,
}

impl StoreMove {
    /// Rows moved in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// The columns only PostgreSQL keeps (see the module comment).
const POSTGRES_ONLY: &[(&str, &str)] = &[("outbox", "claimed_by"), ("outbox", "claimed_until")];

fn postgres_only(table: &str, column: &str) -> bool {
    POSTGRES_ONLY.contains(&(table, column))
}

/// A column name the move writes into SQL (quoted).
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn mismatch(detail: String) -> StoreError {
    StoreError::Conflict(format!(
        "the SQLite and PostgreSQL schemas do not correspond: {detail}"
    ))
}

/// The tables of a SQLite database and each one's columns with their
/// declared types.
fn sqlite_tables(
    conn: &rusqlite::Connection,
) -> Result<BTreeMap<String, Vec<(String, String)>>, StoreError> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut tables = BTreeMap::new();
    for name in names {
        if !plain(&name) {
            return Err(StoreError::Corrupt(format!(
                "the SQLite store holds a table `{name}` this soberana did not make"
            )));
        }
        let columns: Vec<(String, String)> = conn
            .prepare(&format!("PRAGMA table_info(\"{name}\")"))?
            .query_map([], |r| {
                Ok((r.get(1)?, r.get::<_, String>(2)?.to_uppercase()))
            })?
            .collect::<Result<_, _>>()?;
        if let Some((bad, _)) = columns.iter().find(|(c, _)| !plain(c)) {
            return Err(StoreError::Corrupt(format!(
                "table `{name}` has a column `{bad}` this soberana did not make"
            )));
        }
        tables.insert(name, columns);
    }
    Ok(tables)
}

/// Refuses when the two sides do not hold the same tables.
fn same_tables<'a>(
    sqlite: impl Iterator<Item = &'a String>,
    postgres: impl Iterator<Item = &'a String>,
) -> Result<(), StoreError> {
    let sqlite: BTreeSet<&String> = sqlite.collect();
    let postgres: BTreeSet<&String> = postgres.collect();
    if let Some(only) = sqlite.difference(&postgres).next() {
        return Err(mismatch(format!("table `{only}` exists only in SQLite")));
    }
    if let Some(only) = postgres.difference(&sqlite).next() {
        return Err(mismatch(format!(
            "table `{only}` exists only in PostgreSQL"
        )));
    }
    Ok(())
}

/// A PostgreSQL column type the move converts to and from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgKind {
    Int8,
    Int4,
    Bool,
    Text,
    Bytea,
}

impl PgKind {
    fn of(data_type: &str) -> Option<Self> {
        match data_type {
            "bigint" => Some(Self::Int8),
            "integer" => Some(Self::Int4),
            "boolean" => Some(Self::Bool),
            "text" => Some(Self::Text),
            "bytea" => Some(Self::Bytea),
            _ => None,
        }
    }

    fn wire(self) -> Type {
        match self {
            Self::Int8 => Type::INT8,
            Self::Int4 => Type::INT4,
            Self::Bool => Type::BOOL,
            Self::Text => Type::TEXT,
            Self::Bytea => Type::BYTEA,
        }
    }

    /// The SQLite type that holds it.
    fn sqlite(self) -> &'static str {
        match self {
            Self::Int8 | Self::Int4 | Self::Bool => "INTEGER",
            Self::Text => "TEXT",
            Self::Bytea => "BLOB",
        }
    }
}

/// One SQLite value as the PostgreSQL column takes it; a value of another
/// type than the column's (SQLite lets any column hold any type) refuses.
fn to_postgres(value: ValueRef<'_>, kind: PgKind) -> Result<Box<dyn ToSql + Sync>, String> {
    Ok(match (value, kind) {
        (ValueRef::Null, PgKind::Int8) => Box::new(None::<i64>),
        (ValueRef::Null, PgKind::Int4) => Box::new(None::<i32>),
        (ValueRef::Null, PgKind::Bool) => Box::new(None::<bool>),
        (ValueRef::Null, PgKind::Text) => Box::new(None::<String>),
        (ValueRef::Null, PgKind::Bytea) => Box::new(None::<Vec<u8>>),
        (ValueRef::Integer(i), PgKind::Int8) => Box::new(i),
        (ValueRef::Integer(i), PgKind::Int4) => Box::new(
            i32::try_from(i).map_err(|_| format!("{i} does not fit a PostgreSQL integer"))?,
        ),
        (ValueRef::Integer(0), PgKind::Bool) => Box::new(false),
        (ValueRef::Integer(1), PgKind::Bool) => Box::new(true),
        (ValueRef::Integer(i), PgKind::Bool) => {
            return Err(format!("{i} is neither 0 nor 1, for a yes/no column"));
        }
        (ValueRef::Text(bytes), PgKind::Text) => {
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| "text that is not UTF-8".to_owned())?;
            if text.contains('\0') {
                return Err("text with a NUL character, which PostgreSQL cannot keep".into());
            }
            Box::new(text)
        }
        (ValueRef::Blob(bytes), PgKind::Bytea) => Box::new(bytes.to_vec()),
        (other, kind) => {
            return Err(format!(
                "a {:?} value where the column holds {}",
                other.data_type(),
                kind.sqlite()
            ));
        }
    })
}

/// A PostgreSQL column of the destination.
struct PgColumn {
    name: String,
    kind: PgKind,
    /// NULL or a default fills it when the source has no such column.
    fillable: bool,
}

fn postgres_columns(tx: &mut Transaction<'_>, table: &str) -> Result<Vec<PgColumn>, StoreError> {
    let mut columns = Vec::new();
    for row in tx.query(
        "SELECT column_name::text, data_type::text, \
         (is_nullable = 'YES' OR column_default IS NOT NULL OR is_identity = 'YES') \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' \
         ORDER BY ordinal_position",
        &[&table],
    )? {
        let name: String = row.try_get(0)?;
        let data_type: String = row.try_get(1)?;
        let kind = PgKind::of(&data_type).ok_or_else(|| {
            mismatch(format!(
                "`{table}.{name}` is a PostgreSQL `{data_type}`, which the move does not convert"
            ))
        })?;
        if !plain(&name) {
            return Err(StoreError::Corrupt(format!(
                "table `{table}` has a column `{name}` this soberana did not make"
            )));
        }
        columns.push(PgColumn {
            name,
            kind,
            fillable: row.try_get(2)?,
        });
    }
    Ok(columns)
}

/// Copies the SQLite store at `source` into the PostgreSQL store at `url`,
/// which must hold no row, in one transaction; refuses unless the log the
/// destination then holds has `expected_log`'s size and root (hex).
///
/// `source` is brought to this soberana's schema version first (by
/// SQLite's own migrations), so it must be a copy the caller owns.
pub fn move_sqlite_into_postgres(
    source: &Path,
    url: &str,
    expected_log: (u64, &str),
    progress: &mut (dyn FnMut(MoveProgress<'_>) + Send),
) -> Result<StoreMove, StoreError> {
    if !source.is_file() {
        return Err(StoreError::Location(format!(
            "`{}` is not a SQLite store file",
            source.display()
        )));
    }
    let target = target(url)?;
    let location = redacted(url);
    // The driver blocks on a runtime of its own, which must not start
    // inside the caller's: the move runs on a thread of its own.
    thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut sqlite = rusqlite::Connection::open(source)?;
                sqlite_schema::migrate(&mut sqlite, &source.display().to_string())?;
                let sqlite = sqlite.transaction()?;
                let mut client = target.connect()?;
                let mut tx = client.transaction()?;
                if let Some(schema) = &target.schema {
                    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
                }
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
                    &[&WRITER_LOCK],
                )?;
                refuse_rows(&mut tx, &location)?;
                pg_schema::migrate_to(&mut tx, &location, pg_schema::SCHEMA_VERSION)?;
                let moved = copy_into_postgres(&sqlite, &mut tx, progress)?;
                check_log(&moved, expected_log, &location)?;
                tx.commit()?;
                Ok(moved)
            })
            .join()
            .map_err(|_| StoreError::Closed)?
    })
}

fn copy_into_postgres(
    sqlite: &rusqlite::Connection,
    tx: &mut Transaction<'_>,
    progress: &mut (dyn FnMut(MoveProgress<'_>) + Send),
) -> Result<StoreMove, StoreError> {
    let source = sqlite_tables(sqlite)?;
    let order = load_order(tx)?;
    same_tables(source.keys(), order.iter())?;
    // SQLite never hands out a number again that an AUTOINCREMENT table
    // gave once, even for a row since deleted: PostgreSQL's counters go on
    // from the same place.
    let handed_out: BTreeMap<String, i64> = sqlite
        .prepare("SELECT name, seq FROM sqlite_sequence")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::with_capacity(order.len());
    for (i, table) in order.iter().enumerate() {
        let source_columns: BTreeSet<&str> = source
            .get(table)
            .map(|c| c.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        let mut columns = Vec::new();
        for column in postgres_columns(tx, table)? {
            if source_columns.contains(column.name.as_str()) {
                columns.push(column);
            } else if !(column.fillable && postgres_only(table, &column.name)) {
                return Err(mismatch(format!(
                    "column `{table}.{}` exists only in PostgreSQL",
                    column.name
                )));
            }
        }
        if let Some(only) = source_columns
            .iter()
            .find(|c| !columns.iter().any(|p| p.name == **c))
        {
            return Err(mismatch(format!(
                "column `{table}.{only}` exists only in SQLite"
            )));
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let rows: i64 =
            sqlite.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })?;
        let rows = u64::try_from(rows).unwrap_or(0);
        let mut report = |done| {
            progress(MoveProgress {
                table,
                number: i + 1,
                tables: order.len(),
                done,
                rows,
            });
        };
        report(0);
        let types: Vec<Type> = columns.iter().map(|c| c.kind.wire()).collect();
        let writer = tx.copy_in(&format!(
            "COPY \"{table}\" ({}) FROM STDIN (FORMAT binary)",
            column_list(&names)
        ))?;
        let mut writer = BinaryCopyInWriter::new(writer, &types);
        let mut read =
            sqlite.prepare(&format!("SELECT {} FROM \"{table}\"", column_list(&names)))?;
        let mut source_rows = read.query([])?;
        let mut done = 0u64;
        while let Some(row) = source_rows.next()? {
            let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(columns.len());
            for (n, column) in columns.iter().enumerate() {
                let value = to_postgres(row.get_ref(n)?, column.kind).map_err(|why| {
                    StoreError::Corrupt(format!(
                        "row {} of `{table}`, column `{}`: {why}",
                        done + 1,
                        column.name
                    ))
                })?;
                values.push(value);
            }
            let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
            writer.write(&refs)?;
            done += 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                report(done);
            }
        }
        let written = writer.finish()?;
        report(done);
        if written != rows || done != rows {
            return Err(StoreError::Corrupt(format!(
                "`{table}` holds {rows} rows in SQLite but {written} were written"
            )));
        }
        tables.push(MovedTable {
            name: table.clone(),
            rows,
        });
        // The identity counter goes on past every number used.
        let identities: Vec<String> = tx
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
                &[table],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let given = handed_out.get(table).copied().unwrap_or(0);
        for column in identities.iter().filter(|c| plain(c)) {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
                     GREATEST(COALESCE(MAX(\"{column}\"), 0), $1) + 1, false) FROM \"{table}\""
                ),
                &[&given],
            )?;
        }
    }
    // Counted again where they landed.
    for table in &tables {
        let landed: i64 = tx
            .query_one(&format!("SELECT count(*) FROM \"{}\"", table.name), &[])?
            .try_get(0)?;
        if u64::try_from(landed).ok() != Some(table.rows) {
            return Err(StoreError::Corrupt(format!(
                "`{}` holds {landed} rows in PostgreSQL; {} were moved",
                table.name, table.rows
            )));
        }
    }
    let (log_size, log_root) = log_of_snapshot(tx)?;
    Ok(StoreMove {
        tables,
        log_size,
        log_root: log_root.to_hex(),
    })
}

/// Refuses a move whose destination log is not the one expected.
fn check_log(moved: &StoreMove, expected: (u64, &str), at: &str) -> Result<(), StoreError> {
    if moved.log_size != expected.0 || moved.log_root != expected.1 {
        return Err(StoreError::Corrupt(format!(
            "the log moved into `{at}` has size {} and root {}; expected size {} and root {}",
            moved.log_size, moved.log_root, expected.0, expected.1
        )));
    }
    Ok(())
}

/// Writes the PostgreSQL export in `export` (a backup's `store.postgres`
/// folder) into the new SQLite store file `dest`, in one transaction;
/// refuses unless the log then in `dest` has `expected_log`'s size and
/// root (hex). On failure `dest` is removed.
pub fn move_postgres_export_into_sqlite(
    export: &Path,
    dest: &Path,
    expected_log: (u64, &str),
    progress: &mut (dyn FnMut(MoveProgress<'_>) + Send),
) -> Result<StoreMove, StoreError> {
    let index = super::read_export_index(export)?;
    if index.schema_version > pg_schema::SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: export.display().to_string(),
            found: index.schema_version,
            supported: pg_schema::SCHEMA_VERSION,
        });
    }
    if index.schema_version < pg_schema::SCHEMA_VERSION {
        return Err(StoreError::Conflict(format!(
            "the export in `{}` has PostgreSQL schema version {}, older than this soberana's {}: \
             restore it into PostgreSQL (which brings it up to date) and back that up, then move it",
            export.display(),
            index.schema_version,
            pg_schema::SCHEMA_VERSION
        )));
    }
    if dest.exists() {
        return Err(StoreError::Conflict(format!(
            "`{}` exists already; a store is moved into a new file",
            dest.display()
        )));
    }
    let made = (|| {
        let mut conn = rusqlite::Connection::open(dest)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        sqlite_schema::migrate(&mut conn, &dest.display().to_string())?;
        let tx = conn.transaction()?;
        let moved = copy_into_sqlite(&index, export, &tx, progress)?;
        check_log(&moved, expected_log, &dest.display().to_string())?;
        tx.commit()?;
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        Ok(moved)
    })();
    if made.is_err() {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = dest.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
    made
}

fn copy_into_sqlite(
    index: &super::PostgresExport,
    export: &Path,
    tx: &rusqlite::Transaction<'_>,
    progress: &mut (dyn FnMut(MoveProgress<'_>) + Send),
) -> Result<StoreMove, StoreError> {
    let dest = sqlite_tables(tx)?;
    same_tables(dest.keys(), index.tables.iter().map(|t| &t.name))?;
    let mut tables = Vec::with_capacity(index.tables.len());
    for (i, table) in index.tables.iter().enumerate() {
        let declared: BTreeMap<&str, &str> = dest
            .get(&table.name)
            .map(|c| c.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect())
            .unwrap_or_default();
        // Where each field of the file goes: a SQLite column, or nowhere
        // for a column only PostgreSQL keeps.
        let mut kept: Vec<Option<(&str, &str)>> = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            match declared.get_key_value(column.as_str()) {
                Some((name, ty)) => kept.push(Some((name, ty))),
                None if postgres_only(&table.name, column) => kept.push(None),
                None => {
                    return Err(mismatch(format!(
                        "column `{}.{column}` exists only in PostgreSQL",
                        table.name
                    )));
                }
            }
        }
        if let Some(only) = declared
            .keys()
            .find(|c| !table.columns.iter().any(|e| e == *c))
        {
            return Err(mismatch(format!(
                "column `{}.{only}` exists only in SQLite",
                table.name
            )));
        }
        let names: Vec<String> = kept
            .iter()
            .flatten()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        let mut insert = tx.prepare(&format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            table.name,
            column_list(&names),
            vec!["?"; names.len()].join(", ")
        ))?;
        let mut report = |done| {
            progress(MoveProgress {
                table: &table.name,
                number: i + 1,
                tables: index.tables.len(),
                done,
                rows: table.rows,
            });
        };
        report(0);
        let path = export.join(&table.file);
        let file = std::fs::File::open(&path).map_err(|e| file_error(&path, e))?;
        let bad = |why: String| StoreError::Corrupt(format!("`{}`: {why}", path.display()));
        let mut reader = CopyReader::new(BufReader::new(file), table.columns.len()).map_err(bad)?;
        let mut done = 0u64;
        while let Some(fields) = reader.row().map_err(bad)? {
            let mut values = Vec::with_capacity(names.len());
            for (field, place) in fields.into_iter().zip(&kept) {
                if let Some((column, ty)) = place {
                    values.push(to_sqlite(field, ty).map_err(|why| {
                        bad(format!("row {}, column `{column}`: {why}", done + 1))
                    })?);
                }
            }
            insert.execute(rusqlite::params_from_iter(values))?;
            done += 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                report(done);
            }
        }
        report(done);
        let landed: i64 = tx.query_row(
            &format!("SELECT count(*) FROM \"{}\"", table.name),
            [],
            |r| r.get(0),
        )?;
        if done != table.rows || u64::try_from(landed).ok() != Some(table.rows) {
            return Err(StoreError::Corrupt(format!(
                "`{}` holds {done} rows of `{}` and {landed} landed in SQLite; the export says {}",
                path.display(),
                table.name,
                table.rows
            )));
        }
        tables.push(MovedTable {
            name: table.name.clone(),
            rows: table.rows,
        });
    }
    let (log_size, log_root) = sqlite_log(tx)?;
    Ok(StoreMove {
        tables,
        log_size,
        log_root,
    })
}

/// The log's size and root recomputed from the leaves of a SQLite store:
/// each stored hash must be its entry's, the indexes must run from 0.
fn sqlite_log(conn: &rusqlite::Connection) -> Result<(u64, String), StoreError> {
    let mut read = conn.prepare("SELECT idx, entry, hash FROM log_leaves ORDER BY idx")?;
    let mut rows = read.query([])?;
    let mut tree = TreeBuilder::new();
    while let Some(row) = rows.next()? {
        let entry: Vec<u8> = row.get(1)?;
        let stored: Vec<u8> = row.get(2)?;
        push_leaf(&mut tree, row.get(0)?, &entry, &stored)?;
    }
    Ok((tree.size(), tree.root().to_hex()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_values_of_the_wrong_type_are_refused_for_postgres() {
        assert!(to_postgres(ValueRef::Integer(2), PgKind::Bool).is_err());
        assert!(to_postgres(ValueRef::Text(b"7"), PgKind::Int8).is_err());
        assert!(to_postgres(ValueRef::Text(b"a\0b"), PgKind::Text).is_err());
        assert!(to_postgres(ValueRef::Integer(1), PgKind::Bool).is_ok());
        assert!(to_postgres(ValueRef::Null, PgKind::Bytea).is_ok());
    }
}
