//! The trace: from a recovered firearm to its first retail sale.
//!
//! A request names the firearm as ATF's trace form does (manufacturer,
//! model, calibre, serial) with where and when it was recovered and the
//! crime. The answer is the chain of custody from the manufacturer or
//! importer through distributors and dealers to the first retail purchaser,
//! its completeness, and why a trace stopped short: the manufacturer is
//! unknown to the records, the serial is obliterated or missing, no record
//! holds the serial, or the books stop before a retail sale. Time-to-crime
//! and the source state are derived from the chain, never sent beside it,
//! so both sides compute them identically from the same answer.

use serde::{Deserialize, Serialize};

use crate::error::AnswerError;
use crate::model::{Date, Event, Serial, normalise_manufacturer, normalise_serial, state_of_place};
use crate::records::{RecordSet, Transfer};

/// The format tag of a released trace answer.
pub const ANSWER_FORMAT: &str = "soberana-firearm-trace/1";

/// One firearm to trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// The requester's reference for this firearm (its line in the request).
    pub reference: String,
    /// The manufacturer as marked on the firearm.
    pub manufacturer: String,
    /// The model.
    #[serde(default)]
    pub model: String,
    /// The calibre.
    #[serde(default)]
    pub caliber: String,
    /// The serial as read (`OBLITERATED` or `?` for unreadable characters).
    pub serial: String,
    /// Where it was recovered (`"Nogales, Sonora"`).
    #[serde(default)]
    pub recovered_at: String,
    /// When it was recovered.
    #[serde(default)]
    pub recovered_on: Option<Date>,
    /// The crime code.
    #[serde(default)]
    pub crime_code: String,
}

/// How far a trace got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// To the first retail purchaser.
    Complete,
    /// Records were found, but they stop before a retail sale.
    Partial,
    /// Nothing was found.
    Failed,
}

impl Completeness {
    /// The name used in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Completeness::Complete => "complete",
            Completeness::Partial => "partial",
            Completeness::Failed => "failed",
        }
    }
}

/// Why a trace did not reach a retail sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFailure {
    /// The manufacturer is not legible, or no record names it.
    UnknownManufacturer,
    /// The serial was ground off or cannot be read in full.
    ObliteratedSerial,
    /// No serial was given.
    NoSerial,
    /// The serial holds characters no serial has.
    InvalidSerial,
    /// No record holds this manufacturer and serial (a misread serial, a
    /// firearm made or sold before the books were kept, or not from here).
    NoRecord,
    /// The serial was used on several models and the request names none of them.
    AmbiguousSerial,
    /// The books stop before a retail sale (still in a dealer's stock, or
    /// the dealer's records are missing).
    NoRetailSale,
}

impl TraceFailure {
    /// The name used in answers and statistics.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceFailure::UnknownManufacturer => "unknown_manufacturer",
            TraceFailure::ObliteratedSerial => "obliterated_serial",
            TraceFailure::NoSerial => "no_serial",
            TraceFailure::InvalidSerial => "invalid_serial",
            TraceFailure::NoRecord => "no_record",
            TraceFailure::AmbiguousSerial => "ambiguous_serial",
            TraceFailure::NoRetailSale => "no_retail_sale",
        }
    }

    /// In words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            TraceFailure::UnknownManufacturer => "manufacturer unknown to the records",
            TraceFailure::ObliteratedSerial => {
                "serial obliterated; send it to a laboratory to restore"
            }
            TraceFailure::NoSerial => "no serial given",
            TraceFailure::InvalidSerial => "the serial as written cannot be a serial; check it",
            TraceFailure::NoRecord => "no record of this manufacturer and serial",
            TraceFailure::AmbiguousSerial => "serial used on several models; give the model",
            TraceFailure::NoRetailSale => "records stop before a retail sale",
        }
    }
}

/// One transfer in an answer's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What happened.
    pub event: Event,
    /// When.
    pub date: Date,
    /// From whom.
    pub from: String,
    /// To whom.
    pub to: String,
    /// The receiver's city.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub city: String,
    /// The receiver's state.
    pub state: String,
}

/// The answer for one firearm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceResult {
    /// The requester's reference.
    pub reference: String,
    /// The manufacturer, as asked.
    pub manufacturer: String,
    /// The model: the records' when found, else as asked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The calibre: the records' when found, else as asked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caliber: String,
    /// The serial, as asked.
    pub serial: String,
    /// The state (or province) it was recovered in.
    pub recovery_state: String,
    /// When it was recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_on: Option<Date>,
    /// The crime code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crime_code: String,
    /// How far the trace got.
    pub completeness: Completeness,
    /// Why it stopped short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<TraceFailure>,
    /// The chain of custody, oldest first, ending at the first retail sale
    /// when there is one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Link>,
}

