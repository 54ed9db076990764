//! Rotating the node's signing key and TLS certificate, in two stages with
//! an overlap.
//!
//! **Announce** (`Node::rotate_keys`, `soberana key rotate`): a new signing
//! key and certificate are made in `keys/next/` (0600), and the new card,
//! signed by the new key, goes to every partner in a `card_update` envelope
//! signed by the *current* key, so the key partners trust vouches for its
//! successor. The card being replaced is kept as a previous key. Both logs
//! record it (our `EnvelopeSent` and key entry, the partner's
//! `EnvelopeReceived` and key entry). The node goes on signing and serving
//! with the current key meanwhile; partners take either.
//!
//! **Switch** (`Node::switch_rotated_keys_running`, every two seconds in a
//! running node, and `Node::switch_rotated_keys` when `soberana run` or
//! `soberana desk` starts, under the folder lock): once the rotation is
//! announced (the store holds the card being replaced, which is written in
//! the transaction that queues the updates, after the files) and every
//! partner has taken the update, the current key files move to
//! `keys/retired/<time>/`
//! and the new ones into place, and a running node puts them in use at once
//! (new connections show the new certificate, clients to partners are
//! rebuilt with it, everything signed from then on is signed by the new
//! key). Partners keep taking
//! the old key and certificate for the overlap the update named, so nothing
//! queued under the old key is refused; and because every previous card is
//! kept, receipts and checkpoints signed before the rotation verify against
//! the key valid at their time (`Node::pinned_parties`).

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use soberana_core::{PartyCode, Timestamp};
use soberana_ledger::{LogEntry, PeerChangeKind};
use soberana_store::PreviousKey;
use soberana_wire::{CardUpdate, NodeKey, PartyCard, PublicKey, SignedCard};

use crate::config::NodeDir;
use crate::identity::{TlsIdentity, write_secret};
use crate::{Node, NodeError};

/// How long partners keep taking a rotated key, unless said otherwise.
pub const DEFAULT_OVERLAP_DAYS: u32 = 7;

/// The longest overlap a partner's card update may ask for.
pub const MAX_OVERLAP_DAYS: u32 = 90;

/// Where a rotation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The fingerprint of the card in use.
    pub current: String,
    /// The fingerprint of the announced card waiting to be used, if any.
    pub next: Option<String>,
    /// Card updates partners have not taken yet.
    pub waiting: u64,
    /// Our previous keys: their card fingerprint, when retired, and until
    /// when partners take them.
    pub previous: Vec<(String, Timestamp, Timestamp)>,
    /// When the TLS certificate in use expires (its `notAfter`).
    pub tls_not_after: Option<Timestamp>,
}

/// How long before the certificate's `notAfter` a rotation is due.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

fn next_dir(dir: &NodeDir) -> PathBuf {
    dir.root().join("keys/next")
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> NodeError + '_ {
    move |e| NodeError::Io {
        path: path.to_owned(),
        source: e,
    }
}

/// Moves an announced key into place once every partner took its card.
fn switch_if_ready(dir: &NodeDir, waiting: u64) -> Result<bool, NodeError> {
    let next = next_dir(dir);
    if !next.join("signing.key").exists() {
        return Ok(false);
    }
    if waiting > 0 {
        tracing::info!(
            waiting,
            "a rotated key waits until every partner has taken the card update"
        );
        return Ok(false);
    }
    let retired = dir
        .root()
        .join("keys/retired")
        .join(Timestamp::now().unix_millis().to_string());
    std::fs::create_dir_all(&retired).map_err(io(&retired))?;
    for name in ["signing.key", "tls.key", "tls.crt"] {
        let current = dir.root().join("keys").join(name);
        std::fs::rename(&current, retired.join(name)).map_err(io(&current))?;
        let new = next.join(name);
        std::fs::rename(&new, &current).map_err(io(&new))?;
    }
    std::fs::remove_dir(&next).map_err(io(&next))?;
    tracing::info!("every partner took the card update: the rotated key is now in use");
    Ok(true)
}

