//! A node: one party's identity, store, policy and partners.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use sha2::{Digest as _, Sha256};
use soberana_core::{
    Direction, OfficerId, PartyCode, Proposal, ProposalDraft, ProposalId, ProposalState, Registry,
    Timestamp,
};
use soberana_ledger::{LogEntry, PeerChangeKind};
use soberana_store::{
    LedgerCheckpoint, NodeStore, PartnerCheckpoint, ProposalDetail, ProposalFilter, ProposalRecord,
    RefusalRecord, Sealer, StoredLeaf,
};
use soberana_wire::{NodeKey, PartyCard, SealedEnvelope, SignedCard};
use tokio::sync::Notify;

use crate::NodeError;
use crate::config::{NodeConfig, NodeDir};
use crate::identity::{TlsIdentity, load_signing_key};
use crate::policy::ProposalPolicy;
use crate::tls::PinSet;

/// A running or idle node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    dir: NodeDir,
    config: NodeConfig,
    registry: Registry,
    /// The signing key in use: replaced when a rotated key is switched to
    /// while the node runs.
    key: RwLock<Arc<NodeKey>>,
    /// The TLS identity in use, replaced with the key.
    tls: RwLock<Arc<TlsIdentity>>,
    store: Arc<dyn NodeStore>,
    policy: Arc<dyn ProposalPolicy>,
    peers: RwLock<HashMap<PartyCode, PartyCard>>,
    /// Partners' previous cards and until when each is taken (a card
    /// update reloads them with the peers): read on every envelope.
    previous: RwLock<Vec<(PartyCard, Timestamp)>>,
    pins: PinSet,
    outbox: Notify,
    /// Envelopes just committed, handed to the outbox without a read of
    /// the store (see `outbox.rs`).
    handed_over: std::sync::Mutex<Vec<soberana_store::DeliveryItem>>,
    handed_over_notify: Notify,
    /// Whether this process is the store's only sender: a PostgreSQL store
    /// may be shared by several processes, which claim what they send
    /// through the store, so nothing is handed over past it.
    hand_over: bool,
    events: tokio::sync::broadcast::Sender<crate::IntakeOutcome>,
    /// What partners' witnessed checkpoints say is wrong with our log
    /// (empty when nothing is); see `recovery.rs`.
    log_findings: RwLock<Vec<String>>,
    /// Held from a standing run's budget check to its storing, so two runs
    /// taken in at once cannot both fit a period's budget that fits one.
    standing_intake: std::sync::Mutex<()>,
}

impl Node {
    /// Opens the node in `dir` with `policy` deciding incoming proposals.
    /// Refuses a node whose constitutional layer is missing or differs from
    /// the digest pinned in `node.toml`.
    pub fn open(dir: &Path, policy: Arc<dyn ProposalPolicy>) -> Result<Self, NodeError> {
        Self::open_expecting(dir, policy, None)
    }

    /// Opens the node, checking its constitutional layer against `pin`
    /// (while it is being pinned) or else against `node.toml`'s.
    pub(crate) fn open_expecting(
        dir: &Path,
        policy: Arc<dyn ProposalPolicy>,
        pin: Option<&str>,
    ) -> Result<Self, NodeError> {
        let dir = NodeDir::new(dir);
        let config = dir.load_config()?;
        crate::pin::check_pin(&dir, pin.unwrap_or(&config.constitutional_digest))?;
        let registry = dir.load_registry()?;
        if registry.party(config.party).is_none() {
            let known: Vec<String> = registry.parties().map(|p| p.code.to_string()).collect();
            return Err(NodeError::UnknownParty(
                config.party.to_string(),
                known.join(", "),
            ));
        }
        let location = dir.store_location(&config);
        let hand_over = matches!(location, soberana_store::StoreLocation::Sqlite(_));
        let store: Arc<dyn NodeStore> = location.open()?;
        let key = Arc::new(load_signing_key(&dir.signing_key())?);
        crate::sessions::persons::refuse_readable_linkage_key(&dir)?;
        let tls = TlsIdentity::load(&dir.tls_cert(), &dir.tls_key())?;
        let node = Node {
            inner: Arc::new(Inner {
                dir,
                config,
                registry,
                key: RwLock::new(key),
                tls: RwLock::new(Arc::new(tls)),
                store,
                policy,
                peers: RwLock::new(HashMap::new()),
                previous: RwLock::new(Vec::new()),
                pins: PinSet::default(),
                outbox: Notify::new(),
                handed_over: std::sync::Mutex::new(Vec::new()),
                handed_over_notify: Notify::new(),
                hand_over,
                events: tokio::sync::broadcast::channel(4096).0,
                log_findings: RwLock::new(Vec::new()),
                standing_intake: std::sync::Mutex::new(()),
            }),
        };
        node.reload_peers()?;
        node.recall_log_findings();
        Ok(node)
    }

