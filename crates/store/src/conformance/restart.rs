//! Conformance: a declared restart of the log, written whole or not at all.

use super::*;

/// Our log restart, prepared over a staged log and declared in one
/// transaction: the entries, the checkpoint covering them and the envelope
/// carrying the declaration are written together, or nothing is (a
/// prepared log that moved on, tree nodes that do not fit, a different
/// checkpoint stored at that size).
pub(super) fn check_log_restart(store: &dyn NodeStore, mx: PartyCode) -> Result<(), String> {
    use crate::{LedgerCheckpoint, RestartDeclaration, StagedLedger};
    use soberana_ledger::{Log, NoteSigner, SignatureType};
    let peer = party("GT")?;
    let prepare = |reason: &str| -> Result<RestartDeclaration, String> {
        let signer = NoteSigner::from_seed("soberana/mx/log", SignatureType::Ed25519, &[9; 32])
            .map_err(text)?;
        let mut log = Log::open(StagedLedger::new(store).map_err(text)?, signer).map_err(text)?;
        let relogged = LogEntry::EnvelopeSent(soberana_ledger::EnvelopeRecord {
            envelope_id: ProposalId::generate().to_string(),
            sender: mx.to_string(),
            recipient: peer.to_string(),
            sequence: 1,
            time_ms: 1,
            body_digest: [3; 32],
        });
        log.append(&[relogged]).map_err(text)?;
        let restart = LogEntry::LogRestart {
            origin: "soberana/mx/log".into(),
            abandoned_size: 1,
            abandoned_root: [4; 32],
            restored_size: log.size(),
            kept_size: 0,
            reason: reason.into(),
            time_ms: 1,
        };
        log.append(&[restart]).map_err(text)?;
        let size = log.size();
        let signed = log.sign_checkpoint_at(size).map_err(text)?;
        let staged = log.storage();
        let (entries, nodes) = staged.appended();
        Ok(RestartDeclaration {
            start: staged.start(),
            entries: entries.to_vec(),
            nodes: nodes.to_vec(),
            checkpoint: LedgerCheckpoint {
                size,
                note: signed.to_text(),
                at: Timestamp::now(),
            },
            peer,
            body: soberana_wire::Body::Checkpoint(soberana_wire::CheckpointRequest {
                add_checkpoint: format!("old 0\n\n{size}"),
                restart: Some(soberana_wire::LogRestart {
                    abandoned: "the abandoned note".into(),
                    restored_size: size - 1,
                    reason: reason.into(),
                }),
            }),
        })
    };
    let written = || -> Result<(u64, usize, usize), String> {
        Ok((
            store.log_size().map_err(text)?,
            store.checkpoints().map_err(text)?.len(),
            store.queued_envelope_ids(peer).map_err(text)?.len(),
        ))
    };
    let before = written()?;
    let declaration = prepare("restored from an old backup")?;
    ensure(
        written()? == before,
        "preparing a restart over a staged log writes nothing",
    )?;
    let mut bent = declaration.clone();
    if let Some((_, hash)) = bent.nodes.last_mut() {
        *hash = soberana_ledger::hash_leaf(b"not this node");
    }
    ensure(
        matches!(
            store.declare_log_restart(bent, sealer(mx)),
            Err(StoreError::Conflict(_))
        ) && written()? == before,
        "a restart whose tree nodes do not fit its entries writes nothing",
    )?;
    let mut plain = declaration.clone();
    plain.body = soberana_wire::Body::Checkpoint(soberana_wire::CheckpointRequest {
        add_checkpoint: "old 0\n\nx".into(),
        restart: None,
    });
    ensure(
        matches!(
            store.declare_log_restart(plain, sealer(mx)),
            Err(StoreError::Conflict(_))
        ) && written()? == before,
        "a restart sent without its declaration writes nothing",
    )?;
    let envelope = store
        .declare_log_restart(declaration.clone(), sealer(mx))
        .map_err(text)?;
    let (log, checkpoints, queued) = written()?;
    ensure(
        log == before.0 + 3 && checkpoints == before.1 + 1 && queued == before.2 + 1,
        "a declared restart writes its entries, its checkpoint and its logged envelope",
    )?;
    ensure(
        store.checkpoints().map_err(text)?.iter().any(|c| {
            c.size == declaration.checkpoint.size && c.note == declaration.checkpoint.note
        }),
        "the restart's checkpoint is stored as signed",
    )?;
    ensure(
        store
            .queued_envelope_ids(peer)
            .map_err(text)?
            .contains(&envelope.header().id.to_string()),
        "the declaration is queued to the partner",
    )?;
    let after = written()?;
    ensure(
        matches!(
            store.declare_log_restart(declaration, sealer(mx)),
            Err(StoreError::Conflict(_))
        ) && written()? == after,
        "a restart prepared against a log that moved on writes nothing",
    )?;
    // A different checkpoint stored where the next one would go: refused
    // after the entries were appended in the transaction, so they go too.
    let next = prepare("declared again")?;
    store
        .add_checkpoint(LedgerCheckpoint {
            size: next.checkpoint.size,
            note: "another checkpoint".into(),
            at: Timestamp::now(),
        })
        .map_err(text)?;
    let held = written()?;
    ensure(
        matches!(
            store.declare_log_restart(next, sealer(mx)),
            Err(StoreError::Conflict(_))
        ) && written()? == held,
        "a restart refused at its checkpoint leaves no entry and no envelope",
    )
}
