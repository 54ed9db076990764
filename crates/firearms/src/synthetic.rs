//! Synthetic acquisition and disposition records and trace requests, for
//! tests, the demo and the benchmark (feature `synthetic`).
//!
//! The records look like the books they imitate: real manufacturers and
//! importers with their models, calibres and serial formats; a few dozen
//! distributors; thousands of dealers weighted toward the states most
//! traces from Mexico lead to (Texas, Arizona, California); chains that
//! mostly reach a retail sale, some that stop in a dealer's stock, some
//! whose dealer records are missing. Every value comes from a seeded
//! generator and firearm `i` depends only on the seed and `i`, so a run is
//! reproducible and a requester's sample can be drawn without holding the
//! records. No real person or licence number is used: names are drawn from
//! common first and last names, licence numbers are made up.
//!
//! This file is long because the synthetic acquisition and disposition
//! records and the trace requests drawn from them share one seeded model of
//! makers, distributors, dealers and buyers; split, each half would need
//! the other's tables.

use std::fmt::Write as _;
use std::io::Write;

use crate::error::FieldError;
use crate::model::{Date, Event};
use crate::records::{NewRecord, RecordSet, RecordSetBuilder};
use crate::trace::TraceRequest;

/// SplitMix64: small, fast, good enough for synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> Option<&'a T> {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return Some(item);
            }
            x -= u64::from(*w);
        }
        None
    }
}

struct Maker {
    name: &'static str,
    licensee: &'static str,
    city: &'static str,
    state: &'static str,
    /// Foreign maker and importer, for imported firearms.
    import: Option<(&'static str, &'static str, &'static str, &'static str)>,
    models: &'static [(&'static str, &'static str)],
    prefix: &'static str,
    letters: u32,
    digits: u32,
    weight: u32,
}

