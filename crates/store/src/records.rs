//! The values that go in and out of the store.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use soberana_core::{
    Decision, Direction, PartyCode, Proposal, ProposalId, ProposalKind, ProposalState, Receipt,
    Timestamp,
};
use soberana_ledger::{self as ledger, Hash, LogEntry, NoteSigner, VerifierKey};
use soberana_wire::{Answer, Body, SealedEnvelope, SessionMessage};

/// Seals a body for a recipient with a sequence number the store allocates
/// inside the transaction that queues it. It may be called again for the
/// same body when the store runs that transaction a second time, so it must
/// do nothing but seal.
pub type Sealer = Arc<dyn Fn(PartyCode, u64, &Body) -> SealedEnvelope + Send + Sync>;

/// The log entry's record of an envelope that crossed: its header, and the
/// digest of its body.
pub fn envelope_record(h: &soberana_wire::EnvelopeHeader) -> ledger::EnvelopeRecord {
    ledger::EnvelopeRecord {
        envelope_id: h.id.to_string(),
        sender: h.sender.to_string(),
        recipient: h.recipient.to_string(),
        sequence: h.sequence,
        time_ms: h.time.max(0) as u64,
        body_digest: *h.body_digest.as_bytes(),
    }
}

/// An envelope accepted at intake, with the one effect it has.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope's id.
    pub envelope_id: String,
    /// Its verified sender.
    pub sender: PartyCode,
    /// Its recipient (this node).
    pub recipient: PartyCode,
    /// The sender's sequence number.
    pub sequence: u64,
    /// When it was sealed, Unix milliseconds.
    pub sealed_at: i64,
    /// The SHA-256 of its body.
    pub body_digest: [u8; 32],
    /// The SHA-256 of the whole envelope, hex.
    pub digest: String,
    /// The envelope's bytes exactly as received.
    pub bytes: Vec<u8>,
    /// When it was received.
    pub received_at: Timestamp,
    /// What it does here.
    pub effect: IntakeEffect,
    /// How far its header time may be before that of an envelope the same
    /// sender numbered earlier (or after one it numbered later): a sender
    /// numbers and dates an envelope in one step, so times follow numbers
    /// but for clock adjustments.
    pub order_tolerance_ms: u64,
}

/// The closed set of things a partner's envelope can do on this node.
///
/// There is no variant that runs anything: a partner can create a proposal
/// for our policy and officers, give a receipt or a decision for one of
/// ours, or answer one of ours. Anything else is refused before it gets here.
#[derive(Debug, Clone)]
pub enum IntakeEffect {
    /// A new proposal, with what policy made of it.
    Proposal {
        /// The proposal.
        proposal: Box<Proposal>,
        /// Policy's response.
        response: Box<PolicyResponse>,
        /// Policy's explanation, as JSON, kept with the proposal.
        verdict: String,
    },
    /// The partner's decision on one of our proposals.
    Decision(Decision),
    /// The partner's receipt for one of our proposals.
    Receipt(Receipt),
    /// The partner's answer to one of our accepted proposals.
    Answer(Answer),
    /// A partner's checkpoint to witness. The store judges it against the
    /// last checkpoint of the same log it cosigned, read inside the
    /// transaction that records the outcome, so that conflicting
    /// checkpoints arriving at once are judged one after the other and at
    /// most one of them is cosigned (the others raise alarms). A cosigned
    /// checkpoint queues exactly one reply, the cosignature; an alarm
    /// queues nothing and keeps both signed checkpoints as evidence.
    Checkpoint(Box<Witnessing>),
    /// The partner cosigned one of our checkpoints.
    CosignatureReceived {
        /// The cosignature.
        cosignature: ledger::StoredCosignature,
        /// What to log (the cosignature received).
        log: LogEntry,
    },
    /// A protocol message under a proposal in an accepted state, of a kind
    /// that runs a session, within the proposal's quota.
    Session {
        /// The message part.
        message: SessionMessage,
        /// What the partner may store under one proposal.
        quota: SessionQuota,
    },
    /// The partner's act on the bilateral agreement. The store judges it
    /// against where the agreement stands, inside the transaction that
    /// records it, and answers every act but an acknowledgement with our
    /// signed acknowledgement.
    Agreement(soberana_core::AgreementAct),
    /// The partner's new card (its keys rotated), already checked: it
    /// replaces the pinned card, and the old key is kept as a previous key,
    /// with `log`, in one transaction.
    CardUpdate {
        /// The new signed card, as its JSON text.
        card: String,
        /// The key it replaces.
        previous: crate::PreviousKey,
        /// What to log (the new key pinned).
        log: LogEntry,
    },
    /// An act of the partner's side in a joint investigation, checked in
    /// the store's transaction against our copy of the case (see
    /// [`crate::CaseStore`]).
    Case(Box<soberana_case::CustodyEvent>),
}

