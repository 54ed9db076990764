//! Using an exhibit the other side released to us, under its conditions,
//! and asking that side's consent where the conditions need it.
//!
//! Every use of an exhibit — an export (a copy taken out of the node), an
//! onward transmission, a court use — passes through one check here,
//! [`Node::exhibit_use`]: the use is allowed when the exhibit's conditions
//! allow it, or when the contributing side accepted, by its officers, our
//! consent proposal naming this case, this exhibit and exactly this use.
//! The act that records the use names that consent, and the contributing
//! side's node checks it against its own copy of the consent before it
//! takes the act in. A use refused is one `refused` custody entry, and
//! nothing is written.
//!
//! A consent proposal is a proposal of its own kind (`exhibit_consent`),
//! signed and logged on both sides like any other; the contributing
//! side's officers decide it through `Node::decide` (never its policy
//! alone, see `intake.rs`), under four eyes by the default handling rule.
//! One proposal may ask several uses, of one exhibit or of several: the
//! contributing side's officer grants all of them, or a subset (each use of
//! each exhibit on its own, `Node::consent_grant_items`), possibly with
//! conditions of their own. What is granted is one released line per use,
//! the same text on both sides (`ExhibitConsent::grant_line`); a use
//! rests on a consent only if its line is among the lines released, on
//! the asking side before the act and on the contributing side again at
//! intake (`admit_consent_use`).

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use soberana_case::{
    Act, CaseError, CaseId, CustodyEvent, ExhibitDigest, ExhibitStatus, ExhibitUse,
};
use soberana_core::{
    ConsentAsk, DecidedBy, Direction, ExhibitConsent, HandlingCode, OfficerId, Outcome, Proposal,
    ProposalBody, ProposalDraft, ProposalId, ProposalState, Timestamp,
};
use soberana_store::ProposalDetail;
use soberana_wire::AnswerItem;

use super::{case_error, io_error};
use crate::officers::OfficerVerdict;
use crate::{Node, NodeError};

/// How long the contributing side has to answer a consent request.
const CONSENT_ANSWER_SECONDS: i64 = 7 * 86_400;

/// One use a consent request asks, and whether it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentItem {
    /// The exhibit.
    pub exhibit: String,
    /// The use asked.
    pub use_: ExhibitUse,
    /// Granted (`Some(true)`), not granted by an acceptance that granted
    /// others (`Some(false)`), or not decided yet (`None`).
    pub granted: Option<bool>,
}

/// What a consent request asks and what its decision granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrants {
    /// Each use asked, in the order asked.
    pub items: Vec<ConsentItem>,
    /// The conditions the contributing side added to what it granted.
    pub conditions: Vec<String>,
}

/// What a use of an exhibit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExhibitUseRecord {
    /// The custody entry's log index.
    pub log_index: u64,
    /// The consent it rests on, if the conditions needed one.
    pub consent: Option<ProposalId>,
    /// Bytes written, for an export.
    pub bytes: u64,
}

