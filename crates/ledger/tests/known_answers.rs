//! Known-answer tests against data from outside the project.
//!
//! * RFC 9162 inclusion and consistency vectors from transparency-dev/merkle
//!   `testdata/`, commit 417fb0c314750d94e53942e9f92e79b6d35915db
//!   (Apache-2.0), happy paths and every `wantErr` mutation.
//! * A complete 15-entry C2SP tlog-tiles log from transparency-dev/tessera
//!   `testdata/log`, commit 1811ae1a7c401c971d9cff2a5cfdfba07a26161e
//!   (Apache-2.0): signed checkpoints, hash tiles and entry bundles.
//!
//! * Signed-note examples of golang.org/x/mod/sumdb/note (the reference
//!   implementation) and of the C2SP signed-note specification, quoted in
//!   the tests that use them.
//!
//! The files are read from `shared/testdata` beside the repository, never
//! copied into it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use soberana_ledger::{
    Hash, NodeId, NodeTable, SignedCheckpoint, TreeBuilder, VerifierKey, consistency_proof,
    hash_leaf, inclusion_proof, verify_checkpoint_text, verify_consistency_bytes,
    verify_inclusion_bytes,
};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");
const TESSERA_VKEY: &str =
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

/// Decodes the Go JSON encoding of `[]byte` (base64; `null` or "" = empty).
fn b64(s: &Option<String>) -> Vec<u8> {
    s.as_deref()
        .map(|s| BASE64.decode(s).expect("vector holds valid base64"))
        .unwrap_or_default()
}

fn b64_list(v: &Option<Vec<String>>) -> Vec<Vec<u8>> {
    v.iter()
        .flatten()
        .map(|s| BASE64.decode(s).expect("vector holds valid base64"))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_inclusion_vector_agrees() {
    let files = json_files(&Path::new(TESTDATA).join("merkle/inclusion"));
    assert!(
        files.len() > 50,
        "only {} inclusion vectors found",
        files.len()
    );
    let (mut ok, mut err) = (0, 0);
    for f in &files {
        let p: InclusionProbe = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
        let got = verify_inclusion_bytes(
            p.leaf_idx,
            p.tree_size,
            &b64(&p.leaf_hash),
            &b64_list(&p.proof),
            &b64(&p.root),
        );
        assert_eq!(
            got.is_err(),
            p.want_err,
            "{} ({}): {got:?}",
            f.display(),
            p.desc
        );
        if p.want_err { err += 1 } else { ok += 1 }
    }
    assert!(ok >= 5 && err > ok, "{ok} happy, {err} refused");
}

#[test]
fn every_consistency_vector_agrees() {
    let files = json_files(&Path::new(TESTDATA).join("merkle/consistency"));
    assert!(
        files.len() > 50,
        "only {} consistency vectors found",
        files.len()
    );
    for f in &files {
        let p: ConsistencyProbe = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
        let got = verify_consistency_bytes(
            p.size1,
            p.size2,
            &b64_list(&p.proof),
            &b64(&p.root1),
            &b64(&p.root2),
        );
        assert_eq!(
            got.is_err(),
            p.want_err,
            "{} ({}): {got:?}",
            f.display(),
            p.desc
        );
    }
}

/// The happy-path vectors were generated from the leaves
/// `["", 0x00, 0x10, 0x2021, 0x3031, 0x40414243, 0x5051525354555657,
/// 0x606162636465666768696a6b6c6d6e6f]` (RFC 6962 test leaves); our
/// generator, fed the same leaves, must produce the same proofs.
#[test]
fn generated_proofs_equal_the_vectors() {
    let leaves: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..=0x6f).collect(),
    ];
    let hashes: Vec<Hash> = leaves.iter().map(|l| hash_leaf(l)).collect();
    let table = NodeTable::from_leaves(&hashes);
    let get = |id: NodeId| table.get(id).ok_or(());
    let mut checked = 0;
    for f in json_files(&Path::new(TESTDATA).join("merkle/inclusion")) {
        if !f.ends_with("happy-path.json") {
            continue;
        }
        let p: InclusionProbe = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        let ours = inclusion_proof(p.leaf_idx, p.tree_size, get).unwrap();
        let ours: Vec<Vec<u8>> = ours.iter().map(|h| h.0.to_vec()).collect();
        assert_eq!(ours, b64_list(&p.proof), "{}", f.display());
        checked += 1;
    }
    for f in json_files(&Path::new(TESTDATA).join("merkle/consistency")) {
        if !f.ends_with("happy-path.json") {
            continue;
        }
        let p: ConsistencyProbe = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        let ours = consistency_proof(p.size1, p.size2, get).unwrap();
        let ours: Vec<Vec<u8>> = ours.iter().map(|h| h.0.to_vec()).collect();
        assert_eq!(ours, b64_list(&p.proof), "{}", f.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} happy paths");
}

/// Splits a C2SP tlog-tiles entry bundle: big-endian u16 length, then bytes.
fn split_bundle(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        out.push(bytes[2..2 + len].to_vec());
        bytes = &bytes[2 + len..];
    }
    out
}

