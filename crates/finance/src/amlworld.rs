//! A second, independent ledger generator, for measuring the detectors on
//! data they were not built on.
//!
//! It is written from the published descriptions of IBM's AMLworld
//! (Altman et al., "Realistic Synthetic Financial Transactions for
//! Anti-Money Laundering Models", NeurIPS 2023 Datasets and Benchmarks) and
//! of AMLSim (IBM, 2018), not from soberana's own detectors or generator:
//! its parameter ranges were fixed before any detector was run on it.
//!
//! Laundering follows AMLworld's eight patterns — fan-out, fan-in,
//! gather-scatter, scatter-gather, cycle (3 to 10 hops), random walk,
//! bipartite and stack — plus structuring in the forms seen in casework
//! (textbook; one branch and slower; lower amounts; several accounts of one
//! holder; a group depositing for one beneficiary; Mexican thresholds). As
//! in AMLworld, the launderers' accounts also carry ordinary activity, and
//! some mules are opened shortly before a case and fall silent after it.
//!
//! The background is what a bank's transaction monitoring sees: salaries
//! (direct, through payroll processors, through zero-balance payroll
//! accounts), card purchases at merchants, rent, utilities and card-issuer
//! payments to hub accounts, ATM withdrawals, transfers between friends,
//! remittances from the US to families in Mexico, supplier and customer
//! wires between companies. The hard negatives look like laundering by
//! shape: payroll processors paying the same employees every period,
//! zero-balance payroll accounts (money in and out the same day), escrow
//! agents (a large deposit dispersed to several new parties), intercompany
//! netting cycles, multi-branch cash businesses (daily deposits, some just
//! under the reporting threshold) and check cashers (many in, cash out).
//!
//! Every case is labelled with its transactions and accounts. The illicit
//! share of transactions is about [`AmlWorldOptions::illicit_rate`].
//!
//! This file is long because the independent ledger is one generator: each
//! typology, background pattern and hard negative is drawn from the same
//! calendar and account pools, and keeping them in one place is what keeps
//! its parameter ranges fixed and readable in one review.

use std::collections::HashSet;

use serde::Serialize;

use crate::graph::{Graph, GraphBuilder, NONE};
use crate::model::{AccountId, Channel, Country, Currency, TxId, aba_complete, clabe_with_check};

const DAY: i64 = 86_400;
const HOUR: i64 = 3600;
/// Pesos per dollar used to write Mexican amounts.
const MXN_PER_USD: f64 = 18.2;
/// US currency transaction report threshold: cash over USD 10,000
/// (31 CFR 1010.311).
const US_CTR_CENTS: i64 = 1_000_000;
/// Mexico: banks report cash operations of USD 7,500 or more, or the
/// equivalent in pesos, as "operaciones relevantes" (Disposiciones de
/// carácter general del artículo 115 de la Ley de Instituciones de
/// Crédito); in pesos at the rate above.
const MX_RELEVANT_CENTS_USD: i64 = 750_000;
/// Mexico: cash deposits in US dollars by individual account holders are
/// capped at USD 4,000 a month (the commonly cited rule; see DOMAIN).
const MX_USD_CASH_CAP_CENTS: i64 = 400_000;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AmlWorldOptions {
    /// Seed: the same seed gives the same ledger.
    pub seed: u64,
    /// About how many transactions (background and illicit).
    pub transactions: u64,
    /// Weeks covered (default 26).
    pub weeks: u32,
    /// Share of transactions that are laundering (default 0.005).
    pub illicit_rate: f64,
    /// First day, seconds since 1970 (default 2025-01-06, a Monday).
    pub start: i64,
}

impl Default for AmlWorldOptions {
    fn default() -> Self {
        AmlWorldOptions {
            seed: 2,
            transactions: 2_000_000,
            weeks: 26,
            illicit_rate: 0.005,
            start: 1_736_121_600,
        }
    }
}

/// The laundering patterns of AMLworld, and structuring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// One account pays many.
    FanOut,
    /// Many accounts pay one.
    FanIn,
    /// Many pay one, which pays many.
    GatherScatter,
    /// One pays many, which all pay one.
    ScatterGather,
    /// Money goes round and returns to its start.
    Cycle,
    /// Money hops through a chain of unrelated accounts.
    RandomWalk,
    /// Many senders pay many receivers.
    Bipartite,
    /// Two bipartite layers, one after the other.
    Stack,
    /// Cash paid in under a reporting threshold.
    Structuring,
}

impl CaseKind {
    /// Every kind.
    pub const ALL: [CaseKind; 9] = [
        CaseKind::FanOut,
        CaseKind::FanIn,
        CaseKind::GatherScatter,
        CaseKind::ScatterGather,
        CaseKind::Cycle,
        CaseKind::RandomWalk,
        CaseKind::Bipartite,
        CaseKind::Stack,
        CaseKind::Structuring,
    ];

    /// Snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            CaseKind::FanOut => "fan_out",
            CaseKind::FanIn => "fan_in",
            CaseKind::GatherScatter => "gather_scatter",
            CaseKind::ScatterGather => "scatter_gather",
            CaseKind::Cycle => "cycle",
            CaseKind::RandomWalk => "random_walk",
            CaseKind::Bipartite => "bipartite",
            CaseKind::Stack => "stack",
            CaseKind::Structuring => "structuring",
        }
    }
}

/// The forms structuring takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuringForm {
    /// 3 to 6 deposits just under USD 10,000 at several branches in a week.
    Textbook,
    /// Deposits at one branch, spread over weeks.
    OneBranchSlow,
    /// Many deposits well under the threshold.
    LowAmounts,
    /// Deposits split across several accounts of one holder, then gathered.
    OneHolderManyAccounts,
    /// Several people pay cash in for one beneficiary.
    GroupForBeneficiary,
    /// Mexican accounts: pesos under the relevant-operation threshold, or
    /// dollars under the monthly cap across accounts.
    Mexico,
}

/// One laundering case, labelled.
#[derive(Clone, Debug, Serialize)]
pub struct Case {
    /// Its number.
    pub id: u32,
    /// Its pattern.
    pub kind: CaseKind,
    /// For structuring, its form.
    pub form: Option<StructuringForm>,
    /// Accounts that take part.
    pub accounts: Vec<AccountId>,
    /// Its transactions (placement and exit included).
    pub tx_ids: Vec<TxId>,
}

/// What a background account is, for reading false alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A private person.
    Person,
    /// A company with employees.
    Employer,
    /// A payroll processor paying its clients' employees.
    PayrollProcessor,
    /// A zero-balance payroll account, funded the day it pays.
    ZeroBalancePayroll,
    /// A shop taking card payments.
    Merchant,
    /// A landlord or property manager.
    Landlord,
    /// A utility, telecom, card issuer or tax account paid by many.
    Hub,
    /// A chain paying in cash takings at several branches.
    CashBusiness,
    /// A check casher: many in, cash out.
    CheckCasher,
    /// An escrow agent: a large deposit paid out to several parties.
    Escrow,
    /// An account opened for a laundering case.
    Mule,
}

impl Role {
    /// Snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Person => "person",
            Role::Employer => "employer",
            Role::PayrollProcessor => "payroll_processor",
            Role::ZeroBalancePayroll => "zero_balance_payroll",
            Role::Merchant => "merchant",
            Role::Landlord => "landlord",
            Role::Hub => "hub",
            Role::CashBusiness => "cash_business",
            Role::CheckCasher => "check_casher",
            Role::Escrow => "escrow",
            Role::Mule => "mule",
        }
    }
}