    /// Re-reads the pinned partners from the store.
    pub fn reload_peers(&self) -> Result<(), NodeError> {
        let mut peers = HashMap::new();
        for (party, text) in self.inner.store.peers()? {
            match SignedCard::parse(&text) {
                Ok(card) => {
                    peers.insert(party, card);
                }
                Err(e) => {
                    tracing::error!(%party, error = %e, "a stored card no longer verifies; ignored")
                }
            }
        }
        // A partner's previous certificate is still taken during the
        // overlap its card update named.
        let now = Timestamp::now();
        let previous: Vec<(PartyCard, Timestamp)> = self
            .inner
            .store
            .previous_keys(None)?
            .into_iter()
            .filter(|p| p.party != self.party())
            .filter_map(|p| Some((SignedCard::parse(&p.card).ok()?, p.accepted_until)))
            .collect();
        if let Ok(mut pins) = self.inner.pins.write() {
            *pins = peers.values().map(|c| c.tls_cert_sha256.0).collect();
            pins.extend(
                previous
                    .iter()
                    .filter(|(_, until)| *until >= now)
                    .map(|(c, _)| c.tls_cert_sha256.0),
            );
        }
        if let Ok(mut current) = self.inner.previous.write() {
            *current = previous;
        }
        if let Ok(mut current) = self.inner.peers.write() {
            *current = peers;
        }
        Ok(())
    }

