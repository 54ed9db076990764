//! The SQLite implementation of [`NodeStore`], with group commit.
//!
//! One writer thread (`writer`) owns the write connection. Callers hand it
//! a closure and wait; the thread takes every closure that is waiting, runs
//! them inside one transaction, commits once, and only then answers each
//! caller. A closure that fails is undone without disturbing the others in
//! the batch: the batch is run again with each closure in its own
//! savepoint. Reads use a few other connections, which WAL lets proceed
//! while the writer works.
//!
//! This file is long because every durable state change is here, each a
//! closure over one transaction sharing the same private helpers (log
//! append, sealing into the outbox, lifecycle transitions); splitting it by
//! table would scatter one transaction's steps over several files.

use std::path::Path;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use soberana_core::{
    Agreement, AgreementAct, AgreementAction, Decision, Direction, LifecycleEvent, PartyCode,
    Proposal, ProposalId, ProposalKind, ProposalState, Receipt, Timestamp,
};
use soberana_ledger::{
    AddCheckpoint, EnvelopeRecord, Hash, LogEntry, NodeId, Observation, StoredCosignature, Witness,
    hash_children, hash_leaf,
};
use soberana_wire::{Answer, Body, CosignatureReply, Digest, SealedEnvelope};

pub(crate) mod cases;
mod writer;

use writer::{Job, Pass, savepoint, writer_loop};

use crate::records::*;
use crate::{NodeStore, StoreError, schema};

/// Read connections: WAL lets each read while the writer commits and the
/// others read, so intake, the outbox and operators do not queue behind
/// one connection.
const READERS: usize = 4;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

/// A node's store in one SQLite file.
pub struct SqliteStore {
    jobs: Mutex<Option<SyncSender<Job>>>,
    readers: Vec<Mutex<Connection>>,
    /// Where the next read starts looking for a free connection.
    next_reader: std::sync::atomic::AtomicUsize,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    commits: Arc<crate::CommitTimes>,
}

/// The name of the thread that writes a SQLite store.
pub(crate) const WRITER_THREAD: &str = "soberana-store-writer";

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The savepoints of a careful run (see `writer`) roll back through a
    // statement journal; kept in memory it costs no file writes. Durability is the WAL's
    // business and is not affected.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Every statement a change or a read runs stays prepared: the writer
    // alone runs more distinct statements than rusqlite's default cache
    // of 16 holds, and re-preparing them was a tenth of its time.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plans that do not depend on the values bound: without this, SQLite
    // prepares a cached statement again whenever a value bound to a
    // range, `IN` or `LIMIT` changes, which is on nearly every run.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = open_connection(path)?;
        schema::migrate(&mut conn, &path.display().to_string())?;
        let readers = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = mpsc::sync_channel::<Job>(4096);
        let commits = Arc::new(crate::CommitTimes::default());
        let times = Arc::clone(&commits);
        let handle = thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || writer_loop(conn, rx, &times))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            writer: Mutex::new(Some(handle)),
            commits,
        })
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let start = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n = self.readers.len();
        // A free connection if there is one, else wait for the one in turn.
        for i in 0..n {
            if let Some(reader) = self.readers.get((start + i) % n)
                && let Ok(conn) = reader.try_lock()
            {
                return f(&conn);
            }
        }
        let conn = self
            .readers
            .get(start % n)
            .ok_or(StoreError::Closed)?
            .lock()
            .map_err(|_| StoreError::Closed)?;
        f(&conn)
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
        {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn hex_digest(digest: &[u8; 32]) -> String {
    Digest(*digest).to_hex()
}

/// The index the next log entry gets: the log's size. A bare `MAX` over the
/// primary key is answered from the end of the index; wrapped in an
/// expression, SQLite would scan the whole log on every append.
fn next_log_index(conn: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> = conn
        .prepare_cached("SELECT MAX(idx) FROM log_leaves")?
        .query_row([], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m as u64 + 1))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn unjson<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn party(text: &str) -> Result<PartyCode, StoreError> {
    PartyCode::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn hash_from(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("log hash: {e}")))
}

/// Appends entries to the log inside `tx`: the leaf and every perfect
/// subtree it completes, so proofs never rehash the log.
fn append_log(tx: &Transaction<'_>, entries: &[LogEntry]) -> Result<u64, StoreError> {
    let first = next_log_index(tx)?;
    append_log_at(tx, first, entries)?;
    Ok(first)
}

