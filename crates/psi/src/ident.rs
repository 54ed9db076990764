//! Identifier kinds that partners check for hits, each parsed and normalised to exactly one
//! canonical string.
//!
//! Private set intersection matches byte strings exactly, so two spellings of the same phone
//! number or serial must become the same bytes before matching, or a real hit is missed. Every
//! kind therefore has one canonical form, prefixed by the kind's name (`phone:+525512345678`),
//! so identifiers of different kinds can never collide. Checksummed kinds (CLABE, IBAN, ABA
//! routing numbers) are verified here, so a mistyped account is reported instead of silently
//! never matching.

use std::fmt;

use crate::error::IdentifierError;

/// The kinds of identifier soberana can check for hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifierKind {
    /// A telephone number, canonical in E.164 (`+` and up to 15 digits).
    Phone,
    /// A Mexican interbank account number (CLABE): 18 digits with a check digit.
    Clabe,
    /// An International Bank Account Number, verified with the ISO 13616 mod-97 check.
    Iban,
    /// A US bank account: ABA routing number (checksum 3-7-1) plus account number.
    AbaAccount,
    /// A firearm: manufacturer plus serial number.
    Firearm,
    /// A vehicle plate: country, state (or province) and plate.
    Plate,
    /// An e-mail address.
    Email,
}

impl IdentifierKind {
    /// Every kind, in the order of their names.
    pub const ALL: [IdentifierKind; 7] = [
        IdentifierKind::Phone,
        IdentifierKind::Clabe,
        IdentifierKind::Iban,
        IdentifierKind::AbaAccount,
        IdentifierKind::Firearm,
        IdentifierKind::Plate,
        IdentifierKind::Email,
    ];

    /// The kind's name, as used in files and in canonical strings.
    pub fn name(self) -> &'static str {
        match self {
            IdentifierKind::Phone => "phone",
            IdentifierKind::Clabe => "clabe",
            IdentifierKind::Iban => "iban",
            IdentifierKind::AbaAccount => "aba",
            IdentifierKind::Firearm => "firearm",
            IdentifierKind::Plate => "plate",
            IdentifierKind::Email => "email",
        }
    }

    /// Looks a kind up by its name (case-insensitive).
    pub fn from_name(name: &str) -> Result<Self, IdentifierError> {
        let lower = name.trim().to_ascii_lowercase();
        IdentifierKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| IdentifierError::UnknownKind(name.trim().to_owned()))
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The country whose national phone formats are accepted without a `+` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhoneCountry {
    /// Mexico, country code 52: ten-digit national numbers.
    #[default]
    Mx,
    /// The United States (North American Numbering Plan), country code 1.
    Us,
}

impl PhoneCountry {
    /// The ITU country calling code.
    pub fn calling_code(self) -> &'static str {
        match self {
            PhoneCountry::Mx => "52",
            PhoneCountry::Us => "1",
        }
    }
}

/// Options that affect parsing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// The country assumed for phone numbers written without `+` or `00`.
    pub default_phone_country: PhoneCountry,
}

/// One identifier in its canonical form. Two identifiers are equal exactly when they denote
/// the same thing under soberana's normalisation rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    kind: IdentifierKind,
    canonical: String,
}

impl Identifier {
    /// Parses `input` as an identifier of `kind`, normalising it.
    pub fn parse(
        kind: IdentifierKind,
        input: &str,
        options: &ParseOptions,
    ) -> Result<Self, IdentifierError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(IdentifierError::Empty);
        }
        let value = match kind {
            IdentifierKind::Phone => parse_phone(input, options.default_phone_country)?,
            IdentifierKind::Clabe => parse_clabe(input)?,
            IdentifierKind::Iban => parse_iban(input)?,
            IdentifierKind::AbaAccount => parse_aba(input)?,
            IdentifierKind::Firearm => parse_firearm(input)?,
            IdentifierKind::Plate => parse_plate(input)?,
            IdentifierKind::Email => parse_email(input)?,
        };
        Ok(Identifier {
            kind,
            canonical: format!("{}:{value}", kind.name()),
        })
    }

    /// Parses `kind:value` (for example `phone:+52 55 1234 5678`).
    pub fn parse_tagged(input: &str, options: &ParseOptions) -> Result<Self, IdentifierError> {
        let (kind, value) = input
            .split_once(':')
            .ok_or_else(|| IdentifierError::MissingKind(input.trim().to_owned()))?;
        Identifier::parse(IdentifierKind::from_name(kind)?, value, options)
    }

    /// The identifier's kind.
    pub fn kind(&self) -> IdentifierKind {
        self.kind
    }

    /// The canonical string, `kind:value`; this is exactly what is matched.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The canonical value without the kind prefix.
    pub fn value(&self) -> &str {
        self.canonical
            .split_once(':')
            .map_or(self.canonical.as_str(), |(_, v)| v)
    }
}

