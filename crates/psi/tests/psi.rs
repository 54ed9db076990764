//! Both PSI protocols, end to end in memory: cross-checked against each other and against a
//! plain intersection, checked for leaks of plaintext in their messages, and fed malformed and
//! misrouted messages.

// Helpers outside `#[test]` functions panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use soberana_psi::{
    Disclosure, Identifier, IdentifierKind, ParseOptions, Protocol, PsiError, PsiRequester,
    PsiResponder, RequesterOutcome, RequesterStep, ResponderStep, ResponderSummary,
};

const PROTOCOLS: [Protocol; 2] = [Protocol::Dh, Protocol::Ot];

/// Everything that crossed the wire, in order.
struct Transcript {
    to_responder: Vec<Vec<u8>>,
    to_requester: Vec<Vec<u8>>,
}

fn run<T: AsRef<[u8]> + Sync>(
    protocol: Protocol,
    ours: &[T],
    theirs: &[T],
    disclosure: Disclosure,
) -> (RequesterOutcome, ResponderSummary, Transcript) {
    let mut t = Transcript {
        to_responder: vec![],
        to_requester: vec![],
    };
    let (mut requester, mut message) = PsiRequester::start(protocol, ours).unwrap();
    let mut responder = PsiResponder::new(theirs, disclosure).unwrap();
    let mut summary = None;
    loop {
        t.to_responder.push(message.clone());
        let reply = match responder.handle(&message).unwrap() {
            ResponderStep::Send { next, message } => {
                responder = next;
                message
            }
            ResponderStep::Finish {
                message,
                summary: s,
            } => {
                summary = Some(s);
                // A finished responder cannot take more input; the loop ends below.
                responder = PsiResponder::new(theirs, disclosure).unwrap();
                message
            }
        };
        t.to_requester.push(reply.clone());
        match requester.handle(&reply).unwrap() {
            RequesterStep::Send { next, message: m } => {
                requester = next;
                message = m;
            }
            RequesterStep::Done(outcome) => return (outcome, summary.unwrap(), t),
        }
    }
}

/// The plain intersection: positions of `ours` whose item is in `theirs`.
fn expected(ours: &[Vec<u8>], theirs: &[Vec<u8>]) -> Vec<usize> {
    let theirs: HashSet<&Vec<u8>> = theirs.iter().collect();
    (0..ours.len())
        .filter(|i| theirs.contains(&ours[*i]))
        .collect()
}

fn random_items(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(1..40);
            let mut v = vec![0u8; len];
            rng.fill_bytes(&mut v);
            v
        })
        .collect()
}

/// A named pair of sets: the requester's and the responder's.
type Case = (&'static str, Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Named set pairs covering the edge cases.
fn cases() -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261122);
    let shared = random_items(&mut rng, 300);
    let a = random_items(&mut rng, 200);
    let b = random_items(&mut rng, 500);
    let big = random_items(&mut rng, 4096);
    let mut with_dups: Vec<Vec<u8>> = shared[..100].to_vec();
    with_dups.extend_from_slice(&shared[..50]);
    with_dups.extend_from_slice(&a[..30]);
    with_dups.extend_from_slice(&a[..30]);
    let mut theirs_dups = shared[25..200].to_vec();
    theirs_dups.extend_from_slice(&shared[25..60]);
    vec![
        (
            "partial overlap",
            [&shared[..], &a[..]].concat(),
            [&b[..], &shared[..]].concat(),
        ),
        ("duplicates on both sides", with_dups, theirs_dups),
        ("both empty", vec![], vec![]),
        ("requester empty", vec![], b.clone()),
        ("responder empty", a.clone(), vec![]),
        ("disjoint", a.clone(), b.clone()),
        ("identical", shared.clone(), shared.clone()),
        (
            "one against large, hit",
            vec![big[1234].clone()],
            big.clone(),
        ),
        ("one against large, miss", vec![a[0].clone()], big.clone()),
        ("large against one", big.clone(), vec![big[4000].clone()]),
    ]
}

#[test]
fn both_protocols_agree_with_plain_intersection() {
    for (name, ours, theirs) in cases() {
        let want = expected(&ours, &theirs);
        let distinct_asked = ours.iter().collect::<HashSet<_>>().len();
        for protocol in PROTOCOLS {
            let (outcome, summary, _) = run(protocol, &ours, &theirs, Disclosure::Intersection);
            assert_eq!(
                outcome,
                RequesterOutcome::Matches(want.clone()),
                "{name} with {protocol}"
            );
            assert_eq!(summary.asked, distinct_asked, "{name} with {protocol}");
            assert_eq!(summary.protocol, protocol);
        }
    }
}