impl IntakeEffect {
    /// The kind of the proposal this effect creates, if it creates one.
    pub fn new_proposal_kind(&self) -> Option<ProposalKind> {
        match self {
            IntakeEffect::Proposal { proposal, .. } => Some(proposal.kind()),
            _ => None,
        }
    }
}

/// A proposal kind as a store wrote it (its `as_str` name).
pub(crate) fn stored_kind(kind: &str) -> Result<ProposalKind, crate::StoreError> {
    ProposalKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("proposal kind `{kind}`")))
}

/// What the store needs to witness a partner's checkpoint: the C2SP
/// tlog-witness `add-checkpoint` request, the partner's log key (pinned from
/// its card) and our cosigning key.
#[derive(Clone)]
pub struct Witnessing {
    /// The add-checkpoint request body, as received.
    pub request: String,
    /// The partner's log key; its name is the log's origin.
    pub log_key: VerifierKey,
    /// The partner's log keys before a rotation, still in their overlap:
    /// the last checkpoint we cosigned may be signed by one of them.
    pub previous_log_keys: Vec<VerifierKey>,
    /// Our witness key (cosignature/v1).
    pub cosigner: NoteSigner,
    /// The time the cosignature states, POSIX seconds.
    pub now_secs: u64,
    /// The partner's declaration that its log restarted, if the checkpoint
    /// starts a new branch (see [`ledger::Witness::restart`]).
    pub restart: Option<RestartClaim>,
}

/// A partner's declared log restart, its signatures already checked: the
/// store judges it against the last checkpoint of that log we cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartClaim {
    /// The size of the abandoned checkpoint the partner says we cosigned last.
    pub abandoned_size: u64,
    /// Its root.
    pub abandoned_root: Hash,
    /// The entries the partner's log holds before its declaration.
    pub restored_size: u64,
    /// Why, in the partner's words.
    pub reason: String,
}

impl RestartClaim {
    /// The entry both logs record for the restart of the log `origin`, whose
    /// new branch extends our cosigned checkpoint of size `kept_size`.
    pub fn log_entry(&self, origin: &str, kept_size: u64, now: Timestamp) -> LogEntry {
        LogEntry::LogRestart {
            origin: origin.to_owned(),
            abandoned_size: self.abandoned_size,
            abandoned_root: *self.abandoned_root.as_bytes(),
            restored_size: self.restored_size,
            kept_size,
            reason: self.reason.clone(),
            time_ms: now.unix_millis().max(0) as u64,
        }
    }
}

impl std::fmt::Debug for Witnessing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cosigner holds a private key: only its public side is shown.
        f.debug_struct("Witnessing")
            .field("origin", &self.log_key.name())
            .field("cosigner", &self.cosigner.verifier().name())
            .field("now_secs", &self.now_secs)
            .finish_non_exhaustive()
    }
}

/// How much protocol traffic a partner may have stored under one proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionQuota {
    /// Payload bytes under the whole proposal.
    pub max_session_bytes: u64,
    /// Payload bytes of one step.
    pub max_step_bytes: u64,
}

/// An envelope a partner's node refused for good: not retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedDelivery {
    /// The envelope's id.
    pub envelope_id: String,
    /// Its recipient.
    pub recipient: PartyCode,
    /// Its kind.
    pub kind: String,
    /// The proposal it concerns (empty if none).
    pub proposal_id: String,
    /// The partner's answer.
    pub reason: String,
    /// When it was refused.
    pub at: Timestamp,
}

/// What policy does with a new proposal.
#[derive(Debug, Clone)]
pub enum PolicyResponse {
    /// Policy decided it; the decision (and any answer) goes back at once.
    Decided {
        /// The decision.
        decision: Decision,
        /// What is released with an acceptance, if anything.
        answer: Option<Answer>,
    },
    /// An officer must decide.
    Review,
    /// A notification: answered with a receipt.
    Acknowledge(Receipt),
}

