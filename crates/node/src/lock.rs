//! One running node per node folder.
//!
//! Two processes serving the same folder would both deliver its outbox and
//! both sign checkpoints of one log. `soberana run` and `soberana desk` take
//! an exclusive lock on `DIR/node.lock` for as long as they serve; the
//! operating system releases it when the process ends, even by SIGKILL, so
//! a crash never leaves a stale lock behind. Short commands (`propose`,
//! `decide`, `show`, …) share the folder with a running node through the
//! store and take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::PathBuf;

use crate::NodeError;

/// Held while a process serves a node folder; dropping it releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the lock on `path`, or says which process holds it.
    pub(crate) fn take(path: PathBuf) -> Result<Self, NodeError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(NodeError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(NodeError::AlreadyRunning {
                    dir: path.parent().map(PathBuf::from).unwrap_or_default(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(NodeError::io(&path)(e)),
        }
        // Who holds it, for the operator who finds the folder busy.
        file.set_len(0).map_err(NodeError::io(&path))?;
        writeln!(file, "pid {}", std::process::id()).map_err(NodeError::io(&path))?;
        Ok(FolderLock { _file: file })
    }
}