impl AsRef<[u8]> for Identifier {
    fn as_ref(&self) -> &[u8] {
        self.canonical.as_bytes()
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// Removes the separators people type inside numbers: spaces, dashes, dots, slashes and
/// parentheses.
fn strip_separators(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '-' | '.' | '(' | ')' | '/'))
        .collect()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Phone numbers. Accepted forms: `+CC…` or `00CC…` (international, any country, 8–15
/// digits); for Mexico ten national digits, optionally after the obsolete `01`, `044` or `045`
/// prefixes, and the obsolete mobile `1` after `+52` is removed (Mexico's numbering plan
/// dropped it in 2019, so `+52 1 55…` and `+52 55…` are the same line); for the NANP ten
/// digits, optionally after `1`, with area code and exchange starting 2–9. No other country's
/// national plan is known, so other numbers must be written internationally.
fn parse_phone(input: &str, country: PhoneCountry) -> Result<String, IdentifierError> {
    let stripped = strip_separators(input);
    let (international, digits) = if let Some(rest) = stripped.strip_prefix('+') {
        (true, rest.to_owned())
    } else if let Some(rest) = stripped.strip_prefix("00") {
        (true, rest.to_owned())
    } else {
        (false, stripped)
    };
    if !all_digits(&digits) {
        return Err(IdentifierError::Invalid {
            kind: IdentifierKind::Phone,
            input: input.to_owned(),
            reason: "a phone number may contain only digits, spaces, dashes, dots, parentheses and a leading `+`",
        });
    }
    let full = if international {
        digits
    } else {
        national_to_international(&digits, country).ok_or_else(|| IdentifierError::Invalid {
            kind: IdentifierKind::Phone,
            input: input.to_owned(),
            reason: "not a national number of the default country; write it as `+` and country code",
        })?
    };
    let full = normalise_international(full);
    if full.len() < 8 || full.len() > 15 || full.starts_with('0') {
        return Err(IdentifierError::Invalid {
            kind: IdentifierKind::Phone,
            input: input.to_owned(),
            reason: "an E.164 number has 8 to 15 digits and a country code not starting with 0",
        });
    }
    if let Some(national) = full.strip_prefix("52") {
        if national.len() != 10 {
            return Err(IdentifierError::Invalid {
                kind: IdentifierKind::Phone,
                input: input.to_owned(),
                reason: "a Mexican number has 10 digits after `+52`",
            });
        }
    } else if let Some(national) = full.strip_prefix('1')
        && !nanp_valid(national)
    {
        return Err(IdentifierError::Invalid {
            kind: IdentifierKind::Phone,
            input: input.to_owned(),
            reason: "a North American number has 10 digits after `+1`, area code and exchange starting 2 to 9",
        });
    }
    Ok(format!("+{full}"))
}

fn national_to_international(digits: &str, country: PhoneCountry) -> Option<String> {
    match country {
        PhoneCountry::Mx => {
            let national = match digits.len() {
                10 => digits,
                12 if digits.starts_with("01") => digits.get(2..)?,
                13 if digits.starts_with("044") || digits.starts_with("045") => digits.get(3..)?,
                _ => return None,
            };
            Some(format!("52{national}"))
        }
        PhoneCountry::Us => {
            let national = match digits.len() {
                10 => digits,
                11 if digits.starts_with('1') => digits.get(1..)?,
                _ => return None,
            };
            Some(format!("1{national}"))
        }
    }
}

/// Drops the obsolete Mexican mobile `1` (`+52 1 XXXXXXXXXX`).
fn normalise_international(full: String) -> String {
    if full.len() == 13 && full.starts_with("521") {
        format!("52{}", full.get(3..).unwrap_or_default())
    } else {
        full
    }
}

fn nanp_valid(national: &str) -> bool {
    let b = national.as_bytes();
    b.len() == 10
        && b.first().is_some_and(|d| (b'2'..=b'9').contains(d))
        && b.get(3).is_some_and(|d| (b'2'..=b'9').contains(d))
}

/// Digit values of an all-digit string.
fn digit_values(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b - b'0')).collect()
}

