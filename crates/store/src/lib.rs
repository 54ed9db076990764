//! soberana's durable store: the only crate that knows SQL.
//!
//! A node keeps everything in one SQLite file (WAL, `synchronous=FULL`) or
//! one PostgreSQL database (or schema):
//! its pinned peers, every proposal with its full history, the envelopes it
//! received (kept as evidence, byte for byte), its outbox, the refusals it
//! issued, and its Merkle log. Every state change — a received envelope and
//! all its effects, an officer's decision and the reply it queues — happens
//! in one transaction, so a crash leaves either all of it or none.
//!
//! In both, writes go through a single writer thread that commits many callers'
//! changes in one transaction (group commit): a caller's change that fails
//! is undone alone (in a savepoint of its own; SQLite gives one only when a
//! run without savepoints met a failure), and no caller is answered before
//! the commit that holds its change is durable. One fsync serves a whole batch; none is skipped.
//!
//! The node talks to storage only through the [`NodeStore`] trait, and
//! opens it one way, [`StoreLocation::open`]: a file path opens the SQLite
//! store (the default), a `postgres://` URL the PostgreSQL store
//! ([`PostgresStore`]), which several node processes may share.

mod agreements;
mod alert_verdicts;
mod cases;
pub mod conformance;
mod error;
mod keys;
mod ledger_view;
mod officers;
mod operations;
mod pg;
mod records;
mod schema;
mod snapshot;
mod sqlite;
mod trails;

pub use agreements::AgreementActRecord;
pub use alert_verdicts::{AlertVerdictRecord, AlertVerdictStore};
pub use cases::{CaseStore, StoredCaseEvent};
pub use error::StoreError;
pub use keys::PreviousKey;
pub use ledger_view::{LedgerView, StagedLedger};
pub use officers::{AuditEntry, LoginAdmission, OfficerAccount, OfficerStore, PendingDecision};
pub use operations::{
    COMMIT_BUCKETS_MS, CommitLatency, CommitTimes, Exchanged, Operations, PartnerOutbox,
};
pub use pg::{
    EXPORT_INDEX, ExportedTable, MoveProgress, MovedTable, PROGRESS_EVERY, PostgresExport,
    PostgresStore, StoreMove, export_postgres, import_postgres, is_postgres_url,
    move_postgres_export_into_sqlite, move_sqlite_into_postgres, read_export_index, redacted,
};
pub use records::{
    DeliveryItem, DeliveryResult, IntakeEffect, LedgerCheckpoint, OfficerDecision,
    PartnerCheckpoint, PolicyResponse, ProposalDetail, ProposalEvent, ProposalFilter,
    ProposalRecord, Received, RefusalRecord, RefusedDelivery, RestartClaim, RestartDeclaration,
    Sealer, SessionQuota, StoredLeaf, Taken, Witnessing, envelope_record,
};
pub use snapshot::{integrity, snapshot};
pub use sqlite::SqliteStore;

/// The names of the threads that write a node's store, one per open store:
/// SQLite's and PostgreSQL's. Every change of a store goes through its
/// writer, so that thread's processor time is the part of a node's work
/// that does not spread over more cores.
pub const WRITER_THREADS: [&str; 2] = [sqlite::WRITER_THREAD, pg::WRITER_THREAD];

/// The most changes a store's writer commits together.
const MAX_BATCH: usize = 512;

/// Waits for the next change and takes those queued behind it, up to
/// [`MAX_BATCH`]: one group commit of a store's writer. `None` once every
/// sender is gone.
fn next_batch<J>(jobs: &std::sync::mpsc::Receiver<J>) -> Option<Vec<J>> {
    let mut batch = vec![jobs.recv().ok()?];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

use std::path::{Path, PathBuf};
use std::sync::Arc;

use soberana_core::{PartyCode, Proposal, ProposalId, Timestamp};
use soberana_ledger::{Hash, LogEntry, NodeId, StoredCosignature};
use soberana_wire::SealedEnvelope;

/// Where a node's store lives, as its configuration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user@host/db`).
    Postgres(String),
}

impl StoreLocation {
    /// Reads a configured location: a `postgres://` (or `postgresql://`)
    /// URL, or else a file path, taken relative to `base` (the node folder).
    pub fn parse(text: &str, base: &Path) -> Self {
        if is_postgres_url(text) {
            Self::Postgres(text.to_owned())
        } else {
            Self::Sqlite(base.join(text))
        }
    }

    /// The location for messages, without any password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redacted(url),
        }
    }

    /// Opens (creating if needed) the store and brings its schema up to date.
    pub fn open(&self) -> Result<Arc<dyn NodeStore>, StoreError> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Self::Postgres(url) => Arc::new(PostgresStore::open(url)?),
        })
    }
}

