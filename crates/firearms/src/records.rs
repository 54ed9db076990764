//! The acquisition and disposition records a node holds, kept compact and
//! indexed by manufacturer and serial.
//!
//! A record is one transfer in a licensee's book: made or imported, sold to
//! a distributor, to a dealer, or by a dealer to its first retail purchaser.
//! Ten million of them must fit comfortably in memory and answer thousands
//! of lookups a second, so a record is a fixed 40-byte row: the texts
//! (licensees, models, places) are interned once, serials live in one byte
//! arena, and the rows are sorted by a 64-bit key of (manufacturer, serial)
//! with the firearm's transfers in date order behind it. A lookup is a
//! binary search for the key; every row found is checked against the
//! manufacturer and the serial bytes, so two firearms whose keys collide are
//! never confused.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::FieldError;
use crate::model::{Date, Event, SerialKind, normalise_manufacturer, normalise_serial_into};

/// One record as written in the books, before it is stored.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// The manufacturer's name.
    pub manufacturer: &'a str,
    /// The model (may be empty).
    pub model: &'a str,
    /// The calibre (may be empty).
    pub caliber: &'a str,
    /// The serial number.
    pub serial: &'a str,
    /// What happened.
    pub event: Event,
    /// When.
    pub date: Date,
    /// Who transferred it (the licensee whose book records it, or the
    /// foreign maker of an import).
    pub from: &'a str,
    /// Who received it (a licensee, or the retail purchaser).
    pub to: &'a str,
    /// The receiver's city (may be empty).
    pub city: &'a str,
    /// The receiver's state, two letters (`AZ`).
    pub state: &'a str,
}

/// One stored transfer of a firearm, as a trace reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer<'a> {
    /// What happened.
    pub event: Event,
    /// When.
    pub date: Date,
    /// From whom.
    pub from: &'a str,
    /// To whom.
    pub to: &'a str,
    /// The receiver's city.
    pub city: &'a str,
    /// The receiver's state.
    pub state: &'a str,
    /// The model in the record.
    pub model: &'a str,
    /// The calibre in the record.
    pub caliber: &'a str,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    key: u64,
    serial_at: u32,
    date: i32,
    model: u32,
    from: u32,
    to: u32,
    city: u32,
    manufacturer: u16,
    caliber: u16,
    serial_len: u8,
    event: u8,
    state: [u8; 2],
}

/// Bytes one record's row takes (its serial and texts are counted apart).
pub const ROW_BYTES: usize = std::mem::size_of::<Row>();

/// FNV-1a, 64 bits, with a final mix. The records are the node's own data,
/// and lookups go through a sorted array rather than a hash table, so a
/// keyed hash buys nothing here; colliding keys are told apart by content.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // splitmix64's finaliser, so keys spread over the whole range.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Hashes an already hashed `u64` to itself.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv(&[bytes]);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Texts stored once: an arena, spans into it, and a map from a text's
/// 64-bit hash to its id (texts whose hash is taken by another text go to a
/// small spill map, so a collision costs a lookup, never a wrong answer).
#[derive(Debug, Default)]
struct Interner {
    arena: String,
    spans: Vec<(u32, u32)>,
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    spill: HashMap<String, u32>,
}

impl Interner {
    fn get(&self, id: u32) -> &str {
        self.spans
            .get(id as usize)
            .and_then(|&(at, len)| self.arena.get(at as usize..(at + len) as usize))
            .unwrap_or("")
    }

    fn find(&self, text: &str) -> Option<u32> {
        match self.by_hash.get(&fnv(&[text.as_bytes()])) {
            Some(&id) if self.get(id) == text => Some(id),
            Some(_) => self.spill.get(text).copied(),
            None => None,
        }
    }

