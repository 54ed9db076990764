//! Private matching over the node: the sessions that run a match protocol
//! under an accepted proposal.
//!
//! A match is asked for with a proposal that carries only the size of the
//! requester's list (an `identifier_match` or a `person_match`). Nothing of
//! the list leaves the requester until the partner's policy or officer has
//! accepted that proposal: the requester's node keeps the list in its own
//! directory (`data/requests/<proposal>.json`) and starts the protocol only
//! when the decision arrives. The protocol's messages then travel as
//! `Session` envelopes, each step split into parts under the envelope limit
//! and put back together by part on the other side. The partner's node answers
//! by itself, because its policy or officer already accepted; every message it
//! sends is recorded as a disclosure (digest and size) in its log.
//!
//! Both sides keep the protocol state in memory in the node's session task
//! ([`session_loop`], started by [`Node::start`]). Steps are numbered from 0:
//! the requester sends the even steps and the responder the odd ones. A side
//! that meets an error sends an abort ([`ABORT_STEP`]) with the reason, so the
//! other side ends too; the requester records the failure as the result of
//! its proposal. A session cut short by a restart is not resumed (the states
//! hold one-time secrets); it is ended with a clear reason and must be asked
//! again.
//!
//! Where the data comes from:
//! - identifiers a node holds, for partners to check against:
//!   `DIR/data/identifiers/<kind>.txt`, one per line, read with
//!   [`soberana_psi::read_identifiers`] (kind names: `phone`, `clabe`, `iban`,
//!   `aba`, `firearm`, `plate`, `email`);
//! - person records a node holds: `DIR/data/persons.csv` (see
//!   [`persons`]), with the linkage secret agreed with partners in
//!   `DIR/data/linkage.key`.
//!
//! This file is long because both sides of every private match run here: the
//! asker's and the holder's state machines, the bounds on what a partner may
//! send under an accepted proposal, and the recording of each disclosure.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use soberana_core::{
    AgencyId, Direction, HandlingCode, IdentifierMatch, MatchReveal, OfficerId, Outcome, PartyCode,
    Proposal, ProposalBody, ProposalDraft, ProposalId, ProposalKind, ProposalState, Timestamp,
};
use soberana_ledger::LogEntry;
use soberana_psi::{
    Disclosure, IdentifierKind, Protocol, PsiRequester, PsiResponder, ReadOptions,
    RequesterOutcome, RequesterStep, ResponderStep,
};
use soberana_store::{ProposalDetail, StoreError};
use soberana_wire::{Answer, AnswerItem, Body, SessionMessage};
use tokio::sync::watch;

use crate::NodeError;
use crate::node::Node;

pub mod persons;
pub mod standing;

/// The step of a message that ends a session; its payload is the reason.
pub const ABORT_STEP: u32 = u32::MAX;

/// The most parts one step may have (a bound on what a partner can make us
/// wait for; the bytes a step may hold are bounded by the node's
/// `limits.max_step_bytes`, checked as each part is stored).
pub const MAX_PARTS: u32 = 4096;

/// The label of an answer item naming one of our identifiers that matched.
pub const HIT_LABEL: &str = "hit";
/// The label of the answer item giving the number of matches (count only).
pub const COUNT_LABEL: &str = "count";
/// The label of the answer item saying why a match did not complete.
pub const ERROR_LABEL: &str = "error";

