//! Money-laundering alerts an analyst works, and the verdicts they give.
//!
//! [`Node::alert_review`] scans the node's own ledger (the files
//! `finance/ledger.json` names, under the party's `finance/typology.json`)
//! and merges the alerts into incidents ranked by risk score, each with the
//! reasons behind it and the latest verdict stored on it, beside the
//! precision of the worked incidents week by week. The command line
//! (`soberana finance alerts`) and the desk's alerts page both call it.
//!
//! [`Node::record_alert_verdict`] is an officer's act like a decision: the
//! officer must be registered, enabled and hold the `analyst` or `approver`
//! role; the verdict needs a reason and must name an incident the current
//! scan finds; the verdict and its audit line are written in one
//! transaction of the node's store ([`soberana_store::AlertVerdictStore`]).
//! Verdicts are kept, never changed: the latest on an incident counts.

use std::path::Path;

use soberana_core::{OfficerId, Role, Timestamp};
use soberana_finance::incident::{Incident, incidents};
use soberana_finance::verdict::{Finding, PeriodPrecision, Verdict, precision_over_time};
use soberana_store::{AlertVerdictRecord, AuditEntry};

use crate::finance::ledger::{load_graph, typology_config};
use crate::officers::is_disabled;
use crate::{Node, NodeError};

/// Precision is reported over periods of this many seconds (a week).
pub const PRECISION_PERIOD_SECS: i64 = 7 * 86_400;

/// The longest reason a verdict takes, in bytes.
pub const MAX_VERDICT_REASON: usize = 4 * 1024;

/// One incident as the analyst sees it.
#[derive(Debug, Clone)]
pub struct RankedIncident {
    /// Its key (stable across scans of the same ledger).
    pub key: String,
    /// The incident: score, patterns, accounts, money, reasons.
    pub incident: Incident,
    /// The latest verdict on it, if any.
    pub verdict: Option<Verdict>,
}

/// The alerts of the node's ledger, ranked, with the verdicts given.
#[derive(Debug, Clone)]
pub struct AlertReview {
    /// Transactions scanned.
    pub transactions: usize,
    /// Alerts raised (before merging into incidents).
    pub alerts: usize,
    /// Incidents, riskiest first.
    pub incidents: Vec<RankedIncident>,
    /// Precision of the worked incidents, week by week.
    pub precision: Vec<PeriodPrecision>,
    /// Every verdict stored, oldest first.
    pub verdicts: Vec<Verdict>,
}

fn verdict_of(r: AlertVerdictRecord) -> Verdict {
    Verdict {
        incident: r.incident,
        finding: if r.confirmed {
            Finding::Confirmed
        } else {
            Finding::Dismissed
        },
        reason: r.reason,
        officer: r.officer,
        at: r.at.unix_millis().div_euclid(1000),
    }
}

/// The latest verdict on `key` among `verdicts` (oldest first).
fn latest<'a>(verdicts: &'a [Verdict], key: &str) -> Option<&'a Verdict> {
    verdicts.iter().rev().find(|v| v.incident == key)
}

impl Node {
    /// Every verdict on an alert stored on this node, oldest first.
    pub fn alert_verdicts(&self) -> Result<Vec<Verdict>, NodeError> {
        Ok(self
            .store()
            .alert_verdicts()?
            .into_iter()
            .map(verdict_of)
            .collect())
    }

    /// Precision of the worked incidents, week by week, from the stored
    /// verdicts (the latest verdict on each incident counts).
    pub fn alert_precision(&self) -> Result<Vec<PeriodPrecision>, NodeError> {
        Ok(precision_over_time(
            &self.alert_verdicts()?,
            PRECISION_PERIOD_SECS,
        ))
    }

    /// Scans the node's ledger and ranks its incidents, with the verdicts
    /// given. `config` replaces the party's `finance/typology.json`.
    pub fn alert_review(&self, config: Option<&Path>) -> Result<AlertReview, NodeError> {
        let root = self.dir().root();
        let cfg = typology_config(root, config)?;
        let graph = load_graph(root)?;
        let alerts = soberana_finance::scan(&graph, &cfg);
        let verdicts = self.alert_verdicts()?;
        let ranked = incidents(&alerts)
            .into_iter()
            .map(|incident| {
                let key = incident.key();
                let verdict = latest(&verdicts, &key).cloned();
                RankedIncident {
                    key,
                    incident,
                    verdict,
                }
            })
            .collect();
        Ok(AlertReview {
            transactions: graph.len(),
            alerts: alerts.len(),
            incidents: ranked,
            precision: precision_over_time(&verdicts, PRECISION_PERIOD_SECS),
            verdicts,
        })
    }

    /// An officer's verdict on an incident of the node's current alerts,
    /// stored with its audit line. Refused, with nothing written, when the
    /// officer may not give one, the reason is missing or too long, or no
    /// incident of the current scan has that key.
    pub fn record_alert_verdict(
        &self,
        officer: &OfficerId,
        incident: &str,
        finding: Finding,
        reason: &str,
    ) -> Result<Verdict, NodeError> {
        let account = self
            .store()
            .officer(officer)?
            .ok_or_else(|| NodeError::UnknownOfficer(officer.to_string()))?;
        if is_disabled(&account) {
            return Err(NodeError::DisabledOfficer(officer.to_string()));
        }
        if !account.officer.has_role(Role::Analyst) && !account.officer.has_role(Role::Approver) {
            return Err(NodeError::MissingRole {
                officer: officer.to_string(),
                role: Role::Analyst.as_str(),
            });
        }
        let reason = reason.trim();
        if reason.len() > MAX_VERDICT_REASON {
            return Err(NodeError::BadDecision(format!(
                "the reason is over {MAX_VERDICT_REASON} bytes; shorten it"
            )));
        }
        let at = Timestamp::now();
        let verdict = Verdict {
            incident: incident.trim().to_owned(),
            finding,
            reason: reason.to_owned(),
            officer: officer.to_string(),
            at: at.unix_millis().div_euclid(1000),
        };
        verdict.check().map_err(NodeError::BadDecision)?;
        let review = self.alert_review(None)?;
        if !review.incidents.iter().any(|i| i.key == verdict.incident) {
            return Err(NodeError::BadDecision(format!(
                "no incident `{}` among this node's current alerts; list them with `soberana finance alerts --incidents`",
                verdict.incident
            )));
        }
        let word = match finding {
            Finding::Confirmed => "confirmed",
            Finding::Dismissed => "dismissed",
        };
        self.store().put_alert_verdict(
            AlertVerdictRecord {
                incident: verdict.incident.clone(),
                confirmed: finding == Finding::Confirmed,
                reason: verdict.reason.clone(),
                officer: verdict.officer.clone(),
                at,
            },
            AuditEntry {
                at,
                officer: verdict.officer.clone(),
                action: "alert_verdict".into(),
                target: verdict.incident.clone(),
                detail: format!("{word}: {}", verdict.reason),
            },
        )?;
        Ok(verdict)
    }
}
