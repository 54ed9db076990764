//! The desk's pages: login, inbox, a proposal, outbox, proof and outcomes.
//!
//! Each handler checks the session first, then the officer's role, then the
//! form token for anything that changes state, and only then reads or
//! writes; a refusal renders the error page in the officer's language with
//! the matching status and changes nothing.
//!
//! This file is long because each page is one handler with its HTML, in the
//! order of the desk's menu; they share the session checks and the frame.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{Direction, OfficerId, ProposalId, ProposalState, Role, Timestamp};
use soberana_store::{LoginAdmission, OfficerAccount, ProposalDetail, ProposalRecord};

use crate::auth::{self, LOGIN_COOKIE, NoSession, SESSION_COOKIE, Session};
use crate::html::{FrameUser, countdown, escape, page, time_tag, when};
use crate::i18n::Lang;
use crate::{Desk, DeskError, charts};

const STYLESHEET: &str = include_str!("../assets/desk.css");
const SCRIPT: &str = include_str!("../assets/desk.js");
const ICON: &str = include_str!("../assets/icon.svg");

/// A signed-in officer making a request.
pub(crate) struct SignedIn {
    pub account: OfficerAccount,
    pub session: Session,
    pub lang: Lang,
}

impl SignedIn {
    pub fn id(&self) -> &OfficerId {
        &self.account.officer.id
    }

    pub fn offset(&self) -> i32 {
        self.account.utc_offset_minutes
    }

    pub fn require(&self, role: Role) -> Result<(), DeskError> {
        if self.account.officer.has_role(role) {
            Ok(())
        } else {
            Err(DeskError::Forbidden(role.as_str()))
        }
    }

    pub fn check_form(&self, token: &str) -> Result<(), DeskError> {
        if auth::tokens_match(&self.session.csrf, token) {
            Ok(())
        } else {
            Err(DeskError::Csrf)
        }
    }

    pub fn frame(&self) -> FrameUser<'_> {
        FrameUser {
            name: &self.account.officer.name,
            id: self.account.officer.id.as_str(),
            csrf: &self.session.csrf,
        }
    }

    pub fn render(&self, desk: &Desk, title: &str, body: &str) -> Response {
        Html(page(
            self.lang,
            &desk.party(),
            title,
            Some(self.frame()),
            body,
        ))
        .into_response()
    }

    /// A hidden field with the form token.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(&self.session.csrf)
        )
    }
}

/// The session behind a request, or why there is none.
pub(crate) fn signed_in(desk: &Desk, headers: &HeaderMap) -> Result<SignedIn, DeskError> {
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token =
        auth::cookie(cookies, &desk.cookie(SESSION_COOKIE)).ok_or(DeskError::NotLoggedIn)?;
    let config = desk.config();
    let session = desk
        .sessions()
        .get(
            token,
            Timestamp::now(),
            config.session_idle_seconds,
            config.session_max_seconds,
        )
        .map_err(|e| match e {
            NoSession::Missing => DeskError::NotLoggedIn,
            NoSession::Expired => DeskError::SessionExpired,
        })?;
    // The account is read afresh on every request, so a role removed or an
    // account replaced takes effect at once.
    let account = desk
        .officers()
        .officer(&session.officer)?
        .ok_or(DeskError::NotLoggedIn)?;
    let lang = Lang::parse(&account.language).unwrap_or(desk.config().default_language);
    Ok(SignedIn {
        account,
        session,
        lang,
    })
}

/// Renders a refusal: the login page for a missing or expired session, the
/// error page otherwise.
pub(crate) fn refuse(desk: &Desk, lang: Lang, error: DeskError) -> Response {
    match error {
        DeskError::NotLoggedIn | DeskError::SessionExpired => {
            login_page(desk, lang, Some(&error), error.status())
        }
        other => other.page(lang, &desk.party()),
    }
}

/// Runs a page for a signed-in officer, rendering any refusal.
pub(crate) fn with_officer(
    desk: &Desk,
    headers: &HeaderMap,
    f: impl FnOnce(&SignedIn) -> Result<Response, DeskError>,
) -> Response {
    let lang = desk.config().default_language;
    match signed_in(desk, headers) {
        Ok(officer) => f(&officer).unwrap_or_else(|e| refuse(desk, officer.lang, e)),
        Err(e) => refuse(desk, lang, e),
    }
}

