//! The desk's one error type and the page each error becomes.
//!
//! Every refusal is shown to the officer as a page in their language with a
//! clear message and the matching HTTP status; nothing internal (SQL,
//! paths, stack traces) ever reaches the page — internal failures are logged
//! and shown as a plain apology.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::html::{escape, page};
use crate::i18n::Lang;

/// Why a desk request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No session: the officer must log in.
    #[error("please log in")]
    NotLoggedIn,
    /// The session timed out.
    #[error("your session expired; please log in again")]
    SessionExpired,
    /// The officer id or password is wrong.
    #[error("wrong officer id or password")]
    WrongPassword,
    /// Too many failed logins.
    #[error("too many failed logins; this account is locked until {0}")]
    Locked(String),
    /// A form's token did not match the session's.
    #[error("the form's security token is missing or wrong; reload the page and try again")]
    Csrf,
    /// The officer lacks the role the action needs.
    #[error("this needs the `{0}` role, which you do not hold")]
    Forbidden(&'static str),
    /// The act needs an administrator of our side of the case.
    #[error("only an administrator of our side of the case can do this")]
    NotCaseAdministrator,
    /// The second officer of a four-eyes decision must be someone else.
    #[error("a decision must be confirmed by a different approver than the one who made it")]
    SameOfficer,
    /// Nothing at that address.
    #[error("no such page or proposal: `{0}`")]
    NotFound(String),
    /// The proposal cannot be decided now.
    #[error("proposal `{id}` cannot be decided: it is {state}")]
    AlreadyDecided {
        /// The proposal.
        id: String,
        /// Where it stands.
        state: String,
    },
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The form was filled in wrongly.
    #[error("{0}")]
    BadInput(String),
    /// An upload over the limit.
    #[error("the upload is over the limit of {0} bytes")]
    TooLarge(usize),
    /// Something failed inside the node.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DeskError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            DeskError::NotLoggedIn | DeskError::SessionExpired | DeskError::WrongPassword => {
                StatusCode::UNAUTHORIZED
            }
            DeskError::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            DeskError::Csrf
            | DeskError::Forbidden(_)
            | DeskError::SameOfficer
            | DeskError::NotCaseAdministrator => StatusCode::FORBIDDEN,
            DeskError::NotFound(_) => StatusCode::NOT_FOUND,
            DeskError::AlreadyDecided { .. } | DeskError::Conflict(_) => StatusCode::CONFLICT,
            DeskError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeskError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DeskError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for the officer, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, e @ DeskError::Internal(_)) => {
                tracing::error!(error = %e, "desk request failed");
                "something went wrong on this node; the operator can see the details in its log"
                    .into()
            }
            (Lang::Es, e @ DeskError::Internal(_)) => {
                tracing::error!(error = %e, "desk request failed");
                "algo falló en este nodo; el operador puede ver los detalles en su registro".into()
            }
            (Lang::En, e) => e.to_string(),
            (Lang::Es, DeskError::NotLoggedIn) => "inicie sesión, por favor".into(),
            (Lang::Es, DeskError::SessionExpired) => {
                "su sesión expiró; inicie sesión de nuevo".into()
            }
            (Lang::Es, DeskError::WrongPassword) => "identificador o contraseña incorrectos".into(),
            (Lang::Es, DeskError::Locked(until)) => {
                format!("demasiados intentos fallidos; la cuenta está bloqueada hasta {until}")
            }
            (Lang::Es, DeskError::Csrf) => {
                "el código de seguridad del formulario falta o no es válido; recargue la página e intente de nuevo".into()
            }
            (Lang::Es, DeskError::Forbidden(role)) => {
                format!("esto requiere el rol `{role}`, que usted no tiene")
            }
            (Lang::Es, DeskError::NotCaseAdministrator) => {
                "solo un administrador de nuestra parte del caso puede hacerlo".into()
            }
            (Lang::Es, DeskError::SameOfficer) => {
                "una decisión debe confirmarla un aprobador distinto del que la tomó".into()
            }
            (Lang::Es, DeskError::NotFound(what)) => {
                format!("no existe la página o propuesta `{what}`")
            }
            (Lang::Es, DeskError::AlreadyDecided { id, state }) => {
                let state = soberana_core::ProposalState::parse(state)
                    .map(|s| crate::lists::state_label(Lang::Es, s).to_owned())
                    .unwrap_or_else(|| state.clone());
                format!("la propuesta `{id}` no puede decidirse: está {state}")
            }
            (Lang::Es, DeskError::TooLarge(limit)) => {
                format!("el archivo supera el límite de {limit} bytes")
            }
            // Bad-input and conflict messages are built where they happen
            // and carry the details: the desk's own are translated, the
            // node's are shown as the node wrote them.
            (Lang::Es, DeskError::BadInput(text) | DeskError::Conflict(text)) => {
                crate::i18n::refusal_es(text)
            }
        }
    }

    /// The page for this error.
    pub fn page(&self, lang: Lang, party: &str) -> Response {
        let title = lang.s("Not done", "No realizado");
        let body = format!(
            "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/inbox\">{}</a></p>",
            escape(&self.message(lang)),
            lang.s("Back to the inbox", "Volver a la bandeja de entrada")
        );
        (self.status(), Html(page(lang, party, title, None, &body))).into_response()
    }
}

impl From<soberana_store::StoreError> for DeskError {
    fn from(e: soberana_store::StoreError) -> Self {
        match e {
            soberana_store::StoreError::Conflict(text) => DeskError::Conflict(text),
            soberana_store::StoreError::Transition(t) => DeskError::AlreadyDecided {
                id: String::new(),
                state: t.from.to_string(),
            },
            other => DeskError::Internal(other.to_string()),
        }
    }
}

impl From<soberana_node::NodeError> for DeskError {
    fn from(e: soberana_node::NodeError) -> Self {
        match e {
            soberana_node::NodeError::NoSuchProposal(id) => DeskError::NotFound(id),
            soberana_node::NodeError::NotAwaitingDecision { id, state } => {
                DeskError::AlreadyDecided { id, state }
            }
            soberana_node::NodeError::Store(e) => e.into(),
            soberana_node::NodeError::SameOfficer(_) => DeskError::SameOfficer,
            soberana_node::NodeError::MissingRole { role, .. } => DeskError::Forbidden(role),
            soberana_node::NodeError::UnknownOfficer(_) => DeskError::NotLoggedIn,
            e @ (soberana_node::NodeError::AwaitingConfirmation { .. }
            | soberana_node::NodeError::NothingToConfirm(_)) => DeskError::Conflict(e.to_string()),
            soberana_node::NodeError::BadDecision(text)
            | soberana_node::NodeError::BadOfficer(text) => DeskError::BadInput(text),
            soberana_node::NodeError::Finance(text)
            | soberana_node::NodeError::Firearms(text)
            | soberana_node::NodeError::Case(text) => DeskError::Conflict(text),
            other => DeskError::Internal(other.to_string()),
        }
    }
}