    fn intern(&mut self, text: &str, limit: u32) -> Result<u32, &'static str> {
        let hash = fnv(&[text.as_bytes()]);
        let taken = match self.by_hash.get(&hash) {
            Some(&id) if self.get(id) == text => return Ok(id),
            Some(_) => {
                if let Some(&id) = self.spill.get(text) {
                    return Ok(id);
                }
                true
            }
            None => false,
        };
        let id = u32::try_from(self.spans.len()).map_err(|_| "too many distinct texts")?;
        if id >= limit {
            return Err("too many distinct values for this column");
        }
        let at = u32::try_from(self.arena.len()).map_err(|_| "the records' texts exceed 4 GiB")?;
        let len = u32::try_from(text.len()).map_err(|_| "text too long")?;
        at.checked_add(len)
            .ok_or("the records' texts exceed 4 GiB")?;
        self.arena.push_str(text);
        self.spans.push((at, len));
        if taken {
            self.spill.insert(text.to_owned(), id);
        } else {
            self.by_hash.insert(hash, id);
        }
        Ok(id)
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn memory(&self) -> usize {
        self.arena.capacity()
            + self.spans.capacity() * 8
            + self.by_hash.capacity() * 13
            + self.spill.keys().map(|k| k.capacity() + 28).sum::<usize>()
    }

    fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
    }
}

/// Longest text in a record's name and place fields.
pub const MAX_TEXT_LEN: usize = 200;

/// Builds a [`RecordSet`]: push records, then [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct RecordSetBuilder {
    rows: Vec<Row>,
    serials: Vec<u8>,
    makers: Interner,
    calibers: Interner,
    text: Interner,
    serial: String,
    /// Manufacturers as written, normalised: a file spells a few makers a
    /// few ways millions of times, so each spelling is normalised once.
    spellings: HashMap<String, String>,
}

/// Spellings of manufacturers remembered (more are normalised each time).
const MAX_SPELLINGS: usize = 4096;

impl RecordSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `records` rows.
    pub fn with_capacity(records: usize) -> Self {
        RecordSetBuilder {
            rows: Vec::with_capacity(records),
            serials: Vec::with_capacity(records.saturating_mul(10)),
            ..Self::default()
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Checks and stores one record. On error nothing is stored.
    pub fn push(&mut self, r: &NewRecord<'_>) -> Result<(), FieldError> {
        let maker = match self.spellings.get(r.manufacturer) {
            Some(maker) => maker.clone(),
            None => {
                let maker = normalise_manufacturer(r.manufacturer).ok_or_else(|| {
                    FieldError::new(
                        "manufacturer",
                        "is empty or says unknown; a record names the maker",
                    )
                })?;
                if self.spellings.len() < MAX_SPELLINGS {
                    self.spellings
                        .insert(r.manufacturer.to_owned(), maker.clone());
                }
                maker
            }
        };
        match normalise_serial_into(r.serial, &mut self.serial) {
            SerialKind::Number => {}
            SerialKind::Obliterated => {
                return Err(FieldError::new(
                    "serial",
                    format!(
                        "`{}` is not a serial a book can record (obliterated or illegible)",
                        r.serial
                    ),
                ));
            }
            SerialKind::Missing => {
                return Err(FieldError::new(
                    "serial",
                    "is missing; every record has the serial",
                ));
            }
            SerialKind::Invalid(why) => {
                return Err(FieldError::new("serial", format!("`{}`: {why}", r.serial)));
            }
        }
        let text = |field: &'static str, value: &str, required: bool| -> Result<(), FieldError> {
            let value = value.trim();
            if required && value.is_empty() {
                return Err(FieldError::new(
                    field,
                    "is empty; name the licensee or purchaser",
                ));
            }
            if value.chars().count() > MAX_TEXT_LEN {
                return Err(FieldError::new(
                    field,
                    format!("is longer than {MAX_TEXT_LEN} characters"),
                ));
            }
            Ok(())
        };
        text("from", r.from, true)?;
        text("to", r.to, true)?;
        text("city", r.city, false)?;
        text("model", r.model, false)?;
        text("caliber", r.caliber, false)?;
        let state = r.state.trim().as_bytes();
        let state: [u8; 2] = match state {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                [a.to_ascii_uppercase(), b.to_ascii_uppercase()]
            }
            _ => {
                return Err(FieldError::new(
                    "state",
                    format!(
                        "`{}` is not a two-letter state code such as `AZ`",
                        r.state.trim()
                    ),
                ));
            }
        };
        let serial_at = u32::try_from(self.serials.len())
            .map_err(|_| FieldError::new("serial", "the records' serials exceed 4 GiB"))?;
        let too_many = |field: &'static str| move |why: &'static str| FieldError::new(field, why);
        let manufacturer = self
            .makers
            .intern(&maker, 1 << 16)
            .map_err(too_many("manufacturer"))?;
        let caliber = self
            .calibers
            .intern(r.caliber.trim(), 1 << 16)
            .map_err(too_many("caliber"))?;
        let model = self
            .text
            .intern(r.model.trim(), u32::MAX)
            .map_err(too_many("model"))?;
        let from = self
            .text
            .intern(r.from.trim(), u32::MAX)
            .map_err(too_many("from"))?;
        let to = self
            .text
            .intern(r.to.trim(), u32::MAX)
            .map_err(too_many("to"))?;
        let city = self
            .text
            .intern(r.city.trim(), u32::MAX)
            .map_err(too_many("city"))?;
        self.serials.extend_from_slice(self.serial.as_bytes());
        self.rows.push(Row {
            key: fnv(&[maker.as_bytes(), self.serial.as_bytes()]),
            serial_at,
            date: r.date.days(),
            model,
            from,
            to,
            city,
            manufacturer: manufacturer as u16,
            caliber: caliber as u16,
            serial_len: self.serial.len() as u8,
            event: r.event.code(),
            state,
        });
        Ok(())
    }

    /// Sorts and indexes the records.
    pub fn finish(mut self) -> RecordSet {
        self.rows
            .sort_unstable_by_key(|r| (r.key, r.date, r.event, r.serial_at));
        self.rows.shrink_to_fit();
        self.serials.shrink_to_fit();
        self.makers.shrink();
        self.calibers.shrink();
        self.text.shrink();
        RecordSet {
            rows: self.rows,
            serials: self.serials,
            makers: self.makers,
            calibers: self.calibers,
            text: self.text,
        }
    }
}

