//! The standing page: every standing match arrangement with every partner
//! (where it stands, what it checks and how often, both budgets and the
//! binding one, what this period used, the last run and the next, recent
//! runs with their match counts where our side learns them), the acts
//! awaiting a second approver, and the forms for the acts in `standing`
//! that the arrangement allows now and the officer may do.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use soberana_core::{
    PartyCode, Role, StandingAction, StandingBudget, StandingPeriod, StandingStatus, Timestamp,
};
use soberana_node::sessions::standing::{StandingView, standing_list_kinds};

use crate::Desk;
use crate::html::{escape, time_tag};
use crate::i18n::Lang;
use crate::pages::{SignedIn, with_officer};
use crate::standing::{MAX_REASON, PendingStanding, refused};

pub(crate) fn status_label(lang: Lang, status: StandingStatus) -> &'static str {
    match status {
        StandingStatus::Proposed => lang.s("proposed", "propuesto"),
        StandingStatus::Active => lang.s("in force", "en vigor"),
        StandingStatus::Suspended => lang.s("suspended", "suspendido"),
        StandingStatus::Terminated => lang.s("terminated", "terminado"),
    }
}

fn period_label(lang: Lang, period: StandingPeriod) -> &'static str {
    match period {
        StandingPeriod::Daily => lang.s("daily", "diario"),
        StandingPeriod::Weekly => lang.s("weekly", "semanal"),
    }
}

/// A list kind in words.
fn list_words(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "phone" => lang.s("phone numbers", "números de teléfono"),
        "clabe" => lang.s("CLABE accounts", "cuentas CLABE"),
        "iban" => lang.s("IBAN accounts", "cuentas IBAN"),
        "aba" => lang.s("ABA accounts", "cuentas ABA"),
        "firearm" => lang.s("firearm serial numbers", "números de serie de armas"),
        "plate" => lang.s("vehicle plates", "placas de vehículos"),
        "email" => lang.s("email addresses", "correos electrónicos"),
        "persons" => lang.s("person records", "registros de personas"),
        _ => "",
    }
}

/// A list kind for people, with its code (`phone`) beside it.
fn list_label(lang: Lang, kind: &str) -> String {
    let words = list_words(lang, kind);
    if words.is_empty() {
        format!("<code>{}</code>", escape(kind))
    } else {
        format!("{words} (<code>{}</code>)", escape(kind))
    }
}

fn budget_text(lang: Lang, budget: Option<&StandingBudget>) -> String {
    match budget {
        Some(b) => format!(
            "{} {} · {} {}",
            b.per_run,
            lang.s("per run", "por ejecución"),
            b.per_period,
            lang.s("per period", "por periodo")
        ),
        None => lang.s("not set yet", "aún sin fijar").to_owned(),
    }
}

fn act_name(lang: Lang, action: &StandingAction) -> &'static str {
    match action {
        StandingAction::Propose { .. } => lang.s("propose", "proponer"),
        StandingAction::Accept { .. } => lang.s("accept", "aceptar"),
        StandingAction::Suspend { .. } => lang.s("suspend", "suspender"),
        StandingAction::Resume { .. } => lang.s("resume", "reanudar"),
        StandingAction::Terminate { .. } => lang.s("terminate", "terminar"),
    }
}

fn budget_fields(lang: Lang, id: &str) -> String {
    format!(
        "<label for=\"{id}-run\">{run}</label><input id=\"{id}-run\" name=\"per_run\" inputmode=\"numeric\" required>\
         <label for=\"{id}-period\">{period}</label><input id=\"{id}-period\" name=\"per_period\" inputmode=\"numeric\" required>",
        run = lang.s(
            "Our budget: queries per run",
            "Nuestro presupuesto: consultas por ejecución"
        ),
        period = lang.s(
            "Our budget: queries per period",
            "Nuestro presupuesto: consultas por periodo"
        ),
    )
}

fn reason_field(lang: Lang, id: &str) -> String {
    format!(
        "<label for=\"{id}-reason\">{label}</label><input id=\"{id}-reason\" name=\"reason\" maxlength=\"{MAX_REASON}\">",
        label = lang.s(
            "Reason (in the signed act both sides keep)",
            "Motivo (en el acto firmado que ambas partes conservan)"
        ),
    )
}

