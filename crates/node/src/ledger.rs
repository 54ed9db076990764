//! The node's side of the bilateral ledger: signing checkpoints of its own
//! log, witnessing the partner's, and handing out receipts.
//!
//! The node's Ed25519 key signs its checkpoints (origin `soberana/xx/log`)
//! and its cosignatures of partners' checkpoints (`soberana/xx/witness`,
//! C2SP cosignature/v1). The two are the same key under two names and two
//! signed-message formats, so a partner's card is all another party needs
//! to check either. Witnessing follows C2SP tlog-witness: the partner sends
//! `old N`, a consistency proof, and its new checkpoint; we check it against
//! the last checkpoint of its log that we cosigned, and either cosign or
//! raise an alarm that keeps both signed checkpoints as evidence.

use soberana_core::{PartyCode, Timestamp};
use soberana_ledger::{
    AddCheckpoint, LedgerStorage, Log, LogEntry, NoteSignature, NoteSigner, ProofBundle,
    SignatureType, SignedCheckpoint, StoredCosignature, VerifierKey,
};
use soberana_store::{IntakeEffect, LedgerView, RestartClaim, Witnessing};
use soberana_wire::{Body, CheckpointRequest, CosignatureReply, LogRestart, PartyCard};

use crate::NodeError;
use crate::intake::IntakeRefusal;
use crate::node::{Node, log_origin};

/// The name under which a party's node cosigns partners' checkpoints.
pub fn witness_name(party: PartyCode) -> String {
    format!("soberana/{}/witness", party.as_str().to_ascii_lowercase())
}

fn key(
    name: &str,
    kind: SignatureType,
    card_key: &soberana_wire::PublicKey,
) -> Option<VerifierKey> {
    VerifierKey::new(name, kind, *card_key.verifying_key()).ok()
}

/// The verifier key of a partner's log, from its card.
pub fn card_log_key(card: &PartyCard) -> Option<VerifierKey> {
    key(&card.log_origin, SignatureType::Ed25519, &card.signing_key)
}

/// The verifier key of a partner's witness cosignatures, from its card.
pub fn card_witness_key(card: &PartyCard) -> Option<VerifierKey> {
    key(
        &witness_name(card.party),
        SignatureType::CosignatureV1,
        &card.signing_key,
    )
}

/// The longest reason a log restart may give.
pub const MAX_RESTART_REASON_BYTES: usize = 1000;

fn now_secs() -> u64 {
    (Timestamp::now().unix_millis() / 1000).max(0) as u64
}

fn ledger_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Ledger(e.to_string())
}

impl Node {
    fn note_signer(&self, name: &str, kind: SignatureType) -> Result<NoteSigner, NodeError> {
        NoteSigner::from_seed(name, kind, &self.key().seed()).map_err(ledger_error)
    }

    /// The verifier key of this node's log.
    pub fn log_key(&self) -> Result<VerifierKey, NodeError> {
        Ok(self
            .note_signer(&log_origin(self.party()), SignatureType::Ed25519)?
            .verifier())
    }

    /// The verifier key of this node's witness cosignatures.
    pub fn witness_key(&self) -> Result<VerifierKey, NodeError> {
        Ok(self
            .note_signer(&witness_name(self.party()), SignatureType::CosignatureV1)?
            .verifier())
    }

