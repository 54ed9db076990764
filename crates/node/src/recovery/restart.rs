//! Declaring a restart of our log after a restore behind a checkpoint the
//! partner cosigned, and settling it once the partner has cosigned the new
//! branch (see the parent module's documentation).

use super::*;

impl Node {
    /// Declares that our log restarted (see the module documentation): to
    /// be run after [`Node::recover_from_peer`], when the log still
    /// conflicts with the latest checkpoint `peer` cosigned. Re-logs the
    /// envelopes we sent that only `peer` still holds (each checked against
    /// our own keys), appends the declaration, signs the new branch's first
    /// checkpoint (covering it) and queues both to `peer` in one envelope,
    /// all in one store transaction (`NodeStore::declare_log_restart`): a
    /// crash leaves all of it or none, and the same command run again
    /// declares it, or sends the declaration made again. A running node
    /// delivers it, and `peer`'s cosignature of it clears the refusal to
    /// sign checkpoints.
    pub async fn restart_log(
        &self,
        peer: PartyCode,
        reason: &str,
    ) -> Result<RestartProposed, NodeError> {
        let (proposed, prepared) = self.prepare_restart(peer, reason).await?;
        self.send_restart(peer, proposed, prepared)
    }

    /// [`Node::restart_log`] with the store's transaction made to fail
    /// after it appended the entries (one of the prepared tree nodes is
    /// bent, so the store's check of them refuses the whole), for the
    /// crate's tests of what such a failure leaves: nothing.
    #[cfg(feature = "test-support")]
    pub async fn restart_log_failing_in_the_store(
        &self,
        peer: PartyCode,
        reason: &str,
    ) -> Result<RestartProposed, NodeError> {
        let (proposed, mut prepared) = self.prepare_restart(peer, reason).await?;
        if let PreparedRestart::Declare(declaration) = &mut prepared
            && let Some((_, hash)) = declaration.nodes.last_mut()
        {
            *hash = soberana_ledger::hash_leaf(b"a failure injected in the store");
        }
        self.send_restart(peer, proposed, prepared)
    }

