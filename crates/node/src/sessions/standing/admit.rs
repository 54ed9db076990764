//! A partner's run under a standing arrangement, judged at intake by the
//! arrangement as we hold it: what the run claims decides nothing.

use super::*;

impl Node {
    /// Checks, at intake, a partner's match proposal that names a standing
    /// arrangement: `Ok(None)` when it names none; `Ok(Some(reason))` when
    /// the arrangement as we hold it covers it (it is then accepted without
    /// an officer); a refusal otherwise.
    pub(crate) fn admit_standing_run(
        &self,
        proposal: &Proposal,
        now: Timestamp,
    ) -> Result<Option<String>, StandingRefusal> {
        let Some(claim) = standing_ref(proposal) else {
            return Ok(None);
        };
        let name = claim.arrangement.as_str();
        let peer = proposal.from;
        let agreement = self
            .agreement(peer)
            .map_err(|e| StandingRefusal::new("standing_unavailable", e.to_string()))?
            .filter(|a| a.status == AgreementStatus::Active)
            .ok_or_else(|| {
                StandingRefusal::new(
                    "standing_no_agreement",
                    format!(
                        "{} holds no agreement in force with {peer}; a standing run needs one",
                        self.party()
                    ),
                )
            })?;
        let Some(arrangement) = agreement.standing.iter().find(|a| a.terms.name == name) else {
            return Err(StandingRefusal::new(
                "standing_unknown",
                format!(
                    "{} holds no standing arrangement `{name}` with {peer}",
                    self.party()
                ),
            ));
        };
        if arrangement.status != StandingStatus::Active {
            return Err(StandingRefusal::new(
                "standing_not_in_force",
                format!(
                    "standing arrangement `{name}` is {}{}; no run is taken",
                    arrangement.status.as_str(),
                    arrangement
                        .stopped_by
                        .map(|p| format!(" by `{p}`"))
                        .unwrap_or_default()
                ),
            ));
        }
        if arrangement.terms.asker != peer {
            return Err(StandingRefusal::new(
                "standing_wrong_side",
                format!(
                    "under standing arrangement `{name}` {} asks, not {peer}",
                    arrangement.terms.asker
                ),
            ));
        }
        let kind_fits = match &proposal.body {
            ProposalBody::IdentifierMatch(m) => m.identifier_kind == arrangement.terms.list,
            ProposalBody::PersonMatch(_) => arrangement.terms.list == PERSONS_LIST,
            _ => false,
        };
        if !kind_fits {
            return Err(StandingRefusal::new(
                "standing_wrong_list",
                format!(
                    "standing arrangement `{name}` checks `{}` lists; this run is a {}",
                    arrangement.terms.list,
                    proposal.kind().as_str()
                ),
            ));
        }
        let limits = &self.config().limits;
        let skew = i64::try_from(limits.max_clock_skew_ms).unwrap_or(i64::MAX);
        let age = i64::try_from(limits.max_envelope_age_ms).unwrap_or(i64::MAX);
        let created = proposal.created.unix_millis();
        let now_ms = now.unix_millis();
        if created > now_ms.saturating_add(skew) || created < now_ms.saturating_sub(age) {
            return Err(StandingRefusal::new(
                "standing_run_time",
                format!(
                    "the run is dated {}; a standing run is counted in the period it is made, so it must be dated now",
                    proposal.created
                ),
            ));
        }
        // Our own budget is the fact; the effective one can only be smaller.
        let ours = arrangement.budgets.get(&self.party()).copied();
        let (Some(ours), Some(effective)) = (ours, arrangement.effective_budget()) else {
            return Err(StandingRefusal::new(
                "standing_no_budget",
                format!("standing arrangement `{name}` has no agreed budget"),
            ));
        };
        let budget = ours.min(effective);
        let count = queries(proposal);
        let used = self
            .standing_used(peer, arrangement, now, false)
            .map_err(|e| StandingRefusal::new("standing_unavailable", e.to_string()))?;
        check_budget(name, count, used, budget, arrangement)?;
        if claim.budget != budget {
            return Err(StandingRefusal::new(
                "standing_budget_claim",
                format!(
                    "the run claims a budget of {} under `{name}` where the arrangement as agreed sets {budget}; nothing was compared",
                    claim.budget
                ),
            ));
        }
        Ok(Some(format!(
            "covered by standing arrangement `{name}` with {peer}: {count} queries within the budget of {budget} ({} used in this period before it)",
            used
        )))
    }

    /// Whether a match we hold under a standing arrangement may still be
    /// answered: the agreement and the arrangement are both in force.
    pub(crate) fn standing_still_in_force(&self, proposal: &Proposal) -> Result<(), String> {
        let Some(claim) = standing_ref(proposal) else {
            return Ok(());
        };
        let agreement = self
            .agreement(proposal.from)
            .map_err(|e| e.to_string())?
            .ok_or("there is no agreement")?;
        if agreement.status != AgreementStatus::Active {
            return Err(format!(
                "the agreement is {}; the standing run is not answered",
                agreement.status.as_str()
            ));
        }
        match agreement
            .standing
            .iter()
            .find(|a| a.terms.name == claim.arrangement)
        {
            Some(a) if a.status == StandingStatus::Active => Ok(()),
            Some(a) => Err(format!(
                "standing arrangement `{}` is {}; the run is not answered",
                claim.arrangement,
                a.status.as_str()
            )),
            None => Err(format!(
                "there is no standing arrangement `{}`",
                claim.arrangement
            )),
        }
    }
}