/// The generated ledger.
#[derive(Debug)]
pub struct AmlWorld {
    /// The transaction graph.
    pub graph: Graph,
    /// The laundering cases.
    pub cases: Vec<Case>,
    /// Role of every account, by graph index.
    pub roles: Vec<Role>,
    /// Holder of every account, by graph index (one holder may have
    /// several accounts).
    pub holders: Vec<u32>,
    /// Transactions that belong to a case.
    pub illicit: HashSet<TxId>,
}

/// Generation refused.
#[derive(Debug, thiserror::Error)]
pub enum AmlWorldError {
    /// Options out of range.
    #[error("{0}")]
    Options(&'static str),
    /// The graph builder refused a row (a bug in the generator).
    #[error("generated row refused: {0}")]
    Build(#[from] crate::graph::BuildError),
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        Rng(seed.wrapping_mul(0xD134_2543_DE82_EF95) ^ stream.wrapping_add(0x2545_F491_4F6C_DD1D))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n.max(1) as u128) >> 64) as usize
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as usize) as i64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Log-uniform dollars between `lo` and `hi`, in cents.
    fn dollars(&mut self, lo: f64, hi: f64) -> i64 {
        (lo * (hi / lo).powf(self.unit()) * 100.0).round() as i64
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len())])
    }
}

/// Cities: (code, border zone).
const US_CITIES: [(&str, bool); 8] = [
    ("SDG", true),
    ("ELP", true),
    ("BRO", true),
    ("NYC", false),
    ("MIA", false),
    ("DEN", false),
    ("SEA", false),
    ("ATL", false),
];
const MX_CITIES: [(&str, bool); 8] = [
    ("TIJ", true),
    ("JRZ", true),
    ("REY", true),
    ("CDMX", false),
    ("GDL", false),
    ("MTY", false),
    ("MER", false),
    ("QRO", false),
];
const BRANCHES: u8 = 12;

#[derive(Clone, Copy)]
struct Acct {
    mx: bool,
    city: u8,
    role: Role,
    holder: u32,
}

#[derive(Clone, Copy)]
struct Tx {
    id: u64,
    time: i64,
    /// Amount in the transaction's own currency's minor units.
    amount: i64,
    currency: Currency,
    channel: Channel,
    from: u32,
    to: u32,
    mx_place: bool,
    city: u8,
    /// 0: no branch (card, online).
    branch: u8,
}

#[derive(Clone, Copy)]
enum PayrollMode {
    Direct,
    Processor(u32),
    ZeroBalance(u32),
}

#[derive(Clone, Copy)]
enum Schedule {
    /// Every other Friday, starting in week 0 or 1.
    Biweekly(u8),
    /// 15th and last day.
    SemiMonthly,
    /// Last day.
    Monthly,
}

struct Employer {
    acct: u32,
    employees: Vec<u32>,
    mode: PayrollMode,
    schedule: Schedule,
}

struct Person {
    acct: u32,
    /// Monthly salary, USD cents.
    salary: i64,
    rent: Option<(u32, i64)>,
    merchants: Vec<u32>,
    friends: Vec<u32>,
    hubs: Vec<(u32, i64)>,
    remit_to: Option<u32>,
}

struct World {
    rng: Rng,
    accts: Vec<Acct>,
    txs: Vec<Tx>,
    next_id: u64,
    start: i64,
    days: i64,
}

impl World {
    fn add(&mut self, mx: bool, role: Role, holder: Option<u32>) -> u32 {
        let a = self.accts.len() as u32;
        let city = self.rng.below(8) as u8;
        self.accts.push(Acct {
            mx,
            city,
            role,
            holder: holder.unwrap_or(a),
        });
        a
    }

    /// Local amount for a USD amount in cents, in the account's currency.
    fn local(&self, a: u32, usd: i64) -> (i64, Currency) {
        if a != NONE && self.accts[a as usize].mx {
            ((usd as f64 * MXN_PER_USD).round() as i64, Currency::Mxn)
        } else {
            (usd, Currency::Usd)
        }
    }

    /// A transfer between accounts; `usd` in cents.
    fn wire(&mut self, time: i64, from: u32, to: u32, usd: i64) -> u64 {
        let (amount, currency) = self.local(from, usd);
        let (fm, tm) = (self.accts[from as usize].mx, self.accts[to as usize].mx);
        let channel = if fm == tm {
            Channel::DomesticWire
        } else {
            Channel::CrossBorderWire
        };
        let city = self.accts[from as usize].city;
        self.push(Tx {
            id: 0,
            time,
            amount,
            currency,
            channel,
            from,
            to,
            mx_place: fm,
            city,
            branch: 0,
        })
    }

    fn channel_tx(&mut self, time: i64, from: u32, to: u32, usd: i64, channel: Channel) -> u64 {
        let (amount, currency) = self.local(from, usd);
        let fm = self.accts[from as usize].mx;
        let city = self.accts[from as usize].city;
        self.push(Tx {
            id: 0,
            time,
            amount,
            currency,
            channel,
            from,
            to,
            mx_place: fm,
            city,
            branch: 0,
        })
    }

    /// Cash in at a branch of the account's city; `amount` already local.
    fn cash_in(&mut self, time: i64, to: u32, amount: i64, currency: Currency, branch: u8) -> u64 {
        let acct = self.accts[to as usize];
        self.push(Tx {
            id: 0,
            time,
            amount,
            currency,
            channel: Channel::CashDeposit,
            from: NONE,
            to,
            mx_place: acct.mx,
            city: acct.city,
            branch: branch.max(1),
        })
    }

    fn cash_out(&mut self, time: i64, from: u32, usd: i64, branch: u8) -> u64 {
        let (amount, currency) = self.local(from, usd);
        let acct = self.accts[from as usize];
        self.push(Tx {
            id: 0,
            time,
            amount,
            currency,
            channel: Channel::CashWithdrawal,
            from,
            to: NONE,
            mx_place: acct.mx,
            city: acct.city,
            branch: branch.max(1),
        })
    }

    fn push(&mut self, mut t: Tx) -> u64 {
        self.next_id += 1;
        t.id = self.next_id;
        let end = self.start + self.days * DAY - 1;
        t.time = t.time.clamp(self.start, end);
        self.txs.push(t);
        t.id
    }

    fn at(&mut self, day: i64, h_lo: i64, h_hi: i64) -> i64 {
        self.start + day * DAY + self.rng.int(h_lo * HOUR, h_hi * HOUR - 1)
    }

    fn id(&self, a: u32) -> AccountId {
        let acct = self.accts[a as usize];
        if acct.mx {
            let banks = ["002", "012", "014", "030", "044", "058", "127"];
            let bank = banks[(a as usize * 7 + 3) % banks.len()];
            let plaza = 200 + u32::from(acct.city);
            AccountId::trusted(clabe_with_check(&format!("{bank}{plaza:03}{a:011}")))
        } else {
            let prefixes = [2_600_959u32, 12_200_066, 11_300_005, 6_705_303, 4_400_082];
            let routing = aba_complete(prefixes[(a as usize * 5 + 1) % prefixes.len()]);
            AccountId::trusted(format!("us:{routing}:{}", 7_000_000_000u64 + u64::from(a)))
        }
    }
}

