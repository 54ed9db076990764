//! A node's own geography, and the resolution of places against it.
//!
//! Where a place is, is a fact this node establishes itself: the sender's
//! label ("MX", "international") is a claim, checked against the node's own
//! geometry and never taken on trust. The geometry is compiled in
//! (`data/territory/land.json`, derived from Natural Earth; see the folder's
//! README) and holds each party's land at 1:50m and every other country's
//! land, unnamed, at 1:110m. The sea zones are measured from that land:
//!
//! * **territorial sea**: within 12 nautical miles of the party's land;
//! * **contiguous zone**: from 12 to 24 nautical miles;
//! * **exclusive economic zone**: from 24 to 200 nautical miles;
//!
//! each belonging to the party whose land is nearest (an equidistance line,
//! which is what the treaties between neighbours mostly draw). Land, the
//! territorial sea and the airspace above both are the party's territory;
//! the contiguous zone and the EEZ are not, but a red line may care about
//! them. This is an approximation, documented where it is used: coastlines
//! are simplified to about a kilometre, so a point within a couple of
//! kilometres of a land border may resolve to the neighbour.
//!
//! Places come as coordinates (`24.8,-107.39`), ISO 3166-2 codes (`MX-SIN`)
//! or the ids of named places in the node's registry (`culiacan`); anything
//! else, an unknown code, an unknown place, is refused with the field named.

use std::collections::HashMap;
use std::fmt;

use geo::{Coord, Intersects, LineString, Point, Polygon, Rect};
use serde::{Deserialize, Serialize};
use soberana_core::{Domain, Location, PartyCode, PlaceRef, Registry, Territory};

/// Nautical miles in kilometres.
const NM_KM: f64 = 1.852;
/// Mean Earth radius in kilometres.
const EARTH_KM: f64 = 6371.0088;
/// The breadth of the territorial sea (UNCLOS art. 3).
pub const TERRITORIAL_SEA_NM: f64 = 12.0;
/// The outer limit of the contiguous zone (UNCLOS art. 33).
pub const CONTIGUOUS_ZONE_NM: f64 = 24.0;
/// The outer limit of the exclusive economic zone (UNCLOS art. 57).
pub const EEZ_NM: f64 = 200.0;

/// The shipped geometry, compiled in.
const LAND: &str = include_str!("../../../data/territory/land.json");

/// Why a place could not be resolved, or a label could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// The notation is not one this node reads.
    #[error("`{field}`: {message}")]
    Notation {
        /// The field, such as `body.tasks[0].locations[1].at`.
        field: String,
        /// What was wrong.
        message: String,
    },
    /// The shipped geometry could not be read.
    #[error("the shipped geometry could not be read: {0}")]
    Geometry(String),
}

/// Which zone of whose a place is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// On (or over) a party's land.
    Land,
    /// In (or over) a party's territorial sea.
    TerritorialSea,
    /// In a party's contiguous zone (not its territory).
    ContiguousZone,
    /// In a party's exclusive economic zone (not its territory).
    ExclusiveEconomicZone,
    /// On the land, or in the waters, of a country that is not a party
    /// this node has geometry for.
    OtherCountry,
    /// Beyond every country's 200 nautical miles: the high seas.
    HighSeas,
    /// In outer space, which is no one's territory.
    OuterSpace,
}

impl Zone {
    /// The zone's name for people.
    pub fn label(&self) -> &'static str {
        match self {
            Zone::Land => "land",
            Zone::TerritorialSea => "territorial sea",
            Zone::ContiguousZone => "contiguous zone",
            Zone::ExclusiveEconomicZone => "exclusive economic zone",
            Zone::OtherCountry => "another country",
            Zone::HighSeas => "high seas",
            Zone::OuterSpace => "outer space",
        }
    }
}