    /// Everything [`Node::restart_log`] writes, prepared without writing.
    async fn prepare_restart(
        &self,
        peer: PartyCode,
        reason: &str,
    ) -> Result<(RestartProposed, PreparedRestart), NodeError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_RESTART_REASON_BYTES {
            return Err(NodeError::Ledger(format!(
                "say why the log restarts, in at most {MAX_RESTART_REASON_BYTES} bytes"
            )));
        }
        let card = self
            .peer(peer)
            .ok_or_else(|| NodeError::UnknownPeer(peer.to_string()))?;
        let witnessed = self.fetch_witnessed(peer).await?;
        let Some(note) = &witnessed.note else {
            return Err(NodeError::Ledger(format!(
                "{peer} cosigned no checkpoint of our log: there is nothing to restart from"
            )));
        };
        let Some(finding) = self.compare_with_witnessed(peer, &witnessed)? else {
            return Err(NodeError::Ledger(format!(
                "the log agrees with the latest checkpoint {peer} cosigned: there is nothing to restart"
            )));
        };
        let abandoned = self
            .own_log_keys()?
            .iter()
            .find_map(|key| SignedCheckpoint::verify(note, key).ok())
            .ok_or_else(|| NodeError::Ledger(format!("{peer}'s checkpoint is not ours")))?;
        let witness_keys: Vec<_> = self
            .accepted_cards(peer)
            .iter()
            .filter_map(crate::card_witness_key)
            .collect();
        if !witness_keys
            .iter()
            .any(|key| abandoned.check_cosignature(key).is_ok())
        {
            return Err(NodeError::Ledger(format!(
                "{peer} answered a checkpoint of our log without its valid cosignature"
            )));
        }
        let (abandoned_size, abandoned_root) = (
            abandoned.checkpoint().size(),
            *abandoned.checkpoint().root(),
        );
        tracing::warn!(partner = %peer, abandoned_size, "declaring a log restart: {finding}");
        // Declared before and not yet taken by the partner (the envelope
        // was lost, or the node stopped before it went): sent again as it was.
        let pending = {
            let mut log = self.log()?;
            match self.pending_restart(&log, abandoned_size, &abandoned_root)? {
                Some(size) => Some(restart_request(&mut log, size, note)?),
                None => None,
            }
        };
        if let Some((body, declared)) = pending {
            let proposed = RestartProposed {
                abandoned_size,
                reappended: 0,
                resent: true,
                ..declared
            };
            return Ok((proposed, PreparedRestart::Resend(body)));
        }
        let lost = self.lost_sent(peer).await?;
        // Prepared whole over the log with its writes held back, then
        // written in one transaction.
        let mut log = self.log_over(StagedLedger::new(self.store().as_ref())?)?;
        if !lost.is_empty() {
            log.append(&lost).map_err(ledger_error)?;
        }
        let restored_size = log.size();
        let kept_size = self.kept_cosigned_size(&log, &card, restored_size)?;
        let claim = soberana_store::RestartClaim {
            abandoned_size,
            abandoned_root,
            restored_size,
            reason: reason.to_owned(),
        };
        let entry = claim.log_entry(&log_origin(self.party()), kept_size, Timestamp::now());
        log.append(&[entry]).map_err(ledger_error)?;
        let size = log.size();
        let (body, declared) = restart_request(&mut log, size, note)?;
        let staged = log.storage();
        let checkpoint = staged
            .held_checkpoint(size)
            .ok_or_else(|| NodeError::Ledger("the restart's checkpoint was not signed".into()))?;
        let (entries, nodes) = staged.appended();
        let declaration = RestartDeclaration {
            start: staged.start(),
            entries: entries.to_vec(),
            nodes: nodes.to_vec(),
            checkpoint: soberana_store::LedgerCheckpoint {
                size,
                note: checkpoint.note.clone(),
                at: Timestamp::now(),
            },
            peer,
            body,
        };
        let proposed = RestartProposed {
            abandoned_size,
            reappended: lost.len(),
            resent: false,
            ..declared
        };
        Ok((proposed, PreparedRestart::Declare(declaration)))
    }

    /// Writes a prepared restart (or queues its declaration again) and
    /// wakes the outbox.
    fn send_restart(
        &self,
        peer: PartyCode,
        proposed: RestartProposed,
        prepared: PreparedRestart,
    ) -> Result<RestartProposed, NodeError> {
        match prepared {
            PreparedRestart::Resend(body) => {
                self.store()
                    .queue_messages(peer, vec![body], self.sealer())?;
            }
            PreparedRestart::Declare(declaration) => {
                self.store()
                    .declare_log_restart(declaration, self.sealer())?;
            }
        }
        self.wake_outbox();
        tracing::warn!(
            partner = %peer,
            abandoned_size = proposed.abandoned_size,
            restored_size = proposed.restored_size,
            resent = proposed.resent,
            "log restart declared"
        );
        Ok(proposed)
    }

    /// Every log restart our log records (ours, and partners' we accepted),
    /// with its index.
    pub fn log_restarts(&self) -> Result<Vec<(u64, LogEntry)>, NodeError> {
        const CHUNK: u64 = 10_000;
        let size = self.log_size()?;
        let mut out = Vec::new();
        let mut from = 0;
        while from < size {
            let to = size.min(from + CHUNK);
            for (i, leaf) in self.store().log_leaves(from, to)?.iter().enumerate() {
                if let Ok(entry @ LogEntry::LogRestart { .. }) = LogEntry::decode(&leaf.entry) {
                    out.push((from + i as u64, entry));
                }
            }
            from = to;
        }
        Ok(out)
    }

    /// The size of our latest checkpoint whose last entry is a restart
    /// abandoning the checkpoint of `size` and `root`, if there is one.
    fn pending_restart(
        &self,
        log: &Log<LedgerView<'_>>,
        size: u64,
        root: &Hash,
    ) -> Result<Option<u64>, NodeError> {
        let Some(latest) = self.store().checkpoints()?.last().map(|c| c.size) else {
            return Ok(None);
        };
        Ok(self
            .restart_at(log, latest)?
            .filter(|(s, r)| *s == size && r == root)
            .map(|_| latest))
    }

    /// The abandoned checkpoint (size, root) of the restart our checkpoint
    /// of `size` ends with, if it ends with one.
    fn restart_at(
        &self,
        log: &Log<LedgerView<'_>>,
        size: u64,
    ) -> Result<Option<(u64, Hash)>, NodeError> {
        if size == 0 || size > log.size() {
            return Ok(None);
        }
        let leaf = log.leaf(size - 1).map_err(ledger_error)?;
        Ok(match LogEntry::decode(&leaf.entry) {
            Ok(LogEntry::LogRestart {
                origin,
                abandoned_size,
                abandoned_root,
                ..
            }) if origin == log_origin(self.party()) => {
                Some((abandoned_size, Hash(abandoned_root)))
            }
            _ => None,
        })
    }

    /// The largest of our checkpoints `card`'s party cosigned that our log,
    /// of `size` entries, still holds as signed (0 if none).
    fn kept_cosigned_size<S: LedgerStorage>(
        &self,
        log: &Log<S>,
        card: &soberana_wire::PartyCard,
        size: u64,
    ) -> Result<u64, NodeError> {
        let witness = crate::ledger::witness_name(card.party);
        let mut sizes: Vec<u64> = self
            .store()
            .cosignatures(None)?
            .into_iter()
            .filter(|c| c.witness == witness && c.size <= size)
            .map(|c| c.size)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        for candidate in sizes.into_iter().rev() {
            let Ok(signed) = log.signed_checkpoint(candidate) else {
                continue;
            };
            if log.root_at(candidate).map_err(ledger_error)? == *signed.checkpoint().root() {
                return Ok(candidate);
            }
        }
        Ok(0)
    }

    /// The log entries of the envelopes we sent `peer` that our store lost
    /// and `peer` still holds, each checked against our own keys, in the
    /// order they were sent: what a restart logs again.
    async fn lost_sent(&self, peer: PartyCode) -> Result<Vec<LogEntry>, NodeError> {
        let body = self.get_from_partner(peer, "/v1/exchanged").await?;
        let held: Vec<HeldEnvelope> = serde_json::from_slice(&body)
            .map_err(|e| NodeError::Ledger(format!("{peer} answered no envelope list: {e}")))?;
        // Ours the store holds, whatever their delivery state: each was
        // logged when it was queued.
        let ours: HashSet<String> = self
            .store()
            .queued_envelope_ids(peer)?
            .into_iter()
            .collect();
        let keys = self.own_signing_keys();
        let mut entries = Vec::new();
        for envelope in held.iter().filter(|e| !e.sent_by_holder) {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&envelope.bytes)
            else {
                continue;
            };
            let Ok(verified) =
                soberana_wire::UnverifiedEnvelope::parse(&bytes, self.config().max_envelope_bytes)
                    .and_then(|e| e.verify_any(&keys))
            else {
                tracing::warn!(partner = %peer, "an envelope said to be ours does not verify against our keys; not logged");
                continue;
            };
            let h = verified.header();
            if ours.contains(&h.id.to_string()) || h.sender != self.party() || h.recipient != peer {
                continue;
            }
            entries.push(LogEntry::EnvelopeSent(soberana_store::envelope_record(h)));
        }
        // In the order they were sent.
        entries.sort_by_key(|e| match e {
            LogEntry::EnvelopeSent(r) => r.sequence,
            _ => 0,
        });
        Ok(entries)
    }

    /// Once a partner has cosigned the first checkpoint of our restarted
    /// log, that checkpoint replaces the abandoned one kept for it in
    /// `witnessed.json`, and the refusal to sign checkpoints ends. Only a
    /// checkpoint of ours whose last entry is a restart abandoning exactly
    /// the kept checkpoint, and that carries the partner's cosignature,
    /// replaces it.
    pub(crate) fn settle_restarts(&self) {
        if let Err(e) = self.try_settle_restarts() {
            tracing::error!(error = %e, "checking for an acknowledged log restart");
        }
    }

    fn try_settle_restarts(&self) -> Result<(), NodeError> {
        let mut held = self.load_witnessed();
        // Only a partner whose kept checkpoint our log is behind or departs
        // from can have acknowledged a restart; with none, nothing is read
        // (a node whose log is merely damaged is for `log verify` to judge).
        let behind: Vec<PartyCode> = held
            .iter()
            .filter_map(|(party, note)| {
                let peer = PartyCode::new(party).ok()?;
                let witnessed = WitnessedLatest {
                    note: Some(note.clone()),
                };
                matches!(self.compare_with_witnessed(peer, &witnessed), Ok(Some(_))).then_some(peer)
            })
            .collect();
        if behind.is_empty() {
            return Ok(());
        }
        let mut changed = false;
        let keys = self.own_log_keys()?;
        let log = self.log()?;
        let cosigned = self.store().cosignatures(None)?;
        for (party, note) in held.iter_mut() {
            let Some(peer) = behind.iter().copied().find(|p| p.as_str() == party) else {
                continue;
            };
            let Some(kept) = keys
                .iter()
                .find_map(|key| SignedCheckpoint::verify(note, key).ok())
            else {
                continue;
            };
            let witness = crate::ledger::witness_name(peer);
            let mut sizes: Vec<u64> = cosigned
                .iter()
                .filter(|c| c.witness == witness)
                .map(|c| c.size)
                .collect();
            sizes.sort_unstable();
            sizes.dedup();
            for size in sizes.into_iter().rev() {
                let Some((size_abandoned, root_abandoned)) = self.restart_at(&log, size)? else {
                    continue;
                };
                if size_abandoned == kept.checkpoint().size()
                    && root_abandoned == *kept.checkpoint().root()
                {
                    *note = log.signed_checkpoint(size).map_err(ledger_error)?.to_text();
                    changed = true;
                    tracing::info!(partner = %peer, size, "the partner acknowledged our log restart: checkpoints are signed again");
                    break;
                }
            }
        }
        if changed {
            self.save_witnessed(&held)?;
        }
        Ok(())
    }
}