/// Day of month (1-based) and days in that month, for a day index from a
/// start that is a Monday, 6 January 2025.
fn calendar(start: i64, day: i64) -> (i64, i64, i64) {
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = (start + day * DAY).div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let weekday = (start + day * DAY).div_euclid(DAY).rem_euclid(7); // 0 = Thursday
    (d, len, (weekday + 3) % 7) // 0 = Monday
}

/// Generates the ledger.
pub fn build(opts: &AmlWorldOptions) -> Result<AmlWorld, AmlWorldError> {
    if opts.transactions < 20_000 {
        return Err(AmlWorldError::Options(
            "ask for at least 20,000 transactions",
        ));
    }
    if !(4..=104).contains(&opts.weeks) {
        return Err(AmlWorldError::Options("weeks must be 4 to 104"));
    }
    if !(0.0..=0.05).contains(&opts.illicit_rate) {
        return Err(AmlWorldError::Options("illicit rate must be 0 to 0.05"));
    }
    let days = i64::from(opts.weeks) * 7;
    let mut w = World {
        rng: Rng::new(opts.seed, 1),
        accts: Vec::new(),
        txs: Vec::with_capacity(opts.transactions as usize + opts.transactions as usize / 8),
        next_id: 0,
        start: opts.start,
        days,
    };
    // About 3.6 background transactions a person a week, all sources
    // counted (measured on the generator's own output, not on detectors).
    let persons = ((opts.transactions as f64) / (3.6 * f64::from(opts.weeks))) as usize;
    let persons = persons.max(500);

    // Hubs: utilities, telecoms, card issuers, tax; half each country.
    let hubs: Vec<u32> = (0..24)
        .map(|i| w.add(i % 2 == 1, Role::Hub, None))
        .collect();
    let hubs_us: Vec<u32> = hubs.iter().copied().step_by(2).collect();
    let hubs_mx: Vec<u32> = hubs.iter().copied().skip(1).step_by(2).collect();
    let mut people: Vec<Person> = Vec::with_capacity(persons);
    for _ in 0..persons {
        let mx = w.rng.chance(0.45);
        let acct = w.add(mx, Role::Person, None);
        let salary = w.rng.dollars(1_500.0, 9_000.0);
        people.push(Person {
            acct,
            salary,
            rent: None,
            merchants: Vec::new(),
            friends: Vec::new(),
            hubs: Vec::new(),
            remit_to: None,
        });
    }
    // A few people hold a second account (savings).
    let mut second: Vec<(u32, u32)> = Vec::new();
    for i in 0..persons / 20 {
        let p = people[(i * 7919) % persons].acct;
        let mx = w.accts[p as usize].mx;
        let s = w.add(mx, Role::Person, Some(w.accts[p as usize].holder));
        second.push((p, s));
    }
    let by_country = |w: &World, v: &[u32], mx: bool| -> Vec<u32> {
        v.iter()
            .copied()
            .filter(|&a| w.accts[a as usize].mx == mx)
            .collect()
    };
    let person_accts: Vec<u32> = people.iter().map(|p| p.acct).collect();
    let persons_us = by_country(&w, &person_accts, false);
    let persons_mx = by_country(&w, &person_accts, true);

    // Employers, payroll processors, zero-balance accounts.
    let processors: Vec<u32> = (0..(persons / 500).max(2))
        .map(|i| w.add(i % 3 == 2, Role::PayrollProcessor, None))
        .collect();
    let mut employers: Vec<Employer> = Vec::new();
    let mut idx: Vec<usize> = (0..persons).collect();
    for i in (1..idx.len()).rev() {
        let j = w.rng.below(i + 1);
        idx.swap(i, j);
    }
    let mut k = 0;
    while k < idx.len() * 85 / 100 {
        let size = w.rng.int(3, 40) as usize;
        let first = people[idx[k]].acct;
        let mx = w.accts[first as usize].mx;
        let acct = w.add(mx, Role::Employer, None);
        let employees: Vec<u32> = idx[k..(k + size).min(idx.len())]
            .iter()
            .map(|&i| people[i].acct)
            .collect();
        k += size;
        let r = w.rng.unit();
        let procs = by_country(&w, &processors, mx);
        let mode = if r < 0.3 && !procs.is_empty() {
            PayrollMode::Processor(w.rng.pick(&procs).unwrap_or(processors[0]))
        } else if r < 0.45 {
            let h = w.accts[acct as usize].holder;
            PayrollMode::ZeroBalance(w.add(mx, Role::ZeroBalancePayroll, Some(h)))
        } else {
            PayrollMode::Direct
        };
        let schedule = match w.rng.below(3) {
            0 => Schedule::Biweekly(w.rng.below(2) as u8),
            1 => Schedule::SemiMonthly,
            _ => Schedule::Monthly,
        };
        employers.push(Employer {
            acct,
            employees,
            mode,
            schedule,
        });
    }
    let employer_accts: Vec<u32> = employers.iter().map(|e| e.acct).collect();
    let merchants: Vec<u32> = (0..(persons / 60).max(10))
        .map(|i| w.add(i % 9 >= 5, Role::Merchant, None))
        .collect();
    let landlords: Vec<u32> = (0..(persons / 25).max(10))
        .map(|i| w.add(i % 9 >= 5, Role::Landlord, None))
        .collect();
    let cash_businesses: Vec<u32> = (0..(persons / 300).max(3))
        .map(|i| w.add(i % 3 == 2, Role::CashBusiness, None))
        .collect();
    let check_cashers: Vec<u32> = (0..(persons / 1500).max(2))
        .map(|i| w.add(i % 2 == 1, Role::CheckCasher, None))
        .collect();
    let escrows: Vec<u32> = (0..(persons / 1000).max(2))
        .map(|i| w.add(i % 3 == 2, Role::Escrow, None))
        .collect();
    // Intercompany groups among employers of one country: 3 to 6 members.
    let mut netting: Vec<Vec<u32>> = Vec::new();
    for mx in [false, true] {
        let pool = by_country(&w, &employer_accts, mx);
        let mut i = 0;
        while i + 6 < pool.len() && netting.len() < (persons / 800).max(2) {
            let n = w.rng.int(3, 6) as usize;
            netting.push(pool[i..i + n].to_vec());
            i += n + w.rng.below(20);
        }
    }

    // People's habits.
    for p in &mut people {
        let mx = w.accts[p.acct as usize].mx;
        let local_merchants = by_country(&w, &merchants, mx);
        let n = w.rng.int(3, 8);
        for _ in 0..n {
            if let Some(m) = w.rng.pick(&local_merchants) {
                p.merchants.push(m);
            }
        }
        if w.rng.chance(0.6) {
            let ll = by_country(&w, &landlords, mx);
            if let Some(l) = w.rng.pick(&ll) {
                p.rent = Some((l, (p.salary as f64 * (0.25 + 0.15 * w.rng.unit())) as i64));
            }
        }
        let pool = if mx { &persons_mx } else { &persons_us };
        for _ in 0..w.rng.int(1, 5) {
            if let Some(f) = w.rng.pick(pool)
                && f != p.acct
            {
                p.friends.push(f);
            }
        }
        let hp = if mx { &hubs_mx } else { &hubs_us };
        for _ in 0..w.rng.int(2, 4) {
            if let Some(h) = w.rng.pick(hp) {
                p.hubs.push((h, w.rng.dollars(30.0, 400.0)));
            }
        }
        if !mx && w.rng.chance(0.15) {
            p.remit_to = w.rng.pick(&persons_mx);
        }
    }

    // ---- background, day by day
    let mut suppliers_of: Vec<Vec<u32>> = Vec::new();
    for e in &employers {
        let mx = w.accts[e.acct as usize].mx;
        let pool = by_country(&w, &employer_accts, mx);
        let mut s = Vec::new();
        for _ in 0..w.rng.int(2, 6) {
            if let Some(x) = w.rng.pick(&pool)
                && x != e.acct
            {
                s.push(x);
            }
        }
        suppliers_of.push(s);
    }
    for day in 0..days {
        let (dom, month_len, weekday) = calendar(opts.start, day);
        let weekend = weekday >= 5;
        // Payroll.
        for (ei, e) in employers.iter().enumerate() {
            let pay = match e.schedule {
                Schedule::Biweekly(o) => weekday == 4 && (day / 7) % 2 == i64::from(o),
                Schedule::SemiMonthly => dom == 15 || dom == month_len,
                Schedule::Monthly => dom == month_len,
            };
            let per_month = match e.schedule {
                Schedule::Biweekly(_) => 26.0 / 12.0,
                Schedule::SemiMonthly => 2.0,
                Schedule::Monthly => 1.0,
            };
            if pay {
                let t = w.at(day, 6, 9);
                let amounts: Vec<(u32, i64)> = e
                    .employees
                    .iter()
                    .map(|&emp| {
                        let sal = emp
                            .checked_sub(hubs.len() as u32)
                            .and_then(|i| people.get(i as usize))
                            .map_or(300_000, |p| p.salary);
                        (emp, (sal as f64 / per_month) as i64)
                    })
                    .collect();
                let total: i64 = amounts.iter().map(|x| x.1).sum();
                let payer = match e.mode {
                    PayrollMode::Direct => e.acct,
                    PayrollMode::Processor(p) => {
                        w.wire(t - DAY, e.acct, p, total + total / 200);
                        p
                    }
                    PayrollMode::ZeroBalance(z) => {
                        w.wire(t - 2 * HOUR, e.acct, z, total);
                        z
                    }
                };
                for (emp, amt) in amounts {
                    let jitter = w.rng.int(0, 600);
                    w.wire(t + jitter, payer, emp, amt);
                }
            }
            // Company business: customer receipts and supplier payments.
            if !weekend && w.rng.chance(0.25) {
                let t = w.at(day, 9, 17);
                if let Some(s) = w.rng.pick(&suppliers_of[ei]) {
                    let amt = w.rng.dollars(800.0, 60_000.0);
                    w.wire(t, e.acct, s, amt);
                }
            }
            if !weekend && w.rng.chance(0.2) {
                let t = w.at(day, 9, 17);
                let src = if w.rng.chance(0.5) {
                    w.rng.pick(&hubs).unwrap_or(hubs[0])
                } else {
                    w.rng.pick(&employer_accts).unwrap_or(e.acct)
                };
                if src != e.acct {
                    let amt = w.rng.dollars(2_000.0, 120_000.0);
                    w.wire(t, src, e.acct, amt);
                }
            }
        }
        // Intercompany netting, on the 25th: a cycle within a day or two.
        if dom == 25 {
            for g in &netting {
                let base = w.rng.dollars(20_000.0, 500_000.0);
                let mut t = w.at(day, 9, 12);
                for (i, &a) in g.iter().enumerate() {
                    let b = g[(i + 1) % g.len()];
                    let amt = (base as f64 * (0.8 + 0.4 * w.rng.unit())) as i64;
                    w.wire(t, a, b, amt);
                    t += w.rng.int(HOUR, 20 * HOUR);
                }
            }
        }
        // People.
        for p in &people {
            let a = p.acct;
            // Card purchases, about 1.4 a week.
            let shop = if !w.rng.chance(0.2) {
                None
            } else if w.rng.chance(0.9) {
                w.rng.pick(&p.merchants)
            } else {
                w.rng.pick(&merchants)
            };
            if let Some(m) = shop {
                let t = w.at(day, 7, 23);
                let amt = w.rng.dollars(5.0, 400.0);
                w.channel_tx(t, a, m, amt, Channel::Card);
            }
            // ATM, about one every two weeks.
            if w.rng.chance(0.07) {
                let t = w.at(day, 7, 23);
                let amt = w.rng.int(2, 40) * 2_000;
                let b = 1 + w.rng.below(usize::from(BRANCHES)) as u8;
                w.cash_out(t, a, amt, b);
            }
            // Friends, about one every three weeks.
            if w.rng.chance(0.05)
                && let Some(f) = w.rng.pick(&p.friends)
            {
                let t = w.at(day, 8, 22);
                let amt = w.rng.dollars(10.0, 1_500.0);
                w.wire(t, a, f, amt);
            }
            // Rent on the 1st, bills on a fixed day of the month.
            if dom == 1
                && let Some((l, r)) = p.rent
            {
                let t = w.at(day, 6, 20);
                w.wire(t, a, l, r);
            }
            for (i, &(h, amt)) in p.hubs.iter().enumerate() {
                if dom == 3 + 7 * i as i64 {
                    let t = w.at(day, 0, 23);
                    let amt = (amt as f64 * (0.85 + 0.3 * w.rng.unit())) as i64;
                    w.wire(t, a, h, amt);
                }
            }
            // Remittances: twice a month around payday.
            if let Some(r) = p.remit_to
                && (dom == 2 || dom == 17)
                && w.rng.chance(0.8)
            {
                let t = w.at(day, 8, 21);
                let amt = w.rng.dollars(150.0, 900.0);
                w.channel_tx(t, a, r, amt, Channel::Remittance);
            }
            // Occasional cash in (gifts, side jobs).
            if w.rng.chance(0.01) {
                let t = w.at(day, 9, 17);
                let usd = w.rng.dollars(50.0, 3_000.0);
                let (amt, cur) = w.local(a, usd);
                let b = 1 + w.rng.below(usize::from(BRANCHES)) as u8;
                w.cash_in(t, a, amt, cur, b);
            }
        }
        // Savings transfers.
        for &(p, s) in &second {
            if dom == 16 && w.rng.chance(0.7) {
                let t = w.at(day, 8, 22);
                let amt = w.rng.dollars(50.0, 2_000.0);
                w.wire(t, p, s, amt);
            }
        }
        // Merchants sweep weekly to a supplier and pay card fees to a hub.
        if weekday == 0 {
            for &m in &merchants {
                let mx = w.accts[m as usize].mx;
                let sup = w.rng.pick(&by_country(&w, &employer_accts, mx));
                if let Some(s) = sup {
                    let t = w.at(day, 9, 17);
                    let amt = w.rng.dollars(1_000.0, 25_000.0);
                    w.wire(t, m, s, amt);
                }
                let t = w.at(day, 9, 17);
                let hp = if mx { &hubs_mx } else { &hubs_us };
                if let Some(h) = w.rng.pick(hp) {
                    let amt = w.rng.dollars(50.0, 900.0);
                    w.wire(t, m, h, amt);
                }
            }
        }
        // Landlords pay a property manager's costs and a mortgage hub.
        if dom == 5 {
            for &l in &landlords {
                let mx = w.accts[l as usize].mx;
                let hp = if mx { &hubs_mx } else { &hubs_us };
                if let Some(h) = w.rng.pick(hp) {
                    let t = w.at(day, 9, 17);
                    let amt = w.rng.dollars(500.0, 20_000.0);
                    w.wire(t, l, h, amt);
                }
            }
        }
        // Multi-branch cash businesses: takings paid in at 2 to 6 branches,
        // six days a week; amounts spread across the reporting line.
        if weekday != 6 {
            for (i, &c) in cash_businesses.iter().enumerate() {
                let branches = 2 + (i % 5) as u8;
                for b in 1..=branches {
                    if w.rng.chance(0.8) {
                        let t = w.at(day, 16, 20);
                        let usd = w.rng.dollars(1_200.0, 14_000.0);
                        let (amt, cur) = w.local(c, usd);
                        w.cash_in(t, c, amt, cur, b);
                    }
                }
                if weekday == 4 {
                    let mx = w.accts[c as usize].mx;
                    let pool = by_country(&w, &employer_accts, mx);
                    for _ in 0..w.rng.int(1, 3) {
                        if let Some(s) = w.rng.pick(&pool) {
                            let t = w.at(day, 9, 17);
                            let amt = w.rng.dollars(5_000.0, 40_000.0);
                            w.wire(t, c, s, amt);
                        }
                    }
                }
            }
        }
        // Check cashers: checks from many employers in, cash out.
        if !weekend {
            for &c in &check_cashers {
                for _ in 0..w.rng.int(3, 12) {
                    if let Some(e) = w.rng.pick(&employer_accts) {
                        let t = w.at(day, 9, 17);
                        let amt = w.rng.dollars(300.0, 3_000.0);
                        w.wire(t, e, c, amt);
                    }
                }
                for _ in 0..w.rng.int(1, 3) {
                    let t = w.at(day, 8, 11);
                    let amt = w.rng.dollars(8_000.0, 45_000.0);
                    let b = 1 + w.rng.below(3) as u8;
                    w.cash_out(t, c, amt, b);
                }
            }
        }
        // Escrow: a purchase every week or so per agent; the buyer's large
        // deposit goes out within days to the seller, a lender, agents.
        if !weekend {
            for &e in &escrows {
                if w.rng.chance(0.2) {
                    let mx = w.accts[e as usize].mx;
                    let pool = if mx { &persons_mx } else { &persons_us };
                    let (Some(buyer), Some(seller)) = (w.rng.pick(pool), w.rng.pick(pool)) else {
                        continue;
                    };
                    let price = w.rng.dollars(60_000.0, 600_000.0);
                    let t = w.at(day, 9, 16);
                    w.wire(t, buyer, e, price);
                    let close = t + w.rng.int(2 * DAY, 8 * DAY);
                    let mut left = price;
                    for _ in 0..w.rng.int(2, 5) {
                        let party = if w.rng.chance(0.5) {
                            w.rng.pick(&hubs).unwrap_or(hubs[0])
                        } else {
                            w.rng.pick(&landlords).unwrap_or(landlords[0])
                        };
                        let fee = left / w.rng.int(8, 30);
                        let tt = close + w.rng.int(0, 4 * HOUR);
                        w.wire(tt, e, party, fee);
                        left -= fee;
                    }
                    let tt = close + w.rng.int(0, 4 * HOUR);
                    w.wire(tt, e, seller, left);
                }
            }
        }
    }

    // ---- laundering
    let background = w.txs.len();
    let target = (background as f64 * opts.illicit_rate / (1.0 - opts.illicit_rate)) as usize;
    let mut cases: Vec<Case> = Vec::new();
    let mut lr = Rng::new(opts.seed, 2);
    let mut n = 0u32;
    while w.txs.len() - background < target {
        // Each of the eight patterns in turn, structuring twice as often.
        let kind = CaseKind::ALL[[0, 1, 2, 3, 4, 5, 6, 7, 8, 8][n as usize % 10]];
        let before = w.txs.len();
        let (accounts, form) = plant(&mut w, &mut lr, kind, &people, &employer_accts);
        let tx_ids = w.txs[before..].iter().map(|t| TxId(t.id)).collect();
        n += 1;
        cases.push(Case {
            id: n,
            kind,
            form,
            accounts: accounts.iter().map(|&a| w.id(a)).collect(),
            tx_ids,
        });
    }

    // ---- build
    let illicit: HashSet<TxId> = w.txs[background..].iter().map(|t| TxId(t.id)).collect();
    let mut names: Vec<String> = Vec::new();
    for mx in [false, true] {
        for c in 0..8u8 {
            for b in 0..=BRANCHES {
                let (cc, city) = if mx {
                    ("MX", MX_CITIES[usize::from(c)].0)
                } else {
                    ("US", US_CITIES[usize::from(c)].0)
                };
                names.push(format!("{cc}-{city}-{b:02}"));
            }
        }
    }
    let mut b = GraphBuilder::new();
    b.reserve(w.txs.len());
    for a in 0..w.accts.len() as u32 {
        b.intern_account(&w.id(a))?;
    }
    w.txs.sort_by_key(|t| (t.time, t.id));
    for t in &w.txs {
        let (country, border) = if t.mx_place {
            (Country::MX, MX_CITIES[usize::from(t.city % 8)].1)
        } else {
            (Country::US, US_CITIES[usize::from(t.city % 8)].1)
        };
        let ni = usize::from(t.mx_place) * 8 * (usize::from(BRANCHES) + 1)
            + usize::from(t.city % 8) * (usize::from(BRANCHES) + 1)
            + usize::from(t.branch.min(BRANCHES));
        let branch = (t.branch > 0).then(|| names[ni].as_str());
        b.push_indexed(
            TxId(t.id),
            t.time,
            t.amount,
            t.currency,
            t.channel,
            (t.from != NONE).then_some(t.from),
            (t.to != NONE).then_some(t.to),
            (country, branch, border && t.branch > 0),
        )?;
    }
    Ok(AmlWorld {
        graph: b.finish(),
        cases,
        roles: w.accts.iter().map(|a| a.role).collect(),
        holders: w.accts.iter().map(|a| a.holder).collect(),
        illicit,
    })
}

