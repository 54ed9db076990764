//! Money-laundering typologies found in a [`Graph`], each alert carrying
//! the transactions that are its evidence.
//!
//! The rules follow the red-flag indicators published by FinCEN (e.g.
//! advisories FIN-2014-A005 on funnel accounts and FIN-2010-A001 on
//! structuring) and the FATF's typology reports; every threshold is
//! configuration ([`TypologyConfig`]) with a documented default. All
//! detectors work account by account over the time-sorted adjacency, so a
//! full scan is one pass over the graph with bounded work per transaction
//! (the `max_scan` caps stop hub accounts from turning a scan quadratic).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::graph::{Graph, NONE};
use crate::model::{AccountId, Channel, Country, Currency, TxId};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// The kinds of pattern found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typology {
    /// Cash deposits kept just under a reporting threshold, spread over
    /// branches and days.
    Structuring,
    /// Money paid in from many places and taken out quickly in cash.
    Funnel,
    /// A large inflow dispersed quickly to many new counterparties.
    FanOut,
    /// Money that leaves almost as soon and as much as it arrived, again
    /// and again.
    PassThrough,
    /// Money that comes back to where it started.
    RoundTrip,
    /// Money split across intermediaries and gathered again in one account.
    ScatterGather,
}

impl Typology {
    /// Every kind.
    pub const ALL: [Typology; 6] = [
        Typology::Structuring,
        Typology::Funnel,
        Typology::FanOut,
        Typology::PassThrough,
        Typology::RoundTrip,
        Typology::ScatterGather,
    ];

    /// The snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Typology::Structuring => "structuring",
            Typology::Funnel => "funnel",
            Typology::FanOut => "fan_out",
            Typology::PassThrough => "pass_through",
            Typology::RoundTrip => "round_trip",
            Typology::ScatterGather => "scatter_gather",
        }
    }
}

/// One structuring rule: cash deposits in `currency` each in
/// `[threshold × band, threshold)`, at least `min_deposits` of them into one
/// account within `window`, adding up to more than the threshold, made at
/// `min_places` branches or more on `min_days` days or more (a business
/// paying in its takings at its own branch is not structuring).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StructuringRule {
    /// Only deposits made in this country (`None`: anywhere).
    pub country: Option<Country>,
    /// Currency of the deposits.
    pub currency: Currency,
    /// The reporting line, in minor units of `currency`.
    pub threshold: i64,
    /// Lower edge of "just under", as a fraction of the threshold.
    pub band: f64,
    /// Fewest deposits.
    pub min_deposits: usize,
    /// Seconds the deposits must fall within.
    pub window: i64,
    /// Fewest distinct branches.
    pub min_places: usize,
    /// Fewest distinct days.
    pub min_days: usize,
}