#[test]
fn tessera_log_checkpoints_verify_and_match_recomputed_trees() {
    let dir = Path::new(TESTDATA).join("tessera-log");
    let key = VerifierKey::parse(TESSERA_VKEY).unwrap();
    let words = [
        "one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten", "ileven",
        "twelf", "threeten", "fourten", "fivten",
    ];
    for n in 0..=15u64 {
        let text = fs::read_to_string(dir.join(format!("checkpoint.{n}"))).unwrap();
        let cp = verify_checkpoint_text(&text, TESSERA_VKEY).unwrap();
        assert_eq!(cp.size(), n);
        assert_eq!(cp.origin(), "example.com/log/testdata");
        // Printing the parsed note gives back the exact bytes.
        assert_eq!(
            SignedCheckpoint::verify(&text, &key).unwrap().to_text(),
            text
        );

        let mut builder = TreeBuilder::new();
        if n > 0 {
            let bundle = fs::read(dir.join(format!("tile/entries/000.p/{n}"))).unwrap();
            let entries = split_bundle(&bundle);
            assert_eq!(entries.len() as u64, n);
            let tile = fs::read(dir.join(format!("tile/0/000.p/{n}"))).unwrap();
            assert_eq!(tile.len() as u64, 32 * n);
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(e.as_slice(), words[i].as_bytes());
                let leaf = hash_leaf(e);
                // The level-0 hash tile holds exactly our leaf hashes.
                assert_eq!(
                    &tile[32 * i..32 * (i + 1)],
                    leaf.as_bytes(),
                    "tile {n} hash {i}"
                );
                builder.push(leaf);
            }
        }
        assert_eq!(builder.root(), *cp.root(), "root of checkpoint.{n}");
    }
    // The unsuffixed `checkpoint` is the latest one.
    let latest = fs::read_to_string(dir.join("checkpoint")).unwrap();
    assert_eq!(
        verify_checkpoint_text(&latest, TESSERA_VKEY)
            .unwrap()
            .size(),
        15
    );
}

#[test]
fn tessera_checkpoints_are_refused_when_tampered_or_with_the_wrong_key() {
    let text = fs::read_to_string(Path::new(TESTDATA).join("tessera-log/checkpoint.15")).unwrap();
    let other = "example.com/log/testdata+00000000+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
    assert!(verify_checkpoint_text(&text, other).is_err());
    let altered = text.replacen("\n15\n", "\n14\n", 1);
    assert!(verify_checkpoint_text(&altered, TESSERA_VKEY).is_err());
    let mut sig_flipped = text.clone().into_bytes();
    let at = sig_flipped.len() - 10;
    sig_flipped[at] = if sig_flipped[at] == b'A' { b'B' } else { b'A' };
    assert!(
        verify_checkpoint_text(&String::from_utf8(sig_flipped).unwrap(), TESSERA_VKEY).is_err()
    );
}

/// The signed-note example of Go's reference implementation,
/// golang.org/x/mod/sumdb/note (package documentation and `note_test.go`):
/// Ed25519 is deterministic, so signing the text with the published key must
/// give the published signature byte for byte.
#[test]
fn go_sumdb_note_vectors() {
    use soberana_ledger::{Note, NoteSigner};
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let enoch = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let peter_sig = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let enoch_sig = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    let signer = NoteSigner::from_skey(skey).unwrap();
    assert_eq!(signer.verifier().to_string(), vkey);
    let mut note = Note::new(text).unwrap();
    note.sign(&signer, 0).unwrap();
    assert_eq!(note.to_text(), format!("{text}\n{peter_sig}"));

    let both = Note::parse(&format!("{text}\n{peter_sig}{enoch_sig}")).unwrap();
    let (p, e) = (
        VerifierKey::parse(vkey).unwrap(),
        VerifierKey::parse(enoch).unwrap(),
    );
    assert_eq!(
        both.verify(&[&p]).unwrap().len(),
        1,
        "EnochRoot is unknown and ignored"
    );
    assert_eq!(both.verify(&[&p, &e]).unwrap().len(), 2);

    // Manglings of the private key are refused (as the reference's TestNewSigner does).
    let bytes = skey.as_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] = b[i].wrapping_add(1);
        if let Ok(k) = String::from_utf8(b) {
            assert!(
                NoteSigner::from_skey(&k).is_err(),
                "accepted mangled key at byte {i}"
            );
        }
        assert!(NoteSigner::from_skey(&skey[..i]).is_err());
    }
    // Wrong-length key and unknown algorithm, with adjusted key hashes, from the same tests.
    assert!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
}

/// The worked example of the C2SP signed-note specification, C2SP/C2SP
/// `signed-note.md` at commit d4c16da5e7687a016619074e78dad84b2c7238cc.
#[test]
fn c2sp_signed_note_example() {
    use soberana_ledger::Note;
    let key =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
            .unwrap();
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let parsed = Note::parse(note).unwrap();
    assert_eq!(parsed.text(), "This is an example message.\n");
    assert_eq!(parsed.verify(&[&key]).unwrap().len(), 1);
    assert!(
        Note::parse(&note.replace("example message", "example massage"))
            .unwrap()
            .verify(&[&key])
            .is_err()
    );
}
