//! Person matches between two real nodes on loopback: the requester learns
//! which of its records the partner likely holds, under pseudonymous ids
//! the partner can map back; only the requester's accepted queries and the
//! holder's verdicts cross, never a name and never the holder's encodings;
//! a partner holding another linkage secret is refused before anything is
//! compared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, state};

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use soberana_core::{ProposalKind, ProposalState};
use soberana_node::sessions::persons::read_person_file;
use soberana_node::sessions::{MatchResult, RequestContext, match_result};
use soberana_node::{Node, PolicyVerdict, ProposalPolicy, Verdict};
use soberana_store::SqliteStore;

struct AllowMatches;

impl ProposalPolicy for AllowMatches {
    fn evaluate(
        &self,
        proposal: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        let verdict = if proposal.kind() == ProposalKind::PersonMatch {
            Verdict::Allow { conditions: vec![] }
        } else {
            Verdict::Review
        };
        support::test_verdict(verdict, &"33".repeat(32))
    }
    fn digest(&self) -> String {
        "33".repeat(32)
    }
}

fn pair(dir: &Path) -> (Node, Node) {
    support::pair(dir, || Arc::new(AllowMatches))
}

const GIVEN: [&str; 12] = [
    "Maria",
    "Jose",
    "Juan",
    "Guadalupe",
    "Francisco",
    "Ana",
    "Luis",
    "Rosa",
    "Carlos",
    "Elena",
    "Miguel",
    "Patricia",
];
const SURNAMES: [&str; 12] = [
    "Hernandez",
    "Garcia",
    "Martinez",
    "Lopez",
    "Gonzalez",
    "Perez",
    "Rodriguez",
    "Sanchez",
    "Ramirez",
    "Cruz",
    "Flores",
    "Gomez",
];
const PLACES: [&str; 4] = ["Culiacan", "Hermosillo", "Tijuana", "Chihuahua"];

/// Person `i` as a CSV row (distinct names and dates for distinct `i`).
fn person(i: usize) -> [String; 7] {
    [
        format!("p{i}"),
        GIVEN[i % 12].to_owned(),
        SURNAMES[(i / 12) % 12].to_owned(),
        SURNAMES[(i * 5 + i / 12 + 3) % 12].to_owned(),
        format!(
            "19{:02}-{:02}-{:02}",
            50 + i % 45,
            1 + i % 12,
            1 + (i * 3) % 28
        ),
        if i.is_multiple_of(2) { "F" } else { "M" }.to_owned(),
        PLACES[i % 4].to_owned(),
    ]
}

const HEADER: &str =
    "id,given_names,paternal_surname,maternal_surname,date_of_birth,sex,place_of_birth\n";