/// A refusal issued at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalRecord {
    /// When.
    pub at: Timestamp,
    /// The sender the bytes claimed (unverified), or `?`.
    pub claimed_sender: String,
    /// The SHA-256 of the refused bytes, hex.
    pub digest: String,
    /// How many bytes were refused.
    pub size: u64,
    /// Why.
    pub reason: String,
}

/// An officer's decision on an incoming proposal.
#[derive(Debug, Clone)]
pub struct OfficerDecision {
    /// The decision.
    pub decision: Decision,
    /// What is released with an acceptance, if anything.
    pub answer: Option<Answer>,
    /// The decision awaiting confirmation that this one confirms (four
    /// eyes). It must still be stored, unchanged, when the decision
    /// commits, and is removed with it; without it, no decision may be
    /// awaiting confirmation on the proposal.
    pub confirms: Option<crate::PendingDecision>,
    /// The audit line recording the act, written in the same transaction.
    pub audit: Option<crate::AuditEntry>,
}

/// What storing a received envelope did.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The replies it queued, sealed.
    pub queued: Vec<soberana_wire::SealedEnvelope>,
    /// The kind of the proposal it created or decided, as the transaction
    /// that stored it wrote or read it: what the hooks run on every
    /// envelope ask, without a read of their own.
    pub kind: Option<soberana_core::ProposalKind>,
}

/// An envelope waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryItem {
    /// The envelope's id.
    pub envelope_id: String,
    /// Its recipient.
    pub recipient: PartyCode,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// How many attempts were made.
    pub attempts: u32,
    /// The proposal it concerns (empty if none): envelopes about one
    /// proposal are delivered in the order they were queued.
    pub proposal_id: String,
}

/// What became of one delivery attempt, to record in the outbox (see
/// [`NodeStore::record_deliveries`](crate::NodeStore::record_deliveries)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The partner's node took it (or already had it), as
    /// [`mark_delivered`](crate::NodeStore::mark_delivered) records.
    Delivered,
    /// The partner refused it for good, for this reason, as
    /// [`mark_refused`](crate::NodeStore::mark_refused) records.
    Refused(String),
    /// Not delivered: why, and when to try again, as
    /// [`mark_failed`](crate::NodeStore::mark_failed) records.
    Failed {
        /// Why the attempt failed.
        error: String,
        /// When the envelope is due again.
        next_attempt: Timestamp,
    },
}

/// Which proposals to list.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only these states (any, if empty).
    pub states: Vec<ProposalState>,
    /// Only these kinds (any, if empty): what polls for a few kinds reads
    /// those, not every proposal the node holds.
    pub kinds: Vec<soberana_core::ProposalKind>,
    /// At most this many (all, if zero).
    pub limit: usize,
}

/// A proposal as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposalRecord {
    /// Ours or a partner's.
    pub direction: Direction,
    /// The other party.
    pub peer: PartyCode,
    /// Where it stands.
    pub state: ProposalState,
    /// When it last changed.
    pub updated: Timestamp,
    /// The proposal.
    pub proposal: Proposal,
}

impl ProposalRecord {
    /// The proposal's id.
    pub fn id(&self) -> ProposalId {
        self.proposal.id
    }

    /// The proposal's kind.
    pub fn kind(&self) -> ProposalKind {
        self.proposal.kind()
    }
}

/// One step in a proposal's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposalEvent {
    /// When.
    pub at: Timestamp,
    /// The state after the step.
    pub state: ProposalState,
    /// What happened, in plain words.
    pub event: String,
}

/// A proposal with everything attached to it.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalDetail {
    /// The proposal.
    pub record: ProposalRecord,
    /// Its history, oldest first.
    pub events: Vec<ProposalEvent>,
    /// Policy's explanation (JSON), for incoming proposals.
    pub verdict: Option<serde_json::Value>,
    /// The decision, once made.
    pub decision: Option<Decision>,
    /// The receipt, for notifications.
    pub receipt: Option<Receipt>,
    /// What was released, once answered.
    pub answer: Option<Answer>,
    /// Digests of what left this node for it: (hex digest, bytes).
    pub disclosures: Vec<(String, u64)>,
}

/// A leaf of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    /// Its index.
    pub index: u64,
    /// The entry's canonical bytes.
    pub entry: Vec<u8>,
    /// The leaf hash as stored.
    pub hash: Hash,
}

