//! The bilateral agreement between two parties, as a first-class object.
//!
//! An agreement says which proposal kinds each side accepts from the other,
//! the handling code material travels under by default, and how long each
//! side has to answer a kind. It changes only by a signed act: one side
//! proposes terms (or amends them) and the other **accepts** them; either
//! side **suspends** it, only the side that suspended **resumes** it, and
//! either side **terminates** it for good. Every act travels in its own
//! signed envelope, so it is in both logs, and the receiving node answers
//! each act with a signed acknowledgement, also in both logs.
//!
//! [`Agreement::apply`] is the whole state machine; the store calls it in
//! the transaction that records an act, so two acts are always judged one
//! after the other against the state the first left.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    HandlingCode, PartyCode, ProposalKind, StandingAction, StandingArrangement, Timestamp,
};

/// What one side takes from the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSide {
    /// The party this side describes.
    pub party: PartyCode,
    /// The proposal kinds it accepts from the other side.
    pub accepts: Vec<ProposalKind>,
    /// Hours it has to answer a kind, where the agreement sets one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answer_hours: BTreeMap<ProposalKind, u32>,
}

/// The terms two parties agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTerms {
    /// The two sides, one per party.
    pub sides: Vec<AgreementSide>,
    /// The handling code material travels under when nothing else is said.
    pub default_handling: HandlingCode,
}

impl AgreementTerms {
    /// The side of `party`, if the terms describe it.
    pub fn side(&self, party: PartyCode) -> Option<&AgreementSide> {
        self.sides.iter().find(|s| s.party == party)
    }

    /// Checks that the terms describe exactly `a` and `b`, once each.
    pub fn check(&self, a: PartyCode, b: PartyCode) -> Result<(), AgreementError> {
        let parties: Vec<PartyCode> = self.sides.iter().map(|s| s.party).collect();
        let fits = parties.len() == 2 && parties.contains(&a) && parties.contains(&b) && a != b;
        if fits {
            Ok(())
        } else {
            Err(AgreementError::Terms(format!(
                "the terms must describe exactly the two sides `{a}` and `{b}`, one each; they describe {}",
                parties
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// What an act does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgreementAction {
    /// Proposes a first agreement (or a new one after a termination).
    Propose {
        /// The terms proposed.
        terms: AgreementTerms,
    },
    /// Proposes new terms for an agreement in force.
    Amend {
        /// The terms proposed.
        terms: AgreementTerms,
    },
    /// Accepts the other side's proposed terms: they are in force.
    Accept,
    /// Suspends the agreement: no new proposals either way.
    Suspend,
    /// Ends a suspension the same side began.
    Resume,
    /// Ends the agreement for good.
    Terminate,
    /// An act on a standing match arrangement under the agreement in force.
    Standing {
        /// What it does.
        act: StandingAction,
    },
    /// Acknowledges that an act of the other side was received.
    Acknowledge {
        /// The digest (SHA-256, hex) of the envelope acknowledged.
        envelope: String,
        /// The action acknowledged.
        of: String,
    },
}

impl AgreementAction {
    /// The action's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgreementAction::Propose { .. } => "propose",
            AgreementAction::Amend { .. } => "amend",
            AgreementAction::Accept => "accept",
            AgreementAction::Suspend => "suspend",
            AgreementAction::Resume => "resume",
            AgreementAction::Terminate => "terminate",
            AgreementAction::Standing { act } => act.as_str(),
            AgreementAction::Acknowledge { .. } => "acknowledge",
        }
    }
}

/// A signed act on an agreement: the body of an `agreement` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementAct {
    /// The version the act concerns: the one proposed (`propose`,
    /// `amend`, `accept`) or the one in force (`suspend`, `resume`,
    /// `terminate`, `acknowledge`).
    pub version: u64,
    /// What it does.
    pub action: AgreementAction,
    /// Why, for people (may be empty).
    #[serde(default)]
    pub reason: String,
    /// When the act was made.
    pub at: Timestamp,
}

/// Where an agreement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// Terms proposed, none in force yet.
    Proposed,
    /// In force.
    Active,
    /// Suspended by one side: no new proposals either way.
    Suspended,
    /// Ended for good.
    Terminated,
}

impl AgreementStatus {
    /// The status's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgreementStatus::Proposed => "proposed",
            AgreementStatus::Active => "active",
            AgreementStatus::Suspended => "suspended",
            AgreementStatus::Terminated => "terminated",
        }
    }
}