fn login_page(desk: &Desk, lang: Lang, error: Option<&DeskError>, status: StatusCode) -> Response {
    let token = match auth::new_token() {
        Ok(t) => t,
        Err(e) => return e.page(lang, &desk.party()),
    };
    let message = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                escape(&e.message(lang))
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{message}<form method=\"post\" action=\"/login\" class=\"login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <label for=\"officer\">{id}</label><input id=\"officer\" name=\"officer\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">{pw}</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">{go}</button></form>",
        id = lang.s("Officer id", "Identificador"),
        pw = lang.s("Password", "Contraseña"),
        go = lang.s("Log in", "Entrar"),
    );
    let html = page(
        lang,
        &desk.party(),
        lang.s("Officer desk", "Escritorio del oficial"),
        None,
        &body,
    );
    let cookie = auth::set_cookie(
        &desk.cookie(LOGIN_COOKIE),
        &token,
        desk.config().secure_cookies,
        Some(600),
    );
    let mut response = (status, Html(html)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /`.
pub async fn home() -> Redirect {
    Redirect::to("/inbox")
}

/// `GET /login`.
pub async fn login_form(State(desk): State<Desk>) -> Response {
    login_page(&desk, desk.config().default_language, None, StatusCode::OK)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`.
pub async fn login(
    State(desk): State<Desk>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let lang = desk.config().default_language;
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => return refuse(&desk, lang, bad_form(e)),
    };
    match try_login(&desk, &headers, form).await {
        Ok(response) => response,
        Err(e @ (DeskError::WrongPassword | DeskError::Locked(_) | DeskError::Csrf)) => {
            let status = e.status();
            login_page(&desk, lang, Some(&e), status)
        }
        Err(e) => refuse(&desk, lang, e),
    }
}

async fn try_login(
    desk: &Desk,
    headers: &HeaderMap,
    form: LoginForm,
) -> Result<Response, DeskError> {
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = auth::cookie(cookies, &desk.cookie(LOGIN_COOKIE)).unwrap_or("");
    if !auth::tokens_match(expected, &form.csrf) {
        return Err(DeskError::Csrf);
    }
    let now = Timestamp::now();
    let claimed: String = form.officer.chars().take(64).collect();
    let account = match OfficerId::new(&claimed) {
        Ok(id) => desk.officers().officer(&id)?,
        Err(_) => None,
    };
    // The attempt is admitted and counted in one store write *before* the
    // password is checked, so guesses sent in parallel cannot all pass a
    // lock-out check made before any of them failed.
    if let Some(account) = &account {
        let config = desk.config();
        let admission = desk.officers().admit_login(
            &account.officer.id,
            config.lock_after_failures,
            now,
            now.plus_seconds(config.lock_seconds),
        )?;
        if let LoginAdmission::Locked(until) = admission {
            desk.audit(&claimed, "login_refused_locked", "", "");
            return Err(DeskError::Locked(when(until, account.utc_offset_minutes)));
        }
    }
    // Verify against a decoy for unknown ids so both cases take as long.
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| desk.decoy_hash().to_owned());
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(account) = account.filter(|_| ok) else {
        // The failure was counted when the attempt was admitted.
        desk.officers().audit(soberana_store::AuditEntry {
            at: now,
            officer: claimed.clone(),
            action: "login_failed".into(),
            target: String::new(),
            detail: "wrong officer id or password".into(),
        })?;
        tracing::warn!(officer = %claimed, "desk login failed");
        return Err(DeskError::WrongPassword);
    };
    let id = account.officer.id.clone();
    desk.officers().login_succeeded(
        &id,
        soberana_store::AuditEntry {
            at: now,
            officer: id.to_string(),
            action: "login".into(),
            target: String::new(),
            detail: String::new(),
        },
    )?;
    let (token, _) = desk.sessions().start(id, now)?;
    let secure = desk.config().secure_cookies;
    let mut response = Redirect::to("/inbox").into_response();
    for cookie in [
        auth::set_cookie(&desk.cookie(SESSION_COOKIE), &token, secure, None),
        auth::set_cookie(&desk.cookie(LOGIN_COOKIE), "", secure, Some(0)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// A form the desk could not read (wrong content type, bad encoding).
pub(crate) fn bad_form(rejection: FormRejection) -> DeskError {
    DeskError::BadInput(format!(
        "the form could not be read: {}",
        rejection.body_text()
    ))
}

/// A form that carries only its token (and perhaps a language).
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    language: String,
}

/// `POST /logout`.
pub async fn logout(
    State(desk): State<Desk>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let cookies = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(token) = auth::cookie(cookies, &desk.cookie(SESSION_COOKIE)) {
            desk.sessions().end(token);
        }
        desk.audit(officer.id().as_str(), "logout", "", "");
        let mut response = Redirect::to("/login").into_response();
        let cookie = auth::set_cookie(
            &desk.cookie(SESSION_COOKIE),
            "",
            desk.config().secure_cookies,
            Some(0),
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Ok(response)
    })
}