/// CLABE: 18 digits (bank 3, branch 3, account 11, check 1). The check digit is
/// `(10 - (Σ (dᵢ·wᵢ mod 10)) mod 10) mod 10` with weights 3, 7, 1 repeating over the first 17
/// digits (Banco de México, "CLABE" specification).
fn parse_clabe(input: &str) -> Result<String, IdentifierError> {
    let digits = strip_separators(input);
    if digits.len() != 18 || !all_digits(&digits) {
        return Err(IdentifierError::Invalid {
            kind: IdentifierKind::Clabe,
            input: input.to_owned(),
            reason: "a CLABE has exactly 18 digits",
        });
    }
    let values = digit_values(&digits);
    if clabe_check_digit(values.get(..17).unwrap_or_default()) != values.get(17).copied() {
        return Err(IdentifierError::Invalid {
            kind: IdentifierKind::Clabe,
            input: input.to_owned(),
            reason: "the CLABE check digit does not match; check for a mistyped digit",
        });
    }
    Ok(digits)
}

fn clabe_check_digit(first17: &[u32]) -> Option<u32> {
    if first17.len() != 17 {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip([3, 7, 1].into_iter().cycle())
        .map(|(d, w)| (d * w) % 10)
        .sum();
    Some((10 - sum % 10) % 10)
}

/// IBAN (ISO 13616): two letters, two check digits, up to 30 letters or digits; 15 to 34
/// characters in all. Valid when the rearranged number is 1 mod 97. Per-country lengths are not
/// checked (the mod-97 check catches all single-character errors).
fn parse_iban(input: &str) -> Result<String, IdentifierError> {
    let iban: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    let invalid = |reason| IdentifierError::Invalid {
        kind: IdentifierKind::Iban,
        input: input.to_owned(),
        reason,
    };
    if !(15..=34).contains(&iban.len()) || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(
            "an IBAN has 15 to 34 letters and digits (spaces allowed)",
        ));
    }
    let b = iban.as_bytes();
    if !b.iter().take(2).all(u8::is_ascii_alphabetic)
        || !b.iter().skip(2).take(2).all(u8::is_ascii_digit)
    {
        return Err(invalid(
            "an IBAN starts with a two-letter country code and two check digits",
        ));
    }
    // Move the first four characters to the end and read letters as 10..=35.
    let mut remainder: u32 = 0;
    for &c in b.iter().skip(4).chain(b.iter().take(4)) {
        let value = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder != 1 {
        return Err(invalid(
            "the IBAN check digits do not match; check for a mistyped character",
        ));
    }
    Ok(iban)
}

/// US account: `ROUTING ACCOUNT` or `ROUTING/ACCOUNT`. The routing number's checksum is
/// `3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)` (American Bankers Association). The
/// account number is 1 to 17 digits; its leading zeros are significant and kept.
fn parse_aba(input: &str) -> Result<String, IdentifierError> {
    let invalid = |reason| IdentifierError::Invalid {
        kind: IdentifierKind::AbaAccount,
        input: input.to_owned(),
        reason,
    };
    let (routing, account) = input.trim().split_once(['/', ' ', '\t']).ok_or_else(|| {
        invalid("write the routing number, then `/` or a space, then the account number")
    })?;
    let routing: String = routing.chars().filter(|c| *c != '-').collect();
    let account: String = account
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if routing.len() != 9 || !all_digits(&routing) {
        return Err(invalid("an ABA routing number has exactly 9 digits"));
    }
    let d = digit_values(&routing);
    let sum: u32 = d
        .iter()
        .zip([3, 7, 1].into_iter().cycle())
        .map(|(d, w)| d * w)
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(invalid(
            "the routing number checksum does not match; check for a mistyped digit",
        ));
    }
    if account.is_empty() || account.len() > 17 || !all_digits(&account) {
        return Err(invalid("a US account number has 1 to 17 digits"));
    }
    Ok(format!("{routing}/{account}"))
}

