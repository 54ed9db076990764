//! Instants in time, always with an explicit offset.
//!
//! Deadlines and event times cross borders, so a time without a zone is
//! refused: every timestamp is parsed from and printed as RFC 3339.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::DomainError;

/// An instant, stored as UTC with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds after the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// The current time from the system clock.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Parses RFC 3339 text with an explicit offset.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| DomainError::Timestamp(text.to_owned()))?;
        Ok(Self((parsed.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// This instant plus a number of seconds (negative moves back).
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// Whole seconds from `self` until `later` (negative if `later` is earlier).
    pub const fn seconds_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0) / 1000
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(text) => f.write_str(&text),
            None => write!(f, "@{}ms", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Reads a deadline as officers write it: an RFC 3339 instant with its
/// offset, or a span from `now` as an ISO 8601 duration in days, hours and
/// minutes (`P7D`, `PT8H`, `P1DT12H`, `PT30M`), so that drafts kept as
/// templates never arrive overdue.
pub fn deadline_from(text: &str, now: Timestamp) -> Result<Timestamp, DomainError> {
    if !text.starts_with('P') {
        return Timestamp::parse(text);
    }
    let bad = || DomainError::Deadline(text.to_owned());
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut seconds: i64 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i64)]| -> Result<(), DomainError> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            // Units come in order (days; hours, minutes), each once.
            let (_, size) = allowed.by_ref().find(|(u, _)| *u == c).ok_or_else(bad)?;
            let n: i64 = number.parse().map_err(|_| bad())?;
            seconds = seconds
                .checked_add(n.checked_mul(*size).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            number.clear();
            any = true;
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    take(date, &[('D', 86_400)])?;
    if let Some(time) = time {
        if time.is_empty() {
            return Err(bad());
        }
        take(time, &[('H', 3_600), ('M', 60)])?;
    }
    if !any || seconds == 0 {
        return Err(bad());
    }
    Ok(now.plus_seconds(seconds))
}

/// Serde: a draft's deadline, absolute or relative to when it is read.
pub(crate) fn deserialize_deadline<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    deadline_from(&text, Timestamp::now()).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        let t = Timestamp::parse("2025-11-04T16:00:00-06:00").unwrap();
        assert_eq!(t.to_string(), "2025-11-04T22:00:00Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn refuses_times_without_a_zone() {
        for text in ["2025-11-04T16:00:00", "2025-11-04", "yesterday", ""] {
            assert!(Timestamp::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn counts_seconds_between_instants() {
        let t = Timestamp::from_unix_millis(1_000);
        assert_eq!(t.seconds_until(t.plus_seconds(90)), 90);
        assert_eq!(t.plus_seconds(90).seconds_until(t), -90);
    }

    #[test]
    fn deadlines_are_instants_or_spans_from_now() {
        let now = Timestamp::parse("2026-12-01T12:00:00Z").unwrap();
        let at = |t: &str| deadline_from(t, now).map(|d| now.seconds_until(d));
        assert_eq!(at("P7D").unwrap(), 7 * 86_400);
        assert_eq!(at("PT8H").unwrap(), 8 * 3_600);
        assert_eq!(at("P1DT12H").unwrap(), 36 * 3_600);
        assert_eq!(at("PT30M").unwrap(), 1_800);
        assert_eq!(
            deadline_from("2026-12-08T12:00:00Z", now).unwrap(),
            now.plus_seconds(7 * 86_400)
        );
        for bad in [
            "P", "PT", "P0D", "P7", "P7Y", "PT8D", "P1H", "PD", "P-1D", "tomorrow", "P7DT",
        ] {
            let err = deadline_from(bad, now).expect_err(bad).to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
