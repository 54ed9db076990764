//! Outcome figures drawn as SVG on the server: proposals by kind and
//! decision, response times against deadlines, red-line refusals, and
//! seizure reports by direction.
//!
//! The charts are plain horizontal bar charts written by hand (no plotting
//! crate, no script): every label passes through [`escape`], and each chart
//! carries a `<title>` and `<desc>` so that a screen reader can say what it
//! shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use soberana_core::{DecidedBy, Direction, FlowDirection, Outcome, ProposalBody, ProposalKind};
use soberana_store::ProposalDetail;

use crate::html::{Zone, escape, working_seconds};
use crate::i18n::Lang;
use crate::lists::ByPolicy;
use crate::pages::SignedIn;
use crate::{Desk, DeskError};

/// At most this many proposals are read for the figures.
const MAX_PROPOSALS: usize = 2_000;

/// One bar series: its name and colour.
struct Series {
    name: String,
    color: &'static str,
}

/// One row of bars.
struct Row {
    label: String,
    values: Vec<f64>,
    note: String,
}

const PALETTE: [&str; 5] = ["#1b7f5b", "#b3261e", "#c47f00", "#3a5ba0", "#8a8f98"];

/// Draws a horizontal bar chart; `stacked` puts a row's values end to end,
/// otherwise each value gets its own thinner bar.
fn bars(
    id: &str,
    title: &str,
    desc: &str,
    series: &[Series],
    rows: &[Row],
    stacked: bool,
) -> String {
    let (label_w, bar_w, pad) = (220.0, 400.0, 12.0);
    let band = if stacked {
        26.0
    } else {
        12.0 * series.len().max(1) as f64 + 10.0
    };
    let legend_h = 50.0;
    let height = pad * 2.0 + legend_h + band * rows.len().max(1) as f64;
    let width = label_w + bar_w + 140.0;
    let max = rows
        .iter()
        .map(|r| {
            if stacked {
                r.values.iter().sum::<f64>()
            } else {
                r.values.iter().copied().fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max)
        .max(1.0);
    let scale = bar_w / max;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    );
    let _ = write!(
        out,
        "<text x=\"{pad}\" y=\"{}\" font-size=\"15\" font-weight=\"600\">{}</text>",
        pad + 12.0,
        escape(title)
    );
    let mut x = label_w;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            pad + 26.0,
            s.color,
            x + 16.0,
            pad + 37.0,
            escape(&s.name)
        );
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    if rows.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{label_w}\" y=\"{}\" font-size=\"13\" fill=\"#555\">—</text>",
            pad + legend_h + 18.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let top = pad + legend_h + band * i as f64;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            top + band / 2.0 + 4.0,
            escape(&row.label)
        );
        let mut start = label_w;
        for (j, value) in row.values.iter().enumerate() {
            let color = series.get(j).map_or("#888", |s| s.color);
            let w = (value * scale).max(0.0);
            if stacked {
                if w > 0.0 {
                    let _ = write!(
                        out,
                        "<rect x=\"{start:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"18\" fill=\"{color}\"><title>{}: {}</title></rect>",
                        top + 4.0,
                        escape(series.get(j).map_or("", |s| s.name.as_str())),
                        value
                    );
                }
                start += w;
            } else {
                let y = top + 4.0 + 12.0 * j as f64;
                let _ = write!(
                    out,
                    "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"10\" fill=\"{color}\"/>"
                );
            }
        }
        let end = if stacked {
            start
        } else {
            label_w + row.values.iter().copied().fold(0.0, f64::max) * scale
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            end + 6.0,
            top + band / 2.0 + 4.0,
            escape(&row.note)
        );
    }
    out.push_str("</svg>");
    out
}