/// [`append_log`] when the caller has read the log's size (`first`) in
/// this transaction and appended nothing since.
fn append_log_at(tx: &Transaction<'_>, first: u64, entries: &[LogEntry]) -> Result<(), StoreError> {
    let encoded = entries
        .iter()
        .map(|e| e.encode().map_err(|e| StoreError::Entry(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    append_encoded_at(tx, first, &encoded).map(|_| ())
}

/// Appends encoded entries; returns the first index and the nodes written.
fn append_encoded(
    tx: &Transaction<'_>,
    entries: &[Vec<u8>],
) -> Result<(u64, Vec<(NodeId, Hash)>), StoreError> {
    let first = next_log_index(tx)?;
    append_encoded_at(tx, first, entries).map(|written| (first, written))
}

/// Appends encoded entries at `first`, the log's size; returns the nodes
/// written.
fn append_encoded_at(
    tx: &Transaction<'_>,
    first: u64,
    entries: &[Vec<u8>],
) -> Result<Vec<(NodeId, Hash)>, StoreError> {
    let mut insert_leaf =
        tx.prepare_cached("INSERT INTO log_leaves (idx, entry, hash) VALUES (?1, ?2, ?3)")?;
    let mut insert_node =
        tx.prepare_cached("INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
    let mut get_node =
        tx.prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")?;
    let mut written = Vec::with_capacity(entries.len() * 2);
    for (size, bytes) in (first..).zip(entries) {
        let leaf = hash_leaf(bytes);
        insert_leaf.execute(params![size as i64, bytes, leaf.as_bytes().as_slice()])?;
        insert_node.execute(params![0i64, size as i64, leaf.as_bytes().as_slice()])?;
        written.push((NodeId::new(0, size), leaf));
        let (mut level, mut index, mut hash) = (0u8, size, leaf);
        while index % 2 == 1 {
            let left: Vec<u8> =
                get_node.query_row(params![level as i64, (index - 1) as i64], |r| r.get(0))?;
            hash = hash_children(&hash_from(&left)?, &hash);
            level += 1;
            index /= 2;
            insert_node.execute(params![
                level as i64,
                index as i64,
                hash.as_bytes().as_slice()
            ])?;
            written.push((NodeId::new(level, index), hash));
        }
    }
    Ok(written)
}

fn append_log_unit(tx: &Transaction<'_>, entries: &[LogEntry]) -> Result<(), StoreError> {
    append_log(tx, entries).map(|_| ())
}

/// Takes the next number in the sequence of envelopes to `peer` (the first
/// is 1), in one statement.
fn next_sequence(tx: &Transaction<'_>, peer: PartyCode) -> Result<u64, StoreError> {
    let after: i64 = tx
        .prepare_cached(
            "INSERT INTO sequences (peer, next) VALUES (?1, 2)
             ON CONFLICT(peer) DO UPDATE SET next = next + 1
             RETURNING next",
        )?
        .query_row([peer.as_str()], |r| r.get(0))?;
    Ok(after.saturating_sub(1).max(0) as u64)
}

/// Seals `body` to `recipient`, queues it and logs it, inside `tx`.
fn queue(
    tx: &Transaction<'_>,
    sealer: &Sealer,
    recipient: PartyCode,
    body: &Body,
    now: Timestamp,
) -> Result<SealedEnvelope, StoreError> {
    let sequence = next_sequence(tx, recipient)?;
    let env = sealer(recipient, sequence, body);
    tx.prepare_cached(
        "INSERT INTO outbox (envelope_id, recipient, sequence, kind, proposal_id, bytes, created, next_attempt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        env.header().id.to_string(),
        recipient.as_str(),
        sequence as i64,
        body.kind().as_str(),
        delivery_group(body, recipient),
        env.bytes(),
        now.unix_millis(),
    ])?;
    append_log(
        tx,
        &[LogEntry::EnvelopeSent(crate::envelope_record(env.header()))],
    )?;
    Ok(env)
}

/// What the outbox orders an envelope with: the proposal it concerns, or
/// for acts on an agreement, the agreement (a suspension and its resumption
/// must arrive in the order they were made).
fn delivery_group(body: &Body, recipient: PartyCode) -> String {
    match body {
        Body::Agreement(_) => format!("agreement:{recipient}"),
        other => other
            .proposal_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

/// Makes every envelope waiting out a backoff for `recipient` due at `now`.
fn retry_now_in(tx: &Transaction<'_>, recipient: &str, now: Timestamp) -> Result<u64, StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE outbox SET next_attempt = ?2
             WHERE recipient = ?1 AND delivered_at IS NULL AND next_attempt > ?2",
        )?
        .execute(params![recipient, now.unix_millis()])?;
    Ok(changed as u64)
}

/// Marks an envelope delivered, and makes what waits out a backoff for its
/// recipient due at once (the partner answers again).
fn mark_delivered_in(
    tx: &Transaction<'_>,
    envelope_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let row: Option<(String, String, String)> = tx
        .prepare_cached(
            "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL
             WHERE envelope_id = ?1 AND delivered_at IS NULL
             RETURNING kind, proposal_id, recipient",
        )?
        .query_row(params![envelope_id, now.unix_millis()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if let Some((_, _, recipient)) = &row {
        retry_now_in(tx, recipient, now)?;
    }
    if let Some((kind, proposal_id, recipient)) = row
        && kind == "proposal"
    {
        let id = ProposalId::parse(&proposal_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The partner may already have decided (its decision can
        // arrive before our delivery is recorded); then there is
        // nothing to move.
        if let Some(stored) = load_state(tx, id)?
            && stored.state == ProposalState::Queued
        {
            transition_from(
                tx,
                id,
                &stored,
                Direction::Outgoing,
                party(&recipient)?,
                LifecycleEvent::Delivered,
                &format!("delivered to {recipient}"),
                now,
            )?;
        }
    }
    Ok(())
}

/// Records a failed delivery attempt and when to try again.
fn mark_failed_in(
    tx: &Transaction<'_>,
    envelope_id: &str,
    error: &str,
    next_attempt: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt = ?3
         WHERE envelope_id = ?1 AND delivered_at IS NULL",
        params![envelope_id, error, next_attempt.unix_millis()],
    )?;
    Ok(())
}

/// Records that a partner refused an envelope for good.
fn mark_refused_in(
    tx: &Transaction<'_>,
    envelope_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Marked delivered as well, so the delivery queue never looks
    // at it again; `refused_at` tells the two apart.
    let row: Option<(String, String)> = tx
        .prepare_cached(
            "UPDATE outbox SET delivered_at = ?2, refused_at = ?2, attempts = attempts + 1, last_error = ?3
             WHERE envelope_id = ?1 AND delivered_at IS NULL
             RETURNING proposal_id, recipient",
        )?
        .query_row(params![envelope_id, now.unix_millis(), reason], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((proposal_id, recipient)) = row
        && let Ok(id) = ProposalId::parse(&proposal_id)
        && let Some(stored) = load_state(tx, id)?
    {
        add_event(
            tx,
            id,
            stored.state,
            &format!("{recipient}'s node refused an envelope for good: {reason}"),
            now,
        )?;
    }
    Ok(())
}

struct Stored {
    direction: Direction,
    peer: PartyCode,
    state: ProposalState,
    /// The state this transaction wrote the row in, ahead of the steps it
    /// records (`state` is where those steps stand); a step that arrives
    /// there does not write the row again.
    written: Option<ProposalState>,
}

fn load_state(tx: &Transaction<'_>, id: ProposalId) -> Result<Option<Stored>, StoreError> {
    Ok(load_state_kind(tx, id)?.map(|(stored, _)| stored))
}

/// [`load_state`] and the proposal's kind, from the one row.
fn load_state_kind(
    tx: &Transaction<'_>,
    id: ProposalId,
) -> Result<Option<(Stored, ProposalKind)>, StoreError> {
    let row: Option<(String, String, String, String)> = tx
        .prepare_cached("SELECT direction, peer, state, kind FROM proposals WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((direction, peer, state, kind)) = row else {
        return Ok(None);
    };
    let direction = match direction.as_str() {
        "outgoing" => Direction::Outgoing,
        "incoming" => Direction::Incoming,
        other => return Err(StoreError::Corrupt(format!("direction `{other}`"))),
    };
    let state = ProposalState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?;
    Ok(Some((
        Stored {
            direction,
            peer: party(&peer)?,
            state,
            written: None,
        },
        crate::records::stored_kind(&kind)?,
    )))
}

/// Moves a proposal through the lifecycle and records the step.
fn transition(
    tx: &Transaction<'_>,
    id: ProposalId,
    expect_direction: Direction,
    peer: PartyCode,
    event: LifecycleEvent,
    description: &str,
    now: Timestamp,
) -> Result<ProposalState, StoreError> {
    let stored = load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
    transition_from(
        tx,
        id,
        &stored,
        expect_direction,
        peer,
        event,
        description,
        now,
    )
}

/// [`transition`] from a state this transaction has already read or
/// written, so the proposal's row is not read again.
#[allow(clippy::too_many_arguments)]
fn transition_from(
    tx: &Transaction<'_>,
    id: ProposalId,
    stored: &Stored,
    expect_direction: Direction,
    peer: PartyCode,
    event: LifecycleEvent,
    description: &str,
    now: Timestamp,
) -> Result<ProposalState, StoreError> {
    if stored.direction != expect_direction || stored.peer != peer {
        return Err(StoreError::WrongParty(id.to_string(), peer.to_string()));
    }
    let next = stored.state.apply(stored.direction, &event)?;
    if stored.written != Some(next) {
        tx.prepare_cached("UPDATE proposals SET state = ?2, updated = ?3 WHERE id = ?1")?
            .execute(params![id.to_string(), next.as_str(), now.unix_millis()])?;
    }
    add_event(tx, id, next, description, now)?;
    Ok(next)
}

fn add_event(
    tx: &Transaction<'_>,
    id: ProposalId,
    state: ProposalState,
    description: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO proposal_events (proposal_id, at, state, event) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        id.to_string(),
        now.unix_millis(),
        state.as_str(),
        description
    ])?;
    Ok(())
}

/// The state an incoming proposal ends in once `response` is recorded on
/// it, or `None` if the lifecycle refuses a step.
fn settled_state(received: ProposalState, response: &PolicyResponse) -> Option<ProposalState> {
    let step =
        |state: ProposalState, event: LifecycleEvent| state.apply(Direction::Incoming, &event).ok();
    match response {
        PolicyResponse::Decided { decision, answer } => {
            let decided = step(received, LifecycleEvent::Decided(decision.outcome.clone()))?;
            match answer {
                Some(_) => step(decided, LifecycleEvent::Answered),
                None => Some(decided),
            }
        }
        PolicyResponse::Review => step(received, LifecycleEvent::ReviewRequired),
        PolicyResponse::Acknowledge(_) => step(received, LifecycleEvent::Acknowledged),
    }
}

/// Inserts a proposal with the event of its arrival or sending; its row
/// holds `row_state` (the initial state, unless the same transaction moves
/// it on at once).
fn insert_proposal(
    tx: &Transaction<'_>,
    proposal: &Proposal,
    direction: Direction,
    verdict: Option<&str>,
    row_state: ProposalState,
    now: Timestamp,
) -> Result<(), StoreError> {
    let peer = match direction {
        Direction::Outgoing => proposal.to,
        Direction::Incoming => proposal.from,
    };
    let state = ProposalState::initial(direction);
    let inserted = tx
        .prepare_cached(
            "INSERT INTO proposals (id, direction, peer, kind, state, body, created, deadline, updated, verdict)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            proposal.id.to_string(),
            direction.as_str(),
            peer.as_str(),
            proposal.kind().as_str(),
            row_state.as_str(),
            json(proposal)?,
            proposal.created.unix_millis(),
            proposal.deadline.unix_millis(),
            now.unix_millis(),
            verdict,
        ])?;
    if inserted == 0 {
        return Err(StoreError::ProposalExists(proposal.id.to_string()));
    }
    let what = match direction {
        Direction::Outgoing => format!("proposed to {}", proposal.to),
        Direction::Incoming => format!("received from {}", proposal.from),
    };
    add_event(tx, proposal.id, state, &what, now)
}

fn decision_entry(decision: &Decision, now: Timestamp) -> Result<LogEntry, StoreError> {
    let digest = Digest::parse(&decision.policy_digest)
        .map(|d| d.0)
        .unwrap_or([0; 32]);
    Ok(LogEntry::Decision {
        proposal_id: decision.proposal_id.to_string(),
        outcome: decision.outcome.as_str().to_owned(),
        policy_set_digest: digest,
        decided_by: match &decision.decided_by {
            soberana_core::DecidedBy::Policy => "policy".to_owned(),
            soberana_core::DecidedBy::Officer { officer, .. } => format!("officer:{officer}"),
        },
        time_ms: now.unix_millis().max(0) as u64,
    })
}

/// Stores a decision made here on a proposal this transaction has read
/// (`stored`), queues it, and queues the answer if any.
fn record_own_decision(
    tx: &Transaction<'_>,
    sealer: &Sealer,
    stored: &Stored,
    decision: &Decision,
    answer: Option<&Answer>,
    now: Timestamp,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let id = decision.proposal_id;
    let peer = stored.peer;
    let by = match &decision.decided_by {
        soberana_core::DecidedBy::Policy => "policy".to_owned(),
        soberana_core::DecidedBy::Officer { officer, .. } => format!("officer {officer}"),
    };
    let decided = transition_from(
        tx,
        id,
        stored,
        Direction::Incoming,
        peer,
        LifecycleEvent::Decided(decision.outcome.clone()),
        &format!("{} by {by}", decision.outcome.as_str().replace('_', " ")),
        now,
    )?;
    tx.prepare_cached("INSERT INTO decisions (proposal_id, body) VALUES (?1, ?2)")?
        .execute(params![id.to_string(), json(decision)?])?;
    append_log(tx, &[decision_entry(decision, now)?])?;
    let mut sent = vec![queue(
        tx,
        sealer,
        peer,
        &Body::Decision(decision.clone()),
        now,
    )?];
    if let Some(answer) = answer {
        if !decision.outcome.is_acceptance() {
            return Err(StoreError::Corrupt(
                "an answer can only follow an acceptance".into(),
            ));
        }
        let env = queue(tx, sealer, peer, &Body::Answer(answer.clone()), now)?;
        let body = Body::Answer(answer.clone()).to_bytes();
        let digest = Digest::of(&body);
        tx.prepare_cached(
            "INSERT INTO disclosures (proposal_id, digest, bytes, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            id.to_string(),
            digest.to_hex(),
            body.len() as i64,
            now.unix_millis()
        ])?;
        tx.prepare_cached("INSERT INTO answers (proposal_id, body) VALUES (?1, ?2)")?
            .execute(params![id.to_string(), json(answer)?])?;
        append_log(
            tx,
            &[LogEntry::Disclosure {
                proposal_id: id.to_string(),
                digest: digest.0,
                byte_count: body.len() as u64,
                time_ms: now.unix_millis().max(0) as u64,
            }],
        )?;
        transition_from(
            tx,
            id,
            &Stored {
                direction: Direction::Incoming,
                peer,
                state: decided,
                written: stored.written,
            },
            Direction::Incoming,
            peer,
            LifecycleEvent::Answered,
            &format!("answered: {} item(s) disclosed", answer.items.len()),
            now,
        )?;
        sent.push(env);
    }
    Ok(sent)
}

/// Refuses an envelope whose header time goes back (beyond the tolerance)
/// against the envelopes its sender numbered before it, or forward against
/// those it numbered after: a backdated or post-dated envelope.
fn check_order(tx: &Transaction<'_>, received: &Received) -> Result<(), StoreError> {
    let tolerance = i64::try_from(received.order_tolerance_ms).unwrap_or(i64::MAX);
    let (sender, sequence) = (received.sender.as_str(), received.sequence as i64);
    let before: Option<(i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT sequence, sealed_at FROM inbox WHERE sender = ?1 AND sequence < ?2
             ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![sender, sequence], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((n, Some(t))) = before
        && received.sealed_at < t.saturating_sub(tolerance)
    {
        return Err(StoreError::Conflict(format!(
            "envelope number {} from `{sender}` is dated {} ms before its number {n}; a sender's times follow its numbers",
            received.sequence,
            t - received.sealed_at
        )));
    }
    let after: Option<(i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT sequence, sealed_at FROM inbox WHERE sender = ?1 AND sequence > ?2
             ORDER BY sequence ASC LIMIT 1",
        )?
        .query_row(params![sender, sequence], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((n, Some(t))) = after
        && received.sealed_at > t.saturating_add(tolerance)
    {
        return Err(StoreError::Conflict(format!(
            "envelope number {} from `{sender}` is dated {} ms after its number {n}; a sender's times follow its numbers",
            received.sequence,
            received.sealed_at - t
        )));
    }
    Ok(())
}

/// Records one refusal at intake and its log entry inside `tx`.
fn refusal_in(tx: &Transaction<'_>, refusal: &RefusalRecord) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO refusals (at, claimed_sender, digest, size, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        refusal.at.unix_millis(),
        &refusal.claimed_sender,
        &refusal.digest,
        refusal.size as i64,
        &refusal.reason,
    ])?;
    let digest = Digest::parse(&refusal.digest)
        .map(|d| d.0)
        .unwrap_or([0; 32]);
    append_log_unit(
        tx,
        &[LogEntry::IntakeRefusal {
            reason: refusal.reason.chars().take(1000).collect(),
            digest,
            claimed_sender: refusal.claimed_sender.chars().take(16).collect(),
            time_ms: refusal.at.unix_millis().max(0) as u64,
        }],
    )
}

/// Each entry's outcome, of a batch received together.
type EachOutcome = Vec<Result<Taken, StoreError>>;

/// The change that takes the entries of a received batch each on its own.
///
/// In the writer's optimistic run the entries are taken one after another
/// with no savepoint between them, like the changes of a batch (see
/// `writer`): the first that fails fails this whole change, so the writer
/// rolls its batch back and runs it again carefully, and in that run this
/// change takes each entry in a savepoint of its own, so that a refused
/// entry is undone alone and its neighbours are kept, as if each had come
/// alone. Keeping one savepoint around the whole change, to redo only this
/// change, would bring back the page copying the optimistic run avoids, on
/// the change that writes the most; and entries are refused rarely.
pub(crate) fn receive_each_work(
    received: Vec<Received>,
    sealer: Sealer,
) -> impl FnMut(&Transaction<'_>, Pass) -> Result<EachOutcome, StoreError> + Send + 'static {
    move |tx, pass| {
        let mut outcomes = Vec::with_capacity(received.len());
        for entry in &received {
            if pass == Pass::Optimistic {
                outcomes.push(Ok(receive_in(tx, entry, &sealer)?));
                continue;
            }
            // A savepoint that cannot be set or undone fails the whole
            // change, which the writer then rolls back: never a partial
            // entry kept.
            savepoint(tx, "SAVEPOINT entry")?;
            let outcome = receive_in(tx, entry, &sealer);
            if outcome.is_err() {
                savepoint(tx, "ROLLBACK TO entry")?;
            }
            savepoint(tx, "RELEASE entry")?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

fn receive_in(
    tx: &Transaction<'_>,
    received: &Received,
    sealer: &Sealer,
) -> Result<Taken, StoreError> {
    let mut kind = received.effect.new_proposal_kind();
    let queued = store_received(tx, received, sealer, &mut kind)?;
    Ok(Taken { queued, kind })
}

/// Records a received envelope and its effect inside `tx`; sets
/// `decided_kind` to the kind of the proposal a decision decides.
fn store_received(
    tx: &Transaction<'_>,
    received: &Received,
    sealer: &Sealer,
    decided_kind: &mut Option<ProposalKind>,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let now = received.received_at;
    let (kind, proposal_id) = match &received.effect {
        IntakeEffect::Proposal { proposal, .. } => ("proposal", proposal.id.to_string()),
        IntakeEffect::Decision(d) => ("decision", d.proposal_id.to_string()),
        IntakeEffect::Receipt(r) => ("receipt", r.proposal_id.to_string()),
        IntakeEffect::Answer(a) => ("answer", a.proposal_id.to_string()),
        IntakeEffect::Session { message, .. } => ("session", message.proposal_id.to_string()),
        IntakeEffect::Checkpoint(_) => ("checkpoint", String::new()),
        IntakeEffect::CosignatureReceived { .. } => ("cosignature", String::new()),
        IntakeEffect::Agreement(_) => ("agreement", String::new()),
        IntakeEffect::CardUpdate { .. } => ("card_update", String::new()),
        IntakeEffect::Case(event) => ("case", event.case_id.to_string()),
    };
    // A sender numbers its envelopes to us one by one; a number used twice
    // means two different envelopes claim one place in its sequence.
    let earlier: Option<String> = tx
        .prepare_cached(
            "SELECT envelope_id FROM inbox WHERE sender = ?1 AND sequence = ?2 AND envelope_id != ?3 LIMIT 1",
        )?
        .query_row(
            params![
                received.sender.as_str(),
                received.sequence as i64,
                received.envelope_id
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(earlier) = earlier {
        return Err(StoreError::SequenceReused {
            sender: received.sender.to_string(),
            sequence: received.sequence,
            earlier,
        });
    }
    check_order(tx, received)?;
    // The envelope is stored with the place its log entry takes, appended
    // right after it.
    let index = next_log_index(tx)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO inbox (envelope_id, sender, sequence, kind, proposal_id, digest, bytes, received_at, sealed_at, log_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(envelope_id) DO NOTHING",
        )?
        .execute(params![
            received.envelope_id,
            received.sender.as_str(),
            received.sequence as i64,
            kind,
            proposal_id,
            received.digest,
            received.bytes,
            now.unix_millis(),
            received.sealed_at,
            index as i64,
        ])?;
    if inserted == 0 {
        return Err(StoreError::Duplicate(received.envelope_id.clone()));
    }
    append_log_at(
        tx,
        index,
        &[LogEntry::EnvelopeReceived(EnvelopeRecord {
            envelope_id: received.envelope_id.clone(),
            sender: received.sender.to_string(),
            recipient: received.recipient.to_string(),
            sequence: received.sequence,
            time_ms: received.sealed_at.max(0) as u64,
            body_digest: received.body_digest,
        })],
    )?;
    let peer = received.sender;
    match &received.effect {
        IntakeEffect::Proposal {
            proposal,
            response,
            verdict,
        } => {
            // The row is written once, in the state the policy's response
            // leaves it in; each step is still recorded as its own event,
            // and a step the lifecycle refuses fails below as it would
            // after a plain insert.
            let received = ProposalState::initial(Direction::Incoming);
            let row_state = settled_state(received, response).unwrap_or(received);
            insert_proposal(
                tx,
                proposal,
                Direction::Incoming,
                Some(verdict),
                row_state,
                now,
            )?;
            let stored = Stored {
                direction: Direction::Incoming,
                peer: proposal.from,
                state: received,
                written: Some(row_state),
            };
            match &**response {
                PolicyResponse::Decided { decision, answer } => {
                    record_own_decision(tx, sealer, &stored, decision, answer.as_ref(), now)
                }
                PolicyResponse::Review => {
                    transition_from(
                        tx,
                        proposal.id,
                        &stored,
                        Direction::Incoming,
                        peer,
                        LifecycleEvent::ReviewRequired,
                        "sent to an officer by policy",
                        now,
                    )?;
                    Ok(Vec::new())
                }
                PolicyResponse::Acknowledge(receipt) => {
                    transition_from(
                        tx,
                        proposal.id,
                        &stored,
                        Direction::Incoming,
                        peer,
                        LifecycleEvent::Acknowledged,
                        "receipt given",
                        now,
                    )?;
                    tx.prepare_cached("INSERT INTO receipts (proposal_id, body) VALUES (?1, ?2)")?
                        .execute(params![proposal.id.to_string(), json(&receipt)?])?;
                    Ok(vec![queue(
                        tx,
                        sealer,
                        peer,
                        &Body::Receipt(receipt.clone()),
                        now,
                    )?])
                }
            }
        }
        IntakeEffect::Decision(decision) => {
            let (stored, kind) = load_state_kind(tx, decision.proposal_id)?
                .ok_or_else(|| StoreError::NoSuchProposal(decision.proposal_id.to_string()))?;
            *decided_kind = Some(kind);
            transition_from(
                tx,
                decision.proposal_id,
                &stored,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Decided(decision.outcome.clone()),
                &format!("{} by {peer}", decision.outcome.as_str().replace('_', " ")),
                now,
            )?;
            tx.prepare_cached("INSERT INTO decisions (proposal_id, body) VALUES (?1, ?2)")?
                .execute(params![decision.proposal_id.to_string(), json(&decision)?])?;
            Ok(Vec::new())
        }
        IntakeEffect::Receipt(receipt) => {
            transition(
                tx,
                receipt.proposal_id,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Acknowledged,
                &format!("receipt from {peer}"),
                now,
            )?;
            tx.prepare_cached("INSERT INTO receipts (proposal_id, body) VALUES (?1, ?2)")?
                .execute(params![receipt.proposal_id.to_string(), json(&receipt)?])?;
            Ok(Vec::new())
        }
        IntakeEffect::Answer(answer) => {
            transition(
                tx,
                answer.proposal_id,
                Direction::Outgoing,
                peer,
                LifecycleEvent::Answered,
                &format!("answer from {peer}: {} item(s)", answer.items.len()),
                now,
            )?;
            tx.prepare_cached("INSERT INTO answers (proposal_id, body) VALUES (?1, ?2)")?
                .execute(params![answer.proposal_id.to_string(), json(&answer)?])?;
            Ok(Vec::new())
        }
        IntakeEffect::Checkpoint(witnessing) => witness_in(tx, sealer, peer, witnessing, now),
        IntakeEffect::CosignatureReceived { cosignature, log } => {
            insert_cosignature(tx, cosignature)?;
            append_log(tx, std::slice::from_ref(log))?;
            Ok(Vec::new())
        }
        IntakeEffect::Session { message, quota } => {
            store_session_part(tx, peer, message, *quota, now)?;
            Ok(Vec::new())
        }
        IntakeEffect::Agreement(act) => {
            let us = received.recipient;
            crate::agreements::record(tx, us, peer, peer, act, &received.envelope_id, now)?;
            if matches!(act.action, AgreementAction::Acknowledge { .. }) {
                return Ok(Vec::new());
            }
            // Every act is acknowledged with a signed act of our own, so
            // the partner's log holds our word that we received it.
            let ack = AgreementAct {
                version: act.version,
                action: AgreementAction::Acknowledge {
                    envelope: received.digest.clone(),
                    of: act.action.as_str().to_owned(),
                },
                reason: String::new(),
                at: now,
            };
            let env = queue(tx, sealer, peer, &Body::Agreement(ack.clone()), now)?;
            crate::agreements::record(tx, us, peer, us, &ack, &env.header().id.to_string(), now)?;
            Ok(vec![env])
        }
        IntakeEffect::CardUpdate {
            card,
            previous,
            log,
        } => {
            tx.prepare_cached("UPDATE peers SET card = ?2, pinned_at = ?3 WHERE party = ?1")?
                .execute(params![peer.as_str(), card, now.unix_millis()])?;
            crate::keys::insert(tx, previous)?;
            append_log(tx, std::slice::from_ref(log))?;
            Ok(Vec::new())
        }
        IntakeEffect::Case(event) => {
            cases::receive_case_in(tx, received.recipient, peer, event)?;
            Ok(Vec::new())
        }
    }
}

/// Proposal kinds that run a protocol session once accepted.
const SESSION_KINDS: [ProposalKind; 2] = [ProposalKind::IdentifierMatch, ProposalKind::PersonMatch];

/// Stores one part of a protocol message under an accepted match proposal,
/// within its quota, inside `tx`: the state, the quota and the part's
/// place are read in the transaction that writes it.
fn store_session_part(
    tx: &Transaction<'_>,
    peer: PartyCode,
    message: &soberana_wire::SessionMessage,
    quota: SessionQuota,
    now: Timestamp,
) -> Result<(), StoreError> {
    let id = message.proposal_id.to_string();
    let stored = load_state(tx, message.proposal_id)?
        .ok_or_else(|| StoreError::NoSuchProposal(id.clone()))?;
    if stored.peer != peer {
        return Err(StoreError::WrongParty(id, peer.to_string()));
    }
    let kind: String = tx
        .prepare_cached("SELECT kind FROM proposals WHERE id = ?1")?
        .query_row([&id], |r| r.get(0))?;
    if !SESSION_KINDS.iter().any(|k| k.as_str() == kind) {
        return Err(StoreError::NoSession(id, kind.replace('_', " ")));
    }
    if !matches!(
        stored.state,
        ProposalState::Accepted | ProposalState::Answered
    ) {
        return Err(StoreError::NotAccepted(id, stored.state.to_string()));
    }
    let step = message.step as i64;
    // Parts that disagree on how many the step has are stored: the
    // session finds the step whole at the smallest count claimed, sees the
    // disagreement and ends with an abort that names it.
    let usage: Option<(i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT parts, stored, bytes FROM session_usage WHERE proposal_id = ?1 AND peer = ?2 AND step = ?3",
        )?
        .query_row(params![id, peer.as_str(), step], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let repeated: Option<i64> = tx
        .prepare_cached(
            "SELECT 1 FROM session_messages WHERE proposal_id = ?1 AND peer = ?2 AND step = ?3 AND part = ?4",
        )?
        .query_row(params![id, peer.as_str(), step, message.part as i64], |r| {
            r.get(0)
        })
        .optional()?;
    if repeated.is_some() {
        return Err(StoreError::RepeatedPart {
            proposal: id,
            step: message.step,
            part: message.part,
        });
    }
    let size = message.payload.len() as u64;
    let step_bytes = usage.map_or(0, |(_, _, b)| b.max(0) as u64) + size;
    if step_bytes > quota.max_step_bytes {
        return Err(StoreError::OverQuota(format!(
            "step {} under proposal `{id}` would hold {step_bytes} bytes; at most {} are taken per step",
            message.step, quota.max_step_bytes
        )));
    }
    let total: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(bytes), 0) FROM session_usage WHERE proposal_id = ?1 AND peer = ?2",
        )?
        .query_row(params![id, peer.as_str()], |r| r.get(0))?;
    let total = total.max(0) as u64 + size;
    if total > quota.max_session_bytes {
        return Err(StoreError::OverQuota(format!(
            "proposal `{id}` would hold {total} bytes of protocol messages; at most {} are taken per proposal",
            quota.max_session_bytes
        )));
    }
    tx.prepare_cached(
        "INSERT INTO session_messages (proposal_id, peer, step, part, parts, payload, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        peer.as_str(),
        step,
        message.part as i64,
        message.parts as i64,
        message.payload,
        now.unix_millis(),
    ])?;
    tx.prepare_cached(
        "INSERT INTO session_usage (proposal_id, peer, step, parts, stored, bytes)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)
         ON CONFLICT(proposal_id, peer, step)
         DO UPDATE SET stored = stored + 1, bytes = bytes + excluded.bytes,
                       parts = MIN(parts, excluded.parts)",
    )?
    .execute(params![
        id,
        peer.as_str(),
        step,
        message.parts as i64,
        size as i64
    ])?;
    Ok(())
}

/// Witnesses a partner's checkpoint inside `tx`: the witness state (the
/// last checkpoint of that log we cosigned) is read, judged and written in
/// this one transaction, and the writer runs one change at a time, so two
/// conflicting checkpoints can never both be judged against the same state.
fn witness_in(
    tx: &Transaction<'_>,
    sealer: &Sealer,
    peer: PartyCode,
    witnessing: &Witnessing,
    now: Timestamp,
) -> Result<Vec<SealedEnvelope>, StoreError> {
    let origin = witnessing.log_key.name().to_owned();
    let latest: Option<String> = tx
        .prepare_cached(
            "SELECT note FROM partner_checkpoints
             WHERE peer = ?1 AND origin = ?2 AND status = 'cosigned'
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![peer.as_str(), origin], |r| r.get(0))
        .optional()?;
    let key = witnessing.log_key.clone();
    let cosigner = witnessing.cosigner.clone();
    let mut witness = match &latest {
        Some(note) => Witness::resume_rotated(key, &witnessing.previous_log_keys, cosigner, note)?,
        None => Witness::new(key, cosigner)?,
    };
    // A declared restart is judged against the same state, and the
    // checkpoint it names as kept is read here too (see `Witness::restart`).
    let (observation, restarted) = match &witnessing.restart {
        None => (
            witness.add_checkpoint(&witnessing.request, witnessing.now_secs)?,
            None,
        ),
        Some(claim) => {
            let old_size = AddCheckpoint::parse(&witnessing.request)?.old_size;
            let base: Option<String> = if old_size == 0 {
                None
            } else {
                tx.prepare_cached(
                    "SELECT note FROM partner_checkpoints
                     WHERE peer = ?1 AND origin = ?2 AND status = 'cosigned' AND size = ?3
                     ORDER BY seq DESC LIMIT 1",
                )?
                .query_row(params![peer.as_str(), origin, old_size as i64], |r| {
                    r.get(0)
                })
                .optional()?
            };
            let observation = witness.restart(
                &witnessing.request,
                claim.abandoned_size,
                &claim.abandoned_root,
                claim.restored_size,
                base.as_deref(),
                witnessing.now_secs,
            )?;
            (observation, Some(claim.log_entry(&origin, old_size, now)))
        }
    };
    match observation {
        Observation::Cosigned {
            checkpoint,
            cosignature,
        } => {
            let cp = checkpoint.checkpoint();
            insert_partner_checkpoint(
                tx,
                &PartnerCheckpoint {
                    peer,
                    size: cp.size(),
                    note: checkpoint.to_text(),
                    at: now,
                    origin: cp.origin().to_owned(),
                    status: "cosigned".into(),
                    detail: String::new(),
                },
            )?;
            let cosigned = LogEntry::CosignatureIssued {
                origin: cp.origin().to_owned(),
                size: cp.size(),
                root: *cp.root().as_bytes(),
                time_ms: now.unix_millis().max(0) as u64,
            };
            append_log(
                tx,
                &restarted.into_iter().chain([cosigned]).collect::<Vec<_>>(),
            )?;
            let reply = CosignatureReply {
                origin: cp.origin().to_owned(),
                size: cp.size(),
                line: cosignature.to_line().trim_end().to_owned(),
            };
            Ok(vec![queue(
                tx,
                sealer,
                peer,
                &Body::Cosignature(reply),
                now,
            )?])
        }
        Observation::Alarm(alarm) => {
            tracing::error!(%peer, size = alarm.later.checkpoint().size(), kind = ?alarm.kind,
                "witness alarm: the partner's log conflicts with a checkpoint we cosigned");
            insert_partner_checkpoint(
                tx,
                &PartnerCheckpoint {
                    peer,
                    size: alarm.later.checkpoint().size(),
                    note: alarm.later.to_text(),
                    at: now,
                    origin: alarm.origin.clone(),
                    status: "alarm".into(),
                    detail: alarm.to_json(),
                },
            )?;
            Ok(Vec::new())
        }
    }
}

fn insert_partner_checkpoint(
    tx: &Transaction<'_>,
    c: &PartnerCheckpoint,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO partner_checkpoints (peer, size, note, at, status, detail, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.peer.as_str(),
            c.size as i64,
            c.note,
            c.at.unix_millis(),
            c.status,
            c.detail,
            c.origin
        ],
    )?;
    Ok(())
}

fn insert_cosignature(tx: &Transaction<'_>, c: &StoredCosignature) -> Result<(), StoreError> {
    let existing: Option<String> = tx
        .query_row(
            "SELECT line FROM cosignatures WHERE size = ?1 AND witness = ?2",
            params![c.size as i64, c.witness],
            |r| r.get(0),
        )
        .optional()?;
    match existing {
        Some(line) if line == c.line => Ok(()),
        Some(_) => Err(StoreError::Conflict(format!(
            "a different cosignature by `{}` on size {} is stored",
            c.witness, c.size
        ))),
        None => {
            tx.execute(
                "INSERT INTO cosignatures (size, witness, line) VALUES (?1, ?2, ?3)",
                params![c.size as i64, c.witness, c.line],
            )?;
            Ok(())
        }
    }
}

fn record_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, i64, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_record(raw: (String, String, String, i64, String)) -> Result<ProposalRecord, StoreError> {
    let (direction, peer, state, updated, body) = raw;
    Ok(ProposalRecord {
        direction: match direction.as_str() {
            "outgoing" => Direction::Outgoing,
            _ => Direction::Incoming,
        },
        peer: party(&peer)?,
        state: ProposalState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
        updated: Timestamp::from_unix_millis(updated),
        proposal: unjson(&body)?,
    })
}

impl NodeStore for SqliteStore {
    fn peers(&self) -> Result<Vec<(PartyCode, String)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT party, card FROM peers ORDER BY party")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|r| {
                let (p, card) = r?;
                Ok((party(&p)?, card))
            })
            .collect()
        })
    }

    fn pin_peer(&self, peer: PartyCode, card: String, log: LogEntry) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO peers (party, card, pinned_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(party) DO UPDATE SET card = excluded.card, pinned_at = excluded.pinned_at",
                params![peer.as_str(), card, Timestamp::now().unix_millis()],
            )?;
            append_log(tx, std::slice::from_ref(&log)).map(|_| ())
        })
    }

    fn append_log(&self, entries: Vec<LogEntry>) -> Result<u64, StoreError> {
        self.write(move |tx| append_log(tx, &entries))
    }

    fn append_batch(
        &self,
        start: u64,
        entries: Vec<Vec<u8>>,
        nodes: Vec<(NodeId, Hash)>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let (first, written) = append_encoded(tx, &entries)?;
            // The store computes the tree itself; a batch whose nodes differ
            // from what its entries imply is refused (and rolled back).
            crate::records::check_appended("the batch", start, first, &nodes, &written)
        })
    }

    fn put_cosignature(&self, cosignature: StoredCosignature) -> Result<(), StoreError> {
        self.write(move |tx| insert_cosignature(tx, &cosignature))
    }

    fn cosignatures(&self, size: Option<u64>) -> Result<Vec<StoredCosignature>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT size, witness, line FROM cosignatures WHERE ?1 IS NULL OR size = ?1 ORDER BY size, witness",
            )?;
            let rows = stmt.query_map([size.map(|s| s as i64)], |r| {
                Ok(StoredCosignature {
                    size: r.get::<_, i64>(0)? as u64,
                    witness: r.get(1)?,
                    line: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn received_log_index(&self, envelope_id: &str) -> Result<Option<u64>, StoreError> {
        self.read(|c| {
            let index: Option<Option<i64>> = c
                .query_row(
                    "SELECT log_index FROM inbox WHERE envelope_id = ?1",
                    [envelope_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(index.flatten().map(|i| i as u64))
        })
    }

    fn sent_envelopes(&self, proposal: ProposalId) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT envelope_id, kind FROM outbox WHERE proposal_id = ?1 ORDER BY created, sequence",
            )?;
            let rows = stmt.query_map([proposal.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn queued_envelope_ids(&self, peer: PartyCode) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT envelope_id FROM outbox WHERE recipient = ?1")?;
            let rows = stmt.query_map([peer.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn received_envelopes(
        &self,
        proposal: ProposalId,
    ) -> Result<Vec<(String, Option<u64>)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT envelope_id, log_index FROM inbox WHERE proposal_id = ?1 ORDER BY log_index",
            )?;
            let rows = stmt.query_map([proposal.to_string()], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.map(|i| i as u64)))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn session_messages(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Vec<soberana_wire::SessionMessage>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT part, parts, payload FROM session_messages
                 WHERE proposal_id = ?1 AND peer = ?2 AND step = ?3 ORDER BY part",
            )?;
            let rows = stmt.query_map(
                params![proposal.to_string(), peer.as_str(), step as i64],
                |r| {
                    Ok(soberana_wire::SessionMessage {
                        proposal_id: proposal,
                        step,
                        part: r.get::<_, i64>(0)? as u32,
                        parts: r.get::<_, i64>(1)? as u32,
                        payload: r.get(2)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn queue_messages(
        &self,
        peer: PartyCode,
        bodies: Vec<Body>,
        sealer: Sealer,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            for body in &bodies {
                if matches!(
                    body,
                    Body::Proposal(_) | Body::Decision(_) | Body::Receipt(_) | Body::Answer(_)
                ) {
                    return Err(StoreError::Conflict(format!(
                        "a {} changes a proposal and is queued with its change, not on its own",
                        body.kind().as_str()
                    )));
                }
                queue(tx, &sealer, peer, body, now)?;
            }
            Ok(())
        })
    }

    fn skip_sequence_to(&self, peer: PartyCode, next: u64) -> Result<(), StoreError> {
        let next = i64::try_from(next)
            .map_err(|_| StoreError::Conflict(format!("sequence {next} is out of range")))?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sequences (peer, next) VALUES (?1, ?2)
                 ON CONFLICT(peer) DO UPDATE SET next = MAX(next, excluded.next)",
                params![peer.as_str(), next],
            )?;
            Ok(())
        })
    }

    fn record_result(
        &self,
        answer: soberana_wire::Answer,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let id = answer.proposal_id;
            let stored =
                load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
            let now = Timestamp::now();
            transition_from(
                tx,
                id,
                &stored,
                Direction::Outgoing,
                stored.peer,
                LifecycleEvent::Answered,
                &format!("result: {}", answer.summary),
                now,
            )?;
            tx.prepare_cached("INSERT INTO answers (proposal_id, body) VALUES (?1, ?2)")?
                .execute(params![id.to_string(), json(&answer)?])?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn record_disclosure(
        &self,
        proposal: ProposalId,
        digest: [u8; 32],
        bytes: u64,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO disclosures (proposal_id, digest, bytes, at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                proposal.to_string(),
                hex_digest(&digest),
                bytes as i64,
                Timestamp::now().unix_millis()
            ])?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn log_and_propose(
        &self,
        log: Vec<LogEntry>,
        proposals: Vec<Proposal>,
        audit: Option<crate::AuditEntry>,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            append_log(tx, &log)?;
            let mut sent = Vec::with_capacity(proposals.len());
            for proposal in &proposals {
                insert_proposal(
                    tx,
                    proposal,
                    Direction::Outgoing,
                    None,
                    ProposalState::initial(Direction::Outgoing),
                    now,
                )?;
                sent.push(queue(
                    tx,
                    &sealer,
                    proposal.to,
                    &Body::Proposal(proposal.clone()),
                    now,
                )?);
            }
            if let Some(entry) = &audit {
                crate::officers::insert_audit(tx, entry)?;
            }
            Ok(sent)
        })
    }

    fn propose_trail(
        &self,
        proposals: Vec<Proposal>,
        trail: String,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            let mut sent = Vec::with_capacity(proposals.len());
            for proposal in &proposals {
                insert_proposal(
                    tx,
                    proposal,
                    Direction::Outgoing,
                    None,
                    ProposalState::initial(Direction::Outgoing),
                    now,
                )?;
                sent.push(queue(
                    tx,
                    &sealer,
                    proposal.to,
                    &Body::Proposal(proposal.clone()),
                    now,
                )?);
            }
            let ids: Vec<ProposalId> = proposals.iter().map(|p| p.id).collect();
            crate::trails::insert_trail(tx, &ids, &trail, now)?;
            Ok(sent)
        })
    }

    fn trail(&self, id: ProposalId) -> Result<Option<String>, StoreError> {
        self.read(|c| crate::trails::trail_of(c, id))
    }

    fn queue_proposal(
        &self,
        proposal: Proposal,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            insert_proposal(
                tx,
                &proposal,
                Direction::Outgoing,
                None,
                ProposalState::initial(Direction::Outgoing),
                now,
            )?;
            queue(
                tx,
                &sealer,
                proposal.to,
                &Body::Proposal(proposal.clone()),
                now,
            )
        })
    }

    fn receive(&self, received: Received, sealer: Sealer) -> Result<Taken, StoreError> {
        self.write(move |tx| receive_in(tx, &received, &sealer))
    }

    fn receive_each(
        &self,
        received: Vec<Received>,
        sealer: Sealer,
    ) -> Vec<Result<Taken, StoreError>> {
        let count = received.len();
        let stored = self.write_passes(receive_each_work(received, sealer));
        crate::records::each_or_all(stored, count)
    }

    fn record_refusal(&self, refusal: RefusalRecord) -> Result<(), StoreError> {
        self.write(move |tx| refusal_in(tx, &refusal))
    }

    fn record_refusals(&self, refusals: Vec<RefusalRecord>) -> Result<(), StoreError> {
        if refusals.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            refusals
                .iter()
                .try_for_each(|refusal| refusal_in(tx, refusal))
        })
    }

    fn decide(
        &self,
        decision: OfficerDecision,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let id = decision.decision.proposal_id;
            let stored =
                load_state(tx, id)?.ok_or_else(|| StoreError::NoSuchProposal(id.to_string()))?;
            crate::officers::settle_pending(tx, id, decision.confirms.as_ref())?;
            let sent = record_own_decision(
                tx,
                &sealer,
                &stored,
                &decision.decision,
                decision.answer.as_ref(),
                Timestamp::now(),
            )?;
            if let Some(entry) = &decision.audit {
                crate::officers::insert_audit(tx, entry)?;
            }
            Ok(sent)
        })
    }

    fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeliveryItem>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT envelope_id, recipient, bytes, attempts, proposal_id FROM outbox
                 WHERE delivered_at IS NULL AND next_attempt <= ?1
                   AND NOT (kind = 'proposal' AND (
                        recipient IN (SELECT partner FROM agreements
                                      WHERE status IN ('suspended', 'terminated'))
                        OR EXISTS (SELECT 1 FROM outbox AS act
                                   WHERE act.recipient = outbox.recipient AND act.kind = 'agreement'
                                     AND act.delivered_at IS NULL)))
                 ORDER BY created, sequence LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now.unix_millis(), limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            rows.map(|r| {
                let (envelope_id, recipient, bytes, attempts, proposal_id) = r?;
                Ok(DeliveryItem {
                    envelope_id,
                    recipient: party(&recipient)?,
                    bytes,
                    attempts: attempts as u32,
                    proposal_id,
                })
            })
            .collect()
        })
    }

    fn mark_delivered(&self, envelope_id: String, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |tx| mark_delivered_in(tx, &envelope_id, now))
    }

    fn backed_off(&self, now: Timestamp) -> Result<Vec<PartyCode>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT recipient FROM outbox WHERE delivered_at IS NULL
                 GROUP BY recipient HAVING MIN(next_attempt) > ?1 AND MAX(attempts) > 0",
            )?;
            let rows = stmt.query_map([now.unix_millis()], |r| r.get::<_, String>(0))?;
            rows.map(|r| party(&r?)).collect()
        })
    }

    fn retry_now(&self, peer: PartyCode, now: Timestamp) -> Result<u64, StoreError> {
        self.write(move |tx| retry_now_in(tx, peer.as_str(), now))
    }

    fn mark_failed(
        &self,
        envelope_id: String,
        error: String,
        next_attempt: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| mark_failed_in(tx, &envelope_id, &error, next_attempt))
    }

    fn mark_refused(
        &self,
        envelope_id: String,
        reason: String,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| mark_refused_in(tx, &envelope_id, &reason, now))
    }

    fn record_deliveries(
        &self,
        results: Vec<(String, DeliveryResult)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            for (envelope_id, result) in &results {
                match result {
                    DeliveryResult::Delivered => mark_delivered_in(tx, envelope_id, now)?,
                    DeliveryResult::Refused(reason) => {
                        mark_refused_in(tx, envelope_id, reason, now)?;
                    }
                    DeliveryResult::Failed {
                        error,
                        next_attempt,
                    } => mark_failed_in(tx, envelope_id, error, *next_attempt)?,
                }
            }
            Ok(())
        })
    }

    fn refused_deliveries(&self, limit: usize) -> Result<Vec<RefusedDelivery>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT envelope_id, recipient, kind, proposal_id, COALESCE(last_error, ''), refused_at
                 FROM outbox WHERE refused_at IS NOT NULL ORDER BY refused_at DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            rows.map(|r| {
                let (envelope_id, recipient, kind, proposal_id, reason, at) = r?;
                Ok(RefusedDelivery {
                    envelope_id,
                    recipient: party(&recipient)?,
                    kind,
                    proposal_id,
                    reason,
                    at: Timestamp::from_unix_millis(at),
                })
            })
            .collect()
        })
    }

    fn session_step(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        self.read(|c| {
            let row: Option<(i64, i64)> = c
                .prepare_cached(
                    "SELECT parts, stored FROM session_usage WHERE proposal_id = ?1 AND peer = ?2 AND step = ?3",
                )?
                .query_row(
                    params![proposal.to_string(), peer.as_str(), step as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.map(|(parts, stored)| (parts.max(0) as u32, stored.max(0) as u32)))
        })
    }

    fn next_delivery_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|c| {
            let next: Option<i64> = c.query_row(
                "SELECT MIN(next_attempt) FROM outbox WHERE delivered_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            Ok(next.map(Timestamp::from_unix_millis))
        })
    }

    fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<ProposalRecord>, StoreError> {
        self.read(|c| {
            // Without statistics SQLite prefers the index by state, which
            // would walk every proposal in the state to find a few kinds.
            let mut sql = String::from(if filter.kinds.is_empty() {
                "SELECT direction, peer, state, updated, body FROM proposals WHERE 1 = 1"
            } else {
                "SELECT direction, peer, state, updated, body FROM proposals INDEXED BY proposals_by_kind WHERE 1 = 1"
            });
            let mut args: Vec<String> = Vec::new();
            if let Some(direction) = filter.direction {
                args.push(direction.as_str().to_owned());
                sql.push_str(&format!(" AND direction = ?{}", args.len()));
            }
            if !filter.states.is_empty() {
                let mut marks = Vec::new();
                for state in &filter.states {
                    args.push(state.as_str().to_owned());
                    marks.push(format!("?{}", args.len()));
                }
                sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
            }
            if !filter.kinds.is_empty() {
                let mut marks = Vec::new();
                for kind in &filter.kinds {
                    args.push(kind.as_str().to_owned());
                    marks.push(format!("?{}", args.len()));
                }
                sql.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
            }
            sql.push_str(" ORDER BY created DESC, id DESC");
            if filter.limit > 0 {
                sql.push_str(&format!(" LIMIT {}", filter.limit));
            }
            // The text depends only on the filter's shape, so the few
            // shapes in use (a session loop lists on every envelope) stay
            // prepared.
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), record_from_row)?;
            rows.map(|r| to_record(r?)).collect()
        })
    }

    fn proposal(&self, id: ProposalId) -> Result<Option<ProposalDetail>, StoreError> {
        self.read(|c| {
            let key = id.to_string();
            let raw = c
                .prepare_cached(
                    "SELECT direction, peer, state, updated, body FROM proposals WHERE id = ?1",
                )?
                .query_row([&key], record_from_row)
                .optional()?;
            let Some(raw) = raw else {
                return Ok(None);
            };
            let record = to_record(raw)?;
            let verdict: Option<String> = c
                .prepare_cached("SELECT verdict FROM proposals WHERE id = ?1")?
                .query_row([&key], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(
                "SELECT at, state, event FROM proposal_events WHERE proposal_id = ?1 ORDER BY seq",
            )?;
            let events = stmt
                .query_map([&key], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .map(|r| {
                    let (at, state, event) = r?;
                    Ok(ProposalEvent {
                        at: Timestamp::from_unix_millis(at),
                        state: ProposalState::parse(&state)
                            .ok_or_else(|| StoreError::Corrupt(format!("state `{state}`")))?,
                        event,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let one = |table: &str| -> Result<Option<String>, StoreError> {
                Ok(
                    c.prepare_cached(&format!("SELECT body FROM {table} WHERE proposal_id = ?1"))?
                        .query_row([&key], |r| r.get(0))
                        .optional()?,
                )
            };
            let decision: Option<Decision> = one("decisions")?.map(|t| unjson(&t)).transpose()?;
            let receipt: Option<Receipt> = one("receipts")?.map(|t| unjson(&t)).transpose()?;
            let answer: Option<Answer> = one("answers")?.map(|t| unjson(&t)).transpose()?;
            let mut stmt = c.prepare_cached(
                "SELECT digest, bytes FROM disclosures WHERE proposal_id = ?1 ORDER BY seq",
            )?;
            let disclosures = stmt
                .query_map([&key], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(ProposalDetail {
                record,
                events,
                verdict: verdict.map(|v| unjson(&v)).transpose()?,
                decision,
                receipt,
                answer,
                disclosures,
            }))
        })
    }

    fn proposal_kind(&self, id: ProposalId) -> Result<Option<ProposalKind>, StoreError> {
        self.read(|c| {
            let kind: Option<String> = c
                .prepare_cached("SELECT kind FROM proposals WHERE id = ?1")?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?;
            kind.map(|k| crate::records::stored_kind(&k)).transpose()
        })
    }

    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT at, claimed_sender, digest, size, reason FROM refusals ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(RefusalRecord {
                    at: Timestamp::from_unix_millis(r.get(0)?),
                    claimed_sender: r.get(1)?,
                    digest: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    reason: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        self.read(next_log_index)
    }

    fn record_breach(
        &self,
        proposal: ProposalId,
        open_states: Vec<ProposalState>,
        event: String,
        log: LogEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let id = proposal.to_string();
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM proposals WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            let Some(state) = state else {
                return Err(StoreError::NoSuchProposal(id));
            };
            let Some(current) = open_states.iter().copied().find(|s| s.as_str() == state) else {
                return Ok(false);
            };
            let recorded: Option<i64> = tx
                .prepare_cached(
                    "SELECT 1 FROM proposal_events WHERE proposal_id = ?1 AND event LIKE 'deadline breached%' LIMIT 1",
                )?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            if recorded.is_some() {
                return Ok(false);
            }
            add_event(tx, proposal, current, &event, Timestamp::now())?;
            append_log(tx, std::slice::from_ref(&log))?;
            Ok(true)
        })
    }

    fn exchanged(&self, peer: PartyCode) -> Result<Vec<crate::Exchanged>, StoreError> {
        self.read(|c| crate::operations::exchanged(c, peer.as_str()))
    }

    fn operations(&self, now: Timestamp) -> Result<crate::Operations, StoreError> {
        self.read(|c| crate::operations::read(c, now))
    }

    fn commit_latency(&self) -> crate::CommitLatency {
        self.commits.snapshot()
    }

    fn log_node(&self, id: NodeId) -> Result<Hash, StoreError> {
        self.read(|c| {
            let bytes: Option<Vec<u8>> = c
                .prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")?
                .query_row(params![id.level as i64, id.index as i64], |r| r.get(0))
                .optional()?;
            let bytes = bytes.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "log node at level {} index {} is missing",
                    id.level, id.index
                ))
            })?;
            hash_from(&bytes)
        })
    }

    fn log_leaves(&self, from: u64, to: u64) -> Result<Vec<StoredLeaf>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT idx, entry, hash FROM log_leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )?;
            let rows = stmt.query_map(params![from as i64, to as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            rows.map(|r| {
                let (index, entry, hash) = r?;
                Ok(StoredLeaf {
                    index: index as u64,
                    entry,
                    hash: hash_from(&hash)?,
                })
            })
            .collect()
        })
    }

    fn declare_log_restart(
        &self,
        declaration: RestartDeclaration,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError> {
        declaration.check()?;
        self.write(move |tx| {
            let RestartDeclaration {
                start,
                entries,
                nodes,
                checkpoint,
                peer,
                body,
            } = &declaration;
            let (first, written) = append_encoded(tx, entries)?;
            crate::records::check_appended("the restart", *start, first, nodes, &written)?;
            let stored: Option<String> = tx
                .query_row(
                    "SELECT note FROM checkpoints WHERE size = ?1",
                    params![checkpoint.size as i64],
                    |r| r.get(0),
                )
                .optional()?;
            crate::records::check_one_checkpoint_per_size(
                checkpoint.size,
                &checkpoint.note,
                stored.as_deref(),
            )
            .map_err(StoreError::Conflict)?;
            tx.execute(
                "INSERT INTO checkpoints (size, note, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(size) DO NOTHING",
                params![
                    checkpoint.size as i64,
                    checkpoint.note,
                    checkpoint.at.unix_millis()
                ],
            )?;
            queue(tx, &sealer, *peer, body, Timestamp::now())
        })
    }

    fn add_checkpoint(&self, checkpoint: LedgerCheckpoint) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO checkpoints (size, note, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(size) DO UPDATE SET note = excluded.note, at = excluded.at",
                params![
                    checkpoint.size as i64,
                    checkpoint.note,
                    checkpoint.at.unix_millis()
                ],
            )?;
            Ok(())
        })
    }

    fn checkpoints(&self) -> Result<Vec<LedgerCheckpoint>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT size, note, at FROM checkpoints ORDER BY size")?;
            let rows = stmt.query_map([], |r| {
                Ok(LedgerCheckpoint {
                    size: r.get::<_, i64>(0)? as u64,
                    note: r.get(1)?,
                    at: Timestamp::from_unix_millis(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn add_partner_checkpoint(
        &self,
        checkpoint: PartnerCheckpoint,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            insert_partner_checkpoint(tx, &checkpoint)?;
            append_log(tx, &log).map(|_| ())
        })
    }

    fn agreement(&self, peer: PartyCode) -> Result<Option<Agreement>, StoreError> {
        self.read(|c| crate::agreements::load(c, peer))
    }

    fn agreement_acts(
        &self,
        peer: PartyCode,
    ) -> Result<Vec<crate::AgreementActRecord>, StoreError> {
        self.read(|c| crate::agreements::acts(c, peer))
    }

    fn act_on_agreement(
        &self,
        us: PartyCode,
        peer: PartyCode,
        act: AgreementAct,
        audit: Option<crate::AuditEntry>,
        sealer: Sealer,
    ) -> Result<(Agreement, SealedEnvelope), StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            // Judged before anything is sealed, so a refused act writes nothing.
            let current = crate::agreements::load(tx, peer)?;
            Agreement::apply(current.as_ref(), &act, us, us, peer)
                .map_err(|e| StoreError::Agreement(e.to_string()))?;
            let env = queue(tx, &sealer, peer, &Body::Agreement(act.clone()), now)?;
            let after = crate::agreements::record(
                tx,
                us,
                peer,
                us,
                &act,
                &env.header().id.to_string(),
                now,
            )?;
            if let Some(entry) = &audit {
                crate::officers::insert_audit(tx, entry)?;
            }
            Ok((after, env))
        })
    }

    fn previous_keys(
        &self,
        party: Option<PartyCode>,
    ) -> Result<Vec<crate::PreviousKey>, StoreError> {
        self.read(|c| crate::keys::list(c, party))
    }

    fn announce_card(
        &self,
        previous: crate::PreviousKey,
        update: soberana_wire::CardUpdate,
        log: LogEntry,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError> {
        self.write(move |tx| {
            let now = Timestamp::now();
            crate::keys::insert(tx, &previous)?;
            append_log(tx, std::slice::from_ref(&log))?;
            let peers: Vec<String> = tx
                .prepare_cached("SELECT party FROM peers ORDER BY party")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let body = Body::CardUpdate(update.clone());
            peers
                .iter()
                .map(|p| queue(tx, &sealer, party(p)?, &body, now))
                .collect()
        })
    }

    fn card_updates_waiting(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE kind = 'card_update' AND delivered_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    fn partner_checkpoints(&self, peer: PartyCode) -> Result<Vec<PartnerCheckpoint>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT size, note, at, status, detail, origin FROM partner_checkpoints WHERE peer = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([peer.as_str()], |r| {
                Ok(PartnerCheckpoint {
                    peer,
                    size: r.get::<_, i64>(0)? as u64,
                    note: r.get(1)?,
                    at: Timestamp::from_unix_millis(r.get(2)?),
                    status: r.get(3)?,
                    detail: r.get(4)?,
                    origin: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// For tests and tools: the raw connection's view of a table's row count.
impl SqliteStore {
    /// How many rows `table` holds (tests and diagnostics).
    pub fn count(&self, table: &str) -> Result<u64, StoreError> {
        if !table.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(StoreError::Corrupt(format!(
                "`{table}` is not a table name"
            )));
        }
        self.read(|c| {
            let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// Opens a plain connection to the file, for tools that must inspect
    /// or (in tamper tests) alter it directly.
    pub fn raw_connection(path: &Path) -> Result<Connection, StoreError> {
        open_connection(path)
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<SqliteStore>();
    is::<Arc<dyn NodeStore>>();
}
