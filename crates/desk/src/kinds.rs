//! A proposal's body shown as what it is, kind by kind, in the officer's
//! language: an information request's questions as a list, an operation's
//! tasks as a table beside the facts our node established (who acts, of
//! which kind, where, on our territory or not, armed or not), places on a
//! small map drawn here, money with its currency, and so on.
//!
//! The sender's words are escaped and shown as written; everything around
//! them (labels, actions, flags) is the desk's own text in both languages.

use std::fmt::Write as _;

use soberana_core::{
    AgencyKind, Domain, FlowDirection, Location, MatchReveal, MeasureKind, ProposalBody,
    TaskAction, Territory, TracePriority,
};
use soberana_node::ActFacts;

use crate::html::{Zone, escape, time_tag};
use crate::i18n::Lang;

/// What the body asks, in one line, in the officer's language.
pub(crate) fn summary(lang: Lang, body: &ProposalBody) -> String {
    use ProposalBody as B;
    match (lang, body) {
        (Lang::En, _) => body.summary(),
        (Lang::Es, B::InformationRequest(r)) => format!("información sobre {}", r.subject),
        (Lang::Es, B::IdentifierMatch(m)) => format!(
            "cotejo sí/no de {} identificadores de tipo {}",
            m.set_size, m.identifier_kind
        ),
        (Lang::Es, B::PersonMatch(m)) => format!(
            "cotejo de coincidencia probable de {} registros de personas",
            m.record_count
        ),
        (Lang::Es, B::FirearmTrace(t)) => format!(
            "rastrear {} arma(s) aseguradas en {}",
            t.firearms.len(),
            t.seized_at
        ),
        (Lang::Es, B::FinancialIntelligence(f)) => format!(
            "continuar un rastreo financiero desde {} cuenta(s)",
            f.accounts.len()
        ),
        (Lang::Es, B::JointInvestigation(j)) => {
            format!("investigación conjunta: {}", j.case_title)
        }
        (Lang::Es, B::CoordinatedOperation(op)) => format!(
            "operación coordinada {} ({} tarea(s))",
            op.name,
            op.tasks.len()
        ),
        (Lang::Es, B::AssistanceOffer(op)) => format!(
            "oferta de asistencia {} ({} tarea(s))",
            op.name,
            op.tasks.len()
        ),
        (Lang::Es, B::AdvanceNotification(n)) => format!("notificación previa: {}", n.title),
        (Lang::Es, B::BorderAlert(a)) => {
            format!("alerta fronteriza en {}: {}", a.crossing, a.subject)
        }
        (Lang::Es, B::SeizureReport(s)) => format!(
            "aseguramiento de {} {} de {} en {}",
            s.quantity, s.unit, s.commodity, s.place
        ),
        (Lang::Es, B::ExhibitConsent(c)) => format!(
            "consentimiento para {} del elemento de prueba {}",
            c.use_.describe_es(),
            c.exhibit.get(..12).unwrap_or(&c.exhibit)
        ),
        (Lang::Es, B::EvidenceRequest(r)) => {
            format!("pruebas en que se basa la propuesta {}", r.about)
        }
    }
}

/// An action's name for people.
pub(crate) fn action_text(lang: Lang, action: &str) -> String {
    let known = TaskAction::ALL.iter().find(|a| a.as_str() == action);
    let Some(action) = known else {
        return action.to_owned();
    };
    use TaskAction as A;
    match action {
        A::Deployment => lang.s("deployment", "despliegue"),
        A::Patrol => lang.s("patrol", "patrullaje"),
        A::Surveillance => lang.s("surveillance", "vigilancia"),
        A::Intelligence => lang.s("intelligence", "inteligencia"),
        A::Arrest => lang.s("arrest", "detención"),
        A::Raid => lang.s("raid", "cateo armado"),
        A::Strike => lang.s("strike", "ataque"),
        A::Interdiction => lang.s("interdiction", "intercepción"),
        A::Training => lang.s("training", "capacitación"),
        A::Advice => lang.s("advice", "asesoría"),
        A::Logistics => lang.s("logistics", "logística"),
        A::Inspection => lang.s("inspection", "inspección"),
        A::Pursuit => lang.s("pursuit", "persecución"),
        A::Liaison => lang.s("liaison", "enlace"),
        A::CyberOperation => lang.s("cyber operation", "operación cibernética"),
    }
    .to_owned()
}