/// Firearm: `MANUFACTURER/SERIAL`. The manufacturer is upper-cased with spaces, dots, dashes,
/// commas and apostrophes removed (`Smith & Wesson` → `SMITH&WESSON`); the serial is
/// upper-cased with spaces and dashes removed. Aliases (`S&W`) are not resolved: agree on the
/// manufacturer's full name. The serial alone is not an identity, since serials repeat across
/// manufacturers.
fn parse_firearm(input: &str) -> Result<String, IdentifierError> {
    let invalid = |reason| IdentifierError::Invalid {
        kind: IdentifierKind::Firearm,
        input: input.to_owned(),
        reason,
    };
    let (maker, serial) = input
        .split_once('/')
        .ok_or_else(|| invalid("write the manufacturer, then `/`, then the serial number"))?;
    let maker: String = maker
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '.' | '-' | ',' | '\''))
        .collect::<String>()
        .to_ascii_uppercase();
    let serial: String = serial
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if maker.is_empty()
        || maker.len() > 64
        || !maker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'&')
    {
        return Err(invalid(
            "the manufacturer must be 1 to 64 ASCII letters, digits or `&`",
        ));
    }
    if serial.is_empty() || serial.len() > 32 || !serial.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(invalid(
            "the serial must be 1 to 32 ASCII letters or digits",
        ));
    }
    Ok(format!("{maker}/{serial}"))
}

/// Plate: `COUNTRY/STATE/PLATE`, with an ISO 3166-1 alpha-2 country, a state or province code
/// of 1 to 3 letters or digits (`CMX`, `TX`) and a plate of 1 to 10 letters or digits after
/// spaces, dashes and dots are removed. All upper-cased.
fn parse_plate(input: &str) -> Result<String, IdentifierError> {
    let invalid = |reason| IdentifierError::Invalid {
        kind: IdentifierKind::Plate,
        input: input.to_owned(),
        reason,
    };
    let mut parts = input.splitn(3, '/');
    let (Some(country), Some(state), Some(plate)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(
            "write the country, state and plate separated by `/`, as `MX/CMX/ABC-123-4`",
        ));
    };
    let country = country.trim().to_ascii_uppercase();
    let state = state.trim().to_ascii_uppercase();
    let plate: String = plate
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '-' | '.'))
        .collect::<String>()
        .to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid("the country is a two-letter ISO 3166-1 code"));
    }
    if state.is_empty() || state.len() > 3 || !state.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("the state is a code of 1 to 3 letters or digits"));
    }
    if plate.is_empty() || plate.len() > 10 || !plate.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("the plate has 1 to 10 letters or digits"));
    }
    Ok(format!("{country}/{state}/{plate}"))
}

