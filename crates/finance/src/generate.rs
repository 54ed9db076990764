//! A generator of realistic two-country ledgers (Mexico and the United
//! States): legitimate background traffic plus planted, labelled typologies,
//! deterministic from a seed, from thousands to a hundred million
//! transactions, written as CSV one day at a time (so memory stays flat).
//!
//! The background is what a financial-intelligence unit sees every day:
//! payroll on the 1st and the 15th, card purchases, transfers between
//! people, ATM withdrawals, shops paying in their takings at their branch,
//! supplier payments, remittances from the US to families in Mexico, trade
//! wires, a few crypto off-ramps. Population: blocks of ten accounts (one
//! company, nine of its employees) alternately American and Mexican, each
//! block in one city; four of ten cities per country lie on the border.
//!
//! The planted patterns start after a 70-day warm-up (detectors that need
//! history, like "new counterparty", have it) and are returned as
//! [`KnownPattern`] labels. The demo scenario is one of them: a network
//! structures cash deposits in the US, wires the proceeds to a Mexican
//! account, which fans them out to mule accounts that withdraw the cash
//! near the border.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::graph::{Graph, GraphBuilder, NONE};
use crate::model::{
    AccountId, Channel, Country, Currency, SuspiciousReport, TxId, UnixTime, aba_complete,
    clabe_with_check,
};
use crate::typology::{KnownPattern, Typology};

const DAY: i64 = 86_400;
const HOUR: i64 = 3600;
/// Pesos per dollar used to write Mexican amounts (about the late-2025 rate).
const MXN_PER_USD: f64 = 18.2;
/// Planted transactions get ids from here up, apart from the background's.
pub const PLANTED_ID_BASE: u64 = 1 << 40;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateOptions {
    /// Seed: the same seed gives the same ledger.
    pub seed: u64,
    /// About how many transactions (background and planted).
    pub transactions: u64,
    /// Days covered (at least 90: 70 of warm-up and room for the patterns).
    pub days: u32,
    /// First day, seconds since 1970 (default 2025-05-01).
    pub start: i64,
    /// Planted instances of each typology (default: 8, or one per 100,000
    /// transactions if more).
    pub planted_per_kind: Option<usize>,
    /// Write only the rows this country's financial-intelligence unit holds
    /// (any side held there, or cash handled there).
    pub only_country: Option<Country>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            seed: 1,
            transactions: 100_000,
            days: 180,
            start: 1_745_971_200 + DAY, // 2025-05-01T00:00:00Z
            planted_per_kind: None,
            only_country: None,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Transactions written.
    pub transactions: u64,
    /// Accounts in the population (background and planted).
    pub accounts: u64,
    /// The planted patterns.
    pub planted: Vec<KnownPattern>,
    /// The demo scenario's accounts: (US collector, Mexican fan-out
    /// account) per instance.
    pub scenario: Vec<(AccountId, AccountId)>,
}

