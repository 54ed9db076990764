//! `soberana case …` commands about using evidence: export or record a use
//! of an exhibit (checked by the node against its conditions and the
//! contributor's consent), ask that consent, open the evidence file of a
//! notice or request, and ask its sender for the evidence behind it.
//! Thin glue over `Node::exhibit_use`, `consent_ask`, `evidence_file_open`
//! and `evidence_request`.

use anyhow::{Result, bail};
use clap::Args;
use soberana_case::ExhibitUse;
use soberana_core::ProposalId;

use super::{ExhibitRef, ExportArgs, OfficerArg, OpenArgs, exhibit_ref, officer};
use crate::cli::DirArg;
use crate::policy::open_node;

/// `case request-evidence`.
#[derive(Debug, Args)]
pub struct RequestEvidenceArgs {
    /// The notice or information request we received.
    pub proposal: String,
    /// What evidence is wanted, and why (the sender's officers read it).
    #[arg(long)]
    pub asked: String,
    /// The officer asking.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// What a use is for, as `export`, `use` and `consent` take it.
#[derive(Debug, Clone, Args)]
pub struct UseArg {
    /// What for: `investigation`, `court`, `onward` or `other`.
    #[arg(long = "for", default_value = "investigation")]
    pub use_: String,
    /// The court proceedings, the receiving authority or the other purpose.
    #[arg(long, default_value = "")]
    pub detail: String,
}

impl UseArg {
    fn parse(&self) -> Result<ExhibitUse> {
        let detail = self.detail.trim().to_owned();
        if self.use_ != "investigation" && detail.is_empty() {
            bail!(
                "`--for {}` needs `--detail`: the proceedings, the authority or the purpose",
                self.use_
            );
        }
        Ok(match self.use_.as_str() {
            "investigation" => ExhibitUse::Investigation,
            "court" => ExhibitUse::Court {
                proceedings: detail,
            },
            "onward" => ExhibitUse::OnwardTransmission { to: detail },
            "other" => ExhibitUse::OtherPurpose { purpose: detail },
            other => bail!("`--for {other}`: say investigation, court, onward or other"),
        })
    }
}

/// `case exhibit use`.
#[derive(Debug, Args)]
pub struct UseArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// The use.
    #[command(flatten)]
    pub use_: UseArg,
    /// The member using it.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

/// `case exhibit consent`.
#[derive(Debug, Args)]
pub struct ConsentArgs {
    /// The exhibit.
    #[command(flatten)]
    pub exhibit: ExhibitRef,
    /// The use consent is asked for (not `investigation`).
    #[command(flatten)]
    pub use_: UseArg,
    /// Why the use is needed (the other side's officers read it).
    #[arg(long)]
    pub reason: String,
    /// A further use asked in the same request, as DIGEST=USE with USE
    /// `court:PROCEEDINGS`, `onward:AUTHORITY` or `purpose:PURPOSE`
    /// (repeatable; DIGEST may be this exhibit or another received in the
    /// case). The other side may grant some uses and refuse the rest.
    #[arg(long = "also", value_name = "DIGEST=USE")]
    pub also: Vec<String>,
    /// The member asking.
    #[command(flatten)]
    pub officer: OfficerArg,
    /// The node.
    #[command(flatten)]
    pub dir: DirArg,
}

fn consent_note(consent: Option<ProposalId>) -> String {
    consent.map_or_else(String::new, |c| format!(" under consent {c}"))
}

pub(super) fn export(a: &ExportArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
    if a.to.exists() {
        bail!("`{}` exists; name a new file", a.to.display());
    }
    let use_ = a.use_.parse()?;
    let done = node.exhibit_use(case, &officer(&a.officer)?, digest, use_, Some(&a.to))?;
    println!(
        "{case}: exhibit {} exported ({} bytes) to {}{}; recorded in both logs",
        digest.short(),
        done.bytes,
        a.to.display(),
        consent_note(done.consent)
    );
    Ok(())
}

pub(super) fn use_exhibit(a: &UseArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
    let use_ = a.use_.parse()?;
    let described = use_.describe();
    let done = node.exhibit_use(case, &officer(&a.officer)?, digest, use_, None)?;
    println!(
        "{case}: {described} of exhibit {} recorded{}; in both logs",
        digest.short(),
        consent_note(done.consent)
    );
    Ok(())
}

pub(super) fn consent(a: &ConsentArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let (case, digest) = exhibit_ref(&node, &a.exhibit)?;
    let mut asks = vec![(digest, a.use_.parse()?)];
    for more in &a.also {
        let Some((exhibit, use_)) = more.split_once('=') else {
            bail!(
                "`--also {more}`: write DIGEST=USE, e.g. {}=court:US v. Doe",
                digest.short()
            );
        };
        let (_, other) = exhibit_ref(
            &node,
            &ExhibitRef {
                case: case.to_string(),
                exhibit: exhibit.to_owned(),
            },
        )?;
        asks.push((other, ExhibitUse::parse(use_.trim())?));
    }
    let count = asks.len();
    let sent = node.consent_ask_many(case, &officer(&a.officer)?, asks, &a.reason)?;
    println!(
        "{case}: consent to {count} use(s) asked of {} as proposal {}; their officers may grant all or some; export or use the exhibit for what they grant (`soberana show {}` lists it)",
        sent.to, sent.id, sent.id
    );
    Ok(())
}

pub(super) fn open_evidence(a: &OpenArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let proposal = ProposalId::parse(a.proposal.trim())
        .map_err(|_| anyhow::anyhow!("`{}` is not a proposal id", a.proposal))?;
    let case = node.evidence_file_open(proposal, &officer(&a.officer)?)?;
    println!(
        "{case}: evidence file of {proposal} opened on {}'s side; the partner is told",
        node.party()
    );
    Ok(())
}

pub(super) fn request_evidence(a: &RequestEvidenceArgs) -> Result<()> {
    let node = open_node(&a.dir.dir)?;
    let proposal = ProposalId::parse(a.proposal.trim())
        .map_err(|_| anyhow::anyhow!("`{}` is not a proposal id", a.proposal))?;
    let sent = node.evidence_request(proposal, &officer(&a.officer)?, &a.asked)?;
    println!(
        "evidence behind {proposal} asked of {} as proposal {}",
        sent.to, sent.id
    );
    Ok(())
}