/// `POST /language`.
pub async fn language(
    State(desk): State<Desk>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let lang = Lang::parse(&form.language).ok_or_else(|| {
            DeskError::BadInput(format!(
                "language `{}` is not offered; use `es` or `en`",
                form.language.chars().take(16).collect::<String>()
            ))
        })?;
        desk.officers().set_language(
            officer.id(),
            lang.code(),
            soberana_store::AuditEntry {
                at: Timestamp::now(),
                officer: officer.id().to_string(),
                action: "language".into(),
                target: String::new(),
                detail: lang.code().into(),
            },
        )?;
        Ok(Redirect::to("/inbox").into_response())
    })
}

fn kind_label(lang: Lang, record: &ProposalRecord) -> String {
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

fn handling_cell(lang: Lang, record: &ProposalRecord) -> String {
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

/// The policy verdict and reasons kept with an incoming proposal.
fn verdict_html(lang: Lang, verdict: Option<&serde_json::Value>) -> String {
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
        let text = reason.get("text").and_then(|t| t.as_str()).unwrap_or("");
        match reason.get("policy").and_then(|p| p.as_str()) {
            Some(policy) => {
                let _ = write!(
                    out,
                    "<li><code>{}</code> {}</li>",
                    escape(policy),
                    escape(text)
                );
            }
            None => {
                let _ = write!(out, "<li>{}</li>", escape(text));
            }
        }
    }
    out.push_str("</ul>");
    out
}

fn deadline_cell(officer: &SignedIn, deadline: Timestamp) -> String {
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
        let title = format!(
            "{} · {}",
            kind_label(officer.lang, &detail.record),
            detail.record.proposal.body.summary()
        );
        Ok(officer.render(&desk, &title, &body))
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
        escape(&p.body.summary()),
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
            escape(p.handling.meaning())
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
    out.push_str("</dl>");
    let body = serde_json::to_string_pretty(&p.body).unwrap_or_default();
    let _ = write!(
        out,
        "<details><summary>{}</summary><pre>{}</pre></details></section>",
        lang.s("The proposal in full", "La propuesta completa"),
        escape(&body)
    );

    if record.direction == Direction::Incoming {
        // What our node established itself, beside the sender's wording:
        // places resolved with our geography, who acts, armed or not, and
        // every contradiction with the sender's labels.
        let facts = desk.node().policy().facts(p);
        if !facts.is_empty() {
            let _ = write!(
                out,
                "<section aria-labelledby=\"facts\"><h2 id=\"facts\">{} {}</h2><ul class=\"facts\">",
                lang.s("Facts established by", "Hechos establecidos por"),
                escape(desk.node().party().as_str())
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
            escape(decision.outcome.as_str()),
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
            let _ = write!(out, "<li>{policy}{}</li>", escape(&reason.text));
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
            let _ = write!(out, "<p>{}</p><dl>", escape(&answer.summary));
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
            escape(&event.event)
        );
    }
    out.push_str("</ol></section>");

    if record.direction == Direction::Incoming && record.state == ProposalState::AwaitingOfficer {
        out.push_str(&crate::decide::decide_section(desk, officer, detail)?);
    }
    Ok(out)
}

/// `GET /proof`.
pub async fn proof(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let body = proof_body(&desk, officer, "")?;
        Ok(officer.render(&desk, officer.lang.s("Proof", "Pruebas"), &body))
    })
}

