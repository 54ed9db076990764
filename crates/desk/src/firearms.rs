//! A partner's firearm trace request, answered from the desk: the answer
//! the node would release, traced on our own records for review, and the
//! form that releases it (`Node::answer_trace`, so roles, four eyes under
//! H2/H3 and the audit line are the node's, as for `soberana firearms
//! answer`).

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{ProposalBody, Role};
use soberana_node::firearms::{TraceRelease, holds_records, release_items};
use soberana_store::ProposalDetail;

use crate::html::escape;
use crate::pages::{SignedIn, bad_form, parse_id, with_officer};
use crate::{Desk, DeskError};

/// The longest reason or condition list the form takes.
const MAX_FIELD: usize = 16 * 1024;

/// The trace form.
#[derive(Debug, Deserialize)]
pub struct TraceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    reason: String,
}

/// `POST /proposals/{id}/trace`: an approver traces the request's firearms
/// on our records and releases the answer (under H2/H3, once a second
/// approver confirms it).
pub async fn answer(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TraceForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Approver)?;
        let id = parse_id(&id)?;
        if form.reason.len() > MAX_FIELD || form.conditions.len() > MAX_FIELD {
            return Err(DeskError::BadInput(format!(
                "the reason or the conditions are over {MAX_FIELD} bytes; shorten them"
            )));
        }
        let reason = form.reason.trim().to_owned();
        if reason.is_empty() {
            return Err(DeskError::BadInput(
                "give a reason for the decision; the partner reads it".into(),
            ));
        }
        desk.node().answer_trace(
            id,
            TraceRelease {
                officer: officer.id().clone(),
                conditions: form
                    .conditions
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                reason,
            },
        )?;
        Ok(Redirect::to(&format!("/proposals/{id}")).into_response())
    })
}

/// The trace section of a partner's firearm trace request awaiting a
/// decision: what would be released, and the form that releases it. Empty
/// for any other proposal, and for an officer who is not an approver.
pub(crate) fn trace_section(
    desk: &Desk,
    officer: &SignedIn,
    detail: &ProposalDetail,
) -> Result<String, DeskError> {
    if !matches!(detail.record.proposal.body, ProposalBody::FirearmTrace(_))
        || !officer.account.officer.has_role(Role::Approver)
    {
        return Ok(String::new());
    }
    let lang = officer.lang;
    let id = detail.record.id();
    let mut out = format!(
        "<section aria-labelledby=\"trace\"><h3 id=\"trace\">{}</h3>",
        lang.s("Trace on our records", "Rastrear en nuestros registros")
    );
    if !holds_records(desk.node().dir().root())? {
        let _ = write!(
            out,
            "<p>{}</p></section>",
            lang.s(
                "This node holds no firearm records: load them with `soberana firearms hold FILE` to answer.",
                "Este nodo no tiene registros de armas: cárguelos con `soberana firearms hold FILE` para responder."
            )
        );
        return Ok(out);
    }
    match desk.node().trace_answer(id) {
        Ok(answer) => {
            for item in release_items(&answer)
                .iter()
                .filter(|i| i.label == "summary")
            {
                let _ = write!(out, "<p>{}</p>", escape(&item.value));
            }
        }
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\">{}: {}</p></section>",
                lang.s("The trace cannot run", "El rastreo no puede ejecutarse"),
                escape(&e.to_string())
            );
            return Ok(out);
        }
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/proposals/{id}/trace\" class=\"decide\">{csrf}\
         <label for=\"t-conditions\">{cond}</label><textarea id=\"t-conditions\" name=\"conditions\" rows=\"2\"></textarea>\
         <label for=\"t-reason\">{reason}</label><textarea id=\"t-reason\" name=\"reason\" rows=\"2\" required>{default}</textarea>\
         <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form></section>",
        csrf = officer.csrf_field(),
        cond = lang.s("Conditions (one per line)", "Condiciones (una por línea)"),
        reason = lang.s("Reason (the partner reads it)", "Motivo (la contraparte lo lee)"),
        default = lang.s(
            "traced on our acquisition and disposition records",
            "rastreado en nuestros registros de adquisición y disposición"
        ),
        hint = lang.s(
            "A trace answer names purchasers and is handled as H2: it leaves only when a second approver confirms it.",
            "Una respuesta de rastreo nombra compradores y se maneja como H2: sale solo cuando un segundo aprobador la confirma."
        ),
        go = lang.s("Accept and release the trace", "Aceptar y liberar el rastreo"),
    );
    Ok(out)
}
