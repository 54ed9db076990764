//! Evidence between the parties: the uses of an exhibit its conditions
//! govern, the proposal that asks the contributing side's consent to one,
//! and the proposal that asks the sender of a notice or request for the
//! evidence behind it.
//!
//! Exhibits are named here by their SHA-256 digest (64 lowercase hex
//! digits) and the joint investigation that holds them by its case id
//! (`case-` and 32 lowercase hex digits); the `case` crate owns those types
//! and the node checks that what a proposal names exists.

use serde::{Deserialize, Serialize};

use crate::{DomainError, ProposalId};

/// What a use of an exhibit outside the investigation is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "use", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExhibitUse {
    /// Work on the case itself (an analyst's copy).
    Investigation,
    /// Passing it to another authority.
    OnwardTransmission {
        /// Who would receive it.
        to: String,
    },
    /// A purpose other than the case's.
    OtherPurpose {
        /// Which.
        purpose: String,
    },
    /// Evidence before a court.
    Court {
        /// The court or the proceedings.
        proceedings: String,
    },
}

impl ExhibitUse {
    /// The use in a few words.
    pub fn describe(&self) -> String {
        match self {
            ExhibitUse::Investigation => "use for the investigation".into(),
            ExhibitUse::OnwardTransmission { to } => format!("onward transmission to `{to}`"),
            ExhibitUse::OtherPurpose { purpose } => format!("use for `{purpose}`"),
            ExhibitUse::Court { proceedings } => format!("court use in `{proceedings}`"),
        }
    }

    /// The use in a few words, in Spanish.
    pub fn describe_es(&self) -> String {
        match self {
            ExhibitUse::Investigation => "uso para la investigación".into(),
            ExhibitUse::OnwardTransmission { to } => format!("transmisión a `{to}`"),
            ExhibitUse::OtherPurpose { purpose } => format!("uso para `{purpose}`"),
            ExhibitUse::Court { proceedings } => format!("uso ante el tribunal en `{proceedings}`"),
        }
    }

    /// Parses the command-line form: `investigation`, `court:PROCEEDINGS`,
    /// `onward:AUTHORITY` or `purpose:PURPOSE`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let bad = || {
            DomainError::Incomplete(format!(
                "`{text}` is not a use: write investigation, court:PROCEEDINGS, onward:AUTHORITY or purpose:PURPOSE"
            ))
        };
        if text == "investigation" {
            return Ok(ExhibitUse::Investigation);
        }
        let (kind, what) = text.split_once(':').ok_or_else(bad)?;
        let what = what.trim();
        if what.is_empty() || what.chars().count() > MAX_TEXT {
            return Err(bad());
        }
        let what = what.to_owned();
        Ok(match kind {
            "court" => ExhibitUse::Court { proceedings: what },
            "onward" => ExhibitUse::OnwardTransmission { to: what },
            "purpose" => ExhibitUse::OtherPurpose { purpose: what },
            _ => return Err(bad()),
        })
    }

    fn text(&self) -> Option<&str> {
        match self {
            ExhibitUse::Investigation => None,
            ExhibitUse::OnwardTransmission { to: t }
            | ExhibitUse::OtherPurpose { purpose: t }
            | ExhibitUse::Court { proceedings: t } => Some(t),
        }
    }
}

const MAX_TEXT: usize = 400;

/// A request for the contributing side's consent to one use of one exhibit
/// it released to us in a joint investigation, and possibly to further
/// uses of it or of other exhibits of the case (`also`). Only an
/// acceptance of this proposal by the contributing side's officers that
/// grants the same exhibit and use lets the use through; they may grant
/// some of the uses asked and refuse the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExhibitConsent {
    /// The joint investigation (`case-…`).
    pub case_id: String,
    /// The exhibit's SHA-256 digest, 64 lowercase hex digits.
    pub exhibit: String,
    /// The use asked for.
    #[serde(rename = "for")]
    pub use_: ExhibitUse,
    /// Why the use is needed.
    pub reason: String,
    /// Further uses asked in the same request, of this exhibit or of
    /// another of the same case: the contributing side may grant any of
    /// them and refuse the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<ConsentAsk>,
}

/// One more use of one exhibit asked in a consent request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentAsk {
    /// The exhibit's SHA-256 digest, 64 lowercase hex digits.
    pub exhibit: String,
    /// The use asked for.
    #[serde(rename = "for")]
    pub use_: ExhibitUse,
}

/// The most uses one consent request asks (the first and its `also`).
pub const MAX_CONSENT_ASKS: usize = 8;

