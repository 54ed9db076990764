//! Trace statistics, computed only from answers.
//!
//! Both sides hold the same released answer, so both can compute the same
//! figures: counts by completeness and by failure, by recovery state, by
//! source state (the state of the dealer who made the first retail sale)
//! and the time-to-crime distribution. Everything is integer arithmetic
//! over sorted maps, and [`TraceStats::digest`] hashes the canonical JSON,
//! so the two sides can compare one line instead of every figure.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::trace::{Completeness, TraceResult};

/// Time-to-crime bands, in days (ATF's: under three months, under a year,
/// one to three years, three to five, five to ten, ten and more).
pub const BANDS: [(&str, u32); 6] = [
    ("under 3 months", 91),
    ("3 months to 1 year", 365),
    ("1 to 3 years", 1096),
    ("3 to 5 years", 1826),
    ("5 to 10 years", 3653),
    ("10 years and more", u32::MAX),
];

/// Counts for one state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Traces.
    pub traces: u64,
    /// Traced to a first retail sale.
    pub complete: u64,
    /// Stopped before a retail sale.
    pub partial: u64,
    /// Nothing found.
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, c: Completeness) {
        self.traces += 1;
        match c {
            Completeness::Complete => self.complete += 1,
            Completeness::Partial => self.partial += 1,
            Completeness::Failed => self.failed += 1,
        }
    }
}

/// The time-to-crime distribution of complete traces with a recovery date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeToCrime {
    /// Traces with a time-to-crime.
    pub traces: u64,
    /// Shortest, days.
    pub min_days: Option<u32>,
    /// First quartile (nearest rank), days.
    pub p25_days: Option<u32>,
    /// Median (nearest rank), days.
    pub median_days: Option<u32>,
    /// Third quartile (nearest rank), days.
    pub p75_days: Option<u32>,
    /// Longest, days.
    pub max_days: Option<u32>,
    /// Traces per band of [`BANDS`], in order.
    pub bands: Vec<u64>,
    /// Complete traces whose recovery is dated before the sale (a data
    /// error on one side), left out of the figures above.
    pub recovered_before_sale: u64,
}

/// Figures over a set of trace answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStats {
    /// All traces.
    pub all: Counts,
    /// Traces that did not reach a retail sale, by reason.
    pub failures: BTreeMap<String, u64>,
    /// By the state the firearm was recovered in.
    pub by_recovery_state: BTreeMap<String, Counts>,
    /// Complete traces by the state of the first retail sale.
    pub by_source_state: BTreeMap<String, u64>,
    /// Time from first retail sale to recovery.
    pub time_to_crime: TimeToCrime,
}

/// Nearest-rank percentile `num/den` of sorted `v`.
fn rank(v: &[u32], num: usize, den: usize) -> Option<u32> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let idx = (num * n).div_ceil(den).max(1) - 1;
    v.get(idx).copied()
}

impl TraceStats {
    /// Computes the figures over `results` (order does not matter).
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TraceResult>) -> TraceStats {
        let mut s = TraceStats::default();
        let mut days = Vec::new();
        for r in results {
            s.all.add(r.completeness);
            s.by_recovery_state
                .entry(r.recovery_state.clone())
                .or_default()
                .add(r.completeness);
            if let Some(f) = r.failure {
                *s.failures.entry(f.as_str().to_owned()).or_default() += 1;
            }
            if let Some(state) = r.source_state() {
                *s.by_source_state.entry(state.to_owned()).or_default() += 1;
                match r.time_to_crime_days() {
                    Some(d) => days.push(d),
                    None if r.recovered_on.is_some() => s.time_to_crime.recovered_before_sale += 1,
                    None => {}
                }
            }
        }
        days.sort_unstable();
        let t = &mut s.time_to_crime;
        t.traces = days.len() as u64;
        t.min_days = days.first().copied();
        t.max_days = days.last().copied();
        t.p25_days = rank(&days, 1, 4);
        t.median_days = rank(&days, 1, 2);
        t.p75_days = rank(&days, 3, 4);
        t.bands = vec![0; BANDS.len()];
        for d in &days {
            if let Some(i) = BANDS.iter().position(|(_, upper)| d < upper)
                && let Some(b) = t.bands.get_mut(i)
            {
                *b += 1;
            }
        }
        s
    }

    /// The canonical JSON of the figures.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// SHA-256 of [`to_json`](Self::to_json), hex: equal on both sides when
    /// they computed from the same answers.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.to_json().as_bytes()))
    }
}