/// The acts waiting for a second approver, with their forms.
fn pending_section(officer: &SignedIn, desk: &Desk) -> String {
    let lang = officer.lang;
    let approver = officer.account.officer.has_role(Role::Approver);
    let mut waiting: Vec<((PartyCode, String), PendingStanding)> = desk
        .pending_standing()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if waiting.is_empty() {
        return String::new();
    }
    waiting.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!(
        "<h2 id=\"waiting\">{}</h2><p class=\"hint\">{}</p><ul>",
        lang.s("Awaiting a second approver", "En espera de un segundo aprobador"),
        lang.s(
            "Proposing or accepting an arrangement sets the budget under which our node discloses without an officer; a second approver confirms it before anything is signed or sent.",
            "Proponer o aceptar un acuerdo fija el presupuesto con el que nuestro nodo divulga sin un oficial; un segundo aprobador lo confirma antes de firmar o enviar nada."
        ),
    );
    for ((peer, name), p) in &waiting {
        let budget = match &p.action {
            StandingAction::Propose { budget, .. } | StandingAction::Accept { budget, .. } => {
                budget_text(lang, Some(budget))
            }
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<li class=\"notice\" role=\"status\"><strong>{act}</strong> <code>{name}</code> · {peer} · {budget} · {asked} <strong>{who}</strong> · {at}",
            act = act_name(lang, &p.action),
            name = escape(name),
            asked = lang.s("asked by", "pedido por"),
            who = escape(p.officer.as_str()),
            at = time_tag(p.at, officer.offset()),
        );
        if approver {
            let path = format!("/standing/{peer}/{}", escape(name));
            if &p.officer != officer.id() {
                let _ = write!(
                    out,
                    "<form method=\"post\" action=\"{path}/confirm\" class=\"inline\">{csrf}<button type=\"submit\">{label}</button></form>",
                    csrf = officer.csrf_field(),
                    label = lang.s("Confirm", "Confirmar"),
                );
            }
            let _ = write!(
                out,
                "<form method=\"post\" action=\"{path}/withdraw\" class=\"inline\">{csrf}<button type=\"submit\" class=\"secondary\">{label}</button></form>",
                csrf = officer.csrf_field(),
                label = lang.s("Withdraw", "Retirar"),
            );
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

/// One arrangement: what it is, its budgets and use, its runs, its forms.
fn arrangement_section(officer: &SignedIn, desk: &Desk, v: &StandingView) -> String {
    let lang = officer.lang;
    let ours = desk.node().party();
    let peer = v.partner;
    let a = &v.arrangement;
    let name = escape(&a.terms.name);
    let asking = a.terms.asker == ours;
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"standing\" id=\"standing-{peer}-{name}\"><h2>{peer} · <code>{name}</code> · <span class=\"state\">{status}</span></h2><dl>",
        status = status_label(lang, a.status),
    );
    let mut row = |label: &str, value: String| {
        let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
    };
    row(
        lang.s("What is checked", "Qué se coteja"),
        if asking {
            format!(
                "{} {} {} {peer}",
                lang.s("our list of", "nuestra lista de"),
                list_label(lang, &a.terms.list),
                lang.s("against the holdings of", "contra lo que tiene"),
            )
        } else {
            format!(
                "{} {peer}: {} {}",
                lang.s("the list of", "la lista de"),
                list_label(lang, &a.terms.list),
                lang.s("against our holdings", "contra lo que tenemos"),
            )
        },
    );
    row(
        lang.s("Period", "Periodo"),
        period_label(lang, a.terms.period).to_owned(),
    );
    row(
        lang.s("Proposed by", "Propuesto por"),
        a.proposed_by.to_string(),
    );
    row(
        lang.s("Budget we set", "Presupuesto que fijamos"),
        budget_text(lang, a.budgets.get(&ours)),
    );
    row(
        lang.s(
            "Budget the partner set",
            "Presupuesto que fijó la contraparte",
        ),
        budget_text(lang, a.budgets.get(&peer)),
    );
    row(
        lang.s(
            "Binding budget (the smaller of both)",
            "Presupuesto vigente (el menor de ambos)",
        ),
        budget_text(lang, v.effective.as_ref()),
    );
    row(
        lang.s("Queries this period", "Consultas en este periodo"),
        v.used_this_period.to_string(),
    );
    if asking {
        row(
            lang.s("Last run", "Última ejecución"),
            v.last_run.map_or_else(
                || lang.s("never", "nunca").to_owned(),
                |t| time_tag(t, officer.offset()),
            ),
        );
        row(
            lang.s("Next run due", "Próxima ejecución"),
            v.next_run.map_or_else(
                || {
                    lang.s(
                        "none while it is not in force",
                        "ninguna mientras no esté en vigor",
                    )
                    .to_owned()
                },
                |t| time_tag(t, officer.offset()),
            ),
        );
        row(
            lang.s("Our list", "Nuestra lista"),
            if v.list_kept {
                lang.s("kept on the node", "guardada en el nodo").to_owned()
            } else {
                format!(
                    "{} <code>soberana match standing keep</code>",
                    lang.s(
                        "none kept: the operator keeps one on the node with",
                        "ninguna guardada: el operador la guarda en el nodo con",
                    )
                )
            },
        );
    }
    if !v.agreement_in_force {
        row(
            lang.s("Agreement", "Acuerdo"),
            lang.s(
                "the bilateral agreement is not in force: no run crosses",
                "el acuerdo bilateral no está en vigor: ninguna ejecución pasa",
            )
            .to_owned(),
        );
    }
    if let Some(by) = a.stopped_by {
        row(
            lang.s("Stopped by", "Detenido por"),
            format!("{by} · {}", time_tag(a.since, officer.offset())),
        );
    }
    if !a.reason.is_empty() {
        row(
            lang.s("Last reason given", "Último motivo dado"),
            escape(&soberana_core::visible(&a.reason)),
        );
    }
    out.push_str("</dl>");
    out.push_str(&runs_table(officer, v));
    out.push_str(&act_forms(officer, desk, v));
    out.push_str("</section>");
    out
}

fn runs_table(officer: &SignedIn, v: &StandingView) -> String {
    let lang = officer.lang;
    if v.runs.is_empty() {
        return format!(
            "<p class=\"empty\">{}</p>",
            lang.s("No runs yet.", "Ninguna ejecución aún.")
        );
    }
    let mut rows = String::new();
    for run in &v.runs {
        let matched = match run.matched {
            Some(m) => m.to_string(),
            None if run.ours => lang.s("no result yet", "sin resultado aún").to_owned(),
            None => lang
                .s("not learned on our side", "no se conoce de nuestro lado")
                .to_owned(),
        };
        let _ = write!(
            rows,
            "<tr><td>{at}</td><td><a href=\"/proposals/{id}\">{id}</a></td><td>{side}</td><td>{state}</td><td>{queries}</td><td>{matched}</td></tr>",
            at = time_tag(run.at, officer.offset()),
            id = run.proposal,
            side = if run.ours {
                lang.s("asked by us", "pedida por nosotros")
            } else {
                lang.s("asked by the partner", "pedida por la contraparte")
            },
            state = crate::lists::state_label(lang, run.state),
            queries = run.queries,
        );
    }
    format!(
        "<table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th><th scope=\"col\">{c3}</th>\
         <th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th><th scope=\"col\">{c6}</th></tr></thead><tbody>{rows}</tbody></table>",
        cap = lang.s(
            "Recent runs, newest first",
            "Ejecuciones recientes, la más nueva primero"
        ),
        c1 = lang.s("When", "Cuándo"),
        c2 = lang.s("Match request", "Solicitud de cotejo"),
        c3 = lang.s("Side", "Lado"),
        c4 = lang.s("State", "Estado"),
        c5 = lang.s("Queries", "Consultas"),
        c6 = lang.s("Matches", "Coincidencias"),
    )
}

/// The forms for the acts the arrangement allows now and the officer may
/// do; the node judges each act again when it is made.
fn act_forms(officer: &SignedIn, desk: &Desk, v: &StandingView) -> String {
    let lang = officer.lang;
    let ours = desk.node().party();
    let a = &v.arrangement;
    let peer = v.partner;
    let name = escape(&a.terms.name);
    let path = format!("/standing/{peer}/{name}");
    let account = &officer.account.officer;
    let approver = account.has_role(Role::Approver);
    let runner = account.has_role(Role::Analyst) || account.has_role(Role::Liaison);
    let waiting = desk
        .pending_standing()
        .contains_key(&(peer, a.terms.name.clone()));
    let id = format!("{peer}-{name}");
    let mut out = String::new();
    let simple = |out: &mut String, act: &str, label: &str, class: &str| {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{path}/{act}\" class=\"standing-act\">{csrf}{reason}\
             <button type=\"submit\"{class}>{label}</button></form>",
            csrf = officer.csrf_field(),
            reason = reason_field(lang, &format!("{id}-{act}")),
        );
    };
    match a.status {
        StandingStatus::Proposed if approver && a.proposed_by != ours && !waiting => {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"{path}/accept\" class=\"standing-act\">{csrf}{budget}{reason}\
                 <button type=\"submit\">{label}</button></form>",
                csrf = officer.csrf_field(),
                budget = budget_fields(lang, &format!("{id}-accept")),
                reason = reason_field(lang, &format!("{id}-accept")),
                label = lang.s(
                    "Accept with our budget (a second approver confirms)",
                    "Aceptar con nuestro presupuesto (un segundo aprobador confirma)"
                ),
            );
        }
        StandingStatus::Proposed if a.proposed_by == ours => {
            let _ = write!(
                out,
                "<p class=\"hint\">{}</p>",
                lang.s(
                    "Awaits the partner's acceptance with its budget.",
                    "Espera que la contraparte lo acepte con su presupuesto."
                )
            );
        }
        StandingStatus::Active => {
            if runner && a.terms.asker == ours {
                let _ = write!(
                    out,
                    "<form method=\"post\" action=\"{path}/run\" class=\"inline\">{csrf}<button type=\"submit\">{label}</button></form>",
                    csrf = officer.csrf_field(),
                    label = lang.s("Run now", "Ejecutar ahora"),
                );
            }
            if approver {
                simple(&mut out, "suspend", lang.s("Suspend", "Suspender"), "");
            }
        }
        StandingStatus::Suspended if approver && a.stopped_by == Some(ours) => {
            simple(&mut out, "resume", lang.s("Resume", "Reanudar"), "");
        }
        _ => {}
    }
    if approver && a.status != StandingStatus::Terminated {
        simple(
            &mut out,
            "terminate",
            lang.s("Terminate for good", "Terminar definitivamente"),
            " class=\"secondary\"",
        );
    }
    out
}

