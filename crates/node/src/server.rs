//! The node's listener: HTTPS with mutual TLS, and a small versioned API.
//!
//! `POST /v1/envelopes` takes one envelope; `POST /v1/envelopes/batch`
//! takes several, each verified and judged on its own with one result each
//! and stored together (see `soberana_wire::decode_batch` and
//! [`Node::intake_batch`]); `GET /v1/health` says who this node
//! is. The connection's client certificate fingerprint travels with
//! each request, so intake can check that the TLS identity and the envelope's
//! signer are the same partner.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Extension, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::node::Node;
use crate::{NodeError, tls};

/// The fingerprint of the connection's client certificate.
#[derive(Debug, Clone, Copy)]
pub struct PeerCertificate(pub Option<[u8; 32]>);

/// The partner-facing API, without a socket (tests call it directly).
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/envelopes", post(envelope))
        .route("/v1/envelopes/batch", post(batch))
        .route("/v1/receipts/{envelope}", get(receipt))
        .route("/v1/witness/latest", get(witnessed))
        .route("/v1/exchanged", get(exchanged))
        .route("/v1/policy/constitutional", get(crate::constitution::serve))
        .route(
            "/v1/cases/{case}/exhibits/{exhibit}",
            get(crate::case::serve_exhibit),
        )
        .route(
            "/v1/cases/{case}/proofs",
            get(crate::case::serve_case_proofs),
        )
        .with_state(node)
}

async fn health(State(node): State<Node>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "party": node.party().to_string(),
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

fn refusal(status: u16, code: &str, reason: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(serde_json::json!({ "error": reason, "code": code })),
    )
        .into_response()
}

/// Why a request's body was not read.
enum BodyRefused {
    /// Declared or found larger than the limit.
    OverLimit,
    /// Not whole within the body timeout.
    Late,
}

/// Reads a request's body of at most `limit` bytes within `timeout`: a
/// body declared larger (`content-length`) is refused before any of it is
/// read; otherwise one byte past the limit is read, so an oversized body is
/// recognised without reading all of it, and a trickled body cannot hold
/// the connection past the timeout.
async fn read_body(
    request: Request,
    limit: usize,
    timeout: Duration,
) -> Result<hyper::body::Bytes, BodyRefused> {
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyRefused::OverLimit);
    }
    let limited = http_body_util::Limited::new(request.into_body(), limit + 1);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(BodyRefused::OverLimit),
        Err(_) => Err(BodyRefused::Late),
    }
}

async fn envelope(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
    request: Request,
) -> Response {
    let limit = node.config().max_envelope_bytes;
    let body_timeout = Duration::from_millis(node.config().limits.body_timeout_ms);
    // An oversized envelope is refused by intake, which records it.
    let bytes = match read_body(request, limit, body_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyRefused::OverLimit) => {
            let reason = format!("envelope is over the limit of {limit} bytes");
            let refused = node.clone();
            let _ = tokio::task::spawn_blocking(move || {
                refused.intake(&vec![0u8; limit + 1], None).err()
            })
            .await;
            return refusal(413, "too_large", reason);
        }
        Err(BodyRefused::Late) => {
            let reason = format!(
                "the envelope's body did not arrive within {} ms; send it whole at once",
                body_timeout.as_millis()
            );
            let sender = peer
                .as_ref()
                .and_then(|Extension(p)| p.0)
                .and_then(|f| node.peers().into_iter().find(|c| c.tls_cert_sha256.0 == f))
                .map_or_else(|| "?".to_owned(), |c| c.party.to_string());
            let record = node.clone();
            let why = reason.clone();
            let _ = tokio::task::spawn_blocking(move || {
                record
                    .store()
                    .record_refusal(soberana_store::RefusalRecord {
                        at: soberana_core::Timestamp::now(),
                        claimed_sender: sender,
                        digest: soberana_wire::Digest::of(&[]).to_hex(),
                        size: 0,
                        reason: format!("{why} (body_timeout)"),
                    })
            })
            .await;
            return refusal(408, "body_timeout", reason);
        }
    };
    let fingerprint = peer.and_then(|Extension(p)| p.0);
    let result = tokio::task::spawn_blocking(move || node.intake(&bytes, fingerprint)).await;
    match result {
        Ok(Ok(crate::IntakeOutcome::WitnessAlarm { size })) => refusal(
            409,
            "witness_alarm",
            format!(
                "your checkpoint of size {size} conflicts with a checkpoint of your log this node cosigned; it is kept as evidence of a fork and will not be cosigned"
            ),
        ),
        Ok(Ok(outcome)) => (StatusCode::OK, Json(outcome)).into_response(),
        Ok(Err(refused)) => refusal(refused.status, refused.code, refused.reason),
        Err(_) => refusal(503, "unavailable", "the node is shutting down".into()),
    }
}

