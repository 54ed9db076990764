//! What an operator watches: the figures behind a node's `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use soberana_core::Timestamp;

use crate::StoreError;

/// The upper bounds, in milliseconds, of the commit-latency histogram.
pub const COMMIT_BUCKETS_MS: [u64; 11] = [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000];

/// How long callers waited for their change to be durable: a cumulative
/// histogram in the Prometheus sense, kept in memory since the store opened.
#[derive(Debug, Default)]
pub struct CommitTimes {
    buckets: [AtomicU64; COMMIT_BUCKETS_MS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl CommitTimes {
    /// Records one commit that took `elapsed`.
    pub fn record(&self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (bucket, bound) in self.buckets.iter().zip(COMMIT_BUCKETS_MS) {
            if ms <= bound as f64 {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The histogram as it stands.
    pub fn snapshot(&self) -> CommitLatency {
        CommitLatency {
            cumulative: COMMIT_BUCKETS_MS
                .iter()
                .zip(&self.buckets)
                .map(|(bound, n)| (*bound, n.load(Ordering::Relaxed)))
                .collect(),
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A cumulative histogram of commit latencies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitLatency {
    /// `(upper bound in ms, commits at or under it)`, bounds ascending.
    pub cumulative: Vec<(u64, u64)>,
    /// Every commit.
    pub count: u64,
    /// Their total time, in seconds.
    pub sum_seconds: f64,
}

/// Delivery figures towards one partner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerOutbox {
    /// Envelopes waiting for delivery.
    pub queued: u64,
    /// Age of the oldest of them, in seconds.
    pub oldest_secs: u64,
    /// Envelopes delivered so far.
    pub delivered: u64,
    /// Delivery attempts that failed (each one retried later).
    pub failed_attempts: u64,
}

/// Everything an operator's dashboard reads, from one consistent read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Operations {
    /// Outbox figures per partner code.
    pub outbox: BTreeMap<String, PartnerOutbox>,
    /// Intake refusals since the store was made, by refusal code.
    pub refusals: BTreeMap<String, u64>,
    /// Incoming proposals past their deadline and still awaiting us.
    pub overdue_incoming: u64,
    /// Our proposals past their deadline and still awaiting the partner.
    pub overdue_outgoing: u64,
    /// Entries in our log.
    pub log_size: u64,
    /// Size of our latest signed checkpoint (0 if none).
    pub checkpoint_size: u64,
    /// Seconds since our latest checkpoint was signed (None if none).
    pub checkpoint_age_secs: Option<u64>,
    /// The largest size of our log each witness has cosigned, by witness name.
    pub cosigned_size: BTreeMap<String, u64>,
}

/// One envelope that crossed between us and a partner, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    /// The envelope id.
    pub envelope_id: String,
    /// True for one we sent, false for one we received.
    pub sent: bool,
    /// The envelope's bytes, exactly as they crossed.
    pub bytes: Vec<u8>,
    /// Where our log recorded its receipt (received envelopes).
    pub log_index: Option<u64>,
}

/// Every delivered envelope to `peer` and every envelope from it (one it
/// refused for good was not delivered).
pub(crate) fn exchanged(conn: &Connection, peer: &str) -> Result<Vec<Exchanged>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut out = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT envelope_id, bytes FROM outbox
             WHERE recipient = ?1 AND delivered_at IS NOT NULL AND refused_at IS NULL
             ORDER BY envelope_id",
        )?;
        let rows = stmt.query_map([peer], |r| {
            Ok(Exchanged {
                envelope_id: r.get(0)?,
                sent: true,
                bytes: r.get(1)?,
                log_index: None,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    {
        let mut stmt = tx.prepare(
            "SELECT envelope_id, bytes, log_index FROM inbox WHERE sender = ?1 ORDER BY envelope_id",
        )?;
        let rows = stmt.query_map([peer], |r| {
            Ok(Exchanged {
                envelope_id: r.get(0)?,
                sent: false,
                bytes: r.get(1)?,
                log_index: r.get::<_, Option<i64>>(2)?.map(|i| i.max(0) as u64),
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The code at the end of a stored refusal reason: `… (code)`.
pub(crate) fn refusal_code(reason: &str) -> &str {
    reason
        .strip_suffix(')')
        .and_then(|r| r.rsplit_once('('))
        .map(|(_, code)| code)
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .unwrap_or("other")
}

/// Reads the figures in one read transaction.
pub(crate) fn read(conn: &Connection, now: Timestamp) -> Result<Operations, StoreError> {
    let now_ms = now.unix_millis();
    let tx = conn.unchecked_transaction()?;
    let mut ops = Operations::default();
    {
        let mut stmt = tx.prepare(
            "SELECT recipient,
                    SUM(delivered_at IS NULL),
                    MIN(CASE WHEN delivered_at IS NULL THEN created END),
                    SUM(delivered_at IS NOT NULL AND refused_at IS NULL),
                    SUM(CASE WHEN delivered_at IS NULL THEN attempts ELSE MAX(attempts - 1, 0) END)
             FROM outbox GROUP BY recipient",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        for row in rows {
            let (party, queued, oldest, delivered, failed) = row?;
            ops.outbox.insert(
                party,
                PartnerOutbox {
                    queued: queued.max(0) as u64,
                    oldest_secs: oldest.map_or(0, |t| ((now_ms - t).max(0) / 1000) as u64),
                    delivered: delivered.max(0) as u64,
                    failed_attempts: failed.max(0) as u64,
                },
            );
        }
    }
    {
        let mut stmt = tx.prepare("SELECT reason, COUNT(*) FROM refusals GROUP BY reason")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (reason, n) = row?;
            *ops.refusals
                .entry(refusal_code(&reason).to_owned())
                .or_default() += n.max(0) as u64;
        }
    }
    // Awaiting us: received or with an officer; awaiting the partner:
    // queued or delivered without a decision.
    for (direction, first, second, slot) in [
        (
            "incoming",
            "received",
            "awaiting_officer",
            &mut ops.overdue_incoming,
        ),
        ("outgoing", "queued", "delivered", &mut ops.overdue_outgoing),
    ] {
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM proposals
             WHERE direction = ?1 AND deadline < ?2 AND state IN (?3, ?4)",
            rusqlite::params![direction, now_ms, first, second],
            |r| r.get(0),
        )?;
        *slot = n.max(0) as u64;
    }
    let max: Option<i64> = tx.query_row("SELECT MAX(idx) FROM log_leaves", [], |r| r.get(0))?;
    ops.log_size = max.map_or(0, |m| m as u64 + 1);
    let latest: Option<(i64, i64)> = tx
        .query_row(
            "SELECT size, at FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if let Some((size, at)) = latest {
        ops.checkpoint_size = size.max(0) as u64;
        ops.checkpoint_age_secs = Some(((now_ms - at).max(0) / 1000) as u64);
    }
    {
        let mut stmt =
            tx.prepare("SELECT witness, MAX(size) FROM cosignatures GROUP BY witness")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (witness, size) = row?;
            ops.cosigned_size.insert(witness, size.max(0) as u64);
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_codes_are_read_from_the_end_of_the_reason() {
        assert_eq!(
            refusal_code("signature does not verify (bad_signature)"),
            "bad_signature"
        );
        assert_eq!(
            refusal_code("a (note) in the middle (too_large)"),
            "too_large"
        );
        assert_eq!(refusal_code("no code at all"), "other");
        assert_eq!(refusal_code("spaces (not a code)"), "other");
    }

    #[test]
    fn the_commit_histogram_is_cumulative() {
        let times = CommitTimes::default();
        times.record(Duration::from_micros(500));
        times.record(Duration::from_millis(7));
        times.record(Duration::from_secs(9));
        let h = times.snapshot();
        assert_eq!(h.count, 3);
        let at = |bound: u64| {
            h.cumulative
                .iter()
                .find(|(b, _)| *b == bound)
                .map(|(_, n)| *n)
        };
        assert_eq!(at(1), Some(1));
        assert_eq!(at(5), Some(1));
        assert_eq!(at(10), Some(2));
        assert_eq!(at(5000), Some(2));
        assert!((h.sum_seconds - 9.0075).abs() < 1e-6, "{}", h.sum_seconds);
    }
}