fn key_fingerprint(key: &PublicKey) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Node {
    /// Announces a rotation of the signing key and TLS certificate (the
    /// first stage; see the module documentation). Refuses while another
    /// rotation waits. Returns the new card's fingerprint.
    pub fn rotate_keys(&self, overlap_days: u32) -> Result<String, NodeError> {
        if overlap_days == 0 || overlap_days > MAX_OVERLAP_DAYS {
            return Err(NodeError::Keys(format!(
                "an overlap of {overlap_days} days is not allowed: give 1 to {MAX_OVERLAP_DAYS}"
            )));
        }
        let next = next_dir(self.dir());
        if next.join("signing.key").exists() {
            if self.rotation_announced()? {
                return Err(NodeError::Keys(format!(
                    "a rotation is already announced and waits for partners ({} card update(s) not taken); see `soberana key status`",
                    self.store().card_updates_waiting()?
                )));
            }
            // Keys of a rotation that stopped before it was announced: no
            // partner ever saw them, so they are replaced.
            tracing::warn!("discarding keys in keys/next that were never announced to partners");
            std::fs::remove_dir_all(&next).map_err(io(&next))?;
        }
        let key = NodeKey::generate().map_err(|e| NodeError::Tls(e.to_string()))?;
        let endpoint = self.config().endpoint.clone();
        let host = endpoint
            .trim_start_matches("https://")
            .rsplit_once(':')
            .map_or("localhost", |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = TlsIdentity::generate(
            vec![
                host,
                "localhost".into(),
                format!("{}.soberana", self.party().as_str().to_ascii_lowercase()),
            ],
            self.config().key_max_age_days,
        )?;
        let current = self.card()?;
        let mut card: PartyCard = current.card.clone();
        card.signing_key = key.public();
        card.tls_cert_sha256 = tls.fingerprint();
        card.tls_cert_pem = tls.cert_pem.clone();
        card.issued = Timestamp::now();
        let signed = SignedCard::sign(card, &key).map_err(|e| NodeError::Card {
            path: next.clone(),
            detail: e.to_string(),
        })?;
        let fingerprint = signed.card.fingerprint();
        // The files first, in a staging folder renamed into place: a crash
        // leaves either no key files or a whole set, and a set whose
        // announcement was not stored is never switched to (see
        // `rotation_announced`) and is replaced by the next rotation.
        let staging = self.dir().root().join("keys/next.staging");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        write_secret(&staging.join("signing.key"), &key.to_hex_secret())?;
        write_secret(&staging.join("tls.key"), tls.key_pem())?;
        std::fs::write(staging.join("tls.crt"), &tls.cert_pem).map_err(io(&staging))?;
        let now = Timestamp::now();
        let previous = PreviousKey {
            party: self.party(),
            card: current.to_text(),
            retired_at: now,
            accepted_until: now.plus_seconds(i64::from(overlap_days) * 86_400),
        };
        let log = LogEntry::PeerChange {
            party: self.party().to_string(),
            key_fingerprint: key_fingerprint(&signed.card.signing_key),
            change: PeerChangeKind::Added,
            time_ms: now.unix_millis().max(0) as u64,
        };
        let update = CardUpdate {
            card: signed,
            overlap_days,
        };
        std::fs::rename(&staging, &next).map_err(io(&next))?;
        if let Err(e) = self
            .store()
            .announce_card(previous, update, log, self.sealer())
        {
            let _ = std::fs::remove_dir_all(&next);
            return Err(e.into());
        }
        self.wake_outbox();
        Ok(fingerprint)
    }

    /// Puts an announced key and certificate in use once every partner has
    /// taken the card update (the second stage): moves the files, and
    /// returns true if it did, after which the node must be opened again to
    /// use them. The serving process calls it while holding the folder
    /// lock, so other commands never switch keys under a running node.
    pub fn switch_rotated_keys(&self) -> Result<bool, NodeError> {
        if !next_dir(self.dir()).join("signing.key").exists() {
            return Ok(false);
        }
        if !self.rotation_announced()? {
            tracing::warn!(
                "keys/next holds keys that were never announced to partners (a rotation stopped before it was stored); they are not used: run `soberana key rotate` again"
            );
            return Ok(false);
        }
        switch_if_ready(self.dir(), self.store().card_updates_waiting()?)
    }

    /// Whether a rotation away from the key in use was announced: the
    /// announcement stores our card of that key as a previous key, in the
    /// same transaction that queues the card updates. A rotation puts its
    /// new files in `keys/next` before that transaction, so files there
    /// without it are keys no partner was told of (a rotation in between,
    /// or one that stopped there), and a count of zero card updates
    /// waiting says nothing about them.
    fn rotation_announced(&self) -> Result<bool, NodeError> {
        let in_use = self.key().public();
        Ok(self
            .store()
            .previous_keys(Some(self.party()))?
            .iter()
            .any(|previous| {
                SignedCard::parse(&previous.card).is_ok_and(|card| card.signing_key == in_use)
            }))
    }

    /// The running node's switch: once every partner has taken the card
    /// update, moves the files as [`Node::switch_rotated_keys`] does and
    /// puts the new key and certificate in use at once, with no restart.
    /// Called by the serving process (under the folder lock) every few
    /// seconds; cheap while no rotation waits.
    pub fn switch_rotated_keys_running(&self) -> Result<bool, NodeError> {
        if !next_dir(self.dir()).join("signing.key").exists() {
            return Ok(false);
        }
        let waiting = self.store().card_updates_waiting()?;
        if waiting > 0 || !self.rotation_announced()? {
            return Ok(false);
        }
        if !switch_if_ready(self.dir(), waiting)? {
            return Ok(false);
        }
        self.reload_keys()?;
        Ok(true)
    }

    /// Seconds until the TLS certificate in use expires (negative once
    /// it has), from its `notAfter`; `None` if it does not parse.
    pub fn tls_expiry_secs(&self) -> Option<i64> {
        let not_after = self.tls().not_after().ok()?;
        Some(Timestamp::now().seconds_until(not_after))
    }

    /// How long ago the signing key in use was made (its file's time).
    pub fn key_age_secs(&self) -> u64 {
        std::fs::metadata(self.dir().signing_key())
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or(0, |d| d.as_secs())
    }

    /// What is due about keys, as warnings: the signing key near or past
    /// its age limit, and a rotation whose overlap ends before every
    /// partner took the update (the partner would then refuse the old key
    /// before the node may switch).
    pub fn key_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(left) = self.tls_expiry_secs() {
            let not_after = Timestamp::now().plus_seconds(left);
            if left <= 0 {
                warnings.push(format!(
                    "the TLS certificate expired at {not_after}: run `soberana key rotate`"
                ));
            } else if left <= EXPIRY_WARNING_DAYS * 86_400 {
                warnings.push(format!(
                    "the TLS certificate expires at {not_after}, in {} day(s): run `soberana key rotate`",
                    left / 86_400
                ));
            }
        }
        let age_days = self.key_age_secs() / 86_400;
        let limit = self.config().key_max_age_days;
        if age_days + 30 >= limit {
            warnings.push(format!(
                "the signing key is {age_days} days old and should be rotated by day {limit}: run `soberana key rotate`"
            ));
        }
        let waiting = self.store().card_updates_waiting().unwrap_or(0);
        let now = Timestamp::now();
        let soon = now.plus_seconds(86_400);
        for previous in self
            .store()
            .previous_keys(Some(self.party()))
            .unwrap_or_default()
        {
            if waiting > 0 && previous.accepted_until >= now && previous.accepted_until < soon {
                warnings.push(format!(
                    "partners stop taking our previous key at {} but {waiting} card update(s) are not taken yet: check `soberana outbox` and the link",
                    previous.accepted_until
                ));
            }
        }
        warnings
    }

    /// Where a rotation of our keys stands.
    pub fn key_status(&self) -> Result<KeyStatus, NodeError> {
        let next = next_dir(self.dir());
        let next = if next.join("signing.key").exists() && self.rotation_announced()? {
            let key = crate::identity::load_signing_key(&next.join("signing.key"))?;
            Some(hex::encode(key_fingerprint(&key.public())))
        } else {
            None
        };
        let previous = self
            .store()
            .previous_keys(Some(self.party()))?
            .into_iter()
            .filter_map(|p| {
                let card = SignedCard::parse(&p.card).ok()?;
                Some((card.fingerprint(), p.retired_at, p.accepted_until))
            })
            .collect();
        Ok(KeyStatus {
            current: self.card()?.card.fingerprint(),
            next,
            waiting: self.store().card_updates_waiting()?,
            previous,
            tls_not_after: self.tls().not_after().ok(),
        })
    }

    /// The cards whose keys `party` may use now: its pinned card, then its
    /// previous cards still in their overlap.
    pub(crate) fn accepted_cards(&self, party: PartyCode) -> Vec<PartyCard> {
        let mut cards: Vec<PartyCard> = self.peer(party).into_iter().collect();
        let now = Timestamp::now();
        cards.extend(
            self.partner_previous_cards()
                .into_iter()
                .filter(|(card, until)| card.party == party && *until >= now)
                .map(|(card, _)| card),
        );
        cards
    }

    /// The signing keys and certificate fingerprints `party` may use now
    /// (see [`Node::accepted_cards`]).
    pub(crate) fn accepted_keys(&self, party: PartyCode) -> Vec<(PublicKey, [u8; 32])> {
        self.accepted_cards(party)
            .into_iter()
            .map(|c| (c.signing_key, c.tls_cert_sha256.0))
            .collect()
    }

    /// Our log's keys: the one in use, then those rotated out.
    pub fn own_log_keys(&self) -> Result<Vec<soberana_ledger::VerifierKey>, NodeError> {
        let mut keys = vec![self.log_key()?];
        keys.extend(
            self.previous_cards()
                .iter()
                .filter(|c| c.party == self.party())
                .filter_map(crate::card_log_key),
        );
        Ok(keys)
    }

    /// Every partner's witness keys: those of its card and of its previous
    /// cards (what each cosigned while it was in use).
    pub fn all_partner_witness_keys(&self) -> Vec<soberana_ledger::VerifierKey> {
        let mut keys = self.partner_witness_keys();
        keys.extend(
            self.previous_cards()
                .iter()
                .filter(|c| c.party != self.party())
                .filter_map(crate::card_witness_key),
        );
        keys
    }

    /// A partner's log keys: its card's, then its previous cards'.
    pub fn partner_log_keys(&self, party: PartyCode) -> Vec<soberana_ledger::VerifierKey> {
        self.peer(party)
            .into_iter()
            .chain(
                self.previous_cards()
                    .into_iter()
                    .filter(|c| c.party == party),
            )
            .filter_map(|c| crate::card_log_key(&c))
            .collect()
    }

    /// Every previous card of every party (ours included), checked.
    pub(crate) fn previous_cards(&self) -> Vec<PartyCard> {
        self.store()
            .previous_keys(None)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| SignedCard::parse(&p.card).ok())
            .collect()
    }

    /// Checks a partner's card update received from `sender` whose pinned
    /// card is `pinned`: the new card is signed by its own key, names the
    /// same party and log, and the overlap is bounded. Returns the new card
    /// text, the previous key and the log entry.
    pub(crate) fn check_card_update(
        &self,
        sender: PartyCode,
        pinned: &PartyCard,
        update: &CardUpdate,
    ) -> Result<(String, PreviousKey, LogEntry), String> {
        let text = update.card.to_text();
        let card = update
            .card
            .clone()
            .verify()
            .map_err(|e| format!("the new card does not verify: {e}"))?;
        if card.party != sender {
            return Err(format!(
                "the new card is for `{}`, not for its sender `{sender}`",
                card.party
            ));
        }
        if card.log_origin != pinned.log_origin {
            return Err(format!(
                "the new card names log `{}`; a rotation keeps the log `{}`",
                card.log_origin, pinned.log_origin
            ));
        }
        if update.overlap_days == 0 || update.overlap_days > MAX_OVERLAP_DAYS {
            return Err(format!(
                "an overlap of {} days is not taken: 1 to {MAX_OVERLAP_DAYS}",
                update.overlap_days
            ));
        }
        let old = self
            .store()
            .peers()
            .ok()
            .and_then(|peers| peers.into_iter().find(|(p, _)| *p == sender))
            .map(|(_, text)| text)
            .ok_or_else(|| format!("`{sender}` is not pinned"))?;
        let now = Timestamp::now();
        let previous = PreviousKey {
            party: sender,
            card: old,
            retired_at: now,
            accepted_until: now.plus_seconds(i64::from(update.overlap_days) * 86_400),
        };
        let log = LogEntry::PeerChange {
            party: sender.to_string(),
            key_fingerprint: key_fingerprint(&card.signing_key),
            change: PeerChangeKind::Added,
            time_ms: now.unix_millis().max(0) as u64,
        };
        Ok((text, previous, log))
    }
}
