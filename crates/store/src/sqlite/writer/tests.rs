//! The writer's batches: the optimistic run, and the careful run that a
//! failing change sends its batch to. Each test holds the writer busy with
//! a first change while it queues the others, so that they are taken as one
//! batch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};

use rusqlite::Transaction;
use soberana_core::{PartyCode, ProposalState, Timestamp};
use soberana_wire::{Body, CheckpointRequest, SealedEnvelope};

use super::{Outcome, Pass};
use crate::conformance::{proposal, received, sealer};
use crate::{IntakeEffect, NodeStore, PolicyResponse, Received, SqliteStore, StoreError};

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    (dir, store)
}

/// Holds the writer in a change of its own until the returned sender is
/// dropped or sent to; the changes submitted meanwhile wait together.
fn hold(store: &SqliteStore) -> (SyncSender<()>, Receiver<Outcome>) {
    let (started, running) = mpsc::sync_channel(1);
    let (release, released) = mpsc::sync_channel::<()>(1);
    let held = store
        .submit(move |tx, _| {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER NOT NULL)")?;
            started.send(()).unwrap();
            let _ = released.recv();
            Ok(())
        })
        .unwrap();
    running.recv().unwrap();
    (release, held)
}

/// A change that writes `n` to the test table and fails after writing if
/// `fails`, counting its runs in `runs`.
fn change(store: &SqliteStore, n: i64, fails: bool, runs: &Arc<AtomicUsize>) -> Receiver<Outcome> {
    let runs = Arc::clone(runs);
    store
        .submit(move |tx, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            tx.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
            if fails {
                return Err(StoreError::Conflict(format!("change {n} fails")));
            }
            Ok(n)
        })
        .unwrap()
}

fn value<T: 'static>(answer: &Receiver<Outcome>) -> Result<T, StoreError> {
    answer
        .recv()
        .unwrap()
        .map(|v| *v.downcast::<T>().expect("the type submitted"))
}