    /// This node's log, read through its store.
    pub fn log(&self) -> Result<Log<LedgerView<'_>>, NodeError> {
        self.log_over(LedgerView(self.store().as_ref()))
    }

    /// This node's log over `storage` (its store, or its store with writes
    /// held back to be made in one transaction).
    pub(crate) fn log_over<S: LedgerStorage>(&self, storage: S) -> Result<Log<S>, NodeError> {
        let signer = self.note_signer(&log_origin(self.party()), SignatureType::Ed25519)?;
        // Checkpoints signed before a key rotation are still ours.
        let previous = self
            .previous_cards()
            .iter()
            .filter(|c| c.party == self.party())
            .filter_map(card_log_key)
            .collect();
        Log::open_with_previous(storage, signer, previous).map_err(ledger_error)
    }

    /// The witness keys of every pinned partner.
    pub fn partner_witness_keys(&self) -> Vec<VerifierKey> {
        self.peers().iter().filter_map(card_witness_key).collect()
    }

    /// Signs a checkpoint of the log as it stands and sends it to every
    /// partner to cosign. Returns the checkpoint.
    pub fn checkpoint_and_request_cosignatures(&self) -> Result<SignedCheckpoint, NodeError> {
        // A log behind what a partner cosigned would sign a conflicting
        // checkpoint: refused until the operator has dealt with it.
        let findings = self.log_findings();
        if !findings.is_empty() {
            return Err(NodeError::Ledger(format!(
                "refusing to sign a checkpoint that would conflict with one a partner cosigned: {}",
                findings.join("; ")
            )));
        }
        let mut log = self.log()?;
        let signed = log.sign_checkpoint().map_err(ledger_error)?;
        let size = signed.checkpoint().size();
        let cosigned = self.store().cosignatures(None)?;
        for card in self.peers() {
            let witness = witness_name(card.party);
            let old = cosigned
                .iter()
                .filter(|c| c.witness == witness && c.size <= size)
                .map(|c| c.size)
                .max()
                .unwrap_or(0);
            let proof = if old > 0 && old < size {
                log.consistency_proof(old, size).map_err(ledger_error)?
            } else {
                Vec::new()
            };
            let request = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: signed.to_text(),
            };
            self.store().queue_messages(
                card.party,
                vec![Body::Checkpoint(CheckpointRequest {
                    add_checkpoint: request.to_string(),
                    restart: None,
                })],
                self.sealer(),
            )?;
        }
        self.wake_outbox();
        Ok(signed)
    }

    /// What the store needs to witness a partner's checkpoint, or a
    /// refusal. Only what needs no state is checked here (the request's
    /// form and the log's signature), so that a malformed or forged
    /// checkpoint is refused before the store is touched; the checkpoint is
    /// judged against what we cosigned inside the store's transaction.
    pub(crate) fn witness_effect(
        &self,
        card: &PartyCard,
        request: &CheckpointRequest,
    ) -> Result<(IntakeEffect, u64), IntakeRefusal> {
        let refuse = |status: u16, code: &'static str, reason: String| IntakeRefusal {
            status,
            code,
            reason,
        };
        let parsed = AddCheckpoint::parse(&request.add_checkpoint)
            .map_err(|e| refuse(400, "malformed_checkpoint", e.to_string()))?;
        // The pinned card's log key, or a previous one still in its
        // overlap (the partner may not have switched to its rotated key).
        let keys: Vec<_> = self
            .accepted_cards(card.party)
            .iter()
            .filter_map(card_log_key)
            .collect();
        let log_key = keys
            .iter()
            .find(|key| SignedCheckpoint::verify(&parsed.checkpoint, key).is_ok())
            .or(keys.first())
            .cloned()
            .ok_or_else(|| {
                refuse(
                    400,
                    "witness",
                    format!("`{}`'s card has no usable log key", card.party),
                )
            })?;
        let signed = SignedCheckpoint::verify(&parsed.checkpoint, &log_key).map_err(|e| {
            refuse(
                403,
                "checkpoint_signature",
                format!(
                    "the checkpoint is not signed by the log key pinned for `{}`: {e}",
                    card.party
                ),
            )
        })?;
        let cosigner = self
            .note_signer(&witness_name(self.party()), SignatureType::CosignatureV1)
            .map_err(|e| refuse(503, "unavailable", e.to_string()))?;
        // What we cosigned before may be signed by any key the partner's
        // log ever had (that is our own record, not the partner's word).
        let previous_log_keys: Vec<VerifierKey> = keys
            .iter()
            .cloned()
            .chain(
                self.previous_cards()
                    .iter()
                    .filter(|c| c.party == card.party)
                    .filter_map(card_log_key),
            )
            .filter(|k| *k != log_key)
            .collect();
        let restart = match &request.restart {
            None => None,
            Some(declared) => {
                Some(self.restart_claim(card, declared, &keys, &previous_log_keys)?)
            }
        };
        let effect = IntakeEffect::Checkpoint(Box::new(Witnessing {
            request: request.add_checkpoint.clone(),
            log_key,
            previous_log_keys,
            cosigner,
            now_secs: now_secs(),
            restart,
        }));
        Ok((effect, signed.checkpoint().size()))
    }

    /// Checks what needs no state in a partner's declared log restart: the
    /// abandoned checkpoint is signed by the partner's log (a key of its
    /// card, or one it rotated out) and carries our own cosignature; the
    /// reason is short. Whether it is the last checkpoint we cosigned is
    /// judged in the store's transaction.
    fn restart_claim(
        &self,
        card: &PartyCard,
        declared: &LogRestart,
        keys: &[VerifierKey],
        previous: &[VerifierKey],
    ) -> Result<RestartClaim, IntakeRefusal> {
        let refuse = |reason: String| IntakeRefusal {
            status: 400,
            code: "log_restart",
            reason: format!("the log restart is refused: {reason}"),
        };
        if declared.reason.trim().is_empty() || declared.reason.len() > MAX_RESTART_REASON_BYTES {
            return Err(refuse(format!(
                "its reason must be given, in at most {MAX_RESTART_REASON_BYTES} bytes"
            )));
        }
        let abandoned = keys
            .iter()
            .chain(previous)
            .find_map(|key| SignedCheckpoint::verify(&declared.abandoned, key).ok())
            .ok_or_else(|| {
                refuse(format!(
                    "the abandoned checkpoint it names is not signed by a log key pinned for `{}`",
                    card.party
                ))
            })?;
        // Our witness key of the time: the one in use or one rotated out.
        let mut ours = vec![self.witness_key().map_err(|e| IntakeRefusal {
            status: 503,
            code: "unavailable",
            reason: e.to_string(),
        })?];
        ours.extend(
            self.previous_cards()
                .iter()
                .filter(|c| c.party == self.party())
                .filter_map(card_witness_key),
        );
        if !ours
            .iter()
            .any(|key| abandoned.check_cosignature(key).is_ok())
        {
            return Err(refuse(
                "the abandoned checkpoint it names does not carry this node's cosignature: this node never cosigned it"
                    .into(),
            ));
        }
        Ok(RestartClaim {
            abandoned_size: abandoned.checkpoint().size(),
            abandoned_root: *abandoned.checkpoint().root(),
            restored_size: declared.restored_size,
            reason: declared.reason.clone(),
        })
    }

    /// Checks a partner's cosignature on one of our checkpoints.
    pub(crate) fn cosignature_effect(
        &self,
        card: &PartyCard,
        reply: &CosignatureReply,
    ) -> Result<IntakeEffect, IntakeRefusal> {
        let bad = |reason: String| IntakeRefusal {
            status: 400,
            code: "cosignature",
            reason,
        };
        let witnesses: Vec<_> = self
            .accepted_cards(card.party)
            .iter()
            .filter_map(card_witness_key)
            .collect();
        if witnesses.is_empty() {
            return Err(bad(format!(
                "`{}`'s card has no usable witness key",
                card.party
            )));
        }
        let our = self
            .store()
            .checkpoints()
            .map_err(|e| bad(e.to_string()))?
            .into_iter()
            .find(|c| c.size == reply.size)
            .ok_or_else(|| {
                bad(format!(
                    "this node issued no checkpoint of size {}",
                    reply.size
                ))
            })?;
        // Our checkpoint was signed by our key of its time: the one in use
        // or one rotated out.
        let mut own_keys = vec![self.log_key().map_err(|e| bad(e.to_string()))?];
        own_keys.extend(
            self.previous_cards()
                .iter()
                .filter(|c| c.party == self.party())
                .filter_map(card_log_key),
        );
        let mut signed = own_keys
            .iter()
            .find_map(|key| SignedCheckpoint::verify(&our.note, key).ok())
            .ok_or_else(|| bad("our checkpoint does not verify against any of our keys".into()))?;
        let line =
            NoteSignature::parse_line(reply.line.trim_end()).map_err(|e| bad(e.to_string()))?;
        let mut matched = None;
        let mut last_error = String::new();
        for witness in &witnesses {
            match signed.attach_cosignature(&line, witness) {
                Ok(_) => {
                    matched = Some(witness.clone());
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let witness =
            matched.ok_or_else(|| bad(format!("the cosignature does not verify: {last_error}")))?;
        Ok(IntakeEffect::CosignatureReceived {
            cosignature: StoredCosignature {
                size: reply.size,
                witness: witness.name().to_owned(),
                line: reply.line.clone(),
            },
            log: LogEntry::CosignatureReceived {
                witness: witness.name().to_owned(),
                size: reply.size,
                root: *signed.checkpoint().root().as_bytes(),
                time_ms: Timestamp::now().unix_millis().max(0) as u64,
            },
        })
    }

    /// A receipt that the envelope `envelope_id`, received from `requester`,
    /// is in this node's log: against the latest checkpoint that the
    /// requester has cosigned.
    pub fn receipt_for(
        &self,
        envelope_id: &str,
        requester: PartyCode,
    ) -> Result<ProofBundle, NodeError> {
        let index = self
            .store()
            .received_log_index(envelope_id)?
            .ok_or_else(|| {
                NodeError::Ledger(format!("no envelope `{envelope_id}` was received"))
            })?;
        let card = self
            .peer(requester)
            .ok_or_else(|| NodeError::UnknownPeer(requester.to_string()))?;
        let witness = card_witness_key(&card)
            .ok_or_else(|| NodeError::Ledger("the partner's card has no witness key".into()))?;
        self.log()?.bundle(index, &[witness]).map_err(ledger_error)
    }

    /// The stored checkpoints of our log with their cosignatures attached.
    pub fn cosigned_checkpoints(&self) -> Result<Vec<SignedCheckpoint>, NodeError> {
        let log = self.log()?;
        let view = LedgerView(self.store().as_ref());
        view.checkpoints()
            .map_err(ledger_error)?
            .iter()
            .map(|c| log.signed_checkpoint(c.size).map_err(ledger_error))
            .collect()
    }
}

/// Signs a checkpoint and asks partners to cosign it every
/// `checkpoint_interval_secs` (default five minutes), whenever the log has
/// grown since the last checkpoint, so that every exchange is soon covered by
/// a signature of both parties without anyone having to ask. The witnessing
/// itself adds a few entries, so two running nodes keep checkpointing at this
/// pace even when idle: a handful of entries per interval, on purpose simple.
pub async fn checkpoint_loop(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let interval = node.config().checkpoint_interval_secs;
    if interval == 0 {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(interval)) => {}
            _ = shutdown.changed() => return,
        }
        let worker = node.clone();
        let result = tokio::task::spawn_blocking(move || {
            let size = worker.store().log_size()?;
            let covered = worker.store().checkpoints()?.last().map_or(0, |c| c.size);
            if size > covered && !worker.peers().is_empty() {
                worker.checkpoint_and_request_cosignatures().map(Some)
            } else {
                Ok(None)
            }
        })
        .await;
        match result {
            Ok(Ok(Some(signed))) => {
                tracing::info!(
                    size = signed.checkpoint().size(),
                    "checkpoint signed and sent for cosigning"
                );
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sign a checkpoint"),
            Err(_) => return,
        }
    }
}
