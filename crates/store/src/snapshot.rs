//! Online, consistent copies of a store for backup.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Writes a consistent copy of the store at `path` to the new file `dest`,
/// while the node goes on writing.
///
/// The copy is SQLite's `VACUUM INTO` inside one read transaction: in WAL
/// mode a reader sees the last commit that was durable when it began and
/// never blocks the writer, so the copy holds every transaction committed
/// before that moment, whole, and nothing after it. The copy is flushed to
/// disk before this returns.
pub fn snapshot(path: &Path, dest: &Path) -> Result<(), StoreError> {
    if dest.exists() {
        return Err(StoreError::Conflict(format!(
            "`{}` exists already; a snapshot never overwrites a file",
            dest.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let target = dest
        .to_str()
        .ok_or_else(|| StoreError::Conflict(format!("`{}` is not a UTF-8 path", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    drop(conn);
    let file = std::fs::File::open(dest)
        .map_err(|e| StoreError::Conflict(format!("`{}`: {e}", dest.display())))?;
    file.sync_all()
        .map_err(|e| StoreError::Conflict(format!("`{}`: {e}", dest.display())))?;
    Ok(())
}

/// Checks a store file page by page (`PRAGMA integrity_check`) without
/// changing it; returns SQLite's findings when it is not sound.
pub fn integrity(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let findings: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    if findings.len() == 1 && findings.first().is_some_and(|f| f == "ok") {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "integrity check of `{}`: {}",
            path.display(),
            findings.join("; ")
        )))
    }
}