fn agency_kind_text(lang: Lang, kind: AgencyKind) -> &'static str {
    use AgencyKind as K;
    match kind {
        K::Military => lang.s("military", "militar"),
        K::ArmedLawEnforcement => lang.s("armed law enforcement", "policía armada"),
        K::CivilianLawEnforcement => lang.s("civilian law enforcement", "policía civil"),
        K::Prosecution => lang.s("prosecution", "fiscalía"),
        K::FinancialIntelligence => lang.s("financial intelligence", "inteligencia financiera"),
        K::Customs => lang.s("customs", "aduanas"),
        K::Intelligence => lang.s("intelligence service", "servicio de inteligencia"),
        K::Diplomatic => lang.s("diplomatic", "diplomática"),
    }
}

fn measure_text(lang: Lang, measure: MeasureKind) -> &'static str {
    use MeasureKind as M;
    match measure {
        M::Designation => lang.s("designation", "designación"),
        M::ExecutiveOrder => lang.s("executive order", "orden ejecutiva"),
        M::Sanction => lang.s("sanction", "sanción"),
        M::FinancialOrder => lang.s("financial order", "orden financiera"),
        M::BorderMeasure => lang.s("border measure", "medida fronteriza"),
        M::ConstitutionalPolicyChange => lang.s(
            "change to constitutional policy",
            "cambio de política constitucional",
        ),
        M::UseOfForce => lang.s("use of force", "uso de la fuerza"),
    }
}

fn direction_text(lang: Lang, direction: FlowDirection) -> &'static str {
    match direction {
        FlowDirection::Northbound => lang.s("northbound", "hacia el norte"),
        FlowDirection::Southbound => lang.s("southbound", "hacia el sur"),
    }
}

fn domain_text(lang: Lang, domain: Domain) -> &'static str {
    match domain {
        Domain::Land => lang.s("land", "tierra"),
        Domain::Waters => lang.s("waters", "aguas"),
        Domain::Airspace => lang.s("airspace", "espacio aéreo"),
        Domain::Cyber => lang.s("cyber", "ciberespacio"),
        Domain::Space => lang.s("space", "espacio exterior"),
    }
}

fn yes_no(lang: Lang, value: bool) -> &'static str {
    if value {
        lang.s("yes", "sí")
    } else {
        lang.s("no", "no")
    }
}

/// A flag cell that stands out when set (armed, kinetic, on our territory).
fn flag(lang: Lang, value: bool) -> String {
    if value {
        format!("<strong class=\"flag\">{}</strong>", yes_no(lang, true))
    } else {
        yes_no(lang, false).to_owned()
    }
}

fn location_text(lang: Lang, location: &Location) -> String {
    let mut out = escape(&location.place);
    if let Some(at) = &location.at {
        let _ = write!(out, " <code>{}</code>", escape(at));
    }
    let label = match &location.territory {
        Some(Territory::Of(party)) => format!(
            "{} {}",
            lang.s("said to be in", "según el remitente, en"),
            party
        ),
        Some(Territory::International) => lang
            .s(
                "said to be international",
                "según el remitente, internacional",
            )
            .to_owned(),
        None => lang
            .s("no territory said", "sin territorio indicado")
            .to_owned(),
    };
    let _ = write!(
        out,
        " <span class=\"muted\">({}, {})</span>",
        domain_text(lang, location.domain),
        escape(&label)
    );
    out
}

