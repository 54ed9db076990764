//! The alerts page: the node's money-laundering incidents ranked by risk
//! score, each with the reasons behind it, and the analyst's verdict form.
//!
//! The alerts are the node's (`Node::alert_review`: its own ledger under the
//! party's thresholds, the same call `soberana finance alerts --incidents`
//! makes), and a verdict is the node's act (`Node::record_alert_verdict`:
//! roles, a reason, an incident the scan finds, the audit line, one store
//! transaction). This module checks the session and the form, calls the
//! node and draws the page. A scan of a large ledger takes seconds, so it
//! runs on a blocking thread, never on the server's own.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use soberana_core::{Role, Timestamp};
use soberana_node::{AlertReview, Finding, MAX_VERDICT_REASON, NodeError, RankedIncident};

use crate::html::{Zone, escape, when};
use crate::i18n::Lang;
use crate::pages::{SignedIn, bad_form, refuse, signed_in};
use crate::{Desk, DeskError};

/// Incidents shown on the page, riskiest first.
const SHOWN: usize = 100;

/// Only analysts and approvers work alerts (the node holds the same rule
/// for verdicts).
fn may_work_alerts(officer: &SignedIn) -> Result<(), DeskError> {
    if officer.account.officer.has_role(Role::Analyst)
        || officer.account.officer.has_role(Role::Approver)
    {
        Ok(())
    } else {
        Err(DeskError::Forbidden(Role::Analyst.as_str()))
    }
}

/// Runs `f` on the node away from the server's threads.
async fn on_node<T: Send + 'static>(
    desk: &Desk,
    f: impl FnOnce(&soberana_node::Node) -> Result<T, NodeError> + Send + 'static,
) -> Result<T, NodeError> {
    let node = desk.node().clone();
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| NodeError::Finance(format!("the alert scan stopped: {e}")))?
}

/// `GET /alerts`.
pub async fn alerts(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    let officer = match signed_in(&desk, &headers) {
        Ok(o) => o,
        Err(e) => return refuse(&desk, desk.config().default_language, e),
    };
    if let Err(e) = may_work_alerts(&officer) {
        return refuse(&desk, officer.lang, e);
    }
    let lang = officer.lang;
    let title = lang.s("Alerts", "Alertas");
    let body = match on_node(&desk, |node| node.alert_review(None)).await {
        Ok(review) => review_page(&officer, &review),
        Err(NodeError::NoFinanceLedger(_)) => format!(
            "<p class=\"empty\">{}</p>",
            lang.s(
                "This node holds no transactions yet; the operator loads them with `soberana finance ingest`.",
                "Este nodo aún no tiene transacciones; el operador las carga con `soberana finance ingest`.",
            )
        ),
        Err(e) => return refuse(&desk, lang, e.into()),
    };
    officer.render(&desk, title, &body)
}

/// The verdict form.
#[derive(Debug, Deserialize)]
pub struct VerdictForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    incident: String,
    #[serde(default)]
    finding: String,
    #[serde(default)]
    reason: String,
}

/// `POST /alerts/verdict`: an analyst confirms or dismisses an incident.
pub async fn verdict(
    State(desk): State<Desk>,
    headers: HeaderMap,
    form: Result<Form<VerdictForm>, FormRejection>,
) -> Response {
    let officer = match signed_in(&desk, &headers) {
        Ok(o) => o,
        Err(e) => return refuse(&desk, desk.config().default_language, e),
    };
    let lang = officer.lang;
    let checked = (|| {
        let Form(form) = form.map_err(bad_form)?;
        officer.check_form(&form.csrf)?;
        may_work_alerts(&officer)?;
        let finding = match form.finding.as_str() {
            "confirmed" => Finding::Confirmed,
            "dismissed" => Finding::Dismissed,
            other => {
                return Err(DeskError::BadInput(format!(
                    "choose confirmed or dismissed (got `{}`)",
                    other.chars().take(32).collect::<String>()
                )));
            }
        };
        if form.reason.len() > MAX_VERDICT_REASON {
            return Err(DeskError::BadInput(format!(
                "the reason is over {MAX_VERDICT_REASON} bytes; shorten it"
            )));
        }
        Ok((form, finding))
    })();
    let (form, finding) = match checked {
        Ok(x) => x,
        Err(e) => return refuse(&desk, lang, e),
    };
    let id = officer.id().clone();
    let done = on_node(&desk, move |node| {
        node.record_alert_verdict(&id, &form.incident, finding, &form.reason)
    })
    .await;
    match done {
        Ok(v) => Redirect::to(&format!("/alerts#{}", v.incident)).into_response(),
        Err(e) => refuse(&desk, lang, e.into()),
    }
}