/// What this node established about one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The party whose zone it is in, if a party this node has geometry for.
    pub party: Option<PartyCode>,
    /// Which zone.
    pub zone: Zone,
    /// The point it was resolved at, if it has one.
    pub point: Option<(f64, f64)>,
    /// How it was resolved, for people (`coordinates 24.8,-107.39`,
    /// `ISO 3166-2 MX-SIN`, `named place culiacan`).
    pub by: String,
}

impl Resolution {
    /// The party whose territory (land, territorial sea, the airspace
    /// above both) the place is in, if any.
    pub fn sovereign(&self) -> Option<PartyCode> {
        match self.zone {
            Zone::Land | Zone::TerritorialSea => self.party,
            _ => None,
        }
    }

    /// Whether the place is in `party`'s territory.
    pub fn is_territory_of(&self, party: PartyCode) -> bool {
        self.sovereign() == Some(party)
    }

    /// Whether the place is in `party`'s contiguous zone or EEZ.
    pub fn is_maritime_zone_of(&self, party: PartyCode) -> bool {
        self.party == Some(party)
            && matches!(
                self.zone,
                Zone::ContiguousZone | Zone::ExclusiveEconomicZone
            )
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.party, self.zone) {
            (Some(p), zone) => write!(f, "{p} {}", zone.label())?,
            (None, zone) => f.write_str(zone.label())?,
        }
        write!(f, " (by {})", self.by)
    }
}

/// One polygon with its bounding box.
struct Shape {
    polygon: Polygon<f64>,
    bbox: Rect<f64>,
}

/// The land of one owner: a party, or another country.
struct Land {
    party: Option<PartyCode>,
    shapes: Vec<Shape>,
}

#[derive(Deserialize)]
struct LandFile {
    source: String,
    parties: HashMap<String, Vec<Vec<Vec<f64>>>>,
    other: Vec<Vec<Vec<f64>>>,
}

/// A node's geography: the land of the parties and of everyone else, the
/// ISO 3166-2 subdivisions it knows, and its registry's named places.
pub struct Geography {
    lands: Vec<Land>,
    source: String,
    places: HashMap<String, (f64, f64)>,
}

impl fmt::Debug for Geography {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Geography")
            .field("source", &self.source)
            .field("places", &self.places.len())
            .finish_non_exhaustive()
    }
}

fn shapes(polygons: &[Vec<Vec<f64>>]) -> Result<Vec<Shape>, PlaceError> {
    let ring = |flat: &Vec<f64>| -> LineString<f64> {
        flat.chunks_exact(2)
            .filter_map(|c| match c {
                [x, y] => Some(Coord { x: *x, y: *y }),
                _ => None,
            })
            .collect()
    };
    let mut out = Vec::new();
    for rings in polygons {
        let Some((exterior, holes)) = rings.split_first() else {
            continue;
        };
        let polygon = Polygon::new(ring(exterior), holes.iter().map(ring).collect());
        let bbox = geo::BoundingRect::bounding_rect(&polygon)
            .ok_or_else(|| PlaceError::Geometry("an empty polygon".into()))?;
        out.push(Shape { polygon, bbox });
    }
    Ok(out)
}

impl Geography {
    /// The shipped geography, with the named places of `registry`.
    pub fn shipped(registry: &Registry) -> Result<Self, PlaceError> {
        let file: LandFile =
            serde_json::from_str(LAND).map_err(|e| PlaceError::Geometry(e.to_string()))?;
        let mut lands = Vec::new();
        let mut parties: Vec<_> = file.parties.iter().collect();
        parties.sort_by(|a, b| a.0.cmp(b.0));
        for (code, polygons) in parties {
            let party = PartyCode::new(code).map_err(|e| PlaceError::Geometry(e.to_string()))?;
            lands.push(Land {
                party: Some(party),
                shapes: shapes(polygons)?,
            });
        }
        lands.push(Land {
            party: None,
            shapes: shapes(&file.other)?,
        });
        let places = registry
            .places()
            .map(|p| (p.id.clone(), (p.lat, p.lon)))
            .collect();
        Ok(Self {
            lands,
            source: file.source,
            places,
        })
    }