/// A money amount in minor units, written with its ISO 4217 currency:
/// `USD 12,500.00`.
pub fn money(amount_minor: u64, currency: &str) -> String {
    let currency = if currency.trim().is_empty() {
        "?"
    } else {
        currency
    };
    // Currencies without minor units (ISO 4217 exponent 0) that partners use.
    let exponent = match currency {
        "JPY" | "KRW" | "CLP" | "PYG" => 0,
        _ => 2,
    };
    let (major, minor) = if exponent == 0 {
        (amount_minor, None)
    } else {
        (amount_minor / 100, Some(amount_minor % 100))
    };
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match minor {
        Some(m) => format!("{currency} {grouped}.{m:02}"),
        None => format!("{currency} {grouped}"),
    }
}

/// Definition-list rows.
struct Fields<'a> {
    out: &'a mut String,
}

impl Fields<'_> {
    fn row(&mut self, name: &str, value: &str) {
        let _ = write!(self.out, "<dt>{name}</dt><dd>{value}</dd>");
    }

    fn text(&mut self, name: &str, value: &str) {
        self.row(name, &escape(value));
    }

    fn list(&mut self, name: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        let mut value = String::from("<ul>");
        for item in items {
            let _ = write!(value, "<li>{}</li>", escape(item));
        }
        value.push_str("</ul>");
        self.row(name, &value);
    }
}

