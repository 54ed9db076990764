//! The PostgreSQL implementation of [`NodeStore`], for a production node,
//! with the same group commit as the SQLite store.
//!
//! The driver is the synchronous `postgres` client, which runs its own
//! small runtime and must never be called from inside the node's tokio
//! runtime. So no caller touches a connection: one writer thread and a few
//! reader threads own theirs, and callers hand them closures over channels
//! and wait, exactly as they wait for the SQLite writer.
//!
//! The writer takes every change that is waiting, runs each in its own
//! savepoint inside one transaction, commits once and only then answers
//! each caller. Each batch first takes a transaction-scoped advisory lock,
//! so that several node processes sharing one database append to the log,
//! number envelopes and judge partner checkpoints one batch at a time.
//! Delivery work is claimed with `SELECT … FOR UPDATE SKIP LOCKED` and a
//! lease naming the process, so two processes never send the same envelope
//! while one process still sees everything it claimed.

mod agreements;
mod cases;
mod changes;
mod copy_file;
mod export;
mod intake;
mod moving;
mod node_store;
mod officers;
mod operations;
mod schema;

use std::any::Any;
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use crate::StoreError;

pub use export::{
    EXPORT_INDEX, ExportedTable, PostgresExport, export_postgres, import_postgres,
    read_export_index,
};
pub use moving::{
    MoveProgress, MovedTable, PROGRESS_EVERY, StoreMove, move_postgres_export_into_sqlite,
    move_sqlite_into_postgres,
};

type Outcome = Result<Box<dyn Any + Send>, StoreError>;
type Work = Box<dyn FnOnce(&mut Tx<'_, '_>) -> Outcome + Send>;
type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A connection (or a transaction on one) with that connection's prepared
/// statements: a change runs a dozen statements and a proposal's detail
/// half a dozen, and preparing each anew would double the round trips to
/// the server.
pub(crate) struct Db<'a, C> {
    inner: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
}

/// A change's transaction on the writer's connection.
pub(crate) type Tx<'a, 'c> = Db<'a, Transaction<'c>>;

/// A reader's connection.
pub(crate) type Reads<'a> = Db<'a, Client>;

impl<C: GenericClient> Db<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.inner.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.execute(&statement, params)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query(&statement, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query_opt(&statement, params)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.inner.query_one(&statement, params)
    }
}

impl Reads<'_> {
    /// Runs `f` in one transaction of this connection (`read_only` with
    /// one snapshot, or a read-write one), committed when `f` succeeds.
    pub(crate) fn within<T>(
        &mut self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = if read_only {
            self.inner
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?
        } else {
            self.inner.transaction()?
        };
        let value = f(&mut Db {
            inner: &mut tx,
            statements: &mut *self.statements,
        })?;
        tx.commit()?;
        Ok(value)
    }
}

type ReadWork = Box<dyn FnOnce(&mut Reads<'_>) + Send>;

struct Job {
    work: Work,
    reply: SyncSender<Outcome>,
    submitted: std::time::Instant,
}

/// Connections that serve reads.
const READERS: usize = 4;

/// The name of the thread that writes a PostgreSQL store.
pub(crate) const WRITER_THREAD: &str = "soberana-pg-writer";

/// The advisory lock every writing transaction takes first, with the hash
/// of the store's schema as its second key: the same in every process
/// writing one store, and another for a store in another schema of the
/// same database (any fixed number; only its sameness matters).
const WRITER_LOCK: i32 = 0x736f_6265;

/// How long a process holds delivery work it claimed before another
/// process may take it over (the claimant crashed or hung).
pub(crate) const CLAIM_LEASE_MS: i64 = 120_000;

/// Where a PostgreSQL store lives: the server and, optionally, a schema
/// inside its database (tests give each store its own).
#[derive(Clone)]
struct Target {
    config: postgres::Config,
    schema: Option<String>,
}

impl Target {
    fn connect(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls)?;
        if let Some(schema) = &self.schema {
            client.batch_execute(&format!("SET search_path TO \"{schema}\""))?;
        }
        Ok(client)
    }
}

/// A node's store in a PostgreSQL database.
pub struct PostgresStore {
    jobs: Mutex<Option<SyncSender<Job>>>,
    reads: Mutex<Option<SyncSender<ReadWork>>>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    commits: Arc<crate::CommitTimes>,
    /// Names this process in the delivery claims it takes.
    claimant: String,
}

/// What went wrong, in the server's words when it answered (the driver's
/// own text for a server error is only "db error").
pub(crate) fn detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Whether `location` names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A URL with any password replaced, for messages and logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            match user.split_once(':') {
                Some((name, _)) => format!("{}{name}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Takes soberana's own `schema=` parameter out of a URL's query, leaving
/// the rest for the driver.
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), schema)
    } else {
        (format!("{base}?{}", rest.join("&")), schema)
    }
}

fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit())
}

