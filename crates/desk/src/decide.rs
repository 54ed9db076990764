//! The decide, confirm and withdraw forms.
//!
//! An approver accepts (with or without conditions), refuses, or asks for
//! more information, gives a reason, and lists what is released. On a
//! consent request, the approver ticks the uses granted; the node makes the
//! lines that grant them (`Node::consent_grant_items`). The rules
//! (roles, four eyes for releases under H2/H3, audit lines) are the node's
//! (`Node::decide`, `Node::confirm`, `Node::withdraw`): this module parses
//! the forms, calls the node and draws the section.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fmt::Write as _;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{Outcome, Role};
use soberana_node::OfficerVerdict;
use soberana_store::ProposalDetail;
use soberana_wire::AnswerItem;

use crate::html::{escape, time_tag};
use crate::i18n::Lang;
use crate::pages::{SignedIn, bad_form, parse_id, with_officer};
use crate::{Desk, DeskError};

/// The longest reason, condition list or release the form takes.
const MAX_FIELD: usize = 16 * 1024;

/// The decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    release: String,
    /// Set when the form offered the uses of a consent request to grant.
    #[serde(default)]
    grants_offered: String,
    /// The uses of a consent request ticked to grant (`grant_1` …).
    #[serde(default)]
    grant_1: String,
    #[serde(default)]
    grant_2: String,
    #[serde(default)]
    grant_3: String,
    #[serde(default)]
    grant_4: String,
    #[serde(default)]
    grant_5: String,
    #[serde(default)]
    grant_6: String,
    #[serde(default)]
    grant_7: String,
    #[serde(default)]
    grant_8: String,
}

impl DecideForm {
    /// The uses ticked to grant, numbered from 1, if the form offered them.
    fn grants(&self) -> Option<Vec<usize>> {
        if self.grants_offered.is_empty() {
            return None;
        }
        let ticked = [
            &self.grant_1,
            &self.grant_2,
            &self.grant_3,
            &self.grant_4,
            &self.grant_5,
            &self.grant_6,
            &self.grant_7,
            &self.grant_8,
        ];
        Some(
            ticked
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(i, _)| i + 1)
                .collect(),
        )
    }
}