/// Everything a node asks of its storage.
///
/// Each method is one transaction: it either happens whole or not at all.
/// Methods that send something take a [`Sealer`], called inside the
/// transaction with the next sequence number for the recipient, so that the
/// envelope, its outbox row, its log entry and the state change it reports
/// are committed together. A store may run a transaction again after
/// rolling it back, so the sealer may be called for envelopes that are never
/// kept: it must have no effect beyond the envelope it returns.
///
/// The officers' accounts, their audit trail and the decisions awaiting a
/// second approver ([`OfficerStore`]) live in the same store, so that an
/// officer's act and its audit line commit together; so do analysts'
/// verdicts on money-laundering alerts ([`AlertVerdictStore`], two methods
/// over one append-only table), and joint investigations ([`CaseStore`]),
/// whose acts are logged and sent together.
pub trait NodeStore: OfficerStore + AlertVerdictStore + CaseStore + Send + Sync + 'static {
    /// The pinned party cards, as their JSON text.
    fn peers(&self) -> Result<Vec<(PartyCode, String)>, StoreError>;

    /// Pins (or replaces) a partner's card, logging the change.
    fn pin_peer(&self, party: PartyCode, card: String, log: LogEntry) -> Result<(), StoreError>;

    /// Appends entries to the log on their own (a policy pin, for example);
    /// returns the index of the first.
    fn append_log(&self, entries: Vec<LogEntry>) -> Result<u64, StoreError>;

    /// Appends encoded entries and their perfect nodes as one batch starting
    /// at `start`, which must be the current size (the ledger's storage
    /// contract).
    fn append_batch(
        &self,
        start: u64,
        entries: Vec<Vec<u8>>,
        nodes: Vec<(NodeId, Hash)>,
    ) -> Result<(), StoreError>;

    /// Stores a witness's cosignature on one of our checkpoints.
    fn put_cosignature(&self, cosignature: StoredCosignature) -> Result<(), StoreError>;

    /// The cosignatures on our checkpoint of `size` (every one, if `None`).
    fn cosignatures(&self, size: Option<u64>) -> Result<Vec<StoredCosignature>, StoreError>;

    /// The log index of the entry recording a received envelope.
    fn received_log_index(&self, envelope_id: &str) -> Result<Option<u64>, StoreError>;

    /// The ids of the envelopes we sent about a proposal, with their kinds.
    fn sent_envelopes(&self, proposal: ProposalId) -> Result<Vec<(String, String)>, StoreError>;

    /// The id of every envelope we queued to `peer`, whatever became of it
    /// (pending, delivered or refused).
    fn queued_envelope_ids(&self, peer: PartyCode) -> Result<Vec<String>, StoreError>;

    /// The ids of the envelopes we received about a proposal, with the log
    /// index of the entry recording each.
    fn received_envelopes(
        &self,
        proposal: ProposalId,
    ) -> Result<Vec<(String, Option<u64>)>, StoreError>;

    /// The protocol messages received from `peer` under a proposal, for one
    /// step, by part.
    fn session_messages(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Vec<soberana_wire::SessionMessage>, StoreError>;

    /// Queues bodies to `peer` that change no proposal's state (protocol
    /// messages, checkpoints for witnessing), each in its own envelope.
    fn queue_messages(
        &self,
        peer: PartyCode,
        bodies: Vec<soberana_wire::Body>,
        sealer: Sealer,
    ) -> Result<(), StoreError>;

    /// Moves the numbering of our envelopes to `peer` on to at least
    /// `next`: a node restored from a backup would otherwise number new
    /// envelopes with numbers the partner already holds. Never moves back.
    fn skip_sequence_to(&self, peer: PartyCode, next: u64) -> Result<(), StoreError>;

    /// Records what we learnt ourselves from a protocol run under one of our
    /// proposals (a match result) as its answer, with its log entries, in
    /// one transaction.
    fn record_result(
        &self,
        answer: soberana_wire::Answer,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError>;

    /// Records data leaving this node under an accepted incoming proposal
    /// (protocol messages of a match), with its digest in the log.
    fn record_disclosure(
        &self,
        proposal: ProposalId,
        digest: [u8; 32],
        bytes: u64,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError>;

    /// Appends `log`, records and queues each of our new `proposals`, and
    /// writes the audit line, all in one transaction (a policy pin and its
    /// announcement to every partner).
    fn log_and_propose(
        &self,
        log: Vec<LogEntry>,
        proposals: Vec<Proposal>,
        audit: Option<AuditEntry>,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError>;

    /// Records and queues each of our new `proposals`, and stores `trail`
    /// (an opaque text: the node's record of why it asked) naming every one
    /// of them, all in one transaction: a financial trail and the
    /// continuation requests that carry it are never apart. Refuses a
    /// proposal that exists or already carries a trail.
    fn propose_trail(
        &self,
        proposals: Vec<Proposal>,
        trail: String,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError>;

    /// The trail stored with proposal `id` by
    /// [`propose_trail`](NodeStore::propose_trail), if any.
    fn trail(&self, id: ProposalId) -> Result<Option<String>, StoreError>;

    /// Records our new proposal and queues its envelope.
    fn queue_proposal(
        &self,
        proposal: Proposal,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError>;

    /// Records an envelope received from a partner with its one effect, and
    /// queues whatever reply the effect calls for. Refuses an envelope id
    /// seen before with [`StoreError::Duplicate`], and a state change the
    /// lifecycle does not allow with [`StoreError::Transition`].
    fn receive(&self, received: Received, sealer: Sealer) -> Result<Taken, StoreError>;

    /// Records envelopes received together (one partner's batch), in order,
    /// in one transaction, each as if in its own savepoint, exactly as
    /// [`receive`](NodeStore::receive) records one: an entry the store
    /// refuses (a duplicate, a reused sequence number, a quota…) is rolled
    /// back alone and its neighbours are kept. One result per entry, in
    /// order; a later entry sees what the earlier ones stored.
    fn receive_each(
        &self,
        received: Vec<Received>,
        sealer: Sealer,
    ) -> Vec<Result<Taken, StoreError>>;

    /// Records a refusal at intake (and nothing else).
    fn record_refusal(&self, refusal: RefusalRecord) -> Result<(), StoreError>;

    /// Records several refusals at intake (those of one batch), in order,
    /// in one transaction, each exactly as
    /// [`record_refusal`](NodeStore::record_refusal) records one.
    fn record_refusals(&self, refusals: Vec<RefusalRecord>) -> Result<(), StoreError>;

    /// Records an officer's decision on an incoming proposal and queues the
    /// decision (and any answer) to the proposer.
    fn decide(
        &self,
        decision: OfficerDecision,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError>;

    /// Envelopes due for delivery at `now`, oldest first.
    fn due_deliveries(&self, now: Timestamp, limit: usize)
    -> Result<Vec<DeliveryItem>, StoreError>;

    /// Marks an envelope delivered (the partner's node accepted it). The
    /// partner answers again, so every other envelope to it waiting out a
    /// backoff is due at once (same transaction).
    fn mark_delivered(&self, envelope_id: String, now: Timestamp) -> Result<(), StoreError>;

    /// Partners to which envelopes wait out a backoff with none due at
    /// `now`: the ones worth asking whether they answer again.
    fn backed_off(&self, now: Timestamp) -> Result<Vec<PartyCode>, StoreError>;

    /// Makes every envelope waiting for `peer` due at `now` (the partner
    /// answers again); returns how many were waiting.
    fn retry_now(&self, peer: PartyCode, now: Timestamp) -> Result<u64, StoreError>;

    /// Records a failed delivery attempt and when to try again.
    fn mark_failed(
        &self,
        envelope_id: String,
        error: String,
        next_attempt: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records that a partner's node refused an envelope for good (a final
    /// `4xx`): it is not sent again, and the refusal is kept to be shown.
    fn mark_refused(
        &self,
        envelope_id: String,
        reason: String,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records the results of delivery attempts, each exactly as
    /// [`mark_delivered`](NodeStore::mark_delivered),
    /// [`mark_refused`](NodeStore::mark_refused) or
    /// [`mark_failed`](NodeStore::mark_failed) records it, in the order
    /// given, all in one transaction: the outbox marks a request's
    /// envelopes with one commit. `now` is when a delivery or refusal is
    /// recorded as made.
    fn record_deliveries(
        &self,
        results: Vec<(String, DeliveryResult)>,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Envelopes partners refused for good, newest first.
    fn refused_deliveries(&self, limit: usize) -> Result<Vec<RefusedDelivery>, StoreError>;

    /// How far a step of protocol messages from `peer` under a proposal
    /// has arrived: `(parts it has, parts stored)`, or `None` if none has.
    /// Cheap: the parts themselves are not read.
    fn session_step(
        &self,
        proposal: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Option<(u32, u32)>, StoreError>;

    /// When the next undelivered envelope is due, if any.
    fn next_delivery_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Proposals matching `filter`, newest first.
    fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<ProposalRecord>, StoreError>;

    /// One proposal with its history and everything attached to it.
    fn proposal(&self, id: ProposalId) -> Result<Option<ProposalDetail>, StoreError>;

    /// A proposal's kind alone, if it is stored: what hooks run on every
    /// envelope ask before reading the whole proposal.
    fn proposal_kind(
        &self,
        id: ProposalId,
    ) -> Result<Option<soberana_core::ProposalKind>, StoreError>;

    /// Refusals issued at intake, newest first.
    fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, StoreError>;

    /// The number of entries in the log.
    fn log_size(&self) -> Result<u64, StoreError>;

    /// Records, once, that a proposal was not answered in the agreed time:
    /// an event in its history (its state unchanged) and the log entry, in
    /// one transaction. Returns false when the breach was recorded before,
    /// or the proposal was answered meanwhile (its state is no longer one
    /// of `open_states`).
    fn record_breach(
        &self,
        proposal: ProposalId,
        open_states: Vec<soberana_core::ProposalState>,
        event: String,
        log: LogEntry,
    ) -> Result<bool, StoreError>;

    /// Every envelope that crossed between us and `peer`: those we sent
    /// that the partner took, and those we received from it, as stored.
    fn exchanged(&self, peer: PartyCode) -> Result<Vec<Exchanged>, StoreError>;

    /// The figures an operator watches, from one consistent read.
    fn operations(&self, now: Timestamp) -> Result<Operations, StoreError>;

    /// How long callers have waited for their changes to be durable.
    fn commit_latency(&self) -> CommitLatency;

    /// A stored perfect subtree hash of the log.
    fn log_node(&self, id: NodeId) -> Result<Hash, StoreError>;

    /// Log leaves `[from, to)` in order.
    fn log_leaves(&self, from: u64, to: u64) -> Result<Vec<StoredLeaf>, StoreError>;

    /// Declares our log's restart in one transaction: appends the
    /// declaration's entries at its `start` (refused unless that is the
    /// log's size and its tree nodes are the ones the entries imply), stores
    /// its checkpoint (refused if a different one of that size is stored),
    /// and seals, queues and logs its body to the partner. Any refusal, or
    /// a crash, writes nothing; returns the envelope queued.
    fn declare_log_restart(
        &self,
        declaration: RestartDeclaration,
        sealer: Sealer,
    ) -> Result<SealedEnvelope, StoreError>;

    /// Stores a checkpoint of our log that we signed.
    fn add_checkpoint(&self, checkpoint: LedgerCheckpoint) -> Result<(), StoreError>;

    /// Our stored checkpoints, oldest first.
    fn checkpoints(&self) -> Result<Vec<LedgerCheckpoint>, StoreError>;

    /// Stores a partner's checkpoint we received (and what we did with it).
    fn add_partner_checkpoint(
        &self,
        checkpoint: PartnerCheckpoint,
        log: Vec<LogEntry>,
    ) -> Result<(), StoreError>;

    /// The partner checkpoints we hold, oldest first.
    fn partner_checkpoints(&self, peer: PartyCode) -> Result<Vec<PartnerCheckpoint>, StoreError>;

    /// The bilateral agreement with `peer`, if any act on it was recorded.
    fn agreement(&self, peer: PartyCode) -> Result<Option<soberana_core::Agreement>, StoreError>;

    /// Every act on the agreement with `peer`, ours and its, oldest first.
    fn agreement_acts(&self, peer: PartyCode) -> Result<Vec<AgreementActRecord>, StoreError>;

    /// Our act on the agreement with `peer` (we are `us`): judged against
    /// where the agreement stands, recorded with the state it leads to, and
    /// sealed and queued to the partner (with its log entry), in one
    /// transaction, with `audit` (the officers who approved it) when given:
    /// an act is never recorded without its audit line, nor the line
    /// without the act. A refused act ([`StoreError::Agreement`]) or a
    /// refused audit line writes nothing. While an agreement is suspended or terminated, or an act on
    /// it is still on its way to the partner, [`NodeStore::due_deliveries`]
    /// holds back new proposals to that partner (everything else still
    /// goes), so a proposal never overtakes the act that lets it cross.
    fn act_on_agreement(
        &self,
        us: PartyCode,
        peer: PartyCode,
        act: soberana_core::AgreementAct,
        audit: Option<AuditEntry>,
        sealer: Sealer,
    ) -> Result<(soberana_core::Agreement, SealedEnvelope), StoreError>;

    /// Keys `party` (every party, if `None`) signed with before its current
    /// one, oldest first.
    fn previous_keys(&self, party: Option<PartyCode>) -> Result<Vec<PreviousKey>, StoreError>;

    /// Our key rotation: records the key it retires and queues `update`
    /// (our new card) to every pinned partner, each in an envelope sealed
    /// by `sealer` (with the key being retired), with `log`, in one
    /// transaction.
    fn announce_card(
        &self,
        previous: PreviousKey,
        update: soberana_wire::CardUpdate,
        log: LogEntry,
        sealer: Sealer,
    ) -> Result<Vec<SealedEnvelope>, StoreError>;

    /// How many of our card updates partners have not taken yet: a rotated
    /// key is used only once this is zero.
    fn card_updates_waiting(&self) -> Result<u64, StoreError>;
}
