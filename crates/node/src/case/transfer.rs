//! Exhibit bytes between the two nodes: the contributor serves a released
//! exhibit to the case's other party over the pinned mutual TLS, from any
//! byte the receiver asks for; the receiver seals what arrives one whole
//! chunk at a time and resumes after a cut from the last whole chunk.
//! Both sides hold a few chunks in memory whatever the exhibit's size.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Extension;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame};
use soberana_case::{
    Act, AtRest, CHUNK_BYTES, CaseError, CaseId, EXHIBIT_HEADER, EXHIBIT_HEADER_LEN, ExhibitDigest,
    ExhibitSeal, SEAL_OVERHEAD, Upload,
};
use soberana_core::{OfficerId, PartyCode};

use super::{Fetched, IDLE_TIMEOUT, SEALED_CHUNK, case_error, io_error, read_full};
use crate::server::PeerCertificate;
use crate::{Node, NodeError};

impl Node {
    /// Fetches a released exhibit of the other side over the pinned
    /// channel, resuming where an earlier fetch was cut. `budget` stops
    /// this attempt after about that many bytes (whole chunks), as a cut
    /// connection would; the next fetch resumes.
    pub async fn exhibit_fetch(
        &self,
        case: CaseId,
        by: &OfficerId,
        exhibit: ExhibitDigest,
        budget: Option<u64>,
    ) -> Result<Fetched, NodeError> {
        self.case_officer(by)?;
        let view = self.case(case)?;
        let us = self.party();
        if view.case.role_of(us, by).is_none() {
            let e = CaseError::NotMember {
                actor: by.to_string(),
                side: us.to_string(),
            };
            self.refuse(by, case, Some(exhibit), &e.to_string())?;
            return Err(case_error(e));
        }
        let state = view
            .case
            .exhibit(&exhibit)
            .ok_or_else(|| {
                NodeError::Case(format!("exhibit {} is not in this case", exhibit.short()))
            })?
            .clone();
        if state.contributor == us || state.received {
            return Err(NodeError::Case(format!(
                "exhibit {} is already held here",
                exhibit.short()
            )));
        }
        let partner = state.contributor;
        let key = self.case_key(case)?;
        let part = self.exhibit_path(case, &exhibit).with_extension("part");
        let kept = progress_path(&part);
        // What arrived before goes on from the hash state kept beside it;
        // without one that matches, its whole sealed chunks are read back
        // and hashed again, and a damaged tail is dropped.
        let (upload, seal) = {
            let part = part.clone();
            let kept = kept.clone();
            let size = state.size;
            let seal = key.exhibit(&case, &exhibit, AtRest::V2);
            tokio::task::spawn_blocking(move || {
                match resume_part(&part, &kept, &seal, exhibit, size) {
                    Some(upload) => Ok((upload, seal)),
                    None => rehash_part(&part, seal, Upload::new(exhibit, size)),
                }
            })
            .await
            .map_err(|e| NodeError::Case(format!("resume: {e}")))??
        };
        let resumed_from = upload.offset();
        let (upload, fetched) = self
            .pull(partner, case, exhibit, seal, &part, upload, budget)
            .await;
        let at = upload.offset();
        // A failure after some progress is a cut to resume from; one
        // before any, or once every byte was hashed (a chunk may not be
        // stored), is an error, and never a receipt.
        if at < state.size || fetched.is_err() {
            return match fetched {
                Err(e) if at == resumed_from || at >= state.size => {
                    if resumed_from == 0 {
                        // Nothing was kept: no part file stays behind.
                        let _ = fs::remove_file(&part);
                        let _ = fs::remove_file(&kept);
                    }
                    Err(e)
                }
                _ => Ok(Fetched::Cut { at, of: state.size }),
            };
        }
        match upload.finish() {
            Ok(_) => {
                let target = self.exhibit_path(case, &exhibit);
                self.act(by, case, Act::ExhibitReceived { exhibit })?;
                fs::rename(&part, &target).map_err(io_error(&target))?;
                let _ = fs::remove_file(&kept);
                Ok(Fetched::Received {
                    resumed_from,
                    bytes: state.size - resumed_from,
                })
            }
            Err(e) => {
                let _ = fs::remove_file(&part);
                let _ = fs::remove_file(&kept);
                self.refuse(by, case, Some(exhibit), &e.to_string())?;
                Err(case_error(e))
            }
        }
    }