/// Thresholds of every detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TypologyConfig {
    /// Structuring rules. Default: the US Currency Transaction Report line
    /// (cash over USD 10,000, 31 CFR 1010.311): three or more USD cash
    /// deposits of USD 8,000–9,999.99 in 7 days at two branches or more on
    /// two days or more; and Mexico's cap on US
    /// dollar cash deposits (USD 4,000 a month for individuals, Banxico
    /// rules of 2010): two or more USD deposits of USD 2,000–3,999.99 in 30
    /// days.
    pub structuring: Vec<StructuringRule>,
    /// Funnel: distinct sources (senders or deposit places) into one account
    /// within this window (default 14 days).
    pub funnel_window: i64,
    /// Funnel: fewest distinct sources (default 5).
    pub funnel_min_sources: usize,
    /// Funnel: cash withdrawals counted within this long of each other
    /// (default 72 hours).
    pub funnel_withdraw_within: i64,
    /// Funnel: share of the inflow withdrawn in cash (default 0.7).
    pub funnel_min_share: f64,
    /// Funnel: only withdrawals in a border zone count (default true).
    pub funnel_border_only: bool,
    /// Funnel: smallest total inflow, reference minor units (default USD 5,000).
    pub funnel_min_value: i64,
    /// Fan-out: smallest triggering inflow, reference minor units (default USD 5,000).
    pub fan_out_min_value: i64,
    /// Fan-out: window after the inflow (default 3 days).
    pub fan_out_window: i64,
    /// Fan-out: fewest new recipients (default 5).
    pub fan_out_min_recipients: usize,
    /// Fan-out: share of the inflow sent to new recipients (default 0.7).
    pub fan_out_min_share: f64,
    /// Fan-out: a recipient paid within this long before is not new
    /// (default 60 days); inflows in the first such stretch of the ledger
    /// are not judged, for want of history.
    pub fan_out_lookback: i64,
    /// Pass-through: smallest inflow, reference minor units (default USD 3,000).
    pub pass_min_value: i64,
    /// Pass-through: outflows within this long of the inflow (default 48 hours).
    pub pass_within: i64,
    /// Pass-through: outflow as a share of the inflow, lower bound (default 0.9).
    pub pass_min_share: f64,
    /// Pass-through: upper bound (default 1.1).
    pub pass_max_share: f64,
    /// Pass-through: fewest such events per account (default 2).
    pub pass_min_events: usize,
    /// Pass-through: share of the account's large inflows that pass
    /// through (default 0.5): a business that now and then pays out what
    /// it just received is not a pass-through account.
    pub pass_min_ratio: f64,
    /// Round trip: shortest cycle (default 3 transactions: two accounts
    /// paying each other back and forth is ordinary trade).
    pub cycle_min_len: usize,
    /// Round trip: longest cycle (default 4 transactions).
    pub cycle_max_len: usize,
    /// Round trip: the cycle completes within this long (default 30 days).
    pub cycle_window: i64,
    /// Round trip: smallest first payment, reference minor units (default USD 5,000).
    pub cycle_min_value: i64,
    /// Round trip: each hop keeps at least this share of the one before (default 0.8).
    pub cycle_min_keep: f64,
    /// Scatter-gather: window for both legs (default 7 days).
    pub sg_window: i64,
    /// Scatter-gather: fewest intermediaries (default 3).
    pub sg_min_intermediaries: usize,
    /// Scatter-gather: smallest scatter leg, reference minor units (default USD 1,000).
    pub sg_min_value: i64,
    /// Scatter-gather: a gather leg carries at least this share of its scatter leg (default 0.5).
    pub sg_min_keep: f64,
    /// Most transactions any one step of a detector looks at (default 256).
    pub max_scan: usize,
}

impl Default for TypologyConfig {
    fn default() -> Self {
        TypologyConfig {
            structuring: vec![
                StructuringRule {
                    country: None,
                    currency: Currency::Usd,
                    threshold: 1_000_000,
                    band: 0.8,
                    min_deposits: 3,
                    window: 7 * DAY,
                    min_places: 2,
                    min_days: 2,
                },
                StructuringRule {
                    country: Some(Country::MX),
                    currency: Currency::Usd,
                    threshold: 400_000,
                    band: 0.5,
                    min_deposits: 2,
                    window: 30 * DAY,
                    min_places: 1,
                    min_days: 2,
                },
            ],
            funnel_window: 14 * DAY,
            funnel_min_sources: 5,
            funnel_withdraw_within: 72 * HOUR,
            funnel_min_share: 0.7,
            funnel_border_only: true,
            funnel_min_value: 500_000,
            fan_out_min_value: 500_000,
            fan_out_window: 3 * DAY,
            fan_out_min_recipients: 5,
            fan_out_min_share: 0.7,
            fan_out_lookback: 60 * DAY,
            pass_min_value: 300_000,
            pass_within: 48 * HOUR,
            pass_min_share: 0.9,
            pass_max_share: 1.1,
            pass_min_events: 2,
            pass_min_ratio: 0.5,
            cycle_min_len: 3,
            cycle_max_len: 4,
            cycle_window: 30 * DAY,
            cycle_min_value: 500_000,
            cycle_min_keep: 0.8,
            sg_window: 7 * DAY,
            sg_min_intermediaries: 3,
            sg_min_value: 100_000,
            sg_min_keep: 0.5,
            max_scan: 256,
        }
    }
}

/// A pattern found, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What kind.
    pub kind: Typology,
    /// The account at its centre (the structured, funnel, fanning-out,
    /// pass-through, cycle-starting or gathering account).
    pub account: AccountId,
    /// Money involved, reference minor units.
    pub value: i64,
    /// Time of the first evidence transaction.
    pub first: i64,
    /// Time of the last.
    pub last: i64,
    /// The transactions that show it.
    pub evidence: Vec<TxId>,
}

/// Scans every account of the graph.
pub fn scan(g: &Graph, cfg: &TypologyConfig) -> Vec<Alert> {
    let mut out = Vec::new();
    let ctx = Ctx::new(g, cfg);
    for a in 0..g.account_count() as u32 {
        ctx.account(a, &mut out);
    }
    out
}