impl Node {
    /// Uses an exhibit of the case: exports it to the file `to`, or, with
    /// no file, records a use outside the node (filed in court, handed to
    /// another authority). The use is checked against the exhibit's
    /// conditions and, where they need it, against an accepted consent of
    /// the contributing side; a refusal is recorded once in our custody
    /// and nothing is written.
    pub fn exhibit_use(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        use_: ExhibitUse,
        to: Option<&Path>,
    ) -> Result<ExhibitUseRecord, NodeError> {
        self.case_officer(by)?;
        let view = self.case(case)?;
        let us = self.party();
        let refuse = |e: CaseError| -> NodeError {
            match self.refuse(by, case, Some(exhibit), &e.to_string()) {
                Ok(()) => case_error(e),
                Err(logged) => logged,
            }
        };
        let state = view
            .case
            .exhibit(&exhibit)
            .ok_or_else(|| refuse(CaseError::UnknownExhibit(exhibit.short())))?
            .clone();
        let consent = if state.contributor != us && state.conditions.needs_consent(&use_) {
            match self.consent_for(case, &exhibit, &use_)? {
                Some(id) => Some(id),
                None => {
                    // The case's own check names the condition broken.
                    let broken = view
                        .case
                        .check_use(us, &exhibit, &use_, false)
                        .err()
                        .unwrap_or(CaseError::UnknownExhibit(exhibit.short()));
                    let e = NodeError::Case(format!(
                        "{broken}; no accepted consent of {} names this exhibit and this use (ask with `soberana case consent`)",
                        state.contributor
                    ));
                    self.refuse(by, case, Some(exhibit), &e.to_string())?;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let Some(to) = to else {
            let log_index = self.act(
                by,
                case,
                Act::ExhibitUsed {
                    exhibit,
                    use_,
                    consent,
                },
            )?;
            return Ok(ExhibitUseRecord {
                log_index,
                consent,
                bytes: 0,
            });
        };
        // The act is checked (member, held, conditions) before any byte
        // is written, and recorded before the copy takes its name.
        view.case
            .check_use(us, &exhibit, &use_, consent.is_some())
            .map_err(refuse)?;
        if !view.case.holds(us, &exhibit) {
            return Err(refuse(CaseError::ExhibitState {
                exhibit: exhibit.short(),
                status: "not held by this side",
                act: "exported",
            }));
        }
        let staging = to.with_extension("exporting");
        let written = (|| {
            let mut file = File::create(&staging).map_err(io_error(&staging))?;
            self.read_exhibit(case, exhibit, state.size, 0, &mut |bytes| {
                file.write_all(&bytes).map_err(io_error(&staging))
            })?;
            file.sync_all().map_err(io_error(&staging))
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        let log_index = match self.act(
            by,
            case,
            Act::ExhibitExported {
                exhibit,
                use_,
                consent,
            },
        ) {
            Ok(index) => index,
            Err(e) => {
                let _ = fs::remove_file(&staging);
                return Err(e);
            }
        };
        fs::rename(&staging, to).map_err(io_error(to))?;
        Ok(ExhibitUseRecord {
            log_index,
            consent,
            bytes: state.size,
        })
    }

    /// Our consent proposal that the contributing side's officers
    /// accepted granting `use_` of `exhibit` in `case`, if there is one: an
    /// acceptance that granted only other uses does not count.
    pub fn consent_for(
        &self,
        case: CaseId,
        exhibit: &ExhibitDigest,
        use_: &ExhibitUse,
    ) -> Result<Option<ProposalId>, NodeError> {
        let accepted = self.list(
            Some(Direction::Outgoing),
            vec![ProposalState::Accepted, ProposalState::Answered],
        )?;
        let wanted = ConsentAsk {
            exhibit: exhibit.to_string(),
            use_: use_.clone(),
        };
        for record in accepted {
            let ProposalBody::ExhibitConsent(asked) = &record.proposal.body else {
                continue;
            };
            if asked.case_id != case.to_string() || !asked.asks().contains(&wanted) {
                continue;
            }
            let detail = self.show(record.id())?;
            let by_officers = detail.decision.as_ref().is_some_and(|d| {
                d.outcome.is_acceptance() && matches!(d.decided_by, DecidedBy::Officer { .. })
            });
            if by_officers && granted(&detail, asked, &wanted) {
                return Ok(Some(record.id()));
            }
        }
        Ok(None)
    }

    /// What the consent request `id` (ours or the partner's) asks, and
    /// what its decision granted.
    pub fn consent_grants(&self, id: ProposalId) -> Result<ConsentGrants, NodeError> {
        let detail = self.show(id)?;
        let ProposalBody::ExhibitConsent(asked) = &detail.record.proposal.body else {
            return Err(NodeError::BadDecision(format!(
                "proposal `{id}` is not a consent request"
            )));
        };
        let decided = detail.decision.as_ref();
        let accepted = decided.is_some_and(|d| d.outcome.is_acceptance());
        let items = asked
            .asks()
            .into_iter()
            .map(|ask| {
                let granted = match decided {
                    None => None,
                    Some(_) if !accepted => Some(false),
                    Some(_) if detail.answer.is_none() => None,
                    Some(_) => Some(granted(&detail, asked, &ask)),
                };
                ConsentItem {
                    exhibit: ask.exhibit,
                    use_: ask.use_,
                    granted,
                }
            })
            .collect();
        let conditions = match decided.map(|d| &d.outcome) {
            Some(Outcome::AcceptedWithConditions { conditions }) => conditions.clone(),
            _ => Vec::new(),
        };
        Ok(ConsentGrants { items, conditions })
    }

    /// The released lines that grant the uses numbered `chosen` (from 1,
    /// in the order the request asks them) of the partner's consent
    /// request `id`: what an officer passes as `release` to
    /// [`Node::decide`] to grant those uses and no others.
    pub fn consent_grant_items(
        &self,
        id: ProposalId,
        chosen: &[usize],
    ) -> Result<Vec<AnswerItem>, NodeError> {
        let detail = self.show(id)?;
        let ProposalBody::ExhibitConsent(asked) = &detail.record.proposal.body else {
            return Err(NodeError::BadDecision(format!(
                "proposal `{id}` is not a consent request"
            )));
        };
        let asks = asked.asks();
        let mut items: Vec<AnswerItem> = Vec::new();
        for n in chosen {
            let ask = n.checked_sub(1).and_then(|i| asks.get(i)).ok_or_else(|| {
                NodeError::BadDecision(format!(
                    "the consent request asks {} use(s); there is no use {n} to grant",
                    asks.len()
                ))
            })?;
            let item = grant_item(&self.party().to_string(), asked, ask);
            if !items.contains(&item) {
                items.push(item);
            }
        }
        Ok(items)
    }

    /// Asks the contributing side's consent to `use_` of an exhibit it
    /// released to us: a consent proposal of ours, queued to that side.
    /// Refused (and the refusal recorded in our custody) when we never
    /// received the exhibit, or its conditions need no consent for the use.
    pub fn consent_ask(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        use_: ExhibitUse,
        reason: &str,
    ) -> Result<Proposal, NodeError> {
        self.consent_ask_many(case, by, vec![(exhibit, use_)], reason)
    }

    /// Asks, in one consent proposal, the contributing side's consent to
    /// several uses (of one exhibit or of several it released to us); it
    /// may grant any of them. Each is checked as [`Node::consent_ask`]
    /// checks its one.
    pub fn consent_ask_many(
        &self,
        case: CaseId,
        by: &OfficerId,
        asks: Vec<(ExhibitDigest, ExhibitUse)>,
        reason: &str,
    ) -> Result<Proposal, NodeError> {
        let account = self.case_officer(by)?;
        let view = self.case(case)?;
        let mut asks = asks.into_iter();
        let Some((exhibit, use_)) = asks.next() else {
            return Err(NodeError::Case(
                "a consent request asks at least one use of one exhibit".into(),
            ));
        };
        if view.case.role_of(self.party(), by).is_none() {
            let e = CaseError::NotMember {
                actor: by.to_string(),
                side: self.party().to_string(),
            };
            self.refuse(by, case, Some(exhibit), &e.to_string())?;
            return Err(case_error(e));
        }
        let body = ExhibitConsent {
            case_id: case.to_string(),
            exhibit: exhibit.to_string(),
            use_,
            reason: reason.trim().to_owned(),
            also: asks
                .map(|(exhibit, use_)| ConsentAsk {
                    exhibit: exhibit.to_string(),
                    use_,
                })
                .collect(),
        };
        if let Err(e) = self.check_consent_asked(&body) {
            self.refuse(by, case, Some(exhibit), &e)?;
            return Err(NodeError::Case(e));
        }
        let agreement = self.show(view.case.proposal_id)?;
        let uses: Vec<String> = body
            .asks()
            .iter()
            .map(|a| {
                format!(
                    "{} of exhibit {}",
                    a.use_.describe(),
                    a.exhibit.get(..12).unwrap_or_default()
                )
            })
            .collect();
        let draft = ProposalDraft {
            to: view.case.partner_of(self.party()),
            requesting_agency: account.officer.agency.clone(),
            purpose: format!(
                "consent to {} of `{}`: {}",
                uses.join("; "),
                view.case.title,
                body.reason
            ),
            legal_basis: agreement.record.proposal.legal_basis.clone(),
            handling: HandlingCode::H2,
            deadline: Timestamp::now().plus_seconds(CONSENT_ANSWER_SECONDS),
            related_to: vec![view.case.proposal_id],
            body: ProposalBody::ExhibitConsent(body),
        };
        self.propose(draft, Some(by.clone()))
    }

    /// The asking side's check of a consent proposal before it leaves:
    /// the case is held here, the other side contributed the exhibit and
    /// released it, we received it, and its conditions need consent for
    /// the use.
    pub(crate) fn check_consent_asked(&self, asked: &ExhibitConsent) -> Result<(), String> {
        let case = CaseId::parse(&asked.case_id).map_err(|e| e.to_string())?;
        let held = self
            .store()
            .case(case)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("this node holds no case `{case}`"))?;
        let us = self.party();
        for ask in asked.asks() {
            let exhibit = ExhibitDigest::parse(&ask.exhibit).map_err(|e| e.to_string())?;
            let x = held.exhibit(&exhibit).ok_or_else(|| {
                format!(
                    "exhibit {} is not in `{case}`; consent is asked only for an exhibit the other side released to us",
                    exhibit.short()
                )
            })?;
            if x.contributor == us {
                return Err(format!(
                    "exhibit {} is ours; our own exhibits need no consent",
                    exhibit.short()
                ));
            }
            if !x.received {
                return Err(format!(
                    "this node never received exhibit {}; consent is asked only for an exhibit we hold",
                    exhibit.short()
                ));
            }
            if !x.conditions.needs_consent(&ask.use_) {
                return Err(format!(
                    "the conditions of exhibit {} ({}) allow {} without consent",
                    exhibit.short(),
                    x.conditions.describe(),
                    ask.use_.describe()
                ));
            }
        }
        Ok(())
    }

    /// The contributing side's check of a partner's consent proposal at
    /// intake: the case is held here, the exhibit is ours and released to
    /// the partner. Anything else is refused before storing.
    pub(crate) fn admit_consent(
        &self,
        sender: soberana_core::PartyCode,
        asked: &ExhibitConsent,
    ) -> Result<(), String> {
        let case = CaseId::parse(&asked.case_id).map_err(|e| e.to_string())?;
        let held = self
            .store()
            .case(case)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} holds no case `{case}`", self.party()))?;
        if !held.parties.contains(&sender) {
            return Err(format!("{sender} is not a party to `{case}`"));
        }
        for ask in asked.asks() {
            let exhibit = ExhibitDigest::parse(&ask.exhibit).map_err(|e| e.to_string())?;
            let x = held
                .exhibit(&exhibit)
                .ok_or_else(|| format!("exhibit {} is not in `{case}`", exhibit.short()))?;
            // Released is enough here: the partner's record of receipt
            // travels in its own envelope and may arrive after this one;
            // the decision waits for it (`with_consent`).
            if x.contributor != self.party() || x.status != ExhibitStatus::Released {
                return Err(format!(
                    "{sender} never received exhibit {} from {}: it was not released to it; consent is asked only for an exhibit it holds from us",
                    exhibit.short(),
                    self.party()
                ));
            }
        }
        Ok(())
    }

    /// On the acceptance of a consent proposal, the consent itself is what
    /// is released: one line per use granted, naming the exhibit, the use
    /// and the case, so the answer carries it and four eyes follow the
    /// handling rule. An acceptance that releases nothing grants every use
    /// asked; one that releases lines grants exactly those, each of which
    /// must be a use asked ([`Node::consent_grant_items`] makes them).
    /// Conditions of its own may come with it. The case and exhibits are
    /// checked again, since they may have changed since the proposal
    /// arrived.
    pub(crate) fn with_consent(
        &self,
        detail: &ProposalDetail,
        mut verdict: OfficerVerdict,
    ) -> Result<OfficerVerdict, NodeError> {
        let p = &detail.record.proposal;
        let ProposalBody::ExhibitConsent(asked) = &p.body else {
            return Ok(verdict);
        };
        if !verdict.outcome.is_acceptance() {
            return Ok(verdict);
        }
        self.admit_consent(p.from, asked)
            .map_err(NodeError::BadDecision)?;
        let us = self.party().to_string();
        let asks = asked.asks();
        let chosen: Vec<&ConsentAsk> = if verdict.release.is_empty() {
            asks.iter().collect()
        } else {
            let mut chosen = Vec::new();
            for item in &verdict.release {
                let ask = asks
                    .iter()
                    .find(|a| &grant_item(&us, asked, a) == item)
                    .ok_or_else(|| {
                        NodeError::BadDecision(format!(
                            "`{}: {}` grants no use this request asks; a consent grants some of the uses asked and nothing else",
                            item.label, item.value
                        ))
                    })?;
                if !chosen.contains(&ask) {
                    chosen.push(ask);
                }
            }
            chosen
        };
        let case =
            CaseId::parse(&asked.case_id).map_err(|e| NodeError::BadDecision(e.to_string()))?;
        let held = self.store().case(case)?;
        for ask in &chosen {
            let exhibit = ExhibitDigest::parse(&ask.exhibit)
                .map_err(|e| NodeError::BadDecision(e.to_string()))?;
            let received = held
                .as_ref()
                .and_then(|c| c.exhibit(&exhibit).map(|x| x.received))
                .unwrap_or(false);
            if !received {
                return Err(NodeError::BadDecision(format!(
                    "{} has not yet recorded receiving exhibit {} here; decide once its receipt arrives",
                    p.from,
                    exhibit.short()
                )));
            }
        }
        verdict.release = chosen
            .into_iter()
            .map(|a| grant_item(&us, asked, a))
            .collect();
        Ok(verdict)
    }

    /// The partner's use of one of our exhibits that names a consent,
    /// checked at intake: our officers' acceptance of that consent request
    /// released the line granting exactly this use of this exhibit.
    pub(crate) fn admit_consent_use(&self, event: &CustodyEvent) -> Result<(), String> {
        let Some((use_, Some(consent))) = event.act.use_of() else {
            return Ok(());
        };
        let Some(exhibit) = event.act.exhibit() else {
            return Ok(());
        };
        let Some(detail) = self.store().proposal(consent).map_err(|e| e.to_string())? else {
            // The store's check refuses a consent this node does not hold.
            return Ok(());
        };
        let ProposalBody::ExhibitConsent(asked) = &detail.record.proposal.body else {
            return Ok(());
        };
        // A consent not accepted, or not ours to give, is the store's
        // refusal (`check_consent`).
        if detail.record.direction != Direction::Incoming
            || !detail
                .decision
                .as_ref()
                .is_some_and(|d| d.outcome.is_acceptance())
        {
            return Ok(());
        }
        let wanted = ConsentAsk {
            exhibit: exhibit.to_string(),
            use_: use_.clone(),
        };
        if !asked.asks().contains(&wanted) || !granted(&detail, asked, &wanted) {
            return Err(format!(
                "{} of exhibit {} was not granted by consent {consent}: {} granted {}",
                use_.describe(),
                exhibit.short(),
                self.party(),
                granted_list(&detail)
            ));
        }
        Ok(())
    }
}

/// The line that grants `ask`, as released by the contributing side.
fn grant_item(granted_by: &str, asked: &ExhibitConsent, ask: &ConsentAsk) -> AnswerItem {
    AnswerItem {
        label: "consent".into(),
        value: asked.grant_line(granted_by, ask),
    }
}

/// Whether the decision on `detail` released the line granting `ask`.
fn granted(detail: &ProposalDetail, asked: &ExhibitConsent, ask: &ConsentAsk) -> bool {
    let Some(decision) = &detail.decision else {
        return false;
    };
    let line = grant_item(&decision.decided_by_party.to_string(), asked, ask);
    decision.outcome.is_acceptance()
        && detail
            .answer
            .as_ref()
            .is_some_and(|a| a.items.contains(&line))
}

/// What the decision on `detail` granted, in a few words.
fn granted_list(detail: &ProposalDetail) -> String {
    let lines: Vec<String> = detail
        .answer
        .as_ref()
        .map(|a| a.items.iter().map(|i| i.value.clone()).collect())
        .unwrap_or_default();
    if lines.is_empty() {
        "nothing".into()
    } else {
        lines.join("; ")
    }
}
