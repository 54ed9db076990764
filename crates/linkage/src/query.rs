//! Person matching by query: the asker sends the encodings of the `k`
//! records a partner accepted to compare; the holder compares them with its
//! own records and returns, for those `k` queries only, which matched, under
//! fresh pseudonyms. The holder's encodings never leave it.
//!
//! This is the path `soberana match persons` runs between two nodes and the
//! one `soberana bench pprl` measures: [`ask`], [`answer`] and
//! [`Asker::read`] are the whole exchange, and both use
//! [`EncodingSchema::person`] and [`run_config`].
//!
//! # What each side learns
//!
//! | | the asker | the holder |
//! |---|---|---|
//! | sends | `k` encodings (one per record it asks about, under fresh random ids) | for each query that matched: the query's position, a fresh pseudonym and the Dice score; the threshold applied |
//! | learns | for each of its `k` queries: matched or not, and a pseudonym the holder alone can map back | the `k` query encodings |
//! | cannot | test any guess against the holder's records except by spending one of its `k` accepted queries on it: nothing derived from the holder's records other than the verdicts arrives, so it has nothing to test a guess against offline | learn anything about the asker's records other than these `k` |
//!
//! **Offline guessing.** An encoding is keyed by the linkage secret both
//! sides hold, so whoever holds a partner's encodings can encode guessed
//! names and birth dates and compare them offline, as often as it likes.
//! The design therefore never sends the holder's encodings: the asker's
//! only view of the holder's records is the verdict list, at most one entry
//! per accepted query. The view does not depend on any holder record that
//! matched none of the queries (shown by the test
//! `the_askers_view_does_not_depend_on_records_it_did_not_ask_about`), so a
//! guess about a person outside the `k` queries cannot be confirmed or
//! refuted from it. Each verdict answers one query, so `k` accepted records
//! bound the asker to `k` guesses.
//!
//! **Bounds the holder enforces** before comparing anything: at most the
//! accepted number of queries ([`QueryError::OverBudget`]), and no query
//! with more set bits than one record can set under the schema
//! ([`EncodingSchema::max_record_popcount`]), so a filter that is the union
//! of several full records is refused rather than answered as one query.
//! A union of a few alternatives of a sparse record (one name with two birth
//! dates) stays under that bound; it still gets one verdict naming at most
//! one holder record.
//!
//! **What the holder learns.** The `k` query encodings, under the shared
//! secret: the holder can test guesses against those `k` records (it learns
//! whom the asker asked about, which an information request about a match
//! would tell it anyway). The asker's other records never leave it. Hiding
//! the queries too would need the comparison itself computed under
//! encryption or in a garbled circuit; blinding the q-grams with an
//! oblivious PRF does not suffice, since the comparing side must see which
//! q-grams agree and can then learn a query's q-grams from its own.
//!
//! **What the holder's disclosure record names.** The reply's digest and
//! size, the number of queries answered, and (kept by the node) the map from
//! each pseudonym returned to its own record: exactly what left.
//!
//! # Messages
//!
//! The query is an [`EncodingBatch`] (its header names the schema digest
//! and the count). The reply is a [`LinkResult`] in strict JSON, where
//! `requester_index` is the query's position in the batch and `partner_id`
//! the holder's fresh pseudonym.

use rand::{CryptoRng, RngCore};

use crate::encoding::{ClkBatch, EncodingSchema};
use crate::error::MessageError;
use crate::message::{EncodingBatch, LinkResult, LinkedPair, PseudonymousId};
use crate::{LinkConfig, Threshold, link};

/// Below this many pairs a fixed Dice threshold is used instead of the one
/// chosen from the score distribution: the unlabelled choice needs enough
/// scored pairs to see a non-match group and a match group, and on small
/// runs it can sit on the exact matches alone.
pub const AUTO_THRESHOLD_PAIRS: usize = 1_000_000;

