//! Delivery: the outbox, sent to partners until they take it.
//!
//! An envelope is written to the outbox in the same transaction as the
//! change it reports, so nothing the node decided can be lost between
//! deciding and sending. This loop sends what is due; a partner's `200`, or
//! a `409 duplicate` (it already has the envelope), marks it delivered; any
//! other `4xx` but `408`, `429` and `403 agreement_suspended` is final: the
//! envelope is marked refused, with the partner's reason, and never sent
//! again; anything else is retried
//! with exponential backoff up to a minute, for as long as it takes; the
//! backoff ends as soon as the partner answers again (a delivery to it
//! succeeds, or its health endpoint answers a probe). A
//! partner's reply is read only so far (`limits.max_reply_bytes`) and only
//! so long (`limits.delivery_timeout_ms`, which covers its last byte).
//! Delivery is at-least-once on the wire and exactly-once in effect,
//! because intake refuses an envelope id it has seen.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use soberana_core::{PartyCode, Timestamp};
use soberana_store::{DeliveryItem, DeliveryResult};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::node::Node;
use crate::tls;

mod batch;
mod requests;

use batch::{BatchAnswer, BatchBounds, post_batch};

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long to wait before the next attempt after `attempts` failures.
pub fn backoff(attempts: u32) -> Duration {
    let millis = 250u64.saturating_mul(1u64 << attempts.min(8));
    Duration::from_millis(millis.min(60_000))
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The partner took it (or already had it).
    Delivered,
    /// Not delivered; try again later.
    Failed(String),
    /// The partner refused it for good (a final `4xx`): recorded, shown,
    /// never sent again.
    Refused(String),
}

/// The most connections the outbox opens to one partner at once; a node
/// serves `limits.max_connections_per_partner` (64 by default).
pub const MAX_CONNECTIONS_TO_PARTNER: usize = 32;

/// A partner's envelope URL, a client for it, and what the outbox keeps
/// about the link (the permits that bound how many deliveries to it run at
/// once, and whether it takes batches).
type Link = (String, HttpsClient, Arc<Lane>);

/// What the outbox keeps about the link to one partner.
pub(crate) struct Lane {
    /// Bounds the requests to the partner at once.
    permits: Semaphore,
    /// When the partner last refused a batch as a batch (a node of a version
    /// without `POST /v1/envelopes/batch`, or with smaller bounds): its
    /// envelopes go one by one until [`BATCH_RETRY`] has passed.
    batch_refused_at: Mutex<Option<std::time::Instant>>,
}

/// How long envelopes go one by one to a partner that refused a batch
/// before a batch is tried again (it may have been upgraded).
const BATCH_RETRY: Duration = Duration::from_secs(600);

impl Lane {
    fn takes_batches(&self) -> bool {
        self.batch_refused_at
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= BATCH_RETRY))
            .unwrap_or(false)
    }

    fn batch_refused(&self) {
        if let Ok(mut at) = self.batch_refused_at.lock() {
            *at = Some(std::time::Instant::now());
        }
    }
}

pub(crate) fn client_for(
    node: &Node,
    party: PartyCode,
    cache: &mut HashMap<PartyCode, (Vec<[u8; 32]>, Link)>,
) -> Option<Link> {
    let card = node.peer(party)?;
    let pins: Vec<[u8; 32]> = node
        .accepted_keys(party)
        .into_iter()
        .map(|(_, tls)| tls)
        .collect();
    // A card update changes what is pinned, and a key switch the
    // certificate we show: either way the cached client is rebuilt.
    let identity = node.tls();
    let mut cached_for = pins.clone();
    cached_for.push(identity.fingerprint().0);
    if let Some((found_for, found)) = cache.get(&party)
        && *found_for == cached_for
    {
        return Some(found.clone());
    }
    let config = tls::client_config(&identity, pins).ok()?;
    // Envelopes are small requests answered at once: without TCP_NODELAY,
    // Nagle's algorithm holds a request's body back for the peer's delayed
    // acknowledgement and every exchange waits milliseconds for nothing.
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    // Idle connections are kept no more than we use at once (a partner's
    // node closes connections past its per-partner bound), and for less
    // than a partner's node keeps them (`header_timeout_ms`, 10 s by
    // default), so a request is not written into a connection the partner
    // is closing.
    let client: HttpsClient = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(MAX_CONNECTIONS_TO_PARTNER)
        .build(connector);
    let url = format!("{}/v1/envelopes", card.endpoint.trim_end_matches('/'));
    let link = (
        url,
        client,
        Arc::new(Lane {
            permits: Semaphore::new(MAX_CONNECTIONS_TO_PARTNER),
            batch_refused_at: Mutex::new(None),
        }),
    );
    cache.insert(party, (cached_for, link.clone()));
    Some(link)
}

