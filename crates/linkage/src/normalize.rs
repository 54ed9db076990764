//! Name and text normalisation for Spanish and English person records.
//!
//! Two files that describe the same person rarely spell him the same way: one
//! writes "José Luis Hernández García", the other "JOSE L. HERNANDEZ". Before
//! anything is encoded, both sides must reduce names to the same canonical
//! form, or the encodings differ for reasons that say nothing about identity.
//! This module folds case and diacritics, drops punctuation, removes surname
//! particles (de, de la, del, y …), splits double surnames, expands common
//! abbreviations and maps nicknames to their formal given name with small,
//! built-in tables. Both parties must run the same normalisation, which is why
//! the tables are part of the encoding version rather than configuration.

/// Folds one character to lowercase ASCII, or returns `None` when it has no
/// alphanumeric meaning (punctuation, symbols).
///
/// The table covers Latin-1 and the Latin Extended-A letters seen in Spanish,
/// Portuguese, French, German and Central European names; anything else that
/// is alphabetic but not in the table is kept as is (lowercased), so scripts we
/// do not transliterate still compare equal with themselves.
fn fold_char(c: char, out: &mut String) {
    let lower = c.to_lowercase();
    for l in lower {
        let folded: &str = match l {
            'a'..='z' | '0'..='9' => {
                out.push(l);
                continue;
            }
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
            'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'ñ' | 'ń' | 'ň' => "n",
            'ç' | 'ć' | 'č' => "c",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            'æ' => "ae",
            'œ' => "oe",
            'đ' | 'ď' | 'ð' => "d",
            'ł' | 'ľ' | 'ĺ' => "l",
            'š' | 'ś' | 'ş' => "s",
            'ž' | 'ź' | 'ż' => "z",
            'ř' | 'ŕ' => "r",
            'ť' | 'ţ' => "t",
            'ğ' => "g",
            'þ' => "th",
            // Apostrophes vanish without a gap: O'Brien and OBrien are one name.
            '\'' | '’' | '`' | '´' => "",
            other if other.is_alphanumeric() => {
                out.push(other);
                continue;
            }
            // Every other character separates words (hyphens, dots, commas).
            _ => " ",
        };
        out.push_str(folded);
    }
}

/// Lowercases, removes diacritics and punctuation, and collapses whitespace.
///
/// ```
/// use soberana_linkage::normalize::normalize_text;
/// assert_eq!(normalize_text("  José-Luis  HERNÁNDEZ, O'Brien "), "jose luis hernandez obrien");
/// ```
pub fn normalize_text(raw: &str) -> String {
    let mut folded = String::with_capacity(raw.len());
    for c in raw.chars() {
        fold_char(c, &mut folded);
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Surname particles dropped before comparison: "de la Cruz" and "Cruz" are
/// the same family name in practice, and files disagree on keeping them.
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "y", "e", "da", "das", "do", "dos", "di", "du", "van", "von",
    "der", "den", "le", "st", "san", "mc",
];

/// Abbreviations of given names common in Mexican and US files.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("ma", "maria"),
    ("fco", "francisco"),
    ("gpe", "guadalupe"),
    ("jse", "jose"),
    ("ant", "antonio"),
    ("wm", "william"),
    ("chas", "charles"),
    ("thos", "thomas"),
    ("jas", "james"),
    ("geo", "george"),
    ("robt", "robert"),
];

