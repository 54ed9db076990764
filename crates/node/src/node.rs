//! A node: one party's identity, store, policy and partners.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use sha2::{Digest as _, Sha256};
use soberana_core::{
    DecidedBy, Decision, Direction, OfficerId, Outcome, PartyCode, Proposal, ProposalDraft,
    ProposalId, ProposalState, Reason, Registry, Timestamp,
};
use soberana_ledger::{LogEntry, PeerChangeKind};
use soberana_store::{
    NodeStore, OfficerDecision, ProposalDetail, ProposalFilter, ProposalRecord, Sealer, SqliteStore,
};
use soberana_wire::{Answer, AnswerItem, NodeKey, PartyCard, SealedEnvelope, SignedCard};
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
    key: Arc<NodeKey>,
    tls: TlsIdentity,
    store: Arc<dyn NodeStore>,
    policy: Arc<dyn ProposalPolicy>,
    peers: RwLock<HashMap<PartyCode, PartyCard>>,
    pins: PinSet,
    outbox: Notify,
    events: tokio::sync::broadcast::Sender<crate::IntakeOutcome>,
}

/// What an officer decides.
#[derive(Debug, Clone)]
pub struct OfficerVerdict {
    /// The officer deciding.
    pub officer: OfficerId,
    /// What is decided.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// What is released with an acceptance.
    pub release: Vec<AnswerItem>,
}

impl Node {
    /// Opens the node in `dir` with `policy` deciding incoming proposals.
    pub fn open(dir: &Path, policy: Arc<dyn ProposalPolicy>) -> Result<Self, NodeError> {
        let dir = NodeDir::new(dir);
        let config = dir.load_config()?;
        let registry = dir.load_registry()?;
        if registry.party(config.party).is_none() {
            let known: Vec<String> = registry.parties().map(|p| p.code.to_string()).collect();
            return Err(NodeError::UnknownParty(
                config.party.to_string(),
                known.join(", "),
            ));
        }
        let key = Arc::new(load_signing_key(&dir.signing_key())?);
        let tls = TlsIdentity::load(&dir.tls_cert(), &dir.tls_key())?;
        let store: Arc<dyn NodeStore> = Arc::new(SqliteStore::open(&dir.store_path(&config))?);
        let node = Node {
            inner: Arc::new(Inner {
                dir,
                config,
                registry,
                key,
                tls,
                store,
                policy,
                peers: RwLock::new(HashMap::new()),
                pins: PinSet::default(),
                outbox: Notify::new(),
                events: tokio::sync::broadcast::channel(4096).0,
            }),
        };
        node.reload_peers()?;
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
        if let Ok(mut pins) = self.inner.pins.write() {
            *pins = peers.values().map(|c| c.tls_cert_sha256.0).collect();
        }
        if let Ok(mut current) = self.inner.peers.write() {
            *current = peers;
        }
        Ok(())
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

    /// The registry of parties and agencies.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn NodeStore> {
        &self.inner.store
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<dyn ProposalPolicy> {
        &self.inner.policy
    }

    /// The signing key.
    pub fn key(&self) -> &Arc<NodeKey> {
        &self.inner.key
    }

    pub(crate) fn tls(&self) -> &TlsIdentity {
        &self.inner.tls
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
        let key = Arc::clone(&self.inner.key);
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
            signing_key: self.inner.key.public(),
            tls_cert_sha256: self.inner.tls.fingerprint(),
            tls_cert_pem: self.inner.tls.cert_pem.clone(),
            log_origin: log_origin(self.party()),
            issued: Timestamp::now(),
        };
        SignedCard::sign(card, &self.inner.key).map_err(|e| NodeError::Card {
            path: self.inner.dir.root().to_owned(),
            detail: e.to_string(),
        })
    }

    /// Pins a partner's card (verified), recording the change in the log.
    pub fn add_peer(&self, text: &str, source: &Path) -> Result<PartyCard, NodeError> {
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

    /// Makes a proposal from an officer's draft and queues it for delivery.
    pub fn propose(
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
        self.inner
            .store
            .queue_proposal(proposal.clone(), self.sealer())?;
        self.wake_outbox();
        Ok(proposal)
    }

    /// Records an officer's decision on an incoming proposal awaiting one,
    /// and queues it (with anything released) to the proposer.
    pub fn decide(&self, id: ProposalId, verdict: OfficerVerdict) -> Result<Decision, NodeError> {
        let detail = self
            .inner
            .store
            .proposal(id)?
            .ok_or_else(|| NodeError::NoSuchProposal(id.to_string()))?;
        if detail.record.direction != Direction::Incoming
            || detail.record.state != ProposalState::AwaitingOfficer
        {
            return Err(NodeError::NotAwaitingDecision {
                id: id.to_string(),
                state: format!(
                    "{} and {}",
                    detail.record.direction.as_str(),
                    detail.record.state
                ),
            });
        }
        let decision = Decision {
            proposal_id: id,
            decided_by_party: self.party(),
            outcome: verdict.outcome.clone(),
            reasons: {
                let mut reasons = vec![Reason::plain(verdict.reason)];
                if verdict.outcome.is_acceptance() {
                    reasons.push(Reason::plain(soberana_core::STRUCTURED_CONTENT_ONLY));
                }
                reasons
            },
            decided_by: DecidedBy::Officer {
                officer: verdict.officer,
                confirmed_by: None,
            },
            policy_digest: self.inner.policy.digest(),
            decided_at: Timestamp::now(),
        };
        let answer =
            (decision.outcome.is_acceptance() && !verdict.release.is_empty()).then(|| Answer {
                proposal_id: id,
                summary: format!(
                    "released by {} under decision of {}",
                    self.party(),
                    decision.decided_at
                ),
                items: verdict.release,
                handling: detail.record.proposal.handling,
                conditions: match &decision.outcome {
                    Outcome::AcceptedWithConditions { conditions } => conditions.clone(),
                    _ => Vec::new(),
                },
            });
        self.inner.store.decide(
            OfficerDecision {
                decision: decision.clone(),
                answer,
            },
            self.sealer(),
        )?;
        self.wake_outbox();
        Ok(decision)
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
            limit: 0,
        })?)
    }

    /// One proposal with its history.
    pub fn show(&self, id: ProposalId) -> Result<ProposalDetail, NodeError> {
        self.inner
            .store
            .proposal(id)?
            .ok_or_else(|| NodeError::NoSuchProposal(id.to_string()))
    }
}

/// The origin line of a party's log checkpoints.
pub fn log_origin(party: PartyCode) -> String {
    format!("soberana/{}/log", party.as_str().to_ascii_lowercase())
}