/// Generation refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Options out of range.
    #[error("{0}")]
    Options(&'static str),
    /// The writer failed.
    #[error("cannot write the ledger: {0}")]
    Io(#[from] io::Error),
    /// The graph builder refused a row (a bug in the generator).
    #[error("generated row refused: {0}")]
    Build(#[from] crate::graph::BuildError),
}

/// xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
/// generators", 2021), seeded by SplitMix64: small, fast, and the same on
/// every platform, which a reproducible ledger needs.
#[derive(Clone)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let r = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n.max(1))) >> 64) as u64
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform between `lo` and `hi` (dollars), in cents.
    fn dollars(&mut self, lo: f64, hi: f64) -> i64 {
        (lo * (hi / lo).powf(self.unit()) * 100.0).round() as i64
    }
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Cities: code and whether it lies in a border zone.
const US_CITIES: [(&str, bool); 10] = [
    ("ELP", true),
    ("SAN", true),
    ("LRD", true),
    ("MFE", true),
    ("HOU", false),
    ("DAL", false),
    ("PHX", false),
    ("LAX", false),
    ("CHI", false),
    ("ATL", false),
];
const MX_CITIES: [(&str, bool); 10] = [
    ("TIJ", true),
    ("CJS", true),
    ("NLD", true),
    ("REX", true),
    ("NOG", true),
    ("MEX", false),
    ("GDL", false),
    ("MTY", false),
    ("CUL", false),
    ("PBC", false),
];
const BRANCHES_PER_CITY: u8 = 20;
const US_ROUTING_PREFIXES: [u32; 5] = [2_100_002, 2_600_959, 12_100_024, 11_100_061, 32_227_162];
const MX_BANKS: [&str; 5] = ["002", "012", "014", "072", "021"];

/// A place: country (0 US, 1 MX), city, branch (0: none, e.g. a card payment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlaceCode {
    mx: bool,
    city: u8,
    branch: u8,
}

impl PlaceCode {
    fn country(self) -> Country {
        if self.mx { Country::MX } else { Country::US }
    }

    fn city(self) -> (&'static str, bool) {
        let cities = if self.mx { &MX_CITIES } else { &US_CITIES };
        cities[usize::from(self.city) % 10]
    }

    fn branch(self) -> Option<String> {
        (self.branch > 0)
            .then(|| format!("{}-{}-{:02}", self.country(), self.city().0, self.branch))
    }

    fn border_zone(self) -> bool {
        self.branch > 0 && self.city().1
    }
}

#[derive(Clone, Copy, Debug)]
struct GenTx {
    id: u64,
    time: i64,
    amount: i64,
    currency: Currency,
    channel: Channel,
    from: u32,
    to: u32,
    place: PlaceCode,
}

/// The account population: background blocks, then planted accounts.
struct Population {
    /// Background accounts (a multiple of ten).
    background: u32,
    /// Countries of planted accounts (true: Mexico).
    planted_mx: Vec<bool>,
}

impl Population {
    fn new(n_tx: u64) -> Self {
        let background = ((n_tx / 40).max(200) / 10 * 10).min(u64::from(NONE / 2)) as u32;
        Population {
            background,
            planted_mx: Vec::new(),
        }
    }

    fn len(&self) -> u32 {
        self.background + self.planted_mx.len() as u32
    }

    fn is_mx(&self, a: u32) -> bool {
        if a < self.background {
            (a / 10) % 2 == 1
        } else {
            self.planted_mx
                .get((a - self.background) as usize)
                .copied()
                .unwrap_or(false)
        }
    }

    fn is_company(&self, a: u32) -> bool {
        a < self.background && a.is_multiple_of(10)
    }

    fn city(&self, a: u32) -> u8 {
        (mix(u64::from(a / 10), 7) % 10) as u8
    }

    fn add(&mut self, mx: bool) -> u32 {
        self.planted_mx.push(mx);
        self.len() - 1
    }

    fn id(&self, a: u32) -> AccountId {
        let h = mix(u64::from(a), 11);
        // Both forms are built valid by construction (check digits computed).
        if self.is_mx(a) {
            let bank = MX_BANKS[(h % 5) as usize];
            let plaza = 100 + u32::from(self.city(a));
            AccountId::trusted(clabe_with_check(&format!("{bank}{plaza:03}{a:011}")))
        } else {
            let routing = aba_complete(US_ROUTING_PREFIXES[(h % 5) as usize]);
            AccountId::trusted(format!("us:{routing}:{}", 4_000_000_000u64 + u64::from(a)))
        }
    }

    /// A random background account of a country, company or person.
    fn pick(&self, rng: &mut Rng, mx: bool, company: bool) -> u32 {
        let blocks = u64::from(self.background / 10);
        let half = blocks.div_ceil(2).max(1);
        let mut block = rng.below(half) * 2 + u64::from(mx);
        if block >= blocks {
            block = u64::from(mx).min(blocks.saturating_sub(1));
        }
        let within = if company { 0 } else { 1 + rng.below(9) };
        (block * 10 + within) as u32
    }

    fn home_place(&self, rng: &mut Rng, a: u32) -> PlaceCode {
        PlaceCode {
            mx: self.is_mx(a),
            city: self.city(a),
            branch: 1 + rng.below(u64::from(BRANCHES_PER_CITY)) as u8,
        }
    }
}

fn local(mx: bool, usd_cents: i64) -> (i64, Currency) {
    if mx {
        (
            (usd_cents as f64 * MXN_PER_USD).round() as i64,
            Currency::Mxn,
        )
    } else {
        (usd_cents, Currency::Usd)
    }
}

/// The plan: population, planted transactions (time-sorted) and labels.
struct Plan {
    pop: Population,
    planted: Vec<GenTx>,
    labels: Vec<KnownPattern>,
    scenario: Vec<(u32, u32)>,
    reported: Vec<(u32, Vec<u64>)>,
    per_day: u64,
}

struct Planter<'a> {
    rng: Rng,
    pop: &'a mut Population,
    txs: Vec<GenTx>,
    next_id: u64,
    labels: Vec<(Typology, u32, Vec<u64>)>,
    reported: Vec<(u32, Vec<u64>)>,
}

