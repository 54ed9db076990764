//! Free text never carries consent.
//!
//! A partner can always describe an act only in prose: an alert's details,
//! a notification's summary. What a node accepts is the structured content
//! alone; prose that speaks of force, troops, strikes, raids, pursuit or
//! incursion (in Spanish or English) sends the proposal to an officer
//! instead of the automatic path, with the passage quoted.

use serde::Serialize;
use soberana_core::Proposal;

/// Words and phrases that speak of force or of foreign forces acting, in
/// English and Spanish, accents removed, lower case.
const FORCE_TERMS: &[&str] = &[
    // English
    "strike",
    "airstrike",
    "drone strike",
    "raid",
    "troops",
    "soldier",
    "special forces",
    "special operations",
    "military",
    "marines",
    "pursuit",
    "pursue",
    "pursuing",
    "incursion",
    "cross into",
    "crossing into",
    "use of force",
    "lethal",
    "kinetic",
    "bomb",
    "missile",
    "armed agents",
    "armed personnel",
    "gunship",
    "invade",
    "invasion",
    "firefight",
    "open fire",
    "take out",
    "neutralize",
    // Spanish
    "ataque",
    "bombardeo",
    "bombardear",
    "dron",
    "tropas",
    "soldado",
    "fuerzas especiales",
    "operaciones especiales",
    "militar",
    "persecucion",
    "perseguir",
    "persiguiendo",
    "incursion",
    "redada",
    "uso de la fuerza",
    "fuerza letal",
    "letal",
    "misil",
    "invasion",
    "invadir",
    "agentes armados",
    "personal armado",
    "disparar",
    "abatir",
    "enfrentamiento",
];

/// Words that place a passage on Mexico's territory.
const MX_TERMS: &[&str] = &[
    "mexico",
    "mexican",
    "mexicano",
    "mexicana",
    "territorio nacional",
    "national territory",
    "our territory",
    "nuestro territorio",
    "south of the border",
    "al sur de la frontera",
    "across the border",
    "cross the border",
    "crossing the border",
    "cruzar la frontera",
    "cruzando la frontera",
    "cruzaran la frontera",
    "cruzara la frontera",
    "cruzo la frontera",
    "crossed the border",
    "aguascalientes",
    "baja california",
    "campeche",
    "chiapas",
    "chihuahua",
    "coahuila",
    "colima",
    "durango",
    "guanajuato",
    "guerrero",
    "hidalgo",
    "jalisco",
    "michoacan",
    "morelos",
    "nayarit",
    "nuevo leon",
    "oaxaca",
    "puebla",
    "queretaro",
    "quintana roo",
    "san luis potosi",
    "sinaloa",
    "sonora",
    "tabasco",
    "tamaulipas",
    "tlaxcala",
    "veracruz",
    "yucatan",
    "zacatecas",
    "culiacan",
    "tijuana",
    "mexicali",
    "juarez",
    "monterrey",
    "guadalajara",
    "reynosa",
    "matamoros",
    "nuevo laredo",
    "mazatlan",
    "acapulco",
    "cancun",
];

/// Words that place a passage on the United States' territory.
const US_TERMS: &[&str] = &[
    "united states",
    "estados unidos",
    "american soil",
    "u.s. soil",
    "us soil",
    "u.s. territory",
    "our territory",
    "nuestro territorio",
    "north of the border",
    "al norte de la frontera",
    "across the border",
    "cross the border",
    "crossing the border",
    "cruzar la frontera",
    "cruzando la frontera",
    "cruzaran la frontera",
    "cruzara la frontera",
    "cruzo la frontera",
    "crossed the border",
    "texas",
    "arizona",
    "california",
    "new mexico",
    "nuevo mexico",
    "el paso",
    "san diego",
    "tucson",
    "phoenix",
    "houston",
    "laredo",
];

/// Where prose speaks of force on our territory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProsePassage {
    /// The field (`body.details`).
    pub field: String,
    /// The words of force matched.
    pub term: String,
    /// The words placing it on our territory.
    pub place: String,
    /// The passage around the words of force, as written.
    pub passage: String,
}

fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'a',
        'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ò' | 'Ö' | 'Ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'u',
        'ñ' | 'Ñ' => 'n',
        c => c.to_ascii_lowercase(),
    }
}

/// Folds text for matching: lower case, accents removed.
fn folded(text: &str) -> String {
    text.chars().map(fold).collect()
}

