//! Showing text a partner wrote without letting it steer the screen.
//!
//! A proposal's purpose, legal basis, reasons and answer items are the
//! partner's words. Printed raw to a terminal, an escape sequence in them can
//! move the cursor, rewrite earlier lines or change colours, so that a
//! proposal appears to ask something it does not; bidirectional-override
//! characters reorder what follows them on a terminal or a page, so that
//! "transfer to 1234" can read as another account. [`visible`] shows each of
//! these characters as its code point, `⟨U+001B⟩`, so the officer sees that
//! something was there and nothing is hidden or reordered.

use std::borrow::Cow;

/// Whether `c` reorders text: the bidirectional embeddings, overrides and
/// isolates (U+202A–202E, U+2066–2069) and the invisible direction marks
/// (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether [`visible`] replaces `c`: C0 controls (newlines and tabs
/// included, so one field stays one line), DEL, C1 controls, and
/// bidirectional controls.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `text` with every control and bidirectional-control character shown as
/// `⟨U+XXXX⟩`; borrowed when there is none.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_text_is_shown_not_obeyed() {
        let cases = [
            // Clear the line and write a harmless request over the real one.
            (
                "deploy troops\x1b[2K\rask for a phone record",
                "deploy troops⟨U+001B⟩[2K⟨U+000D⟩ask for a phone record",
            ),
            // A C1 control sequence introducer (8-bit CSI).
            ("a\u{9b}31mb", "a⟨U+009B⟩31mb"),
            // Right-to-left override reorders the account number.
            (
                "transfer to \u{202E}4321\u{202C}",
                "transfer to ⟨U+202E⟩4321⟨U+202C⟩",
            ),
            ("\u{2066}isolate\u{2069}", "⟨U+2066⟩isolate⟨U+2069⟩"),
            ("fake\nhandling   H0", "fake⟨U+000A⟩handling   H0"),
            ("bell\x07 and del\x7f", "bell⟨U+0007⟩ and del⟨U+007F⟩"),
        ];
        for (forged, shown) in cases {
            assert_eq!(visible(forged), shown);
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "Solicitud de información: cuenta 0021 — Nogales, Sonora; 北京";
        assert!(matches!(visible(text), Cow::Borrowed(t) if t == text));
    }
}