impl Planter<'_> {
    #[allow(clippy::too_many_arguments)]
    fn tx(
        &mut self,
        time: i64,
        usd: i64,
        channel: Channel,
        from: u32,
        to: u32,
        place: PlaceCode,
        in_mx: bool,
    ) -> u64 {
        let (amount, currency) = if channel == Channel::CrossBorderWire {
            (usd, Currency::Usd)
        } else {
            local(in_mx, usd)
        };
        let id = self.next_id;
        self.next_id += 1;
        self.txs.push(GenTx {
            id,
            time,
            amount,
            currency,
            channel,
            from,
            to,
            place,
        });
        id
    }

    fn usd(&mut self, lo: f64, hi: f64) -> i64 {
        self.rng.dollars(lo, hi)
    }

    fn branch(&mut self, mx: bool, city: u8) -> PlaceCode {
        PlaceCode {
            mx,
            city,
            branch: 1 + self.rng.below(u64::from(BRANCHES_PER_CITY)) as u8,
        }
    }

    fn border_city(&mut self, mx: bool) -> u8 {
        self.rng.below(if mx { 5 } else { 4 }) as u8
    }

    fn no_place(mx: bool) -> PlaceCode {
        PlaceCode {
            mx,
            city: 0,
            branch: 0,
        }
    }

    /// Cash deposits just under USD 10,000 at several US branches over a
    /// few days. Returns the collector, the total and the deposits.
    fn structuring(&mut self, day0: i64) -> (u32, i64, i64, Vec<u64>) {
        let c = self.pop.add(false);
        let n = self.rng.range(3, 6);
        let span = self.rng.range(2, 5);
        let mut ids = Vec::new();
        let mut total = 0;
        let mut last = day0;
        for k in 0..n {
            let t = day0
                + (k * span / n.max(1)) * DAY
                + k * DAY / 3
                + self.rng.range(9 * HOUR, 17 * HOUR);
            let usd = self.rng.range(800, 990) * 1000; // USD 8,000–9,900 in tens
            let city = self.rng.below(10) as u8;
            let place = self.branch(false, city);
            ids.push(self.tx(t, usd, Channel::CashDeposit, NONE, c, place, false));
            total += usd;
            last = last.max(t);
        }
        self.labels.push((Typology::Structuring, c, ids.clone()));
        (c, total, last, ids)
    }

    /// The demo network: US structuring, a wire to Mexico, fan-out to
    /// mules, cash withdrawn near the border.
    fn scenario(&mut self, day0: i64) -> (u32, u32) {
        let (c, total, last, _) = self.structuring(day0);
        let f = self.pop.add(true);
        let t_wire = last + self.rng.range(20 * HOUR, 44 * HOUR);
        let wire = total * 95 / 100;
        let w = self.tx(
            t_wire,
            wire,
            Channel::CrossBorderWire,
            c,
            f,
            Self::no_place(false),
            false,
        );
        let fan = self.fan_out_from(f, t_wire, wire, true);
        let mut ids = vec![w];
        ids.extend(fan.iter().map(|(id, _, _, _)| *id));
        self.labels.push((Typology::FanOut, f, ids));
        for (k, (id, m, t, usd)) in fan.into_iter().enumerate() {
            let city = self.border_city(true);
            let place = self.branch(true, city);
            let tw = t + self.rng.range(3 * HOUR, 30 * HOUR);
            let cash = usd * self.rng.range(90, 99) / 100;
            let wid = self.tx(tw, cash, Channel::CashWithdrawal, m, NONE, place, true);
            if k % 2 == 0 {
                self.reported.push((m, vec![id, wid]));
            }
        }
        (c, f)
    }

    /// Sends `share` of `usd` from `f` to 5–8 fresh accounts within two days.
    fn fan_out_from(
        &mut self,
        f: u32,
        after: i64,
        usd: i64,
        mx: bool,
    ) -> Vec<(u64, u32, i64, i64)> {
        let n = self.rng.range(5, 8);
        let mut left = usd * self.rng.range(88, 98) / 100;
        let mut out = Vec::new();
        for k in 0..n {
            let m = self.pop.add(mx);
            let part = if k == n - 1 {
                left
            } else {
                left / (n - k) * self.rng.range(80, 120) / 100
            };
            left -= part;
            let t = after + self.rng.range(2 * HOUR, 40 * HOUR);
            let id = self.tx(t, part, Channel::DomesticWire, f, m, Self::no_place(mx), mx);
            out.push((id, m, t, part));
        }
        out
    }

    fn fan_out(&mut self, day0: i64) {
        let mx = self.rng.below(2) == 1;
        let f = self.pop.add(mx);
        let src = self.pop.pick(&mut self.rng, mx, true);
        let t = day0 + self.rng.range(9 * HOUR, 17 * HOUR);
        let usd = self.usd(20_000.0, 80_000.0);
        let x = self.tx(
            t,
            usd,
            Channel::DomesticWire,
            src,
            f,
            Self::no_place(mx),
            mx,
        );
        let mut ids = vec![x];
        ids.extend(self.fan_out_from(f, t, usd, mx).iter().map(|r| r.0));
        self.labels.push((Typology::FanOut, f, ids));
    }

    fn funnel(&mut self, day0: i64) {
        let mx = self.rng.below(2) == 1;
        let u = self.pop.add(mx);
        let n = self.rng.range(6, 9);
        let mut ids = Vec::new();
        let mut total = 0;
        let mut last = day0;
        for k in 0..n {
            let t = day0 + self.rng.range(0, 9) * DAY + self.rng.range(9 * HOUR, 17 * HOUR);
            let usd = self.usd(1_000.0, 6_500.0);
            if mx {
                // Remittances from distinct senders in the US.
                let s = self.pop.add(false);
                let city = (k % 10) as u8;
                let place = self.branch(false, city);
                ids.push(self.tx(t, usd, Channel::Remittance, s, u, place, false));
            } else {
                // Cash paid in at branches in many cities.
                let place = self.branch(false, (k % 10) as u8);
                ids.push(self.tx(t, usd, Channel::CashDeposit, NONE, u, place, false));
            }
            total += usd;
            last = last.max(t);
        }
        let pulls = self.rng.range(2, 3);
        let mut left = total * self.rng.range(85, 98) / 100;
        let city = self.border_city(mx);
        let mut t = last + self.rng.range(4 * HOUR, 30 * HOUR);
        for k in 0..pulls {
            let part = if k == pulls - 1 {
                left
            } else {
                left / (pulls - k)
            };
            left -= part;
            let place = self.branch(mx, city);
            ids.push(self.tx(t, part, Channel::CashWithdrawal, u, NONE, place, mx));
            t += self.rng.range(2 * HOUR, 20 * HOUR);
        }
        self.labels.push((Typology::Funnel, u, ids));
    }

    fn pass_through(&mut self, day0: i64) {
        let mx = self.rng.below(2) == 1;
        let p = self.pop.add(mx);
        let n = self.rng.range(2, 4);
        let mut ids = Vec::new();
        let mut day = day0;
        for _ in 0..n {
            let t = day + self.rng.range(8 * HOUR, 18 * HOUR);
            day += self.rng.range(3, 8) * DAY;
            let src = self.pop.pick(&mut self.rng, mx, true);
            let usd = self.usd(5_000.0, 30_000.0);
            ids.push(self.tx(
                t,
                usd,
                Channel::DomesticWire,
                src,
                p,
                Self::no_place(mx),
                mx,
            ));
            let out = usd * self.rng.range(950, 995) / 1000;
            let dst = self.pop.pick(&mut self.rng, mx, false);
            let t2 = t + self.rng.range(2 * HOUR, 30 * HOUR);
            ids.push(self.tx(
                t2,
                out,
                Channel::DomesticWire,
                p,
                dst,
                Self::no_place(mx),
                mx,
            ));
        }
        self.labels.push((Typology::PassThrough, p, ids));
    }

    fn round_trip(&mut self, day0: i64) {
        let a = self.pop.add(false);
        let hops = self.rng.range(3, 4);
        let mut chain = vec![a];
        for k in 1..hops {
            chain.push(self.pop.add(k == hops - 1));
        }
        chain.push(a);
        let mut usd = self.usd(10_000.0, 60_000.0);
        let mut t = day0 + self.rng.range(9 * HOUR, 17 * HOUR);
        let mut ids = Vec::new();
        for w in chain.windows(2) {
            let (f, to) = (w[0], w[1]);
            let (fm, tm) = (self.pop.is_mx(f), self.pop.is_mx(to));
            let ch = if fm != tm {
                Channel::CrossBorderWire
            } else {
                Channel::DomesticWire
            };
            ids.push(self.tx(t, usd, ch, f, to, Self::no_place(fm), fm));
            usd = usd * self.rng.range(970, 995) / 1000;
            t += self.rng.range(1, 6) * DAY;
        }
        self.labels.push((Typology::RoundTrip, a, ids));
    }

    fn scatter_gather(&mut self, day0: i64) {
        let mx = self.rng.below(2) == 1;
        let s = self.pop.add(mx);
        let d = self.pop.add(mx);
        let n = self.rng.range(3, 5);
        let mut ids = Vec::new();
        for _ in 0..n {
            let m = self.pop.add(mx);
            let t = day0 + self.rng.range(0, 2 * DAY);
            let usd = self.usd(3_000.0, 9_000.0);
            ids.push(self.tx(t, usd, Channel::DomesticWire, s, m, Self::no_place(mx), mx));
            let t2 = t + self.rng.range(DAY, 4 * DAY);
            let fwd = usd * self.rng.range(92, 99) / 100;
            ids.push(self.tx(t2, fwd, Channel::DomesticWire, m, d, Self::no_place(mx), mx));
        }
        self.labels.push((Typology::ScatterGather, d, ids));
    }
}