fn rows(store: &SqliteStore) -> Vec<i64> {
    store
        .read(|c| {
            let mut stmt = c.prepare("SELECT n FROM t ORDER BY rowid")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
        .unwrap()
}

fn inbox(store: &SqliteStore) -> i64 {
    store
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM inbox", [], |r| r.get(0))?))
        .unwrap()
}

fn runs() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[test]
fn a_batch_that_succeeds_runs_each_change_once() {
    let (_dir, store) = open();
    let (release, held) = hold(&store);
    let counts = [runs(), runs(), runs()];
    let answers: Vec<_> = (0..3)
        .map(|i| change(&store, i as i64 + 1, false, &counts[i]))
        .collect();
    release.send(()).unwrap();
    value::<()>(&held).unwrap();
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(value::<i64>(answer).unwrap(), i as i64 + 1);
    }
    assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    assert_eq!(rows(&store), vec![1, 2, 3]);
}

#[test]
fn a_failing_change_is_undone_alone_and_its_neighbours_committed_once() {
    let (_dir, store) = open();
    let (release, held) = hold(&store);
    let (before, failing, after) = (runs(), runs(), runs());
    let answers = [
        change(&store, 1, false, &before),
        change(&store, 2, true, &failing),
        change(&store, 3, false, &after),
    ];
    release.send(()).unwrap();
    value::<()>(&held).unwrap();
    assert_eq!(value::<i64>(&answers[0]).unwrap(), 1);
    assert!(matches!(
        value::<i64>(&answers[1]),
        Err(StoreError::Conflict(m)) if m == "change 2 fails"
    ));
    assert_eq!(value::<i64>(&answers[2]).unwrap(), 3);
    // The first ran in the optimistic run and again in the careful one;
    // the last only in the careful one, the optimistic run having stopped
    // at the failure.
    assert_eq!(before.load(Ordering::SeqCst), 2);
    assert_eq!(failing.load(Ordering::SeqCst), 2);
    assert_eq!(after.load(Ordering::SeqCst), 1);
    // Nothing of the failing change, and the first one's row once.
    assert_eq!(rows(&store), vec![1, 3]);
}

#[test]
fn a_change_run_again_seals_and_numbers_its_envelope_once() {
    let (_dir, store) = open();
    let mx = PartyCode::new("MX").unwrap();
    let peer = PartyCode::new("CA").unwrap();
    let sealer = sealer(mx);
    let log = store.log_size().unwrap();
    let (release, held) = hold(&store);
    let queued = store
        .submit(move |tx, _| {
            let body = Body::Checkpoint(CheckpointRequest {
                add_checkpoint: "old 0\n\nx".into(),
                restart: None,
            });
            super::super::queue(tx, &sealer, peer, &body, Timestamp::now())
        })
        .unwrap();
    let failing = change(&store, 2, true, &runs());
    release.send(()).unwrap();
    value::<()>(&held).unwrap();
    let envelope = value::<SealedEnvelope>(&queued).unwrap();
    assert!(failing.recv().unwrap().is_err());
    assert_eq!(envelope.header().sequence, 1, "the number is taken once");
    assert_eq!(
        store.queued_envelope_ids(peer).unwrap(),
        vec![envelope.header().id.to_string()],
        "the envelope answered is the one kept, and the only one"
    );
    assert_eq!(store.log_size().unwrap(), log + 1, "one log entry");
}

fn review(p: &soberana_core::Proposal) -> Received {
    received(
        p,
        IntakeEffect::Proposal {
            proposal: Box::new(p.clone()),
            response: Box::new(PolicyResponse::Review),
            verdict: "{}".into(),
        },
    )
}

fn state(store: &SqliteStore, p: &soberana_core::Proposal) -> Option<ProposalState> {
    store.proposal(p.id).unwrap().map(|d| d.record.state)
}

type EachOutcome = Vec<Result<crate::Taken, StoreError>>;

#[test]
fn entries_received_together_fail_alone_in_a_batch_with_other_changes() {
    let (_dir, store) = open();
    let (mx, us) = (PartyCode::new("MX").unwrap(), PartyCode::new("US").unwrap());
    let [a, b, c, d] = [(); 4].map(|()| proposal(us, mx).unwrap());
    // `b` is stored first, so that it is a replay in the batch below; it
    // tells what one entry costs the log.
    let log = store.log_size().unwrap();
    let replay = review(&b);
    store.receive(replay.clone(), sealer(mx)).unwrap();
    let one = store.log_size().unwrap() - log;
    let log = log + one;

    let (release, held) = hold(&store);
    let before = runs();
    let first = change(&store, 1, false, &before);
    let each = store
        .submit(super::super::receive_each_work(
            vec![review(&a), replay, review(&c)],
            sealer(mx),
        ))
        .unwrap();
    let alone = store
        .submit(super::super::receive_each_work(
            vec![review(&d)],
            sealer(mx),
        ))
        .unwrap();
    release.send(()).unwrap();
    value::<()>(&held).unwrap();

    assert_eq!(value::<i64>(&first).unwrap(), 1);
    let each = value::<EachOutcome>(&each).unwrap();
    assert!(
        matches!(
            each.as_slice(),
            [Ok(_), Err(StoreError::Duplicate(_)), Ok(_)]
        ),
        "{each:?}"
    );
    assert!(matches!(
        value::<EachOutcome>(&alone).unwrap().as_slice(),
        [Ok(_)]
    ));
    assert_eq!(before.load(Ordering::SeqCst), 2, "the batch ran carefully");
    for p in [&a, &c, &d] {
        assert_eq!(state(&store, p), Some(ProposalState::AwaitingOfficer));
    }
    assert_eq!(rows(&store), vec![1]);
    // Three envelopes received, each logged once with its proposal's
    // events, as when each came alone.
    assert_eq!(store.log_size().unwrap(), log + 3 * one);
    assert_eq!(inbox(&store), 4, "b once before the batch, and a, c and d");
}

#[test]
fn entries_received_in_a_batch_that_runs_again_are_stored_once() {
    let (_dir, store) = open();
    let (mx, us) = (PartyCode::new("MX").unwrap(), PartyCode::new("US").unwrap());
    let [a, b] = [(); 2].map(|()| proposal(us, mx).unwrap());
    let (release, held) = hold(&store);
    let each = store
        .submit(super::super::receive_each_work(
            vec![review(&a), review(&b)],
            sealer(mx),
        ))
        .unwrap();
    let failing = change(&store, 9, true, &runs());
    release.send(()).unwrap();
    value::<()>(&held).unwrap();
    let each = value::<EachOutcome>(&each).unwrap();
    assert!(matches!(each.as_slice(), [Ok(_), Ok(_)]), "{each:?}");
    assert!(failing.recv().unwrap().is_err());
    assert_eq!(inbox(&store), 2);
    assert!(rows(&store).is_empty());
    for p in [&a, &b] {
        assert_eq!(state(&store, p), Some(ProposalState::AwaitingOfficer));
    }
}

/// The pass a change is told matches what the writer does: optimistic
/// first, careful only after a failure.
#[test]
fn a_change_is_told_its_run() {
    let (_dir, store) = open();
    let (release, held) = hold(&store);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let told = store
        .submit(move |_: &Transaction<'_>, pass| {
            record.lock().unwrap().push(pass);
            Ok(())
        })
        .unwrap();
    let failing = change(&store, 1, true, &runs());
    release.send(()).unwrap();
    value::<()>(&held).unwrap();
    value::<()>(&told).unwrap();
    assert!(failing.recv().unwrap().is_err());
    assert_eq!(*seen.lock().unwrap(), vec![Pass::Optimistic, Pass::Careful]);
}
