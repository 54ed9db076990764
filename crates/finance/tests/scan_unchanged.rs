//! The typology scan's results pinned on fixed seeds, so that work on its
//! speed cannot change what it finds: the SHA-256 of every alert (kind,
//! account, value, times, evidence, in scan order) on soberana's own
//! generator (seed 1) and on the independent AMLworld-style ledger (seed
//! 2), recorded before the scan was optimised. A change meant to alter the
//! detectors updates these digests in the same commit and says why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sha2::{Digest, Sha256};
use soberana_finance::amlworld::{self, AmlWorldOptions};
use soberana_finance::generate::{self, GenerateOptions};
use soberana_finance::typology::{TypologyConfig, scan, scan_parallel};
use soberana_finance::{Alert, Graph};

/// Hex of the first 16 bytes of SHA-256 over the alerts as JSON.
fn digest(alerts: &[Alert]) -> String {
    let d = Sha256::digest(serde_json::to_vec(alerts).unwrap());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn check(g: &Graph, alerts: usize, want: &str) {
    let found = scan(g, &TypologyConfig::default());
    assert_eq!(
        (found.len(), digest(&found).as_str()),
        (alerts, want),
        "the scan no longer finds what it found before"
    );
    // The parallel scan deals accounts out in blocks and must agree.
    let parallel = scan_parallel(g, &TypologyConfig::default(), 2);
    assert_eq!(digest(&parallel), want);
}

#[test]
fn the_scan_finds_what_it_found_before_on_the_tuning_generator() {
    let (g, _) = generate::build_graph(&GenerateOptions {
        seed: 1,
        transactions: 300_000,
        ..GenerateOptions::default()
    })
    .unwrap();
    check(&g, 84, "1446fdf19758c34a2c6b7fc46df19c21");
}

#[test]
fn the_scan_finds_what_it_found_before_on_the_independent_ledger() {
    let world = amlworld::build(&AmlWorldOptions {
        seed: 2,
        transactions: 300_000,
        ..AmlWorldOptions::default()
    })
    .unwrap();
    check(&world.graph, 243, "b4e985efd3a1069485fed1a40fed9c77");
}
