//! The members' work on the case page: the messages between the two
//! sides (each shown in the language it was written in and marked so), the
//! tasks with their owners and deadlines (overdue ones marked), and the
//! forms to post a message, give a task and close one.
//!
//! The acts go through the node (`Node::case_message`, `Node::case_task`,
//! `Node::case_task_done`), which holds the rules: members only, a message
//! of at most 8 KiB, a task to a member of either side due before the case
//! ends, closed by its owner or an administrator of the owner's side. The
//! desk shows a member exactly what this node holds: our side's messages
//! and tasks and the ones the partner sent us.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_case::{Case, CaseId, CaseRole, MAX_MESSAGE_BYTES, MAX_TASK_TITLE};
use soberana_core::{OfficerId, PartyCode, Timestamp};

use crate::case_acts::our_case;
use crate::html::{escape, time_tag};
use crate::pages::{SignedIn, bad_form, with_officer};
use crate::{Desk, DeskError};

/// The languages offered for a message, with their names in each desk
/// language.
const LANGUAGES: [(&str, &str, &str); 4] = [
    ("es", "Spanish", "español"),
    ("en", "English", "inglés"),
    ("pt", "Portuguese", "portugués"),
    ("fr", "French", "francés"),
];

fn when(ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A node refusal as the officer's bad input (422), with the node's words.
fn refused(e: soberana_node::NodeError) -> DeskError {
    match e {
        soberana_node::NodeError::Case(text) => DeskError::BadInput(text),
        other => other.into(),
    }
}

/// ` · N overdue task(s)` for the case list, or nothing.
pub(crate) fn overdue_note(lang: crate::i18n::Lang, case: &Case) -> String {
    let now = u64::try_from(Timestamp::now().unix_millis()).unwrap_or(0);
    match case.overdue_tasks(now).count() {
        0 => String::new(),
        n => format!(
            " · <strong class=\"overdue\">{n} {}</strong>",
            lang.s("overdue task(s)", "tarea(s) vencida(s)")
        ),
    }
}

/// The messages and tasks sections of the case page, with their forms.
pub(crate) fn section(
    desk: &Desk,
    officer: &SignedIn,
    case: CaseId,
    c: &Case,
) -> Result<String, DeskError> {
    let lang = officer.lang;
    let node = desk.node();
    let ours = node.party();
    let now = u64::try_from(Timestamp::now().unix_millis()).unwrap_or(0);
    let open = c.ended.is_none() && now <= c.ends_at_ms;
    let mut out = String::new();

    let _ = write!(
        out,
        "<h2 id=\"messages\">{}</h2>",
        lang.s("Messages", "Mensajes")
    );
    let messages = node.case_messages(case, officer.id())?;
    if messages.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\">{}</p>",
            lang.s("No messages yet.", "Ningún mensaje aún.")
        );
    } else {
        out.push_str("<ol class=\"messages\">");
        for m in &messages {
            let _ = write!(
                out,
                "<li><p>{when} · <strong>{who}</strong> ({party}) · <span class=\"lang\">{lang_label} {code}</span></p>\
                 <p lang=\"{code}\">{text}</p></li>",
                when = time_tag(when(m.time_ms), officer.offset()),
                who = escape(m.author.as_str()),
                party = m.party,
                lang_label = lang.s("written in", "escrito en"),
                code = escape(&m.language),
                text = escape(&m.text).replace('\n', "<br>"),
            );
        }
        out.push_str("</ol>");
    }
    if open {
        let mut options = String::new();
        for (code, en, es) in LANGUAGES {
            let selected = if code == lang.code() { " selected" } else { "" };
            let _ = write!(
                options,
                "<option value=\"{code}\"{selected}>{}</option>",
                lang.s(en, es)
            );
        }
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/cases/{case}/messages\" class=\"case-message\">{csrf}\
             <label for=\"message-text\">{label}</label>\
             <textarea id=\"message-text\" name=\"text\" required maxlength=\"{MAX_MESSAGE_BYTES}\" rows=\"3\"></textarea>\
             <label for=\"message-lang\">{lang_label}</label><select id=\"message-lang\" name=\"language\">{options}</select>\
             <button type=\"submit\">{go}</button></form>",
            csrf = officer.csrf_field(),
            label = lang.s(
                "Message to the members of both sides (recorded in both logs)",
                "Mensaje a los miembros de ambas partes (queda en ambos registros)"
            ),
            lang_label = lang.s("Written in", "Escrito en"),
            go = lang.s("Send the message", "Enviar el mensaje"),
        );
    }

    let _ = write!(out, "<h2 id=\"tasks\">{}</h2>", lang.s("Tasks", "Tareas"));
    let tasks = node.case_tasks(case, officer.id())?;
    let overdue = tasks.iter().filter(|t| t.is_overdue(now)).count();
    if overdue > 0 {
        let _ = write!(
            out,
            "<p class=\"notice\" role=\"status\">{} {overdue}</p>",
            lang.s("Overdue tasks:", "Tareas vencidas:")
        );
    }
    if tasks.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\">{}</p>",
            lang.s("No tasks yet.", "Ninguna tarea aún.")
        );
    } else {
        let admin = c.role_of(ours, officer.id()) == Some(CaseRole::Administrator);
        let _ = write!(
            out,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.s("Task", "Tarea"),
            lang.s("Owner", "Responsable"),
            lang.s("Due", "Vence"),
            lang.s("Status", "Estado"),
        );
        for t in &tasks {
            let status = match &t.done {
                Some(d) => format!(
                    "{} {} · {}",
                    lang.s("done by", "hecha por"),
                    escape(d.by.as_str()),
                    time_tag(when(d.at_ms), officer.offset())
                ),
                None if t.is_overdue(now) => format!(
                    "<strong class=\"overdue\">{}</strong>",
                    lang.s("overdue", "vencida")
                ),
                None => lang.s("open", "abierta").to_owned(),
            };
            let may_close =
                t.is_open() && open && t.owner_side == ours && (&t.owner == officer.id() || admin);
            let close = if may_close {
                format!(
                    " <form method=\"post\" action=\"/cases/{case}/tasks/{id}/done\" class=\"inline\">{csrf}\
                     <button type=\"submit\" class=\"secondary\">{label}</button></form>",
                    id = escape(&t.id),
                    csrf = officer.csrf_field(),
                    label = lang.s("Mark done", "Marcar hecha"),
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<tr><td>{title} <small><code>{id}</code> · {given} {by} ({by_side})</small></td><td>{owner} ({side})</td><td>{due}</td><td>{status}{close}</td></tr>",
                title = escape(&t.title),
                id = escape(&t.id),
                given = lang.s("given by", "asignada por"),
                by = escape(t.given_by.as_str()),
                by_side = t.given_by_side,
                owner = escape(t.owner.as_str()),
                side = t.owner_side,
                due = time_tag(when(t.due_ms), officer.offset()),
            );
        }
        out.push_str("</tbody></table>");
    }
    if open {
        let mut owners = String::new();
        for m in &c.members {
            let _ = write!(
                owners,
                "<option value=\"{p}:{o}\">{o} ({p})</option>",
                p = m.party,
                o = escape(m.officer.as_str())
            );
        }
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/cases/{case}/tasks\" class=\"case-task\">{csrf}\
             <label for=\"task-title\">{title}</label><input id=\"task-title\" name=\"title\" required maxlength=\"{MAX_TASK_TITLE}\">\
             <label for=\"task-owner\">{owner}</label><select id=\"task-owner\" name=\"owner\">{owners}</select>\
             <label for=\"task-due\">{due}</label><input id=\"task-due\" name=\"due\" type=\"date\" required>\
             <button type=\"submit\">{go}</button></form>",
            csrf = officer.csrf_field(),
            title = lang.s("New task", "Nueva tarea"),
            owner = lang.s(
                "Owner (a member of either side)",
                "Responsable (miembro de cualquiera de las partes)"
            ),
            due = lang.s("Due by the end of (UTC)", "Vence al final del día (UTC)"),
            go = lang.s("Give the task", "Asignar la tarea"),
        );
    }
    Ok(out)
}

