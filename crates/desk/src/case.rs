//! The case pages: the joint investigations an officer is a member of, and
//! one case with its members, exhibits (digest, conditions, custody) and
//! every act in the order this node recorded it, in Spanish and English.
//!
//! The page carries the forms for the acts a member can do from the desk
//! (`case_acts`: release an exhibit of ours under four eyes, open one held
//! here, and for administrators add or remove members); the acts go through
//! the node, which holds the rules. An officer sees only the cases in which
//! they are a member of our side; any other case is answered as not found,
//! so the page does not tell who else works on what.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use soberana_case::{Act, Case, CaseId, CaseRole, ExhibitStatus};
use soberana_core::Role;
use soberana_core::Timestamp;

use crate::Desk;
use crate::error::DeskError;
use crate::html::{Zone, escape, time_tag};
use crate::i18n::Lang;
use crate::pages::{SignedIn, with_officer};

fn member_of(desk: &Desk, officer: &SignedIn, case: &Case) -> bool {
    case.role_of(desk.node().party(), officer.id()).is_some()
}

fn ends(lang: Lang, case: &Case, offset: &Zone) -> String {
    match &case.ended {
        Some(reason) => format!("{} {}", lang.s("ended:", "terminado:"), escape(reason)),
        None => format!(
            "{} {}",
            lang.s("ends", "termina"),
            time_tag(
                Timestamp::from_unix_millis(i64::try_from(case.ends_at_ms).unwrap_or(i64::MAX)),
                offset
            )
        ),
    }
}

/// The forms under one exhibit: release (or confirm or withdraw a release
/// awaiting its second approver) when it is ours and only offered; open
/// when this node holds its bytes; ask the contributor's consent when it is
/// the other side's and its conditions forbid a use.
fn exhibit_forms(
    desk: &Desk,
    officer: &SignedIn,
    case: CaseId,
    c: &Case,
    x: &soberana_case::ExhibitState,
) -> String {
    let lang = officer.lang;
    let ours = desk.node().party();
    let approver = officer.account.officer.has_role(Role::Approver);
    let mut out = String::new();
    let form = |out: &mut String, act: &str, label: &str, class: &str| {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/cases/{case}/exhibits/{d}/{act}\" class=\"inline\">{csrf}\
             <button type=\"submit\"{class}>{label}</button></form>",
            d = x.digest,
            csrf = officer.csrf_field(),
        );
    };
    if x.contributor == ours && x.status == ExhibitStatus::Offered {
        let pending = desk.releases().get(&(case, x.digest)).cloned();
        match pending {
            Some(p) => {
                let _ = write!(
                    out,
                    "<p class=\"notice\" role=\"status\">{} <strong>{}</strong> · {}</p>",
                    lang.s(
                        "Releasing evidence needs a second approver. Release awaiting confirmation, asked by",
                        "Entregar una prueba requiere un segundo aprobador. Entrega en espera de confirmación, pedida por"
                    ),
                    escape(p.officer.as_str()),
                    time_tag(p.at, officer.offset())
                );
                if approver {
                    if &p.officer != officer.id() {
                        form(
                            &mut out,
                            "confirm",
                            lang.s("Confirm the release", "Confirmar la entrega"),
                            "",
                        );
                    }
                    form(
                        &mut out,
                        "withdraw",
                        lang.s("Withdraw the release", "Retirar la entrega"),
                        " class=\"secondary\"",
                    );
                }
            }
            None if approver => form(
                &mut out,
                "release",
                lang.s(
                    "Release to the other side (a second approver confirms)",
                    "Entregar a la otra parte (un segundo aprobador confirma)",
                ),
                "",
            ),
            None => {}
        }
    }
    if c.holds(ours, &x.digest) {
        form(
            &mut out,
            "open",
            lang.s(
                "Open (recorded in the chain of custody)",
                "Abrir (queda en la cadena de custodia)",
            ),
            " class=\"secondary\"",
        );
    }
    out.push_str(&crate::evidence::consent_form(officer, c, ours, x));
    out
}

