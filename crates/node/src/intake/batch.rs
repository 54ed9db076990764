//! A partner's batch of envelopes taken in on one thread: each entry
//! checked on its own and in order, those that pass stored together in one
//! change of the store.

use soberana_store::{Received, RefusalRecord};

use super::{Checked, IntakeOutcome, IntakeRefusal, Opened, refusal_record};
use crate::node::Node;
use soberana_wire::Body;

impl Opened {
    /// Whether what this envelope does must be stored, and its effects on
    /// the node seen, before the next one of its batch is judged, and
    /// everything before it stored before it is judged: what it changes or
    /// reads is what its neighbours' checks read (the partner's key, the
    /// agreement, a standing run's budget, the witness state, a case, the
    /// proposals a new one relates to). Everything else is judged on what
    /// no other envelope from the partner changes, and is stored with its
    /// neighbours.
    fn stands_alone(&self) -> bool {
        match &self.body {
            Body::Proposal(p) => {
                !p.related_to.is_empty() || crate::sessions::standing::standing_ref(p).is_some()
            }
            Body::Decision(_) | Body::Receipt(_) | Body::Answer(_) | Body::Session(_) => false,
            Body::Checkpoint(_)
            | Body::Cosignature(_)
            | Body::CardUpdate(_)
            | Body::Agreement(_)
            | Body::Case(_) => true,
        }
    }
}

/// A batch being taken in: each entry's result once known, the checked
/// entries waiting to be stored together, and the refusals to record.
struct Batch<'n> {
    results: Vec<Option<Result<IntakeOutcome, IntakeRefusal>>>,
    waiting: Vec<Waiting<'n>>,
    refused: Vec<RefusalRecord>,
}

impl Batch<'_> {
    fn answer(&mut self, index: usize, result: Result<IntakeOutcome, IntakeRefusal>) {
        if let Some(slot) = self.results.get_mut(index) {
            *slot = Some(result);
        }
    }
}

/// One entry of a batch, checked, waiting to be stored with its neighbours.
struct Waiting<'n> {
    index: usize,
    claimed: String,
    checked: Checked<'n>,
}

impl Node {
    /// Takes in the envelopes of one batch received over a connection
    /// whose client certificate has fingerprint `tls_peer`: one result per
    /// entry, in order, each exactly what [`intake`](Self::intake) would
    /// answer had the entries come alone one after the other. Every entry
    /// is checked on its own, in order; those that pass are stored together
    /// in one change of the store, each rolled back alone if the store
    /// refuses it. An entry whose effect its neighbours' checks depend on
    /// (see `Opened::stands_alone`) is stored on its own, after everything
    /// before it and before anything after it is judged. Records each
    /// refusal.
    pub fn intake_batch<B: AsRef<[u8]>>(
        &self,
        entries: &[B],
        tls_peer: Option<[u8; 32]>,
    ) -> Vec<Result<IntakeOutcome, IntakeRefusal>> {
        let mut batch = Batch {
            results: (0..entries.len()).map(|_| None).collect(),
            waiting: Vec::new(),
            refused: Vec::new(),
        };
        for (index, entry) in entries.iter().enumerate() {
            let bytes = entry.as_ref();
            let claimed = std::cell::Cell::new(String::from("?"));
            let result = self
                .open_envelope(bytes, tls_peer, &claimed, false)
                .and_then(|opened| {
                    if !opened.stands_alone() {
                        return self.judge(bytes, opened).map(Some);
                    }
                    self.store_waiting(entries, &mut batch);
                    let checked = self.judge(bytes, opened)?;
                    self.store_one(checked).map(|outcome| {
                        batch.answer(index, Ok(outcome));
                        None
                    })
                });
            match result {
                Ok(Some(checked)) => batch.waiting.push(Waiting {
                    index,
                    claimed: claimed.take(),
                    checked,
                }),
                Ok(None) => {}
                Err(refusal) => {
                    batch
                        .refused
                        .push(refusal_record(bytes, claimed.take(), &refusal));
                    batch.answer(index, Err(refusal));
                }
            }
        }
        self.store_waiting(entries, &mut batch);
        if let Err(e) = self.store().record_refusals(batch.refused) {
            tracing::error!(error = %e, "could not record a batch's refusals");
        }
        batch
            .results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| {
                    Err(IntakeRefusal::new(
                        503,
                        "unavailable",
                        "the node could not store the envelope; send it again later",
                    ))
                })
            })
            .collect()
    }

    /// Stores the checked entries of a batch waiting so far in one change
    /// and sees to each one's effects, in order.
    fn store_waiting<'n, B: AsRef<[u8]>>(&'n self, entries: &[B], batch: &mut Batch<'n>) {
        if batch.waiting.is_empty() {
            return;
        }
        let (received, rest): (Vec<Received>, Vec<_>) = batch
            .waiting
            .drain(..)
            .map(|w| (w.checked.received, (w.index, w.claimed, w.checked.outcome)))
            .unzip();
        let stored = self.store().receive_each(received, self.sealer());
        for ((index, claimed, outcome), stored) in rest.into_iter().zip(stored) {
            let result = self.after_storing(outcome, stored);
            if let Err(refusal) = &result
                && let Some(entry) = entries.get(index)
            {
                batch
                    .refused
                    .push(refusal_record(entry.as_ref(), claimed, refusal));
            }
            batch.answer(index, result);
        }
    }
}
