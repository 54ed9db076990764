//! The acts an officer does on a joint investigation from the desk:
//! releasing an exhibit of our side (four eyes), opening an exhibit held
//! here, and an administrator adding or removing members of our side.
//!
//! The rules are the node's (`Node::exhibit_release`, `Node::exhibit_open`,
//! `Node::case_member_add`, `Node::case_member_remove`); this module parses
//! the forms and calls them. The node releases an exhibit only when two
//! different approvers name it, so the desk asks the first approver's
//! release to wait, here, until a second approver confirms it on the case
//! page; only then does it pass both officers to the node. A release
//! waiting for its second approver lives in the desk's memory: it is lost
//! if the desk restarts (and nothing was written: the first approver asks
//! again). The desk acts only for members of our side of the case (anyone
//! else is answered as not found) and refuses before any write.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_case::{Case, CaseId, CaseRole, ExhibitDigest, ExhibitStatus};
use soberana_core::{OfficerId, Role, Timestamp};

use crate::pages::{SignedIn, bad_form, with_officer};
use crate::{Desk, DeskError};

/// The largest exhibit the desk hands over in one response; a larger one is
/// opened on the node (`soberana case exhibit open … --out FILE`).
pub(crate) const MAX_OPEN_BYTES: u64 = 256 * 1024 * 1024;

/// A release asked for by a first approver, awaiting a second.
#[derive(Debug, Clone)]
pub(crate) struct PendingRelease {
    /// The first approver.
    pub officer: OfficerId,
    /// When they asked.
    pub at: Timestamp,
}

/// A form with only its token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// The member forms.
#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    administrator: String,
}

/// The case, if the officer is a member of our side of it; anything else is
/// not found, so the desk does not tell who works on what.
pub(crate) fn our_case(
    desk: &Desk,
    officer: &SignedIn,
    id: &str,
) -> Result<(CaseId, Case), DeskError> {
    let not_found = || DeskError::NotFound(id.chars().take(64).collect());
    let case = CaseId::parse(id).map_err(|_| not_found())?;
    let view = desk.node().case(case).map_err(|_| not_found())?;
    if view
        .case
        .role_of(desk.node().party(), officer.id())
        .is_none()
    {
        return Err(not_found());
    }
    Ok((case, view.case))
}

fn exhibit_in(case: &Case, digest: &str) -> Result<ExhibitDigest, DeskError> {
    let not_found = || DeskError::NotFound(digest.chars().take(64).collect());
    let digest = ExhibitDigest::parse(digest).map_err(|_| not_found())?;
    case.exhibit(&digest).ok_or_else(not_found)?;
    Ok(digest)
}

/// Checks that the exhibit is ours and still only offered.
fn releasable(desk: &Desk, case: &Case, digest: &ExhibitDigest) -> Result<(), DeskError> {
    let x = case
        .exhibit(digest)
        .ok_or_else(|| DeskError::NotFound(digest.short()))?;
    if x.contributor != desk.node().party() {
        return Err(DeskError::Conflict(format!(
            "exhibit {} is the other side's; only its contributor releases it",
            digest.short()
        )));
    }
    if x.status != ExhibitStatus::Offered {
        return Err(DeskError::Conflict(format!(
            "exhibit {} is already released",
            digest.short()
        )));
    }
    Ok(())
}

fn back(case: CaseId) -> Response {
    Redirect::to(&format!("/cases/{case}")).into_response()
}

/// `POST /cases/{id}/exhibits/{digest}/release`: a first approver asks to
/// release an exhibit of ours; it waits for a second approver.
pub async fn release(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, digest)): Path<(String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        officer.require(Role::Approver)?;
        let digest = exhibit_in(&c, &digest)?;
        releasable(&desk, &c, &digest)?;
        let mut pending = desk.releases();
        if let Some(first) = pending.get(&(case, digest)) {
            return Err(DeskError::Conflict(format!(
                "the release of exhibit {} already awaits a second approver (asked by {})",
                digest.short(),
                first.officer
            )));
        }
        pending.insert(
            (case, digest),
            PendingRelease {
                officer: officer.id().clone(),
                at: Timestamp::now(),
            },
        );
        Ok(back(case))
    })
}

