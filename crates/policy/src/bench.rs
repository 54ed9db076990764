//! `soberana bench policy`: decisions per second and latency of soberana's
//! decision path, beside raw Cedar `is_authorized` on the same prebuilt
//! requests, with the shipped policies and with a large operational layer.
//!
//! Run it from a release build; figures from a debug build mean nothing.

use std::fmt;
use std::time::Instant;

use serde::Serialize;
use soberana_core::{
    AgencyId, CoordinatedOperation, Domain, HandlingCode, InformationRequest, Location, PartyCode,
    PartyFile, Proposal, ProposalBody, ProposalId, Registry, Task, TaskAction, Territory,
    Timestamp,
};

use crate::{PolicyEngine, PolicyError, PolicyFile, pin, shipped_constitutional};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    /// Decisions timed per scenario with the shipped policies (a tenth as
    /// many with the large operational layer, whose decisions are slower).
    pub iterations: usize,
    /// Operational policies in the large scenario (besides the shipped ones).
    pub large_operational: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            iterations: 10_000,
            large_operational: 1_000,
        }
    }
}

/// The figures of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// What was decided, with which policies.
    pub name: String,
    /// Decisions timed.
    pub iterations: usize,
    /// Policies in the set.
    pub policies: usize,
    /// Cedar requests per decision (one per task, one for the proposal).
    pub requests_per_decision: usize,
    /// soberana's decision path (build requests, authorise, map): per second.
    pub decisions_per_second: f64,
    /// Its median latency, microseconds.
    pub p50_us: f64,
    /// Its 99th-percentile latency, microseconds.
    pub p99_us: f64,
    /// Raw Cedar `is_authorized` on the same prebuilt requests, each against
    /// the whole policy set: per second.
    pub raw_per_second: f64,
    /// Raw median latency, microseconds.
    pub raw_p50_us: f64,
    /// Raw 99th-percentile latency, microseconds.
    pub raw_p99_us: f64,
    /// soberana's median over raw Cedar's (the goal is below 2).
    pub ratio_p50: f64,
    /// Raw Cedar on the same prebuilt requests, given only the policies
    /// soberana gives it (those whose scope can match): median, microseconds.
    pub same_policies_p50_us: f64,
    /// soberana's median over that: the cost of building the requests from
    /// a proposal and mapping the answer.
    pub overhead_p50: f64,
    /// Resolving every place of the proposal with the node's geography
    /// (already inside `p50_us`): median, microseconds.
    pub resolve_p50_us: f64,
}

/// The benchmark's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Decisions timed per scenario with the shipped policies.
    pub iterations: usize,
    /// Whether the code was built with optimisations.
    pub optimised: bool,
    /// Each scenario.
    pub scenarios: Vec<ScenarioReport>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "policy decisions, {} per scenario{}",
            self.iterations,
            if self.optimised {
                ""
            } else {
                " (DEBUG BUILD: figures are not meaningful)"
            }
        )?;
        writeln!(
            f,
            "{:<50} {:>8} {:>4} {:>11} {:>9} {:>9} {:>11} {:>9} {:>9} {:>6} {:>9} {:>6} {:>9}",
            "scenario",
            "policies",
            "req",
            "decisions/s",
            "p50 µs",
            "p99 µs",
            "raw/s",
            "raw p50",
            "raw p99",
            "ratio",
            "same p50",
            "ovh",
            "place p50"
        )?;
        for s in &self.scenarios {
            writeln!(
                f,
                "{:<50} {:>8} {:>4} {:>11.0} {:>9.1} {:>9.1} {:>11.0} {:>9.1} {:>9.1} {:>6.2} {:>9.1} {:>6.2} {:>9.1}",
                s.name,
                s.policies,
                s.requests_per_decision,
                s.decisions_per_second,
                s.p50_us,
                s.p99_us,
                s.raw_per_second,
                s.raw_p50_us,
                s.raw_p99_us,
                s.ratio_p50,
                s.same_policies_p50_us,
                s.overhead_p50,
                s.resolve_p50_us
            )?;
        }
        writeln!(
            f,
            "raw = Cedar is_authorized on the same prebuilt requests against the whole set; ratio = p50 / raw p50 (goal < 2)"
        )?;
        write!(
            f,
            "same = Cedar on those requests with only the policies soberana evaluates; ovh = p50 / same p50 (request building and mapping)\n\
             place = resolving the proposal's places with the node's geography, part of p50"
        )
    }
}