const MAKERS: &[Maker] = &[
    Maker {
        name: "Smith & Wesson",
        licensee: "Smith & Wesson Inc. (FFL 4-62-013-07-5C-30881)",
        city: "Maryville",
        state: "TN",
        import: None,
        models: &[
            ("M&P15", "5.56"),
            ("M&P9", "9mm"),
            ("SD9VE", "9mm"),
            ("Model 686", ".357 Magnum"),
        ],
        prefix: "",
        letters: 3,
        digits: 4,
        weight: 14,
    },
    Maker {
        name: "Sturm, Ruger & Co.",
        licensee: "Sturm, Ruger & Co. (FFL 6-02-011-07-6L-00917)",
        city: "Newport",
        state: "NH",
        import: None,
        models: &[
            ("AR-556", "5.56"),
            ("Mini-14", ".223"),
            ("LCP", ".380"),
            ("10/22", ".22 LR"),
        ],
        prefix: "85",
        letters: 0,
        digits: 7,
        weight: 14,
    },
    Maker {
        name: "Colt",
        licensee: "Colt's Manufacturing (FFL 6-06-003-07-4K-01234)",
        city: "West Hartford",
        state: "CT",
        import: None,
        models: &[
            ("AR-15", "5.56"),
            ("M4 Carbine", "5.56"),
            ("Government 1911", ".45 ACP"),
            ("Super .38", ".38 Super"),
        ],
        prefix: "LGC",
        letters: 0,
        digits: 7,
        weight: 8,
    },
    Maker {
        name: "Glock",
        licensee: "Glock Inc. (FFL 1-58-067-08-7F-02355)",
        city: "Smyrna",
        state: "GA",
        import: Some((
            "Glock GmbH (Austria)",
            "Glock Inc. (FFL 1-58-067-08-7F-02355)",
            "Smyrna",
            "GA",
        )),
        models: &[("G17", "9mm"), ("G19", "9mm"), ("G22", ".40 S&W")],
        prefix: "",
        letters: 3,
        digits: 4,
        weight: 12,
    },
    Maker {
        name: "Barrett",
        licensee: "Barrett Firearms Mfg. (FFL 4-62-149-07-7A-01981)",
        city: "Murfreesboro",
        state: "TN",
        import: None,
        models: &[
            ("M82A1", ".50 BMG"),
            ("M107A1", ".50 BMG"),
            ("M95", ".50 BMG"),
        ],
        prefix: "",
        letters: 2,
        digits: 6,
        weight: 2,
    },
    Maker {
        name: "FN Herstal",
        licensee: "FN America (FFL 1-54-153-08-8D-04402)",
        city: "McLean",
        state: "VA",
        import: Some((
            "FN Herstal (Belgium)",
            "FN America (FFL 1-54-153-08-8D-04402)",
            "McLean",
            "VA",
        )),
        models: &[
            ("FN 5.7", "5.7x28"),
            ("SCAR 17S", "7.62x51"),
            ("FN 509", "9mm"),
        ],
        prefix: "",
        letters: 0,
        digits: 9,
        weight: 5,
    },
    Maker {
        name: "Romarm",
        licensee: "Century Arms (FFL 6-03-011-08-9B-00476)",
        city: "Fairfax",
        state: "VT",
        import: Some((
            "Romarm S.A. Cugir (Romania)",
            "Century Arms (FFL 6-03-011-08-9B-00476)",
            "Fairfax",
            "VT",
        )),
        models: &[("WASR-10", "7.62x39"), ("WASR-3", "5.56")],
        prefix: "1",
        letters: 2,
        digits: 6,
        weight: 9,
    },
    Maker {
        name: "Palmetto State Armory",
        licensee: "Palmetto State Armory (FFL 1-57-079-07-9M-06213)",
        city: "Columbia",
        state: "SC",
        import: None,
        models: &[("PA-15", "5.56"), ("AK-V", "9mm"), ("PSAK-47", "7.62x39")],
        prefix: "SCD",
        letters: 0,
        digits: 7,
        weight: 9,
    },
    Maker {
        name: "Anderson Manufacturing",
        licensee: "Anderson Manufacturing (FFL 4-61-081-07-2H-03319)",
        city: "Hebron",
        state: "KY",
        import: None,
        models: &[("AM-15", "5.56")],
        prefix: "",
        letters: 0,
        digits: 8,
        weight: 6,
    },
    Maker {
        name: "SIG Sauer",
        licensee: "SIG Sauer Inc. (FFL 6-02-015-07-9J-02750)",
        city: "Newington",
        state: "NH",
        import: None,
        models: &[("P320", "9mm"), ("MCX", "5.56"), ("P365", "9mm")],
        prefix: "",
        letters: 3,
        digits: 6,
        weight: 7,
    },
    Maker {
        name: "Taurus",
        licensee: "Taurus International (FFL 1-58-115-08-4E-05581)",
        city: "Bainbridge",
        state: "GA",
        import: Some((
            "Taurus Armas (Brazil)",
            "Taurus International (FFL 1-58-115-08-4E-05581)",
            "Bainbridge",
            "GA",
        )),
        models: &[("G2C", "9mm"), ("PT92", "9mm"), ("Judge", ".45 Colt/.410")],
        prefix: "",
        letters: 3,
        digits: 6,
        weight: 8,
    },
    Maker {
        name: "Springfield Armory",
        licensee: "Springfield Armory (FFL 3-36-073-07-1G-01173)",
        city: "Geneseo",
        state: "IL",
        import: None,
        models: &[("XD", "9mm"), ("Saint", "5.56"), ("M1A", ".308")],
        prefix: "AT",
        letters: 0,
        digits: 7,
        weight: 4,
    },
    Maker {
        name: "Kel-Tec",
        licensee: "Kel-Tec CNC Industries (FFL 1-59-009-07-3D-01447)",
        city: "Cocoa",
        state: "FL",
        import: None,
        models: &[
            ("PMR-30", ".22 WMR"),
            ("KSG", "12 gauge"),
            ("SUB-2000", "9mm"),
        ],
        prefix: "",
        letters: 1,
        digits: 6,
        weight: 2,
    },
];

/// Distributors (wholesalers), with their states.
const DISTRIBUTORS: &[(&str, &str, &str)] = &[
    ("Lone Star Wholesale Arms", "Fort Worth", "TX"),
    ("Gulf Coast Sporting Distributors", "Houston", "TX"),
    ("Southwest Firearms Supply", "Phoenix", "AZ"),
    ("Pacific Sporting Wholesale", "Fresno", "CA"),
    ("Mountain West Distributors", "Denver", "CO"),
    ("Heartland Outdoor Wholesale", "Kansas City", "MO"),
    ("Great Lakes Sporting Supply", "Toledo", "OH"),
    ("Magnolia Arms Distributors", "Jackson", "MS"),
    ("Atlantic Firearms Wholesale", "Richmond", "VA"),
    ("Sunbelt Sporting Distributors", "Orlando", "FL"),
    ("Rio Grande Wholesale", "Albuquerque", "NM"),
    ("Cascade Outdoor Distributors", "Spokane", "WA"),
];