/// A request for the evidence behind a notice or information request the
/// other side sent us: its officers answer by releasing exhibits, under
/// their conditions, in the evidence file of that proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequest {
    /// The notice or request whose evidence is asked for.
    pub about: ProposalId,
    /// What evidence is wanted, and why.
    pub asked: String,
}

/// An exhibit a notice or information request names in its own signed
/// body: what its evidence file will hold from the sender. The receiver
/// takes in from the sender only exhibits named here, with this size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedExhibit {
    /// Its SHA-256 digest, 64 lowercase hex digits.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its title.
    pub title: String,
}

/// The most exhibits a notice or request names.
pub const MAX_NAMED_EXHIBITS: usize = 100;

/// Refuses a list of named exhibits with a digest that is not one, a
/// title empty or too long, a digest named twice, or too many.
pub fn check_named_exhibits(named: &[NamedExhibit]) -> Result<(), DomainError> {
    if named.len() > MAX_NAMED_EXHIBITS {
        return Err(DomainError::Incomplete(format!(
            "`body.exhibits` names {} exhibits; at most {MAX_NAMED_EXHIBITS}",
            named.len()
        )));
    }
    for (i, x) in named.iter().enumerate() {
        if !is_hex(&x.digest, 64) {
            return Err(DomainError::Incomplete(format!(
                "`body.exhibits[{i}].digest` `{}` is not an exhibit digest (64 lowercase hex digits)",
                x.digest.chars().take(80).collect::<String>()
            )));
        }
        if x.title.trim().is_empty() {
            return Err(DomainError::Empty("body.exhibits[].title"));
        }
        if x.title.chars().count() > 200 {
            return Err(DomainError::TooLong {
                field: "body.exhibits[].title",
                max: 200,
            });
        }
        if named.iter().take(i).any(|o| o.digest == x.digest) {
            return Err(DomainError::Incomplete(format!(
                "`body.exhibits[{i}]`: exhibit {} is named twice",
                x.digest.get(..12).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ExhibitConsent {
    /// Every use asked, each of one exhibit, the first first.
    pub fn asks(&self) -> Vec<ConsentAsk> {
        let mut all = vec![ConsentAsk {
            exhibit: self.exhibit.clone(),
            use_: self.use_.clone(),
        }];
        all.extend(self.also.iter().cloned());
        all
    }

    /// The line an acceptance releases for each use it grants: the same
    /// text on both sides, so what was granted is read back exactly.
    pub fn grant_line(&self, granted_by: &str, ask: &ConsentAsk) -> String {
        format!(
            "{granted_by} consents to {} of exhibit sha256:{} in {}",
            ask.use_.describe(),
            ask.exhibit,
            self.case_id
        )
    }

    /// Refuses a consent request that does not name one case, and for each
    /// use asked one exhibit and one use outside the investigation, with a
    /// reason; or that asks the same use twice, or too many.
    pub fn validate(&self) -> Result<(), DomainError> {
        let asks = self.asks();
        if asks.len() > MAX_CONSENT_ASKS {
            return Err(DomainError::Incomplete(format!(
                "a consent request asks at most {MAX_CONSENT_ASKS} uses; it asks {}",
                asks.len()
            )));
        }
        for (i, ask) in asks.iter().enumerate() {
            if asks.iter().take(i).any(|o| o == ask) {
                return Err(DomainError::Incomplete(format!(
                    "`body.also`: {} of exhibit {} is asked twice",
                    ask.use_.describe(),
                    ask.exhibit.get(..12).unwrap_or_default()
                )));
            }
            ExhibitConsent {
                exhibit: ask.exhibit.clone(),
                use_: ask.use_.clone(),
                also: Vec::new(),
                ..self.clone()
            }
            .validate_one()?;
        }
        Ok(())
    }

    fn validate_one(&self) -> Result<(), DomainError> {
        if !self
            .case_id
            .strip_prefix("case-")
            .is_some_and(|h| is_hex(h, 32))
        {
            return Err(DomainError::Incomplete(format!(
                "`body.case_id` `{}` is not a case id (case- and 32 lowercase hex digits)",
                self.case_id
            )));
        }
        if !is_hex(&self.exhibit, 64) {
            return Err(DomainError::Incomplete(format!(
                "`body.exhibit` `{}` is not an exhibit digest (64 lowercase hex digits)",
                self.exhibit
            )));
        }
        match self.use_.text() {
            None => {
                return Err(DomainError::Incomplete(
                    "use for the investigation needs no consent; ask for a court use, an onward transmission or another purpose".into(),
                ));
            }
            Some(t) if t.trim().is_empty() => return Err(DomainError::Empty("body.for")),
            Some(t) if t.chars().count() > MAX_TEXT => {
                return Err(DomainError::TooLong {
                    field: "body.for",
                    max: MAX_TEXT,
                });
            }
            Some(_) => {}
        }
        check_text("body.reason", &self.reason)
    }
}

impl EvidenceRequest {
    /// Refuses a request for evidence that does not say what is wanted.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_text("body.asked", &self.asked)
    }
}

fn check_text(field: &'static str, text: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::Empty(field));
    }
    if text.chars().count() > 4000 {
        return Err(DomainError::TooLong { field, max: 4000 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(use_: ExhibitUse) -> ExhibitConsent {
        ExhibitConsent {
            case_id: format!("case-{}", "ab".repeat(16)),
            exhibit: "cd".repeat(32),
            use_,
            reason: "trial of the accused".into(),
            also: Vec::new(),
        }
    }

    #[test]
    fn a_consent_names_a_case_an_exhibit_and_a_use_that_needs_one() {
        let court = ExhibitUse::Court {
            proceedings: "Juzgado 3".into(),
        };
        assert!(consent(court.clone()).validate().is_ok());
        assert!(consent(ExhibitUse::Investigation).validate().is_err());
        let mut bad = consent(court.clone());
        bad.exhibit = "CD".repeat(32);
        assert!(bad.validate().is_err());
        let mut bad = consent(court.clone());
        bad.case_id = "case-1".into();
        assert!(bad.validate().is_err());
        let mut bad = consent(court);
        bad.reason = " ".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_consent_asks_several_distinct_uses_each_checked() {
        let court = ExhibitUse::Court {
            proceedings: "Juzgado 3".into(),
        };
        let onward = ExhibitUse::OnwardTransmission { to: "SAT".into() };
        let mut many = consent(court.clone());
        many.also = vec![
            ConsentAsk {
                exhibit: "cd".repeat(32),
                use_: onward.clone(),
            },
            ConsentAsk {
                exhibit: "ef".repeat(32),
                use_: court.clone(),
            },
        ];
        assert!(many.validate().is_ok());
        assert_eq!(many.asks().len(), 3);
        assert_eq!(
            many.grant_line("MX", &many.asks()[1]),
            format!(
                "MX consents to onward transmission to `SAT` of exhibit sha256:{} in {}",
                "cd".repeat(32),
                many.case_id
            )
        );
        let mut twice = many.clone();
        twice.also.push(ConsentAsk {
            exhibit: "cd".repeat(32),
            use_: court.clone(),
        });
        assert!(twice.validate().unwrap_err().to_string().contains("twice"));
        let mut bad = many.clone();
        bad.also[0].exhibit = "xyz".into();
        assert!(bad.validate().is_err());
        let mut bad = many.clone();
        bad.also[0].use_ = ExhibitUse::Investigation;
        assert!(bad.validate().is_err());
        let mut too_many = consent(court);
        too_many.also = (0..MAX_CONSENT_ASKS)
            .map(|i| ConsentAsk {
                exhibit: format!("{:064x}", i + 1),
                use_: onward.clone(),
            })
            .collect();
        assert!(too_many.validate().is_err());
    }

    #[test]
    fn named_exhibits_are_digests_with_titles_each_once() {
        let one = NamedExhibit {
            digest: "ab".repeat(32),
            size: 10,
            title: "ledger".into(),
        };
        assert!(check_named_exhibits(std::slice::from_ref(&one)).is_ok());
        assert!(check_named_exhibits(&[one.clone(), one.clone()]).is_err());
        let mut bad = one.clone();
        bad.digest = "AB".repeat(32);
        assert!(check_named_exhibits(&[bad]).is_err());
        let mut bad = one.clone();
        bad.title = " ".into();
        assert!(check_named_exhibits(&[bad]).is_err());
        let many: Vec<NamedExhibit> = (0..=MAX_NAMED_EXHIBITS)
            .map(|i| NamedExhibit {
                digest: format!("{:064x}", i),
                ..one.clone()
            })
            .collect();
        assert!(check_named_exhibits(&many).is_err());
    }

    #[test]
    fn uses_parse_from_the_command_line_form() {
        assert_eq!(
            ExhibitUse::parse("court:US v. Doe").unwrap(),
            ExhibitUse::Court {
                proceedings: "US v. Doe".into()
            }
        );
        assert_eq!(
            ExhibitUse::parse("investigation").unwrap(),
            ExhibitUse::Investigation
        );
        assert!(ExhibitUse::parse("court:").is_err());
        assert!(ExhibitUse::parse("press:x").is_err());
    }
}
