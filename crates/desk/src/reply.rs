//! Replying to a partner's request for more information: from our own
//! proposal that came back with questions, a liaison sends a follow-up
//! proposal — the same request, its purpose carrying the answers, and
//! `related_to` naming the original so the partner judges both together.
//!
//! The follow-up is made by `Node::propose`, like any proposal; the desk
//! adds only the role check (liaison), the form token and the audit line.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{Direction, ProposalDraft, ProposalState, Role, Timestamp};
use soberana_store::ProposalDetail;

use crate::html::escape;
use crate::pages::{SignedIn, bad_form, parse_id, with_officer};
use crate::{Desk, DeskError};

/// The longest reply the form takes.
const MAX_REPLY: usize = 16 * 1024;

/// The reply form.
#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reply: String,
}

/// Whether `detail` is our proposal that came back asking for more.
fn awaits_reply(detail: &ProposalDetail) -> bool {
    detail.record.direction == Direction::Outgoing
        && detail.record.state == ProposalState::MoreInformationNeeded
}

/// `POST /proposals/{id}/reply`: sends the follow-up and shows it.
pub async fn reply(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ReplyForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Liaison)?;
        let id = parse_id(&id)?;
        let detail = desk.node().show(id)?;
        if !awaits_reply(&detail) {
            return Err(DeskError::Conflict(format!(
                "proposal `{id}` does not await more information from us"
            )));
        }
        let text = form.reply.trim();
        if text.is_empty() || text.len() > MAX_REPLY {
            return Err(DeskError::BadInput(format!(
                "write the reply to the partner's questions (1 to {MAX_REPLY} bytes)"
            )));
        }
        let p = &detail.record.proposal;
        // The follow-up keeps the original's time to answer.
        let span = p.created.seconds_until(p.deadline).max(86_400);
        let draft = ProposalDraft {
            to: p.to,
            requesting_agency: p.requesting_agency.clone(),
            purpose: format!("{}\n\n{}", p.purpose, text),
            legal_basis: p.legal_basis.clone(),
            handling: p.handling,
            deadline: Timestamp::now().plus_seconds(span),
            related_to: vec![p.id],
            body: p.body.clone(),
        };
        let sent = desk
            .node()
            .propose(draft, Some(officer.id().clone()))
            .map_err(|e| DeskError::BadInput(e.to_string()))?;
        desk.audit(
            officer.id().as_str(),
            "reply",
            &id.to_string(),
            &sent.id.to_string(),
        );
        Ok(Redirect::to(&format!("/proposals/{}", sent.id)).into_response())
    })
}

/// The reply section of our proposal that came back with questions.
pub(crate) fn reply_section(officer: &SignedIn, detail: &ProposalDetail) -> String {
    if !awaits_reply(detail) {
        return String::new();
    }
    let lang = officer.lang;
    let mut out = format!(
        "<section aria-labelledby=\"reply\"><h2 id=\"reply\">{}</h2>",
        lang.s(
            "Reply to the partner's questions",
            "Responder a las preguntas de la contraparte"
        )
    );
    if officer.account.officer.has_role(Role::Liaison) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/proposals/{id}/reply\" class=\"decide\">{csrf}\
             <label for=\"reply-text\">{label}</label><textarea id=\"reply-text\" name=\"reply\" rows=\"5\" required></textarea>\
             <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form>",
            id = detail.record.id(),
            csrf = officer.csrf_field(),
            label = lang.s("Your answers", "Sus respuestas"),
            hint = lang.s(
                "Sent as a new proposal naming this one, so the partner decides both together.",
                "Se envía como una nueva propuesta que cita esta, para que la contraparte decida ambas juntas.",
            ),
            go = lang.s("Send the reply", "Enviar la respuesta"),
        );
    } else {
        let _ = write!(
            out,
            "<p>{}</p>",
            escape(lang.s(
                "Only a liaison officer can reply.",
                "Solo un oficial de enlace puede responder."
            ))
        );
    }
    out.push_str("</section>");
    out
}
