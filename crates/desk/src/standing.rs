//! Standing match arrangements on the desk: bulk blind cross-matching with
//! each partner under the bilateral agreement, and the acts on them.
//!
//! The page (`standing_page`) lists every arrangement with every partner: where it stands,
//! which list it checks and how often, the budget each side set and the
//! one that binds a run (the smaller, field by field), what this period
//! has used, the last run and when the next is due, and the recent runs
//! with their match counts where our side learns them. The forms are the
//! acts `soberana match standing` offers: propose, accept, suspend, resume,
//! terminate and run now.
//!
//! The rules are the node's: the acts are `Node::act_on_standing` and
//! `Node::run_standing`, exactly as the command line calls them, and the
//! page is `Node::standing_views`. Proposing or accepting an arrangement
//! sets the budget under which our node discloses without an officer
//! looking at each run, so the node makes it only when two different
//! enabled approvers name it; suspending, resuming and terminating need
//! one (stopping is the safe direction; resuming is allowed only to the
//! side that suspended). The node checks the approvers and records them in
//! the audit trail. What the desk adds is the wait between the two: the
//! first approver's act is judged by the node at once
//! (`Node::check_standing_act` with that approver, which writes nothing)
//! and then waits, in the desk's memory, for a second approver to confirm
//! it; the confirmation asks the node to make the act naming both, and the
//! node judges the pair. A restart forgets a waiting act, and nothing was
//! written for it. Running now needs an analyst or a liaison officer.
//! Every refusal comes before any write.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{
    OfficerId, PartyCode, Role, StandingAction, StandingArrangement, StandingBudget,
    StandingPeriod, StandingTerms, Timestamp,
};
use soberana_node::NodeError;
use soberana_node::sessions::MatchError;
use soberana_node::sessions::standing::standing_list_kinds;

use crate::pages::{SignedIn, bad_form, refuse, signed_in, with_officer};
use crate::{Desk, DeskError};

/// The longest reason an officer may give for an act (the node keeps this
/// many characters in the signed act).
pub(crate) const MAX_REASON: usize = 1000;

/// The most acts on standing arrangements that may await a second approver
/// at once (they are held in memory).
const MAX_WAITING: usize = 64;

/// An act on a standing arrangement asked for by a first approver,
/// awaiting a second.
#[derive(Debug, Clone)]
pub(crate) struct PendingStanding {
    /// The first approver.
    pub officer: OfficerId,
    /// The act, as judged by the node when it was asked for.
    pub action: StandingAction,
    /// The reason the first approver gave.
    pub reason: String,
    /// When they asked.
    pub at: Timestamp,
}

/// Acts awaiting a second approver, by partner and arrangement name.
pub(crate) type PendingActs = std::collections::HashMap<(PartyCode, String), PendingStanding>;

/// Every form on the page; each act reads the fields it needs.
#[derive(Debug, Deserialize)]
pub struct StandingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    partner: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    list_kind: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    asker: String,
    #[serde(default)]
    per_run: String,
    #[serde(default)]
    per_period: String,
    #[serde(default)]
    reason: String,
}

fn clip(text: &str) -> String {
    text.trim().chars().take(64).collect()
}

/// A node refusal of an act as the officer sees it: not allowed where the
/// arrangement stands is a conflict (409); an unknown partner is not found;
/// an approver named by a waiting act who can no longer approve is a
/// conflict too.
pub(crate) fn refused(e: NodeError) -> DeskError {
    match e {
        NodeError::Agreement(text) => DeskError::Conflict(text),
        NodeError::UnknownPeer(peer) => DeskError::NotFound(peer),
        NodeError::UnknownOfficer(who) | NodeError::DisabledOfficer(who) => DeskError::Conflict(
            format!("`{who}` is not an enabled officer of this node and cannot approve this act"),
        ),
        other => other.into(),
    }
}

/// A node refusal of a run. Reading the kept list can fail in ways that
/// name files of the node: the officer is told the list cannot be read,
/// the operator's log has the detail.
fn run_refused(name: &str, e: MatchError) -> DeskError {
    match e {
        MatchError::Node(e) => refused(e),
        MatchError::Store(e) => e.into(),
        MatchError::Standing(text) => DeskError::Conflict(text),
        other => {
            tracing::warn!(arrangement = name, error = %other, "standing run refused");
            DeskError::Conflict(format!(
                "the list kept for standing arrangement `{name}` cannot be run; the operator can see why in the node's log"
            ))
        }
    }
}

fn reason(form: &StandingForm) -> Result<String, DeskError> {
    let reason = form.reason.trim();
    if reason.chars().count() > MAX_REASON {
        return Err(DeskError::BadInput(format!(
            "the reason is over {MAX_REASON} characters; shorten it"
        )));
    }
    Ok(reason.to_owned())
}

fn count(field: &'static str, text: &str) -> Result<u64, DeskError> {
    text.trim().parse::<u64>().map_err(|_| {
        DeskError::BadInput(format!(
            "the budget {field} `{}` is not a whole number of queries",
            clip(text)
        ))
    })
}

