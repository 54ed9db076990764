//! A joint investigation between two live nodes over mutual TLS: the case
//! opened on both sides from the accepted agreement, a member added, an
//! exhibit offered, released under four eyes, fetched with a resume after a
//! cut, opened and exported; the same chain of custody in both logs. And
//! the refusals: the other side administering ours, bytes that do not match
//! the digest, an export that breaks a condition.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_case::{
    Act, AtRest, CHUNK_BYTES, CaseId, CaseKey, CustodyEvent, EXHIBIT_HEADER, ExhibitDigest,
    ExhibitUse, Upload, UseConditions,
};
use soberana_core::{OfficerId, ProposalId, ProposalState, Role};
use soberana_node::{Fetched, Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_wire::{Body, CaseMessage};
use support::case::example_agreement;
use support::{eventually, state};

/// Accepts every proposal at once.
struct Allow;

impl ProposalPolicy for Allow {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(
            Verdict::Allow {
                conditions: Vec::new(),
            },
            &"66".repeat(32),
        )
    }
    fn digest(&self) -> String {
        "66".repeat(32)
    }
}

struct Opened {
    mx: Node,
    us: Node,
    case: CaseId,
    ana: OfficerId,
    eva: OfficerId,
    bob: OfficerId,
}

/// Two running nodes with the case open on both sides.
async fn opened(dir: &std::path::Path) -> (Opened, Vec<soberana_node::RunningNode>) {
    let (mx, us) = support::pair(dir, || Arc::new(Allow));
    let running = vec![mx.start().await.unwrap(), us.start().await.unwrap()];
    let proposal: ProposalId = mx.propose(example_agreement(), None).unwrap().id;
    eventually("the agreement is accepted on both sides", || {
        state(&mx, proposal) == Some(ProposalState::Accepted)
            && state(&us, proposal) == Some(ProposalState::Accepted)
    })
    .await;
    let ana = support::register(&mx, "ana", "MX.FGR", &[Role::Approver]);
    let eva = support::register(&mx, "eva", "MX.FGR", &[Role::Approver]);
    let bob = support::register(&us, "bob", "US.ATF", &[Role::Approver]);
    let case = mx.case_take(proposal, &ana).unwrap();
    assert_eq!(
        us.case_take(proposal, &bob).unwrap(),
        case,
        "one case id on both sides"
    );
    assert_eq!(case, CaseId::for_proposal(&proposal));
    eventually("both sides see both openings", || {
        [&mx, &us]
            .iter()
            .all(|n| n.case(case).is_ok_and(|v| v.case.opened_by.len() == 2))
    })
    .await;
    (
        Opened {
            mx,
            us,
            case,
            ana,
            eva,
            bob,
        },
        running,
    )
}

/// Waits until the US's copy of the case shows the exhibit released.
async fn us_sees_the_release(us: &Node, case: CaseId, digest: ExhibitDigest) {
    eventually("the US sees the release", || {
        us.case(case).is_ok_and(|v| {
            v.case
                .exhibit(&digest)
                .is_some_and(|x| x.status == soberana_case::ExhibitStatus::Released)
        })
    })
    .await;
}

