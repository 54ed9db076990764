//! A Sankey-style picture of a flow graph as SVG text, written by hand (no
//! dependency): one column per hop, node bars as tall as the money through
//! them, bands as wide as the money on each edge. The partner's leg is drawn
//! in another colour with dashed outlines, and the border is a dashed line
//! in front of the first partner column.

use std::collections::HashMap;
use std::fmt::Write;

use crate::trace::{FlowGraph, Leg, NodeKind};

/// Drawing options.
#[derive(Clone, Debug)]
pub struct SvgOptions {
    /// Most nodes drawn per column, largest first (default 24).
    pub max_per_column: usize,
    /// Height of the drawing area in pixels (default 640).
    pub height: f64,
    /// Title line.
    pub title: String,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            max_per_column: 24,
            height: 640.0,
            title: "Follow the money".to_owned(),
        }
    }
}

const COL_W: f64 = 230.0;
const BAR_W: f64 = 14.0;
const GAP: f64 = 10.0;
const TOP: f64 = 60.0;
const LEFT: f64 = 30.0;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Formats reference minor units as whole dollars with thousands separators.
pub fn dollars(cents: i64) -> String {
    let d = (cents / 100).unsigned_abs().to_string();
    let mut o = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    format!("{}${o}", if cents < 0 { "-" } else { "" })
}

fn short(key: &str) -> String {
    if key.chars().count() <= 26 {
        key.to_owned()
    } else {
        let head: String = key.chars().take(14).collect();
        let tail: String = key
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head}…{tail}")
    }
}

