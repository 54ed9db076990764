//! Cross-border continuation of a trace, as pure functions: no ledger
//! crosses the border.
//!
//! 1. The requester's trace reaches an account held in the partner's
//!    jurisdiction. [`requests`] turns each such border node into a
//!    [`ContinuationRequest`] carrying only that account, the amount that
//!    reached it and the time window.
//! 2. The partner checks the request and runs the next leg on its own data
//!    ([`answer`]): a forward trace seeded with that amount at that
//!    account. Its [`ContinuationAnswer`] discloses what its
//!    [`DisclosurePolicy`] releases: totals, counts, typologies found, and
//!    onward accounts under keyed pseudonyms (HMAC-SHA256, RFC 2104), each
//!    flagged if already reported. Account identifiers never leave.
//! 3. The requester checks the answer against its request and stitches it
//!    into its flow graph ([`stitch`]), marking the partner's leg.
//!
//! Pseudonyms are stable under one key: the same onward account gets the
//! same pseudonym in every answer made with that key, so a requester can
//! see that two trails meet without learning the account. A partner that
//! does not want answers linked rotates the key (e.g. per case).
//!
//! Requests and answers are peer input on the receiving side: both are
//! checked for size and consistency before use, and unknown fields are
//! refused when they are decoded.

use std::collections::{HashMap, HashSet};
use std::fmt;

use hmac::digest::KeyInit;
use hmac::digest::generic_array::GenericArray;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ContinuationError;
use crate::graph::Graph;
use crate::model::{AccountId, Country};
use crate::trace::{FlowEdge, FlowGraph, FlowNode, Leg, NodeKind, Seed, TraceOptions, trace};
use crate::typology::{Typology, TypologyConfig, scan_accounts};

/// Most onward nodes an answer may carry.
pub const MAX_ANSWER_NODES: usize = 10_000;
/// Most edges an answer may carry.
pub const MAX_ANSWER_EDGES: usize = 50_000;
/// Longest request identifier.
pub const MAX_REQUEST_ID: usize = 128;

/// What the requester asks: the trail continued from one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuationRequest {
    /// Chosen by the requester, echoed in the answer.
    pub request_id: String,
    /// The requesting country.
    pub requester: Country,
    /// The account held in the partner's jurisdiction.
    pub account: AccountId,
    /// Traced money that reached it, reference minor units (US cents).
    pub value: i64,
    /// Transactions that brought it.
    pub tx_count: u64,
    /// Window start (first arrival), seconds since 1970.
    pub from: i64,
    /// Window end.
    pub to: i64,
    /// Hops asked for on the partner's side.
    pub max_hops: u8,
}

/// Builds one request per border node held in `partner`'s jurisdiction.
/// The window runs from the first arrival to `horizon` seconds after the
/// last.
pub fn requests(
    flow: &FlowGraph,
    partner: Country,
    horizon: i64,
    max_hops: u8,
    id_prefix: &str,
) -> Vec<ContinuationRequest> {
    let mut out = Vec::new();
    for (i, node) in flow.border_nodes() {
        if node.country != Some(partner) || node.leg != Leg::Home {
            continue;
        }
        let Ok(account) = AccountId::new(&node.key) else {
            continue;
        };
        let into: Vec<&FlowEdge> = flow
            .edges
            .iter()
            .filter(|e| e.to == i && e.leg == Leg::Home)
            .collect();
        let (Some(first), Some(last)) = (
            into.iter().map(|e| e.first).min(),
            into.iter().map(|e| e.last).max(),
        ) else {
            continue;
        };
        out.push(ContinuationRequest {
            request_id: format!("{id_prefix}-{}", out.len() + 1),
            requester: flow.home,
            account,
            value: node.inflow,
            tx_count: into.iter().map(|e| e.tx_count).sum(),
            from: first,
            to: last.saturating_add(horizon),
            max_hops,
        });
    }
    out
}

/// The key a partner pseudonymises onward accounts with.
#[derive(Clone)]
pub struct PseudonymKey([u8; 32]);