/// E-mail: `local@domain`, split at the last `@`. The domain is lower-cased (domains are
/// case-insensitive); the local part is kept exactly as written, since RFC 5321 leaves its case
/// to the receiving server. No other rewriting (dots, `+tags`) is done: providers differ on it.
/// ASCII only; the local part at most 64 characters, the domain at most 253 with at least one
/// dot and only letters, digits, dashes and dots.
fn parse_email(input: &str) -> Result<String, IdentifierError> {
    let invalid = |reason| IdentifierError::Invalid {
        kind: IdentifierKind::Email,
        input: input.to_owned(),
        reason,
    };
    let (local, domain) = input
        .rsplit_once('@')
        .ok_or_else(|| invalid("an e-mail address has the form `name@domain`"))?;
    if local.is_empty()
        || local.len() > 64
        || !local.bytes().all(|b| b.is_ascii_graphic() && b != b'@')
    {
        return Err(invalid(
            "the part before `@` must be 1 to 64 printable ASCII characters without spaces",
        ));
    }
    let domain = domain.to_ascii_lowercase();
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if domain.len() > 253
        || !domain.contains('.')
        || !labels_ok
        || !domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(invalid(
            "the domain must be ASCII letters, digits, dashes and dots, like `example.org`",
        ));
    }
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx() -> ParseOptions {
        ParseOptions::default()
    }

    fn us() -> ParseOptions {
        ParseOptions {
            default_phone_country: PhoneCountry::Us,
        }
    }

    fn ok(kind: IdentifierKind, input: &str, opts: &ParseOptions) -> String {
        Identifier::parse(kind, input, opts)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .canonical()
            .to_owned()
    }

    #[test]
    fn phones_normalise_to_e164() {
        let cases: &[(&str, ParseOptions, &str)] = &[
            ("55 1234 5678", mx(), "phone:+525512345678"),
            ("(55) 1234-5678", mx(), "phone:+525512345678"),
            ("044 55 1234 5678", mx(), "phone:+525512345678"),
            ("01 55 1234 5678", mx(), "phone:+525512345678"),
            ("+52 1 55 1234 5678", mx(), "phone:+525512345678"),
            ("0052 55 1234 5678", us(), "phone:+525512345678"),
            ("+52 55 1234 5678", us(), "phone:+525512345678"),
            ("(202) 555-0143", us(), "phone:+12025550143"),
            ("1-202-555-0143", us(), "phone:+12025550143"),
            ("+1 202.555.0143", mx(), "phone:+12025550143"),
            ("+44 20 7946 0958", mx(), "phone:+442079460958"),
        ];
        for (input, opts, want) in cases {
            assert_eq!(ok(IdentifierKind::Phone, input, opts), *want, "{input}");
        }
    }

    #[test]
    fn bad_phones_are_rejected_with_reason() {
        let cases: &[(&str, ParseOptions)] = &[
            ("5512345", mx()),           // too short for MX national
            ("202 555 014", us()),       // nine digits
            ("+1 102 555 0143", mx()),   // area code starts with 1
            ("+1 202 155 0143", mx()),   // exchange starts with 1
            ("+52 55 1234 567", mx()),   // nine national digits
            ("+0 123 456 789", mx()),    // country code 0
            ("+1234567890123456", mx()), // 16 digits
            ("55 1234 ABCD", mx()),
            ("   ", mx()),
        ];
        for (input, opts) in cases {
            let err = Identifier::parse(IdentifierKind::Phone, input, opts).unwrap_err();
            assert!(!err.to_string().is_empty(), "{input}");
        }
    }

    /// CLABE examples: `002010077777777771` is the worked example of the Wikipedia article
    /// "CLABE" (Banamex, branch 010, account 07777777777, check digit 1); the others are the
    /// same with a changed digit.
    #[test]
    fn clabe_check_digit() {
        assert_eq!(
            ok(IdentifierKind::Clabe, "002 010 07777777777 1", &mx()),
            "clabe:002010077777777771"
        );
        for bad in [
            "002010077777777772",
            "002010077777777871",
            "00201007777777777",
            "00201007777777777A1",
        ] {
            assert!(
                Identifier::parse(IdentifierKind::Clabe, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    /// IBAN examples from the Wikipedia article "International Bank Account Number" (valid
    /// `GB82 WEST 1234 5698 7654 32`, `DE89 3704 0044 0532 0130 00`) and the same with a
    /// character changed.
    #[test]
    fn iban_mod97() {
        assert_eq!(
            ok(IdentifierKind::Iban, "gb82 west 1234 5698 7654 32", &mx()),
            "iban:GB82WEST12345698765432"
        );
        assert_eq!(
            ok(IdentifierKind::Iban, "DE89 3704 0044 0532 0130 00", &mx()),
            "iban:DE89370400440532013000"
        );
        for bad in [
            "GB82 WEST 1234 5698 7654 33",
            "GB28 WEST 1234 5698 7654 32",
            "DE89 3704",
            "1289 3704 0044 0532 0130 00",
            "DE89 3704 0044 0532 0130 0!",
        ] {
            assert!(
                Identifier::parse(IdentifierKind::Iban, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    /// Routing numbers: `021000021` (JPMorgan Chase, New York) and `011000015` (Federal Reserve
    /// Bank of Boston) are published ABA numbers.
    #[test]
    fn aba_routing_checksum() {
        assert_eq!(
            ok(IdentifierKind::AbaAccount, "021000021 0012-3456", &mx()),
            "aba:021000021/00123456"
        );
        assert_eq!(
            ok(IdentifierKind::AbaAccount, "011000015/987654321", &mx()),
            "aba:011000015/987654321"
        );
        for bad in [
            "021000022 123",
            "02100002 123",
            "021000021",
            "021000021 123456789012345678",
            "021000021 12a",
        ] {
            assert!(
                Identifier::parse(IdentifierKind::AbaAccount, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn firearms_normalise_case_spaces_dashes() {
        let a = ok(IdentifierKind::Firearm, "Smith & Wesson / ab-12 34", &mx());
        let b = ok(IdentifierKind::Firearm, "SMITH&WESSON/AB1234", &mx());
        assert_eq!(a, "firearm:SMITH&WESSON/AB1234");
        assert_eq!(a, b);
        // The same serial from another manufacturer is another firearm.
        assert_ne!(ok(IdentifierKind::Firearm, "Glock/AB1234", &mx()), a);
        for bad in ["AB1234", "/AB1234", "Glock/", "Glock/AB#1", "Glöck/AB1"] {
            assert!(
                Identifier::parse(IdentifierKind::Firearm, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn plates_keep_country_and_state() {
        assert_eq!(
            ok(IdentifierKind::Plate, "mx/cmx/abc-123-4", &mx()),
            "plate:MX/CMX/ABC1234"
        );
        assert_ne!(
            ok(IdentifierKind::Plate, "US/TX/ABC1234", &mx()),
            ok(IdentifierKind::Plate, "US/CA/ABC1234", &mx())
        );
        for bad in [
            "MX/ABC1234",
            "MEX/CMX/ABC",
            "MX/CMXX/ABC",
            "MX/CMX/",
            "MX/CMX/ABC_1",
        ] {
            assert!(
                Identifier::parse(IdentifierKind::Plate, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn emails_lowercase_domain_only() {
        assert_eq!(
            ok(IdentifierKind::Email, " John.Doe@Example.ORG ", &mx()),
            "email:John.Doe@example.org"
        );
        for bad in [
            "john",
            "@example.org",
            "john@",
            "john@localhost",
            "jo hn@example.org",
            "john@exa_mple.org",
            "john@-x.org",
        ] {
            assert!(
                Identifier::parse(IdentifierKind::Email, bad, &mx()).is_err(),
                "{bad}"
            );
        }
    }

    /// Normalisation is idempotent: the canonical value parses back to the same identifier,
    /// whatever the default phone country.
    #[test]
    fn canonical_values_parse_to_themselves() {
        let inputs = [
            (IdentifierKind::Phone, "044 55 1234 5678"),
            (IdentifierKind::Phone, "+1 (202) 555-0143"),
            (IdentifierKind::Clabe, "002 010 07777777777 1"),
            (IdentifierKind::Iban, "gb82 west 1234 5698 7654 32"),
            (IdentifierKind::AbaAccount, "021000021 0012-3456"),
            (IdentifierKind::Firearm, "Smith & Wesson / ab-12 34"),
            (IdentifierKind::Plate, "mx/cmx/abc-123-4"),
            (IdentifierKind::Email, "John.Doe@Example.ORG"),
        ];
        for (kind, input) in inputs {
            let id = Identifier::parse(kind, input, &mx()).unwrap();
            for opts in [mx(), us()] {
                assert_eq!(
                    Identifier::parse(kind, id.value(), &opts).unwrap(),
                    id,
                    "{input}"
                );
            }
            assert_eq!(Identifier::parse_tagged(id.canonical(), &mx()).unwrap(), id);
        }
    }

    #[test]
    fn tagged_form_and_kind_names() {
        let id = Identifier::parse_tagged("PHONE: 55 1234 5678", &mx()).unwrap();
        assert_eq!(id.kind(), IdentifierKind::Phone);
        assert_eq!(id.value(), "+525512345678");
        assert!(matches!(
            Identifier::parse_tagged("fax:123", &mx()),
            Err(IdentifierError::UnknownKind(_))
        ));
        assert!(matches!(
            Identifier::parse_tagged("5512345678", &mx()),
            Err(IdentifierError::MissingKind(_))
        ));
        for kind in IdentifierKind::ALL {
            assert_eq!(IdentifierKind::from_name(kind.name()).unwrap(), kind);
        }
    }
}