/// Scans every account on `threads` threads (accounts dealt out in
/// blocks); the alerts come out in the same order as [`scan`]'s.
pub fn scan_parallel(g: &Graph, cfg: &TypologyConfig, threads: usize) -> Vec<Alert> {
    let threads = threads.max(1);
    let n = g.account_count() as u32;
    if threads == 1 || n < 1024 {
        return scan(g, cfg);
    }
    // Small blocks taken in turn balance hub accounts across threads;
    // sorting the blocks back restores the sequential order.
    const BLOCK: u32 = 4096;
    let next = std::sync::atomic::AtomicU32::new(0);
    let mut parts: Vec<(u32, Vec<Alert>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let ctx = Ctx::new(g, cfg);
                    let mut mine = Vec::new();
                    loop {
                        let start = next.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
                        if start >= n {
                            break;
                        }
                        let mut out = Vec::new();
                        for a in start..(start.saturating_add(BLOCK)).min(n) {
                            ctx.account(a, &mut out);
                        }
                        mine.push((start, out));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    parts.sort_by_key(|p| p.0);
    parts.into_iter().flat_map(|p| p.1).collect()
}

/// Scans only these accounts (e.g. those a trace reached).
pub fn scan_accounts(g: &Graph, cfg: &TypologyConfig, accounts: &[u32]) -> Vec<Alert> {
    let mut out = Vec::new();
    let ctx = Ctx::new(g, cfg);
    for &a in accounts {
        if (a as usize) < g.account_count() {
            ctx.account(a, &mut out);
        }
    }
    out
}

struct Ctx<'g> {
    g: &'g Graph,
    cfg: &'g TypologyConfig,
    start: i64,
}

impl<'g> Ctx<'g> {
    fn new(g: &'g Graph, cfg: &'g TypologyConfig) -> Self {
        let start = if g.is_empty() { 0 } else { g.time(0) };
        Ctx { g, cfg, start }
    }

    fn account(&self, a: u32, out: &mut Vec<Alert>) {
        for rule in &self.cfg.structuring {
            self.structuring(a, rule, out);
        }
        self.funnel(a, out);
        self.fan_out(a, out);
        self.pass_through(a, out);
        self.round_trip(a, out);
        self.scatter_gather(a, out);
    }

    fn alert(&self, kind: Typology, a: u32, txs: &[u32]) -> Alert {
        let g = self.g;
        let mut evidence: Vec<u32> = txs.to_vec();
        evidence.sort_unstable();
        evidence.dedup();
        Alert {
            kind,
            // `a` comes from the graph's own adjacency, so it is in range.
            account: g.accounts[a as usize].clone(),
            value: evidence.iter().map(|&t| g.value(t)).sum(),
            first: evidence.first().map_or(0, |&t| g.time(t)),
            last: evidence.last().map_or(0, |&t| g.time(t)),
            evidence: evidence.iter().map(|&t| g.tx_id(t)).collect(),
        }
    }

    fn structuring(&self, a: u32, rule: &StructuringRule, out: &mut Vec<Alert>) {
        let g = self.g;
        let low = (rule.threshold as f64 * rule.band) as i64;
        let cands: Vec<u32> = g
            .incoming(a)
            .iter()
            .copied()
            .filter(|&t| {
                g.channel(t) == Channel::CashDeposit
                    && g.currency(t) == rule.currency
                    && (low..rule.threshold).contains(&g.amount(t))
                    && rule.country.is_none_or(|c| g.place(t).country == c)
            })
            .collect();
        let mut i = 0;
        while i < cands.len() {
            // The longest run starting at `i` inside the window.
            let t0 = g.time(cands[i]);
            let mut j = i;
            while j + 1 < cands.len() && g.time(cands[j + 1]) - t0 <= rule.window {
                j += 1;
            }
            let run = &cands[i..=j];
            let total: i64 = run.iter().map(|&t| g.amount(t)).sum();
            let places: HashSet<u32> = run.iter().map(|&t| g.place[t as usize]).collect();
            let days: HashSet<i64> = run.iter().map(|&t| g.time(t) / DAY).collect();
            if run.len() >= rule.min_deposits
                && total > rule.threshold
                && places.len() >= rule.min_places
                && days.len() >= rule.min_days
            {
                out.push(self.alert(Typology::Structuring, a, run));
                i = j + 1;
            } else {
                i += 1;
            }
        }
    }

    fn funnel(&self, a: u32, out: &mut Vec<Alert>) {
        let g = self.g;
        let c = self.cfg;
        let outs = g.outgoing(a);
        let ins = g.incoming(a);
        if ins.len() < c.funnel_min_sources {
            return;
        }
        let cash: Vec<u32> = outs
            .iter()
            .copied()
            .filter(|&t| {
                g.channel(t) == Channel::CashWithdrawal
                    && (!c.funnel_border_only || g.place(t).border_zone)
            })
            .collect();
        let mut i = 0;
        while i < cash.len() {
            let w0 = cash[i];
            let mut j = i;
            while j + 1 < cash.len()
                && g.time(cash[j + 1]) - g.time(cash[j]) <= c.funnel_withdraw_within
            {
                j += 1;
            }
            let cluster = &cash[i..=j];
            i = j + 1;
            let withdrawn: i64 = cluster.iter().map(|&t| g.value(t)).sum();
            let lo = g.time(w0) - c.funnel_window;
            let last = cluster[cluster.len() - 1];
            let s = ins.partition_point(|&t| g.time(t) < lo);
            let e = ins.partition_point(|&t| t < last);
            let window = &ins[s..e];
            if window.len() < c.funnel_min_sources || window.len() > c.max_scan {
                continue;
            }
            let sources: HashSet<(u32, u32)> = window
                .iter()
                .map(|&t| {
                    let f = g.from(t);
                    if f == NONE {
                        (NONE, g.place[t as usize])
                    } else {
                        (f, NONE)
                    }
                })
                .collect();
            let inflow: i64 = window.iter().map(|&t| g.value(t)).sum();
            if sources.len() >= c.funnel_min_sources
                && inflow >= c.funnel_min_value
                && withdrawn as f64 >= c.funnel_min_share * inflow as f64
            {
                let mut ev: Vec<u32> = window.to_vec();
                ev.extend_from_slice(cluster);
                out.push(self.alert(Typology::Funnel, a, &ev));
            }
        }
    }

    fn fan_out(&self, a: u32, out: &mut Vec<Alert>) {
        let g = self.g;
        let c = self.cfg;
        let outs = g.outgoing(a);
        if outs.len() < c.fan_out_min_recipients {
            return;
        }
        let mut covered_until = i64::MIN;
        let mut prior: HashSet<u32> = HashSet::new();
        for &x in g.incoming(a) {
            let tx = g.time(x);
            let vx = g.value(x);
            if vx < c.fan_out_min_value
                || tx <= covered_until
                || tx < self.start + c.fan_out_lookback
            {
                continue;
            }
            let s = outs.partition_point(|&t| t <= x);
            let e = outs.partition_point(|&t| g.time(t) <= tx + c.fan_out_window);
            let window = &outs[s..e];
            if window.len() < c.fan_out_min_recipients || window.len() > c.max_scan {
                continue;
            }
            let ps = outs.partition_point(|&t| g.time(t) < tx - c.fan_out_lookback);
            prior.clear();
            prior.extend(outs[ps..s].iter().rev().take(c.max_scan).map(|&t| g.to(t)));
            let fresh: Vec<u32> = window
                .iter()
                .copied()
                .filter(|&t| g.to(t) != NONE && !prior.contains(&g.to(t)))
                .collect();
            let recipients: HashSet<u32> = fresh.iter().map(|&t| g.to(t)).collect();
            let sent: i64 = fresh.iter().map(|&t| g.value(t)).sum();
            if recipients.len() >= c.fan_out_min_recipients
                && sent as f64 >= c.fan_out_min_share * vx as f64
            {
                let mut ev = fresh;
                ev.push(x);
                out.push(self.alert(Typology::FanOut, a, &ev));
                covered_until = tx + c.fan_out_window;
            }
        }
    }

    fn pass_through(&self, a: u32, out: &mut Vec<Alert>) {
        let g = self.g;
        let c = self.cfg;
        let outs = g.outgoing(a);
        if outs.is_empty() {
            return;
        }
        let mut ev: Vec<u32> = Vec::new();
        let mut events = 0;
        // Outflows already explained by an earlier inflow do not count twice.
        let mut used_until = 0usize;
        let mut large = 0usize;
        for &x in g.incoming(a) {
            let vx = g.value(x);
            if vx < c.pass_min_value {
                continue;
            }
            large += 1;
            let end = g.time(x) + c.pass_within;
            let s = outs.partition_point(|&t| t <= x).max(used_until);
            let e = outs.partition_point(|&t| g.time(t) <= end).max(s);
            if e == s || e - s > c.max_scan {
                continue;
            }
            let sum: i64 = outs[s..e].iter().map(|&t| g.value(t)).sum();
            let share = sum as f64 / vx as f64;
            if share >= c.pass_min_share && share <= c.pass_max_share {
                events += 1;
                ev.push(x);
                ev.extend_from_slice(&outs[s..e]);
                used_until = e;
            }
        }
        if events >= c.pass_min_events && events as f64 >= c.pass_min_ratio * large as f64 {
            out.push(self.alert(Typology::PassThrough, a, &ev));
        }
    }

    fn round_trip(&self, a: u32, out: &mut Vec<Alert>) {
        let g = self.g;
        let c = self.cfg;
        let mut path: Vec<u32> = Vec::with_capacity(c.cycle_max_len);
        let mut last_end: u32 = 0;
        for &t0 in g.outgoing(a) {
            if g.value(t0) < c.cycle_min_value || g.to(t0) == NONE || g.to(t0) == a {
                continue;
            }
            if t0 < last_end {
                continue; // inside a cycle already reported
            }
            path.clear();
            path.push(t0);
            if self.cycle_dfs(a, g.time(t0) + c.cycle_window, &mut path) {
                last_end = path[path.len() - 1];
                out.push(self.alert(Typology::RoundTrip, a, &path));
            }
        }
    }

    /// Extends `path` (time-respecting, amounts kept within the band) until
    /// it returns to `origin`.
    fn cycle_dfs(&self, origin: u32, deadline: i64, path: &mut Vec<u32>) -> bool {
        let g = self.g;
        let c = self.cfg;
        let Some(&last) = path.last() else {
            return false;
        };
        let at = g.to(last);
        let prev = g.value(last) as f64;
        let outs = g.outgoing(at);
        let s = outs.partition_point(|&t| t <= last);
        for &t in outs[s..].iter().take(c.max_scan) {
            if g.time(t) > deadline {
                break;
            }
            let v = g.value(t) as f64;
            if v < c.cycle_min_keep * prev || v > prev * 1.01 {
                continue;
            }
            let next = g.to(t);
            if next == origin {
                if path.len() + 1 >= c.cycle_min_len {
                    path.push(t);
                    return true;
                }
                continue;
            }
            if next == NONE || path.len() + 1 >= c.cycle_max_len {
                continue;
            }
            if path.iter().any(|&p| g.to(p) == next) {
                continue;
            }
            path.push(t);
            if self.cycle_dfs(origin, deadline, path) {
                return true;
            }
            path.pop();
        }
        false
    }

    fn scatter_gather(&self, a: u32, out: &mut Vec<Alert>) {
        let g = self.g;
        let c = self.cfg;
        let outs = g.outgoing(a);
        if outs.len() < c.sg_min_intermediaries {
            return;
        }
        let mut i = 0;
        while i < outs.len() {
            let t0 = outs[i];
            if g.value(t0) < c.sg_min_value || g.to(t0) == NONE {
                i += 1;
                continue;
            }
            let end = g.time(t0) + c.sg_window;
            let e = i + outs[i..].partition_point(|&t| g.time(t) <= end);
            // Destination → (intermediary → evidence).
            let mut gathered: HashMap<u32, HashMap<u32, Vec<u32>>> = HashMap::new();
            for &s in outs[i..e].iter().take(c.max_scan) {
                let m = g.to(s);
                let vs = g.value(s);
                if m == NONE || m == a || vs < c.sg_min_value {
                    continue;
                }
                let mouts = g.outgoing(m);
                let k = mouts.partition_point(|&t| t <= s);
                for &t in mouts[k..].iter().take(c.max_scan) {
                    if g.time(t) > end {
                        break;
                    }
                    let d = g.to(t);
                    if d == NONE
                        || d == a
                        || d == m
                        || (g.value(t) as f64) < c.sg_min_keep * vs as f64
                    {
                        continue;
                    }
                    let legs = gathered.entry(d).or_default().entry(m).or_default();
                    if legs.is_empty() {
                        legs.push(s);
                    }
                    legs.push(t);
                }
            }
            let best = gathered
                .into_iter()
                .filter(|(_, ms)| ms.len() >= c.sg_min_intermediaries)
                .max_by_key(|(d, ms)| (ms.len(), std::cmp::Reverse(*d)));
            if let Some((d, ms)) = best {
                let ev: Vec<u32> = ms.into_values().flatten().collect();
                out.push(self.alert(Typology::ScatterGather, d, &ev));
                i = e.max(i + 1);
            } else {
                i += 1;
            }
        }
    }
}

/// A pattern known to be present (planted by the generator, or confirmed by
/// an analyst), against which alerts are scored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPattern {
    /// What kind.
    pub kind: Typology,
    /// The account at its centre.
    pub account: AccountId,
    /// Its transactions.
    pub tx_ids: Vec<TxId>,
}