impl PseudonymKey {
    /// Wraps 32 secret bytes (from the node's key store).
    pub fn new(bytes: [u8; 32]) -> Self {
        PseudonymKey(bytes)
    }

    /// The pseudonym of an account: the first 128 bits of
    /// HMAC-SHA256(key, "soberana-finance-pseudonym-v1" ‖ account), in hex.
    pub fn pseudonym(&self, account: &AccountId) -> String {
        // A key shorter than the hash's 64-byte block is zero-padded by
        // HMAC itself (RFC 2104, section 2), so padding it here is the same
        // function and avoids a fallible constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(GenericArray::from_slice(&block));
        mac.update(b"soberana-finance-pseudonym-v1");
        mac.update(account.as_str().as_bytes());
        let tag = mac.finalize().into_bytes();
        tag.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

/// What the answering country releases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosurePolicy {
    /// Most hops run on our side (default 4).
    pub max_hops: u8,
    /// Longest window accepted, seconds (default 180 days).
    pub max_window: i64,
    /// Most onward nodes released, largest first (default 50).
    pub max_onward: usize,
    /// Release the edges between onward nodes (default true); if false,
    /// only totals and the node list.
    pub release_edges: bool,
    /// Release the typologies found on the leg (default true).
    pub release_typologies: bool,
    /// Amounts are rounded to a multiple of this, reference minor units
    /// (default 1,000: ten dollars).
    pub round_to: i64,
}

impl Default for DisclosurePolicy {
    fn default() -> Self {
        DisclosurePolicy {
            max_hops: 4,
            max_window: 180 * 86_400,
            max_onward: 50,
            release_edges: true,
            release_typologies: true,
            round_to: 1_000,
        }
    }
}

/// What an onward node is, as disclosed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnwardKind {
    /// An account in the answering country.
    Account,
    /// Cash withdrawn in a border zone.
    CashBorderZone,
    /// Cash withdrawn elsewhere.
    CashInland,
    /// An account in a third country (or back in the requester's).
    Abroad,
}

/// One disclosed onward node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnwardNode {
    /// Pseudonym (32 hex digits), or `cash-border` / `cash-inland`.
    pub id: String,
    /// What it is.
    pub kind: OnwardKind,
    /// For `abroad`: the country.
    pub country: Option<Country>,
    /// Fewest hops from the requested account.
    pub hop: u8,
    /// Traced money in (rounded).
    pub inflow: i64,
    /// Traced money out (rounded).
    pub outflow: i64,
    /// Named in a suspicious-transaction report here.
    pub reported: bool,
}

/// One disclosed edge. `from` is `origin` for the requested account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnwardEdge {
    /// Sender: `origin` or a node id.
    pub from: String,
    /// Receiver: a node id.
    pub to: String,
    /// Traced money (rounded).
    pub value: i64,
    /// Transactions.
    pub tx_count: u64,
}

/// The partner's answer: the next leg, disclosure-limited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinuationAnswer {
    /// The request's identifier.
    pub request_id: String,
    /// The answering country.
    pub answering: Country,
    /// The requested account (echoed, so the answer binds to it).
    pub account: AccountId,
    /// Whether the account has transactions here.
    pub found: bool,
    /// Whether the requested account itself is already reported here.
    pub account_reported: bool,
    /// Traced money that moved on from the account (rounded).
    pub moved_on: i64,
    /// Traced money still in the leg's accounts at the end (rounded).
    pub retained: i64,
    /// Traced money withdrawn in cash (rounded).
    pub cash_out: i64,
    /// Of which in a border zone (rounded).
    pub cash_out_border_zone: i64,
    /// Traced money sent abroad (rounded).
    pub abroad: i64,
    /// Accounts the leg reached here (all, not only those released).
    pub accounts_reached: u64,
    /// Transactions in the leg.
    pub transactions: u64,
    /// Typologies found on the leg's accounts, with counts.
    pub typologies: Vec<(Typology, u32)>,
    /// Onward nodes released.
    pub onward: Vec<OnwardNode>,
    /// Edges released.
    pub edges: Vec<OnwardEdge>,
    /// Whether the policy held back nodes or edges.
    pub truncated: bool,
}

