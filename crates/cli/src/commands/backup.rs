//! `soberana backup` and `soberana restore`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::DirArg;
use crate::policy::open_node;

/// `soberana backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The node to back up (it may be running).
    #[command(flatten)]
    pub dir: DirArg,
    /// The new folder to write the backup into (outside the node folder).
    #[arg(long)]
    pub to: PathBuf,
}

/// `soberana restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup folder (made by `soberana backup`).
    pub backup: PathBuf,
    /// The new node folder to restore into; it must not exist.
    #[arg(long, short = 'd', required_unless_present = "check")]
    pub dir: Option<PathBuf>,
    /// Only check the backup against its manifest; restore nothing.
    #[arg(long)]
    pub check: bool,
    /// Keep the restored node's store in this empty PostgreSQL database (or
    /// new schema, `?schema=NAME`), which the restored `node.toml` then
    /// names; left out, in `node.sqlite` in the folder. A backup of a node
    /// on the other kind of store is moved, table by table.
    #[arg(long, conflicts_with = "check")]
    pub store: Option<String>,
}

/// Writes a consistent backup of a node, running or not.
pub fn backup(args: BackupArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let manifest = node.backup(&args.to)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "backed up the {} node to {}: {} files, {} bytes; log size {}, root {}",
        manifest.party,
        args.to.display(),
        manifest.files.len(),
        bytes,
        manifest.log_size,
        manifest.log_root
    );
    println!(
        "it holds the node's private keys: keep it where only the operator can read it.\n\
         check it with: soberana restore --check {}",
        args.to.display()
    );
    Ok(())
}

/// Checks a backup and restores it into a new node folder.
pub fn restore(args: RestoreArgs) -> Result<()> {
    if args.check {
        let manifest = soberana_node::check_backup(&args.backup)?;
        let store = match manifest.store_kind {
            soberana_node::BackupStore::Sqlite => "SQLite",
            soberana_node::BackupStore::Postgres => "PostgreSQL",
        };
        println!(
            "backup of the {} node made {} is whole: {} files match the manifest; {store} store, log size {}",
            manifest.party,
            manifest.made_at,
            manifest.files.len(),
            manifest.log_size
        );
        return Ok(());
    }
    let Some(dir) = args.dir else {
        anyhow::bail!("say where to restore with --dir NEW_FOLDER");
    };
    let mut last_table = String::new();
    let mut progress = |step: soberana_store::MoveProgress<'_>| {
        // One line a table, and one every PROGRESS_EVERY rows of a long one.
        if step.done == 0 && step.table != last_table {
            last_table = step.table.to_owned();
            eprintln!(
                "moving table {}/{} `{}`: {} rows",
                step.number, step.tables, step.table, step.rows
            );
        } else if step.done < step.rows {
            eprintln!("  `{}`: {} of {} rows", step.table, step.done, step.rows);
        }
    };
    let restored =
        soberana_node::restore_moving(&args.backup, &dir, args.store.as_deref(), &mut progress)?;
    let manifest = restored.manifest;
    let node = open_node(&dir).with_context(|| {
        format!(
            "the restored folder `{}` does not open as a node",
            dir.display()
        )
    })?;
    node.check_restored(&manifest)?;
    if let Some((from, moved)) = &restored.moved {
        let (from, to) = match from {
            soberana_node::BackupStore::Sqlite => ("SQLite", "PostgreSQL"),
            soberana_node::BackupStore::Postgres => ("PostgreSQL", "SQLite"),
        };
        println!(
            "moved the store from {from} to {to}: {} tables, {} rows, each table's count as in the backup; \
             log size {} and root {} recomputed from the moved leaves, as in the backup",
            moved.tables.len(),
            moved.rows(),
            moved.log_size,
            moved.log_root
        );
        println!(
            "run only {} from now on: the old folder must never run again (two nodes signing one log fork it for the partners)",
            dir.display()
        );
    }
    println!(
        "restored the {} node into {}: log verified, size {} as backed up on {}",
        manifest.party,
        dir.display(),
        manifest.log_size,
        manifest.made_at
    );
    println!(
        "anything the node logged after the backup is not in it; its partners hold every \
         envelope that crossed since. Before running it, read \"Backup and restore\" in the README."
    );
    Ok(())
}

/// `soberana recover` (its help is on the command in `cli.rs`).
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The node (typically just restored from a backup).
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner to recover from: it holds every envelope that crossed.
    #[arg(long = "from-peer")]
    pub from_peer: String,
    /// Declare the log restarted, giving the reason recorded in both logs
    /// (for example "restored from the backup of 1 March after a disk
    /// failure"). Only when the log still conflicts with what the partner
    /// cosigned once the envelopes are taken back.
    #[arg(long = "restart-log", value_name = "REASON")]
    pub restart_log: Option<String>,
}

/// Compares the node's log with what the partner cosigned and takes back
/// the partner's envelopes the node lost.
pub async fn recover(args: RecoverArgs) -> Result<()> {
    let node = open_node(&args.dir.dir)?;
    let peer = soberana_core::PartyCode::new(&args.from_peer)
        .map_err(|e| anyhow::anyhow!("--from-peer: {e}"))?;
    let witnessed = node.fetch_witnessed(peer).await?;
    match node.compare_with_witnessed(peer, &witnessed)? {
        Some(finding) => println!("{finding}"),
        None => println!("the log agrees with the latest checkpoint {peer} cosigned"),
    }
    let done = node.recover_from_peer(peer).await?;
    println!(
        "{peer} holds {} envelope(s) of our exchanges: {} of its envelopes taken back in; \
         {} of ours exist only at {peer} (sent after the backup; their effects here are lost); \
         {} cosignature(s) on checkpoints this node no longer holds",
        done.held,
        done.taken_in,
        done.ours_lost.len(),
        done.cosignatures_lost
    );
    for id in &done.ours_lost {
        println!("  only at {peer}: envelope {id}");
    }
    for refusal in &done.refused {
        println!("  refused: {refusal}");
    }
    let remaining = node.check_log_against_partners().await;
    if remaining.is_empty() {
        println!("the log agrees with what every partner cosigned: checkpoints are signed again");
        return Ok(());
    }
    for finding in &remaining {
        println!("still: {finding}");
    }
    let Some(reason) = args.restart_log else {
        println!(
            "not recovered: the log entries the backup lost. They cannot be rebuilt from {peer}'s \
             copies (an envelope received is logged at the time it was taken in, and decisions, \
             disclosures and refusals with this node's own times), so this node signs no checkpoint \
             until the loss is declared; the refusal is kept in witnessed.json and outlives a restart. \
             To declare it: soberana recover --from-peer {peer} --restart-log \"REASON\" (see --help)"
        );
        return Ok(());
    };
    let restart = node.restart_log(peer, &reason).await?;
    if restart.resent {
        println!(
            "the log restart declared earlier (new branch from size {}) is queued again for {peer}",
            restart.checkpoint_size
        );
    } else {
        println!(
            "log restart declared: the checkpoint of size {} that {peer} cosigned is abandoned; \
             the new branch keeps {} entries (unchanged up to {peer}'s cosigned checkpoint of size {}), \
             {} envelope(s) this node sent logged again, and the restart entry is at index {}",
            restart.abandoned_size,
            restart.restored_size,
            restart.kept_size,
            restart.reappended,
            restart.restored_size
        );
    }
    println!(
        "run the node: it sends the declaration with the new branch's checkpoint of size {}; \
         once {peer} cosigns it the node is ready and signs checkpoints again",
        restart.checkpoint_size
    );
    Ok(())
}