/// A bench failure: the shipped policies or generated ones did not load.
#[derive(Debug, thiserror::Error)]
#[error("benchmark policies did not load: {0}")]
pub struct BenchError(#[from] PolicyError);

const MX_PARTY: &str = include_str!("../../../parties/MX.toml");
const US_PARTY: &str = include_str!("../../../parties/US.toml");

fn party_code(code: &str) -> Result<PartyCode, PolicyError> {
    PartyCode::new(code).map_err(|e| PolicyError::Registry(e.to_string()))
}

/// The registry of the shipped party files (MX and US).
pub fn shipped_registry() -> Result<Registry, PolicyError> {
    let mut files = Vec::new();
    for text in [MX_PARTY, US_PARTY] {
        let file: PartyFile =
            toml::from_str(text).map_err(|e| PolicyError::Registry(e.to_string()))?;
        files.push(file);
    }
    Registry::new(files).map_err(|e| PolicyError::Registry(e.to_string()))
}

fn sample_proposals() -> Result<Vec<(&'static str, Proposal)>, PolicyError> {
    let bad = |e: soberana_core::DomainError| PolicyError::Registry(e.to_string());
    let us = party_code("US")?;
    let mx = party_code("MX")?;
    let now = Timestamp::now();
    let base = |body: ProposalBody| -> Result<Proposal, PolicyError> {
        Ok(Proposal {
            id: ProposalId::generate(),
            from: us,
            to: mx,
            created: now,
            author: None,
            requesting_agency: AgencyId::new("US.DEA").map_err(bad)?,
            purpose: "dismantle a fentanyl supply network".into(),
            legal_basis: "Bicentennial Framework; mutual legal assistance treaty".into(),
            handling: HandlingCode::H1,
            deadline: now,
            related_to: Vec::new(),
            body,
        })
    };
    let info = base(ProposalBody::InformationRequest(InformationRequest {
        subject: "a shipping company in Manzanillo".into(),
        categories: vec!["criminal_records".into(), "vehicles".into()],
        questions: vec!["who owns it".into()],
        exhibits: Vec::new(),
    }))?;
    let place = |territory: Territory, domain| Location {
        territory: Some(territory),
        domain,
        place: String::new(),
        // Coordinates, so that every decision pays for resolving them: a
        // point on land (point in polygon) and one at sea (distance to the
        // nearest coasts).
        at: Some(match territory {
            Territory::Of(p) if p == mx => "29.07,-110.96".to_owned(),
            _ => "29.15,-94.75".to_owned(),
        }),
    };
    let task = |agency: &str, action, territory| -> Result<Task, PolicyError> {
        Ok(Task {
            agency: AgencyId::new(agency).map_err(bad)?,
            action,
            locations: vec![place(territory, Domain::Land)],
            launched_from: None,
            armed: false,
            kinetic: false,
            personnel: 10,
            under_command_of: None,
            description: String::new(),
            participants: Vec::new(),
        })
    };
    let operation = base(ProposalBody::CoordinatedOperation(CoordinatedOperation {
        name: "mirror patrols".into(),
        summary: "each side patrols its own side".into(),
        tasks: vec![
            task("MX.GN", TaskAction::Patrol, Territory::Of(mx))?,
            task("US.CBP", TaskAction::Patrol, Territory::Of(us))?,
        ],
    }))?;
    Ok(vec![
        ("information request", info),
        ("coordinated operation, 2 tasks", operation),
    ])
}

/// The shipped operational layer plus `count` generated permits that
/// validate but never match the samples. Each is scoped to one kind of
/// proposal, in turn, as an operator's rules are; every tenth applies to the
/// whole `proposal` group, and so is evaluated on every proposal.
pub fn generated_operational(count: usize) -> String {
    let mut text = String::from_utf8_lossy(crate::shipped_operational().bytes()).into_owned();
    let kinds = soberana_core::ProposalKind::ALL;
    for i in 0..count {
        let scope = if i % 10 == 9 {
            "action in Soberana::Action::\"proposal\"".to_owned()
        } else {
            let kind = kinds
                .get(i % kinds.len())
                .map_or("proposal", |k| k.as_str());
            format!("action == Soberana::Action::\"{kind}\"")
        };
        text.push_str(&format!(
            "@id(\"gen.{i}\")\n@decision(\"review\")\n@reason(\"generated rule {i}\")\npermit (principal, {scope}, resource)\nwhen {{ context.purpose == \"generated purpose {i}\" && context.complete }};\n"
        ));
    }
    text
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(rank).copied().unwrap_or(0.0)
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> (f64, f64, f64) {
    // A short warm-up so caches and allocators settle.
    for _ in 0..iterations.min(1_000) / 10 {
        f();
    }
    let mut samples = Vec::with_capacity(iterations);
    let start = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let total = start.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    let per_second = if total > 0.0 {
        iterations as f64 / total
    } else {
        0.0
    };
    (
        per_second,
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
    )
}

/// Runs the benchmark.
pub fn run(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    let mx = party_code("MX")?;
    let registry = shipped_registry()?;
    let constitutional =
        shipped_constitutional(mx).ok_or(PolicyError::ConstitutionalMissing { party: mx })?;
    let pinned = pin(constitutional.bytes());
    let layers = [
        (
            "shipped policies".to_owned(),
            crate::shipped_operational(),
            options.iterations,
        ),
        (
            format!("+{} operational", options.large_operational),
            PolicyFile::new(
                "generated.cedar",
                generated_operational(options.large_operational),
            ),
            (options.iterations / 10).max(10),
        ),
    ];
    let samples = sample_proposals()?;
    let mut scenarios = Vec::new();
    for (layer_name, operational, iterations) in &layers {
        let iterations = *iterations;
        let engine =
            PolicyEngine::load(mx, &registry, Some(&constitutional), &pinned, operational)?;
        let policies = engine.policies().count();

        for (sample_name, proposal) in &samples {
            let prepared = engine.prepare(proposal, &[], false);
            let requests = prepared.tasks.len() + usize::from(prepared.proposal.is_some());
            let (per_second, p50, p99) = time(iterations, || {
                std::hint::black_box(engine.decide(std::hint::black_box(proposal), &[]));
            });
            let authorizer = cedar_policy::Authorizer::new();
            let (raw_per_second, raw_p50, raw_p99) = time(iterations, || {
                for (request, _) in &prepared.tasks {
                    std::hint::black_box(authorizer.is_authorized(
                        request,
                        engine.policy_set(),
                        &prepared.entities,
                    ));
                }
                // The whole set, as Cedar alone would be asked; soberana
                // gives it only the policies whose scope can match.
                if let Some(request) = &prepared.proposal {
                    std::hint::black_box(authorizer.is_authorized(
                        request,
                        engine.policy_set(),
                        &prepared.entities,
                    ));
                }
            });
            let (_, same_p50, _) = time(iterations, || {
                for (request, _) in &prepared.tasks {
                    std::hint::black_box(authorizer.is_authorized(
                        request,
                        engine.forbid_set(),
                        &prepared.entities,
                    ));
                }
                if let Some(request) = &prepared.proposal {
                    std::hint::black_box(authorizer.is_authorized(
                        request,
                        engine.kind_set(&prepared),
                        &prepared.entities,
                    ));
                }
            });
            let places: Vec<_> = proposal.body.locations();
            let (_, resolve_p50, _) = time(iterations, || {
                for (field, location) in &places {
                    std::hint::black_box(engine.geography().resolve(field, location).ok());
                }
            });
            scenarios.push(ScenarioReport {
                name: format!("{sample_name}, {layer_name}"),
                iterations,
                policies,
                requests_per_decision: requests,
                decisions_per_second: per_second,
                p50_us: p50,
                p99_us: p99,
                raw_per_second,
                raw_p50_us: raw_p50,
                raw_p99_us: raw_p99,
                ratio_p50: if raw_p50 > 0.0 { p50 / raw_p50 } else { 0.0 },
                same_policies_p50_us: same_p50,
                overhead_p50: if same_p50 > 0.0 { p50 / same_p50 } else { 0.0 },
                resolve_p50_us: resolve_p50,
            });
        }
    }
    Ok(BenchReport {
        iterations: options.iterations,
        optimised: !cfg!(debug_assertions),
        scenarios,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_run_reports_every_scenario() {
        let report = run(&BenchOptions {
            iterations: 20,
            large_operational: 20,
        })
        .unwrap();
        assert_eq!(report.scenarios.len(), 4);
        assert!(
            report
                .scenarios
                .iter()
                .all(|s| s.decisions_per_second > 0.0)
        );
        assert_eq!(report.scenarios[1].requests_per_decision, 3);
        assert!(report.to_string().contains("information request"));
    }

    #[test]
    fn shipped_party_files_load() {
        let registry = shipped_registry().unwrap();
        let gn = AgencyId::new("MX.GN").unwrap();
        assert_eq!(
            registry.kind_of(&gn),
            Some(soberana_core::AgencyKind::Military)
        );
        assert_eq!(registry.agencies().count(), 22);
    }
}