fn round(v: i64, to: i64) -> i64 {
    if to <= 1 { v } else { (v + to / 2) / to * to }
}

/// Runs the next leg for a partner's request and builds the answer our
/// policy allows. `home` is our country.
pub fn answer(
    g: &Graph,
    req: &ContinuationRequest,
    home: Country,
    key: &PseudonymKey,
    policy: &DisclosurePolicy,
    typologies: &TypologyConfig,
) -> Result<ContinuationAnswer, ContinuationError> {
    check_request(req, home, policy)?;
    let empty = ContinuationAnswer {
        request_id: req.request_id.clone(),
        answering: home,
        account: req.account.clone(),
        found: false,
        account_reported: false,
        moved_on: 0,
        retained: 0,
        cash_out: 0,
        cash_out_border_zone: 0,
        abroad: 0,
        accounts_reached: 0,
        transactions: 0,
        typologies: Vec::new(),
        onward: Vec::new(),
        edges: Vec::new(),
        truncated: false,
    };
    let Some(origin_index) = g.account(&req.account) else {
        return Ok(empty);
    };
    let mut opts = TraceOptions::forward(home);
    opts.max_hops = req.max_hops.min(policy.max_hops);
    opts.from = req.from;
    opts.to = req.to;
    opts.max_evidence = 0;
    let seed = Seed {
        account: req.account.clone(),
        amount: Some(req.value),
    };
    let flow = trace(g, &[seed], &opts)
        .map_err(|_| ContinuationError::BadRequest("the trace could not run"))?;
    let origin = flow.node(req.account.as_str());
    let r = |v: i64| round(v, policy.round_to);

    // Pseudonyms for every node but the origin; cash nodes are pooled by
    // zone so that no branch is disclosed.
    let ids: Vec<(String, OnwardKind)> = flow
        .nodes
        .iter()
        .map(|n| match n.kind {
            NodeKind::CashOut if n.border_zone => {
                ("cash-border".to_owned(), OnwardKind::CashBorderZone)
            }
            NodeKind::CashOut => ("cash-inland".to_owned(), OnwardKind::CashInland),
            NodeKind::Border => (
                AccountId::new(&n.key)
                    .map(|a| key.pseudonym(&a))
                    .unwrap_or_default(),
                OnwardKind::Abroad,
            ),
            _ => (
                AccountId::new(&n.key)
                    .map(|a| key.pseudonym(&a))
                    .unwrap_or_default(),
                OnwardKind::Account,
            ),
        })
        .collect();
    let mut pooled: HashMap<String, OnwardNode> = HashMap::new();
    let (mut cash, mut cash_border, mut abroad, mut retained) = (0i64, 0i64, 0i64, 0i64);
    for (i, n) in flow.nodes.iter().enumerate() {
        retained += if matches!(n.kind, NodeKind::Account | NodeKind::Seed) {
            n.retained
        } else {
            0
        };
        match n.kind {
            NodeKind::CashOut => {
                cash += n.inflow;
                if n.border_zone {
                    cash_border += n.inflow;
                }
            }
            NodeKind::Border => abroad += n.inflow,
            _ => {}
        }
        if Some(i as u32) == origin {
            continue;
        }
        let (id, kind) = &ids[i];
        let entry = pooled.entry(id.clone()).or_insert(OnwardNode {
            id: id.clone(),
            kind: *kind,
            country: (*kind == OnwardKind::Abroad).then_some(n.country).flatten(),
            hop: n.hop,
            inflow: 0,
            outflow: 0,
            reported: false,
        });
        entry.hop = entry.hop.min(n.hop);
        entry.inflow += n.inflow;
        entry.outflow += n.outflow;
        entry.reported |= n.reported;
    }
    let mut onward: Vec<OnwardNode> = pooled.into_values().collect();
    let reached = onward
        .iter()
        .filter(|n| n.kind == OnwardKind::Account)
        .count() as u64;
    onward.sort_by(|a, b| b.inflow.cmp(&a.inflow).then_with(|| a.id.cmp(&b.id)));
    let truncated_nodes = onward.len() > policy.max_onward;
    onward.truncate(policy.max_onward.min(MAX_ANSWER_NODES));
    let released: HashSet<&str> = onward.iter().map(|n| n.id.as_str()).collect();
    let mut edges: HashMap<(String, String), OnwardEdge> = HashMap::new();
    let mut truncated_edges = false;
    if policy.release_edges {
        for e in &flow.edges {
            let name = |n: u32| {
                if Some(n) == origin {
                    "origin".to_owned()
                } else {
                    ids[n as usize].0.clone()
                }
            };
            let (f, t) = (name(e.from), name(e.to));
            if (f != "origin" && !released.contains(f.as_str())) || !released.contains(t.as_str()) {
                truncated_edges = true;
                continue;
            }
            let entry = edges.entry((f.clone(), t.clone())).or_insert(OnwardEdge {
                from: f,
                to: t,
                value: 0,
                tx_count: 0,
            });
            entry.value += e.value;
            entry.tx_count += e.tx_count;
        }
    }
    let mut edges: Vec<OnwardEdge> = edges.into_values().collect();
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    edges.truncate(MAX_ANSWER_EDGES);
    for n in &mut onward {
        n.inflow = r(n.inflow);
        n.outflow = r(n.outflow);
    }
    for e in &mut edges {
        e.value = r(e.value);
    }
    let mut found_typologies = Vec::new();
    if policy.release_typologies {
        let leg: Vec<u32> = flow
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Account | NodeKind::Seed))
            .filter_map(|n| AccountId::new(&n.key).ok().and_then(|a| g.account(&a)))
            .collect();
        let mut counts: HashMap<Typology, u32> = HashMap::new();
        for a in scan_accounts(g, typologies, &leg) {
            *counts.entry(a.kind).or_insert(0) += 1;
        }
        found_typologies = counts.into_iter().collect();
        found_typologies.sort();
    }
    let moved_on = origin.map_or(0, |o| flow.nodes[o as usize].outflow);
    Ok(ContinuationAnswer {
        found: true,
        account_reported: g.is_reported(origin_index),
        moved_on: r(moved_on),
        retained: r(retained),
        cash_out: r(cash),
        cash_out_border_zone: r(cash_border),
        abroad: r(abroad),
        accounts_reached: reached,
        transactions: flow.edges.iter().map(|e| e.tx_count).sum(),
        typologies: found_typologies,
        onward,
        edges,
        truncated: truncated_nodes || truncated_edges,
        ..empty
    })
}