/// Terms one side proposed that the other has not accepted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingTerms {
    /// The version they would become.
    pub version: u64,
    /// Who proposed them.
    pub by: PartyCode,
    /// The terms.
    pub terms: AgreementTerms,
}

/// The agreement with one partner, as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The partner.
    pub partner: PartyCode,
    /// The version in force (0 before any).
    pub version: u64,
    /// Where it stands.
    pub status: AgreementStatus,
    /// The terms in force, if any.
    pub terms: Option<AgreementTerms>,
    /// Terms proposed and not yet accepted.
    pub pending: Option<PendingTerms>,
    /// Who suspended or terminated it, when it is.
    pub stopped_by: Option<PartyCode>,
    /// The reason given by the last act that changed the status.
    pub reason: String,
    /// When the last act that changed it was made.
    pub since: Timestamp,
    /// The standing match arrangements made under it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standing: Vec<StandingArrangement>,
}

/// Why an act cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// The act does not fit where the agreement stands.
    #[error("{0}")]
    State(String),
    /// The terms are not well formed.
    #[error("{0}")]
    Terms(String),
}

impl Agreement {
    /// The agreement after `act`, made by party `by`, where `us` is this
    /// node's party and `partner` the other side. `current` is the
    /// agreement as it stood (none before the first act). An
    /// acknowledgement changes nothing and returns the current state.
    pub fn apply(
        current: Option<&Agreement>,
        act: &AgreementAct,
        by: PartyCode,
        us: PartyCode,
        partner: PartyCode,
    ) -> Result<Agreement, AgreementError> {
        let state = |text: String| Err(AgreementError::State(text));
        let status = current.map(|a| a.status);
        let version = current.map_or(0, |a| a.version);
        let next = |terms: &AgreementTerms, base: u64| -> Result<PendingTerms, AgreementError> {
            terms.check(us, partner)?;
            if act.version != base + 1 {
                return Err(AgreementError::State(format!(
                    "the act proposes version {} but the next version is {}",
                    act.version,
                    base + 1
                )));
            }
            if let Some(pending) = current.and_then(|a| a.pending.as_ref()) {
                return Err(AgreementError::State(format!(
                    "version {} proposed by `{}` awaits acceptance; accept it or let it stand before proposing other terms",
                    pending.version, pending.by
                )));
            }
            Ok(PendingTerms {
                version: act.version,
                by,
                terms: terms.clone(),
            })
        };
        let mut after = current.cloned().unwrap_or(Agreement {
            partner,
            version: 0,
            status: AgreementStatus::Proposed,
            terms: None,
            pending: None,
            stopped_by: None,
            reason: String::new(),
            since: act.at,
            standing: Vec::new(),
        });
        match &act.action {
            AgreementAction::Propose { terms } => {
                if !matches!(status, None | Some(AgreementStatus::Terminated)) {
                    return state(format!(
                        "an agreement with `{partner}` exists ({}); amend it instead",
                        status.map_or("none", |s| s.as_str())
                    ));
                }
                let base = if status == Some(AgreementStatus::Terminated) {
                    version
                } else {
                    0
                };
                // A terminated agreement's pending terms died with it.
                after.pending = None;
                let pending = next(terms, base)?;
                after.pending = Some(pending);
                if status.is_none() {
                    after.status = AgreementStatus::Proposed;
                }
            }
            AgreementAction::Amend { terms } => {
                if !matches!(
                    status,
                    Some(AgreementStatus::Active | AgreementStatus::Suspended)
                ) {
                    return state(format!(
                        "there are no terms in force with `{partner}` to amend; propose an agreement first"
                    ));
                }
                after.pending = Some(next(terms, version)?);
            }
            AgreementAction::Accept => {
                let Some(pending) = current.and_then(|a| a.pending.clone()) else {
                    return state(format!("no terms with `{partner}` await acceptance"));
                };
                if pending.by == by {
                    return state(format!(
                        "version {} was proposed by `{by}`; only the other side can accept it",
                        pending.version
                    ));
                }
                if pending.version != act.version {
                    return state(format!(
                        "version {} awaits acceptance, not version {}",
                        pending.version, act.version
                    ));
                }
                after.version = pending.version;
                after.terms = Some(pending.terms);
                after.pending = None;
                if matches!(
                    status,
                    Some(AgreementStatus::Proposed | AgreementStatus::Terminated)
                ) {
                    after.status = AgreementStatus::Active;
                    after.stopped_by = None;
                }
                after.since = act.at;
            }
            AgreementAction::Suspend => {
                if status != Some(AgreementStatus::Active) {
                    return state(format!(
                        "only an agreement in force can be suspended; the agreement with `{partner}` is {}",
                        status.map_or("not made", |s| s.as_str())
                    ));
                }
                after.status = AgreementStatus::Suspended;
                after.stopped_by = Some(by);
                after.since = act.at;
            }
            AgreementAction::Resume => {
                if status != Some(AgreementStatus::Suspended) {
                    return state(format!(
                        "the agreement with `{partner}` is not suspended ({})",
                        status.map_or("not made", |s| s.as_str())
                    ));
                }
                if after.stopped_by != Some(by) {
                    return state(format!(
                        "the agreement was suspended by `{}`; only that side can resume it",
                        after.stopped_by.map_or("?".to_owned(), |p| p.to_string())
                    ));
                }
                after.status = AgreementStatus::Active;
                after.stopped_by = None;
                after.since = act.at;
            }
            AgreementAction::Terminate => {
                if matches!(status, None | Some(AgreementStatus::Terminated)) {
                    return state(format!(
                        "there is no agreement with `{partner}` to terminate"
                    ));
                }
                after.status = AgreementStatus::Terminated;
                after.stopped_by = Some(by);
                after.pending = None;
                after.since = act.at;
            }
            AgreementAction::Standing { act: standing } => {
                if status != Some(AgreementStatus::Active)
                    && matches!(
                        standing,
                        StandingAction::Propose { .. }
                            | StandingAction::Accept { .. }
                            | StandingAction::Resume { .. }
                    )
                {
                    return state(format!(
                        "standing arrangements are made and resumed under an agreement in force; the agreement with `{partner}` is {}",
                        status.map_or("not made", |s| s.as_str())
                    ));
                }
                if act.version != version {
                    return state(format!(
                        "the act concerns version {} but version {version} is in force",
                        act.version
                    ));
                }
                let terms = after.terms.clone();
                let accepts = |holder: PartyCode, kind: ProposalKind| {
                    terms
                        .as_ref()
                        .and_then(|t| t.side(holder))
                        .is_none_or(|s| s.accepts.contains(&kind))
                };
                standing
                    .apply(
                        &mut after.standing,
                        by,
                        (us, partner),
                        accepts,
                        &act.reason,
                        act.at,
                    )
                    .map_err(AgreementError::State)?;
                // The agreement's own status, reason and time stand.
                return Ok(after);
            }
            AgreementAction::Acknowledge { .. } => {
                if current.is_none() {
                    return state(format!(
                        "there is no agreement with `{partner}` to acknowledge an act of"
                    ));
                }
                return Ok(after);
            }
        }
        if !matches!(act.action, AgreementAction::Accept) {
            after.reason = act.reason.clone();
        }
        if act.version != after.version
            && matches!(
                act.action,
                AgreementAction::Suspend | AgreementAction::Resume | AgreementAction::Terminate
            )
        {
            return state(format!(
                "the act concerns version {} but version {} is in force",
                act.version, after.version
            ));
        }
        Ok(after)
    }