impl TraceResult {
    /// The first retail sale, when the trace reached it.
    pub fn first_retail_sale(&self) -> Option<&Link> {
        self.chain.last().filter(|l| l.event == Event::RetailSale)
    }

    /// The state of the dealer who made the first retail sale.
    pub fn source_state(&self) -> Option<&str> {
        self.first_retail_sale().map(|l| l.state.as_str())
    }

    /// Days from the first retail sale to the recovery; `None` without
    /// either date, or when the recovery is dated before the sale.
    pub fn time_to_crime_days(&self) -> Option<u32> {
        let sale = self.first_retail_sale()?.date;
        let recovered = self.recovered_on?;
        u32::try_from(recovered.days() - sale.days()).ok()
    }
}

fn failed(req: &TraceRequest, failure: TraceFailure) -> TraceResult {
    TraceResult {
        reference: req.reference.clone(),
        manufacturer: req.manufacturer.clone(),
        model: req.model.trim().to_owned(),
        caliber: req.caliber.trim().to_owned(),
        serial: req.serial.clone(),
        recovery_state: state_of_place(&req.recovered_at),
        recovered_on: req.recovered_on,
        crime_code: req.crime_code.trim().to_owned(),
        completeness: Completeness::Failed,
        failure: Some(failure),
        chain: Vec::new(),
    }
}

fn squeeze(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Traces one firearm on `records`.
pub fn trace(records: &RecordSet, req: &TraceRequest) -> TraceResult {
    let Some(maker) = normalise_manufacturer(&req.manufacturer) else {
        return failed(req, TraceFailure::UnknownManufacturer);
    };
    let serial = match normalise_serial(&req.serial) {
        Serial::Number(s) => s,
        Serial::Obliterated => return failed(req, TraceFailure::ObliteratedSerial),
        Serial::Missing => return failed(req, TraceFailure::NoSerial),
        Serial::Invalid(_) => return failed(req, TraceFailure::InvalidSerial),
    };
    if !records.knows_manufacturer(&maker) {
        return failed(req, TraceFailure::UnknownManufacturer);
    }
    let mut transfers = records.transfers(&maker, &serial);
    if transfers.is_empty() {
        return failed(req, TraceFailure::NoRecord);
    }
    // Makers have reused serials across model lines: the model tells them apart.
    let first_model = squeeze(transfers.first().map_or("", |t| t.model));
    if transfers.iter().any(|t| squeeze(t.model) != first_model) {
        let asked = squeeze(&req.model);
        transfers.retain(|t| !asked.is_empty() && squeeze(t.model) == asked);
        if transfers.is_empty() {
            return failed(req, TraceFailure::AmbiguousSerial);
        }
    }
    let first_retail = transfers.iter().position(|t| t.event == Event::RetailSale);
    let keep = first_retail.map_or(transfers.len(), |i| i + 1);
    let link = |t: &Transfer<'_>| Link {
        event: t.event,
        date: t.date,
        from: t.from.to_owned(),
        to: t.to.to_owned(),
        city: t.city.to_owned(),
        state: t.state.to_owned(),
    };
    let recorded = |field: &[&str], asked: &str| {
        field
            .iter()
            .find(|s| !s.is_empty())
            .map_or_else(|| asked.trim().to_owned(), |s| (*s).to_owned())
    };
    let models: Vec<&str> = transfers.iter().map(|t| t.model).collect();
    let calibers: Vec<&str> = transfers.iter().map(|t| t.caliber).collect();
    TraceResult {
        reference: req.reference.clone(),
        manufacturer: req.manufacturer.clone(),
        model: recorded(&models, &req.model),
        caliber: recorded(&calibers, &req.caliber),
        serial: req.serial.clone(),
        recovery_state: state_of_place(&req.recovered_at),
        recovered_on: req.recovered_on,
        crime_code: req.crime_code.trim().to_owned(),
        completeness: if first_retail.is_some() {
            Completeness::Complete
        } else {
            Completeness::Partial
        },
        failure: first_retail.is_none().then_some(TraceFailure::NoRetailSale),
        chain: transfers.iter().take(keep).map(link).collect(),
    }
}

/// Traces every firearm of a batch, in order.
pub fn trace_batch(records: &RecordSet, requests: &[TraceRequest]) -> Vec<TraceResult> {
    requests.iter().map(|r| trace(records, r)).collect()
}