fn propose_form(officer: &SignedIn, desk: &Desk) -> String {
    let lang = officer.lang;
    let mut peers: Vec<PartyCode> = desk.node().peers().iter().map(|c| c.party).collect();
    peers.sort();
    if peers.is_empty() || !officer.account.officer.has_role(Role::Approver) {
        return String::new();
    }
    let mut partners = String::new();
    for p in &peers {
        let _ = write!(partners, "<option value=\"{p}\">{p}</option>");
    }
    let mut kinds = String::new();
    for k in standing_list_kinds() {
        let _ = write!(
            kinds,
            "<option value=\"{k}\">{}</option>",
            list_words(lang, k)
        );
    }
    format!(
        "<h2 id=\"propose\">{title}</h2><form method=\"post\" action=\"/standing/propose\" class=\"standing-act\">{csrf}\
         <label for=\"propose-partner\">{partner}</label><select id=\"propose-partner\" name=\"partner\">{partners}</select>\
         <label for=\"propose-name\">{name}</label><input id=\"propose-name\" name=\"name\" required maxlength=\"64\" pattern=\"[a-z0-9_\\-]+\">\
         <label for=\"propose-asker\">{asker}</label><select id=\"propose-asker\" name=\"asker\">\
         <option value=\"us\">{us}</option><option value=\"partner\">{them}</option></select>\
         <label for=\"propose-list\">{list}</label><select id=\"propose-list\" name=\"list_kind\">{kinds}</select>\
         <label for=\"propose-period\">{period}</label><select id=\"propose-period\" name=\"period\">\
         <option value=\"daily\">{daily}</option><option value=\"weekly\">{weekly}</option></select>\
         {budget}{reason}<button type=\"submit\">{go}</button></form>",
        title = lang.s("Propose an arrangement", "Proponer un acuerdo"),
        csrf = officer.csrf_field(),
        partner = lang.s("Partner", "Contraparte"),
        name = lang.s("Name (a-z, 0-9, - and _)", "Nombre (a-z, 0-9, - y _)"),
        asker = lang.s("Whose list is checked", "Qué lista se coteja"),
        us = lang.s(
            "ours, against the partner's holdings",
            "la nuestra, contra lo que tiene la contraparte"
        ),
        them = lang.s(
            "the partner's, against our holdings",
            "la de la contraparte, contra lo que tenemos"
        ),
        list = lang.s("List kind", "Tipo de lista"),
        period = lang.s("Period", "Periodo"),
        daily = period_label(lang, StandingPeriod::Daily),
        weekly = period_label(lang, StandingPeriod::Weekly),
        budget = budget_fields(lang, "propose"),
        reason = reason_field(lang, "propose"),
        go = lang.s(
            "Propose (a second approver confirms)",
            "Proponer (un segundo aprobador confirma)"
        ),
    )
}