/// Recall and precision of alerts against known patterns, per kind and in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Known patterns.
    pub known: usize,
    /// Known patterns found by at least one alert of their kind sharing a
    /// transaction.
    pub found: usize,
    /// Alerts.
    pub alerts: usize,
    /// Alerts sharing a transaction with a known pattern of their kind.
    pub true_alerts: usize,
    /// found / known.
    pub recall: f64,
    /// true_alerts / alerts.
    pub precision: f64,
    /// The same, by kind.
    pub by_kind: Vec<(Typology, usize, usize, usize, usize)>,
}

/// Scores alerts against known patterns: an alert is true when it shares an
/// evidence transaction with a known pattern of the same kind.
pub fn evaluate(alerts: &[Alert], known: &[KnownPattern]) -> Score {
    let mut owner: HashMap<(Typology, TxId), Vec<usize>> = HashMap::new();
    for (i, k) in known.iter().enumerate() {
        for id in &k.tx_ids {
            owner.entry((k.kind, *id)).or_default().push(i);
        }
    }
    let mut found = vec![false; known.len()];
    let mut true_alert = vec![false; alerts.len()];
    for (j, a) in alerts.iter().enumerate() {
        for id in &a.evidence {
            if let Some(ks) = owner.get(&(a.kind, *id)) {
                true_alert[j] = true;
                for &k in ks {
                    found[k] = true;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let by_kind = Typology::ALL
        .iter()
        .map(|&kind| {
            let kn = known.iter().filter(|k| k.kind == kind).count();
            let fo = known
                .iter()
                .zip(&found)
                .filter(|(k, f)| k.kind == kind && **f)
                .count();
            let al = alerts.iter().filter(|a| a.kind == kind).count();
            let tr = alerts
                .iter()
                .zip(&true_alert)
                .filter(|(a, t)| a.kind == kind && **t)
                .count();
            (kind, kn, fo, al, tr)
        })
        .collect();
    let f = found.iter().filter(|f| **f).count();
    let t = true_alert.iter().filter(|t| **t).count();
    Score {
        known: known.len(),
        found: f,
        alerts: alerts.len(),
        true_alerts: t,
        recall: ratio(f, known.len()),
        precision: ratio(t, alerts.len()),
        by_kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerateOptions, build_graph};
    use crate::graph::GraphBuilder;
    use crate::model::{Money, Transaction, UnixTime};
    use crate::trace::tests::{T0, mx, us};

    /// `(hour, dollars, channel, from, to, branch, border zone)`.
    type Row = (
        i64,
        i64,
        Channel,
        Option<AccountId>,
        Option<AccountId>,
        &'static str,
        bool,
    );

    fn graph(rows: &[Row]) -> Graph {
        let mut b = GraphBuilder::new();
        for (i, (hour, usd, channel, from, to, branch, border)) in rows.iter().enumerate() {
            b.push(&Transaction {
                id: TxId(i as u64 + 1),
                time: UnixTime(T0 + hour * 3600),
                amount: Money {
                    minor: usd * 100,
                    currency: Currency::Usd,
                },
                channel: *channel,
                from: from.clone(),
                to: to.clone(),
                country: if branch.starts_with("MX") {
                    Country::MX
                } else {
                    Country::US
                },
                branch: (!branch.is_empty()).then(|| branch.to_string()),
                border_zone: *border,
            })
            .unwrap();
        }
        b.finish()
    }

    fn kinds(rows: &[Row]) -> Vec<(Typology, String)> {
        let mut v: Vec<_> = scan(&graph(rows), &TypologyConfig::default())
            .into_iter()
            .map(|a| (a.kind, a.account.to_string()))
            .collect();
        v.sort();
        v
    }

    use Channel::{CashDeposit as Dep, CashWithdrawal as Wd, DomesticWire as Wire};
    const D: i64 = 24;

    fn deposits(branches: [&'static str; 3], days: [i64; 3]) -> Vec<Row> {
        (0..3)
            .map(|k| {
                (
                    days[k] * D + 10,
                    9_000,
                    Dep,
                    None,
                    Some(us(1)),
                    branches[k],
                    false,
                )
            })
            .collect()
    }

    #[test]
    fn structuring_needs_several_branches_and_days_under_the_line() {
        let hit = deposits(["A", "B", "C"], [0, 1, 2]);
        assert_eq!(
            kinds(&hit),
            vec![(Typology::Structuring, us(1).to_string())]
        );
        assert!(
            kinds(&deposits(["A", "A", "A"], [0, 1, 2])).is_empty(),
            "one branch: a shop's takings"
        );
        assert!(
            kinds(&deposits(["A", "B", "C"], [0, 0, 0])).is_empty(),
            "one day"
        );
        assert!(
            kinds(&deposits(["A", "B", "C"], [0, 5, 10])).is_empty(),
            "spread over more than 7 days"
        );
        let mut over = deposits(["A", "B", "C"], [0, 1, 2]);
        over[1].1 = 10_500; // reported anyway: not "just under"
        assert!(kinds(&over).is_empty());
    }

    #[test]
    fn mexican_us_dollar_cash_cap_rule() {
        // Two USD deposits of 2,500 into one Mexican account within 30 days
        // (over the USD 4,000 monthly cap, each under it).
        let rows: Vec<Row> = vec![
            (0, 2_500, Dep, None, Some(mx(1)), "MX-TIJ-01", true),
            (10 * D, 2_500, Dep, None, Some(mx(1)), "MX-TIJ-01", true),
        ];
        assert_eq!(
            kinds(&rows),
            vec![(Typology::Structuring, mx(1).to_string())]
        );
        let mut us_side = rows.clone();
        for r in &mut us_side {
            r.5 = "US-ELP-01";
        }
        assert!(kinds(&us_side).is_empty(), "the cap is Mexico's rule");
    }

    #[test]
    fn the_parallel_scan_equals_the_sequential_one() {
        let opts = GenerateOptions {
            seed: 9,
            transactions: 60_000,
            ..GenerateOptions::default()
        };
        let (g, _) = build_graph(&opts).unwrap();
        let cfg = TypologyConfig::default();
        assert_eq!(scan_parallel(&g, &cfg, 3), scan(&g, &cfg));
    }

    fn funnel(border: bool, sources: usize) -> Vec<Row> {
        const PLACES: [&str; 6] = ["HOU", "DAL", "PHX", "LAX", "CHI", "ATL"];
        let mut rows: Vec<Row> = (0..sources)
            .map(|k| {
                (
                    k as i64 * D,
                    2_000,
                    Dep,
                    None,
                    Some(us(1)),
                    PLACES[k],
                    false,
                )
            })
            .collect();
        rows.push((8 * D, 8_500, Wd, Some(us(1)), None, "ELP", border));
        rows
    }

    #[test]
    fn funnel_needs_many_sources_and_cash_out_at_the_border() {
        assert_eq!(
            kinds(&funnel(true, 5)),
            vec![(Typology::Funnel, us(1).to_string())]
        );
        assert!(kinds(&funnel(false, 5)).is_empty(), "withdrawn inland");
        assert!(kinds(&funnel(true, 4)).is_empty(), "too few sources");
    }

    fn fan_out(recipients: u32, start_day: i64) -> Vec<Row> {
        let mut rows: Vec<Row> = vec![(0, 10, Wire, Some(us(90)), Some(us(91)), "", false)];
        let t = start_day * D;
        rows.push((t, 20_000, Wire, Some(us(2)), Some(us(1)), "", false));
        for r in 0..recipients {
            rows.push((
                t + 2 + i64::from(r),
                20_000 / 6,
                Wire,
                Some(us(1)),
                Some(us(10 + r)),
                "",
                false,
            ));
        }
        rows
    }

    #[test]
    fn fan_out_needs_new_recipients_after_history() {
        assert_eq!(
            kinds(&fan_out(6, 61)),
            vec![(Typology::FanOut, us(1).to_string())]
        );
        assert!(kinds(&fan_out(4, 61)).is_empty(), "too few recipients");
        assert!(
            kinds(&fan_out(6, 30)).is_empty(),
            "no history to judge newness yet"
        );
        let mut known = fan_out(6, 61);
        for r in 0..6 {
            known.push((40 * D, 50, Wire, Some(us(1)), Some(us(10 + r)), "", false));
        }
        assert!(
            kinds(&known).is_empty(),
            "paying the usual people (payroll)"
        );
    }

    fn pass(events: i64) -> Vec<Row> {
        let mut rows = Vec::new();
        for k in 0..events {
            rows.push((k * 5 * D, 10_000, Wire, Some(us(2)), Some(us(1)), "", false));
            rows.push((
                k * 5 * D + 6,
                9_800,
                Wire,
                Some(us(1)),
                Some(us(3)),
                "",
                false,
            ));
        }
        rows
    }

    #[test]
    fn pass_through_needs_repeated_quick_full_outflows() {
        assert_eq!(
            kinds(&pass(2)),
            vec![(Typology::PassThrough, us(1).to_string())]
        );
        assert!(kinds(&pass(1)).is_empty());
        let mut slow = pass(2);
        slow[3].0 += 3 * D; // the second outflow comes after 48 hours
        assert!(kinds(&slow).is_empty());
    }

    #[test]
    fn round_trips_of_three_hops_or_more_are_found() {
        let cycle: Vec<Row> = vec![
            (0, 20_000, Wire, Some(us(1)), Some(us(2)), "", false),
            (30, 19_500, Wire, Some(us(2)), Some(mx(3)), "", false),
            (60, 19_000, Wire, Some(mx(3)), Some(us(1)), "", false),
        ];
        assert_eq!(
            kinds(&cycle),
            vec![(Typology::RoundTrip, us(1).to_string())]
        );
        let back_and_forth: Vec<Row> = vec![
            (0, 20_000, Wire, Some(us(1)), Some(us(2)), "", false),
            (30, 19_500, Wire, Some(us(2)), Some(us(1)), "", false),
        ];
        assert!(kinds(&back_and_forth).is_empty(), "two accounts trading");
        let mut out_of_order = cycle.clone();
        out_of_order[2].0 = 10; // returns before it left the second account
        assert!(kinds(&out_of_order).is_empty());
    }

    fn sg(intermediaries: u32) -> Vec<Row> {
        let mut rows = Vec::new();
        for m in 0..intermediaries {
            rows.push((
                i64::from(m),
                4_000,
                Wire,
                Some(us(1)),
                Some(us(10 + m)),
                "",
                false,
            ));
            rows.push((
                30 + i64::from(m),
                3_900,
                Wire,
                Some(us(10 + m)),
                Some(us(2)),
                "",
                false,
            ));
        }
        rows
    }

    #[test]
    fn scatter_gather_names_the_gathering_account() {
        assert_eq!(
            kinds(&sg(3)),
            vec![(Typology::ScatterGather, us(2).to_string())]
        );
        assert!(kinds(&sg(2)).is_empty());
    }

    #[test]
    fn evaluation_counts_recall_and_precision() {
        let k = |kind, ids: &[u64]| KnownPattern {
            kind,
            account: us(1),
            tx_ids: ids.iter().map(|&i| TxId(i)).collect(),
        };
        let a = |kind, ids: &[u64]| Alert {
            kind,
            account: us(1),
            value: 0,
            first: 0,
            last: 0,
            evidence: ids.iter().map(|&i| TxId(i)).collect(),
        };
        let known = [k(Typology::Structuring, &[1, 2]), k(Typology::Funnel, &[3])];
        let alerts = [
            a(Typology::Structuring, &[2]),
            a(Typology::Funnel, &[1]),
            a(Typology::FanOut, &[9]),
        ];
        let s = evaluate(&alerts, &known);
        assert_eq!((s.found, s.true_alerts), (1, 1));
        assert_eq!(s.recall, 0.5);
        assert!((s.precision - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn planted_typologies_are_found_in_a_generated_ledger() {
        let opts = GenerateOptions {
            seed: 7,
            transactions: 60_000,
            ..GenerateOptions::default()
        };
        let (g, summary) = build_graph(&opts).unwrap();
        let alerts = scan(&g, &TypologyConfig::default());
        let score = evaluate(&alerts, &summary.planted);
        assert!(score.known >= 48, "{score:#?}");
        assert!(score.recall >= 0.95, "{score:#?}");
        assert!(score.precision >= 0.9, "{score:#?}");
    }
}
