//! Asking for the evidence behind a partner's notice or information
//! request: on such a proposal's page, a liaison or approver sends a
//! request for evidence (`Node::evidence_request`). The partner's officers
//! answer it on their own desk's decide form; their acceptance names the
//! exhibits released in the proposal's evidence file, which the case page
//! then lists for fetching.
//!
//! The rules are the node's: the desk adds the role check, the form token
//! and the audit line.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{Direction, ProposalKind, Role};
use soberana_store::ProposalDetail;

use crate::html::escape;
use crate::pages::{SignedIn, bad_form, parse_id, with_officer};
use crate::{Desk, DeskError};

/// The longest request the form takes.
const MAX_ASKED: usize = 4000;

/// The request-for-evidence form.
#[derive(Debug, Deserialize)]
pub struct EvidenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    asked: String,
}

/// Whether `detail` is a partner's notice or request whose evidence can be
/// asked for.
fn can_ask(detail: &ProposalDetail) -> bool {
    detail.record.direction == Direction::Incoming
        && matches!(
            detail.record.proposal.kind(),
            ProposalKind::AdvanceNotification | ProposalKind::InformationRequest
        )
}

/// `POST /proposals/{id}/evidence`: sends the request for evidence and
/// shows it.
pub async fn request(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<EvidenceForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        if !officer.account.officer.has_role(Role::Liaison) {
            officer.require(Role::Approver)?;
        }
        let id = parse_id(&id)?;
        let asked = form.asked.trim();
        if asked.is_empty() || asked.len() > MAX_ASKED {
            return Err(DeskError::BadInput(format!(
                "say what evidence is wanted and why (1 to {MAX_ASKED} bytes)"
            )));
        }
        let sent = desk
            .node()
            .evidence_request(id, officer.id(), asked)
            .map_err(|e| DeskError::BadInput(e.to_string()))?;
        desk.audit(
            officer.id().as_str(),
            "request_evidence",
            &id.to_string(),
            &sent.id.to_string(),
        );
        Ok(Redirect::to(&format!("/proposals/{}", sent.id)).into_response())
    })
}

/// The request-for-evidence section of a partner's notice or request.
pub(crate) fn evidence_section(officer: &SignedIn, detail: &ProposalDetail) -> String {
    if !can_ask(detail) {
        return String::new();
    }
    let lang = officer.lang;
    let mut out = format!(
        "<section aria-labelledby=\"evidence\"><h2 id=\"evidence\">{}</h2>",
        lang.s("Ask for the evidence", "Solicitar las pruebas")
    );
    let account = &officer.account.officer;
    if account.has_role(Role::Liaison) || account.has_role(Role::Approver) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/proposals/{id}/evidence\" class=\"ask\">{csrf}\
             <label for=\"evidence-asked\">{label}</label><textarea id=\"evidence-asked\" name=\"asked\" rows=\"4\" required></textarea>\
             <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form>",
            id = detail.record.id(),
            csrf = officer.csrf_field(),
            label = lang.s("What evidence, and why", "Qué pruebas y por qué"),
            hint = lang.s(
                "Sent as a request for evidence naming this proposal. The other side's officers answer by releasing exhibits, under their conditions, in this proposal's evidence file.",
                "Se envía como una solicitud de pruebas que cita esta propuesta. Los oficiales de la contraparte responden liberando elementos de prueba, con sus condiciones, en el expediente de pruebas de esta propuesta.",
            ),
            go = lang.s("Ask for the evidence", "Solicitar las pruebas"),
        );
    } else {
        let _ = write!(
            out,
            "<p>{}</p>",
            escape(lang.s(
                "Only a liaison officer or an approver can ask for evidence.",
                "Solo un oficial de enlace o un aprobador puede solicitar pruebas."
            ))
        );
    }
    out.push_str("</section>");
    out
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "use")]
    use_: String,
    #[serde(default)]
    detail: String,
    /// A second use asked in the same request (empty: none).
    #[serde(default)]
    also_use: String,
    #[serde(default)]
    also_detail: String,
    #[serde(default)]
    reason: String,
}

/// The use the form names by `kind` (`court`, `onward`, `other`) with its
/// proceedings, authority or purpose.
fn use_of(kind: &str, detail: String) -> Result<soberana_core::ExhibitUse, DeskError> {
    Ok(match kind {
        "court" => soberana_core::ExhibitUse::Court {
            proceedings: detail,
        },
        "onward" => soberana_core::ExhibitUse::OnwardTransmission { to: detail },
        "other" => soberana_core::ExhibitUse::OtherPurpose { purpose: detail },
        _ => {
            return Err(DeskError::BadInput("choose court, onward or other".into()));
        }
    })
}