/// `GET /cases`.
pub async fn cases(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let mut rows = String::new();
        for case in desk.node().cases()? {
            if !member_of(&desk, officer, &case) {
                continue;
            }
            let _ = write!(
                rows,
                "<tr><td><a href=\"/cases/{id}\">{title}</a></td><td>{a} ↔ {b}</td><td>{members}</td><td>{exhibits}</td><td>{ends}</td></tr>",
                id = case.id,
                title = escape(&case.title),
                a = case.parties[0],
                b = case.parties[1],
                members = case.members.len(),
                exhibits = case.exhibits.len(),
                ends = ends(lang, &case, officer.offset())
                    + &crate::case_work::overdue_note(lang, &case),
            );
        }
        let body = if rows.is_empty() {
            format!(
                "<p class=\"empty\">{}</p>",
                lang.s(
                    "You are a member of no joint investigation.",
                    "No es miembro de ninguna investigación conjunta."
                )
            )
        } else {
            format!(
                "<table><caption>{cap}</caption><thead><tr><th scope=\"col\">{c1}</th><th scope=\"col\">{c2}</th>\
                 <th scope=\"col\">{c3}</th><th scope=\"col\">{c4}</th><th scope=\"col\">{c5}</th></tr></thead><tbody>{rows}</tbody></table>",
                cap = lang.s(
                    "Joint investigations you work on",
                    "Investigaciones conjuntas en que participa"
                ),
                c1 = lang.s("Case", "Caso"),
                c2 = lang.s("Parties", "Partes"),
                c3 = lang.s("Members", "Miembros"),
                c4 = lang.s("Exhibits", "Pruebas"),
                c5 = lang.s("Term", "Plazo"),
            )
        };
        Ok(officer.render(&desk, lang.s("Cases", "Casos"), &body))
    })
}

