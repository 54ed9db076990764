//! The registry of parties and agencies a node knows.
//!
//! A node's registry is its own view of the world: its own party and
//! agencies, and the partners' agencies with the kinds *it* assigns them. A
//! partner cannot change what its agencies count as here, and an agency the
//! registry does not know has no kind at all — policy treats it as military.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Agency, AgencyId, AgencyKind, DomainError, NamedPlace, Party, PartyCode};

/// One party's description: the party and its agencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyFile {
    /// The party.
    pub party: Party,
    /// Its agencies.
    #[serde(default)]
    pub agencies: Vec<Agency>,
    /// Named places senders may give as `at = "<id>"`. The node's geography,
    /// not this file, decides whose territory each one is in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<NamedPlace>,
}

impl PartyFile {
    /// Checks that every agency belongs to the party and ids are unique.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut seen = std::collections::BTreeSet::new();
        for agency in &self.agencies {
            if agency.id.party() != self.party.code {
                return Err(DomainError::Incomplete(format!(
                    "agency `{}` is listed under party `{}`",
                    agency.id, self.party.code
                )));
            }
            if !seen.insert(&agency.id) {
                return Err(DomainError::Incomplete(format!(
                    "agency `{}` is listed twice",
                    agency.id
                )));
            }
        }
        for place in &self.places {
            let in_range =
                (-90.0..=90.0).contains(&place.lat) && (-180.0..=180.0).contains(&place.lon);
            if !crate::is_place_id(&place.id) || !in_range {
                return Err(DomainError::Incomplete(format!(
                    "named place `{}` needs an id of lower-case letters, digits and `-`, and coordinates in range",
                    place.id
                )));
            }
        }
        Ok(())
    }
}

/// The parties and agencies a node knows, keyed for lookup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    parties: BTreeMap<PartyCode, Party>,
    agencies: BTreeMap<AgencyId, Agency>,
    places: BTreeMap<String, NamedPlace>,
}

impl Registry {
    /// A registry of the given party files.
    pub fn new(files: impl IntoIterator<Item = PartyFile>) -> Result<Self, DomainError> {
        let mut registry = Registry::default();
        for file in files {
            file.validate()?;
            for agency in file.agencies {
                registry.agencies.insert(agency.id.clone(), agency);
            }
            for place in file.places {
                if registry.places.contains_key(&place.id) {
                    return Err(DomainError::Incomplete(format!(
                        "named place `{}` is listed twice",
                        place.id
                    )));
                }
                registry.places.insert(place.id.clone(), place);
            }
            registry.parties.insert(file.party.code, file.party);
        }
        Ok(registry)
    }

    /// The party with this code, if known.
    pub fn party(&self, code: PartyCode) -> Option<&Party> {
        self.parties.get(&code)
    }

    /// The agency with this id, if known.
    pub fn agency(&self, id: &AgencyId) -> Option<&Agency> {
        self.agencies.get(id)
    }

    /// The kind this node assigns the agency; `None` if it does not know it.
    pub fn kind_of(&self, id: &AgencyId) -> Option<AgencyKind> {
        self.agencies.get(id).map(|a| a.kind)
    }

    /// Every known agency.
    pub fn agencies(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.values()
    }

    /// The named place with this id, if known.
    pub fn place(&self, id: &str) -> Option<&NamedPlace> {
        self.places.get(id)
    }

    /// Every named place.
    pub fn places(&self) -> impl Iterator<Item = &NamedPlace> {
        self.places.values()
    }

    /// Every known party.
    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.parties.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> PartyFile {
        let path = format!("{}/../../parties/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn shipped_party_files_load() {
        let registry = Registry::new([load("MX"), load("US")]).unwrap();
        let gn = AgencyId::new("MX.GN").unwrap();
        assert_eq!(registry.kind_of(&gn), Some(AgencyKind::Military));
        let cg = AgencyId::new("US.USCG").unwrap();
        assert_eq!(registry.kind_of(&cg), Some(AgencyKind::Military));
        assert_eq!(
            registry.kind_of(&AgencyId::new("US.BLACKWATER").unwrap()),
            None
        );
    }

    #[test]
    fn an_agency_listed_under_another_party_is_refused() {
        let mut file = load("MX");
        let mut stray = file.agencies[0].clone();
        stray.id = AgencyId::new("US.DOD").unwrap();
        file.agencies.push(stray);
        assert!(Registry::new([file]).is_err());
    }
}