/// The most bytes of a refusal's reason put in a batch's reply, so the
/// reply stays within what the sender reads (a KiB an entry).
const BATCH_REASON_BYTES: usize = 500;

/// Records a refusal of a whole batch (its framing or its size): the
/// entries were not looked at, so nothing else is written.
async fn refuse_batch(
    node: &Node,
    fingerprint: Option<[u8; 32]>,
    bytes: &[u8],
    size: u64,
    reason: String,
) {
    let sender = fingerprint
        .and_then(|f| node.peers().into_iter().find(|c| c.tls_cert_sha256.0 == f))
        .map_or_else(|| "?".to_owned(), |c| c.party.to_string());
    let record = soberana_store::RefusalRecord {
        at: soberana_core::Timestamp::now(),
        claimed_sender: sender,
        digest: soberana_wire::Digest::of(bytes).to_hex(),
        size,
        reason,
    };
    let store = node.store().clone();
    let _ = tokio::task::spawn_blocking(move || store.record_refusal(record)).await;
}

/// `POST /v1/envelopes/batch`: several envelopes in one request. The batch
/// is bounded in bytes, entries and time (`limits.max_batch_bytes`,
/// `max_batch_envelopes`, `body_timeout_ms`) and refused whole (`413
/// batch_too_large`, `400 malformed_batch`, `408 body_timeout`) only when
/// its framing or size is wrong; otherwise every entry is checked on its
/// own, in order, exactly as if it had come alone, those that pass are
/// stored in one change of the store, and the reply (`200`) holds
/// one result per entry in order: `{"status": 200, "outcome": …}` or
/// `{"status": 4xx/5xx, "code": …, "error": …}`. One bad envelope refuses
/// only itself.
async fn batch(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
    request: Request,
) -> Response {
    let limits = &node.config().limits;
    let (max_bytes, max_count) = (limits.max_batch_bytes, limits.max_batch_envelopes);
    let body_timeout = Duration::from_millis(limits.body_timeout_ms);
    let fingerprint = peer.and_then(|Extension(p)| p.0);
    let bytes = match read_body(request, max_bytes, body_timeout).await {
        Ok(bytes) => bytes,
        Err(BodyRefused::OverLimit) => {
            let reason = format!("the batch is over the limit of {max_bytes} bytes");
            let why = format!("{reason} (batch_too_large)");
            refuse_batch(&node, fingerprint, &[], max_bytes as u64 + 1, why).await;
            return refusal(413, "batch_too_large", reason);
        }
        Err(BodyRefused::Late) => {
            let reason = format!(
                "the batch's body did not arrive within {} ms; send it whole at once",
                body_timeout.as_millis()
            );
            let why = format!("{reason} (body_timeout)");
            refuse_batch(&node, fingerprint, &[], 0, why).await;
            return refusal(408, "body_timeout", reason);
        }
    };
    let spans = match soberana_wire::decode_batch(&bytes, max_count) {
        Ok(entries) => entries
            .iter()
            .map(|entry| {
                let start = entry.as_ptr() as usize - bytes.as_ptr() as usize;
                start..start + entry.len()
            })
            .collect::<Vec<_>>(),
        Err(e) => {
            let reason = format!("malformed batch: {e}");
            let why = format!("{reason} (malformed_batch)");
            refuse_batch(&node, fingerprint, &bytes, bytes.len() as u64, why).await;
            return refusal(400, "malformed_batch", reason);
        }
    };
    let entries = spans.into_iter().map(|span| bytes.slice(span)).collect();
    let results = take_batch(&node, entries, fingerprint).await;
    let results: Vec<serde_json::Value> = results.into_iter().map(batch_result).collect();
    (
        StatusCode::OK,
        Json(serde_json::json!({ "results": results })),
    )
        .into_response()
}

