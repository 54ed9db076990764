//! Use conditions the contributing side attaches to an exhibit, and the
//! check every use of the exhibit passes through.
//!
//! The conditions travel with the exhibit and are part of the custody event
//! that offers it, so both logs hold exactly what was promised.

use serde::{Deserialize, Serialize};

pub use soberana_core::ExhibitUse;

use crate::{CaseError, ExhibitDigest};

/// What the receiving side may do with an exhibit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseConditions {
    /// Only for the case's agreed purpose.
    pub purpose_only: bool,
    /// Not to be passed to any third party or other authority.
    pub no_onward_transmission: bool,
    /// Not to be used as evidence in court without the contributor's consent.
    pub court_needs_consent: bool,
    /// Days the receiving side may keep the bytes; after that it deletes them.
    pub retention_days: u32,
}

impl UseConditions {
    /// The strictest conditions, with the given retention: the default of
    /// `case exhibit add`.
    pub fn strict(retention_days: u32) -> Self {
        Self {
            purpose_only: true,
            no_onward_transmission: true,
            court_needs_consent: true,
            retention_days,
        }
    }

    /// Refuses conditions that cannot hold: a retention of zero days or of
    /// more than ten years.
    pub fn check(&self) -> Result<(), CaseError> {
        if self.retention_days == 0 {
            return Err(CaseError::BadConditions(
                "a retention of 0 days leaves no time to use the exhibit",
            ));
        }
        if self.retention_days > 3650 {
            return Err(CaseError::BadConditions(
                "a retention of more than 3650 days (ten years) is not accepted",
            ));
        }
        Ok(())
    }

    /// Whether `use_` of `exhibit` keeps these conditions. `consented` says
    /// whether the contributing side consented to this use.
    pub fn allows(
        &self,
        exhibit: &ExhibitDigest,
        use_: &ExhibitUse,
        consented: bool,
    ) -> Result<(), CaseError> {
        let broken = |condition| CaseError::ConditionBroken {
            exhibit: exhibit.short(),
            use_: use_.describe(),
            condition,
        };
        match use_ {
            ExhibitUse::Investigation => Ok(()),
            ExhibitUse::OnwardTransmission { .. } if self.no_onward_transmission && !consented => {
                Err(broken("no onward transmission"))
            }
            ExhibitUse::OtherPurpose { .. } if self.purpose_only && !consented => {
                Err(broken("for the case's purpose only"))
            }
            ExhibitUse::Court { .. } if self.court_needs_consent && !consented => Err(broken(
                "not as evidence in court without the contributing side's consent",
            )),
            _ => Ok(()),
        }
    }

    /// Whether `use_` is one these conditions allow only with the
    /// contributing side's consent.
    pub fn needs_consent(&self, use_: &ExhibitUse) -> bool {
        match use_ {
            ExhibitUse::Investigation => false,
            ExhibitUse::OnwardTransmission { .. } => self.no_onward_transmission,
            ExhibitUse::OtherPurpose { .. } => self.purpose_only,
            ExhibitUse::Court { .. } => self.court_needs_consent,
        }
    }

    /// The conditions in one line, for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.purpose_only {
            parts.push("purpose only".to_owned());
        }
        if self.no_onward_transmission {
            parts.push("no onward transmission".to_owned());
        }
        if self.court_needs_consent {
            parts.push("court use needs consent".to_owned());
        }
        parts.push(format!("retention {} days", self.retention_days));
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_conditions_refuse_each_use_without_consent_and_allow_it_with() {
        let c = UseConditions::strict(90);
        let d = ExhibitDigest::of(b"x");
        let cases = [
            (ExhibitUse::Investigation, true),
            (ExhibitUse::OnwardTransmission { to: "FBI".into() }, false),
            (
                ExhibitUse::OtherPurpose {
                    purpose: "tax".into(),
                },
                false,
            ),
            (
                ExhibitUse::Court {
                    proceedings: "US v. X".into(),
                },
                false,
            ),
        ];
        for (use_, allowed) in cases {
            assert_eq!(c.allows(&d, &use_, false).is_ok(), allowed, "{use_:?}");
            assert!(c.allows(&d, &use_, true).is_ok(), "{use_:?} with consent");
        }
        let err = c
            .allows(
                &d,
                &ExhibitUse::Court {
                    proceedings: "p".into(),
                },
                false,
            )
            .unwrap_err();
        assert!(err.to_string().contains("consent"), "{err}");
    }

    #[test]
    fn open_conditions_allow_court_use() {
        let c = UseConditions {
            purpose_only: false,
            no_onward_transmission: false,
            court_needs_consent: false,
            retention_days: 1,
        };
        let d = ExhibitDigest::of(b"x");
        assert!(
            c.allows(
                &d,
                &ExhibitUse::Court {
                    proceedings: "p".into()
                },
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn retention_must_be_possible() {
        assert!(UseConditions::strict(0).check().is_err());
        assert!(UseConditions::strict(3651).check().is_err());
        assert!(UseConditions::strict(30).check().is_ok());
    }
}
