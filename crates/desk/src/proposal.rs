//! One proposal's page: what is asked (rendered by kind), the facts our
//! node established, why policy routed it, the decision, what was
//! disclosed, the history, and the form to decide it.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use soberana_core::{Direction, ProposalId, ProposalState};
use soberana_store::ProposalDetail;

use crate::html::{escape, time_tag};
use crate::lists::{
    deadline_cell, handling_cell, kind_label, outcome_label, reason_text, state_label, verdict_html,
};
use crate::pages::{SignedIn, with_officer};
use crate::{Desk, DeskError, kinds};

pub(crate) fn parse_id(text: &str) -> Result<ProposalId, DeskError> {
    ProposalId::parse(text).map_err(|_| DeskError::NotFound(text.chars().take(64).collect()))
}

/// `GET /proposals/{id}`.
pub async fn proposal(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let id = parse_id(&id)?;
        let detail = desk.node().show(id)?;
        let body = proposal_body(&desk, officer, &detail)?;
        // The summary names the kind already.
        let title = kinds::summary(officer.lang, &detail.record.proposal.body);
        Ok(officer.render(&desk, &title, &body))
    })
}

/// `GET /proposals/{id}/document`: the proposal exactly as recorded, the
/// document the sender signed, as JSON.
pub async fn document(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_officer(&desk, &headers, |_officer| {
        let id = parse_id(&id)?;
        let detail = desk.node().show(id)?;
        let json = serde_json::to_string_pretty(&detail.record.proposal)
            .map_err(|e| DeskError::Internal(e.to_string()))?;
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/json; charset=utf-8".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"proposal-{id}.json\""),
                ),
            ],
            json,
        )
            .into_response())
    })
}