/// Dealer states, weighted after where traced firearms recovered in Mexico
/// were first sold (Texas, Arizona and California lead).
const DEALER_STATES: &[(&str, u32)] = &[
    ("TX", 300),
    ("AZ", 160),
    ("CA", 110),
    ("NM", 40),
    ("FL", 50),
    ("GA", 30),
    ("NV", 25),
    ("CO", 25),
    ("IL", 25),
    ("OK", 20),
    ("LA", 20),
    ("NC", 20),
    ("TN", 20),
    ("UT", 15),
    ("VA", 15),
    ("OH", 20),
    ("PA", 20),
    ("WA", 15),
    ("MO", 15),
    ("KS", 10),
    ("AL", 10),
    ("SC", 10),
    ("IN", 10),
    ("MI", 10),
];

fn cities(state: &str) -> &'static [&'static str] {
    match state {
        "TX" => &[
            "Houston",
            "Laredo",
            "El Paso",
            "McAllen",
            "San Antonio",
            "Dallas",
            "Brownsville",
            "Eagle Pass",
        ],
        "AZ" => &["Tucson", "Phoenix", "Nogales", "Douglas", "Yuma", "Mesa"],
        "CA" => &[
            "San Diego",
            "Los Angeles",
            "Calexico",
            "Fresno",
            "Bakersfield",
        ],
        "NM" => &["Albuquerque", "Las Cruces", "Deming"],
        "FL" => &["Miami", "Tampa", "Orlando"],
        "GA" => &["Atlanta", "Savannah"],
        "NV" => &["Las Vegas", "Reno"],
        "CO" => &["Denver", "Pueblo"],
        "IL" => &["Chicago", "Springfield"],
        _ => &["Springfield", "Franklin", "Clinton", "Greenville"],
    }
}

const DEALER_WORDS: &[&str] = &[
    "Desert",
    "Borderland",
    "Lone Star",
    "Canyon",
    "Frontier",
    "Liberty",
    "Patriot",
    "Eagle",
    "Copper State",
    "Rio Grande",
    "Mesquite",
    "Sidewinder",
    "Big Bend",
    "Saguaro",
    "Pecos",
    "High Plains",
    "Red River",
    "Gulf",
    "Sun Country",
    "Ironwood",
];
const DEALER_KINDS: &[&str] = &[
    "Arms LLC",
    "Outdoors",
    "Guns & Ammo",
    "Firearms Inc.",
    "Shooting Supply",
    "Pawn & Gun",
    "Sporting Goods",
    "Tactical LLC",
];
const FIRST: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "David",
    "William",
    "Jose",
    "Luis",
    "Carlos",
    "Juan",
    "Daniel",
    "Christopher",
    "Anthony",
    "Mark",
    "Jesus",
    "Miguel",
    "Brian",
    "Kevin",
    "Jason",
    "Maria",
    "Jennifer",
    "Linda",
    "Ana",
    "Patricia",
    "Sarah",
    "Jessica",
    "Laura",
    "Rosa",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Martinez",
    "Rodriguez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Gomez",
    "Diaz",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
];

/// Recovery places in Mexico, weighted.
const RECOVERY: &[(&str, u32)] = &[
    ("Nogales, Sonora", 10),
    ("Hermosillo, Sonora", 8),
    ("Culiacán, Sinaloa", 14),
    ("Ciudad Juárez, Chihuahua", 12),
    ("Reynosa, Tamaulipas", 12),
    ("Nuevo Laredo, Tamaulipas", 8),
    ("Tijuana, Baja California", 12),
    ("Guadalajara, Jalisco", 10),
    ("Apatzingán, Michoacán", 6),
    ("Chilpancingo, Guerrero", 5),
    ("Ciudad de México, Ciudad de México", 5),
];
const CRIMES: &[(&str, u32)] = &[
    ("weapons_offense", 50),
    ("drug_trafficking", 25),
    ("homicide", 10),
    ("organized_crime", 10),
    ("kidnapping", 5),
];