/// The Dice threshold on small runs. At 0.80 two different people sharing a
/// given name, a surname, place, sex and birth month linked; at 0.85 a pair
/// differing by a whole extra middle name ("Ana de Jesus" / "Ana", Dice
/// ≈ 0.82 with birth date, sex and place) is missed on small runs (large
/// runs choose ≈ 0.65 and keep it).
///
/// Most of that pair's loss is not the extra part's own bigrams: the names
/// field shares about 200 bits among its bigrams, so a part missing on one
/// side changes how many bits *every* shared bigram sets. Setting a fixed 8
/// bits per bigram (up to 200 for the field) counts the part as missing
/// instead: the pair scores ≈ 0.90 and FEBRL4 through the query path goes
/// from F1 0.9995 to 0.9999, but on the planted Mexican-style records with
/// swapped given and family names precision falls from above 0.95 to ≈ 0.91
/// at the threshold chosen without labels (as it does with 10 bits up to
/// 250), so the encoding keeps the shared budget.
pub const SMALL_RUN_THRESHOLD: f64 = 0.85;

/// The linkage parameters of a run comparing `queries` against `held`
/// records: the threshold is chosen without labels from the scores when the
/// run is large enough, fixed otherwise.
pub fn run_config(queries: usize, held: usize) -> LinkConfig {
    if queries.saturating_mul(held) < AUTO_THRESHOLD_PAIRS {
        LinkConfig {
            threshold: Threshold::Fixed(SMALL_RUN_THRESHOLD),
            ..LinkConfig::default()
        }
    } else {
        LinkConfig::default()
    }
}

/// Why a holder refuses a query.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query is not a well-formed batch under our schema, or holds more
    /// queries than were accepted (checked from the header, before reading).
    #[error("{0}")]
    Message(#[from] MessageError),
    /// More queries than the accepted record count.
    #[error("the query holds {asked} records where {accepted} were accepted; nothing was compared")]
    OverBudget {
        /// Queries in the batch.
        asked: u64,
        /// Records accepted.
        accepted: u64,
    },
    /// A query sets more bits than one person's record can.
    #[error(
        "query {index} sets {bits} bits, more than one person's record can set ({max}); it stands for several people, so nothing was compared"
    )]
    NotOneRecord {
        /// The query's position.
        index: usize,
        /// Its set bits.
        bits: u32,
        /// The schema's bound.
        max: u32,
    },
    /// Our own encodings are not under the schema.
    #[error("the held encodings have another length than the schema's")]
    HeldLength,
}

/// The asker's state between sending its queries and reading the reply.
#[derive(Debug, Clone)]
pub struct Asker {
    count: usize,
}

/// Builds the query for `queries` (encoded under [`EncodingSchema::person`]
/// by the asker): the bytes to send, and the state to read the reply with.
pub fn ask<R: RngCore + CryptoRng>(
    schema: &EncodingSchema,
    queries: &ClkBatch,
    rng: &mut R,
) -> Result<(Asker, Vec<u8>), MessageError> {
    let ids: Vec<PseudonymousId> = (0..queries.len())
        .map(|_| PseudonymousId::random(rng))
        .collect();
    let clks: Vec<crate::Clk> = (0..queries.len())
        .filter_map(|i| queries.get(i).map(|w| crate::Clk(w.to_vec())))
        .collect();
    let batch = EncodingBatch::new(schema.digest(), ids, &clks, schema.length_bits)?;
    Ok((
        Asker {
            count: queries.len(),
        },
        batch.to_bytes(),
    ))
}

/// One verdict the asker reads: its query at `query` matched the holder's
/// record known to it as `pseudonym`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The query's position (the asker's own record order).
    pub query: u32,
    /// The holder's fresh pseudonym for the matched record.
    pub pseudonym: PseudonymousId,
    /// Dice similarity.
    pub score: f32,
}

impl Asker {
    /// Reads the holder's reply strictly: every verdict must answer one of
    /// our queries, at most once. Returns the verdicts and the threshold.
    pub fn read(&self, reply: &[u8]) -> Result<(Vec<Verdict>, f64), MessageError> {
        let text = std::str::from_utf8(reply)
            .map_err(|_| MessageError::Json("the reply is not UTF-8".into()))?;
        let result = LinkResult::parse_json(text)?;
        let mut out = Vec::with_capacity(result.pairs.len());
        for p in &result.pairs {
            if p.requester_index as usize >= self.count {
                return Err(MessageError::Json(format!(
                    "the reply answers query {} but we sent {}",
                    p.requester_index, self.count
                )));
            }
            out.push(Verdict {
                query: p.requester_index,
                pseudonym: p.partner_id,
                score: p.score,
            });
        }
        Ok((out, result.threshold))
    }
}

