//! At-rest sealing of exhibit chunks with the case's key.
//!
//! An exhibit file is sealed chunk by chunk, each chunk its ciphertext and
//! a 16-byte tag, so any chunk opens on its own and a transfer resumes from
//! the last whole one. Two formats exist:
//!
//! - **v2** (written now): the file starts with the 32-byte
//!   [`EXHIBIT_HEADER`] (`soberana exhibit`, the version byte 2, zeros).
//!   Chunks are sealed with AES-256-GCM (ring, on the CPU's AES
//!   instructions) under a key drawn for that exhibit alone: HKDF-SHA-256
//!   of the case key, salted with the case id, over the exhibit's digest.
//!   The nonce is the chunk's index and the associated data the case id, so
//!   no nonce repeats under one key (one exhibit per digest per case) and a
//!   chunk moved to another exhibit, position or case does not open.
//! - **v1** (read only): no header; XChaCha20-Poly1305 under the case key,
//!   the nonce the first 16 bytes of the digest and the chunk's index, the
//!   case id as associated data. Exhibits stored before v2 keep opening.
//!
//! A file that starts like a header with another version byte is refused
//! with [`CaseError::AtRestFormat`], never read as v1.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use zeroize::Zeroizing;

use crate::{CaseError, CaseId, ExhibitDigest};

/// Bytes a sealed chunk adds to its plaintext (the tag).
pub const SEAL_OVERHEAD: usize = 16;

/// What marks an exhibit file in the v2 format: `soberana exhibit`, the
/// version byte, then zeros (reserved).
const MAGIC: &[u8; 16] = b"soberana exhibit";

/// The length of the header a v2 exhibit file starts with.
pub const EXHIBIT_HEADER_LEN: usize = 32;

/// The header a v2 exhibit file starts with: `soberana exhibit`, the version byte
/// 2, and 15 zeros.
pub const EXHIBIT_HEADER: [u8; EXHIBIT_HEADER_LEN] =
    *b"soberana exhibit\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// The at-rest format of one exhibit file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtRest {
    /// No header, XChaCha20-Poly1305 under the case key (read only).
    V1,
    /// [`EXHIBIT_HEADER`], AES-256-GCM under the exhibit's own key.
    V2,
}

impl AtRest {
    /// The format of a file from its first bytes (as many as it has, up to
    /// [`EXHIBIT_HEADER_LEN`]).
    pub fn of_file_start(start: &[u8]) -> Result<Self, CaseError> {
        if start.len() < EXHIBIT_HEADER_LEN || start.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Ok(Self::V1);
        }
        match start.get(MAGIC.len()) {
            Some(2) if start.get(..EXHIBIT_HEADER_LEN) == Some(EXHIBIT_HEADER.as_slice()) => {
                Ok(Self::V2)
            }
            Some(v) => Err(CaseError::AtRestFormat(*v)),
            None => Ok(Self::V1),
        }
    }

    /// Where the first sealed chunk starts in a file of this format.
    pub fn header_len(self) -> u64 {
        match self {
            Self::V1 => 0,
            Self::V2 => EXHIBIT_HEADER_LEN as u64,
        }
    }
}

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

    /// The sealer of one exhibit's chunks in `format`.
    pub fn exhibit(&self, case: &CaseId, exhibit: &ExhibitDigest, format: AtRest) -> ExhibitSeal {
        let cipher = match format {
            AtRest::V1 => Cipher::V1(XChaCha20Poly1305::new((&*self.key).into())),
            AtRest::V2 => {
                let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, case.as_bytes());
                let prk = salt.extract(&*self.key);
                let info = [
                    b"soberana exhibit at rest v2".as_slice(),
                    exhibit.as_bytes(),
                ];
                let mut key = Zeroizing::new([0u8; 32]);
                // Expanding 32 bytes from HKDF-SHA-256 cannot fail (the
                // limit is 255 hash lengths); an all-zero key would only
                // make every chunk fail to open, never open wrongly.
                if let Ok(okm) = prk.expand(&info, hkdf::HKDF_SHA256) {
                    let _ = okm.fill(&mut *key);
                }
                match UnboundKey::new(&AES_256_GCM, &*key) {
                    Ok(k) => Cipher::V2(Box::new(LessSafeKey::new(k))),
                    Err(_) => Cipher::V1(XChaCha20Poly1305::new((&*self.key).into())),
                }
            }
        };
        ExhibitSeal {
            cipher,
            case: *case.as_bytes(),
            nonce_prefix: exhibit
                .as_bytes()
                .get(..16)
                .and_then(|p| p.try_into().ok())
                .unwrap_or([0; 16]),
        }
    }
}