fn plan(opts: &GenerateOptions) -> Result<Plan, GenerateError> {
    if opts.days < 90 {
        return Err(GenerateError::Options(
            "give at least 90 days: 70 of warm-up and room for the patterns",
        ));
    }
    if opts.transactions < 1000 {
        return Err(GenerateError::Options("give at least 1,000 transactions"));
    }
    if opts.transactions > 4_000_000_000 {
        return Err(GenerateError::Options(
            "give at most 4,000,000,000 transactions",
        ));
    }
    let mut pop = Population::new(opts.transactions);
    let k = opts
        .planted_per_kind
        .unwrap_or_else(|| 8.max((opts.transactions / 100_000) as usize));
    let mut p = Planter {
        rng: Rng::new(opts.seed, u64::MAX),
        pop: &mut pop,
        txs: Vec::new(),
        next_id: PLANTED_ID_BASE,
        labels: Vec::new(),
        reported: Vec::new(),
    };
    let first = 70i64;
    let last = i64::from(opts.days) - 15;
    let mut scenario = Vec::new();
    let day = |rng: &mut Rng| opts.start + rng.range(first, last) * DAY;
    for i in 0..k {
        let d = day(&mut p.rng);
        // Half the structuring instances are the demo network.
        if i % 2 == 0 {
            scenario.push(p.scenario(d));
        } else {
            p.structuring(d);
        }
        let d = day(&mut p.rng);
        p.funnel(d);
        let d = day(&mut p.rng);
        p.fan_out(d);
        let d = day(&mut p.rng);
        p.pass_through(d);
        let d = day(&mut p.rng);
        p.round_trip(d);
        let d = day(&mut p.rng);
        p.scatter_gather(d);
    }
    let mut planted = std::mem::take(&mut p.txs);
    planted.sort_by_key(|t| (t.time, t.id));
    let labels_raw = std::mem::take(&mut p.labels);
    let reported = std::mem::take(&mut p.reported);
    drop(p);
    let labels = labels_raw
        .into_iter()
        .map(|(kind, a, ids)| KnownPattern {
            kind,
            account: pop.id(a),
            tx_ids: ids.into_iter().map(TxId).collect(),
        })
        .collect();
    let payroll = u64::from(pop.background) * 9 / 10 * 2 * u64::from(opts.days) / 30;
    let background = opts
        .transactions
        .saturating_sub(payroll + planted.len() as u64);
    Ok(Plan {
        per_day: background / u64::from(opts.days),
        pop,
        planted,
        labels,
        scenario,
        reported,
    })
}