/// Why a match could not be asked for or run.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    /// The identifier file has bad lines (all listed) or cannot be read.
    #[error("`{path}`: {source}")]
    Identifiers {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: soberana_psi::ReadError,
    },
    /// The list is empty.
    #[error("`{0}` holds no identifiers (only blank or comment lines); nothing to match")]
    Empty(PathBuf),
    /// Count-only disclosure asked for with the OT protocol.
    #[error(
        "the `ot` protocol cannot disclose a count only; use `--protocol dh` with `--count-only`"
    )]
    CountOnlyNeedsDh,
    /// An unknown identifier kind.
    #[error("{0}")]
    Kind(#[from] soberana_psi::IdentifierError),
    /// The protocol could not start (e.g. the list is too large).
    #[error("the match protocol could not start: {0}")]
    Protocol(#[from] soberana_psi::PsiError),
    /// The node refused the proposal or could not store it.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file of the node directory could not be read or written.
    #[error("`{path}`: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// No agency to ask on behalf of.
    #[error("the registry has no agency of `{0}`; name one with --agency")]
    NoAgency(String),
    /// The person records or linkage settings are unusable.
    #[error("{0}")]
    Persons(String),
    /// A standing arrangement does not let the run go (named, with why).
    #[error("{0}")]
    Standing(String),
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> MatchError + '_ {
    move |e| MatchError::File {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// What an officer asks for with `soberana match ids`.
#[derive(Debug, Clone)]
pub struct IdentifierRequest {
    /// The partner asked.
    pub peer: PartyCode,
    /// The kind of identifiers.
    pub kind: IdentifierKind,
    /// The identifiers, canonical (`phone:+525512345678`), distinct.
    pub items: Vec<String>,
    /// The protocol.
    pub protocol: Protocol,
    /// Ask to learn only how many match (DH only).
    pub count_only: bool,
    /// Who asks, and why.
    pub context: RequestContext,
}

/// The proposal's framing: agency, purpose, legal basis, handling.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The requesting agency (default: the first of our party's agencies).
    pub agency: Option<AgencyId>,
    /// Why the match is asked for.
    pub purpose: String,
    /// Under which law or agreement.
    pub legal_basis: String,
    /// The officer asking.
    pub officer: Option<OfficerId>,
    /// How long the partner has to decide, in seconds.
    pub deadline_seconds: i64,
}

impl Default for RequestContext {
    fn default() -> Self {
        Self {
            agency: None,
            purpose: "check identifiers for hits in a case under investigation".into(),
            legal_basis: "bilateral security cooperation".into(),
            officer: None,
            deadline_seconds: 7 * 24 * 3600,
        }
    }
}

/// What the requester's node keeps until its session has run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingMatch {
    pub(crate) proposal: ProposalId,
    pub(crate) peer: PartyCode,
    pub(crate) what: PendingWhat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub(crate) enum PendingWhat {
    Identifiers {
        protocol: String,
        kind: String,
        items: Vec<String>,
    },
    Persons(persons::PendingPersons),
}

/// Reads an identifier file for `kind` (lines may omit the `kind:` tag).
pub fn read_identifier_file(path: &Path, kind: IdentifierKind) -> Result<Vec<String>, MatchError> {
    let file = std::fs::File::open(path).map_err(file_error(path))?;
    let options = ReadOptions {
        default_kind: Some(kind),
        ..ReadOptions::default()
    };
    let set = soberana_psi::read_identifiers(std::io::BufReader::new(file), &options).map_err(
        |source| MatchError::Identifiers {
            path: path.to_owned(),
            source,
        },
    )?;
    Ok(set.iter().map(|i| i.canonical().to_owned()).collect())
}

impl Node {
    /// Where this node keeps the identifiers of `kind` it holds, for
    /// partners' accepted matches to be checked against.
    pub fn holdings_path(&self, kind: IdentifierKind) -> PathBuf {
        self.dir()
            .root()
            .join("data/identifiers")
            .join(format!("{}.txt", kind.name()))
    }

    fn requests_dir(&self) -> PathBuf {
        self.dir().root().join("data/requests")
    }

    fn pending_path(&self, id: ProposalId) -> PathBuf {
        self.requests_dir().join(format!("{id}.json"))
    }

    pub(crate) fn save_pending(&self, pending: &PendingMatch) -> Result<(), MatchError> {
        let dir = self.requests_dir();
        std::fs::create_dir_all(&dir).map_err(file_error(&dir))?;
        let path = self.pending_path(pending.proposal);
        let text = serde_json::to_vec(pending).map_err(|e| MatchError::File {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        // Written whole, then renamed, so the session task never reads half.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(file_error(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(file_error(&path))
    }

    fn load_pending(&self, id: ProposalId) -> Option<PendingMatch> {
        let text = std::fs::read(self.pending_path(id)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn drop_pending(&self, id: ProposalId) {
        let _ = std::fs::remove_file(self.pending_path(id));
    }

    /// The agency a match is asked for on behalf of when none is named.
    pub(crate) fn default_agency(&self) -> Result<AgencyId, MatchError> {
        let party = self.party();
        self.registry()
            .agencies()
            .find(|a| a.id.party() == party)
            .map(|a| a.id.clone())
            .ok_or_else(|| MatchError::NoAgency(party.to_string()))
    }

    pub(crate) fn propose_match(
        &self,
        peer: PartyCode,
        context: &RequestContext,
        body: ProposalBody,
    ) -> Result<Proposal, MatchError> {
        let agency = match &context.agency {
            Some(a) => a.clone(),
            None => self.default_agency()?,
        };
        let draft = ProposalDraft {
            to: peer,
            requesting_agency: agency,
            purpose: context.purpose.clone(),
            legal_basis: context.legal_basis.clone(),
            handling: HandlingCode::H2,
            deadline: Timestamp::now().plus_seconds(context.deadline_seconds),
            related_to: Vec::new(),
            body,
        };
        Ok(self.propose(draft, context.officer.clone())?)
    }

    /// Asks `request.peer` to check identifiers for hits: sends an
    /// `identifier_match` proposal carrying only the list's size, and keeps
    /// the list in this node's directory until the partner decides. Nothing
    /// of the list leaves before the partner accepts.
    pub fn request_identifier_match(
        &self,
        request: IdentifierRequest,
    ) -> Result<Proposal, MatchError> {
        self.request_identifier_match_under(request, None)
    }

    /// [`Node::request_identifier_match`], naming the standing arrangement
    /// the match runs under, if any.
    pub(crate) fn request_identifier_match_under(
        &self,
        request: IdentifierRequest,
        standing: Option<soberana_core::StandingRef>,
    ) -> Result<Proposal, MatchError> {
        if request.count_only && request.protocol == Protocol::Ot {
            return Err(MatchError::CountOnlyNeedsDh);
        }
        if self.peer(request.peer).is_none() {
            return Err(NodeError::UnknownPeer(request.peer.to_string()).into());
        }
        if request.items.len() > soberana_psi::MAX_SET_SIZE {
            return Err(soberana_psi::PsiError::SetTooLarge(request.items.len()).into());
        }
        let body = ProposalBody::IdentifierMatch(IdentifierMatch {
            identifier_kind: request.kind.name().to_owned(),
            set_size: request.items.len() as u64,
            reveal: if request.count_only {
                MatchReveal::CountOnly
            } else {
                MatchReveal::Intersection
            },
            standing,
        });
        let proposal = self.propose_match(request.peer, &request.context, body)?;
        self.save_pending(&PendingMatch {
            proposal: proposal.id,
            peer: request.peer,
            what: PendingWhat::Identifiers {
                protocol: request.protocol.name().to_owned(),
                kind: request.kind.name().to_owned(),
                items: request.items,
            },
        })?;
        self.wake_sessions();
        Ok(proposal)
    }

    /// How many protocol messages this node has sent and received under a
    /// proposal so far (for progress).
    pub fn session_progress(&self, id: ProposalId) -> Result<SessionProgress, MatchError> {
        let sent = self
            .store()
            .sent_envelopes(id)?
            .iter()
            .filter(|(_, kind)| kind == "session")
            .count();
        Ok(SessionProgress { sent_parts: sent })
    }

    pub(crate) fn wake_sessions(&self) {
        self.wake_outbox();
    }
}

/// How far a session has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SessionProgress {
    /// Protocol message parts sent by this node.
    pub sent_parts: usize,
}

/// What a match's answer says, read back from the proposal's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MatchResult {
    /// Our identifiers (or records) that matched.
    Hits {
        /// Each one, as the answer item's value.
        hits: Vec<String>,
        /// The summary line.
        summary: String,
    },
    /// Only how many matched.
    Count {
        /// How many.
        count: u64,
        /// The summary line.
        summary: String,
    },
    /// The session ended without a result.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Reads the result of a match from one of our proposals, once answered.
pub fn match_result(detail: &ProposalDetail) -> Option<MatchResult> {
    let answer = detail.answer.as_ref()?;
    if let Some(error) = answer.items.iter().find(|i| i.label == ERROR_LABEL) {
        return Some(MatchResult::Failed {
            reason: error.value.clone(),
        });
    }
    if let Some(count) = answer.items.iter().find(|i| i.label == COUNT_LABEL) {
        return Some(MatchResult::Count {
            count: count.value.parse().unwrap_or(0),
            summary: answer.summary.clone(),
        });
    }
    Some(MatchResult::Hits {
        hits: answer
            .items
            .iter()
            .filter(|i| i.label != ERROR_LABEL)
            .map(|i| {
                if i.label == HIT_LABEL {
                    i.value.clone()
                } else {
                    format!("{}: {}", i.label, i.value)
                }
            })
            .collect(),
        summary: answer.summary.clone(),
    })
}

// ───────────────────────── the session task ─────────────────────────

/// A requester's protocol state.
pub(crate) enum RequesterMachine {
    Psi {
        machine: PsiRequester,
        items: Vec<String>,
        count_only: bool,
    },
    Persons(persons::PersonsRequester),
}

/// What a requester does after a message.
pub(crate) enum RequesterNext {
    Send(RequesterMachine, Vec<u8>),
    Done {
        summary: String,
        items: Vec<AnswerItem>,
    },
}

impl RequesterMachine {
    fn handle(self, message: &[u8]) -> Result<RequesterNext, String> {
        match self {
            RequesterMachine::Psi {
                machine,
                items,
                count_only,
            } => match machine.handle(message).map_err(|e| e.to_string())? {
                RequesterStep::Send { next, message } => Ok(RequesterNext::Send(
                    RequesterMachine::Psi {
                        machine: next,
                        items,
                        count_only,
                    },
                    message,
                )),
                RequesterStep::Done(RequesterOutcome::Matches(positions)) => {
                    if count_only {
                        return Err("the partner disclosed matches where a count was asked".into());
                    }
                    let hits: Vec<AnswerItem> = positions
                        .iter()
                        .filter_map(|&i| items.get(i))
                        .map(|value| AnswerItem {
                            label: HIT_LABEL.into(),
                            value: value.clone(),
                        })
                        .collect();
                    Ok(RequesterNext::Done {
                        summary: format!(
                            "{} of our {} identifiers are held by the partner",
                            hits.len(),
                            items.len()
                        ),
                        items: hits,
                    })
                }
                RequesterStep::Done(RequesterOutcome::Count(count)) => Ok(RequesterNext::Done {
                    summary: format!(
                        "{count} of our {} identifiers are held by the partner (count only)",
                        items.len()
                    ),
                    items: vec![AnswerItem {
                        label: COUNT_LABEL.into(),
                        value: count.to_string(),
                    }],
                }),
            },
            RequesterMachine::Persons(machine) => machine.handle(message),
        }
    }
}

/// A responder's protocol state.
pub(crate) enum ResponderMachine {
    Psi(PsiResponder),
    Persons(persons::PersonsResponder),
}

pub(crate) enum ResponderNext {
    Send(ResponderMachine, Vec<u8>),
    Finish {
        message: Vec<u8>,
        asked: u64,
        /// How many matched, where the holder learns it.
        matched: Option<u64>,
    },
}

impl ResponderMachine {
    fn handle(self, message: &[u8]) -> Result<ResponderNext, String> {
        match self {
            ResponderMachine::Psi(machine) => {
                match machine.handle(message).map_err(|e| e.to_string())? {
                    ResponderStep::Send { next, message } => {
                        Ok(ResponderNext::Send(ResponderMachine::Psi(next), message))
                    }
                    ResponderStep::Finish { message, summary } => Ok(ResponderNext::Finish {
                        message,
                        asked: summary.asked as u64,
                        // The PSI holder does not learn the intersection.
                        matched: None,
                    }),
                }
            }
            ResponderMachine::Persons(machine) => machine.handle(message),
        }
    }
}

struct RequesterRun {
    peer: PartyCode,
    machine: RequesterMachine,
    /// The step we wait for from the partner.
    expect: u32,
    started: Instant,
    /// Since when we wait for it.
    waiting: Instant,
    protocol: String,
    our_size: u64,
}

struct ResponderRun {
    peer: PartyCode,
    machine: ResponderMachine,
    expect: u32,
    started: Instant,
    /// Since when we wait for the step we expect.
    waiting: Instant,
    protocol: String,
    our_size: u64,
    /// The most the requester may ask about: what was accepted.
    limit: u64,
    /// The proposal, when it runs under a standing arrangement.
    standing: Option<Proposal>,
}

/// Sessions in progress on this node.
#[derive(Default)]
pub(crate) struct Sessions {
    requests: HashMap<ProposalId, RequesterRun>,
    responses: HashMap<ProposalId, ResponderRun>,
    /// Incoming proposals whose session is over (or was before a restart).
    finished: HashSet<ProposalId>,
}

/// Runs the node's match sessions until `shutdown` turns true: it wakes on
/// every envelope that can move a session (a session message, a partner's
/// decision on one of our match requests) and at least every 250 ms.
pub(crate) async fn session_loop(node: Node, mut shutdown: watch::Receiver<bool>) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let mut events = node.subscribe();
    let mut sessions = Sessions::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worker = node.clone();
        // Protocol steps are CPU work; they run off the async threads.
        let result = tokio::task::spawn_blocking(move || {
            worker.drive_sessions(&mut sessions);
            sessions
        })
        .await;
        sessions = match result {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the session task failed; sessions in progress are lost");
                Sessions::default()
            }
        };
        // The next pass is due in 250 ms however many envelopes that cannot
        // move a session (new proposals, receipts, case acts…) come first.
        let due = tokio::time::Instant::now() + Duration::from_millis(250);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(outcome) if !node.moves_sessions(&outcome) => continue,
                    Err(RecvError::Closed) => {
                        tokio::time::sleep_until(due).await;
                        break;
                    }
                    _ => break,
                },
                _ = tokio::time::sleep_until(due) => break,
                _ = shutdown.changed() => return,
            }
        }
        // One pass answers every envelope taken in meanwhile: under load
        // they arrive faster than a pass, and a pass per envelope would
        // read the store's match proposals over and over for nothing new.
        while !matches!(
            events.try_recv(),
            Err(TryRecvError::Empty | TryRecvError::Closed)
        ) {}
    }
}