/// Takes in the entries of one batch on one blocking thread: each checked
/// on its own, in order, and those that pass stored together (see
/// [`Node::intake_batch`]); one result per entry, in order.
pub(crate) async fn take_batch(
    node: &Node,
    entries: Vec<hyper::body::Bytes>,
    fingerprint: Option<[u8; 32]>,
) -> Vec<Result<crate::IntakeOutcome, crate::IntakeRefusal>> {
    let count = entries.len();
    let node = node.clone();
    tokio::task::spawn_blocking(move || node.intake_batch(&entries, fingerprint))
        .await
        .unwrap_or_else(|_| {
            (0..count)
                .map(|_| {
                    Err(crate::IntakeRefusal {
                        status: 503,
                        code: "unavailable",
                        reason: "the node is shutting down".into(),
                    })
                })
                .collect()
        })
}

/// One entry's result in a batch's reply.
fn batch_result(result: Result<crate::IntakeOutcome, crate::IntakeRefusal>) -> serde_json::Value {
    let refused = |status: u16, code: &str, reason: &str| {
        let mut end = reason.len().min(BATCH_REASON_BYTES);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        serde_json::json!({
            "status": status,
            "code": code,
            "error": reason.get(..end).unwrap_or_default(),
        })
    };
    match result {
        Ok(crate::IntakeOutcome::WitnessAlarm { size }) => refused(
            409,
            "witness_alarm",
            &format!(
                "your checkpoint of size {size} conflicts with a checkpoint of your log this node cosigned; it is kept as evidence of a fork and will not be cosigned"
            ),
        ),
        Ok(outcome) => {
            let mut value = serde_json::to_value(&outcome).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("status".into(), 200.into());
            }
            value
        }
        Err(refusal) => refused(refusal.status, refusal.code, &refusal.reason),
    }
}

/// `GET /v1/receipts/{envelope}`: a receipt that an envelope the caller
/// sent is in this node's log, against a checkpoint the caller cosigned.
/// The caller is known by its client certificate; it gets receipts only
/// for its own envelopes.
/// The pinned partner behind a connection, or why it gets no answer.
fn requester(
    node: &Node,
    peer: Option<Extension<PeerCertificate>>,
) -> Result<soberana_core::PartyCode, (&'static str, &'static str)> {
    let fingerprint = peer
        .and_then(|Extension(p)| p.0)
        .ok_or(("no_identity", "this is answered only to pinned partners"))?;
    // Its card's certificate, or its previous one during a rotation's
    // overlap.
    node.peers()
        .into_iter()
        .map(|c| c.party)
        .find(|party| {
            node.accepted_keys(*party)
                .iter()
                .any(|(_, tls)| *tls == fingerprint)
        })
        .ok_or((
            "unknown_partner",
            "the connection's certificate is not a pinned partner's",
        ))
}