/// Generates one day of background traffic into `out` (unsorted).
fn background_day(
    plan: &Plan,
    opts: &GenerateOptions,
    day: u32,
    next_id: &mut u64,
    out: &mut Vec<GenTx>,
) {
    let pop = &plan.pop;
    let mut rng = Rng::new(opts.seed, u64::from(day));
    let t0 = opts.start + i64::from(day) * DAY;
    let mut push = |out: &mut Vec<GenTx>,
                    time: i64,
                    usd: i64,
                    channel: Channel,
                    from: u32,
                    to: u32,
                    place: PlaceCode| {
        let mx = place.mx;
        let (amount, currency) =
            if channel == Channel::CrossBorderWire || channel == Channel::Remittance {
                (usd, Currency::Usd)
            } else {
                local(mx, usd)
            };
        out.push(GenTx {
            id: *next_id,
            time,
            amount,
            currency,
            channel,
            from,
            to,
            place,
        });
        *next_id += 1;
    };
    // Payroll on the 1st and the 15th.
    let (_, _, dom) = civil(t0);
    if dom == 1 || dom == 15 {
        for block in 0..pop.background / 10 {
            let c = block * 10;
            let mx = pop.is_mx(c);
            for e in 1..10 {
                let p = c + e;
                let base = 1_200.0 + (mix(u64::from(p), 3) % 2300) as f64;
                let usd = (base * (0.97 + 0.06 * rng.unit()) * 100.0) as i64;
                let usd = if mx { usd / 3 } else { usd };
                let t = t0 + 8 * HOUR + rng.range(0, 4 * HOUR);
                push(
                    out,
                    t,
                    usd,
                    Channel::DomesticWire,
                    c,
                    p,
                    PlaceCode {
                        mx,
                        city: 0,
                        branch: 0,
                    },
                );
            }
        }
    }
    for _ in 0..plan.per_day {
        let t = t0 + 7 * HOUR + rng.range(0, 15 * HOUR);
        let r = rng.below(1000);
        let mx = rng.below(2) == 1;
        let none = PlaceCode {
            mx,
            city: 0,
            branch: 0,
        };
        match r {
            0..520 => {
                let p = pop.pick(&mut rng, mx, false);
                let m = pop.pick(&mut rng, mx, true);
                let usd = rng.dollars(5.0, 300.0);
                push(out, t, usd, Channel::Card, p, m, none);
            }
            520..620 => {
                let p = pop.pick(&mut rng, mx, false);
                let q = pop.pick(&mut rng, mx, false);
                if p != q {
                    let usd = rng.dollars(20.0, 800.0);
                    push(out, t, usd, Channel::DomesticWire, p, q, none);
                }
            }
            620..740 => {
                let p = pop.pick(&mut rng, mx, false);
                let place = pop.home_place(&mut rng, p);
                let usd = rng.dollars(20.0, 500.0) / 10_00 * 10_00 + 20_00;
                push(out, t, usd, Channel::CashWithdrawal, p, NONE, place);
            }
            740..790 => {
                let p = pop.pick(&mut rng, mx, false);
                let place = pop.home_place(&mut rng, p);
                let usd = rng.dollars(50.0, 2_000.0);
                push(out, t, usd, Channel::CashDeposit, NONE, p, place);
            }
            790..850 => {
                // A shop pays in its takings at its own branch.
                let c = pop.pick(&mut rng, mx, true);
                let place = PlaceCode {
                    mx,
                    city: pop.city(c),
                    branch: 1 + (mix(u64::from(c), 5) % 20) as u8,
                };
                // Up to just under USD 10,000: some takings fall in the
                // structuring band, always at the shop's own branch, which
                // the structuring rule must tell apart.
                let usd = rng.dollars(500.0, 9_900.0);
                push(out, t, usd, Channel::CashDeposit, NONE, c, place);
            }
            850..910 => {
                let c = pop.pick(&mut rng, mx, true);
                // Each company has four regular suppliers.
                let k = rng.below(4);
                let blocks = u64::from(pop.background / 10);
                let mut sb = mix(u64::from(c), 100 + k) % blocks.max(1);
                if (sb % 2 == 1) != mx {
                    sb = if sb == 0 { 1.min(blocks - 1) } else { sb - 1 };
                }
                let s = (sb * 10) as u32;
                if s != c {
                    let usd = rng.dollars(1_000.0, 40_000.0);
                    push(out, t, usd, Channel::DomesticWire, c, s, none);
                }
            }
            910..970 => {
                // A remittance from a US worker to family in Mexico.
                let p = pop.pick(&mut rng, false, false);
                let fam = pop.pick(&mut Rng::new(u64::from(p), 9), true, false);
                let place = pop.home_place(&mut rng, p);
                let usd = rng.dollars(200.0, 1_500.0);
                push(out, t, usd, Channel::Remittance, p, fam, place);
            }
            970..990 => {
                let a = pop.pick(&mut rng, false, true);
                let b = pop.pick(&mut Rng::new(u64::from(a), 13), true, true);
                let (f, to) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                let usd = rng.dollars(5_000.0, 80_000.0);
                let place = PlaceCode {
                    mx: pop.is_mx(f),
                    city: 0,
                    branch: 0,
                };
                push(out, t, usd, Channel::CrossBorderWire, f, to, place);
            }
            _ => {
                let p = pop.pick(&mut rng, mx, false);
                let usd = rng.dollars(100.0, 3_000.0);
                push(out, t, usd, Channel::CryptoOffRamp, NONE, p, none);
            }
        }
    }
}