/// First day records are generated for (2008-01-01).
fn start() -> Date {
    Date::from_ymd(2008, 1, 1).unwrap_or(Date::from_days(13_879))
}
const SPAN_DAYS: u64 = 6400; // to mid-2025

/// A firearm whose chain the demo (or a test) needs to know in advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// One of the generator's manufacturers (`"Barrett"`), or another.
    pub manufacturer: String,
    /// The model.
    pub model: String,
    /// The calibre.
    pub caliber: String,
    /// The serial.
    pub serial: String,
    /// The dealer who received it, with city and state.
    pub dealer: (String, String, String),
    /// When the dealer received it.
    pub dealer_sale: Date,
    /// The first retail purchaser and the date, or `None` (the books stop
    /// at the dealer).
    pub retail: Option<(String, Date)>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticOptions {
    /// Records to write (the last firearm's chain may be cut to fit).
    pub records: u64,
    /// The seed.
    pub seed: u64,
    /// Firearms written first, with known chains.
    pub planted: Vec<Planted>,
}

impl Default for SyntheticOptions {
    fn default() -> Self {
        SyntheticOptions {
            records: 100_000,
            seed: 1,
            planted: Vec::new(),
        }
    }
}

/// Dealers drawn once per seed: name with licence, city, state.
struct Dealers(Vec<(String, &'static str, &'static str)>);

impl Dealers {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0xdea1_e250);
        let mut v = Vec::with_capacity(3000);
        for j in 0..3000u64 {
            let state = rng.weighted(DEALER_STATES).copied().unwrap_or("TX");
            let city = rng.pick(cities(state)).copied().unwrap_or("Springfield");
            let word = rng.pick(DEALER_WORDS).copied().unwrap_or("Desert");
            let kind = rng.pick(DEALER_KINDS).copied().unwrap_or("Arms LLC");
            let name = format!(
                "{word} {kind} (FFL {}-{}-{:03}-01-{}{}-{:05})",
                1 + rng.below(9),
                50 + rng.below(40),
                rng.below(300),
                rng.below(10),
                char::from(b'A' + rng.below(26) as u8),
                j * 7 + rng.below(7)
            );
            v.push((name, city, state));
        }
        Dealers(v)
    }
}