/// The uses of `x` its conditions allow only with its contributor's
/// consent, as the form offers them: (value, English, Spanish).
fn consent_uses(
    x: &soberana_case::ExhibitState,
) -> Vec<(&'static str, &'static str, &'static str)> {
    let c = &x.conditions;
    let mut out = Vec::new();
    if c.court_needs_consent {
        out.push((
            "court",
            "as evidence in court",
            "como prueba ante un tribunal",
        ));
    }
    if c.no_onward_transmission {
        out.push((
            "onward",
            "passed on to another authority",
            "transmitida a otra autoridad",
        ));
    }
    if c.purpose_only {
        out.push(("other", "for another purpose", "para otro fin"));
    }
    out
}

/// Under an exhibit the other side released to us and we hold: the form
/// that asks its consent to a use its conditions forbid.
pub(crate) fn consent_form(
    officer: &SignedIn,
    case: &soberana_case::Case,
    us: soberana_core::PartyCode,
    x: &soberana_case::ExhibitState,
) -> String {
    let uses = consent_uses(x);
    if x.contributor == us || !case.holds(us, &x.digest) || uses.is_empty() {
        return String::new();
    }
    let lang = officer.lang;
    let short = x.digest.short();
    let mut options = String::new();
    for (value, en, es) in uses {
        let _ = write!(
            options,
            "<option value=\"{value}\">{}</option>",
            lang.s(en, es)
        );
    }
    let also_options = format!(
        "<option value=\"\">{}</option>{options}",
        lang.s("none", "ninguno")
    );
    format!(
        "<form method=\"post\" action=\"/cases/{case_id}/exhibits/{d}/consent\" class=\"ask\">{csrf}\
         <label for=\"use-{short}\">{use_label}</label><select id=\"use-{short}\" name=\"use\">{options}</select>\
         <label for=\"detail-{short}\">{detail_label}</label><input id=\"detail-{short}\" name=\"detail\" required>\
         <label for=\"also-use-{short}\">{also_label}</label><select id=\"also-use-{short}\" name=\"also_use\">{also_options}</select>\
         <label for=\"also-detail-{short}\">{detail_label}</label><input id=\"also-detail-{short}\" name=\"also_detail\">\
         <label for=\"reason-{short}\">{reason_label}</label><textarea id=\"reason-{short}\" name=\"reason\" rows=\"3\" required></textarea>\
         <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form>",
        case_id = case.id,
        d = x.digest,
        csrf = officer.csrf_field(),
        use_label = lang.s("Use", "Uso"),
        also_label = lang.s(
            "Another use in the same request (they may grant one and not the other)",
            "Otro uso en la misma solicitud (pueden conceder uno y negar el otro)"
        ),
        detail_label = lang.s(
            "The proceedings, authority or purpose",
            "El proceso, la autoridad o el fin"
        ),
        reason_label = lang.s("Why", "Motivo"),
        hint = lang.s(
            "Its conditions allow this use only with the contributing side's consent: two of their approvers decide.",
            "Sus condiciones permiten este uso solo con el consentimiento de la parte que la aportó: deciden dos de sus aprobadores.",
        ),
        go = lang.s("Ask their consent", "Pedir su consentimiento"),
    )
}

/// `POST /cases/{id}/exhibits/{digest}/consent`: asks the contributing
/// side's consent to a use of an exhibit it released to us.
pub async fn consent(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path((id, digest)): Path<(String, String)>,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        let (case, c) = crate::case_acts::our_case(&desk, officer, &id)?;
        let digest = soberana_case::ExhibitDigest::parse(&digest)
            .ok()
            .filter(|d| c.exhibit(d).is_some())
            .ok_or_else(|| DeskError::NotFound(digest.chars().take(64).collect()))?;
        let detail = form.detail.trim().to_owned();
        let reason = form.reason.trim();
        if detail.is_empty() || reason.is_empty() || detail.len() + reason.len() > MAX_ASKED {
            return Err(DeskError::BadInput(format!(
                "name the proceedings, authority or purpose, and say why (1 to {MAX_ASKED} bytes)"
            )));
        }
        let mut asks = vec![(digest, use_of(&form.use_, detail)?)];
        if !form.also_use.is_empty() {
            let also = form.also_detail.trim().to_owned();
            if also.is_empty() || also.len() > MAX_ASKED {
                return Err(DeskError::BadInput(format!(
                    "name the proceedings, authority or purpose of the other use too (1 to {MAX_ASKED} bytes)"
                )));
            }
            asks.push((digest, use_of(&form.also_use, also)?));
        }
        let sent = desk
            .node()
            .consent_ask_many(case, officer.id(), asks, reason)
            .map_err(|e| DeskError::BadInput(e.to_string()))?;
        desk.audit(
            officer.id().as_str(),
            "ask_consent",
            &case.to_string(),
            &sent.id.to_string(),
        );
        Ok(Redirect::to(&format!("/proposals/{}", sent.id)).into_response())
    })
}