/// Bounds on one exchange with a partner's node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// The largest reply body read.
    pub(crate) reply_bytes: usize,
    /// The time for the whole exchange, the reply's last byte included.
    pub(crate) timeout: Duration,
}

impl Bounds {
    pub(crate) fn of(node: &Node) -> Self {
        let limits = &node.config().limits;
        Self {
            reply_bytes: limits.max_reply_bytes,
            timeout: Duration::from_millis(limits.delivery_timeout_ms),
        }
    }
}

/// Sends `request` and reads the status and the reply body: at most
/// `bounds.reply_bytes` of it, and all within `bounds.timeout`, so a
/// partner can neither flood our memory nor hold the exchange open by
/// trickling its answer. The error says why there is no answer
/// (unreachable, too slow, reply too large).
pub(crate) async fn exchange(
    client: &HttpsClient,
    request: hyper::Request<Full<Bytes>>,
    bounds: Bounds,
) -> Result<(hyper::StatusCode, Bytes), String> {
    let url = request.uri().to_string();
    let whole = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), bounds.reply_bytes)
            .collect()
            .await
            .map_err(|e| {
                format!(
                    "{url} answered {status} with a reply over {} bytes or broken off: {e}",
                    bounds.reply_bytes
                )
            })?
            .to_bytes();
        Ok((status, body))
    };
    match tokio::time::timeout(bounds.timeout, whole).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{url} did not answer in full within {} ms",
            bounds.timeout.as_millis()
        )),
    }
}

/// Whether a partner's answer, with its refusal code, is final: every
/// `4xx` says the envelope itself is wrong and will never be taken, except
/// `408` (too slow) and `429` (too many), which say "later", and `403
/// agreement_suspended`: the partner suspended the agreement and its act
/// has not reached us yet (once it has, `due_deliveries` holds our
/// proposals). A suspension is temporary, so a proposal queued while the
/// agreement was in force for us waits and goes once it is resumed, as one
/// queued after our node learned of the suspension does.
fn is_final(status: hyper::StatusCode, code: &str) -> bool {
    status.is_client_error()
        && status != hyper::StatusCode::REQUEST_TIMEOUT
        && status != hyper::StatusCode::TOO_MANY_REQUESTS
        && !(status == hyper::StatusCode::FORBIDDEN && code == "agreement_suspended")
}

async fn post(url: &str, client: &HttpsClient, bytes: Vec<u8>, bounds: Bounds) -> Delivery {
    let request = match hyper::Request::post(url)
        .header("content-type", "application/octet-stream")
        .body(Full::new(Bytes::from(bytes)))
    {
        Ok(r) => r,
        Err(e) => return Delivery::Failed(e.to_string()),
    };
    let (status, body) = match exchange(client, request, bounds).await {
        Ok(answer) => answer,
        Err(reason) => return Delivery::Failed(reason),
    };
    let answer: serde_json::Value = if status.is_success() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_default()
    };
    judge(status, &answer)
}

/// What a partner's answer to one envelope means: its status, and for a
/// refusal its JSON `code` and `error`.
fn judge(status: hyper::StatusCode, answer: &serde_json::Value) -> Delivery {
    if status.is_success() {
        return Delivery::Delivered;
    }
    let field = |name: &str| answer.get(name).and_then(serde_json::Value::as_str);
    if status.as_u16() == 409 && field("code") == Some("duplicate") {
        return Delivery::Delivered;
    }
    // The partner's words are kept and shown: bounded, one line, printable.
    let reason: String = field("error")
        .unwrap_or("no reason given")
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let code: String = field("code")
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    let said = format!("{status} {code}: {reason}");
    if is_final(status, &code) {
        Delivery::Refused(said)
    } else {
        Delivery::Failed(said)
    }
}

