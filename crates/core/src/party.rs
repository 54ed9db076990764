//! Parties (countries) and where things happen.
//!
//! A party is identified by its ISO 3166-1 alpha-2 code. Its territory is its
//! land, its territorial waters (12 nautical miles by default) and the
//! airspace above both: a task "on a country's territory" is a task anywhere
//! in those three domains.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

/// An ISO 3166-1 alpha-2 party code such as `MX` or `US`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyCode([u8; 2]);

impl PartyCode {
    /// Parses a code: exactly two ASCII upper-case letters.
    pub fn new(code: &str) -> Result<Self, DomainError> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(DomainError::PartyCode(code.to_owned())),
        }
    }

    pub(crate) const fn from_letters(letters: [u8; 2]) -> Self {
        Self(letters)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction, so this
        // never takes the fallback branch.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for PartyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PartyCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for PartyCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PartyCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PartyCode::new(&text).map_err(serde::de::Error::custom)
    }
}

/// A party to the cooperation: a country with its own node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Its ISO 3166-1 alpha-2 code.
    pub code: PartyCode,
    /// Its name, for people.
    pub name: String,
    /// The breadth of its territorial waters in nautical miles.
    #[serde(default = "default_territorial_waters")]
    pub territorial_waters_nm: u16,
}

fn default_territorial_waters() -> u16 {
    12
}

/// Whose territory a place is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Territory {
    /// The territory of a party: its land, territorial waters and airspace.
    Of(PartyCode),
    /// Outside every party's territory: the high seas, international airspace.
    International,
}

impl Territory {
    /// The party whose territory this is, if any.
    pub fn party(&self) -> Option<PartyCode> {
        match self {
            Territory::Of(code) => Some(*code),
            Territory::International => None,
        }
    }
}

impl fmt::Display for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Territory::Of(code) => write!(f, "{code}"),
            Territory::International => f.write_str("international"),
        }
    }
}

impl Serialize for Territory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Territory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "international" {
            Ok(Territory::International)
        } else {
            PartyCode::new(&text)
                .map(Territory::Of)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// The physical domain of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// On land.
    Land,
    /// At sea (territorial waters, or the high seas when international).
    Waters,
    /// In the air.
    Airspace,
}

/// A place where a task happens or from which it is launched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Whose territory the place is in.
    pub territory: Territory,
    /// Land, waters or airspace.
    pub domain: Domain,
    /// A human description (a town, a crossing, coordinates).
    #[serde(default)]
    pub place: String,
}

impl Location {
    /// Whether the place is in `party`'s territory.
    pub fn is_in(&self, party: PartyCode) -> bool {
        self.territory == Territory::Of(party)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_codes_are_two_upper_case_letters() {
        for good in ["MX", "US", "CA", "GT"] {
            assert_eq!(PartyCode::new(good).unwrap().as_str(), good);
        }
        for bad in ["mx", "MEX", "M", "", "M1", "ÑA"] {
            assert!(PartyCode::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn territory_reads_party_codes_and_international() {
        let t: Territory = serde_json::from_str("\"MX\"").unwrap();
        assert_eq!(t, Territory::Of(PartyCode::new("MX").unwrap()));
        let t: Territory = serde_json::from_str("\"international\"").unwrap();
        assert_eq!(t, Territory::International);
        assert!(serde_json::from_str::<Territory>("\"mexico\"").is_err());
    }
}
