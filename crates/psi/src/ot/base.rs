//! Base oblivious transfers: Chou and Orlandi, "The Simplest Protocol for Oblivious Transfer",
//! LATINCRYPT 2015 (ePrint 2015/267), on ristretto255, semi-honest.
//!
//! The OT sender picks `a` and sends `A = a·G`. For each transfer `i` the receiver, with
//! choice bit `sᵢ`, picks `bᵢ` and answers `Bᵢ = bᵢ·G + sᵢ·A`. The sender's two keys are
//! `k0ᵢ = H(i, A, Bᵢ, a·Bᵢ)` and `k1ᵢ = H(i, A, Bᵢ, a·(Bᵢ − A))`; the receiver's key is
//! `H(i, A, Bᵢ, bᵢ·A)`, which equals `k_{sᵢ}`. `Bᵢ` is uniformly distributed whatever `sᵢ`
//! is, so the sender learns nothing of the choice; the other key needs `a·bᵢ·G ± a²·G`, which
//! the receiver cannot compute under computational Diffie–Hellman. The choice is applied with
//! a constant-time select. `H` is SHA-256 with domain separation, truncated to an AES-128 key.
//!
//! In the OT extension the roles are reversed (as in IKNP): the PSI requester is the base-OT
//! sender and the responder, whose choice bits are its extension secret `s`, the receiver.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroizing;

/// A 128-bit key for the AES-CTR PRG.
pub(crate) type SeedKey = [u8; 16];

const KEY_DOMAIN: &[u8] = b"soberana-psi/ot/base-key/v1\0";

fn derive_key(i: usize, a: &[u8; 32], b: &[u8; 32], shared: &RistrettoPoint) -> SeedKey {
    let mut h = Sha256::new();
    h.update(KEY_DOMAIN);
    h.update((i as u64).to_le_bytes());
    h.update(a);
    h.update(b);
    h.update(shared.compress().as_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// The base-OT sender's secret and first message.
pub(crate) struct BaseSender {
    a: Zeroizing<Scalar>,
    big_a: RistrettoPoint,
}

impl BaseSender {
    pub(crate) fn new() -> Self {
        let a = Zeroizing::new(Scalar::random(&mut OsRng));
        let big_a = RISTRETTO_BASEPOINT_TABLE * &*a;
        BaseSender { a, big_a }
    }

    /// `A`, compressed.
    pub(crate) fn public(&self) -> [u8; 32] {
        self.big_a.compress().to_bytes()
    }

    /// Both keys of every transfer, from the receiver's points `Bᵢ` (already validated).
    pub(crate) fn keys(&self, bs: &[RistrettoPoint]) -> Vec<(SeedKey, SeedKey)> {
        let a_bytes = self.public();
        bs.par_iter()
            .enumerate()
            .map(|(i, b)| {
                let b_bytes = b.compress().to_bytes();
                let k0 = derive_key(i, &a_bytes, &b_bytes, &(b * *self.a));
                let k1 = derive_key(i, &a_bytes, &b_bytes, &((b - self.big_a) * *self.a));
                (k0, k1)
            })
            .collect()
    }
}

/// The receiver's answer `Bᵢ` for each choice bit and the chosen keys.
pub(crate) fn receive(big_a: &RistrettoPoint, choices: &[bool]) -> (Vec<[u8; 32]>, Vec<SeedKey>) {
    let a_bytes = big_a.compress().to_bytes();
    choices
        .par_iter()
        .enumerate()
        .map(|(i, &c)| {
            let b = Zeroizing::new(Scalar::random(&mut OsRng));
            let base = RISTRETTO_BASEPOINT_TABLE * &*b;
            let shifted = base + big_a;
            let point =
                RistrettoPoint::conditional_select(&base, &shifted, Choice::from(u8::from(c)));
            let b_bytes = point.compress().to_bytes();
            let key = derive_key(i, &a_bytes, &b_bytes, &(big_a * *b));
            (b_bytes, key)
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_gets_exactly_the_chosen_key() {
        let sender = BaseSender::new();
        let choices = [false, true, true, false, true];
        let (points, chosen) = receive(&sender.big_a, &choices);
        let points: Vec<RistrettoPoint> = points
            .iter()
            .map(|p| {
                curve25519_dalek::ristretto::CompressedRistretto(*p)
                    .decompress()
                    .unwrap()
            })
            .collect();
        let keys = sender.keys(&points);
        for (i, &c) in choices.iter().enumerate() {
            let (k0, k1) = keys[i];
            assert_ne!(k0, k1);
            assert_eq!(chosen[i], if c { k1 } else { k0 }, "transfer {i}");
        }
    }
}