/// The serial of firearm `i` in `maker`'s format: every `i` gives a
/// different serial (a bijection of `i` over the format's range).
fn serial_of(maker: &Maker, i: u64, out: &mut String) {
    out.clear();
    out.push_str(maker.prefix);
    let capacity = 26u128.pow(maker.letters) * 10u128.pow(maker.digits);
    // 2654435761 is prime and divides no 26^a·10^b: multiplying by it is a bijection.
    let mut v = (u128::from(i) * 2_654_435_761u128) % capacity;
    let mut digits = [0u8; 12];
    for d in digits.iter_mut().take(maker.digits as usize) {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    for _ in 0..maker.letters {
        out.push(char::from(b'A' + (v % 26) as u8));
        v /= 26;
    }
    for d in digits.iter().take(maker.digits as usize).rev() {
        out.push(char::from(*d));
    }
}

/// What happened to firearm `i`, enough to draw a request about it.
#[derive(Debug, Clone)]
pub struct SyntheticFirearm {
    /// Manufacturer.
    pub manufacturer: &'static str,
    /// Model.
    pub model: &'static str,
    /// Calibre.
    pub caliber: &'static str,
    /// Serial.
    pub serial: String,
    /// First retail sale, when there was one.
    pub retail: Option<Date>,
}

struct Chain {
    firearm: SyntheticFirearm,
    maker: &'static Maker,
    made: Date,
    distributor: Option<(usize, Date)>,
    dealer: Option<(usize, Date)>,
    purchaser: (usize, usize, u8),
}

fn chain(seed: u64, i: u64) -> Option<Chain> {
    let mut rng = Rng::new(seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let weights: Vec<(usize, u32)> = MAKERS
        .iter()
        .enumerate()
        .map(|(k, m)| (k, m.weight))
        .collect();
    let maker = MAKERS.get(*rng.weighted(&weights)?)?;
    let (model, caliber) = *rng.pick(maker.models)?;
    let mut serial = String::with_capacity(12);
    serial_of(maker, i, &mut serial);
    let made = Date::from_days(start().days() + rng.below(SPAN_DAYS) as i32);
    let distributor = rng.chance(800).then(|| {
        (
            rng.below(DISTRIBUTORS.len() as u64) as usize,
            Date::from_days(made.days() + 7 + rng.below(83) as i32),
        )
    });
    let after = distributor.map_or(made, |(_, d)| d);
    // 5 in 100: the dealer's records are missing (out of business, lost).
    let dealer = (!rng.chance(50)).then(|| {
        (
            rng.below(3000) as usize,
            Date::from_days(after.days() + 7 + rng.below(113) as i32),
        )
    });
    // Of those that reach a dealer, nine in ten are sold at retail, most
    // within a year or two, some after years on the shelf.
    let retail = dealer.and_then(|(_, d)| {
        rng.chance(900).then(|| {
            let wait = if rng.chance(700) {
                rng.below(365)
            } else {
                365 + rng.below(1500)
            };
            Date::from_days(d.days() + 1 + wait as i32)
        })
    });
    let purchaser = (
        rng.below(FIRST.len() as u64) as usize,
        rng.below(LAST.len() as u64) as usize,
        b'A' + rng.below(26) as u8,
    );
    Some(Chain {
        firearm: SyntheticFirearm {
            manufacturer: maker.name,
            model,
            caliber,
            serial,
            retail,
        },
        maker,
        made,
        distributor,
        dealer,
        purchaser,
    })
}

/// Firearm `i` of a seed's records.
pub fn firearm(seed: u64, i: u64) -> Option<SyntheticFirearm> {
    chain(seed, i).map(|c| c.firearm)
}

/// Generates the records, calling `sink` for each; returns how many
/// firearms were generated (planted ones included).
pub fn generate<E>(
    opts: &SyntheticOptions,
    mut sink: impl FnMut(&NewRecord<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let dealers = Dealers::new(opts.seed);
    let mut written = 0u64;
    let mut firearms = 0u64;
    let mut emit = |r: &NewRecord<'_>, written: &mut u64| -> Result<bool, E> {
        if *written >= opts.records {
            return Ok(false);
        }
        sink(r)?;
        *written += 1;
        Ok(true)
    };
    for p in &opts.planted {
        firearms += 1;
        let maker = MAKERS
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(&p.manufacturer));
        let licensee = maker.map_or(p.manufacturer.as_str(), |m| m.licensee);
        let (mcity, mstate) = maker.map_or(("", "TX"), |m| (m.city, m.state));
        let made = Date::from_days(p.dealer_sale.days() - 60);
        let (dname, dcity, dstate) = DISTRIBUTORS.first().copied().unwrap_or((
            "Lone Star Wholesale Arms",
            "Fort Worth",
            "TX",
        ));
        let base = NewRecord {
            manufacturer: &p.manufacturer,
            model: &p.model,
            caliber: &p.caliber,
            serial: &p.serial,
            event: Event::Manufacture,
            date: made,
            from: licensee,
            to: licensee,
            city: mcity,
            state: mstate,
        };
        emit(&base, &mut written)?;
        let distributed = Date::from_days(made.days() + 30);
        emit(
            &NewRecord {
                event: Event::DistributorSale,
                date: distributed,
                to: dname,
                city: dcity,
                state: dstate,
                ..base
            },
            &mut written,
        )?;
        let dealer = NewRecord {
            event: Event::DealerSale,
            date: p.dealer_sale,
            from: dname,
            to: &p.dealer.0,
            city: &p.dealer.1,
            state: &p.dealer.2,
            ..base
        };
        emit(&dealer, &mut written)?;
        if let Some((purchaser, date)) = &p.retail {
            emit(
                &NewRecord {
                    event: Event::RetailSale,
                    date: *date,
                    from: &p.dealer.0,
                    to: purchaser,
                    ..dealer
                },
                &mut written,
            )?;
        }
    }
    let planted: Vec<(String, String)> = opts
        .planted
        .iter()
        .map(|p| {
            (
                p.manufacturer.to_ascii_uppercase(),
                p.serial.to_ascii_uppercase(),
            )
        })
        .collect();
    let mut purchaser = String::new();
    let mut i = 0u64;
    while written < opts.records {
        let Some(c) = chain(opts.seed, i) else { break };
        i += 1;
        if planted
            .iter()
            .any(|(m, s)| *s == c.firearm.serial && m.eq_ignore_ascii_case(c.maker.name))
        {
            continue;
        }
        firearms += 1;
        let f = &c.firearm;
        let m = c.maker;
        let first = match m.import {
            Some((foreign, importer, city, state)) => NewRecord {
                manufacturer: m.name,
                model: f.model,
                caliber: f.caliber,
                serial: &f.serial,
                event: Event::Import,
                date: c.made,
                from: foreign,
                to: importer,
                city,
                state,
            },
            None => NewRecord {
                manufacturer: m.name,
                model: f.model,
                caliber: f.caliber,
                serial: &f.serial,
                event: Event::Manufacture,
                date: c.made,
                from: m.licensee,
                to: m.licensee,
                city: m.city,
                state: m.state,
            },
        };
        if !emit(&first, &mut written)? {
            break;
        }
        let mut holder = first.to;
        if let Some((k, date)) = c.distributor
            && let Some((name, city, state)) = DISTRIBUTORS.get(k)
        {
            emit(
                &NewRecord {
                    event: Event::DistributorSale,
                    date,
                    from: holder,
                    to: name,
                    city,
                    state,
                    ..first
                },
                &mut written,
            )?;
            holder = name;
        }
        if let Some((k, date)) = c.dealer
            && let Some((name, city, state)) = dealers.0.get(k)
        {
            emit(
                &NewRecord {
                    event: Event::DealerSale,
                    date,
                    from: holder,
                    to: name,
                    city,
                    state,
                    ..first
                },
                &mut written,
            )?;
            if let Some(sold) = f.retail {
                purchaser.clear();
                let (fi, la, mi) = c.purchaser;
                let _ = write!(
                    purchaser,
                    "{}, {} {}.",
                    LAST.get(la).copied().unwrap_or("Doe"),
                    FIRST.get(fi).copied().unwrap_or("John"),
                    char::from(mi)
                );
                emit(
                    &NewRecord {
                        event: Event::RetailSale,
                        date: sold,
                        from: name,
                        to: &purchaser,
                        city,
                        state,
                        ..first
                    },
                    &mut written,
                )?;
            }
        }
    }
    Ok(firearms)
}

/// Generates straight into a record set.
pub fn build(opts: &SyntheticOptions) -> Result<(RecordSet, u64), FieldError> {
    let mut b = RecordSetBuilder::with_capacity(usize::try_from(opts.records).unwrap_or(0));
    let firearms = generate(opts, |r| b.push(r))?;
    Ok((b.finish(), firearms))
}

/// Writes the records as CSV (the columns of [`crate::ingest::COLUMNS`]).
pub fn write_csv<W: Write>(opts: &SyntheticOptions, out: W) -> Result<u64, csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(crate::ingest::COLUMNS)?;
    let mut date = String::new();
    let firearms = generate(opts, |r| {
        date.clear();
        let _ = write!(date, "{}", r.date);
        w.write_record([
            r.manufacturer,
            r.model,
            r.caliber,
            r.serial,
            r.event.as_str(),
            &date,
            r.from,
            r.to,
            r.city,
            r.state,
        ])
    })?;
    w.flush()?;
    Ok(firearms)
}

