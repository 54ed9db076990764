//! The financial-intelligence data model: countries, currencies, money,
//! account identifiers, holders, accounts, transactions and suspicious-
//! transaction reports.
//!
//! Every identifier is a newtype with a fallible constructor that checks what
//! the real scheme checks (CLABE and ABA check digits, the IBAN mod-97 rule),
//! so that a value that exists is well formed and its country is known: a
//! CLABE is always Mexican, a US routing number always American, an IBAN's
//! country is its first two letters. The trace uses that country to see where
//! a trail reaches the border.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ModelError;

/// A country, as its ISO 3166-1 alpha-2 code (`MX`, `US`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Mexico.
    pub const MX: Country = Country(*b"MX");
    /// The United States.
    pub const US: Country = Country(*b"US");

    /// Parses two upper-case ASCII letters.
    pub fn new(code: &str) -> Result<Self, ModelError> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Country([*a, *b])),
            _ => Err(ModelError::Country(code.to_owned())),
        }
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Country::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A currency soberana knows the minor-unit exponent of.
///
/// The list is closed on purpose: an amount in an unknown currency cannot be
/// turned into minor units without guessing its exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Currency {
    /// US dollar (2 decimals).
    #[serde(rename = "USD")]
    Usd = 0,
    /// Mexican peso (2 decimals).
    #[serde(rename = "MXN")]
    Mxn = 1,
    /// Euro (2 decimals).
    #[serde(rename = "EUR")]
    Eur = 2,
    /// Canadian dollar (2 decimals).
    #[serde(rename = "CAD")]
    Cad = 3,
}

impl Currency {
    /// Every known currency, indexed by its `u8` code.
    pub const ALL: [Currency; 4] = [Currency::Usd, Currency::Mxn, Currency::Eur, Currency::Cad];

    /// Parses an ISO 4217 code.
    pub fn new(code: &str) -> Result<Self, ModelError> {
        match code {
            "USD" => Ok(Currency::Usd),
            "MXN" => Ok(Currency::Mxn),
            "EUR" => Ok(Currency::Eur),
            "CAD" => Ok(Currency::Cad),
            _ => Err(ModelError::Currency(code.to_owned())),
        }
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Mxn => "MXN",
            Currency::Eur => "EUR",
            Currency::Cad => "CAD",
        }
    }

    /// Decimal places of the minor unit (every currency listed has two).
    pub fn exponent(self) -> u32 {
        2
    }

    /// Parses a decimal amount such as `9500.00` or `12` into minor units.
    ///
    /// Negative amounts, more decimals than the currency has, and amounts
    /// beyond `i64` are refused: a transaction's direction is given by its
    /// accounts, never by a sign.
    pub fn parse_amount(self, text: &str) -> Result<i64, ModelError> {
        let bad = || ModelError::Amount(text.to_owned());
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        let exp = self.exponent() as usize;
        if int.is_empty() || frac.len() > exp {
            return Err(bad());
        }
        let mut minor: i64 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            if !b.is_ascii_digit() {
                return Err(bad());
            }
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(bad)?;
        }
        for _ in frac.len()..exp {
            minor = minor.checked_mul(10).ok_or_else(bad)?;
        }
        Ok(minor)
    }

    /// Formats minor units as a decimal amount (`950000` → `9500.00`).
    pub fn format_amount(self, minor: i64) -> String {
        let scale = 10i64.pow(self.exponent());
        format!("{}.{:02}", minor / scale, (minor % scale).abs())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: minor units and a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units (cents), never negative.
    pub minor: i64,
    /// Its currency.
    pub currency: Currency,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.currency.format_amount(self.minor),
            self.currency
        )
    }
}