/// Random sizes and overlaps, with duplicates drawn from a small pool: the two protocols must
/// give the same answer, and that answer must be the plain intersection.
#[test]
fn random_sets_cross_checked() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for round in 0..6 {
        let pool_size = rng.gen_range(1..400);
        let pool = random_items(&mut rng, pool_size);
        let pick = |rng: &mut ChaCha8Rng, n: usize| -> Vec<Vec<u8>> {
            (0..n)
                .map(|_| pool[rng.gen_range(0..pool.len())].clone())
                .collect()
        };
        let (n_ours, n_theirs) = (rng.gen_range(0..300), rng.gen_range(0..300));
        let ours = pick(&mut rng, n_ours);
        let theirs = pick(&mut rng, n_theirs);
        let (dh, _, _) = run(Protocol::Dh, &ours, &theirs, Disclosure::Intersection);
        let (ot, _, _) = run(Protocol::Ot, &ours, &theirs, Disclosure::Intersection);
        assert_eq!(dh, ot, "round {round}");
        assert_eq!(
            dh,
            RequesterOutcome::Matches(expected(&ours, &theirs)),
            "round {round}"
        );
    }
}

#[test]
fn count_only_reveals_the_count_with_dh_and_refuses_ot() {
    for (name, ours, theirs) in cases() {
        let distinct_matches = expected(&ours, &theirs)
            .into_iter()
            .map(|i| &ours[i])
            .collect::<HashSet<_>>()
            .len();
        let (outcome, summary, _) = run(Protocol::Dh, &ours, &theirs, Disclosure::CountOnly);
        assert_eq!(outcome, RequesterOutcome::Count(distinct_matches), "{name}");
        assert_eq!(summary.disclosure, Disclosure::CountOnly);
    }
    let (_, hello) = PsiRequester::start(Protocol::Ot, &[b"x"]).unwrap();
    let responder = PsiResponder::new(&[b"x"], Disclosure::CountOnly).unwrap();
    assert!(matches!(
        responder.handle(&hello),
        Err(PsiError::CountOnlyNeedsDh)
    ));
}