/// `POST /cases/{id}/exhibits/{digest}/confirm`: a second, different
/// approver confirms; the node releases the exhibit naming both.
pub async fn confirm(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, digest)): Path<(String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        officer.require(Role::Approver)?;
        let digest = exhibit_in(&c, &digest)?;
        let mut pending = desk.releases();
        let first = pending
            .get(&(case, digest))
            .map(|p| p.officer.clone())
            .ok_or_else(|| {
                DeskError::Conflict(format!(
                    "no release of exhibit {} awaits confirmation",
                    digest.short()
                ))
            })?;
        if &first == officer.id() {
            return Err(DeskError::SameOfficer);
        }
        releasable(&desk, &c, &digest)?;
        desk.node()
            .exhibit_release(case, digest, &[first, officer.id().clone()])?;
        pending.remove(&(case, digest));
        Ok(back(case))
    })
}

/// `POST /cases/{id}/exhibits/{digest}/withdraw`: an approver withdraws a
/// release awaiting confirmation; nothing was sent.
pub async fn withdraw(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, digest)): Path<(String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        officer.require(Role::Approver)?;
        let digest = exhibit_in(&c, &digest)?;
        desk.releases().remove(&(case, digest));
        Ok(back(case))
    })
}

/// `POST /cases/{id}/exhibits/{digest}/open`: a member opens an exhibit
/// this node holds; the node records the opening before any byte is shown.
pub async fn open(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, digest)): Path<(String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        let digest = exhibit_in(&c, &digest)?;
        let size = c.exhibit(&digest).map_or(0, |x| x.size);
        if size > MAX_OPEN_BYTES {
            return Err(DeskError::Conflict(format!(
                "exhibit {} is over {MAX_OPEN_BYTES} bytes; open it on the node (soberana case exhibit open CASE DIGEST --out FILE)",
                digest.short()
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        desk.node()
            .exhibit_open(case, officer.id(), digest, &mut bytes)?;
        let mut response = bytes.into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"exhibit-{}.bin\"",
            digest.short()
        )) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    })
}

fn administrator(desk: &Desk, officer: &SignedIn, c: &Case) -> Result<(), DeskError> {
    if c.role_of(desk.node().party(), officer.id()) == Some(CaseRole::Administrator) {
        Ok(())
    } else {
        Err(DeskError::NotCaseAdministrator)
    }
}

fn member_id(text: &str) -> Result<OfficerId, DeskError> {
    let text = text.trim();
    OfficerId::new(text).map_err(|_| {
        DeskError::BadInput(format!(
            "`{}` is not an officer id",
            text.chars().take(64).collect::<String>()
        ))
    })
}

fn unknown_officer(e: soberana_node::NodeError) -> DeskError {
    match e {
        soberana_node::NodeError::UnknownOfficer(who)
        | soberana_node::NodeError::DisabledOfficer(who) => DeskError::BadInput(format!(
            "no enabled officer `{who}` is registered on this node"
        )),
        other => other.into(),
    }
}

/// `POST /cases/{id}/members`: an administrator of our side adds a member.
pub async fn member_add(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<MemberForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        administrator(&desk, officer, &c)?;
        let member = member_id(&form.officer)?;
        desk.node()
            .case_member_add(case, officer.id(), &member, form.administrator == "on")
            .map_err(unknown_officer)?;
        Ok(back(case))
    })
}

/// `POST /cases/{id}/members/remove`: an administrator of our side removes
/// a member.
pub async fn member_remove(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<MemberForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = our_case(&desk, officer, &id)?;
        administrator(&desk, officer, &c)?;
        let member = member_id(&form.officer)?;
        desk.node()
            .case_member_remove(case, officer.id(), &member)
            .map_err(unknown_officer)?;
        Ok(back(case))
    })
}