    /// Whether a new proposal may cross between the two sides.
    pub fn takes_new_proposals(&self) -> bool {
        matches!(
            self.status,
            AgreementStatus::Active | AgreementStatus::Proposed
        )
    }

    /// Why a new proposal of `kind` sent by `from` to `to` is not admitted
    /// under this agreement, or `None` if it is.
    pub fn refuses(&self, kind: ProposalKind, from: PartyCode, to: PartyCode) -> Option<String> {
        match self.status {
            AgreementStatus::Suspended => Some(format!(
                "the agreement between {from} and {to} is suspended by `{}` since {}{}: no new proposals cross until it is resumed",
                self.stopped_by.map_or("?".to_owned(), |p| p.to_string()),
                self.since,
                reason_suffix(&self.reason)
            )),
            AgreementStatus::Terminated => Some(format!(
                "the agreement between {from} and {to} was terminated by `{}` on {}{}: no new proposals cross",
                self.stopped_by.map_or("?".to_owned(), |p| p.to_string()),
                self.since,
                reason_suffix(&self.reason)
            )),
            AgreementStatus::Proposed => None,
            AgreementStatus::Active => {
                let side = self.terms.as_ref().and_then(|t| t.side(to))?;
                if side.accepts.contains(&kind) {
                    None
                } else {
                    Some(format!(
                        "under agreement version {} {to} accepts {} from {from}, not `{}`",
                        self.version,
                        if side.accepts.is_empty() {
                            "no proposal kind".to_owned()
                        } else {
                            side.accepts
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                        kind.as_str()
                    ))
                }
            }
        }
    }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" (reason: {reason})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(code: &str) -> PartyCode {
        PartyCode::new(code).unwrap()
    }