fn proof_body(desk: &Desk, officer: &SignedIn, result: &str) -> Result<String, DeskError> {
    let lang = officer.lang;
    let node = desk.node();
    let mut out = String::from(result);
    let _ = write!(
        out,
        "<section aria-labelledby=\"verify\"><h2 id=\"verify\">{}</h2>\
         <form method=\"post\" action=\"/proof/verify\" enctype=\"multipart/form-data\">{}\
         <label for=\"bundle\">{}</label><input id=\"bundle\" name=\"bundle\" type=\"file\" accept=\".json,application/json\" required>\
         <button type=\"submit\">{}</button></form></section>",
        lang.s("Verify a receipt", "Verificar un recibo"),
        officer.csrf_field(),
        lang.s("Receipt bundle (JSON)", "Recibo (JSON)"),
        lang.s("Verify", "Verificar"),
    );
    let checkpoints = node.checkpoints()?;
    let _ = write!(
        out,
        "<section aria-labelledby=\"ours\"><h2 id=\"ours\">{}</h2>",
        lang.s(
            "Our latest checkpoints",
            "Nuestros últimos puntos de control"
        )
    );
    if checkpoints.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\">{}</p>",
            lang.s("No checkpoint yet.", "Aún no hay puntos de control.")
        );
    }
    for cp in checkpoints.iter().rev().take(3) {
        let cosigners: Vec<String> = node
            .cosignatures(Some(cp.size))?
            .into_iter()
            .map(|c| c.witness)
            .collect();
        let _ = write!(
            out,
            "<article><h3>{} {} · {}</h3><p>{} {}</p><pre>{}</pre></article>",
            lang.s("Size", "Tamaño"),
            cp.size,
            time_tag(cp.at, officer.offset()),
            lang.s("Cosigned by:", "Cofirmado por:"),
            if cosigners.is_empty() {
                lang.s("nobody yet", "nadie aún").to_owned()
            } else {
                escape(&cosigners.join(", "))
            },
            escape(&cp.note)
        );
    }
    out.push_str("</section>");
    let _ = write!(
        out,
        "<section aria-labelledby=\"theirs\"><h2 id=\"theirs\">{}</h2><ul>",
        lang.s(
            "Partners' checkpoints we witnessed",
            "Puntos de control de la contraparte que atestiguamos"
        )
    );
    for peer in desk.node().peers() {
        for cp in node.partner_checkpoints(peer.party)?.iter().rev().take(3) {
            let _ = write!(
                out,
                "<li>{} · {} {} · <span class=\"state state-{}\">{}</span> · {}</li>",
                escape(&cp.peer.to_string()),
                lang.s("size", "tamaño"),
                cp.size,
                escape(&cp.status),
                escape(&cp.status),
                time_tag(cp.at, officer.offset())
            );
        }
    }
    out.push_str("</ul></section>");
    if officer.account.officer.has_role(Role::Oversight)
        || officer.account.officer.has_role(Role::Operator)
    {
        let _ = write!(
            out,
            "<section aria-labelledby=\"audit\"><h2 id=\"audit\">{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            lang.s("Desk audit trail", "Bitácora del escritorio"),
            lang.s("When", "Cuándo"),
            lang.s("Officer", "Oficial"),
            lang.s("Action", "Acción"),
            lang.s("On", "Sobre"),
        );
        for entry in desk.officers().audit_trail(50)? {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                time_tag(entry.at, officer.offset()),
                escape(&entry.officer),
                escape(&entry.action),
                escape(&entry.target),
                escape(&entry.detail)
            );
        }
        out.push_str("</tbody></table></section>");
    }
    Ok(out)
}

/// `POST /proof/verify` (multipart: `csrf`, `bundle`).
pub async fn verify_receipt(
    State(desk): State<Desk>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let officer = match signed_in(&desk, &headers) {
        Ok(o) => o,
        Err(e) => return refuse(&desk, desk.config().default_language, e),
    };
    let multipart = match multipart {
        Ok(m) => m,
        Err(e) => {
            let error = DeskError::BadInput(format!(
                "the receipt must be sent as a file upload (multipart/form-data): {}",
                e.body_text()
            ));
            return refuse(&desk, officer.lang, error);
        }
    };
    match read_upload(&desk, multipart).await {
        Ok((csrf, bundle)) => {
            if let Err(e) = officer.check_form(&csrf) {
                return refuse(&desk, officer.lang, e);
            }
            let result = verification_html(&desk, officer.lang, &bundle, officer.offset());
            desk.audit(
                officer.id().as_str(),
                "verify_receipt",
                "",
                &format!("{} bytes", bundle.len()),
            );
            match proof_body(&desk, &officer, &result) {
                Ok(body) => officer.render(&desk, officer.lang.s("Proof", "Pruebas"), &body),
                Err(e) => refuse(&desk, officer.lang, e),
            }
        }
        Err(e) => refuse(&desk, officer.lang, e),
    }
}

async fn read_upload(desk: &Desk, mut multipart: Multipart) -> Result<(String, String), DeskError> {
    let limit = desk.config().max_upload_bytes;
    let too_large = DeskError::TooLarge(limit);
    let (mut csrf, mut bundle) = (String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large),
            Err(e) => {
                return Err(DeskError::BadInput(format!(
                    "the upload could not be read: {}",
                    e.body_text()
                )));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large),
                Err(e) => {
                    return Err(DeskError::BadInput(format!(
                        "the upload could not be read: {}",
                        e.body_text()
                    )));
                }
            }
        }
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "bundle" => {
                bundle = Some(String::from_utf8(bytes).map_err(|_| {
                    DeskError::BadInput(
                        "the receipt is not UTF-8 text; upload the JSON file".into(),
                    )
                })?)
            }
            _ => {}
        }
    }
    let bundle =
        bundle.ok_or_else(|| DeskError::BadInput("no receipt file was uploaded".into()))?;
    Ok((csrf, bundle))
}