/// The latest checkpoint of the requester's log we cosigned: what a node
/// restored from an old backup compares its log with at start.
async fn witnessed(State(node): State<Node>, peer: Option<Extension<PeerCertificate>>) -> Response {
    let party = match requester(&node, peer) {
        Ok(p) => p,
        Err((code, reason)) => return refusal(403, code, reason.into()),
    };
    match tokio::task::spawn_blocking(move || crate::recovery::witnessed_for(&node, party)).await {
        Ok(Ok(latest)) => Json(latest).into_response(),
        _ => refusal(503, "unavailable", "the store could not be read".into()),
    }
}

/// Every envelope that crossed between the requester and us, as we hold
/// them: what a node that lost part of its store recovers from.
async fn exchanged(State(node): State<Node>, peer: Option<Extension<PeerCertificate>>) -> Response {
    let party = match requester(&node, peer) {
        Ok(p) => p,
        Err((code, reason)) => return refusal(403, code, reason.into()),
    };
    match tokio::task::spawn_blocking(move || crate::recovery::exchanged_for(&node, party)).await {
        Ok(Ok(held)) => Json(held).into_response(),
        _ => refusal(503, "unavailable", "the store could not be read".into()),
    }
}

async fn receipt(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
    axum::extract::Path(envelope): axum::extract::Path<String>,
) -> Response {
    let party = match requester(&node, peer) {
        Ok(p) => p,
        Err((code, reason)) => return refusal(403, code, reason.into()),
    };
    let result = tokio::task::spawn_blocking(move || node.receipt_for(&envelope, party)).await;
    match result {
        Ok(Ok(bundle)) => {
            let own = matches!(
                soberana_ledger::LogEntry::decode(&bundle.entry),
                Ok(soberana_ledger::LogEntry::EnvelopeReceived(ref r)) if r.sender == party.as_str()
            );
            if own {
                (StatusCode::OK, Json(bundle)).into_response()
            } else {
                refusal(
                    404,
                    "not_found",
                    "no such envelope from this partner".into(),
                )
            }
        }
        Ok(Err(e)) => refusal(404, "not_found", e.to_string()),
        Err(_) => refusal(503, "unavailable", "the node is shutting down".into()),
    }
}

/// A node that is listening and delivering.
pub struct RunningNode {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningNode {
    /// Stops listening and delivering, and waits for both to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Node {
    /// Starts listening on the configured address and delivering the outbox.
    pub async fn start(&self) -> Result<RunningNode, NodeError> {
        let addr = self.config().listen;
        let listener = TcpListener::bind(addr).await.map_err(|e| NodeError::Bind {
            addr: addr.to_string(),
            detail: e.to_string(),
            config: self.dir().config(),
        })?;
        let local = listener
            .local_addr()
            .map_err(NodeError::io(self.dir().config()))?;
        let server = tls::server_config(&self.tls(), self.pins())?;
        let acceptor = TlsAcceptor::from(Arc::new(server));
        let (shutdown, watch) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(self.clone(), listener, acceptor, watch.clone()));
        tasks.spawn(crate::sessions::session_loop(self.clone(), watch.clone()));
        tasks.spawn(crate::ledger::checkpoint_loop(self.clone(), watch.clone()));
        tasks.spawn(log_check_loop(self.clone(), watch.clone()));
        tasks.spawn(key_switch_loop(self.clone(), watch.clone()));
        tasks.spawn(crate::deadlines::deadline_loop(self.clone(), watch.clone()));
        tasks.spawn(crate::case::case_loop(self.clone(), watch.clone()));
        tasks.spawn(crate::sessions::standing::standing_loop(
            self.clone(),
            watch.clone(),
        ));
        tasks.spawn(crate::outbox::deliver_loop(self.clone(), watch));
        tracing::info!(party = %self.party(), %local, "node listening");
        Ok(RunningNode {
            addr: local,
            shutdown,
            tasks,
        })
    }
}

/// Counts connections per key (a network address, a partner certificate)
/// and refuses one over `max`; the count drops when the [`Slot`] does.
#[derive(Clone)]
struct Slots<K: std::hash::Hash + Eq + Copy> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    max: usize,
}

