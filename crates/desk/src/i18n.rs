//! The two languages the desk speaks, chosen per officer.
//!
//! Every piece of text on a page is written in both languages at the place
//! it is used (`lang.s("Inbox", "Bandeja de entrada")`), so that a page can
//! never show a key instead of words and a reader of the code sees both.

use std::fmt;

/// A language of the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Spanish.
    Es,
    /// English.
    En,
}

impl Lang {
    /// Parses a language code (`es` or `en`).
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language's code, as in HTML's `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch in the page header).
    pub fn other(self) -> Self {
        match self {
            Lang::Es => Lang::En,
            Lang::En => Lang::Es,
        }
    }

    /// Picks the English or the Spanish text.
    pub fn s(self, en: &'static str, es: &'static str) -> &'static str {
        match self {
            Lang::Es => es,
            Lang::En => en,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_others_are_refused() {
        for lang in [Lang::Es, Lang::En] {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
            assert_ne!(lang.other(), lang);
        }
        for bad in ["", "EN", "fr", "es-MX", "en "] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Lang::Es.s("Inbox", "Bandeja"), "Bandeja");
    }
}
