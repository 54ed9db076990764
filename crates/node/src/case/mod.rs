//! Joint investigations on the node: officers' acts on a case, exhibits
//! sealed at rest, and their transfer between the two nodes. The case is
//! opened by the acceptance of its agreement (`agreed.rs`); members write
//! and give tasks (`work.rs`); the running node ends it at its date and
//! deletes exhibits at the end of their retention (`retention.rs`).
//!
//! Every act is a custody event checked by the `case` crate and recorded by
//! the store in one transaction with its log entry and the envelope that
//! tells the other side, which records the same event digest in its own log
//! (`CaseStore`). An act the case's rules refuse is recorded once, as a
//! `refused` event in our log, and nothing else is written.
//!
//! Exhibit bytes never enter the store or an envelope. The contributing
//! node keeps them in `DIR/cases/CASE/exhibits/DIGEST`, sealed chunk by
//! chunk with the case key (`DIR/cases/CASE/key`, 0600, drawn on this node
//! and never sent). The receiving node fetches a released exhibit over the
//! partners' mutual TLS (`GET /v1/cases/CASE/exhibits/DIGEST`, with
//! `Range: bytes=N-`), seals what arrives with its own case key into
//! `DIGEST.part` one whole chunk at a time, and after a cut asks for the
//! rest from the last whole chunk. Only when every byte has arrived and the
//! whole hashes to the digest does the part become the exhibit and receipt
//! get recorded; bytes that do not match are deleted and the refusal
//! logged. Memory stays at a few chunks whatever the exhibit's size.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::body::Bytes;
use soberana_case::{
    Act, AtRest, CHUNK_BYTES, Case, CaseError, CaseId, CaseKey, CaseRole, CustodyEvent,
    EXHIBIT_HEADER, EXHIBIT_HEADER_LEN, ExhibitDigest, ExhibitUse, SEAL_OVERHEAD, Upload,
    UseConditions, chunk_count,
};
use soberana_core::{OfficerId, PartyCode, Role, Timestamp};
use soberana_store::{StoreError, StoredCaseEvent};

use crate::{Node, NodeError};

mod agreed;
mod consent;
mod report;
mod retention;
mod transfer;
mod work;

pub use consent::{ConsentGrants, ConsentItem, ExhibitUseRecord};

pub use report::CaseProof;
pub(crate) use report::serve_case_proofs;
pub use retention::Housekeeping;
pub(crate) use retention::case_loop;
pub(crate) use transfer::serve_exhibit;
pub use work::CaseMessageView;

/// The longest a fetch waits for the next bytes before it counts as cut.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A case without an agreed end runs this long from its proposal.
pub(crate) const DEFAULT_TERM_MS: i64 = 365 * 24 * 3600 * 1000;
/// The sealed size of a whole chunk.
const SEALED_CHUNK: u64 = (CHUNK_BYTES + SEAL_OVERHEAD) as u64;

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Every byte arrived, matched the digest and was recorded as received.
    Received {
        /// Where this attempt started (0, or where an earlier one was cut).
        resumed_from: u64,
        /// Bytes moved by this attempt.
        bytes: u64,
    },
    /// The transfer stopped before the end; what arrived in whole chunks is
    /// kept and the next fetch resumes from `at`.
    Cut {
        /// Where the next fetch resumes.
        at: u64,
        /// The exhibit's size.
        of: u64,
    },
}

/// A member of a case as this node knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMemberView {
    /// The side.
    pub party: PartyCode,
    /// The officer.
    pub officer: OfficerId,
    /// Their role on that side.
    pub role: CaseRole,
    /// Whether our node established them: a member of our side, checked
    /// against our officer registry. A member of the partner's side is the
    /// partner's claim about its own people, recorded as claimed.
    pub established_here: bool,
    /// Whether they can act on this node now: a member of our side who is
    /// registered and enabled here. Never true for the partner's side.
    pub enabled: bool,
}

