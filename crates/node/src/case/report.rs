//! The case report for a court: every custody event of a case with its
//! proof of inclusion in this node's log, and the partner's proofs for its
//! own log fetched over the pinned channel.
//!
//! A proof is a ledger `ProofBundle` for the event's `CaseAct` entry, so
//! each one checks offline with `soberana log check` against the two
//! parties' cards; the event's canonical JSON beside it lets a reader see
//! that the entry's digest is the digest of exactly that event.

use std::time::Duration;

use axum::Extension;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::Full;
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use soberana_case::{CaseId, CustodyEvent};
use soberana_core::PartyCode;
use soberana_ledger::ProofBundle;

use crate::server::PeerCertificate;
use crate::{Node, NodeError};

/// The most a partner's proofs for one case may weigh.
const MAX_PROOFS_BYTES: usize = 64 * 1024 * 1024;
/// How long fetching them may take.
const PROOFS_TIMEOUT: Duration = Duration::from_secs(60);

/// One custody event and the proof that a log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseProof {
    /// The side whose log holds the entry.
    pub log_of: PartyCode,
    /// The custody event's canonical JSON.
    pub event: String,
    /// The digest both logs record for it (hex).
    pub event_digest: String,
    /// The proof of inclusion of its entry.
    pub bundle: ProofBundle,
}

impl CaseProof {
    /// Whether the proved entry records exactly this event: decodes the
    /// entry and compares its digest with the digest of the event given.
    pub fn entry_matches_event(&self) -> Result<CustodyEvent, String> {
        let event = CustodyEvent::from_canonical(self.event.as_bytes())
            .map_err(|e| format!("the event beside entry {}: {e}", self.bundle.index))?;
        let entry = soberana_ledger::LogEntry::decode(&self.bundle.entry)
            .map_err(|e| format!("entry {}: {e}", self.bundle.index))?;
        match entry {
            soberana_ledger::LogEntry::CaseAct { event_digest, .. }
                if event_digest == event.digest() =>
            {
                Ok(event)
            }
            _ => Err(format!(
                "entry {} of {}'s log does not record the event beside it",
                self.bundle.index, self.log_of
            )),
        }
    }
}

impl Node {
    /// Proofs for every custody event of `case` in this node's log. When no
    /// checkpoint covers the newest, one is signed and sent to partners to
    /// cosign; proofs carry the partner's cosignature when it has given one.
    pub fn case_proofs(&self, case: CaseId) -> Result<Vec<CaseProof>, NodeError> {
        let events = self.store().case_events(case)?;
        let newest = events.iter().map(|e| e.log_index).max();
        let covered = self.checkpoints()?.last().map_or(0, |c| c.size);
        if newest.is_some_and(|n| n >= covered) {
            self.checkpoint_and_request_cosignatures()?;
        }
        let log = self.log()?;
        let witnesses = self.partner_witness_keys();
        let mut proofs = Vec::with_capacity(events.len());
        for stored in events {
            let bundle = log
                .bundle(stored.log_index, &witnesses)
                .or_else(|_| log.bundle(stored.log_index, &[]))
                .map_err(|e| NodeError::Ledger(e.to_string()))?;
            proofs.push(CaseProof {
                log_of: self.party(),
                event: String::from_utf8_lossy(&stored.event.canonical()).into_owned(),
                event_digest: hex::encode(stored.event.digest()),
                bundle,
            });
        }
        Ok(proofs)
    }

    /// The partner's proofs for `case` in its own log, over the pinned
    /// channel, bounded in size and time.
    pub async fn fetch_partner_case_proofs(
        &self,
        case: CaseId,
        partner: PartyCode,
    ) -> Result<Vec<CaseProof>, NodeError> {
        let failed =
            |detail: String| NodeError::Case(format!("{partner}'s proofs for {case}: {detail}"));
        let mut cache = std::collections::HashMap::new();
        let (url, client, _) = crate::outbox::client_for(self, partner, &mut cache)
            .ok_or_else(|| NodeError::UnknownPeer(partner.to_string()))?;
        let url = url.replace("/v1/envelopes", &format!("/v1/cases/{case}/proofs"));
        let request = hyper::Request::get(&url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.to_string()))?;
        let bounds = crate::outbox::Bounds {
            reply_bytes: MAX_PROOFS_BYTES,
            timeout: PROOFS_TIMEOUT,
        };
        let (status, body) = crate::outbox::exchange(&client, request, bounds)
            .await
            .map_err(failed)?;
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&body).chars().take(400).collect();
            return Err(failed(format!("refused ({status}): {}", text.trim())));
        }
        let proofs: Vec<CaseProof> =
            serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable: {e}")))?;
        for proof in &proofs {
            if proof.log_of != partner {
                return Err(failed(format!(
                    "a proof claims to be of {}'s log",
                    proof.log_of
                )));
            }
            proof.entry_matches_event().map_err(failed)?;
        }
        Ok(proofs)
    }
}

/// Serves our proofs for a case to its other party.
pub(crate) async fn serve_case_proofs(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
    UrlPath(case): UrlPath<String>,
) -> Response {
    let Some(partner) = peer.and_then(|Extension(p)| p.0).and_then(|fingerprint| {
        node.peers()
            .into_iter()
            .find(|c| c.tls_cert_sha256.0 == fingerprint)
            .map(|c| c.party)
    }) else {
        return (StatusCode::FORBIDDEN, "served to pinned partners\n").into_response();
    };
    let Ok(case) = CaseId::parse(&case) else {
        return (StatusCode::BAD_REQUEST, "not a case id\n").into_response();
    };
    match node.store().case(case) {
        Ok(Some(held)) if held.parties.contains(&partner) => {}
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("no case `{case}` with {partner} here\n"),
            )
                .into_response();
        }
    }
    let result = tokio::task::spawn_blocking(move || node.case_proofs(case)).await;
    match result {
        Ok(Ok(proofs)) => axum::Json(proofs).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the proofs cannot be made now; ask again later\n",
        )
            .into_response(),
    }
}
