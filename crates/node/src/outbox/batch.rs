//! Several envelopes to one partner in one request
//! (`POST /v1/envelopes/batch`): how a batch is cut within our bounds, and
//! how its reply is read back into one result per envelope.

use http_body_util::Full;
use hyper::body::Bytes;

use super::{Bounds, Delivery, HttpsClient, exchange, judge};
use crate::node::Node;

/// The bytes of a batch reply read per entry: a result holds at most 500
/// bytes of reason and a short outcome.
const REPLY_BYTES_PER_ENTRY: usize = 1024;

/// Why a batch got no per-envelope answer.
pub(super) enum BatchAnswer {
    /// One result per envelope, in order.
    Each(Vec<Delivery>),
    /// The partner refused the batch as a batch (an older node without the
    /// endpoint, or one with smaller bounds): send the envelopes one by one.
    OneByOne,
}

/// Sends `envelopes` in one batch to `url` (the partner's envelope URL).
pub(super) async fn post_batch(
    url: &str,
    client: &HttpsClient,
    envelopes: &[&[u8]],
    bounds: Bounds,
) -> BatchAnswer {
    let all_failed = |reason: String| {
        BatchAnswer::Each(
            envelopes
                .iter()
                .map(|_| Delivery::Failed(reason.clone()))
                .collect(),
        )
    };
    let url = format!("{url}/batch");
    let request = match hyper::Request::post(&url)
        .header("content-type", "application/octet-stream")
        .body(Full::new(Bytes::from(soberana_wire::encode_batch(
            envelopes,
        )))) {
        Ok(r) => r,
        Err(e) => return all_failed(e.to_string()),
    };
    let bounds = Bounds {
        reply_bytes: bounds
            .reply_bytes
            .max(envelopes.len().saturating_mul(REPLY_BYTES_PER_ENTRY)),
        ..bounds
    };
    let (status, body) = match exchange(client, request, bounds).await {
        Ok(answer) => answer,
        Err(reason) => return all_failed(reason),
    };
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !status.is_success() {
        // Refused as a batch: nothing in it was judged. Either the partner
        // cannot take batches (`404`/`405` from an older node, or a batch
        // over its bounds) and the envelopes go one by one, or it asks for
        // later.
        return match judge(status, &answer) {
            Delivery::Refused(_) => BatchAnswer::OneByOne,
            Delivery::Failed(reason) => all_failed(reason),
            Delivery::Delivered => all_failed(format!("{url} answered {status}")),
        };
    }
    let results = answer
        .get("results")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let each = (0..envelopes.len())
        .map(|n| match results.get(n) {
            Some(result) => {
                match result
                    .get("status")
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .and_then(|s| hyper::StatusCode::from_u16(s).ok())
                {
                    Some(status) => judge(status, result),
                    None => Delivery::Failed(format!("{url} gave entry {n} no status")),
                }
            }
            None => Delivery::Failed(format!("{url} gave no result for entry {n}")),
        })
        .collect();
    BatchAnswer::Each(each)
}

/// Bounds on the batches the outbox sends: ours, which a partner of the
/// same version takes (one of an older version, or with smaller bounds,
/// refuses the batch and gets the envelopes one by one).
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchBounds {
    pub(super) envelopes: usize,
    bytes: usize,
}

impl BatchBounds {
    pub(super) fn of(node: &Node) -> Self {
        let limits = &node.config().limits;
        Self {
            envelopes: limits.max_batch_envelopes.max(1),
            bytes: limits.max_batch_bytes,
        }
    }

    /// Splits `sizes` (envelope lengths) into runs of consecutive indexes,
    /// each within the bounds; an envelope too large for any batch goes
    /// alone.
    pub(super) fn split(&self, sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut runs = Vec::new();
        let mut start = 0;
        let mut bytes = soberana_wire::BATCH_OVERHEAD;
        for (n, size) in sizes.iter().enumerate() {
            let entry = size + soberana_wire::ENTRY_OVERHEAD;
            if n > start && (n - start >= self.envelopes || bytes + entry > self.bytes) {
                runs.push(start..n);
                start = n;
                bytes = soberana_wire::BATCH_OVERHEAD;
            }
            bytes += entry;
        }
        if start < sizes.len() {
            runs.push(start..sizes.len());
        }
        runs
    }
}