/// What the figures are made from.
struct Figures {
    by_kind: BTreeMap<ProposalKind, [f64; 5]>,
    /// Per kind: (seconds taken to decide, seconds the agreed answer time allowed).
    response: BTreeMap<ProposalKind, Vec<(f64, f64)>>,
    /// Per kind: working seconds taken to decide (weekdays, office hours,
    /// in the officer's zone).
    working: BTreeMap<ProposalKind, Vec<f64>>,
    /// Per kind: proposals whose agreed answer time was breached (recorded
    /// in their history and the log), answered late or still open.
    breaches: BTreeMap<ProposalKind, usize>,
    red_lines: BTreeMap<String, f64>,
    /// Incoming proposals policy decided alone, as the decided-by-policy
    /// list counts them (refused, acknowledged, accepted).
    by_policy: [usize; 3],
    seizures: BTreeMap<(bool, bool), f64>,
}

fn gather(desk: &Desk, zone: &Zone) -> Result<Figures, DeskError> {
    let node = desk.node();
    let mut figures = Figures {
        by_kind: BTreeMap::new(),
        response: BTreeMap::new(),
        working: BTreeMap::new(),
        breaches: BTreeMap::new(),
        red_lines: BTreeMap::new(),
        by_policy: [0; 3],
        seizures: BTreeMap::new(),
    };
    for record in node.list(None, vec![])?.into_iter().take(MAX_PROPOSALS) {
        let detail: ProposalDetail = node.show(record.id())?;
        if let Some(by) = ByPolicy::of(&detail)
            && let Some(slot) = ByPolicy::ALL.iter().position(|b| *b == by)
            && let Some(n) = figures.by_policy.get_mut(slot)
        {
            *n += 1;
        }
        let slot = match detail.decision.as_ref().map(|d| &d.outcome) {
            Some(Outcome::Accepted | Outcome::AcceptedWithConditions { .. }) => 0,
            Some(Outcome::Refused) => 1,
            Some(Outcome::MoreInformationNeeded { .. }) => 2,
            None if detail.receipt.is_some() => 3,
            None => 4,
        };
        if let Some(counts) = figures
            .by_kind
            .entry(record.kind())
            .or_insert([0.0; 5])
            .get_mut(slot)
        {
            *counts += 1.0;
        }
        if detail
            .events
            .iter()
            .any(|e| e.event.starts_with("deadline breached"))
        {
            *figures.breaches.entry(record.kind()).or_default() += 1;
            figures.response.entry(record.kind()).or_default();
        }
        if let Some(decision) = &detail.decision {
            let p = &record.proposal;
            // The agreed answer time, not the sender's wished deadline.
            let allowed = node.answer_time(record.kind()).as_secs().max(1) as f64;
            let taken = p.created.seconds_until(decision.decided_at).max(0) as f64;
            figures
                .working
                .entry(record.kind())
                .or_default()
                .push(working_seconds(p.created, decision.decided_at, zone) as f64);
            figures
                .response
                .entry(record.kind())
                .or_default()
                .push((taken, allowed));
            // A red line: refused by policy alone, naming a policy outside
            // the operational layer (whose ids start with `op.`).
            if decision.outcome == Outcome::Refused && decision.decided_by == DecidedBy::Policy {
                for reason in &decision.reasons {
                    if let Some(policy) = &reason.policy
                        && !policy.starts_with("op.")
                    {
                        *figures.red_lines.entry(policy.clone()).or_insert(0.0) += 1.0;
                    }
                }
            }
        }
        if let ProposalBody::SeizureReport(report) = &record.proposal.body {
            let north = report.direction == FlowDirection::Northbound;
            let ours = record.direction == Direction::Outgoing;
            *figures.seizures.entry((north, ours)).or_insert(0.0) += 1.0;
        }
    }
    Ok(figures)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values.get(n / 2).copied().unwrap_or(0.0),
        _ => {
            (values.get(n / 2 - 1).copied().unwrap_or(0.0)
                + values.get(n / 2).copied().unwrap_or(0.0))
                / 2.0
        }
    }
}

/// A span of seconds in the largest sensible unit.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 86_400 {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3_600)
    } else if s >= 3_600 {
        format!("{} h {} min", s / 3_600, (s % 3_600) / 60)
    } else if s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn kind_name(lang: Lang, kind: ProposalKind) -> String {
    crate::pages::kind_text(lang, kind).to_owned()
}

