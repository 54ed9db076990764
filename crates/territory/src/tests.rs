#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use soberana_core::PartyFile;

fn registry() -> Registry {
    let load = |name: &str| -> PartyFile {
        let path = format!("{}/../../parties/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    Registry::new([load("MX"), load("US")]).unwrap()
}

fn geo() -> Geography {
    Geography::shipped(&registry()).unwrap()
}

fn mx() -> PartyCode {
    PartyCode::new("MX").unwrap()
}

fn us() -> PartyCode {
    PartyCode::new("US").unwrap()
}

fn place(at: &str, label: Option<&str>, domain: Domain) -> Location {
    Location {
        territory: label.map(|l| serde_json::from_value(serde_json::json!(l)).unwrap()),
        domain,
        place: String::new(),
        at: Some(at.to_owned()),
    }
}

#[test]
fn cities_resolve_to_their_party_s_land() {
    let g = geo();
    for (lat, lon, party) in [
        (24.8091, -107.3940, mx()), // Culiacán
        (19.4326, -99.1332, mx()),  // Mexico City
        (32.6245, -115.4523, mx()), // Mexicali
        (31.6904, -106.4245, mx()), // Ciudad Juárez
        (31.7900, -106.4400, us()), // El Paso
        (32.2226, -110.9747, us()), // Tucson
        (61.2181, -149.9003, us()), // Anchorage
        (21.3069, -157.8583, us()), // Honolulu
        (20.9674, -89.5926, mx()),  // Mérida
    ] {
        assert_eq!(g.locate(lat, lon), (Some(party), Zone::Land), "{lat},{lon}");
    }
}

#[test]
fn sea_zones_are_measured_from_our_own_coast() {
    let g = geo();
    // Off Mazatlán, heading west-south-west from the coast.
    assert_eq!(g.locate(23.20, -106.50), (Some(mx()), Zone::TerritorialSea));
    assert_eq!(g.locate(23.05, -106.78), (Some(mx()), Zone::ContiguousZone));
    assert_eq!(
        g.locate(22.30, -107.60),
        (Some(mx()), Zone::ExclusiveEconomicZone)
    );
    // The Gulf of Mexico off Veracruz, 5 nm out.
    assert_eq!(g.locate(19.20, -96.03), (Some(mx()), Zone::TerritorialSea));
    // The middle of the Pacific, far from everyone.
    assert_eq!(g.locate(10.0, -130.0), (None, Zone::HighSeas));
    // Guatemala City is on another country's land.
    assert_eq!(g.locate(14.6349, -90.5069), (None, Zone::OtherCountry));
}

#[test]
fn codes_and_named_places_resolve_and_unknown_ones_are_refused() {
    let g = geo();
    let r = g
        .resolve("x", &place("MX-SIN", None, Domain::Land))
        .unwrap()
        .unwrap();
    assert!(r.is_territory_of(mx()));
    let r = g
        .resolve("x", &place("culiacan", None, Domain::Airspace))
        .unwrap()
        .unwrap();
    assert!(r.is_territory_of(mx()), "{r}");
    let r = g
        .resolve("x", &place("el-paso", None, Domain::Land))
        .unwrap()
        .unwrap();
    assert!(r.is_territory_of(us()), "{r}");
    for bad in ["MX-XYZ", "GT-01", "atlantis", "Culiacán", "24.8"] {
        let e = g
            .check(
                "body.tasks[0].locations[0]",
                &place(bad, None, Domain::Land),
            )
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("`body.tasks[0].locations[0].at`"), "{e}");
    }
    let e = g
        .check("body.location", &place("MX-SIN", Some("QQ"), Domain::Land))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`body.location.territory`") && e.contains("QQ"),
        "{e}"
    );
    assert!(
        g.check("l", &place("MX-SIN", Some("GT"), Domain::Land))
            .is_ok()
    );
}

#[test]
fn labels_that_contradict_the_geometry_are_found() {
    let g = geo();
    let resolve = |at: &str, domain| g.resolve("x", &place(at, None, domain)).unwrap().unwrap();
    let label = |l: &str| -> Option<Territory> {
        Some(serde_json::from_value(serde_json::json!(l)).unwrap())
    };
    let culiacan = resolve("culiacan", Domain::Land);
    assert!(g.contradiction(label("US"), &culiacan).is_some());
    assert!(g.contradiction(label("international"), &culiacan).is_some());
    assert!(g.contradiction(label("GT"), &culiacan).is_some());
    assert!(g.contradiction(label("MX"), &culiacan).is_none());
    assert!(g.contradiction(None, &culiacan).is_none());
    // International airspace over our EEZ is international; over our
    // territorial sea it is ours.
    let eez = resolve("22.30,-107.60", Domain::Airspace);
    assert!(g.contradiction(label("international"), &eez).is_none());
    assert!(eez.is_maritime_zone_of(mx()));
    let sea = resolve("23.20,-106.50", Domain::Airspace);
    assert!(g.contradiction(label("international"), &sea).is_some());
    // Space is no one's.
    let orbit = resolve("culiacan", Domain::Space);
    assert_eq!(orbit.sovereign(), None);
    assert!(g.contradiction(label("international"), &orbit).is_none());
    // A third country's label on its own land cannot be checked, and
    // stands; on the high seas it is wrong.
    let guatemala = resolve("14.6349,-90.5069", Domain::Land);
    assert!(g.contradiction(label("GT"), &guatemala).is_none());
    assert!(
        g.contradiction(label("GT"), &resolve("10,-130", Domain::Waters))
            .is_some()
    );
}

#[test]
fn only_assigned_country_codes_are_codes() {
    assert!(is_country_code("MX") && is_country_code("GT") && is_country_code("US"));
    assert!(!is_country_code("QQ") && !is_country_code("ZZ") && !is_country_code("XX"));
}

#[test]
fn test_points_used_elsewhere_resolve_as_documented() {
    let g = geo();
    // US territorial sea off Galveston, and off San Diego.
    assert_eq!(g.locate(29.15, -94.75), (Some(us()), Zone::TerritorialSea));
    assert_eq!(g.locate(32.70, -117.32), (Some(us()), Zone::TerritorialSea));
    // MX territorial sea off Tijuana's coast, 5 nm.
    assert_eq!(g.locate(32.40, -117.20), (Some(mx()), Zone::TerritorialSea));
}
