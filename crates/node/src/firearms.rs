//! Firearm traces answered on the node's own acquisition and disposition
//! records: the records folder, the answer computed on it, and its release
//! as an officer's decision (so roles, four eyes and the audit line are
//! those of [`Node::decide`]).
//!
//! Records stay CSV files under `DIR/firearms/`, named in
//! `DIR/firearms/holdings.json`, which is replaced atomically only after a
//! file has been validated in full: the manifest is the commit point, so a
//! refused or interrupted load leaves nothing held. Millions of records
//! would bloat the store, which holds the log and the proposals, and a trace
//! needs them in memory anyway.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use soberana_core::{
    Direction, FirearmTrace, OfficerId, Outcome, ProposalBody, ProposalId, Timestamp,
};
use soberana_firearms::{
    ANSWER_LABEL, RecordSet, RecordSetBuilder, TraceAnswer, TraceStats, read_records, requests_of,
    trace_batch,
};
use soberana_store::ProposalDetail;
use soberana_wire::AnswerItem;

use crate::{DecisionStep, Node, NodeError, OfficerVerdict};

/// Most firearms one trace proposal may carry: their answer must fit in one
/// envelope. Larger batches are split over several proposals.
pub const MAX_FIREARMS_PER_TRACE: usize = 5_000;

fn bad(text: impl Into<String>) -> NodeError {
    NodeError::Firearms(text.into())
}

fn firearms_dir(node: &Path) -> PathBuf {
    node.join("firearms")
}

/// One file of records the node holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    file: String,
    source: String,
    records: u64,
    loaded: Timestamp,
}

/// `firearms/holdings.json`: the files held. Files not named here are not.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Holdings {
    batches: Vec<Batch>,
}

impl Holdings {
    fn path(node: &Path) -> PathBuf {
        firearms_dir(node).join("holdings.json")
    }

    fn load(node: &Path) -> Result<Self, NodeError> {
        let path = Self::path(node);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("`{}` is damaged: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Holdings::default()),
            Err(e) => Err(NodeError::io(path)(e)),
        }
    }