/// A case with its custody events, for `case show` and the report.
#[derive(Debug, Clone)]
pub struct CaseView {
    /// The case.
    pub case: Case,
    /// Its custody events, in the order this node recorded them.
    pub events: Vec<StoredCaseEvent>,
}

pub(crate) fn case_error(e: CaseError) -> NodeError {
    NodeError::Case(e.to_string())
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    NodeError::io(path)
}

impl Node {
    fn case_dir(&self, case: CaseId) -> PathBuf {
        self.dir().root().join("cases").join(case.to_string())
    }

    pub(crate) fn exhibit_path(&self, case: CaseId, exhibit: &ExhibitDigest) -> PathBuf {
        self.case_dir(case)
            .join("exhibits")
            .join(exhibit.to_string())
    }

    /// The case key, drawn and written (0600) on first use.
    pub(crate) fn case_key(&self, case: CaseId) -> Result<CaseKey, NodeError> {
        let dir = self.case_dir(case);
        let path = dir.join("key");
        if let Ok(bytes) = fs::read(&path) {
            let key: [u8; 32] = bytes.try_into().map_err(|_| NodeError::BadKey {
                path: path.clone(),
                detail: "a case key is 32 bytes".into(),
            })?;
            return Ok(CaseKey::from_bytes(key));
        }
        fs::create_dir_all(dir.join("exhibits")).map_err(io_error(&dir))?;
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| NodeError::BadKey {
            path: path.clone(),
            detail: format!("no randomness for a case key: {e}"),
        })?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io_error(&path))?;
        file.write_all(&key).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        Ok(CaseKey::from_bytes(key))
    }

    /// An officer registered and enabled on this node.
    pub(crate) fn case_officer(
        &self,
        id: &OfficerId,
    ) -> Result<soberana_store::OfficerAccount, NodeError> {
        let account = self
            .store()
            .officer(id)?
            .ok_or_else(|| NodeError::UnknownOfficer(id.to_string()))?;
        if crate::officers::is_disabled(&account) {
            return Err(NodeError::DisabledOfficer(id.to_string()));
        }
        Ok(account)
    }

    /// Records our act, or, if the case's rules refuse it, records the
    /// refusal once and returns the reason.
    pub(crate) fn act(&self, actor: &OfficerId, case: CaseId, act: Act) -> Result<u64, NodeError> {
        self.act_event(CustodyEvent {
            case_id: case,
            party: self.party(),
            actor: actor.clone(),
            time_ms: now_ms(),
            act,
        })
    }

    /// Records our act as built, or its refusal (see [`Node::act`]). An
    /// act the node takes by itself is retried by the case loop, so its
    /// refusal is reported, not logged again at every pass.
    pub(crate) fn act_event(&self, event: CustodyEvent) -> Result<u64, NodeError> {
        let (actor, case, exhibit) = (event.actor.clone(), event.case_id, event.act.exhibit());
        let by_node = event.by_node();
        let actor = &actor;
        match self.store().case_act(event, self.sealer()) {
            Ok(index) => {
                self.wake_outbox();
                Ok(index)
            }
            Err(StoreError::Case(e)) if by_node => Err(case_error(e)),
            Err(StoreError::Case(e)) => {
                self.refuse(actor, case, exhibit, &e.to_string())?;
                Err(case_error(e))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records a refused act on `case`: one log entry, nothing else.
    pub(crate) fn refuse(
        &self,
        actor: &OfficerId,
        case: CaseId,
        exhibit: Option<ExhibitDigest>,
        reason: &str,
    ) -> Result<(), NodeError> {
        let event = CustodyEvent {
            case_id: case,
            party: self.party(),
            actor: actor.clone(),
            time_ms: now_ms(),
            act: Act::Refused {
                exhibit,
                reason: reason.to_owned(),
            },
        };
        self.store().case_act(event, self.sealer())?;
        Ok(())
    }

    /// The case, if this node holds it.
    pub fn case(&self, case: CaseId) -> Result<CaseView, NodeError> {
        let found = self
            .store()
            .case(case)?
            .ok_or_else(|| NodeError::Case(format!("this node holds no case `{case}`")))?;
        Ok(CaseView {
            case: found,
            events: self.store().case_events(case)?,
        })
    }

    /// The case's members of both sides, each marked as established by
    /// our registry (our side) or claimed by the partner (its side).
    pub fn case_members(&self, case: CaseId) -> Result<Vec<CaseMemberView>, NodeError> {
        let us = self.party();
        Ok(self
            .case(case)?
            .case
            .members
            .into_iter()
            .map(|m| {
                let ours = m.party == us;
                CaseMemberView {
                    enabled: ours && self.not_our_officer(&m.officer).is_none(),
                    established_here: ours,
                    party: m.party,
                    officer: m.officer,
                    role: m.role,
                }
            })
            .collect())
    }

    /// Every case this node holds.
    pub fn cases(&self) -> Result<Vec<Case>, NodeError> {
        Ok(self.store().cases()?)
    }

    /// Adds an officer of this node to our side of the case.
    pub fn case_member_add(
        &self,
        case: CaseId,
        by: &OfficerId,
        member: &OfficerId,
        administrator: bool,
    ) -> Result<(), NodeError> {
        self.case_officer(by)?;
        self.case_officer(member)?;
        self.act(
            by,
            case,
            Act::MemberAdded {
                side: self.party(),
                member: member.clone(),
                administrator,
            },
        )
        .map(|_| ())
    }

    /// Removes a member from our side of the case.
    pub fn case_member_remove(
        &self,
        case: CaseId,
        by: &OfficerId,
        member: &OfficerId,
    ) -> Result<(), NodeError> {
        self.case_officer(by)?;
        self.act(
            by,
            case,
            Act::MemberRemoved {
                side: self.party(),
                member: member.clone(),
            },
        )
        .map(|_| ())
    }

    /// Ends the case by a signed act of one of our administrators.
    pub fn case_end(&self, case: CaseId, by: &OfficerId, reason: &str) -> Result<(), NodeError> {
        self.case_officer(by)?;
        self.act(
            by,
            case,
            Act::Ended {
                reason: reason.to_owned(),
            },
        )
        .map(|_| ())
    }

    /// Contributes the file at `path` as an exhibit of our side, under
    /// `conditions`. The file is read twice: once for its digest (the
    /// exhibit's identity, which the sealing nonces depend on), once to seal
    /// it while checking it still hashes the same.
    pub fn exhibit_add(
        &self,
        case: CaseId,
        by: &OfficerId,
        path: &Path,
        label: &str,
        conditions: UseConditions,
    ) -> Result<ExhibitDigest, NodeError> {
        self.case_officer(by)?;
        let view = self.case(case)?;
        if view.case.role_of(self.party(), by).is_none() {
            let e = CaseError::NotMember {
                actor: by.to_string(),
                side: self.party().to_string(),
            };
            self.refuse(by, case, None, &e.to_string())?;
            return Err(case_error(e));
        }
        let (digest, size) = digest_file(path)?;
        if view.case.exhibit(&digest).is_some() {
            let e = CaseError::DuplicateExhibit(digest.short());
            self.refuse(by, case, Some(digest), &e.to_string())?;
            return Err(case_error(e));
        }
        // In the evidence file of a notice or request, the sender offers
        // only what the proposal's signed body names.
        if let Some(named) = self.store().proposal(view.case.proposal_id)?
            && let Err(why) =
                self.check_evidence_offer(&named.record.proposal, self.party(), &digest, size)
        {
            self.refuse(by, case, Some(digest), &why)?;
            return Err(NodeError::Case(why));
        }
        let key = self.case_key(case)?;
        let target = self.exhibit_path(case, &digest);
        let staging = target.with_extension("staging");
        // Read, hashed and sealed on three threads, a few chunks apart.
        let sealed = (|| {
            let mut input = File::open(path).map_err(io_error(path))?;
            let mut out = File::create(&staging).map_err(io_error(&staging))?;
            out.write_all(&EXHIBIT_HEADER).map_err(io_error(&staging))?;
            let seal = key.exhibit(&case, &digest, AtRest::V2);
            let (to_hash, hashing) = std::sync::mpsc::sync_channel::<Vec<u8>>(transfer::IN_FLIGHT);
            let (to_store, storing) =
                std::sync::mpsc::sync_channel::<transfer::Hashed>(transfer::IN_FLIGHT);
            let staging = staging.as_path();
            std::thread::scope(|scope| {
                let hasher = scope.spawn(move || {
                    transfer::hash_stage(
                        Upload::new(digest, size),
                        move || hashing.recv().ok(),
                        to_store,
                    )
                });
                let writer = scope
                    .spawn(move || transfer::store_stage(&seal, 0, out, staging, storing, false));
                // The file is read through once more here; its pages are
                // dropped behind the reading, so a large exhibit does not
                // push the sealed copy (or anything else) out of the cache.
                let mut read_at = 0u64;
                let mut dropped = 0u64;
                let read = (|| loop {
                    let mut chunk = Vec::with_capacity(CHUNK_BYTES + SEAL_OVERHEAD);
                    (&mut input)
                        .take(CHUNK_BYTES as u64)
                        .read_to_end(&mut chunk)
                        .map_err(io_error(path))?;
                    read_at += chunk.len() as u64;
                    if read_at - dropped >= transfer::WRITE_BEHIND {
                        transfer::drop_pages(&input, dropped, read_at - dropped);
                        dropped = read_at;
                    }
                    if chunk.is_empty() || to_hash.send(chunk).is_err() {
                        return Ok::<(), NodeError>(());
                    }
                })();
                drop(to_hash);
                let stopped = |_| NodeError::Case("sealing the exhibit stopped".into());
                let (upload, hashed) = hasher.join().map_err(stopped)?;
                let stored = writer.join().map_err(stopped)?;
                read?;
                hashed?;
                stored?;
                upload.finish().map(|_| ()).map_err(|e| {
                    NodeError::Case(format!(
                        "`{}` changed while it was read: {e}",
                        path.display()
                    ))
                })
            })
        })();
        if let Err(e) = sealed {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        let label = if label.is_empty() {
            path.file_name()
                .map_or_else(|| "exhibit".into(), |n| n.to_string_lossy().into_owned())
        } else {
            label.to_owned()
        };
        match self.act(
            by,
            case,
            Act::ExhibitOffered {
                exhibit: digest,
                size,
                label,
                conditions,
            },
        ) {
            Ok(_) => {
                fs::rename(&staging, &target).map_err(io_error(&target))?;
                Ok(digest)
            }
            Err(e) => {
                let _ = fs::remove_file(&staging);
                Err(e)
            }
        }
    }

    /// Releases one of our exhibits to the other side. Evidence is released
    /// under four eyes: two different officers of this node holding the
    /// approver role.
    pub fn exhibit_release(
        &self,
        case: CaseId,
        exhibit: ExhibitDigest,
        approvers: &[OfficerId],
    ) -> Result<(), NodeError> {
        let first = approvers
            .first()
            .ok_or_else(|| NodeError::BadDecision("a release names its approvers".into()))?;
        for officer in approvers {
            let account = self.case_officer(officer)?;
            if !account.officer.has_role(Role::Approver) {
                return Err(NodeError::MissingRole {
                    officer: officer.to_string(),
                    role: Role::Approver.as_str(),
                });
            }
        }
        if approvers.len() < 2 || approvers.iter().skip(1).all(|o| o == first) {
            return Err(NodeError::SameOfficer(format!(
                "{first}; an exhibit's release needs a second, different approver (--confirmed-by)"
            )));
        }
        self.act(
            first,
            case,
            Act::ExhibitReleased {
                exhibit,
                approved_by: approvers.to_vec(),
            },
        )
        .map(|_| ())
    }

    /// Writes the exhibit's bytes to `out` for a member of our side, and
    /// records that the member opened it.
    pub fn exhibit_open(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        out: &mut dyn Write,
    ) -> Result<u64, NodeError> {
        self.case_officer(by)?;
        let view = self.case(case)?;
        // The act is checked (member, held) and recorded before any byte is
        // shown.
        self.act(by, case, Act::ExhibitOpened { exhibit })?;
        let size = view.case.exhibit(&exhibit).map_or(0, |x| x.size);
        self.read_exhibit(case, exhibit, size, 0, &mut |bytes| {
            out.write_all(&bytes)
                .map_err(|e| NodeError::Case(format!("writing the exhibit: {e}")))
        })?;
        Ok(size)
    }

    /// Exports the exhibit to the file `to`, for `use_`: [`Node::exhibit_use`]
    /// with a file. A use its conditions forbid without the contributing
    /// side's accepted consent is refused and the refusal logged; nothing
    /// is written.
    pub fn exhibit_export(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        use_: ExhibitUse,
        to: &Path,
    ) -> Result<u64, NodeError> {
        self.exhibit_use(case, by, exhibit, use_, Some(to))
            .map(|r| r.bytes)
    }

    /// Deletes our copy of the exhibit's bytes (end of retention, end of
    /// case); the custody events stay.
    pub fn exhibit_delete(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        reason: &str,
    ) -> Result<(), NodeError> {
        self.case_officer(by)?;
        self.act(
            by,
            case,
            Act::ExhibitDeleted {
                exhibit,
                reason: reason.to_owned(),
            },
        )?;
        let path = self.exhibit_path(case, &exhibit);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NodeError::io(&path)(e)),
        }
    }

    /// Reads the exhibit's plain bytes from `from` (a chunk boundary or
    /// any offset) to its end, a chunk at a time, each chunk opened in the
    /// buffer it was read into and handed on without a copy.
    pub(crate) fn read_exhibit(
        &self,
        case: CaseId,
        exhibit: ExhibitDigest,
        size: u64,
        from: u64,
        sink: &mut dyn FnMut(Bytes) -> Result<(), NodeError>,
    ) -> Result<(), NodeError> {
        let key = self.case_key(case)?;
        let path = self.exhibit_path(case, &exhibit);
        let mut file = File::open(&path).map_err(|e| {
            NodeError::Case(format!(
                "this node does not hold the bytes of exhibit {} ({e})",
                exhibit.short()
            ))
        })?;
        let mut header = [0u8; EXHIBIT_HEADER_LEN];
        let n = read_full(&mut file, &mut header).map_err(io_error(&path))?;
        let format =
            AtRest::of_file_start(header.get(..n).unwrap_or_default()).map_err(case_error)?;
        let seal = key.exhibit(&case, &exhibit, format);
        let first = from / CHUNK_BYTES as u64;
        file.seek(SeekFrom::Start(format.header_len() + first * SEALED_CHUNK))
            .map_err(io_error(&path))?;
        for index in first..chunk_count(size) {
            let mut chunk = Vec::with_capacity(SEALED_CHUNK as usize);
            (&mut file)
                .take(SEALED_CHUNK)
                .read_to_end(&mut chunk)
                .map_err(io_error(&path))?;
            seal.open(index, &mut chunk).map_err(case_error)?;
            let skip = if index == first {
                usize::try_from(from % CHUNK_BYTES as u64).unwrap_or(0)
            } else {
                0
            };
            let skip = skip.min(chunk.len());
            sink(Bytes::from(chunk).slice(skip..))?;
        }
        Ok(())
    }
}

/// The SHA-256 and size of a file, read in chunks.
pub(crate) fn digest_file(path: &Path) -> Result<(ExhibitDigest, u64), NodeError> {
    use sha2::{Digest as _, Sha256};
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    Ok((ExhibitDigest::from_bytes(hasher.finalize().into()), size))
}

/// Fills `buf` as far as the reader allows; returns how much was read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn now_ms() -> u64 {
    u64::try_from(Timestamp::now().unix_millis()).unwrap_or(0)
}
