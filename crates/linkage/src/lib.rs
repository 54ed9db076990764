//! Privacy-preserving record linkage of person records between two nodes.
//!
//! Each side normalises its records ([`normalize`], [`record`]) and encodes
//! them into keyed Bloom filters under a secret both agree ([`encoding`],
//! one schema: [`EncodingSchema::person`]). Person matches run as queries
//! ([`query`]): the asker sends the encodings of the records the holder
//! accepted to compare, and the holder compares them with its own by Dice
//! similarity ([`similarity`]), exhaustively or after blocking by
//! locality-sensitive hashing ([`blocking`]), assigns pairs one-to-one above
//! a threshold chosen without labels ([`assign`]), and returns verdicts
//! only, so the holder's encodings never leave it ([`query`] says what each
//! side learns). Nothing here does network or file I/O except
//! [`bench`](mod@bench), which reads benchmark data sets.
//!
//! ```
//! use soberana_linkage::{encoding::{Encoder, EncodingSchema, LinkageSecret}, link, LinkConfig};
//! use soberana_linkage::synth::{planted_records, ALL_CORRUPTIONS};
//!
//! let data = planted_records(60, 40, &ALL_CORRUPTIONS, 7);
//! let secret = LinkageSecret::new(&[42; 32]).unwrap();
//! let encoder = Encoder::new(EncodingSchema::person(), &secret).unwrap();
//! let (a, b) = (encoder.encode_all(&data.a), encoder.encode_all(&data.b));
//! let outcome = link(&a, &b, &LinkConfig::default());
//! assert!(outcome.links.len() >= 30);
//! ```

pub mod assign;
#[cfg(feature = "bench")]
pub mod bench;
pub mod blocking;
pub mod encoding;
pub mod error;
pub mod message;
pub mod normalize;
pub mod query;
pub mod record;
pub mod similarity;
mod sliced;
#[cfg(feature = "bench")]
pub mod synth;

use serde::Serialize;

pub use assign::Link;
pub use blocking::LshConfig;
pub use encoding::{Clk, ClkBatch, Encoder, EncodingSchema, LinkageSecret};
pub use error::{MessageError, ReadError, SchemaError};
pub use message::{EncodingBatch, LinkResult, LinkedPair, PseudonymousId};
pub use record::{ColumnMapping, PersonRecord, ReadOutcome, read_csv};

/// How candidate pairs are found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Blocking {
    /// Every pair is compared (fine up to ~10^5 × 10^5).
    Exhaustive,
    /// Locality-sensitive hashing over the encodings.
    Lsh(LshConfig),
}

/// How the linkage threshold is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Threshold {
    /// A fixed Dice threshold.
    Fixed(f64),
    /// Chosen from the score distribution (see [`assign`]); `fallback` when
    /// the scores are not bimodal.
    Auto {
        /// Threshold used when no valley is found.
        fallback: f64,
    },
}

/// Linkage parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkConfig {
    /// Candidate generation.
    pub blocking: Blocking,
    /// Threshold choice.
    pub threshold: Threshold,
    /// Pairs below this score are never kept as candidates (bounds memory
    /// when blocking; the automatic threshold never goes below it).
    pub floor: f64,
    /// Best candidates kept per requester record in an exhaustive scan.
    pub top_k: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            blocking: Blocking::Exhaustive,
            threshold: Threshold::Auto { fallback: 0.75 },
            floor: 0.0,
            top_k: 4,
        }
    }
}

/// The result of linking two batches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkOutcome {
    /// One-to-one links above the threshold.
    pub links: Vec<Link>,
    /// The threshold applied.
    pub threshold: f64,
    /// Pairs compared.
    pub comparisons: u64,
    /// Candidate pairs kept before assignment.
    pub candidates: usize,
}

/// Links the requester's batch `a` to the partner's batch `b`.
pub fn link(a: &ClkBatch, b: &ClkBatch, config: &LinkConfig) -> LinkOutcome {
    let floor = match config.threshold {
        Threshold::Fixed(t) => t.max(config.floor),
        Threshold::Auto { .. } => config.floor,
    };
    let (candidates, comparisons) = match config.blocking {
        Blocking::Exhaustive => {
            let (c, s) = similarity::scan(
                a,
                b,
                similarity::ScanConfig {
                    floor,
                    top_k: config.top_k,
                    kernel: similarity::Kernel::Sliced,
                },
            );
            (c, s.comparisons)
        }
        Blocking::Lsh(lsh) => {
            let (c, s) = blocking::lsh_candidates(a, b, &lsh, floor);
            (c, s.comparisons)
        }
    };
    let threshold = match config.threshold {
        Threshold::Fixed(t) => t,
        Threshold::Auto { fallback } => {
            assign::choose_threshold(&candidates, fallback).max(config.floor)
        }
    };
    LinkOutcome {
        links: assign::greedy_assign(&candidates, threshold),
        threshold,
        comparisons,
        candidates: candidates.len(),
    }
}

/// Precision, recall and F1 of links against known true pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// True links found.
    pub true_positives: u64,
    /// Links made.
    pub links: u64,
    /// True pairs that exist.
    pub true_pairs: u64,
    /// Share of links that are true.
    pub precision: f64,
    /// Share of true pairs linked.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl Quality {
    /// Scores `links` against `truth` (pairs `(a, b)`).
    pub fn measure(links: &[Link], truth: &[(u32, u32)]) -> Self {
        let truth: std::collections::HashSet<(u32, u32)> = truth.iter().copied().collect();
        let tp = links.iter().filter(|l| truth.contains(&(l.a, l.b))).count() as u64;
        let n_links = links.len() as u64;
        let n_true = truth.len() as u64;
        let ratio = |x: u64, y: u64| if y == 0 { 0.0 } else { x as f64 / y as f64 };
        let precision = ratio(tp, n_links);
        let recall = ratio(tp, n_true);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            true_positives: tp,
            links: n_links,
            true_pairs: n_true,
            precision,
            recall,
            f1,
        }
    }
}
