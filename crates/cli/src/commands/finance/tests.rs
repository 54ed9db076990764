//! Unit tests of the finance commands' helpers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

#[test]
fn durations() {
    for (text, secs) in [
        ("30d", 30 * 86_400),
        ("12h", 43_200),
        ("90m", 5_400),
        ("3600s", 3_600),
        ("2w", 14 * 86_400),
        ("7", 7 * 86_400),
    ] {
        assert_eq!(parse_duration(text).unwrap(), secs, "{text}");
    }
    for bad in ["", "d", "-1d", "0d", "3y", "1.5d", "99999999999999999999d"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}