/// How money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Channel {
    /// Cash paid into an account at a branch (no sending account).
    CashDeposit = 0,
    /// Cash taken out of an account at a branch or ATM (no receiving account).
    CashWithdrawal = 1,
    /// A wire between two accounts in one country.
    DomesticWire = 2,
    /// A wire between accounts in two countries.
    CrossBorderWire = 3,
    /// A remittance through a money-transfer business.
    Remittance = 4,
    /// A card payment.
    Card = 5,
    /// Crypto-assets sold for fiat into an account.
    CryptoOffRamp = 6,
}

impl Channel {
    /// Every channel, indexed by its `u8` code.
    pub const ALL: [Channel; 7] = [
        Channel::CashDeposit,
        Channel::CashWithdrawal,
        Channel::DomesticWire,
        Channel::CrossBorderWire,
        Channel::Remittance,
        Channel::Card,
        Channel::CryptoOffRamp,
    ];

    /// Parses the snake-case name used in CSV files.
    pub fn new(name: &str) -> Result<Self, ModelError> {
        Channel::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| ModelError::Channel(name.to_owned()))
    }

    /// The snake-case name used in CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Channel::CashDeposit => "cash_deposit",
            Channel::CashWithdrawal => "cash_withdrawal",
            Channel::DomesticWire => "domestic_wire",
            Channel::CrossBorderWire => "cross_border_wire",
            Channel::Remittance => "remittance",
            Channel::Card => "card",
            Channel::CryptoOffRamp => "crypto_off_ramp",
        }
    }

    /// Whether this channel needs a sending account (cash deposits and
    /// off-ramps bring money in from outside the banking system).
    pub fn has_sender(self) -> bool {
        !matches!(self, Channel::CashDeposit | Channel::CryptoOffRamp)
    }

    /// Whether this channel needs a receiving account (cash withdrawals take
    /// money out of the banking system).
    pub fn has_receiver(self) -> bool {
        !matches!(self, Channel::CashWithdrawal)
    }

    /// Whether this is a cash channel.
    pub fn is_cash(self) -> bool {
        matches!(self, Channel::CashDeposit | Channel::CashWithdrawal)
    }
}

/// An account identifier in one of the schemes soberana understands.
///
/// The text form, used in CSV files and messages, is `clabe:<18 digits>`,
/// `iban:<IBAN without spaces>` or `us:<9-digit routing>:<account number>`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Box<str>);

impl AccountId {
    /// Parses and validates the text form, check digits included.
    pub fn new(text: &str) -> Result<Self, ModelError> {
        let bad = |why: &'static str| ModelError::Account {
            text: text.to_owned(),
            why,
        };
        if let Some(clabe) = text.strip_prefix("clabe:") {
            if clabe.len() != 18 || !clabe.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("a CLABE has 18 digits"));
            }
            if clabe_check_digit(&clabe.as_bytes()[..17]) != clabe.as_bytes()[17] - b'0' {
                return Err(bad("the CLABE check digit does not match"));
            }
        } else if let Some(iban) = text.strip_prefix("iban:") {
            validate_iban(iban).map_err(bad)?;
        } else if let Some(rest) = text.strip_prefix("us:") {
            let (routing, account) = rest
                .split_once(':')
                .ok_or(bad("a US account is `us:<routing>:<account>`"))?;
            if routing.len() != 9 || !routing.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("a US routing number has 9 digits"));
            }
            if !aba_valid(routing.as_bytes()) {
                return Err(bad("the routing number check digit does not match"));
            }
            if account.is_empty()
                || account.len() > 17
                || !account.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad("a US account number has 1 to 17 digits"));
            }
        } else {
            return Err(bad("use `clabe:`, `iban:` or `us:`"));
        }
        Ok(AccountId(text.into()))
    }

    /// Builds a valid CLABE from its 17 leading digits (bank, branch,
    /// account), computing the check digit.
    pub fn clabe_from_digits(first17: &str) -> Result<Self, ModelError> {
        if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ModelError::Account {
                text: first17.to_owned(),
                why: "give the 17 leading digits of a CLABE",
            });
        }
        let check = clabe_check_digit(first17.as_bytes());
        AccountId::new(&format!("clabe:{first17}{check}"))
    }

    /// Wraps text built valid by this crate (the generator computes the
    /// check digits), skipping the checks.
    #[cfg(any(feature = "bench", test))]
    pub(crate) fn trusted(text: String) -> Self {
        AccountId(text.into())
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country the account is held in, given by its scheme.
    pub fn country(&self) -> Country {
        if self.0.starts_with("clabe:") {
            Country::MX
        } else if let Some(iban) = self.0.strip_prefix("iban:") {
            Country::new(iban.get(..2).unwrap_or("")).unwrap_or(Country(*b"ZZ"))
        } else {
            Country::US
        }
    }
}