impl Node {
    /// Whether an envelope taken in can move a match session: a protocol
    /// message, or a decision on one of our match requests (one whose list
    /// waits in the requests folder; an acceptance starts our side). A
    /// decision on any other proposal of ours cannot, nor can a partner's
    /// new proposal: a session begins with our acceptance, and the
    /// partner's first message follows it. A request whose list is written
    /// after its decision arrived is taken up by the next periodic pass, as
    /// a pass woken by the decision would have skipped it.
    fn moves_sessions(&self, outcome: &crate::IntakeOutcome) -> bool {
        match outcome {
            crate::IntakeOutcome::SessionMessage { .. } => true,
            // One file's metadata in the node's own folder: no store read
            // and no hand-off to a blocking thread for every decision on
            // a proposal that is not a match.
            crate::IntakeOutcome::DecisionRecorded { proposal } => {
                self.pending_path(*proposal).exists()
            }
            _ => false,
        }
    }
}

/// The kinds of proposal that run a match session.
const MATCH_KINDS: [ProposalKind; 2] = [ProposalKind::IdentifierMatch, ProposalKind::PersonMatch];

impl Node {
    /// Match proposals in `direction` and `states`: this runs on every
    /// envelope taken in, so it reads only match proposals, not every
    /// proposal the node holds.
    fn matches(
        &self,
        direction: Direction,
        states: Vec<ProposalState>,
    ) -> Result<Vec<soberana_store::ProposalRecord>, crate::NodeError> {
        Ok(self.store().proposals(&soberana_store::ProposalFilter {
            direction: Some(direction),
            states,
            kinds: MATCH_KINDS.to_vec(),
            ..soberana_store::ProposalFilter::default()
        })?)
    }
}

