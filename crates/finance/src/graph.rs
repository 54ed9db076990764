//! The in-memory transaction graph: columnar, time-ordered, with compressed
//! sparse row (CSR) adjacency in both directions.
//!
//! It is built for tens to hundreds of millions of transactions on one
//! machine. Every transaction is a position in a handful of parallel columns
//! sorted by time (ties keep input order), so a transaction's position *is*
//! its place in time: "money can only leave after it arrived" becomes "the
//! outgoing position is greater than the incoming one". Accounts are `u32`
//! indices; each account's outgoing and incoming transactions are a slice of
//! positions, ascending, hence time-sorted, found by binary search.
//!
//! Per transaction the graph keeps: id (8 bytes), time (4, seconds since
//! 2000-01-01), amount (8), currency (1), channel (1), sender (4), receiver
//! (4), place (4), and one entry in each adjacency list (4 + 4): 42 bytes,
//! or 4.2 GB for 100 million transactions, plus the account table.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::model::{AccountId, Channel, Country, Currency, SuspiciousReport, Transaction, TxId};

/// A fast non-cryptographic hasher for the account and place indexes
/// (multiply-rotate over 8-byte words, in the manner of rustc's FxHash).
/// The keys come from our own financial-intelligence data, never from a
/// partner, so resistance to chosen-key flooding is not needed here and the
/// default SipHash would cost a third of ingest time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xF135_7AEA_2E62_A9C5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0xF135_7AEA_2E62_A9C5);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        // Fold the high bits down: hashbrown takes its bucket from the low
        // bits and its tag from the top seven.
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

/// No account (cash side of a deposit or withdrawal).
pub const NONE: u32 = u32::MAX;

/// 2000-01-01T00:00:00Z: times are stored as `u32` seconds after it, which
/// reaches 2136.
pub const TIME_BASE: i64 = 946_684_800;

/// Where a transaction was carried out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Place {
    /// Country.
    pub country: Country,
    /// Branch, ATM or agent code, if reported.
    pub branch: Option<String>,
    /// Whether it lies in a border zone.
    pub border_zone: bool,
}

/// Conversion of each currency into the reference currency (US dollar
/// cents), in millionths: the trace and the typologies add amounts across
/// currencies with these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rates {
    /// Millionths of a reference minor unit per minor unit, indexed by
    /// [`Currency`] code.
    pub ppm: [i64; 4],
}

impl Default for Rates {
    /// USD 1, MXN 0.055 (≈ 18.2 pesos a dollar, late 2025), EUR 1.16, CAD 0.71.
    fn default() -> Self {
        Rates {
            ppm: [1_000_000, 55_000, 1_160_000, 710_000],
        }
    }
}

/// A time-ordered transaction graph (see the module documentation).
#[derive(Debug, Default)]
pub struct Graph {
    pub(crate) ids: Vec<u64>,
    pub(crate) time: Vec<u32>,
    pub(crate) amount: Vec<i64>,
    pub(crate) currency: Vec<u8>,
    pub(crate) channel: Vec<u8>,
    pub(crate) from: Vec<u32>,
    pub(crate) to: Vec<u32>,
    pub(crate) place: Vec<u32>,
    pub(crate) out_off: Vec<u64>,
    pub(crate) out_tx: Vec<u32>,
    pub(crate) in_off: Vec<u64>,
    pub(crate) in_tx: Vec<u32>,
    pub(crate) accounts: Vec<AccountId>,
    pub(crate) account_country: Vec<Country>,
    pub(crate) account_index: FastMap<AccountId, u32>,
    pub(crate) places: Vec<Place>,
    pub(crate) reported: Vec<bool>,
    pub(crate) rates: Rates,
}

/// Memory the graph holds, by part.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MemoryUse {
    /// Transaction columns and adjacency, bytes.
    pub transactions: u64,
    /// Account table and index, bytes (estimated for the hash map).
    pub accounts: u64,
    /// Bytes per transaction, all parts included.
    pub per_transaction: f64,
}

impl Graph {
    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no transactions.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The index of an account, if it has transactions here.
    pub fn account(&self, id: &AccountId) -> Option<u32> {
        self.account_index.get(id.as_str()).copied()
    }

    /// The identifier of an account index.
    pub fn account_id(&self, a: u32) -> Option<&AccountId> {
        self.accounts.get(a as usize)
    }

    /// The country an account is held in.
    pub fn account_country(&self, a: u32) -> Option<Country> {
        self.account_country.get(a as usize).copied()
    }