fn civil(t: i64) -> (i64, i64, i64) {
    let s = UnixTime(t).format();
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse().ok()).unwrap_or(0);
    (n(0..4), n(5..7), n(8..10))
}

/// Runs the generator, handing every transaction to `f` in time order.
fn drive(
    opts: &GenerateOptions,
    mut f: impl FnMut(&Plan, &GenTx) -> Result<(), GenerateError>,
) -> Result<Plan, GenerateError> {
    let plan = plan(opts)?;
    let mut next_id = 1u64;
    let mut day_txs = Vec::new();
    let mut pi = 0usize;
    for day in 0..opts.days {
        day_txs.clear();
        background_day(&plan, opts, day, &mut next_id, &mut day_txs);
        let end = opts.start + i64::from(day + 1) * DAY;
        while pi < plan.planted.len() && plan.planted[pi].time < end {
            day_txs.push(plan.planted[pi]);
            pi += 1;
        }
        day_txs.sort_by_key(|t| (t.time, t.id));
        for t in &day_txs {
            f(&plan, t)?;
        }
    }
    for t in &plan.planted[pi..] {
        f(&plan, t)?;
    }
    Ok(plan)
}

fn held_by(plan: &Plan, t: &GenTx, c: Country) -> bool {
    let side = |a: u32| {
        a != NONE
            && (if plan.pop.is_mx(a) {
                Country::MX
            } else {
                Country::US
            }) == c
    };
    side(t.from) || side(t.to) || (t.place.branch > 0 && t.place.country() == c)
}

fn summary(plan: Plan, written: u64) -> Summary {
    Summary {
        transactions: written,
        accounts: u64::from(plan.pop.len()),
        scenario: plan
            .scenario
            .iter()
            .map(|&(c, f)| (plan.pop.id(c), plan.pop.id(f)))
            .collect(),
        planted: plan.labels,
    }
}

/// The transaction CSV header written by [`write()`].
pub const TRANSACTION_HEADER: &str =
    "tx_id,time,amount,currency,channel,from_account,to_account,country,branch,border_zone";