/// Checks an uploaded receipt against this node's own key and its pinned
/// partners' cards, never against the keys the bundle carries, and names the
/// keys it used.
fn verification_html(desk: &Desk, lang: Lang, bundle: &str, offset: i32) -> String {
    let verdict = serde_json::from_str::<soberana_ledger::ProofBundle>(bundle)
        .map_err(|e| format!("the receipt is not valid JSON for a ledger receipt: {e}"))
        .and_then(|b| {
            let pinned = desk.node().pinned_parties().map_err(|e| e.to_string())?;
            soberana_ledger::verify_bundle_pinned(&b, &pinned).map_err(|e| e.to_string())
        });
    match verdict {
        Ok(verified) => {
            let receipt = &verified.receipt;
            let entry = serde_json::to_string_pretty(&receipt.entry).unwrap_or_default();
            let mut signers = String::new();
            let _ = write!(
                signers,
                "<li>{} {} <code>{}</code></li>",
                lang.s(
                    "Log signature checked with",
                    "Firma del registro verificada con"
                ),
                escape(&verified.log_owner),
                escape(&verified.log_key.to_string())
            );
            for ((owner, key), sig) in verified.cosigned_by.iter().zip(&receipt.cosignatures) {
                let at = sig
                    .timestamp
                    .map(|t| {
                        when(
                            Timestamp::from_unix_millis(
                                i64::try_from(t).unwrap_or(0).saturating_mul(1000),
                            ),
                            offset,
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(
                    signers,
                    "<li>{} {} <code>{}</code> {}</li>",
                    lang.s("Cosigned by", "Cofirmado por"),
                    escape(owner),
                    escape(&key.to_string()),
                    escape(&at)
                );
            }
            for (owner, _) in &verified.not_cosigned_by {
                let _ = write!(
                    signers,
                    "<li class=\"warning\">{} {}</li>",
                    lang.s("Not cosigned by", "Sin cofirma de"),
                    escape(owner)
                );
            }
            for key in &verified.unchecked_witnesses {
                let _ = write!(
                    signers,
                    "<li>{} <code>{}</code></li>",
                    lang.s(
                        "Not checked (witness not pinned):",
                        "No verificado (testigo no fijado):"
                    ),
                    escape(&key.to_string())
                );
            }
            let title = if verified.is_cosigned() {
                lang.s("Receipt verified", "Recibo verificado")
            } else {
                lang.s(
                    "Receipt verified for the log's signature only",
                    "Recibo verificado solo por la firma del registro",
                )
            };
            format!(
                "<section class=\"verified\" role=\"status\" aria-labelledby=\"result\"><h2 id=\"result\">{}</h2>\
                 <p>{} {} · {} <code>{}</code> {} {} · {} <code>{}</code></p><ul>{signers}</ul><pre>{}</pre></section>",
                title,
                lang.s("Entry", "Entrada"),
                receipt.index,
                lang.s("log", "registro"),
                escape(receipt.checkpoint.origin()),
                lang.s("of size", "de tamaño"),
                receipt.checkpoint.size(),
                lang.s("root", "raíz"),
                escape(&receipt.checkpoint.root().to_string()),
                escape(&entry)
            )
        }
        Err(e) => format!(
            "<section class=\"error\" role=\"alert\"><h2>{}</h2><p>{}</p></section>",
            lang.s("The receipt does not verify", "El recibo no se verifica"),
            escape(&e)
        ),
    }
}

/// `GET /outcomes`.
pub async fn outcomes(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    with_officer(&desk, &headers, |officer| {
        let body = charts::outcomes_page(&desk, officer)?;
        Ok(officer.render(&desk, officer.lang.s("Outcomes", "Resultados"), &body))
    })
}

/// `GET /charts/{name}`: one chart as an SVG document.
pub async fn chart(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let svg = charts::chart_by_name(&desk, officer, &name)?;
        Ok((
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            svg,
        )
            .into_response())
    })
}

/// `GET /assets/desk.css`.
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /assets/desk.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// `GET /assets/icon.svg`.
pub async fn icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response()
}

/// Anything else.
pub async fn not_found(State(desk): State<Desk>, uri: Uri) -> Response {
    DeskError::NotFound(uri.path().chars().take(80).collect())
        .page(desk.config().default_language, &desk.party())
}

/// Headers on every response: no framing, no sniffing, nothing from
/// elsewhere, nothing cached.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
