//! The lists of proposals: the inbox (awaiting us), what policy decided
//! by itself, and our outbox; and the small cells they share with the
//! proposal page (kind, state, handling, verdict, deadline).

use std::fmt::Write as _;

use axum::extract::{RawQuery, State};
use axum::http::header::HeaderMap;
use axum::response::Response;
use soberana_core::{DecidedBy, Direction, Outcome, ProposalKind, ProposalState, Timestamp};
use soberana_store::ProposalRecord;

use crate::html::{countdown, escape, time_tag};
use crate::i18n::Lang;
use crate::pages::{SignedIn, with_officer};
use crate::{Desk, DeskError};

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
            "exhibit_consent" => "consentimiento para usar un elemento de prueba",
            "evidence_request" => "solicitud de pruebas",
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
        escape(crate::i18n::handling_meaning(lang, code)),
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

/// An outcome's name for people (never the raw code).
pub(crate) fn outcome_label(lang: Lang, outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => lang.s("accepted", "aceptada"),
        Outcome::AcceptedWithConditions { .. } => {
            lang.s("accepted with conditions", "aceptada con condiciones")
        }
        Outcome::Refused => lang.s("refused", "rechazada"),
        Outcome::MoreInformationNeeded { .. } => {
            lang.s("more information needed", "se pide más información")
        }
    }
}

/// A table cell with the column's name beside it, for the narrow layout
/// where each row becomes a card.
fn cell(label: &str, class: &str, content: &str) -> String {
    format!("<td data-label=\"{label}\"{class}>{content}</td>")
}

fn overdue_badge(lang: Lang, deadline: Timestamp, now: Timestamp) -> &'static str {
    if now.seconds_until(deadline) < 0 {
        lang.s(
            " <span class=\"badge overdue\">overdue</span>",
            " <span class=\"badge overdue\">vencida</span>",
        )
    } else {
        ""
    }
}

/// `GET /inbox`: partner proposals that policy sent to an officer, the
/// most urgent first; overdue ones stand out.
pub async fn inbox(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let mut records = desk.node().list(
            Some(Direction::Incoming),
            vec![ProposalState::AwaitingOfficer],
        )?;
        records.sort_by_key(|r| r.proposal.deadline);
        let now = Timestamp::now();
        let (c1, c2, c3, c4, c5, c6, c7) = (
            lang.s("What is proposed", "Qué se propone"),
            lang.s("Deadline", "Plazo"),
            lang.s("From", "De"),
            lang.s("Kind", "Tipo"),
            lang.s("Handling", "Manejo"),
            lang.s("Policy", "Política"),
            lang.s("Received", "Recibida"),
        );
        let mut rows = String::new();
        let mut overdue = 0;
        for record in &records {
            let detail = desk.node().show(record.id())?;
            let pending = desk.officers().pending(record.id())?;
            let late = now.seconds_until(record.proposal.deadline) < 0;
            overdue += usize::from(late);
            let what = format!(
                "<a href=\"/proposals/{id}\">{summary}</a>{badge}{pending}",
                id = record.id(),
                summary = escape(&crate::kinds::summary(lang, &record.proposal.body)),
                badge = overdue_badge(lang, record.proposal.deadline, now),
                pending = if pending.is_some() {
                    format!(
                        " <span class=\"badge\">{}</span>",
                        lang.s("awaiting confirmation", "en espera de confirmación")
                    )
                } else {
                    String::new()
                },
            );
            let _ = write!(
                rows,
                "<tr{}>{}{}{}{}{}{}{}</tr>",
                if late { " class=\"overdue\"" } else { "" },
                cell(c1, "", &what),
                cell(
                    c2,
                    " class=\"deadline\"",
                    &deadline_cell(officer, record.proposal.deadline)
                ),
                cell(
                    c3,
                    "",
                    &escape(&format!(
                        "{} · {}",
                        record.peer, record.proposal.requesting_agency
                    ))
                ),
                cell(c4, "", &escape(&kind_label(lang, record))),
                cell(c5, "", &handling_cell(lang, record)),
                cell(c6, "", &verdict_html(lang, detail.verdict.as_ref())),
                cell(c7, "", &time_tag(record.proposal.created, officer.offset())),
            );
        }
        let body = if records.is_empty() {
            format!(
                "<p class=\"empty\">{}</p>",
                lang.s("Nothing awaits a decision.", "Nada espera una decisión.")
            )
        } else {
            format!(
                "<p>{n} {intro}{late}</p><table class=\"list\"><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
                 <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th><th scope=\"col\">{c7}</th></tr></thead><tbody>{rows}</tbody></table>",
                n = records.len(),
                intro = lang.s(
                    "partner proposal(s) that policy sent to an officer.",
                    "propuesta(s) de la contraparte que la política envió a un oficial."
                ),
                late = if overdue > 0 {
                    format!(
                        " <strong class=\"overdue-count\">{overdue} {}</strong>",
                        lang.s("overdue.", "vencida(s).")
                    )
                } else {
                    String::new()
                },
                cap = lang.s(
                    "Awaiting a decision, the nearest deadline first",
                    "En espera de decisión, el plazo más próximo primero"
                ),
            )
        };
        Ok(officer.render(&desk, lang.s("Inbox", "Bandeja de entrada"), &body))
    })
}