/// Writes the transaction CSV (header included), streaming. Pass a buffered
/// writer.
pub fn write<W: Write>(opts: &GenerateOptions, mut out: W) -> Result<Summary, GenerateError> {
    writeln!(out, "{TRANSACTION_HEADER}")?;
    let mut written = 0u64;
    let plan = drive(opts, |plan, t| {
        if let Some(c) = opts.only_country
            && !held_by(plan, t, c)
        {
            return Ok(());
        }
        let acc = |a: u32| {
            if a == NONE {
                String::new()
            } else {
                plan.pop.id(a).to_string()
            }
        };
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            t.id,
            UnixTime(t.time),
            t.currency.format_amount(t.amount),
            t.currency,
            t.channel.name(),
            acc(t.from),
            acc(t.to),
            t.place.country(),
            t.place.branch().unwrap_or_default(),
            u8::from(t.place.border_zone()),
        )?;
        written += 1;
        Ok(())
    })?;
    out.flush()?;
    Ok(summary(plan, written))
}

/// Builds the graph directly (no CSV), with every population account
/// interned in generator order. Respects `only_country`.
pub fn build_graph(opts: &GenerateOptions) -> Result<(Graph, Summary), GenerateError> {
    let mut b = GraphBuilder::new();
    b.reserve(opts.transactions as usize);
    let mut interned = false;
    let mut count = 0u64;
    let plan = drive(opts, |plan, t| {
        if !interned {
            for a in 0..plan.pop.len() {
                b.intern_account(&plan.pop.id(a))?;
            }
            interned = true;
        }
        if let Some(c) = opts.only_country
            && !held_by(plan, t, c)
        {
            return Ok(());
        }
        let opt = |a: u32| (a != NONE).then_some(a);
        let branch = t.place.branch();
        b.push_indexed(
            TxId(t.id),
            t.time,
            t.amount,
            t.currency,
            t.channel,
            opt(t.from),
            opt(t.to),
            (t.place.country(), branch.as_deref(), t.place.border_zone()),
        )?;
        count += 1;
        Ok(())
    })?;
    let mut g = b.finish();
    g.add_reports(&reports_of(&plan, opts));
    Ok((g, summary(plan, count)))
}

fn reports_of(plan: &Plan, opts: &GenerateOptions) -> Vec<SuspiciousReport> {
    plan.reported
        .iter()
        .enumerate()
        .map(|(i, (a, ids))| SuspiciousReport {
            id: format!("STR-{:06}", i + 1),
            filed: UnixTime(opts.start + i64::from(opts.days) * DAY),
            account: plan.pop.id(*a),
            transactions: ids.iter().map(|&i| TxId(i)).collect(),
        })
        .filter(|r| opts.only_country.is_none_or(|c| r.account.country() == c))
        .collect()
}

/// The suspicious-transaction reports already filed in the generated world
/// (about half the demo network's mule accounts).
pub fn reports(opts: &GenerateOptions) -> Result<Vec<SuspiciousReport>, GenerateError> {
    Ok(reports_of(&plan(opts)?, opts))
}

/// Writes the report CSV (`report_id,filed,account,tx_ids`).
pub fn write_reports<W: Write>(opts: &GenerateOptions, mut out: W) -> Result<u64, GenerateError> {
    writeln!(out, "report_id,filed,account,tx_ids")?;
    let rs = reports(opts)?;
    for r in &rs {
        let ids: Vec<String> = r.transactions.iter().map(|t| t.0.to_string()).collect();
        writeln!(out, "{},{},{},{}", r.id, r.filed, r.account, ids.join(";"))?;
    }
    out.flush()?;
    Ok(rs.len() as u64)
}

