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
}