fn is_match(kind: ProposalKind) -> bool {
    matches!(
        kind,
        ProposalKind::IdentifierMatch | ProposalKind::PersonMatch
    )
}

/// The session parts a message is sent in.
fn split(id: ProposalId, step: u32, message: &[u8], part_bytes: usize) -> Vec<Body> {
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![&[][..]]
    } else {
        message.chunks(part_bytes.max(1)).collect()
    };
    let parts = chunks.len() as u32;
    chunks
        .into_iter()
        .enumerate()
        .map(|(part, chunk)| {
            Body::Session(SessionMessage {
                proposal_id: id,
                step,
                part: part as u32,
                parts,
                payload: B64.encode(chunk),
            })
        })
        .collect()
}

/// Puts a step back together from its parts: `Ok(None)` while parts are
/// missing, an error when the parts disagree or do not decode.
pub(crate) fn assemble(parts: &[SessionMessage]) -> Result<Option<Vec<u8>>, String> {
    let Some(first) = parts.first() else {
        return Ok(None);
    };
    let total = first.parts;
    if total == 0 || total > MAX_PARTS {
        return Err(format!(
            "step {} claims {total} parts; 1 to {MAX_PARTS} are allowed",
            first.step
        ));
    }
    if let Some(odd) = parts.iter().find(|p| p.parts != total || p.part >= total) {
        return Err(format!(
            "part {} of step {} says {} parts where part {} said {total}",
            odd.part, odd.step, odd.parts, first.part
        ));
    }
    if (parts.len() as u32) < total {
        return Ok(None);
    }
    let mut message = Vec::new();
    for (expected, part) in parts.iter().enumerate() {
        if part.part != expected as u32 {
            return Err(format!("step {} is missing part {expected}", part.step));
        }
        let bytes = B64.decode(part.payload.as_bytes()).map_err(|e| {
            format!(
                "part {} of step {} is not base64: {e}",
                part.part, part.step
            )
        })?;
        message.extend_from_slice(&bytes);
    }
    Ok(Some(message))
}