/// Memory a [`RecordSet`] holds, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUse {
    /// The fixed-size rows.
    pub rows: usize,
    /// The serial arena.
    pub serials: usize,
    /// Interned texts and their maps.
    pub texts: usize,
}

impl MemoryUse {
    /// Everything.
    pub fn total(&self) -> usize {
        self.rows + self.serials + self.texts
    }
}

/// A node's acquisition and disposition records, indexed for tracing.
#[derive(Debug)]
pub struct RecordSet {
    rows: Vec<Row>,
    serials: Vec<u8>,
    makers: Interner,
    calibers: Interner,
    text: Interner,
}

impl RecordSet {
    /// Records held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Distinct manufacturers.
    pub fn manufacturers(&self) -> usize {
        self.makers.len()
    }

    /// Whether records name this manufacturer (normalised name).
    pub fn knows_manufacturer(&self, normalised: &str) -> bool {
        self.makers.find(normalised).is_some()
    }

    /// Memory held.
    pub fn memory(&self) -> MemoryUse {
        MemoryUse {
            rows: self.rows.capacity() * ROW_BYTES,
            serials: self.serials.capacity(),
            texts: self.makers.memory() + self.calibers.memory() + self.text.memory(),
        }
    }

    fn serial_of(&self, row: &Row) -> &[u8] {
        let at = row.serial_at as usize;
        self.serials
            .get(at..at + usize::from(row.serial_len))
            .unwrap_or_default()
    }

