//! The two languages the desk speaks, chosen per officer.
//!
//! Every piece of text on a page is written in both languages at the place
//! it is used (`lang.s("Inbox", "Bandeja de entrada")`), so that a page can
//! never show a key instead of words and a reader of the code sees both.

use std::fmt;

/// A language of the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Spanish.
    Es,
    /// English.
    En,
}

impl Lang {
    /// Parses a language code (`es` or `en`).
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language's code, as in HTML's `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch in the page header).
    pub fn other(self) -> Self {
        match self {
            Lang::Es => Lang::En,
            Lang::En => Lang::Es,
        }
    }

    /// Picks the English or the Spanish text.
    pub fn s(self, en: &'static str, es: &'static str) -> &'static str {
        match self {
            Lang::Es => es,
            Lang::En => en,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An outcome's words as the node's history writes them
/// (`accepted with conditions`), in Spanish.
fn outcome_words_es(words: &str) -> Option<&'static str> {
    Some(match words {
        "accepted" => "aceptada",
        "accepted with conditions" => "aceptada con condiciones",
        "refused" => "rechazada",
        "more information needed" => "se pide más información",
        _ => return None,
    })
}

/// Text the desk could not translate, marked as English so that a screen
/// reader pronounces it right and the officer sees why it is in English.
fn untranslated(text: &str) -> String {
    format!("<span lang=\"en\">{}</span>", crate::html::escape(text))
}

/// One line of a proposal's history, as the node recorded it in English,
/// in the officer's language; HTML (escaped).
pub(crate) fn history_line(lang: Lang, event: &str) -> String {
    use crate::html::escape;
    if lang == Lang::En {
        return escape(event);
    }
    let fixed = match event {
        "sent to an officer by policy" => Some("enviada a un oficial por la política"),
        "receipt given" => Some("acuse de recibo entregado"),
        _ => None,
    };
    if let Some(text) = fixed {
        return text.to_owned();
    }
    let prefixed = [
        ("proposed to ", "propuesta a "),
        ("received from ", "recibida de "),
        ("receipt from ", "acuse de recibo de "),
        ("delivered to ", "entregada a "),
        ("result: ", "resultado: "),
    ];
    for (en, es) in prefixed {
        if let Some(rest) = event.strip_prefix(en) {
            return format!("{es}{}", escape(rest));
        }
    }
    if let Some(rest) = event.strip_prefix("answered: ")
        && let Some(n) = rest.strip_suffix(" item(s) disclosed")
    {
        return format!("respondida: {} elemento(s) divulgado(s)", escape(n));
    }
    if let Some(rest) = event.strip_prefix("answer from ")
        && let Some((peer, items)) = rest.split_once(": ")
        && let Some(n) = items.strip_suffix(" item(s)")
    {
        return format!("respuesta de {}: {} elemento(s)", escape(peer), escape(n));
    }
    if let Some((words, by)) = event.rsplit_once(" by ")
        && let Some(es) = outcome_words_es(words)
    {
        let by = if by == "policy" {
            "la política".to_owned()
        } else if let Some(officer) = by.strip_prefix("officer ") {
            format!("el oficial {}", escape(officer))
        } else {
            escape(by)
        };
        return format!("{es} por {by}");
    }
    if let Some(rest) = event.strip_prefix("deadline breached: ") {
        return format!("plazo incumplido: {}", untranslated(rest));
    }
    if let Some((who, reason)) = event.split_once("'s node refused an envelope for good: ") {
        return format!(
            "el nodo de {} rechazó un sobre de forma definitiva: {}",
            escape(who),
            untranslated(reason)
        );
    }
    untranslated(event)
}

/// The desk's own refusals of bad input, English template → Spanish
/// template; each `{}` is a value carried across in order.
const REFUSALS: &[(&str, &str)] = &[
    (
        "exhibit {} is the other side's; only its contributor releases it",
        "la prueba {} es de la otra parte; solo quien la aportó la entrega",
    ),
    (
        "exhibit {} is already released",
        "la prueba {} ya fue entregada",
    ),
    (
        "the release of exhibit {} already awaits a second approver (asked by {})",
        "la entrega de la prueba {} ya espera a un segundo aprobador (la pidió {})",
    ),
    (
        "no release of exhibit {} awaits confirmation",
        "ninguna entrega de la prueba {} espera confirmación",
    ),
    (
        "exhibit {} is over {} bytes; open it on the node (soberana case exhibit open CASE DIGEST --out FILE)",
        "la prueba {} supera {} bytes; ábrala en el nodo (soberana case exhibit open CASE DIGEST --out FILE)",
    ),
    (
        "`{}` is not an officer id",
        "`{}` no es un identificador de funcionario",
    ),
    (
        "no enabled officer `{}` is registered on this node",
        "no hay un funcionario habilitado `{}` registrado en este nodo",
    ),
    (
        "outcome `{}` is not a filter; use refused, acknowledged or accepted",
        "`{}` no es un filtro de resultado; use refused (rechazadas), acknowledged (acusadas) o accepted (aceptadas)",
    ),
    (
        "kind `{}` is not a proposal kind",
        "`{}` no es un tipo de propuesta",
    ),
    (
        "the receipt must be sent as a file upload (multipart/form-data): {}",
        "el recibo debe enviarse como archivo (multipart/form-data): {}",
    ),
    (
        "the upload could not be read: {}",
        "no se pudo leer el archivo: {}",
    ),
    (
        "the receipt is not UTF-8 text; upload the JSON file",
        "el recibo no es texto UTF-8; suba el archivo JSON",
    ),
    ("no receipt file was uploaded", "no se subió ningún recibo"),
    (
        "the {} is over {} bytes; shorten it",
        "el campo {} supera {} bytes; acórtelo",
    ),
    (
        "give a reason for the decision; the partner reads it",
        "indique el motivo de la decisión; la contraparte lo lee",
    ),
    (
        "asking for more information needs at least one question (one per line)",
        "pedir más información requiere al menos una pregunta (una por línea)",
    ),
    (
        "choose accept, refuse or ask for more information (got `{}`)",
        "elija aceptar, rechazar o pedir más información (se recibió `{}`)",
    ),
    (
        "release line `{}` has no `:`; write `label: value`",
        "la línea a liberar `{}` no tiene `:`; escriba `etiqueta: valor`",
    ),
    (
        "release line `{}` needs both a label and a value",
        "la línea a liberar `{}` necesita etiqueta y valor",
    ),
    (
        "only an acceptance releases anything; empty the release list or accept",
        "solo una aceptación libera algo; vacíe la lista a liberar o acepte",
    ),
    (
        "the form could not be read: {}",
        "no se pudo leer el formulario: {}",
    ),
    (
        "write the reply to the partner's questions (1 to {} bytes)",
        "escriba la respuesta a las preguntas de la contraparte (de 1 a {} bytes)",
    ),
    (
        "proposal `{}` does not await more information from us",
        "la propuesta `{}` no espera más información de nosotros",
    ),
    (
        "the budget per run `{}` is not a whole number of queries",
        "el presupuesto por ejecución `{}` no es un número entero de consultas",
    ),
    (
        "the budget per period `{}` is not a whole number of queries",
        "el presupuesto por periodo `{}` no es un número entero de consultas",
    ),
    (
        "a standing budget must allow at least one query per run and per period",
        "un presupuesto de cotejo permanente debe permitir al menos una consulta por ejecución y por periodo",
    ),
    (
        "a budget of {} queries per run cannot exceed its {} per period",
        "un presupuesto de {} consultas por ejecución no puede superar sus {} por periodo",
    ),
    (
        "the reason is over {} characters; shorten it",
        "el motivo supera {} caracteres; acórtelo",
    ),
    (
        "`{}` is not a partner of this node",
        "`{}` no es una contraparte de este nodo",
    ),
    (
        "list `{}` is not an identifier kind or persons",
        "la lista `{}` no es un tipo de identificador ni persons (personas)",
    ),
    (
        "period `{}` is not daily or weekly",
        "el periodo `{}` no es daily (diario) ni weekly (semanal)",
    ),
    (
        "`{}` does not say whose list is checked; choose us or partner",
        "`{}` no indica qué lista se coteja; elija us (la nuestra) o partner (la de la contraparte)",
    ),
    (
        "arrangement name `{}` must be 1 to {} characters of a-z, 0-9, `-` and `_`",
        "el nombre del acuerdo `{}` debe tener de 1 a {} caracteres entre a-z, 0-9, `-` y `_`",
    ),
    (
        "an act on standing arrangement `{}` with {} already awaits a second approver (asked by {})",
        "un acto sobre el cotejo permanente `{}` con {} ya espera a un segundo aprobador (lo pidió {})",
    ),
    (
        "{} acts on standing arrangements already await a second approver; confirm or withdraw some first",
        "{} actos sobre cotejos permanentes ya esperan a un segundo aprobador; confirme o retire alguno primero",
    ),
    (
        "no act on standing arrangement `{}` awaits confirmation",
        "ningún acto sobre el cotejo permanente `{}` espera confirmación",
    ),
    (
        "no list is kept for standing arrangement `{}`; the operator keeps one on the node (soberana match standing keep)",
        "no hay una lista guardada para el cotejo permanente `{}`; el operador la guarda en el nodo (soberana match standing keep)",
    ),
    (
        "the list kept for standing arrangement `{}` cannot be run; the operator can see why in the node's log",
        "la lista guardada para el cotejo permanente `{}` no puede ejecutarse; el operador ve el motivo en el registro del nodo",
    ),
    (
        "standing arrangement `{}` is {}, not awaiting acceptance",
        "el cotejo permanente `{}` está {}; no espera aceptación",
    ),
    (
        "standing arrangement `{}` was proposed by `{}`; only the other side can accept it",
        "el cotejo permanente `{}` lo propuso `{}`; solo la otra parte puede aceptarlo",
    ),
    (
        "only an arrangement in force can be suspended; `{}` is {}",
        "solo un acuerdo en vigor puede suspenderse; `{}` está {}",
    ),
    (
        "standing arrangement `{}` is not suspended ({})",
        "el cotejo permanente `{}` no está suspendido ({})",
    ),
    (
        "standing arrangement `{}` was suspended by `{}`; only that side can resume it",
        "el cotejo permanente `{}` lo suspendió `{}`; solo esa parte puede reanudarlo",
    ),
    (
        "standing arrangement `{}` is already terminated",
        "el cotejo permanente `{}` ya está terminado",
    ),
    (
        "a standing arrangement `{}` exists ({}); terminate it or choose another name",
        "ya existe un cotejo permanente `{}` ({}); termínelo o elija otro nombre",
    ),
    (
        "language `{}` is not offered; use `es` or `en`",
        "el idioma `{}` no está disponible; use `es` o `en`",
    ),
];

/// Matches `text` against a template with `{}` holes; the holes' values.
fn holes<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let (first, rest) = parts.split_first()?;
    let mut left = text.strip_prefix(first)?;
    let mut values = Vec::new();
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let at = if last {
            if part.is_empty() {
                left.len()
            } else {
                left.len()
                    .checked_sub(part.len())
                    .filter(|&at| left.get(at..) == Some(part))?
            }
        } else {
            left.find(part)?
        };
        values.push(left.get(..at)?);
        left = left.get(at + part.len()..)?;
    }
    left.is_empty().then_some(values)
}

/// A value carried into a translated refusal, in Spanish when it is one of
/// the words the node uses for where an arrangement stands.
fn value_es(value: &str) -> &str {
    match value {
        "proposed" => "propuesto",
        "active" => "en vigor",
        "suspended" => "suspendido",
        "terminated" => "terminado",
        other => other,
    }
}

/// A refusal of bad input in Spanish: the desk's own messages translated,
/// anything else (the node's words) said to come from the node.
pub(crate) fn refusal_es(text: &str) -> String {
    for (en, es) in REFUSALS {
        if let Some(values) = holes(en, text) {
            let mut out = String::new();
            let mut values = values.into_iter();
            for (i, part) in es.split("{}").enumerate() {
                if i > 0 {
                    out.push_str(value_es(values.next().unwrap_or("")));
                }
                out.push_str(part);
            }
            return out;
        }
    }
    format!("el nodo lo rechazó (detalle en inglés): {text}")
}

/// An answer's summary, as the node wrote it in English, in the officer's
/// language; HTML (escaped).
pub(crate) fn answer_summary(lang: Lang, summary: &str) -> String {
    use crate::html::escape;
    if lang == Lang::En {
        return escape(summary);
    }
    if let Some(rest) = summary.strip_prefix("released by ")
        && let Some((party, decision)) = rest.split_once(" under decision of ")
    {
        return format!(
            "entregado por {} conforme a la decisión del {}",
            escape(party),
            escape(decision)
        );
    }
    if let Some((hits, rest)) = summary.split_once(" of our ") {
        if let Some(n) = rest.strip_suffix(" identifiers are held by the partner") {
            return format!(
                "la contraparte tiene {} de nuestros {} identificadores",
                escape(hits),
                escape(n)
            );
        }
        if let Some(n) = rest.strip_suffix(" identifiers are held by the partner (count only)") {
            return format!(
                "la contraparte tiene {} de nuestros {} identificadores (solo el conteo)",
                escape(hits),
                escape(n)
            );
        }
    }
    untranslated(summary)
}

/// An audit trail action's name for people.
pub(crate) fn audit_action(lang: Lang, action: &str) -> String {
    let (en, es) = match action {
        "login" => ("logged in", "inició sesión"),
        "login_failed" => ("failed to log in", "intento fallido de inicio de sesión"),
        "login_refused_locked" => (
            "login refused: locked",
            "inicio rechazado: cuenta bloqueada",
        ),
        "logout" => ("logged out", "cerró sesión"),
        "language" => ("changed language", "cambió de idioma"),
        "decide" => ("decided", "decidió"),
        "decision_pending" => (
            "decided, awaiting a second approver",
            "decidió; espera un segundo aprobador",
        ),
        "decision_confirmed" => ("confirmed a decision", "confirmó una decisión"),
        "decision_withdrawn" => (
            "withdrew a pending decision",
            "retiró una decisión pendiente",
        ),
        "verify_receipt" => ("verified a receipt", "verificó un recibo"),
        "reply" => (
            "replied to a request for more information",
            "respondió a una petición de más información",
        ),
        "officer_added" => ("added an officer", "dio de alta a un oficial"),
        "officer_disabled" => ("disabled an officer", "desactivó a un oficial"),
        "officer_enabled" => ("enabled an officer", "reactivó a un oficial"),
        "standing_pending" => (
            "asked for an act on a standing arrangement, awaiting a second approver",
            "pidió un acto sobre un cotejo permanente; espera un segundo aprobador",
        ),
        "standing_confirmed" => (
            "confirmed an act on a standing arrangement",
            "confirmó un acto sobre un cotejo permanente",
        ),
        "standing_withdrawn" => (
            "withdrew an act on a standing arrangement",
            "retiró un acto sobre un cotejo permanente",
        ),
        "standing_suspend" => (
            "suspended a standing arrangement",
            "suspendió un cotejo permanente",
        ),
        "standing_resume" => (
            "resumed a standing arrangement",
            "reanudó un cotejo permanente",
        ),
        "standing_terminate" => (
            "terminated a standing arrangement",
            "terminó un cotejo permanente",
        ),
        "standing_run" => ("ran a standing arrangement", "ejecutó un cotejo permanente"),
        other => return crate::html::escape(other),
    };
    lang.s(en, es).to_owned()
}

/// An audit trail entry's detail, as the node wrote it, in the officer's
/// language; HTML (escaped).
pub(crate) fn audit_detail(lang: Lang, detail: &str) -> String {
    use crate::html::escape;
    if lang == Lang::En || detail.is_empty() {
        return escape(detail);
    }
    let mut out = Vec::new();
    for part in detail.split(" · ") {
        let part = part.trim();
        let translated = if let Some(n) = part.strip_suffix(" item(s) released") {
            format!("{} elemento(s) entregado(s)", escape(n))
        } else if let Some(n) = part.strip_suffix(" item(s)") {
            format!("{} elemento(s)", escape(n))
        } else if let Some(code) = outcome_code_es(part) {
            code.to_owned()
        } else if let Some(rest) = part.strip_suffix(" confirmed")
            && let Some((code, by)) = rest.split_once(" by ")
            && let Some(es) = outcome_code_es(code)
        {
            format!("{es} por {} confirmada", escape(by))
        } else if let Some(by) = part.strip_prefix("pending decision by ") {
            format!("decisión pendiente de {}", escape(by))
        } else if part == "wrong officer id or password" {
            "identificador o contraseña incorrectos".to_owned()
        } else if let Some(n) = part.strip_suffix(" bytes") {
            format!("{} bytes", escape(n))
        } else if part.chars().all(|c| c.is_ascii_lowercase()) && part.len() <= 3 {
            escape(part)
        } else {
            untranslated(part)
        };
        out.push(translated);
    }
    out.join(" · ")
}

/// An outcome's code (`accepted_with_conditions`) in Spanish.
fn outcome_code_es(code: &str) -> Option<&'static str> {
    outcome_words_es(&code.replace('_', " "))
}

/// A handling code's meaning for people.
pub(crate) fn handling_meaning(lang: Lang, code: soberana_core::HandlingCode) -> &'static str {
    use soberana_core::HandlingCode as H;
    match lang {
        Lang::En => code.meaning(),
        Lang::Es => match code {
            H::H0 => "puede usarse para prevenir o combatir el delito",
            H::H1 => "no debe usarse como prueba en juicio sin permiso de quien la proporciona",
            H::H2 => "no debe difundirse sin permiso de quien la proporciona",
            H::H3 => "aplican otras restricciones, según se indican",
        },
    }
}

/// English words that must never appear on a Spanish page outside text
/// marked `lang="en"`, code, or what a partner wrote: the check behind the
/// test that keeps the Spanish desk Spanish.
pub const ENGLISH_WORDS: &[&str] = &[
    "the",
    "and",
    "of",
    "by",
    "from",
    "with",
    "awaiting",
    "accepted",
    "refused",
    "overdue",
    "left",
    "policy",
    "proposal",
    "proposals",
    "deadline",
    "received",
    "sent",
    "item",
    "items",
    "request",
    "officer",
    "pending",
    "inbox",
    "outbox",
    "none",
    "yes",
    "answer",
    "answered",
    "notice",
    "kind",
    "handling",
    "may",
    "not",
    "used",
    "court",
    "permission",
    "conditions",
    "unknown",
    "armed",
    "territory",
    "place",
    "places",
    "established",
    "delivered",
    "queued",
    "acknowledged",
    "receipt",
    "decided",
    "decision",
    "history",
    "what",
    "where",
    "when",
    "who",
    "log",
    "out",
    "confirmed",
    "released",
    "disclosed",
    "land",
    "task",
    "tasks",
    "agency",
    "northbound",
    "southbound",
    "seizure",
    "alert",
    "trace",
    "firearm",
    "amount",
    "currency",
    "account",
    "accounts",
    "question",
    "questions",
    "subject",
    "summary",
    "purpose",
    "basis",
    "sender",
    "partner",
    "our",
    "their",
    "this",
    "that",
    "have",
    "was",
    "is",
];

/// The words of [`ENGLISH_WORDS`] that appear in `html`'s text, ignoring
/// markup, attribute values, `<code>`, `<script>`, `<style>` and any element
/// marked `lang="en"` (with everything inside it).
pub fn english_words_in(html: &str) -> Vec<String> {
    let mut text = String::new();
    let mut rest = html;
    // Depth of skipped elements, by tag name.
    let mut skipping: Vec<String> = Vec::new();
    while let Some(lt) = rest.find('<') {
        if skipping.is_empty() {
            text.push_str(rest.get(..lt).unwrap_or(""));
            text.push(' ');
        }
        rest = rest.get(lt..).unwrap_or("");
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = rest.get(1..gt).unwrap_or("");
        rest = rest.get(gt + 1..).unwrap_or("");
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let void = matches!(
            name.as_str(),
            "br" | "input" | "meta" | "link" | "img" | "hr" | "col" | "source"
        ) || tag.ends_with('/');
        if tag.starts_with('/') {
            if skipping.last() == Some(&name) {
                skipping.pop();
            }
        } else if !void {
            if let Some(open) = skipping.last() {
                if *open == name {
                    skipping.push(name);
                }
            } else if tag.contains("lang=\"en\"")
                || matches!(name.as_str(), "code" | "script" | "style" | "title" | "pre")
            {
                skipping.push(name);
            }
        }
    }
    if skipping.is_empty() {
        text.push_str(rest);
    }
    let mut found: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
    {
        let lower = word.to_lowercase();
        if ENGLISH_WORDS.contains(&lower.as_str()) && !found.contains(&lower) {
            found.push(lower);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_others_are_refused() {
        for lang in [Lang::Es, Lang::En] {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
            assert_ne!(lang.other(), lang);
        }
        for bad in ["", "EN", "fr", "es-MX", "en "] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Lang::Es.s("Inbox", "Bandeja"), "Bandeja");
    }

    #[test]
    fn english_words_are_found_outside_marked_text_only() {
        assert_eq!(
            english_words_in("<p>Propuesta <b>awaiting</b> decisión</p>"),
            vec!["awaiting"]
        );
        assert!(
            english_words_in("<p lang=\"en\">the <i>policy</i></p><code>the</code>").is_empty()
        );
        assert!(english_words_in("<a href=\"/the/policy\" title=\"x\">Bandeja</a>").is_empty());
        assert_eq!(
            english_words_in("<p>de <span lang=\"en\">x</span> and</p>"),
            vec!["and"]
        );
    }

    #[test]
    fn history_lines_are_translated_or_marked_english() {
        assert_eq!(history_line(Lang::Es, "received from US"), "recibida de US");
        assert_eq!(
            history_line(Lang::Es, "accepted with conditions by fgr.lucia"),
            "aceptada con condiciones por fgr.lucia"
        );
        assert_eq!(
            history_line(Lang::Es, "answer from MX: 2 item(s)"),
            "respuesta de MX: 2 elemento(s)"
        );
        assert_eq!(
            history_line(Lang::Es, "something new"),
            "<span lang=\"en\">something new</span>"
        );
        assert_eq!(history_line(Lang::En, "a <b>"), "a &lt;b&gt;");
        for line in [
            "proposed to MX",
            "delivered to US",
            "receipt given",
            "refused by policy",
        ] {
            assert!(
                english_words_in(&history_line(Lang::Es, line)).is_empty(),
                "{line}"
            );
        }
    }

    #[test]
    fn refusals_are_translated_with_their_values() {
        assert_eq!(
            refusal_es("release line `x` has no `:`; write `label: value`"),
            "la línea a liberar `x` no tiene `:`; escriba `etiqueta: valor`"
        );
        assert_eq!(
            refusal_es("the reason is over 16384 bytes; shorten it"),
            "el campo reason supera 16384 bytes; acórtelo"
        );
        assert_eq!(
            refusal_es("no receipt file was uploaded"),
            "no se subió ningún recibo"
        );
        assert!(refusal_es("something else").starts_with("el nodo lo rechazó"));
        assert_eq!(holes("a {} b", "a x b c"), None);
    }

    #[test]
    fn audit_entries_are_translated() {
        assert_eq!(
            audit_action(Lang::Es, "decision_confirmed"),
            "confirmó una decisión"
        );
        assert_eq!(
            audit_detail(Lang::Es, "accepted_with_conditions · 2 item(s) released"),
            "aceptada con condiciones · 2 elemento(s) entregado(s)"
        );
        assert!(
            english_words_in(&audit_detail(
                Lang::Es,
                "refused by ana confirmed · 0 item(s) released"
            ))
            .is_empty()
        );
    }
}
