//! Hand-written HTML: escaping, the page frame, and small helpers.
//!
//! The desk builds its pages as strings rather than through a template
//! engine, to keep the build lean. Everything that did not come from this
//! file's own literals goes through [`escape`] (text and attribute values
//! alike), so a partner's proposal text can never become markup on an
//! officer's screen.

use std::fmt::Write as _;

use soberana_core::Timestamp;
use time::{OffsetDateTime, UtcOffset};

use crate::i18n::Lang;

/// Escapes text for use in HTML element content and in quoted attribute
/// values: `&`, `<`, `>`, `"`, `'` become character references; control
/// characters other than tab, newline and carriage return are dropped;
/// bidirectional controls (overrides, embeddings, isolates, direction marks)
/// are shown as `⟨U+202E⟩`, so a partner's text cannot reorder what an
/// officer reads.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c if soberana_core::is_bidi_control(c) => {
                let _ = write!(out, "⟨U+{:04X}⟩", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Where an officer reads the time: a named IANA zone (with its daylight
/// saving rules), or only a fixed offset from UTC in minutes.
#[derive(Debug, Clone)]
pub enum Zone {
    /// A fixed offset in minutes (no daylight saving).
    Fixed(i32),
    /// An IANA time zone, e.g. `America/Tijuana`.
    Named(jiff::tz::TimeZone),
}

impl Zone {
    /// The officer's zone: the named one when it is known here, else the
    /// fixed offset.
    pub fn of(name: &str, offset_minutes: i32) -> Self {
        if name.is_empty() {
            return Zone::Fixed(offset_minutes);
        }
        match jiff::tz::TimeZone::get(name) {
            Ok(tz) => Zone::Named(tz),
            Err(_) => Zone::Fixed(offset_minutes),
        }
    }

    /// The offset from UTC in minutes in force at `at`.
    pub fn offset_at(&self, at: Timestamp) -> i32 {
        match self {
            Zone::Fixed(minutes) => *minutes,
            Zone::Named(tz) => jiff::Timestamp::from_millisecond(at.unix_millis())
                .map(|t| tz.to_offset(t).seconds() / 60)
                .unwrap_or(0),
        }
    }

    /// The zone for computing with local dates and hours.
    pub fn tz(&self) -> jiff::tz::TimeZone {
        match self {
            Zone::Fixed(minutes) => jiff::tz::Offset::from_seconds(minutes.saturating_mul(60))
                .map(jiff::tz::TimeZone::fixed)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            Zone::Named(tz) => tz.clone(),
        }
    }

    /// The zone's IANA name, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Zone::Fixed(_) => None,
            Zone::Named(tz) => tz.iana_name(),
        }
    }
}

/// Working hours: Monday to Friday, from this hour to the next, local time.
pub const WORKING_HOURS: (i8, i8) = (9, 18);

/// The working time between two instants, in seconds: the part of it that
/// falls on weekdays within [`WORKING_HOURS`] in `zone` (daylight saving
/// included). At most ten years are counted.
pub fn working_seconds(from: Timestamp, to: Timestamp, zone: &Zone) -> i64 {
    use jiff::civil::Weekday;
    let (Ok(start), Ok(end)) = (
        jiff::Timestamp::from_millisecond(from.unix_millis()),
        jiff::Timestamp::from_millisecond(to.unix_millis()),
    ) else {
        return 0;
    };
    if end <= start {
        return 0;
    }
    let tz = zone.tz();
    let mut day = start.to_zoned(tz.clone()).date();
    let last = end.to_zoned(tz.clone()).date();
    let mut total = 0;
    for _ in 0..3_660 {
        if day > last {
            break;
        }
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            let open = day.at(WORKING_HOURS.0, 0, 0, 0).to_zoned(tz.clone());
            let close = day.at(WORKING_HOURS.1, 0, 0, 0).to_zoned(tz.clone());
            if let (Ok(open), Ok(close)) = (open, close) {
                let a = open.timestamp().max(start);
                let b = close.timestamp().min(end);
                if b > a {
                    total += b.as_second() - a.as_second();
                }
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    total
}

/// Whether `name` is an IANA time zone this machine knows.
pub fn known_zone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

/// An instant shown in the officer's zone, with the offset in force then
/// written out: `2025-11-04 16:00 UTC−06:00`, or `… UTC` for offset zero;
/// a named zone adds its name (`2026-07-01 10:00 UTC−07:00 America/Tijuana`).
pub fn when(at: Timestamp, zone: &Zone) -> String {
    let text = when_offset(at, zone.offset_at(at));
    match zone.name() {
        Some(name) => format!("{text} {name}"),
        None => text,
    }
}

fn when_offset(at: Timestamp, offset_minutes: i32) -> String {
    let nanos = i128::from(at.unix_millis()) * 1_000_000;
    let offset =
        UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60)).unwrap_or(UtcOffset::UTC);
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return at.to_string();
    };
    let t = t.to_offset(offset);
    let zone = if offset_minutes == 0 {
        "UTC".to_owned()
    } else {
        let sign = if offset_minutes < 0 { '−' } else { '+' };
        let m = offset_minutes.unsigned_abs();
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A `<time>` element for an instant, machine-readable in UTC.
pub fn time_tag(at: Timestamp, zone: &Zone) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(&at.to_string()),
        escape(&when(at, zone))
    )
}