impl PostgresStore {
    /// Opens the store in the database at `url` (`postgres://user@host/db`)
    /// and brings its schema up to date. A `schema=NAME` parameter in the
    /// URL keeps the store in that schema (created if missing), so several
    /// nodes can share one database.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (url, schema) = split_schema(url);
        match schema {
            Some(schema) => Self::open_in_schema(&url, &schema),
            None => Self::open_target(&url, None),
        }
    }

    /// Opens the store in `schema` (created if missing) of the database at
    /// `url`: several stores can share one database this way.
    pub fn open_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Location(format!(
                "`{schema}` is not a schema name (lower-case letters, digits and `_`)"
            )));
        }
        Self::open_target(url, Some(schema.to_owned()))
    }

    fn open_target(url: &str, schema: Option<String>) -> Result<Self, StoreError> {
        let config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Location(format!("`{}` is not a PostgreSQL URL: {e}", redacted(url)))
        })?;
        let target = Target { config, schema };
        let location = redacted(url);
        let commits = Arc::new(crate::CommitTimes::default());
        let mut threads = Vec::new();
        // Every connection is made, used and dropped on a thread of its
        // own: the driver blocks on its own runtime, which must not start
        // inside the caller's (the node's) runtime.
        let (ready, started) = mpsc::sync_channel::<Result<(), StoreError>>(READERS + 1);
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        let times = Arc::clone(&commits);
        let (writer_target, writer_ready, writer_location) =
            (target.clone(), ready.clone(), location.clone());
        threads.push(
            thread::Builder::new()
                .name(WRITER_THREAD.into())
                .spawn(move || {
                    let opened = writer_target.connect().and_then(|mut client| {
                        if let Some(schema) = &writer_target.schema {
                            client.batch_execute(&format!(
                                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
                            ))?;
                        }
                        schema::migrate(&mut client, &writer_location)?;
                        Ok(client)
                    });
                    match opened {
                        Ok(client) => {
                            let _ = writer_ready.send(Ok(()));
                            writer_loop(client, writer_target, rx, &times);
                        }
                        Err(e) => {
                            let _ = writer_ready.send(Err(e));
                        }
                    }
                })
                .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?,
        );
        let unreachable = |e: StoreError| {
            let e = match e {
                StoreError::Postgres(e) => detail(&e),
                other => other.to_string(),
            };
            StoreError::Location(format!("cannot connect to the store at `{location}`: {e}"))
        };
        // The schema is made before any reader looks at it.
        started
            .recv()
            .map_err(|_| StoreError::Closed)?
            .map_err(unreachable)?;
        let (read_tx, read_rx) = mpsc::sync_channel::<ReadWork>(4096);
        let read_rx = Arc::new(Mutex::new(read_rx));
        for n in 0..READERS {
            let (target, read_rx, ready) = (target.clone(), Arc::clone(&read_rx), ready.clone());
            threads.push(
                thread::Builder::new()
                    .name(format!("soberana-pg-reader-{n}"))
                    .spawn(move || match target.connect() {
                        Ok(client) => {
                            let _ = ready.send(Ok(()));
                            reader_loop(client, target, &read_rx);
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    })
                    .map_err(|e| {
                        StoreError::Corrupt(format!("cannot start a reader thread: {e}"))
                    })?,
            );
        }
        for _ in 0..READERS {
            if let Err(e) = started.recv().map_err(|_| StoreError::Closed)? {
                drop(tx);
                drop(read_tx);
                for handle in threads {
                    let _ = handle.join();
                }
                return Err(unreachable(e));
            }
        }
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            reads: Mutex::new(Some(read_tx)),
            threads: Mutex::new(threads),
            commits,
            claimant: format!(
                "{}-{}",
                std::process::id(),
                soberana_core::ProposalId::generate()
            ),
        })
    }

    /// Drops the schema a `schema=` URL names, with the store in it (a
    /// benchmark's or a test's stores are removed this way). Refuses a
    /// URL without `schema=`: a whole database is never dropped here.
    pub fn drop_store(url: &str) -> Result<(), StoreError> {
        let (url, schema) = split_schema(url);
        let Some(schema) = schema.filter(|s| valid_schema(s)) else {
            return Err(StoreError::Location(
                "only a store in a schema of its own (`schema=NAME`) is dropped".into(),
            ));
        };
        let config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Location(format!("`{}` is not a PostgreSQL URL: {e}", redacted(&url)))
        })?;
        // On a thread of its own, like every connection of the store.
        thread::spawn(move || -> Result<(), StoreError> {
            let mut client = config.connect(NoTls)?;
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
            Ok(())
        })
        .join()
        .map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` in the writer's next batch and waits until it is durable.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            work: Box::new(move |tx| f(tx).map(|v| Box::new(v) as Box<dyn Any + Send>)),
            reply,
            submitted: std::time::Instant::now(),
        };
        {
            let guard = self.jobs.lock().map_err(|_| StoreError::Closed)?;
            let sender = guard.as_ref().ok_or(StoreError::Closed)?;
            sender.send(job).map_err(|_| StoreError::Closed)?;
        }
        let value = answer.recv().map_err(|_| StoreError::Closed)??;
        value
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Corrupt("writer returned the wrong type".into()))
    }

    /// Runs `f` on one of the reader connections and waits for its answer.
    pub(crate) fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Reads<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let work: ReadWork = Box::new(move |client| {
            let _ = reply.send(f(client));
        });
        {
            let guard = self.reads.lock().map_err(|_| StoreError::Closed)?;
            let sender = guard.as_ref().ok_or(StoreError::Closed)?;
            sender.send(work).map_err(|_| StoreError::Closed)?;
        }
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` in one read-only transaction that sees one snapshot.
    pub(crate) fn read_consistent<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read(move |reads| reads.within(true, f))
    }

    /// Stops the threads after the writer has committed everything queued.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut reads) = self.reads.lock() {
            reads.take();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for handle in threads.drain(..) {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// A connection that died is replaced before the next piece of work.
fn usable(client: &mut Client, target: &Target) -> Result<(), StoreError> {
    if client.is_closed() {
        *client = target.connect()?;
    }
    Ok(())
}

fn reader_loop(mut client: Client, target: Target, jobs: &Mutex<Receiver<ReadWork>>) {
    let mut statements = HashMap::new();
    loop {
        let work = match jobs.lock() {
            Ok(rx) => match rx.recv() {
                Ok(work) => work,
                Err(_) => return,
            },
            Err(_) => return,
        };
        if client.is_closed() {
            statements.clear();
        }
        if let Err(e) = usable(&mut client, &target) {
            tracing::error!(error = %e, "cannot reconnect a store reader");
        }
        work(&mut Db {
            inner: &mut client,
            statements: &mut statements,
        });
    }
}

fn writer_loop(
    mut client: Client,
    target: Target,
    jobs: Receiver<Job>,
    times: &crate::CommitTimes,
) {
    let mut statements = HashMap::new();
    while let Some(batch) = crate::next_batch(&jobs) {
        if client.is_closed() {
            // Prepared statements live and die with their connection.
            statements.clear();
        }
        if let Err(e) = usable(&mut client, &target) {
            let msg = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Corrupt(format!(
                    "the store's database is unreachable: {msg}"
                ))));
            }
            continue;
        }
        run_batch(&mut client, &mut statements, batch, times);
    }
}

