//! Conformance: delivery results, a partner's batch, and the order of a
//! partner's envelopes.

use super::*;

/// A request's delivery results are recorded in one call, each as its own
/// mark records it and in the order given: a delivery moves its proposal
/// on and ends the backoff of what waits for the partner, a refusal is
/// final and shown, a failure waits for its next attempt.
pub(super) fn check_recorded_deliveries(
    store: &dyn NodeStore,
    mx: PartyCode,
) -> Result<(), String> {
    let peer = party("GT")?;
    let mut queued = Vec::new();
    for _ in 0..4 {
        let p = proposal(mx, peer)?;
        let sent = store.queue_proposal(p.clone(), sealer(mx)).map_err(text)?;
        queued.push((p.id, sent.header().id.to_string()));
    }
    let [
        (taken, taken_env),
        (refused, refused_env),
        (failed, failed_env),
        (waiting, waiting_env),
    ] = <[(ProposalId, String); 4]>::try_from(queued).map_err(|_| "four proposals queued")?;
    let now = Timestamp::now();
    let in_ten_minutes = now.plus_seconds(600);
    store
        .mark_failed(waiting_env.clone(), "partner down".into(), in_ten_minutes)
        .map_err(text)?;
    let reason = "422 Unprocessable Entity bad_body: no such agency".to_owned();
    store
        .record_deliveries(
            vec![
                (taken_env.clone(), DeliveryResult::Delivered),
                (refused_env.clone(), DeliveryResult::Refused(reason.clone())),
                (
                    failed_env.clone(),
                    DeliveryResult::Failed {
                        error: "503 Service Unavailable".into(),
                        next_attempt: in_ten_minutes,
                    },
                ),
            ],
            now,
        )
        .map_err(text)?;
    let due_at = |at: Timestamp| -> Result<Vec<(String, u32)>, String> {
        Ok(store
            .due_deliveries(at, 10_000)
            .map_err(text)?
            .into_iter()
            .filter(|d| d.recipient == peer)
            .map(|d| (d.envelope_id, d.attempts))
            .collect())
    };
    let soon = due_at(now.plus_seconds(1))?;
    ensure(
        state(store, taken)? == Some(ProposalState::Delivered)
            && !soon.iter().any(|(id, _)| *id == taken_env),
        "a delivery recorded with others moves its proposal on and is no longer due",
    )?;
    ensure(
        soon.iter().any(|(id, n)| *id == waiting_env && *n == 1),
        "a delivery recorded with others ends the backoff of what waited for the partner",
    )?;
    ensure(
        !soon.iter().any(|(id, _)| *id == failed_env)
            && due_at(in_ten_minutes.plus_seconds(1))?
                .iter()
                .any(|(id, n)| *id == failed_env && *n == 1),
        "a failure recorded after a delivery in one call waits for its next attempt",
    )?;
    let refusals = |store: &dyn NodeStore| -> Result<Vec<(String, String)>, String> {
        Ok(store
            .refused_deliveries(100)
            .map_err(text)?
            .into_iter()
            .filter(|r| r.envelope_id == refused_env)
            .map(|r| (r.proposal_id, r.reason))
            .collect())
    };
    ensure(
        refusals(store)? == vec![(refused.to_string(), reason.clone())]
            && !soon.iter().any(|(id, _)| *id == refused_env)
            && state(store, refused)? == Some(ProposalState::Queued)
            && store
                .proposal(refused)
                .map_err(text)?
                .is_some_and(|d| d.events.iter().any(|e| e.event.contains(&reason))),
        "a refusal recorded with others is final, shown with the partner's reason and in the proposal's history",
    )?;
    // What was recorded as final stays so, whatever comes after it.
    store
        .record_deliveries(
            vec![
                (refused_env.clone(), DeliveryResult::Delivered),
                (
                    taken_env.clone(),
                    DeliveryResult::Failed {
                        error: "late".into(),
                        next_attempt: now,
                    },
                ),
            ],
            now,
        )
        .map_err(text)?;
    store.record_deliveries(Vec::new(), now).map_err(text)?;
    let later = due_at(in_ten_minutes.plus_seconds(1))?;
    ensure(
        refusals(store)? == vec![(refused.to_string(), reason)]
            && state(store, refused)? == Some(ProposalState::Queued)
            && !later
                .iter()
                .any(|(id, _)| *id == refused_env || *id == taken_env),
        "a refused or delivered envelope is never due again",
    )?;
    ensure(
        state(store, failed)? == Some(ProposalState::Queued)
            && state(store, waiting)? == Some(ProposalState::Queued),
        "a failed delivery leaves its proposal queued",
    )?;
    Ok(())
}

