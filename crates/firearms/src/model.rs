//! The words of a firearm trace: calendar dates, transfer events, and the
//! normalisation of manufacturers and serial numbers.
//!
//! A trace matches a recovered firearm to the records by manufacturer and
//! serial, so two spellings of either must become the same bytes first, or a
//! traceable firearm is reported as "no record". Serials are upper-cased
//! with spaces, dashes, dots and slashes removed, as on ATF's trace form;
//! manufacturers lose spaces and punctuation and a few common abbreviations
//! (`S&W`, `FNH`, `Sturm Ruger`) are resolved to one name. A serial that was
//! ground off or is illegible is recognised as such, so the trace reports
//! why it failed instead of searching for the word `OBLITERATED`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date, as days since 1970-01-01 (the A&D books record days, not times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.0
    }

    /// The date of a year, month and day, if it exists (years 1800–2200).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1800..=2200).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let length = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day > length {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Date(era * 146_097 + doe - 719_468))
    }

    /// The year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }

    /// Parses `YYYY-MM-DD` (a time after it, as in `2025-10-28T14:30:00Z`, is ignored).
    pub fn parse(text: &str) -> Option<Date> {
        let text = text.trim();
        let date = text.get(..10)?;
        if !text
            .get(10..)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('T'))
        {
            return None;
        }
        let b = date.as_bytes();
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let num = |s: &str| -> Option<u32> {
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        let year = num(date.get(..4)?)? as i32;
        Date::from_ymd(year, num(date.get(5..7)?)?, num(date.get(8..10)?)?)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
    }
}

/// One transfer of a firearm as the acquisition and disposition books
/// record it, in the order a firearm moves through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Entered in the manufacturer's book from production.
    Manufacture,
    /// Entered in an importer's book from a foreign maker.
    Import,
    /// Sold by a manufacturer or importer to a distributor (wholesaler).
    DistributorSale,
    /// Sold by a licensee to a retail dealer.
    DealerSale,
    /// Sold by a dealer to a person who is not a licensee: the first retail sale.
    RetailSale,
}

impl Event {
    /// Every event, in chain order.
    pub const ALL: [Event; 5] = [
        Event::Manufacture,
        Event::Import,
        Event::DistributorSale,
        Event::DealerSale,
        Event::RetailSale,
    ];

    /// The name used in files and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Manufacture => "manufacture",
            Event::Import => "import",
            Event::DistributorSale => "distributor_sale",
            Event::DealerSale => "dealer_sale",
            Event::RetailSale => "retail_sale",
        }
    }

    /// Looks an event up by its name.
    pub fn parse(text: &str) -> Option<Event> {
        let t = text.trim();
        Event::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(t))
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Event {
        Event::ALL
            .get(usize::from(code))
            .copied()
            .unwrap_or(Event::RetailSale)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Abbreviations of manufacturers' names seen on trace requests, and the
/// name the records use. Matched after normalisation.
const MANUFACTURER_ALIASES: &[(&str, &str)] = &[
    ("S&W", "SMITH&WESSON"),
    ("SMITHANDWESSON", "SMITH&WESSON"),
    ("FN", "FNHERSTAL"),
    ("FNH", "FNHERSTAL"),
    ("FNAMERICA", "FNHERSTAL"),
    ("FNHUSA", "FNHERSTAL"),
    ("STURMRUGER", "RUGER"),
    ("STURMRUGER&CO", "RUGER"),
    ("STURMRUGER&COMPANY", "RUGER"),
    ("SIG", "SIGSAUER"),
    ("SIGARMS", "SIGSAUER"),
    ("CUGIR", "ROMARM"),
    ("ROMARMCUGIR", "ROMARM"),
    ("PSA", "PALMETTOSTATEARMORY"),
    ("BARRETTFIREARMS", "BARRETT"),
    ("COLTS", "COLT"),
    ("COLTSMANUFACTURING", "COLT"),
];

/// Words written in the manufacturer box when it could not be read.
const UNKNOWN_MANUFACTURER: &[&str] = &["", "UNKNOWN", "UNK", "NONE", "NA", "N/A", "UNMARKED"];

/// The manufacturer as the records match it: upper case, without spaces,
/// dots, dashes, commas, slashes or apostrophes, abbreviations resolved.
/// `None` when the text says the manufacturer is not known.
pub fn normalise_manufacturer(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    if UNKNOWN_MANUFACTURER.contains(&upper.as_str()) {
        return None;
    }
    let compact: String = upper
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '.' | '-' | ',' | '\'' | '/' | '’'))
        .collect();
    if compact.is_empty() {
        return None;
    }
    Some(
        MANUFACTURER_ALIASES
            .iter()
            .find(|(alias, _)| *alias == compact)
            .map_or(compact, |(_, name)| (*name).to_owned()),
    )
}

/// What a serial number box holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serial {
    /// A serial, normalised.
    Number(String),
    /// The serial was ground off, drilled or is illegible (wholly or in
    /// part: `?` and `*` stand for characters that could not be read).
    Obliterated,
    /// The firearm has no serial, or none was written.
    Missing,
    /// Characters no serial has, or too long.
    Invalid(&'static str),
}

/// Longest serial accepted (ATF's field holds 30 characters).
pub const MAX_SERIAL_LEN: usize = 30;

const OBLITERATED_WORDS: &[&str] = &[
    "OBLITERATED",
    "OBLIT",
    "OBL",
    "GROUNDOFF",
    "DEFACED",
    "REMOVED",
    "ILLEGIBLE",
    "ALTERED",
    "BORRADO",
    "LIMADO",
];
const MISSING_WORDS: &[&str] = &[
    "", "NONE", "NOSERIAL", "NOSN", "NSN", "NS", "NA", "N/A", "UNKNOWN", "SINSERIE",
];

