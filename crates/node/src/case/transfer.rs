//! Exhibit bytes between the two nodes: the contributor serves a released
//! exhibit to the case's other party over the pinned mutual TLS, from any
//! byte the receiver asks for; the receiver seals what arrives one whole
//! chunk at a time and resumes after a cut from the last whole chunk.
//! Both sides hold a few chunks in memory whatever the exhibit's size.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
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
    Act, CHUNK_BYTES, CaseError, CaseId, CaseKey, ExhibitDigest, SEAL_OVERHEAD, Upload,
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
        // What arrived before, in whole sealed chunks, is read back and
        // hashed again; a damaged tail is dropped.
        let mut upload = Upload::new(exhibit, state.size);
        let kept = {
            let node = self.clone();
            let part = part.clone();
            let (u, kept) = tokio::task::spawn_blocking(move || {
                let key = node.case_key(case)?;
                rehash_part(&part, &key, case, exhibit, upload)
            })
            .await
            .map_err(|e| NodeError::Case(format!("resume: {e}")))??;
            upload = u;
            kept
        };
        let resumed_from = kept;
        let fetched = self
            .pull(partner, case, exhibit, &key, &part, &mut upload, budget)
            .await;
        let at = upload.offset();
        if at < state.size {
            return match fetched {
                Err(e) if at == resumed_from => Err(e),
                _ => Ok(Fetched::Cut { at, of: state.size }),
            };
        }
        match upload.finish() {
            Ok(_) => {
                let target = self.exhibit_path(case, &exhibit);
                self.act(by, case, Act::ExhibitReceived { exhibit })?;
                fs::rename(&part, &target).map_err(io_error(&target))?;
                Ok(Fetched::Received {
                    resumed_from,
                    bytes: state.size - resumed_from,
                })
            }
            Err(e) => {
                let _ = fs::remove_file(&part);
                self.refuse(by, case, Some(exhibit), &e.to_string())?;
                Err(case_error(e))
            }
        }
    }

    /// Streams the rest of the exhibit from the partner into the part file.
    #[allow(clippy::too_many_arguments)]
    async fn pull(
        &self,
        partner: PartyCode,
        case: CaseId,
        exhibit: ExhibitDigest,
        key: &CaseKey,
        part: &Path,
        upload: &mut Upload,
        budget: Option<u64>,
    ) -> Result<(), NodeError> {
        let failed = |detail: String| NodeError::Case(format!("fetch from {partner}: {detail}"));
        let mut cache = std::collections::HashMap::new();
        let (url, client, _) = crate::outbox::client_for(self, partner, &mut cache)
            .ok_or_else(|| NodeError::UnknownPeer(partner.to_string()))?;
        let url = url.replace(
            "/v1/envelopes",
            &format!("/v1/cases/{case}/exhibits/{exhibit}"),
        );
        let from = upload.offset();
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
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(part)
            .map_err(io_error(part))?;
        let mut body = response.into_body();
        let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
        let mut moved = 0u64;
        let mut index = from / CHUNK_BYTES as u64;
        let remaining = upload.remaining().end - from;
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
                    upload.push(&chunk).map_err(case_error)?;
                    file.write_all(&key.seal(&case, &exhibit, index, &chunk))
                        .map_err(io_error(part))?;
                    moved += chunk.len() as u64;
                    index += 1;
                    chunk.clear();
                    if budget.is_some_and(|b| moved >= b) && !last {
                        file.sync_all().map_err(io_error(part))?;
                        return Ok(());
                    }
                }
            }
        }
        file.sync_all().map_err(io_error(part))?;
        Ok(())
    }
}

/// Reads the part file's whole sealed chunks back into `upload`; drops a
/// tail that is not a whole chunk or does not open. Returns the upload and
/// the plain bytes kept.
fn rehash_part(
    part: &Path,
    key: &CaseKey,
    case: CaseId,
    exhibit: ExhibitDigest,
    mut upload: Upload,
) -> Result<(Upload, u64), NodeError> {
    let Ok(mut file) = File::open(part) else {
        return Ok((upload, 0));
    };
    let mut buf = vec![0u8; CHUNK_BYTES + SEAL_OVERHEAD];
    let mut index = 0u64;
    let mut good = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf).map_err(io_error(part))?;
        if n < buf.len() {
            break;
        }
        match key.open(&case, &exhibit, index, &buf) {
            Ok(plain) if upload.push(&plain).is_ok() => {
                good += SEALED_CHUNK;
                index += 1;
            }
            _ => break,
        }
    }
    drop(file);
    let file = OpenOptions::new()
        .write(true)
        .open(part)
        .map_err(io_error(part))?;
    file.set_len(good).map_err(io_error(part))?;
    let kept = upload.offset();
    Ok((upload, kept))
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
            tx.blocking_send(Ok(Bytes::copy_from_slice(bytes)))
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