/// Delivers `envelopes` to one partner: in batches within `batches` when
/// there are several and the partner takes batches, else one by one. One
/// result per envelope, in order.
async fn deliver(
    link: &Option<Link>,
    recipient: PartyCode,
    envelopes: &[&[u8]],
    bounds: Bounds,
    batches: BatchBounds,
) -> Vec<Delivery> {
    let Some((url, client, lane)) = link else {
        return envelopes
            .iter()
            .map(|_| Delivery::Failed(format!("no pinned partner `{recipient}`")))
            .collect();
    };
    let sizes: Vec<usize> = envelopes.iter().map(|e| e.len()).collect();
    let mut results = Vec::with_capacity(envelopes.len());
    for run in batches.split(&sizes) {
        let part = envelopes.get(run).unwrap_or_default();
        // At most a few connections to one partner at once, well under
        // what its node serves us.
        let _permit = lane.permits.acquire().await;
        if part.len() > 1 && lane.takes_batches() {
            tracing::debug!(partner = %recipient, envelopes = part.len(), "sending a batch");
            match post_batch(url, client, part, bounds).await {
                BatchAnswer::Each(each) => {
                    results.extend(each);
                    continue;
                }
                BatchAnswer::OneByOne => {
                    tracing::info!(partner = %recipient, "the partner takes no batch; its envelopes go one by one for a while");
                    lane.batch_refused();
                }
            }
        }
        for envelope in part {
            results.push(post(url, client, envelope.to_vec(), bounds).await);
        }
    }
    results
}

/// What is being sent right now: envelope ids, and the proposals they
/// concern (a later envelope about the same proposal waits for them).
#[derive(Default)]
struct InFlight {
    envelopes: HashSet<String>,
    proposals: HashSet<String>,
    /// The read of what is due under way, if one is: deliveries that finish
    /// while it runs may still be listed in it as due.
    scanning: bool,
    /// Envelopes whose delivery finished while a read of what is due was
    /// under way: that read skips them.
    finished: HashSet<String>,
    /// Something waits in the store that the next read must pick up: an
    /// envelope handed over while an earlier one about its proposal was in
    /// flight, or one whose delivery failed.
    rescan: bool,
}

impl InFlight {
    /// Takes `due` in as groups to send now (envelopes about one proposal
    /// in queue order; any other alone), skipping what is in flight or was
    /// just delivered. An envelope whose proposal is in flight waits for a
    /// later read.
    fn take(&mut self, due: Vec<DeliveryItem>) -> Vec<Vec<DeliveryItem>> {
        let mut groups: Vec<Vec<DeliveryItem>> = Vec::new();
        let mut by_proposal: HashMap<String, usize> = HashMap::new();
        for item in due {
            if self.envelopes.contains(&item.envelope_id)
                || self.finished.contains(&item.envelope_id)
            {
                continue;
            }
            // An earlier envelope about its proposal is still in flight.
            if !item.proposal_id.is_empty()
                && self.proposals.contains(&item.proposal_id)
                && !by_proposal.contains_key(&item.proposal_id)
            {
                self.rescan = true;
                continue;
            }
            if item.proposal_id.is_empty() {
                groups.push(vec![item]);
            } else if let Some(&i) = by_proposal.get(&item.proposal_id) {
                if let Some(group) = groups.get_mut(i) {
                    group.push(item);
                }
            } else {
                by_proposal.insert(item.proposal_id.clone(), groups.len());
                groups.push(vec![item]);
            }
        }
        for group in &groups {
            for item in group {
                self.envelopes.insert(item.envelope_id.clone());
                if !item.proposal_id.is_empty() {
                    self.proposals.insert(item.proposal_id.clone());
                }
            }
        }
        groups
    }
}

/// The most envelopes in flight at once.
const MAX_IN_FLIGHT: usize = 1024;

/// How often the store is read for what is due when nothing else asks.
const SCAN_EVERY: Duration = Duration::from_millis(500);

/// The least time between two reads of what is due while requests are out:
/// the proposals queued in that while are read together.
const SCAN_SPACING: Duration = Duration::from_millis(5);

/// The most envelopes held in memory between their commit and the outbox
/// taking them; past this they wait in the store for the next read.
pub(crate) const MAX_HANDED_OVER: usize = 4096;

/// The most requests in flight to one partner at once. What becomes due
/// while they are out waits and goes in the next request, as one batch:
/// under load envelopes coalesce into batches with no timer, and an
/// envelope due when the link is idle goes at once.
const MAX_REQUESTS_TO_PARTNER: usize = 4;

