//! Acquisition and disposition records from CSV, all or nothing.
//!
//! The first line names the columns, in any order: `manufacturer`,
//! `serial`, `event`, `date`, `from`, `to` and `state` are required;
//! `model`, `caliber` and `city` may be left out. A column with another
//! name is refused (a misspelt `serail` would otherwise be dropped without
//! a word). Every row is checked; a file with any bad row is refused as a
//! whole, and the bad rows are reported with their line and field.

use std::io::Read;

use crate::error::{BadRow, IngestError};
use crate::model::{Date, Event};
use crate::records::{NewRecord, RecordSet, RecordSetBuilder};

/// At most this many bad rows are reported (all are counted).
pub const MAX_REPORTED_BAD_ROWS: usize = 100;

/// The columns, in the order the generator writes them.
pub const COLUMNS: [&str; 10] = [
    "manufacturer",
    "model",
    "caliber",
    "serial",
    "event",
    "date",
    "from",
    "to",
    "city",
    "state",
];
const REQUIRED: [&str; 7] = [
    "manufacturer",
    "serial",
    "event",
    "date",
    "from",
    "to",
    "state",
];

/// Reads every record of `reader` into `builder`. On error the builder
/// holds part of the file and must be dropped: use [`parse_records`] for
/// one file on its own.
pub fn read_records<R: Read>(
    reader: R,
    builder: &mut RecordSetBuilder,
) -> Result<u64, IngestError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers = csv
        .byte_headers()
        .map_err(|e| IngestError::one(1, None, format!("the header line cannot be read: {e}")))?
        .clone();
    let mut at = [usize::MAX; COLUMNS.len()];
    for (i, name) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        let Some(slot) = COLUMNS.iter().position(|c| *c == name) else {
            return Err(IngestError::one(
                1,
                None,
                format!(
                    "unknown column `{name}`; the columns are {}",
                    COLUMNS.join(", ")
                ),
            ));
        };
        if at[slot] != usize::MAX {
            return Err(IngestError::one(
                1,
                None,
                format!("column `{name}` appears twice"),
            ));
        }
        at[slot] = i;
    }
    for name in REQUIRED {
        if COLUMNS
            .iter()
            .position(|c| *c == name)
            .is_some_and(|slot| at[slot] == usize::MAX)
        {
            return Err(IngestError::one(
                1,
                None,
                format!("the required column `{name}` is missing"),
            ));
        }
    }
    let mut bad = Vec::new();
    let mut total_bad = 0u64;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv.position().line() + 1;
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if e.is_io_error() {
                    return Err(IngestError::one(
                        line,
                        None,
                        format!("the file cannot be read: {e}"),
                    ));
                }
                total_bad += 1;
                if bad.len() < MAX_REPORTED_BAD_ROWS {
                    bad.push(BadRow {
                        line,
                        field: None,
                        reason: e.to_string(),
                    });
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() != headers.len() {
            total_bad += 1;
            if bad.len() < MAX_REPORTED_BAD_ROWS {
                bad.push(BadRow {
                    line,
                    field: None,
                    reason: format!(
                        "{} fields where the header has {}",
                        record.len(),
                        headers.len()
                    ),
                });
            }
            continue;
        }
        match row(&record, &at).and_then(|r| builder.push(&r).map_err(|e| (e.field, e.reason))) {
            Ok(()) => rows += 1,
            Err((field, reason)) => {
                total_bad += 1;
                if bad.len() < MAX_REPORTED_BAD_ROWS {
                    bad.push(BadRow {
                        line,
                        field: Some(field),
                        reason,
                    });
                }
            }
        }
    }
    if total_bad > 0 {
        return Err(IngestError {
            rows: bad,
            total_bad,
        });
    }
    Ok(rows)
}

/// Parses one file into a record set, all or nothing.
pub fn parse_records<R: Read>(reader: R) -> Result<RecordSet, IngestError> {
    let mut builder = RecordSetBuilder::new();
    read_records(reader, &mut builder)?;
    Ok(builder.finish())
}