    /// Where the geometry came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this node has geometry for `party`.
    pub fn has_geometry(&self, party: PartyCode) -> bool {
        self.lands.iter().any(|l| l.party == Some(party))
    }

    /// Resolves a point (decimal degrees) to whose zone it is in.
    pub fn locate(&self, lat: f64, lon: f64) -> (Option<PartyCode>, Zone) {
        let point = Point::new(lon, lat);
        for land in &self.lands {
            for shape in &land.shapes {
                if shape.bbox.intersects(&point) && shape.polygon.intersects(&point) {
                    return match land.party {
                        Some(p) => (Some(p), Zone::Land),
                        None => (None, Zone::OtherCountry),
                    };
                }
            }
        }
        let mut nearest: Option<(f64, Option<PartyCode>)> = None;
        let limit = EEZ_NM * NM_KM;
        for land in &self.lands {
            for shape in &land.shapes {
                let bound = nearest.map_or(limit, |(d, _)| d.min(limit));
                if bbox_distance_km(lat, lon, &shape.bbox) > bound {
                    continue;
                }
                let d = polygon_distance_km(lat, lon, &shape.polygon);
                if d <= bound && nearest.is_none_or(|(best, _)| d < best) {
                    nearest = Some((d, land.party));
                }
            }
        }
        match nearest {
            None => (None, Zone::HighSeas),
            Some((_, None)) => (None, Zone::OtherCountry),
            Some((d, Some(p))) => {
                let zone = if d <= TERRITORIAL_SEA_NM * NM_KM {
                    Zone::TerritorialSea
                } else if d <= CONTIGUOUS_ZONE_NM * NM_KM {
                    Zone::ContiguousZone
                } else {
                    Zone::ExclusiveEconomicZone
                };
                (Some(p), zone)
            }
        }
    }

    /// Checks a location's notation and label without resolving it fully:
    /// what intake refuses before anything is stored. `field` names the
    /// location (`body.tasks[0].locations[1]`).
    pub fn check(&self, field: &str, location: &Location) -> Result<(), PlaceError> {
        if let Some(Territory::Of(code)) = location.territory
            && !is_country_code(code.as_str())
        {
            return Err(PlaceError::Notation {
                field: format!("{field}.territory"),
                message: format!("`{code}` is not an ISO 3166-1 country code (or `international`)"),
            });
        }
        self.resolve(field, location).map(|_| ())
    }

    /// Resolves a location with this node's geography. `Ok(None)` when the
    /// location gives no place to resolve (only a label, or nothing);
    /// an error names the field when its notation, code or named place is
    /// not one this node knows.
    pub fn resolve(
        &self,
        field: &str,
        location: &Location,
    ) -> Result<Option<Resolution>, PlaceError> {
        let notation = |message: String| PlaceError::Notation {
            field: format!("{field}.at"),
            message,
        };
        let Some(parsed) = location.place_ref() else {
            return Ok(None);
        };
        let parsed = parsed.map_err(|e| notation(e.to_string()))?;
        let (party, zone, point, by) = match parsed {
            PlaceRef::Point { lat, lon } => {
                let (party, zone) = self.locate(lat, lon);
                (
                    party,
                    zone,
                    Some((lat, lon)),
                    format!("coordinates {lat},{lon}"),
                )
            }
            PlaceRef::Subdivision(code) => {
                let party = subdivision_party(code).ok_or_else(|| {
                    notation(format!(
                        "`{code}` is not an ISO 3166-2 subdivision this node knows"
                    ))
                })?;
                (Some(party), Zone::Land, None, format!("ISO 3166-2 {code}"))
            }
            PlaceRef::Named(id) => {
                let &(lat, lon) = self.places.get(id).ok_or_else(|| {
                    notation(format!(
                        "`{id}` is not a named place in this node's registry"
                    ))
                })?;
                let (party, zone) = self.locate(lat, lon);
                (
                    party,
                    zone,
                    Some((lat, lon)),
                    format!("named place {id} ({lat},{lon})"),
                )
            }
        };
        // Outer space is no one's territory, whatever is below it.
        let (party, zone) = if location.domain == Domain::Space {
            (None, Zone::OuterSpace)
        } else {
            (party, zone)
        };
        Ok(Some(Resolution {
            party,
            zone,
            point,
            by,
        }))
    }

