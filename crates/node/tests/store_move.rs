//! A node moved between stores by backup and restore: started on SQLite,
//! with traffic, officers, an analyst's verdict and a checkpoint its
//! partner cosigned, it is backed up, restored onto PostgreSQL, started,
//! and goes on with its partner (a new checkpoint cosigned, no fork); then
//! back onto SQLite the same way. Every table moves whole, the log stays
//! the same bytes, and a receipt issued before the move is issued again the
//! same. Refused: a store that holds rows, a tampered backup, and a move
//! that fails midway, which leaves its destination empty.
//!
//! The database comes from `SOBERANA_TEST_POSTGRES`; without it the tests
//! fail and say how to start one (`scripts/test` does it as root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{eventually, party, state};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use soberana_core::{ProposalDraft, ProposalState, Role, Timestamp};
use soberana_node::{
    BackupManifest, BackupStore, Node, PolicyVerdict, ProposalPolicy, Verdict, restore_moving,
};
use soberana_store::{AlertVerdictRecord, AuditEntry, MoveProgress};

struct AcceptAll;

impl ProposalPolicy for AcceptAll {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &self.digest())
    }
    fn digest(&self) -> String {
        "55".repeat(32)
    }
}

fn database() -> String {
    match std::env::var("SOBERANA_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "SOBERANA_TEST_POSTGRES is not set: these tests move a node onto PostgreSQL. \
             As root on Debian, `scripts/test` installs and starts a server and sets it; \
             by hand see README (Running the tests)"
        ),
    }
}