/// The first of `terms` found in `folded` as whole words (or their plural),
/// with its character range.
fn find(folded: &[char], terms: &[Vec<char>]) -> Option<(String, usize, usize)> {
    let is_word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    for start in 0..folded.len() {
        if start > 0 && is_word(folded.get(start - 1)) {
            continue;
        }
        let Some(first) = folded.get(start) else {
            continue;
        };
        for term in terms {
            if term.first() != Some(first) {
                continue;
            }
            let len = term.len();
            let Some(window) = folded.get(start..start + len) else {
                continue;
            };
            if window != term.as_slice() {
                continue;
            }
            // A whole word, or its plural (`raids`, `ataques`, `drones`).
            let mut end = start + len;
            for suffix in [&['e', 's'][..], &['s'][..]] {
                if folded
                    .get(end..end + suffix.len())
                    .is_some_and(|s| s == suffix)
                    && !is_word(folded.get(end + suffix.len()))
                {
                    end += suffix.len();
                    break;
                }
            }
            if is_word(folded.get(end)) {
                continue;
            }
            return Some((term.iter().collect(), start, end));
        }
    }
    None
}

/// Finds prose that speaks of force on one party's territory.
#[derive(Debug, Clone)]
pub struct ProseScanner {
    force: Vec<Vec<char>>,
    territory: Vec<Vec<char>>,
}

impl ProseScanner {
    /// A scanner for `party`'s node; `places` are the names of the named
    /// places in its registry, which count as its territory too.
    pub fn new<'a>(party: &str, places: impl IntoIterator<Item = &'a str>) -> Self {
        let base: &[&str] = match party {
            "MX" => MX_TERMS,
            "US" => US_TERMS,
            _ => &[
                "our territory",
                "nuestro territorio",
                "across the border",
                "cruzar la frontera",
            ],
        };
        let mut territory: Vec<String> = base.iter().map(|t| (*t).to_owned()).collect();
        for name in places {
            // "Culiacán, Sinaloa" counts by its first part.
            let first = name.split(',').next().unwrap_or(name).trim();
            if first.chars().count() >= 4 {
                territory.push(folded(first));
            }
        }
        Self {
            force: FORCE_TERMS.iter().map(|t| t.chars().collect()).collect(),
            territory: territory.iter().map(|t| t.chars().collect()).collect(),
        }
    }

    /// The passage of `text` that speaks of force on our territory, if any:
    /// words of force and words placing it on our territory in the same text.
    pub fn passage(&self, text: &str) -> Option<(String, String, String)> {
        if text.is_empty() {
            return None;
        }
        let chars: Vec<char> = text.chars().collect();
        let fold: Vec<char> = chars.iter().map(|c| fold(*c)).collect();
        let (term, start, end) = find(&fold, &self.force)?;
        let (place, _, _) = find(&fold, &self.territory)?;
        let from = start.saturating_sub(40);
        let to = (end + 40).min(chars.len());
        let mut passage: String = chars.get(from..to).unwrap_or(&[]).iter().collect();
        if from > 0 {
            passage.insert(0, '…');
        }
        if to < chars.len() {
            passage.push('…');
        }
        Some((term, place, passage))
    }

    /// Every field of a proposal whose prose speaks of force on our
    /// territory.
    pub fn scan(&self, proposal: &Proposal) -> Vec<ProsePassage> {
        let mut fields: Vec<(String, &str)> = vec![
            ("purpose".to_owned(), proposal.purpose.as_str()),
            ("legal_basis".to_owned(), proposal.legal_basis.as_str()),
        ];
        fields.extend(proposal.body.prose());
        fields
            .into_iter()
            .filter_map(|(field, text)| {
                self.passage(text)
                    .map(|(term, place, passage)| ProsePassage {
                        field,
                        term,
                        place,
                        passage,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn force_on_our_territory_is_found_in_both_languages() {
        let mx = ProseScanner::new("MX", ["Culiacán, Sinaloa"]);
        for text in [
            "A CBP helicopter is in pursuit of the suspects 40 km into Mexico",
            "drone strikes on the lab in Culiacán",
            "Raids planned for Tuesday in Sinaloa",
            "tropas estadounidenses cruzarán la frontera",
            "persecución en caliente hasta Sonora",
            "Incursión de agentes armados en territorio nacional",
            "un bombardeo con drones sobre Culiacán",
        ] {
            assert!(mx.passage(text).is_some(), "{text}");
        }
        for text in [
            "Believed to carry 40 rifles concealed in a false floor, heading to Mexico",
            "Authorises the use of military force against designated organisations",
            "who owns the shipping company in Sinaloa",
            "striker's jersey; a raider's manual; paramilitary in Sonora",
            "los datos del registro de armas en México",
        ] {
            assert!(mx.passage(text).is_none(), "{text}");
        }
        let (term, place, passage) = mx
            .passage("The suspects fled. Agents will pursue them into Sonora.")
            .unwrap();
        assert_eq!((term.as_str(), place.as_str()), ("pursue", "sonora"));
        assert!(passage.contains("pursue them into Sonora"), "{passage}");
        // The US node reads its own territory.
        let us = ProseScanner::new("US", []);
        assert!(us.passage("Mexican troops will cross into Texas").is_some());
        assert!(us.passage("drone strikes on the lab in Culiacán").is_none());
    }
}