/// The body of a proposal, kind by kind. `acts` are the facts our node
/// established about it (empty for our own proposals); `party` is ours.
pub(crate) fn body_html(
    lang: Lang,
    body: &ProposalBody,
    acts: &[ActFacts],
    party: &str,
    offset: &Zone,
) -> String {
    use ProposalBody as B;
    let mut out = String::from("<dl class=\"body\">");
    let mut f = Fields { out: &mut out };
    let mut tasks: Vec<(&str, &[soberana_core::Task])> = Vec::new();
    match body {
        B::InformationRequest(r) => {
            f.text(lang.s("Subject", "Sujeto"), &r.subject);
            f.list(lang.s("Categories", "Categorías"), &r.categories);
            let mut value = String::from("<ol class=\"questions\">");
            for q in &r.questions {
                let _ = write!(value, "<li>{}</li>", escape(q));
            }
            value.push_str("</ol>");
            f.row(lang.s("Questions", "Preguntas"), &value);
        }
        B::IdentifierMatch(m) => {
            f.text(
                lang.s("Identifier kind", "Tipo de identificador"),
                &m.identifier_kind,
            );
            f.text(
                lang.s("Identifiers offered", "Identificadores ofrecidos"),
                &m.set_size.to_string(),
            );
            f.row(
                lang.s("What is revealed", "Qué se revela"),
                match m.reveal {
                    MatchReveal::Intersection => lang.s(
                        "the identifiers both sides hold",
                        "los identificadores que ambas partes tienen",
                    ),
                    MatchReveal::CountOnly => {
                        lang.s("only how many match", "solo cuántos coinciden")
                    }
                },
            );
        }
        B::PersonMatch(m) => {
            f.text(
                lang.s("Person records offered", "Registros de personas ofrecidos"),
                &m.record_count.to_string(),
            );
            f.text(lang.s("Linkage schema", "Esquema de cotejo"), &m.schema);
        }
        B::FirearmTrace(t) => {
            f.text(lang.s("Seized at", "Asegurada(s) en"), &t.seized_at);
            f.row(
                lang.s("Seized on", "Fecha de aseguramiento"),
                &time_tag(t.seized_on, offset),
            );
            f.row(
                lang.s("Priority", "Prioridad"),
                match t.priority {
                    TracePriority::Routine => lang.s("routine", "ordinaria"),
                    TracePriority::Urgent => lang.s("urgent", "urgente"),
                },
            );
            let mut table = format!(
                "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{label}\"><table><caption>{label}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
                 <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                lang.s("Manufacturer", "Fabricante"),
                lang.s("Model", "Modelo"),
                lang.s("Serial number", "Número de serie"),
                lang.s("Calibre", "Calibre"),
                lang.s("Recovered at", "Recuperada en"),
                lang.s("Crime code", "Clave de delito"),
                label = lang.s("Firearms to trace", "Armas por rastrear"),
            );
            for gun in &t.firearms {
                let _ = write!(
                    table,
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&gun.manufacturer),
                    escape(&gun.model),
                    escape(&gun.serial),
                    escape(&gun.caliber),
                    escape(&gun.recovered_at),
                    escape(&gun.crime_code)
                );
            }
            table.push_str("</tbody></table></div>");
            f.row(lang.s("Firearms", "Armas"), &table);
        }
        B::ExhibitConsent(c) => {
            f.row(
                lang.s("Joint investigation", "Investigación conjunta"),
                &format!(
                    "<a href=\"/cases/{id}\"><code>{id}</code></a>",
                    id = escape(&c.case_id)
                ),
            );
            let mut asked = String::from("<ol class=\"uses\">");
            for ask in c.asks() {
                let use_ = match lang {
                    Lang::En => ask.use_.describe(),
                    Lang::Es => ask.use_.describe_es(),
                };
                let _ = write!(
                    asked,
                    "<li>{} · <code>sha256:{}</code></li>",
                    escape(&use_),
                    escape(&ask.exhibit)
                );
            }
            asked.push_str("</ol>");
            f.row(lang.s("Uses asked for", "Usos solicitados"), &asked);
            f.text(lang.s("Why", "Motivo"), &c.reason);
            f.row(
                lang.s("What accepting does", "Qué significa aceptar"),
                lang.s(
                    "Consent to the uses ticked, of these exhibits only, by two approvers; the uses not ticked and any other use stay refused.",
                    "Consentir los usos marcados, solo de estos elementos de prueba, con dos aprobadores; los usos no marcados y cualquier otro uso siguen negados.",
                ),
            );
        }
        B::EvidenceRequest(r) => {
            f.row(
                lang.s("Evidence asked for", "Pruebas solicitadas de"),
                &format!(
                    "<a href=\"/proposals/{id}\"><code>{id}</code></a>",
                    id = r.about
                ),
            );
            f.text(lang.s("What is asked", "Qué se pide"), &r.asked);
            f.row(
                lang.s("What accepting does", "Qué significa aceptar"),
                lang.s(
                    "Releases the exhibits already released, under their conditions, in that proposal's evidence file; release them there first, under four eyes.",
                    "Entrega los elementos de prueba ya liberados, con sus condiciones, en el expediente de pruebas de esa propuesta; libérelos allí primero, con dos aprobadores.",
                ),
            );
        }
        B::FinancialIntelligence(fi) => {
            let mut value = String::from("<ul>");
            for a in &fi.accounts {
                let _ = write!(
                    value,
                    "<li><code>{}</code> {} {}</li>",
                    escape(&a.number),
                    escape(&a.scheme),
                    escape(&a.institution)
                );
            }
            value.push_str("</ul>");
            f.row(lang.s("Accounts", "Cuentas"), &value);
            f.row(
                lang.s("Window", "Periodo"),
                &format!(
                    "{} – {}",
                    time_tag(fi.window_from, offset),
                    time_tag(fi.window_to, offset)
                ),
            );
            if fi.amount_minor > 0 {
                f.row(
                    lang.s("Amount", "Monto"),
                    &format!(
                        "<strong>{}</strong>",
                        escape(&money(fi.amount_minor, &fi.currency))
                    ),
                );
                f.row(
                    lang.s("Exchange-rate basis", "Base del tipo de cambio"),
                    lang.s(
                        "none: the amount is in the currency the sender stated; the desk converts nothing, and amounts in the other currency are compared only at a rate the officers agree",
                        "ninguna: el monto está en la moneda que indicó el remitente; el escritorio no convierte nada, y los montos en la otra moneda solo se comparan al tipo de cambio que acuerden los oficiales",
                    ),
                );
            }
            f.text(lang.s("Question", "Pregunta"), &fi.question);
        }
        B::JointInvestigation(j) => {
            f.text(lang.s("Case", "Caso"), &j.case_title);
            f.text(lang.s("Summary", "Resumen"), &j.summary);
            let agencies: Vec<String> = j.agencies.iter().map(|a| a.to_string()).collect();
            f.list(lang.s("Agencies", "Autoridades"), &agencies);
            tasks.push((lang.s("Tasks", "Tareas"), &j.tasks));
        }
        B::CoordinatedOperation(op) | B::AssistanceOffer(op) => {
            f.text(lang.s("Operation", "Operación"), &op.name);
            f.text(lang.s("Summary", "Resumen"), &op.summary);
            tasks.push((lang.s("Tasks", "Tareas"), &op.tasks));
        }
        B::AdvanceNotification(n) => {
            f.row(lang.s("Measure", "Medida"), measure_text(lang, n.measure));
            f.text(lang.s("Title", "Título"), &n.title);
            f.text(lang.s("Summary", "Resumen"), &n.summary);
            f.row(
                lang.s("Takes effect", "Entra en vigor"),
                &time_tag(n.effective, offset),
            );
            f.list(lang.s("Targets", "Objetivos"), &n.targets);
            f.list(lang.s("Assurances", "Garantías"), &n.assurances);
            f.list(lang.s("Evidence", "Pruebas"), &n.evidence);
            tasks.push((lang.s("Acts", "Actos"), &n.acts));
        }
        B::BorderAlert(a) => {
            f.text(lang.s("Crossing", "Cruce"), &a.crossing);
            f.row(
                lang.s("Direction", "Dirección"),
                direction_text(lang, a.direction),
            );
            f.text(lang.s("Subject", "Sujeto"), &a.subject);
            f.text(lang.s("Details", "Detalles"), &a.details);
            tasks.push((lang.s("Acts", "Actos"), &a.acts));
        }
        B::SeizureReport(s) => {
            f.text(lang.s("Commodity", "Mercancía"), &s.commodity);
            f.text(
                lang.s("Quantity", "Cantidad"),
                &format!("{} {}", s.quantity, s.unit),
            );
            f.row(
                lang.s("Direction", "Dirección"),
                direction_text(lang, s.direction),
            );
            f.text(lang.s("Place", "Lugar"), &s.place);
            if let Some(location) = &s.location {
                f.row(
                    lang.s("Location", "Ubicación"),
                    &location_text(lang, location),
                );
            }
            f.row(lang.s("Seized on", "Fecha"), &time_tag(s.seized_on, offset));
            f.text(
                lang.s("Seizing agency", "Autoridad que aseguró"),
                s.agency.as_str(),
            );
        }
    }
    out.push_str("</dl>");
    for (caption, list) in tasks {
        if !list.is_empty() {
            out.push_str(&tasks_table(lang, caption, list));
        }
    }
    if !acts.is_empty() {
        out.push_str(&acts_table(lang, acts, party));
        out.push_str(&map_svg(lang, acts, party));
    }
    out
}