/// `GET /cases/{id}`.
pub async fn case(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let lang = officer.lang;
        let not_found = || DeskError::NotFound(id.chars().take(64).collect());
        let case = CaseId::parse(&id).map_err(|_| not_found())?;
        let view = desk.node().case(case).map_err(|_| not_found())?;
        let c = &view.case;
        if !member_of(&desk, officer, c) {
            return Err(not_found());
        }
        let mut body = format!(
            "<p>{agreement} <a href=\"/proposals/{p}\">{p}</a> · {a} ↔ {b} · {ends}</p>",
            agreement = lang.s("Agreement", "Acuerdo"),
            p = c.proposal_id,
            a = c.parties[0],
            b = c.parties[1],
            ends = ends(lang, c, officer.offset()),
        );
        let ours = desk.node().party();
        let admin = c.role_of(ours, officer.id()) == Some(CaseRole::Administrator);
        let _ = write!(body, "<h2>{}</h2><ul>", lang.s("Members", "Miembros"));
        for m in desk.node().case_members(case)? {
            // Our node established our members; the partner's are its claim.
            let standing = if !m.established_here {
                format!(
                    " · {}",
                    match lang {
                        Lang::En => format!("as {} claims", m.party),
                        Lang::Es => format!("según {}", m.party),
                    }
                )
            } else if !m.enabled {
                format!(" · {}", lang.s("disabled here", "deshabilitado aquí"))
            } else {
                String::new()
            };
            let role = match m.role {
                soberana_case::CaseRole::Administrator => lang.s("administrator", "administrador"),
                soberana_case::CaseRole::Member => lang.s("member", "miembro"),
            };
            let remove = if admin && m.party == ours && &m.officer != officer.id() {
                format!(
                    " <form method=\"post\" action=\"/cases/{case}/members/remove\" class=\"inline\">{csrf}\
                     <input type=\"hidden\" name=\"officer\" value=\"{who}\">\
                     <button type=\"submit\" class=\"secondary\">{label} {who}</button></form>",
                    csrf = officer.csrf_field(),
                    who = escape(m.officer.as_str()),
                    label = lang.s("Remove", "Quitar"),
                )
            } else {
                String::new()
            };
            let _ = write!(
                body,
                "<li>{} · {} · {role}{standing}{remove}</li>",
                escape(m.officer.as_str()),
                m.party
            );
        }
        body.push_str("</ul>");
        // The evidence file of a notice or request: what its signed body
        // named, and where each exhibit stands.
        let named = desk
            .node()
            .evidence_named(c.proposal_id)
            .unwrap_or_default();
        if !named.is_empty() {
            let _ = write!(
                body,
                "<h2>{}</h2><ul class=\"named\">",
                lang.s(
                    "Evidence named in the signed proposal",
                    "Pruebas nombradas en la propuesta firmada"
                )
            );
            for n in named {
                use soberana_node::NamedEvidenceState as S;
                let state = match n.state {
                    S::Missing => lang.s("missing", "falta"),
                    S::Offered => lang.s("offered", "ofrecida"),
                    S::Released => lang.s("released", "liberada"),
                    S::Received => lang.s("received", "recibida"),
                };
                let _ = write!(
                    body,
                    "<li>{} · <code>sha256:{}</code> · {} bytes · <strong>{state}</strong></li>",
                    escape(&n.exhibit.title),
                    escape(n.exhibit.digest.get(..12).unwrap_or_default()),
                    n.exhibit.size
                );
            }
            body.push_str("</ul>");
        }
        if admin {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/cases/{case}/members\" class=\"member-add\">{csrf}\
                 <label for=\"member\">{who}</label><input id=\"member\" name=\"officer\" required maxlength=\"64\">\
                 <label><input type=\"checkbox\" name=\"administrator\"> {admin_label}</label>\
                 <button type=\"submit\">{go}</button></form>",
                csrf = officer.csrf_field(),
                who = lang.s(
                    "Officer of this node to add",
                    "Funcionario de este nodo que se agrega"
                ),
                admin_label = lang.s(
                    "administers our side of the case",
                    "administra nuestra parte del caso"
                ),
                go = lang.s("Add the member", "Agregar al miembro"),
            );
        }
        body.push_str(&crate::case_work::section(&desk, officer, case, c)?);
        let _ = write!(body, "<h2>{}</h2>", lang.s("Exhibits", "Pruebas"));
        if c.exhibits.is_empty() {
            let _ = write!(
                body,
                "<p class=\"empty\">{}</p>",
                lang.s("None yet.", "Ninguna aún.")
            );
        }
        for x in &c.exhibits {
            let status = match (x.status, x.received) {
                (ExhibitStatus::Offered, _) => {
                    lang.s("offered, not released", "ofrecida, no entregada")
                }
                (ExhibitStatus::Released, false) => lang.s("released", "entregada"),
                (ExhibitStatus::Released, true) => {
                    lang.s("released and received", "entregada y recibida")
                }
            };
            let mut conditions = Vec::new();
            if x.conditions.purpose_only {
                conditions.push(lang.s("case purpose only", "solo para el fin del caso"));
            }
            if x.conditions.no_onward_transmission {
                conditions.push(lang.s("no onward transmission", "sin transmisión a terceros"));
            }
            if x.conditions.court_needs_consent {
                conditions
                    .push(lang.s("court use needs consent", "uso judicial con consentimiento"));
            }
            let _ = write!(
                body,
                "<h3>{label}</h3><p><code>{digest}</code> · {size} bytes · {from} {contributor} · {status}</p>\
                 <p>{cond}: {list}; {retention} {days}</p><ol>",
                label = escape(&x.label),
                digest = x.digest,
                size = x.size,
                from = lang.s("from", "de"),
                contributor = x.contributor,
                cond = lang.s("Conditions", "Condiciones"),
                list = conditions.join(", "),
                retention = lang.s("retention, days:", "conservación, días:"),
                days = x.conditions.retention_days,
            );
            for e in view
                .events
                .iter()
                .filter(|e| e.event.act.exhibit() == Some(x.digest))
            {
                let _ = write!(
                    body,
                    "<li>{} · {} · {} ({}) · #{}</li>",
                    time_tag(
                        Timestamp::from_unix_millis(i64::try_from(e.event.time_ms).unwrap_or(0)),
                        officer.offset()
                    ),
                    escape(e.event.act.name()),
                    escape(e.event.actor.as_str()),
                    e.event.party,
                    e.log_index
                );
            }
            body.push_str("</ol>");
            body.push_str(&exhibit_forms(&desk, officer, case, c, x));
        }
        let _ = write!(
            body,
            "<h2>{}</h2><table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.s(
                "Chain of custody, as our log holds it",
                "Cadena de custodia, según nuestro registro"
            ),
            lang.s("When", "Cuándo"),
            lang.s("Act", "Acto"),
            lang.s("By", "Por"),
        );
        for e in &view.events {
            let why = match &e.event.act {
                Act::Refused { reason, .. } => format!(": {}", escape(reason)),
                _ => String::new(),
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code>{}</td><td>{} ({})</td></tr>",
                e.log_index,
                time_tag(
                    Timestamp::from_unix_millis(i64::try_from(e.event.time_ms).unwrap_or(0)),
                    officer.offset()
                ),
                escape(e.event.act.name()),
                why,
                escape(e.event.actor.as_str()),
                e.event.party
            );
        }
        body.push_str("</tbody></table>");
        Ok(officer.render(&desk, &c.title, &body))
    })
}