enum Cipher {
    V1(XChaCha20Poly1305),
    V2(Box<LessSafeKey>),
}

/// Seals and opens the chunks of one exhibit, in place.
pub struct ExhibitSeal {
    cipher: Cipher,
    case: [u8; 16],
    nonce_prefix: [u8; 16],
}

impl std::fmt::Debug for ExhibitSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExhibitSeal({:?})", self.format())
    }
}

impl ExhibitSeal {
    /// The format this sealer reads and writes.
    pub fn format(&self) -> AtRest {
        match self.cipher {
            Cipher::V1(_) => AtRest::V1,
            Cipher::V2(_) => AtRest::V2,
        }
    }

    fn v1_nonce(&self, index: u64) -> XNonce {
        let mut n = [0u8; 24];
        let index = index.to_be_bytes();
        let parts = self.nonce_prefix.iter().chain(index.iter());
        for (to, from) in n.iter_mut().zip(parts) {
            *to = *from;
        }
        XNonce::from(n)
    }

    fn v2_nonce(index: u64) -> Nonce {
        let mut n = [0u8; 12];
        for (to, from) in n.iter_mut().skip(4).zip(index.to_be_bytes()) {
            *to = from;
        }
        Nonce::assume_unique_for_key(n)
    }

    /// Seals chunk `index` in place: `chunk` becomes its ciphertext and
    /// tag, [`SEAL_OVERHEAD`] bytes longer.
    pub fn seal(&self, index: u64, chunk: &mut Vec<u8>) -> Result<(), CaseError> {
        match &self.cipher {
            Cipher::V2(key) => key
                .seal_in_place_append_tag(Self::v2_nonce(index), Aad::from(&self.case), chunk)
                .map_err(|_| CaseError::Unseal(index)),
            Cipher::V1(key) => key
                .encrypt_in_place(&self.v1_nonce(index), &self.case, chunk)
                .map_err(|_| CaseError::Unseal(index)),
        }
    }

