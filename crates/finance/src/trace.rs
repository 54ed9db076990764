//! Follow-the-money traces over a [`Graph`], forward (where did the money
//! go) and backward (where did it come from), with a hop limit, a time
//! window and a stated fund-attribution rule.
//!
//! # Attribution rule: tainted-first, first in, first out
//!
//! Forward, each account holds *lots* of traced money in arrival order. A
//! seed account holds one lot (of the amount given, or unlimited: then every
//! outflow in the window is traced). When an account sends money, the
//! payment is paid out of its traced lots first, oldest first (FIFO), up to
//! the payment's amount; the rest of the payment is untraced money and is
//! not followed. The traced part becomes one lot at the receiver, at the
//! payment's position in time, one hop further than the furthest lot it
//! drew from. So money can only leave after it arrived (a lot is spendable
//! only by payments strictly later in time order), and money is conserved:
//! for every account, traced inflow = traced outflow + traced money still
//! there (`retained`), and the seeds' traced money equals the sum of all
//! `retained` amounts (money withdrawn in cash or reaching the border is
//! retained at the cash or border node).
//!
//! "Tainted first" is the rule most favourable to the investigation (it
//! never under-states what could have moved on), which is what a lead needs;
//! it can over-state what a court would attribute, so the flow carries the
//! rule's name and every edge its evidence transactions.
//!
//! Backward is the mirror image: the seed's inflows are the demand; each
//! sender must have received that money strictly earlier; the demand is met
//! by the sender's most recent earlier inflows first, up to their amounts,
//! and what no inflow explains stays with the sender (`retained` = origin
//! not explained by the ledger, e.g. an opening balance).
//!
//! The trail stops at an account held in another jurisdiction (the border):
//! that country holds the account's data. Such nodes are marked
//! [`NodeKind::Border`]; [`crate::continuation`] turns them into requests.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::TraceError;
use crate::graph::{FastMap, Graph, NONE};
use crate::model::{AccountId, Channel, Country, TxId};

/// Which way to follow the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Where did the money go.
    Forward,
    /// Where did the money come from.
    Backward,
}

/// Largest seed amount accepted: USD 10 trillion in cents. It keeps every
/// sum in a flow far from `i64` overflow.
pub const MAX_SEED_VALUE: i64 = 1_000_000_000_000_000;

/// The attribution rule's name, carried by every flow.
pub const RULE_TAINTED_FIFO: &str = "tainted-first FIFO";

/// How to run a trace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceOptions {
    /// Forward or backward.
    pub direction: Direction,
    /// Most hops from a seed (default 6).
    pub max_hops: u8,
    /// Only transactions at or after this time (seconds since 1970).
    pub from: i64,
    /// Only transactions at or before this time.
    pub to: i64,
    /// Traced amounts below this (reference minor units) are dropped as
    /// dust and stay where they are (default 100, one US dollar): this
    /// keeps a trace from fanning out into cents.
    pub min_value: i64,
    /// Our jurisdiction: accounts held elsewhere end the trail (border).
    pub home: Country,
    /// Evidence transaction ids kept per edge (the count is always full).
    pub max_evidence: usize,
}

impl TraceOptions {
    /// Forward, 6 hops, all time, one dollar of dust, 64 ids of evidence.
    pub fn forward(home: Country) -> Self {
        TraceOptions {
            direction: Direction::Forward,
            max_hops: 6,
            from: i64::MIN,
            to: i64::MAX,
            min_value: 100,
            home,
            max_evidence: 64,
        }
    }

    /// The same, backward.
    pub fn backward(home: Country) -> Self {
        TraceOptions {
            direction: Direction::Backward,
            ..Self::forward(home)
        }
    }
}

/// Where a trace starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed {
    /// The account.
    pub account: AccountId,
    /// Traced amount in reference minor units; `None` traces every flow of
    /// the account within the window.
    pub amount: Option<i64>,
}

/// What a node of the flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A seed account.
    Seed,
    /// An account in our jurisdiction.
    Account,
    /// An account in another jurisdiction: the trail continues there.
    Border,
    /// Cash taken out at a place.
    CashOut,
    /// Cash paid in (or off-ramped crypto-assets) at a place.
    CashIn,
    /// A pseudonymous account in a partner's leg.
    Partner,
}

/// Whose data an element of the flow comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "leg", content = "country")]
pub enum Leg {
    /// Our own ledger.
    Home,
    /// A partner's answer.
    Partner(Country),
}

