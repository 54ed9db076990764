//! Alerts an analyst can work: the typology alerts that share a
//! transaction, or fall on one account within two weeks of each other, are
//! one incident; each incident carries a risk score and the reasons behind
//! it (the patterns, the accounts, the amounts), and incidents come out
//! ranked, riskiest first.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, TxId};
use crate::typology::{Alert, Typology};

const DAY: i64 = 86_400;
/// Alerts on one account this close in time are one incident.
const SAME_ACCOUNT_WITHIN: i64 = 14 * DAY;

/// One incident: alerts merged, scored and explained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Risk score: higher is riskier (see [`incidents`]).
    pub score: f64,
    /// The patterns seen, most telling first.
    pub kinds: Vec<Typology>,
    /// The accounts at the centre of its alerts.
    pub accounts: Vec<AccountId>,
    /// Money involved, reference minor units (US cents), counted once.
    pub value: i64,
    /// Time of the first evidence transaction.
    pub first: i64,
    /// Time of the last.
    pub last: i64,
    /// Every evidence transaction, once.
    pub evidence: Vec<TxId>,
    /// Why: one line per alert merged into it.
    pub reasons: Vec<String>,
}

/// How much a pattern alone says (0 to 3): patterns that ordinary
/// business rarely produces weigh more.
fn weight(kind: Typology) -> f64 {
    match kind {
        Typology::RoundTrip | Typology::Layering | Typology::ScatterGather => 3.0,
        Typology::Structuring | Typology::ManyToMany => 2.5,
        Typology::Funnel | Typology::PassThrough => 2.0,
        Typology::FanOut | Typology::FanIn => 1.5,
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Merges alerts into incidents and ranks them. The score adds the weight
/// of each distinct pattern (so an account showing fan-in, then layering,
/// then a cycle ranks above one showing fan-out alone), one point per
/// further account involved (up to three), and the order of magnitude of
/// the money (log10 of US dollars).
pub fn incidents(alerts: &[Alert]) -> Vec<Incident> {
    let n = alerts.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut by_tx: HashMap<TxId, usize> = HashMap::new();
    let mut by_account: HashMap<&AccountId, Vec<usize>> = HashMap::new();
    for (i, a) in alerts.iter().enumerate() {
        for id in &a.evidence {
            if let Some(&j) = by_tx.get(id) {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                parent[ri] = rj;
            } else {
                by_tx.insert(*id, i);
            }
        }
        let same = by_account.entry(&a.account).or_default();
        for &j in same.iter() {
            let b = &alerts[j];
            if a.first <= b.last + SAME_ACCOUNT_WITHIN && b.first <= a.last + SAME_ACCOUNT_WITHIN {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                parent[ri] = rj;
            }
        }
        same.push(i);
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Incident> = groups
        .into_values()
        .map(|members| incident(alerts, &members))
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.first.cmp(&b.first))
            .then(a.evidence.cmp(&b.evidence))
    });
    out
}

fn incident(alerts: &[Alert], members: &[usize]) -> Incident {
    let mut kinds: Vec<Typology> = members.iter().map(|&i| alerts[i].kind).collect();
    kinds.sort_by(|a, b| weight(*b).total_cmp(&weight(*a)).then(a.cmp(b)));
    kinds.dedup();
    let mut accounts: Vec<AccountId> = members.iter().map(|&i| alerts[i].account.clone()).collect();
    accounts.sort();
    accounts.dedup();
    let mut evidence: Vec<TxId> = members
        .iter()
        .flat_map(|&i| alerts[i].evidence.iter().copied())
        .collect();
    evidence.sort_unstable();
    evidence.dedup();
    // The money: the largest alert's, since merged alerts see the same
    // money from different sides.
    let value = members.iter().map(|&i| alerts[i].value).max().unwrap_or(0);
    let first = members.iter().map(|&i| alerts[i].first).min().unwrap_or(0);
    let last = members.iter().map(|&i| alerts[i].last).max().unwrap_or(0);
    let dollars = (value as f64 / 100.0).max(1.0);
    let score = kinds.iter().map(|&k| weight(k)).sum::<f64>()
        + (accounts.len().saturating_sub(1)).min(3) as f64
        + dollars.log10();
    let reasons = members
        .iter()
        .map(|&i| {
            let a = &alerts[i];
            format!(
                "{} at {}: {} transactions, USD {}.{:02}, over {:.1} days",
                a.kind.name(),
                a.account,
                a.evidence.len(),
                a.value / 100,
                a.value % 100,
                (a.last - a.first) as f64 / DAY as f64
            )
        })
        .collect();
    Incident {
        score: (score * 100.0).round() / 100.0,
        kinds,
        accounts,
        value,
        first,
        last,
        evidence,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: Typology, account: &str, day: i64, ev: &[u64], value: i64) -> Alert {
        Alert {
            kind,
            account: AccountId::new(account).unwrap(),
            value,
            first: day * DAY,
            last: day * DAY + 3600,
            evidence: ev.iter().map(|&i| TxId(i)).collect(),
        }
    }

    #[test]
    fn alerts_sharing_a_transaction_or_an_account_in_time_are_one_incident() {
        let a = "us:026009593:1";
        let b = "us:026009593:2";
        let c = "us:026009593:3";
        let alerts = vec![
            alert(Typology::FanIn, a, 10, &[1, 2, 3], 1_000_000),
            alert(Typology::FanOut, a, 12, &[4, 5], 900_000),
            alert(Typology::Layering, b, 13, &[5, 6], 800_000),
            alert(Typology::FanOut, a, 60, &[7, 8], 500_000),
            alert(Typology::Structuring, c, 10, &[9], 950_000),
        ];
        let inc = incidents(&alerts);
        assert_eq!(inc.len(), 3);
        // The merged one ranks first: three patterns, two accounts.
        assert_eq!(
            inc[0].kinds,
            vec![Typology::Layering, Typology::FanOut, Typology::FanIn]
        );
        assert_eq!(inc[0].accounts.len(), 2);
        assert_eq!(inc[0].evidence.len(), 6);
        assert_eq!(inc[0].reasons.len(), 3);
        assert!(inc[0].reasons[0].contains("fan_in at us:026009593:1"));
        assert!(inc.windows(2).all(|w| w[0].score >= w[1].score));
    }
}
