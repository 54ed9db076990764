//! At-rest sealing of exhibit chunks with the case's key.
//!
//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`). Each chunk's nonce is
//! the first 16 bytes of the exhibit's digest and the chunk's index, so no
//! nonce repeats under one case key (one exhibit per digest per case), and
//! the case id is the associated data, so a chunk moved to another exhibit,
//! position or case does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::{CaseError, CaseId, ExhibitDigest};

/// Bytes a sealed chunk adds to its plaintext (the Poly1305 tag).
pub const SEAL_OVERHEAD: usize = 16;

/// The key that seals a case's exhibits on one node. It never leaves the
/// node; each side has its own.
pub struct CaseKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for CaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseKey(…)")
    }
}

impl CaseKey {
    /// The key from 32 random bytes the node drew.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(bytes),
        }
    }

    /// The key's bytes, to store (in a file only the node reads).
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.key
    }

    fn nonce(exhibit: &ExhibitDigest, index: u64) -> XNonce {
        let mut n = [0u8; 24];
        let index_bytes = index.to_be_bytes();
        let parts = exhibit.as_bytes().iter().take(16).chain(index_bytes.iter());
        for (to, from) in n.iter_mut().zip(parts) {
            *to = *from;
        }
        XNonce::from(n)
    }

    /// Seals chunk `index` of `exhibit`.
    pub fn seal(
        &self,
        case: &CaseId,
        exhibit: &ExhibitDigest,
        index: u64,
        plain: &[u8],
    ) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&*self.key).into());
        // Encryption fails only for plaintexts beyond 256 GiB, far above a chunk.
        cipher
            .encrypt(
                &Self::nonce(exhibit, index),
                Payload {
                    msg: plain,
                    aad: case.as_bytes(),
                },
            )
            .unwrap_or_default()
    }

    /// Opens chunk `index` of `exhibit`, or says it is damaged.
    pub fn open(
        &self,
        case: &CaseId,
        exhibit: &ExhibitDigest,
        index: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CaseError> {
        let cipher = XChaCha20Poly1305::new((&*self.key).into());
        cipher
            .decrypt(
                &Self::nonce(exhibit, index),
                Payload {
                    msg: sealed,
                    aad: case.as_bytes(),
                },
            )
            .map_err(|_| CaseError::Unseal(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soberana_core::ProposalId;

    #[test]
    fn a_chunk_opens_only_where_it_was_sealed() {
        let key = CaseKey::from_bytes([9; 32]);
        let case = CaseId::for_proposal(&ProposalId::from_bytes([1; 16]));
        let other_case = CaseId::for_proposal(&ProposalId::from_bytes([2; 16]));
        let x = ExhibitDigest::of(b"exhibit");
        let sealed = key.seal(&case, &x, 0, b"chunk zero");
        assert_eq!(sealed.len(), 10 + SEAL_OVERHEAD);
        assert_eq!(key.open(&case, &x, 0, &sealed).unwrap(), b"chunk zero");
        assert_eq!(key.open(&case, &x, 1, &sealed), Err(CaseError::Unseal(1)));
        assert!(key.open(&other_case, &x, 0, &sealed).is_err());
        assert!(
            CaseKey::from_bytes([8; 32])
                .open(&case, &x, 0, &sealed)
                .is_err()
        );
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(key.open(&case, &x, 0, &flipped).is_err());
        assert_eq!(format!("{key:?}"), "CaseKey(…)");
    }
}