/// What the holder sends back and keeps.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The reply to send.
    pub reply: Vec<u8>,
    /// Each pseudonym sent with the row of our record it stands for.
    pub returned: Vec<(PseudonymousId, u32)>,
    /// Queries compared.
    pub queries: u64,
    /// The threshold applied.
    pub threshold: f64,
}

/// The holder's side: checks the query against what was `accepted`, compares
/// it with `held` (our own encodings under `schema`), and answers the
/// matched queries under fresh pseudonyms.
pub fn answer<R: RngCore + CryptoRng>(
    query: &[u8],
    schema: &EncodingSchema,
    held: &ClkBatch,
    accepted: u64,
    rng: &mut R,
) -> Result<Answer, QueryError> {
    let digest = schema.digest();
    if !held.is_empty() && held.words_per() * 64 != schema.length_bits as usize {
        return Err(QueryError::HeldLength);
    }
    let batch = EncodingBatch::parse(query, &digest, accepted).map_err(|e| match e {
        MessageError::TooMany(asked, accepted) => QueryError::OverBudget { asked, accepted },
        other => QueryError::Message(other),
    })?;
    if batch.length_bits != schema.length_bits {
        return Err(MessageError::BadLength(batch.length_bits).into());
    }
    let max = schema.max_record_popcount();
    if let Some((index, &bits)) = batch
        .clks
        .popcounts()
        .iter()
        .enumerate()
        .find(|(_, b)| **b > max)
    {
        return Err(QueryError::NotOneRecord { index, bits, max });
    }
    let outcome = link(&batch.clks, held, &run_config(batch.clks.len(), held.len()));
    let mut pairs = Vec::with_capacity(outcome.links.len());
    let mut returned = Vec::with_capacity(outcome.links.len());
    for l in &outcome.links {
        let pseudonym = PseudonymousId::random(rng);
        pairs.push(LinkedPair {
            requester_index: l.a,
            partner_id: pseudonym,
            score: l.score,
        });
        returned.push((pseudonym, l.b));
    }
    let result = LinkResult {
        schema_digest: digest.iter().map(|b| format!("{b:02x}")).collect(),
        threshold: outcome.threshold,
        pairs,
    };
    let reply = serde_json::to_vec(&result).map_err(|e| MessageError::Json(e.to_string()))?;
    Ok(Answer {
        reply,
        returned,
        queries: batch.clks.len() as u64,
        threshold: outcome.threshold,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::encoding::{Encoder, LinkageSecret};
    use crate::synth::{ALL_CORRUPTIONS, planted_records};
    use rand::SeedableRng;

    fn encoder() -> Encoder {
        Encoder::new(
            EncodingSchema::person(),
            &LinkageSecret::new(&[5; 32]).unwrap(),
        )
        .unwrap()
    }

    /// The asker's whole view of a run: every verdict (query, score) and the
    /// threshold. Pseudonyms are fresh random bytes and carry nothing.
    fn view(reply: &[u8], asker: &Asker) -> (Vec<(u32, u32)>, u64) {
        let (verdicts, threshold) = asker.read(reply).unwrap();
        let mut v: Vec<(u32, u32)> = verdicts
            .iter()
            .map(|v| (v.query, v.score.to_bits()))
            .collect();
        v.sort_unstable();
        (v, threshold.to_bits())
    }

    /// A holder holding a guessed person or not gives the asker the same
    /// view when the guess is not among its queries: the asker cannot
    /// confirm a guess outside its `k` queries. When the guess is among the
    /// queries, the view differs: that one query is what it costs.
    #[test]
    fn the_askers_view_does_not_depend_on_records_it_did_not_ask_about() {
        let data = planted_records(30, 60, &ALL_CORRUPTIONS, 3);
        let enc = encoder();
        let schema = EncodingSchema::person();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        // The guess: a person the holder may hold, absent from the queries
        // (its clean copy is `data.a[guess_a]`, not among the first ten).
        let &(guess_a, guess_b) = data.truth.iter().find(|(a, _)| *a >= 10).unwrap();
        let mut held = data.b.clone();
        let guessed = held.remove(guess_b as usize);
        let without = enc.encode_all(&held);
        held.push(guessed);
        let with = enc.encode_all(&held);
        let queries = enc.encode_all(&data.a[..10]);
        let (asker, query) = ask(&schema, &queries, &mut rng).unwrap();
        let a = answer(&query, &schema, &without, 10, &mut rng).unwrap();
        let b = answer(&query, &schema, &with, 10, &mut rng).unwrap();
        assert!(!view(&a.reply, &asker).0.is_empty(), "some queries match");
        assert_eq!(view(&a.reply, &asker), view(&b.reply, &asker));
        // Replies are as long whatever the holder holds: only verdicts leave.
        assert_eq!(a.reply.len(), b.reply.len());

        // Spending a query on the guess is what tells the asker.
        let mut asked = data.a[..9].to_vec();
        asked.push(data.a[guess_a as usize].clone());
        let queries = enc.encode_all(&asked);
        let (asker, query) = ask(&schema, &queries, &mut rng).unwrap();
        let a = answer(&query, &schema, &without, 10, &mut rng).unwrap();
        let b = answer(&query, &schema, &with, 10, &mut rng).unwrap();
        assert!(!view(&a.reply, &asker).0.iter().any(|(q, _)| *q == 9));
        assert!(view(&b.reply, &asker).0.iter().any(|(q, _)| *q == 9));
    }

    #[test]
    fn the_holder_refuses_more_queries_than_were_accepted() {
        let data = planted_records(20, 20, &ALL_CORRUPTIONS, 4);
        let enc = encoder();
        let schema = EncodingSchema::person();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let held = enc.encode_all(&data.b);
        let (_, query) = ask(&schema, &enc.encode_all(&data.a[..5]), &mut rng).unwrap();
        assert_eq!(
            answer(&query, &schema, &held, 4, &mut rng).err(),
            Some(QueryError::OverBudget {
                asked: 5,
                accepted: 4
            })
        );
        assert!(answer(&query, &schema, &held, 5, &mut rng).is_ok());
    }

    /// A filter that is the union of several people's encodings would test
    /// them all with one query; it is refused.
    #[test]
    fn a_query_standing_for_several_people_is_refused() {
        let data = planted_records(20, 20, &ALL_CORRUPTIONS, 5);
        let enc = encoder();
        let schema = EncodingSchema::person();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let held = enc.encode_all(&data.b);
        let queries = enc.encode_all(&data.a[..4]);
        let union: Vec<u64> = (0..queries.words_per())
            .map(|w| {
                (0..4)
                    .map(|i| queries.get(i).unwrap()[w])
                    .fold(0, |x, y| x | y)
            })
            .collect();
        let crafted = ClkBatch::from_words(queries.words_per(), union);
        let (_, query) = ask(&schema, &crafted, &mut rng).unwrap();
        assert!(matches!(
            answer(&query, &schema, &held, 1, &mut rng),
            Err(QueryError::NotOneRecord { index: 0, .. })
        ));
        // Every real record passes the bound.
        let max = schema.max_record_popcount();
        assert!(held.popcounts().iter().all(|&b| b <= max));
    }

    #[test]
    fn replies_answering_queries_never_sent_are_refused() {
        let asker = Asker { count: 2 };
        let reply = LinkResult {
            schema_digest: String::new(),
            threshold: 0.8,
            pairs: vec![LinkedPair {
                requester_index: 2,
                partner_id: PseudonymousId([1; 16]),
                score: 0.9,
            }],
        };
        let bytes = serde_json::to_vec(&reply).unwrap();
        assert!(asker.read(&bytes).is_err());
        assert!(asker.read(b"\xff").is_err());
    }
}
