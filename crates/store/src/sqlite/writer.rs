//! The SQLite writer thread: group commit, optimistic first.
//!
//! The thread takes every change that is waiting and runs them one after
//! another in one transaction, without savepoints, and commits once. Only
//! if one of them fails is that transaction rolled back and the batch run
//! again the careful way: each change in its own savepoint, so that the
//! failing one is undone alone, returns its error to its caller, and its
//! neighbours are committed. A savepoint is not free: while one is open,
//! SQLite copies every page a change modifies into a statement journal
//! before touching it, and on a busy node that copying was as much as the
//! commit itself. Changes nearly always succeed, so nearly every batch pays
//! for none of it, and a batch with a failure pays for running twice.
//!
//! A change may therefore run twice, the first run rolled back: it must not
//! have effects outside its transaction that a second run would repeat.

use std::any::Any;
use std::sync::mpsc::{self, Receiver};

use rusqlite::{Connection, Transaction};

use super::SqliteStore;
use crate::StoreError;

pub(super) type Outcome = Result<Box<dyn Any + Send>, StoreError>;

/// Which run of a batch a change is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The first run, with no savepoint around the change: if it fails,
    /// the whole batch is rolled back and run again.
    Optimistic,
    /// The second run, after a change of the first failed: the change has
    /// its own savepoint and fails alone.
    Careful,
}

type Work = Box<dyn FnMut(&Transaction<'_>, Pass) -> Outcome + Send>;

pub(super) struct Job {
    work: Work,
    reply: mpsc::SyncSender<Outcome>,
    /// When the caller handed the change over, for the latency histogram.
    submitted: std::time::Instant,
}

impl SqliteStore {
    /// Runs `f` in the writer's next batch and waits until it is durable.
    ///
    /// `f` runs once, or twice when another change of its batch fails: the
    /// first run is then rolled back and `f` runs again in a savepoint of
    /// its own (see the module's comment). Its result is that of the run
    /// that was committed.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.write_passes(move |tx, _| f(tx))
    }

    /// [`SqliteStore::write`] for a change that does its own part in the
    /// careful run, told which run it is in.
    pub(crate) fn write_passes<T: Send + 'static>(
        &self,
        f: impl FnMut(&Transaction<'_>, Pass) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let answer = self.submit(f)?;
        let value = answer.recv().map_err(|_| StoreError::Closed)??;
        value
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Corrupt("writer returned the wrong type".into()))
    }

    /// Hands `f` to the writer; its outcome arrives on the receiver once
    /// its batch is committed.
    fn submit<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&Transaction<'_>, Pass) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Receiver<Outcome>, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            work: Box::new(move |tx, pass| f(tx, pass).map(|v| Box::new(v) as Box<dyn Any + Send>)),
            reply,
            submitted: std::time::Instant::now(),
        };
        let guard = self.jobs.lock().map_err(|_| StoreError::Closed)?;
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }
}

pub(super) fn writer_loop(mut conn: Connection, jobs: Receiver<Job>, times: &crate::CommitTimes) {
    while let Some(batch) = crate::next_batch(&jobs) {
        run_batch(&mut conn, batch, times);
    }
}

/// Why a run of a batch committed nothing.
enum Failure {
    /// A change failed in the optimistic run; everything is rolled back.
    Change,
    /// The transaction could not begin.
    Begin(String),
    /// The commit failed.
    Commit(String),
}

fn run_batch(conn: &mut Connection, mut batch: Vec<Job>, times: &crate::CommitTimes) {
    let committed = match run(conn, &mut batch, Pass::Optimistic) {
        Err(Failure::Change) => {
            tracing::debug!(
                changes = batch.len(),
                "a change failed; its batch runs again with savepoints"
            );
            run(conn, &mut batch, Pass::Careful)
        }
        done => done,
    };
    match committed {
        Ok(outcomes) => {
            // Counted before anyone is answered, so a caller that reads the
            // histogram after its change sees the change counted.
            for job in &batch {
                times.record(job.submitted.elapsed());
            }
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        Err(failure) => {
            let msg = match failure {
                Failure::Begin(msg) => format!("cannot begin: {msg}"),
                Failure::Commit(msg) => {
                    tracing::error!(error = %msg, "commit failed; the batch is lost and every caller is told");
                    format!("commit failed: {msg}")
                }
                // Only the optimistic run fails this way, and it is
                // followed by the careful one.
                Failure::Change => "a change failed outside its savepoint".to_owned(),
            };
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Corrupt(msg.clone())));
            }
        }
    }
}

/// Runs every change of `batch` in one transaction and commits it,
/// returning each change's outcome. In the optimistic run the first
/// failing change rolls the whole transaction back; in the careful run each
/// change has its own savepoint and a failure is rolled back to it alone.
fn run(conn: &mut Connection, batch: &mut [Job], pass: Pass) -> Result<Vec<Outcome>, Failure> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| Failure::Begin(e.to_string()))?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        let outcome = match pass {
            Pass::Optimistic => {
                let outcome = (job.work)(&tx, pass);
                if outcome.is_err() {
                    // Whatever state a failed rollback leaves, the careful
                    // run's BEGIN finds it and says so.
                    let _ = tx.rollback();
                    return Err(Failure::Change);
                }
                outcome
            }
            Pass::Careful => in_savepoint(&tx, |tx| (job.work)(tx, pass)),
        };
        outcomes.push(outcome);
    }
    tx.commit().map_err(|e| Failure::Commit(e.to_string()))?;
    Ok(outcomes)
}

/// Runs `f` in a savepoint, rolled back to if `f` fails.
fn in_savepoint(tx: &Transaction<'_>, f: impl FnOnce(&Transaction<'_>) -> Outcome) -> Outcome {
    savepoint(tx, "SAVEPOINT job")?;
    let outcome = f(tx);
    let end = if outcome.is_ok() {
        savepoint(tx, "RELEASE job")
    } else {
        savepoint(tx, "ROLLBACK TO job").and_then(|()| savepoint(tx, "RELEASE job"))
    };
    end?;
    outcome
}

/// Runs a savepoint statement from the statement cache: parsing these each
/// time was a measurable share of a commit.
pub(super) fn savepoint(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(|_| ())
}

#[cfg(test)]
mod tests;