    /// What is wrong with our log against what partners cosigned, as found
    /// by the last check (empty when nothing is).
    pub fn log_findings(&self) -> Vec<String> {
        self.inner
            .log_findings
            .read()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// The lock held while a standing run is checked and stored.
    pub(crate) fn standing_intake(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .standing_intake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn set_log_findings(&self, findings: Vec<String>) {
        if let Ok(mut current) = self.inner.log_findings.write() {
            *current = findings;
        }
    }

    /// Partners' previous cards with until when each is taken.
    pub(crate) fn partner_previous_cards(&self) -> Vec<(PartyCard, Timestamp)> {
        self.inner
            .previous
            .read()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Our party.
    pub fn party(&self) -> PartyCode {
        self.inner.config.party
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The node directory.
    pub fn dir(&self) -> &NodeDir {
        &self.inner.dir
    }

    /// Where the store lives, for operators (a PostgreSQL URL without its
    /// password).
    pub fn store_description(&self) -> String {
        self.inner.dir.store_location(&self.inner.config).describe()
    }

    /// The registry of parties and agencies.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The store: reached only through the node's methods, so no caller
    /// changes state past the node's rules.
    pub(crate) fn store(&self) -> &Arc<dyn NodeStore> {
        &self.inner.store
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<dyn ProposalPolicy> {
        &self.inner.policy
    }

    /// The signing key in use.
    pub(crate) fn key(&self) -> Arc<NodeKey> {
        match self.inner.key.read() {
            Ok(key) => Arc::clone(&key),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The public half of the signing key (what partners pin from the card).
    pub fn public_key(&self) -> soberana_wire::PublicKey {
        self.key().public()
    }

    /// The signing key, for the crate's own tests that must forge what a
    /// hostile partner would send.
    #[cfg(feature = "test-support")]
    pub fn signing_key_for_tests(&self) -> Arc<NodeKey> {
        self.key()
    }

    /// Reads the signing key and TLS identity from the folder again and
    /// puts them in use: the running node's part of a key switch. What is
    /// signed from now on is signed by the new key, new connections show
    /// the new certificate, and clients to partners are rebuilt with it.
    pub(crate) fn reload_keys(&self) -> Result<(), NodeError> {
        let dir = &self.inner.dir;
        let key = Arc::new(load_signing_key(&dir.signing_key())?);
        let tls = Arc::new(TlsIdentity::load(&dir.tls_cert(), &dir.tls_key())?);
        if let Ok(mut current) = self.inner.tls.write() {
            *current = tls;
        }
        if let Ok(mut current) = self.inner.key.write() {
            *current = key;
        }
        Ok(())
    }

    /// The store, for the crate's own tests that must check exactly what a
    /// hostile partner's attempt wrote (and that nothing else was).
    #[cfg(feature = "test-support")]
    pub fn store_for_tests(&self) -> &Arc<dyn NodeStore> {
        &self.inner.store
    }

    pub(crate) fn tls(&self) -> Arc<TlsIdentity> {
        match self.inner.tls.read() {
            Ok(tls) => Arc::clone(&tls),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub(crate) fn pins(&self) -> PinSet {
        Arc::clone(&self.inner.pins)
    }

    /// A pinned partner's card.
    pub fn peer(&self, party: PartyCode) -> Option<PartyCard> {
        let found = self
            .inner
            .peers
            .read()
            .ok()
            .and_then(|p| p.get(&party).cloned());
        if found.is_some() {
            return found;
        }
        // The card may have been pinned by another process (the CLI) since
        // this node started.
        if self.reload_peers().is_ok() {
            return self
                .inner
                .peers
                .read()
                .ok()
                .and_then(|p| p.get(&party).cloned());
        }
        None
    }

    /// Claims this node folder for one serving process (`run`, `desk`):
    /// a second one is refused while the returned lock is held.
    pub fn lock_folder(&self) -> Result<crate::FolderLock, NodeError> {
        crate::lock::FolderLock::take(self.inner.dir.root().join("node.lock"))
    }

    /// Every pinned partner.
    pub fn peers(&self) -> Vec<PartyCard> {
        self.inner
            .peers
            .read()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Seals envelopes from this node.
    pub fn sealer(&self) -> Sealer {
        let key = self.key();
        let from = self.party();
        Arc::new(move |to, sequence, body| {
            SealedEnvelope::seal(&key, from, to, sequence, Timestamp::now(), body)
        })
    }

    /// Every envelope this node accepts from now on, as it is accepted.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::IntakeOutcome> {
        self.inner.events.subscribe()
    }

    pub(crate) fn announce(&self, outcome: &crate::IntakeOutcome) {
        // Nobody listening is the normal case; the send result is irrelevant.
        let _ = self.inner.events.send(outcome.clone());
    }

    pub(crate) fn wake_outbox(&self) {
        self.inner.outbox.notify_one();
    }

    pub(crate) async fn outbox_woken(&self) {
        self.inner.outbox.notified().await;
    }

    /// Hands envelopes about `proposal`, committed just now, to the outbox
    /// to send at once. Past what memory holds, or when other processes
    /// share the store, the outbox finds them in the store instead. Only
    /// for envelopes the store would list as due at once (not a proposal,
    /// which an agreement may hold back).
    pub(crate) fn hand_to_outbox(&self, envelopes: &[SealedEnvelope], proposal: ProposalId) {
        if envelopes.is_empty() {
            return;
        }
        if !self.inner.hand_over {
            self.wake_outbox();
            return;
        }
        let held = self.inner.handed_over.lock().map(|mut handed| {
            if handed.len() + envelopes.len() > crate::outbox::MAX_HANDED_OVER {
                return false;
            }
            handed.extend(envelopes.iter().map(|env| soberana_store::DeliveryItem {
                envelope_id: env.header().id.to_string(),
                recipient: env.header().recipient,
                bytes: env.bytes().to_vec(),
                attempts: 0,
                proposal_id: proposal.to_string(),
            }));
            true
        });
        if held.unwrap_or(false) {
            self.inner.handed_over_notify.notify_one();
        } else {
            self.wake_outbox();
        }
    }

    /// The envelopes handed to the outbox since it last looked.
    pub(crate) fn take_handed_over(&self) -> Vec<soberana_store::DeliveryItem> {
        self.inner
            .handed_over
            .lock()
            .map(|mut handed| std::mem::take(&mut *handed))
            .unwrap_or_default()
    }

    pub(crate) async fn outbox_handed_over(&self) {
        self.inner.handed_over_notify.notified().await;
    }

    /// This node's party card, signed.
    pub fn card(&self) -> Result<SignedCard, NodeError> {
        let name = self
            .inner
            .registry
            .party(self.party())
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let card = PartyCard {
            version: soberana_wire::CARD_VERSION,
            party: self.party(),
            name,
            endpoint: self.inner.config.endpoint.clone(),
            signing_key: self.key().public(),
            tls_cert_sha256: self.tls().fingerprint(),
            tls_cert_pem: self.tls().cert_pem.clone(),
            log_origin: log_origin(self.party()),
            issued: Timestamp::now(),
        };
        SignedCard::sign(card, &self.key()).map_err(|e| NodeError::Card {
            path: self.inner.dir.root().to_owned(),
            detail: e.to_string(),
        })
    }

    /// Pins a partner's card (verified), recording the change in the log.
    ///
    /// A party that is already pinned keeps its card: pinning a different
    /// card for it is refused with both fingerprints, so a partner's keys
    /// and address never change by accident. [`Node::replace_peer`] is the
    /// deliberate way. Pinning the same card again changes nothing.
    pub fn add_peer(&self, text: &str, source: &Path) -> Result<PartyCard, NodeError> {
        self.pin_card(text, source, false)
    }

    /// Pins a partner's card in place of the one pinned for its party (a
    /// key or certificate rotation agreed over an official channel). The
    /// change is logged with the new key's fingerprint.
    pub fn replace_peer(&self, text: &str, source: &Path) -> Result<PartyCard, NodeError> {
        self.pin_card(text, source, true)
    }

    /// The signed card pinned for a party, as its text (for a report that
    /// must carry the keys it is checked against).
    pub fn peer_card_text(&self, party: PartyCode) -> Result<Option<String>, NodeError> {
        Ok(self
            .inner
            .store
            .peers()?
            .into_iter()
            .find(|(p, _)| *p == party)
            .map(|(_, text)| text))
    }

    /// The card pinned for a party in the store (another process, the CLI,
    /// may have pinned it since this node started).
    fn pinned_card(&self, party: PartyCode) -> Result<Option<PartyCard>, NodeError> {
        Ok(self
            .inner
            .store
            .peers()?
            .into_iter()
            .find(|(p, _)| *p == party)
            .and_then(|(_, text)| SignedCard::parse(&text).ok()))
    }

    fn pin_card(&self, text: &str, source: &Path, replace: bool) -> Result<PartyCard, NodeError> {
        let card = SignedCard::parse(text).map_err(|e| NodeError::Card {
            path: source.to_owned(),
            detail: e.to_string(),
        })?;
        if card.party == self.party() {
            return Err(NodeError::Card {
                path: source.to_owned(),
                detail: format!("this is a card of `{}`, this node's own party", card.party),
            });
        }
        if self.inner.registry.party(card.party).is_none() {
            let known: Vec<String> = self
                .inner
                .registry
                .parties()
                .map(|p| p.code.to_string())
                .collect();
            return Err(NodeError::UnknownParty(
                card.party.to_string(),
                known.join(", "),
            ));
        }
        if let Some(pinned) = self.pinned_card(card.party)? {
            if pinned.fingerprint() == card.fingerprint() {
                return Ok(card);
            }
            if !replace {
                return Err(NodeError::Card {
                    path: source.to_owned(),
                    detail: format!(
                        "`{}` is already pinned with fingerprint {} ({}); this card has fingerprint {} ({}). \
                         Compare the new fingerprint with the partner over an official channel, \
                         then pin it with --replace",
                        card.party,
                        pinned.fingerprint(),
                        pinned.endpoint,
                        card.fingerprint(),
                        card.endpoint
                    ),
                });
            }
        }
        let fingerprint: [u8; 32] = Sha256::digest(card.signing_key.as_bytes()).into();
        self.inner.store.pin_peer(
            card.party,
            text.to_owned(),
            LogEntry::PeerChange {
                party: card.party.to_string(),
                key_fingerprint: fingerprint,
                change: PeerChangeKind::Added,
                time_ms: Timestamp::now().unix_millis().max(0) as u64,
            },
        )?;
        self.reload_peers()?;
        Ok(card)
    }

    /// Our handling code for releasing `release` in answer to `proposal`:
    /// our own rule classifies what we release; the partner's code, and the
    /// default handling of the agreement in force with it, are only floors.
    pub fn classify_release(
        &self,
        proposal: &soberana_core::Proposal,
        release: &[soberana_wire::AnswerItem],
    ) -> soberana_core::Classification {
        let mut classification = self.inner.config.handling.classify(
            proposal.handling,
            proposal.kind(),
            release.iter().map(|i| i.label.as_str()),
        );
        let agreed = self
            .inner
            .store
            .agreement(proposal.from)
            .ok()
            .flatten()
            .and_then(|a| a.terms.map(|t| (a.version, t.default_handling)));
        if let Some((version, default)) = agreed
            && default > classification.code
        {
            classification.code = default;
            classification.grounds.push(format!(
                "the agreement with {} (version {version}) sets {default:?} by default",
                proposal.from
            ));
        }
        classification
    }

    /// Makes a proposal from an officer's draft and queues it for delivery.
    pub fn propose(
        &self,
        draft: ProposalDraft,
        author: Option<OfficerId>,
    ) -> Result<Proposal, NodeError> {
        let proposal = self.checked_proposal(draft, author)?;
        self.inner
            .store
            .queue_proposal(proposal.clone(), self.sealer())?;
        // Through a read of the store: it holds a proposal back while the
        // agreement with its partner is stopped or an act on it is on its
        // way, also one queued while the outbox was not running.
        self.wake_outbox();
        Ok(proposal)
    }

    /// A proposal of ours made from `draft`, once its partner is pinned and
    /// its agency is in our registry; nothing is stored.
    pub(crate) fn checked_proposal(
        &self,
        draft: ProposalDraft,
        author: Option<OfficerId>,
    ) -> Result<Proposal, NodeError> {
        let bad = |detail: String| NodeError::Proposal {
            path: "draft".into(),
            detail,
        };
        if self.peer(draft.to).is_none() {
            return Err(NodeError::UnknownPeer(draft.to.to_string()));
        }
        if self
            .inner
            .registry
            .agency(&draft.requesting_agency)
            .is_none()
        {
            return Err(bad(format!(
                "agency `{}` is not in this node's registry",
                draft.requesting_agency
            )));
        }
        let proposal = Proposal::from_draft(draft, self.party(), author, Timestamp::now())
            .map_err(|e| bad(e.to_string()))?;
        // A proposal about evidence names a case, exhibit or proposal that
        // must exist here as it says.
        self.check_evidence_kinds(&proposal).map_err(bad)?;
        // A joint investigation names our side's members from our own
        // officer registry.
        self.check_our_members(&proposal).map_err(bad)?;
        // A suspended or terminated agreement, or a kind the partner does
        // not accept under it, stops the proposal here, not at the partner.
        if let Some(agreement) = self.inner.store.agreement(proposal.to)?
            && let Some(reason) = agreement.refuses(proposal.kind(), proposal.from, proposal.to)
        {
            return Err(NodeError::Agreement(format!(
                "{reason}; nothing was queued"
            )));
        }
        Ok(proposal)
    }

    /// Proposals by direction and state, newest first.
    pub fn list(
        &self,
        direction: Option<Direction>,
        states: Vec<ProposalState>,
    ) -> Result<Vec<ProposalRecord>, NodeError> {
        Ok(self.inner.store.proposals(&ProposalFilter {
            direction,
            states,
            ..ProposalFilter::default()
        })?)
    }

    /// One proposal with its history.
    pub fn show(&self, id: ProposalId) -> Result<ProposalDetail, NodeError> {
        self.inner
            .store
            .proposal(id)?
            .ok_or_else(|| NodeError::NoSuchProposal(id.to_string()))
    }

    /// The number of entries in the log.
    pub fn log_size(&self) -> Result<u64, NodeError> {
        Ok(self.inner.store.log_size()?)
    }

    /// Log leaves `[from, to)` in order.
    pub fn log_leaves(&self, from: u64, to: u64) -> Result<Vec<StoredLeaf>, NodeError> {
        Ok(self.inner.store.log_leaves(from, to)?)
    }

    /// Refusals issued at intake, newest first.
    pub fn refusals(&self, limit: usize) -> Result<Vec<RefusalRecord>, NodeError> {
        Ok(self.inner.store.refusals(limit)?)
    }

    /// Our envelopes the partner refused finally (never retried), newest
    /// first.
    pub fn refused_deliveries(
        &self,
        limit: usize,
    ) -> Result<Vec<soberana_store::RefusedDelivery>, NodeError> {
        Ok(self.inner.store.refused_deliveries(limit)?)
    }

    /// Our signed checkpoints, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<LedgerCheckpoint>, NodeError> {
        Ok(self.inner.store.checkpoints()?)
    }

    /// Partners' cosignatures on our checkpoint of `size` (every one, if
    /// `None`).
    pub fn cosignatures(
        &self,
        size: Option<u64>,
    ) -> Result<Vec<soberana_ledger::StoredCosignature>, NodeError> {
        Ok(self.inner.store.cosignatures(size)?)
    }

    /// The checkpoints of `peer`'s log we witnessed, oldest first.
    pub fn partner_checkpoints(
        &self,
        peer: PartyCode,
    ) -> Result<Vec<PartnerCheckpoint>, NodeError> {
        Ok(self.inner.store.partner_checkpoints(peer)?)
    }

    /// The ids of the envelopes we sent about a proposal, with their kinds.
    pub fn sent_envelopes(&self, id: ProposalId) -> Result<Vec<(String, String)>, NodeError> {
        Ok(self.inner.store.sent_envelopes(id)?)
    }

    /// The protocol messages received from `peer` under a proposal, for one
    /// step.
    pub fn session_messages(
        &self,
        id: ProposalId,
        peer: PartyCode,
        step: u32,
    ) -> Result<Vec<soberana_wire::SessionMessage>, NodeError> {
        Ok(self.inner.store.session_messages(id, peer, step)?)
    }

    /// Recomputes the whole log from its stored entries and checks every
    /// checkpoint and cosignature (`soberana log verify`).
    pub fn audit_log(
        &self,
    ) -> Result<Result<soberana_ledger::AuditReport, soberana_ledger::AuditError>, NodeError> {
        let log_keys = self.own_log_keys()?;
        let witnesses = self.all_partner_witness_keys();
        Ok(soberana_ledger::audit_storage_rotated(
            &soberana_store::LedgerView(self.inner.store.as_ref()),
            &log_keys,
            &witnesses,
        ))
    }
}

/// The origin line of a party's log checkpoints.
pub fn log_origin(party: PartyCode) -> String {
    format!("soberana/{}/log", party.as_str().to_ascii_lowercase())
}