/// The message form.
#[derive(Debug, Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    language: String,
}

/// The task form.
#[derive(Debug, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
}

/// A form with only its token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

fn back(case: CaseId, anchor: &str) -> Response {
    Redirect::to(&format!("/cases/{case}#{anchor}")).into_response()
}

/// `POST /cases/{id}/messages`: a member of our side writes to the case.
pub async fn message(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<MessageForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, _) = our_case(&desk, officer, &id)?;
        desk.node()
            .case_message(case, officer.id(), form.language.trim(), &form.text)
            .map_err(refused)?;
        Ok(back(case, "messages"))
    })
}

/// Parses the owner field, `SIDE:OFFICER`.
fn owner(text: &str) -> Result<(PartyCode, OfficerId), DeskError> {
    let bad = || {
        DeskError::BadInput(format!(
            "`{}` is not a member of the case",
            text.chars().take(80).collect::<String>()
        ))
    };
    let (side, who) = text.split_once(':').ok_or_else(bad)?;
    Ok((
        PartyCode::new(side.trim()).map_err(|_| bad())?,
        OfficerId::new(who.trim()).map_err(|_| bad())?,
    ))
}

/// Parses the due date (`YYYY-MM-DD`, the end of that day in UTC).
fn due(text: &str) -> Result<Timestamp, DeskError> {
    let text = text.trim();
    Timestamp::parse(&format!("{text}T23:59:59Z")).map_err(|_| {
        DeskError::BadInput(format!(
            "`{}` is not a date (YYYY-MM-DD)",
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// `POST /cases/{id}/tasks`: a member of our side gives a task.
pub async fn task(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<TaskForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, _) = our_case(&desk, officer, &id)?;
        let (side, who) = owner(&form.owner)?;
        let due = due(&form.due)?;
        desk.node()
            .case_task(case, officer.id(), form.title.trim(), side, &who, due)
            .map_err(refused)?;
        Ok(back(case, "tasks"))
    })
}

/// `POST /cases/{id}/tasks/{task}/done`: the owner, or an administrator of
/// our side, closes a task of our side.
pub async fn task_done(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, task)): Path<(String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, _) = our_case(&desk, officer, &id)?;
        desk.node()
            .case_task_done(case, officer.id(), &task)
            .map_err(refused)?;
        Ok(back(case, "tasks"))
    })
}
