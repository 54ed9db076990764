//! The desk's pages: login, inbox, a proposal, outbox, proof and outcomes.
//!
//! Each handler checks the session first, then the officer's role, then the
//! form token for anything that changes state, and only then reads or
//! writes; a refusal renders the error page in the officer's language with
//! the matching status and changes nothing.
//!
//! Here: the signed-in officer, login, logout, language, assets and the
//! security headers. The lists are in `lists`, a proposal's page in
//! `proposal` (its body, kind by kind, in `kinds`), the proof page in `proof`.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{OfficerId, Role, Timestamp};
use soberana_store::{LoginAdmission, OfficerAccount};

use crate::auth::{self, LOGIN_COOKIE, NoSession, SESSION_COOKIE, Session};
use crate::html::{FrameUser, Zone, escape, page, when};
use crate::i18n::Lang;
use crate::{Desk, DeskError, charts};

// The pages that moved to their own files keep their paths here, so routes
// and other pages name them as before.
pub(crate) use crate::lists::{decided, inbox, kind_text, outbox};
pub(crate) use crate::proof::{proof, verify_receipt};
pub(crate) use crate::proposal::{document, parse_id, proposal};

const STYLESHEET: &str = include_str!("../assets/desk.css");
const SCRIPT: &str = include_str!("../assets/desk.js");
const ICON: &str = include_str!("../assets/icon.svg");

/// A signed-in officer making a request.
pub(crate) struct SignedIn {
    pub account: OfficerAccount,
    pub zone: Zone,
    pub session: Session,
    pub lang: Lang,
}

impl SignedIn {
    pub fn id(&self) -> &OfficerId {
        &self.account.officer.id
    }

    /// Where the officer reads the time.
    pub fn offset(&self) -> &Zone {
        &self.zone
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
    let zone = Zone::of(&account.time_zone, account.utc_offset_minutes);
    Ok(SignedIn {
        zone,
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
            return Err(DeskError::Locked(when(
                until,
                &Zone::of(&account.time_zone, account.utc_offset_minutes),
            )));
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