    /// Streams the rest of the exhibit from the partner into the part
    /// file, and gives back the upload holding every chunk it hashed.
    ///
    /// Three stages overlap, each holding at most [`IN_FLIGHT`] chunks: this
    /// task takes the bytes off the TLS connection and cuts them into whole
    /// chunks; a thread hashes them in order; another seals each in place
    /// and appends it to the part file. A chunk the hash refuses (more
    /// bytes than announced) is never written.
    #[allow(clippy::too_many_arguments)]
    async fn pull(
        &self,
        partner: PartyCode,
        case: CaseId,
        exhibit: ExhibitDigest,
        seal: ExhibitSeal,
        part: &Path,
        upload: Upload,
        budget: Option<u64>,
    ) -> (Upload, Result<(), NodeError>) {
        let failed = |detail: String| NodeError::Case(format!("fetch from {partner}: {detail}"));
        let from = upload.offset();
        let remaining = upload.remaining().end - from;
        let response = match self.request_exhibit(partner, case, exhibit, from).await {
            Ok(r) => r,
            Err(e) => return (upload, Err(e)),
        };
        let file = match OpenOptions::new().append(true).open(part) {
            Ok(f) => f,
            Err(e) => return (upload, Err(io_error(part)(e))),
        };
        let (to_hash, hashing) = tokio::sync::mpsc::channel::<Vec<u8>>(IN_FLIGHT);
        let (to_store, storing) = std::sync::mpsc::sync_channel::<Hashed>(IN_FLIGHT);
        let mut hashing = hashing;
        let hasher = tokio::task::spawn_blocking(move || {
            hash_stage(upload, move || hashing.blocking_recv(), to_store)
        });
        let first = from / CHUNK_BYTES as u64;
        let path = part.to_path_buf();
        let writer = tokio::task::spawn_blocking(move || {
            let stored = store_stage(&seal, first, file, &path, storing, true)?;
            keep_progress(&path, &stored.1)?;
            Ok::<_, NodeError>(stored.0)
        });

        let received = async {
            let mut body = response.into_body();
            let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + SEAL_OVERHEAD);
            let mut moved = 0u64;
            loop {
                let frame = tokio::time::timeout(IDLE_TIMEOUT, body.frame())
                    .await
                    .map_err(|_| failed("no bytes for too long".into()))?;
                let data = match frame {
                    None => break,
                    Some(Err(e)) => return Err(failed(e.to_string())),
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => data,
                        Err(_) => continue,
                    },
                };
                let mut data: &[u8] = &data;
                while !data.is_empty() {
                    let take = (CHUNK_BYTES - chunk.len()).min(data.len());
                    let (head, rest) = data.split_at(take);
                    chunk.extend_from_slice(head);
                    data = rest;
                    let last = moved + chunk.len() as u64 == remaining;
                    if chunk.len() == CHUNK_BYTES || last {
                        moved += chunk.len() as u64;
                        let full = std::mem::replace(
                            &mut chunk,
                            Vec::with_capacity(CHUNK_BYTES + SEAL_OVERHEAD),
                        );
                        if to_hash.send(full).await.is_err() {
                            // A stage stopped; its own error says why.
                            return Ok(());
                        }
                        if budget.is_some_and(|b| moved >= b) && !last {
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        }
        .await;
        drop(to_hash);
        let hashed = hasher.await;
        let stored = writer.await;
        let (upload, hashed) = match hashed {
            Ok(done) => done,
            Err(e) => {
                return (
                    Upload::new(exhibit, 0),
                    Err(failed(format!("hashing: {e}"))),
                );
            }
        };
        let stored = stored.unwrap_or_else(|e| Err(failed(format!("storing: {e}"))));
        // The first failure in the chunks' path is the one to tell.
        let result = received.and(hashed).and(stored.map(|_| ()));
        (upload, result)
    }

    /// Asks the partner for the exhibit's bytes from `from` on.
    async fn request_exhibit(
        &self,
        partner: PartyCode,
        case: CaseId,
        exhibit: ExhibitDigest,
        from: u64,
    ) -> Result<hyper::Response<hyper::body::Incoming>, NodeError> {
        let failed = |detail: String| NodeError::Case(format!("fetch from {partner}: {detail}"));
        let mut cache = std::collections::HashMap::new();
        let (url, client, _) = crate::outbox::client_for(self, partner, &mut cache)
            .ok_or_else(|| NodeError::UnknownPeer(partner.to_string()))?;
        let url = url.replace(
            "/v1/envelopes",
            &format!("/v1/cases/{case}/exhibits/{exhibit}"),
        );
        let request = hyper::Request::get(&url)
            .header(header::RANGE, format!("bytes={from}-"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.to_string()))?;
        let response = tokio::time::timeout(IDLE_TIMEOUT, client.request(request))
            .await
            .map_err(|_| failed("no answer in time".into()))?
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = tokio::time::timeout(IDLE_TIMEOUT, response.into_body().collect())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let text: String = String::from_utf8_lossy(&body).chars().take(400).collect();
            return Err(failed(format!("refused ({status}): {}", text.trim())));
        }
        Ok(response)
    }
}

/// Whole chunks held by each stage of an exhibit's path at most.
pub(super) const IN_FLIGHT: usize = 4;

/// A chunk the hash took, with the upload's progress after it.
pub(super) type Hashed = (Vec<u8>, Vec<u8>);

/// Hashes the chunks in order and passes each one the hash took on to be
/// stored, with the upload's progress after it. Stops at the first chunk
/// it refuses, or when either neighbour stops.
pub(super) fn hash_stage(
    mut upload: Upload,
    mut next: impl FnMut() -> Option<Vec<u8>>,
    to_store: std::sync::mpsc::SyncSender<Hashed>,
) -> (Upload, Result<(), NodeError>) {
    while let Some(chunk) = next() {
        if let Err(e) = upload.push(&chunk) {
            return (upload, Err(case_error(e)));
        }
        if to_store.send((chunk, upload.progress())).is_err() {
            break;
        }
    }
    (upload, Ok(()))
}

/// How far the bytes written to an exhibit file may run ahead of the disk:
/// past this many, the file is flushed on a thread of its own while
/// writing goes on, so the final sync waits for a few chunks instead of
/// gigabytes, and the kernel's dirty pages stay few whatever the size.
pub(super) const WRITE_BEHIND: u64 = 32 << 20;

/// Seals each chunk in place and appends it to the file, then makes the
/// file durable. Returns the plain bytes stored and the upload's progress
/// after the last chunk stored (empty if none was).
///
/// The file is flushed behind the writing every [`WRITE_BEHIND`] bytes.
/// With `drop_behind`, the pages flushed are then dropped from the page
/// cache: an exhibit arriving from the partner is not read again soon, and
/// gigabytes of it would otherwise push out what the node (and the
/// machine) reads.
pub(super) fn store_stage(
    seal: &ExhibitSeal,
    first: u64,
    mut file: File,
    path: &Path,
    chunks: std::sync::mpsc::Receiver<Hashed>,
    drop_behind: bool,
) -> Result<(u64, Vec<u8>), NodeError> {
    let behind = file.try_clone().map_err(io_error(path))?;
    let mut end = file.stream_position().map_err(io_error(path))?;
    let (to_flush, flush) = std::sync::mpsc::sync_channel::<u64>(1);
    let (written, flushed) = std::thread::scope(|scope| {
        let flusher = scope.spawn(move || write_behind(&behind, end, flush, drop_behind));
        let written = (|| {
            let mut stored = 0u64;
            let mut progress = Vec::new();
            let mut asked = end;
            for (index, (mut chunk, after)) in (first..).zip(chunks) {
                let plain = chunk.len() as u64;
                seal.seal(index, &mut chunk).map_err(case_error)?;
                file.write_all(&chunk).map_err(io_error(path))?;
                end += chunk.len() as u64;
                stored += plain;
                progress = after;
                if end - asked >= WRITE_BEHIND {
                    // A flush under way covers these bytes too, or the
                    // next ask does.
                    let _ = to_flush.try_send(end);
                    asked = end;
                }
            }
            Ok::<_, NodeError>((stored, progress))
        })();
        drop(to_flush);
        (written, flusher.join())
    });
    let written = written?;
    flushed
        .map_err(|_| NodeError::Case(format!("flushing `{}` stopped", path.display())))?
        .map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    if drop_behind {
        drop_pages(&file, 0, 0);
    }
    Ok(written)
}

/// Flushes the file up to each offset asked for (the whole file, so a
/// missed ask is covered by the next), and with `drop_behind` drops the
/// pages flushed since the last time, from `start` on.
fn write_behind(
    file: &File,
    start: u64,
    asks: std::sync::mpsc::Receiver<u64>,
    drop_behind: bool,
) -> std::io::Result<()> {
    let mut dropped = start;
    for upto in asks {
        file.sync_data()?;
        if drop_behind && upto > dropped {
            drop_pages(file, dropped, upto - dropped);
            dropped = upto;
        }
    }
    Ok(())
}

/// Tells the kernel the file's pages from `from` on (`len` bytes, or to
/// the end if 0) are not needed: they were flushed, so this only frees
/// page cache. Advice only: where it is not taken, nothing else changes.
#[cfg(target_os = "linux")]
pub(super) fn drop_pages(file: &File, from: u64, len: u64) {
    let len = std::num::NonZeroU64::new(len);
    let _ = rustix::fs::fadvise(file, from, len, rustix::fs::Advice::DontNeed);
}

#[cfg(not(target_os = "linux"))]
pub(super) fn drop_pages(_file: &File, _from: u64, _len: u64) {}

/// Where a part file's progress is kept: beside it.
fn progress_path(part: &Path) -> std::path::PathBuf {
    part.with_extension("part-progress")
}

/// Keeps the upload's progress beside the part file, once the chunks it
/// covers are durable (written to a new file, synced, then renamed over
/// the old one, so a crash leaves the old progress or the new one).
fn keep_progress(part: &Path, progress: &[u8]) -> Result<(), NodeError> {
    if progress.is_empty() {
        return Ok(());
    }
    let kept = progress_path(part);
    let fresh = kept.with_extension("part-progress-new");
    let mut file = File::create(&fresh).map_err(io_error(&fresh))?;
    file.write_all(progress).map_err(io_error(&fresh))?;
    file.sync_all().map_err(io_error(&fresh))?;
    fs::rename(&fresh, &kept).map_err(io_error(&kept))
}

/// Goes on from the progress kept beside the part file, when it covers
/// exactly whole chunks the part file holds (a longer part file is cut back
/// to them). The chunks themselves are not read again: each was hashed
/// before it was sealed, and sealed at rest under its index, so what the
/// file holds either opens to exactly the bytes hashed or does not open at
/// all. Anything else (no progress, another format, a shorter file) is
/// `None`, and the part file is read back instead.
fn resume_part(
    part: &Path,
    kept: &Path,
    seal: &ExhibitSeal,
    exhibit: ExhibitDigest,
    size: u64,
) -> Option<Upload> {
    let progress = fs::read(kept).ok()?;
    let upload = Upload::resume(exhibit, size, &progress)?;
    let chunks = upload.offset() / CHUNK_BYTES as u64;
    if upload.offset() % CHUNK_BYTES as u64 != 0 || upload.offset() >= size {
        return None;
    }
    let mut file = OpenOptions::new().read(true).write(true).open(part).ok()?;
    let mut header = [0u8; EXHIBIT_HEADER_LEN];
    let n = read_full(&mut file, &mut header).ok()?;
    if n != EXHIBIT_HEADER_LEN || AtRest::of_file_start(&header) != Ok(seal.format()) {
        return None;
    }
    let whole = (EXHIBIT_HEADER_LEN as u64).checked_add(chunks.checked_mul(SEALED_CHUNK)?)?;
    if file.metadata().ok()?.len() < whole {
        return None;
    }
    file.set_len(whole).ok()?;
    Some(upload)
}

/// Reads the part file's whole sealed chunks back into `upload`; drops a
/// tail that is not a whole chunk or does not open. A part begun in the v1
/// format, or without a whole header, is started again in v2. Returns the
/// upload and the sealer to go on with; the file then ends at its last
/// whole chunk (or is a bare header).
fn rehash_part(
    part: &Path,
    seal: ExhibitSeal,
    mut upload: Upload,
) -> Result<(Upload, ExhibitSeal), NodeError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(part)
        .map_err(io_error(part))?;
    let mut header = [0u8; EXHIBIT_HEADER_LEN];
    let n = read_full(&mut file, &mut header).map_err(io_error(part))?;
    let header = header.get(..n).unwrap_or_default();
    let ours = n == EXHIBIT_HEADER_LEN && AtRest::of_file_start(header) == Ok(seal.format());
    let mut good = EXHIBIT_HEADER_LEN as u64;
    if ours {
        let mut index = 0u64;
        loop {
            let mut buf = Vec::with_capacity(SEALED_CHUNK as usize);
            let n = (&mut file)
                .take(SEALED_CHUNK)
                .read_to_end(&mut buf)
                .map_err(io_error(part))?;
            if n < SEALED_CHUNK as usize
                || seal.open(index, &mut buf).is_err()
                || upload.push(&buf).is_err()
            {
                break;
            }
            good += SEALED_CHUNK;
            index += 1;
        }
        file.set_len(good).map_err(io_error(part))?;
    } else {
        file.set_len(0).map_err(io_error(part))?;
        file.seek(SeekFrom::Start(0)).map_err(io_error(part))?;
        file.write_all(&EXHIBIT_HEADER).map_err(io_error(part))?;
    }
    Ok((upload, seal))
}