fn proposal_body(
    desk: &Desk,
    officer: &SignedIn,
    detail: &ProposalDetail,
) -> Result<String, DeskError> {
    let lang = officer.lang;
    let record = &detail.record;
    let p = &record.proposal;
    let mut out = String::new();
    let field = |out: &mut String, name: &str, value: String| {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    };
    out.push_str("<section aria-labelledby=\"asked\"><h2 id=\"asked\">");
    out.push_str(lang.s("What is asked", "Qué se pide"));
    out.push_str("</h2><dl>");
    field(
        &mut out,
        lang.s("Proposal", "Propuesta"),
        format!("<code>{}</code>", p.id),
    );
    field(
        &mut out,
        lang.s("Where it stands", "Estado"),
        escape(state_label(lang, record.state)),
    );
    field(
        &mut out,
        lang.s("From → to", "De → a"),
        escape(&format!("{} → {}", p.from, p.to)),
    );
    field(
        &mut out,
        lang.s("Requesting agency", "Autoridad solicitante"),
        escape(&p.requesting_agency.to_string()),
    );
    if let Some(author) = &p.author {
        field(
            &mut out,
            lang.s("Officer", "Oficial"),
            escape(author.as_str()),
        );
    }
    field(
        &mut out,
        lang.s("Kind", "Tipo"),
        escape(&kind_label(lang, record)),
    );
    field(
        &mut out,
        lang.s("Summary", "Resumen"),
        escape(&kinds::summary(lang, &p.body)),
    );
    field(&mut out, lang.s("Purpose", "Propósito"), escape(&p.purpose));
    field(
        &mut out,
        lang.s("Legal basis", "Fundamento legal"),
        escape(&p.legal_basis),
    );
    field(
        &mut out,
        lang.s("Handling", "Manejo"),
        format!(
            "{} — {}",
            handling_cell(lang, record),
            escape(crate::i18n::handling_meaning(lang, p.handling))
        ),
    );
    field(
        &mut out,
        lang.s("Sent", "Enviada"),
        time_tag(p.created, officer.offset()),
    );
    field(
        &mut out,
        lang.s("Deadline", "Plazo"),
        deadline_cell(officer, p.deadline),
    );
    out.push_str("</dl></section>");

    // The body as what it is, beside what our node established about it.
    let acts = if record.direction == Direction::Incoming {
        desk.node().policy().acts(p)
    } else {
        Vec::new()
    };
    let _ = write!(
        out,
        "<section aria-labelledby=\"content\"><h2 id=\"content\">{}</h2>{}\
         <p><a href=\"/proposals/{}/document\">{}</a></p></section>",
        escape(&kind_label(lang, record)),
        kinds::body_html(
            lang,
            &p.body,
            &acts,
            desk.node().party().as_str(),
            officer.offset()
        ),
        p.id,
        lang.s(
            "The signed document, as recorded (JSON)",
            "El documento firmado, tal como se registró (JSON)"
        ),
    );

    if record.direction == Direction::Incoming {
        // Facts our policy could only give as lines (no act table).
        let facts = if acts.is_empty() {
            desk.node().policy().facts(p)
        } else {
            Vec::new()
        };
        if !facts.is_empty() {
            // The policy engine gives these lines in English only.
            let _ = write!(
                out,
                "<section aria-labelledby=\"facts\"><h2 id=\"facts\">{} {}</h2>{}<ul class=\"facts\" lang=\"en\">",
                lang.s("Facts established by", "Hechos establecidos por"),
                escape(desk.node().party().as_str()),
                lang.s(
                    "",
                    "<p class=\"muted\">En inglés, como los da el motor de políticas.</p>"
                ),
            );
            for fact in &facts {
                let flagged = fact.starts_with("CONTRADICTION");
                let _ = write!(
                    out,
                    "<li{}>{}</li>",
                    if flagged {
                        " class=\"contradiction\""
                    } else {
                        ""
                    },
                    escape(fact)
                );
            }
            out.push_str("</ul></section>");
        }
        let _ = write!(
            out,
            "<section aria-labelledby=\"policy\"><h2 id=\"policy\">{}</h2>{}</section>",
            lang.s(
                "Why policy routed it here",
                "Por qué la política la envió aquí"
            ),
            verdict_html(lang, detail.verdict.as_ref())
        );
    }

    if let Some(decision) = &detail.decision {
        let by = match &decision.decided_by {
            soberana_core::DecidedBy::Policy => lang.s("policy", "la política").to_owned(),
            soberana_core::DecidedBy::Officer {
                officer,
                confirmed_by,
            } => match confirmed_by {
                Some(second) => format!("{officer} + {second}"),
                None => officer.to_string(),
            },
        };
        let _ = write!(
            out,
            "<section aria-labelledby=\"decision\"><h2 id=\"decision\">{}</h2><p><strong>{}</strong> — {} {} ({}) · {}</p><ul class=\"reasons\">",
            lang.s("Decision", "Decisión"),
            escape(outcome_label(lang, &decision.outcome)),
            lang.s("by", "por"),
            escape(&by),
            escape(&decision.decided_by_party.to_string()),
            time_tag(decision.decided_at, officer.offset()),
        );
        for reason in &decision.reasons {
            let policy = reason
                .policy
                .as_deref()
                .map(|p| format!("<code>{}</code> ", escape(p)))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li>{policy}{}</li>",
                reason_text(lang, &reason.text, reason.text_es.as_deref())
            );
        }
        out.push_str("</ul>");
        if let soberana_core::Outcome::AcceptedWithConditions { conditions }
        | soberana_core::Outcome::MoreInformationNeeded {
            questions: conditions,
        } = &decision.outcome
        {
            out.push_str("<ul>");
            for c in conditions {
                let _ = write!(out, "<li>{}</li>", escape(c));
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>");
    }

    if detail.answer.is_some() || !detail.disclosures.is_empty() {
        let _ = write!(
            out,
            "<section aria-labelledby=\"disclosed\"><h2 id=\"disclosed\">{}</h2>",
            lang.s("What was disclosed", "Qué se divulgó")
        );
        if let Some(answer) = &detail.answer {
            let _ = write!(
                out,
                "<p>{}</p><dl>",
                crate::i18n::answer_summary(lang, &answer.summary)
            );
            for item in &answer.items {
                let _ = write!(
                    out,
                    "<dt>{}</dt><dd>{}</dd>",
                    escape(&item.label),
                    escape(&item.value)
                );
            }
            out.push_str("</dl>");
        }
        for (digest, bytes) in &detail.disclosures {
            let _ = write!(
                out,
                "<p>{} {bytes} bytes · sha256 <code>{}</code></p>",
                lang.s("Left this node:", "Salió de este nodo:"),
                escape(digest)
            );
        }
        out.push_str("</section>");
    }

    let _ = write!(
        out,
        "<section aria-labelledby=\"history\"><h2 id=\"history\">{}</h2><ol class=\"history\">",
        lang.s("History", "Historial")
    );
    for event in &detail.events {
        let _ = write!(
            out,
            "<li>{} — <strong>{}</strong> {}</li>",
            time_tag(event.at, officer.offset()),
            escape(state_label(lang, event.state)),
            crate::i18n::history_line(lang, &event.event)
        );
    }
    out.push_str("</ol></section>");

    out.push_str(&crate::reply::reply_section(officer, detail));
    out.push_str(&crate::evidence::evidence_section(officer, detail));
    if record.direction == Direction::Incoming && record.state == ProposalState::AwaitingOfficer {
        out.push_str(&crate::decide::decide_section(desk, officer, detail)?);
    }
    Ok(out)
}