/// Nicknames mapped to the formal given name. Only unambiguous entries are
/// listed: "Beto" (Alberto or Roberto) or "Pat" (Patrick or Patricia) are
/// deliberately absent, since a wrong expansion hurts more than none.
const NICKNAMES: &[(&str, &str)] = &[
    // Spanish
    ("pepe", "jose"),
    ("chepe", "jose"),
    ("paco", "francisco"),
    ("pancho", "francisco"),
    ("lupe", "guadalupe"),
    ("chuy", "jesus"),
    ("memo", "guillermo"),
    ("nacho", "ignacio"),
    ("lalo", "eduardo"),
    ("tono", "antonio"),
    ("concha", "concepcion"),
    ("chelo", "consuelo"),
    ("quique", "enrique"),
    ("kike", "enrique"),
    ("chucho", "jesus"),
    ("pili", "pilar"),
    ("charo", "rosario"),
    ("lola", "dolores"),
    ("lolita", "dolores"),
    ("nando", "fernando"),
    ("rafa", "rafael"),
    ("toni", "antonio"),
    ("manolo", "manuel"),
    ("juanjo", "juan jose"),
    ("chema", "jose maria"),
    ("pina", "josefina"),
    ("fito", "adolfo"),
    ("goyo", "gregorio"),
    ("poncho", "alfonso"),
    ("meche", "mercedes"),
    ("licha", "alicia"),
    // English
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("willy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("dick", "richard"),
    ("rick", "richard"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("mike", "michael"),
    ("mick", "michael"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("joe", "joseph"),
    ("joey", "joseph"),
    ("tony", "anthony"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("kate", "katherine"),
    ("katie", "katherine"),
    ("chris", "christopher"),
    ("dave", "david"),
    ("steve", "stephen"),
    ("ted", "edward"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("jack", "john"),
    ("johnny", "john"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("sue", "susan"),
    ("jenny", "jennifer"),
    ("jen", "jennifer"),
    ("larry", "lawrence"),
    ("harry", "henry"),
    ("hank", "henry"),
    ("chuck", "charles"),
    ("charlie", "charles"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("matt", "matthew"),
    ("nick", "nicholas"),
    ("ben", "benjamin"),
    ("greg", "gregory"),
    ("ken", "kenneth"),
    ("ron", "ronald"),
    ("don", "donald"),
    ("jeff", "jeffrey"),
    ("jerry", "gerald"),
    ("patty", "patricia"),
    ("trish", "patricia"),
    ("becky", "rebecca"),
    ("cathy", "catherine"),
    ("vicky", "victoria"),
];

fn lookup(table: &[(&'static str, &'static str)], word: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == word).map(|(_, v)| *v)
}

/// Normalises given names: compound names keep every part ("maria jose"),
/// abbreviations and nicknames become the formal name ("Pepe" → "jose").
///
/// ```
/// use soberana_linkage::normalize::normalize_given_names;
/// assert_eq!(normalize_given_names("Ma. José"), "maria jose");
/// assert_eq!(normalize_given_names("BILL"), "william");
/// ```
pub fn normalize_given_names(raw: &str) -> String {
    let text = normalize_text(raw);
    let mut words = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let canonical = lookup(NICKNAMES, word)
            .or_else(|| lookup(ABBREVIATIONS, word))
            .unwrap_or(word);
        words.push(canonical);
    }
    words.join(" ")
}

/// Normalises one surname field: folds it and drops particles.
fn surname_words(raw: &str) -> Vec<String> {
    normalize_text(raw)
        .split(' ')
        .filter(|w| !w.is_empty() && !PARTICLES.contains(w))
        .map(str::to_owned)
        .collect()
}

/// Splits and normalises surnames into (paternal, maternal).
///
/// When the file has only one surname column, Mexican files often hold both
/// surnames in it ("Hernández García", "Ortega y Gasset", "Pérez-Soto"): the
/// first word becomes the paternal surname and the rest the maternal one.
/// Particles are removed first, so "de la Cruz" is the single surname "cruz".
///
/// ```
/// use soberana_linkage::normalize::split_surnames;
/// assert_eq!(split_surnames("Hernández García", ""), ("hernandez".into(), "garcia".into()));
/// assert_eq!(split_surnames("de la Cruz", "y Pérez"), ("cruz".into(), "perez".into()));
/// ```
pub fn split_surnames(paternal_raw: &str, maternal_raw: &str) -> (String, String) {
    let mut paternal = surname_words(paternal_raw);
    let maternal = surname_words(maternal_raw);
    if maternal.is_empty() && paternal.len() >= 2 {
        let rest = paternal.split_off(1);
        return (paternal.join(" "), rest.join(" "));
    }
    (paternal.join(" "), maternal.join(" "))
}

/// Normalises free text such as addresses and places: folding only, no
/// name tables.
pub fn normalize_place(raw: &str) -> String {
    normalize_text(raw)
}

/// Keeps only ASCII digits: identifiers and postcodes are compared as digits.
pub fn digits_only(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_folding_table() {
        let cases = [
            ("José", "jose"),
            ("MUÑOZ", "munoz"),
            ("Hernández-García", "hernandez garcia"),
            ("O'Connor", "oconnor"),
            ("  Peña   Nieto ", "pena nieto"),
            ("Strauß", "strauss"),
            ("Łukasz", "lukasz"),
            ("Ma. Guadalupe", "ma guadalupe"),
            ("123 Main St.", "123 main st"),
            ("", ""),
            ("...", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_text(raw), want, "input {raw:?}");
        }
    }

    #[test]
    fn given_names_table() {
        let cases = [
            ("José Luis", "jose luis"),
            ("Jose L.", "jose l"),
            ("Pepe", "jose"),
            ("Bill", "william"),
            ("María José", "maria jose"),
            ("Ma. José", "maria jose"),
            ("Fco. Javier", "francisco javier"),
            ("Chuy", "jesus"),
            // Ambiguous nicknames stay as written.
            ("Beto", "beto"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_given_names(raw), want, "input {raw:?}");
        }
    }

    #[test]
    fn surname_table() {
        let cases = [
            (("Hernández García", ""), ("hernandez", "garcia")),
            (("Hernández", "García"), ("hernandez", "garcia")),
            (("Ortega y Gasset", ""), ("ortega", "gasset")),
            (("Pérez-Soto", ""), ("perez", "soto")),
            (("de la Cruz", ""), ("cruz", "")),
            (("De La Cruz", "Del Río"), ("cruz", "rio")),
            (("van der Berg", ""), ("berg", "")),
            (("Smith", ""), ("smith", "")),
            (("", ""), ("", "")),
        ];
        for ((p, m), (wp, wm)) in cases {
            assert_eq!(
                split_surnames(p, m),
                (wp.to_owned(), wm.to_owned()),
                "input {p:?} {m:?}"
            );
        }
    }

    #[test]
    fn digits_only_strips_separators() {
        assert_eq!(digits_only("123-45-6789"), "123456789");
        assert_eq!(digits_only(" 42 "), "42");
    }
}