    /// Whether an account is named in a suspicious-transaction report.
    pub fn is_reported(&self, a: u32) -> bool {
        self.reported.get(a as usize).copied().unwrap_or(false)
    }

    /// Marks the accounts named in these reports. Reports about accounts
    /// with no transactions here are ignored and counted in the result.
    pub fn add_reports(&mut self, reports: &[SuspiciousReport]) -> usize {
        let mut unknown = 0;
        for r in reports {
            match self.account_index.get(r.account.as_str()) {
                Some(&a) => {
                    if let Some(flag) = self.reported.get_mut(a as usize) {
                        *flag = true;
                    }
                }
                None => unknown += 1,
            }
        }
        unknown
    }

    /// The conversion rates in use.
    pub fn rates(&self) -> Rates {
        self.rates
    }

    /// A transaction's identifier.
    pub fn tx_id(&self, t: u32) -> TxId {
        TxId(self.ids[t as usize])
    }

    /// A transaction's time in seconds since 1970.
    pub fn time(&self, t: u32) -> i64 {
        i64::from(self.time[t as usize]) + TIME_BASE
    }

    /// A transaction's channel.
    pub fn channel(&self, t: u32) -> Channel {
        Channel::ALL[usize::from(self.channel[t as usize])]
    }

    /// A transaction's currency.
    pub fn currency(&self, t: u32) -> Currency {
        Currency::ALL[usize::from(self.currency[t as usize])]
    }

    /// A transaction's amount in its own currency's minor units.
    pub fn amount(&self, t: u32) -> i64 {
        self.amount[t as usize]
    }

    /// A transaction's amount in reference minor units (US cents).
    pub fn value(&self, t: u32) -> i64 {
        let t = t as usize;
        let ppm = self.rates.ppm[usize::from(self.currency[t])];
        let amount = self.amount[t];
        // The detectors ask for values in their inner loops: a 128-bit
        // division is a library call, a 64-bit one by a constant a multiply.
        // Where the product fits in 64 bits both give the same quotient
        // (each truncates toward zero); only then is the short way taken.
        match amount.checked_mul(ppm) {
            Some(p) => p / 1_000_000,
            None => ((i128::from(amount) * i128::from(ppm)) / 1_000_000) as i64,
        }
    }

    /// The sending account, or [`NONE`].
    pub fn from(&self, t: u32) -> u32 {
        self.from[t as usize]
    }

    /// The receiving account, or [`NONE`].
    pub fn to(&self, t: u32) -> u32 {
        self.to[t as usize]
    }

    /// Where a transaction was carried out.
    pub fn place(&self, t: u32) -> &Place {
        &self.places[self.place[t as usize] as usize]
    }