    fn terms() -> AgreementTerms {
        AgreementTerms {
            sides: vec![
                AgreementSide {
                    party: p("MX"),
                    accepts: vec![ProposalKind::InformationRequest],
                    answer_hours: BTreeMap::new(),
                },
                AgreementSide {
                    party: p("US"),
                    accepts: vec![ProposalKind::BorderAlert],
                    answer_hours: BTreeMap::new(),
                },
            ],
            default_handling: HandlingCode::H1,
        }
    }

    fn act(version: u64, action: AgreementAction) -> AgreementAct {
        AgreementAct {
            version,
            action,
            reason: "test".into(),
            at: Timestamp::now(),
        }
    }

    #[test]
    fn propose_accept_suspend_resume_terminate() {
        let (mx, us) = (p("MX"), p("US"));
        let a = Agreement::apply(
            None,
            &act(1, AgreementAction::Propose { terms: terms() }),
            mx,
            mx,
            us,
        )
        .unwrap();
        assert_eq!(a.status, AgreementStatus::Proposed);
        // The proposer cannot accept its own terms.
        assert!(Agreement::apply(Some(&a), &act(1, AgreementAction::Accept), mx, mx, us).is_err());
        let a = Agreement::apply(Some(&a), &act(1, AgreementAction::Accept), us, mx, us).unwrap();
        assert_eq!((a.status, a.version), (AgreementStatus::Active, 1));
        let a = Agreement::apply(Some(&a), &act(1, AgreementAction::Suspend), us, mx, us).unwrap();
        assert_eq!(a.status, AgreementStatus::Suspended);
        assert!(
            a.refuses(ProposalKind::BorderAlert, mx, us)
                .unwrap()
                .contains("suspended by `US`")
        );
        // Only the side that suspended resumes.
        assert!(Agreement::apply(Some(&a), &act(1, AgreementAction::Resume), mx, mx, us).is_err());
        let a = Agreement::apply(Some(&a), &act(1, AgreementAction::Resume), us, mx, us).unwrap();
        assert_eq!(a.status, AgreementStatus::Active);
        assert!(a.refuses(ProposalKind::BorderAlert, mx, us).is_none());
        assert!(a.refuses(ProposalKind::SeizureReport, mx, us).is_some());
        let a =
            Agreement::apply(Some(&a), &act(1, AgreementAction::Terminate), mx, mx, us).unwrap();
        assert_eq!(a.status, AgreementStatus::Terminated);
        assert!(Agreement::apply(Some(&a), &act(1, AgreementAction::Resume), mx, mx, us).is_err());
    }

