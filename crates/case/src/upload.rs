//! Exhibit bytes in chunks: the streamed digest check, and the ranges a
//! resumed transfer asks for.
//!
//! An [`Upload`] holds one SHA-256 state and a byte count, never the bytes,
//! so an exhibit of any size passes through in bounded memory. It refuses
//! more bytes than announced as soon as they arrive, and at the end refuses
//! a short or a wrong upload; the caller stores nothing under the exhibit's
//! name until [`Upload::finish`] succeeds.

use std::ops::Range;

use sha2_state::Sha256;
use sha2_state::digest::Digest;
use sha2_state::digest::common::hazmat::{SerializableState, SerializedState};

use crate::{CaseError, ExhibitDigest};

/// The size of one chunk: the unit of sealing at rest and of transfer.
pub const CHUNK_BYTES: usize = 1 << 20;

/// How many chunks an exhibit of `size` bytes has.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_BYTES as u64)
}

/// The byte range of chunk `index` of an exhibit of `size` bytes.
pub fn chunk_range(size: u64, index: u64) -> Range<u64> {
    let start = index.saturating_mul(CHUNK_BYTES as u64).min(size);
    let end = start.saturating_add(CHUNK_BYTES as u64).min(size);
    start..end
}

/// Bytes arriving for an exhibit announced by digest and size.
#[derive(Debug, Clone)]
pub struct Upload {
    expected: ExhibitDigest,
    size: u64,
    seen: u64,
    hasher: Sha256,
}

impl Upload {
    /// Expects `size` bytes hashing to `expected`.
    pub fn new(expected: ExhibitDigest, size: u64) -> Self {
        Self {
            expected,
            size,
            seen: 0,
            hasher: Sha256::new(),
        }
    }

    /// How many bytes have arrived: where a resumed transfer starts.
    pub fn offset(&self) -> u64 {
        self.seen
    }

    /// The range still missing, which a receiver asks for after a cut.
    pub fn remaining(&self) -> Range<u64> {
        self.seen..self.size
    }

    /// Takes the next bytes; refuses them (and keeps the state as it was) if
    /// they would go past the announced size.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), CaseError> {
        let got = self.seen.saturating_add(bytes.len() as u64);
        if got > self.size {
            return Err(CaseError::TooLong {
                expected: self.size,
                got,
            });
        }
        self.hasher.update(bytes);
        self.seen = got;
        Ok(())
    }

    /// Where the upload stands, as bytes to keep beside what it stored: the
    /// byte count and the SHA-256 state after them. [`Upload::resume`]
    /// takes them back, so a resumed transfer does not read and hash again
    /// what it already holds.
    pub fn progress(&self) -> Vec<u8> {
        let mut out = self.seen.to_le_bytes().to_vec();
        out.extend_from_slice(&self.hasher.serialize());
        out
    }

    /// An upload that goes on from `progress` (from [`Upload::progress`]),
    /// or `None` if those bytes are not an upload's progress within `size`.
    pub fn resume(expected: ExhibitDigest, size: u64, progress: &[u8]) -> Option<Self> {
        let (seen, state) = progress.split_at_checked(8)?;
        let seen = u64::from_le_bytes(seen.try_into().ok()?);
        let state = SerializedState::<Sha256>::try_from(state).ok()?;
        let hasher = Sha256::deserialize(&state).ok()?;
        (seen <= size).then_some(Self {
            expected,
            size,
            seen,
            hasher,
        })
    }

    /// Checks the whole: all bytes arrived and they hash to the digest.
    pub fn finish(self) -> Result<ExhibitDigest, CaseError> {
        if self.seen < self.size {
            return Err(CaseError::Truncated {
                expected: self.size,
                got: self.seen,
            });
        }
        let digest: [u8; 32] = self.hasher.finalize().into();
        let got = ExhibitDigest::from_bytes(digest);
        if got != self.expected {
            return Err(CaseError::DigestMismatch {
                expected: self.expected.to_string(),
                got: got.to_string(),
            });
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_resumed_from_its_progress_ends_as_one_that_never_stopped() {
        let bytes: Vec<u8> = (0..3 * 1000).map(|i| (i % 251) as u8).collect();
        let digest = ExhibitDigest::of(&bytes);
        let size = bytes.len() as u64;
        let mut first = Upload::new(digest, size);
        first.push(&bytes[..1000]).unwrap();
        let kept = first.progress();
        let mut resumed = Upload::resume(digest, size, &kept).unwrap();
        assert_eq!(resumed.offset(), 1000);
        resumed.push(&bytes[1000..]).unwrap();
        assert_eq!(resumed.finish().unwrap(), digest);
        // Progress that is not one, or past the size, is not taken.
        assert!(Upload::resume(digest, size, &kept[..20]).is_none());
        assert!(Upload::resume(digest, 999, &kept).is_none());
        // A state from other bytes ends in a mismatch, never a receipt.
        let mut other = Upload::new(digest, size);
        other.push(&[0u8; 1000]).unwrap();
        let mut wrong = Upload::resume(digest, size, &other.progress()).unwrap();
        wrong.push(&bytes[1000..]).unwrap();
        assert!(wrong.finish().is_err());
    }

    #[test]
    fn chunks_cover_the_exhibit_exactly() {
        let size = 3 * CHUNK_BYTES as u64 + 5;
        assert_eq!(chunk_count(size), 4);
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_range(size, 3), 3 * CHUNK_BYTES as u64..size);
        assert_eq!(chunk_range(size, 9), size..size);
    }

    #[test]
    fn bytes_in_pieces_give_the_digest_of_the_whole() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut up = Upload::new(ExhibitDigest::of(&bytes), bytes.len() as u64);
        for piece in bytes.chunks(777) {
            up.push(piece).unwrap();
        }
        assert_eq!(up.finish(), Ok(ExhibitDigest::of(&bytes)));
    }

    #[test]
    fn a_truncated_upload_names_where_to_resume() {
        let mut up = Upload::new(ExhibitDigest::of(b"abcdef"), 6);
        up.push(b"abc").unwrap();
        assert_eq!(up.remaining(), 3..6);
        assert_eq!(
            up.finish(),
            Err(CaseError::Truncated {
                expected: 6,
                got: 3
            })
        );
    }

    #[test]
    fn too_many_bytes_are_refused_on_arrival() {
        let mut up = Upload::new(ExhibitDigest::of(b"ab"), 2);
        assert!(matches!(up.push(b"abc"), Err(CaseError::TooLong { .. })));
        assert_eq!(up.offset(), 0);
    }

    #[test]
    fn bytes_that_do_not_match_the_digest_are_refused() {
        let mut up = Upload::new(ExhibitDigest::of(b"abc"), 3);
        up.push(b"abd").unwrap();
        let err = up.finish().unwrap_err();
        assert!(err.to_string().contains("do not match"), "{err}");
    }
}