/// A node of a flow graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowNode {
    /// Account identifier, `cash:<country>:<place>`, or a partner pseudonym.
    pub key: String,
    /// What it is.
    pub kind: NodeKind,
    /// Country, where known.
    pub country: Option<Country>,
    /// Fewest hops from a seed.
    pub hop: u8,
    /// Traced money in (reference minor units).
    pub inflow: i64,
    /// Traced money out.
    pub outflow: i64,
    /// Forward: traced money that stayed here. Backward: traced money whose
    /// origin the ledger does not explain further.
    pub retained: i64,
    /// Named in a suspicious-transaction report.
    pub reported: bool,
    /// For cash nodes: the place lies in a border zone.
    pub border_zone: bool,
    /// Whose data.
    pub leg: Leg,
}

/// An edge of a flow graph: traced money between two nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowEdge {
    /// Index of the sending node.
    pub from: u32,
    /// Index of the receiving node.
    pub to: u32,
    /// Traced money (reference minor units).
    pub value: i64,
    /// Transactions that carried it.
    pub tx_count: u64,
    /// Time of the first.
    pub first: i64,
    /// Time of the last.
    pub last: i64,
    /// Evidence: their ids (up to the trace's `max_evidence`).
    pub tx_ids: Vec<TxId>,
    /// Channels used.
    pub channels: Vec<Channel>,
    /// Whose data.
    pub leg: Leg,
}

/// The result of a trace: who sent traced money to whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowGraph {
    /// Forward or backward.
    pub direction: Direction,
    /// The attribution rule.
    pub rule: String,
    /// Our jurisdiction.
    pub home: Country,
    /// Hop limit used.
    pub max_hops: u8,
    /// Window start.
    pub from: i64,
    /// Window end.
    pub to: i64,
    /// Traced money put in at the seeds (reference minor units).
    pub seeded: i64,
    /// Nodes; edges refer to them by index.
    pub nodes: Vec<FlowNode>,
    /// Edges.
    pub edges: Vec<FlowEdge>,
}

impl FlowGraph {
    /// Index of the node with this key.
    pub fn node(&self, key: &str) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.key == key)
            .map(|i| i as u32)
    }

    /// Border nodes: where the trail reaches another jurisdiction.
    pub fn border_nodes(&self) -> impl Iterator<Item = (u32, &FlowNode)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == NodeKind::Border)
            .map(|(i, n)| (i as u32, n))
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
struct Lot {
    value: i64,
    hop: u8,
    /// The lot of a seed traced without an amount: what it pays out is
    /// counted as put in.
    unlimited: bool,
}

struct AccState {
    lots: VecDeque<Lot>,
    /// Position in the account's adjacency slice of the next transaction to
    /// look at, or `None` when nothing is scheduled.
    cursor: Option<usize>,
    node: u32,
}

/// Builds the flow while the trace runs.
struct Flow<'g> {
    g: &'g Graph,
    opts: &'g TraceOptions,
    nodes: Vec<FlowNode>,
    edges: Vec<FlowEdge>,
    node_of_account: FastMap<u32, u32>,
    node_of_place: FastMap<u32, u32>,
    edge_of: FastMap<(u32, u32), u32>,
}

impl<'g> Flow<'g> {
    fn account_node(&mut self, a: u32, hop: u8) -> u32 {
        if let Some(&n) = self.node_of_account.get(&a) {
            let node = &mut self.nodes[n as usize];
            node.hop = node.hop.min(hop);
            return n;
        }
        let country = self.g.account_country(a);
        let kind = if hop == 0 {
            NodeKind::Seed
        } else if country != Some(self.opts.home) {
            NodeKind::Border
        } else {
            NodeKind::Account
        };
        let n = self.push_node(FlowNode {
            key: self
                .g
                .account_id(a)
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
            kind,
            country,
            hop,
            inflow: 0,
            outflow: 0,
            retained: 0,
            reported: self.g.is_reported(a),
            border_zone: false,
            leg: Leg::Home,
        });
        self.node_of_account.insert(a, n);
        n
    }