/// Normalises a serial into `out` (cleared first) and says what it is.
/// Writing into a caller's buffer keeps bulk ingest free of allocations.
pub fn normalise_serial_into(text: &str, out: &mut String) -> SerialKind {
    out.clear();
    let mut unreadable = false;
    for c in text.trim().chars() {
        match c {
            ' ' | '\t' | '-' | '.' | '/' => {}
            '?' | '*' | '#' => unreadable = true,
            c => out.push(c.to_ascii_uppercase()),
        }
    }
    if unreadable || OBLITERATED_WORDS.contains(&out.as_str()) {
        return SerialKind::Obliterated;
    }
    if MISSING_WORDS.contains(&out.as_str()) {
        return SerialKind::Missing;
    }
    if out.len() > MAX_SERIAL_LEN {
        return SerialKind::Invalid("a serial has at most 30 characters");
    }
    if !out.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return SerialKind::Invalid(
            "a serial has only letters and digits (spaces and dashes are ignored)",
        );
    }
    SerialKind::Number
}

/// [`normalise_serial_into`]'s verdict, without the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialKind {
    /// The buffer holds a normalised serial.
    Number,
    /// See [`Serial::Obliterated`].
    Obliterated,
    /// See [`Serial::Missing`].
    Missing,
    /// See [`Serial::Invalid`].
    Invalid(&'static str),
}

/// Normalises a serial.
pub fn normalise_serial(text: &str) -> Serial {
    let mut out = String::new();
    match normalise_serial_into(text, &mut out) {
        SerialKind::Number => Serial::Number(out),
        SerialKind::Obliterated => Serial::Obliterated,
        SerialKind::Missing => Serial::Missing,
        SerialKind::Invalid(why) => Serial::Invalid(why),
    }
}

/// The state (or province) at the end of a place written `"City, State"`;
/// the whole text when it has no comma, `"unknown"` when empty.
pub fn state_of_place(place: &str) -> String {
    let state = place.rsplit(',').next().unwrap_or("").trim();
    if state.is_empty() {
        "unknown".to_owned()
    } else {
        state.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_impossible_ones_are_refused() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2025-10-28", 20_389),
            ("1969-12-31", -1),
        ] {
            let d = Date::parse(text).unwrap();
            assert_eq!(d.days(), days, "{text}");
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(
            Date::parse("2025-10-28T14:30:00-07:00")
                .unwrap()
                .to_string(),
            "2025-10-28"
        );
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "25-10-28",
            "2025/10/28",
            "2025-10-28x",
            "",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        for days in (-30_000..40_000).step_by(7) {
            let d = Date::from_days(days);
            assert_eq!(Date::parse(&d.to_string()), Some(d));
        }
    }

    #[test]
    fn manufacturers_normalise_and_aliases_resolve() {
        assert_eq!(
            normalise_manufacturer("Smith & Wesson").unwrap(),
            "SMITH&WESSON"
        );
        assert_eq!(normalise_manufacturer("S&W").unwrap(), "SMITH&WESSON");
        assert_eq!(
            normalise_manufacturer("Sturm, Ruger & Co.").unwrap(),
            "RUGER"
        );
        assert_eq!(normalise_manufacturer("FN Herstal").unwrap(), "FNHERSTAL");
        assert_eq!(normalise_manufacturer("fnh").unwrap(), "FNHERSTAL");
        assert_eq!(normalise_manufacturer("Romarm/Cugir").unwrap(), "ROMARM");
        assert_eq!(normalise_manufacturer("Unknown"), None);
        assert_eq!(normalise_manufacturer("  "), None);
    }

    #[test]
    fn serials_normalise_and_obliterated_ones_are_recognised() {
        assert_eq!(
            normalise_serial(" lgc-123 456 "),
            Serial::Number("LGC123456".into())
        );
        assert_eq!(
            normalise_serial("AB.12/34"),
            Serial::Number("AB1234".into())
        );
        for oblit in [
            "OBLITERATED",
            "obliterated",
            "ground off",
            "LGC12??56",
            "***",
            "limado",
        ] {
            assert_eq!(normalise_serial(oblit), Serial::Obliterated, "{oblit}");
        }
        for missing in ["", "none", "N/A", "NS", "sin serie"] {
            assert_eq!(normalise_serial(missing), Serial::Missing, "{missing}");
        }
        assert!(matches!(normalise_serial("AB_12"), Serial::Invalid(_)));
        assert!(matches!(
            normalise_serial(&"9".repeat(31)),
            Serial::Invalid(_)
        ));
        assert!(matches!(normalise_serial("ÄB12"), Serial::Invalid(_)));
    }

    #[test]
    fn events_parse_by_name_and_order_along_the_chain() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(e));
            assert_eq!(Event::from_code(e.code()), e);
        }
        assert_eq!(Event::parse("RETAIL_SALE"), Some(Event::RetailSale));
        assert_eq!(Event::parse("sale"), None);
        assert!(Event::Manufacture < Event::RetailSale);
    }

    #[test]
    fn the_state_is_the_last_part_of_a_place() {
        assert_eq!(state_of_place("Nogales, Sonora"), "Sonora");
        assert_eq!(state_of_place("Culiacán, Sinaloa "), "Sinaloa");
        assert_eq!(state_of_place("Tamaulipas"), "Tamaulipas");
        assert_eq!(state_of_place(""), "unknown");
    }
}