/// A response body fed chunk by chunk from a blocking reader, so serving
/// an exhibit holds a few chunks in memory whatever its size.
struct ChunkBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

fn refusal(status: StatusCode, text: String) -> Response {
    (status, format!("{text}\n")).into_response()
}

/// Serves one of our released exhibits to the case's other party over the
/// pinned channel, from the byte its `Range: bytes=N-` asks for.
pub(crate) async fn serve_exhibit(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
    UrlPath((case, exhibit)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(partner) = peer.and_then(|Extension(p)| p.0).and_then(|fingerprint| {
        node.peers()
            .into_iter()
            .find(|c| c.tls_cert_sha256.0 == fingerprint)
            .map(|c| c.party)
    }) else {
        return refusal(
            StatusCode::FORBIDDEN,
            "exhibits are served to pinned partners".into(),
        );
    };
    let (Ok(case), Ok(exhibit)) = (CaseId::parse(&case), ExhibitDigest::parse(&exhibit)) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "not a case id and exhibit digest".into(),
        );
    };
    let Ok(Some(held)) = node.store().case(case) else {
        return refusal(StatusCode::NOT_FOUND, format!("no case `{case}` here"));
    };
    let us = node.party();
    if !held.parties.contains(&partner) {
        return refusal(
            StatusCode::FORBIDDEN,
            format!("{partner} is not a party to `{case}`"),
        );
    }
    let Some(state) = held.exhibit(&exhibit) else {
        return refusal(
            StatusCode::NOT_FOUND,
            format!("exhibit {} is not in `{case}`", exhibit.short()),
        );
    };
    if state.contributor != us
        || state.status != soberana_case::ExhibitStatus::Released
        || !held.holds(us, &exhibit)
    {
        return refusal(
            StatusCode::FORBIDDEN,
            format!("exhibit {} has not been released by {us}", exhibit.short()),
        );
    }
    let size = state.size;
    let from = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .map_or(Some(0), |n| n.parse::<u64>().ok());
    let Some(from) = from.filter(|f| *f <= size) else {
        return refusal(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!("ask for `bytes=N-` with N at most {size}"),
        );
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let result = node.read_exhibit(case, exhibit, size, from, &mut |bytes| {
            tx.blocking_send(Ok(bytes))
                .map_err(|_| NodeError::Case("the fetching side went away".into()))
        });
        if let Err(e) = result {
            tracing::info!(%case, error = %e, "serving an exhibit stopped");
        }
    });
    let mut response = axum::body::Body::new(ChunkBody(rx)).into_response();
    *response.status_mut() = if from == 0 {
        StatusCode::OK
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    if let Ok(value) = (size - from).to_string().parse() {
        response.headers_mut().insert(header::CONTENT_LENGTH, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use soberana_case::CaseKey;

    /// Past the write-behind mark, every chunk is still on disk as it was
    /// sealed, with the pages flushed (and dropped) behind the writing.
    #[test]
    fn an_exhibit_longer_than_the_write_behind_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let case = CaseId::for_proposal(&soberana_core::ProposalId::from_bytes([4; 16]));
        let exhibit = ExhibitDigest::of(b"write behind");
        let key = CaseKey::from_bytes([5; 32]);
        let chunks = WRITE_BEHIND / CHUNK_BYTES as u64 * 2 + 3;
        let plain = |index: u64| -> Vec<u8> {
            (0..CHUNK_BYTES)
                .map(|i| (i as u64 ^ index.wrapping_mul(31)) as u8)
                .collect()
        };
        for drop_behind in [true, false] {
            let mut file = File::create(&path).unwrap();
            file.write_all(&EXHIBIT_HEADER).unwrap();
            let (tx, rx) = std::sync::mpsc::sync_channel::<Hashed>(IN_FLIGHT);
            let feeder = std::thread::spawn(move || {
                for index in 0..chunks {
                    tx.send((plain(index), vec![index as u8])).unwrap();
                }
            });
            let seal = key.exhibit(&case, &exhibit, AtRest::V2);
            let (stored, progress) = store_stage(&seal, 0, file, &path, rx, drop_behind).unwrap();
            feeder.join().unwrap();
            assert_eq!(stored, chunks * CHUNK_BYTES as u64);
            assert_eq!(progress, vec![(chunks - 1) as u8]);
            let mut back = File::open(&path).unwrap();
            assert_eq!(
                back.metadata().unwrap().len(),
                EXHIBIT_HEADER_LEN as u64 + chunks * SEALED_CHUNK
            );
            back.seek(SeekFrom::Start(EXHIBIT_HEADER_LEN as u64))
                .unwrap();
            for index in 0..chunks {
                let mut chunk = vec![0u8; SEALED_CHUNK as usize];
                back.read_exact(&mut chunk).unwrap();
                seal.open(index, &mut chunk).unwrap();
                assert!(chunk == plain(index), "chunk {index} differs");
            }
        }
    }
}
