//! Agencies and their kinds.
//!
//! What an agency *is* decides what it may do on another party's territory,
//! so the kind comes from the receiving party's own registry, never from the
//! partner's description of itself: a partner cannot relabel an army as
//! police. Mexico's Guardia Nacional, for example, is military since the
//! constitutional reform of September 2024.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{DomainError, PartyCode};

/// An agency id: the party code, a dot, and a short name (`MX.FGR`, `US.DEA`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyId(String);

impl AgencyId {
    /// Parses an agency id.
    pub fn new(id: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::AgencyId(id.to_owned());
        let (party, name) = id.split_once('.').ok_or_else(bad)?;
        PartyCode::new(party).map_err(|_| bad())?;
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(bad());
        }
        Ok(Self(id.to_owned()))
    }

    /// The party the agency belongs to, as its id says.
    pub fn party(&self) -> PartyCode {
        // The constructor checked the prefix, so the fallback is unreachable
        // in practice; it keeps this function total without a panic.
        self.0
            .split_once('.')
            .and_then(|(p, _)| PartyCode::new(p).ok())
            .unwrap_or(PartyCode::UNKNOWN)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartyCode {
    /// `ZZ`, the user-assigned code used where no party is known.
    pub const UNKNOWN: PartyCode = PartyCode::from_letters(*b"ZZ");
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AgencyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AgencyId::new(&text).map_err(serde::de::Error::custom)
    }
}

/// What kind of body an agency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// Armed forces, and bodies staffed by military personnel.
    Military,
    /// Law enforcement whose officers carry arms (DEA, FBI, ATF, HSI, CBP).
    ArmedLawEnforcement,
    /// Civilian law enforcement.
    CivilianLawEnforcement,
    /// Prosecution services.
    Prosecution,
    /// Financial-intelligence units.
    FinancialIntelligence,
    /// Customs administrations.
    Customs,
    /// Intelligence services (which may field armed personnel).
    Intelligence,
    /// Ministries of foreign affairs and embassies.
    Diplomatic,
}

impl AgencyKind {
    /// Every kind, in a stable order.
    pub const ALL: [AgencyKind; 8] = [
        AgencyKind::Military,
        AgencyKind::ArmedLawEnforcement,
        AgencyKind::CivilianLawEnforcement,
        AgencyKind::Prosecution,
        AgencyKind::FinancialIntelligence,
        AgencyKind::Customs,
        AgencyKind::Intelligence,
        AgencyKind::Diplomatic,
    ];

    /// The kind's name as written in configuration and policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgencyKind::Military => "military",
            AgencyKind::ArmedLawEnforcement => "armed_law_enforcement",
            AgencyKind::CivilianLawEnforcement => "civilian_law_enforcement",
            AgencyKind::Prosecution => "prosecution",
            AgencyKind::FinancialIntelligence => "financial_intelligence",
            AgencyKind::Customs => "customs",
            AgencyKind::Intelligence => "intelligence",
            AgencyKind::Diplomatic => "diplomatic",
        }
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agency of a party, as the node's own registry describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Its id, prefixed by its party's code.
    pub id: AgencyId,
    /// Its name.
    pub name: String,
    /// What kind of body it is.
    pub kind: AgencyKind,
    /// A note on why it has this kind, where that is not obvious.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_ids_carry_their_party() {
        let id = AgencyId::new("MX.GN").unwrap();
        assert_eq!(id.party().as_str(), "MX");
        for bad in ["GN", "mx.GN", "MX.", "MX.G N", ".GN", "MX.a.b"] {
            assert!(AgencyId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_agency_kinds_are_refused() {
        assert!(serde_json::from_str::<AgencyKind>("\"police\"").is_err());
        assert_eq!(
            serde_json::from_str::<AgencyKind>("\"military\"").unwrap(),
            AgencyKind::Military
        );
    }
}