/// Draws `n` trace requests as a requester would send them about firearms
/// recovered in Mexico: most about firearms in the records (`firearms` is
/// how many the records hold), the rest misread, obliterated, without a
/// serial or of a maker the records do not know. With `seed` the same
/// requests come back.
pub fn requests(records_seed: u64, firearms: u64, n: usize, seed: u64) -> Vec<TraceRequest> {
    let mut rng = Rng::new(seed ^ 0x7ace);
    let mut out = Vec::with_capacity(n);
    let mut serial = String::new();
    for k in 0..n {
        let place = rng.weighted(RECOVERY).copied().unwrap_or("Nogales, Sonora");
        let crime = rng.weighted(CRIMES).copied().unwrap_or("weapons_offense");
        let reference = (k + 1).to_string();
        let roll = rng.below(1000);
        let i = rng.below(firearms.max(1));
        let Some(f) = firearm(records_seed, i) else {
            break;
        };
        // Recovered some time after the sale (or after manufacture, for
        // firearms never sold at retail here).
        let base = f.retail.unwrap_or(Date::from_days(start().days() + 400));
        let ttc = if rng.chance(300) {
            rng.below(365)
        } else {
            365 + rng.below(3000)
        };
        let recovered_on = Some(Date::from_days(base.days() + 1 + ttc as i32));
        let mut req = TraceRequest {
            reference,
            manufacturer: f.manufacturer.to_owned(),
            model: f.model.to_owned(),
            caliber: f.caliber.to_owned(),
            serial: f.serial.clone(),
            recovered_at: place.to_owned(),
            recovered_on,
            crime_code: crime.to_owned(),
        };
        match roll {
            // A serial misread or made before the books were kept.
            0..=119 => {
                let maker = MAKERS.iter().find(|m| m.name == f.manufacturer);
                if let Some(m) = maker {
                    serial_of(m, firearms + 1_000_000 + k as u64, &mut serial);
                    req.serial = serial.clone();
                }
            }
            120..=239 => {
                req.serial = if rng.chance(500) {
                    "OBLITERATED".to_owned()
                } else {
                    format!(
                        "{}??",
                        f.serial
                            .get(..f.serial.len().saturating_sub(2))
                            .unwrap_or("")
                    )
                };
            }
            240..=279 => req.serial = String::new(),
            280..=339 => {
                req.manufacturer = rng
                    .pick(&["Norinco", "Unknown", "Zastava", "Izhmash"])
                    .copied()
                    .unwrap_or("Unknown")
                    .to_owned();
            }
            _ => {}
        }
        out.push(req);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Completeness, trace_batch};

    #[test]
    fn the_same_seed_gives_the_same_records() {
        let opts = SyntheticOptions {
            records: 2_000,
            ..Default::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_csv(&opts, &mut a).unwrap();
        write_csv(&opts, &mut b).unwrap();
        assert_eq!(a, b);
        let c = {
            let mut c = Vec::new();
            write_csv(
                &SyntheticOptions {
                    seed: 2,
                    ..opts.clone()
                },
                &mut c,
            )
            .unwrap();
            c
        };
        assert_ne!(a, c);
        // And what is written loads back, every row.
        let set = crate::ingest::parse_records(a.as_slice()).unwrap();
        assert_eq!(set.len(), 2_000);
    }

    #[test]
    fn serials_do_not_repeat_within_a_maker() {
        let mut seen = std::collections::HashSet::new();
        let mut s = String::new();
        for m in MAKERS {
            for i in 0..20_000 {
                serial_of(m, i, &mut s);
                assert!(seen.insert((m.name, s.clone())), "{} {s}", m.name);
            }
        }
    }

    #[test]
    fn requests_trace_about_as_often_as_real_ones() {
        let opts = SyntheticOptions {
            records: 50_000,
            ..Default::default()
        };
        let (set, firearms) = build(&opts).unwrap();
        let reqs = requests(opts.seed, firearms, 2_000, 9);
        assert_eq!(reqs.len(), 2_000);
        let results = trace_batch(&set, &reqs);
        let complete = results
            .iter()
            .filter(|r| r.completeness == Completeness::Complete)
            .count();
        // Roughly half complete, as with Mexico's traces; neither all nor none.
        assert!((700..1_300).contains(&complete), "{complete}");
        for r in results
            .iter()
            .filter(|r| r.completeness == Completeness::Complete)
        {
            assert!(r.time_to_crime_days().is_some());
        }
    }

    #[test]
    fn planted_firearms_come_first_with_the_chain_asked_for() {
        let planted = Planted {
            manufacturer: "Barrett".into(),
            model: "M82A1".into(),
            caliber: ".50 BMG".into(),
            serial: "AA004512".into(),
            dealer: ("Desert Arms LLC".into(), "Tucson".into(), "AZ".into()),
            dealer_sale: Date::parse("2023-04-20").unwrap(),
            retail: Some(("Doe, John A.".into(), Date::parse("2023-05-14").unwrap())),
        };
        let opts = SyntheticOptions {
            records: 1_000,
            planted: vec![planted],
            ..Default::default()
        };
        let (set, _) = build(&opts).unwrap();
        let t = set.transfers("BARRETT", "AA004512");
        assert_eq!(t.len(), 4);
        assert_eq!(t[3].to, "Doe, John A.");
        assert_eq!(t[3].city, "Tucson");
    }
}