    /// Outgoing transactions of an account, in time order.
    pub fn outgoing(&self, a: u32) -> &[u32] {
        let a = a as usize;
        match (self.out_off.get(a), self.out_off.get(a + 1)) {
            (Some(&s), Some(&e)) => &self.out_tx[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Incoming transactions of an account, in time order.
    pub fn incoming(&self, a: u32) -> &[u32] {
        let a = a as usize;
        match (self.in_off.get(a), self.in_off.get(a + 1)) {
            (Some(&s), Some(&e)) => &self.in_tx[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Position of a transaction by identifier (a linear scan: for tests,
    /// evidence lookup and small graphs).
    pub fn position(&self, id: TxId) -> Option<u32> {
        self.ids.iter().position(|&i| i == id.0).map(|p| p as u32)
    }

    /// Memory held, from the columns' capacities.
    pub fn memory(&self) -> MemoryUse {
        fn bytes<T>(v: &Vec<T>) -> u64 {
            (v.capacity() * std::mem::size_of::<T>()) as u64
        }
        let tx = bytes(&self.ids)
            + bytes(&self.time)
            + bytes(&self.amount)
            + bytes(&self.currency)
            + bytes(&self.channel)
            + bytes(&self.from)
            + bytes(&self.to)
            + bytes(&self.place)
            + bytes(&self.out_off)
            + bytes(&self.out_tx)
            + bytes(&self.in_off)
            + bytes(&self.in_tx);
        // Each account: the boxed text (twice, in the table and as the map
        // key), its country, the report flag, and about 1.1 hash-map slots.
        let text: u64 = self.accounts.iter().map(|a| a.as_str().len() as u64).sum();
        let acc = bytes(&self.accounts)
            + 2 * text
            + bytes(&self.account_country)
            + bytes(&self.reported)
            + (self.account_index.capacity() as u64) * (16 + 4 + 1);
        MemoryUse {
            transactions: tx,
            accounts: acc,
            per_transaction: (tx + acc) as f64 / self.len().max(1) as f64,
        }
    }
}

/// Accumulates transactions in any order and builds a [`Graph`].
#[derive(Debug, Default)]
pub struct GraphBuilder {
    g: Graph,
    /// (country, border zone) → branch → place index; looked up by `&str`
    /// so that ingest allocates nothing for a place seen before.
    place_index: FastMap<(Country, bool), FastMap<Box<str>, u32>>,
}

/// A transaction refused by the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The time cannot be stored.
    #[error("time {0} is outside 2000-01-01 to 2136-02-07; check the time column")]
    Time(i64),
    /// Too many transactions or accounts for `u32` positions.
    #[error("more than 4,294,967,294 transactions or accounts; split the ledger")]
    Capacity,
    /// The channel and the accounts disagree.
    #[error("{0}")]
    Shape(&'static str),
}

impl GraphBuilder {
    /// An empty builder with the default conversion rates.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with these conversion rates.
    pub fn with_rates(rates: Rates) -> Self {
        let mut b = Self::default();
        b.g.rates = rates;
        b
    }

    /// Number of transactions so far.
    pub fn len(&self) -> usize {
        self.g.ids.len()
    }

    /// Whether no transaction was added.
    pub fn is_empty(&self) -> bool {
        self.g.ids.is_empty()
    }

    /// Reserves room for `n` more transactions.
    pub fn reserve(&mut self, n: usize) {
        let g = &mut self.g;
        g.ids.reserve_exact(n);
        g.time.reserve_exact(n);
        g.amount.reserve_exact(n);
        g.currency.reserve_exact(n);
        g.channel.reserve_exact(n);
        g.from.reserve_exact(n);
        g.to.reserve_exact(n);
        g.place.reserve_exact(n);
    }

    /// Interns an account given as text, validating it only the first time
    /// it is seen (what is interned is valid).
    pub fn intern_text(&mut self, text: &str) -> Result<u32, crate::error::ModelError> {
        if let Some(&a) = self.g.account_index.get(text) {
            return Ok(a);
        }
        let id = AccountId::new(text)?;
        self.intern_account(&id).map_err(|_| {
            crate::error::ModelError::Shape("more than 4,294,967,294 accounts; split the ledger")
        })
    }

    /// Interns an account, returning its index.
    pub fn intern_account(&mut self, id: &AccountId) -> Result<u32, BuildError> {
        if let Some(&a) = self.g.account_index.get(id.as_str()) {
            return Ok(a);
        }
        let a = u32::try_from(self.g.accounts.len()).map_err(|_| BuildError::Capacity)?;
        if a == NONE {
            return Err(BuildError::Capacity);
        }
        self.g.accounts.push(id.clone());
        self.g.account_country.push(id.country());
        self.g.account_index.insert(id.clone(), a);
        Ok(a)
    }

    fn intern_place(&mut self, country: Country, branch: Option<&str>, border: bool) -> u32 {
        let by_branch = self.place_index.entry((country, border)).or_default();
        let name = branch.unwrap_or("");
        if let Some(&p) = by_branch.get(name) {
            return p;
        }
        let p = self.g.places.len() as u32;
        self.g.places.push(Place {
            country,
            branch: branch.map(str::to_owned),
            border_zone: border,
        });
        by_branch.insert(name.into(), p);
        p
    }

    /// Adds one transaction.
    pub fn push(&mut self, tx: &Transaction) -> Result<(), BuildError> {
        let from = tx
            .from
            .as_ref()
            .map(|a| self.intern_account(a))
            .transpose()?;
        let to = tx.to.as_ref().map(|a| self.intern_account(a)).transpose()?;
        self.push_indexed(
            tx.id,
            tx.time.0,
            tx.amount.minor,
            tx.amount.currency,
            tx.channel,
            from,
            to,
            (tx.country, tx.branch.as_deref(), tx.border_zone),
        )
    }

    /// Adds one transaction whose accounts are already interned (by
    /// [`GraphBuilder::intern_account`] or [`GraphBuilder::intern_text`]);
    /// `place` is (country, branch, border zone).
    #[allow(clippy::too_many_arguments)]
    pub fn push_indexed(
        &mut self,
        id: TxId,
        time: i64,
        amount: i64,
        currency: Currency,
        channel: Channel,
        from: Option<u32>,
        to: Option<u32>,
        place: (Country, Option<&str>, bool),
    ) -> Result<(), BuildError> {
        let rel = time
            .checked_sub(TIME_BASE)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or(BuildError::Time(time))?;
        if from.is_some() != channel.has_sender() {
            return Err(BuildError::Shape(if channel.has_sender() {
                "this channel needs a sending account; fill `from_account`"
            } else {
                "cash deposits and off-ramps have no sending account; leave `from_account` empty"
            }));
        }
        if to.is_some() != channel.has_receiver() {
            return Err(BuildError::Shape(if channel.has_receiver() {
                "this channel needs a receiving account; fill `to_account`"
            } else {
                "cash withdrawals have no receiving account; leave `to_account` empty"
            }));
        }
        if amount < 0 {
            return Err(BuildError::Shape("amounts cannot be negative"));
        }
        if self.g.ids.len() >= NONE as usize - 1 {
            return Err(BuildError::Capacity);
        }
        let p = self.intern_place(place.0, place.1, place.2);
        let g = &mut self.g;
        g.ids.push(id.0);
        g.time.push(rel);
        g.amount.push(amount);
        g.currency.push(currency as u8);
        g.channel.push(channel as u8);
        g.from.push(from.unwrap_or(NONE));
        g.to.push(to.unwrap_or(NONE));
        g.place.push(p);
        Ok(())
    }

    /// Drops every transaction past the first `len` (accounts and places
    /// stay interned; they cost little and carry no transaction).
    pub(crate) fn truncate(&mut self, len: usize) {
        let g = &mut self.g;
        g.ids.truncate(len);
        g.time.truncate(len);
        g.amount.truncate(len);
        g.currency.truncate(len);
        g.channel.truncate(len);
        g.from.truncate(len);
        g.to.truncate(len);
        g.place.truncate(len);
    }

    /// Sorts by time (stable on input order) and builds the adjacency.
    pub fn finish(self) -> Graph {
        let mut g = self.g;
        let n = g.ids.len();
        if !g.time.windows(2).all(|w| w[0] <= w[1]) {
            // Key = time in the high half, input position in the low half:
            // one u64 sort gives a stable time order.
            let mut keys: Vec<u64> = g
                .time
                .iter()
                .enumerate()
                .map(|(i, &t)| (u64::from(t) << 32) | i as u64)
                .collect();
            keys.sort_unstable();
            let perm: Vec<u32> = keys.iter().map(|k| *k as u32).collect();
            drop(keys);
            fn permute<T: Copy>(v: &mut Vec<T>, perm: &[u32]) {
                let new: Vec<T> = perm.iter().map(|&p| v[p as usize]).collect();
                *v = new;
            }
            permute(&mut g.ids, &perm);
            permute(&mut g.time, &perm);
            permute(&mut g.amount, &perm);
            permute(&mut g.currency, &perm);
            permute(&mut g.channel, &perm);
            permute(&mut g.from, &perm);
            permute(&mut g.to, &perm);
            permute(&mut g.place, &perm);
        }
        let na = g.accounts.len();
        (g.out_off, g.out_tx) = csr(&g.from, na, n);
        (g.in_off, g.in_tx) = csr(&g.to, na, n);
        g.reported = vec![false; na];
        g.ids.shrink_to_fit();
        g.time.shrink_to_fit();
        g.amount.shrink_to_fit();
        g.currency.shrink_to_fit();
        g.channel.shrink_to_fit();
        g.from.shrink_to_fit();
        g.to.shrink_to_fit();
        g.place.shrink_to_fit();
        g.account_country.shrink_to_fit();
        g.accounts.shrink_to_fit();
        g
    }
}

/// Counting sort of positions by account: positions are visited in
/// ascending order, so each account's slice comes out time-sorted.
fn csr(side: &[u32], accounts: usize, n: usize) -> (Vec<u64>, Vec<u32>) {
    let mut off = vec![0u64; accounts + 1];
    for &a in side {
        if a != NONE {
            off[a as usize + 1] += 1;
        }
    }
    for i in 0..accounts {
        off[i + 1] += off[i];
    }
    let total = off[accounts] as usize;
    let mut cursor: Vec<u64> = off[..accounts].to_vec();
    let mut adj = vec![0u32; total];
    for (t, &a) in side.iter().enumerate().take(n) {
        if a != NONE {
            let c = &mut cursor[a as usize];
            adj[*c as usize] = t as u32;
            *c += 1;
        }
    }
    (off, adj)
}