/// Checks a partner's request before anything runs.
pub fn check_request(
    req: &ContinuationRequest,
    home: Country,
    policy: &DisclosurePolicy,
) -> Result<(), ContinuationError> {
    if req.request_id.is_empty()
        || req.request_id.len() > MAX_REQUEST_ID
        || !req.request_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ContinuationError::BadRequest(
            "the request id must be 1 to 128 printable ASCII characters",
        ));
    }
    if req.account.country() != home {
        return Err(ContinuationError::NotOurs(req.account.to_string()));
    }
    if req.requester == home {
        return Err(ContinuationError::BadRequest(
            "a request must come from another country",
        ));
    }
    if req.value <= 0 {
        return Err(ContinuationError::BadRequest(
            "the traced amount must be positive",
        ));
    }
    if req.from > req.to {
        return Err(ContinuationError::BadRequest(
            "the window ends before it starts",
        ));
    }
    if req.to.saturating_sub(req.from) > policy.max_window {
        return Err(ContinuationError::BadRequest(
            "the window is longer than our policy allows",
        ));
    }
    if req.max_hops == 0 {
        return Err(ContinuationError::BadRequest("ask for at least one hop"));
    }
    Ok(())
}

/// What stitching added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stitched {
    /// Partner nodes added.
    pub nodes: usize,
    /// Partner edges added.
    pub edges: usize,
}