    /// How the sender's label contradicts what this node established, if it
    /// does: a label naming a party whose territory the place is not in, or
    /// `international` for a place in a party's territory. A label naming a
    /// country this node has no geometry for contradicts only a place that
    /// is in a party's territory or on the high seas.
    pub fn contradiction(&self, label: Option<Territory>, fact: &Resolution) -> Option<String> {
        let label = label?;
        let sovereign = fact.sovereign();
        let wrong = match label {
            Territory::International => sovereign.is_some(),
            Territory::Of(p) if self.has_geometry(p) => sovereign != Some(p),
            Territory::Of(_) => {
                sovereign.is_some() || matches!(fact.zone, Zone::HighSeas | Zone::OuterSpace)
            }
        };
        wrong.then(|| format!("labelled `{label}` but this node resolves it to {fact}"))
    }
}

/// A lower bound of the distance from a point to a bounding box, in km.
fn bbox_distance_km(lat: f64, lon: f64, bbox: &Rect<f64>) -> f64 {
    let (min, max) = (bbox.min(), bbox.max());
    let dlat = if lat < min.y {
        min.y - lat
    } else if lat > max.y {
        lat - max.y
    } else {
        0.0
    };
    let dlon = if lon < min.x {
        min.x - lon
    } else if lon > max.x {
        lon - max.x
    } else {
        0.0
    };
    // Shrink longitude by the cosine of the highest latitude the box or the
    // point reaches: the bound stays a lower bound.
    let top = lat.abs().max(min.y.abs()).max(max.y.abs()).min(89.0);
    let dx = dlon * top.to_radians().cos();
    (dx * dx + dlat * dlat).sqrt().to_radians() * EARTH_KM
}

/// The distance from a point outside a polygon to its nearest edge, in km,
/// in a local equirectangular projection centred on the point (accurate to
/// well under one per cent within 200 nautical miles, below the polar
/// circles).
fn polygon_distance_km(lat: f64, lon: f64, polygon: &Polygon<f64>) -> f64 {
    let k = lat.to_radians().cos();
    let project = |c: &Coord<f64>| ((c.x - lon) * k, c.y - lat);
    let mut best = f64::INFINITY;
    for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
        for line in ring.lines() {
            let (ax, ay) = project(&line.start);
            let (bx, by) = project(&line.end);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (px, py) = (ax + t * dx, ay + t * dy);
            let d2 = px * px + py * py;
            if d2 < best {
                best = d2;
            }
        }
    }
    best.sqrt().to_radians() * EARTH_KM
}

/// The ISO 3166-2 subdivisions this node knows, by country.
const SUBDIVISIONS: [(&str, &str); 2] = [
    (
        "MX",
        "AGU BCN BCS CAM CHP CHH CMX COA COL DUR GUA GRO HID JAL MEX MIC MOR NAY NLE OAX PUE QUE ROO SLP SIN SON TAB TAM TLA VER YUC ZAC",
    ),
    (
        "US",
        "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI",
    ),
];

/// The country of an ISO 3166-2 code this node knows.
fn subdivision_party(code: &str) -> Option<PartyCode> {
    let (country, sub) = code.split_once('-')?;
    let (_, list) = SUBDIVISIONS.iter().find(|(c, _)| *c == country)?;
    list.split(' ')
        .any(|s| s == sub)
        .then(|| PartyCode::new(country).ok())
        .flatten()
}

/// Every ISO 3166-1 alpha-2 code officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` is an ISO 3166-1 alpha-2 country code.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

#[cfg(test)]
mod tests;