/// Picks a launderer's account: an existing person or company account
/// (which keeps its ordinary activity), or, 40 % of the time, a mule
/// account opened for the case.
fn member(w: &mut World, r: &mut Rng, mx: bool, people: &[Person], companies: &[u32]) -> u32 {
    if r.chance(0.4) {
        return w.add(mx, Role::Mule, None);
    }
    for _ in 0..50 {
        let a = if r.chance(0.8) {
            people[r.below(people.len())].acct
        } else {
            companies[r.below(companies.len())]
        };
        if w.accts[a as usize].mx == mx {
            return a;
        }
    }
    w.add(mx, Role::Mule, None)
}

/// Plants one case; returns its accounts and, for structuring, its form.
fn plant(
    w: &mut World,
    r: &mut Rng,
    kind: CaseKind,
    people: &[Person],
    companies: &[u32],
) -> (Vec<u32>, Option<StructuringForm>) {
    let mx = r.chance(0.35);
    let cross = r.chance(0.15);
    let start_day = r.int(0, w.days - 21);
    let mut t = w.start + start_day * DAY + r.int(8 * HOUR, 18 * HOUR);
    let m = |w: &mut World, r: &mut Rng, side_mx: bool| member(w, r, side_mx, people, companies);
    // Total laundered, USD cents.
    let total = r.dollars(8_000.0, 400_000.0);
    let mut accts: Vec<u32> = Vec::new();
    // Placement into the first account: cash under the line, or crypto.
    let place = |w: &mut World, r: &mut Rng, a: u32, t: i64, amount: i64| {
        if r.chance(0.5) {
            // Part of the money arrives in cash (2 to 8 deposits); the
            // rest was already in the account.
            let mut left = amount;
            let mut tt = t - r.int(2 * DAY, 6 * DAY);
            for _ in 0..r.int(2, 8) {
                if left <= 0 {
                    break;
                }
                let usd = left.min(r.dollars(2_000.0, 9_500.0));
                let (amt, cur) = w.local(a, usd);
                let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                w.cash_in(tt, a, amt, cur, b);
                left -= usd;
                tt += r.int(2 * HOUR, 30 * HOUR);
            }
        } else if r.chance(0.3) {
            let (amt, cur) = w.local(a, amount);
            let acct = w.accts[a as usize];
            w.push(Tx {
                id: 0,
                time: t - r.int(HOUR, 3 * DAY),
                amount: amt,
                currency: cur,
                channel: Channel::CryptoOffRamp,
                from: NONE,
                to: a,
                mx_place: acct.mx,
                city: acct.city,
                branch: 0,
            });
        }
    };
    // Exit from an account: cash out, or abroad; or the money stays.
    let exit = |w: &mut World, r: &mut Rng, a: u32, t: i64, amount: i64| {
        let u = r.unit();
        if u < 0.35 {
            let mut left = amount;
            let mut tt = t + r.int(2 * HOUR, 3 * DAY);
            for _ in 0..6 {
                if left <= 0 {
                    break;
                }
                let usd = left.min(r.dollars(1_000.0, 9_000.0));
                let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                w.cash_out(tt, a, usd, b);
                left -= usd;
                tt += r.int(HOUR, DAY);
            }
        } else if u < 0.5 {
            let dest_mx = !w.accts[a as usize].mx;
            let d = w.add(dest_mx, Role::Mule, None);
            w.wire(t + r.int(HOUR, 2 * DAY), a, d, amount * 95 / 100);
        }
    };
    let gap = |r: &mut Rng, lo_h: i64, hi_h: i64| r.int(lo_h * HOUR, hi_h * HOUR);
    let cut = |r: &mut Rng, x: i64| (x as f64 * (0.90 + 0.09 * r.unit())) as i64;
    let mut form = None;
    match kind {
        CaseKind::FanOut => {
            let src = m(w, r, mx);
            accts.push(src);
            place(w, r, src, t, total);
            let k = r.int(4, 12) as usize;
            let span = r.int(1, 14) * DAY;
            for _ in 0..k {
                let side = if cross && r.chance(0.5) { !mx } else { mx };
                let d = m(w, r, side);
                accts.push(d);
                let amt = cut(r, total / k as i64);
                let tt = t + r.int(0, span);
                w.wire(tt, src, d, amt);
                if r.chance(0.3) {
                    exit(w, r, d, tt, amt);
                }
            }
        }
        CaseKind::FanIn => {
            let dst = m(w, r, mx);
            accts.push(dst);
            let k = r.int(4, 12) as usize;
            let span = r.int(1, 14) * DAY;
            for _ in 0..k {
                let side = if cross && r.chance(0.5) { !mx } else { mx };
                let s = m(w, r, side);
                accts.push(s);
                let amt = total / k as i64;
                let tt = t + r.int(0, span);
                place(w, r, s, tt, amt);
                w.wire(tt, s, dst, cut(r, amt));
            }
            exit(w, r, dst, t + span, total * 9 / 10);
        }
        CaseKind::GatherScatter => {
            let hub = m(w, r, mx);
            accts.push(hub);
            let (ki, ko) = (r.int(3, 8) as usize, r.int(3, 8) as usize);
            let span = r.int(1, 7) * DAY;
            for _ in 0..ki {
                let s = m(w, r, mx);
                accts.push(s);
                let amt = total / ki as i64;
                let tt = t + r.int(0, span);
                place(w, r, s, tt, amt);
                w.wire(tt, s, hub, cut(r, amt));
            }
            t += span + gap(r, 2, 72);
            for _ in 0..ko {
                let side = if cross && r.chance(0.5) { !mx } else { mx };
                let d = m(w, r, side);
                accts.push(d);
                let amt = cut(r, total * 9 / 10 / ko as i64);
                let tt = t + r.int(0, span);
                w.wire(tt, hub, d, amt);
                if r.chance(0.3) {
                    exit(w, r, d, tt, amt);
                }
            }
        }
        CaseKind::ScatterGather => {
            let src = m(w, r, mx);
            let dst = m(w, r, if cross { !mx } else { mx });
            accts.push(src);
            accts.push(dst);
            place(w, r, src, t, total);
            let k = r.int(3, 8) as usize;
            for _ in 0..k {
                let mid = m(w, r, mx);
                accts.push(mid);
                let amt = cut(r, total / k as i64);
                let t1 = t + gap(r, 0, 96);
                w.wire(t1, src, mid, amt);
                let t2 = t1 + gap(r, 2, 120);
                w.wire(t2, mid, dst, cut(r, amt));
            }
            exit(w, r, dst, t + 10 * DAY, total * 8 / 10);
        }
        CaseKind::Cycle => {
            let len = r.int(3, 10) as usize;
            let ring: Vec<u32> = (0..len)
                .map(|i| m(w, r, if cross && i == len / 2 { !mx } else { mx }))
                .collect();
            accts.extend(&ring);
            place(w, r, ring[0], t, total);
            let mut amt = total;
            for i in 0..len {
                amt = cut(r, amt);
                w.wire(t, ring[i], ring[(i + 1) % len], amt);
                t += gap(r, 2, 40);
            }
        }
        CaseKind::RandomWalk => {
            let hops = r.int(3, 8) as usize;
            let mut cur = m(w, r, mx);
            accts.push(cur);
            place(w, r, cur, t, total);
            let mut amt = total;
            for h in 0..hops {
                let next_mx = if cross && h == hops / 2 {
                    !w.accts[cur as usize].mx
                } else {
                    w.accts[cur as usize].mx
                };
                let nx = m(w, r, next_mx);
                accts.push(nx);
                amt = cut(r, amt);
                w.wire(t, cur, nx, amt);
                t += gap(r, 6, 120);
                cur = nx;
            }
            exit(w, r, cur, t, amt);
        }
        CaseKind::Bipartite | CaseKind::Stack => {
            let layers = if kind == CaseKind::Stack { 3 } else { 2 };
            let sets: Vec<Vec<u32>> = (0..layers)
                .map(|l| {
                    let n = r.int(2, 5) as usize;
                    (0..n)
                        .map(|_| m(w, r, if cross && l == layers - 1 { !mx } else { mx }))
                        .collect()
                })
                .collect();
            for s in &sets {
                accts.extend(s);
            }
            let per = total / sets[0].len().max(1) as i64;
            for &s in &sets[0] {
                place(w, r, s, t, per);
            }
            let p_edge = 0.6 + 0.3 * r.unit();
            for l in 0..layers - 1 {
                let (a, b) = (&sets[l], &sets[l + 1]);
                let share = total / (a.len() * b.len()).max(1) as i64;
                for &x in a {
                    let mut any = false;
                    for (j, &y) in b.iter().enumerate() {
                        if r.chance(p_edge) || (!any && j + 1 == b.len()) {
                            any = true;
                            let amt = cut(r, share * 10 / 9);
                            w.wire(t + gap(r, 0, 96), x, y, amt);
                        }
                    }
                }
                t += gap(r, 24, 120);
            }
            if let Some(&last) = sets[layers - 1].first()
                && r.chance(0.5)
            {
                exit(w, r, last, t, total / 4);
            }
        }
        CaseKind::Structuring => {
            let f = match r.below(6) {
                0 => StructuringForm::Textbook,
                1 => StructuringForm::OneBranchSlow,
                2 => StructuringForm::LowAmounts,
                3 => StructuringForm::OneHolderManyAccounts,
                4 => StructuringForm::GroupForBeneficiary,
                _ => StructuringForm::Mexico,
            };
            form = Some(f);
            structure(w, r, f, &mut accts, t, people, companies);
        }
    }
    accts.sort_unstable();
    accts.dedup();
    (accts, form)
}