    #[test]
    fn standing_arrangements_bind_the_smaller_budget_and_stop_with_either_side() {
        use crate::{StandingBudget, StandingPeriod, StandingStatus, StandingTerms};
        let (mx, us) = (p("MX"), p("US"));
        let mut t = terms();
        t.sides[1].accepts.push(ProposalKind::IdentifierMatch);
        let a = Agreement::apply(
            None,
            &act(1, AgreementAction::Propose { terms: t }),
            mx,
            mx,
            us,
        )
        .unwrap();
        let standing = |s: StandingAction| act(1, AgreementAction::Standing { act: s });
        let proposal = StandingAction::Propose {
            terms: StandingTerms {
                name: "phones".into(),
                asker: mx,
                list: "phone".into(),
                period: StandingPeriod::Daily,
            },
            budget: StandingBudget {
                per_run: 100,
                per_period: 100,
            },
        };
        // Not before the agreement is in force.
        assert!(Agreement::apply(Some(&a), &standing(proposal.clone()), mx, mx, us).is_err());
        let a = Agreement::apply(Some(&a), &act(1, AgreementAction::Accept), us, mx, us).unwrap();
        let a = Agreement::apply(Some(&a), &standing(proposal.clone()), mx, mx, us).unwrap();
        assert_eq!(
            a.status,
            AgreementStatus::Active,
            "the agreement is unchanged"
        );
        assert_eq!(a.standing[0].status, StandingStatus::Proposed);
        assert_eq!(a.standing[0].effective_budget(), None);
        // A name in use is refused; the proposer cannot accept.
        assert!(Agreement::apply(Some(&a), &standing(proposal), mx, mx, us).is_err());
        let accept = StandingAction::Accept {
            name: "phones".into(),
            budget: StandingBudget {
                per_run: 10,
                per_period: 500,
            },
        };
        assert!(Agreement::apply(Some(&a), &standing(accept.clone()), mx, mx, us).is_err());
        let a = Agreement::apply(Some(&a), &standing(accept), us, mx, us).unwrap();
        assert_eq!(
            a.standing[0].effective_budget(),
            Some(StandingBudget {
                per_run: 10,
                per_period: 100
            })
        );
        // The US does not accept person matches from MX: no such arrangement.
        let persons = StandingAction::Propose {
            terms: StandingTerms {
                name: "people".into(),
                asker: mx,
                list: crate::PERSONS_LIST.into(),
                period: StandingPeriod::Weekly,
            },
            budget: StandingBudget {
                per_run: 1,
                per_period: 1,
            },
        };
        let err = Agreement::apply(Some(&a), &standing(persons), mx, mx, us).unwrap_err();
        assert!(
            err.to_string().contains("does not accept `person_match`"),
            "{err}"
        );
        let suspend = StandingAction::Suspend {
            name: "phones".into(),
        };
        let a = Agreement::apply(Some(&a), &standing(suspend), us, mx, us).unwrap();
        assert_eq!(a.standing[0].status, StandingStatus::Suspended);
        let resume = StandingAction::Resume {
            name: "phones".into(),
        };
        assert!(Agreement::apply(Some(&a), &standing(resume.clone()), mx, mx, us).is_err());
        let a = Agreement::apply(Some(&a), &standing(resume), us, mx, us).unwrap();
        assert_eq!(a.standing[0].status, StandingStatus::Active);
        // The act travels as JSON and reads back the same.
        let json = serde_json::to_string(&standing(StandingAction::Terminate {
            name: "phones".into(),
        }))
        .unwrap();
        let back: AgreementAct = serde_json::from_str(&json).unwrap();
        let a = Agreement::apply(Some(&a), &back, mx, mx, us).unwrap();
        assert_eq!(a.standing[0].status, StandingStatus::Terminated);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Agreement>(&json).unwrap(), a);
    }

    #[test]
    fn terms_must_name_both_sides_and_versions_follow() {
        let (mx, us) = (p("MX"), p("US"));
        let mut bad = terms();
        bad.sides.pop();
        assert!(
            Agreement::apply(
                None,
                &act(1, AgreementAction::Propose { terms: bad }),
                mx,
                mx,
                us
            )
            .is_err()
        );
        assert!(
            Agreement::apply(
                None,
                &act(3, AgreementAction::Propose { terms: terms() }),
                mx,
                mx,
                us
            )
            .is_err()
        );
    }
}