/// US cents as `USD 12,345.67`.
fn dollars(cents: i64) -> String {
    let whole = (cents / 100).unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if cents < 0 { "−" } else { "" };
    format!("USD {sign}{grouped}.{:02}", (cents % 100).unsigned_abs())
}

fn secs(at: i64, offset: &Zone) -> String {
    when(Timestamp::from_unix_millis(at.saturating_mul(1000)), offset)
}

fn finding_text(lang: Lang, f: Finding) -> &'static str {
    match f {
        Finding::Confirmed => lang.s("confirmed", "confirmada"),
        Finding::Dismissed => lang.s("dismissed", "descartada"),
    }
}

fn review_page(officer: &SignedIn, review: &AlertReview) -> String {
    let lang = officer.lang;
    let offset = officer.offset();
    let mut out = String::new();
    let _ = write!(
        out,
        "<p>{n} {incidents} ({a} {alerts}) {in_} {t} {txs}, {order}.</p>",
        n = review.incidents.len(),
        incidents = lang.s("incidents", "incidentes"),
        a = review.alerts,
        alerts = lang.s("alerts", "alertas"),
        in_ = lang.s("in", "en"),
        t = review.transactions,
        txs = lang.s("transactions", "transacciones"),
        order = lang.s("riskiest first", "de mayor a menor riesgo"),
    );
    let _ = write!(
        out,
        "<h2>{}</h2>",
        lang.s(
            "Precision of worked incidents, week by week",
            "Precisión de los incidentes revisados, por semana"
        )
    );
    if review.precision.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\" id=\"precision\">{}</p>",
            lang.s("No verdicts yet.", "Aún no hay dictámenes.")
        );
    } else {
        let _ = write!(
            out,
            "<table id=\"precision\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.s("Week of", "Semana del"),
            lang.s("Confirmed", "Confirmadas"),
            lang.s("Dismissed", "Descartadas"),
            lang.s("Precision", "Precisión"),
        );
        for p in &review.precision {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                escape(&secs(p.start, offset)),
                p.confirmed,
                p.dismissed,
                p.precision
            );
        }
        out.push_str("</tbody></table>");
    }
    let _ = write!(
        out,
        "<h2>{}</h2>",
        lang.s("Incidents, ranked", "Incidentes, por riesgo")
    );
    if review.incidents.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\">{}</p>",
            lang.s(
                "The scan raised no alert.",
                "El análisis no generó ninguna alerta."
            )
        );
    }
    for (rank, r) in review.incidents.iter().take(SHOWN).enumerate() {
        incident_section(&mut out, officer, rank + 1, r);
    }
    if review.incidents.len() > SHOWN {
        let _ = write!(
            out,
            "<p class=\"notice\">{} {SHOWN}; {}</p>",
            lang.s("Showing the riskiest", "Se muestran los"),
            lang.s(
                "the rest with `soberana finance alerts --incidents --limit N`.",
                "de mayor riesgo; el resto con `soberana finance alerts --incidents --limit N`."
            )
        );
    }
    out
}

