//! The lists of proposals: the inbox (awaiting us), what policy decided
//! by itself, and our outbox; and the small cells they share with the
//! proposal page (kind, state, handling, verdict, deadline).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header::HeaderMap;
use axum::response::Response;
use soberana_core::{Direction, ProposalState, Timestamp};
use soberana_store::ProposalRecord;

use crate::Desk;
use crate::html::{countdown, escape, time_tag};
use crate::i18n::Lang;
use crate::pages::{SignedIn, with_officer};

pub(crate) fn kind_label(lang: Lang, record: &ProposalRecord) -> String {
    kind_text(lang, record.kind()).to_owned()
}

/// A kind's name for people, in the officer's language.
pub(crate) fn kind_text(lang: Lang, kind: soberana_core::ProposalKind) -> &'static str {
    match lang {
        Lang::En => kind.label(),
        Lang::Es => match kind.as_str() {
            "information_request" => "solicitud de información",
            "identifier_match" => "cotejo de identificadores",
            "person_match" => "cotejo de personas",
            "firearm_trace" => "rastreo de armas",
            "financial_intelligence" => "inteligencia financiera",
            "joint_investigation" => "investigación conjunta",
            "coordinated_operation" => "operación coordinada",
            "assistance_offer" => "oferta de asistencia",
            "advance_notification" => "notificación previa",
            "border_alert" => "alerta fronteriza",
            "seizure_report" => "reporte de aseguramiento",
            _ => kind.label(),
        },
    }
}

/// A state's name for people.
pub(crate) fn state_label(lang: Lang, state: ProposalState) -> &'static str {
    use ProposalState as S;
    match state {
        S::Queued => lang.s("queued", "en cola"),
        S::Delivered => lang.s("delivered", "entregada"),
        S::Received => lang.s("received", "recibida"),
        S::AwaitingOfficer => lang.s("awaiting an officer", "en espera de un oficial"),
        S::Accepted => lang.s("accepted", "aceptada"),
        S::Refused => lang.s("refused", "rechazada"),
        S::MoreInformationNeeded => lang.s("more information needed", "se pide más información"),
        S::Acknowledged => lang.s("acknowledged", "acusada de recibo"),
        S::Answered => lang.s("answered", "respondida"),
    }
}

pub(crate) fn handling_cell(lang: Lang, record: &ProposalRecord) -> String {
    let code = record.proposal.handling;
    format!(
        "<abbr title=\"{}\">{:?}</abbr>",
        escape(code.meaning()),
        code
    )
    .replace(
        "<abbr",
        if code.restricts_dissemination() {
            "<abbr class=\"restricted\""
        } else {
            "<abbr"
        },
    ) + if code.restricts_dissemination() {
        lang.s(" (four eyes)", " (cuatro ojos)")
    } else {
        ""
    }
}

/// A policy's reason in the officer's language, as HTML: the Spanish text
/// when the policy carries one, else the English one marked as English
/// (so a screen reader reads it as such and the officer knows why).
pub(crate) fn reason_text(lang: Lang, text: &str, text_es: Option<&str>) -> String {
    match (lang, text_es) {
        (Lang::Es, Some(es)) => escape(es),
        (Lang::Es, None) => format!(
            "<span lang=\"en\">{}</span> <span class=\"muted\">(sin traducción en la política)</span>",
            escape(text)
        ),
        (Lang::En, _) => escape(text),
    }
}

/// The policy verdict and reasons kept with an incoming proposal.
pub(crate) fn verdict_html(lang: Lang, verdict: Option<&serde_json::Value>) -> String {
    let Some(verdict) = verdict else {
        return String::new();
    };
    let name = verdict
        .get("verdict")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let label = match name {
        "review" => lang.s("sent to an officer", "enviada a un oficial"),
        "allow" => lang.s("allowed", "permitida"),
        "refuse" => lang.s("refused", "rechazada"),
        _ => "?",
    };
    let mut out = format!("<strong>{}</strong><ul class=\"reasons\">", escape(label));
    for reason in verdict
        .get("reasons")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
    {
        let text = reason_text(
            lang,
            reason.get("text").and_then(|t| t.as_str()).unwrap_or(""),
            reason.get("text_es").and_then(|t| t.as_str()),
        );
        match reason.get("policy").and_then(|p| p.as_str()) {
            Some(policy) => {
                let _ = write!(out, "<li><code>{}</code> {}</li>", escape(policy), text);
            }
            None => {
                let _ = write!(out, "<li>{text}</li>");
            }
        }
    }
    out.push_str("</ul>");
    out
}

