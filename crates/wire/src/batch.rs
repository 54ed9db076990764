//! A batch: several envelopes to one partner in one request.
//!
//! ```text
//! SOBERANA-BATCH/1\n
//! count            u32, big-endian
//! count × (length  u32, big-endian
//!          bytes   one envelope, exactly as sealed)
//! ```
//!
//! The framing carries no signature of its own: every envelope in it is
//! signed, and the receiver verifies and judges each one on its own, as if
//! it had come alone. The entries of one batch are independent: a receiver
//! may take them in any order or at once, so a sender that needs one
//! envelope taken before another sends them in separate requests. A batch
//! is refused whole only when its framing is wrong (truncated, bytes left
//! over, a count that does not match) or over the receiver's bounds.

use crate::WireError;

const MAGIC: &[u8] = b"SOBERANA-BATCH/1\n";

/// The bytes a batch adds to its envelopes: the magic line and the count.
pub const BATCH_OVERHEAD: usize = MAGIC.len() + 4;

/// The bytes each entry adds to its envelope: its length.
pub const ENTRY_OVERHEAD: usize = 4;

/// Frames `envelopes` as one batch.
pub fn encode_batch<B: AsRef<[u8]>>(envelopes: &[B]) -> Vec<u8> {
    let total: usize = envelopes
        .iter()
        .map(|e| e.as_ref().len() + ENTRY_OVERHEAD)
        .sum();
    let mut out = Vec::with_capacity(BATCH_OVERHEAD + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(envelopes.len() as u32).to_be_bytes());
    for envelope in envelopes {
        let bytes = envelope.as_ref();
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Splits a batch into its entries, without looking inside them: each is
/// parsed and verified on its own afterwards. Refuses a batch of more than
/// `max_count` entries (before reading any), an empty one, and any framing
/// that does not account for every byte exactly once.
pub fn decode_batch(bytes: &[u8], max_count: usize) -> Result<Vec<&[u8]>, WireError> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| WireError::Malformed("does not start with `SOBERANA-BATCH/1`".into()))?;
    let (count, mut rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| WireError::Malformed("batch truncated before its count".into()))?;
    let count = u32::from_be_bytes(*count) as usize;
    if count == 0 {
        return Err(WireError::Malformed("the batch holds no envelope".into()));
    }
    if count > max_count {
        return Err(WireError::Malformed(format!(
            "the batch holds {count} envelopes, over the limit of {max_count}"
        )));
    }
    let mut entries = Vec::with_capacity(count);
    for n in 0..count {
        let (len, after) = rest.split_first_chunk::<4>().ok_or_else(|| {
            WireError::Malformed(format!("batch truncated before entry {n}'s length"))
        })?;
        let len = u32::from_be_bytes(*len) as usize;
        if after.len() < len {
            return Err(WireError::Malformed(format!(
                "batch entry {n} says {len} bytes, {} remain",
                after.len()
            )));
        }
        let (entry, after) = after.split_at(len);
        entries.push(entry);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} bytes after the batch's last entry",
            rest.len()
        )));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips() {
        let entries: Vec<Vec<u8>> = vec![b"one".to_vec(), vec![], vec![7u8; 1000]];
        let bytes = encode_batch(&entries);
        let back = decode_batch(&bytes, 3).unwrap();
        assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn bad_framing_is_refused_whole() {
        let bytes = encode_batch(&[b"one".to_vec(), b"two".to_vec()]);
        assert!(decode_batch(&bytes, 1).is_err(), "over the count");
        for cut in 0..bytes.len() {
            assert!(decode_batch(&bytes[..cut], 8).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_batch(&longer, 8).is_err(), "trailing byte");
        assert!(decode_batch(&encode_batch::<Vec<u8>>(&[]), 8).is_err());
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        let error = decode_batch(&huge, 64).unwrap_err().to_string();
        assert!(error.contains("over the limit"), "{error}");
        let mut lying = MAGIC.to_vec();
        lying.extend_from_slice(&1u32.to_be_bytes());
        lying.extend_from_slice(&u32::MAX.to_be_bytes());
        lying.extend_from_slice(b"short");
        assert!(decode_batch(&lying, 8).is_err());
    }
}