/// Draws the flow.
pub fn render(flow: &FlowGraph, opts: &SvgOptions) -> String {
    // Columns by hop; a node's size is the larger of its inflow and outflow.
    let size = |i: usize| flow.nodes[i].inflow.max(flow.nodes[i].outflow).max(1);
    let max_hop = flow
        .nodes
        .iter()
        .map(|n| usize::from(n.hop))
        .max()
        .unwrap_or(0);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); max_hop + 1];
    for (i, n) in flow.nodes.iter().enumerate() {
        cols[usize::from(n.hop)].push(i);
    }
    let mut hidden = vec![0usize; cols.len()];
    for (c, col) in cols.iter_mut().enumerate() {
        col.sort_by(|&a, &b| size(b).cmp(&size(a)).then(a.cmp(&b)));
        if col.len() > opts.max_per_column {
            hidden[c] = col.len() - opts.max_per_column;
            col.truncate(opts.max_per_column);
        }
    }
    let scale = cols
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            let total: i64 = c.iter().map(|&i| size(i)).sum();
            (opts.height - GAP * c.len() as f64) / total as f64
        })
        .fold(f64::INFINITY, f64::min);
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let mut pos: HashMap<usize, (f64, f64, f64)> = HashMap::new(); // x, y, h
    for (c, col) in cols.iter().enumerate() {
        let mut y = TOP;
        for &i in col {
            let h = (size(i) as f64 * scale).max(2.0);
            pos.insert(i, (LEFT + c as f64 * COL_W, y, h));
            y += h + GAP;
        }
    }
    let width = LEFT * 2.0 + cols.len() as f64 * COL_W;
    let height = TOP + opts.height + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"##,
        esc(&opts.title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="42" fill="#555">{} · {} · seeded {} · rule: {}</text>"##,
        flow.home,
        match flow.direction {
            crate::trace::Direction::Forward => "forward",
            crate::trace::Direction::Backward => "backward",
        },
        dollars(flow.seeded),
        esc(&flow.rule)
    );
    // The border: before the first column holding a partner node.
    if let Some(c) = cols
        .iter()
        .position(|col| col.iter().any(|&i| flow.nodes[i].leg != Leg::Home))
    {
        let x = LEFT + c as f64 * COL_W - (COL_W - BAR_W) / 2.0;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#b00" stroke-width="2" stroke-dasharray="8 6"/><text x="{:.1}" y="{:.1}" fill="#b00">border: partner's leg →</text>"##,
            TOP - 8.0,
            TOP + opts.height,
            x + 4.0,
            TOP + opts.height + 16.0
        );
    }
    // Bands: stacked at the source in the order of their targets' heights
    // and at the target in the order of their sources', so they do not cross
    // needlessly.
    let drawn: Vec<usize> = (0..flow.edges.len())
        .filter(|&e| {
            pos.contains_key(&(flow.edges[e].from as usize))
                && pos.contains_key(&(flow.edges[e].to as usize))
        })
        .collect();
    let y_of = |n: u32| pos.get(&(n as usize)).map_or(0.0, |p| p.1);
    let width_of = |e: usize| (flow.edges[e].value as f64 * scale).max(0.5);
    let mut start_y: HashMap<usize, f64> = HashMap::new();
    let mut by_target = drawn.clone();
    by_target.sort_by(|&a, &b| y_of(flow.edges[a].to).total_cmp(&y_of(flow.edges[b].to)));
    let mut off: HashMap<u32, f64> = HashMap::new();
    for &e in &by_target {
        let f = flow.edges[e].from;
        let o = off.entry(f).or_insert(0.0);
        start_y.insert(e, y_of(f) + *o);
        *o += width_of(e);
    }
    let mut end_y: HashMap<usize, f64> = HashMap::new();
    let mut by_source = drawn.clone();
    by_source.sort_by(|&a, &b| y_of(flow.edges[a].from).total_cmp(&y_of(flow.edges[b].from)));
    off.clear();
    for &e in &by_source {
        let t = flow.edges[e].to;
        let o = off.entry(t).or_insert(0.0);
        end_y.insert(e, y_of(t) + *o);
        *o += width_of(e);
    }
    for e in drawn {
        let edge = &flow.edges[e];
        let (f, t) = (edge.from as usize, edge.to as usize);
        let (Some(&(x0, _, _)), Some(&(x1, _, _))) = (pos.get(&f), pos.get(&t)) else {
            continue;
        };
        let w = width_of(e);
        let sy = start_y.get(&e).copied().unwrap_or(0.0);
        let ty = end_y.get(&e).copied().unwrap_or(0.0);
        let sx = x0 + BAR_W;
        let tx = x1;
        let mx = (sx + tx) / 2.0;
        let (fill, dash) = match edge.leg {
            Leg::Home => ("#4a7bb7", ""),
            Leg::Partner(_) => ("#e08a2c", r##" stroke="#b35f00" stroke-dasharray="4 3""##),
        };
        let _ = writeln!(
            s,
            r#"<path d="M{sx:.1},{sy:.1} C{mx:.1},{sy:.1} {mx:.1},{ty:.1} {tx:.1},{ty:.1} L{tx:.1},{:.1} C{mx:.1},{:.1} {mx:.1},{:.1} {sx:.1},{:.1} Z" fill="{fill}" fill-opacity="0.35"{dash}><title>{} → {}: {} in {} transaction(s)</title></path>"#,
            ty + w,
            ty + w,
            sy + w,
            sy + w,
            esc(&flow.nodes[f].key),
            esc(&flow.nodes[t].key),
            dollars(edge.value),
            edge.tx_count
        );
    }
    // Node bars and labels.
    for (c, col) in cols.iter().enumerate() {
        for &i in col {
            let n = &flow.nodes[i];
            let Some(&(x, y, h)) = pos.get(&i) else {
                continue;
            };
            let (fill, stroke) = match (n.kind, n.leg) {
                (NodeKind::Seed, _) => ("#222222", "#000000"),
                (NodeKind::Border, _) => ("#c0392b", "#7b1d14"),
                (NodeKind::CashOut | NodeKind::CashIn, Leg::Home) => ("#2e8b57", "#1b5e20"),
                (NodeKind::CashOut | NodeKind::CashIn, _) => ("#8bc34a", "#b35f00"),
                (_, Leg::Partner(_)) => ("#e08a2c", "#b35f00"),
                _ => ("#4a7bb7", "#2c4f7c"),
            };
            let dash = if n.leg == Leg::Home {
                ""
            } else {
                r#" stroke-dasharray="3 2""#
            };
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{BAR_W}" height="{h:.1}" fill="{fill}" stroke="{stroke}"{dash}><title>{}</title></rect>"#,
                esc(&n.key)
            );
            let mut label = short(&n.key);
            if n.reported {
                label.push_str(" ⚑");
            }
            if n.kind == NodeKind::Border {
                label.push_str(" (border)");
            }
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}">{}</text><text x="{:.1}" y="{:.1}" fill="#555">{}</text>"##,
                x + BAR_W + 4.0,
                y + h / 2.0,
                esc(&label),
                x + BAR_W + 4.0,
                y + h / 2.0 + 12.0,
                dollars(n.inflow.max(n.outflow))
            );
        }
        if hidden[c] > 0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#777">+{} smaller not drawn</text>"##,
                LEFT + c as f64 * COL_W,
                TOP + opts.height + 34.0,
                hidden[c]
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{:.1}" fill="#555">■ seed  <tspan fill="#4a7bb7">■ our accounts</tspan>  <tspan fill="#c0392b">■ border account</tspan>  <tspan fill="#2e8b57">■ cash out</tspan>  <tspan fill="#e08a2c">■ partner's leg (pseudonymous)</tspan>  ⚑ already reported</text>"##,
        height - 12.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Country;
    use crate::trace::{Direction, FlowEdge, FlowNode};

    fn node(key: &str, kind: NodeKind, hop: u8, v: i64, leg: Leg) -> FlowNode {
        FlowNode {
            key: key.into(),
            kind,
            country: None,
            hop,
            inflow: v,
            outflow: v,
            retained: 0,
            reported: false,
            border_zone: false,
            leg,
        }
    }

    fn edge(from: u32, to: u32, value: i64, leg: Leg) -> FlowEdge {
        FlowEdge {
            from,
            to,
            value,
            tx_count: 1,
            first: 0,
            last: 0,
            tx_ids: vec![],
            channels: vec![],
            leg,
        }
    }

    #[test]
    fn draws_both_legs_the_border_and_escapes_text() {
        let p = Leg::Partner(Country::MX);
        let flow = FlowGraph {
            direction: Direction::Forward,
            rule: "tainted-first FIFO".into(),
            home: Country::US,
            max_hops: 6,
            from: 0,
            to: 0,
            seeded: 100_000,
            nodes: vec![
                node("us:<seed>&", NodeKind::Seed, 0, 100_000, Leg::Home),
                node(
                    "clabe:032180000118359719",
                    NodeKind::Border,
                    1,
                    90_000,
                    Leg::Home,
                ),
                node("partner:MX:abc", NodeKind::Partner, 2, 80_000, p),
            ],
            edges: vec![edge(0, 1, 90_000, Leg::Home), edge(1, 2, 80_000, p)],
        };
        let svg = render(&flow, &SvgOptions::default());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert_eq!(svg.matches("<rect x=").count(), 3);
        assert!(svg.contains("border: partner"));
        assert!(svg.contains("us:&lt;seed&gt;&amp;"));
        assert!(!svg.contains("<seed>"));
        assert!(
            svg.contains("stroke-dasharray=\"4 3\""),
            "the partner's band is dashed"
        );
        assert_eq!(dollars(123_456_789), "$1,234,567");
        assert_eq!(dollars(-100), "-$1");
    }
}