/// A decision as the form states it.
#[derive(Debug, Clone)]
struct Pending {
    outcome: Outcome,
    reason: String,
    release: Vec<(String, String)>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Turns the form into what is decided, refusing anything malformed.
fn parse_form(form: &DecideForm) -> Result<Pending, DeskError> {
    for (name, value) in [
        ("reason", &form.reason),
        ("conditions", &form.conditions),
        ("release", &form.release),
    ] {
        if value.len() > MAX_FIELD {
            return Err(DeskError::BadInput(format!(
                "the {name} is over {MAX_FIELD} bytes; shorten it"
            )));
        }
    }
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(DeskError::BadInput(
            "give a reason for the decision; the partner reads it".into(),
        ));
    }
    let conditions = lines(&form.conditions);
    let outcome = match form.outcome.as_str() {
        "accept" if conditions.is_empty() => Outcome::Accepted,
        "accept" => Outcome::AcceptedWithConditions { conditions },
        "refuse" => Outcome::Refused,
        "more_information" if conditions.is_empty() => {
            return Err(DeskError::BadInput(
                "asking for more information needs at least one question (one per line)".into(),
            ));
        }
        "more_information" => Outcome::MoreInformationNeeded {
            questions: conditions,
        },
        other => {
            return Err(DeskError::BadInput(format!(
                "choose accept, refuse or ask for more information (got `{}`)",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let mut release = Vec::new();
    for line in lines(&form.release) {
        let (label, value) = line.split_once(':').ok_or_else(|| {
            DeskError::BadInput(format!(
                "release line `{}` has no `:`; write `label: value`",
                line.chars().take(60).collect::<String>()
            ))
        })?;
        let (label, value) = (label.trim(), value.trim());
        if label.is_empty() || value.is_empty() {
            return Err(DeskError::BadInput(format!(
                "release line `{}` needs both a label and a value",
                line.chars().take(60).collect::<String>()
            )));
        }
        release.push((label.to_owned(), value.to_owned()));
    }
    if !release.is_empty() && !outcome.is_acceptance() {
        return Err(DeskError::BadInput(
            "only an acceptance releases anything; empty the release list or accept".into(),
        ));
    }
    Ok(Pending {
        outcome,
        reason,
        release,
    })
}

/// `POST /proposals/{id}/decide`.
pub async fn decide(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Approver)?;
        let id = parse_id(&id)?;
        let decided = parse_form(&form)?;
        let mut release: Vec<AnswerItem> = decided
            .release
            .into_iter()
            .map(|(label, value)| AnswerItem { label, value })
            .collect();
        // A consent request: the uses ticked are what is granted; the node
        // makes the lines that grant them, and refuses any other.
        if let Some(chosen) = form.grants()
            && decided.outcome.is_acceptance()
        {
            if chosen.is_empty() {
                return Err(DeskError::BadInput(
                    "tick at least one use to grant, or refuse the request".into(),
                ));
            }
            if !release.is_empty() {
                return Err(DeskError::BadInput(
                    "a consent releases the uses ticked; leave the release list empty".into(),
                ));
            }
            release = desk
                .node()
                .consent_grant_items(id, &chosen)
                .map_err(|e| DeskError::BadInput(e.to_string()))?;
        }
        desk.node().decide(
            id,
            OfficerVerdict {
                officer: officer.id().clone(),
                outcome: decided.outcome,
                reason: decided.reason,
                release,
            },
        )?;
        Ok(Redirect::to(&format!("/proposals/{id}")).into_response())
    })
}

/// The confirmation form (and the withdrawal form).
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /proposals/{id}/confirm`: a second approver confirms a pending
/// decision, which then takes effect naming both officers.
pub async fn confirm(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Approver)?;
        let id = parse_id(&id)?;
        desk.node().confirm(id, officer.id())?;
        Ok(Redirect::to(&format!("/proposals/{id}")).into_response())
    })
}

/// `POST /proposals/{id}/withdraw`: an approver withdraws a pending decision.
pub async fn withdraw(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    with_officer(&desk, &headers, |officer| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        officer.require(Role::Approver)?;
        let id = parse_id(&id)?;
        desk.node().withdraw(id, officer.id())?;
        Ok(Redirect::to(&format!("/proposals/{id}")).into_response())
    })
}

/// A warning when no approver other than `first` could confirm a release
/// under H2/H3 on this desk (none registered, or all locked or disabled):
/// such a release would wait for ever without a word.
fn lone_approver_warning(
    desk: &Desk,
    lang: Lang,
    first: &soberana_core::OfficerId,
) -> Result<String, DeskError> {
    let now = soberana_core::Timestamp::now();
    let others = desk
        .officers()
        .officers()?
        .into_iter()
        .filter(|a| {
            a.officer.has_role(Role::Approver)
                && &a.officer.id != first
                && a.locked_until.is_none_or(|until| until <= now)
        })
        .count();
    if others > 0 {
        return Ok(String::new());
    }
    Ok(format!(
        "<p class=\"error lone-approver\" role=\"alert\">{}</p>",
        lang.s(
            "This desk has no other approver who could confirm a release under H2/H3: such a release will wait until the operator registers a second approver (soberana officer add --role approver).",
            "Este escritorio no tiene otro aprobador que pueda confirmar una liberación con H2/H3: esa liberación esperará hasta que el operador registre un segundo aprobador (soberana officer add --role approver).",
        )
    ))
}

/// For a consent request, the uses it asks, each ticked to grant by
/// default: an acceptance grants the ones left ticked and no others.
fn grant_choices(desk: &Desk, lang: Lang, detail: &ProposalDetail) -> Result<String, DeskError> {
    let soberana_core::ProposalBody::ExhibitConsent(_) = &detail.record.proposal.body else {
        return Ok(String::new());
    };
    let grants = desk.node().consent_grants(detail.record.id())?;
    let mut out = format!(
        "<fieldset class=\"grants\"><legend>{}</legend><input type=\"hidden\" name=\"grants_offered\" value=\"1\">",
        lang.s(
            "Uses to grant if you accept (untick what you refuse)",
            "Usos que se conceden si acepta (desmarque lo que niega)"
        )
    );
    for (i, item) in grants
        .items
        .iter()
        .enumerate()
        .take(soberana_core::MAX_CONSENT_ASKS)
    {
        let use_ = match lang {
            Lang::En => item.use_.describe(),
            Lang::Es => item.use_.describe_es(),
        };
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"grant_{n}\" value=\"1\" checked> {use_} · <code>sha256:{short}</code></label>",
            n = i + 1,
            use_ = escape(&use_),
            short = escape(item.exhibit.get(..12).unwrap_or_default()),
        );
    }
    out.push_str("</fieldset>");
    Ok(out)
}

/// The decide (or confirm) section of a proposal awaiting an officer.
pub(crate) fn decide_section(
    desk: &Desk,
    officer: &SignedIn,
    detail: &ProposalDetail,
) -> Result<String, DeskError> {
    let lang = officer.lang;
    let id = detail.record.id();
    let mut out = format!(
        "<section aria-labelledby=\"decide\"><h2 id=\"decide\">{}</h2>",
        lang.s("Decide", "Decidir")
    );
    if let Some(pending) = desk.node().pending(id)? {
        let _ = write!(
            out,
            "<p class=\"notice\" role=\"status\">{} <strong>{}</strong> · {}</p>",
            lang.s(
                "Releasing under a restrictive handling code needs a second approver. Decision awaiting confirmation by",
                "Liberar con un código de manejo restrictivo requiere un segundo aprobador. Decisión en espera de confirmación, de"
            ),
            escape(pending.officer.as_str()),
            time_tag(pending.at, officer.offset())
        );
        // Our classification of what would be released, and on what
        // grounds: the partner's label is only its floor.
        let handling = desk
            .node()
            .classify_release(&detail.record.proposal, &pending.release);
        let _ = write!(
            out,
            "<p class=\"handling\">{} <strong>{}</strong>: {}</p>",
            lang.s("Handled as", "Manejo asignado"),
            handling.code,
            escape(&handling.grounds.join("; "))
        );
        let _ = write!(
            out,
            "<p><strong>{}</strong> — {}</p>",
            escape(crate::lists::outcome_label(lang, &pending.outcome)),
            escape(&pending.reason)
        );
        // Exactly what the second approver confirms: the conditions (or
        // questions) sent with the decision, and every item released.
        if let Outcome::AcceptedWithConditions { conditions }
        | Outcome::MoreInformationNeeded {
            questions: conditions,
        } = &pending.outcome
        {
            let _ = write!(
                out,
                "<h3>{}</h3><ol class=\"conditions\">",
                lang.s("Conditions being confirmed", "Condiciones que se confirman")
            );
            for c in conditions {
                let _ = write!(out, "<li>{}</li>", escape(c));
            }
            out.push_str("</ol>");
        }
        let _ = write!(
            out,
            "<h3>{}</h3><ul class=\"released\">",
            lang.s("What would be released", "Lo que se liberaría")
        );
        for item in &pending.release {
            let _ = write!(
                out,
                "<li>{}: {}</li>",
                escape(&item.label),
                escape(&item.value)
            );
        }
        out.push_str("</ul>");
        out.push_str(&lone_approver_warning(desk, lang, &pending.officer)?);
        if officer.account.officer.has_role(Role::Approver) {
            if &pending.officer != officer.id() {
                let _ = write!(
                    out,
                    "<form method=\"post\" action=\"/proposals/{id}/confirm\">{}<button type=\"submit\">{}</button></form>",
                    officer.csrf_field(),
                    lang.s("Confirm this decision", "Confirmar esta decisión")
                );
            }
            let _ = write!(
                out,
                "<form method=\"post\" action=\"/proposals/{id}/withdraw\">{}<button type=\"submit\" class=\"secondary\">{}</button></form>",
                officer.csrf_field(),
                lang.s("Withdraw it", "Retirarla")
            );
        }
    } else if officer.account.officer.has_role(Role::Approver) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/proposals/{id}/decide\" class=\"decide\">{csrf}\
             <fieldset><legend>{what}</legend>\
             <label><input type=\"radio\" name=\"outcome\" value=\"accept\" required> {accept}</label>\
             <label><input type=\"radio\" name=\"outcome\" value=\"refuse\"> {refuse}</label>\
             <label><input type=\"radio\" name=\"outcome\" value=\"more_information\"> {more}</label></fieldset>\
             {grants}\
             <label for=\"conditions\">{cond}</label><textarea id=\"conditions\" name=\"conditions\" rows=\"3\"></textarea>\
             <label for=\"reason\">{reason}</label><textarea id=\"reason\" name=\"reason\" rows=\"3\" required></textarea>\
             <label for=\"release\">{release}</label><textarea id=\"release\" name=\"release\" rows=\"4\" placeholder=\"{placeholder}\"></textarea>\
             <p class=\"hint\">{hint}</p><button type=\"submit\">{go}</button></form>",
            csrf = officer.csrf_field(),
            grants = grant_choices(desk, lang, detail)?,
            what = lang.s("Decision", "Decisión"),
            accept = lang.s("Accept", "Aceptar"),
            refuse = lang.s("Refuse", "Rechazar"),
            more = lang.s("Ask for more information", "Pedir más información"),
            cond = lang.s(
                "Conditions, or questions (one per line)",
                "Condiciones o preguntas (una por línea)"
            ),
            reason = lang.s(
                "Reason (the partner reads it)",
                "Motivo (la contraparte lo lee)"
            ),
            release = lang.s(
                "Release (one item per line, label: value)",
                "Liberar (un elemento por línea, etiqueta: valor)"
            ),
            placeholder = lang.s(
                "account 0021…: received USD 482,500",
                "cuenta 0021…: recibió USD 482,500"
            ),
            hint = if desk
                .node()
                .classify_release(&detail.record.proposal, &[])
                .code
                .restricts_dissemination()
            {
                lang.s(
                    "Handling H2/H3: a release takes effect only when a second approver confirms it.",
                    "Manejo H2/H3: lo liberado solo surte efecto cuando un segundo aprobador lo confirma.",
                )
            } else {
                lang.s(
                    "This node classifies what it releases: person or financial data is handled as H2 whatever the partner asked, and then needs a second approver.",
                    "Este nodo clasifica lo que libera: los datos de personas o financieros se manejan como H2, pida lo que pida la contraparte, y requieren un segundo aprobador.",
                )
            },
            go = lang.s("Record the decision", "Registrar la decisión"),
        );
        out.push_str(&crate::finance::continuation_section(
            desk, officer, detail,
        )?);
        out.push_str(&crate::firearms::trace_section(desk, officer, detail)?);
        out.push_str(&lone_approver_warning(desk, lang, officer.id())?);
    } else {
        let _ = write!(
            out,
            "<p>{}</p>",
            lang.s(
                "Only an approver can decide this proposal.",
                "Solo un aprobador puede decidir esta propuesta."
            )
        );
    }
    out.push_str("</section>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(outcome: &str, conditions: &str, reason: &str, release: &str) -> DecideForm {
        DecideForm {
            csrf: String::new(),
            outcome: outcome.into(),
            conditions: conditions.into(),
            reason: reason.into(),
            release: release.into(),
            ..DecideForm::default()
        }
    }

    #[test]
    fn the_uses_ticked_are_the_ones_granted() {
        let mut f = form("accept", "", "ok", "");
        assert_eq!(f.grants(), None, "no consent uses offered");
        f.grants_offered = "1".into();
        assert_eq!(f.grants(), Some(vec![]));
        f.grant_1 = "1".into();
        f.grant_3 = "1".into();
        assert_eq!(f.grants(), Some(vec![1, 3]));
    }

    #[test]
    fn forms_become_outcomes() {
        let p = parse_form(&form("accept", "", "ok", "a: 1\n\n b : 2 ")).unwrap();
        assert_eq!(p.outcome, Outcome::Accepted);
        assert_eq!(
            p.release,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        let p = parse_form(&form("accept", "no onward use\n", "ok", "")).unwrap();
        assert!(
            matches!(p.outcome, Outcome::AcceptedWithConditions { ref conditions } if conditions.len() == 1)
        );
        let p = parse_form(&form("more_information", "which account?", "unclear", "")).unwrap();
        assert!(matches!(p.outcome, Outcome::MoreInformationNeeded { .. }));
        assert_eq!(
            parse_form(&form("refuse", "", "no", "")).unwrap().outcome,
            Outcome::Refused
        );
    }

    #[test]
    fn malformed_forms_are_refused() {
        let cases = [
            form("accept", "", "   ", ""),
            form("maybe", "", "r", ""),
            form("", "", "r", ""),
            form("refuse", "", "r", "a: 1"),
            form("accept", "", "r", "no colon here"),
            form("accept", "", "r", ": value"),
            form("more_information", "", "r", ""),
            form("accept", "", &"x".repeat(MAX_FIELD + 1), ""),
        ];
        for case in cases {
            assert!(
                matches!(parse_form(&case), Err(DeskError::BadInput(_))),
                "{case:?}"
            );
        }
    }
}