fn exhibit_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhibit_crosses_with_a_resume_and_both_logs_hold_the_same_custody() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = opened(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);

    mx.case_member_add(case, &o.ana, &o.eva, false).unwrap();

    // Three and a half chunks, so the cut falls inside the exhibit.
    let bytes = exhibit_bytes(3 * CHUNK_BYTES + CHUNK_BYTES / 2);
    let file = dir.path().join("ledger-scan.bin");
    std::fs::write(&file, &bytes).unwrap();
    let digest = mx
        .exhibit_add(
            case,
            &o.eva,
            &file,
            "ledger scan",
            UseConditions::strict(90),
        )
        .unwrap();
    assert_eq!(digest, ExhibitDigest::of(&bytes));

    // One approver is not enough to release evidence.
    assert!(
        mx.exhibit_release(case, digest, std::slice::from_ref(&o.ana))
            .is_err()
    );
    mx.exhibit_release(case, digest, &[o.ana.clone(), o.eva.clone()])
        .unwrap();
    us_sees_the_release(us, case, digest).await;

    // The first attempt is cut after one chunk; the second asks for the rest.
    let first = us
        .exhibit_fetch(case, &o.bob, digest, Some(CHUNK_BYTES as u64))
        .await
        .unwrap();
    assert_eq!(
        first,
        Fetched::Cut {
            at: CHUNK_BYTES as u64,
            of: bytes.len() as u64
        }
    );
    let second = us.exhibit_fetch(case, &o.bob, digest, None).await.unwrap();
    assert_eq!(
        second,
        Fetched::Received {
            resumed_from: CHUNK_BYTES as u64,
            bytes: (bytes.len() - CHUNK_BYTES) as u64
        }
    );

    let mut opened = Vec::new();
    us.exhibit_open(case, &o.bob, digest, &mut opened).unwrap();
    assert!(opened == bytes, "the opened exhibit is the contributed one");

    // Court use without the contributor's consent breaks a condition: one
    // refusal in the US log, nothing written.
    let out = dir.path().join("for-court.bin");
    let before = support::case_refusals_logged(us, case);
    let err = us
        .exhibit_export(
            case,
            &o.bob,
            digest,
            ExhibitUse::Court {
                proceedings: "US v. Doe".into(),
            },
            &out,
        )
        .unwrap_err();
    assert!(err.to_string().contains("consent"), "{err}");
    assert!(!out.exists());
    assert_eq!(support::case_refusals_logged(us, case), before + 1);
    us.exhibit_export(case, &o.bob, digest, ExhibitUse::Investigation, &out)
        .unwrap();
    assert!(std::fs::read(&out).unwrap() == bytes);

    // Every act of either side is in both logs, by the same digest.
    eventually("both logs hold the same chain of custody", || {
        let (a, b) = (
            support::case_digests_logged(mx, case),
            support::case_digests_logged(us, case),
        );
        a.len() >= 8 && a == b
    })
    .await;
    let acts: Vec<&str> = mx
        .case(case)
        .unwrap()
        .events
        .iter()
        .map(|e| e.event.act.name())
        .collect();
    for act in [
        "opened",
        "member_added",
        "exhibit_offered",
        "exhibit_released",
        "exhibit_received",
        "exhibit_opened",
        "exhibit_exported",
    ] {
        assert!(acts.contains(&act), "MX holds no `{act}`: {acts:?}");
    }

    // Deleting the bytes keeps the custody.
    us.exhibit_delete(case, &o.bob, digest, "end of retention")
        .unwrap();
    let mut again = Vec::new();
    assert!(us.exhibit_open(case, &o.bob, digest, &mut again).is_err());
    assert!(us.case(case).unwrap().events.len() >= 8);
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_side_cannot_administer_ours() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = opened(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let refusals_before = mx.refusals(100).unwrap().len();
    // The US node signs an act adding its own man to Mexico's side.
    let forged = CustodyEvent {
        case_id: case,
        party: us.party(),
        actor: o.bob.clone(),
        time_ms: 1,
        act: Act::MemberAdded {
            side: mx.party(),
            member: OfficerId::new("mallory").unwrap(),
            administrator: true,
        },
    };
    let proposal = mx.case(case).unwrap().case.proposal_id;
    let bytes = (us.sealer())(
        mx.party(),
        10_000,
        &Body::Case(CaseMessage {
            proposal_id: proposal,
            event: String::from_utf8(forged.canonical()).unwrap(),
        }),
    )
    .bytes()
    .to_vec();
    let (status, reason) = us.send_raw(mx.party(), bytes).await.unwrap();
    assert_eq!(status, 422, "{reason}");
    assert!(reason.contains("only MX's administrators"), "{reason}");
    // The refusal is recorded once, and nothing else.
    assert_eq!(mx.refusals(100).unwrap().len(), refusals_before + 1);
    let members = mx.case(case).unwrap().case.members;
    assert!(members.iter().all(|m| m.officer.as_str() != "mallory"));
    // Our own administrator cannot add to the US side either: the node
    // always acts for its own side, so the only way is refused here too.
    assert!(
        mx.case(case)
            .unwrap()
            .case
            .role_of(us.party(), &o.ana)
            .is_none()
    );
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_match_the_digest_are_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = opened(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let bytes = exhibit_bytes(CHUNK_BYTES + 10);
    let file = dir.path().join("photo.jpg");
    std::fs::write(&file, &bytes).unwrap();
    let digest = mx
        .exhibit_add(case, &o.ana, &file, "photo", UseConditions::strict(30))
        .unwrap();
    mx.exhibit_release(case, digest, &[o.ana.clone(), o.eva.clone()])
        .unwrap();
    // The stored exhibit is swapped for other bytes of the same length,
    // sealed with the case key, as a faulty disk or operator might.
    let case_dir = dir.path().join("MX/cases").join(case.to_string());
    let key: [u8; 32] = std::fs::read(case_dir.join("key"))
        .unwrap()
        .try_into()
        .unwrap();
    let key = CaseKey::from_bytes(key);
    let mut other = bytes.clone();
    other[5] ^= 1;
    let seal = key.exhibit(&case, &digest, AtRest::V2);
    let mut sealed = EXHIBIT_HEADER.to_vec();
    for (i, chunk) in other.chunks(CHUNK_BYTES).enumerate() {
        let mut chunk = chunk.to_vec();
        seal.seal(i as u64, &mut chunk).unwrap();
        sealed.extend(chunk);
    }
    std::fs::write(case_dir.join("exhibits").join(digest.to_string()), sealed).unwrap();
    us_sees_the_release(us, case, digest).await;
    let before = support::case_refusals_logged(us, case);
    let err = us
        .exhibit_fetch(case, &o.bob, digest, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    assert_eq!(
        support::case_refusals_logged(us, case),
        before + 1,
        "one log entry"
    );
    let us_exhibits = dir
        .path()
        .join("US/cases")
        .join(case.to_string())
        .join("exhibits");
    let left: Vec<_> = std::fs::read_dir(&us_exhibits).unwrap().collect();
    assert!(left.is_empty(), "nothing half-stored: {left:?}");
    assert!(
        !us.case(case)
            .unwrap()
            .case
            .exhibit(&digest)
            .unwrap()
            .received
    );
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhibit_stored_in_the_v1_format_still_opens_and_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = opened(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let bytes = exhibit_bytes(2 * CHUNK_BYTES + 7);
    let file = dir.path().join("ledger.csv");
    std::fs::write(&file, &bytes).unwrap();
    let digest = mx
        .exhibit_add(case, &o.ana, &file, "ledger", UseConditions::strict(30))
        .unwrap();
    let case_dir = dir.path().join("MX/cases").join(case.to_string());
    let stored = case_dir.join("exhibits").join(digest.to_string());
    assert!(
        std::fs::read(&stored).unwrap().starts_with(&EXHIBIT_HEADER),
        "a new exhibit is stored in the v2 format"
    );
    // The same exhibit as a node stored it before v2: no header,
    // XChaCha20-Poly1305 under the case key.
    let key: [u8; 32] = std::fs::read(case_dir.join("key"))
        .unwrap()
        .try_into()
        .unwrap();
    let v1 = CaseKey::from_bytes(key).exhibit(&case, &digest, AtRest::V1);
    let mut old = Vec::new();
    for (i, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
        let mut chunk = chunk.to_vec();
        v1.seal(i as u64, &mut chunk).unwrap();
        old.extend(chunk);
    }
    std::fs::write(&stored, &old).unwrap();
    let mut read = Vec::new();
    mx.exhibit_open(case, &o.ana, digest, &mut read).unwrap();
    assert!(read == bytes, "a v1 exhibit opens");

    // It is served from the v1 file and stored in v2 on arrival.
    mx.exhibit_release(case, digest, &[o.ana.clone(), o.eva.clone()])
        .unwrap();
    us_sees_the_release(us, case, digest).await;
    let fetched = us.exhibit_fetch(case, &o.bob, digest, None).await.unwrap();
    assert!(matches!(fetched, Fetched::Received { .. }), "{fetched:?}");
    let us_copy = dir
        .path()
        .join("US/cases")
        .join(case.to_string())
        .join("exhibits")
        .join(digest.to_string());
    assert!(std::fs::read(us_copy).unwrap().starts_with(&EXHIBIT_HEADER));
    let mut read = Vec::new();
    us.exhibit_open(case, &o.bob, digest, &mut read).unwrap();
    assert!(read == bytes, "the received copy opens");

    // A format this version does not know is refused by name, not misread.
    let mut newer = EXHIBIT_HEADER.to_vec();
    newer[16] = 3;
    newer.extend(&old);
    std::fs::write(&stored, &newer).unwrap();
    let err = mx
        .exhibit_open(case, &o.ana, digest, &mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("at-rest format 3"), "{err}");
    for r in running {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_goes_on_from_the_kept_hash_state_and_a_wrong_one_ends_in_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (o, running) = opened(dir.path()).await;
    let (mx, us, case) = (&o.mx, &o.us, o.case);
    let bytes = exhibit_bytes(4 * CHUNK_BYTES + 7);
    let file = dir.path().join("disk-image.bin");
    std::fs::write(&file, &bytes).unwrap();
    let digest = mx
        .exhibit_add(case, &o.ana, &file, "disk image", UseConditions::strict(30))
        .unwrap();
    mx.exhibit_release(case, digest, &[o.ana.clone(), o.eva.clone()])
        .unwrap();
    us_sees_the_release(us, case, digest).await;
    let exhibits = dir
        .path()
        .join("US/cases")
        .join(case.to_string())
        .join("exhibits");
    let kept = || {
        std::fs::read_dir(&exhibits)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "part-progress"))
    };
    let chunk = CHUNK_BYTES as u64;
    let of = bytes.len() as u64;
    let cut = |at| Fetched::Cut { at, of };

    // Each cut keeps the hash state beside the part file; the next attempt
    // goes on from it.
    let fetch = |budget| us.exhibit_fetch(case, &o.bob, digest, budget);
    assert_eq!(fetch(Some(chunk)).await.unwrap(), cut(chunk));
    let progress = kept().expect("the hash state is kept after a cut");
    assert_eq!(fetch(Some(chunk)).await.unwrap(), cut(2 * chunk));

    // Kept state that is not one is set aside: the part is read back.
    std::fs::write(&progress, b"not a hash state").unwrap();
    assert_eq!(fetch(Some(chunk)).await.unwrap(), cut(3 * chunk));

    // A state from other bytes at the same offset is taken, and the digest
    // check refuses the whole at the end: no receipt, nothing kept, one
    // refusal in the log.
    let mut other = Upload::new(digest, of);
    other.push(&vec![0u8; 3 * CHUNK_BYTES]).unwrap();
    std::fs::write(&progress, other.progress()).unwrap();
    let before = support::case_refusals_logged(us, case);
    let err = fetch(None).await.unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    assert_eq!(support::case_refusals_logged(us, case), before + 1);
    let left: Vec<_> = std::fs::read_dir(&exhibits).unwrap().collect();
    assert!(left.is_empty(), "nothing half-stored: {left:?}");

    // Fetched again from the start, it arrives whole.
    assert_eq!(
        fetch(None).await.unwrap(),
        Fetched::Received {
            resumed_from: 0,
            bytes: of
        }
    );
    assert!(kept().is_none(), "the kept state goes with the part file");
    let mut opened = Vec::new();
    us.exhibit_open(case, &o.bob, digest, &mut opened).unwrap();
    assert!(opened == bytes);
    for r in running {
        r.stop().await;
    }
}