    fn cash_node(&mut self, t: u32, hop: u8) -> u32 {
        let p = self.g.place[t as usize];
        if let Some(&n) = self.node_of_place.get(&p) {
            let node = &mut self.nodes[n as usize];
            node.hop = node.hop.min(hop);
            return n;
        }
        let place = self.g.place(t);
        let kind = match self.opts.direction {
            Direction::Forward => NodeKind::CashOut,
            Direction::Backward => NodeKind::CashIn,
        };
        let n = self.push_node(FlowNode {
            key: format!(
                "cash:{}:{}",
                place.country,
                place.branch.as_deref().unwrap_or("-")
            ),
            kind,
            country: Some(place.country),
            hop,
            inflow: 0,
            outflow: 0,
            retained: 0,
            reported: false,
            border_zone: place.border_zone,
            leg: Leg::Home,
        });
        self.node_of_place.insert(p, n);
        n
    }

    fn push_node(&mut self, node: FlowNode) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn add_edge(&mut self, from: u32, to: u32, t: u32, value: i64) {
        let time = self.g.time(t);
        let channel = self.g.channel(t);
        let id = self.g.tx_id(t);
        let e = *self.edge_of.entry((from, to)).or_insert_with(|| {
            self.edges.push(FlowEdge {
                from,
                to,
                value: 0,
                tx_count: 0,
                first: time,
                last: time,
                tx_ids: Vec::new(),
                channels: Vec::new(),
                leg: Leg::Home,
            });
            (self.edges.len() - 1) as u32
        });
        let edge = &mut self.edges[e as usize];
        edge.value += value;
        edge.tx_count += 1;
        edge.first = edge.first.min(time);
        edge.last = edge.last.max(time);
        if edge.tx_ids.len() < self.opts.max_evidence {
            edge.tx_ids.push(id);
        }
        if !edge.channels.contains(&channel) {
            edge.channels.push(channel);
        }
        self.nodes[from as usize].outflow += value;
        self.nodes[to as usize].inflow += value;
    }
}

