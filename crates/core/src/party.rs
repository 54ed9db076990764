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

/// The physical domain of a place, or of an act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// On land.
    Land,
    /// At sea (territorial waters, or the high seas when international).
    Waters,
    /// In the air.
    Airspace,
    /// In computer networks: the place is where the systems acted on are.
    Cyber,
    /// In outer space, which is no party's territory.
    Space,
}

impl Domain {
    /// The domain's name as written in files and policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            Domain::Land => "land",
            Domain::Waters => "waters",
            Domain::Airspace => "airspace",
            Domain::Cyber => "cyber",
            Domain::Space => "space",
        }
    }
}

/// A place where a task happens or from which it is launched.
///
/// `at` is the place in a notation the receiving node resolves with its own
/// geography (see [`PlaceRef`]); `territory` and `domain` are the sender's
/// own description of it, which the receiver checks against that resolution
/// and never takes on trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Whose territory the sender says the place is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<Territory>,
    /// Land, waters, airspace, cyber or space.
    pub domain: Domain,
    /// A human description (a town, a crossing).
    #[serde(default)]
    pub place: String,
    /// The place in a notation the receiver resolves: `lat,lon` in decimal
    /// degrees (or `geo:lat,lon`), an ISO 3166-2 code such as `MX-SIN`, or
    /// the id of a named place in the registry such as `culiacan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Location {
    /// Whether the sender's label puts the place in `party`'s territory.
    pub fn is_labelled(&self, party: PartyCode) -> bool {
        self.territory == Some(Territory::Of(party))
    }

    /// The place's notation, parsed; `None` when the location has none.
    pub fn place_ref(&self) -> Option<Result<PlaceRef<'_>, DomainError>> {
        self.at.as_deref().map(PlaceRef::parse)
    }
}

/// A place in one of the notations a node resolves with its own geography.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlaceRef<'a> {
    /// A point in decimal degrees (WGS 84).
    Point {
        /// Latitude, −90 to 90.
        lat: f64,
        /// Longitude, −180 to 180.
        lon: f64,
    },
    /// An ISO 3166-2 subdivision code such as `MX-SIN` (the part before the
    /// hyphen is the country).
    Subdivision(&'a str),
    /// The id of a named place in the node's registry (`culiacan`).
    Named(&'a str),
}

impl<'a> PlaceRef<'a> {
    /// Parses a place notation; anything else is refused, never guessed at.
    pub fn parse(text: &'a str) -> Result<Self, DomainError> {
        let bad = || DomainError::Place(text.to_owned());
        let t = text.trim();
        let coords = t.strip_prefix("geo:").unwrap_or(t);
        if let Some((a, b)) = coords.split_once(',') {
            let number = |s: &str| -> Result<f64, DomainError> {
                let s = s.trim();
                let ok = !s.is_empty()
                    && s.len() <= 16
                    && s.chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
                if !ok {
                    return Err(bad());
                }
                s.parse::<f64>().map_err(|_| bad())
            };
            let (lat, lon) = (number(a)?, number(b)?);
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(bad());
            }
            return Ok(PlaceRef::Point { lat, lon });
        }
        let b = t.as_bytes();
        if b.len() >= 4
            && b.len() <= 6
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_uppercase()
            && b[2] == b'-'
            && b[3..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Ok(PlaceRef::Subdivision(t));
        }
        if is_place_id(t) {
            return Ok(PlaceRef::Named(t));
        }
        Err(bad())
    }
}

/// Whether `id` is a well-formed named-place id: 1 to 64 lower-case ASCII
/// letters, digits or hyphens, starting with a letter.
pub fn is_place_id(id: &str) -> bool {
    id.len() <= 64
        && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A named place in a node's registry: an id senders may use in `at`, and
/// the coordinates the node resolves it to. Which territory it is in is
/// decided by the node's geography, not by the file that lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPlace {
    /// Its id (`culiacan`, `deconcini-port`).
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// Latitude in decimal degrees.
    pub lat: f64,
    /// Longitude in decimal degrees.
    pub lon: f64,
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
    fn place_notations_parse_and_others_are_refused() {
        assert_eq!(
            PlaceRef::parse("24.8, -107.39").unwrap(),
            PlaceRef::Point {
                lat: 24.8,
                lon: -107.39
            }
        );
        assert_eq!(
            PlaceRef::parse("geo:24.8,-107.39").unwrap(),
            PlaceRef::Point {
                lat: 24.8,
                lon: -107.39
            }
        );
        assert_eq!(
            PlaceRef::parse("MX-SIN").unwrap(),
            PlaceRef::Subdivision("MX-SIN")
        );
        assert_eq!(
            PlaceRef::parse("culiacan").unwrap(),
            PlaceRef::Named("culiacan")
        );
        for bad in [
            "Culiacán, Sinaloa",
            "91,0",
            "0,181",
            "24.8",
            "NaN,1",
            "MX_SIN",
            "24°48'N 107°23'W",
            "",
            "1e3,2",
        ] {
            assert!(PlaceRef::parse(bad).is_err(), "{bad}");
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