/// A checkpoint of our own log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCheckpoint {
    /// The tree size.
    pub size: u64,
    /// The signed note's text, with any cosignatures.
    pub note: String,
    /// When it was stored or last cosigned.
    pub at: Timestamp,
}

/// Our declaration that our log restarted, prepared whole against the log
/// as it stood ([`crate::NodeStore::declare_log_restart`] writes it in one
/// transaction).
#[derive(Debug, Clone)]
pub struct RestartDeclaration {
    /// The log's size it was prepared against: the entries go there.
    pub start: u64,
    /// The encoded entries: the envelopes we sent that only the partner
    /// still held, logged again, then the `LogRestart` entry.
    pub entries: Vec<Vec<u8>>,
    /// The tree nodes the entries complete, as the ledger computed them.
    pub nodes: Vec<(ledger::NodeId, Hash)>,
    /// Our signed checkpoint covering them: its size is `start` plus the
    /// number of entries.
    pub checkpoint: LedgerCheckpoint,
    /// The partner the declaration goes to.
    pub peer: PartyCode,
    /// The declaration (a checkpoint request carrying the restart).
    pub body: Body,
}

impl RestartDeclaration {
    /// What the store checks before writing anything.
    pub(crate) fn check(&self) -> Result<(), crate::StoreError> {
        let conflict = |m: &str| Err(crate::StoreError::Conflict(m.to_owned()));
        if self.entries.is_empty() {
            return conflict("a log restart declares at least its own entry");
        }
        if self.checkpoint.size != self.start + self.entries.len() as u64 {
            return conflict("the restart's checkpoint must cover exactly its entries");
        }
        if !matches!(&self.body, Body::Checkpoint(c) if c.restart.is_some()) {
            return conflict("a log restart is sent as a checkpoint carrying the declaration");
        }
        Ok(())
    }
}

/// Refuses entries appended at `first` when they were prepared against a
/// log of size `start`, or whose tree nodes (`written`, as the store
/// computed them) are not the ones `prepared` says: `what` names the change
/// (a batch, a restart). The caller's transaction rolls back.
pub(crate) fn check_appended(
    what: &str,
    start: u64,
    first: u64,
    prepared: &[(ledger::NodeId, Hash)],
    written: &[(ledger::NodeId, Hash)],
) -> Result<(), crate::StoreError> {
    if first != start {
        return Err(crate::StoreError::Conflict(format!(
            "{what} was prepared against a log of size {start}, but it holds {first}"
        )));
    }
    if written != prepared {
        return Err(crate::StoreError::Conflict(format!(
            "{what}'s tree nodes are not the ones its entries imply"
        )));
    }
    Ok(())
}

/// Refuses to store a checkpoint of a size for which another note is
/// already stored (`stored`): a log signs one checkpoint per size.
pub(crate) fn check_one_checkpoint_per_size(
    size: u64,
    note: &str,
    stored: Option<&str>,
) -> Result<(), String> {
    match stored {
        Some(other) if other != note => {
            Err(format!("a different checkpoint of size {size} is stored"))
        }
        _ => Ok(()),
    }
}

/// A partner's checkpoint and what we made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerCheckpoint {
    /// The partner.
    pub peer: PartyCode,
    /// The tree size.
    pub size: u64,
    /// The signed note's text as received.
    pub note: String,
    /// When it was received.
    pub at: Timestamp,
    /// The partner log's origin.
    pub origin: String,
    /// `cosigned`, or `alarm` when it conflicts with what we hold.
    pub status: String,
    /// Evidence or notes (JSON).
    pub detail: String,
}

/// The results of a change that records several entries: each entry's own,
/// or, when the change as a whole failed (and nothing of it was kept), that
/// failure for every one of the `count` entries.
pub(crate) fn each_or_all<T>(
    stored: Result<Vec<Result<T, crate::StoreError>>, crate::StoreError>,
    count: usize,
) -> Vec<Result<T, crate::StoreError>> {
    let e = match stored {
        Ok(each) => return each,
        Err(e) => e,
    };
    let again = |e: &crate::StoreError| match e {
        crate::StoreError::Closed => crate::StoreError::Closed,
        other => crate::StoreError::Corrupt(other.to_string()),
    };
    let mut each: Vec<_> = (1..count).map(|_| Err(again(&e))).collect();
    if count > 0 {
        each.insert(0, Err(e));
    }
    each
}
