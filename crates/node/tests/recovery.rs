//! A node restored from a backup older than a checkpoint its partner
//! cosigned: the node finds at start that its log is behind, refuses to
//! sign a checkpoint that would conflict (also after a restart, before the
//! partner is asked again), takes back from the partner the envelopes it
//! lost, and declares a log restart that the partner checks, records and
//! cosigns, after which checkpoints are cosigned again. A fork sent without
//! the declaration is still an alarm; a forged, replayed or inflated
//! declaration is refused with nothing recorded but the refusal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/restart.rs"]
mod restart;

use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_behind_a_cosigned_checkpoint_says_so_and_recovers_from_its_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(restart::AcceptAll));
    restart::restored_node_recovers_and_restarts_its_log(dir.path(), mx, us).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_restart_that_fails_in_the_store_leaves_nothing_and_completes_when_declared_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(restart::AcceptAll));
    restart::restored_node_restarts_its_log_after_a_failed_declaration(dir.path(), mx, us).await;
}