fn structure(
    w: &mut World,
    r: &mut Rng,
    f: StructuringForm,
    accts: &mut Vec<u32>,
    t: i64,
    people: &[Person],
    companies: &[u32],
) {
    let m = |w: &mut World, r: &mut Rng, mx: bool| member(w, r, mx, people, companies);
    // Whole amounts between `lo` and `hi` (major units), in minor units.
    let below = |r: &mut Rng, lo: f64, hi: f64| r.dollars(lo, hi) / 100 * 100;
    let line = US_CTR_CENTS as f64 / 100.0;
    match f {
        StructuringForm::Textbook => {
            let a = m(w, r, false);
            accts.push(a);
            let mut tt = t;
            for _ in 0..r.int(3, 6) {
                let usd = below(r, line * 0.8, line * 0.99);
                let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                w.cash_in(tt, a, usd, Currency::Usd, b);
                tt += r.int(4 * HOUR, 40 * HOUR);
            }
        }
        StructuringForm::OneBranchSlow => {
            let a = m(w, r, false);
            accts.push(a);
            let b = 1 + r.below(usize::from(BRANCHES)) as u8;
            let mut tt = t;
            for _ in 0..r.int(4, 10) {
                let usd = below(r, line * 0.6, line * 0.98);
                w.cash_in(tt, a, usd, Currency::Usd, b);
                tt += r.int(3 * DAY, 8 * DAY);
            }
        }
        StructuringForm::LowAmounts => {
            let a = m(w, r, false);
            accts.push(a);
            let mut tt = t;
            for _ in 0..r.int(6, 15) {
                let usd = below(r, 1_500.0, 5_000.0);
                let b = 1 + r.below(3) as u8;
                w.cash_in(tt, a, usd, Currency::Usd, b);
                tt += r.int(12 * HOUR, 4 * DAY);
            }
        }
        StructuringForm::OneHolderManyAccounts => {
            let main = m(w, r, false);
            let holder = w.accts[main as usize].holder;
            let mut own = vec![main];
            for _ in 0..r.int(1, 3) {
                own.push(w.add(false, Role::Person, Some(holder)));
            }
            accts.extend(&own);
            let mut tt = t;
            let mut sums = vec![0i64; own.len()];
            for _ in 0..r.int(4, 9) {
                let i = r.below(own.len());
                let usd = below(r, 4_000.0, line * 0.95);
                let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                w.cash_in(tt, own[i], usd, Currency::Usd, b);
                sums[i] += usd;
                tt += r.int(6 * HOUR, 3 * DAY);
            }
            for i in 1..own.len() {
                if sums[i] > 0 {
                    w.wire(tt + r.int(HOUR, DAY), own[i], main, sums[i]);
                }
            }
        }
        StructuringForm::GroupForBeneficiary => {
            let ben = m(w, r, false);
            accts.push(ben);
            let direct = r.chance(0.5);
            let mut tt = t;
            for _ in 0..r.int(3, 6) {
                let usd = below(r, 3_000.0, line * 0.95);
                let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                if direct {
                    w.cash_in(tt, ben, usd, Currency::Usd, b);
                } else {
                    let p = m(w, r, false);
                    accts.push(p);
                    w.cash_in(tt, p, usd, Currency::Usd, b);
                    w.wire(tt + r.int(HOUR, 2 * DAY), p, ben, usd);
                }
                tt += r.int(2 * HOUR, 2 * DAY);
            }
        }
        StructuringForm::Mexico => {
            if r.chance(0.5) {
                // Pesos under the relevant-operation line.
                let a = m(w, r, true);
                accts.push(a);
                let line_mxn = MX_RELEVANT_CENTS_USD as f64 / 100.0 * MXN_PER_USD;
                let mut tt = t;
                for _ in 0..r.int(3, 6) {
                    let mxn = below(r, line_mxn * 0.7, line_mxn * 0.99);
                    let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                    w.cash_in(tt, a, mxn, Currency::Mxn, b);
                    tt += r.int(6 * HOUR, 5 * DAY);
                }
            } else {
                // Dollars in cash under the monthly cap, across accounts,
                // then gathered.
                let cap = MX_USD_CASH_CAP_CENTS as f64 / 100.0;
                let ben = m(w, r, true);
                accts.push(ben);
                let mut tt = t;
                for _ in 0..r.int(3, 5) {
                    let p = m(w, r, true);
                    accts.push(p);
                    let usd = below(r, cap * 0.6, cap * 0.99);
                    let b = 1 + r.below(usize::from(BRANCHES)) as u8;
                    w.cash_in(tt, p, usd, Currency::Usd, b);
                    w.wire(tt + r.int(HOUR, 3 * DAY), p, ben, usd * 98 / 100);
                    tt += r.int(HOUR, 3 * DAY);
                }
            }
        }
    }
}