/// How policy disposed of an incoming proposal without an officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByPolicy {
    /// Refused (by a red line or the operational layer).
    Refused,
    /// A notice acknowledged with a signed receipt.
    Acknowledged,
    /// Accepted automatically.
    Accepted,
}

impl ByPolicy {
    pub(crate) const ALL: [ByPolicy; 3] = [
        ByPolicy::Refused,
        ByPolicy::Acknowledged,
        ByPolicy::Accepted,
    ];

    pub(crate) fn code(self) -> &'static str {
        match self {
            ByPolicy::Refused => "refused",
            ByPolicy::Acknowledged => "acknowledged",
            ByPolicy::Accepted => "accepted",
        }
    }

    pub(crate) fn label(self, lang: Lang) -> &'static str {
        match self {
            ByPolicy::Refused => lang.s("refused by policy", "rechazadas por la política"),
            ByPolicy::Acknowledged => lang.s("notices acknowledged", "notificaciones acusadas"),
            ByPolicy::Accepted => lang.s("accepted automatically", "aceptadas automáticamente"),
        }
    }

    /// How policy disposed of `detail`, if policy alone did.
    pub(crate) fn of(detail: &soberana_store::ProposalDetail) -> Option<Self> {
        if detail.record.direction != Direction::Incoming {
            return None;
        }
        match &detail.decision {
            Some(d) if d.decided_by == DecidedBy::Policy => Some(match d.outcome {
                Outcome::Refused => ByPolicy::Refused,
                _ if detail.record.state == ProposalState::Acknowledged => ByPolicy::Acknowledged,
                _ => ByPolicy::Accepted,
            }),
            None if detail.record.state == ProposalState::Acknowledged => {
                Some(ByPolicy::Acknowledged)
            }
            _ => None,
        }
    }
}

/// `GET /decided?outcome=refused&kind=…`: partner proposals that policy
/// decided alone (refused by a red line, notices acknowledged, accepted
/// automatically), with filters and a count for each.
pub async fn decided(
    State(desk): State<Desk>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let (mut want, mut kind) = (None, None);
        for pair in query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "outcome" if value.is_empty() => {}
                "outcome" => {
                    want = Some(ByPolicy::ALL.into_iter().find(|b| b.code() == value).ok_or_else(
                        || {
                            DeskError::BadInput(format!(
                                "outcome `{}` is not a filter; use refused, acknowledged or accepted",
                                value.chars().take(32).collect::<String>()
                            ))
                        },
                    )?)
                }
                "kind" if value.is_empty() => {}
                "kind" => {
                    kind = Some(ProposalKind::ALL.into_iter().find(|k| k.as_str() == value).ok_or_else(
                        || {
                            DeskError::BadInput(format!(
                                "kind `{}` is not a proposal kind",
                                value.chars().take(32).collect::<String>()
                            ))
                        },
                    )?)
                }
                _ => {}
            }
        }
        let mut counts = [0usize; 3];
        let mut rows = String::new();
        let mut shown = 0;
        let (c1, c2, c3, c4, c5, c6) = (
            lang.s("What was proposed", "Qué se propuso"),
            lang.s("How policy decided", "Cómo decidió la política"),
            lang.s("From", "De"),
            lang.s("Kind", "Tipo"),
            lang.s("Policy", "Política"),
            lang.s("Received", "Recibida"),
        );
        for record in desk.node().list(Some(Direction::Incoming), vec![])? {
            let detail = desk.node().show(record.id())?;
            let Some(by) = ByPolicy::of(&detail) else {
                continue;
            };
            if let Some(slot) = ByPolicy::ALL.iter().position(|b| *b == by)
                && let Some(n) = counts.get_mut(slot)
            {
                *n += 1;
            }
            if want.is_some_and(|w| w != by) || kind.is_some_and(|k| k != record.kind()) {
                continue;
            }
            shown += 1;
            let _ = write!(
                rows,
                "<tr class=\"by-{}\">{}{}{}{}{}{}</tr>",
                by.code(),
                cell(
                    c1,
                    "",
                    &format!(
                        "<a href=\"/proposals/{}\">{}</a>",
                        record.id(),
                        escape(&crate::kinds::summary(lang, &record.proposal.body))
                    )
                ),
                cell(
                    c2,
                    "",
                    &format!(
                        "<span class=\"state state-{}\">{}</span>",
                        record.state.as_str(),
                        escape(state_label(lang, record.state))
                    )
                ),
                cell(
                    c3,
                    "",
                    &escape(&format!(
                        "{} · {}",
                        record.peer, record.proposal.requesting_agency
                    ))
                ),
                cell(c4, "", &escape(&kind_label(lang, &record))),
                cell(c5, "", &verdict_html(lang, detail.verdict.as_ref())),
                cell(c6, "", &time_tag(record.proposal.created, officer.offset())),
            );
        }
        let mut filters = format!(
            "<nav class=\"filters\" aria-label=\"{}\"><a href=\"/decided\"{}>{} ({})</a>",
            lang.s("Filter by outcome", "Filtrar por resultado"),
            if want.is_none() {
                " aria-current=\"page\""
            } else {
                ""
            },
            lang.s("all", "todas"),
            counts.iter().sum::<usize>()
        );
        for (by, n) in ByPolicy::ALL.iter().zip(counts) {
            let _ = write!(
                filters,
                "<a href=\"/decided?outcome={}\"{}>{} (<span class=\"count-{}\">{n}</span>)</a>",
                by.code(),
                if want == Some(*by) {
                    " aria-current=\"page\""
                } else {
                    ""
                },
                by.label(lang),
                by.code(),
            );
        }
        filters.push_str("</nav>");
        let _ = write!(
            filters,
            "<form method=\"get\" action=\"/decided\" class=\"filters\"><input type=\"hidden\" name=\"outcome\" value=\"{}\">\
             <label for=\"kind\">{}</label><select id=\"kind\" name=\"kind\"><option value=\"\">{}</option>",
            want.map(ByPolicy::code).unwrap_or(""),
            lang.s("Kind", "Tipo"),
            lang.s("every kind", "todos los tipos"),
        );
        for k in ProposalKind::ALL {
            let _ = write!(
                filters,
                "<option value=\"{}\"{}>{}</option>",
                k.as_str(),
                if kind == Some(k) { " selected" } else { "" },
                kind_text(lang, k)
            );
        }
        let _ = write!(
            filters,
            "</select><button type=\"submit\">{}</button></form>",
            lang.s("Filter", "Filtrar")
        );
        let body = if shown == 0 {
            format!(
                "{filters}<p class=\"empty\">{}</p>",
                lang.s(
                    "Policy decided nothing that matches.",
                    "La política no decidió nada que coincida."
                )
            )
        } else {
            format!(
                "{filters}<table class=\"list\"><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
                 <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th></tr></thead><tbody>{rows}</tbody></table>",
                cap = lang.s(
                    "Partner proposals policy decided without an officer",
                    "Propuestas de la contraparte que la política decidió sin un oficial"
                ),
            )
        };
        Ok(officer.render(
            &desk,
            lang.s("Decided by policy", "Decididas por la política"),
            &body,
        ))
    })
}