/// A released trace answer: what crosses the border.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceAnswer {
    /// [`ANSWER_FORMAT`].
    pub format: String,
    /// One result per firearm asked about, in the request's order.
    pub results: Vec<TraceResult>,
}

impl TraceAnswer {
    /// Wraps results for release.
    pub fn new(results: Vec<TraceResult>) -> Self {
        TraceAnswer {
            format: ANSWER_FORMAT.to_owned(),
            results,
        }
    }

    /// The JSON that is released.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a partner's answer strictly and checks that it answers
    /// `requests`, firearm by firearm, and holds together: a complete trace
    /// ends at a retail sale, a failed one has no chain, dates never go back.
    pub fn parse(text: &str, requests: &[TraceRequest]) -> Result<TraceAnswer, AnswerError> {
        let answer: TraceAnswer =
            serde_json::from_str(text).map_err(|e| AnswerError::Parse(e.to_string()))?;
        if answer.format != ANSWER_FORMAT {
            return Err(AnswerError::Parse(format!(
                "format `{}` is not `{ANSWER_FORMAT}`",
                answer.format
            )));
        }
        if answer.results.len() != requests.len() {
            return Err(AnswerError::Mismatch(format!(
                "{} results for {} firearms",
                answer.results.len(),
                requests.len()
            )));
        }
        for (res, req) in answer.results.iter().zip(requests) {
            let bad = |why: &str| {
                AnswerError::Mismatch(format!("firearm {} ({}): {why}", req.reference, req.serial))
            };
            if res.reference != req.reference
                || res.serial != req.serial
                || res.manufacturer != req.manufacturer
            {
                return Err(bad("the result is for another firearm"));
            }
            if res.recovered_on != req.recovered_on
                || res.recovery_state != state_of_place(&req.recovered_at)
            {
                return Err(bad("the recovery place or date differs from the request"));
            }
            if res
                .chain
                .windows(2)
                .any(|w| matches!(w, [a, b] if b.date < a.date))
            {
                return Err(bad("the chain goes back in time"));
            }
            let ends_in_sale = res
                .chain
                .last()
                .is_some_and(|l| l.event == Event::RetailSale);
            let consistent = match res.completeness {
                Completeness::Complete => ends_in_sale && res.failure.is_none(),
                Completeness::Partial => {
                    !res.chain.is_empty()
                        && !res.chain.iter().any(|l| l.event == Event::RetailSale)
                        && res.failure == Some(TraceFailure::NoRetailSale)
                }
                Completeness::Failed => {
                    res.chain.is_empty()
                        && res.failure.is_some_and(|f| f != TraceFailure::NoRetailSale)
                }
            };
            if !consistent {
                return Err(bad("its completeness, failure and chain disagree"));
            }
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{NewRecord, RecordSetBuilder};

    fn records() -> RecordSet {
        let mut b = RecordSetBuilder::new();
        let mut push =
            |serial: &str, model: &str, event: Event, date: &str, to: &str, state: &str| {
                b.push(&NewRecord {
                    manufacturer: "Colt",
                    model,
                    caliber: "5.56",
                    serial,
                    event,
                    date: Date::parse(date).unwrap(),
                    from: "Colt's Manufacturing",
                    to,
                    city: "",
                    state,
                })
                .unwrap();
            };
        push(
            "LGC1",
            "AR-15",
            Event::Manufacture,
            "2023-01-02",
            "Colt's Manufacturing",
            "CT",
        );
        push(
            "LGC1",
            "AR-15",
            Event::DistributorSale,
            "2023-02-01",
            "Wholesale Co",
            "TX",
        );
        push(
            "LGC1",
            "AR-15",
            Event::DealerSale,
            "2023-03-01",
            "Border Guns",
            "AZ",
        );
        push(
            "LGC1",
            "AR-15",
            Event::RetailSale,
            "2023-04-01",
            "Doe, John",
            "AZ",
        );
        push(
            "LGC1",
            "AR-15",
            Event::RetailSale,
            "2024-04-01",
            "Roe, Ann",
            "AZ",
        );
        push(
            "LGC2",
            "AR-15",
            Event::Manufacture,
            "2023-01-02",
            "Colt's Manufacturing",
            "CT",
        );
        push(
            "LGC2",
            "AR-15",
            Event::DealerSale,
            "2023-03-01",
            "Border Guns",
            "AZ",
        );
        push(
            "X9",
            "Python",
            Event::RetailSale,
            "2001-01-01",
            "Old, Sam",
            "TX",
        );
        push(
            "X9",
            "AR-15",
            Event::RetailSale,
            "2021-01-01",
            "New, Sam",
            "NM",
        );
        b.finish()
    }

    fn req(manufacturer: &str, serial: &str) -> TraceRequest {
        TraceRequest {
            reference: "1".into(),
            manufacturer: manufacturer.into(),
            model: String::new(),
            caliber: String::new(),
            serial: serial.into(),
            recovered_at: "Nogales, Sonora".into(),
            recovered_on: Date::parse("2024-04-01"),
            crime_code: "weapons_offense".into(),
        }
    }

    #[test]
    fn a_complete_trace_stops_at_the_first_retail_sale() {
        let r = trace(&records(), &req("Colt", "lgc-1"));
        assert_eq!(r.completeness, Completeness::Complete);
        assert_eq!(r.chain.len(), 4);
        assert_eq!(r.first_retail_sale().unwrap().to, "Doe, John");
        assert_eq!(r.source_state(), Some("AZ"));
        assert_eq!(r.time_to_crime_days(), Some(366));
        assert_eq!(r.recovery_state, "Sonora");
        assert_eq!(r.model, "AR-15");
    }

    #[test]
    fn every_reason_a_trace_fails_is_named() {
        let set = records();
        for (maker, serial, completeness, failure) in [
            (
                "Colt",
                "LGC2",
                Completeness::Partial,
                TraceFailure::NoRetailSale,
            ),
            ("Colt", "LGC3", Completeness::Failed, TraceFailure::NoRecord),
            (
                "Ruger",
                "LGC1",
                Completeness::Failed,
                TraceFailure::UnknownManufacturer,
            ),
            (
                "unknown",
                "LGC1",
                Completeness::Failed,
                TraceFailure::UnknownManufacturer,
            ),
            (
                "Colt",
                "OBLITERATED",
                Completeness::Failed,
                TraceFailure::ObliteratedSerial,
            ),
            (
                "Colt",
                "LGC?",
                Completeness::Failed,
                TraceFailure::ObliteratedSerial,
            ),
            ("Colt", "", Completeness::Failed, TraceFailure::NoSerial),
            (
                "Colt",
                "LG_1",
                Completeness::Failed,
                TraceFailure::InvalidSerial,
            ),
            (
                "Colt",
                "X9",
                Completeness::Failed,
                TraceFailure::AmbiguousSerial,
            ),
        ] {
            let r = trace(&set, &req(maker, serial));
            assert_eq!(
                (r.completeness, r.failure),
                (completeness, Some(failure)),
                "{maker} {serial}"
            );
            assert_eq!(r.time_to_crime_days(), None);
        }
    }

    #[test]
    fn the_model_tells_apart_a_reused_serial() {
        let mut q = req("Colt", "X9");
        q.model = "python".into();
        let r = trace(&records(), &q);
        assert_eq!(r.first_retail_sale().unwrap().to, "Old, Sam");
    }

    #[test]
    fn an_answer_round_trips_and_a_forged_one_is_refused() {
        let set = records();
        let reqs: Vec<TraceRequest> = ["LGC1", "LGC2", "OBLITERATED"]
            .iter()
            .enumerate()
            .map(|(i, s)| TraceRequest {
                reference: (i + 1).to_string(),
                ..req("Colt", s)
            })
            .collect();
        let answer = TraceAnswer::new(trace_batch(&set, &reqs));
        let json = answer.to_json();
        assert_eq!(TraceAnswer::parse(&json, &reqs).unwrap(), answer);

        let forge = |f: &dyn Fn(&mut TraceAnswer)| {
            let mut a = answer.clone();
            f(&mut a);
            TraceAnswer::parse(&a.to_json(), &reqs).unwrap_err()
        };
        forge(&|a| a.results.truncate(2));
        forge(&|a| a.results.swap(0, 1));
        forge(&|a| {
            a.results[0].chain.pop();
        });
        forge(&|a| a.results[0].chain.swap(0, 3));
        forge(&|a| a.results[1].completeness = Completeness::Complete);
        forge(&|a| a.results[2].chain = a.results[0].chain.clone());
        forge(&|a| a.results[0].recovered_on = Date::parse("2020-01-01"));
        forge(&|a| a.format = "other/1".into());
        assert!(
            TraceAnswer::parse(
                "{\"format\":\"soberana-firearm-trace/1\",\"results\":[],\"x\":1}",
                &[]
            )
            .is_err()
        );
        assert!(TraceAnswer::parse("not json", &reqs).is_err());
    }
}