fn draw(lang: Lang, name: &str, figures: &mut Figures) -> Option<String> {
    let svg = match name {
        "by-kind" => {
            let series = [
                lang.s("accepted", "aceptadas"),
                lang.s("refused", "rechazadas"),
                lang.s("more information", "más información"),
                lang.s("acknowledged", "acusadas"),
                lang.s("open", "abiertas"),
            ]
            .iter()
            .zip(PALETTE)
            .map(|(n, c)| Series {
                name: (*n).to_owned(),
                color: c,
            })
            .collect::<Vec<_>>();
            let rows: Vec<Row> = figures
                .by_kind
                .iter()
                .map(|(kind, counts)| Row {
                    label: kind_name(lang, *kind),
                    values: counts.to_vec(),
                    note: format!("{}", counts.iter().sum::<f64>()),
                })
                .collect();
            bars(
                name,
                lang.s(
                    "Proposals by kind and decision",
                    "Propuestas por tipo y decisión",
                ),
                lang.s(
                    "Both directions; each bar is split by how the proposal was decided.",
                    "Ambas direcciones; cada barra se divide según la decisión.",
                ),
                &series,
                &rows,
                true,
            )
        }
        "response" => {
            let series = [Series {
                name: lang
                    .s(
                        "median share of the time allowed used",
                        "mediana del plazo usado",
                    )
                    .to_owned(),
                color: PALETTE[3],
            }];
            let rows: Vec<Row> = figures
                .response
                .iter_mut()
                .map(|(kind, times)| {
                    let breached = figures.breaches.get(kind).copied().unwrap_or(0);
                    let mut shares: Vec<f64> = times.iter().map(|t| 100.0 * t.0 / t.1).collect();
                    let mut taken: Vec<f64> = times.iter().map(|t| t.0).collect();
                    let mut allowed: Vec<f64> = times.iter().map(|t| t.1).collect();
                    let m = median(&mut shares);
                    let mut working = figures.working.get(kind).cloned().unwrap_or_default();
                    Row {
                        label: kind_name(lang, *kind),
                        values: vec![m],
                        note: format!(
                            "{m:.1}% · {} {} {} · {} {} · n={} · {} {breached}",
                            duration(median(&mut taken)),
                            lang.s("of", "de"),
                            duration(median(&mut allowed)),
                            duration(median(&mut working)),
                            lang.s("working", "laborables"),
                            shares.len(),
                            lang.s("breaches", "incumplimientos")
                        ),
                    }
                })
                .collect();
            bars(
                name,
                lang.s("Response times against deadlines", "Tiempos de respuesta frente a plazos"),
                lang.s("Time from sending to decision as a share of the agreed answer time; over 100% is late. Beside the calendar time, the working time: weekdays 09:00–18:00 in your time zone. Breaches count every proposal whose answer time passed, answered late or still open.", "Tiempo del envío a la decisión como parte del plazo de respuesta acordado; más de 100% es tarde. Junto al tiempo natural, el tiempo laborable: días hábiles de 09:00 a 18:00 en su zona horaria. Los incumplimientos cuentan cada propuesta cuyo plazo venció, respondida tarde o aún abierta."),
                &series,
                &rows,
                false,
            )
        }
        "red-lines" => {
            let series = [Series {
                name: lang
                    .s("refused by a red line", "rechazadas por una línea roja")
                    .to_owned(),
                color: PALETTE[1],
            }];
            let rows: Vec<Row> = figures
                .red_lines
                .iter()
                .map(|(policy, n)| Row {
                    label: policy.clone(),
                    values: vec![*n],
                    note: format!("{n}"),
                })
                .collect();
            bars(
                name,
                lang.s("Red-line refusals", "Rechazos por líneas rojas"),
                lang.s(
                    "Proposals refused by a constitutional policy, by policy.",
                    "Propuestas rechazadas por una política constitucional, por política.",
                ),
                &series,
                &rows,
                false,
            )
        }
        "seizures" => {
            let series = [
                Series {
                    name: lang
                        .s("reported by us", "reportados por nosotros")
                        .to_owned(),
                    color: PALETTE[0],
                },
                Series {
                    name: lang.s("reported to us", "reportados a nosotros").to_owned(),
                    color: PALETTE[3],
                },
            ];
            let rows: Vec<Row> = [
                (true, lang.s("northbound", "hacia el norte")),
                (false, lang.s("southbound", "hacia el sur")),
            ]
            .into_iter()
            .map(|(north, label)| {
                let ours = figures.seizures.get(&(north, true)).copied().unwrap_or(0.0);
                let theirs = figures
                    .seizures
                    .get(&(north, false))
                    .copied()
                    .unwrap_or(0.0);
                Row {
                    label: label.to_owned(),
                    values: vec![ours, theirs],
                    note: format!("{ours} / {theirs}"),
                }
            })
            .collect();
            bars(
                name,
                lang.s("Seizure reports by direction", "Reportes de aseguramiento por dirección"),
                lang.s("Seizure reports by the direction the goods were moving, sent and received.", "Reportes de aseguramiento según la dirección de la mercancía, enviados y recibidos."),
                &series,
                &rows,
                false,
            )
        }
        _ => return None,
    };
    Some(svg)
}

