//! The operator's endpoint: health, readiness and metrics.
//!
//! Served on its own address (`operator_listen` in `node.toml`), apart from
//! the partner port: partners never see it, and a monitoring system needs
//! no client certificate. It should listen on loopback or an operations
//! network only. It answers three paths:
//!
//! - `GET /healthz`: 200 while the process serves.
//! - `GET /readyz`: 200 when the store answers a read, else 503 naming why.
//! - `GET /metrics`: the figures below in the Prometheus text format
//!   (version 0.0.4), read from the store in one consistent read.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use soberana_core::Timestamp;
use soberana_store::{CommitLatency, Operations};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::{Node, NodeError, witness_name};

/// The operator endpoint while it serves; [`OperatorEndpoint::stop`] ends it.
#[derive(Debug)]
pub struct OperatorEndpoint {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl OperatorEndpoint {
    /// Stops serving.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The operator routes, without a socket (for tests).
pub fn operator_router(node: Node) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(node)
}

async fn ready(State(node): State<Node>) -> Response {
    let findings = node.log_findings();
    if !findings.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", findings.join("; ")),
        )
            .into_response();
    }
    let store = node.store().clone();
    match tokio::task::spawn_blocking(move || store.log_size()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the store does not answer: {e}\n"),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
    }
}

async fn metrics(State(node): State<Node>) -> Response {
    let reading = node.clone();
    let read = tokio::task::spawn_blocking(move || {
        reading
            .store()
            .operations(Timestamp::now())
            .map(|ops| (ops, reading.store().commit_latency()))
    })
    .await;
    match read {
        Ok(Ok((ops, latency))) => {
            let partners: Vec<String> = node.peers().iter().map(|c| c.party.to_string()).collect();
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render(&ops, &latency, &partners) + &render_node(&node),
            )
                .into_response()
        }
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store does not answer: {e}\n"),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// A label value in the text format: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A per-partner series: name, type, help, and how to read its value.
type PartnerSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&soberana_store::PartnerOutbox) -> u64,
);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders the figures in the Prometheus text format. Every partner pinned
/// gets its series, at zero when nothing happened yet, so that alerts on
/// absence are not needed.
pub fn render(ops: &Operations, latency: &CommitLatency, partners: &[String]) -> String {
    let mut out = String::new();
    let outbox = |party: &str| ops.outbox.get(party).cloned().unwrap_or_default();
    let mut all: Vec<String> = partners.to_vec();
    for party in ops.outbox.keys() {
        if !all.contains(party) {
            all.push(party.clone());
        }
    }
    all.sort();

    family(&mut out, "soberana_up", "gauge", "1 while the node serves.");
    out.push_str("soberana_up 1\n");

    let per_partner: [PartnerSeries; 4] = [
        (
            "soberana_outbox_queued",
            "gauge",
            "Envelopes waiting for delivery to a partner.",
            |o| o.queued,
        ),
        (
            "soberana_outbox_oldest_seconds",
            "gauge",
            "Age of the oldest envelope waiting for a partner.",
            |o| o.oldest_secs,
        ),
        (
            "soberana_deliveries_total",
            "counter",
            "Envelopes a partner has taken.",
            |o| o.delivered,
        ),
        (
            "soberana_delivery_failures_total",
            "counter",
            "Delivery attempts that failed and were retried.",
            |o| o.failed_attempts,
        ),
    ];
    for (name, kind, help, value) in per_partner {
        family(&mut out, name, kind, help);
        for party in &all {
            let _ = writeln!(
                out,
                "{name}{{partner=\"{}\"}} {}",
                label(party),
                value(&outbox(party))
            );
        }
    }

    family(
        &mut out,
        "soberana_intake_refusals_total",
        "counter",
        "Envelopes refused at intake, by refusal code.",
    );
    for (code, n) in &ops.refusals {
        let _ = writeln!(
            out,
            "soberana_intake_refusals_total{{code=\"{}\"}} {n}",
            label(code)
        );
    }

    family(
        &mut out,
        "soberana_proposals_overdue",
        "gauge",
        "Proposals past their deadline: incoming awaiting us, outgoing awaiting the partner.",
    );
    let _ = writeln!(
        out,
        "soberana_proposals_overdue{{direction=\"incoming\"}} {}",
        ops.overdue_incoming
    );
    let _ = writeln!(
        out,
        "soberana_proposals_overdue{{direction=\"outgoing\"}} {}",
        ops.overdue_outgoing
    );

    family(
        &mut out,
        "soberana_log_size",
        "gauge",
        "Entries in the node's log.",
    );
    let _ = writeln!(out, "soberana_log_size {}", ops.log_size);
    family(
        &mut out,
        "soberana_checkpoint_size",
        "gauge",
        "Size of the latest signed checkpoint of the log.",
    );
    let _ = writeln!(out, "soberana_checkpoint_size {}", ops.checkpoint_size);
    if let Some(age) = ops.checkpoint_age_secs {
        family(
            &mut out,
            "soberana_checkpoint_age_seconds",
            "gauge",
            "Seconds since the latest checkpoint was signed.",
        );
        let _ = writeln!(out, "soberana_checkpoint_age_seconds {age}");
    }
    family(
        &mut out,
        "soberana_cosignature_lag_entries",
        "gauge",
        "Entries of the latest checkpoint a partner has not cosigned yet.",
    );
    for party in partners {
        let cosigned = soberana_core::PartyCode::new(party)
            .ok()
            .and_then(|p| ops.cosigned_size.get(&witness_name(p)).copied())
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "soberana_cosignature_lag_entries{{partner=\"{}\"}} {}",
            label(party),
            ops.checkpoint_size.saturating_sub(cosigned)
        );
    }

    family(
        &mut out,
        "soberana_store_commit_seconds",
        "histogram",
        "Time a change waited until it was durable.",
    );
    for (bound_ms, n) in &latency.cumulative {
        let _ = writeln!(
            out,
            "soberana_store_commit_seconds_bucket{{le=\"{}\"}} {n}",
            *bound_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(
        out,
        "soberana_store_commit_seconds_bucket{{le=\"+Inf\"}} {}",
        latency.count
    );
    let _ = writeln!(
        out,
        "soberana_store_commit_seconds_sum {}",
        latency.sum_seconds
    );
    let _ = writeln!(out, "soberana_store_commit_seconds_count {}", latency.count);
    out
}

impl Node {
    /// Serves the operator endpoint on `addr` until stopped.
    pub async fn serve_operator(&self, addr: SocketAddr) -> Result<OperatorEndpoint, NodeError> {
        let listener = TcpListener::bind(addr).await.map_err(|e| NodeError::Bind {
            addr: addr.to_string(),
            detail: e.to_string(),
            config: self.dir().config(),
        })?;
        let local = listener
            .local_addr()
            .map_err(NodeError::io(self.dir().config()))?;
        let (shutdown, mut stop) = watch::channel(false);
        let app = operator_router(self.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        tracing::info!(%local, "operator endpoint listening");
        Ok(OperatorEndpoint {
            addr: local,
            shutdown,
            task,
        })
    }
}

/// The figures that come from the node rather than the store: the signing
/// key's age, the TLS certificate's time left and whether a rotation is due, and whether the log is behind
/// what a partner cosigned.
fn render_node(node: &Node) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "soberana_signing_key_age_seconds",
        "gauge",
        "Age of the signing key in use.",
    );
    let _ = writeln!(
        out,
        "soberana_signing_key_age_seconds {}",
        node.key_age_secs()
    );
    if let Some(left) = node.tls_expiry_secs() {
        family(
            &mut out,
            "soberana_tls_cert_expiry_seconds",
            "gauge",
            "Seconds until the TLS certificate in use expires (its notAfter; negative once past).",
        );
        let _ = writeln!(out, "soberana_tls_cert_expiry_seconds {left}");
    }
    family(
        &mut out,
        "soberana_key_rotation_due",
        "gauge",
        "1 when a key needs the operator: the TLS certificate within 30 days of its notAfter, the signing key near its age limit, or a rotation not taken before its overlap ends.",
    );
    let due = u8::from(!node.key_warnings().is_empty());
    let _ = writeln!(out, "soberana_key_rotation_due {due}");
    family(
        &mut out,
        "soberana_log_behind_partner",
        "gauge",
        "Partners whose cosigned checkpoint our log is behind or diverges from (see /readyz).",
    );
    let _ = writeln!(
        out,
        "soberana_log_behind_partner {}",
        node.log_findings().len()
    );
    out
}