/// The responder's protocol name until the first message says which.
const PSI_UNKNOWN: &str = "psi";

/// The log name of the PSI protocol a first message belongs to.
fn psi_name(first: u8) -> String {
    match first {
        0x11 => "dh-psi".into(),
        0x21 => "ot-psi".into(),
        _ => PSI_UNKNOWN.into(),
    }
}

fn now_ms() -> u64 {
    Timestamp::now().unix_millis().max(0) as u64
}

impl Node {
    /// Raw bytes of one message part: under the envelope limit once in
    /// base64 and JSON, with room for the header and signature.
    fn part_bytes(&self) -> usize {
        let limit = self
            .config()
            .max_envelope_bytes
            .min(soberana_wire::MAX_ENVELOPE_BYTES);
        (limit.saturating_sub(16 * 1024) / 4 * 3).max(1024)
    }

    fn send_step(
        &self,
        peer: PartyCode,
        id: ProposalId,
        step: u32,
        message: &[u8],
    ) -> Result<(), StoreError> {
        let bodies = split(id, step, message, self.part_bytes());
        self.store().queue_messages(peer, bodies, self.sealer())?;
        self.wake_outbox();
        Ok(())
    }

    fn send_abort(&self, peer: PartyCode, id: ProposalId, reason: &str) {
        let reason: String = reason.chars().take(1000).collect();
        if let Err(e) = self.send_step(peer, id, ABORT_STEP, reason.as_bytes()) {
            tracing::error!(proposal = %id, error = %e, "could not send a session abort");
        }
    }

    /// How long a session waits for the partner's next step before it ends
    /// (a partner that stops mid-session, or whose step was refused, would
    /// otherwise hold the session's state for ever).
    fn session_idle(&self) -> Duration {
        Duration::from_millis(self.config().limits.session_idle_timeout_ms)
    }

    /// Whether every part of a step from `peer` has arrived. Asked on
    /// every pass, so it reads the step's tally, never the parts: these are
    /// read once, when the step is whole.
    fn step_arrived(&self, id: ProposalId, peer: PartyCode, step: u32) -> Result<bool, StoreError> {
        Ok(matches!(
            self.store().session_step(id, peer, step)?,
            Some((parts, stored)) if stored >= parts
        ))
    }