/// A restart ready to be written: declared now (its entries, checkpoint
/// and envelope in one transaction), or declared before and sent again.
enum PreparedRestart {
    Declare(RestartDeclaration),
    Resend(Body),
}

/// The declaration of the restart our checkpoint of `size` ends with (signed
/// now if it is not yet), as the body sent to the partner, and what it
/// declares (its sizes; the rest left for the caller).
fn restart_request<S: LedgerStorage>(
    log: &mut Log<S>,
    size: u64,
    abandoned: &str,
) -> Result<(Body, RestartProposed), NodeError> {
    let signed = log.sign_checkpoint_at(size).map_err(ledger_error)?;
    let (restored_size, kept_size, reason) =
        match LogEntry::decode(&log.leaf(size - 1).map_err(ledger_error)?.entry) {
            Ok(LogEntry::LogRestart {
                restored_size,
                kept_size,
                reason,
                ..
            }) => (restored_size, kept_size, reason),
            _ => {
                return Err(NodeError::Ledger(
                    "the restart entry is not where it was appended".into(),
                ));
            }
        };
    let proof = if kept_size > 0 && kept_size < size {
        log.consistency_proof(kept_size, size)
            .map_err(ledger_error)?
    } else {
        Vec::new()
    };
    let request = AddCheckpoint {
        old_size: kept_size,
        proof,
        checkpoint: signed.to_text(),
    };
    let body = Body::Checkpoint(CheckpointRequest {
        add_checkpoint: request.to_string(),
        restart: Some(LogRestart {
            abandoned: abandoned.to_owned(),
            restored_size,
            reason,
        }),
    });
    let declared = RestartProposed {
        abandoned_size: 0,
        restored_size,
        kept_size,
        checkpoint_size: size,
        reappended: 0,
        resent: false,
    };
    Ok((body, declared))
}