impl std::borrow::Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        AccountId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// CLABE check digit: weights 3, 7, 1 repeated, products taken mod 10,
/// summed, and the check digit is (10 − sum mod 10) mod 10 (Banco de México,
/// "CLABE" specification).
fn clabe_check_digit(first17: &[u8]) -> u8 {
    const W: [u32; 3] = [3, 7, 1];
    let sum: u32 = first17
        .iter()
        .enumerate()
        .map(|(i, b)| (u32::from(b - b'0') * W[i % 3]) % 10)
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A CLABE's text form from its 17 leading digits (which must be digits).
#[cfg(any(feature = "bench", test))]
pub(crate) fn clabe_with_check(first17: &str) -> String {
    format!("clabe:{first17}{}", clabe_check_digit(first17.as_bytes()))
}

/// ABA routing number checksum: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0
/// (mod 10) (American Bankers Association routing number policy).
fn aba_valid(routing: &[u8]) -> bool {
    const W: [u32; 3] = [3, 7, 1];
    let sum: u32 = routing
        .iter()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * W[i % 3])
        .sum();
    sum.is_multiple_of(10)
}

/// Completes an 8-digit ABA prefix with its check digit.
#[cfg(any(feature = "bench", test))]
pub(crate) fn aba_complete(first8: u32) -> String {
    const W: [u32; 3] = [3, 7, 1];
    let s = format!("{:08}", first8 % 100_000_000);
    let sum: u32 = s
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * W[i % 3])
        .sum();
    format!("{s}{}", (10 - sum % 10) % 10)
}

/// IBAN validation (ISO 13616): country letters, two check digits, 11 to 30
/// alphanumerics, and the rearranged number ≡ 1 (mod 97).
fn validate_iban(iban: &str) -> Result<(), &'static str> {
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len()) {
        return Err("an IBAN has 15 to 34 characters");
    }
    if !b.iter().take(2).all(u8::is_ascii_uppercase) || !b[2..4].iter().all(u8::is_ascii_digit) {
        return Err("an IBAN starts with a country code and two check digits");
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return Err("an IBAN has only digits and upper-case letters");
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        if c.is_ascii_digit() {
            rem = (rem * 10 + u32::from(c - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97;
        }
    }
    if rem != 1 {
        return Err("the IBAN check digits do not match");
    }
    Ok(())
}

/// Whether a holder is a person or a company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// A natural person.
    Person,
    /// A company or other legal person.
    Company,
}

/// The holder of one or more accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's identifier in the reporting country's data (e.g. an RFC
    /// in Mexico, an EIN or internal customer number in the US).
    pub id: String,
    /// Person or company.
    pub kind: HolderKind,
    /// Name as registered.
    pub name: String,
    /// Country of residence or incorporation.
    pub country: Country,
}