    /// Replaces the manifest through a synced temporary file and a rename.
    fn save(&self, node: &Path) -> Result<(), NodeError> {
        let path = Self::path(node);
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| bad(e.to_string()))?;
        {
            let mut f = File::create(&tmp).map_err(NodeError::io(&tmp))?;
            f.write_all(&bytes).map_err(NodeError::io(&tmp))?;
            f.sync_all().map_err(NodeError::io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(NodeError::io(&path))
    }
}

fn require_node(node: &Path) -> Result<(), NodeError> {
    if !node.join("node.toml").exists() {
        return Err(NodeError::NoNode(node.to_path_buf()));
    }
    Ok(())
}

/// Holds `firearms/.hold.lock` while it lives, so two loads never take the
/// same file number or overwrite each other's manifest.
struct HoldLock(PathBuf);

impl HoldLock {
    fn take(dir: &Path) -> Result<Self, NodeError> {
        let path = dir.join(".hold.lock");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(HoldLock(path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(bad(format!(
                "another `firearms hold` is loading into this node; if none is, remove `{}`",
                path.display()
            ))),
            Err(e) => Err(NodeError::io(path)(e)),
        }
    }
}

impl Drop for HoldLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies `source` into the node, validates the copy in full (so what is
/// validated is exactly what is held, even if the source changes
/// meanwhile) and, only if every row is good, names it in the manifest.
/// Returns the records held afterwards.
pub fn hold(node: &Path, source: &Path) -> Result<u64, NodeError> {
    require_node(node)?;
    let dir = firearms_dir(node);
    std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
    let _lock = HoldLock::take(&dir)?;
    // Copies left by an interrupted load were never named in the manifest.
    for entry in std::fs::read_dir(&dir)
        .map_err(NodeError::io(&dir))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().ends_with(".staging") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let mut holdings = Holdings::load(node)?;
    let file = format!("{:06}-records.csv", holdings.batches.len() + 1);
    let staged = dir.join(format!(".{file}.staging"));
    let validated = (|| -> Result<u64, NodeError> {
        std::fs::copy(source, &staged).map_err(NodeError::io(source))?;
        File::open(&staged)
            .and_then(|f| f.sync_all())
            .map_err(NodeError::io(&staged))?;
        let reader = BufReader::with_capacity(
            1 << 16,
            File::open(&staged).map_err(NodeError::io(&staged))?,
        );
        let records = read_records(reader, &mut RecordSetBuilder::new()).map_err(|error| {
            NodeError::Records {
                file: source.to_path_buf(),
                error,
            }
        })?;
        if records == 0 {
            return Err(bad(format!("`{}` holds no records", source.display())));
        }
        Ok(records)
    })();
    let records = match validated {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    let to = dir.join(&file);
    std::fs::rename(&staged, &to).map_err(NodeError::io(&to))?;
    holdings.batches.push(Batch {
        file,
        source: source.display().to_string(),
        records,
        loaded: Timestamp::now(),
    });
    // The manifest is the commit point.
    holdings.save(node)?;
    Ok(holdings.batches.iter().map(|b| b.records).sum())
}

/// Whether the node holds any firearm records.
pub fn holds_records(node: &Path) -> Result<bool, NodeError> {
    Ok(!Holdings::load(node)?.batches.is_empty())
}

/// Loads every held file into one indexed record set.
pub fn load_records(node: &Path) -> Result<RecordSet, NodeError> {
    require_node(node)?;
    let holdings = Holdings::load(node)?;
    if holdings.batches.is_empty() {
        return Err(bad(format!(
            "the node at `{}` holds no firearm records; load them with `soberana firearms hold FILE`",
            node.display()
        )));
    }
    let expected: u64 = holdings.batches.iter().map(|b| b.records).sum();
    let mut builder = RecordSetBuilder::with_capacity(usize::try_from(expected).unwrap_or(0));
    for b in &holdings.batches {
        let path = firearms_dir(node).join(&b.file);
        let reader =
            BufReader::with_capacity(1 << 16, File::open(&path).map_err(NodeError::io(&path))?);
        read_records(reader, &mut builder)
            .map_err(|error| NodeError::Records { file: path, error })?;
    }
    Ok(builder.finish())
}

/// The trace proposal of `detail`, or why it is not one.
fn trace_of(detail: &ProposalDetail) -> Result<&FirearmTrace, NodeError> {
    match &detail.record.proposal.body {
        ProposalBody::FirearmTrace(t) => Ok(t),
        other => Err(bad(format!(
            "proposal {} is a {}, not a firearm trace",
            detail.record.id(),
            other.kind()
        ))),
    }
}

/// The items released for an answer: its JSON and a line for people.
pub fn release_items(answer: &TraceAnswer) -> Vec<AnswerItem> {
    let stats = TraceStats::of(&answer.results);
    vec![
        AnswerItem {
            label: ANSWER_LABEL.into(),
            value: answer.to_json(),
        },
        AnswerItem {
            label: "summary".into(),
            value: format!(
                "{} firearms traced: {} to a first retail sale, {} partly, {} not",
                stats.all.traces, stats.all.complete, stats.all.partial, stats.all.failed
            ),
        },
    ]
}

/// The items of `answer`, refused if they would not fit in one envelope.
pub fn fitting_items(answer: &TraceAnswer) -> Result<Vec<AnswerItem>, NodeError> {
    let items = release_items(answer);
    let bytes: usize = items.iter().map(|i| i.value.len()).sum();
    let limit = soberana_wire::MAX_ENVELOPE_BYTES - 64 * 1024;
    if bytes > limit {
        return Err(bad(format!(
            "the answer is {bytes} bytes, more than one envelope carries; ask the partner to split the request"
        )));
    }
    Ok(items)
}

/// An officer's release of a trace answer.
#[derive(Debug, Clone)]
pub struct TraceRelease {
    /// The deciding officer (a registered approver).
    pub officer: OfficerId,
    /// Conditions of acceptance.
    pub conditions: Vec<String>,
    /// Why, in plain words: it travels to the partner.
    pub reason: String,
}

impl Node {
    /// Traces an incoming trace proposal's firearms on this node's records.
    /// Nothing is decided or sent.
    pub fn trace_answer(&self, id: ProposalId) -> Result<TraceAnswer, NodeError> {
        let detail = self.show(id)?;
        if detail.record.direction != Direction::Incoming {
            return Err(bad(format!(
                "proposal {id} is ours; only the partner it was sent to can answer it"
            )));
        }
        self.compute_trace(&detail)
    }

    fn compute_trace(&self, detail: &ProposalDetail) -> Result<TraceAnswer, NodeError> {
        let trace = trace_of(detail)?;
        if trace.firearms.len() > MAX_FIREARMS_PER_TRACE {
            return Err(bad(format!(
                "proposal {} lists {} firearms; one trace answers at most {MAX_FIREARMS_PER_TRACE}: ask the partner to split it",
                detail.record.id(),
                trace.firearms.len()
            )));
        }
        let records = load_records(self.dir().root())?;
        Ok(TraceAnswer::new(trace_batch(&records, &requests_of(trace))))
    }

    /// An officer traces an incoming trace proposal awaiting a decision on
    /// our records and releases the answer: an acceptance through
    /// [`Node::decide`], so under H2/H3 it waits for a second approver.
    pub fn answer_trace(
        &self,
        id: ProposalId,
        release: TraceRelease,
    ) -> Result<(TraceAnswer, DecisionStep), NodeError> {
        let detail = self.decidable(id)?;
        let answer = self.compute_trace(&detail)?;
        let outcome = if release.conditions.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::AcceptedWithConditions {
                conditions: release.conditions,
            }
        };
        let step = self.decide(
            id,
            OfficerVerdict {
                officer: release.officer,
                outcome,
                reason: release.reason,
                release: fitting_items(&answer)?,
            },
        )?;
        Ok((answer, step))
    }

    /// An acceptance of a trace request that releases nothing, on a node
    /// that holds firearm records, releases the trace answer.
    pub(crate) fn with_trace(
        &self,
        detail: &ProposalDetail,
        mut verdict: OfficerVerdict,
    ) -> Result<OfficerVerdict, NodeError> {
        if !matches!(detail.record.proposal.body, ProposalBody::FirearmTrace(_))
            || !verdict.outcome.is_acceptance()
            || !verdict.release.is_empty()
            || !holds_records(self.dir().root())?
        {
            return Ok(verdict);
        }
        verdict.release = fitting_items(&self.compute_trace(detail)?)?;
        Ok(verdict)
    }
}