/// `GET /standing`.
pub async fn standing(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let views = desk
            .node()
            .standing_views(Timestamp::now())
            .map_err(refused)?;
        let mut body = format!(
            "<p class=\"hint\">{}</p>",
            lang.s(
                "Standing arrangements check a whole list against a partner's holdings once per period, within the budget both sides set; each run is an ordinary match request that the holder's node takes without an officer when the arrangement covers it.",
                "Los acuerdos de cotejo permanente comparan una lista completa con lo que tiene la contraparte una vez por periodo, dentro del presupuesto que fijan ambas partes; cada ejecución es una solicitud de cotejo ordinaria que el nodo de quien tiene los datos acepta sin un oficial cuando el acuerdo la cubre."
            )
        );
        body.push_str(&pending_section(officer, &desk));
        if views.is_empty() {
            let _ = write!(
                body,
                "<p class=\"empty\">{}</p>",
                lang.s(
                    "No standing arrangement with any partner.",
                    "Ningún acuerdo de cotejo permanente con ninguna contraparte."
                )
            );
        }
        for v in &views {
            body.push_str(&arrangement_section(officer, &desk, v));
        }
        body.push_str(&propose_form(officer, &desk));
        Ok(officer.render(
            &desk,
            lang.s("Standing matches", "Cotejos permanentes"),
            &body,
        ))
    })
}
