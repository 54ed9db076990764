//! A `FirearmTrace` proposal as trace requests, and the label of the
//! answer item that carries the released [`TraceAnswer`](crate::TraceAnswer).
//!
//! Both sides turn the same proposal into the same requests: the asker to
//! check the answer, the holder to run it. A firearm's own recovery place
//! and date win over the proposal's `seized_at` and `seized_on`; dates are
//! the UTC calendar day of the timestamp, so the two sides never disagree
//! by a time zone.

use soberana_core::{FirearmTrace, Timestamp};

use crate::model::Date;
use crate::trace::TraceRequest;

/// The label of the answer item holding the trace answer's JSON.
pub const ANSWER_LABEL: &str = "firearm_trace";

fn day(t: Timestamp) -> Date {
    Date::from_days(t.unix_millis().div_euclid(86_400_000) as i32)
}

/// The requests of a proposal, referenced `1`, `2`, … in its order.
pub fn requests_of(trace: &FirearmTrace) -> Vec<TraceRequest> {
    trace
        .firearms
        .iter()
        .enumerate()
        .map(|(i, f)| TraceRequest {
            reference: (i + 1).to_string(),
            manufacturer: f.manufacturer.clone(),
            model: f.model.clone(),
            caliber: f.caliber.clone(),
            serial: f.serial.clone(),
            recovered_at: if f.recovered_at.trim().is_empty() {
                trace.seized_at.clone()
            } else {
                f.recovered_at.clone()
            },
            recovered_on: Some(day(f.recovered_on.unwrap_or(trace.seized_on))),
            crime_code: f.crime_code.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firearms_own_place_and_date_win() {
        let trace: FirearmTrace = serde_json::from_value(serde_json::json!({
            "seized_at": "Nogales, Sonora",
            "seized_on": "2025-10-28T22:30:00-07:00",
            "firearms": [
                { "manufacturer": "Colt", "serial": "LGC1" },
                { "manufacturer": "Colt", "serial": "LGC2", "recovered_at": "Culiacán, Sinaloa",
                  "recovered_on": "2025-09-01T10:00:00Z", "crime_code": "homicide" }
            ]
        }))
        .unwrap();
        let r = requests_of(&trace);
        assert_eq!(r[0].reference, "1");
        assert_eq!(r[0].recovered_at, "Nogales, Sonora");
        // 22:30 at UTC−7 is the next day in UTC.
        assert_eq!(r[0].recovered_on.unwrap().to_string(), "2025-10-29");
        assert_eq!(r[1].recovered_at, "Culiacán, Sinaloa");
        assert_eq!(r[1].recovered_on.unwrap().to_string(), "2025-09-01");
        assert_eq!(r[1].crime_code, "homicide");
    }
}