fn pct(part: u64, all: u64) -> String {
    if all == 0 {
        return "-".into();
    }
    // Tenths of a percent, rounded half up, in integers.
    let tenths = (part * 2000 + all) / (2 * all);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

impl fmt::Display for TraceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.all;
        writeln!(
            f,
            "{} traces: {} complete ({}), {} partial, {} failed",
            a.traces,
            a.complete,
            pct(a.complete, a.traces),
            a.partial,
            a.failed
        )?;
        for (why, n) in &self.failures {
            writeln!(f, "  not to a retail sale: {why}: {n}")?;
        }
        writeln!(f, "by recovery state:")?;
        for (state, c) in &self.by_recovery_state {
            writeln!(
                f,
                "  {state}: {} traces, {} complete ({}), {} partial, {} failed",
                c.traces,
                c.complete,
                pct(c.complete, c.traces),
                c.partial,
                c.failed
            )?;
        }
        writeln!(f, "by source state (first retail sale):")?;
        let mut sources: Vec<(&String, &u64)> = self.by_source_state.iter().collect();
        sources.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        for (state, n) in sources {
            writeln!(f, "  {state}: {n} ({})", pct(*n, a.complete))?;
        }
        let t = &self.time_to_crime;
        let days = |d: Option<u32>| d.map_or_else(|| "-".to_owned(), |d| format!("{d} d"));
        writeln!(
            f,
            "time-to-crime over {} traces: median {}, quartiles {} – {}, range {} – {}",
            t.traces,
            days(t.median_days),
            days(t.p25_days),
            days(t.p75_days),
            days(t.min_days),
            days(t.max_days)
        )?;
        for ((band, _), n) in BANDS.iter().zip(&t.bands) {
            writeln!(f, "  {band}: {n} ({})", pct(*n, t.traces))?;
        }
        if t.recovered_before_sale > 0 {
            writeln!(
                f,
                "  {} complete traces recovered before their sale date (left out)",
                t.recovered_before_sale
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Date, Event};
    use crate::trace::{Link, TraceFailure};

    fn result(
        state: &str,
        sale: Option<(&str, &str)>,
        recovered: &str,
        failure: Option<TraceFailure>,
    ) -> TraceResult {
        TraceResult {
            reference: "1".into(),
            manufacturer: "Colt".into(),
            model: String::new(),
            caliber: String::new(),
            serial: "A1".into(),
            recovery_state: state.into(),
            recovered_on: Date::parse(recovered),
            crime_code: String::new(),
            completeness: match (sale, failure) {
                (Some(_), _) => Completeness::Complete,
                (None, Some(TraceFailure::NoRetailSale)) => Completeness::Partial,
                _ => Completeness::Failed,
            },
            failure,
            chain: sale
                .map(|(date, src)| Link {
                    event: Event::RetailSale,
                    date: Date::parse(date).unwrap(),
                    from: "Dealer".into(),
                    to: "Doe, John".into(),
                    city: String::new(),
                    state: src.into(),
                })
                .into_iter()
                .collect(),
        }
    }

    fn sample() -> Vec<TraceResult> {
        vec![
            result("Sonora", Some(("2024-01-01", "AZ")), "2024-02-01", None), // 31 d
            result("Sonora", Some(("2023-01-01", "AZ")), "2024-01-01", None), // 365 d
            result("Sinaloa", Some(("2020-01-01", "TX")), "2024-01-01", None), // 1461 d
            result("Sinaloa", Some(("2024-06-01", "TX")), "2024-01-01", None), // before sale
            result(
                "Sinaloa",
                None,
                "2024-01-01",
                Some(TraceFailure::ObliteratedSerial),
            ),
            result(
                "Sonora",
                None,
                "2024-01-01",
                Some(TraceFailure::NoRetailSale),
            ),
        ]
    }

    #[test]
    fn figures_come_from_the_answers() {
        let s = TraceStats::of(&sample());
        assert_eq!(
            s.all,
            Counts {
                traces: 6,
                complete: 4,
                partial: 1,
                failed: 1
            }
        );
        assert_eq!(s.failures["obliterated_serial"], 1);
        assert_eq!(s.failures["no_retail_sale"], 1);
        assert_eq!(s.by_recovery_state["Sonora"].complete, 2);
        assert_eq!(s.by_recovery_state["Sinaloa"].failed, 1);
        assert_eq!(s.by_source_state["AZ"], 2);
        assert_eq!(s.by_source_state["TX"], 2);
        let t = &s.time_to_crime;
        assert_eq!(t.traces, 3);
        assert_eq!(t.recovered_before_sale, 1);
        assert_eq!(
            (t.min_days, t.median_days, t.max_days),
            (Some(31), Some(365), Some(1461))
        );
        assert_eq!(t.bands, [1, 0, 1, 1, 0, 0]);
        let text = s.to_string();
        assert!(text.contains("6 traces: 4 complete (66.7%)"), "{text}");
    }

    #[test]
    fn both_sides_get_the_same_digest_whatever_the_order() {
        let mut v = sample();
        let a = TraceStats::of(&v);
        v.reverse();
        let b = TraceStats::of(&v);
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.digest(), b.digest());
        v.pop();
        assert_ne!(TraceStats::of(&v).digest(), a.digest());
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(rank(&[], 1, 2), None);
        assert_eq!(rank(&[7], 1, 4), Some(7));
        assert_eq!(rank(&[1, 2, 3, 4], 1, 2), Some(2));
        assert_eq!(rank(&[1, 2, 3, 4, 5], 1, 2), Some(3));
        assert_eq!(rank(&[1, 2, 3, 4], 3, 4), Some(3));
    }
}
