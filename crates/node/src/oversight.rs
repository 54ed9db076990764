//! Finding one's way from a proposal or an envelope to its entries in the
//! log, so that oversight can ask for the proof of exactly what concerns it.
//!
//! Entries hold envelope ids and proposal ids, not links back, so finding a
//! proposal's entries reads the log once from the start; the envelopes of a
//! proposal come from the store (`sent_envelopes`, `received_envelopes`).

use std::collections::HashSet;

use soberana_core::ProposalId;
use soberana_ledger::{LogEntry, stream_leaves};
use soberana_store::LedgerView;

use crate::NodeError;
use crate::node::Node;

/// Leaves read from the store per batch while scanning.
const SCAN_BATCH: u64 = 4096;

fn ledger_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Ledger(e.to_string())
}

impl Node {
    /// Every log entry about proposal `id`, in log order: the envelopes sent
    /// and received about it, the decision, every disclosure and the match
    /// session. Reads the whole log once.
    pub fn proposal_log_entries(&self, id: ProposalId) -> Result<Vec<(u64, LogEntry)>, NodeError> {
        let proposal = id.to_string();
        let mut envelopes: HashSet<String> = self
            .store()
            .sent_envelopes(id)?
            .into_iter()
            .map(|(envelope, _)| envelope)
            .collect();
        envelopes.extend(
            self.store()
                .received_envelopes(id)?
                .into_iter()
                .map(|(envelope, _)| envelope),
        );
        self.scan_log(|entry| match entry {
            LogEntry::EnvelopeSent(r) | LogEntry::EnvelopeReceived(r) => {
                envelopes.contains(&r.envelope_id)
            }
            LogEntry::Decision { proposal_id, .. } | LogEntry::Disclosure { proposal_id, .. } => {
                *proposal_id == proposal
            }
            LogEntry::MatchSession { session_id, .. } => *session_id == proposal,
            LogEntry::DeadlineBreach { proposal_id, .. } => *proposal_id == proposal,
            LogEntry::StandingRun { run_id, .. } => *run_id == proposal,
            _ => false,
        })
    }

    /// The index of the entry recording envelope `envelope_id`, sent or
    /// received, if the log holds one.
    pub fn envelope_log_index(&self, envelope_id: &str) -> Result<Option<u64>, NodeError> {
        if let Some(index) = self.store().received_log_index(envelope_id)? {
            return Ok(Some(index));
        }
        Ok(self
            .scan_log(
                |entry| matches!(entry, LogEntry::EnvelopeSent(r) if r.envelope_id == envelope_id),
            )?
            .first()
            .map(|(index, _)| *index))
    }

    fn scan_log(
        &self,
        mut wanted: impl FnMut(&LogEntry) -> bool,
    ) -> Result<Vec<(u64, LogEntry)>, NodeError> {
        let view = LedgerView(self.store().as_ref());
        let mut found = Vec::new();
        for leaf in stream_leaves(&view, SCAN_BATCH) {
            let leaf = leaf.map_err(ledger_error)?;
            let entry = LogEntry::decode(&leaf.entry).map_err(ledger_error)?;
            if wanted(&entry) {
                found.push((leaf.index, entry));
            }
        }
        Ok(found)
    }
}