/// How alerts score against the cases: an alert is true when one of its
/// evidence transactions belongs to a case (whatever the alert's kind); a
/// case is found when an alert cites one of its transactions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaseScore {
    /// Cases.
    pub cases: usize,
    /// Cases found.
    pub found: usize,
    /// Alerts.
    pub alerts: usize,
    /// Alerts citing a case's transaction.
    pub true_alerts: usize,
    /// found / cases.
    pub recall: f64,
    /// true_alerts / alerts.
    pub precision: f64,
    /// Alerts per 100,000 transactions.
    pub alerts_per_100k: f64,
    /// By case kind: (kind, cases, found).
    pub by_case: Vec<(CaseKind, usize, usize)>,
    /// By structuring form: (form, cases, found).
    pub by_form: Vec<(StructuringForm, usize, usize)>,
    /// By alert label: (label, alerts, true alerts).
    pub by_alert: Vec<(String, usize, usize)>,
    /// False alerts by alert label and the role of the account they
    /// centre on.
    pub false_by_role: Vec<(String, Role, usize)>,
}

/// One alert to score: a label (its kind), the account at its centre, and
/// its evidence.
pub struct Scored<'a> {
    /// Kind of alert.
    pub label: &'a str,
    /// Graph index of its account, if known.
    pub account: Option<u32>,
    /// Evidence.
    pub evidence: &'a [TxId],
}