/// Checks a partner's answer against our request and adds its leg to our
/// flow graph, hanging from the border node. Partner nodes are keyed
/// `partner:<country>:<id>` and every element of the leg is marked
/// [`Leg::Partner`].
pub fn stitch(
    flow: &mut FlowGraph,
    req: &ContinuationRequest,
    ans: &ContinuationAnswer,
) -> Result<Stitched, ContinuationError> {
    if ans.request_id != req.request_id || ans.account != req.account {
        return Err(ContinuationError::NoMatchingRequest(ans.request_id.clone()));
    }
    let border = flow
        .node(req.account.as_str())
        .filter(|&b| flow.nodes[b as usize].kind == NodeKind::Border)
        .ok_or_else(|| ContinuationError::NoMatchingRequest(ans.request_id.clone()))?;
    if ans.answering != req.account.country() {
        return Err(ContinuationError::BadAnswer(
            "the answer comes from a country that does not hold the account",
        ));
    }
    let partner = ans.answering;
    if flow
        .edges
        .iter()
        .any(|e| e.from == border && e.leg == Leg::Partner(partner))
    {
        return Err(ContinuationError::BadAnswer("this leg is already stitched"));
    }
    check_answer(req, ans)?;
    let base_hop = flow.nodes[border as usize].hop;
    let mut index: HashMap<&str, u32> = HashMap::new();
    let before_nodes = flow.nodes.len();
    for n in &ans.onward {
        let kind = match n.kind {
            OnwardKind::CashBorderZone | OnwardKind::CashInland => NodeKind::CashOut,
            _ => NodeKind::Partner,
        };
        flow.nodes.push(FlowNode {
            key: format!("partner:{partner}:{}", n.id),
            kind,
            country: Some(if n.kind == OnwardKind::Abroad {
                n.country.unwrap_or(partner)
            } else {
                partner
            }),
            hop: base_hop.saturating_add(n.hop),
            inflow: n.inflow,
            outflow: n.outflow,
            retained: (n.inflow - n.outflow).max(0),
            reported: n.reported,
            border_zone: n.kind == OnwardKind::CashBorderZone,
            leg: Leg::Partner(partner),
        });
        index.insert(n.id.as_str(), (flow.nodes.len() - 1) as u32);
    }
    let before_edges = flow.edges.len();
    for e in &ans.edges {
        let from = if e.from == "origin" {
            Some(border)
        } else {
            index.get(e.from.as_str()).copied()
        };
        let to = index.get(e.to.as_str()).copied();
        let (Some(from), Some(to)) = (from, to) else {
            flow.nodes.truncate(before_nodes);
            flow.edges.truncate(before_edges);
            return Err(ContinuationError::BadAnswer(
                "an edge names a node the answer does not list",
            ));
        };
        flow.edges.push(FlowEdge {
            from,
            to,
            value: e.value,
            tx_count: e.tx_count,
            first: req.from,
            last: req.to,
            tx_ids: Vec::new(),
            channels: Vec::new(),
            leg: Leg::Partner(partner),
        });
    }
    let node = &mut flow.nodes[border as usize];
    node.outflow = ans.moved_on;
    node.retained = (node.inflow - node.outflow).max(0);
    Ok(Stitched {
        nodes: flow.nodes.len() - before_nodes,
        edges: flow.edges.len() - before_edges,
    })
}