fn begin(client: &mut Client) -> Result<Transaction<'_>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&WRITER_LOCK],
    )?;
    Ok(tx)
}

fn run_batch(
    client: &mut Client,
    statements: &mut HashMap<String, Statement>,
    batch: Vec<Job>,
    times: &crate::CommitTimes,
) {
    let mut tx = match begin(client) {
        Ok(tx) => tx,
        Err(e) => {
            let msg = e.to_string();
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(StoreError::Corrupt(format!("cannot begin: {msg}"))));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = match tx.transaction() {
            Ok(mut savepoint) => {
                let outcome = (job.work)(&mut Tx {
                    inner: &mut savepoint,
                    statements: &mut *statements,
                });
                let end = if outcome.is_ok() {
                    savepoint.commit()
                } else {
                    savepoint.rollback()
                };
                match end {
                    Ok(()) => outcome,
                    Err(e) => Err(StoreError::Postgres(e)),
                }
            }
            Err(e) => Err(StoreError::Postgres(e)),
        };
        results.push((job.reply, job.submitted, outcome));
    }
    match tx.commit() {
        Ok(()) => {
            for (_, submitted, _) in &results {
                times.record(submitted.elapsed());
            }
            for (reply, _, outcome) in results {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, "commit failed; the batch is lost and every caller is told");
            for (reply, _, _) in results {
                let _ = reply.send(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
            }
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<PostgresStore>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_not_shown() {
        assert_eq!(
            redacted("postgres://node:secret@db.example/mx"),
            "postgres://node:***@db.example/mx"
        );
        assert_eq!(
            redacted("postgres://node@db.example/mx"),
            "postgres://node@db.example/mx"
        );
        assert!(is_postgres_url("postgresql://x/y") && !is_postgres_url("node.sqlite"));
    }

    #[test]
    fn the_schema_parameter_is_ours_and_the_rest_the_driver_s() {
        assert_eq!(
            split_schema("postgres://a@h/db?schema=mx&connect_timeout=5"),
            (
                "postgres://a@h/db?connect_timeout=5".to_owned(),
                Some("mx".to_owned())
            )
        );
        assert_eq!(
            split_schema("postgres://a@h/db?schema=us"),
            ("postgres://a@h/db".to_owned(), Some("us".to_owned()))
        );
        assert_eq!(
            split_schema("postgres://a@h/db"),
            ("postgres://a@h/db".to_owned(), None)
        );
    }

    #[test]
    fn schema_names_are_plain() {
        assert!(valid_schema("conformance_1"));
        assert!(!valid_schema("a\"; drop"));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema(""));
    }
}