fn row<'r>(
    record: &'r csv::ByteRecord,
    at: &[usize; COLUMNS.len()],
) -> Result<NewRecord<'r>, (&'static str, String)> {
    let field = |slot: usize| -> Result<&'r str, (&'static str, String)> {
        let name = COLUMNS.get(slot).copied().unwrap_or("?");
        match at.get(slot).and_then(|&i| record.get(i)) {
            None => Ok(""),
            Some(bytes) => {
                std::str::from_utf8(bytes).map_err(|_| (name, "is not UTF-8 text".to_owned()))
            }
        }
    };
    let event_text = field(4)?;
    let event = Event::parse(event_text).ok_or_else(|| {
        (
            "event",
            format!(
                "`{event_text}` is not an event; use manufacture, import, distributor_sale, dealer_sale or retail_sale"
            ),
        )
    })?;
    let date_text = field(5)?;
    let date = Date::parse(date_text)
        .ok_or_else(|| ("date", format!("`{date_text}` is not a date (YYYY-MM-DD)")))?;
    Ok(NewRecord {
        manufacturer: field(0)?,
        model: field(1)?,
        caliber: field(2)?,
        serial: field(3)?,
        event,
        date,
        from: field(6)?,
        to: field(7)?,
        city: field(8)?,
        state: field(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "manufacturer,model,caliber,serial,event,date,from,to,city,state\n\
        Colt,AR-15,5.56,LGC123456,manufacture,2023-10-01,Colt's Manufacturing (FFL 6-06-003-07-4K-01234),Colt's Manufacturing (FFL 6-06-003-07-4K-01234),West Hartford,CT\n\
        Colt,AR-15,5.56,LGC123456,retail_sale,2024-01-09,Borderland Outdoors,\"Doe, John\",Nogales,AZ\n";

    #[test]
    fn a_good_file_loads() {
        let set = parse_records(GOOD.as_bytes()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.transfers("COLT", "LGC123456").len(), 2);
    }

    #[test]
    fn columns_may_come_in_any_order_and_optional_ones_may_be_left_out() {
        let text = "serial,manufacturer,event,date,from,to,state\nA1,Glock,import,2020-01-01,Glock GmbH,Glock Inc,GA\n";
        let set = parse_records(text.as_bytes()).unwrap();
        assert_eq!(set.transfers("GLOCK", "A1")[0].to, "Glock Inc");
    }

    #[test]
    fn a_file_with_one_bad_row_is_refused_naming_every_bad_row_and_field() {
        let text = format!(
            "{GOOD}Colt,AR-15,5.56,LGC1,retail_sale,2024-13-09,B,C,Nogales,AZ\n\
             Colt,AR-15,5.56,LGC2,sold,2024-01-09,B,C,Nogales,AZ\n\
             Colt,AR-15,5.56,OBLITERATED,retail_sale,2024-01-09,B,C,Nogales,AZ\n\
             Colt,AR-15,5.56,LGC3,retail_sale,2024-01-09,B,C,Nogales\n"
        );
        let e = parse_records(text.as_bytes()).unwrap_err();
        assert_eq!(e.total_bad, 4);
        let got: Vec<(u64, Option<&str>)> = e.rows.iter().map(|r| (r.line, r.field)).collect();
        assert_eq!(
            got,
            [
                (4, Some("date")),
                (5, Some("event")),
                (6, Some("serial")),
                (7, None)
            ]
        );
        assert!(
            e.to_string()
                .contains("line 4, field `date`: `2024-13-09` is not a date"),
            "{e}"
        );
    }

    #[test]
    fn unknown_missing_or_repeated_columns_are_refused() {
        for (header, says) in [
            (
                "manufacturer,serail,event,date,from,to,state",
                "unknown column `serail`",
            ),
            (
                "manufacturer,event,date,from,to,state",
                "required column `serial`",
            ),
            (
                "manufacturer,serial,serial,event,date,from,to,state",
                "appears twice",
            ),
        ] {
            let e = parse_records(format!("{header}\n").as_bytes()).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_named() {
        let mut bytes =
            b"manufacturer,serial,event,date,from,to,state\nGlock,A1,import,2020-01-01,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b",Glock Inc,GA\n");
        let e = parse_records(bytes.as_slice()).unwrap_err();
        assert_eq!(e.rows[0].field, Some("from"));
    }
}
