//! The keys a receipt or checkpoint is checked against: this node's own and
//! those of the partners it pinned, never the keys a bundle carries.
//!
//! A receipt made by another pair of nodes carries keys that verify it; only
//! comparing them with keys obtained out of band (our own, the cards compared
//! over an official channel before `soberana peer add`) tells it apart from
//! one of ours. Every verdict names the key it used by party and card
//! fingerprint.

use soberana_ledger::PinnedParty;
use soberana_wire::PartyCard;

use crate::NodeError;
use crate::ledger::{card_log_key, card_witness_key};
use crate::node::Node;

/// The log and witness keys of `card`, labelled with whose they are.
pub fn card_pinned_party(card: &PartyCard, source: &str) -> Option<PinnedParty> {
    Some(PinnedParty {
        owner: format!("{}, {source} {}", card.party, card.fingerprint()),
        log: card_log_key(card)?,
        witness: card_witness_key(card)?,
    })
}

impl Node {
    /// This node's own keys and those of every pinned partner, labelled: the
    /// trust a receipt check run at this node uses.
    pub fn pinned_parties(&self) -> Result<Vec<PinnedParty>, NodeError> {
        let own = self.card()?.card;
        let mut parties = vec![PinnedParty {
            owner: format!("{}, this node's own key {}", own.party, own.fingerprint()),
            log: self.log_key()?,
            witness: self.witness_key()?,
        }];
        parties.extend(
            self.peers()
                .iter()
                .filter_map(|card| card_pinned_party(card, "pinned card")),
        );
        // Keys rotated out, ours and partners': what they signed while they
        // were in use still verifies against them.
        parties.extend(
            self.previous_cards()
                .iter()
                .filter_map(|card| card_pinned_party(card, "previous card")),
        );
        Ok(parties)
    }
}