fn budget(form: &StandingForm) -> Result<StandingBudget, DeskError> {
    let budget = StandingBudget {
        per_run: count("per run", &form.per_run)?,
        per_period: count("per period", &form.per_period)?,
    };
    budget.check().map_err(DeskError::BadInput)?;
    Ok(budget)
}

/// A partner this node pins, named in a form.
fn partner_in_form(desk: &Desk, text: &str) -> Result<PartyCode, DeskError> {
    let unknown = || DeskError::BadInput(format!("`{}` is not a partner of this node", clip(text)));
    let code = PartyCode::new(text.trim()).map_err(|_| unknown())?;
    if code == desk.node().party() || desk.node().peer(code).is_none() {
        return Err(unknown());
    }
    Ok(code)
}

/// The partner and arrangement named in the address; anything else is not
/// found.
fn named(
    desk: &Desk,
    partner: &str,
    name: &str,
) -> Result<(PartyCode, StandingArrangement), DeskError> {
    let not_found = || DeskError::NotFound(format!("{}/{}", clip(partner), clip(name)));
    let peer = PartyCode::new(partner).map_err(|_| not_found())?;
    if desk.node().peer(peer).is_none() {
        return Err(not_found());
    }
    let arrangement = desk
        .node()
        .standing_arrangements(peer)
        .map_err(refused)?
        .into_iter()
        .find(|a| a.terms.name == name)
        .ok_or_else(not_found)?;
    Ok((peer, arrangement))
}

fn back() -> Response {
    Redirect::to("/standing").into_response()
}

fn target(peer: PartyCode, name: &str) -> String {
    format!("{peer}/{name}")
}

/// Holds a first approver's act for a second approver, after the node
/// judged it.
fn hold(
    desk: &Desk,
    officer: &SignedIn,
    peer: PartyCode,
    action: StandingAction,
    reason: String,
) -> Result<Response, DeskError> {
    desk.node()
        .check_standing_act(peer, &action, &reason, std::slice::from_ref(officer.id()))
        .map_err(refused)?;
    let name = action.name().to_owned();
    let mut pending = desk.pending_standing();
    if let Some(first) = pending.get(&(peer, name.clone())) {
        return Err(DeskError::Conflict(format!(
            "an act on standing arrangement `{name}` with {peer} already awaits a second approver (asked by {})",
            first.officer
        )));
    }
    if pending.len() >= MAX_WAITING {
        return Err(DeskError::Conflict(format!(
            "{MAX_WAITING} acts on standing arrangements already await a second approver; confirm or withdraw some first"
        )));
    }
    let what = action.as_str();
    pending.insert(
        (peer, name.clone()),
        PendingStanding {
            officer: officer.id().clone(),
            action,
            reason,
            at: Timestamp::now(),
        },
    );
    drop(pending);
    desk.audit(
        officer.id().as_str(),
        "standing_pending",
        &target(peer, &name),
        what,
    );
    Ok(back())
}

/// `POST /standing/propose`: a first approver proposes an arrangement to a
/// partner with our budget; it waits for a second approver.
pub async fn propose(
    State(desk): State<Desk>,
    headers: HeaderMap,
    form: Result<Form<StandingForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let peer = partner_in_form(&desk, &form.partner)?;
        let list = form.list_kind.trim().to_ascii_lowercase();
        if !standing_list_kinds().contains(&list.as_str()) {
            return Err(DeskError::BadInput(format!(
                "list `{}` is not an identifier kind or persons",
                clip(&form.list_kind)
            )));
        }
        let period = StandingPeriod::from_name(&form.period).ok_or_else(|| {
            DeskError::BadInput(format!(
                "period `{}` is not daily or weekly",
                clip(&form.period)
            ))
        })?;
        let asker = match form.asker.trim() {
            "us" => desk.node().party(),
            "partner" => peer,
            other => {
                return Err(DeskError::BadInput(format!(
                    "`{}` does not say whose list is checked; choose us or partner",
                    clip(other)
                )));
            }
        };
        let terms = StandingTerms {
            name: form.name.trim().to_owned(),
            asker,
            list,
            period,
        };
        terms.check().map_err(DeskError::BadInput)?;
        let budget = budget(&form)?;
        let reason = reason(&form)?;
        hold(
            &desk,
            officer,
            peer,
            StandingAction::Propose { terms, budget },
            reason,
        )
    })
}

