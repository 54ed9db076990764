//! The continuation of a financial trace, on the proposal page of a
//! partner's `FinancialIntelligence` request: the answer the node would
//! release, computed on our own ledger for review, and the form that runs
//! and releases it (`Node::answer_continuation`, so roles, four eyes under
//! H2/H3 and the audit line are the node's, as for `soberana finance
//! answer`).

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{OfficerId, ProposalBody, Role};
use soberana_node::finance::{ContinuationRelease, DEFAULT_ANSWER_HOPS, answer_summary, ledger};
use soberana_store::ProposalDetail;

use crate::html::escape;
use crate::pages::{SignedIn, bad_form, parse_id, with_officer};
use crate::{Desk, DeskError};

/// The longest reason or condition list the form takes.
const MAX_FIELD: usize = 16 * 1024;

/// The continuation form.
#[derive(Debug, Deserialize)]
pub struct ContinuationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    hops: String,
}

/// Turns the form into what is released, refusing anything malformed.
fn parse_form(
    form: &ContinuationForm,
    officer: &OfficerId,
) -> Result<ContinuationRelease, DeskError> {
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
    let hops = match form.hops.trim() {
        "" => DEFAULT_ANSWER_HOPS,
        text => match text.parse::<u8>() {
            Ok(h) if (1..=DEFAULT_ANSWER_HOPS).contains(&h) => h,
            _ => {
                return Err(DeskError::BadInput(format!(
                    "hops must be a whole number from 1 to {DEFAULT_ANSWER_HOPS} (got `{}`)",
                    text.chars().take(16).collect::<String>()
                )));
            }
        },
    };
    Ok(ContinuationRelease {
        officer: officer.clone(),
        conditions: form
            .conditions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        reason,
        hops,
    })
}

/// `POST /proposals/{id}/continuation`: an approver runs the next leg on
/// our ledger and releases the answer (under H2/H3, once a second approver
/// confirms it).
pub async fn answer(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ContinuationForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Approver)?;
        let id = parse_id(&id)?;
        let release = parse_form(&form, officer.id())?;
        desk.node().answer_continuation(id, release)?;
        Ok(Redirect::to(&format!("/proposals/{id}")).into_response())
    })
}

/// The continuation section of a partner's financial request awaiting a
/// decision: what would be released, and the form that releases it. Empty
/// for any other proposal, and for an officer who is not an approver.
pub(crate) fn continuation_section(
    desk: &Desk,
    officer: &SignedIn,
    detail: &ProposalDetail,
) -> Result<String, DeskError> {
    if !matches!(
        detail.record.proposal.body,
        ProposalBody::FinancialIntelligence(_)
    ) || !officer.account.officer.has_role(Role::Approver)
    {
        return Ok(String::new());
    }
    let lang = officer.lang;
    let id = detail.record.id();
    let mut out = format!(
        "<section aria-labelledby=\"continuation\"><h3 id=\"continuation\">{}</h3>",
        lang.s(
            "Continue the trace on our ledger",
            "Continuar el rastreo en nuestro libro"
        )
    );
    if ledger::loaded(desk.node().dir().root())?.is_empty() {
        let _ = write!(
            out,
            "<p>{}</p></section>",
            lang.s(
                "This node holds no financial ledger: load one with `soberana finance ingest` to answer.",
                "Este nodo no tiene libro financiero: cárguelo con `soberana finance ingest` para responder."
            )
        );
        return Ok(out);
    }
    match desk.node().continuation_answers(id, DEFAULT_ANSWER_HOPS) {
        Ok(answers) => {
            let _ = write!(
                out,
                "<p>{}</p><ul>",
                lang.s(
                    "What would be released (totals and pseudonyms only):",
                    "Lo que se liberaría (solo totales y seudónimos):"
                )
            );
            for a in &answers {
                let _ = write!(out, "<li>{}</li>", escape(&answer_summary(a)));
            }
            out.push_str("</ul>");
        }
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\">{}: {}</p></section>",
                lang.s(
                    "The trace cannot be continued",
                    "El rastreo no puede continuar"
                ),
                escape(&e.to_string())
            );
            return Ok(out);
        }
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/proposals/{id}/continuation\" class=\"decide\">{csrf}\
         <label for=\"c-conditions\">{cond}</label><textarea id=\"c-conditions\" name=\"conditions\" rows=\"2\"></textarea>\
         <label for=\"c-reason\">{reason}</label><textarea id=\"c-reason\" name=\"reason\" rows=\"2\" required>{default}</textarea>\
         <label for=\"c-hops\">{hops}</label><input id=\"c-hops\" name=\"hops\" type=\"number\" min=\"1\" max=\"{max}\" value=\"{max}\">\
         <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form></section>",
        csrf = officer.csrf_field(),
        cond = lang.s("Conditions (one per line)", "Condiciones (una por línea)"),
        reason = lang.s("Reason (the partner reads it)", "Motivo (la contraparte lo lee)"),
        default = lang.s(
            "the trail was continued on our own data; only totals and pseudonyms are released",
            "el rastreo se continuó con nuestros datos; solo se liberan totales y seudónimos"
        ),
        hops = lang.s("Hops on our side", "Saltos de nuestro lado"),
        max = DEFAULT_ANSWER_HOPS,
        hint = lang.s(
            "Financial data is handled as H2: the answer leaves only when a second approver confirms it.",
            "Los datos financieros se manejan como H2: la respuesta sale solo cuando un segundo aprobador la confirma."
        ),
        go = lang.s(
            "Accept and release the continuation",
            "Aceptar y liberar la continuación"
        ),
    );
    Ok(out)
}