    /// Opens sealed chunk `index` in place: `sealed` becomes its plaintext,
    /// or the chunk is damaged (or not this exhibit's) and nothing is
    /// returned.
    pub fn open(&self, index: u64, sealed: &mut Vec<u8>) -> Result<(), CaseError> {
        match &self.cipher {
            Cipher::V2(key) => {
                let plain = key
                    .open_in_place(Self::v2_nonce(index), Aad::from(&self.case), sealed)
                    .map_err(|_| CaseError::Unseal(index))?
                    .len();
                sealed.truncate(plain);
                Ok(())
            }
            Cipher::V1(key) => key
                .decrypt_in_place(&self.v1_nonce(index), &self.case, sealed)
                .map_err(|_| CaseError::Unseal(index)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soberana_core::ProposalId;

    fn sealed(seal: &ExhibitSeal, index: u64, plain: &[u8]) -> Vec<u8> {
        let mut chunk = plain.to_vec();
        seal.seal(index, &mut chunk).unwrap();
        chunk
    }

    fn opened(seal: &ExhibitSeal, index: u64, bytes: &[u8]) -> Result<Vec<u8>, CaseError> {
        let mut chunk = bytes.to_vec();
        seal.open(index, &mut chunk).map(|()| chunk)
    }

    #[test]
    fn a_chunk_opens_only_where_it_was_sealed() {
        for format in [AtRest::V1, AtRest::V2] {
            let key = CaseKey::from_bytes([9; 32]);
            let case = CaseId::for_proposal(&ProposalId::from_bytes([1; 16]));
            let other_case = CaseId::for_proposal(&ProposalId::from_bytes([2; 16]));
            let x = ExhibitDigest::of(b"exhibit");
            let y = ExhibitDigest::of(b"another exhibit");
            let seal = key.exhibit(&case, &x, format);
            assert_eq!(seal.format(), format);
            let chunk = sealed(&seal, 0, b"chunk zero");
            assert_eq!(chunk.len(), 10 + SEAL_OVERHEAD);
            assert_eq!(opened(&seal, 0, &chunk).unwrap(), b"chunk zero");
            assert_eq!(opened(&seal, 1, &chunk), Err(CaseError::Unseal(1)));
            assert!(opened(&key.exhibit(&other_case, &x, format), 0, &chunk).is_err());
            assert!(opened(&key.exhibit(&case, &y, format), 0, &chunk).is_err());
            let other_key = CaseKey::from_bytes([8; 32]);
            assert!(opened(&other_key.exhibit(&case, &x, format), 0, &chunk).is_err());
            let mut flipped = chunk.clone();
            flipped[0] ^= 1;
            assert!(opened(&seal, 0, &flipped).is_err());
            assert_eq!(format!("{key:?}"), "CaseKey(…)");
        }
    }

    #[test]
    fn the_two_formats_do_not_open_each_other() {
        let key = CaseKey::from_bytes([9; 32]);
        let case = CaseId::for_proposal(&ProposalId::from_bytes([1; 16]));
        let x = ExhibitDigest::of(b"exhibit");
        let v1 = key.exhibit(&case, &x, AtRest::V1);
        let v2 = key.exhibit(&case, &x, AtRest::V2);
        assert!(opened(&v2, 0, &sealed(&v1, 0, b"chunk")).is_err());
        assert!(opened(&v1, 0, &sealed(&v2, 0, b"chunk")).is_err());
    }

    #[test]
    fn v1_chunks_stored_earlier_still_open() {
        // A chunk sealed by the v1 code (XChaCha20-Poly1305 under the case
        // key, nonce digest[..16] ‖ index, the case id as associated data).
        use chacha20poly1305::aead::{Aead, Payload};
        let key = CaseKey::from_bytes([9; 32]);
        let case = CaseId::for_proposal(&ProposalId::from_bytes([1; 16]));
        let x = ExhibitDigest::of(b"exhibit");
        let mut nonce = [0u8; 24];
        nonce[..16].copy_from_slice(&x.as_bytes()[..16]);
        nonce[16..].copy_from_slice(&3u64.to_be_bytes());
        let old = XChaCha20Poly1305::new(&[9u8; 32].into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: b"stored before v2",
                    aad: case.as_bytes(),
                },
            )
            .unwrap();
        assert_eq!(AtRest::of_file_start(&old).unwrap(), AtRest::V1);
        let v1 = key.exhibit(&case, &x, AtRest::V1);
        assert_eq!(opened(&v1, 3, &old).unwrap(), b"stored before v2");
    }

    #[test]
    fn the_format_is_read_from_the_file_start() {
        assert_eq!(AtRest::of_file_start(&EXHIBIT_HEADER), Ok(AtRest::V2));
        assert_eq!(&EXHIBIT_HEADER[..16], MAGIC);
        assert_eq!(EXHIBIT_HEADER[16], 2);
        assert!(EXHIBIT_HEADER[17..].iter().all(|b| *b == 0));
        assert_eq!(AtRest::V2.header_len(), EXHIBIT_HEADER_LEN as u64);
        assert_eq!(AtRest::of_file_start(b""), Ok(AtRest::V1));
        assert_eq!(AtRest::of_file_start(&[0xab; 64]), Ok(AtRest::V1));
        let mut newer = EXHIBIT_HEADER;
        newer[16] = 3;
        let err = AtRest::of_file_start(&newer).unwrap_err();
        assert_eq!(err, CaseError::AtRestFormat(3));
        assert!(err.to_string().contains("format 3"), "{err}");
    }
}