#[test]
fn count_only_reply_is_not_in_query_order() {
    // With count-only disclosure the doubly blinded points come back sorted, so their order
    // cannot tell the requester which of its items matched.
    let items: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let (_, _, t) = run(Protocol::Dh, &items, &items, Disclosure::CountOnly);
    let reply = &t.to_requester[0];
    let doubly: Vec<&[u8]> = reply[7..7 + 64 * 32].chunks(32).collect();
    assert!(doubly.windows(2).all(|w| w[0] <= w[1]));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_plaintext_or_plain_hash_on_the_wire() {
    let options = ParseOptions::default();
    let ids = |lines: &[&str]| -> Vec<Identifier> {
        lines
            .iter()
            .map(|l| Identifier::parse_tagged(l, &options).unwrap())
            .collect()
    };
    let ours = ids(&[
        "phone:+52 55 1234 5678",
        "firearm:Glock/AB123456",
        "email:someone@example.org",
        "clabe:002010077777777771",
    ]);
    let theirs = ids(&[
        "phone:+52 55 1234 5678",
        "plate:US/TX/ABC1234",
        "iban:GB82 WEST 1234 5698 7654 32",
        "aba:021000021/123456789",
    ]);
    assert_eq!(ours[1].kind(), IdentifierKind::Firearm);
    let mut secrets: Vec<Vec<u8>> = vec![];
    for id in ours.iter().chain(&theirs) {
        secrets.push(id.canonical().as_bytes().to_vec());
        secrets.push(id.value().as_bytes().to_vec());
        secrets.push(Sha256::digest(id.canonical()).to_vec());
        secrets.push(Sha256::digest(id.value()).to_vec());
        // Any 12-byte window of a plain hash would also be a leak.
        secrets.push(Sha256::digest(id.canonical())[..12].to_vec());
    }
    for protocol in PROTOCOLS {
        for disclosure in [Disclosure::Intersection, Disclosure::CountOnly] {
            if protocol == Protocol::Ot && disclosure == Disclosure::CountOnly {
                continue;
            }
            let (outcome, _, t) = run(protocol, &ours, &theirs, disclosure);
            assert_ne!(outcome, RequesterOutcome::Matches(vec![]));
            for message in t.to_responder.iter().chain(&t.to_requester) {
                for s in &secrets {
                    assert!(!contains(message, s), "{protocol}: plaintext in a message");
                }
            }
        }
    }
}

/// Replays an honest run live (secrets differ per run) up to round `k`; returns the
/// requester and responder states of that round and the honest message the responder expects.
fn replay(
    protocol: Protocol,
    ours: &[Vec<u8>],
    theirs: &[Vec<u8>],
    k: usize,
) -> (PsiRequester, PsiResponder, Vec<u8>) {
    let (mut req, mut msg) = PsiRequester::start(protocol, ours).unwrap();
    let mut resp = PsiResponder::new(theirs, Disclosure::Intersection).unwrap();
    for _ in 0..k {
        let ResponderStep::Send {
            next,
            message: reply,
        } = resp.handle(&msg).unwrap()
        else {
            unreachable!("the responder finished before round {k}");
        };
        resp = next;
        let RequesterStep::Send { next, message } = req.handle(&reply).unwrap() else {
            unreachable!("the requester finished before round {k}");
        };
        req = next;
        msg = message;
    }
    (req, resp, msg)
}

fn reply_of(step: ResponderStep) -> Vec<u8> {
    match step {
        ResponderStep::Send { message, .. } | ResponderStep::Finish { message, .. } => message,
    }
}

/// Every message of a run, fed in corrupted forms to the state that expects it: each must be
/// refused with an error, never a panic.
#[test]
fn malformed_messages_are_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let ours = random_items(&mut rng, 40);
    let theirs = [&ours[..20], &random_items(&mut rng, 20)[..]].concat();
    for (protocol, rounds) in [(Protocol::Dh, 1), (Protocol::Ot, 2)] {
        for k in 0..rounds {
            let (_, _, honest) = replay(protocol, &ours, &theirs, k);
            for (i, bad) in corruptions(&honest, &mut rng).into_iter().enumerate() {
                let (_, resp, _) = replay(protocol, &ours, &theirs, k);
                assert!(
                    resp.handle(&bad).is_err(),
                    "{protocol}: responder accepted corruption {i} of message {k}"
                );
            }
            let (_, resp, msg) = replay(protocol, &ours, &theirs, k);
            let honest_reply = reply_of(resp.handle(&msg).unwrap());
            for (i, bad) in corruptions(&honest_reply, &mut rng).into_iter().enumerate() {
                // Each corruption needs the requester state of a run whose honest reply has
                // the same shape, which every run's has.
                let (req, _, _) = replay(protocol, &ours, &theirs, k);
                assert!(
                    req.handle(&bad).is_err(),
                    "{protocol}: requester accepted corruption {i} of reply {k}"
                );
            }
        }
    }
}

/// Truncations, trailing bytes, a wrong type byte, a wrong version, and (for messages carrying
/// points or counts) a count bumped by one and a point replaced by an invalid encoding.
fn corruptions(honest: &[u8], rng: &mut ChaCha8Rng) -> Vec<Vec<u8>> {
    let mut out = vec![
        vec![],
        honest[..1].to_vec(),
        honest[..honest.len() - 1].to_vec(),
    ];
    for _ in 0..3 {
        out.push(honest[..rng.gen_range(0..honest.len())].to_vec());
    }
    let mut trailing = honest.to_vec();
    trailing.push(0);
    out.push(trailing);
    let mut wrong_type = honest.to_vec();
    wrong_type[0] ^= 0x40;
    out.push(wrong_type);
    let mut wrong_version = honest.to_vec();
    wrong_version[1] = 99;
    out.push(wrong_version);
    out
}

#[test]
fn invalid_points_and_counts_are_typed_errors() {
    // A DH query whose second point is not a canonical ristretto encoding.
    let (_, query) = PsiRequester::start(Protocol::Dh, &[b"a", b"b"]).unwrap();
    let mut bad = query.clone();
    bad[6 + 32..6 + 64].fill(0xff);
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&bad),
        Err(PsiError::MalformedPoint { index: 1, .. })
    ));
    // The identity point is refused too.
    let mut identity = query.clone();
    identity[6..6 + 32].fill(0);
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&identity),
        Err(PsiError::MalformedPoint { index: 0, .. })
    ));
    // A count that promises more points than the message holds.
    let mut count = query.clone();
    count[2] = 3;
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&count),
        Err(PsiError::Truncated { .. })
    ));
    // A huge count is refused before anything is allocated.
    let mut huge = query.clone();
    huge[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&huge),
        Err(PsiError::BadCount { .. })
    ));

    // An OT hello with a bin count that does not follow from the item count.
    let (_, hello) = PsiRequester::start(Protocol::Ot, &[b"a", b"b"]).unwrap();
    let mut bins = hello.clone();
    bins[6] = bins[6].wrapping_add(1);
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&bins),
        Err(PsiError::BadField { field: "bins", .. })
    ));
    let mut point = hello.clone();
    let len = point.len();
    point[len - 32..].fill(0xff);
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&point),
        Err(PsiError::MalformedPoint { .. })
    ));
    // An unknown first message.
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    assert!(matches!(
        responder.handle(&[0x99, 1]),
        Err(PsiError::UnexpectedMessage { found: 0x99, .. })
    ));
}