/// An account and who holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account identifier.
    pub id: AccountId,
    /// The institution that keeps it.
    pub institution: String,
    /// The holder's identifier.
    pub holder: String,
    /// Country the account is held in (agrees with the identifier's scheme).
    pub country: Country,
}

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 in UTC, no fraction). A
    /// hand-written parser because ingest reads it once per row of millions.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::Time(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, ModelError> {
            let mut v = 0i64;
            for &c in b.get(r).ok_or_else(bad)? {
                if !c.is_ascii_digit() {
                    return Err(bad());
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Ok(v)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || s > 59
        {
            return Err(bad());
        }
        Ok(UnixTime(
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s,
        ))
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn format(self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`] (same source, `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A transaction identifier, unique within one reporting country's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxId(pub u64);

/// One transaction as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Its identifier.
    pub id: TxId,
    /// When it happened.
    pub time: UnixTime,
    /// How much, in what currency.
    pub amount: Money,
    /// How.
    pub channel: Channel,
    /// The sending account, absent for cash deposits and off-ramps.
    pub from: Option<AccountId>,
    /// The receiving account, absent for cash withdrawals.
    pub to: Option<AccountId>,
    /// The country where it was carried out.
    pub country: Country,
    /// The branch, ATM or agent where it was carried out, if any.
    pub branch: Option<String>,
    /// Whether that place lies in a border zone.
    pub border_zone: bool,
}

/// A suspicious-transaction report filed with a financial-intelligence unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspiciousReport {
    /// The report's identifier.
    pub id: String,
    /// When it was filed.
    pub filed: UnixTime,
    /// The account it is about.
    pub account: AccountId,
    /// The transactions it cites.
    pub transactions: Vec<TxId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clabe_check_digit_matches_the_published_example() {
        // Banco de México's example CLABE: 032180000118359719.
        assert!(AccountId::new("clabe:032180000118359719").is_ok());
        assert!(AccountId::new("clabe:032180000118359718").is_err());
        assert_eq!(
            AccountId::clabe_from_digits("03218000011835971")
                .unwrap()
                .as_str(),
            "clabe:032180000118359719"
        );
    }

    #[test]
    fn account_schemes_table() {
        // IBAN examples from the ISO 13616 registry; ABA 021000021 is a
        // published routing number (JPMorgan Chase, New York).
        let cases = [
            ("iban:GB82WEST12345698765432", Some("GB")),
            ("iban:DE89370400440532013000", Some("DE")),
            ("iban:DE89370400440532013001", None),
            ("iban:gb82WEST12345698765432", None),
            ("us:021000021:1234567", Some("US")),
            ("us:021000022:1234567", None),
            ("us:021000021:", None),
            ("us:021000021", None),
            ("clabe:12", None),
            ("clabe:032180000118359719", Some("MX")),
            ("032180000118359719", None),
            ("", None),
        ];
        for (text, country) in cases {
            let got = AccountId::new(text).ok().map(|a| a.country());
            assert_eq!(
                got.map(|c| c.as_str().to_owned()),
                country.map(str::to_owned),
                "{text}"
            );
        }
        assert!(AccountId::new(&format!("us:{}:1", aba_complete(2_100_002))).is_ok());
    }

    #[test]
    fn amounts_parse_to_minor_units() {
        let c = Currency::Usd;
        assert_eq!(c.parse_amount("9500.00").unwrap(), 950_000);
        assert_eq!(c.parse_amount("12").unwrap(), 1200);
        assert_eq!(c.parse_amount("0.5").unwrap(), 50);
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            ".5",
            "99999999999999999999",
            "1,000",
        ] {
            assert!(c.parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(c.format_amount(950_005), "9500.05");
    }

    #[test]
    fn times_round_trip_and_refuse_impossible_dates() {
        let t = UnixTime::parse("2025-11-03T14:05:09Z").unwrap();
        assert_eq!(t.0, 1_762_178_709); // date -d 2025-11-03T14:05:09Z +%s
        assert_eq!(t.format(), "2025-11-03T14:05:09Z");
        assert_eq!(UnixTime::parse("1970-01-01T00:00:00Z").unwrap().0, 0);
        assert!(UnixTime::parse("2024-02-29T00:00:00Z").is_ok());
        for bad in [
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-11-03 14:05:09",
            "x",
        ] {
            assert!(UnixTime::parse(bad).is_err(), "{bad}");
        }
    }
}