/// Envelopes received together are recorded in order, each on its own: a
/// refused one in the middle (a replay) is rolled back alone and its
/// neighbours are stored, exactly as if each had come alone.
pub(super) fn check_receive_each(
    store: &dyn NodeStore,
    mx: PartyCode,
    us: PartyCode,
) -> Result<(), String> {
    let review = |p: &Proposal| IntakeEffect::Proposal {
        proposal: Box::new(p.clone()),
        response: Box::new(PolicyResponse::Review),
        verdict: "{}".into(),
    };
    // One received alone, to learn what one costs the log; sent again
    // below, it is a replay.
    let seen = proposal(us, mx)?;
    let replay = received(&seen, review(&seen));
    let log = store.log_size().map_err(text)?;
    store.receive(replay.clone(), sealer(mx)).map_err(text)?;
    let one = store.log_size().map_err(text)? - log;

    let (first, last) = (proposal(us, mx)?, proposal(us, mx)?);
    let log = store.log_size().map_err(text)?;
    let results = store.receive_each(
        vec![
            received(&first, review(&first)),
            replay,
            received(&last, review(&last)),
        ],
        sealer(mx),
    );
    ensure(
        matches!(
            results.as_slice(),
            [Ok(_), Err(StoreError::Duplicate(_)), Ok(_)]
        ),
        &format!(
            "entries received together each get their own result, a replay in the middle refused: {results:?}"
        ),
    )?;
    ensure(
        state(store, first.id)? == Some(ProposalState::AwaitingOfficer)
            && state(store, last.id)? == Some(ProposalState::AwaitingOfficer),
        "the neighbours of a refused entry are stored",
    )?;
    ensure(
        store.log_size().map_err(text)? == log + 2 * one,
        "a refused entry among others writes nothing, and each stored one logs as if alone",
    )?;

    // A later entry sees what an earlier one of the same batch stored.
    let twice = proposal(us, mx)?;
    let envelope = received(&twice, review(&twice));
    let results = store.receive_each(vec![envelope.clone(), envelope], sealer(mx));
    ensure(
        matches!(results.as_slice(), [Ok(_), Err(StoreError::Duplicate(_))]),
        &format!("an envelope twice in one batch is taken once: {results:?}"),
    )?;
    ensure(
        store.receive_each(vec![], sealer(mx)).is_empty(),
        "an empty batch has no results",
    )
}

/// The numbering of envelopes to a partner moves on to a given number and
/// never back.
pub(super) fn check_sequence_skip(store: &dyn NodeStore, mx: PartyCode) -> Result<(), String> {
    let peer = party("CA")?;
    let used = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = used.clone();
    let inner = sealer(mx);
    let recording: Sealer = std::sync::Arc::new(move |to, sequence, body| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(sequence);
        }
        inner(to, sequence, body)
    });
    let checkpoint = || {
        vec![soberana_wire::Body::Checkpoint(
            soberana_wire::CheckpointRequest {
                add_checkpoint: "old 0\n\nx".into(),
                restart: None,
            },
        )]
    };
    store
        .queue_messages(peer, checkpoint(), recording.clone())
        .map_err(text)?;
    store.skip_sequence_to(peer, 50).map_err(text)?;
    store
        .queue_messages(peer, checkpoint(), recording.clone())
        .map_err(text)?;
    store.skip_sequence_to(peer, 10).map_err(text)?;
    store
        .queue_messages(peer, checkpoint(), recording)
        .map_err(text)?;
    let used = used.lock().map_err(text)?.clone();
    ensure(
        used == vec![1, 50, 51],
        &format!("the numbering skips to 50 and never back: {used:?}"),
    )?;
    let queued = store.queued_envelope_ids(peer).map_err(text)?;
    ensure(
        queued.len() == 3,
        &format!("every envelope queued to a partner is listed, delivered or not: {queued:?}"),
    )
}