    /// The partner's abort under a proposal, if it sent one.
    fn partner_abort(&self, id: ProposalId, peer: PartyCode) -> Option<String> {
        if !self.step_arrived(id, peer, ABORT_STEP).ok()? {
            return None;
        }
        let parts = self.store().session_messages(id, peer, ABORT_STEP).ok()?;
        match assemble(&parts) {
            Ok(Some(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(None) => None,
            Err(e) => Some(e),
        }
    }

    fn sent_session_before(&self, id: ProposalId) -> bool {
        self.store()
            .sent_envelopes(id)
            .map(|sent| sent.iter().any(|(_, kind)| kind == "session"))
            .unwrap_or(false)
    }

    /// One pass over every match in progress.
    pub(crate) fn drive_sessions(&self, sessions: &mut Sessions) {
        if let Err(e) = self.drive_requests(sessions) {
            tracing::warn!(error = %e, "match sessions (ours) could not be driven");
        }
        if let Err(e) = self.drive_responses(sessions) {
            tracing::warn!(error = %e, "match sessions (partners') could not be driven");
        }
    }

    fn drive_requests(&self, sessions: &mut Sessions) -> Result<(), MatchError> {
        let accepted = self.matches(Direction::Outgoing, vec![ProposalState::Accepted])?;
        let live: HashSet<ProposalId> = accepted.iter().map(|r| r.id()).collect();
        // A proposal answered or gone elsewhere is no longer ours to drive.
        sessions.requests.retain(|id, _| live.contains(id));
        for record in accepted.iter().filter(|r| is_match(r.kind())) {
            let id = record.id();
            let run = match sessions.requests.remove(&id) {
                Some(run) => run,
                None => {
                    let Some(pending) = self.load_pending(id) else {
                        continue;
                    };
                    if self.sent_session_before(id) {
                        self.fail_request(
                            id,
                            record.peer,
                            "the session was interrupted (the node restarted while it ran); ask again",
                            Some(record.peer),
                        );
                        continue;
                    }
                    match self.start_request(&record.proposal, pending) {
                        Ok(run) => run,
                        Err(reason) => {
                            self.fail_request(id, record.peer, &reason, None);
                            continue;
                        }
                    }
                }
            };
            if let Some(reason) = self.partner_abort(id, run.peer) {
                self.fail_request(
                    id,
                    run.peer,
                    &format!("the partner ended the session: {reason}"),
                    None,
                );
                continue;
            }
            if !self.step_arrived(id, run.peer, run.expect)? {
                if run.waiting.elapsed() > self.session_idle() {
                    let reason = format!(
                        "the partner sent no complete step {} within {} s",
                        run.expect,
                        self.session_idle().as_secs()
                    );
                    self.fail_request(id, run.peer, &reason, Some(run.peer));
                    continue;
                }
                sessions.requests.insert(id, run);
                continue;
            }
            let parts = self.store().session_messages(id, run.peer, run.expect)?;
            let message = match assemble(&parts) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    sessions.requests.insert(id, run);
                    continue;
                }
                Err(reason) => {
                    self.fail_request(id, run.peer, &reason, Some(run.peer));
                    continue;
                }
            };
            let RequesterRun {
                peer,
                machine,
                expect,
                started,
                protocol,
                our_size,
                ..
            } = run;
            match machine.handle(&message) {
                Ok(RequesterNext::Send(next, reply)) => {
                    self.send_step(peer, id, expect + 1, &reply)?;
                    tracing::info!(proposal = %id, step = expect + 1, bytes = reply.len(), "match step sent");
                    sessions.requests.insert(
                        id,
                        RequesterRun {
                            peer,
                            machine: next,
                            expect: expect + 2,
                            started,
                            waiting: Instant::now(),
                            protocol,
                            our_size,
                        },
                    );
                }
                Ok(RequesterNext::Done { summary, items }) => {
                    self.record_match_result(id, peer, &protocol, our_size, summary, items)?;
                    tracing::info!(proposal = %id, ms = started.elapsed().as_millis() as u64, "match complete");
                }
                Err(reason) => {
                    self.fail_request(
                        id,
                        peer,
                        &format!("the partner's message (step {expect}) is malformed: {reason}"),
                        Some(peer),
                    );
                }
            }
        }
        Ok(())
    }

    fn start_request(
        &self,
        proposal: &Proposal,
        pending: PendingMatch,
    ) -> Result<RequesterRun, String> {
        let id = proposal.id;
        let peer = pending.peer;
        if peer != proposal.to {
            return Err("the kept list names another partner than the proposal".into());
        }
        let (machine, first, protocol, our_size) = match pending.what {
            PendingWhat::Identifiers {
                protocol, items, ..
            } => {
                let parsed: Protocol = protocol
                    .parse()
                    .map_err(|e: soberana_psi::UnknownName| e.to_string())?;
                let count_only = matches!(
                    &proposal.body,
                    ProposalBody::IdentifierMatch(m) if m.reveal == MatchReveal::CountOnly
                );
                let (machine, first) =
                    PsiRequester::start(parsed, &items).map_err(|e| e.to_string())?;
                let size = items.len() as u64;
                (
                    RequesterMachine::Psi {
                        machine,
                        items,
                        count_only,
                    },
                    first,
                    format!("{}-psi", parsed.name()),
                    size,
                )
            }
            PendingWhat::Persons(pending) => {
                let (machine, first, size) = persons::PersonsRequester::start(self, pending)?;
                (
                    RequesterMachine::Persons(machine),
                    first,
                    persons::PROTOCOL.to_owned(),
                    size,
                )
            }
        };
        self.send_step(peer, id, 0, &first)
            .map_err(|e| e.to_string())?;
        tracing::info!(proposal = %id, bytes = first.len(), "match session started");
        Ok(RequesterRun {
            peer,
            machine,
            expect: 1,
            started: Instant::now(),
            waiting: Instant::now(),
            protocol,
            our_size,
        })
    }

    fn record_match_result(
        &self,
        id: ProposalId,
        peer: PartyCode,
        protocol: &str,
        our_size: u64,
        summary: String,
        items: Vec<AnswerItem>,
    ) -> Result<(), MatchError> {
        let detail = self.show(id)?;
        // How many matched, for a run that completed (not for a failure).
        let matched = if items.iter().any(|i| i.label == ERROR_LABEL) {
            None
        } else {
            Some(
                items
                    .iter()
                    .find(|i| i.label == COUNT_LABEL)
                    .map_or(items.len() as u64, |c| c.value.parse().unwrap_or(0)),
            )
        };
        let standing = matched.and_then(|m| {
            self.standing_entry(&detail.record.proposal, peer, "asker", our_size, Some(m))
        });
        let conditions = match detail.decision.map(|d| d.outcome) {
            Some(Outcome::AcceptedWithConditions { conditions }) => conditions,
            _ => Vec::new(),
        };
        let answer = Answer {
            proposal_id: id,
            summary,
            items,
            handling: detail.record.proposal.handling,
            conditions,
        };
        let mut log = vec![LogEntry::MatchSession {
            session_id: id.to_string(),
            protocol: protocol.to_owned(),
            peer: peer.to_string(),
            our_size,
            // The requester does not learn the partner's set size.
            their_size: 0,
            time_ms: now_ms(),
        }];
        log.extend(standing);
        self.store().record_result(answer, log)?;
        self.drop_pending(id);
        Ok(())
    }