fn csv(rows: &[[String; 7]]) -> String {
    let mut text = HEADER.to_owned();
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

fn set_secret(node: &Node, byte: u8) {
    use std::os::unix::fs::PermissionsExt as _;
    let path = node.linkage_key_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, hex::encode([byte; 32])).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn sent_bytes(node: &Node) -> Vec<Vec<u8>> {
    let path = node.dir().store_path(node.config());
    let conn = SqliteStore::raw_connection(&path).unwrap();
    let mut stmt = conn.prepare("SELECT bytes FROM outbox").unwrap();
    stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requester_learns_which_records_match_and_no_name_crosses() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    set_secret(&mx, 7);
    set_secret(&us, 7);
    // MX holds people 0..40; the US asks about 36..46 with typos in two of
    // the four it shares with MX.
    let held: Vec<[String; 7]> = (0..40).map(person).collect();
    std::fs::write(mx.persons_path(), csv(&held)).unwrap();
    let mut asked: Vec<[String; 7]> = (36..46).map(person).collect();
    for row in &mut asked {
        row[0] = format!("us-{}", row[0]);
    }
    asked[0][2] = asked[0][2].replacen('a', "e", 1);
    asked[1][1] = format!("{}a", asked[1][1]);
    let file = dir.path().join("asked.csv");
    std::fs::write(&file, csv(&asked)).unwrap();
    let records = read_person_file(&file).unwrap();
    assert!(records.rejected.is_empty(), "{:?}", records.rejected);

    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us
        .request_person_match(mx.party(), &records.records, &RequestContext::default())
        .unwrap();
    eventually("the US learns its result", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let detail = us.show(proposal.id).unwrap();
    let answer = detail.answer.clone().unwrap();
    let linked: BTreeSet<&str> = answer.items.iter().map(|i| i.label.as_str()).collect();
    let expected: BTreeSet<&str> = ["us-p36", "us-p37", "us-p38", "us-p39"].into();
    assert_eq!(linked, expected, "{answer:?}");
    assert!(matches!(
        match_result(&detail),
        Some(MatchResult::Hits { .. })
    ));

    // Each linked partner id maps back, on MX only, to the right record.
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(
            mx.dir()
                .root()
                .join(format!("data/responses/{}.json", proposal.id)),
        )
        .unwrap(),
    )
    .unwrap();
    for item in &answer.items {
        let partner = item
            .value
            .split_whitespace()
            .nth(2)
            .unwrap()
            .trim_end_matches(',');
        assert_eq!(
            map.get(partner).map(String::as_str),
            Some(item.label.trim_start_matches("us-")),
            "{item:?}"
        );
    }
    eventually("MX records what left", || {
        !mx.show(proposal.id).unwrap().disclosures.is_empty()
    })
    .await;
    // Every id MX keeps is one it sent: the map names exactly what left.
    assert_eq!(map.len(), answer.items.len());

    // The holder's encodings never leave it: MX sent verdicts only, far
    // fewer bytes than one encoding (128 bytes) per record it holds.
    let mx_sent: usize = sent_bytes(&mx).iter().map(Vec::len).sum();
    assert!(
        mx_sent < held.len() * 128,
        "MX sent {mx_sent} bytes for {} held records",
        held.len()
    );

    for (node, rows) in [(&us, &asked), (&mx, &held)] {
        for bytes in sent_bytes(node) {
            for row in rows.iter() {
                for name in [&row[1], &row[2], &row[3], &row[4]] {
                    // Shorter needles turn up by chance in binary encodings.
                    for needle in [name.clone(), name.to_lowercase()]
                        .into_iter()
                        .filter(|n| n.len() >= 5)
                    {
                        assert!(
                            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                            "{} sent `{needle}`",
                            node.party()
                        );
                    }
                }
            }
        }
    }
    mx_run.stop().await;
    us_run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_with_another_secret_gets_no_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    set_secret(&mx, 7);
    set_secret(&us, 8);
    std::fs::write(
        mx.persons_path(),
        csv(&(0..10).map(person).collect::<Vec<_>>()),
    )
    .unwrap();
    let file = dir.path().join("asked.csv");
    std::fs::write(&file, csv(&(0..3).map(person).collect::<Vec<_>>())).unwrap();
    let records = read_person_file(&file).unwrap();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us
        .request_person_match(mx.party(), &records.records, &RequestContext::default())
        .unwrap();
    eventually("the US learns the session ended", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let Some(MatchResult::Failed { reason }) = match_result(&us.show(proposal.id).unwrap()) else {
        panic!("expected a failure");
    };
    assert!(reason.contains("another linkage secret"), "{reason}");
    assert!(mx.show(proposal.id).unwrap().disclosures.is_empty());
    mx_run.stop().await;
    us_run.stop().await;
}

/// Asks MX (holding `held`, or nothing when `None`) about three people and
/// returns the reason the US is given for the failed match, with every byte
/// MX sent.
async fn failed_match(held: Option<&str>) -> (String, Vec<Vec<u8>>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = pair(dir.path());
    set_secret(&mx, 7);
    set_secret(&us, 7);
    if let Some(text) = held {
        std::fs::write(mx.persons_path(), text).unwrap();
    }
    let file = dir.path().join("asked.csv");
    std::fs::write(&file, csv(&(0..3).map(person).collect::<Vec<_>>())).unwrap();
    let records = read_person_file(&file).unwrap();
    let (mx_run, us_run) = (mx.start().await.unwrap(), us.start().await.unwrap());
    let proposal = us
        .request_person_match(mx.party(), &records.records, &RequestContext::default())
        .unwrap();
    eventually("the US learns the session ended", || {
        state(&us, proposal.id) == Some(ProposalState::Answered)
    })
    .await;
    let Some(MatchResult::Failed { reason }) = match_result(&us.show(proposal.id).unwrap()) else {
        panic!("expected a failure, not a result");
    };
    assert!(mx.show(proposal.id).unwrap().disclosures.is_empty());
    let sent = sent_bytes(&mx);
    let root = mx.dir().root().to_str().unwrap().to_owned();
    mx_run.stop().await;
    us_run.stop().await;
    (reason, sent, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_with_no_records_refuses_instead_of_answering_no_match() {
    for held in [None, Some(HEADER)] {
        let (reason, _, _) = failed_match(held).await;
        assert!(
            reason.contains("holds no person records"),
            "{held:?}: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_holder_file_sends_the_partner_no_path_or_detail() {
    let (reason, sent, root) = failed_match(Some("id,date_of_birth\nA1,1980-01-02\n")).await;
    assert!(
        reason.contains("cannot read its person records"),
        "{reason}"
    );
    assert!(!reason.contains(&root), "{reason}");
    assert!(!reason.contains("persons.csv"), "{reason}");
    for bytes in &sent {
        for needle in [root.as_str(), "persons.csv", "given_names"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "MX sent `{needle}`"
            );
        }
    }
}
