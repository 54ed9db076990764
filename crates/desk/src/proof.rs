//! The proof page: our checkpoints, the partners' checkpoints we
//! witnessed, the audit trail, and verifying an uploaded receipt against
//! keys this node pinned.

use std::fmt::Write as _;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::Response;
use soberana_core::{Role, Timestamp};

use crate::html::{Zone, escape, time_tag, when};
use crate::i18n::Lang;
use crate::pages::{SignedIn, refuse, signed_in, with_officer};
use crate::{Desk, DeskError};

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
                match cp.status.as_str() {
                    "cosigned" => lang.s("cosigned", "cofirmado").to_owned(),
                    "alarm" => lang
                        .s(
                            "alarm: two different logs",
                            "alarma: dos registros distintos"
                        )
                        .to_owned(),
                    other => escape(other),
                },
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
                crate::i18n::audit_action(lang, &entry.action),
                escape(&entry.target),
                crate::i18n::audit_detail(lang, &entry.detail)
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
fn verification_html(desk: &Desk, lang: Lang, bundle: &str, offset: &Zone) -> String {
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
