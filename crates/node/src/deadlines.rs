//! Agreed answer times, and the breaches a node records when they pass.
//!
//! Every proposal kind has an answer time, counted from the proposal's
//! signed creation time, so both parties compute the same due time. The
//! sender's own `deadline` field is a wish and decides nothing here: a
//! partner cannot put us in breach by asking for an answer in a second.
//! The defaults follow Directive (EU) 2023/977 on information exchange
//! between law-enforcement authorities (art. 5: 8 hours for urgent
//! requests, 7 calendar days otherwise); a node sets its own in
//! `[answer_times]` of `node.toml`, in seconds per kind, as agreed with its
//! partners; and where the bilateral agreement in force with a partner sets
//! the hours a side has to answer a kind, that is the answer time in the
//! exchanges with that partner (both nodes hold the same agreement).
//!
//! When an answer time passes with the proposal still awaiting the party
//! that owes the answer (an incoming one received or with an officer; an
//! outgoing one delivered and undecided), the node records the breach once,
//! at that moment: an event in the proposal's history and a
//! `DeadlineBreach` entry in its log, which its partner cosigns with the
//! next checkpoint. Both nodes record it, each in its own log: the one
//! that owed the answer and the one that waited.

use std::time::Duration;

use soberana_core::{Direction, ProposalKind, ProposalState, Timestamp};
use soberana_ledger::LogEntry;
use soberana_store::ProposalFilter;

use crate::{Node, NodeError};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The default answer time of a kind, in seconds.
pub fn default_answer_secs(kind: ProposalKind) -> u64 {
    match kind {
        // Urgent by nature: something is about to happen or is happening.
        ProposalKind::BorderAlert | ProposalKind::AdvanceNotification => 8 * HOUR,
        // An operation is planned against a date: three days to decide.
        ProposalKind::CoordinatedOperation | ProposalKind::AssistanceOffer => 3 * DAY,
        ProposalKind::InformationRequest
        | ProposalKind::IdentifierMatch
        | ProposalKind::PersonMatch
        | ProposalKind::FirearmTrace
        | ProposalKind::FinancialIntelligence
        | ProposalKind::SeizureReport
        | ProposalKind::ExhibitConsent
        | ProposalKind::EvidenceRequest => 7 * DAY,
        // Setting up a joint team takes an agreement on each side.
        ProposalKind::JointInvestigation => 14 * DAY,
    }
}

/// A breach the node recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The proposal.
    pub proposal: soberana_core::ProposalId,
    /// Its kind.
    pub kind: ProposalKind,
    /// The party that owed the answer.
    pub party: soberana_core::PartyCode,
    /// When the answer was due.
    pub due: Timestamp,
}

const INCOMING_OPEN: [ProposalState; 2] = [ProposalState::Received, ProposalState::AwaitingOfficer];
const OUTGOING_OPEN: [ProposalState; 1] = [ProposalState::Delivered];

impl Node {
    /// The agreed answer time of a kind.
    pub fn answer_time(&self, kind: ProposalKind) -> Duration {
        let secs = self
            .config()
            .answer_times
            .get(kind.as_str())
            .copied()
            .unwrap_or_else(|| default_answer_secs(kind));
        Duration::from_secs(secs)
    }

    /// The answer time of `kind` owed by `answering` in our exchanges with
    /// `partner`: the hours the agreement in force sets for that side and
    /// kind, else [`Node::answer_time`].
    pub fn agreed_answer_time(
        &self,
        kind: ProposalKind,
        partner: soberana_core::PartyCode,
        answering: soberana_core::PartyCode,
    ) -> Duration {
        let hours = self
            .store()
            .agreement(partner)
            .ok()
            .flatten()
            .and_then(|a| a.terms)
            .and_then(|t| {
                t.side(answering)
                    .and_then(|s| s.answer_hours.get(&kind).copied())
            });
        match hours {
            Some(h) => Duration::from_secs(u64::from(h) * 3600),
            None => self.answer_time(kind),
        }
    }

    /// When the answer to a proposal of `kind` created at `created` is due.
    pub fn answer_due(&self, kind: ProposalKind, created: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.answer_time(kind).as_secs()).unwrap_or(i64::MAX);
        created.plus_seconds(secs)
    }

    /// Records every breach that has happened by `now` and was not recorded
    /// yet; returns those recorded by this call.
    pub fn record_breaches(&self, now: Timestamp) -> Result<Vec<Breach>, NodeError> {
        let mut recorded = Vec::new();
        for (direction, open) in [
            (Direction::Incoming, INCOMING_OPEN.to_vec()),
            (Direction::Outgoing, OUTGOING_OPEN.to_vec()),
        ] {
            let waiting = self.store().proposals(&ProposalFilter {
                direction: Some(direction),
                states: open.clone(),
                ..ProposalFilter::default()
            })?;
            for record in waiting {
                let kind = record.kind();
                let party = match direction {
                    Direction::Incoming => self.party(),
                    Direction::Outgoing => record.peer,
                };
                let allowed = self.agreed_answer_time(kind, record.peer, party);
                let due = record
                    .proposal
                    .created
                    .plus_seconds(i64::try_from(allowed.as_secs()).unwrap_or(i64::MAX));
                if due > now {
                    continue;
                }
                let event = format!(
                    "deadline breached: {party} owed an answer by {due} ({} agreed for a {})",
                    humanize(allowed),
                    kind.label()
                );
                let entry = LogEntry::DeadlineBreach {
                    proposal_id: record.id().to_string(),
                    party: party.to_string(),
                    due_ms: u64::try_from(due.unix_millis()).unwrap_or_default(),
                    time_ms: u64::try_from(now.unix_millis()).unwrap_or_default(),
                };
                if self
                    .store()
                    .record_breach(record.id(), open.clone(), event, entry)?
                {
                    tracing::warn!(proposal = %record.id(), %party, %due, "answer deadline breached");
                    recorded.push(Breach {
                        proposal: record.id(),
                        kind,
                        party,
                        due,
                    });
                }
            }
        }
        Ok(recorded)
    }
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(DAY) {
        format!("{} day(s)", secs / DAY)
    } else if secs.is_multiple_of(HOUR) {
        format!("{} hour(s)", secs / HOUR)
    } else {
        format!("{secs} s")
    }
}

/// Checks for breaches once a minute while the node runs.
pub(crate) async fn deadline_loop(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let worker = node.clone();
        match tokio::task::spawn_blocking(move || worker.record_breaches(Timestamp::now())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not check answer deadlines"),
            Err(_) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