const CHARTS: [&str; 4] = ["by-kind", "response", "red-lines", "seizures"];

/// The outcomes page body: every chart, inline.
pub(crate) fn outcomes_page(desk: &Desk, officer: &SignedIn) -> Result<String, DeskError> {
    let mut figures = gather(desk, officer.offset())?;
    let lang = officer.lang;
    // The same counts as the decided-by-policy list, which they link to.
    let mut out = format!(
        "<p class=\"by-policy\">{}",
        lang.s(
            "Partner proposals policy decided without an officer:",
            "Propuestas de la contraparte que la política decidió sin un oficial:"
        )
    );
    for (i, (by, n)) in ByPolicy::ALL.iter().zip(figures.by_policy).enumerate() {
        let _ = write!(
            out,
            "{} <a href=\"/decided?outcome={}\">{} (<span class=\"count-{}\">{n}</span>)</a>",
            if i == 0 { "" } else { " ·" },
            by.code(),
            by.label(lang),
            by.code()
        );
    }
    out.push_str("</p>");
    for name in CHARTS {
        if let Some(svg) = draw(officer.lang, name, &mut figures) {
            let _ = write!(out, "<figure>{svg}</figure>");
        }
    }
    Ok(out)
}

/// One chart as an SVG document.
pub(crate) fn chart_by_name(
    desk: &Desk,
    officer: &SignedIn,
    name: &str,
) -> Result<String, DeskError> {
    if !CHARTS.contains(&name) {
        return Err(DeskError::NotFound(name.chars().take(40).collect()));
    }
    let mut figures = gather(desk, officer.offset())?;
    draw(officer.lang, name, &mut figures).ok_or_else(|| DeskError::NotFound(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let series = [Series {
            name: "<s>".into(),
            color: "#000",
        }];
        let rows = [
            Row {
                label: "<script>x</script>".into(),
                values: vec![2.0],
                note: "\"2\"".into(),
            },
            Row {
                label: "b".into(),
                values: vec![4.0],
                note: String::new(),
            },
        ];
        let svg = bars("c", "t<", "d&", &series, &rows, false);
        assert!(!svg.contains("<script>") && !svg.contains("<s>") && !svg.contains("t<"));
        assert!(
            svg.contains("width=\"200.0\""),
            "half of the 400 px bar area"
        );
        assert!(svg.contains("width=\"400.0\""));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration(5.0), "5 s");
        assert_eq!(duration(125.0), "2 min");
        assert_eq!(duration(3.0 * 3600.0 + 60.0), "3 h 1 min");
        assert_eq!(duration(3.0 * 86400.0 + 4.0 * 3600.0), "3 d 4 h");
        assert_eq!(duration(-3.0), "0 s");
    }

    #[test]
    fn medians_of_odd_even_and_empty_sets() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