/// Scores alerts against the ledger's cases.
pub fn score<'a>(world: &AmlWorld, alerts: impl IntoIterator<Item = Scored<'a>>) -> CaseScore {
    let mut case_of: std::collections::HashMap<TxId, Vec<usize>> = Default::default();
    for (i, c) in world.cases.iter().enumerate() {
        for id in &c.tx_ids {
            case_of.entry(*id).or_default().push(i);
        }
    }
    let mut found = vec![false; world.cases.len()];
    let mut by_alert: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut false_by_role: std::collections::BTreeMap<(String, Role), usize> = Default::default();
    let (mut n_alerts, mut true_alerts) = (0, 0);
    for a in alerts {
        n_alerts += 1;
        let mut hit = false;
        for id in a.evidence {
            if let Some(cs) = case_of.get(id) {
                hit = true;
                for &c in cs {
                    found[c] = true;
                }
            }
        }
        let e = by_alert.entry(a.label.to_owned()).or_default();
        e.0 += 1;
        if hit {
            e.1 += 1;
            true_alerts += 1;
        } else if let Some(acc) = a.account {
            let role = world
                .roles
                .get(acc as usize)
                .copied()
                .unwrap_or(Role::Person);
            *false_by_role.entry((a.label.to_owned(), role)).or_default() += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let by_case = CaseKind::ALL
        .iter()
        .map(|&k| {
            let n = world.cases.iter().filter(|c| c.kind == k).count();
            let f = world
                .cases
                .iter()
                .zip(&found)
                .filter(|(c, f)| c.kind == k && **f)
                .count();
            (k, n, f)
        })
        .collect();
    let forms = [
        StructuringForm::Textbook,
        StructuringForm::OneBranchSlow,
        StructuringForm::LowAmounts,
        StructuringForm::OneHolderManyAccounts,
        StructuringForm::GroupForBeneficiary,
        StructuringForm::Mexico,
    ];
    let by_form = forms
        .iter()
        .map(|&fm| {
            let n = world.cases.iter().filter(|c| c.form == Some(fm)).count();
            let f = world
                .cases
                .iter()
                .zip(&found)
                .filter(|(c, f)| c.form == Some(fm) && **f)
                .count();
            (fm, n, f)
        })
        .collect();
    let nfound = found.iter().filter(|f| **f).count();
    CaseScore {
        cases: world.cases.len(),
        found: nfound,
        alerts: n_alerts,
        true_alerts,
        recall: ratio(nfound, world.cases.len()),
        precision: ratio(true_alerts, n_alerts),
        alerts_per_100k: 1e5 * n_alerts as f64 / world.graph.len().max(1) as f64,
        by_case,
        by_form,
        by_alert: by_alert.into_iter().map(|(k, (a, t))| (k, a, t)).collect(),
        false_by_role: false_by_role
            .into_iter()
            .map(|((l, r), n)| (l, r, n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> AmlWorld {
        build(&AmlWorldOptions {
            seed,
            transactions: 60_000,
            weeks: 12,
            ..AmlWorldOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn the_ledger_has_its_size_rate_and_every_kind() {
        let w = small(3);
        let n = w.graph.len() as f64;
        assert!((40_000.0..90_000.0).contains(&n), "{n}");
        let rate = w.illicit.len() as f64 / n;
        assert!((0.004..0.008).contains(&rate), "{rate}");
        for k in CaseKind::ALL {
            assert!(w.cases.iter().any(|c| c.kind == k), "no {k:?} case");
        }
        for c in &w.cases {
            assert!(!c.tx_ids.is_empty() && !c.accounts.is_empty(), "{c:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_ledger_and_another_seed_another() {
        let (a, b, c) = (small(5), small(5), small(6));
        assert_eq!(a.graph.len(), b.graph.len());
        assert_eq!(a.cases.len(), b.cases.len());
        assert_eq!(a.graph.ids, b.graph.ids);
        assert_ne!(a.graph.ids, c.graph.ids);
    }

    #[test]
    fn hard_negatives_are_present() {
        let w = small(4);
        let g = &w.graph;
        for role in [
            Role::PayrollProcessor,
            Role::ZeroBalancePayroll,
            Role::CashBusiness,
            Role::CheckCasher,
            Role::Escrow,
        ] {
            let a = w.roles.iter().position(|r| *r == role).unwrap() as u32;
            assert!(
                !g.outgoing(a).is_empty() || !g.incoming(a).is_empty(),
                "{role:?} has no traffic"
            );
        }
        // A payroll processor pays the same people in consecutive months.
        let p = w
            .roles
            .iter()
            .position(|r| *r == Role::PayrollProcessor)
            .unwrap() as u32;
        let out = g.outgoing(p);
        let month = |t: u32| (g.time(t) - g.time(out[0])) / (30 * DAY);
        let first: HashSet<u32> = out
            .iter()
            .filter(|&&t| month(t) == 0)
            .map(|&t| g.to(t))
            .collect();
        let second: HashSet<u32> = out
            .iter()
            .filter(|&&t| month(t) == 1)
            .map(|&t| g.to(t))
            .collect();
        assert!(first.intersection(&second).count() >= 3);
        // Cash businesses pay in just under the US threshold now and then.
        let near = (0..g.len() as u32)
            .filter(|&t| {
                g.channel(t) == Channel::CashDeposit
                    && w.roles[g.to(t) as usize] == Role::CashBusiness
                    && (800_000..US_CTR_CENTS).contains(&g.value(t))
            })
            .count();
        assert!(near > 0);
    }

    #[test]
    fn structured_cash_stays_under_the_reporting_line() {
        let w = small(8);
        let g = &w.graph;
        let pos: std::collections::HashMap<TxId, u32> =
            (0..g.len() as u32).map(|t| (g.tx_id(t), t)).collect();
        let mut seen = 0;
        for c in w.cases.iter().filter(|c| c.kind == CaseKind::Structuring) {
            for id in &c.tx_ids {
                let t = pos[id];
                if g.channel(t) == Channel::CashDeposit && g.currency(t) == Currency::Usd {
                    assert!(g.amount(t) < US_CTR_CENTS, "{c:?}");
                    seen += 1;
                }
                if g.channel(t) == Channel::CashDeposit && g.currency(t) == Currency::Mxn {
                    let line = (MX_RELEVANT_CENTS_USD as f64 * MXN_PER_USD) as i64;
                    assert!(g.amount(t) < line, "{c:?}");
                }
            }
        }
        assert!(seen > 5);
    }

    #[test]
    fn scoring_counts_a_case_found_by_one_shared_transaction() {
        let w = small(7);
        let c = &w.cases[0];
        let ev = [c.tx_ids[0]];
        let s = score(
            &w,
            [Scored {
                label: "x",
                account: None,
                evidence: &ev,
            }],
        );
        assert_eq!((s.found, s.true_alerts, s.alerts), (1, 1, 1));
        let s = score(
            &w,
            [Scored {
                label: "x",
                account: Some(0),
                evidence: &[TxId(0)],
            }],
        );
        assert_eq!((s.found, s.true_alerts), (0, 0));
    }
}