/// Checks an answer's shape and claims against the request.
fn check_answer(
    req: &ContinuationRequest,
    ans: &ContinuationAnswer,
) -> Result<(), ContinuationError> {
    let bad = ContinuationError::BadAnswer;
    if ans.onward.len() > MAX_ANSWER_NODES || ans.edges.len() > MAX_ANSWER_EDGES {
        return Err(bad("the answer is larger than the limits"));
    }
    // Rounding may add up to half a unit per figure; allow one per cent.
    let cap = req
        .value
        .saturating_add(req.value / 100)
        .saturating_add(10_000);
    let figures = [
        ans.moved_on,
        ans.retained,
        ans.cash_out,
        ans.cash_out_border_zone,
        ans.abroad,
    ];
    if figures.iter().any(|&v| v < 0 || v > cap) {
        return Err(bad(
            "a total is negative or larger than the amount that was sent",
        ));
    }
    if ans.cash_out_border_zone > ans.cash_out {
        return Err(bad("more cash withdrawn in border zones than in all"));
    }
    let mut seen = HashSet::new();
    for n in &ans.onward {
        let well_formed = match n.kind {
            OnwardKind::CashBorderZone => n.id == "cash-border",
            OnwardKind::CashInland => n.id == "cash-inland",
            _ => {
                n.id.len() == 32
                    && n.id
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            }
        };
        if !well_formed {
            return Err(bad("a node id is not a 32-digit lower-case hex pseudonym"));
        }
        if !seen.insert(n.id.as_str()) {
            return Err(bad("a node is listed twice"));
        }
        if n.inflow < 0 || n.outflow < 0 || n.inflow > cap || n.outflow > cap {
            return Err(bad(
                "a node's amounts are negative or larger than the amount that was sent",
            ));
        }
    }
    for e in &ans.edges {
        if e.value < 0 || e.value > cap {
            return Err(bad(
                "an edge's amount is negative or larger than the amount that was sent",
            ));
        }
    }
    if ans.typologies.len() > Typology::ALL.len() {
        return Err(bad("typologies are listed more than once"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphBuilder;
    use crate::model::{Channel, Currency, Money, SuspiciousReport, Transaction, TxId, UnixTime};
    use crate::trace::tests::{T0, mx, us};

    fn push(
        b: &mut GraphBuilder,
        id: u64,
        hour: i64,
        usd: i64,
        from: Option<AccountId>,
        to: Option<AccountId>,
        border: bool,
    ) {
        let channel = match (&from, &to) {
            (None, _) => Channel::CashDeposit,
            (_, None) => Channel::CashWithdrawal,
            (Some(f), Some(t)) if f.country() != t.country() => Channel::CrossBorderWire,
            _ => Channel::DomesticWire,
        };
        let country = from
            .as_ref()
            .or(to.as_ref())
            .map_or(Country::US, |a| a.country());
        b.push(&Transaction {
            id: TxId(id),
            time: UnixTime(T0 + hour * 3600),
            amount: Money {
                minor: usd * 100,
                currency: Currency::Usd,
            },
            channel,
            from,
            to,
            country,
            branch: Some(format!("{country}-B{id}")),
            border_zone: border,
        })
        .unwrap();
    }

    /// The two ledgers of one story: US structuring into us(1), a wire to
    /// mx(10), fanned out to mx(11..=13), withdrawn near the border.
    fn ledgers() -> (Graph, Graph) {
        let mut usb = GraphBuilder::new();
        push(&mut usb, 1, 1, 9000, None, Some(us(1)), false);
        push(&mut usb, 2, 20, 9500, None, Some(us(1)), false);
        push(&mut usb, 3, 40, 9200, None, Some(us(1)), false);
        push(&mut usb, 4, 60, 26000, Some(us(1)), Some(mx(10)), false);
        let mut mxb = GraphBuilder::new();
        push(&mut mxb, 4, 60, 26000, Some(us(1)), Some(mx(10)), false);
        push(&mut mxb, 5, 62, 9000, Some(mx(10)), Some(mx(11)), false);
        push(&mut mxb, 6, 62, 8000, Some(mx(10)), Some(mx(12)), false);
        push(&mut mxb, 7, 63, 8500, Some(mx(10)), Some(mx(13)), false);
        push(&mut mxb, 8, 70, 8900, Some(mx(11)), None, true);
        push(&mut mxb, 9, 71, 7900, Some(mx(12)), None, true);
        push(&mut mxb, 10, 72, 4000, Some(mx(13)), None, false);
        push(&mut mxb, 11, 50, 500, Some(mx(13)), None, false); // before: not traced
        let mut mxg = mxb.finish();
        mxg.add_reports(&[SuspiciousReport {
            id: "R1".into(),
            filed: UnixTime(T0),
            account: mx(12),
            transactions: vec![TxId(9)],
        }]);
        (usb.finish(), mxg)
    }

    fn key() -> PseudonymKey {
        PseudonymKey::new([7u8; 32])
    }

    fn round_trip() -> (FlowGraph, ContinuationRequest, ContinuationAnswer) {
        let (usg, mxg) = ledgers();
        let mut opts = TraceOptions::forward(Country::US);
        opts.min_value = 1;
        let flow = trace(
            &usg,
            &[Seed {
                account: us(1),
                amount: None,
            }],
            &opts,
        )
        .unwrap();
        let reqs = requests(&flow, Country::MX, 30 * 86_400, 4, "US-FIN-1");
        assert_eq!(reqs.len(), 1);
        let req = reqs[0].clone();
        let ans = answer(
            &mxg,
            &req,
            Country::MX,
            &key(),
            &DisclosurePolicy::default(),
            &TypologyConfig::default(),
        )
        .unwrap();
        (flow, req, ans)
    }

    #[test]
    fn a_request_carries_only_the_account_the_amount_and_the_window() {
        let (_, req, _) = round_trip();
        assert_eq!(req.account, mx(10));
        assert_eq!(req.value, 2_600_000);
        assert_eq!(req.tx_count, 1);
        assert_eq!(req.from, T0 + 60 * 3600);
        let json = serde_json::to_value(&req).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "account",
                "from",
                "max_hops",
                "request_id",
                "requester",
                "to",
                "tx_count",
                "value"
            ]
        );
    }

    #[test]
    fn the_answer_discloses_totals_and_pseudonyms_not_accounts() {
        let (_, _, ans) = round_trip();
        assert!(ans.found);
        assert_eq!(ans.moved_on, 2_550_000);
        assert_eq!(ans.cash_out, 2_080_000);
        assert_eq!(ans.cash_out_border_zone, 1_680_000);
        assert_eq!(ans.accounts_reached, 3);
        let text = serde_json::to_string(&ans).unwrap();
        for n in 11..=13 {
            assert!(
                !text.contains(mx(n).as_str()),
                "onward account {n} must not leave"
            );
        }
        assert!(!text.contains("MX-B"), "branches must not leave");
        let reported: Vec<bool> = ans
            .onward
            .iter()
            .filter(|n| n.kind == OnwardKind::Account)
            .map(|n| n.reported)
            .collect();
        assert_eq!(reported.iter().filter(|r| **r).count(), 1);
        assert_eq!(
            ans.onward
                .iter()
                .find(|n| n.id == key().pseudonym(&mx(12)))
                .map(|n| n.reported),
            Some(true)
        );
        assert!(
            ans.typologies.iter().any(|(t, _)| *t == Typology::FanOut) || ans.typologies.is_empty()
        );
    }

    #[test]
    fn pseudonyms_are_keyed_hmac() {
        let a = key().pseudonym(&mx(11));
        assert_eq!(a.len(), 32);
        assert_eq!(a, key().pseudonym(&mx(11)));
        assert_ne!(a, PseudonymKey::new([8u8; 32]).pseudonym(&mx(11)));
        assert_ne!(a, key().pseudonym(&mx(12)));
        assert_eq!(format!("{:?}", key()), "PseudonymKey(<redacted>)");
        // The zero-padded block key is the same HMAC as the 32-byte key
        // (RFC 2104, section 2).
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"soberana-finance-pseudonym-v1");
        mac.update(mx(11).as_str().as_bytes());
        let want: String = mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(a, want);
    }

    #[test]
    fn stitching_adds_the_partner_leg_marked_as_such() {
        let (mut flow, req, ans) = round_trip();
        let home_nodes = flow.nodes.len();
        let s = stitch(&mut flow, &req, &ans).unwrap();
        assert_eq!(s.nodes, ans.onward.len());
        assert!(
            flow.nodes[home_nodes..]
                .iter()
                .all(|n| n.leg == Leg::Partner(Country::MX))
        );
        let border = flow.node(mx(10).as_str()).unwrap();
        let out: i64 = flow
            .edges
            .iter()
            .filter(|e| e.from == border)
            .map(|e| e.value)
            .sum();
        assert_eq!(out, 2_550_000);
        assert!(
            flow.nodes
                .iter()
                .any(|n| n.kind == NodeKind::CashOut && n.border_zone && n.leg != Leg::Home)
        );
        // Twice is refused.
        assert!(matches!(
            stitch(&mut flow, &req, &ans),
            Err(ContinuationError::BadAnswer(_))
        ));
    }

    #[test]
    fn forged_or_mismatched_answers_are_refused_and_change_nothing() {
        let (flow, req, ans) = round_trip();
        type Forge = fn(&mut ContinuationAnswer);
        let cases: [(&str, Forge); 8] = [
            ("other request", |a| a.request_id = "X".into()),
            ("other account", |a| a.account = mx(99)),
            ("inflated", |a| a.moved_on = 1_000_000_000),
            ("negative", |a| a.cash_out = -1),
            ("bad id", |a| a.onward[0].id = "mx-account".into()),
            ("duplicate", |a| {
                let n = a.onward[0].clone();
                a.onward.push(n)
            }),
            ("dangling edge", |a| a.edges[0].to = "0".repeat(32)),
            ("wrong country", |a| a.answering = Country::US),
        ];
        for (name, forge) in cases {
            let mut bad = ans.clone();
            forge(&mut bad);
            let mut f = flow.clone();
            assert!(stitch(&mut f, &req, &bad).is_err(), "{name}");
            assert_eq!(f, flow, "{name}: nothing added");
        }
        let text = serde_json::to_string(&ans)
            .unwrap()
            .replacen('{', "{\"extra\":1,", 1);
        assert!(
            serde_json::from_str::<ContinuationAnswer>(&text).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let (_, req, _) = round_trip();
        let (_, mxg) = ledgers();
        let p = DisclosurePolicy::default();
        let t = TypologyConfig::default();
        type Forge = fn(&mut ContinuationRequest);
        let cases: [(&str, Forge); 7] = [
            ("not ours", |r| r.account = us(5)),
            ("empty id", |r| r.request_id.clear()),
            ("zero", |r| r.value = 0),
            ("huge", |r| r.value = i64::MAX),
            ("window", |r| r.to = r.from - 1),
            ("too long", |r| r.to = r.from + 400 * 86_400),
            ("from us", |r| r.requester = Country::MX),
        ];
        for (name, forge) in cases {
            let mut bad = req.clone();
            forge(&mut bad);
            assert!(
                answer(&mxg, &bad, Country::MX, &key(), &p, &t).is_err(),
                "{name}"
            );
        }
        let mut unknown = req.clone();
        unknown.account = mx(4242);
        let a = answer(&mxg, &unknown, Country::MX, &key(), &p, &t).unwrap();
        assert!(!a.found && a.onward.is_empty());
    }

    #[test]
    fn policy_limits_what_is_released() {
        let (_, req, _) = round_trip();
        let (_, mxg) = ledgers();
        let p = DisclosurePolicy {
            max_onward: 2,
            release_edges: false,
            release_typologies: false,
            ..DisclosurePolicy::default()
        };
        let a = answer(
            &mxg,
            &req,
            Country::MX,
            &key(),
            &p,
            &TypologyConfig::default(),
        )
        .unwrap();
        assert_eq!(a.onward.len(), 2);
        assert!(a.edges.is_empty() && a.typologies.is_empty() && a.truncated);
        assert_eq!(a.accounts_reached, 3, "counts stay whole");
    }
}