/// Sends what is due until `shutdown` turns true.
///
/// An envelope just committed is handed to this loop in memory (see
/// [`Node::hand_to_outbox`]) and sent at once, without reading it back from
/// the store. The store is read for what is due only when something may
/// wait there: at start, when woken by a change that queued envelopes
/// without handing them over, after a failed delivery or an envelope that
/// had to wait for an earlier one about its proposal, and every few
/// seconds in case. The store stays the truth: nothing is sent that is not
/// committed, and whatever the memory queue dropped is found by a read.
///
/// Deliveries are pipelined and batched: what is due for one partner goes
/// in one request (a batch, within `limits.max_batch_envelopes` and
/// `max_batch_bytes`) sent by its own task while the loop goes on, at most
/// [`MAX_REQUESTS_TO_PARTNER`] at once; what becomes due meanwhile waits for
/// the next. Envelopes about one proposal go in queue order, each in a later
/// request than the one before it, and each envelope is marked by its own
/// result alone.
pub async fn deliver_loop(node: Node, mut shutdown: watch::Receiver<bool>) {
    let probing = tokio::spawn(probe_loop(node.clone(), shutdown.clone()));
    let mut clients = HashMap::new();
    let bounds = Bounds::of(&node);
    let batches = BatchBounds::of(&node);
    let in_flight: Arc<Mutex<InFlight>> = Arc::default();
    let finished = Arc::new(Notify::new());
    let requests: Arc<Mutex<HashMap<PartyCode, usize>>> = Arc::default();
    // Groups taken to send, waiting for a request to their partner.
    let mut waiting: HashMap<PartyCode, Vec<Vec<DeliveryItem>>> = HashMap::new();
    let mut tasks = JoinSet::new();
    // Whatever was queued before this loop started is in the store.
    let mut scan = true;
    let mut last_scan = std::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let busy = in_flight.lock().map(|f| f.envelopes.len()).unwrap_or(0);
        let mut groups = Vec::new();
        if busy < MAX_IN_FLIGHT {
            let handed = node.take_handed_over();
            if !handed.is_empty()
                && let Ok(mut flight) = in_flight.lock()
            {
                groups = flight.take(handed);
            }
        }
        // Backoffs run out with no one to wake us: read every so often even
        // while envelopes keep being handed over.
        let periodic = last_scan.elapsed() >= SCAN_EVERY || rescan_due(&in_flight);
        // Under load (requests out) a wake does not read at once if a read
        // ran just now: the wakes of that short while share one read. On an
        // idle link it reads at once.
        let requests_out = requests
            .lock()
            .map(|r| r.values().any(|n| *n > 0))
            .unwrap_or(false);
        let spaced = requests_out && last_scan.elapsed() < SCAN_SPACING;
        scan |= periodic;
        if busy < MAX_IN_FLIGHT && scan && (periodic || !spaced) {
            scan = false;
            last_scan = std::time::Instant::now();
            if let Ok(mut flight) = in_flight.lock() {
                flight.scanning = true;
                flight.rescan = false;
            }
            let store = node.store().clone();
            let due =
                tokio::task::spawn_blocking(move || store.due_deliveries(Timestamp::now(), 512))
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .unwrap_or_default();
            if let Ok(mut flight) = in_flight.lock() {
                flight.scanning = false;
                let more = flight.take(due);
                flight.finished.clear();
                groups.extend(more);
            }
        }
        let taken = !groups.is_empty();
        for group in groups {
            if let Some(first) = group.first() {
                waiting.entry(first.recipient).or_default().push(group);
            }
        }
        let mut sent = false;
        for (recipient, queue) in waiting.iter_mut() {
            loop {
                if queue.is_empty() {
                    break;
                }
                let free = requests
                    .lock()
                    .map(|r| r.get(recipient).copied().unwrap_or(0) < MAX_REQUESTS_TO_PARTNER)
                    .unwrap_or(true);
                if !free {
                    break;
                }
                let take = queue.len().min(batches.envelopes);
                let convoy: Vec<Vec<DeliveryItem>> = queue.drain(..take).collect();
                if let Ok(mut r) = requests.lock() {
                    *r.entry(*recipient).or_insert(0) += 1;
                }
                let link = client_for(&node, *recipient, &mut clients);
                let run = Convoy {
                    recipient: *recipient,
                    link,
                    store: node.store().clone(),
                    in_flight: Arc::clone(&in_flight),
                    finished: Arc::clone(&finished),
                    requests: Arc::clone(&requests),
                    bounds,
                    batches,
                };
                tasks.spawn(run.send(convoy));
                sent = true;
            }
        }
        waiting.retain(|_, queue| !queue.is_empty());
        if !taken && !sent {
            // A read put off by the spacing is due when it runs out.
            let nap = if scan && busy < MAX_IN_FLIGHT {
                SCAN_SPACING.saturating_sub(last_scan.elapsed())
            } else {
                SCAN_EVERY
            };
            tokio::select! {
                _ = node.outbox_handed_over() => {}
                _ = node.outbox_woken() => scan = true,
                _ = finished.notified() => {}
                _ = tokio::time::sleep(nap) => {}
                _ = shutdown.changed() => break,
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    let _ = probing.await;
}

/// One request's worth of groups to one partner, and what its task needs.
struct Convoy {
    recipient: PartyCode,
    link: Option<Link>,
    store: Arc<dyn soberana_store::NodeStore>,
    in_flight: Arc<Mutex<InFlight>>,
    finished: Arc<Notify>,
    requests: Arc<Mutex<HashMap<PartyCode, usize>>>,
    bounds: Bounds,
    batches: BatchBounds,
}

impl Convoy {
    /// Sends the groups' first envelopes together, then their next ones,
    /// and so on; a group whose envelope failed holds its later ones back
    /// (marked failed, to retry). Each envelope is marked by its own result.
    async fn send(self, groups: Vec<Vec<DeliveryItem>>) {
        let mut queues: Vec<std::collections::VecDeque<DeliveryItem>> =
            groups.into_iter().map(Into::into).collect();
        let proposals: Vec<String> = queues
            .iter()
            .filter_map(|q| q.front().map(|i| i.proposal_id.clone()))
            .collect();
        loop {
            let heads: Vec<(usize, DeliveryItem)> = queues
                .iter_mut()
                .enumerate()
                .filter_map(|(n, q)| q.pop_front().map(|item| (n, item)))
                .collect();
            if heads.is_empty() {
                break;
            }
            let envelopes: Vec<&[u8]> = heads.iter().map(|(_, i)| i.bytes.as_slice()).collect();
            let results = deliver(
                &self.link,
                self.recipient,
                &envelopes,
                self.bounds,
                self.batches,
            )
            .await;
            let mut marks = Vec::new();
            for ((n, item), result) in heads.into_iter().zip(results) {
                let mut held = Vec::new();
                if let Delivery::Failed(reason) = &result {
                    // An envelope refused for good does not hold back the
                    // rest: the partner has decided about it.
                    if let Some(queue) = queues.get_mut(n) {
                        held.extend(queue.drain(..).map(|later| {
                            let why = format!("waiting for an earlier envelope: {reason}");
                            (later, Delivery::Failed(why))
                        }));
                    }
                }
                marks.push((item, result));
                marks.extend(held);
            }
            self.mark(marks).await;
        }
        if let Ok(mut flight) = self.in_flight.lock() {
            for proposal in &proposals {
                flight.proposals.remove(proposal);
            }
        }
        if let Ok(mut r) = self.requests.lock()
            && let Some(count) = r.get_mut(&self.recipient)
        {
            *count = count.saturating_sub(1);
        }
        // A request to the partner is free (what waits for it goes now), or
        // something waits in the store for the next read.
        self.finished.notify_one();
    }

    /// Records every result in the store with one call (one transaction),
    /// and only once that is durable lets the loop send what waited for
    /// them: an envelope leaves the in-flight set after its mark is
    /// committed, never before, so no read of what is due lists it again.
    async fn mark(&self, marks: Vec<(DeliveryItem, Delivery)>) {
        let failed = marks
            .iter()
            .any(|(_, result)| matches!(result, Delivery::Failed(_)));
        let ids: Vec<String> = marks
            .iter()
            .map(|(item, _)| item.envelope_id.clone())
            .collect();
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || record(&*store, marks)).await;
        if let Ok(mut flight) = self.in_flight.lock() {
            for id in ids {
                flight.envelopes.remove(&id);
                // A read under way may list it as still due.
                if flight.scanning {
                    flight.finished.insert(id);
                }
            }
            flight.rescan |= failed;
        }
    }
}

/// Records the results of one request's deliveries in one transaction. If
/// that fails, each is recorded alone, so one envelope the store cannot
/// mark does not hold back the marks of the others; an envelope left
/// unmarked stays due and goes again (the partner answers a copy it has
/// with `409 duplicate`, which marks it delivered).
fn record(store: &dyn soberana_store::NodeStore, marks: Vec<(DeliveryItem, Delivery)>) {
    let now = Timestamp::now();
    let results: Vec<(String, DeliveryResult)> = marks
        .into_iter()
        .map(|(item, result)| {
            let id = item.envelope_id;
            let result = match result {
                Delivery::Delivered => DeliveryResult::Delivered,
                Delivery::Refused(reason) => {
                    tracing::warn!(envelope = %id, %reason, "the partner refused an envelope for good; it will not be sent again");
                    DeliveryResult::Refused(reason)
                }
                Delivery::Failed(reason) => {
                    tracing::debug!(envelope = %id, %reason, "delivery failed; will retry");
                    let wait = backoff(item.attempts + 1);
                    DeliveryResult::Failed {
                        error: reason,
                        next_attempt: Timestamp::from_unix_millis(
                            now.unix_millis() + wait.as_millis() as i64,
                        ),
                    }
                }
            };
            (id, result)
        })
        .collect();
    if results.len() == 1 {
        if let Err(e) = store.record_deliveries(results, now) {
            tracing::warn!(error = %e, "a delivery result could not be recorded; the envelope stays due");
        }
        return;
    }
    if let Err(e) = store.record_deliveries(results.clone(), now) {
        tracing::warn!(error = %e, "a request's delivery results could not be recorded together; recording each alone");
        for result in results {
            if let Err(e) = store.record_deliveries(vec![result], now) {
                tracing::warn!(error = %e, "a delivery result could not be recorded; the envelope stays due");
            }
        }
    }
}

/// Whether something waits in the store for the next read.
fn rescan_due(in_flight: &Mutex<InFlight>) -> bool {
    in_flight.lock().map(|f| f.rescan).unwrap_or(true)
}

/// How often a partner whose envelopes wait out a backoff is asked whether
/// it answers again.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// Asks every partner whose envelopes all wait out a backoff for its
/// health, and when it answers (any HTTP answer: its node is up and takes
/// our connection), makes them due at once. Without this, envelopes could
/// wait up to a minute after the link came back.
async fn probe_loop(node: Node, mut shutdown: watch::Receiver<bool>) {
    let mut clients = HashMap::new();
    let bounds = Bounds {
        reply_bytes: 4096,
        timeout: Duration::from_millis(node.config().limits.delivery_timeout_ms.min(5_000)),
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let store = node.store().clone();
        let waiting = tokio::task::spawn_blocking(move || store.backed_off(Timestamp::now()))
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        for peer in waiting {
            let Some((url, client, _)) = client_for(&node, peer, &mut clients) else {
                continue;
            };
            let url = url.replace("/v1/envelopes", "/v1/health");
            let Ok(request) = hyper::Request::get(&url).body(Full::new(Bytes::new())) else {
                continue;
            };
            if exchange(&client, request, bounds).await.is_ok() {
                let store = node.store().clone();
                let made_due =
                    tokio::task::spawn_blocking(move || store.retry_now(peer, Timestamp::now()))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .unwrap_or(0);
                if made_due > 0 {
                    tracing::info!(partner = %peer, envelopes = made_due, "the partner answers again; waiting envelopes are due now");
                    node.wake_outbox();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspension_is_not_a_final_refusal_but_a_termination_is() {
        use hyper::StatusCode;
        assert!(!is_final(StatusCode::FORBIDDEN, "agreement_suspended"));
        assert!(is_final(StatusCode::FORBIDDEN, "agreement_terminated"));
        assert!(is_final(StatusCode::FORBIDDEN, "not_in_agreement"));
        assert!(is_final(StatusCode::FORBIDDEN, "bad_signature"));
        assert!(is_final(
            StatusCode::UNPROCESSABLE_ENTITY,
            "agreement_suspended"
        ));
        assert!(!is_final(StatusCode::REQUEST_TIMEOUT, "body_timeout"));
        assert!(!is_final(StatusCode::TOO_MANY_REQUESTS, ""));
        assert!(!is_final(StatusCode::SERVICE_UNAVAILABLE, ""));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert!(backoff(5) > backoff(4));
        assert_eq!(backoff(30), Duration::from_secs(60));
    }
}