/// `POST /standing/{partner}/{name}/{act}`: accept (four eyes), confirm
/// or withdraw an act awaiting its second approver, suspend, resume or
/// terminate.
pub async fn act(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((partner, name, act)): Path<(String, String, String)>,
    form: Result<Form<StandingForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        match act.as_str() {
            "confirm" => confirm(&desk, officer, &partner, &name),
            "withdraw" => withdraw(&desk, officer, &partner, &name),
            "accept" => {
                let (peer, a) = named(&desk, &partner, &name)?;
                let budget = budget(&form)?;
                let reason = reason(&form)?;
                hold(
                    &desk,
                    officer,
                    peer,
                    StandingAction::Accept {
                        name: a.terms.name,
                        budget,
                    },
                    reason,
                )
            }
            "suspend" | "resume" | "terminate" => {
                let (peer, a) = named(&desk, &partner, &name)?;
                let reason = reason(&form)?;
                let name = a.terms.name;
                let action = match act.as_str() {
                    "suspend" => StandingAction::Suspend { name: name.clone() },
                    "resume" => StandingAction::Resume { name: name.clone() },
                    _ => StandingAction::Terminate { name: name.clone() },
                };
                desk.node()
                    .act_on_standing(peer, action, &reason, std::slice::from_ref(officer.id()))
                    .map_err(refused)?;
                Ok(back())
            }
            _ => Err(DeskError::NotFound(clip(&act))),
        }
    })
}

/// The key of an act awaiting its second approver, named in the address.
fn pending_key(partner: &str, name: &str) -> Result<(PartyCode, String), DeskError> {
    let peer = PartyCode::new(partner)
        .map_err(|_| DeskError::NotFound(format!("{}/{}", clip(partner), clip(name))))?;
    Ok((peer, name.to_owned()))
}

fn nothing_pending(name: &str) -> DeskError {
    DeskError::Conflict(format!(
        "no act on standing arrangement `{}` awaits confirmation",
        clip(name)
    ))
}

/// A second approver confirms; the node makes the act naming both
/// approvers, and refuses it unless they are two different enabled
/// approvers (the act then still waits).
fn confirm(
    desk: &Desk,
    officer: &SignedIn,
    partner: &str,
    name: &str,
) -> Result<Response, DeskError> {
    let key = pending_key(partner, name)?;
    let mut pending = desk.pending_standing();
    let first = pending
        .get(&key)
        .cloned()
        .ok_or_else(|| nothing_pending(name))?;
    desk.node()
        .act_on_standing(
            key.0,
            first.action,
            &first.reason,
            &[first.officer, officer.id().clone()],
        )
        .map_err(refused)?;
    pending.remove(&key);
    Ok(back())
}

/// An approver withdraws an act awaiting its second approver; nothing was
/// written or sent for it.
fn withdraw(
    desk: &Desk,
    officer: &SignedIn,
    partner: &str,
    name: &str,
) -> Result<Response, DeskError> {
    officer.require(Role::Approver)?;
    let key = pending_key(partner, name)?;
    let first = desk
        .pending_standing()
        .remove(&key)
        .ok_or_else(|| nothing_pending(name))?;
    desk.audit(
        officer.id().as_str(),
        "standing_withdrawn",
        &target(key.0, &key.1),
        first.action.as_str(),
    );
    Ok(back())
}

/// `POST /standing/{partner}/{name}/run`: an analyst or liaison officer
/// runs an arrangement now; the run is an ordinary match proposal, shown on
/// its own page. Reading and blinding a whole list is work for a blocking
/// thread, not the server's.
pub async fn run(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((partner, name)): Path<(String, String)>,
    form: Result<Form<StandingForm>, FormRejection>,
) -> Response {
    let officer = match signed_in(&desk, &headers) {
        Ok(o) => o,
        Err(e) => return refuse(&desk, desk.config().default_language, e),
    };
    let lang = officer.lang;
    let checked = (|| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let account = &officer.account.officer;
        if !account.has_role(Role::Analyst) && !account.has_role(Role::Liaison) {
            return Err(DeskError::Forbidden(Role::Analyst.as_str()));
        }
        let (peer, a) = named(&desk, &partner, &name)?;
        let name = a.terms.name;
        if a.terms.asker == desk.node().party()
            && !desk.node().standing_list_path(peer, &name).exists()
        {
            return Err(DeskError::Conflict(format!(
                "no list is kept for standing arrangement `{name}`; the operator keeps one on the node (soberana match standing keep)"
            )));
        }
        Ok((peer, name))
    })();
    let (peer, name) = match checked {
        Ok(v) => v,
        Err(e) => return refuse(&desk, lang, e),
    };
    let node = desk.node().clone();
    let who = officer.id().clone();
    let run_name = name.clone();
    let sent = tokio::task::spawn_blocking(move || {
        node.run_standing(peer, &run_name, None, Some(who), Timestamp::now())
            .map_err(|e| run_refused(&run_name, e))
    })
    .await
    .unwrap_or_else(|e| {
        Err(DeskError::Internal(format!(
            "the standing run stopped: {e}"
        )))
    });
    match sent {
        Ok(proposal) => {
            desk.audit(
                officer.id().as_str(),
                "standing_run",
                &target(peer, &name),
                &proposal.id.to_string(),
            );
            Redirect::to(&format!("/proposals/{}", proposal.id)).into_response()
        }
        Err(e) => refuse(&desk, lang, e),
    }
}