    /// Every transfer of the firearm with this normalised manufacturer and
    /// serial, in date order (then chain order within a day).
    pub fn transfers(&self, manufacturer: &str, serial: &str) -> Vec<Transfer<'_>> {
        let Some(maker) = self.makers.find(manufacturer) else {
            return Vec::new();
        };
        let key = fnv(&[manufacturer.as_bytes(), serial.as_bytes()]);
        let start = self.rows.partition_point(|r| r.key < key);
        self.rows
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|r| r.key == key)
            .filter(|r| {
                u32::from(r.manufacturer) == maker && self.serial_of(r) == serial.as_bytes()
            })
            .map(|r| Transfer {
                event: Event::from_code(r.event),
                date: Date::from_days(r.date),
                from: self.text.get(r.from),
                to: self.text.get(r.to),
                city: self.text.get(r.city),
                state: std::str::from_utf8(&r.state).unwrap_or(""),
                model: self.text.get(r.model),
                caliber: self.calibers.get(u32::from(r.caliber)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(
        maker: &'a str,
        serial: &'a str,
        event: Event,
        date: &str,
        to: &'a str,
    ) -> NewRecord<'a> {
        NewRecord {
            manufacturer: maker,
            model: "M1",
            caliber: "9mm",
            serial,
            event,
            date: Date::parse(date).unwrap(),
            from: "Maker Inc",
            to,
            city: "Tucson",
            state: "az",
        }
    }

    #[test]
    fn rows_stay_forty_bytes() {
        assert_eq!(ROW_BYTES, 40);
    }

    #[test]
    fn transfers_come_back_in_date_order_for_that_firearm_only() {
        let mut b = RecordSetBuilder::new();
        b.push(&rec(
            "Glock",
            "ABC123",
            Event::RetailSale,
            "2024-03-01",
            "Doe, John",
        ))
        .unwrap();
        b.push(&rec(
            "Glock",
            "ABC-123",
            Event::Manufacture,
            "2023-01-01",
            "Glock Inc",
        ))
        .unwrap();
        b.push(&rec(
            "Glock",
            "ABC123",
            Event::DealerSale,
            "2023-06-01",
            "Dealer",
        ))
        .unwrap();
        // Same serial, other maker: another firearm.
        b.push(&rec(
            "Colt",
            "ABC123",
            Event::RetailSale,
            "2020-01-01",
            "Roe, Ann",
        ))
        .unwrap();
        let set = b.finish();
        assert_eq!(set.len(), 4);
        let t = set.transfers("GLOCK", "ABC123");
        let events: Vec<Event> = t.iter().map(|t| t.event).collect();
        assert_eq!(
            events,
            [Event::Manufacture, Event::DealerSale, Event::RetailSale]
        );
        assert_eq!(t[2].to, "Doe, John");
        assert_eq!(t[2].state, "AZ");
        assert_eq!(set.transfers("COLT", "ABC123").len(), 1);
        assert!(set.transfers("GLOCK", "ABC124").is_empty());
        assert!(set.transfers("RUGER", "ABC123").is_empty());
        assert!(set.knows_manufacturer("COLT") && !set.knows_manufacturer("RUGER"));
    }

    #[test]
    fn bad_fields_are_named_and_nothing_is_stored() {
        let mut b = RecordSetBuilder::new();
        let long = "x".repeat(201);
        let cases: Vec<(NewRecord<'_>, &str)> = vec![
            (
                NewRecord {
                    manufacturer: "unknown",
                    ..rec("x", "A1", Event::Import, "2020-01-01", "t")
                },
                "manufacturer",
            ),
            (
                rec("Glock", "OBLITERATED", Event::Import, "2020-01-01", "t"),
                "serial",
            ),
            (rec("Glock", "", Event::Import, "2020-01-01", "t"), "serial"),
            (
                rec("Glock", "AB_1", Event::Import, "2020-01-01", "t"),
                "serial",
            ),
            (rec("Glock", "AB1", Event::Import, "2020-01-01", " "), "to"),
            (
                NewRecord {
                    state: "Arizona",
                    ..rec("Glock", "AB1", Event::Import, "2020-01-01", "t")
                },
                "state",
            ),
            (
                NewRecord {
                    city: &long,
                    ..rec("Glock", "AB1", Event::Import, "2020-01-01", "t")
                },
                "city",
            ),
        ];
        for (r, field) in cases {
            let e = b.push(&r).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
        assert!(b.is_empty());
    }

    #[test]
    fn colliding_texts_keep_their_own_ids() {
        let mut i = Interner::default();
        let a = i.intern("alpha", u32::MAX).unwrap();
        // Force a collision: make "gamma"'s hash point at "alpha".
        let hash = fnv(&[b"gamma"]);
        i.by_hash.insert(hash, a);
        let g = i.intern("gamma", u32::MAX).unwrap();
        assert_ne!(g, a);
        assert_eq!(i.get(g), "gamma");
        assert_eq!(i.find("gamma"), Some(g));
        assert_eq!(i.intern("gamma", u32::MAX).unwrap(), g);
        assert_eq!(i.find("alpha"), Some(a));
    }
}