/// The time left until `deadline`, in words (`2 d 3 h left`, `overdue by 5 h`).
pub fn countdown(lang: Lang, now: Timestamp, deadline: Timestamp) -> String {
    let secs = now.seconds_until(deadline);
    let abs = secs.unsigned_abs();
    let span = if abs >= 86_400 {
        format!("{} d {} h", abs / 86_400, (abs % 86_400) / 3_600)
    } else if abs >= 3_600 {
        format!("{} h {} min", abs / 3_600, (abs % 3_600) / 60)
    } else {
        format!("{} min", abs / 60)
    };
    if secs >= 0 {
        format!("{span} {}", lang.s("left", "restantes"))
    } else {
        format!("{} {span}", lang.s("overdue by", "vencido hace"))
    }
}

/// The signed-in officer as the frame needs them.
pub struct FrameUser<'a> {
    /// The officer's name.
    pub name: &'a str,
    /// Their id.
    pub id: &'a str,
    /// The session's form token.
    pub csrf: &'a str,
}

/// The whole page around `body`: navigation, language switch and logout for
/// a signed-in officer, and a skip link for keyboard users.
pub fn page(
    lang: Lang,
    party: &str,
    title: &str,
    user: Option<FrameUser<'_>>,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · soberana {party}</title>\
         <link rel=\"stylesheet\" href=\"/assets/desk.css\"><link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\
         <script src=\"/assets/desk.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">{skip}</a>\
         <header><span class=\"brand\">soberana · {party}</span>",
        lang = lang.code(),
        title = escape(title),
        party = escape(party),
        skip = lang.s("Skip to content", "Ir al contenido"),
    );
    if let Some(user) = user {
        let _ = write!(
            out,
            "<nav aria-label=\"{nav}\"><a href=\"/inbox\">{inbox}</a><a href=\"/decided\">{decided}</a><a href=\"/outbox\">{outbox}</a>\
             <a href=\"/proof\">{proof}</a><a href=\"/outcomes\">{outcomes}</a><a href=\"/alerts\">{alerts}</a><a href=\"/standing\">{standing}</a></nav>\
             <div class=\"who\"><span>{name} ({id})</span>\
             <form method=\"post\" action=\"/language\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"language\" value=\"{other}\">\
             <button type=\"submit\">{switch}</button></form>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\">{logout}</button></form></div>",
            nav = lang.s("Desk", "Escritorio"),
            inbox = lang.s("Inbox", "Bandeja de entrada"),
            decided = lang.s("Decided by policy", "Decididas por la política"),
            outbox = lang.s("Outbox", "Enviadas"),
            proof = lang.s("Proof", "Pruebas"),
            outcomes = lang.s("Outcomes", "Resultados"),
            alerts = lang.s("Alerts", "Alertas"),
            standing = lang.s("Standing matches", "Cotejos permanentes"),
            name = escape(user.name),
            id = escape(user.id),
            csrf = escape(user.csrf),
            other = lang.other().code(),
            switch = lang.s("Español", "English"),
            logout = lang.s("Log out", "Salir"),
        );
    }
    let _ = write!(
        out,
        "</header><main id=\"main\" tabindex=\"-1\"><h1>{}</h1>{body}</main></body></html>",
        escape(title)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_become_markup() {
        let cases = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("\" onmouseover=\"x", "&quot; onmouseover=&quot;x"),
            ("' autofocus onfocus='x", "&#39; autofocus onfocus=&#39;x"),
            ("a & b &amp;", "a &amp; b &amp;amp;"),
            (
                "</textarea><img src=x>",
                "&lt;/textarea&gt;&lt;img src=x&gt;",
            ),
            ("nul\u{0}bell\u{7}esc\u{1b}", "nulbellesc"),
            ("línea\nsegunda\tcol", "línea\nsegunda\tcol"),
            (
                "cuenta \u{202E}1234\u{202C} \u{2066}x\u{2069}\u{200F}",
                "cuenta ⟨U+202E⟩1234⟨U+202C⟩ ⟨U+2066⟩x⟨U+2069⟩⟨U+200F⟩",
            ),
            ("", ""),
        ];
        for (input, expected) in cases {
            let out = escape(input);
            assert_eq!(out, expected, "{input:?}");
            assert!(!out.contains(['<', '>', '"', '\'']), "{out}");
        }
    }

    #[test]
    fn times_carry_their_zone() {
        let t = Timestamp::parse("2025-11-04T22:00:00Z").unwrap();
        assert_eq!(when(t, &Zone::Fixed(0)), "2025-11-04 22:00 UTC");
        assert_eq!(when(t, &Zone::Fixed(-360)), "2025-11-04 16:00 UTC−06:00");
        assert_eq!(when(t, &Zone::Fixed(330)), "2025-11-05 03:30 UTC+05:30");
        assert!(time_tag(t, &Zone::Fixed(0)).contains("datetime=\"2025-11-04T22:00:00Z\""));
    }

    #[test]
    fn working_time_counts_weekday_office_hours_only() {
        let zone = Zone::of("America/Mexico_City", 0);
        // Friday 2026-11-06 17:00 local to Monday 2026-11-09 10:00 local:
        // one hour on Friday, one on Monday.
        let from = Timestamp::parse("2026-11-06T23:00:00Z").unwrap();
        let to = Timestamp::parse("2026-11-09T16:00:00Z").unwrap();
        assert_eq!(working_seconds(from, to, &zone), 2 * 3_600);
        // A whole week: five days of nine hours.
        let week_end = from.plus_seconds(7 * 86_400);
        assert_eq!(working_seconds(from, week_end, &zone), 5 * 9 * 3_600);
        // Backwards or empty spans count nothing.
        assert_eq!(working_seconds(to, from, &zone), 0);
        // A Saturday counts nothing.
        let sat = Timestamp::parse("2026-11-07T16:00:00Z").unwrap();
        assert_eq!(working_seconds(sat, sat.plus_seconds(3_600), &zone), 0);
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        let winter = Timestamp::parse("2026-01-15T18:00:00Z").unwrap();
        let summer = Timestamp::parse("2026-07-15T18:00:00Z").unwrap();
        let tijuana = Zone::of("America/Tijuana", 0);
        assert_eq!(
            when(winter, &tijuana),
            "2026-01-15 10:00 UTC−08:00 America/Tijuana"
        );
        assert_eq!(
            when(summer, &tijuana),
            "2026-07-15 11:00 UTC−07:00 America/Tijuana"
        );
        // Arizona keeps standard time all year; Mexico City has had no
        // daylight saving since 2022.
        let phoenix = Zone::of("America/Phoenix", 0);
        assert_eq!(phoenix.offset_at(winter), -420);
        assert_eq!(phoenix.offset_at(summer), -420);
        let cdmx = Zone::of("America/Mexico_City", 0);
        assert_eq!(cdmx.offset_at(summer), -360);
        // An unknown name keeps the fixed offset.
        assert_eq!(Zone::of("Mars/Olympus", -300).offset_at(summer), -300);
        assert!(known_zone("America/Tijuana") && !known_zone("America/Nowhere"));
    }

    #[test]
    fn countdowns_say_left_or_overdue() {
        let now = Timestamp::from_unix_millis(0);
        assert_eq!(
            countdown(Lang::En, now, now.plus_seconds(2 * 86_400 + 3 * 3_600)),
            "2 d 3 h left"
        );
        assert_eq!(
            countdown(Lang::Es, now, now.plus_seconds(-5 * 3_600)),
            "vencido hace 5 h 0 min"
        );
        assert_eq!(
            countdown(Lang::En, now, now.plus_seconds(600)),
            "10 min left"
        );
    }

    #[test]
    fn the_frame_escapes_the_title_and_the_officer() {
        let html = page(
            Lang::En,
            "MX",
            "<b>",
            Some(FrameUser {
                name: "<i>Ana</i>",
                id: "ana",
                csrf: "t\"k",
            }),
            "",
        );
        assert!(!html.contains("<b>") && !html.contains("<i>"));
        assert!(html.contains("value=\"t&quot;k\""));
    }
}
