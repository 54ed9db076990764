//! The two rules a financial-intelligence analyst would write in SQL on the
//! first day, kept as a yardstick for the typology detectors:
//!
//! 1. **Cash just under the line**: cash deposits into one account, each
//!    between 60 % and 100 % of the reporting threshold of the country where
//!    it was paid in (USD 10,000 in the US; the peso equivalent of USD 7,500
//!    in Mexico), two or more adding up past the threshold within 7 days.
//! 2. **Weekly counterparty spike**: an account that, in one calendar week,
//!    pays (or is paid by) at least 5 distinct counterparties and at least
//!    three times as many as in its average earlier week.

use std::collections::HashSet;

use crate::graph::{Graph, NONE};
use crate::model::{Channel, Country, TxId};

const DAY: i64 = 86_400;

/// One baseline alert.
#[derive(Clone, Debug)]
pub struct BaselineAlert {
    /// Which rule: `cash_under_line` or `counterparty_spike`.
    pub rule: &'static str,
    /// The account's graph index.
    pub account: u32,
    /// The transactions that show it.
    pub evidence: Vec<TxId>,
}

/// Reporting line for cash paid in, US cents, by the country of the branch.
fn line(country: Country) -> i64 {
    if country == Country::MX {
        750_000
    } else {
        1_000_000
    }
}

/// Runs both rules over every account.
pub fn scan(g: &Graph) -> Vec<BaselineAlert> {
    let mut out = Vec::new();
    let Some(t0) = (!g.is_empty()).then(|| g.time(0)) else {
        return out;
    };
    let week = |t: u32| (g.time(t) - t0) / (7 * DAY);
    for a in 0..g.account_count() as u32 {
        // Rule 1.
        let near: Vec<u32> = g
            .incoming(a)
            .iter()
            .copied()
            .filter(|&t| {
                g.channel(t) == Channel::CashDeposit && {
                    let l = line(g.place(t).country);
                    let v = g.value(t);
                    v >= l * 6 / 10 && v < l
                }
            })
            .collect();
        let mut lo = 0;
        let mut sum = 0i64;
        let mut last_alert_end = 0usize;
        for hi in 0..near.len() {
            sum += g.value(near[hi]);
            while g.time(near[hi]) - g.time(near[lo]) > 7 * DAY {
                sum -= g.value(near[lo]);
                lo += 1;
            }
            let l = line(g.place(near[hi]).country);
            if hi > lo && sum > l && lo >= last_alert_end {
                out.push(BaselineAlert {
                    rule: "cash_under_line",
                    account: a,
                    evidence: near[lo..=hi].iter().map(|&t| g.tx_id(t)).collect(),
                });
                last_alert_end = hi + 1;
            }
        }
        // Rule 2, each direction.
        for side in [g.outgoing(a), g.incoming(a)] {
            let mut total = 0usize;
            let mut i = 0;
            let first_week = side.first().map(|&t| week(t)).unwrap_or(0);
            while i < side.len() {
                let w = week(side[i]);
                let mut j = i;
                let mut parties = HashSet::new();
                while j < side.len() && week(side[j]) == w {
                    let other = if g.from(side[j]) == a {
                        g.to(side[j])
                    } else {
                        g.from(side[j])
                    };
                    if other != NONE {
                        parties.insert(other);
                    }
                    j += 1;
                }
                let elapsed = (w - first_week).max(0);
                let mean = if elapsed == 0 {
                    0.0
                } else {
                    total as f64 / elapsed as f64
                };
                if parties.len() >= 5 && parties.len() as f64 >= 3.0 * mean {
                    out.push(BaselineAlert {
                        rule: "counterparty_spike",
                        account: a,
                        evidence: side[i..j].iter().map(|&t| g.tx_id(t)).collect(),
                    });
                }
                total += parties.len();
                i = j;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphBuilder;
    use crate::model::{AccountId, Currency};

    fn acct(n: u32) -> AccountId {
        AccountId::new(&format!("us:026009593:{n}")).unwrap()
    }

    #[test]
    fn cash_under_the_line_within_a_week_is_flagged_and_spread_out_is_not() {
        let mut b = GraphBuilder::new();
        let a = b.intern_account(&acct(1)).unwrap();
        let c = b.intern_account(&acct(2)).unwrap();
        let t0 = 1_750_000_000;
        let mut id = 0;
        let mut cash = |b: &mut GraphBuilder, to: u32, t: i64, cents: i64| {
            id += 1;
            b.push_indexed(
                TxId(id),
                t,
                cents,
                Currency::Usd,
                Channel::CashDeposit,
                None,
                Some(to),
                (Country::US, Some("US-X-01"), false),
            )
            .unwrap();
        };
        cash(&mut b, a, t0, 900_000);
        cash(&mut b, a, t0 + 2 * DAY, 850_000);
        cash(&mut b, c, t0, 900_000);
        cash(&mut b, c, t0 + 20 * DAY, 900_000);
        let g = b.finish();
        let alerts = scan(&g);
        let cash: Vec<_> = alerts
            .iter()
            .filter(|x| x.rule == "cash_under_line")
            .collect();
        assert_eq!(cash.len(), 1);
        assert_eq!(cash[0].account, a);
        assert_eq!(cash[0].evidence.len(), 2);
    }
}