#[test]
fn a_message_for_the_other_protocol_is_refused() {
    let (dh_requester, _) = PsiRequester::start(Protocol::Dh, &[b"a"]).unwrap();
    let (_, hello) = PsiRequester::start(Protocol::Ot, &[b"a"]).unwrap();
    let responder = PsiResponder::new(&[b"a"], Disclosure::Intersection).unwrap();
    let ResponderStep::Send {
        message: base_reply,
        ..
    } = responder.handle(&hello).unwrap()
    else {
        panic!("ot responder finished early");
    };
    assert!(matches!(
        dh_requester.handle(&base_reply),
        Err(PsiError::UnexpectedMessage { .. })
    ));
}

#[test]
fn oversized_sets_are_refused() {
    // Checked before any work, with an empty-slice-backed iterator to keep the test cheap.
    let items = vec![[0u8; 0]; soberana_psi::MAX_SET_SIZE + 1];
    assert!(matches!(
        PsiRequester::start(Protocol::Dh, &items),
        Err(PsiError::SetTooLarge(_))
    ));
    assert!(matches!(
        PsiResponder::new(&items, Disclosure::Intersection),
        Err(PsiError::SetTooLarge(_))
    ));
}

/// Random bytes behind each valid type byte, at every state: always an error, never a panic.
#[test]
fn random_garbage_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let ours = random_items(&mut rng, 10);
    let types = [0x11u8, 0x12, 0x21, 0x22, 0x23, 0x24];
    for round in 0..60 {
        let len = rng.gen_range(0..200);
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        if let Some(first) = msg.first_mut() {
            *first = types[round % types.len()];
        }
        if let Some(version) = msg.get_mut(1) {
            *version = 1;
        }
        let responder = PsiResponder::new(&ours, Disclosure::Intersection).unwrap();
        assert!(responder.handle(&msg).is_err());
        for protocol in PROTOCOLS {
            let (requester, _) = PsiRequester::start(protocol, &ours).unwrap();
            assert!(requester.handle(&msg).is_err());
        }
        // The later OT states cost base OTs to reach, so fewer rounds exercise them.
        if round < 12 {
            let (_, resp, _) = replay(Protocol::Ot, &ours, &ours, 1);
            assert!(resp.handle(&msg).is_err());
            let (req, _, _) = replay(Protocol::Ot, &ours, &ours, 1);
            assert!(req.handle(&msg).is_err());
        }
    }
}

/// A responder created for an accepted count refuses a request stating more, in either
/// protocol, before it evaluates or answers anything; at the count it answers as usual.
#[test]
fn a_responder_refuses_more_items_than_it_accepted() {
    let three: [&[u8]; 3] = [b"a", b"b", b"c"];
    for protocol in PROTOCOLS {
        let (_, first) = PsiRequester::start(protocol, &three).unwrap();
        let responder = PsiResponder::accepting(&[b"a"], Disclosure::Intersection, 2).unwrap();
        let err = responder.handle(&first).err().expect("refused");
        assert!(
            matches!(
                err,
                PsiError::MoreThanAccepted {
                    asked: 3,
                    accepted: 2
                }
            ),
            "{protocol}: {err}"
        );
        assert!(err.to_string().contains("3 items where 2 were accepted"));
        let responder = PsiResponder::accepting(&[b"a"], Disclosure::Intersection, 3).unwrap();
        assert!(matches!(
            responder.handle(&first),
            Ok(ResponderStep::Send { .. } | ResponderStep::Finish { .. })
        ));
    }
    // A truncated first message is refused as such, not read past its end.
    let responder = PsiResponder::accepting(&[b"a"], Disclosure::Intersection, 3).unwrap();
    assert!(matches!(
        responder.handle(&[0x21, 1, 0]),
        Err(PsiError::Truncated { .. })
    ));
}
