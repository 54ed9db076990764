//! End-to-end linkage on generated records with planted matches: each kind
//! of corruption that hides a person between a Mexican and a US file is
//! applied to the partner's copy, and recall and precision must stay above
//! floors. Sizes are small so the debug-mode run stays fast.

#![allow(clippy::expect_used, reason = "test helpers may fail loudly")]

use soberana_linkage::message::{EncodingBatch, LinkResult, PseudonymousId};
use soberana_linkage::synth::{ALL_CORRUPTIONS, Corruption, planted_records};
use soberana_linkage::{
    Blocking, Encoder, EncodingSchema, LinkConfig, LinkageSecret, LshConfig, Quality, link,
};

fn encoder() -> Encoder {
    let secret = LinkageSecret::new(b"agreed between both parties 32B!").expect("long enough");
    Encoder::new(EncodingSchema::person(), &secret).expect("valid schema")
}

fn run(corruptions: &[Corruption], n: usize, matches: usize, seed: u64) -> (Quality, f64) {
    let data = planted_records(n, matches, corruptions, seed);
    let enc = encoder();
    let (a, b) = (enc.encode_all(&data.a), enc.encode_all(&data.b));
    let out = link(&a, &b, &LinkConfig::default());
    (Quality::measure(&out.links, &data.truth), out.threshold)
}

#[test]
fn each_corruption_alone_keeps_recall_and_precision() {
    // (corruption, recall floor): a missing date removes a fifth of the bits,
    // the hardest case; the others barely move the score.
    let floors = [
        (Corruption::Typo, 0.97),
        (Corruption::DropMaternalSurname, 0.97),
        (Corruption::SwapDayMonth, 0.97),
        (Corruption::MissingDate, 0.90),
        (Corruption::Nickname, 0.95),
        (Corruption::Ascii, 0.99),
        (Corruption::SwapNames, 0.97),
        (Corruption::MiddleName, 0.97),
    ];
    for (i, (c, floor)) in floors.into_iter().enumerate() {
        let (q, t) = run(&[c], 300, 200, 100 + i as u64);
        assert!(
            q.recall >= floor,
            "{c:?}: recall {} < {floor} at threshold {t}",
            q.recall
        );
        // The generator draws from small name lists, so unmatched records
        // have look-alikes; a third of each side is unmatched.
        assert!(
            q.precision >= 0.95,
            "{c:?}: precision {} at threshold {t}",
            q.precision
        );
    }
}

#[test]
fn mixed_corruptions_with_unmatched_records() {
    // A third of each side has no partner: the threshold must keep them out.
    let (q, t) = run(&ALL_CORRUPTIONS, 450, 300, 7);
    assert!(q.recall >= 0.93, "recall {} at threshold {t}", q.recall);
    assert!(
        q.precision >= 0.97,
        "precision {} at threshold {t}",
        q.precision
    );
    assert!(q.f1 >= 0.95, "f1 {}", q.f1);
}

#[test]
fn few_matches_among_many_records() {
    // One record in ten has a partner, as when a short list is checked
    // against a large file: nine in ten best scores are chance, and the
    // threshold must not let the luckiest of them in.
    for seed in [1, 2] {
        let (q, t) = run(&ALL_CORRUPTIONS, 1000, 100, seed);
        assert!(q.recall >= 0.97, "recall {} at threshold {t}", q.recall);
        assert!(
            q.precision >= 0.97,
            "precision {} at threshold {t}",
            q.precision
        );
    }
}

#[test]
fn lsh_blocking_finds_what_exhaustive_finds() {
    let data = planted_records(400, 300, &ALL_CORRUPTIONS, 11);
    let enc = encoder();
    let (a, b) = (enc.encode_all(&data.a), enc.encode_all(&data.b));
    let exhaustive = link(&a, &b, &LinkConfig::default());
    // True pairs of this schema agree on roughly 85% of bits or more.
    let lsh = LshConfig::for_target(12, 0.85, 0.999);
    let blocked = link(
        &a,
        &b,
        &LinkConfig {
            blocking: Blocking::Lsh(lsh),
            ..LinkConfig::default()
        },
    );
    assert!(
        blocked.comparisons < 400 * 400,
        "blocking must compare fewer pairs"
    );
    let qe = Quality::measure(&exhaustive.links, &data.truth);
    let qb = Quality::measure(&blocked.links, &data.truth);
    assert!(
        qb.recall >= qe.recall - 0.03,
        "blocked {qb:?} vs exhaustive {qe:?}"
    );
    assert!(qb.precision >= 0.95, "blocked {qb:?}");
}

#[test]
fn linkage_through_the_wire_format() {
    let data = planted_records(120, 80, &ALL_CORRUPTIONS, 5);
    let enc = encoder();
    // The partner encodes its records and sends them under fresh ids.
    let partner_clks: Vec<_> = data.b.iter().map(|r| enc.encode(r)).collect();
    let ids: Vec<PseudonymousId> = (0..data.b.len())
        .map(|i| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64 ^ 0xa5a5_a5a5).to_le_bytes());
            PseudonymousId(id)
        })
        .collect();
    let sent = EncodingBatch::new(enc.schema_digest(), ids.clone(), &partner_clks, 1024)
        .expect("one id per encoding")
        .to_bytes();
    // The requester parses strictly against its own schema and links.
    let received =
        EncodingBatch::parse(&sent, &enc.schema_digest(), 1_000_000).expect("well-formed batch");
    let ours = enc.encode_all(&data.a);
    let out = link(&ours, &received.clks, &LinkConfig::default());
    let result = LinkResult::from_links(&out.links, &received, out.threshold);
    let text = serde_json::to_string(&result).expect("serialises");
    let back = LinkResult::parse_json(&text).expect("strict parse of our own result");
    // Map the partner ids back to its rows and check against the truth.
    let links: Vec<_> = back
        .pairs
        .iter()
        .map(|p| soberana_linkage::Link {
            a: p.requester_index,
            b: ids
                .iter()
                .position(|i| *i == p.partner_id)
                .expect("known id") as u32,
            score: p.score,
        })
        .collect();
    let q = Quality::measure(&links, &data.truth);
    assert!(q.f1 >= 0.9, "{q:?}");
    // A batch made under another schema is refused, not mislinked.
    let mut schema = EncodingSchema::person();
    schema.fields.pop();
    let other = schema.digest();
    assert!(EncodingBatch::parse(&sent, &other, 1_000_000).is_err());
}