pub(crate) fn deadline_cell(officer: &SignedIn, deadline: Timestamp) -> String {
    let lang = officer.lang;
    format!(
        "{}<br><span class=\"countdown\" data-deadline=\"{}\" data-left=\"{}\" data-overdue=\"{}\">{}</span>",
        time_tag(deadline, officer.offset()),
        deadline.unix_millis(),
        lang.s("left", "restantes"),
        lang.s("overdue by", "vencido hace"),
        escape(&countdown(lang, Timestamp::now(), deadline))
    )
}

/// `GET /inbox`.
pub async fn inbox(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let records = desk.node().list(
            Some(Direction::Incoming),
            vec![ProposalState::AwaitingOfficer],
        )?;
        let mut rows = String::new();
        for record in &records {
            let detail = desk.node().show(record.id())?;
            let pending = desk.officers().pending(record.id())?;
            let _ = write!(
                rows,
                "<tr><td><a href=\"/proposals/{id}\">{summary}</a>{pending}</td><td>{from}</td><td>{kind}</td>\
                 <td>{handling}</td><td>{verdict}</td><td>{received}</td><td>{deadline}</td></tr>",
                id = record.id(),
                summary = escape(&record.proposal.body.summary()),
                pending = if pending.is_some() {
                    format!(
                        " <span class=\"badge\">{}</span>",
                        lang.s("awaiting confirmation", "en espera de confirmación")
                    )
                } else {
                    String::new()
                },
                from = escape(&format!(
                    "{} · {}",
                    record.peer, record.proposal.requesting_agency
                )),
                kind = escape(&kind_label(lang, record)),
                handling = handling_cell(lang, record),
                verdict = verdict_html(lang, detail.verdict.as_ref()),
                received = time_tag(record.proposal.created, officer.offset()),
                deadline = deadline_cell(officer, record.proposal.deadline),
            );
        }
        let body = if records.is_empty() {
            format!(
                "<p class=\"empty\">{}</p>",
                lang.s("Nothing awaits a decision.", "Nada espera una decisión.")
            )
        } else {
            format!(
                "<p>{n} {intro}</p><table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
                 <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th><th scope=\"col\">{c7}</th></tr></thead><tbody>{rows}</tbody></table>",
                n = records.len(),
                intro = lang.s(
                    "partner proposal(s) that policy sent to an officer.",
                    "propuesta(s) de la contraparte que la política envió a un oficial."
                ),
                cap = lang.s("Awaiting a decision", "En espera de decisión"),
                c1 = lang.s("What is proposed", "Qué se propone"),
                c2 = lang.s("From", "De"),
                c3 = lang.s("Kind", "Tipo"),
                c4 = lang.s("Handling", "Manejo"),
                c5 = lang.s("Policy", "Política"),
                c6 = lang.s("Received", "Recibida"),
                c7 = lang.s("Deadline", "Plazo"),
            )
        };
        Ok(officer.render(&desk, lang.s("Inbox", "Bandeja de entrada"), &body))
    })
}

/// `GET /outbox`.
pub async fn outbox(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let records = desk.node().list(Some(Direction::Outgoing), vec![])?;
        let mut rows = String::new();
        for record in &records {
            let _ = write!(
                rows,
                "<tr><td><a href=\"/proposals/{id}\">{summary}</a></td><td>{to}</td><td>{kind}</td>\
                 <td><span class=\"state state-{state_code}\">{state}</span></td><td>{updated}</td><td>{created}</td></tr>",
                id = record.id(),
                summary = escape(&record.proposal.body.summary()),
                to = escape(&record.peer.to_string()),
                kind = escape(&kind_label(lang, record)),
                state_code = record.state.as_str(),
                state = state_label(lang, record.state),
                updated = time_tag(record.updated, officer.offset()),
                created = time_tag(record.proposal.created, officer.offset()),
            );
        }
        let body = if records.is_empty() {
            format!(
                "<p class=\"empty\">{}</p>",
                lang.s("We have sent no proposals.", "No hemos enviado propuestas.")
            )
        } else {
            format!(
                "<table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
                 <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th></tr></thead><tbody>{rows}</tbody></table>",
                cap = lang.s(
                    "Our proposals and where each stands",
                    "Nuestras propuestas y su estado"
                ),
                c1 = lang.s("What we proposed", "Qué propusimos"),
                c2 = lang.s("To", "A"),
                c3 = lang.s("Kind", "Tipo"),
                c4 = lang.s("Where it stands", "Estado"),
                c5 = lang.s("Last change", "Último cambio"),
                c6 = lang.s("Sent", "Enviada"),
            )
        };
        Ok(officer.render(&desk, lang.s("Outbox", "Enviadas"), &body))
    })
}