/// `GET /outbox`: our proposals and where each stands; those still
/// waiting past their deadline stand out.
pub async fn outbox(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let records = desk.node().list(Some(Direction::Outgoing), vec![])?;
        let now = Timestamp::now();
        let (c1, c2, c3, c4, c5, c6) = (
            lang.s("What we proposed", "Qué propusimos"),
            lang.s("Where it stands", "Estado"),
            lang.s("To", "A"),
            lang.s("Kind", "Tipo"),
            lang.s("Last change", "Último cambio"),
            lang.s("Sent", "Enviada"),
        );
        let mut rows = String::new();
        for record in &records {
            let late = !record.state.is_final() && now.seconds_until(record.proposal.deadline) < 0;
            let what = format!(
                "<a href=\"/proposals/{}\">{}</a>{}",
                record.id(),
                escape(&crate::kinds::summary(lang, &record.proposal.body)),
                if late {
                    overdue_badge(lang, record.proposal.deadline, now)
                } else {
                    ""
                }
            );
            let state = format!(
                "<span class=\"state state-{}\">{}</span>",
                record.state.as_str(),
                state_label(lang, record.state)
            );
            let _ = write!(
                rows,
                "<tr{}>{}{}{}{}{}{}</tr>",
                if late { " class=\"overdue\"" } else { "" },
                cell(c1, "", &what),
                cell(c2, "", &state),
                cell(c3, "", &escape(&record.peer.to_string())),
                cell(c4, "", &escape(&kind_label(lang, record))),
                cell(c5, "", &time_tag(record.updated, officer.offset())),
                cell(c6, "", &time_tag(record.proposal.created, officer.offset())),
            );
        }
        let body = if records.is_empty() {
            format!(
                "<p class=\"empty\">{}</p>",
                lang.s("We have sent no proposals.", "No hemos enviado propuestas.")
            )
        } else {
            format!(
                "<table class=\"list\"><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
                 <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th></tr></thead><tbody>{rows}</tbody></table>",
                cap = lang.s(
                    "Our proposals and where each stands",
                    "Nuestras propuestas y su estado"
                ),
            )
        };
        Ok(officer.render(&desk, lang.s("Outbox", "Enviadas"), &body))
    })
}