/// Runs a trace (see the module documentation for the attribution rule).
pub fn trace(g: &Graph, seeds: &[Seed], opts: &TraceOptions) -> Result<FlowGraph, TraceError> {
    if seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    if opts.from > opts.to {
        return Err(TraceError::Window);
    }
    let forward = opts.direction == Direction::Forward;
    // The adjacency to walk, and the far end of a transaction.
    let adj = |a: u32| {
        if forward {
            g.outgoing(a)
        } else {
            g.incoming(a)
        }
    };
    let other = |t: u32| if forward { g.to(t) } else { g.from(t) };
    // Heap key: forward, the position; backward, the position reversed, so
    // that one min-heap walks time in the trace's direction.
    let key = |t: u32| if forward { t } else { u32::MAX - t };
    let in_window = |t: u32| {
        let time = g.time(t);
        time >= opts.from && time <= opts.to
    };

    let mut flow = Flow {
        g,
        opts,
        nodes: Vec::new(),
        edges: Vec::new(),
        node_of_account: FastMap::default(),
        node_of_place: FastMap::default(),
        edge_of: FastMap::default(),
    };
    let mut state: FastMap<u32, AccState> = FastMap::default();
    let mut heap: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::new();
    let mut seeded: i64 = 0;
    // Money drawn from unlimited seed lots, per seed node.
    let mut injected: FastMap<u32, i64> = FastMap::default();

    for seed in seeds {
        let a = g
            .account(&seed.account)
            .ok_or_else(|| TraceError::UnknownAccount(seed.account.to_string()))?;
        let node = flow.account_node(a, 0);
        let value = seed.amount.unwrap_or(i64::MAX);
        if let Some(v) = seed.amount {
            if v < 0 {
                return Err(TraceError::NegativeAmount);
            }
            if v > MAX_SEED_VALUE {
                return Err(TraceError::NegativeAmount);
            }
            seeded = seeded.saturating_add(v);
            let e = injected.entry(node).or_insert(0);
            *e = e.saturating_add(v);
        }
        let slice = adj(a);
        // First transaction inside the window in the trace's direction.
        let cursor = if forward {
            let i = slice.partition_point(|&t| g.time(t) < opts.from);
            (i < slice.len()).then_some(i)
        } else {
            let i = slice.partition_point(|&t| g.time(t) <= opts.to);
            i.checked_sub(1)
        };
        let st = state.entry(a).or_insert(AccState {
            lots: VecDeque::new(),
            cursor: None,
            node,
        });
        st.lots.push_back(Lot {
            value,
            hop: 0,
            unlimited: seed.amount.is_none(),
        });
        if st.cursor.is_none()
            && let Some(c) = cursor
        {
            st.cursor = Some(c);
            heap.push(Reverse((key(slice[c]), a)));
        }
    }

    while let Some(Reverse((k, a))) = heap.pop() {
        let t = if forward { k } else { u32::MAX - k };
        if !in_window(t) {
            // Past the window in the trace's direction: nothing later counts.
            if let Some(st) = state.get_mut(&a) {
                st.cursor = None;
            }
            continue;
        }
        let Some(st) = state.get_mut(&a) else {
            continue;
        };
        let from_node = st.node;
        // Pay the transaction out of the lots, oldest first.
        let mut want = g.value(t);
        let mut taken: i64 = 0;
        let mut hop_out: u8 = 0;
        while want > 0 {
            let Some(lot) = st.lots.front_mut() else {
                break;
            };
            let x = lot.value.min(want);
            lot.value -= x;
            want -= x;
            taken += x;
            hop_out = hop_out.max(lot.hop + 1);
            if lot.unlimited {
                let e = injected.entry(from_node).or_insert(0);
                *e = e.saturating_add(x);
                seeded = seeded.saturating_add(x);
            }
            if lot.value < opts.min_value {
                // Dust (or an emptied lot) stays here, counted as retained.
                st.lots.pop_front();
            }
        }
        // Schedule the account's next transaction while lots remain.
        let slice = adj(a);
        let next = st.cursor.and_then(|c| {
            if forward {
                (c + 1 < slice.len()).then_some(c + 1)
            } else {
                c.checked_sub(1)
            }
        });
        st.cursor = None;
        if !st.lots.is_empty()
            && let Some(c) = next
        {
            st.cursor = Some(c);
            heap.push(Reverse((key(slice[c]), a)));
        }
        if taken < opts.min_value {
            continue;
        }
        let b = other(t);
        let to_node = if b == NONE {
            flow.cash_node(t, hop_out)
        } else {
            flow.account_node(b, hop_out)
        };
        if forward {
            flow.add_edge(from_node, to_node, t, taken);
        } else {
            flow.add_edge(to_node, from_node, t, taken);
        }
        let expand = b != NONE
            && hop_out < opts.max_hops
            && flow.nodes[to_node as usize].kind != NodeKind::Border;
        if !expand {
            continue;
        }
        let slice = adj(b);
        // The receiver can pass the money on only strictly after it arrived.
        let first = if forward {
            let i = slice.partition_point(|&x| x <= t);
            (i < slice.len()).then_some(i)
        } else {
            slice.partition_point(|&x| x < t).checked_sub(1)
        };
        let st = state.entry(b).or_insert(AccState {
            lots: VecDeque::new(),
            cursor: None,
            node: to_node,
        });
        st.lots.push_back(Lot {
            value: taken,
            hop: hop_out,
            unlimited: false,
        });
        if st.cursor.is_none()
            && let Some(c) = first
        {
            st.cursor = Some(c);
            heap.push(Reverse((key(slice[c]), b)));
        }
    }

    // What was put in at the seeds enters forward as inflow and backward
    // as outflow (the demand), so that every node's `retained` is the
    // difference and the sum of `retained` equals `seeded`.
    for (n, v) in injected {
        let node = &mut flow.nodes[n as usize];
        if forward {
            node.inflow += v;
        } else {
            node.outflow += v;
        }
    }
    for node in &mut flow.nodes {
        node.retained = if forward {
            node.inflow - node.outflow
        } else {
            node.outflow - node.inflow
        };
    }
    Ok(FlowGraph {
        direction: opts.direction,
        rule: RULE_TAINTED_FIFO.to_owned(),
        home: opts.home,
        max_hops: opts.max_hops,
        from: opts.from,
        to: opts.to,
        seeded,
        nodes: flow.nodes,
        edges: flow.edges,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graph::GraphBuilder;
    use crate::model::{Currency, Money, Transaction, UnixTime};

    pub(crate) fn us(n: u32) -> AccountId {
        AccountId::new(&format!("us:021000021:{n}")).unwrap()
    }

    pub(crate) fn mx(n: u32) -> AccountId {
        AccountId::clabe_from_digits(&format!("{n:017}")).unwrap()
    }

    pub(crate) const T0: i64 = 1_762_128_000; // 2025-11-03T00:00:00Z

    /// Builds a graph from `(id, hour, dollars, from, to)`; `None` accounts
    /// make cash deposits or withdrawals.
    /// `(id, hour, dollars, from, to)`.
    pub(crate) type Row = (u64, i64, i64, Option<AccountId>, Option<AccountId>);

    pub(crate) fn graph(rows: &[Row]) -> Graph {
        let mut b = GraphBuilder::new();
        for (id, hour, dollars, from, to) in rows {
            let channel = match (from, to) {
                (None, _) => Channel::CashDeposit,
                (_, None) => Channel::CashWithdrawal,
                (Some(f), Some(t)) if f.country() != t.country() => Channel::CrossBorderWire,
                _ => Channel::DomesticWire,
            };
            b.push(&Transaction {
                id: TxId(*id),
                time: UnixTime(T0 + hour * 3600),
                amount: Money {
                    minor: dollars * 100,
                    currency: Currency::Usd,
                },
                channel,
                from: from.clone(),
                to: to.clone(),
                country: from
                    .as_ref()
                    .or(to.as_ref())
                    .map_or(Country::US, |a| a.country()),
                branch: None,
                border_zone: false,
            })
            .unwrap();
        }
        b.finish()
    }

    fn seed(a: AccountId, dollars: Option<i64>) -> Seed {
        Seed {
            account: a,
            amount: dollars.map(|d| d * 100),
        }
    }

    fn value_into(f: &FlowGraph, key: &AccountId) -> i64 {
        f.node(key.as_str())
            .map_or(0, |n| f.nodes[n as usize].inflow / 100)
    }

    fn assert_conserved(f: &FlowGraph) {
        let sum: i64 = f.nodes.iter().map(|n| n.retained).sum();
        assert_eq!(sum, f.seeded, "money is conserved");
        for n in &f.nodes {
            assert!(n.retained >= 0, "{n:?}");
        }
        for e in &f.edges {
            assert!(e.value > 0 && e.first <= e.last);
        }
    }

    #[test]
    fn money_leaves_only_after_it_arrived() {
        let g = graph(&[
            (1, 1, 500, Some(us(2)), Some(us(3))), // before B had the money
            (2, 2, 1000, Some(us(1)), Some(us(2))),
            (3, 3, 400, Some(us(2)), Some(us(4))),
        ]);
        let f = trace(
            &g,
            &[seed(us(1), None)],
            &TraceOptions::forward(Country::US),
        )
        .unwrap();
        assert_eq!(value_into(&f, &us(4)), 400);
        assert_eq!(f.node(us(3).as_str()), None);
        assert_eq!(f.seeded, 100_000);
        assert_conserved(&f);
    }

    #[test]
    fn same_second_follows_input_order() {
        let g = graph(&[
            (1, 5, 100, Some(us(2)), Some(us(3))),
            (2, 5, 100, Some(us(1)), Some(us(2))),
            (3, 5, 100, Some(us(2)), Some(us(4))),
        ]);
        let f = trace(
            &g,
            &[seed(us(1), None)],
            &TraceOptions::forward(Country::US),
        )
        .unwrap();
        assert_eq!(f.node(us(3).as_str()), None);
        assert_eq!(value_into(&f, &us(4)), 100);
    }

    #[test]
    fn fifo_pays_out_traced_money_first_and_conserves_it() {
        let g = graph(&[
            (1, 1, 5000, Some(us(9)), Some(us(2))), // untraced money already at B
            (2, 2, 100, Some(us(1)), Some(us(2))),
            (3, 3, 30, Some(us(2)), Some(us(3))),
            (4, 4, 100, Some(us(2)), Some(us(4))),
            (5, 5, 100, Some(us(2)), Some(us(5))),
        ]);
        let f = trace(
            &g,
            &[seed(us(1), Some(100))],
            &TraceOptions::forward(Country::US),
        )
        .unwrap();
        assert_eq!(value_into(&f, &us(3)), 30);
        assert_eq!(value_into(&f, &us(4)), 70);
        assert_eq!(f.node(us(5).as_str()), None, "B had no traced money left");
        assert_conserved(&f);
        // A limited seed: of 100 seeded, 100 went to B.
        assert_eq!(f.seeded, 10_000);
    }

    #[test]
    fn hop_limit_window_and_border_stop_the_trail() {
        let g = graph(&[
            (1, 1, 100, Some(us(1)), Some(us(2))),
            (2, 2, 100, Some(us(2)), Some(us(3))),
            (3, 3, 100, Some(us(3)), Some(us(4))),
            (4, 4, 50, Some(us(1)), Some(mx(7))),
            (5, 5, 50, Some(mx(7)), Some(us(8))),
            (6, 99, 10, Some(us(1)), Some(us(6))), // outside the window
            (7, 6, 20, Some(us(4)), None),
        ]);
        let mut o = TraceOptions::forward(Country::US);
        o.max_hops = 2;
        o.to = T0 + 50 * 3600;
        let f = trace(&g, &[seed(us(1), None)], &o).unwrap();
        assert_eq!(value_into(&f, &us(3)), 100);
        assert_eq!(f.node(us(4).as_str()), None, "three hops away");
        assert_eq!(f.node(us(6).as_str()), None, "outside the window");
        let border: Vec<_> = f.border_nodes().map(|(_, n)| n.key.clone()).collect();
        assert_eq!(border, vec![mx(7).to_string()]);
        assert_eq!(
            f.node(us(8).as_str()),
            None,
            "the partner's side is not followed"
        );
        assert_conserved(&f);
        o.max_hops = 6;
        let f = trace(&g, &[seed(us(1), None)], &o).unwrap();
        let cash = f
            .nodes
            .iter()
            .find(|n| n.kind == NodeKind::CashOut)
            .unwrap();
        assert_eq!(cash.inflow, 2000);
        assert_eq!(cash.hop, 4);
    }

    #[test]
    fn backward_finds_earlier_sources_only() {
        let g = graph(&[
            (1, 1, 300, Some(us(1)), Some(us(2))),
            (2, 2, 200, None, Some(us(2))),
            (3, 3, 400, Some(us(2)), Some(us(3))),
            (4, 4, 900, Some(us(5)), Some(us(2))), // after the payment: not a source
        ]);
        let f = trace(
            &g,
            &[seed(us(3), None)],
            &TraceOptions::backward(Country::US),
        )
        .unwrap();
        // 400 demanded of B: 200 from the cash deposit (most recent), 200 of A's 300.
        assert_eq!(f.seeded, 40_000);
        let a = f.node(us(1).as_str()).unwrap();
        assert_eq!(f.nodes[a as usize].outflow, 20_000);
        let cash = f.nodes.iter().find(|n| n.kind == NodeKind::CashIn).unwrap();
        assert_eq!(cash.outflow, 20_000);
        assert_eq!(f.node(us(5).as_str()), None);
        assert_conserved(&f);
    }

    #[test]
    fn conservation_holds_on_random_graphs() {
        // A deterministic pseudo-random graph: 40 accounts, 600 payments.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rows: Vec<_> = (0..600u64)
            .map(|i| {
                let a = (next() % 40) as u32;
                let b = (next() % 40) as u32;
                let to = if b == 39 { mx(b) } else { us(b) };
                (
                    i,
                    (next() % 500) as i64,
                    (next() % 900 + 1) as i64,
                    Some(us(a)),
                    Some(to),
                )
            })
            .collect();
        let g = graph(&rows);
        for dir in [Direction::Forward, Direction::Backward] {
            for amount in [None, Some(700)] {
                let mut o = TraceOptions::forward(Country::US);
                o.direction = dir;
                o.min_value = 1;
                let f = trace(&g, &[seed(us(0), amount), seed(us(1), amount)], &o).unwrap();
                assert!(f.edges.len() > 10, "the trace went somewhere");
                assert_conserved(&f);
                for e in &f.edges {
                    // Every evidence transaction moves money along the edge.
                    for id in &e.tx_ids {
                        let t = g.position(*id).unwrap();
                        assert_eq!(
                            g.account_id(g.from(t)).unwrap().as_str(),
                            f.nodes[e.from as usize].key
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        let g = graph(&[(1, 1, 100, Some(us(1)), Some(us(2)))]);
        let o = TraceOptions::forward(Country::US);
        assert_eq!(trace(&g, &[], &o), Err(TraceError::NoSeeds));
        assert!(matches!(
            trace(&g, &[seed(us(77), None)], &o),
            Err(TraceError::UnknownAccount(_))
        ));
        assert_eq!(
            trace(&g, &[seed(us(1), Some(-1))], &o),
            Err(TraceError::NegativeAmount)
        );
        let mut w = o.clone();
        w.from = 10;
        w.to = 5;
        assert_eq!(trace(&g, &[seed(us(1), None)], &w), Err(TraceError::Window));
    }
}