impl<K: std::hash::Hash + Eq + Copy> Slots<K> {
    fn new(max: usize) -> Self {
        Self {
            held: Arc::default(),
            max,
        }
    }

    fn take(&self, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().ok()?;
        let count = held.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            held: Arc::clone(&self.held),
            key,
        })
    }
}

struct Slot<K: std::hash::Hash + Eq + Copy> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        if let Ok(mut held) = self.held.lock()
            && let Some(count) = held.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Accepts connections within the node's limits: at most
/// `max_connections` at once (more wait in the listen backlog), at most
/// `max_handshakes_per_address` from one address before a certificate is
/// shown, a handshake within `handshake_timeout_ms`, at most
/// `max_connections_per_partner` per pinned certificate, and each request's
/// headers within `header_timeout_ms` (an idle kept-alive connection is
/// closed after it too). Bodies are bounded in [`envelope`].
async fn accept_loop(
    node: Node,
    listener: TcpListener,
    mut acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) {
    // The certificate new connections are shown: replaced when the node
    // switches to a rotated key while it runs.
    let mut serving = node.tls().fingerprint();
    let limits = node.config().limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let handshaking = Slots::<IpAddr>::new(limits.max_handshakes_per_address);
    let partners = Slots::<[u8; 32]>::new(limits.max_connections_per_partner);
    let handshake_timeout = Duration::from_millis(limits.handshake_timeout_ms);
    let header_timeout = Duration::from_millis(limits.header_timeout_ms);
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, remote)) = accepted else { continue };
                let Some(handshake_slot) = handshaking.take(remote.ip()) else {
                    tracing::warn!(%remote, "connection refused: too many handshakes from this address");
                    continue;
                };
                // Answers are small and immediate; see the client side.
                let _ = tcp.set_nodelay(true);
                let identity = node.tls();
                if identity.fingerprint() != serving {
                    match tls::server_config(&identity, node.pins()) {
                        Ok(config) => {
                            acceptor = TlsAcceptor::from(Arc::new(config));
                            serving = identity.fingerprint();
                        }
                        Err(e) => tracing::error!(error = %e, "the switched certificate cannot be served; the previous one still is"),
                    }
                }
                let acceptor = acceptor.clone();
                let app = router(node.clone());
                let partners = partners.clone();
                let mut stop = shutdown.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::warn!(%remote, error = %e, "TLS handshake refused");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!(%remote, "TLS handshake not finished in time; connection closed");
                            return;
                        }
                    };
                    drop(handshake_slot);
                    let fingerprint = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| -> [u8; 32] { Sha256::digest(c.as_ref()).into() });
                    let _partner_slot = match fingerprint.map(|f| partners.take(f)) {
                        Some(Some(slot)) => slot,
                        _ => {
                            tracing::warn!(%remote, "connection closed: the partner holds too many connections");
                            return;
                        }
                    };
                    let app = app.layer(Extension(PeerCertificate(fingerprint)));
                    let service = TowerToHyperService::new(app);
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .serve_connection(TokioIo::new(tls), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

/// Compares our log with what each partner cosigned, at start and then
/// every minute (see `recovery.rs`), and warns of keys that need the
/// operator (see `keys.rs`).
/// Puts an announced key in use as soon as every partner has taken its
/// card update, without a restart (`Node::switch_rotated_keys_running`).
async fn key_switch_loop(node: Node, mut shutdown: watch::Receiver<bool>) {
    loop {
        match node.switch_rotated_keys_running() {
            Ok(true) => tracing::info!("switched to the rotated key while running"),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "switching to the rotated key"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn log_check_loop(node: Node, mut shutdown: watch::Receiver<bool>) {
    let mut minutes = 0u64;
    loop {
        // Key warnings at start and then once a day.
        if minutes.is_multiple_of(24 * 60) {
            for warning in node.key_warnings() {
                tracing::warn!("{warning}");
            }
        }
        minutes += 1;
        node.check_log_against_partners().await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