/// A store URL in a schema no other test uses.
fn fresh_store(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = database();
    let sep = if base.contains('?') { '&' } else { '?' };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{base}{sep}schema=move_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops the schemas a test made when it ends.
struct DropSchemas(Vec<String>);

impl Drop for DropSchemas {
    fn drop(&mut self) {
        for url in &self.0 {
            let _ = soberana_store::PostgresStore::drop_store(url);
        }
    }
}

fn draft(name: &str) -> ProposalDraft {
    let path = format!(
        "{}/../../examples/proposals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut draft: ProposalDraft = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    draft.deadline = Timestamp::now().plus_seconds(3600);
    draft
}

/// US sends `n` border alerts and waits until MX has accepted each.
async fn alerts(us: &Node, mx: &Node, n: usize) -> Vec<soberana_core::ProposalId> {
    let ids: Vec<_> = (0..n)
        .map(|_| us.propose(draft("us-border-alert.toml"), None).unwrap().id)
        .collect();
    for id in &ids {
        let id = *id;
        eventually("MX accepts the alert", || {
            state(mx, id) == Some(ProposalState::Accepted)
                && state(us, id) == Some(ProposalState::Accepted)
        })
        .await;
    }
    ids
}

/// MX signs a checkpoint of its whole log and waits until US cosigned it.
async fn cosigned_checkpoint(mx: &Node) -> u64 {
    let size = mx
        .checkpoint_and_request_cosignatures()
        .unwrap()
        .checkpoint()
        .size();
    eventually("US cosigns MX's checkpoint", || {
        !mx.cosignatures(Some(size)).unwrap().is_empty()
    })
    .await;
    size
}

/// Everything a move must keep, read through the node.
#[derive(Debug, PartialEq)]
struct Kept {
    log_size: u64,
    leaves: Vec<soberana_store::StoredLeaf>,
    checkpoints: Vec<soberana_store::LedgerCheckpoint>,
    cosignatures: Vec<soberana_ledger::StoredCosignature>,
    officers: Vec<soberana_store::OfficerAccount>,
    audit: Vec<AuditEntry>,
    verdicts: Vec<AlertVerdictRecord>,
    us_checkpoints: Vec<soberana_store::PartnerCheckpoint>,
}

fn kept(node: &Node) -> Kept {
    let log_size = node.log_size().unwrap();
    Kept {
        log_size,
        leaves: node.log_leaves(0, log_size).unwrap(),
        checkpoints: node.checkpoints().unwrap(),
        cosignatures: node.cosignatures(None).unwrap(),
        officers: node.officers().officers().unwrap(),
        audit: node.officers().audit_trail(10_000).unwrap(),
        verdicts: node.store_for_tests().alert_verdicts().unwrap(),
        us_checkpoints: node.partner_checkpoints(party("US")).unwrap(),
    }
}

/// Restores `backup` into `dest` on `store`, counting the progress calls.
fn moved(
    backup: &Path,
    dest: &Path,
    store: Option<&str>,
    from: BackupStore,
) -> (BackupManifest, soberana_store::StoreMove) {
    let mut tables_started = 0usize;
    let mut progress = |step: MoveProgress<'_>| {
        if step.done == 0 {
            tables_started += 1;
        }
        assert!(step.done <= step.rows, "{step:?}");
    };
    let restored = restore_moving(backup, dest, store, &mut progress).unwrap();
    let (kind, moved) = restored.moved.expect("the store was moved");
    assert_eq!(kind, from);
    assert!(
        tables_started >= moved.tables.len(),
        "progress named {tables_started} tables of {}",
        moved.tables.len()
    );
    assert_eq!(moved.log_size, restored.manifest.log_size);
    assert_eq!(moved.log_root, restored.manifest.log_root);
    (restored.manifest, moved)
}

/// The envelope of an alert US sent (its first), which MX received.
fn received_envelope(us: &Node, id: soberana_core::ProposalId) -> String {
    us.sent_envelopes(id).unwrap().first().unwrap().0.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_moves_from_sqlite_to_postgres_and_back_and_goes_on_with_its_partner() {
    let store = fresh_store("there");
    let _drop = DropSchemas(vec![store.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();

    // Traffic, an officer with a password hash and an audit trail, a yes/no
    // column, and a checkpoint US cosigned.
    let first = alerts(&us, &mx, 3).await;
    support::register(&mx, "uif.ana", "MX.UIF", &[Role::Approver]);
    mx.store_for_tests()
        .put_alert_verdict(
            AlertVerdictRecord {
                incident: "inc-00000000000000aa".into(),
                confirmed: true,
                reason: "seen twice".into(),
                officer: "uif.ana".into(),
                at: Timestamp::now(),
            },
            AuditEntry {
                at: Timestamp::now(),
                officer: "uif.ana".into(),
                action: "alert_verdict".into(),
                target: "inc-00000000000000aa".into(),
                detail: "confirmed".into(),
            },
        )
        .unwrap();
    let cosigned = cosigned_checkpoint(&mx).await;
    let envelope = received_envelope(&us, first[0]);
    let receipt = mx.receipt_for(&envelope, party("US")).unwrap();
    soberana_ledger::verify_bundle(&receipt).unwrap();

    // The operator stops the node, backs it up and restores it onto
    // PostgreSQL.
    mx_run.stop().await;
    let before = kept(&mx);
    assert!(before.log_size >= cosigned && !before.cosignatures.is_empty());
    let backup = dir.path().join("mx-on-sqlite");
    mx.backup(&backup).unwrap();
    drop(mx);
    let on_pg = dir.path().join("MX-pg");
    let (manifest, moved_there) = moved(&backup, &on_pg, Some(&store), BackupStore::Sqlite);
    assert!(moved_there.rows() > before.log_size, "{moved_there:?}");
    for table in [
        "log_leaves",
        "log_nodes",
        "checkpoints",
        "cosignatures",
        "desk_officers",
    ] {
        assert!(
            moved_there
                .tables
                .iter()
                .any(|t| t.name == table && t.rows > 0),
            "{table} was not moved: {moved_there:?}"
        );
    }
    assert!(
        !on_pg.join("node.sqlite").exists(),
        "the old store was left"
    );
    let mx = Node::open(&on_pg, Arc::new(AcceptAll)).unwrap();
    assert!(mx.store_description().starts_with("postgres://"));
    mx.check_restored(&manifest).unwrap();
    assert_eq!(kept(&mx), before, "the move changed what the node holds");
    assert_eq!(mx.receipt_for(&envelope, party("US")).unwrap(), receipt);
    assert!(mx.audit_log().unwrap().is_ok());

    // It runs on PostgreSQL and goes on with US: new alerts, a new
    // checkpoint US cosigns, which it would refuse for a fork.
    let mx_run = mx.start().await.unwrap();
    alerts(&us, &mx, 2).await;
    let later = cosigned_checkpoint(&mx).await;
    assert!(later > cosigned);
    assert!(mx.check_log_against_partners().await.is_empty());
    assert!(
        us.partner_checkpoints(party("MX"))
            .unwrap()
            .iter()
            .all(|c| c.status != "alarm"),
        "US found MX's log forked"
    );
    mx_run.stop().await;

    // And back onto SQLite.
    let before = kept(&mx);
    let backup = dir.path().join("mx-on-postgres");
    mx.backup(&backup).unwrap();
    drop(mx);
    let on_sqlite = dir.path().join("MX-sqlite");
    let (manifest, moved_back) = moved(&backup, &on_sqlite, None, BackupStore::Postgres);
    assert_eq!(moved_back.tables.len(), moved_there.tables.len());
    assert!(on_sqlite.join("node.sqlite").is_file());
    assert!(!on_sqlite.join("store.postgres").exists());
    let mx = Node::open(&on_sqlite, Arc::new(AcceptAll)).unwrap();
    assert!(!mx.store_description().starts_with("postgres://"));
    mx.check_restored(&manifest).unwrap();
    assert_eq!(
        kept(&mx),
        before,
        "the move back changed what the node holds"
    );
    assert_eq!(
        mx.receipt_for(&envelope, party("US")).unwrap().entry,
        receipt.entry
    );
    let mx_run = mx.start().await.unwrap();
    alerts(&us, &mx, 1).await;
    assert!(cosigned_checkpoint(&mx).await > later);
    assert!(mx.check_log_against_partners().await.is_empty());
    assert!(mx.audit_log().unwrap().is_ok());
    mx_run.stop().await;
    us_run.stop().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of `backup` whose file `rel` was changed by `harm`, with the
/// manifest made to match it (so only the move itself can find it out).
fn forged(backup: &Path, to: &Path, rel: &str, harm: impl FnOnce(&Path)) -> PathBuf {
    copy_dir(backup, to);
    harm(&to.join(rel));
    let bytes = std::fs::read(to.join(rel)).unwrap();
    let manifest_path = to.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    for file in manifest["files"].as_array_mut().unwrap() {
        if file["path"] == rel {
            file["sha256"] = serde_json::Value::String(sha256_hex(&bytes));
            file["bytes"] = serde_json::Value::from(bytes.len());
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    soberana_node::check_backup(to).unwrap();
    to.to_owned()
}

fn refused(backup: &Path, dest: &Path, store: Option<&str>) -> String {
    let err = restore_moving(backup, dest, store, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(!dest.exists(), "a refused move left a folder: {err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_is_refused_whole_and_leaves_its_destination_empty() {
    let (full, empty) = (fresh_store("full"), fresh_store("empty"));
    let _drop = DropSchemas(vec![full.clone(), empty.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let (mx, us) = support::pair(dir.path(), || Arc::new(AcceptAll));
    let us_run = us.start().await.unwrap();
    let mx_run = mx.start().await.unwrap();
    alerts(&us, &mx, 2).await;
    mx_run.stop().await;
    us_run.stop().await;
    let backup = dir.path().join("backup");
    mx.backup(&backup).unwrap();
    let dest = dir.path().join("MX-moved");

    // Into a store that holds rows: refused.
    moved(
        &backup,
        &dir.path().join("first"),
        Some(&full),
        BackupStore::Sqlite,
    );
    let err = refused(&backup, &dest, Some(&full));
    assert!(err.contains("is not empty"), "{err}");

    // A tampered backup: refused before anything is written.
    let tampered = dir.path().join("tampered");
    copy_dir(&backup, &tampered);
    let store = tampered.join("node.sqlite");
    let mut bytes = std::fs::read(&store).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&store, bytes).unwrap();
    let err = refused(&tampered, &dest, Some(&empty));
    assert!(err.contains("does not match the manifest"), "{err}");

    // Failures inside the move, whose manifests were made to match: a
    // text PostgreSQL cannot keep, in a table copied after others, and a
    // log leaf that no longer hashes to its stored hash, found when the
    // root is recomputed after every table was written. Each is one
    // transaction: the store stays empty.
    let sql_harm = |sql: &'static str| {
        move |path: &Path| {
            let conn = soberana_store::SqliteStore::raw_connection(path).unwrap();
            conn.execute_batch(sql).unwrap();
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        }
    };
    let nul = forged(
        &backup,
        &dir.path().join("nul"),
        "node.sqlite",
        sql_harm("UPDATE peers SET card = card || char(0)"),
    );
    let err = refused(&nul, &dest, Some(&empty));
    assert!(err.contains("NUL character"), "{err}");
    let leaf = forged(
        &backup,
        &dir.path().join("leaf"),
        "node.sqlite",
        sql_harm("UPDATE log_leaves SET entry = CAST(entry || x'00' AS BLOB) WHERE idx = 1"),
    );
    let err = refused(&leaf, &dest, Some(&empty));
    assert!(err.contains("does not hash to its stored hash"), "{err}");
    // The store those failures ran into is empty: the whole backup moves
    // into it.
    moved(&backup, &dest, Some(&empty), BackupStore::Sqlite);
    let moved_node = Node::open(&dest, Arc::new(AcceptAll)).unwrap();
    assert_eq!(moved_node.log_size().unwrap(), mx.log_size().unwrap());
    drop(moved_node);

    // Back from PostgreSQL: a table file cut short fails the move into
    // SQLite, and nothing is left.
    let pg_backup = dir.path().join("pg-backup");
    Node::open(&dest, Arc::new(AcceptAll))
        .unwrap()
        .backup(&pg_backup)
        .unwrap();
    let cut = forged(
        &pg_backup,
        &dir.path().join("cut"),
        "store.postgres/proposals.copy",
        |path| {
            let mut bytes = std::fs::read(path).unwrap();
            bytes.truncate(bytes.len() - 10);
            std::fs::write(path, bytes).unwrap();
        },
    );
    let back = dir.path().join("MX-back");
    let err = refused(&cut, &back, None);
    assert!(err.contains("cut short"), "{err}");
    moved(&pg_backup, &back, None, BackupStore::Postgres);

    // There and back, every row of every table is what it was.
    let (original, returned) = (
        every_row(&backup.join("node.sqlite")),
        every_row(&back.join("node.sqlite")),
    );
    assert!(
        original.len() > 20 && original.contains_key("sqlite_sequence"),
        "{:?}",
        original.keys()
    );
    for (table, rows) in &original {
        assert_eq!(
            returned.get(table),
            Some(rows),
            "`{table}` changed on the way"
        );
    }
    assert_eq!(original.len(), returned.len());
}

/// Every row of every table of a SQLite store (its AUTOINCREMENT counters
/// included), as text, sorted.
fn every_row(path: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let conn = soberana_store::SqliteStore::raw_connection(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut read = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = read.column_count();
            let mut rows: Vec<String> = read
                .query_map([], |r| {
                    Ok((0..columns)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}