fn incident_section(out: &mut String, officer: &SignedIn, rank: usize, r: &RankedIncident) {
    let lang = officer.lang;
    let offset = officer.offset();
    let i = &r.incident;
    let kinds: Vec<&str> = i.kinds.iter().map(|k| k.name()).collect();
    let accounts: Vec<String> = i.accounts.iter().map(|a| escape(a.as_str())).collect();
    let _ = write!(
        out,
        "<section class=\"incident\" id=\"{key}\"><h3>{rank}. <code>{key}</code> · {score_label} {score:.2} · {kinds}</h3>\
         <dl><dt>{accounts_label}</dt><dd>{accounts}</dd>\
         <dt>{money_label}</dt><dd>{money}</dd>\
         <dt>{when_label}</dt><dd>{first} … {last}</dd>\
         <dt>{evidence_label}</dt><dd>{evidence}</dd></dl>\
         <p>{why}</p><ul class=\"reasons\">",
        key = escape(&r.key),
        score_label = lang.s("risk score", "puntaje de riesgo"),
        score = i.score,
        kinds = escape(&kinds.join(" + ")),
        accounts_label = lang.s("Accounts", "Cuentas"),
        accounts = accounts.join(", "),
        money_label = lang.s("Money involved", "Monto involucrado"),
        money = escape(&dollars(i.value)),
        when_label = lang.s("When", "Cuándo"),
        first = escape(&secs(i.first, offset)),
        last = escape(&secs(i.last, offset)),
        evidence_label = lang.s("Evidence", "Evidencia"),
        evidence = format_args!(
            "{} {}",
            i.evidence.len(),
            lang.s("transactions", "transacciones")
        ),
        why = lang.s("Why:", "Por qué:"),
    );
    for reason in &i.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul>");
    if let Some(v) = &r.verdict {
        let _ = write!(
            out,
            "<p class=\"verdict verdict-{cls}\">{label}: <strong>{finding}</strong> · {officer_id} · {at} · {reason}</p>",
            cls = match v.finding {
                Finding::Confirmed => "confirmed",
                Finding::Dismissed => "dismissed",
            },
            label = lang.s("Verdict", "Dictamen"),
            finding = finding_text(lang, v.finding),
            officer_id = escape(&v.officer),
            at = escape(&secs(v.at, offset)),
            reason = escape(&v.reason),
        );
    }
    let _ = write!(
        out,
        "<form class=\"decide\" method=\"post\" action=\"/alerts/verdict\">{csrf}\
         <input type=\"hidden\" name=\"incident\" value=\"{key}\">\
         <fieldset><legend>{legend}</legend>\
         <label><input type=\"radio\" name=\"finding\" value=\"confirmed\" required> {confirmed}</label>\
         <label><input type=\"radio\" name=\"finding\" value=\"dismissed\"> {dismissed}</label></fieldset>\
         <label>{reason_label} <textarea name=\"reason\" rows=\"2\" maxlength=\"{max}\" required></textarea></label>\
         <button type=\"submit\">{submit}</button></form></section>",
        csrf = officer.csrf_field(),
        key = escape(&r.key),
        legend = lang.s("Your verdict", "Su dictamen"),
        confirmed = lang.s(
            "Confirmed (suspicious, worth a report)",
            "Confirmada (sospechosa, amerita reporte)"
        ),
        dismissed = lang.s("Dismissed (not suspicious)", "Descartada (no sospechosa)"),
        reason_label = lang.s("Reason", "Motivo"),
        max = MAX_VERDICT_REASON,
        submit = lang.s("Record the verdict", "Registrar el dictamen"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_by_thousands() {
        assert_eq!(dollars(2_800_000), "USD 28,000.00");
        assert_eq!(dollars(99), "USD 0.99");
        assert_eq!(dollars(123_456_789), "USD 1,234,567.89");
        assert_eq!(dollars(-150), "USD −1.50");
    }
}