/// Writes the account CSV (`account,institution,holder_id,country`) and the
/// holder CSV (`holder_id,kind,name,country`) of the population, one
/// holder per account.
pub fn write_accounts<A: Write, H: Write>(
    opts: &GenerateOptions,
    mut accounts: A,
    mut holders: H,
) -> Result<u64, GenerateError> {
    const GIVEN: [&str; 8] = [
        "Ana", "José", "María", "Luis", "Carmen", "John", "Linda", "Miguel",
    ];
    const FAMILY: [&str; 8] = [
        "García",
        "Hernández",
        "López",
        "Martínez",
        "Smith",
        "Johnson",
        "Rodríguez",
        "Pérez",
    ];
    const TRADE: [&str; 6] = [
        "Comercial",
        "Transportes",
        "Abarrotes",
        "Logistics",
        "Foods",
        "Imports",
    ];
    let plan = plan(opts)?;
    writeln!(accounts, "account,institution,holder_id,country")?;
    writeln!(holders, "holder_id,kind,name,country")?;
    let mut n = 0;
    for a in 0..plan.pop.len() {
        let id = plan.pop.id(a);
        let country = id.country();
        if opts.only_country.is_some_and(|c| c != country) {
            continue;
        }
        let h = mix(u64::from(a), 17);
        let institution = if country == Country::MX {
            [
                "Banamex",
                "BBVA México",
                "Santander México",
                "Banorte",
                "HSBC México",
            ][(h % 5) as usize]
        } else {
            [
                "JPMorgan Chase",
                "Bank of America",
                "Wells Fargo",
                "Frost Bank",
                "Union Bank",
            ][(h % 5) as usize]
        };
        let holder = format!("H{country}{a:09}");
        writeln!(accounts, "{id},{institution},{holder},{country}")?;
        if plan.pop.is_company(a) {
            writeln!(
                holders,
                "{holder},company,{} {} SA,{country}",
                TRADE[(h % 6) as usize],
                FAMILY[(h / 6 % 8) as usize]
            )?;
        } else {
            writeln!(
                holders,
                "{holder},person,{} {},{country}",
                GIVEN[(h % 8) as usize],
                FAMILY[(h / 8 % 8) as usize]
            )?;
        }
        n += 1;
    }
    accounts.flush()?;
    holders.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{
        AccountColumns, HolderColumns, ReportColumns, TransactionColumns, parse_accounts,
        parse_holders, parse_reports, read_transactions,
    };
    use crate::trace::{Seed, TraceOptions, trace};

    fn small(seed: u64) -> GenerateOptions {
        GenerateOptions {
            seed,
            transactions: 20_000,
            ..GenerateOptions::default()
        }
    }

    fn csv(opts: &GenerateOptions) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let s = write(opts, &mut out).unwrap();
        (out, s)
    }

    #[test]
    fn the_same_seed_gives_the_same_ledger() {
        let (a, sa) = csv(&small(3));
        let (b, sb) = csv(&small(3));
        let (c, _) = csv(&small(4));
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_ne!(a, c);
        let rows = a.iter().filter(|&&b| b == b'\n').count() as u64 - 1;
        assert_eq!(rows, sa.transactions);
        assert!((18_000..=22_000).contains(&rows), "{rows}");
    }

    #[test]
    fn written_csv_loads_into_the_same_graph_as_direct_building() {
        let opts = small(5);
        let (text, summary) = csv(&opts);
        let mut b = GraphBuilder::new();
        read_transactions(text.as_slice(), &TransactionColumns::default(), &mut b).unwrap();
        let from_csv = b.finish();
        let (direct, _) = build_graph(&opts).unwrap();
        assert_eq!(from_csv.len(), direct.len());
        let (collector, _) = summary.scenario[0].clone();
        let o = TraceOptions::forward(Country::US);
        let seed = [Seed {
            account: collector,
            amount: None,
        }];
        let mut f1 = trace(&from_csv, &seed, &o).unwrap();
        let mut f2 = trace(&direct, &seed, &o).unwrap();
        // Node flags for reports differ (reports are loaded separately).
        for n in f1.nodes.iter_mut().chain(f2.nodes.iter_mut()) {
            n.reported = false;
        }
        assert_eq!(f1, f2);
        assert!(
            f1.border_nodes().count() >= 1,
            "the demo wire crosses the border"
        );
    }

    #[test]
    fn a_country_sees_only_its_own_rows_and_the_side_tables_parse() {
        let opts = GenerateOptions {
            only_country: Some(Country::MX),
            ..small(6)
        };
        let (text, _) = csv(&opts);
        let txs =
            crate::ingest::parse_transactions(text.as_slice(), &TransactionColumns::default())
                .unwrap();
        assert!(!txs.is_empty());
        for t in &txs {
            let mx = |a: &Option<AccountId>| a.as_ref().is_some_and(|a| a.country() == Country::MX);
            assert!(
                mx(&t.from) || mx(&t.to) || (t.branch.is_some() && t.country == Country::MX),
                "{t:?}"
            );
        }
        let (mut acc, mut hol, mut rep) = (Vec::new(), Vec::new(), Vec::new());
        let n = write_accounts(&opts, &mut acc, &mut hol).unwrap();
        write_reports(&opts, &mut rep).unwrap();
        assert_eq!(
            parse_accounts(acc.as_slice(), &AccountColumns::default())
                .unwrap()
                .len() as u64,
            n
        );
        assert_eq!(
            parse_holders(hol.as_slice(), &HolderColumns::default())
                .unwrap()
                .len() as u64,
            n
        );
        let reports = parse_reports(rep.as_slice(), &ReportColumns::default()).unwrap();
        assert!(!reports.is_empty() && reports.iter().all(|r| r.account.country() == Country::MX));
    }

    #[test]
    fn bad_options_are_refused() {
        for opts in [
            GenerateOptions {
                days: 30,
                ..small(1)
            },
            GenerateOptions {
                transactions: 10,
                ..small(1)
            },
        ] {
            assert!(matches!(
                write(&opts, Vec::new()),
                Err(GenerateError::Options(_))
            ));
        }
    }
}