/// The sender's tasks as written.
fn tasks_table(lang: Lang, caption: &str, tasks: &[soberana_core::Task]) -> String {
    let mut out = format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{caption}\"><table class=\"tasks\"><caption>{caption} · {}</caption><thead><tr>\
         <th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.s("as the sender wrote them", "como las escribió el remitente"),
        lang.s("Agency", "Autoridad"),
        lang.s("Action", "Acción"),
        lang.s("Places", "Lugares"),
        lang.s("Armed", "Armados"),
        lang.s("Use of force", "Uso de la fuerza"),
        lang.s("Personnel", "Personal"),
        lang.s("Description", "Descripción"),
    );
    for (i, task) in tasks.iter().enumerate() {
        let mut places: Vec<String> = task
            .locations
            .iter()
            .map(|l| location_text(lang, l))
            .collect();
        if let Some(from) = &task.launched_from {
            places.push(format!(
                "{} {}",
                lang.s("launched from", "desde"),
                location_text(lang, from)
            ));
        }
        let mut agency = escape(task.agency.as_str());
        for p in &task.participants {
            let _ = write!(
                agency,
                "<br>+ {} ({}{})",
                escape(p.agency.as_str()),
                p.personnel,
                if p.armed {
                    lang.s(", armed", ", armados")
                } else {
                    ""
                }
            );
        }
        if let Some(command) = task.under_command_of {
            let _ = write!(
                agency,
                "<br><span class=\"muted\">{} {command}</span>",
                lang.s("under command of", "bajo el mando de")
            );
        }
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{agency}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            escape(&action_text(lang, task.action.as_str())),
            places.join("<br>"),
            flag(lang, task.armed),
            flag(lang, task.is_kinetic()),
            task.personnel,
            escape(&task.description)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// What our node established, act by act.
fn acts_table(lang: Lang, acts: &[ActFacts], party: &str) -> String {
    let mut out = format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{label}\"><table class=\"acts\"><caption>{label}</caption><thead><tr>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.s("Agency and its kind", "Autoridad y su tipo"),
        lang.s("Action", "Acción"),
        lang.s("Places, as established", "Lugares, según lo establecido"),
        lang.s("On our territory", "En nuestro territorio"),
        lang.s("Armed", "Armados"),
        lang.s("Use of force", "Uso de la fuerza"),
        lang.s("Forbidden by", "Prohibido por"),
        label = format!(
            "{} {}",
            lang.s("Facts established by", "Hechos establecidos por"),
            escape(party)
        ),
    );
    for act in acts {
        let mut places = String::new();
        for place in &act.places {
            let established = match (&place.established, place.sovereign) {
                (Some(_), Some(owner)) => {
                    format!("{} {owner}", lang.s("territory of", "territorio de"))
                }
                (Some(text), None) => escape(text),
                (None, _) => lang
                    .s(
                        "not resolvable: counted as ours",
                        "no se pudo ubicar: se cuenta como nuestro",
                    )
                    .to_owned(),
            };
            let _ = write!(
                places,
                "<div>{} → <strong>{established}</strong></div>",
                escape(&place.said)
            );
            if let Some(c) = &place.contradiction {
                // The policy engine words the detail in English.
                let _ = write!(
                    places,
                    "<div class=\"contradiction\">{}: {}</div>",
                    lang.s(
                        "Contradiction",
                        "Contradicción: la etiqueta del remitente no coincide con lo establecido"
                    ),
                    match lang {
                        Lang::En => escape(c),
                        Lang::Es => format!("<span lang=\"en\">{}</span>", escape(c)),
                    }
                );
            }
        }
        if act.places.is_empty() {
            places.push_str(lang.s(
                "none given: counted as ours",
                "ninguno indicado: se cuenta como nuestro",
            ));
        }
        let agency = format!(
            "{} <span class=\"muted\">({}, {}{})</span>",
            escape(&act.agency),
            agency_kind_text(lang, act.agency_kind),
            escape(&act.agency_party),
            if act.known_agency {
                ""
            } else {
                lang.s(", not in our registry", ", no registrada")
            }
        );
        let forbidden = act
            .forbidden_by
            .iter()
            .map(|p| format!("<code>{}</code>", escape(p)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(
            out,
            "<tr{}><td>{agency}</td><td>{}</td><td>{places}</td><td>{}</td><td>{}</td><td>{}</td><td>{forbidden}</td></tr>",
            if act.forbidden_by.is_empty() {
                ""
            } else {
                " class=\"forbidden\""
            },
            escape(&action_text(lang, &act.action)),
            flag(lang, act.on_territory),
            flag(lang, act.armed),
            flag(lang, act.kinetic),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The border between the two parties, west to east, as (latitude,
/// longitude): a coarse line for orientation only; what counts is the
/// node's own geography, which established the facts above.
const BORDER: [(f64, f64); 13] = [
    (32.53, -117.12),
    (32.72, -114.72),
    (32.49, -114.81),
    (31.33, -111.07),
    (31.33, -108.21),
    (31.78, -106.53),
    (29.56, -104.40),
    (29.00, -103.20),
    (29.80, -101.40),
    (28.70, -100.50),
    (27.50, -99.50),
    (26.20, -98.20),
    (25.95, -97.15),
];

/// A small map of the places our node resolved to points, drawn here as
/// SVG: the frame, the border line, and one numbered dot per place (filled
/// when on our territory). Nothing is fetched from elsewhere.
fn map_svg(lang: Lang, acts: &[ActFacts], party: &str) -> String {
    let points: Vec<(&str, f64, f64, bool)> = acts
        .iter()
        .flat_map(|a| a.places.iter())
        .filter_map(|p| {
            let (lat, lon) = p.point?;
            let ours = p.sovereign.is_some_and(|s| s.as_str() == party);
            (lat.is_finite() && lon.is_finite()).then_some((p.said.as_str(), lat, lon, ours))
        })
        .collect();
    if points.is_empty() {
        return String::new();
    }
    // The frame: the border region, widened to every point.
    let (mut south, mut north, mut west, mut east) = (14.0_f64, 34.0_f64, -118.5_f64, -86.0_f64);
    for &(_, lat, lon, _) in &points {
        south = south.min(lat - 1.0);
        north = north.max(lat + 1.0);
        west = west.min(lon - 1.0);
        east = east.max(lon + 1.0);
    }
    let (w, h) = (480.0, 300.0);
    let x = |lon: f64| (lon - west) / (east - west) * w;
    let y = |lat: f64| (north - lat) / (north - south) * h;
    let title = lang.s("Where the places are", "Dónde están los lugares");
    let desc = lang.s(
        "Places our node resolved, on a coarse outline of the border; filled dots are on our territory.",
        "Lugares que nuestro nodo ubicó, sobre un trazo aproximado de la frontera; los puntos rellenos están en nuestro territorio.",
    );
    let mut svg = format!(
        "<figure class=\"map\"><svg role=\"img\" aria-labelledby=\"map-title map-desc\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"map-title\">{title}</title><desc id=\"map-desc\">{desc}</desc>\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#f4f6f8\" stroke=\"#5a6270\"/>"
    );
    let line: Vec<String> = BORDER
        .iter()
        .map(|&(lat, lon)| format!("{:.1},{:.1}", x(lon), y(lat)))
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#5a6270\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>",
        line.join(" ")
    );
    let mut legend = String::from("<ol class=\"map-legend\">");
    for (i, &(said, lat, lon, ours)) in points.iter().enumerate() {
        let (cx, cy) = (x(lon), y(lat));
        let _ = write!(
            svg,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"7\" fill=\"{}\" stroke=\"#b3261e\" stroke-width=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
            if ours { "#b3261e" } else { "#ffffff" },
            cx + 9.0,
            cy + 4.0,
            i + 1
        );
        let _ = write!(
            legend,
            "<li>{} <span class=\"muted\">({lat:.2}, {lon:.2}{})</span></li>",
            escape(said),
            if ours {
                lang.s(", on our territory", ", en nuestro territorio")
            } else {
                ""
            }
        );
    }
    legend.push_str("</ol>");
    let _ = write!(
        svg,
        "</svg><figcaption>{}</figcaption>{legend}</figure>",
        lang.s(
            "Dashed: the border, drawn coarsely for orientation.",
            "Línea discontinua: la frontera, trazada de forma aproximada para orientarse.",
        )
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_carries_its_currency_and_minor_units() {
        assert_eq!(money(1_250_000, "USD"), "USD 12,500.00");
        assert_eq!(money(5, "MXN"), "MXN 0.05");
        assert_eq!(money(1_000, "JPY"), "JPY 1,000");
        assert_eq!(money(100, ""), "? 1.00");
    }

    #[test]
    fn actions_are_translated_and_unknown_ones_kept() {
        assert_eq!(action_text(Lang::Es, "patrol"), "patrullaje");
        assert_eq!(action_text(Lang::En, "cyber_operation"), "cyber operation");
        assert_eq!(action_text(Lang::Es, "other"), "other");
    }
}