    /// Ends one of our sessions without a result, recording why; tells the
    /// partner when `notify` names it.
    fn fail_request(
        &self,
        id: ProposalId,
        peer: PartyCode,
        reason: &str,
        notify: Option<PartyCode>,
    ) {
        tracing::warn!(proposal = %id, %reason, "match session ended without a result");
        if let Some(partner) = notify {
            self.send_abort(partner, id, reason);
        }
        let protocol = match self.load_pending(id).map(|p| p.what) {
            Some(PendingWhat::Persons(_)) => persons::PROTOCOL.to_owned(),
            Some(PendingWhat::Identifiers { protocol, .. }) => format!("{protocol}-psi"),
            None => "unknown".to_owned(),
        };
        let result = self.record_match_result(
            id,
            peer,
            &protocol,
            0,
            format!("the match did not complete: {reason}"),
            vec![AnswerItem {
                label: ERROR_LABEL.into(),
                value: reason.to_owned(),
            }],
        );
        if let Err(e) = result {
            tracing::error!(proposal = %id, error = %e, "could not record a failed match");
        }
    }

    fn drive_responses(&self, sessions: &mut Sessions) -> Result<(), MatchError> {
        let accepted = self.matches(
            Direction::Incoming,
            vec![ProposalState::Accepted, ProposalState::Answered],
        )?;
        for record in accepted.iter().filter(|r| is_match(r.kind())) {
            let id = record.id();
            let peer = record.peer;
            if sessions.finished.contains(&id) {
                continue;
            }
            if !sessions.responses.contains_key(&id) {
                if self.sent_session_before(id) {
                    // Over, or cut short by a restart: never answered twice.
                    sessions.finished.insert(id);
                    continue;
                }
                if self.partner_abort(id, peer).is_some() {
                    sessions.finished.insert(id);
                    continue;
                }
                if self.store().session_step(id, peer, 0)?.is_none() {
                    continue;
                }
                match self.start_response(&record.proposal) {
                    Ok(run) => {
                        sessions.responses.insert(id, run);
                    }
                    Err(reason) => {
                        tracing::warn!(proposal = %id, %reason, "cannot answer a match");
                        self.send_abort(peer, id, &reason);
                        sessions.finished.insert(id);
                        continue;
                    }
                }
            }
            let Some(run) = sessions.responses.remove(&id) else {
                continue;
            };
            if let Some(reason) = self.partner_abort(id, peer) {
                tracing::warn!(proposal = %id, %reason, "the partner ended the match session");
                sessions.finished.insert(id);
                continue;
            }
            if !self.step_arrived(id, peer, run.expect)? {
                if run.waiting.elapsed() > self.session_idle() {
                    let reason = format!(
                        "the requester sent no complete step {} within {} s",
                        run.expect,
                        self.session_idle().as_secs()
                    );
                    tracing::warn!(proposal = %id, %reason, "match ended");
                    self.send_abort(peer, id, &reason);
                    sessions.finished.insert(id);
                    continue;
                }
                sessions.responses.insert(id, run);
                continue;
            }
            let parts = self.store().session_messages(id, peer, run.expect)?;
            let message = match assemble(&parts) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    sessions.responses.insert(id, run);
                    continue;
                }
                Err(reason) => {
                    self.send_abort(peer, id, &reason);
                    sessions.finished.insert(id);
                    continue;
                }
            };
            let ResponderRun {
                peer,
                machine,
                expect,
                started,
                protocol,
                our_size,
                limit,
                standing,
                ..
            } = run;
            // The responder learns the protocol from the first message.
            let protocol = match (expect, message.first()) {
                (0, Some(&first)) if protocol == PSI_UNKNOWN => psi_name(first),
                _ => protocol,
            };
            match machine.handle(&message) {
                Ok(ResponderNext::Send(next, reply)) => {
                    self.disclose(id, peer, expect + 1, &reply, Vec::new())?;
                    sessions.responses.insert(
                        id,
                        ResponderRun {
                            peer,
                            machine: next,
                            expect: expect + 2,
                            started,
                            waiting: Instant::now(),
                            protocol,
                            our_size,
                            limit,
                            standing,
                        },
                    );
                }
                Ok(ResponderNext::Finish {
                    message,
                    asked,
                    matched,
                }) => {
                    sessions.finished.insert(id);
                    if asked > limit {
                        let reason = format!(
                            "the request holds {asked} items where {limit} were accepted; nothing was answered"
                        );
                        tracing::warn!(proposal = %id, %reason, "match refused");
                        self.send_abort(peer, id, &reason);
                        continue;
                    }
                    let mut log = vec![LogEntry::MatchSession {
                        session_id: id.to_string(),
                        protocol: protocol.clone(),
                        peer: peer.to_string(),
                        our_size,
                        their_size: asked,
                        time_ms: now_ms(),
                    }];
                    log.extend(
                        standing
                            .as_ref()
                            .and_then(|p| self.standing_entry(p, peer, "holder", asked, matched)),
                    );
                    self.disclose(id, peer, expect + 1, &message, log)?;
                    tracing::info!(proposal = %id, ms = started.elapsed().as_millis() as u64, asked, "match answered");
                }
                Err(reason) => {
                    let reason =
                        format!("the requester's message (step {expect}) is malformed: {reason}");
                    tracing::warn!(proposal = %id, %reason, "match ended");
                    self.send_abort(peer, id, &reason);
                    sessions.finished.insert(id);
                }
            }
        }
        Ok(())
    }

    /// Records what leaves us (digest and size, in the log), then queues it.
    fn disclose(
        &self,
        id: ProposalId,
        peer: PartyCode,
        step: u32,
        message: &[u8],
        mut log: Vec<LogEntry>,
    ) -> Result<(), MatchError> {
        let digest: [u8; 32] = Sha256::digest(message).into();
        log.insert(
            0,
            LogEntry::Disclosure {
                proposal_id: id.to_string(),
                digest,
                byte_count: message.len() as u64,
                time_ms: now_ms(),
            },
        );
        self.store()
            .record_disclosure(id, digest, message.len() as u64, log)?;
        self.send_step(peer, id, step, message)?;
        Ok(())
    }

    fn start_response(&self, proposal: &Proposal) -> Result<ResponderRun, String> {
        // A standing run stops when its arrangement or the agreement does,
        // even after it was taken in.
        self.standing_still_in_force(proposal)?;
        let standing = standing::standing_ref(proposal).map(|_| proposal.clone());
        match &proposal.body {
            ProposalBody::IdentifierMatch(m) => {
                let kind = IdentifierKind::from_name(&m.identifier_kind)
                    .map_err(|e| format!("{e}; this node cannot answer it"))?;
                let path = self.holdings_path(kind);
                let items = if path.exists() {
                    // The partner hears what failed; the path and the bad
                    // lines (our holdings) stay in our log.
                    read_identifier_file(&path, kind).map_err(|e| {
                        tracing::warn!(error = %e, "cannot answer a match: identifier holdings");
                        format!(
                            "{} cannot read its {kind} holdings; nothing was compared (its operator has the detail)",
                            self.party()
                        )
                    })?
                } else {
                    // Holding nothing of a kind is an answer too: no hits.
                    Vec::new()
                };
                let disclosure = match m.reveal {
                    MatchReveal::Intersection => Disclosure::Intersection,
                    MatchReveal::CountOnly => Disclosure::CountOnly,
                };
                // The accepted set size bounds the asker's queries from the
                // first message on: a larger request is refused before
                // anything is evaluated.
                let accepted = usize::try_from(m.set_size).unwrap_or(usize::MAX);
                let machine = PsiResponder::accepting(&items, disclosure, accepted)
                    .map_err(|e| e.to_string())?;
                Ok(ResponderRun {
                    peer: proposal.from,
                    machine: ResponderMachine::Psi(machine),
                    expect: 0,
                    started: Instant::now(),
                    waiting: Instant::now(),
                    protocol: PSI_UNKNOWN.into(),
                    our_size: items.len() as u64,
                    limit: m.set_size,
                    standing,
                })
            }
            ProposalBody::PersonMatch(m) => {
                let machine = persons::PersonsResponder::new(self, m)?.for_proposal(proposal.id);
                let our_size = machine.our_size();
                Ok(ResponderRun {
                    peer: proposal.from,
                    machine: ResponderMachine::Persons(machine),
                    expect: 0,
                    started: Instant::now(),
                    waiting: Instant::now(),
                    protocol: persons::PROTOCOL.into(),
                    our_size,
                    limit: m.record_count,
                    standing,
                })
            }
            _ => Err("not a match proposal".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ProposalId {
        ProposalId::generate()
    }

    fn parts_of(bodies: Vec<Body>) -> Vec<SessionMessage> {
        bodies
            .into_iter()
            .filter_map(|b| match b {
                Body::Session(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_message_split_in_parts_is_put_back_together() {
        let message: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for part_bytes in [1024, 3333, 10_000, 20_000] {
            let parts = parts_of(split(id(), 3, &message, part_bytes));
            assert_eq!(parts.len(), message.len().div_ceil(part_bytes));
            assert_eq!(assemble(&parts).unwrap(), Some(message.clone()));
            // One part missing: wait.
            if parts.len() > 1 {
                assert_eq!(assemble(&parts[..parts.len() - 1]).unwrap(), None);
            }
        }
        assert_eq!(
            assemble(&parts_of(split(id(), 0, &[], 10))).unwrap(),
            Some(vec![])
        );
        assert_eq!(assemble(&[]).unwrap(), None);
    }

    #[test]
    fn inconsistent_parts_are_refused() {
        let good = parts_of(split(id(), 1, &[7u8; 3000], 1024));
        let cases: Vec<(&str, Vec<SessionMessage>)> = vec![
            ("zero parts", {
                let mut p = good.clone();
                p[0].parts = 0;
                p
            }),
            ("too many parts", {
                let mut p = good.clone();
                for m in &mut p {
                    m.parts = MAX_PARTS + 1;
                }
                p
            }),
            ("disagreeing counts", {
                let mut p = good.clone();
                p[1].parts = 2;
                p
            }),
            ("part beyond the count", {
                let mut p = good.clone();
                p[2].part = 3;
                p
            }),
            ("a gap", {
                let mut p = good.clone();
                p[1].part = 2;
                p[2].part = 2;
                p
            }),
            ("not base64", {
                let mut p = good.clone();
                p[0].payload = "%%%".into();
                p
            }),
        ];
        for (what, parts) in cases {
            assert!(assemble(&parts).is_err(), "{what} was accepted");
        }
    }
}
