//! An analyst's verdicts on incidents, kept as JSON lines, and the
//! precision they show over time.
//!
//! Each verdict names an incident by its key ([`Incident::key`], a digest of
//! its evidence, stable across scans of the same ledger), says whether the
//! analyst confirmed or dismissed it, and why. Reading is all or nothing:
//! a bad line is refused with its line number.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::incident::Incident;

impl Incident {
    /// The incident's key: `inc-` and the first 16 hex digits of SHA-256
    /// over its sorted evidence transaction ids.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for id in &self.evidence {
            h.update(id.0.to_be_bytes());
        }
        let d = h.finalize();
        let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("inc-{hex}")
    }
}

/// What the analyst found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Laundering, or worth a report.
    Confirmed,
    /// Not suspicious.
    Dismissed,
}

/// One verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The incident's key.
    pub incident: String,
    /// Confirmed or dismissed.
    pub finding: Finding,
    /// Why, in the analyst's words (required).
    pub reason: String,
    /// Who decided.
    pub officer: String,
    /// When, seconds since 1970.
    pub at: i64,
}

/// A verdict refused.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    /// A line is not a verdict.
    #[error("line {line}: {why}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// Reading or writing failed.
    #[error("cannot read or write verdicts: {0}")]
    Io(#[from] std::io::Error),
}

impl Verdict {
    /// Checks what serde cannot: a key of the right form, a reason and an
    /// officer.
    pub fn check(&self) -> Result<(), String> {
        let hex = self.incident.strip_prefix("inc-").unwrap_or("");
        if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "incident `{}` is not a key such as inc-0123456789abcdef",
                self.incident
            ));
        }
        if self.reason.trim().is_empty() {
            return Err("a verdict needs a reason".into());
        }
        if self.officer.trim().is_empty() {
            return Err("a verdict needs the officer who gave it".into());
        }
        Ok(())
    }
}

/// Reads verdicts, one JSON object a line (blank lines skipped).
pub fn read<R: BufRead>(r: R) -> Result<Vec<Verdict>, VerdictError> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Verdict = serde_json::from_str(&line).map_err(|e| VerdictError::Line {
            line: i + 1,
            why: e.to_string(),
        })?;
        v.check()
            .map_err(|why| VerdictError::Line { line: i + 1, why })?;
        out.push(v);
    }
    Ok(out)
}

/// Appends one verdict as a line, after checking it.
pub fn write<W: Write>(mut w: W, v: &Verdict) -> Result<(), VerdictError> {
    v.check()
        .map_err(|why| VerdictError::Line { line: 0, why })?;
    let line = serde_json::to_string(v).map_err(|e| VerdictError::Line {
        line: 0,
        why: e.to_string(),
    })?;
    writeln!(w, "{line}")?;
    Ok(())
}

/// Precision in one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodPrecision {
    /// Start of the period, seconds since 1970.
    pub start: i64,
    /// Incidents confirmed.
    pub confirmed: usize,
    /// Incidents dismissed.
    pub dismissed: usize,
    /// confirmed / (confirmed + dismissed).
    pub precision: f64,
}

/// Precision of the alerts worked, per period of `period` seconds from the
/// first verdict. Where an incident has several verdicts the latest counts.
pub fn precision_over_time(verdicts: &[Verdict], period: i64) -> Vec<PeriodPrecision> {
    let period = period.max(1);
    let mut latest: std::collections::BTreeMap<&str, &Verdict> = Default::default();
    for v in verdicts {
        let keep = latest
            .get(v.incident.as_str())
            .is_none_or(|old| old.at <= v.at);
        if keep {
            latest.insert(&v.incident, v);
        }
    }
    let Some(t0) = latest.values().map(|v| v.at).min() else {
        return Vec::new();
    };
    let mut bins: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
    for v in latest.values() {
        let b = bins.entry((v.at - t0) / period).or_default();
        match v.finding {
            Finding::Confirmed => b.0 += 1,
            Finding::Dismissed => b.1 += 1,
        }
    }
    bins.into_iter()
        .map(|(k, (c, d))| PeriodPrecision {
            start: t0 + k * period,
            confirmed: c,
            dismissed: d,
            precision: c as f64 / (c + d).max(1) as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: i64 = 7 * 86_400;

    fn v(key: &str, finding: Finding, at: i64) -> Verdict {
        Verdict {
            incident: key.into(),
            finding,
            reason: "checked the statements".into(),
            officer: "ana".into(),
            at,
        }
    }

    #[test]
    fn verdicts_round_trip_and_precision_is_reported_per_week() {
        let k = |i: u32| format!("inc-{i:016x}");
        let all = vec![
            v(&k(1), Finding::Confirmed, 0),
            v(&k(2), Finding::Dismissed, 10),
            v(&k(3), Finding::Confirmed, WEEK + 5),
            // Reconsidered: the later verdict counts.
            v(&k(2), Finding::Confirmed, 20),
        ];
        let mut buf = Vec::new();
        for x in &all {
            write(&mut buf, x).unwrap();
        }
        let back = read(buf.as_slice()).unwrap();
        assert_eq!(back, all);
        let p = precision_over_time(&back, WEEK);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].confirmed, p[0].dismissed), (2, 0));
        assert_eq!(p[1].start, WEEK);
        assert_eq!(p[1].precision, 1.0);
    }

    #[test]
    fn malformed_or_incomplete_verdicts_are_refused_with_their_line() {
        let good = r#"{"incident":"inc-00000000000000ab","finding":"dismissed","reason":"payroll","officer":"ana","at":1}"#;
        let cases = [
            (format!("{good}\nnot json"), "line 2"),
            (good.replace("payroll", " "), "needs a reason"),
            (good.replace("inc-00000000000000ab", "inc-xyz"), "not a key"),
            (good.replace("dismissed", "maybe"), "line 1"),
            (
                good.replace("\"at\":1", "\"at\":1,\"extra\":2"),
                "unknown field",
            ),
        ];
        for (text, want) in cases {
            let err = read(text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{err} (wanted {want})");
        }
        let mut bad = v("inc-0000000000000001", Finding::Confirmed, 0);
        bad.officer = String::new();
        assert!(write(Vec::new(), &bad).is_err());
    }

    #[test]
    fn an_incident_key_follows_its_evidence() {
        use crate::model::{AccountId, TxId};
        use crate::typology::{Alert, Typology};
        let alert = |ev: Vec<u64>| Alert {
            kind: Typology::FanOut,
            account: AccountId::new("us:026009593:1").unwrap(),
            value: 1,
            first: 0,
            last: 0,
            evidence: ev.into_iter().map(TxId).collect(),
        };
        let a = crate::incident::incidents(&[alert(vec![1, 2])]);
        let b = crate::incident::incidents(&[alert(vec![1, 2])]);
        let c = crate::incident::incidents(&[alert(vec![1, 3])]);
        assert_eq!(a[0].key(), b[0].key());
        assert_ne!(a[0].key(), c[0].key());
        assert!(a[0].key().starts_with("inc-") && a[0].key().len() == 20);
    }
}
